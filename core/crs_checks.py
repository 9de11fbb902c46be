"""Coordinate reference systems as a planner meets them.

- A CRS is named by its authority id and short name ("EPSG:25833 – ETRS89 / UTM zone 33N"),
  never by a WKT of 800 characters (:func:`crs_label`).
- A layer whose coordinates lie far outside its CRS's area of use was almost always given
  the wrong CRS (Cologne's quarters tagged with a CRS that puts them in Ukraine): a warning
  gives the extent in longitude/latitude and says to *assign* the right CRS
  (:func:`check_area_of_use`).
- Layers in different CRSs are reprojected to the CRS of the reference layer (the planning
  areas), with an info line, as QGIS's native algorithms do (:func:`align_crs`); a
  geographic CRS (degrees) is reprojected to the UTM zone of the data's centre (ETRS89-based
  in Europe, so EPSG:25832/25833 in Germany) for areas and distances
  (:func:`ensure_projected`).
"""
import math

import numpy as np

from .errors import InputError
from .feedback import ensure_feedback
from .i18n import format_number, tr

# Margins around a CRS's area of use within which coordinates still count as plausible:
# UTM zones are routinely used a few degrees beyond their edge (all of Germany in zone 32
# reaches 15°E, 3° beyond), so only data far outside point to a wrong CRS.
LON_MARGIN = 5.0
LAT_MARGIN = 3.0
# EPSG has ETRS89 / UTM zones 28N–38N (EPSG:25828–25838) for Europe.
ETRS89_ZONES = range(28, 39)


def _pyproj(crs):
    """A pyproj CRS for anything geopandas accepts (None stays None)."""
    if crs is None:
        return None
    from pyproj import CRS

    return CRS.from_user_input(crs)


# What GDAL reports for a GeoPackage layer with srs_id 0 / -1 ("undefined"): a CRS in name only.
UNDEFINED_NAMES = ("undefined geographic srs", "undefined cartesian srs")


def is_undefined(crs):
    """True for no CRS and for the placeholder of an undefined one (GeoPackage srs_id 0 or -1)."""
    if crs is None:
        return True
    try:
        return (_pyproj(crs).name or "").strip().lower() in UNDEFINED_NAMES
    except Exception:  # noqa: BLE001 - unreadable: not ours to judge here, pyproj names it later
        return False


def crs_label(crs):
    """Short name of a CRS for messages: ``EPSG:25833 – ETRS89 / UTM zone 33N``."""
    crs = _pyproj(crs)
    if crs is None:
        return tr("no CRS")
    name = crs.name if crs.name and crs.name.lower() not in ("unknown", "unnamed") else ""
    authority = None
    try:
        authority = crs.to_authority(min_confidence=90)
    except Exception:  # noqa: BLE001 - a custom CRS without authority: the name alone
        authority = None
    if authority:
        code = f"{authority[0]}:{authority[1]}"
        return f"{code} – {name}" if name else code
    if len(name) > 80:
        name = name[:77] + "…"
    return tr("custom CRS '{name}'", name=name) if name else tr("custom CRS")


def _extent(frame):
    """Finite total bounds (minx, miny, maxx, maxy) of the present geometries, or None."""
    geoms = frame.geometry
    present = geoms[~(geoms.isna() | geoms.is_empty)]
    if not len(present):
        return None
    bounds = present.bounds.to_numpy(dtype="float64")
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    if not len(bounds):
        return None
    return (float(bounds[:, 0].min()), float(bounds[:, 1].min()),
            float(bounds[:, 2].max()), float(bounds[:, 3].max()))


def lonlat_extent(frame):
    """The layer's extent in longitude/latitude (west, south, east, north), or None.

    None when the layer has no geometry or its coordinates cannot be placed on the Earth
    with its CRS (e.g. metres in a geographic CRS, or far beyond a projection's domain).
    """
    crs = _pyproj(frame.crs)
    extent = _extent(frame)
    if crs is None or extent is None:
        return None
    if crs.is_geographic:
        west, south, east, north = extent
    else:
        from pyproj import Transformer

        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        try:
            west, south, east, north = transformer.transform_bounds(*extent, densify_pts=21)
        except Exception:  # noqa: BLE001 - PROJ cannot map these coordinates at all
            return None
    values = (west, south, east, north)
    if not all(math.isfinite(v) for v in values) or not (-180.5 <= west <= east <= 180.5) \
            or not (-90.5 <= south <= north <= 90.5):
        return None
    return values


def format_extent(extent):
    """``lon 29.51° to 29.72°, lat 49.79° to 49.92°``."""
    west, south, east, north = extent
    return tr("longitude {west}° to {east}°, latitude {south}° to {north}°",
              west=format_number(west, 2), east=format_number(east, 2), south=format_number(south, 2),
              north=format_number(north, 2))


def _within_area_of_use(extent, area):
    """True when the extent's centre lies in the area of use (widened by the margins)."""
    west, south, east, north = extent
    lon, lat = (west + east) / 2.0, (south + north) / 2.0
    a_west, a_south, a_east, a_north = area.west, area.south, area.east, area.north
    if a_west > a_east:  # the area crosses the antimeridian
        lon_ok = lon >= a_west - LON_MARGIN or lon <= a_east + LON_MARGIN
    else:
        lon_ok = a_west - LON_MARGIN <= lon <= a_east + LON_MARGIN
    return lon_ok and a_south - LAT_MARGIN <= lat <= a_north + LAT_MARGIN


def check_area_of_use(frame, name=None, feedback=None):
    """Warn when the layer's coordinates lie outside its CRS's area of use; return True if so.

    The usual cause is a layer given the wrong CRS (coordinates of one system, label of
    another), so the warning says to *assign* the right CRS, not to reproject. Layers
    without CRS or geometry pass (other checks name those).
    """
    from .validate import layer_name

    feedback = ensure_feedback(feedback)
    crs = _pyproj(frame.crs) if frame is not None and hasattr(frame, "crs") else None
    if crs is None or is_undefined(crs) or _extent(frame) is None:
        return False
    extent = lonlat_extent(frame)
    if extent is None:
        x0, y0, x1, y1 = _extent(frame)
        feedback.warning(tr(
            "Layer '{layer}': its coordinates (x {x0} to {x1}, y {y0} to {y1}) cannot lie in its CRS "
            "{crs}; they are not on the Earth there. The layer's CRS is probably wrong: assign the "
            "right one in the layer properties (do not reproject).",
            layer=layer_name(frame, name), crs=crs_label(crs), x0=format_number(x0, 0),
            x1=format_number(x1, 0), y0=format_number(y0, 0), y1=format_number(y1, 0)))
        return True
    area = crs.area_of_use
    if area is None or _within_area_of_use(extent, area):
        return False
    feedback.warning(tr(
        "Layer '{layer}' lies outside the area of use of its CRS {crs} ({area}): its extent is "
        "{extent}. The layer's CRS is probably wrong (coordinates of another CRS labelled with this "
        "one): assign the right CRS in the layer properties (do not reproject).",
        layer=layer_name(frame, name), crs=crs_label(crs),
        area=format_extent((area.west, area.south, area.east, area.north)), extent=format_extent(extent)))
    return True


def suitable_projected_crs(frame):
    """The UTM zone (EPSG code string) of the layer's centre, ETRS89-based in Europe.

    In Germany this gives EPSG:25832 west of 12°E and EPSG:25833 east of it, the CRSs of
    the federal states' official data.
    """
    extent = lonlat_extent(frame)
    if extent is None:
        return None
    west, south, east, north = extent
    return utm_crs_for((west + east) / 2.0, (south + north) / 2.0)


def utm_crs_for(lon, lat):
    """EPSG code string of the UTM zone at ``lon``/``lat``: ETRS89 in Europe, else WGS 84."""
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    if zone in ETRS89_ZONES and 34.0 <= lat <= 84.0:
        return f"EPSG:{25800 + zone}"
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def ensure_projected(frame, name=None, feedback=None):
    """Return the layer in a projected CRS: itself, or reprojected from degrees with an info line.

    Raises ``InputError`` when the layer has no CRS (the planner must assign one) or when
    its coordinates are not degrees although its CRS is geographic (a wrong CRS).
    """
    from .geometry_arrays import reproject
    from .validate import layer_name, require_crs

    feedback = ensure_feedback(feedback)
    require_crs(frame, name)
    crs = _pyproj(frame.crs)
    if not crs.is_geographic:
        return frame
    target = suitable_projected_crs(frame)
    if target is None:
        if _extent(frame) is None:
            return frame  # nothing to measure: other checks name an empty layer
        raise InputError(tr(
            "Layer '{layer}' has the geographic CRS {crs} (degrees), but its coordinates are no "
            "longitudes/latitudes. The layer's CRS is probably wrong: assign the right one in the "
            "layer properties.", layer=layer_name(frame, name), crs=crs_label(crs)))
    out = reproject(frame, target)
    out.attrs = dict(frame.attrs)
    feedback.info(tr(
        "Layer '{layer}' uses the geographic CRS {crs} (degrees); for areas and distances in metres "
        "it was reprojected to {target}.", layer=layer_name(frame, name), crs=crs_label(crs),
        target=crs_label(target)))
    return out


def same_crs(a, b):
    """True when two CRSs (anything pyproj reads) are the same system."""
    a, b = _pyproj(a), _pyproj(b)
    if a is None or b is None:
        return a is None and b is None
    return a == b or a.equals(b, ignore_axis_order=True)


def align_crs(frame, target_crs, name=None, target_name=None, feedback=None):
    """Return ``frame`` in ``target_crs``: itself, or reprojected with an info line.

    The planning areas' CRS is the reference in every algorithm, as in QGIS's native
    overlay algorithms; a layer without CRS raises ("assign a CRS").
    """
    from .geometry_arrays import reproject
    from .validate import layer_name, require_crs

    feedback = ensure_feedback(feedback)
    require_crs(frame, name)
    if target_crs is None or same_crs(frame.crs, target_crs):
        return frame
    out = reproject(frame, _pyproj(target_crs))
    out.attrs = dict(frame.attrs)
    feedback.info(tr(
        "Layer '{layer}' ({crs}) was reprojected to the CRS of '{target}' ({target_crs}) so that the "
        "layers can be combined.", layer=layer_name(frame, name), crs=crs_label(frame.crs),
        target=target_name or tr("the planning areas"), target_crs=crs_label(target_crs)))
    return out


def check_layers_overlap(frame, reference, name=None, reference_name=None, feedback=None):
    """Warn when two layers (already in one CRS) lie apart; return True if so.

    Layers of one town that do not even touch usually mean one of them carries the wrong
    CRS (a UTM zone 33 layer tagged as zone 32 lands 400 km west, still in Germany, so
    its area of use cannot tell). The warning gives both extents in longitude/latitude.
    """
    from .validate import layer_name

    feedback = ensure_feedback(feedback)
    a, b = _extent(frame), _extent(reference)
    if a is None or b is None:
        return False
    # a margin of a tenth of the larger extent: neighbouring layers may just touch
    margin = 0.1 * max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
    apart = a[0] > b[2] + margin or b[0] > a[2] + margin or a[1] > b[3] + margin or b[1] > a[3] + margin
    if not apart:
        return False
    where_a, where_b = lonlat_extent(frame), lonlat_extent(reference)
    gap = math.hypot(max(a[0] - b[2], b[0] - a[2], 0.0), max(a[1] - b[3], b[1] - a[3], 0.0))
    feedback.warning(tr(
        "Layers '{layer}' and '{reference}' do not overlap: they lie {distance} km apart ({extent} and "
        "{reference_extent}). One of them probably has the wrong CRS: check both and assign the right "
        "one in the layer properties.", layer=layer_name(frame, name),
        reference=layer_name(reference, reference_name), distance=format_number(gap / 1000.0, 0)
        if _pyproj(frame.crs) is not None and _pyproj(frame.crs).is_projected else "?",
        extent=format_extent(where_a) if where_a else "–",
        reference_extent=format_extent(where_b) if where_b else "–"))
    return True
