"""Points → areas: counts, capacity sums, categories and supply ratios per area.

Every point is assigned to the area that contains it (a point on a shared boundary goes to
the first such area, so it is counted once). Points outside every area are reported with
their ids, never dropped silently.
"""
import re
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import validate
from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from ..options import options_or_default
from ..rates import DEFAULT_MIN_BASE, rate, small_base
from ..values import format_value, rate_like
from ._spatial import polygons_in
from .privacy import warn_overwritten

# points looked up per progress step and cancel check: about a second each on the QGIS stack;
# smaller chunks cost measurable time there (geopandas 0.12 indexes each chunk's points anew)
POINTS_PER_STEP = 50_000


def _safe_name(value):
    """A field-name-friendly version of a category value."""
    text = re.sub(r"[^0-9A-Za-z_äöüÄÖÜß]+", "_", str(value)).strip("_")
    return text or "empty"


@dataclass
class PointsOptions:
    """Settings of ``points_to_areas``; every one has a default.

    Attributes
    ----------
    per : float
        Unit of the supply ratio: 100 → places per 100 residents (default 100).
    min_base : float
        Areas whose population is below this are flagged in ``supply_small`` (default
        ``DEFAULT_MIN_BASE``).
    supply_field : str, optional
        Capacity field for the supply ratio (default: the first capacity field, else the
        count of points).
    points_name, areas_name : str, optional
        Names of the layers in messages (default: the layers' own names).
    """

    # the supply ratio
    per: float = 100.0
    min_base: float = DEFAULT_MIN_BASE
    supply_field: Optional[str] = None
    # the layers' names in messages
    points_name: Optional[str] = None
    areas_name: Optional[str] = None


def points_to_areas(points, areas, area_id=None, capacity_fields=(), category_field=None,
                    population=None, options=None, feedback=None, point_id=None):
    """Count points (facilities) per area, sum their capacities, and build supply ratios.

    Parameters
    ----------
    points : GeoDataFrame
        Facilities as points (other geometries use their centroid), same CRS as ``areas``.
    areas : GeoDataFrame
        Planning areas (polygons).
    area_id : str, optional
        Unique id field of the areas.
    capacity_fields : list of str
        Numeric fields to sum (e.g. kita places); NULL capacities are counted in
        ``<field>_missing`` per area, not as zero.
    category_field : str, optional
        Also count per category: ``n_<category>`` (and ``<field>_<category>`` for the first
        capacity field).
    population : str or array-like, optional
        The denominator of the supply ratio: a field of ``areas``, or values aligned with
        the areas (e.g. children aged 0–5 from 'Zensus grid to areas').
    options : PointsOptions, optional
        Unit of the supply ratio, the smallest base, the capacity field of the ratio and the
        layers' names in messages (defaults: ``PointsOptions()``).
    feedback : core.feedback.Feedback, optional
        Progress, messages and cancellation.
    point_id : str, optional
        Id field of the points, used to name the points outside every area (default: the
        row index).

    Returns
    -------
    (GeoDataFrame, dict)
        Areas with ``n_points``, capacity sums, category counts and, with a population,
        ``supply_num``, ``supply_den``, ``supply`` and ``supply_small``; diagnostics with
        ``points``, ``points_outside`` and ``outside_ids``.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, PointsOptions, "points_to_areas")
    per, min_base, supply_field = options.per, options.min_base, options.supply_field
    points_name, areas_name = options.points_name, options.areas_name
    feedback.progress(0.0)
    for frame, name in ((points, points_name), (areas, areas_name)):
        validate.require_not_empty(frame, name)
        validate.require_projected(frame, name)
    validate.require_same_crs(points, areas, points_name, areas_name)
    if area_id is not None:
        validate.require_fields(areas, [area_id], areas_name)
        validate.require_unique(areas, area_id, areas_name)
    # the shared repair: a point in either lobe of a bow tie belongs to the area
    areas = validate.require_valid_geometries(areas, areas_name, repair=True, feedback=feedback,
                                              id_field=area_id)
    capacity_fields = list(capacity_fields or [])
    capacities = {f: validate.numeric_field(points, f, points_name, allow_negative=False).to_numpy()
                  for f in capacity_fields}
    if category_field is not None:
        validate.require_fields(points, [category_field], points_name)
    validate.warn_duplicate_features(points, points_name, feedback)
    feedback.progress(0.1)  # inputs checked and repaired
    feedback.check()
    den = None
    if population is not None:
        if isinstance(population, str):
            den = validate.numeric_field(areas, population, areas_name).to_numpy()
        else:
            den = np.asarray(population, dtype="float64")
            if den.shape != (len(areas),):
                raise InputError(tr("The population values must have one value per area "
                                    "({n} areas, got {m} values).", n=len(areas), m=den.size))
        kind = rate_like(den)
        if kind:  # a share as the population gives tens of thousands of places per 100 residents
            feedback.warning(tr("The population for the supply ratio ({field}) holds values like a {kind} "
                                "(all between 0 and {top}, with decimals, e.g. {example}), not residents: "
                                "a supply ratio per {per} of them means nothing. Choose the field with the "
                                "number of residents.",
                                field=population if isinstance(population, str) else tr("population values"),
                                kind=tr("share") if kind == "share" else tr("percentage"),
                                top=1 if kind == "share" else 100,
                                example=format_value(round(float(den[np.isfinite(den)][0]), 4)), per=format_value(per)))
    geoms = points.geometry
    missing_geometry = geoms.isna() | geoms.is_empty
    valid = points.geometry[~missing_geometry.to_numpy()]
    if len(valid) and (valid.geom_type != "Point").any():
        valid = valid.representative_point()  # lines/polygons: a point surely inside them
    feedback.progress(0.15)
    area_of = np.full(len(points), -1, dtype="int64")
    if len(valid):
        area_of[~missing_geometry.to_numpy()] = _areas_of(
            valid, areas.geometry, validate.overlap_guard(areas, areas_name, area_id), feedback.step(0.15, 0.8))
    n_a = len(areas)
    inside = area_of >= 0
    out = areas.copy()
    out["n_points"] = np.bincount(area_of[inside], minlength=n_a).astype("int64")
    for field, values in capacities.items():
        known = np.isfinite(values)
        total = np.bincount(area_of[inside & known], weights=values[inside & known],
                            minlength=n_a).astype("float64")  # int64 when no point is inside
        n_missing = np.bincount(area_of[inside & ~known], minlength=n_a)
        n_known = np.bincount(area_of[inside & known], minlength=n_a)
        total[(n_known == 0) & (n_missing > 0)] = np.nan  # only NULL capacities: unknown, not 0
        out[field] = total
        out[f"{field}_missing"] = n_missing.astype("int64")
    feedback.progress(0.85)  # counts and capacity sums done
    feedback.check()
    categories = []
    if category_field is not None:
        labels = points[category_field].astype(object).where(points[category_field].notna(), None)
        categories = sorted({str(v) for v in labels.dropna()})
        used = set(out.columns)
        for k, value in enumerate(categories):
            feedback.check()
            match = (labels.astype(str) == value).to_numpy() & labels.notna().to_numpy()
            name = f"n_{_safe_name(value)}"
            while name in used:
                name += "_"
            used.add(name)
            out[name] = np.bincount(area_of[inside & match], minlength=n_a).astype("int64")
            for field in capacity_fields:  # every capacity (places, staff…) per category
                values = capacities[field]
                ok = inside & match & np.isfinite(values)
                cname = f"{field}_{_safe_name(value)}"
                while cname in used:
                    cname += "_"
                used.add(cname)
                out[cname] = np.bincount(area_of[ok], weights=values[ok], minlength=n_a)
            feedback.progress(0.85 + 0.1 * (k + 1) / len(categories))
    feedback.progress(0.95)
    if den is not None:
        supply = supply_field or (capacity_fields[0] if capacity_fields else None)
        if supply is not None and supply not in capacities:
            raise InputError(tr("The supply field '{field}' must be one of the capacity fields.",
                                field=supply))
        num = np.asarray(out[supply] if supply else out["n_points"], dtype="float64")
        out["supply_num"] = num
        out["supply_den"] = den
        out["supply"] = rate(num, den, per=per)
        out["supply_small"] = small_base(den, min_base)
    outside = np.flatnonzero(~inside)
    ids = (points[point_id] if point_id is not None and point_id in points.columns
           else points.index.to_series()).to_numpy()[outside]
    diagnostics = {
        "points": int(len(points)),
        "points_assigned": int(inside.sum()),
        "points_outside": int(len(outside)),
        "points_without_geometry": int(missing_geometry.sum()),
        "outside_ids": [v.item() if hasattr(v, "item") else v for v in ids[:1000]],
        "capacity_totals": {f: float(np.nansum(v)) for f, v in capacities.items()},
        "capacity_missing": {f: int((~np.isfinite(v)).sum()) for f, v in capacities.items()},
        "categories": categories,
    }
    if len(outside):
        shown = ", ".join(str(v) for v in diagnostics["outside_ids"][:10])
        feedback.warning(tr("{count} point(s) of layer '{layer}' lie outside every area and were "
                            "not counted (ids: {ids}).", count=len(outside),
                            layer=validate.layer_name(points, points_name),
                            ids=shown + (" …" if len(outside) > 10 else "")))
    if inside.sum() == 0:
        raise InputError(tr("No point of layer '{points}' lies in any area of '{areas}'. Check that "
                            "both layers cover the same place and use the right CRS.",
                            points=validate.layer_name(points, points_name),
                            areas=validate.layer_name(areas, areas_name)))
    for field, count in diagnostics["capacity_missing"].items():
        if count:
            feedback.warning(tr("Field '{field}' of layer '{layer}' is empty (NULL) in {count} "
                                "feature(s); they were left out, not counted as zero.",
                                field=field, layer=validate.layer_name(points, points_name),
                                count=count))
    diagnostics["replaced_fields"] = warn_overwritten(areas, out, feedback,
                                                      validate.layer_name(areas, areas_name))
    feedback.progress(1.0)
    return out, diagnostics


def _areas_of(points, polygons, on_overlap, feedback):
    """``polygons_in`` in chunks of points: progress and a cancel check between chunks.

    Each point is looked up on its own, so chunks give the same positions as one call
    (and the same first overlap, as chunks follow the point order).
    """
    n = len(points)
    out = np.empty(n, dtype="int64")
    for start in range(0, n, POINTS_PER_STEP):
        feedback.check()
        chunk = points.iloc[start:start + POINTS_PER_STEP]
        out[start:start + len(chunk)] = polygons_in(chunk, polygons, on_overlap=on_overlap)
        feedback.progress(min(start + POINTS_PER_STEP, n) / n)
    return out
