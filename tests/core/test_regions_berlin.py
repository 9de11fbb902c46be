"""Real data: Berlin's 542 PLR into about 140 regions, 12,309 blocks into about 450 areas."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.regions import PlanningAreaBuilder, check_partition


@pytest.fixture(scope="module")
def plr(berlin_dir):
    units = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    table = pd.read_csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), sep=";", dtype=str,
                        encoding="utf-8-sig")
    for column in ("Gesamt", "unter6", "65undmehr", "ausländer"):
        # "–" marks suppressed small numbers: count them as 0 residents
        table[column] = pd.to_numeric(table[column], errors="coerce").fillna(0.0)
    units = units.merge(table, left_on="PLR_ID", right_on="PLR-ID", how="left", validate="1:1")
    assert units["Gesamt"].notna().all()
    residents = units["Gesamt"].clip(lower=1)
    units["share_u6"] = units["unter6"] / residents
    units["share_65"] = units["65undmehr"] / residents
    units["share_foreign"] = units["ausländer"] / residents
    units["bez"] = units["PLR_ID"].str[:2]
    units.attrs["layer_name"] = "PLR 2023"
    return units


def test_542_plr_into_140_regions_nested_in_districts(plr):
    builder = PlanningAreaBuilder(n_areas=140, min_population=12000, max_population=45000, random_state=0)
    builder.fit(plr, "Gesamt", ["share_u6", "share_65", "share_foreign"], nest_field="bez", id_field="PLR_ID")
    d = builder.diagnostics_
    assert d["n_areas"] == 140 and d["violations"] == 0
    labels = builder.labels_
    pop = plr["Gesamt"].to_numpy()
    graph = builder.graph_
    assert check_partition(graph.n, graph.edges, labels, pop, 12000, 45000, parent=plr["bez"].to_numpy()) == []
    areas = builder.areas_
    assert areas["population"].between(12000, 45000).all()
    assert areas["population"].sum() == pytest.approx(pop.sum())
    # every region is one polygon on the map too (one PLR has a sliver part of 0.16 ha)
    largest = [max(g.geoms, key=lambda p: p.area).area if g.geom_type == "MultiPolygon" else g.area
               for g in areas.geometry]
    assert (np.asarray(largest) >= 0.999 * areas.geometry.area.to_numpy()).all()
    # the published key nests PLR in 12 districts: every region inside one
    assert areas.groupby("parent_id").size().sum() == 140 and areas["parent_id"].nunique() == 12
    # homogeneity and compactness are reported and sensible
    assert 0.5 < d["bss_tss"] < 1.0
    assert 0.2 < d["mean_compactness_pp"] < 1.0
    assert d["wss"] <= d["wss_start"] * 1.05


def test_plr_regions_at_least_as_homogeneous_as_ward_without_bounds(plr):
    """On the constraints Ward supports (count + contiguity), our BSS/TSS is at least Ward's."""
    from sklearn.cluster import AgglomerativeClustering

    # an explicit minimum of 0: Ward knows no population bound, so empty areas are allowed here too
    builder = PlanningAreaBuilder(n_areas=140, min_population=0, compactness_weight=0.0, balance_weight=0.0,
                                  random_state=0)
    builder.fit(plr, "Gesamt", ["share_u6", "share_65", "share_foreign"], id_field="PLR_ID")
    graph = builder.graph_
    X = plr[["share_u6", "share_65", "share_foreign"]].to_numpy()
    X = (X - X.mean(0)) / X.std(0)
    ward = AgglomerativeClustering(n_clusters=140, linkage="ward", connectivity=graph.csr()).fit(X).labels_

    def bss_tss(labels):
        wss = sum(((X[labels == g] - X[labels == g].mean(0)) ** 2).sum() for g in np.unique(labels))
        return 1 - wss / (X ** 2).sum()

    assert builder.diagnostics_["bss_tss"] == pytest.approx(bss_tss(builder.labels_))
    assert bss_tss(builder.labels_) >= bss_tss(ward) - 0.01


def _blocks_with_population(berlin_dir):
    """Blocks with residents area-weighted from the Zensus 2011 1 km grid (onto the block CRS)."""
    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    blocks["geometry"] = blocks.geometry.buffer(0)  # the pack has 2 invalid polygons
    grid = pd.read_csv(os.path.join(berlin_dir, "zensus2011_1km_einwohner_berlin.csv"), sep=";")
    grid = grid[grid["einwohner"] > 0]
    cells = gpd.GeoDataFrame({"cell": np.arange(len(grid)), "residents": grid["einwohner"].to_numpy()},
                             geometry=[box(x - 500, y - 500, x + 500, y + 500)
                                       for x, y in zip(grid["x_mp_1km"], grid["y_mp_1km"])], crs="EPSG:3035")
    # cells go to the blocks' Soldner CRS (one block polygon projects to inf the other way)
    cells = cells.to_crs(blocks.crs)
    pieces = gpd.overlay(blocks[["geometry"]].reset_index(), cells, how="intersection", keep_geom_type=True)
    pieces["a"] = pieces.geometry.area
    pieces["residents_part"] = pieces["residents"] * pieces["a"] / pieces.groupby("cell")["a"].transform("sum")
    blocks["pop"] = pieces.groupby("index")["residents_part"].sum().reindex(range(len(blocks))).fillna(0.0).to_numpy()
    blocks["density"] = blocks["pop"] / blocks.geometry.area
    blocks.attrs["layer_name"] = "Blöcke 2010"
    return blocks, cells


@pytest.mark.slow
def test_12309_blocks_into_about_450_areas(berlin_dir):
    blocks, cells = _blocks_with_population(berlin_dir)
    assert len(blocks) == 12309
    covered = cells[cells.intersects(blocks.unary_union.envelope)]["residents"].sum()
    assert blocks["pop"].sum() == pytest.approx(3.3e6, rel=0.05) and blocks["pop"].sum() <= covered + 1
    builder = PlanningAreaBuilder(target_population=7500, min_population=3000, max_population=12000,
                                  snap_tolerance=40, min_shared_length=20, random_state=0)
    builder.fit(blocks, "pop", ["density"], nest_field="BEZIRK", id_field="SCHLUESSEL")
    d = builder.diagnostics_
    assert 420 <= d["n_areas"] <= 480 and d["violations"] == 0
    areas = builder.areas_
    assert areas["population"].between(3000, 12000).all()
    assert areas["population"].sum() == pytest.approx(blocks["pop"].sum())
    graph = builder.graph_
    assert check_partition(graph.n, graph.edges, builder.labels_, blocks["pop"].to_numpy(), 3000, 12000,
                           parent=blocks["BEZIRK"].to_numpy()) == []
    assert areas["parent_id"].nunique() == 12
    assert d["bss_tss"] > 0.3
    assert len(builder.table_) > 10 and builder.record_["inputs"]["units"]


@pytest.fixture(scope="module")
def plr_mss(berlin_dir):
    """The 542 PLR with residents of 31.12.2020 (MSS table, column EW) and three status indicators."""
    units = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    mss = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), dtype={"PLR_ID": str})
    units = units.merge(mss[["PLR_ID", "EW", "S1", "S3", "S4"]], on="PLR_ID", how="left", validate="1:1")
    units["EW"] = units["EW"].astype(float).fillna(0.0)  # one PLR is not in the MSS table
    for column in ("S1", "S3", "S4"):  # -9999 marks PLR with fewer than 300 residents
        values = units[column].astype(float).where(lambda v: v > -999)
        units[column] = values.fillna(values.mean())
    units["bez"] = units["PLR_ID"].str[:2]
    units.attrs["layer_name"] = "PLR 2023"
    return units


@pytest.mark.parametrize("tolerance", [0.25, 0.15])
def test_143_regions_nested_in_districts_within_tight_bounds(plr_mss, tolerance):
    """The planner's request of issue 14: 143 regions, each within ±25 % (and ±15 %) of the mean,
    nested in the 12 districts. The counts per district are chosen jointly, so it must succeed."""
    pop = plr_mss["EW"].to_numpy()
    mean = pop.sum() / 143
    lo, hi = mean * (1 - tolerance), mean * (1 + tolerance)
    builder = PlanningAreaBuilder(n_areas=143, min_population=lo, max_population=hi, random_state=0)
    builder.fit(plr_mss, "EW", ["S1", "S3", "S4"], nest_field="bez", id_field="PLR_ID")
    labels = builder.labels_
    assert len(np.unique(labels)) == 143 and builder.diagnostics_["violations"] == 0
    graph = builder.graph_
    # independent check on the plain rook graph of the PLR (no nesting cut): contiguous, in bounds, nested
    from kommunalmonitor.core.regions import build_graph
    plain = build_graph(plr_mss, island_rule="alone")
    district = plr_mss["bez"].to_numpy()
    inside = plain.edges[district[plain.edges[:, 0]] == district[plain.edges[:, 1]]]
    assert check_partition(graph.n, inside, labels, pop, lo, hi, parent=district) == []
    totals = builder.areas_["population"]
    assert totals.between(lo - 1e-6, hi + 1e-6).all() and totals.sum() == pytest.approx(pop.sum())
    assert builder.areas_["parent_id"].nunique() == 12
    assert builder.diagnostics_["max_abs_deviation_pct"] <= tolerance * 100 + 1e-6


def test_objective_presets_trade_homogeneity_for_compact_even_areas(plr_mss):
    """'official' gives more compact areas with more even populations, 'homogeneous' more similar
    social structure within areas (BSS/TSS) — the trade-off the help describes."""
    pop = plr_mss["EW"].to_numpy()
    mean = pop.sum() / 143
    results = {}
    for objective in ("official", "homogeneous"):
        builder = PlanningAreaBuilder(n_areas=143, min_population=0.75 * mean, max_population=1.25 * mean,
                                      objective=objective, random_state=0)
        builder.fit(plr_mss, "EW", ["S1", "S3", "S4"], nest_field="bez", id_field="PLR_ID")
        d = builder.diagnostics_
        results[objective] = (d["bss_tss"], d["mean_compactness_nmi"],
                              float(np.abs(builder.areas_["deviation_pct"]).mean()))
    official, homogeneous = results["official"], results["homogeneous"]
    assert homogeneous[0] > official[0] + 0.05
    assert official[1] > homogeneous[1] + 0.02
    assert official[2] < homogeneous[2] - 1.0


def test_tight_nested_request_succeeds_for_other_neighbour_rules_and_seeds(plr_mss):
    """±15 % with queen contiguity and seed 1 once found no division of district 04 after four
    repair starts; the repair now gets four times as many starts in small parts."""
    pop = plr_mss["EW"].to_numpy()
    mean = pop.sum() / 143
    builder = PlanningAreaBuilder(n_areas=143, min_population=0.85 * mean, max_population=1.15 * mean,
                                  contiguity="queen", homogeneity_weight=1.0, compactness_weight=1.0,
                                  random_state=1)
    builder.fit(plr_mss, "EW", ["S1", "S3", "S4"], nest_field="bez", id_field="PLR_ID")
    graph = builder.graph_
    assert len(np.unique(builder.labels_)) == 143
    assert check_partition(graph.n, graph.edges, builder.labels_, pop, 0.85 * mean, 1.15 * mean,
                           parent=plr_mss["bez"].to_numpy()) == []
