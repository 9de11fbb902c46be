"""Whole-array bounds and areas equal shapely's own per-geometry values on both stacks."""
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from kommunalmonitor.core import geometry_arrays as ga


def _mixed():
    ring = box(0, 0, 10, 10).difference(box(2, 2, 4, 4))  # with a hole
    multi = MultiPolygon([box(20, 0, 21, 1), box(30, 5, 32, 9)])
    triangle = Polygon([(-5.5, -3.25), (4.0, -1.0), (0.5, 7.75)])
    return gpd.GeoSeries([ring, None, multi, Polygon(), triangle, Point(3, 4),
                          LineString([(0, 0), (3, 4)]), box(1e6, 5e6, 1e6 + 100, 5e6 + 100)])


def _expected(series):
    bounds = np.full((len(series), 4), np.nan)
    areas = np.zeros(len(series))
    for i, geom in enumerate(series.values):
        if geom is not None and not geom.is_empty:
            bounds[i] = geom.bounds
            areas[i] = geom.area
    return bounds, areas


def test_bounds_and_areas_match_shapely_per_geometry():
    series = _mixed()
    bounds, areas = ga.bounds_and_areas(series)
    want_bounds, want_areas = _expected(series)
    np.testing.assert_array_equal(bounds, want_bounds)
    np.testing.assert_array_equal(areas, want_areas)
    assert areas[0] == 96.0 and areas[2] == 9.0  # hand-computed: 100 - 4, 1 + 8


def test_bounds_and_areas_of_a_frame_and_of_nothing():
    frame = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[box(0, 0, 2, 3), box(5, 5, 6, 6)])
    bounds, areas = ga.bounds_and_areas(frame)
    np.testing.assert_array_equal(bounds, [[0, 0, 2, 3], [5, 5, 6, 6]])
    np.testing.assert_array_equal(areas, [6.0, 1.0])
    bounds, areas = ga.bounds_and_areas(gpd.GeoSeries([], dtype="geometry"))
    assert bounds.shape == (0, 4) and areas.shape == (0,)


def test_many_random_polygons_agree_with_the_slow_path():
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 1e5, (2000, 2))
    series = gpd.GeoSeries([Point(x, y).buffer(r, 3) for (x, y), r in zip(centres, rng.uniform(1, 50, 2000))])
    bounds, areas = ga.bounds_and_areas(series)
    want_bounds, want_areas = _expected(series)
    np.testing.assert_array_equal(bounds, want_bounds)
    np.testing.assert_allclose(areas, want_areas, rtol=1e-15)


def test_the_stack_uses_its_fast_path():
    # shapely 2 is vectorised itself; on shapely 1.8 (QGIS 3.22) our GEOS route must load,
    # else 3 M grid cells fall back to the slow per-geometry loop
    assert ga.SHAPELY_2 or ga._geos_functions() is not None


def _shapely_rings(geoms):
    """Reference: rings from shapely's own per-geometry objects."""
    expected = []
    for index, geometry in enumerate(geoms):
        for polygon in ga._polygon_parts(geometry):
            expected.append((index, np.asarray(polygon.exterior.coords)[:, :2], False))
            expected.extend((index, np.asarray(r.coords)[:, :2], True) for r in polygon.interiors)
    return expected


def _ring_cases():
    from shapely import wkt
    from shapely.geometry import GeometryCollection

    return [box(0, 0, 2, 2),
            box(0, 0, 5, 5).difference(box(1, 1, 2, 2)).difference(box(3, 3, 4, 4)),
            None,
            MultiPolygon([box(0, 0, 1, 1), box(2, 2, 4, 4).difference(box(2.5, 2.5, 3, 3))]),
            Point(1, 1),
            wkt.loads("POLYGON Z ((0 0 1, 1 0 2, 1 1 3, 0 0 1))"),
            Polygon(),
            GeometryCollection([LineString([(0, 0), (1, 1)]), box(7, 7, 8, 9)]),
            wkt.loads("MULTIPOLYGON Z (((0 0 1, 1 0 2, 1 1 3, 0 0 1)), ((5 5 0, 6 5 0, 6 6 0, 5 5 0)))")]


def test_polygon_rings_match_shapely_rings():
    geoms = _ring_cases()
    rings = ga.polygon_rings(geoms)
    expected = _shapely_rings(geoms)
    assert len(rings.length) == len(expected) == 11  # 1 + 3 + 3 + 1 + 1 + 2
    assert rings.owner.tolist() == [e[0] for e in expected]
    assert rings.hole.tolist() == [e[2] for e in expected]
    for k, (_, xy, _) in enumerate(expected):
        np.testing.assert_array_equal(rings.xy[rings.start[k]:rings.start[k] + rings.length[k]], xy)
    assert len(rings.point_ring()) == len(rings.xy) == rings.length.sum()


def test_wkb_ring_reader_matches_shapely():
    # the QGIS stack (shapely 1.8) reads rings from WKB; the reader itself runs on any stack
    for geometry in _ring_cases():
        if geometry is None or geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        rings = ga._wkb_rings(geometry.wkb)
        expected = _shapely_rings([geometry])
        assert rings is not None and len(rings) == len(expected)
        for (xy, hole), (_, ref, ref_hole) in zip(rings, expected):
            assert hole == ref_hole and np.array_equal(xy[:, :2], ref)
    assert ga._wkb_rings(Point(0, 0).wkb) is None


def test_reproject_keeps_points_on_the_soldner_origin_line():
    # PROJ maps a point exactly at y = false northing of Cassini-Soldner (EPSG:3068) to inf
    from pyproj import Transformer

    assert not np.isfinite(Transformer.from_crs(3068, 25833, always_xy=True).transform(8237.8, 10000.0)[0])
    block = Polygon([(8200.0, 9990.0), (8237.8, 10000.0), (8300.0, 9990.0), (8300.0, 9950.0), (8200.0, 9950.0)])
    frame = gpd.GeoDataFrame({"id": [7, 8]}, geometry=[block, box(8000, 9000, 8100, 9100)], crs="EPSG:3068")
    out = ga.reproject(frame, "EPSG:25833")
    bounds, areas = ga.bounds_and_areas(out)
    assert np.isfinite(bounds).all() and out["id"].tolist() == [7, 8]
    # the nudged vertex lies within 2 mm of where its neighbours' transform puts that line
    nearby = Transformer.from_crs(3068, 25833, always_xy=True).transform(8237.8, 10000.0005)
    xy = np.asarray(out.geometry.iloc[0].exterior.coords)[1]
    assert np.hypot(xy[0] - nearby[0], xy[1] - nearby[1]) < 2e-3
    assert areas[0] == pytest.approx(block.area, rel=1e-3)  # Soldner and UTM scales differ slightly
    assert frame.geometry.iloc[0].equals(block)  # input untouched
    series = ga.reproject(frame.geometry, "EPSG:25833")
    assert isinstance(series, gpd.GeoSeries) and np.isfinite(ga.bounds_and_areas(series)[0]).all()
