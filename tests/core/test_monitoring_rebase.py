"""Boundary changes: hand cases, the panel, and Berlin's 448 → 542 planning areas against
the residents of 31.12.2020 published on the new areas (EW of the MSS 2021 table)."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.monitoring.panel import make_panel
from kommunalmonitor.core.monitoring.rebase import (CrosswalkOptions, build_crosswalk,
                                                    crosswalk_from_table, rebase,
                                                    rebase_observations)

CRS = "EPSG:25832"


def squares():
    """Old: two 100 m squares A, B. New: A unchanged; B split into B1 (west 30 %), B2."""
    old = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)
    new = gpd.GeoDataFrame({"id": ["A", "B1", "B2"]},
                           geometry=[box(0, 0, 100, 100), box(100, 0, 130, 100), box(130, 0, 200, 100)], crs=CRS)
    return old, new


def test_hand_case_counts_rates_and_flags():
    old, new = squares()
    # residents live only in the east of B: blocks put them in B2, area weights do not
    units = gpd.GeoDataFrame({"w": [10.0, 30.0]}, geometry=[Point(50, 50), Point(180, 50)], crs=CRS)
    obs = pd.DataFrame({"area_id": ["A", "B", "A", "B"], "indicator": ["pop", "pop", "rate", "rate"],
                        "period": "2020", "value": [40.0, 300.0, 25.0, 10.0],
                        "numerator": [np.nan, np.nan, 10.0, 30.0], "denominator": [np.nan, np.nan, 40.0, 300.0]})
    res = rebase(obs, old, new, "id", "id", "new", CrosswalkOptions("blocks", units, "w"))
    got = res.observations.set_index(["indicator", "area_id"])
    assert got.loc[("pop", "A"), "value"] == 40.0
    assert got.loc[("pop", "B1"), "value"] == 0.0 and got.loc[("pop", "B2"), "value"] == 300.0
    assert not got.loc[("pop", "A"), "estimated"] and got.loc[("pop", "B2"), "estimated"]
    assert got.loc[("pop", "B2"), "estimated_share"] == 1.0
    assert set(got["rebased_method"]) == {"blocks"}
    area = rebase(obs, old, new, "id", "id", "new", CrosswalkOptions("area"))
    got = area.observations.set_index(["indicator", "area_id"])
    assert got.loc[("pop", "B1"), "value"] == pytest.approx(90.0)
    assert got.loc[("pop", "B2"), "value"] == pytest.approx(210.0)
    # the rate is recomputed from moved counts: 30 % of 30 / 30 % of 300 = 10 %, not an average
    assert got.loc[("rate", "B1"), "numerator"] == pytest.approx(9.0)
    assert got.loc[("rate", "B1"), "value"] == pytest.approx(10.0)
    assert got.loc[("rate", "A"), "value"] == 25.0
    flags = area.areas.set_index("area_id")["boundary_changed"]
    assert list(flags) == [False, True, True]


def _split_crosswalk():
    """Old A splits 50/50 into X and Y; old B becomes Z."""
    return crosswalk_from_table(pd.DataFrame({"old_id": ["A", "A", "B"], "new_id": ["X", "Y", "Z"],
                                              "share": [0.5, 0.5, 1.0]}))


def _published_values():
    """Residents and foreigners as counts; shares, a rate and a count of children as values only."""
    rows = [("A", "pop", 100.0), ("B", "pop", 50.0), ("A", "foreigners", 20.0), ("B", "foreigners", 15.0),
            ("A", "foreigners_pct", 20.0), ("B", "foreigners_pct", 30.0),  # published percentages
            ("A", "alq", 7.5), ("B", "alq", 12.25),  # a rate whose name says nothing
            ("A", "kinder", 10.5), ("B", "kinder", 4.25)]  # estimated children: fractional counts
    return pd.DataFrame(rows, columns=["area_id", "indicator", "value"]).assign(period="2020-H2")


def test_percentages_without_counts_are_never_summed():
    result = rebase_observations(_published_values(), _split_crosswalk(), "new")
    moved = result.observations.set_index(["indicator", "area_id"])["value"]
    # a sum of percentages is no percentage: left out, each with its reason
    left = result.diagnostics["left_out"]
    assert set(left) == {"foreigners_pct", "alq", "kinder"}
    assert "pct" in left["foreigners_pct"] and "fractions" in left["alq"]
    assert "foreigners_pct" not in moved.index.get_level_values(0)
    assert moved[("pop", "X")] == 50.0 and moved[("foreigners", "Z")] == 15.0


def test_the_catalogue_recomputes_a_share_from_its_counts_and_declares_counts():
    catalogue = pd.DataFrame({"indicator": ["foreigners_pct", "kinder", "alq"],
                              "unit": ["%", "persons", "per 100 residents"],
                              "numerator": ["foreigners", "", ""], "denominator": ["pop", "", ""]})
    result = rebase_observations(_published_values(), _split_crosswalk(), "new", catalogue=catalogue)
    got = result.observations.set_index(["indicator", "area_id"])
    # 20 of 100 split evenly: 10 of 50 in X and in Y; the scale (100) is read off the old values
    assert got.loc[("foreigners_pct", "X"), "value"] == pytest.approx(20.0)
    assert got.loc[("foreigners_pct", "Z"), "value"] == pytest.approx(30.0)
    assert got.loc[("foreigners_pct", "Y"), "numerator"] == 10.0 and got.loc[("foreigners_pct", "Y"), "denominator"] == 50.0
    assert got.loc[("foreigners_pct", "X"), "estimated"] and not got.loc[("foreigners_pct", "Z"), "estimated"]
    assert got.loc[("kinder", "X"), "value"] == 5.25  # declared a count by its unit
    assert result.diagnostics["left_out"] == {"alq": "unit 'per 100 residents'"}
    assert result.diagnostics["derived"] == ["foreigners_pct"]


def test_a_german_catalogue_scale_of_one_thousand_is_a_thousand():
    # '1.000' from a German spreadsheet: per 1,000 residents, not 1.0
    catalogue = pd.DataFrame({"indicator": ["foreigners_pct"], "unit": ["je 1.000"], "numerator": ["foreigners"],
                              "denominator": ["pop"], "scale": ["1.000"], "min_base": ["1.000"]})
    result = rebase_observations(_published_values(), _split_crosswalk(), "new", catalogue=catalogue)
    got = result.observations.set_index(["indicator", "area_id"])
    assert got.loc[("foreigners_pct", "X"), "value"] == pytest.approx(200.0)
    assert got.loc[("foreigners_pct", "X"), "small_base"]  # a base of 50 is below 1,000


def test_nothing_to_move_is_refused_naming_the_indicators():
    only_shares = _published_values()
    only_shares = only_shares[only_shares["indicator"].isin(["foreigners_pct", "alq"])]
    with pytest.raises(InputError, match="Nothing can be moved.*foreigners_pct"):
        rebase_observations(only_shares, _split_crosswalk(), "new")


def test_a_catalogue_without_scale_or_minimum_base_columns():
    catalogue = pd.DataFrame({"indicator": ["pop"], "unit": ["persons"]})
    result = rebase_observations(_published_values(), _split_crosswalk(), "new", catalogue=catalogue)
    assert not result.observations["small_base"].any()


def test_digitising_slivers_are_no_correspondence():
    """Old A and B are both split; the new line between them runs 0.1 m inside B."""
    old = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)
    new = gpd.GeoDataFrame({"id": ["X", "Y", "Z1", "Z2"]},
                           geometry=[box(0, 0, 50, 100), box(50, 0, 100.1, 100), box(100.1, 0, 150, 100),
                                     box(150, 0, 200, 100)], crs=CRS)
    cw = build_crosswalk(old, new, "id", "id", CrosswalkOptions("area"))
    pairs = {(o, n): share for o, n, share in zip(cw["old_id"], cw["new_id"], cw["share"])}
    assert ("B", "Y") not in pairs and cw.attrs["slivers_ignored"] == 1  # 10 m², 0.1 m wide
    assert pairs[("B", "Z1")] == pytest.approx(4990 / 9990) and pairs[("B", "Z2")] == pytest.approx(5000 / 9990)
    assert pairs[("A", "Y")] == pytest.approx(0.5)
    # a real transfer is wider: 2 m into B (2 % of it) stays a correspondence
    new.geometry = [box(0, 0, 50, 100), box(50, 0, 102, 100), box(102, 0, 150, 100), box(150, 0, 200, 100)]
    cw = build_crosswalk(old, new, "id", "id", CrosswalkOptions("area"))
    assert ("B", "Y") in set(zip(cw["old_id"], cw["new_id"])) and cw.attrs["slivers_ignored"] == 0


def test_crosswalk_table_and_errors():
    table = pd.DataFrame({"old": ["A", "B", "B"], "new": ["A", "B1", "B2"], "share": [1.0, 0.25, 0.75]})
    cw = crosswalk_from_table(table, "old", "new", "share")
    obs = pd.DataFrame({"area_id": ["A", "B"], "indicator": "pop", "period": "2020", "value": [5.0, 100.0]})
    out = rebase_observations(obs, cw, "new").observations.set_index("area_id")["value"]
    assert list(out) == [5.0, 25.0, 75.0]
    with pytest.raises(InputError, match="sum to 1"):
        crosswalk_from_table(table.assign(share=[1.0, 0.2, 0.7]), "old", "new", "share")
    with pytest.raises(InputError, match="not in the crosswalk.*C"):
        rebase_observations(obs.assign(area_id=["A", "C"]), cw, "new")
    rate = obs.assign(indicator="r", numerator=[1.0, np.nan], denominator=[5.0, 100.0])
    with pytest.raises(InputError, match="never averaged"):
        rebase_observations(rate, cw, "new")


def test_panel_unchanged_exact_and_blocks_beat_area_weights():
    panel = make_panel(seed=2, n_blocks=800, n_periods=6)
    last_old = panel.block_counts[panel.block_counts["period"] == panel.periods[2]]
    units = panel.blocks.assign(w=panel.blocks["block_id"].map(last_old.set_index("block_id")["population"]))
    old = panel.observations[panel.observations["area_set"] == "plr_old"]
    errors = {}
    for method in ("blocks", "area"):
        res = rebase(old, panel.areas_old, panel.areas_new, "area_id", "area_id", "plr_new",
                     CrosswalkOptions(method, units, "w"), panel.indicators)
        m = res.observations.merge(panel.observations_new, on=["area_id", "indicator", "period"],
                                   suffixes=("", "_true"))
        pop = m[m["indicator"] == "population"]
        exact = pop[~pop["area_id"].isin(panel.areas_new.loc[panel.areas_new["boundary_changed"], "area_id"])]
        assert len(exact) and (exact["value"] == exact["value_true"]).all()
        assert pop.groupby("period")["value"].sum().to_numpy() == pytest.approx(
            pop.groupby("period")["value_true"].sum().to_numpy())
        errors[method] = ((pop["value"] - pop["value_true"]).abs() / pop["value_true"]).quantile(0.95)
    assert errors["blocks"] < 0.5 * errors["area"]


# --------------------------------------------------------------------------- Berlin
@pytest.fixture(scope="module")
def berlin(berlin_dir):
    from kommunalmonitor.core.geometry_arrays import reproject

    new = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    old = gpd.read_file(os.path.join(berlin_dir, "plr_bis_2020_448.geojson"))
    old = old.set_geometry(reproject(old.geometry, new.crs))
    # the open-data file gives Schloßstraße (Charlottenburg) the id of Schloßstraße
    # (Steglitz), 06010102; the population table has it as 04030417: take the one whose
    # nearest neighbour lies in district 04
    dup = old.index[old["id"].duplicated(keep=False)]
    assert len(dup) == 2
    centres = old.geometry.centroid
    others = old.drop(index=dup)
    for i in dup:
        nearest = others.loc[others.geometry.centroid.distance(centres[i]).idxmin(), "id"]
        if nearest.startswith("04"):
            old.loc[i, "id"] = "04030417"
    assert old["id"].is_unique
    pop = pd.read_csv(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                   "berlin-lor-population-2020-02-t1-planning-areas.csv"), dtype={"id": str})
    obs = pd.DataFrame({"area_id": pop["id"], "indicator": "residents", "period": "2020-12-31",
                        "value": pop["inhabitants"].astype("float64")})
    mss = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), dtype={"PLR_ID": str})
    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    # population weight of the blocks: Zensus 2022 100 m cells (children under 10 and
    # residents 80+, the persons the pack has per cell) whose centre lies in the block
    z = pd.read_csv(os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv"), sep=";")
    cells = gpd.GeoDataFrame({"w": z["alter_unter10"].fillna(0) + z["alter_80plus"].fillna(0)},
                             geometry=gpd.points_from_xy(z["x_mp_100m"], z["y_mp_100m"]), crs="EPSG:3035")
    cells = cells.set_geometry(reproject(cells.geometry, blocks.crs))
    hit = gpd.sjoin(cells, blocks[["geometry"]], how="inner", predicate="within")
    blocks["residents_proxy"] = hit.groupby("index_right")["w"].sum().reindex(blocks.index).fillna(0.0).to_numpy()
    return {"old": old, "new": new, "obs": obs, "ref": mss.set_index("PLR_ID")["EW"].astype("float64"),
            "blocks": blocks}


def _errors(berlin, options):
    res = rebase(berlin["obs"], berlin["old"], berlin["new"], "id", "PLR_ID", "plr_2021", options)
    est = res.observations.set_index("area_id")["value"]
    ref = berlin["ref"].loc[est.index]
    rel = (est - ref).abs() / ref
    changed = res.areas.set_index("area_id")["boundary_changed"].loc[est.index]
    return res, est, rel, changed


@pytest.mark.shared
def test_berlin_448_to_542_against_published_residents(berlin):
    report = {}
    for name, options in (("area", CrosswalkOptions("area")),
                          ("blocks", CrosswalkOptions("blocks", berlin["blocks"], "residents_proxy"))):
        res, est, rel, changed = _errors(berlin, options)
        assert len(est) == 542
        assert est.sum() == pytest.approx(3769962.0)  # the published total
        # unchanged areas come out exact (Stülerstraße 01011101 -> 01100101: 3,419)
        assert (~changed).sum() >= 250
        assert (rel[~changed] == 0).all()
        assert est.loc["01100101"] == 3419.0
        cw = res.crosswalk
        assert cw.groupby("old_id")["share"].sum().to_numpy() == pytest.approx(1.0)
        report[name] = {"median": rel.median(), "p95": rel.quantile(0.95), "over5": (rel > 0.05).mean()}
    # measured: area weights p95 0.685, 33.8 % of areas > 5 %; blocks p95 0.289, 26.4 %
    assert report["area"]["over5"] == pytest.approx(0.337, abs=0.02)
    assert report["blocks"]["p95"] < 0.5 * report["area"]["p95"]
    assert report["blocks"]["over5"] < report["area"]["over5"] - 0.05
    assert report["blocks"]["median"] <= report["area"]["median"]
