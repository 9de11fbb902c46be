"""Exact coverage fractions: the share of every raster cell that lies inside each area
(method in the package docstring)."""
import numpy as np
import pandas as pd

from ..geometry_arrays import polygon_rings

_EPS = 1e-12  # a coverage (in cells) below this is rounding noise, not area


class _Rings:
    """Coordinates of all rings of all areas, extracted once.

    Read by :func:`.geometry_arrays.polygon_rings` (vectorised on shapely 2, WKB on 1.8);
    gives per-zone bounds and areas without further GEOS calls.
    """

    def __init__(self, geometries):
        rings = polygon_rings(geometries)
        keep = rings.length >= 4  # a ring of fewer points encloses nothing
        self.n_zones = len(geometries)
        self.xy = rings.xy[np.repeat(keep, rings.length)]
        self.ring_len = rings.length[keep]
        self.ring_zone = rings.owner[keep]
        self.ring_hole = rings.hole[keep]
        self.ring_start = np.cumsum(self.ring_len) - self.ring_len

    def zone_bounds(self):
        """(minx, miny, maxx, maxy) per zone, NaN for zones without rings."""
        out = np.full((self.n_zones, 4), np.nan)
        if len(self.ring_len) == 0:
            return out
        point_zone = np.repeat(self.ring_zone, self.ring_len)
        starts = np.flatnonzero(np.r_[True, point_zone[1:] != point_zone[:-1]])
        zones = point_zone[starts]
        for i, (ufunc, axis) in enumerate(((np.minimum, 0), (np.minimum, 1),
                                           (np.maximum, 0), (np.maximum, 1))):
            out[zones, i] = ufunc.reduceat(self.xy[:, axis], starts)
        return out

    def zone_areas(self):
        """Area of each zone (outer rings minus holes), from the shoelace formula."""
        u0, v0, u1, v1, sign, zone = self.edges(np.arange(len(self.ring_len)), (1.0, 0, 0.0, 0, 1.0, 0.0))
        # sign is +1 for outer rings and -1 for holes in cell orientation; here y grows upwards
        ring = np.repeat(np.arange(len(self.ring_len)), self.ring_len - 1)
        first = self.ring_start[ring]
        ou, ov = self.xy[first, 0], self.xy[first, 1]
        twice = np.bincount(ring, (u0 - ou) * (v1 - ov) - (u1 - ou) * (v0 - ov),
                            minlength=len(self.ring_len))
        ring_area = 0.5 * np.abs(twice) * np.where(self.ring_hole, -1.0, 1.0)
        return np.bincount(self.ring_zone, ring_area, minlength=self.n_zones)

    def edges(self, rings, transform):
        """Edges of the given rings (indices, ascending) in cell coordinates of ``transform``:
        u0, v0, u1, v1, sign (+1 outer ring, -1 hole), zone."""
        a, _, c, _, e, f = transform
        lens = self.ring_len[rings]
        if len(rings) == 0:
            empty = np.zeros(0)
            return empty, empty, empty, empty, empty, np.zeros(0, dtype="int64")
        local = np.repeat(np.arange(len(rings)), lens)
        point = np.arange(len(local)) - (np.cumsum(lens) - lens)[local] + self.ring_start[rings][local]
        u = (self.xy[point, 0] - c) / a
        v = (self.xy[point, 1] - f) / e
        same = local[:-1] == local[1:]
        u0, v0, u1, v1 = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        edge_ring = local[:-1][same]
        first = np.cumsum(lens) - lens
        ou, ov = u[first][edge_ring], v[first][edge_ring]
        twice_area = np.bincount(edge_ring, (u0 - ou) * (v1 - ov) - (u1 - ou) * (v0 - ov),
                                 minlength=len(rings))
        # with rows growing downwards the accumulation yields -1 per cell for a ring of
        # positive shoelace area; outer rings must count +1 and holes -1
        sign = -np.sign(twice_area)
        sign[self.ring_hole[rings]] *= -1
        return u0, v0, u1, v1, sign[edge_ring], self.ring_zone[rings][edge_ring]


def _ring_edges(geometries, transform):
    """All ring edges of ``geometries`` in cell coordinates (see ``_Rings.edges``)."""
    rings = _Rings(list(geometries))
    return rings.edges(np.arange(len(rings.ring_len)), transform)


def _split(a0, b0, a1, b1, first_line, last_line):
    """Split segments where they cross the integer lines ``a = k`` (first_line <= k <= last_line).

    Returns (parent segment, a/b of each piece's start and end), pieces of a segment in
    order along it, segments in input order (no sort needed).
    """
    lo, hi = np.minimum(a0, a1), np.maximum(a0, a1)
    k0 = np.maximum(np.floor(lo) + 1, first_line)
    k1 = np.minimum(np.ceil(hi) - 1, last_line)
    n = np.maximum(k1 - k0 + 1, 0).astype("int64")
    if not n.any():
        return np.arange(len(a0)), a0, b0, a1, b1
    m = n + 1
    parent = np.repeat(np.arange(len(a0)), m)
    j = np.arange(len(parent)) - (np.cumsum(m) - m)[parent]
    up = (a1 > a0)[parent]
    kp0, kp1 = k0[parent], k1[parent]
    pa0, pb0, pa1, pb1 = a0[parent], b0[parent], a1[parent], b1[parent]
    first = j == 0
    last = j == n[parent]
    start_a = np.where(first, pa0, np.where(up, kp0 + j - 1, kp1 - j + 1))
    end_a = np.where(last, pa1, np.where(up, kp0 + j, kp1 - j))
    da = pa1 - pa0
    slope = np.divide(pb1 - pb0, da, out=np.zeros_like(da), where=da != 0)
    start_b = np.where(first, pb0, pb0 + (start_a - pa0) * slope)
    end_b = np.where(last, pb1, pb0 + (end_a - pa0) * slope)
    return parent, start_a, start_b, end_a, end_b


def _coverage_window(u0, v0, u1, v1, sign, zone, nrows, ncols):
    """Exact coverage of the cells of a nrows x ncols window by each zone.

    Edges must be grouped by zone (as ``_ring_edges`` returns them). Returns zone, row, col
    (int64) and fraction (float64) of every covered cell, sorted by (zone, row, col).
    """
    return _expand(*_coverage_parts(u0, v0, u1, v1, sign, zone, nrows, ncols))


def _expand(part, runs):
    """Partly covered cells plus runs of whole cells → all cells, sorted by (zone, row, col)."""
    pz, pr, pc, pf = part
    rz, rr, rc, rl = runs
    n_run = int(rl.sum())
    if not n_run:
        return pz, pr, pc, pf
    run = np.repeat(np.arange(len(rl)), rl)
    col = rc[run] + (np.arange(n_run) - (np.cumsum(rl) - rl)[run])
    zone = np.concatenate([pz, rz[run]])
    row = np.concatenate([pr, rr[run]])
    col = np.concatenate([pc, col])
    frac = np.concatenate([pf, np.ones(n_run)])
    # both parts are sorted already: a stable sort merges them in linear time
    width = int(col.max()) + 1
    order = np.argsort((zone * (int(row.max()) + 1) + row) * width + col, kind="stable")
    return zone[order], row[order], col[order], frac[order]


def _coverage_parts(u0, v0, u1, v1, sign, zone, nrows, ncols):
    """Exact coverage as partly covered cells (zone, row, col, fraction) and runs of wholly
    covered cells (zone, row, first col, length), both sorted by (zone, row, col)."""
    empty = np.zeros(0, dtype="int64")
    nothing = ((empty, empty, empty, np.zeros(0)), (empty, empty, empty, empty))
    dv = v1 - v0
    keep = (dv != 0) & (sign != 0)
    u0, v0, u1, v1, sign, zone, dv = u0[keep], v0[keep], u1[keep], v1[keep], sign[keep], zone[keep], dv[keep]
    # clip edges to the row band 0..nrows (rows outside the window need nothing)
    ta, tb = (0.0 - v0) / dv, (nrows - v0) / dv
    tlo = np.clip(np.minimum(ta, tb), 0.0, 1.0)
    thi = np.clip(np.maximum(ta, tb), 0.0, 1.0)
    keep = thi > tlo
    du = (u1 - u0)[keep]
    tlo, thi, u0, v0, dv = tlo[keep], thi[keep], u0[keep], v0[keep], dv[keep]
    sign, zone = sign[keep], zone[keep]
    if len(zone) == 0:
        return nothing
    a_u = np.where(tlo > 0, u0 + tlo * du, u0)
    a_v = np.clip(np.where(tlo > 0, v0 + tlo * dv, v0), 0.0, nrows)
    b_u = np.where(thi < 1, u0 + thi * du, u0 + du)
    b_v = np.clip(np.where(thi < 1, v0 + thi * dv, v0 + dv), 0.0, nrows)
    # edges wholly left of the window only add their height to column 0, edges wholly right
    # only to the virtual column ncols: flatten them so they are not split at columns
    left = np.maximum(a_u, b_u) <= 0
    right = np.minimum(a_u, b_u) >= ncols
    a_u = np.where(left, -0.5, np.where(right, ncols + 0.5, a_u))
    b_u = np.where(left, -0.5, np.where(right, ncols + 0.5, b_u))
    # split at row lines, then at column lines: every piece lies in one cell
    p1, sv, su, ev, eu = _split(a_v, a_u, b_v, b_u, 1, nrows - 1)
    p2, su, sv, eu, ev = _split(su, sv, eu, ev, 0, ncols)
    parent = p1[p2]
    mu = 0.5 * (su + eu)
    mv = 0.5 * (sv + ev)
    val = (ev - sv) * sign[parent]
    pz = zone[parent]
    col = np.floor(mu)
    frac = mu - col
    col = col.astype("int64")
    outside = (col < 0) | (col >= ncols)
    frac[outside] = 0.0
    col = np.clip(col, 0, ncols)
    row = np.clip(np.floor(mv).astype("int64"), 0, nrows - 1)
    # a dense accumulator over each zone's bounding box (plus one spill column)
    starts = np.flatnonzero(np.r_[True, pz[1:] != pz[:-1]])
    zones = pz[starts]
    zr0 = np.minimum.reduceat(row, starts)
    zr1 = np.maximum.reduceat(row, starts) + 1
    zc0 = np.minimum.reduceat(col, starts)
    zw = np.maximum.reduceat(col, starts) - zc0 + 2
    size = (zr1 - zr0) * zw
    offset = np.cumsum(size) - size
    g = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pz)]))
    key = offset[g] + (row - zr0[g]) * zw[g] + (col - zc0[g])
    total = int(size.sum())
    acc = np.bincount(key, val * (1.0 - frac), minlength=total)
    acc += np.bincount(key + 1, val * frac, minlength=total + 1)[:total]
    cover = np.cumsum(acc)
    # restart the running sum at every row of every box
    n_rows = zr1 - zr0
    row_len = np.repeat(zw, n_rows)
    row_start = np.cumsum(row_len) - row_len
    before = np.r_[0.0, cover][row_start]
    cover -= np.repeat(before, row_len)
    # virtual cells (spill column, columns right of the window) never count
    virtual = row_start + row_len - 1
    cover[virtual] = 0.0
    beyond = zc0 + zw - 2 >= ncols
    if beyond.any():
        rows_beyond = np.flatnonzero(np.repeat(beyond, n_rows))
        box_of_row = np.repeat(np.arange(len(zw)), n_rows)[rows_beyond]
        cover[row_start[rows_beyond] + (ncols - zc0[box_of_row])] = 0.0

    def locate(flat):
        box = np.searchsorted(offset, flat, side="right") - 1
        local = flat - offset[box]
        r = local // zw[box]
        return zones[box], zr0[box] + r, zc0[box] + local - r * zw[box]

    full = cover >= 1.0 - 1e-10
    partial = np.flatnonzero((cover > _EPS) & ~full)
    pz, pr, pc = locate(partial)
    part = (pz, pr, pc, cover[partial])
    step = np.diff(full.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_start = np.flatnonzero(step == 1)
    run_len = np.flatnonzero(step == -1) - run_start
    rz, rr, rc = locate(run_start)
    return part, (rz, rr, rc, run_len)


def coverage_fractions(geometries, transform, shape):
    """Exact fraction of each raster cell covered by each polygon.

    Parameters
    ----------
    geometries : sequence of shapely (multi)polygons
        In the raster's CRS. Holes and multipart areas are handled; other geometry types
        and empty geometries cover nothing.
    transform : affine.Affine or 6-tuple
        The raster's geotransform (north-up, not rotated).
    shape : (rows, cols)
        Raster size.

    Returns
    -------
    pandas.DataFrame
        Columns ``zone`` (position in ``geometries``), ``row``, ``col``, ``coverage`` (0..1,
        share of the cell's area inside the polygon), sorted by zone, row, col; cells
        outside the raster are not listed.
    """
    transform = tuple(transform)[:6]
    u0, v0, u1, v1, sign, zone = _ring_edges(list(geometries), transform)
    zone_out, row, col, frac = _coverage_window(u0, v0, u1, v1, sign, zone,
                                                int(shape[0]), int(shape[1]))
    return pd.DataFrame({"zone": zone_out, "row": row, "col": col, "coverage": frac})
