"""Polygon → polygon transfer (areal interpolation), area-weighted or dasymetric.

Extensive variables (counts) are split by the share of each source that falls into each
target, so totals are conserved: total in = total assigned + total outside every target.
Intensive variables (means, rates without their counts) are averaged with weights: the
overlap area, or an ancillary weight such as the population of the source. Rates are best
transferred as their two counts (:class:`~.privacy.RateSpec`) and divided afterwards.

Speed: sources wholly inside one target need no intersection (one ``covers`` test); only
sources on a boundary are intersected. A regular grid of square cells is recognised and
handed to the raster-lookup engine of :mod:`.grid` (no spatial join at all).
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import sparse

from .. import validate
from ..aggregate import warn_odd_rate
from ..errors import InputError
from ..feedback import ensure_feedback
from ..geometry_arrays import bounds_and_areas
from ..i18n import tr
from ..options import options_or_default
from ..values import rate_like
from ..rates import DEFAULT_MIN_BASE, small_base
from ._spatial import as_series
from .grid import GridOptions, detect_regular_grid, grid_to_areas
from .privacy import RateSpec, set_rate_columns, warn_overwritten
from .weights import RasterWeights, _fill_text, check_no_overlap, overlap_table, overlap_weights  # noqa: F401 - API

__all__ = ["InterpolationOptions", "RasterWeights", "area_interpolate", "check_no_overlap", "overlap_table",
           "overlap_weights"]


def _prepare_polygons(frame, name, feedback, diagnostics, key, return_dropped=False):
    """Checks shared by sources, targets and ancillary layers; repairs invalid geometries.

    Features whose coordinates are not finite are left out (reported); with
    ``return_dropped`` they are returned too, so their values can be reported."""
    validate.require_not_empty(frame, name)
    validate.require_projected(frame, name)
    kinds = set(frame.geometry.geom_type.dropna().unique())
    if kinds - {"Polygon", "MultiPolygon"}:
        raise InputError(tr("Layer '{layer}' must contain polygons (found {kinds}).",
                            layer=validate.layer_name(frame, name), kinds=", ".join(sorted(kinds))))
    bounds, _ = bounds_and_areas(frame)
    broken = ~np.isfinite(bounds).all(axis=1) & ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if broken.any():
        if key == "repaired_targets":
            raise InputError(tr("Layer '{layer}' has {count} geometry(ies) with infinite or missing "
                                "coordinates (first: feature {feature}), often from a failed "
                                "reprojection. Check the layer's CRS.",
                                layer=validate.layer_name(frame, name), count=int(broken.sum()),
                                feature=frame.index[broken][0]))
        feedback.warning(tr("Layer '{layer}': {count} geometry(ies) with infinite or missing "
                            "coordinates (first: feature {feature}) were left out; check the CRS.",
                            layer=validate.layer_name(frame, name), count=int(broken.sum()),
                            feature=frame.index[broken][0]))
    dropped = frame.iloc[0:0]
    if broken.any():
        dropped, frame = frame.loc[broken], frame.loc[~broken]
    diagnostics[key.replace("repaired", "dropped")] = int(broken.sum())
    invalid = int((~frame.geometry.is_valid & frame.geometry.notna()).sum())
    if invalid:  # the shared repair warns naming the features and their area before/after
        frame = validate.require_valid_geometries(frame, name, repair=True, feedback=feedback)
    diagnostics[key] = invalid
    return (frame, dropped) if return_dropped else frame


@dataclass
class InterpolationOptions:
    """Settings of ``area_interpolate``; every one has a default.

    Attributes
    ----------
    weight_field : str, optional
        Source field used as weight for the intensive variables (default: the overlap area).
    ancillary_field : str, optional
        Density field of an ancillary polygon layer (e.g. dwellings; default: its area).
    base_field : str, optional
        Extensive field holding the population base: adds ``small_base`` (under ``min_base``).
    min_base : float
        Smallest base that is not flagged in ``small_base`` (default ``DEFAULT_MIN_BASE``).
    source_name, target_name, ancillary_name : str, optional
        Names of the layers in messages (default: the layers' own names).
    """

    # how the values are spread and weighted
    weight_field: Optional[str] = None
    ancillary_field: Optional[str] = None
    # small numbers
    base_field: Optional[str] = None
    min_base: float = DEFAULT_MIN_BASE
    # the layers' names in messages
    source_name: Optional[str] = None
    target_name: Optional[str] = None
    ancillary_name: Optional[str] = None


def area_interpolate(sources, targets, extensive=(), intensive=(), rates=(), options=None,
                     ancillary=None, target_id=None, feedback=None):
    """Transfer fields of polygon ``sources`` onto polygon ``targets``.

    Parameters
    ----------
    sources, targets : GeoDataFrame
        Polygons in the same projected CRS. Sources should not overlap each other.
    extensive : list of str
        Count fields of the sources (residents, dwellings): split by share, totals conserved.
    intensive : list of str
        Mean or rate fields: weighted mean over the parts of sources in a target; weight is
        the overlap area, or the share of ``options.weight_field`` (e.g. residents) in the
        target. ``<field>_weight`` holds the summed weight.
    rates : list of RateSpec or tuples ``(name, numerator, denominator[, per[, min_base]])``
        Rates rebuilt from their transferred counts: ``<name>_num``, ``<name>_den``,
        ``<name>`` and ``<name>_small`` (base under ``min_base``).
    options : InterpolationOptions, optional
        Weight, ancillary density and base fields, the smallest base and the layers' names
        in messages (defaults: ``InterpolationOptions()``).
    ancillary : GeoDataFrame or RasterWeights, optional
        Dasymetric mode: polygons where the variable can occur (e.g. residential blocks);
        sources are spread only onto their part inside these (by area, or by density of
        ``options.ancillary_field`` such as dwellings); or a raster of weights (population,
        residential share) read with :meth:`RasterWeights.from_file`. Sources without ancillary cover fall back
        to plain area weighting and are counted in the diagnostics.
    target_id : str, optional
        Id field of the targets (must be unique).
    feedback : core.feedback.Feedback, optional
        Progress, messages and cancellation.

    Returns
    -------
    (GeoDataFrame, dict)
        Targets with the transferred fields and ``covered_share`` (share of the target's
        area covered by sources), plus diagnostics: per extensive field ``total_in``,
        ``total_assigned``, ``total_outside``, ``missing_values``; ``sources_outside``,
        ``sources_split``, ``dasymetric_fallback``, ``repaired_geometries``.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, InterpolationOptions, "area_interpolate")
    weight_field, ancillary_field = options.weight_field, options.ancillary_field
    base_field, min_base = options.base_field, options.min_base
    source_name, target_name = options.source_name, options.target_name
    ancillary_name = options.ancillary_name
    extensive = list(extensive or [])
    intensive = list(intensive or [])
    rates = [RateSpec.coerce(r) for r in (rates or [])]
    if not (extensive or intensive or rates):
        raise InputError(tr("Choose at least one field to transfer."))
    diagnostics = {}
    # a regular grid of squares needs no validity check (every square cell is valid)
    grid = None
    if ancillary is None and not intensive:
        validate.require_not_empty(sources, source_name)
        grid = detect_regular_grid(sources)
    if grid is None:
        sources, dropped = _prepare_polygons(sources, source_name, feedback, diagnostics,
                                             "repaired_sources", return_dropped=True)
    else:
        validate.require_projected(sources, source_name)
        diagnostics["repaired_sources"] = 0
    targets = _prepare_polygons(targets, target_name, feedback, diagnostics, "repaired_targets")
    validate.require_same_crs(sources, targets, source_name, target_name)
    if target_id is not None:
        validate.require_fields(targets, [target_id], target_name)
        validate.require_unique(targets, target_id, target_name)
    count_fields = list(dict.fromkeys(extensive + [f for r in rates for f in (r.numerator, r.denominator)]))
    values = {f: validate.numeric_field(sources, f, source_name).to_numpy() for f in count_fields}
    validate.warn_duplicate_features(sources, source_name, feedback)  # a copy is split twice
    for field in extensive:
        kind = rate_like(values[field])
        if kind:  # split by area share, a rate becomes a meaningless small number
            feedback.warning(tr("Field '{field}' of layer '{layer}' holds values like a {kind} (all "
                                "between 0 and {top}, with decimals), not counts: transferred as a count "
                                "it is split by area and means nothing. Transfer it as a mean "
                                "(intensive field) or transfer its numerator and denominator as a rate; "
                                "ignore this if they really are counts.", field=field,
                                layer=validate.layer_name(sources, source_name),
                                kind=tr("share") if kind == "share" else tr("percentage"),
                                top=1 if kind == "share" else 100))
    for field, v in values.items():
        negative = np.flatnonzero(v < 0)
        if len(negative):
            # net changes may be negative; a -1 that marks a suppressed value is not a count
            feedback.warning(tr("Field '{field}' of layer '{layer}' has {count} negative value(s) "
                                "(first: {value} in feature {feature}). They are transferred as "
                                "counts; if they mark suppressed or secret values, set them to "
                                "NULL first.", field=field, count=len(negative),
                                layer=validate.layer_name(sources, source_name),
                                value=v[negative[0]], feature=sources.index[negative[0]]))
    means = {f: validate.numeric_field(sources, f, source_name).to_numpy() for f in intensive}
    weight = None
    if weight_field is not None:
        weight = validate.numeric_field(sources, weight_field, source_name,
                                        allow_negative=False).fillna(0.0).to_numpy()
    if base_field is not None and base_field not in count_fields:
        raise InputError(tr("The base field '{field}' must also be transferred as a count "
                            "(extensive) field.", field=base_field))
    if isinstance(ancillary, RasterWeights):
        anc_layer = ancillary_name or tr("ancillary raster")
        for value, cells in getattr(ancillary, "fill_values", {}).items():
            feedback.warning(tr("The ancillary raster '{raster}' has no nodata value, but {cells} "
                                "pixel(s) hold {value}, far above its other values: most likely a "
                                "fill value for 'no data'. These pixels are left out of the weights; "
                                "set the raster's nodata value to {value} to make this explicit.",
                                raster=anc_layer, cells=cells, value=_fill_text(value)))
        if len(ancillary.weights) == 0:
            raise InputError(tr("The ancillary raster has no pixel with a value above 0."))
        ancillary = ancillary.to_crs(sources.crs)
    elif ancillary is not None:
        anc_layer = validate.layer_name(ancillary, ancillary_name)
        ancillary = _prepare_polygons(ancillary, ancillary_name, feedback, diagnostics, "repaired_ancillary")
        validate.require_same_crs(sources, ancillary, source_name, ancillary_name)

    if grid is not None:
        feedback.info(tr("The sources form a regular grid of {size} m cells: using the fast "
                         "grid lookup.", size=grid["cell_size"]))
        return _interpolate_grid(sources, targets, grid, extensive, rates, target_id, base_field,
                                 min_base, feedback, diagnostics, source_name, target_name)

    feedback.info(tr("Computing overlaps of {n} source polygons with {m} target polygons…",
                     n=len(sources), m=len(targets)))
    ow = overlap_weights(sources, targets, ancillary, ancillary_field, feedback.step(0.0, 0.9))
    W, A, source_weight = ow["W"], ow["A"], ow["source_weight"]
    if ancillary is not None and A.nnz and ow["fallback"][np.diff(A.indptr) > 0].all():
        raise InputError(tr("The ancillary layer '{layer}' gives no weight to any polygon of "
                            "'{source}' that lies in the areas: it does not overlap them, or its "
                            "values are all 0 or empty there. Check its extent, CRS and weight "
                            "field.", layer=anc_layer,
                            source=validate.layer_name(sources, source_name)))
    if A.nnz == 0:
        raise InputError(tr("No polygon of layer '{source}' overlaps layer '{target}'. Check that "
                            "both layers cover the same place and use the right CRS.",
                            source=validate.layer_name(sources, source_name),
                            target=validate.layer_name(targets, target_name)))
    share = sparse.diags(np.divide(1.0, source_weight, out=np.zeros_like(source_weight),
                                   where=source_weight > 0)) @ W  # share of source in target
    share = share.tocsr()
    out = targets.copy()
    t_area = np.asarray(as_series(targets).area, dtype="float64")
    covered = np.asarray(A.sum(axis=0)).ravel()
    out["covered_share"] = np.minimum(np.divide(covered, t_area, out=np.zeros_like(t_area),
                                                where=t_area > 0), 1.0)
    assigned_share = np.asarray(share.sum(axis=1)).ravel()  # 1 for sources wholly inside
    check_no_overlap(A, ow["source_area"], targets, target_name, target_id)
    per_field = {}
    results = {}
    for field in count_fields:
        v = values[field]
        known = np.isfinite(v)
        v0 = np.where(known, v, 0.0)
        assigned = share.T @ v0
        results[field] = assigned
        total_in = float(v0.sum())
        total_assigned = float(assigned.sum())
        per_field[field] = {"total_in": total_in, "total_assigned": total_assigned,
                            "total_outside": float((v0 * (1.0 - assigned_share)).sum()),
                            "missing_values": int((~known).sum()),
                            # left out for unusable coordinates: not in total_in either
                            "total_dropped": float(np.nansum(pd.to_numeric(dropped[field],
                                                                           errors="coerce")))}
    for field in extensive:
        out[field] = results[field]
    for field in intensive:
        v = means[field]
        known = np.isfinite(v).astype("float64")
        omega = (sparse.diags(weight) @ share) if weight is not None else W
        omega = sparse.diags(known) @ omega
        num = omega.T @ np.where(np.isfinite(v), v, 0.0)
        den = np.asarray(omega.sum(axis=0)).ravel()
        out[field] = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
        out[f"{field}_weight"] = den
    for spec in rates:
        set_rate_columns(out, spec.name, results[spec.numerator], results[spec.denominator],
                         per=spec.per, min_base=spec.min_base)
        warn_odd_rate(spec, np.asarray(results[spec.numerator], dtype="float64"),
                      np.asarray(results[spec.denominator], dtype="float64"),
                      (targets[target_id] if target_id is not None else targets.index).to_numpy(dtype=object),
                      feedback)
    if base_field is not None:
        out["small_base"] = small_base(results[base_field], min_base)
    rows_with_overlap = np.diff(A.indptr) > 0
    diagnostics.update({
        "fields": per_field,
        "sources": len(sources),
        "targets": len(targets),
        "sources_outside": int((~rows_with_overlap).sum()),
        "sources_split": int((np.diff(share.indptr) > 1).sum()),
        "sources_partly_outside": int((rows_with_overlap & (assigned_share < 1 - 1e-9)).sum()),
        "dasymetric_fallback": int(ow["fallback"].sum()),
        "engine": "polygon",
    })
    _report(feedback, diagnostics, sources, source_name)
    diagnostics["replaced_fields"] = warn_overwritten(targets, out, feedback,
                                                      validate.layer_name(targets, target_name))
    feedback.progress(1.0)
    return out, diagnostics


def _report(feedback, diagnostics, sources, source_name):
    """Log what was not assigned, so gaps are visible."""
    layer = validate.layer_name(sources, source_name)
    for field, d in diagnostics["fields"].items():
        feedback.info(tr("Field '{field}': {total_in} in the source, {assigned} assigned to the "
                         "areas, {outside} outside every area.", field=field,
                         total_in=round(d["total_in"], 3), assigned=round(d["total_assigned"], 3),
                         outside=round(d["total_outside"], 3)))
        if d.get("total_dropped"):
            feedback.warning(tr("Field '{field}': {value} in the left-out feature(s) of layer "
                                "'{layer}' are not part of these totals.", field=field,
                                value=round(d["total_dropped"], 3), layer=layer))
        if d["missing_values"]:
            feedback.warning(tr("Field '{field}' of layer '{layer}' is empty (NULL) in {count} "
                                "feature(s); they were left out, not counted as zero.",
                                field=field, layer=layer, count=d["missing_values"]))
    if diagnostics.get("sources_outside"):
        feedback.warning(tr("{count} feature(s) of layer '{layer}' lie outside every area.",
                            count=diagnostics["sources_outside"], layer=layer))
    if diagnostics.get("dasymetric_fallback"):
        feedback.warning(tr("{count} source polygon(s) do not touch the ancillary layer and were "
                            "spread by area instead.", count=diagnostics["dasymetric_fallback"]))


def _interpolate_grid(sources, targets, grid, extensive, rates, target_id, base_field, min_base,
                      feedback, diagnostics, source_name, target_name):
    """Sources that are a regular grid: hand over to the grid engine (same outputs)."""
    count_fields = list(dict.fromkeys(extensive + [f for r in rates for f in (r.numerator, r.denominator)]))
    table = pd.DataFrame({f: sources[f].to_numpy() for f in count_fields}, index=pd.RangeIndex(len(sources)))
    table["_x"] = grid["x"]
    table["_y"] = grid["y"]
    table.attrs["layer_name"] = validate.layer_name(sources, source_name)
    options = GridOptions(x="_x", y="_y", cell_size=grid["cell_size"], crs=sources.crs, secret_values=(),
                          base_field=base_field, min_base=min_base, target_name=target_name)
    out, diag = grid_to_areas(table, targets, fields=count_fields, options=options, rates=rates,
                              target_id=target_id, feedback=feedback)
    drop = [c for c in out.columns if c.endswith("_secret") and c[:-7] in count_fields]
    drop += [f for f in count_fields if f not in extensive and f in out.columns]
    out = out.drop(columns=drop)
    diag.update({k: v for k, v in diagnostics.items() if k.startswith("repaired")})
    diag["engine"] = "grid"
    return out, diag
