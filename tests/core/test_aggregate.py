"""Aggregation of blocks to planning areas: hand-computed cases and the real Berlin LOR hierarchy."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.aggregate import aggregate_to_areas, assign_blocks, parse_rates
from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.i18n import tr


@pytest.fixture
def toy():
    """Two 10 x 10 areas side by side; five blocks, hand-placed."""
    areas = gpd.GeoDataFrame({"plr_id": ["A", "B"], "plr_name": ["Altstadt", "Bahnhof"]},
                             geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:25833")
    blocks = gpd.GeoDataFrame(
        {"pop": [100, 900, 400, 50, 70],
         "unemployed": [10, 9, 40, 5, 7],
         "pop_0_5": [5, 50, 20, 1, 0],
         "pop_6_14": [10, 70, 30, 2, 0],
         "children_transfer": [3, 12, 25, 0, 0]},
        geometry=[box(1, 1, 4, 4),            # inside A
                  box(5, 5, 9, 9),            # inside A
                  box(8, 0, 18, 4),           # 20 % in A, 80 % in B -> B
                  Point(15, 5),               # point in B -> by representative point
                  box(30, 30, 31, 31)],       # outside
        crs="EPSG:25833", index=[11, 12, 13, 14, 15])
    blocks.attrs["layer_name"] = "blocks"
    return blocks, areas


def test_assignment_by_largest_overlap_point_fallback_and_outside(toy):
    blocks, areas = toy
    assignment = assign_blocks(blocks, areas, "plr_id")
    assert list(assignment.index) == [11, 12, 13, 14, 15]
    assert list(assignment["area_id"].iloc[:4]) == ["A", "A", "B", "B"]
    assert pd.isna(assignment["area_id"].iloc[4])
    assert list(assignment["method"]) == ["overlap", "overlap", "overlap", "point", "outside"]
    assert assignment["overlap_share"].iloc[2] == pytest.approx(0.8)
    assert assignment["overlap_share"].iloc[0] == pytest.approx(1.0)


def test_counts_are_summed_and_rates_recomputed_not_averaged(toy):
    blocks, areas = toy
    result = aggregate_to_areas(
        blocks, areas, "plr_id", ["pop"],
        rates="unemployment_rate = unemployed / pop * 100;"
              "child_poverty = children_transfer / (pop_0_5 + pop_6_14)",
        min_base=500)
    out = result.areas.set_index("plr_id")
    assert list(out["pop"]) == [1000, 450]
    assert list(out["unemployed"]) == [19, 45]
    # A: 19 / 1000 = 1.9 % (the mean of the block rates would be 5.5 %)
    assert out.loc["A", "unemployment_rate"] == pytest.approx(1.9)
    assert out.loc["B", "unemployment_rate"] == pytest.approx(100 * 45 / 450)
    assert out.loc["A", "child_poverty"] == pytest.approx(100 * 15 / 135)
    assert out.loc["B", "child_poverty"] == pytest.approx(100 * 25 / 53)
    assert list(out["unemployment_rate_base"]) == [1000, 450]
    assert list(out["unemployment_rate_small"]) == [False, True]
    assert list(out["child_poverty_base"]) == [135, 53]
    assert list(out["n_blocks"]) == [2, 2]
    assert list(out["plr_name"]) == ["Altstadt", "Bahnhof"]
    d = result.diagnostics
    assert d["outside_blocks"] == [15] and d["n_outside"] == 1
    assert (d["n_by_overlap"], d["n_by_point"], d["n_split_blocks"]) == (3, 1, 1)
    # inputs untouched
    assert list(blocks.columns) == ["pop", "unemployed", "pop_0_5", "pop_6_14",
                                    "children_transfer", "geometry"]


def test_area_without_blocks_stays_null_and_warnings_reach_feedback(toy):
    from kommunalmonitor.core.feedback import Feedback

    blocks, areas = toy
    areas = pd.concat([areas, gpd.GeoDataFrame({"plr_id": ["C"], "plr_name": ["Chaussee"]},
                                               geometry=[box(40, 0, 50, 10)], crs=areas.crs)],
                      ignore_index=True)
    messages = []
    result = aggregate_to_areas(blocks, areas, "plr_id", ["pop"], rates="r = unemployed / pop",
                                feedback=Feedback(on_info=messages.append))
    out = result.areas.set_index("plr_id")
    assert out.loc["C", "n_blocks"] == 0
    assert pd.isna(out.loc["C", "pop"]) and np.isnan(out.loc["C", "r"])
    assert str(out["pop"].dtype) == "Int64" and out.loc["A", "pop"] == 1000
    assert bool(out.loc["C", "r_small"])
    assert result.diagnostics["areas_without_blocks"] == ["C"]
    assert any("outside every planning area" in m for m in messages)


def test_null_counts_are_reported(toy):
    blocks, areas = toy
    blocks = blocks.copy()
    blocks["pop"] = blocks["pop"].astype("float64")
    blocks.loc[11, "pop"] = np.nan
    result = aggregate_to_areas(blocks, areas, "plr_id", ["pop"])
    assert result.diagnostics["null_counts"] == {"pop": 1}
    assert result.areas.set_index("plr_id").loc["A", "pop"] == 900


def test_rate_syntax():
    specs = parse_rates("a = x / y * 1000\n b=(x+z)/(y + w) ; ; c = x/y*100,5")
    assert [(s.name, s.numerator, s.denominator, s.per) for s in specs] == [
        ("a", ["x"], ["y"], 1000.0), ("b", ["x", "z"], ["y", "w"], 100.0),
        ("c", ["x"], ["y"], 100.5)]
    assert parse_rates("") == [] and parse_rates(None) == []
    with pytest.raises(InputError, match="cannot be read"):
        parse_rates("a = x * y")
    with pytest.raises(InputError, match="cannot be read"):
        parse_rates("a = x - z / y")
    with pytest.raises(InputError, match="defined twice"):
        parse_rates("a = x / y; a = z / y")


def test_errors_name_layer_and_field(toy):
    blocks, areas = toy
    with pytest.raises(InputError, match="'blocks' has no field 'jobs'"):
        aggregate_to_areas(blocks, areas, "plr_id", ["jobs"])
    dup = areas.assign(plr_id=["A", "A"])
    with pytest.raises(InputError, match="duplicate ids"):
        aggregate_to_areas(blocks, dup, "plr_id", ["pop"])
    with pytest.raises(InputError, match="different coordinate"):
        aggregate_to_areas(blocks.to_crs("EPSG:25832"), areas, "plr_id", ["pop"])
    negative = blocks.assign(pop=[-1, 1, 1, 1, 1])
    with pytest.raises(InputError, match="negative"):
        aggregate_to_areas(negative, areas, "plr_id", ["pop"])
    assert "Blöcke" not in tr("Rate definition '{definition}' cannot be read. Write "
                              "'name = numerator / denominator * 100', several separated by ';', "
                              "e.g. 'unemployment_rate = unemployed / pop_18_64 * 100'.",
                              definition="x", lang="en")


def _read_berlin_population(berlin_dir):
    table = pd.read_csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), sep=";",
                        encoding="utf-8-sig", dtype=str)
    counts = ["Gesamt", "unter6", "6-15", "ausländer"]
    frame = pd.DataFrame({"plr_id": table["PLR-ID"].str.strip().to_numpy()})
    for name, column in zip(["pop", "pop_0_5", "pop_6_14", "foreign"], counts):
        frame[name] = pd.to_numeric(table[column].str.replace("–", "", regex=False)
                                    .str.strip(), errors="coerce").to_numpy()
    return frame


def test_berlin_planning_areas_to_districts_regions_match_the_lor_key(berlin_dir):
    """542 real PLR (with residents 30.06.2022) aggregated to their 143 Bezirksregionen
    (the PLR polygons dissolved by the first six digits of the id): every PLR must land in
    its own region, counts must equal a plain groupby on the LOR key, and shares come from
    the summed counts."""
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    plr = plr.rename(columns={"PLR_ID": "plr_id"})
    plr["plr_id"] = plr["plr_id"].astype(str).to_numpy()
    population = _read_berlin_population(berlin_dir)
    blocks = plr.merge(population, on="plr_id", how="left")
    blocks["bzr_id"] = blocks["plr_id"].str[:6].to_numpy()
    regions = blocks[["bzr_id", "geometry"]].dissolve(by="bzr_id").reset_index()
    regions["bzr_id"] = regions["bzr_id"].astype(str).to_numpy()
    result = aggregate_to_areas(blocks.drop(columns=["bzr_id"]), regions, "bzr_id", ["pop"],
                                rates="foreign_share = foreign / pop;"
                                      "under15_share = (pop_0_5 + pop_6_14) / pop")
    assignment = result.assignment
    assert (assignment["area_id"].to_numpy() == blocks["bzr_id"].to_numpy()).all()
    assert result.diagnostics["n_outside"] == 0
    reference = blocks.groupby("bzr_id")[["pop", "foreign", "pop_0_5", "pop_6_14"]].sum(min_count=1)
    out = result.areas.set_index("bzr_id").loc[reference.index]
    assert len(out) == blocks["bzr_id"].nunique() == 143
    np.testing.assert_allclose(out["pop"].to_numpy(), reference["pop"].to_numpy())
    np.testing.assert_allclose(out["foreign_share"].to_numpy(),
                               100 * reference["foreign"].to_numpy() / reference["pop"].to_numpy())
    np.testing.assert_allclose(
        out["under15_share"].to_numpy(),
        100 * (reference["pop_0_5"] + reference["pop_6_14"]).to_numpy() / reference["pop"].to_numpy())
    assert out["pop"].sum() == pytest.approx(population["pop"].sum())


def test_geographic_crs_is_refused_naming_the_layer():
    import geopandas as gpd
    from shapely.geometry import box

    from kommunalmonitor.core.aggregate import aggregate_to_areas
    from kommunalmonitor.core.errors import InputError

    areas = gpd.GeoDataFrame({"plr": ["a"]}, geometry=[box(13.3, 52.5, 13.4, 52.6)], crs="EPSG:4326")
    blocks = gpd.GeoDataFrame({"ew": [10]}, geometry=[box(13.31, 52.51, 13.32, 52.52)], crs="EPSG:4326")
    with pytest.raises(InputError, match="geographic CRS"):
        aggregate_to_areas(blocks, areas, "plr", ["ew"], [], areas_name="Planungsräume")
