"""Statistical blocks: Voronoi cells of jittered seeds cut along the barriers, slivers merged,
rook neighbours found."""
import numpy as np
import pandas as pd
import geopandas as gpd
from shapely.geometry import MultiPoint, box
from shapely.ops import unary_union, voronoi_diagram

from ..feedback import ensure_feedback
from .layout import _point_at
from .model import CRS, block_columns

# blocks per progress report and cancel check in the per-geometry steps: at 100,000 blocks a
# step reports every few tenths of a second instead of once per step (seconds on shapely 1.8)
BLOCKS_PER_STEP = 10_000


def _chunks(n, feedback, size=None):
    """Slices of ``range(n)``: a cancel is checked before each and the fraction done reported after it."""
    feedback = ensure_feedback(feedback)
    size = size or BLOCKS_PER_STEP
    for start in range(0, n, size):
        feedback.check()
        yield slice(start, min(start + size, n))
        feedback.progress(min(start + size, n) / n)


def _in_chunks(n, compute, feedback):
    """``compute(part)`` for slices of ``range(n)``, joined: element-wise work done chunk by chunk."""
    parts = [compute(part) for part in _chunks(n, feedback)] or [compute(slice(0, 0))]
    return np.concatenate(parts) if isinstance(parts[0], np.ndarray) else pd.concat(parts)


def _shared_lengths(geoms, a, b, feedback):
    """Length of the boundary of ``geoms[a[k]]`` within 5 cm of ``geoms[b[k]]``, per pair."""
    def lengths(part):
        left = geoms.iloc[a[part]].reset_index(drop=True)
        right = geoms.iloc[b[part]].reset_index(drop=True)
        return left.boundary.intersection(right.buffer(0.05, resolution=1)).length.to_numpy()

    return _in_chunks(len(a), lengths, feedback)


def _build_index(frame):
    """Build the frame's spatial index now (geopandas caches it): seconds at 100,000 blocks on
    geopandas 0.12, so progress is reported before and after it rather than inside a query."""
    return frame.sindex


def _sindex_query(tree_frame, geometries, predicate="intersects"):
    """(input index, tree index) pairs; geopandas 0.12 ``query_bulk`` / 1.x ``query``."""
    sindex = tree_frame.sindex
    bulk = getattr(sindex, "query_bulk", None)
    if bulk is not None:
        result = bulk(geometries, predicate=predicate)
    else:
        result = sindex.query(geometries, predicate=predicate)
    return np.asarray(result[0], dtype=np.int64), np.asarray(result[1], dtype=np.int64)


def _seed_points(rng, n_blocks, phases):
    """Jittered grid in the unit disc, warped radially so density peaks in the centre."""
    n_grid = int(n_blocks * 1.0)
    spacing = np.sqrt(np.pi / n_grid)
    g = np.arange(-1.0 + spacing / 2, 1.0, spacing)
    gx, gy = np.meshgrid(g, g)
    gx = gx.ravel() + rng.uniform(-0.4, 0.4, gx.size) * spacing
    gy = gy.ravel() + rng.uniform(-0.4, 0.4, gy.size) * spacing
    u = np.hypot(gx, gy)
    inside = u < 1.0
    gx, gy, u = gx[inside], gy[inside], u[inside]
    theta = np.arctan2(gy, gx)
    # radial density rho(r) ~ exp(-r/0.3) + 0.35; cumulative count within r matches u^2
    r = np.linspace(0.0, 1.0, 2001)
    dens = np.exp(-r / 0.3) + 0.35
    cum = np.concatenate([[0.0], np.cumsum((dens[1:] * r[1:] + dens[:-1] * r[:-1]) / 2 * np.diff(r))])
    cum /= cum[-1]
    rho = np.interp(u ** 2, cum, r) * 0.999
    x, y = _point_at(rho, theta, phases)
    return np.column_stack([x, y])


def _voronoi_blocks(points, city, faces, feedback=None):
    """Voronoi cells of ``points`` cut by the barrier faces, as single polygons."""
    feedback = ensure_feedback(feedback)
    minx, miny, maxx, maxy = city.bounds
    envelope = box(minx - 500, miny - 500, maxx + 500, maxy + 500)
    cells = voronoi_diagram(MultiPoint([tuple(p) for p in points]), envelope=envelope)
    cells = gpd.GeoDataFrame(geometry=[c for c in cells.geoms], crs=CRS)
    feedback.progress(0.2)
    feedback.check()
    _build_index(cells)
    feedback.progress(0.4)
    # faces as the (few, prepared) query geometries: fast on both stacks
    fi, ci = _sindex_query(cells, faces.geometry, "intersects")
    feedback.progress(0.5)
    fc, cc = _sindex_query(cells, faces.geometry, "contains")
    inside = np.isin(fi * len(cells) + ci, fc * len(cells) + cc)
    cut_f, cut_c = fi[~inside], ci[~inside]
    feedback.progress(0.55)

    def cut(part):
        """The cells ``cut_c[part]`` cut by their faces."""
        return cells.geometry.iloc[cut_c[part]].reset_index(drop=True).intersection(
            faces.geometry.iloc[cut_f[part]].reset_index(drop=True))

    pieces = _in_chunks(len(cut_c), cut, feedback.step(0.55, 0.8))
    face_ids = faces["face"].to_numpy()
    out = gpd.GeoDataFrame(
        {"face": np.concatenate([face_ids[fc], face_ids[cut_f]])},
        geometry=list(cells.geometry.iloc[cc]) + list(pieces), crs=CRS)
    out = out.explode(index_parts=False).reset_index(drop=True)
    out = out[(out.geom_type == "Polygon") & (out.area > 1e-6)].reset_index(drop=True)
    feedback.progress(1.0)
    return out


def _polygon_rings(geom):
    """Coordinate arrays of a 2-D polygon's rings, parsed from WKB (fast on shapely 1.8 and 2)."""
    data = geom.wkb
    order = "<" if data[0] == 1 else ">"
    n_rings = int(np.frombuffer(data, dtype=order + "u4", count=1, offset=5)[0])
    offset, rings = 9, []
    for _ in range(n_rings):
        n_pts = int(np.frombuffer(data, dtype=order + "u4", count=1, offset=offset)[0])
        offset += 4
        rings.append(np.frombuffer(data, dtype=order + "f8", count=2 * n_pts,
                                   offset=offset).reshape(n_pts, 2))
        offset += 16 * n_pts
    return rings


def _rook_pairs(frame, min_shared=0.5, feedback=None):
    """Pairs (i < j) of polygons sharing more than ``min_shared`` m of boundary.

    Most neighbours share bit-identical edges (cells of one Voronoi diagram), found by
    hashing the segments; polygons with any unmatched segment (along barriers, the city
    edge) are checked geometrically.
    """
    feedback = ensure_feedback(feedback)
    geoms = frame.geometry.reset_index(drop=True)
    owners, segs = [], []
    for part in _chunks(len(geoms), feedback.step(0.0, 0.3)):
        for i, g in zip(range(part.start, part.stop), geoms.iloc[part]):
            for ring in _polygon_rings(g):
                segs.append(np.hstack([ring[:-1], ring[1:]]))
                owners.append(np.full(len(ring) - 1, i, dtype=np.int64))
    owner = np.concatenate(owners)
    seg = np.concatenate(segs)
    swap = (seg[:, 0] > seg[:, 2]) | ((seg[:, 0] == seg[:, 2]) & (seg[:, 1] > seg[:, 3]))
    seg[swap] = seg[swap][:, [2, 3, 0, 1]]
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    _, inverse, counts = np.unique(seg, axis=0, return_inverse=True, return_counts=True)
    inverse = np.asarray(inverse).ravel()
    order = np.argsort(inverse, kind="stable")
    inv_sorted = inverse[order]
    twice = counts[inv_sorted] == 2
    firsts = order[twice][0::2]
    seconds = order[twice][1::2]
    a = np.minimum(owner[firsts], owner[seconds])
    b = np.maximum(owner[firsts], owner[seconds])
    n = len(geoms)
    hashed = pd.DataFrame({"key": a * n + b, "len": length[firsts]})
    hashed = hashed[a != b].groupby("key")["len"].sum()
    feedback.progress(0.5)
    feedback.check()
    unmatched = np.zeros(n, dtype=bool)
    unmatched[owner[counts[inverse] != 2]] = True
    fallback = np.flatnonzero(unmatched)
    fa = fb = np.zeros(0, dtype=np.int64)
    flen = np.zeros(0)
    if len(fallback):
        _build_index(frame)
        feedback.progress(0.6)
        feedback.check()
        loc, other = _sindex_query(frame, geoms.iloc[fallback], "intersects")
        fa = fallback[loc]
        keep = fa != other
        fa, fb = fa[keep], other[keep]
        fa, fb = np.minimum(fa, fb), np.maximum(fa, fb)
        key = np.unique(fa * n + fb)
        fa, fb = key // n, key % n
        feedback.progress(0.75)
        flen = _shared_lengths(geoms, fa, fb, feedback.step(0.75, 0.95))
    geometric = pd.Series(flen, index=fa * n + fb, dtype=float)
    combined = pd.concat([hashed[~hashed.index.isin(geometric.index)], geometric]).sort_index()
    combined = combined[combined > min_shared]
    keys = combined.index.to_numpy().astype(np.int64)
    feedback.progress(1.0)
    return keys // n, keys % n, combined.to_numpy()


def _merge_slivers(blocks, target_area, feedback=None):
    """Merge pieces much smaller than a typical block into their same-face neighbour."""
    feedback = ensure_feedback(feedback)
    areas = blocks.area.to_numpy()
    small = areas < 0.2 * target_area
    if not small.any():
        return blocks
    small_idx = np.flatnonzero(small)
    geoms = blocks.geometry.reset_index(drop=True)
    feedback.progress(0.05)
    feedback.check()
    _build_index(blocks)
    feedback.progress(0.25)
    s_local, nb = _sindex_query(blocks, geoms.iloc[small_idx], "intersects")
    src = small_idx[s_local]
    faces = blocks["face"].to_numpy()
    ok = (src != nb) & ~small[nb] & (faces[src] == faces[nb])
    src, nb = src[ok], nb[ok]
    if len(src) == 0:
        return blocks
    feedback.progress(0.4)
    length = _shared_lengths(geoms, src, nb, feedback.step(0.4, 0.7))
    ok = length > 0
    src, nb, length = src[ok], nb[ok], length[ok]
    # each small piece joins the neighbour with the longest shared boundary
    order = np.lexsort((-length, src))
    src, nb = src[order], nb[order]
    first = np.concatenate([[True], src[1:] != src[:-1]]) if len(src) else np.zeros(0, bool)
    target = np.arange(len(blocks))
    target[src[first]] = nb[first]
    changed = np.flatnonzero(target != np.arange(len(blocks)))
    if len(changed) == 0:
        return blocks
    groups = {}
    for i in changed:
        groups.setdefault(int(target[i]), [int(target[i])]).append(int(i))
    new_geoms = list(geoms)
    drop = np.zeros(len(blocks), dtype=bool)
    merging = feedback.step(0.7, 1.0)
    for k, (dst, members) in enumerate(groups.items()):
        if k % BLOCKS_PER_STEP == 0:
            merging.progress(k / len(groups))
            merging.check()
        merged = unary_union([geoms.iloc[m] for m in members])
        if merged.geom_type != "Polygon":  # not one piece: keep them apart
            continue
        new_geoms[dst] = merged
        drop[members[1:]] = True
    keep = ~drop
    return gpd.GeoDataFrame({"face": faces[keep]},
                            geometry=[g for g, k in zip(new_geoms, keep) if k], crs=CRS)


def _sort_geometric(frame, feedback=None):
    """Stable, stack-independent order: north to south, then west to east (1 m rows).

    Returns the sorted frame and the x and y of its representative points in the new order:
    the block statistics and the Zensus grid reuse them (seconds per computation on shapely 1.8).
    """
    x, y = _representative_xy(frame.geometry, feedback)
    key_y = -np.round(y, 3)
    key_x = np.round(x, 3)
    order = np.lexsort((key_x, key_y))
    return frame.iloc[order].reset_index(drop=True), x[order], y[order]


def _representative_xy(geoms, feedback=None):
    """x and y arrays of the representative points, chunk by chunk (slow per geometry on shapely 1.8)."""
    xs, ys = [np.zeros(0)], [np.zeros(0)]
    for part in _chunks(len(geoms), feedback):
        points = geoms.iloc[part].representative_point()
        xs.append(points.x.to_numpy())
        ys.append(points.y.to_numpy())
    return np.concatenate(xs), np.concatenate(ys)


def _final_blocks(pieces, stats, plr_ids, district_ids):
    """The ``blocks`` layer in its final order (by planning area, then north-west to south-east)
    with ids ``B00001``…, from the planning-area and district id of every piece.

    Returns the layer, the block ids and each piece's position in the layer.
    """
    n = len(pieces)
    plr_ids = np.asarray(plr_ids, dtype=object)
    order = np.lexsort((np.arange(n), plr_ids.astype(str)))
    width = max(5, len(str(n)))
    block_ids = np.array([f"B{i + 1:0{width}d}" for i in range(n)], dtype=object)
    blocks = pd.DataFrame({
        "block_id": block_ids,
        "plr_id": plr_ids[order],
        "district_id": np.asarray(district_ids, dtype=object)[order],
    })
    blocks["land_use"] = stats["land_use"].to_numpy()[order]
    blocks["area_m2"] = np.round(pieces.area.to_numpy()[order], 2)
    for col in block_columns()[5:]:
        blocks[col] = stats[col].to_numpy()[order]
    blocks = gpd.GeoDataFrame(blocks, geometry=pieces.geometry.values[order], crs=CRS)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return blocks, block_ids, inverse


def _adjacency_table(block_ids, inverse, a, b, shared):
    """Rook neighbours by block id (``block_id_a``, ``block_id_b``, ``shared_m``); ``inverse``
    maps piece positions to block positions."""
    return pd.DataFrame({"block_id_a": block_ids[inverse[a]], "block_id_b": block_ids[inverse[b]],
                         "shared_m": np.round(shared, 3)})
