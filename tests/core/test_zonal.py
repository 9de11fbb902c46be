"""Exact zonal statistics: coverage against exact polygon/cell intersections, statistics
against hand-computed cases and exactextract (current stack), Berlin real data, bad input."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import affinity
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box

from kommunalmonitor.core.errors import CancelledError, InputError
from kommunalmonitor.core.feedback import Feedback
from kommunalmonitor.core.zonal import RasterGrid, ZonalOptions, coverage_fractions, zonal_statistics

CRS = "EPSG:25833"
# 2 x 2 raster, 1 m cells, top-left corner (0, 2): values [[1, 2], [3, 4]]
SMALL = np.array([[1.0, 2.0], [3.0, 4.0]])
SMALL_T = (1.0, 0.0, 0.0, 0.0, -1.0, 2.0)


def _zones(*geoms, crs=CRS, **fields):
    return gpd.GeoDataFrame(dict(fields), geometry=list(geoms), crs=crs)


def _reference_coverage(poly, transform, shape):
    """Coverage by exact shapely intersection, cell by cell (independent reference)."""
    a, _, c, _, e, f = transform
    out = {}
    for r in range(shape[0]):
        for k in range(shape[1]):
            x0, y0 = c + a * k, f + e * r
            cell = box(min(x0, x0 + a), min(y0, y0 + e), max(x0, x0 + a), max(y0, y0 + e))
            share = poly.intersection(cell).area / abs(a * e)
            if share > 1e-12:
                out[(r, k)] = share
    return out


def _random_polygon(rng, lo, hi):
    """Random convex polygon, sometimes with a hole, reversed, rotated or multipart."""
    pts = rng.uniform(lo, hi, size=(int(rng.integers(3, 12)), 2))
    poly = MultiPoint([tuple(p) for p in pts]).convex_hull
    if poly.geom_type != "Polygon" or poly.area < 1e-6:
        return box(lo + 1, lo + 1, lo + 2.5, lo + 3.2)
    choice = rng.random()
    if choice < 0.3:
        hole = poly.centroid.buffer(0.3 * np.sqrt(poly.area / np.pi), 5)
        poly = poly.difference(hole) if hole.within(poly) else poly
    elif choice < 0.5:
        poly = Polygon(list(poly.exterior.coords)[::-1])
    elif choice < 0.7:
        poly = affinity.rotate(poly, float(rng.uniform(0, 90)))
    elif choice < 0.85:
        poly = MultiPolygon([poly, affinity.translate(poly, xoff=hi - lo + 1)])
    return poly


@pytest.mark.parametrize("transform", [
    (1.0, 0.0, 0.0, 0.0, -1.0, 10.0),           # north-up, square cells
    (2.0, 0.0, -3.0, 0.0, -0.5, 5.0),           # rectangular cells, offset origin
    (0.7, 0.0, 1.0, 0.0, 0.7, -1.0),            # south-up (rows grow northwards)
])
def test_coverage_equals_exact_intersection(transform):
    rng = np.random.default_rng(42)
    shape = (10, 10)
    worst = 0.0
    for _ in range(40):
        poly = _random_polygon(rng, -3, 12)
        table = coverage_fractions([poly], transform, shape)
        got = {(r, c): v for r, c, v in zip(table.row, table.col, table.coverage)}
        expected = _reference_coverage(poly, transform, shape)
        keys = set(got) | set(expected)
        worst = max([worst] + [abs(got.get(k, 0.0) - expected.get(k, 0.0)) for k in keys])
    assert worst < 1e-9


def test_coverage_of_vertices_on_grid_lines_and_many_zones():
    # edges exactly on grid lines, vertices on cell corners, a zone outside, an empty one
    polys = [box(0, 0, 3, 3), box(1, 1, 2, 2), Polygon([(0, 0), (4, 4), (4, 0)]),
             box(50, 50, 60, 60), Polygon(), box(2.5, 0.5, 3.5, 1.5)]
    transform = (1.0, 0.0, 0.0, 0.0, -1.0, 4.0)
    table = coverage_fractions(polys, transform, (4, 4))
    for zone, poly in enumerate(polys):
        got = table[table.zone == zone]
        expected = _reference_coverage(poly, transform, (4, 4)) if not poly.is_empty else {}
        assert len(got) == len(expected)
        for r, c, v in zip(got.row, got.col, got.coverage):
            assert v == pytest.approx(expected[(r, c)], abs=1e-12)
    assert (table.groupby("zone").coverage.sum().reindex(range(6), fill_value=0).to_numpy()
            == pytest.approx([9, 1, 8, 0, 0, 1]))


def _small(stats, threshold=None, **kwargs):
    zones = _zones(box(0.5, 0.5, 2, 2), box(0, 0, 1, 1), PLR=["a", "b"])
    options = ZonalOptions(threshold=threshold, transform=SMALL_T, crs=CRS)
    return zonal_statistics(zones, SMALL, stats=stats, options=options, **kwargs)


def test_hand_computed_statistics():
    # zone a covers cell (0,0) by 0.5, (0,1) by 1, (1,0) by 0.25, (1,1) by 0.5
    table, diag = _small(["count", "sum", "mean", "min", "max", "std", "median", "p0", "p100",
                          "majority", "share_above", "share_below"], threshold=2.5)
    a = table.iloc[0]
    w = np.array([0.5, 1.0, 0.25, 0.5])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    mean = (w * v).sum() / w.sum()
    assert a["b1_count"] == pytest.approx(2.25)
    assert a["b1_sum"] == pytest.approx(5.25)
    assert a["b1_mean"] == pytest.approx(5.25 / 2.25)
    assert (a["b1_min"], a["b1_max"]) == (1.0, 4.0)
    assert a["b1_std"] == pytest.approx(np.sqrt((w * (v - mean) ** 2).sum() / w.sum()))
    # weighted quantile: S = 0, 2.5, 5, 6.75; target 0.5 * 6.75 = 3.375 -> 2 + 0.875 / 2.5
    assert a["b1_median"] == pytest.approx(2.35)
    assert (a["b1_p0"], a["b1_p100"]) == (1.0, 4.0)
    assert a["b1_majority"] == 2.0
    assert a["b1_share_above"] == pytest.approx(0.75 / 2.25)
    assert a["b1_share_below"] == pytest.approx(1.5 / 2.25)
    assert a["covered_share"] == pytest.approx(1.0)
    # zone b is exactly cell (1,0)
    b = table.iloc[1]
    assert (b["b1_count"], b["b1_sum"], b["b1_median"], b["b1_std"]) == (1.0, 3.0, 3.0, 0.0)
    assert list(table.index) == [0, 1]
    assert diag["cell_area"] == 1.0


def test_threshold_is_compared_as_the_raster_stores_values():
    # float32 keeps 0.3 as 0.30000001: a cell showing 0.3 is neither above nor below 0.3
    zones = _zones(box(0, 0, 2, 2))
    for dtype in ("float32", "float64"):
        raster = np.array([[0.3, 0.31], [0.29, 0.3]], dtype=dtype)
        table, _ = zonal_statistics(zones, raster, stats=["share_above", "share_below"],
                                    options=ZonalOptions(threshold=0.3, transform=SMALL_T, crs=CRS))
        assert table[["b1_share_above", "b1_share_below"]].iloc[0].tolist() == pytest.approx([0.25, 0.25])


def test_equal_weights_quantiles_are_the_usual_ones():
    values = np.arange(1.0, 26.0).reshape(5, 5) ** 1.5
    zones = _zones(box(0, 0, 5, 5))
    table, _ = zonal_statistics(zones, values, stats=["median", "p10", "p90", "p33.3"],
                                options=ZonalOptions(transform=(1.0, 0, 0.0, 0, -1.0, 5.0), crs=CRS))
    for stat, q in (("median", 50), ("p10", 10), ("p90", 90), ("p33.3", 33.3)):
        assert table[f"b1_{stat}"].iloc[0] == pytest.approx(np.percentile(values, q))


def test_nodata_multiband_prefix_and_partial_overlap():
    data = np.stack([SMALL, SMALL * 10, np.full((2, 2), -1.0)])
    data[0, 1, 1] = -1.0  # nodata in band 1 only
    zones = _zones(box(0.5, 0.5, 2, 2), box(1.5, 1.5, 3.5, 2.5))  # second half outside
    table, diag = zonal_statistics(zones, data, stats="count,mean", prefix="lc_",
                                   options=ZonalOptions(bands=[1, 2], transform=SMALL_T, crs=CRS,
                                                        nodata=-1.0))
    assert list(table.columns) == ["lc_b1_count", "lc_b1_mean", "lc_b2_count", "lc_b2_mean",
                                   "lc_covered_share", "lc_b1_nodata_share", "lc_b2_nodata_share"]
    a = table.iloc[0]
    assert a["lc_b1_count"] == pytest.approx(1.75)
    assert a["lc_b1_mean"] == pytest.approx((0.5 + 2 + 0.75) / 1.75)
    assert a["lc_b1_nodata_share"] == pytest.approx(0.5 / 2.25)
    assert a["lc_b2_mean"] == pytest.approx(52.5 / 2.25)
    assert a["lc_b2_nodata_share"] == 0.0
    b = table.iloc[1]
    assert b["lc_covered_share"] == pytest.approx(0.25 / 2.0)  # 0.5 x 0.5 of 2 m2 on the raster
    assert b["lc_b2_mean"] == 20.0
    assert diag["bands"] == [1, 2]


def test_masked_arrays_nan_and_all_nodata_zone_give_null_with_warning():
    data = np.ma.masked_array(SMALL, mask=[[False, True], [False, False]])
    data2 = np.array([[1.0, np.nan], [3.0, 4.0]])
    zones = _zones(box(1, 1, 2, 2), box(0, 0, 2, 1))
    warnings = []
    for raster in (data, data2):
        table, diag = zonal_statistics(zones, raster, stats=["count", "sum", "mean", "max"],
                                       options=ZonalOptions(transform=SMALL_T, crs=CRS),
                                       feedback=Feedback(on_warning=warnings.append))
        assert table["b1_count"].tolist() == [0.0, 2.0]
        assert np.isnan(table["b1_mean"].iloc[0]) and np.isnan(table["b1_sum"].iloc[0])
        assert table["b1_max"].iloc[1] == 4.0
        assert diag["empty_zones"] == [0]
    assert "1 of 2 areas have no raster data" in warnings[0]


def test_batches_give_the_same_result(tmp_path):
    rng = np.random.default_rng(7)
    values = rng.random((60, 80))
    polys = [_random_polygon(rng, 0, 60) for _ in range(60)]
    zones = _zones(*polys)
    stats = ["count", "sum", "std", "min", "max", "median", "majority"]
    grid = dict(transform=(1.0, 0, 0.0, 0, -1.0, 60.0), crs=CRS)
    one, _ = zonal_statistics(zones, values, stats, options=ZonalOptions(max_cells=10 ** 9, **grid))
    many, _ = zonal_statistics(zones, values, stats, options=ZonalOptions(max_cells=50, **grid))
    pd.testing.assert_frame_equal(one, many, rtol=1e-12, atol=1e-12)


def test_crs_transformation_and_file_input(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    path = str(tmp_path / "r.tif")
    values = np.arange(100, dtype="float32").reshape(10, 10)
    transform = from_origin(390000, 5820000, 30, 30)
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:32633", transform=transform, nodata=-1) as ds:
        ds.write(values, 1)
    zones_utm = _zones(box(390040, 5819750, 390200, 5819900), crs="EPSG:32633")
    zones_etrs = zones_utm.to_crs(CRS)
    zones_geo = zones_utm.to_crs("EPSG:4326")
    direct, d1 = zonal_statistics(zones_utm, path, stats=["count", "mean"])
    via_etrs, d2 = zonal_statistics(zones_etrs, path, stats=["count", "mean"])
    via_geo, _ = zonal_statistics(zones_geo, path, stats=["count", "mean"])
    assert not d1["crs_transformed"] and d2["crs_transformed"]
    assert direct["b1_count"].iloc[0] == pytest.approx(160 * 150 / 900)
    for other in (via_etrs, via_geo):
        assert other["b1_count"].iloc[0] == pytest.approx(direct["b1_count"].iloc[0], rel=1e-6)
        assert other["b1_mean"].iloc[0] == pytest.approx(direct["b1_mean"].iloc[0], rel=1e-6)
    # the input layer is not modified
    assert zones_etrs.crs == CRS


def test_population_weighted_mean_from_raster_and_blocks():
    zones = _zones(box(0, 0, 2, 2), box(0, 0, 1, 2))
    population = np.array([[0.0, 30.0], [10.0, 0.0]])
    table, _ = zonal_statistics(zones, SMALL, stats=["mean", "weighted_mean"],
                                options=ZonalOptions(transform=SMALL_T, crs=CRS),
                                weights=RasterGrid(population, SMALL_T, CRS))
    assert table["b1_weighted_mean"].tolist() == pytest.approx([(2 * 30 + 3 * 10) / 40, 3.0])
    # a coarser population raster (one 2 m cell) spreads evenly: weighted mean = plain mean
    coarse = RasterGrid(np.array([[40.0]]), (2.0, 0, 0.0, 0, -2.0, 2.0), CRS)
    table, _ = zonal_statistics(zones, SMALL, stats=["mean", "weighted_mean"],
                                options=ZonalOptions(transform=SMALL_T, crs=CRS), weights=coarse)
    assert table["b1_weighted_mean"].tolist() == pytest.approx(table["b1_mean"].tolist())
    # blocks: 100 people on the right half (x 1..2), 50 on the lower-left cell
    blocks = _zones(box(1, 0, 2, 2), box(0, 0, 1, 1), pop=[100, 50])
    table, _ = zonal_statistics(zones, SMALL, stats=["weighted_mean"],
                                options=ZonalOptions(transform=SMALL_T, crs=CRS),
                                weights=blocks, weights_field="pop")
    expected = (2 * 50 + 4 * 50 + 3 * 50) / 150
    assert table["b1_weighted_mean"].tolist() == pytest.approx([expected, 3.0])


@pytest.mark.parametrize("case, message", [
    ("no_crs", "no coordinate reference system"),
    ("no_overlap", "do not overlap"),
    ("empty_raster", "is empty"),
    ("all_nodata", "has no valid value"),
    ("duplicate_ids", "duplicate ids"),
    ("non_numeric", "is not numeric"),
    ("unknown_stat", "Unknown statistic 'avg'"),
    ("no_threshold", "need a threshold"),
    ("no_weights", "needs population weights"),
    ("bad_band", "band 3 does not exist"),
    ("points", "must contain polygons"),
    ("rotated", "rotated or sheared"),
])
def test_bad_input_gives_clear_messages(case, message):
    zones = _zones(box(0, 0, 2, 2), box(0, 0, 1, 1), PLR=["a", "b"])
    args = dict(raster=SMALL, stats=["mean"])
    settings = dict(transform=SMALL_T, crs=CRS)
    if case == "no_crs":
        zones = gpd.GeoDataFrame({"PLR": ["a"]}, geometry=[box(0, 0, 2, 2)])
    elif case == "no_overlap":
        zones = _zones(box(100, 100, 101, 101))
    elif case == "empty_raster":
        args["raster"] = np.zeros((1, 0, 0))
    elif case == "all_nodata":
        args["raster"] = np.full((2, 2), -9.0)
        settings["nodata"] = -9.0
    elif case == "duplicate_ids":
        zones["PLR"] = ["a", "a"]
        args["id_field"] = "PLR"
    elif case == "non_numeric":
        args.update(stats=["weighted_mean"], weights=_zones(box(0, 0, 2, 2), pop=["viele"]),
                    weights_field="pop")
    elif case == "unknown_stat":
        args["stats"] = ["avg"]
    elif case == "no_threshold":
        args["stats"] = ["share_above"]
    elif case == "no_weights":
        args["stats"] = ["weighted_mean"]
    elif case == "bad_band":
        settings["bands"] = [3]
    elif case == "points":
        zones = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1], [1]), crs=CRS)
    elif case == "rotated":
        settings["transform"] = (1.0, 0.1, 0.0, 0.0, -1.0, 2.0)
    before = zones.copy()
    with pytest.raises(InputError, match=message):
        zonal_statistics(zones, options=ZonalOptions(**settings), **args)
    pd.testing.assert_frame_equal(pd.DataFrame(zones.drop(columns="geometry")),
                                  pd.DataFrame(before.drop(columns="geometry")))


def test_messages_in_german():
    from kommunalmonitor.core import i18n

    with i18n.language("de"), pytest.raises(InputError, match="überlappen nicht"):
        zonal_statistics(_zones(box(100, 100, 101, 101)), SMALL,
                         options=ZonalOptions(transform=SMALL_T, crs=CRS))


def test_cancel():
    with pytest.raises(CancelledError):
        _small(["mean"], feedback=Feedback(is_cancelled=lambda: True))


# ----------------------------------------------------------------------------------------
# Berlin real data: PLR onto the 30 m cover-fraction raster (EPSG:32633 vs EPSG:25833)
# ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def berlin(berlin_dir):
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    raster = os.path.join(berlin_dir, "berlin_cover_fractions_30m.tif")
    return plr, raster


BERLIN_STATS = ["count", "sum", "mean", "min", "max", "std", "median", "p25", "p90", "majority"]


def test_berlin_cover_fractions_per_planning_area(berlin):
    plr, raster = berlin
    table, diag = zonal_statistics(plr, raster, stats=["count", "mean"], id_field="PLR_ID")
    assert diag["crs_transformed"]
    assert len(table) == 542 and table.index.equals(plr.index)
    covered = table["b1_count"] > 0
    assert 50 < covered.sum() < 542  # the raster covers part of the city
    # the six cover fractions of a pixel add up to 1, so do their means per area
    means = table.loc[covered, [f"b{b}_mean" for b in range(1, 7)]].sum(axis=1)
    assert means.to_numpy() == pytest.approx(1.0, abs=0.02)
    # areas wholly on the raster: covered cells x 900 m2 = the area (in the raster's CRS)
    import rasterio

    with rasterio.open(raster) as ds:
        extent = box(*ds.bounds)
    utm = plr.to_crs(32633)
    inside = utm.within(extent).to_numpy()
    assert inside.sum() > 20
    total = table["b1_count"] / (1 - table["b1_nodata_share"])
    assert (total[inside] * 900).to_numpy() == pytest.approx(utm.area[inside].to_numpy(), rel=1e-9)
    assert table.loc[inside, "covered_share"].to_numpy() == pytest.approx(1.0, rel=1e-9)
    assert (table["covered_share"] <= 1 + 1e-9).all()


@pytest.mark.peers
def test_berlin_equals_exactextract(berlin):
    import exactextract
    plr, raster = berlin
    ours, _ = zonal_statistics(plr, raster, stats=BERLIN_STATS, options=ZonalOptions(bands=[1, 4]))
    ops = [{"std": "stdev", "p25": "quantile(q=0.25)", "p90": "quantile(q=0.90)"}.get(s, s)
           for s in BERLIN_STATS]
    theirs = exactextract.exact_extract(raster, plr.to_crs(32633), ops, output="pandas")
    has = ours["b1_count"].to_numpy() > 0
    for band in (1, 4):
        for stat, op in zip(BERLIN_STATS, ops):
            name = {"quantile(q=0.25)": "quantile_25", "quantile(q=0.90)": "quantile_90"}.get(op, op)
            x = ours[f"b{band}_{stat}"].to_numpy()[has]
            y = theirs[f"band_{band}_{name}"].to_numpy(dtype="float64")[has]
            if stat == "majority":  # ties (equal covered area) may be broken differently
                agree = np.isclose(x, y, rtol=0, atol=1e-6)
                assert agree.mean() > 0.97
                continue
            # exactextract keeps coverage fractions as float32, hence rtol 1e-6
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6, err_msg=f"band {band} {stat}")


@pytest.mark.peers
def test_coverage_equals_exactextract_cell_by_cell(tmp_path):
    import exactextract
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(3)
    path = str(tmp_path / "v.tif")
    transform = from_origin(1000, 2000, 2.5, 2.5)
    with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1, dtype="float64",
                       crs=CRS, transform=transform) as ds:
        ds.write(rng.random((30, 40)), 1)
    polys = [affinity.scale(affinity.translate(_random_polygon(rng, 0, 30), 1000, 1925), 2.5, 2.5,
                            origin=(1000, 1925)) for _ in range(25)]
    zones = _zones(*polys)
    theirs = exactextract.exact_extract(path, zones, ["cell_id", "coverage"], output="pandas")
    ours = coverage_fractions(zones.geometry, transform, (30, 40))
    for zone in range(len(polys)):
        mine = ours[ours.zone == zone]
        got = dict(zip(mine.row * 40 + mine.col, mine.coverage))
        ref = dict(zip(theirs["cell_id"].iloc[zone], theirs["coverage"].iloc[zone]))
        ref = {k: v for k, v in ref.items() if v > 0}
        assert set(got) == set(ref), zone
        assert max(abs(got[k] - ref[k]) for k in ref) < 1e-6


def test_sum_only_path_equals_cell_by_cell_path():
    # without median/percentiles/majority, whole-cell runs are summarised with running sums
    # and reduceat over the window; adding 'median' forces the cell-by-cell path: both agree
    rng = np.random.default_rng(11)
    values = rng.random((50, 70)) * 100
    values[rng.random((50, 70)) < 0.05] = -1.0
    population = rng.integers(0, 50, size=(50, 70)).astype(float)
    zones = _zones(*[_random_polygon(rng, -5, 55) for _ in range(40)])
    args = dict(options=ZonalOptions(transform=(1.0, 0, 0.0, 0, -1.0, 50.0), crs=CRS, nodata=-1.0,
                                     threshold=50.0),
                weights=RasterGrid(population, (1.0, 0, 0.0, 0, -1.0, 50.0), CRS))
    sums = ["count", "sum", "mean", "min", "max", "std", "share_above", "share_below",
            "weighted_mean"]
    fast, _ = zonal_statistics(zones, values, stats=sums, **args)
    cells, _ = zonal_statistics(zones, values, stats=sums + ["median"], **args)
    pd.testing.assert_frame_equal(fast, cells.drop(columns="b1_median"), rtol=1e-9, atol=1e-9)


def test_runs_reaching_the_window_end_and_windows_without_nodata():
    rng = np.random.default_rng(5)
    values = rng.random((20, 30)) * 10
    # three zones reach the last cell of the raster (two overlap there), one lies beyond it
    zones = _zones(box(0, 0, 30, 20), box(10, 0, 40, 12), box(29, 0, 30, 1), box(3.5, 2.2, 9.1, 17.3))
    grid = dict(transform=(1.0, 0, 0.0, 0, -1.0, 20.0), crs=CRS)
    sums = ["count", "sum", "mean", "min", "max", "std"]
    fast, _ = zonal_statistics(zones, values, stats=sums, options=ZonalOptions(max_cells=10 ** 9, **grid))
    cells, _ = zonal_statistics(zones, values, stats=sums + ["median"], options=ZonalOptions(**grid))
    pd.testing.assert_frame_equal(fast, cells.drop(columns="b1_median"), rtol=1e-9, atol=1e-9)
    assert fast["b1_sum"].iloc[0] == pytest.approx(values.sum())
    assert fast["b1_max"].iloc[2] == values[19, 29]
    assert fast["b1_count"].iloc[1] == pytest.approx(20 * 12)


# ----------------------------------------------------------------------------------------
# population weights that give nothing: said, not silently NULL
# ----------------------------------------------------------------------------------------

def _warnings_of(**kwargs):
    warnings = []
    zones = _zones(box(0, 0, 2, 2), box(0, 0, 1, 2), PLR=["a", "b"])
    table, diag = zonal_statistics(zones, SMALL, options=ZonalOptions(transform=SMALL_T, crs=CRS),
                                   feedback=Feedback(on_warning=warnings.append), **kwargs)
    return table, diag, warnings


def test_population_raster_elsewhere_warns_and_keeps_the_other_statistics():
    # a population raster 1 km away from the value raster: no weight under any area
    elsewhere = RasterGrid(np.full((2, 2), 10.0), (1.0, 0, 1000.0, 0, -1.0, 1002.0), CRS)
    table, diag, warnings = _warnings_of(stats=["mean", "weighted_mean"], weights=elsewhere)
    assert table["b1_mean"].tolist() == pytest.approx([2.5, 2.0])
    assert table["b1_weighted_mean"].isna().all()
    assert diag["no_weight_zones"] == [0, 1]
    assert len(warnings) == 1
    assert "population weights 'population raster' are zero or missing under every area" in warnings[0]
    assert "weighted_mean is NULL" in warnings[0]


def test_blocks_elsewhere_name_the_blocks_layer():
    blocks = _zones(box(500, 500, 510, 510), pop=[100])
    blocks.attrs["layer_name"] = "Blöcke 2023"
    table, _, warnings = _warnings_of(stats=["count", "weighted_mean"], weights=blocks,
                                      weights_field="pop")
    assert table["b1_count"].tolist() == pytest.approx([4.0, 2.0])
    assert table["b1_weighted_mean"].isna().all()
    assert "'Blöcke 2023'" in warnings[0]


def test_only_weighted_mean_with_zero_population_is_refused():
    zero = RasterGrid(np.zeros((2, 2)), SMALL_T, CRS)
    with pytest.raises(InputError, match="population weights 'population raster' are zero or missing"):
        _warnings_of(stats=["weighted_mean"], weights=zero)
    blocks = _zones(box(0, 0, 2, 2), pop=[0])
    blocks.attrs["layer_name"] = "Blöcke"
    with pytest.raises(InputError, match="'Blöcke'"):
        _warnings_of(stats=["weighted_mean"], weights=blocks, weights_field="pop")


def test_areas_without_population_are_named():
    # people only in the right column (x 1..2): area b (x 0..1) has none
    population = RasterGrid(np.array([[0.0, 30.0], [0.0, 10.0]]), SMALL_T, CRS)
    table, diag, warnings = _warnings_of(stats=["weighted_mean"], weights=population)
    assert table["b1_weighted_mean"].iloc[0] == pytest.approx((2 * 30 + 4 * 10) / 40)
    assert np.isnan(table["b1_weighted_mean"].iloc[1])
    assert diag["no_weight_zones"] == [1]
    assert warnings == ["1 of 2 areas with raster data have no population in 'population raster' "
                        "under them, e.g. 1; their population-weighted mean is NULL."]


def test_weights_message_in_german():
    from kommunalmonitor.core import i18n

    zero = RasterGrid(np.zeros((2, 2)), SMALL_T, CRS)
    with i18n.language("de"), pytest.raises(InputError, match="Einwohnergewichte 'Einwohnerraster'"):
        _warnings_of(stats=["weighted_mean"], weights=zero)


# ----------------------------------------------------------------------------------------
# shares above / below and the weighted mean against exactextract
# ----------------------------------------------------------------------------------------

def _write_tif(path, array, transform, crs=CRS, nodata=None):
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=1, dtype="float64", crs=crs, transform=transform, nodata=nodata) as ds:
        ds.write(array.astype("float64"), 1)
    return path


def _exactextract_shares(path, zones, values, transform, threshold, nodata, tmp_path, crs=CRS):
    """share_above / share_below from exactextract's ``frac`` (covered share of each distinct
    value) on 0/1 rasters of v > t and v < t, nodata kept."""
    import exactextract

    missing = values == nodata if nodata is not None else ~np.isfinite(values)
    out = {}
    t = np.asarray(threshold, dtype=values.dtype)  # compared as the raster stores it
    for name, hit in (("share_above", values > t), ("share_below", values < t)):
        flag = np.where(missing, -1.0, hit.astype("float64"))
        flag_path = _write_tif(str(tmp_path / f"{name}.tif"), flag, transform, crs, nodata=-1.0)
        theirs = exactextract.exact_extract(flag_path, zones, ["unique", "frac"], output="pandas")
        out[name] = np.array([float(np.sum(np.asarray(f)[np.asarray(u) == 1.0])) if len(u) else np.nan
                              for u, f in zip(theirs["unique"], theirs["frac"])])
    return out


@pytest.mark.peers
@pytest.mark.parametrize("weight_factor", [1, 2])
def test_shares_and_weighted_mean_equal_exactextract(tmp_path, weight_factor):
    import exactextract
    from rasterio.transform import from_origin

    rng = np.random.default_rng(17)
    transform = from_origin(1000, 2000, 2.5, 2.5)
    values = rng.integers(0, 10, size=(30, 40)).astype("float64")  # ties at the threshold 5
    values[rng.random((30, 40)) < 0.08] = -1.0
    path = _write_tif(str(tmp_path / "v.tif"), values, transform, nodata=-1.0)
    # population on the same grid, or on a grid of 2 x 2 cells (exactextract and our
    # averaging resample both give each value cell the weight of the coarse cell around it)
    population = rng.integers(0, 50, size=(30 // weight_factor, 40 // weight_factor)).astype("float64")
    population[:3] = 0.0  # areas in the top rows have no population at all
    w_transform = from_origin(1000, 2000, 2.5 * weight_factor, 2.5 * weight_factor)
    w_path = _write_tif(str(tmp_path / "w.tif"), population, w_transform)
    polys = [affinity.scale(affinity.translate(_random_polygon(rng, 0, 30), 1000, 1925), 2.5, 2.5,
                            origin=(1000, 1925)) for _ in range(30)]
    polys.append(box(1010, 1995, 1030, 1999))  # in the rows without population
    zones = _zones(*polys)
    ours, diag = zonal_statistics(zones, path, stats=["share_above", "share_below", "weighted_mean"],
                                  options=ZonalOptions(threshold=5.0), weights=w_path)
    theirs = exactextract.exact_extract(path, zones, ["weighted_mean"], weights=w_path, output="pandas")
    np.testing.assert_allclose(ours["b1_weighted_mean"], theirs["weighted_mean"].astype("float64"),
                               rtol=1e-6, atol=1e-6, equal_nan=True)
    assert np.isnan(ours["b1_weighted_mean"].iloc[-1]) and len(polys) - 1 in diag["no_weight_zones"]
    shares = _exactextract_shares(path, zones, values, transform, 5.0, -1.0, tmp_path)
    for name in ("share_above", "share_below"):
        np.testing.assert_allclose(ours[f"b1_{name}"], shares[name], rtol=1e-6, atol=1e-6,
                                   equal_nan=True, err_msg=name)
    assert (ours["b1_share_above"] + ours["b1_share_below"] < 1 - 1e-3).any()  # ties excluded


@pytest.mark.peers
def test_berlin_shares_and_weighted_mean_equal_exactextract(berlin, tmp_path):
    import exactextract
    import rasterio

    plr, raster = berlin
    with rasterio.open(raster) as ds:
        roof, tree = ds.read(1), ds.read(4)
        transform, crs = ds.transform, ds.crs.to_wkt()
    # tree cover as the weight raster (nodata → 0), same grid as the values
    w_path = _write_tif(str(tmp_path / "tree.tif"), np.where(tree < 0, 0.0, tree), transform, crs)
    ours, _ = zonal_statistics(plr, raster, stats=["count", "share_above", "share_below",
                                                   "weighted_mean"],
                               options=ZonalOptions(bands=[1], threshold=0.3), weights=w_path)
    utm = plr.to_crs(32633)
    roof_path = _write_tif(str(tmp_path / "roof.tif"), roof, transform, crs, nodata=-1.0)
    theirs = exactextract.exact_extract(roof_path, utm, ["weighted_mean"], weights=w_path,
                                        output="pandas")
    has = ours["b1_count"].to_numpy() > 0
    assert has.sum() > 50
    np.testing.assert_allclose(ours["b1_weighted_mean"].to_numpy()[has],
                               theirs["weighted_mean"].to_numpy(dtype="float64")[has],
                               rtol=1e-6, atol=1e-6, equal_nan=True)
    shares = _exactextract_shares(raster, utm, roof, transform, 0.3, -1.0, tmp_path, crs=crs)
    for name in ("share_above", "share_below"):
        np.testing.assert_allclose(ours[f"b1_{name}"].to_numpy()[has], shares[name][has],
                                   rtol=1e-6, atol=1e-6, err_msg=name)


def test_settings_come_as_one_options_object():
    """ZonalOptions() holds the defaults; stats and prefix stay plain (the documented call)."""
    plain, _ = zonal_statistics(_zones(box(0.5, 0.5, 2, 2)), RasterGrid(SMALL, SMALL_T, CRS), stats=["mean"],
                                prefix="x_")
    described, _ = zonal_statistics(_zones(box(0.5, 0.5, 2, 2)), SMALL, stats=["mean"], prefix="x_",
                                    options=ZonalOptions(transform=SMALL_T, crs=CRS, max_cells=1_000_000))
    pd.testing.assert_frame_equal(plain, described)
    with pytest.raises(TypeError, match="ZonalOptions"):
        zonal_statistics(_zones(box(0, 0, 1, 1)), SMALL, ["mean"], "", [1])
    with pytest.raises(TypeError, match="transform"):
        zonal_statistics(_zones(box(0, 0, 1, 1)), SMALL, transform=SMALL_T, crs=CRS)
