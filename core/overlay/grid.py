"""Grid → areas: Zensus-style grid tables (cell centres) or grid polygons onto planning areas.

Method (no spatial join at all): the cell centres are put on their lattice (row, column);
the target areas are rasterised once on that lattice (cell centre → area), and their
outlines are burnt with ``all_touched`` to find the cells a boundary runs through. Cells
away from every boundary belong wholly to one area (or to none) and are looked up by index;
only boundary cells are intersected exactly with the areas (or split by an ancillary layer).

Suppressed or secret values (``-1``, ``–``, ``-``, empty) are not zeros: they are left out
of the sums and counted per area in ``<field>_secret``. Cells absent from the table are
reported through ``covered_share`` (the share of the area covered by listed cells).
"""
import re
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from .. import validate
from ..aggregate import warn_odd_rate
from ..errors import InputError
from ..feedback import ensure_feedback
from ..crs_checks import crs_label
from ..geometry_arrays import bounds_and_areas, polygon_rings, reproject
from ..i18n import tr
from ..options import options_or_default
from ..values import announce, parse_numbers
from ..rates import DEFAULT_MIN_BASE, small_base
from ._spatial import as_series, boxes, clip_to_boxes, same_crs
from .privacy import RateSpec, set_rate_columns, warn_overwritten
from .weights import check_no_overlap, overlap_weights

DEFAULT_SECRET = (-1, "-1", "–", "—", "-", "", ".", "x", "X", "/")
ZENSUS_CRS = "EPSG:3035"
_SIZE_SUFFIX = {"m": 1.0, "km": 1000.0}


def _size_from_name(name):
    """Cell size in metres from a Zensus column name such as ``x_mp_100m`` or ``x_mp_1km``."""
    match = re.search(r"_(\d+)(km|m)$", str(name))
    return float(match.group(1)) * _SIZE_SUFFIX[match.group(2)] if match else None


def detect_columns(table, x=None, y=None):
    """Return the names of the x and y cell-centre columns (``x_mp_*``/``y_mp_*`` by default)."""
    columns = [str(c) for c in table.columns]
    if x is None:
        found = [c for c in columns if re.match(r"^x_mp", c, re.I)] or [c for c in columns if c.lower() in ("x", "x_mp")]
        x = found[0] if found else None
    if y is None:
        found = [c for c in columns if re.match(r"^y_mp", c, re.I)] or [c for c in columns if c.lower() in ("y", "y_mp")]
        y = found[0] if found else None
    if x is None or y is None:
        raise InputError(tr("Table '{layer}' has no cell-centre columns (expected x_mp_100m and "
                            "y_mp_100m or x_mp_1km and y_mp_1km). Name the x and y columns.",
                            layer=validate.layer_name(table)))
    validate.require_fields(table, [x, y])
    return x, y


def detect_cell_size(x, y, name=None):
    """Cell size from the column name, else the smallest spacing of the centres."""
    size = _size_from_name(name) if name else None
    if size:
        return size
    spacings = []
    for values in (x, y):
        unique = np.unique(np.asarray(values, dtype="float64"))
        if len(unique) > 1:
            diffs = np.diff(unique)
            spacings.append(diffs[diffs > 1e-9].min())
    if not spacings:
        raise InputError(tr("The cell size cannot be detected from a single cell; give it explicitly."))
    return float(min(spacings))


def detect_regular_grid(frame, rtol=1e-6):
    """If the polygons of ``frame`` are equal axis-aligned squares on one lattice, return
    ``{'x', 'y', 'cell_size'}`` (cell centres), else None.

    A polygon whose bounds are a ``size`` x ``size`` square and whose area is ``size``²
    fills its bounding box, so it is that square cell; the centres must lie on one lattice.
    Bounds and areas come from :func:`~..geometry_arrays.bounds_and_areas` (fast on both
    shapely stacks).
    """
    n = len(frame)
    if n < 4:
        return None
    geoms = frame.geometry
    sample = geoms.iloc[: min(n, 50)]
    if sample.isna().any() or set(sample.geom_type.unique()) != {"Polygon"}:
        return None
    b, area = bounds_and_areas(geoms)
    if not np.isfinite(b).all():
        return None  # a missing or empty geometry
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    size = float(np.median(w))
    if size <= 0 or not (np.allclose(w, size, rtol=rtol, atol=0) and np.allclose(h, size, rtol=rtol, atol=0)):
        return None
    if not np.allclose(area, size * size, rtol=1e-9, atol=0):
        return None  # does not fill its bounding box: not a square cell
    x = (b[:, 0] + b[:, 2]) / 2.0
    y = (b[:, 1] + b[:, 3]) / 2.0
    fx = (x - x.min()) / size
    fy = (y - y.min()) / size
    if np.abs(fx - np.rint(fx)).max() > 1e-6 or np.abs(fy - np.rint(fy)).max() > 1e-6:
        return None
    return {"x": x, "y": y, "cell_size": size}


def parse_grid_values(column, secret_values=DEFAULT_SECRET, field=None, layer=None):
    """Return ``(values, secret)``: float counts and a mask of suppressed/secret/empty cells."""
    series = pd.Series(column).reset_index(drop=True)
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(object)
    if pd.api.types.is_numeric_dtype(series):
        series = series.astype("float64")  # nullable Int64 from QGIS: NULL → NaN
    else:
        series = series.astype(object)
    secret_num = {float(v) for v in secret_values if isinstance(v, (int, float)) or
                  (isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v))}
    secret_txt = {str(v).strip() for v in secret_values if isinstance(v, str)}
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64").copy()
        secret = ~np.isfinite(values)
    else:
        text = series.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                          else str(v).strip())
        secret = (text.isna() | text.isin(secret_txt) | (text == "")).to_numpy()
        # counts as text: German notation (1.234 = 1234) decided per field, never 1.234 persons;
        # refuses what is no number, naming it
        candidates = text.where(~secret)
        numbers, report = parse_numbers(candidates.tolist(), field, layer or tr("input layer"),
                                        whole_numbers=True)
        announce(report)
        # further marks of the statistical offices ('.', 'x', '/') are suppressed cells too
        secret = secret | (np.isnan(numbers) & candidates.notna().to_numpy())
        values = numbers
    if secret_num:
        secret = secret | np.isin(values, list(secret_num))
    values = np.where(secret, np.nan, values)
    if (values < 0).any():
        raise InputError(tr("Field '{field}' in layer '{layer}' has negative values (e.g. {value}); "
                            "counts cannot be negative. Check for codes such as -1 for "
                            "'secret' and set them to NULL.", field=field,
                            layer=layer or tr("input layer"), value=values[values < 0][0]))
    return values, secret


def _on_lattice(x, y, size):
    """True when the centres lie on one lattice of ``size`` (as :func:`_lattice` demands)."""
    if not size or size <= 0:
        return False
    fc = (x - np.min(x)) / size
    fr = (np.max(y) - y) / size
    return bool(np.abs(fc - np.rint(fc)).max() <= 1e-3 and np.abs(fr - np.rint(fr)).max() <= 1e-3)


def _back_to_zensus_crs(table, cell_size, layer, crs, feedback, as_given):
    """Cell centres of a Zensus layer a planner reprojected (e.g. to EPSG:25833), taken back to
    EPSG:3035, where alone they lie on their lattice; ``as_given`` when they do not there either."""
    back = reproject(table.geometry, ZENSUS_CRS)
    # back-projection is exact to far below a millimetre; rounding keeps float noise out of the
    # spacing that gives the cell size
    bx = np.round(np.asarray(back.x, dtype="float64"), 3)
    by = np.round(np.asarray(back.y, dtype="float64"), 3)
    if not (np.isfinite(bx).all() and np.isfinite(by).all()):
        return as_given
    size = float(cell_size) if cell_size else detect_cell_size(bx, by)
    if not _on_lattice(bx, by, size):
        return as_given
    feedback.info(tr("The cell centres of '{layer}' lie on a regular grid only in EPSG:3035, the Zensus "
                     "grid's own CRS, not in its {crs}; they were taken back to EPSG:3035 ({size} m cells).",
                     layer=layer, crs=crs_label(crs), size=int(size) if size.is_integer() else size))
    return bx, by, size, ZENSUS_CRS


def _lattice(x, y, size, layer):
    """Row/column of each centre on the lattice; raise if centres are off the lattice."""
    ox, oy = float(np.min(x)), float(np.max(y))
    fc = (x - ox) / size
    fr = (oy - y) / size
    col, row = np.rint(fc), np.rint(fr)
    if np.abs(fc - col).max() > 1e-3 or np.abs(fr - row).max() > 1e-3:
        raise InputError(tr("The cell centres of '{layer}' do not lie on a regular grid of {size} m. "
                            "Check the cell size and the x/y columns.", layer=layer, size=size))
    return ox, oy, row.astype("int64"), col.astype("int64")


@dataclass
class GridOptions:
    """Settings of ``grid_to_areas``; every one has a default.

    Attributes
    ----------
    x, y : str, optional
        Cell-centre columns (detected from ``x_mp_*``/``y_mp_*``).
    cell_size : float, optional
        Metres; detected from the column name (``_100m``, ``_1km``) or the spacing.
    crs : anything pyproj accepts, optional
        CRS of the table when it is a plain table (default EPSG:3035, the Zensus grid).
    secret_values : tuple
        Values meaning "suppressed or secret" (default -1, –, -, empty, …).
    base_field : str, optional
        Count field holding the population base: adds ``small_base`` (under ``min_base``).
    min_base : float
        Smallest base that is not flagged in ``small_base`` (default ``DEFAULT_MIN_BASE``).
    ancillary_field : str, optional
        Density field of the ancillary layer (e.g. dwellings; default: its area).
    target_name, table_name : str, optional
        Names of the layers in messages (default: the layers' own names).
    """

    # reading the table: cell centres, cell size, CRS and the marks of secret values
    x: Optional[str] = None
    y: Optional[str] = None
    cell_size: Optional[float] = None
    crs: object = ZENSUS_CRS
    secret_values: tuple = DEFAULT_SECRET
    # small numbers
    base_field: Optional[str] = None
    min_base: float = DEFAULT_MIN_BASE
    # splitting boundary cells by an ancillary layer
    ancillary_field: Optional[str] = None
    # the layers' names in messages
    target_name: Optional[str] = None
    table_name: Optional[str] = None


def grid_to_areas(table, targets, fields, options=None, rates=(), target_id=None, ancillary=None,
                  feedback=None):
    """Sum grid-cell counts per target area; cells on a boundary are split exactly.

    Parameters
    ----------
    table : DataFrame or GeoDataFrame
        Zensus-style table with cell-centre columns (``x_mp_100m``/``y_mp_100m``, …), or a
        layer of cell centres (points) or grid polygons.
    targets : GeoDataFrame
        Planning areas (polygons). They are reprojected to the grid's CRS (equal-area
        EPSG:3035 for the Zensus) for the overlay; the result keeps their own geometry.
    fields : list of str
        Count fields of the grid.
    options : GridOptions, optional
        Cell-centre columns, cell size, CRS of a plain table, secret marks, base field and
        smallest base, the ancillary density field and the layers' names in messages
        (defaults: ``GridOptions()``).
    rates, target_id : as in :func:`.interpolate.area_interpolate`.
    ancillary : GeoDataFrame, optional
        Split boundary cells by this layer (e.g. residential blocks, density of
        ``options.ancillary_field``) instead of by area.
    feedback : core.feedback.Feedback, optional
        Progress, messages and cancellation.

    Returns
    -------
    (GeoDataFrame, dict)
        Targets with ``<field>``, ``<field>_secret`` (number of secret cells, split cells
        counted by share), ``cells`` (listed cells, by share), ``covered_share`` (share of the
        area covered by listed cells), rates and ``small_base``; diagnostics per field
        (``total_in``, ``total_assigned``, ``total_outside``, ``secret_cells``) and
        ``cells``, ``cells_outside``, ``boundary_cells``, ``cell_size``.
    """
    import geopandas as gpd
    from rasterio import features
    from rasterio.transform import Affine

    feedback = ensure_feedback(feedback)
    options = options_or_default(options, GridOptions, "grid_to_areas")
    x, y, cell_size, crs = options.x, options.y, options.cell_size, options.crs
    secret_values, base_field, min_base = options.secret_values, options.base_field, options.min_base
    ancillary_field = options.ancillary_field
    target_name, table_name = options.target_name, options.table_name
    rates = [RateSpec.coerce(r) for r in (rates or [])]
    fields = list(dict.fromkeys(list(fields or []) + [f for r in rates for f in (r.numerator, r.denominator)]))
    layer = validate.layer_name(table, table_name)
    validate.require_not_empty(table, table_name)
    validate.require_not_empty(targets, target_name)
    validate.require_projected(targets, target_name)
    if not fields:
        raise InputError(tr("Choose at least one field to transfer."))
    validate.require_fields(table, fields, table_name)
    if target_id is not None:
        validate.require_fields(targets, [target_id], target_name)
        validate.require_unique(targets, target_id, target_name)
    # the shared repair: a bow tie's lobes would cancel in the cell/area sums otherwise
    targets = validate.require_valid_geometries(targets, target_name, repair=True, feedback=feedback,
                                                id_field=target_id)

    spatial = (isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns
               and x is None and not (table.geometry.isna() | table.geometry.is_empty).all())
    if spatial:
        validate.require_projected(table, table_name)
        crs = table.crs
        kinds = set(table.geometry.geom_type.dropna().unique())
        if kinds == {"Point"}:
            xs, ys = np.asarray(table.geometry.x, dtype="float64"), np.asarray(table.geometry.y, dtype="float64")
            size = cell_size or detect_cell_size(xs, ys)
            if not _on_lattice(xs, ys, size) and crs is not None and not same_crs(crs, ZENSUS_CRS):
                xs, ys, size, crs = _back_to_zensus_crs(table, cell_size, layer, crs, feedback, (xs, ys, size, crs))
        else:
            grid = detect_regular_grid(table)
            if grid is None:
                raise InputError(tr("Layer '{layer}' is not a regular grid of square cells. Use "
                                    "'Transfer polygon data to areas' for other polygons.",
                                    layer=layer))
            xs, ys, size = grid["x"], grid["y"], cell_size or grid["cell_size"]
    else:
        x, y = detect_columns(table, x, y)
        xs = validate.numeric_field(table, x, table_name, allow_null=False).to_numpy()
        ys = validate.numeric_field(table, y, table_name, allow_null=False).to_numpy()
        size = float(cell_size) if cell_size else detect_cell_size(xs, ys, x)
    if crs is None:
        raise InputError(tr("Give the coordinate reference system of the grid table '{layer}' "
                            "(Zensus grids use EPSG:3035).", layer=layer))
    values, secret = {}, {}
    for field in fields:
        values[field], secret[field] = parse_grid_values(table[field], secret_values, field, layer)
    feedback.progress(0.05)

    # lattice and window (the targets' extent, snapped to the lattice)
    ox, oy, row, col = _lattice(xs, ys, size, layer)
    key = np.sort(row * (int(col.max()) + 1) + col)
    if (key[1:] == key[:-1]).any():
        raise InputError(tr("Table '{layer}' lists some grid cells more than once. Remove the "
                            "duplicates first.", layer=layer))
    tgt = as_series(targets)
    if tgt.crs is not None and not same_crs(tgt.crs, crs):
        feedback.info(tr("Layer '{layer}' ({crs}) was reprojected to the CRS of '{target}' ({target_crs}) so "
                         "that the layers can be combined.", layer=validate.layer_name(targets, target_name),
                         crs=crs_label(tgt.crs), target=layer, target_crs=crs_label(crs)))
        tgt = reproject(tgt, crs)
    geoms = list(tgt.values)
    minx, miny, maxx, maxy = tgt.total_bounds
    left, top = ox - size / 2.0, oy + size / 2.0
    c0, c1 = int(np.floor((minx - left) / size)) - 1, int(np.ceil((maxx - left) / size)) + 1
    r0, r1 = int(np.floor((top - maxy) / size)) - 1, int(np.ceil((top - miny) / size)) + 1
    height, width = r1 - r0, c1 - c0
    transform = Affine(size, 0.0, left + c0 * size, 0.0, -size, top - r0 * size)
    feedback.info(tr("Rasterising {m} areas on the {size} m grid ({w} × {h} cells)…",
                     m=len(geoms), size=size, w=width, h=height))
    centre = features.rasterize(((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
                                out_shape=(height, width), transform=transform, fill=0,
                                all_touched=False, dtype="int32")
    edge = features.rasterize(((g.boundary, 1) for g in geoms if g is not None and not g.is_empty),
                              out_shape=(height, width), transform=transform, fill=0,
                              all_touched=True, dtype="uint8")
    feedback.progress(0.3)
    feedback.check()

    rr, cc = row - r0, col - c0
    inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
    tid = np.full(len(xs), -1, dtype="int64")
    on_edge = np.zeros(len(xs), dtype=bool)
    tid[inside] = centre[rr[inside], cc[inside]] - 1
    on_edge[inside] = edge[rr[inside], cc[inside]] > 0
    interior = ~on_edge & (tid >= 0)
    n_t = len(geoms)

    # exact split of boundary cells
    idx_edge = np.flatnonzero(on_edge)
    feedback.info(tr("{count} cells lie on an area boundary and are split exactly.",
                     count=len(idx_edge)))
    anc = None
    if ancillary is not None:
        validate.require_crs(ancillary)
        anc = ancillary if same_crs(ancillary.crs, crs) else reproject(ancillary, crs)
    if len(idx_edge):
        from scipy import sparse

        if anc is None:
            geo_share = _split_cells(xs[idx_edge], ys[idx_edge], size, left, top, tgt,
                                     feedback.step(0.3, 0.9))
            share = geo_share
        else:
            half = size / 2.0
            cells = boxes(xs[idx_edge] - half, ys[idx_edge] - half, xs[idx_edge] + half,
                          ys[idx_edge] + half, crs=crs)
            ow = overlap_weights(cells, tgt, anc, ancillary_field, feedback.step(0.3, 0.9))
            sw = ow["source_weight"]
            share = (sparse.diags(np.divide(1.0, sw, out=np.zeros_like(sw), where=sw > 0))
                     @ ow["W"]).tocsr()
            geo_share = (ow["A"] / (size * size)).tocsr()
        # overlapping areas share a boundary cell more than once (interior cells are
        # looked up once, so this is where an overlap shows)
        check_no_overlap(geo_share, np.ones(len(idx_edge)), targets, target_name, target_id)
    feedback.check()

    def per_target(weights, geometric=False):
        """Sum per-cell weights into the targets (interior lookup + boundary split)."""
        total = np.bincount(tid[interior], weights=weights[interior], minlength=n_t).astype("float64")
        if len(idx_edge):
            total += (geo_share if geometric else share).T @ weights[idx_edge]
        return total

    cell_ones = np.ones(len(xs))
    out = targets.copy()
    t_area = np.asarray(tgt.area, dtype="float64")
    listed = per_target(cell_ones, geometric=True)
    out["cells"] = listed
    out["covered_share"] = np.minimum(np.divide(listed * size * size, t_area,
                                                out=np.zeros_like(t_area), where=t_area > 0), 1.0)
    if len(idx_edge):
        edge_assigned = np.asarray(share.sum(axis=1)).ravel()
    assigned_part = np.where(interior, 1.0, 0.0)
    if len(idx_edge):
        assigned_part[idx_edge] = edge_assigned
    per_field, results = {}, {}
    for field in fields:
        v0 = np.where(secret[field], 0.0, values[field])
        s1 = secret[field].astype("float64")
        results[field] = per_target(v0)
        out[f"{field}_secret"] = per_target(s1, geometric=True)
        # an area whose listed cells are all secret has no known value: NULL, not 0
        unknown = (out[f"{field}_secret"].to_numpy() > 1e-9) & (listed - out[f"{field}_secret"].to_numpy() <= 1e-9)
        out[field] = np.where(unknown, np.nan, results[field])
        per_field[field] = {
            "total_in": float(v0.sum()),
            "total_assigned": float(results[field].sum()),
            "total_outside": float((v0 * (1.0 - assigned_part)).sum()),
            "secret_cells": int(secret[field].sum()),
            "secret_cells_in_areas": float(out[f"{field}_secret"].sum()),
            "missing_values": int(secret[field].sum()),
            "areas_all_secret": int(unknown.sum()),
        }
    for spec in rates:
        # from the shown values, so a rate over all-secret cells stays empty too
        set_rate_columns(out, spec.name, out[spec.numerator].to_numpy(), out[spec.denominator].to_numpy(),
                         per=spec.per, min_base=spec.min_base)
        warn_odd_rate(spec, out[spec.numerator].to_numpy(dtype="float64"),
                      out[spec.denominator].to_numpy(dtype="float64"),
                      (targets[target_id] if target_id is not None else targets.index).to_numpy(dtype=object),
                      feedback)
    if base_field is not None:
        if base_field not in results:
            raise InputError(tr("The base field '{field}' must also be transferred as a count "
                                "(extensive) field.", field=base_field))
        out["small_base"] = small_base(results[base_field], min_base)
    diagnostics = {
        "fields": per_field,
        "cells": int(len(xs)),
        "cells_outside": int(((~inside) | (~on_edge & (tid < 0))).sum()),
        "boundary_cells": int(len(idx_edge)),
        "cell_size": size,
        "targets": n_t,
        "engine": "grid",
    }
    if per_field and all(d["total_assigned"] == 0 for d in per_field.values()) and not (interior.any() or len(idx_edge) and geo_share.nnz):
        raise InputError(tr("No cell of grid '{layer}' lies in any area of '{target}'. Check the "
                            "cell-centre columns, the cell size and the CRS of the grid "
                            "(Zensus: EPSG:3035).", layer=layer,
                            target=validate.layer_name(targets, target_name)))
    empty_areas = int((listed <= 1e-9).sum())
    diagnostics["areas_without_cells"] = empty_areas
    if empty_areas:
        feedback.warning(tr("{count} area(s) contain no cell listed in grid '{layer}'; their counts "
                            "are 0 only because the table lists nothing there (see "
                            "'covered_share').", count=empty_areas, layer=layer))
    for field, d in per_field.items():
        feedback.info(tr("Field '{field}': {total_in} in the source, {assigned} assigned to the "
                         "areas, {outside} outside every area.", field=field,
                         total_in=round(d["total_in"], 3), assigned=round(d["total_assigned"], 3),
                         outside=round(d["total_outside"], 3)))
        if d["areas_all_secret"]:
            feedback.warning(tr("Field '{field}': in {count} area(s) every listed cell is secret; "
                                "their value is empty (NULL), not 0.", field=field,
                                count=d["areas_all_secret"]))
        if d["secret_cells"]:
            feedback.warning(tr("Field '{field}': {count} cell(s) are secret or suppressed (-1, –, "
                                "empty). They are not counted as zero; see '{field}_secret' "
                                "per area.", field=field, count=d["secret_cells"]))
    diagnostics["replaced_fields"] = warn_overwritten(targets, out, feedback,
                                                      validate.layer_name(targets, target_name))
    feedback.progress(1.0)
    return out, diagnostics


def _split_cells(xc, yc, size, left, top, targets, feedback=None, tile=8):
    """Exact shares (sparse cells × targets) of the cells centred at ``xc, yc`` in each target.

    The targets are first cut into tiles of ``tile × tile`` cells (only tiles holding
    boundary cells), so each cell is intersected with a small piece of a target instead of
    the whole (often very detailed) outline: same exact result, much less work.
    """
    from scipy import sparse

    feedback = ensure_feedback(feedback)
    n_cells, n_t = len(xc), len(targets)
    half = size / 2.0
    span = size * tile
    tcol = np.floor((xc - left) / span).astype("int64")
    trow = np.floor((top - yc) / span).astype("int64")
    n_cols = int(tcol.max()) + 1
    tiles, cell_tile = np.unique(trow * n_cols + tcol, return_inverse=True)
    cell_tile = cell_tile.ravel()  # numpy 2.0-2.1 keep the input's shape here
    it, jt = _tiles_in_targets(tiles, n_cols, int(trow.max()) + 1, left, top, span, targets)
    tx0 = left + (tiles[it] % n_cols) * span
    ty1 = top - (tiles[it] // n_cols) * span
    pieces = clip_to_boxes(targets, jt, tx0, ty1 - span, tx0 + span, ty1)
    keep = bounds_and_areas(pieces)[1] > 0
    it, jt, pieces = it[keep], jt[keep], pieces[keep]
    feedback.progress(0.4)
    feedback.check()
    # edges of every piece, exterior rings counter-clockwise and holes clockwise
    ex0, ey0, ex1, ey1, e_piece = _ring_edges(pieces)
    starts = np.searchsorted(e_piece, np.arange(len(pieces)))  # every piece has edges (area > 0)
    pb = np.column_stack([np.minimum.reduceat(np.minimum(ex0, ex1), starts),
                          np.minimum.reduceat(np.minimum(ey0, ey1), starts),
                          np.maximum.reduceat(np.maximum(ex0, ex1), starts),
                          np.maximum.reduceat(np.maximum(ey0, ey1), starts)]) if len(pieces) \
        else np.empty((0, 4))
    # pairs (cell, piece of the cell's tile) whose bounding boxes overlap
    order = np.argsort(it, kind="stable")
    it, jt, pb = it[order], jt[order], pb[order]
    piece_order = order
    start = np.searchsorted(it, np.arange(len(tiles)), side="left")
    stop = np.searchsorted(it, np.arange(len(tiles)), side="right")
    cell_idx, sel = _expand(cell_tile, start, stop)
    piece_idx = sel
    overlap = ((pb[piece_idx, 0] < xc[cell_idx] + half) & (pb[piece_idx, 2] > xc[cell_idx] - half)
               & (pb[piece_idx, 1] < yc[cell_idx] + half) & (pb[piece_idx, 3] > yc[cell_idx] - half))
    cell_idx, piece_idx = cell_idx[overlap], piece_idx[overlap]
    feedback.check()
    # pairs (cell, edge of the piece) → exact area of piece ∩ cell, summed per pair
    e_start = np.searchsorted(e_piece, np.arange(len(pieces)), side="left")
    e_stop = np.searchsorted(e_piece, np.arange(len(pieces)), side="right")
    orig_piece = piece_order[piece_idx]
    area = np.zeros(len(cell_idx))
    chunk = 2_000_000
    lengths = (e_stop - e_start)[orig_piece]
    bounds = np.r_[0, np.cumsum(lengths)]
    begin = 0
    while begin < len(cell_idx):
        end = int(np.searchsorted(bounds, bounds[begin] + chunk, side="right")) - 1
        end = max(end, begin + 1)
        end = min(end, len(cell_idx))
        pair, edge = _expand(orig_piece[begin:end], e_start, e_stop)
        ci = cell_idx[begin:end][pair]
        contrib = _clamped_area(xc[ci] - half, yc[ci] - half, xc[ci] + half, yc[ci] + half,
                                ex0[edge], ey0[edge], ex1[edge], ey1[edge])
        area[begin:end] = np.bincount(pair, weights=contrib, minlength=end - begin)
        begin = end
        feedback.check()
    feedback.progress(1.0)
    matrix = sparse.coo_matrix((area / (size * size), (cell_idx, jt[piece_idx])),
                               shape=(n_cells, n_t)).tocsr()
    matrix.sum_duplicates()
    matrix.data[matrix.data < 1e-12] = 0.0
    matrix.eliminate_zeros()
    return matrix


def _tiles_in_targets(tiles, n_cols, n_rows, left, top, span, targets):
    """Pairs (tile, target) whose bounding boxes overlap, from the tile lattice (no index).

    ``tiles`` are sorted keys ``row * n_cols + col`` of square tiles of side ``span`` whose
    top-left corner is ``(left, top)``.
    """
    tb, _ = bounds_and_areas(targets)
    ok = np.isfinite(tb).all(axis=1)
    c0 = np.clip(np.floor((tb[:, 0] - left) / span), 0, n_cols - 1)
    c1 = np.clip(np.floor((tb[:, 2] - left) / span), 0, n_cols - 1)
    r0 = np.clip(np.floor((top - tb[:, 3]) / span), 0, n_rows - 1)
    r1 = np.clip(np.floor((top - tb[:, 1]) / span), 0, n_rows - 1)
    inside = ok & (tb[:, 2] >= left) & (tb[:, 0] <= left + n_cols * span) \
        & (tb[:, 1] <= top) & (tb[:, 3] >= top - n_rows * span)
    width = np.where(inside, c1 - c0 + 1, 0).astype("int64")
    height = np.where(inside, r1 - r0 + 1, 0).astype("int64")
    target, local = _expand(np.arange(len(tb)), np.zeros(len(tb), "int64"), width * height)
    row = r0[target].astype("int64") + local // width[target]
    col = c0[target].astype("int64") + local % width[target]
    key = row * n_cols + col
    pos = np.minimum(np.searchsorted(tiles, key), len(tiles) - 1)
    hit = tiles[pos] == key
    return pos[hit], target[hit]


def _expand(group, start, stop):
    """For each item with group ``g``, one row per index in ``start[g]:stop[g]``.

    Returns ``(item, index)`` arrays (vectorised nested loop)."""
    counts = (stop - start)[group]
    item = np.repeat(np.arange(len(group)), counts)
    offsets = np.arange(len(item)) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, start[group][item] + offsets


def _ring_edges(geoms):
    """Directed edges of all polygon rings: exteriors counter-clockwise, holes clockwise.

    Returns ``(ax, ay, bx, by, owner)`` with ``owner`` sorted (index into ``geoms``).
    """
    rings = polygon_rings(geoms)
    if len(rings.length) == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty, np.empty(0, dtype="int64")
    xy = rings.xy
    ring = rings.point_ring()
    same = ring[:-1] == ring[1:]
    ax, ay, bx, by = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
    edge_ring = ring[:-1][same]
    signed = np.bincount(edge_ring, weights=ax * by - bx * ay, minlength=len(rings.length))
    flip = ((signed < 0) == ~rings.hole)[edge_ring]
    ax, bx = np.where(flip, bx, ax), np.where(flip, ax, bx)
    ay, by = np.where(flip, by, ay), np.where(flip, ay, by)
    return ax, ay, bx, by, rings.owner[edge_ring]


def _clamped_area(x0, y0, x1, y1, ax, ay, bx, by):
    """Signed contribution of edge a→b to the area of (polygon ∩ box [x0,x1]×[y0,y1]).

    Green's theorem with the box as a clamp: area = −Σ ∫ (clamp(y(x), y0, y1) − y0) dx over
    each edge's x-range clipped to [x0, x1]. ``clamp ∘ linear`` is piecewise linear with
    breaks where the edge crosses y0 and y1, so the midpoint rule on the three pieces is
    exact. Coordinates are taken relative to the box corner to keep precision.
    """
    ax, bx, ox = ax - x0, bx - x0, x1 - x0
    ay, by, oy = ay - y0, by - y0, y1 - y0
    u0 = np.clip(ax, 0.0, ox)
    u1 = np.clip(bx, 0.0, ox)
    dx = bx - ax
    slope = np.divide(by - ay, dx, out=np.zeros_like(dx), where=dx != 0)
    ya = ay + (u0 - ax) * slope
    yb = ay + (u1 - ax) * slope
    dy = yb - ya
    flat = dy == 0
    safe = np.where(flat, 1.0, dy)
    s0 = np.clip(np.where(flat, 0.0, (0.0 - ya) / safe), 0.0, 1.0)
    s1 = np.clip(np.where(flat, 0.0, (oy - ya) / safe), 0.0, 1.0)
    sa, sb = np.minimum(s0, s1), np.maximum(s0, s1)
    width = u1 - u0
    total = np.zeros_like(width)
    for lo, hi in ((0.0, sa), (sa, sb), (sb, 1.0)):
        mid = ya + 0.5 * (lo + hi) * dy
        total += (hi - lo) * np.clip(mid, 0.0, oy)
    return -(total * width)
