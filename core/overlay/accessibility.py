"""Accessibility of facilities from where people live.

- Nearest facility: distance from each residence (populated grid cell, block centroid,
  address point) to the nearest facility; per area the population-weighted mean distance
  and the share of residents beyond a distance.
- Two-step floating catchment area (2SFCA; Luo & Wang 2003, Gaussian decay after Dai
  2010): per facility R_j = S_j / Σ_i P_i·w(d_ij) over residents within the catchment; per
  residence A_i = Σ_j R_j·w(d_ij). Σ_i P_i·A_i equals the capacity of all facilities that
  have residents in reach, so the index is a fair share of places per resident.

Distances are Euclidean (scipy ``cKDTree``). The distance model is one small class: a
network model only needs the same two methods (``nearest`` and ``within``).
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.spatial import cKDTree

from .. import validate
from ..errors import InputError
from ..feedback import ensure_feedback
from ..geometry_arrays import reproject as to_crs_robust
from ..i18n import tr
from ..options import options_or_default
from ..rates import DEFAULT_MIN_BASE, small_base
from ._spatial import point_coords, polygons_in
from .privacy import warn_overwritten

DECAYS = ("none", "linear", "gaussian")


class EuclideanDistance:
    """Straight-line distances in the layer's CRS units (metres)."""

    name = "euclidean"

    def nearest(self, origins, destinations):
        """For each origin: (distance to the nearest destination, its index)."""
        distance, index = cKDTree(destinations).query(origins, k=1)
        return np.asarray(distance, dtype="float64"), np.asarray(index, dtype="int64")

    def within(self, origins, destinations, radius):
        """All pairs closer than ``radius``: (origin index, destination index, distance)."""
        pairs = cKDTree(origins).sparse_distance_matrix(cKDTree(destinations), radius,
                                                        output_type="ndarray")
        return (np.asarray(pairs["i"], dtype="int64"), np.asarray(pairs["j"], dtype="int64"),
                np.asarray(pairs["v"], dtype="float64"))


def decay_weights(distance, radius, decay="none"):
    """Distance-decay weight in [0, 1] inside the catchment ``radius`` (0 beyond)."""
    d = np.asarray(distance, dtype="float64")
    if decay == "none":
        w = np.ones_like(d)
    elif decay == "linear":
        w = 1.0 - d / radius
    elif decay == "gaussian":
        edge = np.exp(-0.5)
        w = (np.exp(-0.5 * (d / radius) ** 2) - edge) / (1.0 - edge)
    else:
        raise InputError(tr("Unknown distance decay '{decay}'. Use one of: {choices}.",
                            decay=decay, choices=", ".join(DECAYS)))
    return np.where(d <= radius, np.clip(w, 0.0, 1.0), 0.0)


def two_step_fca(res_xy, population, fac_xy, capacity, radius, decay="none", per=100.0,
                 distance_model=None):
    """2SFCA index per residence (capacity per ``per`` residents) and R_j per facility."""
    model = distance_model or EuclideanDistance()
    i, j, d = model.within(res_xy, fac_xy, radius)
    w = decay_weights(d, radius, decay)
    demand = np.bincount(j, weights=population[i] * w, minlength=len(fac_xy))
    ratio = np.divide(capacity, demand, out=np.zeros(len(fac_xy)), where=demand > 0)
    index = np.bincount(i, weights=ratio[j] * w, minlength=len(res_xy)) * per
    return index, ratio * per, demand


@dataclass
class AccessibilityOptions:
    """Settings of ``accessibility``; every one has a default.

    Attributes
    ----------
    threshold : float, optional
        Distance in metres: share of residents whose nearest facility is farther.
    catchment : float, optional
        2SFCA catchment radius in metres (no 2SFCA without it).
    decay : 'none', 'linear' or 'gaussian'
        Distance decay inside the catchment (default 'none').
    per : float
        2SFCA unit: capacity per ``per`` residents (default 100 → places per 100 children).
    min_base : float
        Areas with fewer residents are flagged in ``small_base`` (default ``DEFAULT_MIN_BASE``).
    reproject : bool
        Reproject residences and facilities to the CRS of ``areas`` (default False: they must
        match).
    distance_model : object with ``nearest`` and ``within``, optional
        Default Euclidean; the place to plug in network distances.
    residences_name, facilities_name, areas_name : str, optional
        Names of the layers in messages (default: the layers' own names).
    """

    # nearest distance and 2SFCA
    threshold: Optional[float] = None
    catchment: Optional[float] = None
    decay: str = "none"
    per: float = 100.0
    # small numbers
    min_base: float = DEFAULT_MIN_BASE
    # distances: CRS handling and the distance model
    reproject: bool = False
    distance_model: object = None
    # the layers' names in messages
    residences_name: Optional[str] = None
    facilities_name: Optional[str] = None
    areas_name: Optional[str] = None


def accessibility(residences, facilities, population_field, areas=None, area_id=None,
                  capacity_field=None, options=None, feedback=None):
    """Distance to the nearest facility and 2SFCA supply, per residence and per area.

    Parameters
    ----------
    residences : GeoDataFrame
        Where people live: points, or polygons (their centroid is used), with
        ``population_field`` (e.g. children aged 0–5). Rows with population 0 or NULL are
        left out (NULL ones are counted in the diagnostics).
    facilities : GeoDataFrame
        Facilities of one type (points; other geometries use their centroid).
    areas : GeoDataFrame, optional
        Planning areas for the per-area summary.
    area_id : str, optional
        Unique id field of the areas.
    capacity_field : str, optional
        Facility capacity (e.g. places) for 2SFCA; without it every facility counts 1.
    options : AccessibilityOptions, optional
        Distance threshold, 2SFCA catchment, decay and unit, the smallest base, reprojection,
        the distance model and the layers' names in messages (defaults:
        ``AccessibilityOptions()``).
    feedback : core.feedback.Feedback, optional
        Progress, messages and cancellation.

    Returns
    -------
    (GeoDataFrame, GeoDataFrame or None, dict)
        Residences with ``population``, ``distance``, ``nearest`` (facility row), ``beyond``
        and ``access``; areas with ``population``, ``dist_mean``, ``dist_max``,
        ``share_beyond`` (percent), ``access`` (population-weighted mean) and
        ``small_base``; diagnostics.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, AccessibilityOptions, "accessibility")
    threshold, catchment, decay, per = options.threshold, options.catchment, options.decay, options.per
    min_base, reproject, distance_model = options.min_base, options.reproject, options.distance_model
    residences_name, facilities_name = options.residences_name, options.facilities_name
    areas_name = options.areas_name
    model = distance_model or EuclideanDistance()
    for frame, name in ((residences, residences_name), (facilities, facilities_name)):
        validate.require_not_empty(frame, name)
        validate.require_projected(frame, name)
    if areas is not None:
        validate.require_not_empty(areas, areas_name)
        validate.require_projected(areas, areas_name)
        if area_id is not None:
            validate.require_fields(areas, [area_id], areas_name)
            validate.require_unique(areas, area_id, areas_name)
        # the shared repair: a residence in either lobe of a bow tie belongs to the area
        areas = validate.require_valid_geometries(areas, areas_name, repair=True, feedback=feedback,
                                                  id_field=area_id)
        if reproject:
            residences = residences if residences.crs == areas.crs else to_crs_robust(residences, areas.crs)
            facilities = facilities if facilities.crs == areas.crs else to_crs_robust(facilities, areas.crs)
        validate.require_same_crs(residences, areas, residences_name, areas_name)
    validate.require_same_crs(residences, facilities, residences_name, facilities_name)
    if decay not in DECAYS:
        decay_weights([0.0], 1.0, decay)  # raises the explained error
    for value, label in ((threshold, tr("threshold")), (catchment, tr("catchment radius"))):
        if value is not None and not value > 0:
            raise InputError(tr("The distance '{what}' must be greater than 0 (got {value}).",
                                what=label, value=value))
    population = validate.numeric_field(residences, population_field, residences_name,
                                        allow_negative=False).to_numpy()
    missing_population = int(np.isnan(population).sum())
    has_geometry = ~(residences.geometry.isna() | residences.geometry.is_empty).to_numpy()
    keep = has_geometry & np.isfinite(population) & (population > 0)
    if not keep.any():
        raise InputError(tr("Layer '{layer}' has no feature with a population above 0 in field "
                            "'{field}'.", layer=validate.layer_name(residences, residences_name),
                            field=population_field))
    res = residences.loc[keep].copy()
    pop = population[keep]
    fac_ok = ~(facilities.geometry.isna() | facilities.geometry.is_empty).to_numpy()
    fac = facilities.loc[fac_ok]
    if len(fac) == 0:
        raise InputError(tr("Layer '{layer}' has no facility with a geometry.",
                            layer=validate.layer_name(facilities, facilities_name)))
    rx, ry = point_coords(res.geometry)
    fx, fy = point_coords(fac.geometry)
    res_xy = np.column_stack([rx, ry])
    fac_xy = np.column_stack([fx, fy])
    if capacity_field is not None:
        capacity = validate.numeric_field(fac, capacity_field, facilities_name,
                                          allow_negative=False).to_numpy()
        missing_capacity = int(np.isnan(capacity).sum())
        capacity = np.where(np.isfinite(capacity), capacity, 0.0)
    else:
        capacity, missing_capacity = np.ones(len(fac)), 0
    feedback.progress(0.1)
    distance, nearest = model.nearest(res_xy, fac_xy)
    res["population"] = pop
    res["distance"] = distance
    res["nearest"] = np.asarray(fac.index)[nearest]
    if threshold is not None:
        res["beyond"] = distance > threshold
    feedback.progress(0.4)
    feedback.check()
    diagnostics = {"residences": int(len(res)), "population": float(pop.sum()),
                   "missing_population": missing_population, "facilities": int(len(fac)),
                   "missing_capacity": missing_capacity, "distance_model": model.name,
                   "decay": decay, "catchment": catchment, "threshold": threshold}
    if catchment is not None:
        access, ratio, demand = two_step_fca(res_xy, pop, fac_xy, capacity, catchment, decay,
                                             per, model)
        res["access"] = access
        served = demand > 0
        diagnostics.update({
            "capacity_total": float(capacity.sum()),
            "capacity_reached": float(capacity[served].sum()),
            "facilities_without_residents": int((~served).sum()),
            "residents_without_facility": float(pop[access == 0].sum()),
        })
    feedback.progress(0.7)
    per_area = None
    if areas is not None:
        area_of = polygons_in(res.geometry if (res.geom_type == "Point").all()
                              else res.geometry.representative_point(), areas.geometry,
                              on_overlap=validate.overlap_guard(areas, areas_name, area_id))
        res["area"] = (areas[area_id].to_numpy()[area_of] if area_id is not None
                       else np.asarray(areas.index)[area_of])
        res.loc[area_of < 0, "area"] = None
        inside = area_of >= 0
        if not inside.any():
            raise InputError(tr("No residence of layer '{residences}' lies in any area of '{areas}'. "
                                "Check that both layers cover the same place and use the right CRS.",
                                residences=validate.layer_name(residences, residences_name),
                                areas=validate.layer_name(areas, areas_name)))
        n_a = len(areas)
        a_pop = np.bincount(area_of[inside], weights=pop[inside], minlength=n_a)
        per_area = areas.copy()
        per_area["population"] = a_pop

        def weighted_mean(values):
            s = np.bincount(area_of[inside], weights=(pop * values)[inside], minlength=n_a)
            return np.divide(s, a_pop, out=np.full(n_a, np.nan), where=a_pop > 0)

        per_area["dist_mean"] = weighted_mean(distance)
        dmax = np.full(n_a, -np.inf)
        np.maximum.at(dmax, area_of[inside], distance[inside])
        per_area["dist_max"] = np.where(np.isfinite(dmax), dmax, np.nan)
        if threshold is not None:
            beyond = (distance > threshold).astype("float64")
            # the share's numerator as a count, so the rate carries its base
            per_area["population_beyond"] = np.bincount(area_of[inside], weights=(pop * beyond)[inside],
                                                        minlength=n_a)
            per_area["share_beyond"] = 100.0 * weighted_mean(beyond)
        if catchment is not None:
            per_area["access"] = weighted_mean(res["access"].to_numpy())
        per_area["small_base"] = small_base(a_pop, min_base)
        diagnostics["replaced_fields"] = warn_overwritten(areas, per_area, feedback,
                                                          validate.layer_name(areas, areas_name))
        diagnostics["residences_outside_areas"] = int((~inside).sum())
        diagnostics["population_outside_areas"] = float(pop[~inside].sum())
        if (~inside).any():
            feedback.warning(tr("{count} residence(s) with {population} residents lie outside every "
                                "area; they count for the facilities' demand but not in any area.",
                                count=int((~inside).sum()), population=round(float(pop[~inside].sum()))))
    if missing_population:
        feedback.warning(tr("Field '{field}' of layer '{layer}' is empty (NULL) in {count} "
                            "feature(s); they were left out, not counted as zero.",
                            field=population_field,
                            layer=validate.layer_name(residences, residences_name),
                            count=missing_population))
    feedback.progress(1.0)
    return res, per_area, diagnostics
