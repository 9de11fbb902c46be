"""Spatial weights for planning areas, built the same way on both stacks.

Weights are a ``SpatialWeights`` object holding a binary neighbour matrix (scipy CSR,
``n × n``, zero diagonal) in the row order of the input layer, and can be row-standardised.
Contiguity is geometric: *queen* neighbours share at least one boundary point, *rook*
neighbours share a boundary segment of positive length (the same predicates as libpysal's
``Graph.build_contiguity(strict=True)``). We build them with the geopandas spatial index
because libpysal is not part of the QGIS stack; ``tests/core/test_priorities_weights.py``
compares the result with libpysal on the current stack.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..validate import layer_name, require_not_empty, require_projected

KINDS = ("queen", "rook", "knn", "distance")


@dataclass
class SpatialWeights:
    """Binary neighbour structure plus how it was built.

    Attributes
    ----------
    neighbours : scipy.sparse.csr_matrix
        ``n × n`` 0/1 matrix, row ``i`` lists the neighbours of area ``i`` (never itself).
    kind : str
        ``queen``, ``rook``, ``knn`` or ``distance``.
    ids : list
        Area ids in row order (the input index unless an id field was given).
    parameters : dict
        ``k``, ``threshold`` … as used.
    """

    neighbours: sparse.csr_matrix
    kind: str
    ids: list
    parameters: dict = field(default_factory=dict)

    @property
    def n(self):
        """Number of areas."""
        return self.neighbours.shape[0]

    @property
    def cardinalities(self):
        """Number of neighbours per area."""
        return np.asarray(self.neighbours.sum(axis=1)).ravel().astype(int)

    @property
    def islands(self):
        """Row positions of areas without any neighbour."""
        return np.flatnonzero(self.cardinalities == 0)

    def row_standardised(self):
        """CSR matrix with rows summing to 1 (islands stay all-zero)."""
        card = self.cardinalities.astype(float)
        scale = np.divide(1.0, card, out=np.zeros_like(card), where=card > 0)
        return sparse.diags(scale) @ self.neighbours.astype(float)

    def neighbour_lists(self):
        """List of neighbour position arrays per area."""
        m = self.neighbours
        return [m.indices[m.indptr[i]:m.indptr[i + 1]] for i in range(self.n)]

    def diagnostics(self):
        """Counts a planner can check: mean/min/max neighbours, islands, components."""
        card = self.cardinalities
        ncomp, _ = sparse.csgraph.connected_components(self.neighbours, directed=False)
        return {"kind": self.kind, "n": int(self.n), "mean_neighbours": float(card.mean()),
                "min_neighbours": int(card.min()), "max_neighbours": int(card.max()),
                "islands": [self.ids[i] for i in self.islands], "components": int(ncomp),
                **self.parameters}


def query_pairs(sindex_geoms, geoms, predicate="intersects"):
    """(left, right) positions of ``geoms`` × ``sindex_geoms`` pairs meeting ``predicate``.

    geopandas 0.12 offers ``sindex.query_bulk``; from 0.13 ``sindex.query`` takes arrays
    (``query_bulk`` is gone in 1.x).
    """
    import geopandas

    sindex = sindex_geoms.sindex
    major, minor = (int(p) for p in geopandas.__version__.split(".")[:2])
    if (major, minor) >= (0, 13):
        left, right = sindex.query(geoms, predicate=predicate)
    else:
        left, right = sindex.query_bulk(geoms, predicate=predicate)
    return np.asarray(left), np.asarray(right)


def _pairs_intersecting(geoms):
    """(i, j) row positions of intersecting geometries, i != j."""
    left, right = query_pairs(geoms, geoms, "intersects")
    keep = left != right
    return left[keep], right[keep]


def _symmetric(n, i, j):
    """Binary symmetric CSR from (i, j) pairs."""
    i, j = np.asarray(i, dtype=int), np.asarray(j, dtype=int)
    keep = i != j
    rows = np.concatenate([i[keep], j[keep]])
    cols = np.concatenate([j[keep], i[keep]])
    m = sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()
    m.data[:] = 1  # duplicates summed by tocsr
    return m


def _ids(frame, id_field):
    if id_field:
        return list(frame[id_field])
    return list(frame.index)


def contiguity(frame, rook=False, tolerance=0.0, id_field=None):
    """Queen or rook contiguity of polygons.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons in a projected CRS.
    rook : bool
        Require a shared boundary segment (rook) instead of any shared point (queen).
    tolerance : float
        Metres; with ``> 0`` areas separated by gaps narrower than this count as
        neighbours (digitising slivers). Queen only.
    """
    require_not_empty(frame)
    require_projected(frame)
    geoms = frame.geometry.reset_index(drop=True)
    if geoms.isna().any() or geoms.is_empty.any():
        raise InputError(tr("Layer '{layer}' has features without geometry; neighbours cannot be "
                            "found for them. Remove or repair them first.", layer=layer_name(frame)))
    query = geoms.buffer(tolerance / 2.0) if tolerance > 0 else geoms
    i, j = _pairs_intersecting(query)
    if rook and len(i):
        upper = i < j
        i, j = i[upper], j[upper]
        left = geoms.boundary.iloc[i].reset_index(drop=True)
        right = geoms.boundary.iloc[j].reset_index(drop=True)
        shared = left.intersection(right).length.to_numpy()
        keep = shared > 1e-9 * np.maximum(left.length.to_numpy(), 1.0)
        i, j = i[keep], j[keep]
    return SpatialWeights(_symmetric(len(geoms), i, j), "rook" if rook else "queen",
                          _ids(frame, id_field), {"tolerance": float(tolerance)})


def _points(frame):
    """Coordinates of centroids (points stay points)."""
    cent = frame.geometry.centroid
    return np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])


def knn(frame, k=6, id_field=None):
    """The ``k`` nearest areas by centroid distance (asymmetric, as in libpysal ``KNN``)."""
    require_not_empty(frame)
    require_projected(frame)
    n = len(frame)
    k = int(k)
    if k < 1:
        raise InputError(tr("The number of neighbours k must be at least 1 (got {k}).", k=k))
    if k >= n:
        raise InputError(tr("k = {k} nearest neighbours needs more than {k} areas, but layer "
                            "'{layer}' has {n}. Choose a smaller k.", k=k, n=n, layer=layer_name(frame)))
    pts = _points(frame)
    _, idx = cKDTree(pts).query(pts, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    cols = []
    for r in range(n):  # drop self (position may not be first when points coincide)
        nb = idx[r][idx[r] != r][:k]
        cols.append(nb)
    cols = np.concatenate(cols)
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return SpatialWeights(m, "knn", _ids(frame, id_field), {"k": k})


def distance_band(frame, threshold, id_field=None):
    """Areas whose centroids lie within ``threshold`` metres of each other (binary)."""
    require_not_empty(frame)
    require_projected(frame)
    threshold = float(threshold)
    if not threshold > 0:
        raise InputError(tr("The distance band must be greater than 0 metres (got {value}).",
                            value=threshold))
    pts = _points(frame)
    pairs = cKDTree(pts).query_pairs(threshold, output_type="ndarray")
    i, j = (pairs[:, 0], pairs[:, 1]) if len(pairs) else (np.array([], int), np.array([], int))
    return SpatialWeights(_symmetric(len(pts), i, j), "distance", _ids(frame, id_field),
                          {"threshold": threshold})


def build_weights(frame, kind="queen", k=6, threshold=None, tolerance=0.0, id_field=None,
                  islands="keep", max_link_distance=None, feedback=None):
    """Build weights of the given kind; optionally link islands to their nearest area.

    Parameters
    ----------
    kind : {'queen', 'rook', 'knn', 'distance'}
    islands : {'keep', 'nearest'}
        What to do with areas that have no neighbour: keep them (their statistics are
        NULL and a warning names them) or link each to its nearest area (both directions).
    max_link_distance : float, optional
        Metres between centres: an island farther than this from every other area stays
        an island (named in a warning) instead of being bridged to it. None: no limit.
    feedback : core.feedback.Feedback, optional
        Every link made is reported with the two areas' ids and its distance, so an island
        88 km out in the sea is never bridged silently.
    """
    if kind not in KINDS:
        raise InputError(tr("Unknown kind of spatial weights '{kind}'; use one of {kinds}.",
                            kind=kind, kinds=", ".join(KINDS)))
    if kind in ("queen", "rook"):
        w = contiguity(frame, rook=kind == "rook", tolerance=tolerance, id_field=id_field)
    elif kind == "knn":
        w = knn(frame, k=k, id_field=id_field)
    else:
        if threshold is None:
            raise InputError(tr("Distance-band weights need a distance in metres."))
        w = distance_band(frame, threshold, id_field=id_field)
    if islands == "nearest" and len(w.islands) and w.n > 1:
        w = _link_islands(frame, w, max_link_distance, ensure_feedback(feedback))
    return w


def _link_islands(frame, w, max_link_distance, feedback):
    """Link each island to its nearest area (by centre) unless farther than ``max_link_distance``."""
    pts = _points(frame)
    isl = w.islands
    distance, idx = cKDTree(pts).query(pts[isl], k=2)
    first_is_self = idx[:, 0] == isl
    nearest = np.where(first_is_self, idx[:, 1], idx[:, 0])
    gap = np.where(first_is_self, distance[:, 1], distance[:, 0])
    limit = np.inf if max_link_distance is None or max_link_distance <= 0 else float(max_link_distance)
    linked = gap <= limit
    ids = w.ids
    pairs = [tr("{island} → {nearest} ({distance} km)", island=ids[i], nearest=ids[j],
                distance=format_number(d / 1000.0, 1)) for i, j, d in zip(isl[linked], nearest[linked], gap[linked])]
    if len(pairs):
        feedback.warning(tr(
            "Layer '{layer}': {count} area(s) without neighbours were linked to their nearest area "
            "(distance between centres): {pairs}. Check that these links make sense; set a maximum "
            "linking distance to keep far-off islands apart.", layer=layer_name(frame),
            count=len(pairs), pairs="; ".join(pairs[:10]) + ("; …" if len(pairs) > 10 else "")))
    if (~linked).any():
        far = [tr("{island} ({distance} km)", island=ids[i], distance=format_number(d / 1000.0, 1))
               for i, d in zip(isl[~linked], gap[~linked])]
        feedback.warning(tr(
            "Layer '{layer}': {count} area(s) without neighbours lie farther than the maximum linking "
            "distance of {limit} km from any other area and stay unlinked: {areas}.",
            layer=layer_name(frame), count=len(far), limit=format_number(limit / 1000.0, 1),
            areas=", ".join(far[:10]) + (", …" if len(far) > 10 else "")))
    isl, nearest = isl[linked], nearest[linked]
    extra = sparse.coo_matrix((np.ones(2 * len(isl), dtype=np.int8),
                               (np.concatenate([isl, nearest]), np.concatenate([nearest, isl]))),
                              shape=w.neighbours.shape)
    m = (w.neighbours + extra).tocsr()
    m.data[:] = 1
    return SpatialWeights(m.astype(np.int8), w.kind, w.ids,
                          {**w.parameters, "islands_linked": [w.ids[i] for i in isl],
                           "link_distances": [float(d) for d in gap[linked]],
                           "max_link_distance": None if np.isinf(limit) else limit})


def from_lists(neighbour_lists, ids=None, kind="custom"):
    """Weights from a list of neighbour-position lists (for tests and custom structures)."""
    n = len(neighbour_lists)
    rows = np.concatenate([np.full(len(nb), r) for r, nb in enumerate(neighbour_lists)] or [np.array([], int)])
    cols = np.concatenate([np.asarray(nb, dtype=int) for nb in neighbour_lists] or [np.array([], int)])
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows.astype(int), cols.astype(int))), shape=(n, n))
    return SpatialWeights(m, kind, list(range(n)) if ids is None else list(ids), {})


def as_frame(weights):
    """Neighbour pairs as a DataFrame ``focal, neighbour`` (ids), for export and checks."""
    coo = weights.neighbours.tocoo()
    ids = np.asarray(weights.ids, dtype=object)
    return pd.DataFrame({"focal": ids[coo.row], "neighbour": ids[coo.col]})
