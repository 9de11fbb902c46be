"""Main body and far-away parts of a municipality (for the council map's extent and inset)."""
import geopandas as gpd
from shapely.geometry import MultiPolygon, box

from kommunalmonitor.core.map_extent import main_and_far_parts


def test_island_far_out_goes_into_an_inset_neighbours_stay():
    # a 10 km city of four districts, a small district 2 km beside it, an island 100 km away
    city = [box(0, 0, 5000, 5000), box(5000, 0, 10000, 5000), box(0, 5000, 5000, 10000),
            box(5000, 5000, 10000, 10000), box(11000, 0, 12000, 1000)]
    island = box(100000, 80000, 101000, 81000)
    frame = gpd.GeoDataFrame({"id": list("abcdef")}, geometry=city + [island], crs="EPSG:25832")
    parts = main_and_far_parts(frame)
    assert parts.main == (0, 0, 12000, 10000)
    assert parts.far == [(100000, 80000, 101000, 81000)]
    assert parts.far_rows == [5]


def test_compact_city_has_no_far_parts_and_a_multipart_area_counts_by_its_parts():
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[
        box(0, 0, 10, 10), MultiPolygon([box(10, 0, 20, 10), box(500, 500, 501, 501)])], crs="EPSG:25832")
    parts = main_and_far_parts(frame)
    assert parts.main == (0, 0, 20, 10)
    assert parts.far == [(500, 500, 501, 501)]
    assert parts.far_rows == []  # area 2 also lies in the main body: it is drawn there
    compact = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:25832")
    assert main_and_far_parts(compact).far == []
