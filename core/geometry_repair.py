"""One repair of invalid geometries for every algorithm, without losing area.

A self-intersecting polygon ("bow tie") is invalid; GEOS cannot intersect or measure it
reliably. ``buffer(0)`` "repairs" it by dropping the lobe whose ring runs the other way
(half the area gone, silently); refusing it makes one algorithm reject what another
accepts. Here every algorithm uses GEOS MakeValid (``shapely.validation.make_valid``,
present in shapely 1.8 and 2.x), keeps the polygonal parts (so polygons stay polygons and
both lobes of a bow tie survive), and warns naming the features (by the layer's id field,
else the feature id QGIS gave) with their area before and after.
"""
import numpy as np

from .feedback import ensure_feedback
from .i18n import format_number, tr

MAX_NAMED = 10  # features named in a message; the count says how many there are in all


def make_valid_polygonal(geometry):
    """MakeValid that keeps the dimension of the input (polygons stay polygons).

    MakeValid may return a GeometryCollection with lines or points where a ring touched
    itself; for a polygon only the polygonal parts carry area, so those are kept.
    """
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
    from shapely.ops import unary_union
    from shapely.validation import make_valid

    if geometry is None or geometry.is_empty or geometry.is_valid:
        return geometry
    fixed = make_valid(geometry)
    if geometry.geom_type in ("Polygon", "MultiPolygon") and isinstance(fixed, GeometryCollection):
        polygons = [g for g in getattr(fixed, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
        fixed = unary_union(polygons) if polygons else Polygon()
    return fixed


def invalid_mask(geometries):
    """Boolean array: present, non-empty and invalid geometries."""
    geoms = list(geometries)
    return np.array([g is not None and not g.is_empty and not g.is_valid for g in geoms], dtype=bool)


def feature_labels(frame, positions, id_field=None):
    """How a planner finds the features at ``positions``: id field values, else QGIS feature ids."""
    values = frame[id_field] if id_field and id_field in frame.columns else frame.index
    picked = [values[p] if not hasattr(values, "iloc") else values.iloc[p] for p in positions]
    picked = [v.item() if hasattr(v, "item") else v for v in picked]
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in picked[:MAX_NAMED])
    if len(picked) > MAX_NAMED:
        shown += ", …"
    if id_field and id_field in frame.columns:
        return tr("{field} {ids}", field=id_field, ids=shown)
    return tr("feature id(s) {ids}", ids=shown)


def _area_unit(crs):
    """'m²' for a projected CRS in metres, else square map units."""
    try:
        from pyproj import CRS

        crs = CRS.from_user_input(crs) if crs is not None else None
        if crs is not None and crs.is_projected and crs.axis_info and \
                crs.axis_info[0].unit_name in ("metre", "meter"):
            return "m²"
    except Exception:  # noqa: BLE001 - a CRS pyproj cannot read: fall back to the neutral unit
        pass
    return tr("square map units")


def repair_series(geometries, feedback=None, describe=None):
    """Repair the invalid geometries of a GeoSeries; return ``(series, positions, before, after)``.

    ``before``/``after`` are the summed areas of the repaired features as stored (GEOS's
    signed ring sum, which is what other tools show for a bow tie) and after MakeValid.
    The input series is not modified.
    """
    bad = np.flatnonzero(invalid_mask(geometries))
    if not len(bad):
        return geometries, bad, 0.0, 0.0
    values = list(geometries)
    before = float(sum(values[p].area for p in bad))
    for p in bad:
        values[p] = make_valid_polygonal(values[p])
    after = float(sum(values[p].area for p in bad))
    from geopandas import GeoSeries

    repaired = GeoSeries(values, index=geometries.index, crs=geometries.crs)
    return repaired, bad, before, after


def repair_geometries(frame, name=None, id_field=None, feedback=None):
    """Return ``frame`` with invalid geometries repaired by MakeValid, warning which ones.

    Parameters
    ----------
    frame : GeoDataFrame
        Not modified; a copy is returned when something was repaired.
    name : str, optional
        Layer name for the message (default ``frame.attrs['layer_name']``).
    id_field : str, optional
        Field that identifies features for the planner; without it the index (the feature
        ids QGIS gave) names them.
    feedback : core.feedback.Feedback, optional
        Receives one warning naming the repaired features and their area before and after.

    Returns
    -------
    GeoDataFrame
        The repaired copy (or ``frame`` itself when all geometries were valid); its
        ``attrs['repaired_features']`` lists the labels of the repaired features.
    """
    from .validate import layer_name

    feedback = ensure_feedback(feedback)
    if frame is None or not len(frame) or frame.geometry.name not in frame.columns:
        return frame
    repaired, bad, before, after = repair_series(frame.geometry, feedback)
    if not len(bad):
        return frame
    out = frame.copy()
    out[frame.geometry.name] = repaired.values
    out.attrs = dict(frame.attrs)
    labels = frame[id_field] if id_field and id_field in frame.columns else frame.index
    out.attrs["repaired_features"] = [labels[p] if not hasattr(labels, "iloc") else labels.iloc[p]
                                      for p in bad]
    unit = _area_unit(frame.crs)
    feedback.warning(tr(
        "Layer '{layer}': {count} invalid geometry(ies) (e.g. self-intersecting 'bow tie' polygons) "
        "were repaired, keeping every part: {features}. Area as stored {before} {unit}, after the "
        "repair {after} {unit}. Check these features, or repair them yourself with 'Fix geometries'.",
        layer=layer_name(frame, name), count=len(bad), features=feature_labels(frame, bad, id_field),
        before=format_number(before, 1), after=format_number(after, 1), unit=unit))
    return out
