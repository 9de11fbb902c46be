"""Musterstadt generator: determinism, schema, consistency, topology, realism, files."""
import os

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core import i18n
from kommunalmonitor.core.errors import CancelledError, InputError
from kommunalmonitor.core.feedback import Feedback
from kommunalmonitor.core.sample import (AGE_GROUPS, CRS, NODATA, SOURCE_NOTE, YEARS,
                                         block_columns, generate_sample_municipality,
                                         write_sample_municipality)

N = 500


PROGRESS = []
MESSAGES = []


@pytest.fixture(scope="module")
def sample():
    feedback = Feedback(on_progress=PROGRESS.append, on_info=MESSAGES.append)
    return generate_sample_municipality(N, seed=7, feedback=feedback)


@pytest.fixture(scope="module")
def written(sample, tmp_path_factory):
    folder = tmp_path_factory.mktemp("musterstadt")
    return write_sample_municipality(sample, str(folder))


def _wkb(frame):
    return [g.wkb for g in frame.geometry]


# ----------------------------------------------------------------------------- determinism

def test_same_seed_gives_identical_city(sample):
    again = generate_sample_municipality(N, seed=7)
    for name, frame in sample.layers.items():
        other = again.layers[name]
        pd.testing.assert_frame_equal(pd.DataFrame(frame.drop(columns="geometry")),
                                      pd.DataFrame(other.drop(columns="geometry")), obj=name)
        assert _wkb(frame) == _wkb(other), name
    pd.testing.assert_frame_equal(sample.grid, again.grid)
    pd.testing.assert_frame_equal(sample.block_adjacency, again.block_adjacency)
    for key, array in sample.rasters.items():
        np.testing.assert_array_equal(array, again.rasters[key])


def test_different_seed_gives_different_city(sample):
    other = generate_sample_municipality(N, seed=8)
    assert _wkb(other.blocks) != _wkb(sample.blocks)
    assert other.blocks["pop_2022"].sum() != sample.blocks["pop_2022"].sum()
    assert not np.array_equal(other.rasters["noise"], sample.rasters["noise"])


def test_same_city_on_both_stacks(sample):
    """Fingerprint of seed 7 / 500 blocks, identical on the QGIS stack (numpy 1.24, shapely
    1.8, GEOS 3.11) and the current stack (numpy 2.x, shapely 2.x): shared scripts and
    benchmarks see the same city everywhere."""
    b = sample.blocks
    assert len(b) == 499
    assert int(b["pop_2022"].sum()) == 232861
    assert int(b["unemployed_2022"].sum()) == 8707
    assert int(b["dwellings"].sum()) == 121047
    assert list(sample.planning_areas["plr_name"][:3]) == ["Altstadt", "Bahnhofsviertel", "Eichenau"]
    assert b.geometry.iloc[0].area == pytest.approx(112478.78, abs=0.01)
    assert len(sample.grid) == 7629 and len(sample.block_adjacency) == 1280
    assert len(sample.layers["kitas"]) == 175
    assert float(sample.rasters["noise"][500, 600]) == pytest.approx(53.128, abs=0.01)


def test_city_is_the_same_at_every_block_size(sample):
    """Finer blocks cut the same city: residents, land use and areas agree."""
    finer = generate_sample_municipality(2 * N, seed=7)
    assert 0.85 * 2 * N < len(finer.blocks) < 1.2 * 2 * N
    assert finer.diagnostics["n_planning_areas"] == round(40 * (2 * N / 3000) ** 0.2)
    a, b = sample.blocks, finer.blocks
    assert b["pop_2022"].sum() == pytest.approx(a["pop_2022"].sum(), rel=0.06)
    res_a = a.area[a["land_use"] == "residential"].sum() / a.area.sum()
    res_b = b.area[b["land_use"] == "residential"].sum() / b.area.sum()
    assert res_b == pytest.approx(res_a, abs=0.05)
    assert finer.layers["city_boundary"].area.iloc[0] == pytest.approx(
        sample.layers["city_boundary"].area.iloc[0])


def test_progress_messages_and_cancel(sample):
    assert PROGRESS == sorted(PROGRESS) and PROGRESS[-1] == 1.0 and len(PROGRESS) >= 8
    assert len(MESSAGES) >= 5 and any(str(N) in m for m in MESSAGES)
    with pytest.raises(CancelledError):
        generate_sample_municipality(N, seed=1, feedback=Feedback(is_cancelled=lambda: True))


def test_bad_arguments_are_explained():
    with pytest.raises(InputError, match="between 500 and 100000"):
        generate_sample_municipality(100)
    with pytest.raises(InputError, match="seed"):
        generate_sample_municipality(500, seed=-1)
    with i18n.language("de"):
        with pytest.raises(InputError, match="zwischen 500 und 100000"):
            generate_sample_municipality(200_000)


# ----------------------------------------------------------------------------- schema

def test_layers_schema_and_types(sample):
    layers = sample.layers
    assert set(layers) == {"blocks", "planning_areas", "districts", "rivers", "railways", "roads",
                           "city_boundary", "schools", "kitas"}
    for name, frame in layers.items():
        assert frame.crs is not None and frame.crs.to_epsg() == 25832, name
        assert len(frame) > 0, name
    blocks = sample.blocks
    assert list(blocks.columns) == block_columns() + ["geometry"]
    assert (blocks.geom_type == "Polygon").all()
    for col in block_columns():
        if col in ("block_id", "plr_id", "district_id", "land_use"):
            assert blocks[col].map(type).eq(str).all(), col
        elif col in ("area_m2", "living_space_m2", "rent_per_m2"):
            assert np.issubdtype(blocks[col].dtype, np.floating), col
        else:
            assert np.issubdtype(blocks[col].dtype, np.integer), col
    assert blocks["block_id"].is_unique and blocks["block_id"].str.match(r"^B\d{5}$").all()
    assert list(layers["planning_areas"].columns) == ["plr_id", "plr_name", "district_id", "geometry"]
    assert list(layers["districts"].columns) == ["district_id", "district_name", "geometry"]
    assert set(layers["roads"]["road_class"]) == {"arterial", "primary"}
    assert list(layers["schools"].columns) == ["school_id", "name", "school_type", "capacity", "geometry"]
    assert set(layers["schools"]["school_type"]) == {"Grundschule", "Gymnasium", "ISS"}
    assert list(layers["kitas"].columns) == ["kita_id", "name", "places", "geometry"]
    assert layers["planning_areas"]["plr_name"].is_unique
    assert "Altstadt" in set(layers["planning_areas"]["plr_name"])
    assert layers["city_boundary"]["source"].iloc[0] == SOURCE_NOTE
    assert all(f.attrs["source"] == SOURCE_NOTE and f.attrs["layer_name"] == name
               for name, f in layers.items())
    # size of the city: about 12 x 10 km
    minx, miny, maxx, maxy = layers["city_boundary"].total_bounds
    assert 11_000 < maxx - minx < 14_000 and 9_000 < maxy - miny < 12_000


def test_block_count_and_region_counts_scale(sample):
    d = sample.diagnostics
    assert 0.85 * N < d["n_blocks"] < 1.2 * N
    assert 25 <= d["n_planning_areas"] <= 32          # 40 * (500/3000)**0.2 = 28
    assert d["n_districts"] == 6
    per_plr = sample.blocks.groupby("plr_id")["pop_2022"].sum()
    assert per_plr.min() > 1_000 and per_plr.median() > 3_000


# ----------------------------------------------------------------------------- consistency

def test_counts_are_consistent(sample):
    b = sample.blocks
    counts = [c for c in block_columns()[5:] if c not in ("living_space_m2", "rent_per_m2")]
    assert (b[counts] >= 0).all().all()
    for year in YEARS:
        ages = b[[f"pop_{g}_{year}" for g in AGE_GROUPS]].sum(axis=1)
        assert (ages == b[f"pop_{year}"]).all()
        kids = b[f"pop_0_5_{year}"] + b[f"pop_6_14_{year}"]
        working = b[f"pop_15_17_{year}"] + b[f"pop_18_64_{year}"]
        assert (b[f"children_transfer_{year}"] <= kids).all()
        assert (b[f"unemployed_{year}"] <= working).all()
        assert (b[f"transfer_recipients_{year}"] <= b[f"pop_{year}"]).all()
        assert (b[f"children_transfer_{year}"] <= b[f"transfer_recipients_{year}"] + kids).all()
        assert (b[f"migration_background_{year}"] <= b[f"pop_{year}"]).all()
        assert (b[f"households_{year}"] <= b[f"pop_{year}"]).all()
        assert ((b[f"households_{year}"] > 0) == (b[f"pop_{year}"] > 0)).all()
        assert (b[f"single_parent_households_{year}"] <= b[f"households_{year}"]).all()
    assert (b["social_housing_dwellings"] <= b["dwellings"]).all()
    assert (b["dwellings"] >= b["households_2022"]).all()
    has = b["dwellings"] > 0
    assert b.loc[has, "rent_per_m2"].between(5, 20).all() and b.loc[~has, "rent_per_m2"].isna().all()
    size = b.loc[has, "living_space_m2"] / b.loc[has, "dwellings"]
    assert size.between(35, 145).all()
    np.testing.assert_allclose(b["area_m2"], b.area, atol=0.01)


def test_non_residential_blocks_and_plausible_totals(sample):
    b = sample.blocks
    empty = b["land_use"] != "residential"
    assert 0.1 < empty.mean() < 0.4
    assert (b.loc[empty, "pop_2020"] == 0).all() and (b.loc[empty, "pop_2022"] == 0).all()
    total = b["pop_2022"].sum()
    assert 180_000 < total < 320_000
    # shares in a German-city range
    assert 0.04 < b["unemployed_2022"].sum() / (b["pop_15_17_2022"] + b["pop_18_64_2022"]).sum() < 0.12
    assert 0.15 < b["pop_65plus_2022"].sum() / total < 0.28
    # some planning areas improve, some decline (unemployment rate 2020 -> 2022)
    g = b.groupby("plr_id")[["unemployed_2020", "unemployed_2022", "pop_18_64_2020",
                             "pop_18_64_2022", "pop_15_17_2020", "pop_15_17_2022"]].sum()
    r20 = g["unemployed_2020"] / (g["pop_18_64_2020"] + g["pop_15_17_2020"])
    r22 = g["unemployed_2022"] / (g["pop_18_64_2022"] + g["pop_15_17_2022"])
    change = r22 - r20
    assert (change < -0.003).sum() >= 3 and (change > 0.003).sum() >= 1
    # dense centre: residents per km2 of residential land fall with distance from the centre
    centre = sample.layers["city_boundary"].geometry.iloc[0].centroid
    res = b[~empty]
    dist = res.geometry.representative_point().distance(centre)
    dens = res["pop_2022"] / res.area
    assert dens[dist < 1500].mean() > 2.5 * dens[dist > 4000].mean()


# ----------------------------------------------------------------------------- topology

def test_no_block_crosses_a_barrier(sample):
    layers = sample.layers
    shrunk = sample.blocks.geometry.buffer(-0.5)
    shrunk = shrunk[~shrunk.is_empty]
    barriers = list(layers["rivers"].geometry) + list(layers["railways"].geometry) \
        + list(layers["roads"].geometry)
    arterial = layers["roads"]["road_class"] == "arterial"
    assert arterial.sum() >= 7
    for line in barriers:
        assert not shrunk.intersects(line).any()


def test_blocks_tile_the_city(sample):
    blocks = sample.blocks
    city = sample.layers["city_boundary"].geometry.iloc[0]
    assert blocks.is_valid.all()
    assert abs(blocks.area.sum() - city.area) / city.area < 1e-6
    a, b = blocks.sindex.query_bulk(blocks.geometry, predicate="intersects") \
        if hasattr(blocks.sindex, "query_bulk") else blocks.sindex.query(blocks.geometry, predicate="intersects")
    keep = a < b
    overlap = blocks.geometry.iloc[a[keep]].reset_index(drop=True).intersection(
        blocks.geometry.iloc[b[keep]].reset_index(drop=True)).area.sum()
    assert overlap < 1e-3
    assert abs(city.difference(blocks.unary_union).area) < 1e-3 * len(blocks)


def test_planning_areas_and_districts_nest_and_are_contiguous(sample):
    blocks = sample.blocks
    plr = sample.planning_areas.set_index("plr_id")
    dist = sample.districts.set_index("district_id")
    assert set(blocks["plr_id"]) == set(plr.index)
    assert (blocks["district_id"].to_numpy() == plr.loc[blocks["plr_id"], "district_id"].to_numpy()).all()
    assert set(plr["district_id"]) == set(dist.index)
    assert (plr.geom_type == "Polygon").all(), "a planning area is not contiguous"
    assert (dist.geom_type == "Polygon").all(), "a district is not contiguous"
    block_area = blocks.groupby("plr_id").apply(lambda g: g.area.sum())
    np.testing.assert_allclose(plr.area.loc[block_area.index], block_area, rtol=1e-6)
    # every block lies in its own planning area (representative point test)
    joined = blocks.geometry.representative_point()
    inside = [plr.geometry.loc[p].contains(pt) for p, pt in zip(blocks["plr_id"], joined)]
    assert all(inside)
    plr_area = plr.groupby("district_id").apply(lambda g: g.area.sum())
    np.testing.assert_allclose(dist.area.loc[plr_area.index], plr_area, rtol=1e-6)


def test_planning_areas_mostly_follow_barriers(sample):
    """Most length of the arterial roads, river and railway lies on planning-area borders."""
    layers = sample.layers
    city = layers["city_boundary"].geometry.iloc[0]
    borders = sample.planning_areas.boundary.unary_union.buffer(1.0)
    lines = list(layers["rivers"].geometry) + list(layers["railways"].geometry) + \
        list(layers["roads"].geometry[layers["roads"]["road_class"] == "arterial"])
    inside = [line.intersection(city) for line in lines]
    total = sum(g.length for g in inside)
    on_border = sum(g.intersection(borders).length for g in inside)
    assert on_border / total > 0.6


# ----------------------------------------------------------------------------- realism

def _moran(values, a, b):
    """Moran's I with row-standardised binary weights, by hand."""
    n = len(values)
    z = values - values.mean()
    deg = np.bincount(np.concatenate([a, b]), minlength=n).astype(float)
    w_ab = 1.0 / deg[a]
    w_ba = 1.0 / deg[b]
    num = (w_ab * z[a] * z[b]).sum() + (w_ba * z[b] * z[a]).sum()
    s0 = n  # row-standardised: every row sums to 1
    return n / s0 * num / (z ** 2).sum()


def _rate_and_neighbours(sample):
    b = sample.blocks
    working = (b["pop_15_17_2022"] + b["pop_18_64_2022"]).to_numpy()
    keep = working >= 20
    rate = b["unemployed_2022"].to_numpy()[keep] / working[keep]
    pos = pd.Series(np.arange(keep.sum()), index=b["block_id"].to_numpy()[keep])
    adj = sample.block_adjacency
    both = adj["block_id_a"].isin(pos.index) & adj["block_id_b"].isin(pos.index)
    a = pos.loc[adj.loc[both, "block_id_a"]].to_numpy()
    c = pos.loc[adj.loc[both, "block_id_b"]].to_numpy()
    # drop blocks left without neighbours (islands) from both
    deg = np.bincount(np.concatenate([a, c]), minlength=len(rate))
    has = deg > 0
    new = np.cumsum(has) - 1
    return rate[has], new[a], new[c]


def test_unemployment_is_spatially_autocorrelated(sample):
    rate, a, b = _rate_and_neighbours(sample)
    assert _moran(rate, a, b) > 0.3
    # a shuffled map has none (sanity check of the hand computation)
    shuffled = np.random.default_rng(0).permutation(rate)
    assert abs(_moran(shuffled, a, b)) < 0.1


@pytest.mark.peers
def test_moran_matches_esda(sample):
    import esda
    import libpysal
    rate, a, b = _rate_and_neighbours(sample)
    neighbours = {i: [] for i in range(len(rate))}
    for i, j in zip(a, b):
        neighbours[int(i)].append(int(j))
        neighbours[int(j)].append(int(i))
    w = libpysal.weights.W(neighbours, silence_warnings=True)
    w.transform = "r"
    assert esda.Moran(rate, w, permutations=0).I == pytest.approx(_moran(rate, a, b), abs=1e-10)


def test_block_adjacency_is_rook_and_symmetric_free(sample):
    adj = sample.block_adjacency
    assert (adj["block_id_a"] != adj["block_id_b"]).all()
    assert not adj.duplicated(["block_id_a", "block_id_b"]).any()
    assert (adj["shared_m"] > 0.5).all()
    geoms = sample.blocks.set_index("block_id").geometry
    row = adj.iloc[len(adj) // 2]
    shared = geoms.loc[row["block_id_a"]].intersection(geoms.loc[row["block_id_b"]].buffer(0.05))
    assert shared.boundary.length > 0 and geoms.loc[row["block_id_a"]].touches(
        geoms.loc[row["block_id_b"]]) or geoms.loc[row["block_id_a"]].distance(
        geoms.loc[row["block_id_b"]]) < 1e-6


def test_noise_is_loud_at_arterials_and_quiet_at_the_edge(sample):
    from rasterio.features import rasterize
    from scipy import ndimage

    noise = sample.rasters["noise"]
    roads = sample.layers["roads"]
    shape = noise.shape
    def distance(geoms):
        mask = rasterize([(g, 1) for g in geoms], out_shape=shape, transform=sample.transform,
                         all_touched=True)
        return ndimage.distance_transform_edt(mask == 0) * 10.0

    dist = distance(roads.geometry[roads["road_class"] == "arterial"])
    dist_any = distance(list(roads.geometry) + list(sample.layers["railways"].geometry))
    valid = noise != NODATA
    at_road = noise[valid & (dist <= 10)]
    far = noise[valid & (dist_any > 800)]
    assert 70 < at_road.mean() < 80
    assert far.mean() < 45
    assert at_road.mean() - far.mean() > 25
    assert noise[valid].min() > 25
    # the quiet green edge (outer ring of the city, away from the radials)
    edge = sample.layers["city_boundary"].geometry.iloc[0].boundary
    edge_mask = rasterize([(edge.buffer(400), 1)], out_shape=shape, transform=sample.transform)
    quiet_edge = noise[valid & (edge_mask == 1) & (dist_any > 300)]
    assert quiet_edge.mean() < at_road.mean() - 25
    assert sample.transforms["noise"] == sample.transform


def test_rasters_ranges_and_relations(sample):
    r = sample.rasters
    valid = r["green"] != NODATA
    assert valid.mean() > 0.6 and (~valid).any()
    for key in ("green", "impervious"):
        assert r[key][valid].min() >= 0 and r[key][valid].max() <= 1
    assert all(a.dtype == np.float32 for a in r.values())
    heat, imp = r["heat"][valid], r["impervious"][valid]
    assert 15 < heat.min() and heat.max() < 45
    assert np.corrcoef(heat, imp)[0, 1] > 0.7
    # the dense centre is sealed, the edge green
    h, w = r["green"].shape
    centre = r["impervious"][h // 2 - 50:h // 2 + 50, w // 2 - 50:w // 2 + 50]
    assert centre[centre != NODATA].mean() > 0.55


def test_kitas_and_schools_where_children_live(sample):
    import geopandas as gpd

    b = sample.blocks
    kitas = sample.layers["kitas"]
    joined = gpd.sjoin(kitas, b[["pop_0_5_2022", "geometry"]], how="left", predicate="within")
    in_block = joined["pop_0_5_2022"].notna()
    assert in_block.mean() > 0.95
    assert (joined.loc[in_block, "pop_0_5_2022"] > 0).mean() > 0.9
    assert kitas["places"].sum() == pytest.approx(0.9 * b["pop_0_5_2022"].sum(), rel=0.35)
    assert sample.layers["schools"]["capacity"].between(250, 1100).all()


# ----------------------------------------------------------------------------- files

def test_written_files(sample, written):
    import geopandas as gpd
    import rasterio

    for key in ("gpkg", "noise", "green", "impervious", "heat", "zensus", "readme"):
        assert os.path.exists(written[key]), key
    blocks = gpd.read_file(written["gpkg"], layer="blocks")
    assert len(blocks) == len(sample.blocks)
    assert blocks.crs.to_epsg() == 25832
    assert list(blocks["block_id"]) == list(sample.blocks["block_id"])
    assert (blocks["pop_2022"].to_numpy() == sample.blocks["pop_2022"].to_numpy()).all()
    for name in ("planning_areas", "districts", "rivers", "railways", "roads", "city_boundary",
                 "schools", "kitas"):
        assert len(gpd.read_file(written["gpkg"], layer=name)) == len(sample.layers[name])
    import sqlite3
    with sqlite3.connect(written["gpkg"]) as con:
        notes = {r[0] for r in con.execute("SELECT description FROM gpkg_contents")}
    assert notes == {SOURCE_NOTE}
    # core writes data only: the QGIS styles are stored by the Processing algorithm
    # (tests/qgis/test_sample_algorithm.py)
    with sqlite3.connect(written["gpkg"]) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "layer_styles" not in tables
    assert not [f for f in os.listdir(os.path.dirname(written["gpkg"])) if f.endswith(".qml")]
    for key in ("noise", "green", "impervious", "heat"):
        with rasterio.open(written[key]) as src:
            assert src.crs.to_epsg() == 25832
            assert src.nodata == NODATA and src.dtypes[0] == "float32"
            assert src.res == (10.0, 10.0)
            assert src.tags()["source"] == SOURCE_NOTE
            np.testing.assert_array_equal(src.read(1), sample.rasters[key])
    text = open(written["readme"], encoding="utf-8").read()
    assert "synthetic" in text and "synthetische" in text


def test_zensus_csv_reproduces_population_of_published_cells(sample, written):
    from pyproj import Transformer

    csv = pd.read_csv(written["zensus"], sep=";", dtype=str)
    assert list(csv.columns) == ["x_mp_100m", "y_mp_100m", "einwohner", "alter_unter10"]
    x = csv["x_mp_100m"].astype(int)
    y = csv["y_mp_100m"].astype(int)
    assert ((x % 100) == 50).all() and ((y % 100) == 50).all()
    einw = csv["einwohner"].astype(int)
    secret = einw == -1
    assert secret.any() and (einw[~secret] >= 3).all()
    assert "\u2013" in set(csv["alter_unter10"])
    d = sample.diagnostics
    total = sample.blocks["pop_2022"].sum()
    assert einw[~secret].sum() == d["zensus_persons_published"]
    assert d["zensus_persons_published"] + d["zensus_persons_suppressed"] + \
        d["zensus_persons_secret"] == total
    assert d["zensus_persons_suppressed"] > 0 and d["zensus_persons_suppressed"] < 0.01 * total
    u10 = pd.to_numeric(csv["alter_unter10"], errors="coerce")
    assert (u10[~secret & u10.notna()] <= einw[~secret & u10.notna()]).all()
    # the cells lie in the city: back-project the centres and compare per district
    back = Transformer.from_crs("EPSG:3035", CRS, always_xy=True)
    bx, by = back.transform(x.to_numpy().astype(float), y.to_numpy().astype(float))
    import geopandas as gpd
    pts = gpd.GeoDataFrame({"einwohner": einw.where(~secret, 0)},
                           geometry=gpd.points_from_xy(bx, by), crs=CRS)
    joined = gpd.sjoin(pts, sample.districts[["district_id", "geometry"]], how="left",
                       predicate="within")
    assert joined["district_id"].notna().mean() > 0.97
    by_grid = joined.groupby("district_id")["einwohner"].sum()
    by_blocks = sample.blocks.groupby("district_id")["pop_2022"].sum()
    np.testing.assert_allclose(by_grid.loc[by_blocks.index], by_blocks, rtol=0.1)
