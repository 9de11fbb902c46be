"""Spatial weights: hand-checked grid, and libpysal on the current stack."""
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.priorities import weights as W


def grid(nrows=3, ncols=3, size=100.0):
    cells = [box(c * size, r * size, (c + 1) * size, (r + 1) * size)
             for r in range(nrows) for c in range(ncols)]
    return gpd.GeoDataFrame({"id": [f"A{i}" for i in range(len(cells))]}, geometry=cells, crs="EPSG:25833")


def neighbours(w):
    return [sorted(int(j) for j in nb) for nb in w.neighbour_lists()]


def test_queen_and_rook_on_a_hand_checked_grid():
    g = grid()
    queen = W.build_weights(g, "queen")
    rook = W.build_weights(g, "rook")
    assert neighbours(queen)[4] == [0, 1, 2, 3, 5, 6, 7, 8]
    assert neighbours(rook)[4] == [1, 3, 5, 7]
    assert neighbours(queen)[0] == [1, 3, 4] and neighbours(rook)[0] == [1, 3]
    assert queen.cardinalities.tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    rs = queen.row_standardised()
    assert np.allclose(np.asarray(rs.sum(axis=1)).ravel(), 1.0)


def test_islands_are_reported_and_can_be_linked():
    g = grid(1, 3)
    g = gpd.GeoDataFrame({"id": ["a", "b", "c", "far"]},
                         geometry=list(g.geometry) + [box(1000, 0, 1100, 100)], crs="EPSG:25833")
    w = W.build_weights(g, "queen", id_field="id")
    assert w.diagnostics()["islands"] == ["far"]
    linked = W.build_weights(g, "queen", id_field="id", islands="nearest")
    assert neighbours(linked)[3] == [2] and 3 in neighbours(linked)[2]
    assert linked.diagnostics()["islands"] == []


def test_knn_and_distance_band_by_hand():
    pts = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1, 0), Point(3, 0), Point(10, 0)], crs="EPSG:25833")
    assert neighbours(W.build_weights(pts, "knn", k=1)) == [[1], [0], [1], [2]]
    band = W.build_weights(pts, "distance", threshold=2.5)
    assert neighbours(band) == [[1], [0, 2], [1], []]
    with pytest.raises(InputError, match="k = 4"):
        W.build_weights(pts, "knn", k=4)
    with pytest.raises(InputError, match="geographic"):
        W.build_weights(pts.set_crs("EPSG:4326", allow_override=True), "queen")


@pytest.mark.peers
def test_contiguity_equals_libpysal_on_berlin(berlin_dir):
    import libpysal.graph as graph
    g = gpd.read_file(f"{berlin_dir}/LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp")
    for rook in (False, True):
        ours = W.build_weights(g, "rook" if rook else "queen")
        ref = graph.Graph.build_contiguity(g.reset_index(drop=True), rook=rook, strict=True)
        ref_sparse = ref.sparse.tocsr()
        assert (ours.neighbours != (ref_sparse > 0).astype(np.int8)).nnz == 0


@pytest.mark.peers
def test_knn_and_band_equal_libpysal():
    import libpysal.weights as weights
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, size=(80, 2))
    pts = gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in xy], crs="EPSG:25833")
    ours = W.build_weights(pts, "knn", k=5)
    ref = weights.KNN(xy, k=5)
    assert neighbours(ours) == [sorted(ref.neighbors[i]) for i in range(80)]
    ours = W.build_weights(pts, "distance", threshold=150)
    ref = weights.DistanceBand(xy, threshold=150, binary=True, silence_warnings=True)
    assert neighbours(ours) == [sorted(ref.neighbors[i]) for i in range(80)]
