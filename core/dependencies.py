"""Which Python packages the engine needs, and how a planner installs them."""
import importlib.util

from .i18n import tr

# module name → (Debian/Ubuntu package, OSGeo4W package, pip name)
REQUIRED = {
    "geopandas": ("python3-geopandas", "python3-geopandas", "geopandas"),
    "shapely": ("python3-shapely", "python3-shapely", "shapely"),
    "pandas": ("python3-pandas", "python3-pandas", "pandas"),
    "numpy": ("python3-numpy", "python3-numpy", "numpy"),
    "scipy": ("python3-scipy", "python3-scipy", "scipy"),
    "sklearn": ("python3-sklearn", "python3-scikit-learn", "scikit-learn"),
    "rasterio": ("python3-rasterio", "python3-rasterio", "rasterio"),
    "rtree": ("python3-rtree", "python3-rtree", "rtree"),
    "yaml": ("python3-yaml", "python3-pyyaml", "pyyaml"),
}


def _needs_rtree():
    """geopandas needs rtree for its spatial index only with shapely < 2 and without pygeos
    (QGIS 3.22 on Debian 12); newer QGIS builds ship shapely 2 and do not need it."""
    try:
        import shapely
    except ImportError:
        return True
    try:
        major = int(str(shapely.__version__).split(".")[0])
    except ValueError:
        return False
    return major < 2 and importlib.util.find_spec("pygeos") is None


def missing_modules(required=None):
    """Return the names of required modules that cannot be imported."""
    names = list(required or REQUIRED)
    if required is None and "rtree" in names and not _needs_rtree():
        names.remove("rtree")
    return [name for name in names if importlib.util.find_spec(name) is None]


def missing_dependencies_message(modules=None):
    """Return a message naming what to install for the missing ``modules`` (default: check
    all required ones), or '' when nothing is missing."""
    missing = [m for m in modules if m in REQUIRED] if modules is not None else missing_modules()
    if not missing:
        return ""
    debian = " ".join(REQUIRED[m][0] for m in missing)
    osgeo = " ".join(REQUIRED[m][1] for m in missing)
    return tr("Kommunalmonitor needs Python packages that are not installed: {modules}. "
              "Debian/Ubuntu: sudo apt install {debian}. Windows (OSGeo4W setup, "
              "'Advanced install'): {osgeo}. Then restart QGIS.",
              modules=", ".join(missing), debian=debian, osgeo=osgeo)
