"""Grid → areas: hand-computed cells, exact boundary split, secret values, Berlin Zensus."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.overlay import grid as g

CRS = "EPSG:3035"


def _table():
    # four 100 m cells: centres (50,50) (150,50) (50,150) (150,150)
    return pd.DataFrame({"x_mp_100m": [50, 150, 50, 150], "y_mp_100m": [50, 50, 150, 150],
                         "n": ["10", "–", "-1", "40"], "m": [1.0, 2.0, np.nan, 4.0]})


def test_hand_case_split_and_secret_cells():
    # target covers the left cells fully and the right cells by a quarter
    target = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 125, 200)], crs=CRS)
    out, diag = g.grid_to_areas(_table(), target, ["n", "m"], target_id="id")
    assert diag["cell_size"] == 100.0
    assert out["n"].iloc[0] == pytest.approx(10 + 0.25 * 40)
    assert out["n_secret"].iloc[0] == pytest.approx(1 + 0.25)  # '-1' cell inside, '–' cell by a quarter
    assert out["m"].iloc[0] == pytest.approx(1 + 0.25 * 2 + 0.25 * 4)
    assert out["m_secret"].iloc[0] == pytest.approx(1.0)
    assert out["cells"].iloc[0] == pytest.approx(2.5)
    assert out["covered_share"].iloc[0] == pytest.approx(1.0)
    d = diag["fields"]["n"]
    assert d["total_in"] == 50 and d["secret_cells"] == 2
    assert d["total_assigned"] == pytest.approx(20.0)
    assert d["total_outside"] == pytest.approx(30.0)


def test_all_secret_areas_are_empty_and_overlaps_refused():
    from kommunalmonitor.core.feedback import Feedback

    # two areas: W holds only the secret cells (x 0..100), E the known ones (x 100..200)
    table = pd.DataFrame({"x_mp_100m": [50, 150, 50, 150], "y_mp_100m": [50, 50, 150, 150],
                          "n": ["-1", "10", "–", "40"]})
    areas = gpd.GeoDataFrame({"id": ["W", "E", "N"]}, geometry=[box(0, 0, 100, 200), box(100, 0, 200, 200),
                                                               box(0, 300, 100, 400)], crs=CRS)
    messages = []
    out, diag = g.grid_to_areas(table, areas, ["n"], target_id="id",
                                feedback=Feedback(on_warning=messages.append))
    assert np.isnan(out["n"].iloc[0]) and out["n_secret"].iloc[0] == pytest.approx(2.0)
    assert out["n"].iloc[1] == pytest.approx(50.0)
    assert out["n"].iloc[2] == 0.0 and out["covered_share"].iloc[2] == 0.0  # nothing listed there
    assert diag["fields"]["n"]["areas_all_secret"] == 1 and diag["areas_without_cells"] == 1
    assert any("NULL" in m for m in messages) and any("no cell listed" in m for m in messages)
    overlapping = areas.set_geometry([box(0, 0, 130, 200), box(100, 0, 200, 200), box(0, 300, 100, 400)])
    with pytest.raises(InputError, match="Areas 'W' and 'E' .* overlap"):
        g.grid_to_areas(table, overlapping, ["n"], target_id="id")


def test_target_larger_than_grid_reports_coverage():
    target = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 400, 200)], crs=CRS)
    out, _ = g.grid_to_areas(_table(), target, ["m"])
    assert out["covered_share"].iloc[0] == pytest.approx(0.5)
    assert out["m"].iloc[0] == pytest.approx(7.0)


def test_targets_in_other_crs_are_reprojected_for_the_overlay():
    target = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 200, 200)], crs=CRS).to_crs("EPSG:25833")
    out, _ = g.grid_to_areas(_table(), target, ["m"])
    assert out["m"].iloc[0] == pytest.approx(7.0, rel=1e-4)  # round trip bends the edges slightly
    assert out.crs == target.crs  # result keeps the areas' own geometry


def test_column_and_cell_size_detection():
    assert g.detect_columns(pd.DataFrame(columns=["einwohner", "x_mp_1km", "y_mp_1km"])) == ("x_mp_1km", "y_mp_1km")
    assert g.detect_cell_size([0, 1000], [0, 0], "x_mp_1km") == 1000.0
    assert g.detect_cell_size([50, 150, 350], [50, 50, 50]) == 100.0
    with pytest.raises(InputError, match="cell-centre columns"):
        g.detect_columns(pd.DataFrame(columns=["a", "b"]))


def test_grid_polygons_and_points_are_accepted():
    t = _table()
    polys = gpd.GeoDataFrame({"m": t["m"]}, geometry=[box(x - 50, y - 50, x + 50, y + 50)
                                                      for x, y in zip(t.x_mp_100m, t.y_mp_100m)], crs=CRS)
    target = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 125, 200)], crs=CRS)
    a, _ = g.grid_to_areas(polys, target, ["m"])
    pts = gpd.GeoDataFrame({"m": t["m"]}, geometry=gpd.points_from_xy(t.x_mp_100m, t.y_mp_100m), crs=CRS)
    b, _ = g.grid_to_areas(pts, target, ["m"], g.GridOptions(cell_size=100))
    assert a["m"].iloc[0] == pytest.approx(2.5) and b["m"].iloc[0] == pytest.approx(2.5)
    assert g.detect_regular_grid(polys)["cell_size"] == 100.0
    assert g.detect_regular_grid(polys.set_geometry([box(0, 0, 1, 2)] * 4)) is None


def test_clamped_area_matches_shapely_with_holes_and_concave_shapes():
    rng = np.random.default_rng(3)
    for _ in range(30):
        # random star-shaped (concave) polygon with a hole
        angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
        radii = rng.uniform(60, 250, 12)
        shell = np.column_stack([300 + radii * np.cos(angles), 300 + radii * np.sin(angles)])
        hole = [(280, 280), (320, 280), (320, 320), (280, 320)]
        poly = Polygon(shell, [hole]).buffer(0)
        ax, ay, bx, by, owner = g._ring_edges([poly])
        for _ in range(10):
            x0, y0 = rng.uniform(0, 550, 2)
            cell = box(x0, y0, x0 + 100, y0 + 100)
            ours = g._clamped_area(np.full(len(ax), x0), np.full(len(ax), y0), np.full(len(ax), x0 + 100),
                                   np.full(len(ax), y0 + 100), ax, ay, bx, by).sum()
            assert ours == pytest.approx(cell.intersection(poly).area, abs=1e-7)


def test_bad_input():
    target = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 200, 200)], crs=CRS)
    with pytest.raises(InputError, match="not numeric"):
        g.grid_to_areas(_table().assign(n=["1", "abc", "2", "3"]), target, ["n"])
    with pytest.raises(InputError, match="more than once"):
        g.grid_to_areas(pd.concat([_table(), _table()]), target, ["m"])
    with pytest.raises(InputError, match="regular grid"):
        g.grid_to_areas(_table().assign(x_mp_100m=[50, 160, 50, 150]), target, ["m"],
                        g.GridOptions(cell_size=100))
    far = gpd.GeoDataFrame({"id": [1]}, geometry=[box(10000, 10000, 10200, 10200)], crs=CRS)
    with pytest.raises(InputError, match="No cell"):
        g.grid_to_areas(_table(), far, ["m"])
    with pytest.raises(InputError, match="duplicate"):
        g.grid_to_areas(_table(), pd.concat([target, target]).pipe(gpd.GeoDataFrame), ["m"], target_id="id")


@pytest.fixture(scope="module")
def plr(berlin_dir):
    return gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))


def test_zensus2011_1km_onto_542_plr(berlin_dir, plr):
    table = pd.read_csv(os.path.join(berlin_dir, "zensus2011_1km_einwohner_berlin.csv"), sep=";")
    out, diag = g.grid_to_areas(table, plr, ["einwohner"], g.GridOptions(base_field="einwohner"),
                                target_id="PLR_ID")
    d = diag["fields"]["einwohner"]
    assert diag["cell_size"] == 1000.0 and len(out) == 542
    assert d["secret_cells"] == int((table["einwohner"] == -1).sum()) == 301
    assert d["total_in"] == pytest.approx(table.loc[table.einwohner >= 0, "einwohner"].sum())
    assert d["total_assigned"] + d["total_outside"] == pytest.approx(d["total_in"], rel=1e-12)
    # Zensus 2011 counted 3,292,365 residents in Berlin; 1 km cells split across the border
    # and secret cells make our sum a little smaller, never larger
    assert 0.97 * 3292365 < d["total_assigned"] < 3292365
    assert out["covered_share"].min() > 0.99


def test_zensus2022_100m_children_onto_plr(berlin_dir, plr):
    table = pd.read_csv(os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv"), sep=";")
    out, diag = g.grid_to_areas(table, plr, ["alter_unter10"], target_id="PLR_ID")
    d = diag["fields"]["alter_unter10"]
    assert d["total_assigned"] + d["total_outside"] == pytest.approx(d["total_in"], rel=1e-12)
    assert d["secret_cells"] == int(table["alter_unter10"].isna().sum())
    # independent reference: every cell intersected with every PLR by GEOS (a sample of cells)
    sample = table.sample(1500, random_state=1)
    res, _ = g.grid_to_areas(sample, plr, ["alter_unter10"], target_id="PLR_ID")
    cells = gpd.GeoDataFrame({"v": pd.to_numeric(sample["alter_unter10"]).fillna(0).to_numpy()},
                             geometry=[box(x - 50, y - 50, x + 50, y + 50)
                                       for x, y in zip(sample.x_mp_100m, sample.y_mp_100m)], crs=CRS)
    target = plr.to_crs(CRS)
    ref = np.zeros(len(target))
    hits = gpd.sjoin(cells, target[["geometry"]], predicate="intersects")
    for ci, ti in zip(hits.index, hits["index_right"]):
        ref[ti] += cells.at[ci, "v"] * cells.geometry[ci].intersection(target.geometry[ti]).area / 1e4
    # areas whose sampled cells are all secret are empty (NULL), the reference counts them 0
    empty = res["alter_unter10"].isna().to_numpy()
    assert (res["alter_unter10_secret"].to_numpy()[empty] > 0).all() and (ref[empty] == 0).all()
    np.testing.assert_allclose(res["alter_unter10"].to_numpy()[~empty], ref[~empty], rtol=1e-9, atol=1e-9)
    # plausibility against the published residents per PLR (under 6 + 6–15, 2022)
    pub = pd.read_csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), sep=";",
                      dtype={"PLR-ID": str}, encoding="utf-8-sig", na_values=["–"])
    kids = pub.set_index("PLR-ID")["unter6"] + pub.set_index("PLR-ID")["6-15"] * 4 / 9
    joined = out.set_index("PLR_ID")["alter_unter10"].to_frame().join(kids.rename("pub")).dropna()
    assert np.corrcoef(joined["alter_unter10"], joined["pub"])[0, 1] > 0.85  # suppression (<3) undercounts small cells


@pytest.mark.peers
def test_zensus2022_matches_tobler(berlin_dir, plr):
    import tobler.area_weighted

    table = pd.read_csv(os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv"), sep=";")
    out, _ = g.grid_to_areas(table, plr, ["alter_unter10"], target_id="PLR_ID")
    cells = gpd.GeoDataFrame({"v": pd.to_numeric(table["alter_unter10"]).fillna(0)},
                             geometry=g.boxes(table.x_mp_100m - 50, table.y_mp_100m - 50,
                                              table.x_mp_100m + 50, table.y_mp_100m + 50).values, crs=CRS)
    ref = tobler.area_weighted.area_interpolate(cells, plr.to_crs(CRS), extensive_variables=["v"],
                                                allocate_total=False)
    np.testing.assert_allclose(out["alter_unter10"].to_numpy(), ref["v"].to_numpy(), rtol=1e-6, atol=1e-3)
    assert out["alter_unter10"].sum() == pytest.approx(ref["v"].sum(), rel=1e-9)


def test_boundary_cells_split_by_ancillary_weight():
    # two areas split the cells at x = 125; residential block only at x in [130, 200]
    areas = gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[box(0, 0, 125, 200), box(125, 0, 200, 200)], crs=CRS)
    blocks = gpd.GeoDataFrame({"dw": [1.0]}, geometry=[box(130, 0, 200, 200)], crs=CRS)
    out, _ = g.grid_to_areas(_table(), areas, ["m"], ancillary=blocks)
    # right-hand cells (m = 2 and 4) go wholly to E; the left cells lie wholly in W
    assert out["m"].tolist() == pytest.approx([1.0, 6.0])
    assert out["cells"].tolist() == pytest.approx([2.5, 1.5])  # geometric shares stay geometric
    plain, _ = g.grid_to_areas(_table(), areas, ["m"])
    assert plain["m"].tolist() == pytest.approx([1.0 + 0.25 * 6, 0.75 * 6])


def test_grid_detection_finds_cells_and_rejects_non_squares():
    t = _table()
    polys = gpd.GeoDataFrame({"m": t["m"]}, geometry=[box(x - 50, y - 50, x + 50, y + 50)
                                                      for x, y in zip(t.x_mp_100m, t.y_mp_100m)], crs=CRS)
    found = g.detect_regular_grid(polys)
    np.testing.assert_allclose(found["x"], t.x_mp_100m)
    np.testing.assert_allclose(found["y"], t.y_mp_100m)
    assert found["cell_size"] == 100.0
    # same bounds as a cell but not filling them, off the lattice, or not all the same size
    diamond = Polygon([(0, 50), (50, 0), (100, 50), (50, 100)])
    assert g.detect_regular_grid(polys.set_geometry([diamond] * 4)) is None
    shifted = list(polys.geometry)
    shifted[1] = box(100 + 13, 0, 200 + 13, 100)
    assert g.detect_regular_grid(polys.set_geometry(shifted)) is None
    bigger = list(polys.geometry)
    bigger[2] = box(0, 100, 120, 220)
    assert g.detect_regular_grid(polys.set_geometry(bigger)) is None
    holed = list(polys.geometry)
    holed[3] = box(100, 100, 200, 200).difference(box(140, 140, 160, 160))
    assert g.detect_regular_grid(polys.set_geometry(holed)) is None


def test_settings_come_as_one_options_object():
    """The reading settings are one GridOptions; an old positional x column or keyword is refused."""
    target = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 125, 200)], crs=CRS)
    plain, _ = g.grid_to_areas(_table(), target, ["m"])
    same, _ = g.grid_to_areas(_table(), target, ["m"],
                              g.GridOptions(x="x_mp_100m", y="y_mp_100m", cell_size=100))
    pd.testing.assert_frame_equal(plain, same)
    with pytest.raises(TypeError, match="GridOptions"):
        g.grid_to_areas(_table(), target, ["m"], "x_mp_100m")
    with pytest.raises(TypeError, match="cell_size"):
        g.grid_to_areas(_table(), target, ["m"], cell_size=100)
