"""Polygon → polygon transfer: hand-computed cases, Berlin blocks → PLR, tobler (current stack)."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.overlay.interpolate import InterpolationOptions, area_interpolate

CRS = "EPSG:25833"


def _sources():
    # A = [0,2]x[0,2] (area 4), B = [2,5]x[0,2] (area 6): not a regular grid
    return gpd.GeoDataFrame({"pop": [100.0, 60.0], "kids": [10.0, 30.0], "r": [10.0, 40.0]},
                            geometry=[box(0, 0, 2, 2), box(2, 0, 5, 2)], crs=CRS)


def _targets():
    return gpd.GeoDataFrame({"id": ["T1", "T2"]}, geometry=[box(0, 0, 3, 2), box(3, 0, 6, 2)], crs=CRS)


def test_extensive_split_by_area_and_coverage():
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"], target_id="id")
    assert out["pop"].tolist() == pytest.approx([120.0, 40.0])
    assert out["covered_share"].tolist() == pytest.approx([1.0, 4.0 / 6.0])
    d = diag["fields"]["pop"]
    assert d["total_in"] == pytest.approx(160.0)
    assert d["total_assigned"] == pytest.approx(160.0)
    assert d["total_outside"] == pytest.approx(0.0)
    assert diag["sources_split"] == 1


def test_part_outside_is_reported_not_spread():
    targets = _targets().iloc[[0]]
    out, diag = area_interpolate(_sources(), targets, extensive=["pop"])
    assert out["pop"].tolist() == pytest.approx([120.0])
    assert diag["fields"]["pop"]["total_outside"] == pytest.approx(40.0)
    assert diag["sources_partly_outside"] == 1


def test_intensive_by_area_and_by_population_weight():
    out, _ = area_interpolate(_sources(), _targets(), intensive=["r"])
    assert out["r"].tolist() == pytest.approx([(10 * 4 + 40 * 2) / 6.0, 40.0])
    out, _ = area_interpolate(_sources(), _targets(), intensive=["r"],
                              options=InterpolationOptions(weight_field="pop"))
    assert out["r"].iloc[0] == pytest.approx((10 * 100 + 40 * 20) / 120.0)
    assert out["r_weight"].tolist() == pytest.approx([120.0, 40.0])


def test_rate_rebuilt_from_counts_with_base_and_flag():
    out, _ = area_interpolate(_sources(), _targets(), extensive=["pop"],
                              rates=[("kid_share", "kids", "pop", 100, 50)],
                              options=InterpolationOptions(base_field="pop", min_base=100))
    assert out["kid_share_num"].tolist() == pytest.approx([20.0, 20.0])
    assert out["kid_share_den"].tolist() == pytest.approx([120.0, 40.0])
    assert out["kid_share"].tolist() == pytest.approx([100 * 20 / 120.0, 50.0])
    assert out["kid_share_small"].tolist() == [False, True]
    assert out["small_base"].tolist() == [False, True]


def test_dasymetric_keeps_people_out_of_parks():
    # only [0,1]x[0,2] of A and [4,5]x[0,2] of B are residential
    anc = gpd.GeoDataFrame({"dw": [1.0, 1.0]}, geometry=[box(0, 0, 1, 2), box(4, 0, 5, 2)], crs=CRS)
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"], ancillary=anc)
    assert out["pop"].tolist() == pytest.approx([100.0, 60.0])
    assert diag["dasymetric_fallback"] == 0
    # ancillary density field: B has two residential blocks in T1 and T2 with 1 and 3 dwellings
    anc2 = gpd.GeoDataFrame({"dw": [1.0, 3.0]}, geometry=[box(2, 0, 3, 2), box(3, 0, 4, 2)], crs=CRS)
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"], ancillary=anc2,
                                 options=InterpolationOptions(ancillary_field="dw"))
    # A has no ancillary: falls back to area (all 100 in T1); B split 1:3
    assert out["pop"].tolist() == pytest.approx([100.0 + 15.0, 45.0])
    assert diag["dasymetric_fallback"] == 1


def test_null_values_are_left_out_and_counted():
    src = _sources()
    src.loc[0, "pop"] = np.nan
    out, diag = area_interpolate(src, _targets(), extensive=["pop"])
    assert out["pop"].tolist() == pytest.approx([20.0, 40.0])
    assert diag["fields"]["pop"]["missing_values"] == 1
    assert src["pop"].isna().sum() == 1  # input untouched


def test_regular_grid_sources_use_grid_engine_with_same_result():
    cells = gpd.GeoDataFrame({"pop": [1.0, 2.0, 3.0, 4.0]},
                             geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)],
                             crs=CRS)
    target = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0.5, 0, 2, 2)], crs=CRS)
    out, diag = area_interpolate(cells, target, extensive=["pop"])
    assert diag["engine"] == "grid"
    assert out["pop"].iloc[0] == pytest.approx(0.5 * 1 + 2 + 0.5 * 3 + 4)
    assert diag["fields"]["pop"]["total_outside"] == pytest.approx(2.0)


@pytest.mark.parametrize("case", ["crs", "overlap", "numeric", "duplicate", "geographic", "nofield"])
def test_bad_input_gives_clear_message(case):
    src, tgt = _sources(), _targets()
    kwargs = {"extensive": ["pop"]}
    if case == "crs":
        tgt = tgt.set_crs("EPSG:25832", allow_override=True)
        match = "different coordinate"
    elif case == "overlap":
        tgt = gpd.GeoDataFrame({"id": ["x"]}, geometry=[box(100, 100, 101, 101)], crs=CRS)
        match = "overlaps"
    elif case == "numeric":
        src["pop"] = ["a", "b"]
        match = "not numeric"
    elif case == "duplicate":
        tgt["id"] = ["T1", "T1"]
        kwargs["target_id"] = "id"
        match = "duplicate"
    elif case == "geographic":
        src = src.set_crs("EPSG:4326", allow_override=True)
        match = "geographic"
    else:
        kwargs = {"extensive": ["nope"]}
        match = "no field"
    with pytest.raises(InputError, match=match):
        area_interpolate(src, tgt, **kwargs)


def _blocks_and_plr(berlin_dir, district):
    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = blocks.to_crs(plr.crs)
    blocks = blocks[blocks["BEZIRK"].astype(str).str.lstrip("0") == district].copy()
    rng = np.random.default_rng(7)
    blocks["pop"] = rng.integers(0, 2000, len(blocks)).astype(float)
    plr = plr[plr["PLR_ID"].str[:2].astype(int) == int(district)].copy()
    return blocks, plr


def test_berlin_blocks_onto_plr_conserve_totals(berlin_dir):
    blocks, plr = _blocks_and_plr(berlin_dir, "1")
    out, diag = area_interpolate(blocks, plr, extensive=["pop"], target_id="PLR_ID")
    d = diag["fields"]["pop"]
    assert d["total_in"] == pytest.approx(blocks["pop"].sum(), rel=1e-12)
    assert d["total_assigned"] + d["total_outside"] == pytest.approx(d["total_in"], rel=1e-9)
    # the 2010 blocks and the 2023 PLR of the same district match closely
    assert d["total_outside"] / d["total_in"] < 0.02
    assert diag["repaired_sources"] >= 0
    assert len(out) == len(plr)


@pytest.fixture(scope="module")
def all_blocks_on_plr(berlin_dir):
    """All 12,309 blocks (Soldner) reprojected to the PLR's CRS, with a seeded population."""
    from kommunalmonitor.core.geometry_arrays import reproject

    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks["pop"] = np.random.default_rng(11).integers(0, 2000, len(blocks)).astype(float)
    return reproject(blocks, plr.crs), plr


def test_all_berlin_blocks_onto_the_542_plr(all_blocks_on_plr):
    blocks, plr = all_blocks_on_plr
    out, diag = area_interpolate(blocks, plr, extensive=["pop", "FINHALT"], target_id="PLR_ID")
    assert len(blocks) == 12309 and len(out) == 542
    # no block lost: the one with a vertex on the Soldner origin line is reprojected too
    assert diag["dropped_sources"] == 0 and diag["repaired_sources"] == 2  # the README's 2 invalid
    for field in ("pop", "FINHALT"):
        d = diag["fields"][field]
        assert d["total_in"] == pytest.approx(blocks[field].sum(), rel=1e-12)
        assert d["total_assigned"] + d["total_outside"] == pytest.approx(d["total_in"], rel=1e-9)
        assert d["total_outside"] / d["total_in"] < 0.005  # 2010 blocks vs 2023 PLR: same city
    # FINHALT is each block's area: spread by area it gives the blocks' area inside each PLR,
    # which can never exceed the PLR's own area (blocks leave out streets and water)
    ratio = out["FINHALT"].to_numpy() / plr.area.to_numpy()
    assert ratio.max() < 1.02 and np.median(ratio) > 0.6


@pytest.mark.peers
def test_all_berlin_blocks_match_tobler(all_blocks_on_plr):
    import tobler.area_weighted

    blocks, plr = all_blocks_on_plr
    blocks = blocks[blocks.is_valid]
    out, _ = area_interpolate(blocks, plr, extensive=["pop"], target_id="PLR_ID")
    ref = tobler.area_weighted.area_interpolate(blocks, plr, extensive_variables=["pop"],
                                                allocate_total=False)
    np.testing.assert_allclose(out["pop"].to_numpy(), ref["pop"].to_numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.peers
def test_berlin_blocks_match_tobler(berlin_dir):
    import tobler.area_weighted

    blocks, plr = _blocks_and_plr(berlin_dir, "1")
    blocks = blocks[blocks.is_valid]
    out, _ = area_interpolate(blocks, plr, extensive=["pop"], target_id="PLR_ID")
    ref = tobler.area_weighted.area_interpolate(blocks, plr, extensive_variables=["pop"],
                                                allocate_total=False)
    np.testing.assert_allclose(out["pop"].to_numpy(), ref["pop"].to_numpy(), rtol=1e-6, atol=1e-6)


def test_dasymetric_with_a_population_raster():
    from affine import Affine

    from kommunalmonitor.core.overlay.interpolate import RasterWeights

    # 1 m pixels over [0,6]x[0,2]; people live only in column x in [4,5) (weight 2 per pixel)
    # and in column [0,1) (weight 1 per pixel)
    data = np.zeros((2, 6))
    data[:, 4] = 2.0
    data[:, 0] = 1.0
    raster = RasterWeights(data, Affine(1, 0, 0, 0, -1, 2), crs=CRS)
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"], ancillary=raster)
    # A (pixels in column 0 only) → all in T1; B has pixels only in column 4 → all in T2
    assert out["pop"].tolist() == pytest.approx([100.0, 60.0])
    raster_nothing_in_a = RasterWeights(np.where(np.arange(6) == 4, 2.0, 0.0)[None, :].repeat(2, 0),
                                        Affine(1, 0, 0, 0, -1, 2), crs=CRS)
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"], ancillary=raster_nothing_in_a)
    assert diag["dasymetric_fallback"] == 1
    assert out["pop"].tolist() == pytest.approx([100.0, 60.0])
    # the same raster in a CRS 1,000 m further east: pixel centres are reprojected, same result
    shifted = "+proj=tmerc +lat_0=0 +lon_0=15 +k=0.9996 +x_0=501000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    out, diag = area_interpolate(_sources(), _targets(), extensive=["pop"],
                                 ancillary=RasterWeights(data, Affine(1, 0, 1000, 0, -1, 2), crs=shifted))
    assert out["pop"].tolist() == pytest.approx([100.0, 60.0])
    assert diag["dasymetric_fallback"] == 0
    # a raster somewhere else gives no weight at all: refused, not spread silently by area
    with pytest.raises(InputError, match="no weight"):
        area_interpolate(_sources(), _targets(), extensive=["pop"],
                         ancillary=RasterWeights(data, Affine(1, 0, 5000, 0, -1, 2), crs=CRS))


def test_ancillary_layer_that_misses_the_sources_is_refused():
    blocks_elsewhere = gpd.GeoDataFrame({"dw": [5.0]}, geometry=[box(100, 100, 110, 110)], crs=CRS)
    with pytest.raises(InputError, match="no weight"):
        area_interpolate(_sources(), _targets(), extensive=["pop"], ancillary=blocks_elsewhere,
                         options=InterpolationOptions(ancillary_field="dw"))


def test_overlapping_or_duplicate_areas_are_refused():
    targets = _targets()
    twice = pd.concat([targets, targets.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="overlap"):
        area_interpolate(_sources(), twice, extensive=["pop"])
    # a sliver of overlap is enough when a source lies in it
    grown = targets.copy()
    grown.geometry = [targets.geometry[0].buffer(0.5, join_style=2), targets.geometry[1]]
    with pytest.raises(InputError, match=r"Areas 'T1' and 'T2'"):
        area_interpolate(_sources(), grown, extensive=["pop"], target_id="id")


def test_negative_counts_are_transferred_with_a_warning():
    from kommunalmonitor.core.feedback import Feedback

    sources = _sources()
    sources.loc[0, "pop"] = -1.0
    messages = []
    out, diag = area_interpolate(sources, _targets(), extensive=["pop"],
                                 feedback=Feedback(on_warning=messages.append))
    assert diag["fields"]["pop"]["total_in"] == pytest.approx(sources["pop"].sum())
    assert any("negative" in m and "NULL" in m for m in messages)


def test_geometries_with_infinite_coordinates_are_left_out_or_refused():
    from shapely.geometry import Polygon

    src = _sources()
    broken = Polygon([(0, 0), (1, 0), (float("inf"), 1), (0, 1)])
    src = gpd.GeoDataFrame(src.drop(columns="geometry"), geometry=[src.geometry[0], broken], crs=CRS)
    out, diag = area_interpolate(src, _targets(), extensive=["pop"])
    assert diag["dropped_sources"] == 1
    assert out["pop"].tolist() == pytest.approx([100.0, 0.0])
    tgt = gpd.GeoDataFrame({"id": ["T1"]}, geometry=[broken], crs=CRS)
    with pytest.raises(InputError, match="infinite"):
        area_interpolate(_sources(), tgt, extensive=["pop"])


def test_settings_come_as_one_options_object():
    """The settings are one InterpolationOptions; an old positional weight field or keyword is refused."""
    plain, _ = area_interpolate(_sources(), _targets(), extensive=["pop"], intensive=["r"])
    same, _ = area_interpolate(_sources(), _targets(), extensive=["pop"], intensive=["r"],
                               options=InterpolationOptions())
    pd.testing.assert_frame_equal(plain, same)
    with pytest.raises(TypeError, match="InterpolationOptions"):
        area_interpolate(_sources(), _targets(), ["pop"], ["r"], (), "pop")
    with pytest.raises(TypeError, match="weight_field"):
        area_interpolate(_sources(), _targets(), intensive=["r"], weight_field="pop")
