"""Which Kommunalmonitor and which libraries computed a result (for run records)."""
import os
import platform
import sys

_PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE_LIBRARIES = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "scipy", "sklearn")


def plugin_version():
    """The version in metadata.txt (shared by the plugin and the pip package), or '?'."""
    try:
        with open(os.path.join(_PLUGIN_DIR, "metadata.txt"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("version="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "?"


def library_versions(modules=ENGINE_LIBRARIES):
    """``{'python': …, 'kommunalmonitor': …, module: version or None}`` for the given modules."""
    found = {"python": platform.python_version(), "kommunalmonitor": plugin_version()}
    for name in modules:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                found[name] = None
                continue
        found[name] = getattr(module, "__version__", "?")
    return found
