"""The one shared repair of invalid polygons (``core.geometry_repair``): a bow tie keeps both
lobes (hand-computed areas), the warning names the features by id with the area before and
after, and every core function that reads polygons gives the same result on the bow tie as
on its repaired version. Runs on both stacks."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from kommunalmonitor.core import i18n
from kommunalmonitor.core.aggregate import aggregate_to_areas
from kommunalmonitor.core.feedback import KeptFeedback
from kommunalmonitor.core.geometry_repair import make_valid_polygonal, repair_geometries
from kommunalmonitor.core.overlay.accessibility import accessibility
from kommunalmonitor.core.overlay.grid import GridOptions, grid_to_areas
from kommunalmonitor.core.overlay.interpolate import area_interpolate
from kommunalmonitor.core.overlay.points import points_to_areas
from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

CRS = "EPSG:25833"
# Edges (0,0)-(10,10) and (10,0)-(0,20) cross at (20/3, 20/3): a left lobe of 200/3 m² and a
# right lobe of 50/3 m², 250/3 m² in all. The rings run opposite ways, so the signed area
# GEOS reports for the stored polygon is 200/3 - 50/3 = 50 m²; buffer(0) keeps one lobe only.
BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 20), (0, 0)])
LEFT, RIGHT, WHOLE = 200 / 3, 50 / 3, 250 / 3


Log = KeptFeedback  # keeps infos and warnings


def _areas(geoms, ids, name="Planungsräume", **fields):
    frame = gpd.GeoDataFrame({"plr_id": ids, **fields}, geometry=geoms, crs=CRS)
    frame.index = pd.Index(np.arange(len(ids)) + 11, name="fid")  # QGIS feature ids
    frame.attrs["layer_name"] = name
    return frame


def _repaired(frame):
    return repair_geometries(frame)


def test_bow_tie_keeps_both_lobes_where_buffer0_drops_one():
    assert not BOWTIE.is_valid and BOWTIE.area == pytest.approx(50.0)
    assert BOWTIE.buffer(0).area in (pytest.approx(LEFT), pytest.approx(RIGHT))  # why not buffer(0)
    fixed = make_valid_polygonal(BOWTIE)
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(WHOLE)
    assert sorted(g.area for g in fixed.geoms) == [pytest.approx(RIGHT), pytest.approx(LEFT)]
    # a ring touching itself: MakeValid may add a line, polygons stay polygons
    touching = Polygon([(0, 0), (4, 0), (4, 4), (2, 0), (0, 4), (0, 0)])
    assert make_valid_polygonal(touching).geom_type in ("Polygon", "MultiPolygon")
    assert make_valid_polygonal(box(0, 0, 1, 1)).equals(box(0, 0, 1, 1))
    assert make_valid_polygonal(None) is None


def test_warning_names_ids_and_areas_and_input_unchanged():
    frame = _areas([box(20, 0, 30, 10), BOWTIE, None], ["A", "B", "C"])
    log = Log()
    out = repair_geometries(frame, id_field="plr_id", feedback=log)
    assert out.geometry.iloc[1].area == pytest.approx(WHOLE)
    assert out.geometry.iloc[0].equals(box(20, 0, 30, 10)) and out.geometry.iloc[2] is None
    assert out.attrs["repaired_features"] == ["B"] and out.attrs["layer_name"] == "Planungsräume"
    assert not frame.geometry.iloc[1].is_valid  # input untouched
    (text,) = log.warnings
    for part in ("'Planungsräume'", "1 invalid", "plr_id 'B'", "50.0 m²", "83.3 m²"):
        assert part in text, (part, text)
    # without an id field the QGIS feature id names it, never the row number
    log = Log()
    repair_geometries(frame, feedback=log)
    assert "feature id(s) 12" in log.warnings[0]
    with i18n.language("de"):
        log = Log()
        repair_geometries(frame, id_field="plr_id", feedback=log)
        assert "83,3 m²" in log.warnings[0] and "repariert" in log.warnings[0]
    # nothing to repair: the same frame, no message
    log = Log()
    assert repair_geometries(_repaired(frame), feedback=log) is not None and not log.warnings


def test_aggregation_on_bow_tie_equals_its_repaired_version():
    # blocks: the bow tie (100 residents) and a square; areas split at x = 5: most of the bow
    # tie (the whole left lobe, 200/3 m², plus part of the right) lies in 'W'
    blocks = _areas([BOWTIE, box(6, 0, 10, 4)], ["b1", "b2"], name="Blöcke", Einwohner=[100, 7])
    areas = _areas([box(0, 0, 5, 20), box(5, 0, 10, 20)], ["W", "E"])
    log = Log()
    result = aggregate_to_areas(blocks, areas, "plr_id", ["Einwohner"], feedback=log)
    reference = aggregate_to_areas(_repaired(blocks), areas, "plr_id", ["Einwohner"])
    got = result.areas.set_index("plr_id")["Einwohner"].astype(float)
    assert got.to_dict() == {"W": 100.0, "E": 7.0}
    pd.testing.assert_frame_equal(pd.DataFrame(result.areas.drop(columns="geometry")),
                                  pd.DataFrame(reference.areas.drop(columns="geometry")))
    assert any("'Blöcke'" in w and "feature id(s) 11" in w for w in log.warnings), log.warnings


def test_area_interpolation_keeps_both_lobes():
    # residents spread by area over both lobes: the right lobe (50/3 of 250/3 m²) lies in 'E'
    sources = _areas([BOWTIE], ["s"], name="Quellen", Einwohner=[250.0])
    targets = _areas([box(0, 0, 6, 20), box(6, 0, 12, 20)], ["W", "E"])
    log = Log()
    out, _ = area_interpolate(sources, targets, extensive=["Einwohner"], target_id="plr_id", feedback=log)
    ref, _ = area_interpolate(_repaired(sources), targets, extensive=["Einwohner"], target_id="plr_id")
    got = out.set_index("plr_id")["Einwohner"]
    assert got.sum() == pytest.approx(250.0)
    # the part of the bow tie east of x = 6: the right lobe plus the sliver of the left lobe
    east = make_valid_polygonal(BOWTIE).intersection(box(6, 0, 12, 20)).area
    assert got["E"] == pytest.approx(250.0 * east / WHOLE)
    assert got.to_dict() == pytest.approx(ref.set_index("plr_id")["Einwohner"].to_dict())
    assert any("'Quellen'" in w and "83.3" in w for w in log.warnings), log.warnings


def test_zonal_statistics_bow_tie_equals_repaired_version():
    # 1 m cells over 0..10 x 0..20, value = column index (0..9): the lobes cover different columns
    raster = np.tile(np.arange(10, dtype="float64"), (20, 1))
    transform = (1.0, 0.0, 0.0, 0.0, -1.0, 20.0)
    zones = _areas([BOWTIE, box(0, 0, 2, 2)], ["B", "Q"])
    log = Log()
    kwargs = dict(stats=("count", "sum", "mean"), options=ZonalOptions(transform=transform, crs=CRS),
                  id_field="plr_id")
    got, _ = zonal_statistics(zones, raster, feedback=log, **kwargs)
    ref, _ = zonal_statistics(_repaired(zones), raster, **kwargs)
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(ref))
    assert got.filter(like="count").iloc[0, 0] == pytest.approx(WHOLE)  # coverage-weighted cell count
    assert any("plr_id 'B'" in w for w in log.warnings), log.warnings


def test_points_grid_and_accessibility_read_the_bow_tie_like_its_repair():
    areas = _areas([BOWTIE, box(20, 0, 30, 20)], ["B", "R"])
    # a point in each lobe and one in the other area
    points = gpd.GeoDataFrame({"Plätze": [10, 20, 5]},
                              geometry=[Point(2, 8), Point(9, 5), Point(25, 5)], crs=CRS)
    got, _ = points_to_areas(points, areas, area_id="plr_id", capacity_fields=["Plätze"])
    ref, _ = points_to_areas(points, _repaired(areas), area_id="plr_id", capacity_fields=["Plätze"])
    assert got.set_index("plr_id")["Plätze"].to_dict() == {"B": 30, "R": 5}
    assert got.set_index("plr_id")["Plätze"].to_dict() == ref.set_index("plr_id")["Plätze"].to_dict()

    # a 10 m grid cell (0..10, 0..10) with 90 residents: the bow tie covers 25 + 50/3 m² of it
    cells = pd.DataFrame({"x_mp": [5.0], "y_mp": [5.0], "Einwohner": [90.0]})
    kwargs = dict(options=GridOptions(x="x_mp", y="y_mp", cell_size=10.0, crs=CRS), target_id="plr_id")
    got, _ = grid_to_areas(cells, areas, ["Einwohner"], **kwargs)
    ref, _ = grid_to_areas(cells, _repaired(areas), ["Einwohner"], **kwargs)
    cell_part = make_valid_polygonal(BOWTIE).intersection(box(0, 0, 10, 10)).area
    assert got.set_index("plr_id")["Einwohner"]["B"] == pytest.approx(90.0 * cell_part / 100.0)
    assert got.set_index("plr_id")["Einwohner"].to_dict() == \
        pytest.approx(ref.set_index("plr_id")["Einwohner"].to_dict())

    residences = gpd.GeoDataFrame({"Einwohner": [100, 50]}, geometry=[Point(9, 5), Point(25, 5)], crs=CRS)
    facilities = gpd.GeoDataFrame({"Plätze": [10]}, geometry=[Point(2, 8)], crs=CRS)
    got = accessibility(residences, facilities, "Einwohner", areas=areas, area_id="plr_id")
    ref = accessibility(residences, facilities, "Einwohner", areas=_repaired(areas), area_id="plr_id")
    a, b = got[1], ref[1]
    assert a.set_index("plr_id")["population"].to_dict() == {"B": 100, "R": 50}
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert isinstance(make_valid_polygonal(MultiPolygon([box(0, 0, 1, 1)])), MultiPolygon)


def test_zonal_population_weights_from_a_bow_tie_block():
    # residents of a bow-tie block spread over both lobes: the weighted mean of the column
    # values over a zone covering everything equals the mean over the repaired block
    raster = np.tile(np.arange(10, dtype="float64"), (20, 1))
    transform = (1.0, 0.0, 0.0, 0.0, -1.0, 20.0)
    zones = _areas([box(0, 0, 10, 20)], ["Z"])
    blocks = _areas([BOWTIE], ["b"], name="Blöcke", pop=[300.0])
    log = Log()
    kwargs = dict(stats=("weighted_mean",), options=ZonalOptions(transform=transform, crs=CRS),
                  id_field="plr_id", weights_field="pop")
    got, _ = zonal_statistics(zones, raster, weights=blocks, feedback=log, **kwargs)
    ref, _ = zonal_statistics(zones, raster, weights=_repaired(blocks), **kwargs)
    value = got.filter(like="weighted_mean").iloc[0, 0]
    assert value == pytest.approx(ref.filter(like="weighted_mean").iloc[0, 0])
    # by hand: the mean x-cell value under the repaired block, weighted by its area per cell
    fixed = make_valid_polygonal(BOWTIE)
    cells = [(c, fixed.intersection(box(c, r, c + 1, r + 1)).area) for c in range(10) for r in range(20)]
    assert value == pytest.approx(sum(c * a for c, a in cells) / sum(a for _, a in cells))
    assert any("'Blöcke'" in w for w in log.warnings), log.warnings
