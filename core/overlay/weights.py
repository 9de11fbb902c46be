"""Weights of source polygons in target polygons: the shared core of every overlay engine.

``overlap_table`` (all overlaps of two polygon sets, intersecting only where one does not
cover the other), ``overlap_weights`` (sources × targets as a sparse matrix, by area or
dasymetric by ancillary polygons or a raster of weights, :class:`RasterWeights`) and
``check_no_overlap`` (targets that overlap count a source twice). Used by area
interpolation (:mod:`.interpolate`), the grid engine (:mod:`.grid`) and the Rückrechnung
(:mod:`..monitoring.rebase`); it imports neither of them.
"""
import copy

import numpy as np
from scipy import sparse

from .. import validate
from ..feedback import ensure_feedback
from ..geometry_arrays import SHAPELY_2, bounds_and_areas
from ..values import fill_value_mask, is_fill_outlier
from ._spatial import (as_series, overlaps_shapely2, pairwise_intersection, pairwise_predicate, points_xy,
                       polygons_in, query_pairs, same_crs)


def overlap_table(a, b, feedback=None, keep_geometry=False):
    """All overlaps of polygons ``a`` with polygons ``b``.

    Returns ``(ia, ib, area, geoms)``: index pairs (positions), overlap areas and, with
    ``keep_geometry``, the overlap geometries (else None). Pairs where ``b`` covers ``a``
    reuse ``a``'s own area and geometry (no intersection computed).
    """
    feedback = ensure_feedback(feedback)
    if SHAPELY_2:
        result = overlaps_shapely2(a, b, keep_geometry=keep_geometry, check=feedback.check)
        feedback.progress(1.0)
        return result
    a = as_series(a)
    b = as_series(b)
    ia, ib = query_pairs(a, b, "intersects")
    feedback.progress(0.3)
    feedback.check()
    area_a = np.asarray(a.area, dtype="float64")
    covered = pairwise_predicate(b, a, ib, ia, "covers") if len(ia) else np.zeros(0, dtype=bool)
    feedback.progress(0.5)
    feedback.check()
    area = np.empty(len(ia), dtype="float64")
    area[covered] = area_a[ia[covered]]
    rest = ~covered
    geoms = None
    if rest.any():
        pieces = pairwise_intersection(a, b, ia[rest], ib[rest])
        area[rest] = np.asarray(pieces.area, dtype="float64")
    if keep_geometry:
        geoms = np.empty(len(ia), dtype=object)
        geoms[covered] = np.asarray(a.values)[ia[covered]]
        if rest.any():
            geoms[rest] = np.asarray(pieces.values, dtype=object)
    feedback.progress(1.0)
    keep = area > 0
    return ia[keep], ib[keep], area[keep], (geoms[keep] if keep_geometry else None)


def _sum_pairs(rows, cols, values, shape):
    """Sparse matrix with duplicate (row, col) entries summed."""
    matrix = sparse.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    return matrix


def check_no_overlap(overlap_area, source_area, targets, target_name=None, target_id=None):
    """Raise when target areas overlap: some source lies more than once in the targets.

    ``overlap_area`` is the sparse sources × targets matrix of overlap areas; without
    overlapping targets no source has more of its area inside them than it has.
    """
    inside = np.asarray(overlap_area.sum(axis=1)).ravel()
    over = np.flatnonzero(inside > source_area * (1.0 + 1e-6) + 1e-9)
    if len(over):
        row = overlap_area.getrow(int(over[0]))
        first, second = sorted(row.indices[np.argsort(-row.data)[:2]])
        raise validate.overlapping_areas(targets, first, second, target_name, target_id)


def _fill_text(value):
    """A fill value as a planner would type it: 65535, 3.4028235e+38."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.8g}"


class RasterWeights:
    """An ancillary raster for dasymetric mode (population, share of residential land...).

    Each pixel's value is a weight placed at the pixel centre: a source's count is spread
    onto the targets in proportion to the pixel weights of its parts (pixels are small
    against the polygons, so the centre rule is the only approximation).

    Parameters
    ----------
    data : 2-D array (masked or with ``nodata``)
    transform : affine.Affine of the raster
    crs : the raster's CRS (pixel centres are reprojected to the sources' CRS when it differs)
    nodata : value to ignore (besides masked, NaN and negative values)
    """

    def __init__(self, data, transform, crs=None, nodata=None):
        array = np.ma.asarray(data).astype("float64")
        values = array.filled(np.nan)
        if nodata is not None:
            values[values == nodata] = np.nan
        rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
        self.weights = values[rows, cols]
        # without a nodata flag, a positive fill value (65535, 3.4e38…) far above the real
        # weights would draw every count to its pixels: left out, and reported by value
        self.fill_values = {}
        if nodata is None:
            fill = fill_value_mask(self.weights)
            rest = self.weights[~fill]
            for value in np.unique(self.weights[fill]):
                if is_fill_outlier(value, rest):
                    self.fill_values[float(value)] = int((self.weights == value).sum())
            if self.fill_values:
                drop = np.isin(self.weights, list(self.fill_values))
                rows, cols, self.weights = rows[~drop], cols[~drop], self.weights[~drop]
        c, r = cols + 0.5, rows + 0.5
        xs = transform.a * c + transform.b * r + transform.c
        ys = transform.d * c + transform.e * r + transform.f
        self.x = np.asarray(xs, dtype="float64")
        self.y = np.asarray(ys, dtype="float64")
        self.crs = crs
        self.pixel_area = abs(transform.a * transform.e - transform.b * transform.d)

    def to_crs(self, crs):
        """These weights with their pixel centres in ``crs`` (points reproject exactly, so a
        raster in another CRS needs no warping); pixel centres that do not reproject are
        left out."""
        if self.crs is None or crs is None or same_crs(self.crs, crs):
            return self
        from pyproj import CRS, Transformer

        source = CRS.from_user_input(self.crs.to_wkt() if hasattr(self.crs, "to_wkt") else self.crs)
        transformer = Transformer.from_crs(source, CRS.from_user_input(crs), always_xy=True)
        x, y = transformer.transform(self.x, self.y)
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        ok = np.isfinite(x) & np.isfinite(y)
        out = copy.copy(self)
        out.x, out.y, out.weights, out.crs = x[ok], y[ok], self.weights[ok], crs
        return out

    @classmethod
    def from_file(cls, path, band=1):
        """Read one band of a raster file with rasterio."""
        import rasterio

        with rasterio.open(path) as dataset:
            return cls(dataset.read(band, masked=True), dataset.transform, dataset.crs,
                       dataset.nodata)


def _raster_overlap(src, tgt, raster, geo, s_area, feedback):
    """Dasymetric weights from raster pixels: pixel centre → (source, target)."""
    n_s, n_t = len(src), len(tgt)
    minx, miny, maxx, maxy = src.total_bounds
    near = (raster.x >= minx) & (raster.x <= maxx) & (raster.y >= miny) & (raster.y <= maxy)
    x, y, w = raster.x[near], raster.y[near], raster.weights[near]
    points = points_xy(x, y, crs=src.crs)
    in_source = polygons_in(points, src)
    feedback.progress(0.5)
    keep = in_source >= 0
    in_target = np.full(len(x), -1, dtype="int64")
    if keep.any():
        in_target[keep] = polygons_in(points[keep].reset_index(drop=True), tgt)
    source_weight = np.bincount(in_source[keep], weights=w[keep], minlength=n_s).astype("float64")
    both = keep & (in_target >= 0)
    dasy = _sum_pairs(in_source[both], in_target[both], w[both], (n_s, n_t))
    fallback = ~(source_weight > 0)
    if fallback.any():
        dasy = dasy + sparse.diags(fallback.astype("float64")) @ geo
        source_weight = source_weight.copy()
        source_weight[fallback] = s_area[fallback]
    feedback.progress(1.0)
    return {"W": dasy.tocsr(), "A": geo, "source_weight": source_weight, "source_area": s_area,
            "fallback": fallback}


def overlap_weights(sources, targets, ancillary=None, ancillary_field=None, feedback=None):
    """Weights of every source in every target.

    Returns a dict with ``W`` (sparse sources × targets: weight of the part of a source in a
    target), ``A`` (sparse: geometric overlap area), ``source_weight`` (weight of each whole
    source: its area, or its ancillary weight in dasymetric mode) and ``fallback`` (sources
    without any ancillary coverage, spread by area instead) and ``source_area``.
    """
    feedback = ensure_feedback(feedback)
    n_s, n_t = len(sources), len(targets)
    src = as_series(sources)
    tgt = as_series(targets)
    s_area = bounds_and_areas(src)[1]
    ia, ib, area, _ = overlap_table(src, tgt, feedback.step(0.0, 0.5))
    geo = _sum_pairs(ia, ib, area, (n_s, n_t))
    fallback = np.zeros(n_s, dtype=bool)
    if ancillary is None:
        return {"W": geo, "A": geo, "source_weight": s_area, "source_area": s_area,
                "fallback": fallback}
    if isinstance(ancillary, RasterWeights):
        return _raster_overlap(src, tgt, ancillary, geo, s_area, feedback.step(0.5, 1.0))

    # dasymetric: the part of each source inside the ancillary polygons carries the weight;
    # density = ancillary weight per m² (1 when no weight field: plain 'inhabited area').
    anc = as_series(ancillary)
    a_area = np.asarray(anc.area, dtype="float64")
    if ancillary_field is not None:
        values = validate.numeric_field(ancillary, ancillary_field, allow_negative=False).fillna(0.0)
        density = np.divide(np.asarray(values, dtype="float64"), a_area,
                            out=np.zeros(len(anc)), where=a_area > 0)
    else:
        density = np.ones(len(anc))
    js, ja, p_area, p_geom = overlap_table(src, anc, feedback.step(0.5, 0.75), keep_geometry=True)
    p_weight = density[ja] * p_area
    # float even when nothing overlaps (numpy's bincount of no pairs gives int64)
    source_weight = np.bincount(js, weights=p_weight, minlength=n_s).astype("float64")
    keep = p_weight > 0
    js, ja, p_geom = js[keep], ja[keep], p_geom[keep]
    import geopandas as gpd

    pieces = gpd.GeoSeries(list(p_geom), crs=src.crs)
    kp, kt, kp_area, _ = overlap_table(pieces, tgt, feedback.step(0.75, 1.0))
    dasy = _sum_pairs(js[kp], kt, density[ja[kp]] * kp_area, (n_s, n_t))
    # sources with no ancillary weight at all fall back to their area (reported)
    fallback = ~(source_weight > 0)
    if fallback.any():
        rows = np.flatnonzero(fallback)
        select = sparse.diags(fallback.astype("float64"))
        dasy = dasy + select @ geo
        source_weight = source_weight.copy()
        source_weight[rows] = s_area[rows]
    return {"W": dasy.tocsr(), "A": geo, "source_weight": source_weight, "source_area": s_area,
            "fallback": fallback}
