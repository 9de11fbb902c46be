"""``overlap_table``: every overlap of two polygon sets, against a per-pair reference.

On shapely 2 the table is built from box candidates, prepared covers and intersections on
several threads (``core.overlay._spatial.overlaps_shapely2``); on shapely 1.8 by a predicate
query and pairwise intersection. Both must give the pairs and areas of the plain definition.
"""
import os

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from kommunalmonitor.core.overlay import _spatial
from kommunalmonitor.core.overlay.weights import overlap_table


def _reference(a, b):
    """Pairs and areas by the definition: intersection area of every pair, zero left out."""
    pairs = []
    tree = b.sindex
    for i, geometry in enumerate(a.geometry.values):
        for j in sorted(tree.intersection(geometry.bounds)):
            area = geometry.intersection(b.geometry.values[j]).area
            if area > 0:
                pairs.append((i, j, area))
    pairs = np.array(pairs, dtype=[("i", "i8"), ("j", "i8"), ("area", "f8")])
    return pairs["i"], pairs["j"], pairs["area"]


def test_hand_case_inside_straddling_touching_outside():
    areas = gpd.GeoSeries([box(0, 0, 10, 10), box(10, 0, 20, 10)])
    blocks = gpd.GeoSeries([box(1, 1, 3, 3),      # inside area 0: taken whole
                            box(8, 2, 12, 4),     # 2 × 2 in each area
                            box(20, 0, 21, 1),    # touches area 1 only: no overlap
                            box(30, 30, 31, 31),  # outside both
                            box(9, 9, 10, 10)])   # inside area 0, its edges on area 0's
    ia, ib, area, pieces = overlap_table(blocks, areas, keep_geometry=True)
    assert ia.tolist() == [0, 1, 1, 4] and ib.tolist() == [0, 0, 1, 0]
    assert area.tolist() == [4.0, 4.0, 4.0, 1.0]
    assert [p.bounds for p in pieces] == [(1, 1, 3, 3), (8, 2, 10, 4), (10, 2, 12, 4), (9, 9, 10, 10)]


@pytest.fixture(scope="module")
def blocks_and_plr(berlin_dir):
    """The 12,309 Berlin blocks (repaired, in the PLR's CRS) and the 542 PLR."""
    from kommunalmonitor.core.geometry_arrays import reproject
    from kommunalmonitor.core.geometry_repair import repair_series

    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    blocks = reproject(blocks, plr.crs)
    geometry = repair_series(blocks.geometry)[0]
    return gpd.GeoSeries(geometry.values, crs=plr.crs), plr.geometry


def test_thread_budget_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as in Dask's workers
    assert _spatial._thread_budget() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert _spatial._thread_budget() >= 1


def test_berlin_blocks_on_plr_match_the_per_pair_definition(blocks_and_plr, monkeypatch):
    blocks, plr = blocks_and_plr
    # several threads even on a small machine: the result must not depend on the split
    monkeypatch.setattr(_spatial, "PAIRS_PER_THREAD", 100)
    monkeypatch.setattr(_spatial, "_thread_budget", lambda: 4)
    ia, ib, area, _ = overlap_table(blocks, plr)
    ri, rj, rarea = _reference(blocks, plr)
    assert len(ia) == len(ri) > 15000
    assert np.array_equal(ia, ri) and np.array_equal(ib, rj)
    np.testing.assert_allclose(area, rarea, rtol=1e-9, atol=1e-6)
    monkeypatch.setattr(_spatial, "PAIRS_PER_THREAD", 10 ** 9)
    one = overlap_table(blocks, plr)
    assert np.array_equal(one[0], ia) and np.array_equal(one[1], ib) and np.array_equal(one[2], area)
