"""Contiguity of small units: shared boundaries, barrier lines, nesting, islands.

Two units are neighbours when the part of the boundary of one that lies within
``snap_tolerance`` metres of the other is at least ``min_shared_length`` long (rook)
or when they touch at all (queen). The tolerance bridges digitising gaps (and, for
statistical blocks separated by streets, the street space: use e.g. 30 m there).

A barrier line (road, railway, river) cuts the adjacency of two units when it runs
along their shared boundary: the shared boundary minus the part within
``barrier_tolerance`` metres of any barrier is shorter than ``min_shared_length``
(rook), or nothing of it is left (queen).

Nesting: two units in different higher-level areas (e.g. districts) are never
neighbours, so every region built on the graph nests by construction.

Islands: a group of units touching nothing else in its higher-level area (an island
in a lake, an exclave) either stays on its own (``island_rule='alone'``) or is linked
to the nearest unit of the rest (``'nearest'``; such links ignore barriers, since an
island in a river is always across water). Parts cut off *by barriers* are never
linked: they are reported by the feasibility check instead.

Built with geopandas operations that exist in geopandas 0.12 / shapely 1.8 and in
geopandas 1.x / shapely 2.x alike (libpysal is not in the QGIS stack; the test
compares this graph with libpysal's Rook/Queen on the current stack).
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..errors import InputError
from ..feedback import ensure_feedback
from ..geometry_arrays import SHAPELY_2, bounds_and_areas, geometry_values
from . import geos18
from ..i18n import tr
from ..validate import layer_name

RULES = ("rook", "queen")
ISLAND_RULES = ("nearest", "alone")


def query_pairs(tree_geoms, query_geoms, predicate="intersects"):
    """(query index, tree index) pairs whose geometries meet ``predicate`` (None: bounding boxes only).

    shapely 2 uses the spatial index in C. On shapely 1.8 (QGIS stack) geopandas' index answers
    one query geometry at a time in Python (3 s for 30,000 blocks), so the candidate pairs come
    from the bounding boxes in numpy (``bbox_pairs``) and the predicate is tested with one
    prepared geometry per tree geometry.
    """
    if predicate is not None and SHAPELY_2:
        result = tree_geoms.sindex.query(query_geoms, predicate=predicate)
        return np.asarray(result[0], dtype=np.int64), np.asarray(result[1], dtype=np.int64)
    query_bounds, _ = bounds_and_areas(query_geoms)
    tree_bounds, _ = bounds_and_areas(tree_geoms)
    qi, ti = bbox_pairs(query_bounds, tree_bounds)
    if predicate is None or not len(qi):
        return qi, ti
    from shapely.prepared import prep

    if predicate not in ("intersects", "within"):
        raise ValueError(predicate)
    tree_values = geometry_values(tree_geoms)
    query_values = geometry_values(query_geoms)
    keep = np.zeros(len(qi), dtype=bool)
    order = np.argsort(ti, kind="stable")
    starts = np.flatnonzero(np.r_[True, ti[order][1:] != ti[order][:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[a:b]
        prepared = prep(tree_values[ti[rows[0]]])
        test = prepared.intersects if predicate == "intersects" else prepared.contains
        keep[rows] = [test(query_values[q]) for q in qi[rows].tolist()]
    return qi[keep], ti[keep]


def bbox_pairs(a_bounds, b_bounds):
    """(i, j) pairs whose bounding boxes (minx, miny, maxx, maxy) overlap, in numpy.

    Candidates come from a k-d tree of the box centres (radius: the two half-diagonals); the few
    boxes far larger than the typical one are compared with every box directly, so one large
    rural unit does not widen every search.
    """
    from scipy.spatial import cKDTree

    A = np.asarray(a_bounds, dtype=float).reshape(-1, 4)
    B = np.asarray(b_bounds, dtype=float).reshape(-1, 4)
    valid_a = np.isfinite(A).all(axis=1)
    valid_b = np.isfinite(B).all(axis=1)
    empty = np.zeros(0, dtype=np.int64)
    if not valid_a.any() or not valid_b.any():
        return empty, empty
    half_a = np.where(valid_a, np.hypot(A[:, 2] - A[:, 0], A[:, 3] - A[:, 1]) / 2, 0.0)
    half_b = np.where(valid_b, np.hypot(B[:, 2] - B[:, 0], B[:, 3] - B[:, 1]) / 2, 0.0)
    limit = max(4.0 * float(np.median(half_b[valid_b])), 1e-9)
    wide = valid_b & (half_b > limit)
    narrow = np.flatnonzero(valid_b & ~wide)
    ai_parts, bj_parts = [], []
    a_rows = np.flatnonzero(valid_a)
    if len(narrow):
        centres_a = (A[a_rows, :2] + A[a_rows, 2:]) / 2
        centres_b = (B[narrow, :2] + B[narrow, 2:]) / 2
        lists = cKDTree(centres_b).query_ball_point(centres_a, half_a[a_rows] + half_b[narrow].max() + 1e-9)
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        ai_parts.append(np.repeat(a_rows, counts))
        bj_parts.append(narrow[np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(counts.sum()))])
    for j in np.flatnonzero(wide).tolist():
        rows = a_rows[(A[a_rows, 0] <= B[j, 2]) & (A[a_rows, 2] >= B[j, 0])
                      & (A[a_rows, 1] <= B[j, 3]) & (A[a_rows, 3] >= B[j, 1])]
        ai_parts.append(rows)
        bj_parts.append(np.full(len(rows), j, dtype=np.int64))
    ai = np.concatenate(ai_parts) if ai_parts else empty
    bj = np.concatenate(bj_parts) if bj_parts else empty
    ok = (A[ai, 0] <= B[bj, 2]) & (A[ai, 2] >= B[bj, 0]) & (A[ai, 1] <= B[bj, 3]) & (A[ai, 3] >= B[bj, 1])
    ai, bj = ai[ok], bj[ok]
    order = np.lexsort((bj, ai))
    return ai[order].astype(np.int64), bj[order].astype(np.int64)


@dataclass
class UnitGraph:
    """Adjacency of ``n`` units after barriers, nesting and island links.

    ``edges`` (m × 2, i < j) are the final neighbour pairs; ``shared_length`` their
    shared boundary (0 for island links). ``cut_edges`` are pairs that touch but were
    separated, with ``cut_reason`` ('barrier' or 'nesting') and ``cut_barrier`` (the
    barrier's label). ``island_distance`` is the gap in metres bridged by each island link.
    ``parent`` holds the nesting group code per unit (-1 when none).
    """

    n: int
    edges: np.ndarray
    shared_length: np.ndarray
    cut_edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    cut_reason: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    cut_barrier: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    island_links: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    island_distance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    parent: np.ndarray = None
    parent_names: list = None
    settings: dict = field(default_factory=dict)

    def csr(self):
        """Symmetric scipy CSR adjacency (1 per neighbour pair)."""
        return adjacency_matrix(self.n, self.edges)

    def neighbours(self):
        """List of neighbour index arrays per unit."""
        matrix = self.csr()
        return [matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]] for i in range(self.n)]

    def components(self):
        """(count, label per unit) of the connected parts of the final graph."""
        return connected_components(self.csr(), directed=False)


def adjacency_matrix(n, edges):
    """Symmetric CSR matrix of ``n`` nodes from an (m × 2) edge array."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    matrix = sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _geoseries(values, crs):
    import geopandas as gpd
    return gpd.GeoSeries(values, crs=crs).reset_index(drop=True)


def _barrier_frame(barriers, crs):
    """Join barrier layers into one GeoSeries with a label per feature."""
    import geopandas as gpd

    if barriers is None:
        return None
    if isinstance(barriers, (gpd.GeoDataFrame, gpd.GeoSeries)):
        barriers = [barriers]
    if isinstance(barriers, dict):
        items = list(barriers.items())
    else:
        items = [(layer_name(b, None) if hasattr(b, "attrs") else None, b) for b in barriers]
    geoms, labels = [], []
    for number, (name, layer) in enumerate(items):
        if layer is None or len(layer) == 0:
            continue
        name = name or (layer.attrs.get("layer_name") if hasattr(layer, "attrs") else None) \
            or tr("barrier layer {number}", number=number + 1)
        if getattr(layer, "crs", None) is not None and crs is not None and layer.crs != crs:
            raise InputError(tr("Barrier layer '{layer}' uses a different coordinate reference system "
                                "than the units. Reproject it first.", layer=name))
        series = layer.geometry if hasattr(layer, "geometry") else layer
        label_column = None
        if isinstance(layer, gpd.GeoDataFrame):
            for candidate in ("name", "NAME", "Name", "bezeichnung", "BEZEICHNUNG"):
                if candidate in layer.columns:
                    label_column = candidate
                    break
        for k, geom in enumerate(series.values):
            if geom is None or geom.is_empty:
                continue
            text = name
            if label_column is not None:
                value = layer[label_column].iloc[k]
                if value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value).strip():
                    text = f"{name} '{value}'"
            geoms.append(geom)
            labels.append(text)
    if not geoms:
        return None
    return _geoseries(geoms, crs), np.asarray(labels, dtype=object)


def build_graph(units, rule="rook", snap_tolerance=0.5, min_shared_length=None,
                barriers=None, barrier_tolerance=None, parent=None, island_rule="nearest",
                feedback=None):
    """Build the contiguity graph of polygon units.

    Parameters
    ----------
    units : GeoDataFrame
        Polygon units (projected CRS, metres); rows in the order of the result.
    rule : {'rook', 'queen'}
        Rook: neighbours share a boundary of at least ``min_shared_length``; queen:
        any contact (corner touches count).
    snap_tolerance : float
        Gap in metres still treated as contact (digitising gaps, street space).
    min_shared_length : float, optional
        Minimum shared boundary for rook (default ``max(1 m, 4 × snap_tolerance)``, so
        corner touches never count).
    barriers : GeoDataFrame, list or dict of name → GeoDataFrame, optional
        Line layers (roads, rail, rivers) that separate units on both sides.
    barrier_tolerance : float, optional
        How close (m) a barrier must run along a shared boundary to cut it
        (default: ``snap_tolerance`` + 1 m).
    parent : array-like, optional
        Nesting group per unit (e.g. district id); units in different groups are
        never neighbours.
    island_rule : {'nearest', 'alone'}
        What to do with units/groups that touch nothing else in their group.

    Returns
    -------
    UnitGraph
    """
    feedback = ensure_feedback(feedback)
    if rule not in RULES:
        raise InputError(tr("Unknown contiguity rule '{rule}'. Use 'rook' or 'queen'.", rule=rule))
    if island_rule not in ISLAND_RULES:
        raise InputError(tr("Unknown island rule '{rule}'. Use 'nearest' or 'alone'.", rule=island_rule))
    snap_tolerance = float(snap_tolerance)
    if snap_tolerance < 0:
        raise InputError(tr("The snap tolerance must not be negative (got {value}).", value=snap_tolerance))
    if min_shared_length is None:
        min_shared_length = max(1.0, 4.0 * snap_tolerance)
    min_shared_length = float(min_shared_length)
    if barrier_tolerance is None:
        barrier_tolerance = snap_tolerance + 1.0
    barrier_tolerance = max(float(barrier_tolerance), snap_tolerance)
    n = len(units)
    crs = units.crs
    geoms = _geoseries(units.geometry.values, crs)
    feedback.progress(0.05)
    feedback.check()

    # candidate pairs from bounding boxes widened by the tolerance (a buffer never reaches beyond
    # them); the shared-boundary intersection below is the exact test
    unit_bounds, _ = bounds_and_areas(geoms)
    widened = unit_bounds + np.array([-1.0, -1.0, 1.0, 1.0]) * snap_tolerance
    qi, ti = bbox_pairs(widened, unit_bounds)
    keep = qi < ti
    ii, jj = qi[keep], ti[keep]
    # canonical order: the edge order feeds the seeded spanning trees, so sort to get the same
    # areas on both stacks
    order = np.lexsort((jj, ii))
    ii, jj = ii[order], jj[order]
    feedback.progress(0.25)
    feedback.check()

    # shared boundary: the part of i's boundary within the tolerance of j
    length, nonempty, shared_values = _shared_boundaries(geoms, snap_tolerance, ii, jj, crs)
    feedback.progress(0.6)
    feedback.check()
    if rule == "rook":
        touching = length >= min_shared_length
    else:
        touching = nonempty
    ii, jj, length = ii[touching], jj[touching], length[touching]
    if shared_values is not None:
        shared_values = shared_values[touching]

    def shared_of(rows):
        """Shared boundaries of the touching pairs ``rows`` (computed here on shapely 1.8)."""
        if shared_values is not None:
            return _geoseries(shared_values[rows], crs)
        return _shared_geometries(geoms, snap_tolerance, ii[rows], jj[rows], crs)

    cut_mask = np.zeros(len(ii), dtype=bool)
    cut_reason = np.full(len(ii), None, dtype=object)
    cut_barrier = np.full(len(ii), None, dtype=object)

    # nesting
    parent_codes, parent_names = None, None
    if parent is not None:
        values = pd.Series(np.asarray(parent, dtype=object))
        if values.isna().any():
            raise InputError(tr("{count} unit(s) have no higher-level area to nest in. Check the "
                                "nesting layer or field.", count=int(values.isna().sum())))
        parent_codes, uniques = pd.factorize(values.astype(str), sort=True)
        parent_names = [str(u) for u in uniques]
        across = parent_codes[ii] != parent_codes[jj]
        cut_mask |= across
        cut_reason[across] = "nesting"

    # barriers
    frame = _barrier_frame(barriers, crs)
    if frame is not None and len(ii):
        lines, labels = frame
        zones = lines.buffer(barrier_tolerance, resolution=2)
        candidates = ~cut_mask
        cand_idx = np.nonzero(candidates)[0]
        if shared_values is None and len(cand_idx):
            # shapely 1.8: only pairs whose common box comes near a barrier get their shared boundary
            unit_bounds, _ = bounds_and_areas(geoms)
            box = np.column_stack([np.maximum(unit_bounds[ii[cand_idx], 0], unit_bounds[jj[cand_idx], 0]),
                                   np.maximum(unit_bounds[ii[cand_idx], 1], unit_bounds[jj[cand_idx], 1]),
                                   np.minimum(unit_bounds[ii[cand_idx], 2], unit_bounds[jj[cand_idx], 2]),
                                   np.minimum(unit_bounds[ii[cand_idx], 3], unit_bounds[jj[cand_idx], 3])])
            box += np.array([-1, -1, 1, 1]) * (snap_tolerance + 1.0)
            near_rows, _ = bbox_pairs(box, _segment_boxes(lines, barrier_tolerance))
            cand_idx = cand_idx[np.unique(near_rows)]
        shared_cand = shared_of(cand_idx)
        si, bi = query_pairs(zones, shared_cand, predicate="intersects")
        if len(si):
            edge = cand_idx[si]
            covered = _geoseries(shared_cand.values[si], crs).intersection(
                _geoseries(zones.values[bi], crs)).length.values
            total = np.bincount(edge, weights=covered, minlength=len(ii))
            # the label of the barrier covering most of each edge
            order = np.lexsort((-covered, edge))
            first = np.ones(len(order), dtype=bool)
            first[1:] = edge[order][1:] != edge[order][:-1]
            main_label = np.full(len(ii), None, dtype=object)
            main_label[edge[order][first]] = labels[bi[order][first]]
            open_length = length - np.minimum(total, length)
            if rule == "rook":
                cut = (open_length < min_shared_length) & (total > 0)
            else:
                cut = (open_length <= 1e-9 * np.maximum(length, 1.0)) & (total > 0)
            cut &= candidates
            cut_mask |= cut
            cut_reason[cut] = "barrier"
            cut_barrier[cut] = main_label[cut]
    feedback.progress(0.8)
    feedback.check()

    edges = np.column_stack([ii[~cut_mask], jj[~cut_mask]]).astype(np.int64)
    lengths = length[~cut_mask]
    cut_edges = np.column_stack([ii[cut_mask], jj[cut_mask]]).astype(np.int64)

    # islands: groups with no contact at all (before barriers) inside their nesting group
    links = np.zeros((0, 2), dtype=np.int64)
    link_distance = np.zeros(0)
    if island_rule == "nearest" and n > 1:
        contact = np.column_stack([ii, jj])[cut_reason != "nesting"] if len(ii) else np.zeros((0, 2), np.int64)
        links, link_distance = _island_links(geoms, contact, parent_codes, n, feedback)
        if len(links):
            edges = np.vstack([edges, np.sort(links, axis=1)])
            lengths = np.concatenate([lengths, np.zeros(len(links))])
            order = np.lexsort((edges[:, 1], edges[:, 0]))
            edges, lengths = edges[order], lengths[order]
    feedback.progress(1.0)
    return UnitGraph(n=n, edges=edges, shared_length=lengths, cut_edges=cut_edges,
                     cut_reason=cut_reason[cut_mask], cut_barrier=cut_barrier[cut_mask],
                     island_links=links, island_distance=link_distance, parent=parent_codes if parent_codes is not None else np.full(n, -1),
                     parent_names=parent_names,
                     settings={"rule": rule, "snap_tolerance": snap_tolerance,
                               "min_shared_length": min_shared_length,
                               "barrier_tolerance": barrier_tolerance, "island_rule": island_rule})


def _shared_geometries(geoms, tolerance, ii, jj, crs):
    """boundary(i) ∩ buffer(j, tolerance) for the pairs (ii, jj), as a GeoSeries."""
    a = _geoseries(geometry_values(geoms)[ii], crs)
    b = _geoseries(geometry_values(geoms)[jj], crs)
    near = b.buffer(tolerance, resolution=2) if tolerance > 0 else b
    return a.boundary.intersection(near)


def _shared_boundaries(geoms, tolerance, ii, jj, crs):
    """(length, non-empty, geometries or None) of boundary(i) ∩ buffer(j) for every pair.

    shapely 2 works on whole arrays in C. On shapely 1.8 each operation builds Python objects;
    there GEOS is called through shapely's own handle (``geos18``) and only the numbers are
    kept; the geometries are computed later for the few pairs near a barrier.
    """
    if not SHAPELY_2 and len(ii) and geos18.functions() is not None:
        result = geos18.shared_lengths(geometry_values(geoms), tolerance, ii, jj)
        if result is not None:
            return result[0], result[1], None
    if SHAPELY_2:
        boundary = geoms.boundary.values
        near = (geoms.buffer(tolerance, resolution=2) if tolerance > 0 else geoms).values
        shared = _geoseries(boundary[ii], crs).intersection(_geoseries(near[jj], crs))
    else:
        shared = _shared_geometries(geoms, tolerance, ii, jj, crs)
    return shared.length.to_numpy().astype(float), ~shared.is_empty.to_numpy(), shared.values


def _segment_boxes(lines, tolerance):
    """Bounding box of every straight segment of the barrier lines, widened by ``tolerance``
    (a long river's own box covers half the city; its segments' boxes do not)."""
    boxes = []
    for geometry in geometry_values(lines):
        if geometry is None or geometry.is_empty:
            continue
        parts = getattr(geometry, "geoms", [geometry])
        for part in parts:
            coords = np.asarray(part.coords if hasattr(part, "coords") else part.exterior.coords, dtype=float)
            if len(coords) < 2:
                continue
            a, b = coords[:-1, :2], coords[1:, :2]
            boxes.append(np.column_stack([np.minimum(a, b) - tolerance, np.maximum(a, b) + tolerance]))
    return np.vstack(boxes) if boxes else np.zeros((0, 4))


def _island_links(geoms, contact, parent_codes, n, feedback):
    """Link every contact group to the nearest unit of another group in the same nesting group.

    Groups are visited from the smallest; each gets one link to the closest unit outside it
    (searched in growing distance bands through the spatial index), until the nesting group
    is connected.
    """
    groups = parent_codes if parent_codes is not None else np.zeros(n, dtype=np.int64)
    ncomp, comp = connected_components(adjacency_matrix(n, contact), directed=False)
    if ncomp == len(np.unique(groups)):
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    root = np.arange(ncomp)

    def find(a):
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    bounds, _ = bounds_and_areas(geoms)
    # any two units of the layer are at most the diagonal of its extent apart: searching up to it
    # finds the nearest unit at any distance (Hamburg's Neuwerk lies 88 km from the mainland)
    span = np.nanmax(bounds[:, 2:4], axis=0) - np.nanmin(bounds[:, 0:2], axis=0)
    extent = max(float(np.hypot(span[0], span[1])), 1.0)
    links = []
    distances = []
    for group in np.unique(groups):
        members = np.nonzero(groups == group)[0]
        comps = np.unique(comp[members])
        if len(comps) < 2:
            continue
        sub = geoms.iloc[members].reset_index(drop=True)
        sizes = {c: int((comp[members] == c).sum()) for c in comps}
        for c in sorted(comps, key=lambda c: (sizes[c], c)):
            feedback.check()
            current = find(c)
            member_root = np.fromiter((find(x) for x in comp[members]), dtype=np.int64, count=len(members))
            in_comp = member_root == current
            if in_comp.all():
                break
            inside = np.nonzero(in_comp)[0]
            distance = 10.0
            while True:
                qi, ti = query_pairs(sub, sub.iloc[inside].buffer(distance, resolution=2).reset_index(drop=True),
                                     predicate="intersects")
                outside = ~in_comp[ti]
                if outside.any() or distance > extent:
                    break
                distance = min(distance * 3.0, extent * 1.01 + 1.0)
            if not outside.any():
                continue
            a, b = inside[qi[outside]], ti[outside]
            d = sub.iloc[a].reset_index(drop=True).distance(sub.iloc[b].reset_index(drop=True)).to_numpy()
            at = int(np.lexsort((b, a, d))[0])
            source, target = int(members[a[at]]), int(members[b[at]])
            links.append((source, target))  # island unit first (edges get i < j below)
            distances.append(float(d[at]))
            root[find(comp[target])] = current
    return np.asarray(links, dtype=np.int64).reshape(-1, 2), np.asarray(distances, dtype=float)
