"""The public ``zonal_statistics``: checks, batches of areas over raster windows, the result table
and its warnings."""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..crs_checks import crs_label
from ..errors import InputError
from ..feedback import ensure_feedback
from ..geometry_repair import repair_geometries, repair_series
from ..i18n import tr
from ..options import options_or_default
from ..validate import layer_name, require_crs, require_not_empty, require_unique
from .coverage import _EPS, _coverage_parts, _Rings
from .fill_values import _FillWatch, _fill_text
from .raster import RasterGrid, _to_grid_crs
from .statistics import DEFAULT_STATS, _Accumulator, _parse_stats
from .weights import _Weights


def _column_name(prefix, band, stat):
    """Output column name ``<prefix>b<band>_<stat>``."""
    return f"{prefix}b{band}_{stat}"


@dataclass
class ZonalOptions:
    """Settings of ``zonal_statistics``; every one has a default.

    Attributes
    ----------
    bands : list of int, optional
        1-based band numbers (default: all bands).
    threshold : float, optional
        For share_above (v > threshold) and share_below (v < threshold), compared at the
        band's precision (a float32 band holds 0.3 as 0.30000001: it is not above 0.3).
    transform : affine.Affine or 6-tuple, optional
        Value raster given as an array: its transform (a, b, c, d, e, f) as in rasterio.
    crs : anything pyproj accepts, optional
        Value raster given as an array: its CRS; for a file, replaces the file's own CRS.
    nodata : float, optional
        Value marking missing cells of the value raster (for a file, replaces its own nodata).
    raster_name : str, optional
        Name of the value raster in messages.
    max_cells : int
        Work in batches of areas whose bounding boxes hold about this many cells
        (default 1,000,000).
    """

    # what is computed
    bands: Optional[list] = None
    threshold: Optional[float] = None
    # the value raster: arrays need transform and crs; for a file they replace its own
    transform: Optional[tuple] = None
    crs: object = None
    nodata: Optional[float] = None
    raster_name: Optional[str] = None
    # batches
    max_cells: int = 1_000_000


def zonal_statistics(zones, raster, stats=DEFAULT_STATS, prefix="", options=None, weights=None,
                     weights_field=None, id_field=None, feedback=None):
    """Raster statistics per area with exact partial-pixel coverage (like exactextract).

    Parameters
    ----------
    zones : GeoDataFrame
        Areas (polygons / multipolygons, holes allowed) with a CRS. Not modified.
    raster : str, rasterio dataset, numpy array or RasterGrid
        The value raster; for an array give ``transform`` and ``crs`` (and ``nodata``) in
        ``options``, or pass ``RasterGrid(array, transform, crs, nodata)``.
    stats : sequence of str or comma-separated str
        Any of count, sum, mean, min, max, std, median, pNN (percentile, e.g. p90), majority,
        share_above, share_below (need ``options.threshold``), weighted_mean (needs ``weights``).
        Definitions in the module docstring; count and shares are in cells (fractions of
        cells), so count × cell area is the area with data.
    prefix : str
        Put in front of every output column: ``<prefix>b<band>_<stat>``.
    options : ZonalOptions, optional
        Bands, threshold, the description of an array raster and the batch size (defaults:
        ``ZonalOptions()``).
    weights : raster (like ``raster``) or GeoDataFrame, optional
        Population per cell (a raster on any grid/CRS; resampled by averaging when it is not
        on the value grid) or population blocks (polygons, spread evenly over their area).
    weights_field : str, optional
        Population field of the blocks layer.
    id_field : str, optional
        Field of ``zones`` that must be unique (checked; the result keeps the zones' index).
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table, indexed like ``zones``: ``<prefix>b<band>_<stat>`` for every band and
        statistic, ``<prefix>covered_share`` (share of the area's surface lying on the
        raster) and ``<prefix>b<band>_nodata_share`` (share of the covered surface that is
        nodata). Areas without any valid cell get NULL statistics (count 0). Diagnostics:
        ``crs_transformed``, ``cell_area``, ``n_cells``, ``empty_zones`` (ids without data),
        with weighted_mean ``no_weight_zones`` (ids with data but no population: NULL, with a
        warning; an InputError when weighted_mean is the only statistic and no area has any).
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, ZonalOptions, "zonal_statistics")
    bands, threshold, max_cells = options.bands, options.threshold, options.max_cells
    name = layer_name(zones)
    require_not_empty(zones, name)
    require_crs(zones, name)
    names, quantiles = _parse_stats(stats)
    if ("share_above" in names or "share_below" in names) and threshold is None:
        raise InputError(tr("The statistics share_above / share_below need a threshold "
                            "value (e.g. 65 for Lden > 65 dB)."))
    if "weighted_mean" in names and weights is None:
        raise InputError(tr("The statistic weighted_mean needs population weights "
                            "(a population raster or blocks with a population field)."))
    if id_field is not None:
        require_unique(zones, id_field, name)
    require_unique(zones, None, name)
    grid = RasterGrid(raster, transform=options.transform, crs=options.crs, nodata=options.nodata,
                      name=options.raster_name)
    weight_source = None
    try:
        if grid.width == 0 or grid.height == 0 or grid.count == 0:
            raise InputError(tr("Raster '{layer}' is empty (no cells or bands).", layer=grid.name))
        if grid.crs is None:
            raise InputError(tr("Raster '{layer}' has no coordinate reference system (CRS). "
                                "Assign the correct CRS first.", layer=grid.name))
        bands = list(range(1, grid.count + 1)) if bands is None else [int(b) for b in bands]
        wrong = [b for b in bands if b < 1 or b > grid.count]
        if wrong or not bands:
            raise InputError(tr("Raster '{layer}' has {count} band(s); band {band} does not exist.",
                                layer=grid.name, count=grid.count, band=wrong[0] if wrong else "–"))
        kinds = set(zones.geometry.dropna().geom_type.unique())
        if not kinds <= {"Polygon", "MultiPolygon"}:
            raise InputError(tr("Layer '{layer}' must contain polygons (areas); it contains {kinds}.",
                                layer=name, kinds=", ".join(sorted(kinds))))
        # the shared repair (MakeValid keeping every part; buffer(0) would drop a bow tie's lobe),
        # in the layer's own CRS so the warning's areas are the planner's
        geometry = repair_geometries(zones, name, id_field, feedback).geometry
        geometry, transformed = _to_grid_crs(geometry, grid, flag=True)
        if transformed:
            feedback.info(tr("Areas transformed from {src} to the raster's CRS ({dst}); coverage is "
                             "computed in the raster's grid.", src=crs_label(zones.crs),
                             dst=crs_label(grid.crs)))
            geometry = repair_series(geometry)[0]  # a reprojection can bend a valid ring into an invalid one
        if weights is not None:
            if hasattr(weights, "geometry"):  # blocks: a bow tie's lobes would cancel in its area
                weights = repair_geometries(weights, feedback=feedback)
            weight_source = _Weights(weights, weights_field, grid)
        table, diagnostics = _run(zones, geometry, grid, bands, names, quantiles, threshold,
                                  prefix, weight_source, max_cells, feedback, name,
                                  # warnings name areas by their id where there is one, not by feature number
                                  labels=zones[id_field].to_numpy() if id_field is not None else None)
        for value in sorted(getattr(weight_source, "ignored", {})):
            feedback.warning(tr("Population raster '{raster}' holds {value} under the areas "
                                "(negative, or a fill value without a nodata flag): such pixels count "
                                "as no population (weight 0). Set the raster's nodata value to {value} "
                                "to make this explicit.", raster=weight_source.name,
                                value=_fill_text(value)))
        diagnostics["crs_transformed"] = transformed
        return table, diagnostics
    finally:
        grid.close()
        if weight_source is not None:
            weight_source.close()


def _run(zones, geometry, grid, bands, names, quantiles, threshold, prefix, weight_source,
         max_cells, feedback, name, labels=None):
    """Batches of zones → statistics table."""
    a, _, c, _, e, f = grid.transform
    n = len(zones)
    rings = _Rings(list(geometry.values))
    bounds = rings.zone_bounds()  # NaN for empty
    us = (bounds[:, [0, 2]] - c) / a
    vs = (bounds[:, [1, 3]] - f) / e
    with np.errstate(invalid="ignore"):
        r0 = np.clip(np.floor(np.nanmin(vs, axis=1)), 0, grid.height)
        r1 = np.clip(np.ceil(np.nanmax(vs, axis=1)), 0, grid.height)
        c0 = np.clip(np.floor(np.nanmin(us, axis=1)), 0, grid.width)
        c1 = np.clip(np.ceil(np.nanmax(us, axis=1)), 0, grid.width)
    ok = np.isfinite(r0) & np.isfinite(c0) & (r1 > r0) & (c1 > c0)
    if not ok.any():
        gb = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]), np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        raise InputError(tr("Layer '{layer}' and raster '{raster}' do not overlap (areas: {areas}; "
                            "raster: {extent}, both in the raster's CRS). Check that both have the "
                            "right CRS.", layer=name, raster=grid.name,
                            areas=", ".join(f"{x:.0f}" for x in gb),
                            extent=", ".join(f"{x:.0f}" for x in grid.bounds)))
    r0, r1, c0, c1 = (np.where(ok, x, 0).astype("int64") for x in (r0, r1, c0, c1))
    cells = (r1 - r0) * (c1 - c0)
    order = np.lexsort((c0, r0))
    order = order[ok[order]]
    zone_batch = np.full(n, -1, dtype="int64")
    batch_id = np.cumsum(cells[order]) // max(int(max_cells), 1)
    cut = np.flatnonzero(np.r_[True, batch_id[1:] != batch_id[:-1], True])
    accs = {b: _Accumulator(n, names, quantiles, _band_threshold(threshold, grid.dtypes[b - 1]))
            for b in bands}
    total_cover = np.zeros(n)
    n_cells = 0
    watch = _FillWatch([band for band in bands if grid.nodatavals[band - 1] is None])
    for k in range(len(cut) - 1):
        feedback.check()
        members = np.sort(order[cut[k]:cut[k + 1]])
        wr0, wr1 = int(r0[members].min()), int(r1[members].max())
        wc0, wc1 = int(c0[members].min()), int(c1[members].max())
        local = (a, 0.0, c + a * wc0, 0.0, e, f + e * wr0)
        zone_batch[members] = np.arange(len(members))
        batch_rings = np.flatnonzero(zone_batch[rings.ring_zone] >= 0)
        u0, v0, u1, v1, sign, zone = rings.edges(batch_rings, local)
        part, runs = _coverage_parts(u0, v0, u1, v1, sign, zone_batch[zone], wr1 - wr0, wc1 - wc0)
        zone_batch[members] = -1
        n_cells += len(part[0]) + int(runs[3].sum())
        total_cover[members] = (np.bincount(part[0], part[3], minlength=len(members))
                                + np.bincount(runs[0], runs[3].astype("float64"), minlength=len(members)))
        data, valid = grid.read(bands, wr0, wr1, wc0, wc1)
        watch.add(members, part, runs, data, valid, bands)  # before add_window blanks cells in place
        pop = None
        if weight_source is not None:
            pop = weight_source.window(wr0, wr1, wc0, wc1)
        for i, band in enumerate(bands):
            accs[band].add_window(members, part, runs, data[i], valid[i], pop)
        feedback.progress((k + 1) / (len(cut) - 1))
    columns = {}
    for band in bands:
        acc = accs[band]
        for stat in names:
            values = acc.result.get(stat, np.full(n, np.nan))
            if stat == "count":
                values = np.nan_to_num(values, nan=0.0)
            columns[_column_name(prefix, band, stat)] = values
    area = rings.zone_areas()
    with np.errstate(invalid="ignore", divide="ignore"):
        columns[f"{prefix}covered_share"] = np.where(area > 0, total_cover * grid.cell_area / area, np.nan)
        for band in bands:
            acc = accs[band]
            columns[_column_name(prefix, band, "nodata_share")] = np.where(
                total_cover > 0, acc.nodata_cover / np.where(total_cover > 0, total_cover, 1), np.nan)
    table = pd.DataFrame(columns, index=zones.index)
    valid_any = np.zeros(n, dtype=bool)
    for band in bands:
        valid_any |= (total_cover - accs[band].nodata_cover) > _EPS
    empty = zones.index[~valid_any]
    if len(empty) == n:
        raise InputError(tr("Raster '{raster}' has no valid value (only nodata) under any area of "
                            "layer '{layer}'. Check the nodata value and the extent.",
                            raster=grid.name, layer=name))
    if len(empty):
        feedback.warning(tr("{count} of {total} areas have no raster data (outside the raster or only "
                            "nodata), e.g. {example}; their statistics are NULL.", count=len(empty),
                            total=n, example=", ".join(str(x) for x in list(
                                (empty if labels is None else labels[~valid_any])[:5]))))
    diagnostics = {"cell_area": grid.cell_area, "n_cells": int(n_cells),
                   "empty_zones": list(empty), "bands": bands, "stats": names,
                   "fill_values": watch.report(zones.index if labels is None else labels, grid.name, feedback)}
    if weight_source is not None and "weighted_mean" in names:
        diagnostics["no_weight_zones"] = _check_weighted_mean(
            table, zones.index, accs, bands, prefix, valid_any, weight_source, grid, names, name,
            feedback)
    return table, diagnostics


def _band_threshold(threshold, dtype):
    """The threshold as the band stores it: a float32 raster holds 0.3 as 0.30000001, which
    must not count as above 0.3, so the threshold is rounded to float32 too."""
    if threshold is None:
        return None
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize < 8:
        return float(np.asarray(threshold, dtype=dtype))
    return float(threshold)


def _check_weighted_mean(table, index, accs, bands, prefix, valid_any, weight_source, grid, names,
                         name, feedback):
    """Say which areas with raster data got no population-weighted mean (no population under
    them); refuse when that leaves nothing at all to deliver. Returns their ids."""
    missing = np.zeros(len(index), dtype=bool)
    for band in bands:
        acc = accs[band]
        has_data = (acc.total_cover - acc.nodata_cover) > _EPS
        missing |= has_data & np.isnan(table[_column_name(prefix, band, "weighted_mean")].to_numpy())
    if not missing.any():
        return []
    ids = index[missing]
    if missing.sum() == valid_any.sum():
        # not one area has population under its raster cells: the weights do not overlap
        # the raster / the areas, lie in another place (CRS), or are all zero
        text = tr("The population weights '{weights}' are zero or missing under every area of "
                  "layer '{layer}' that has data in raster '{raster}', so the population-weighted "
                  "mean cannot be computed for any area. Check that '{weights}' covers the same "
                  "place as the raster (extent and CRS) and that its population is not 0.",
                  weights=weight_source.name, layer=name, raster=grid.name)
        if list(names) == ["weighted_mean"]:
            raise InputError(text)
        feedback.warning(text + " " + tr("The other statistics are computed; weighted_mean is "
                                         "NULL."))
    else:
        feedback.warning(tr("{count} of {total} areas with raster data have no population in "
                            "'{weights}' under them, e.g. {example}; their population-weighted "
                            "mean is NULL.", count=int(missing.sum()), total=int(valid_any.sum()),
                            weights=weight_source.name,
                            example=", ".join(str(x) for x in list(ids[:5]))))
    return list(ids)
