"""Areal interpolation against independent references (current stack): tobler's intensive
estimator, and the dasymetric mode against a hand computation with geopandas overlays.

tobler's intensive estimate for target j is sum_i v_i a_ij / sum_k a_kj (a = overlap area),
with NULL values read as 0 and 0 for a target no source touches. Ours is the same weighted
mean over the known values, NULL where no source touches. So on targets covered by sources
and values without NULLs, both must agree to rounding.
"""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPoint, box
from shapely.ops import unary_union

from kommunalmonitor.core.overlay.interpolate import InterpolationOptions, area_interpolate

CRS = "EPSG:25833"
EXTENT = box(0, 0, 1000, 800)


def _voronoi(rng, n, extent=EXTENT):
    """Irregular tessellation of ``extent``: Voronoi cells of n random points, clipped."""
    from shapely.ops import voronoi_diagram

    minx, miny, maxx, maxy = extent.bounds
    points = MultiPoint([tuple(p) for p in rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))])
    cells = [cell.intersection(extent) for cell in voronoi_diagram(points, envelope=extent).geoms]
    return [c for c in cells if not c.is_empty and c.area > 0]


def _frame(geoms, rng, **fields):
    frame = gpd.GeoDataFrame(geometry=list(geoms), crs=CRS)
    for name, (lo, hi) in fields.items():
        frame[name] = rng.uniform(lo, hi, len(frame))
    return frame


def _synthetic(seed=1):
    rng = np.random.default_rng(seed)
    sources = _frame(_voronoi(rng, 60), rng, pop=(0, 2000), rate=(0, 40), income=(900, 3000))
    targets = _frame(_voronoi(rng, 17), rng)
    targets["id"] = [f"T{i}" for i in range(len(targets))]
    return rng, sources, targets


@pytest.mark.peers
def test_intensive_equals_tobler_on_voronoi_tessellations():
    import tobler.area_weighted

    _, sources, targets = _synthetic()
    out, _ = area_interpolate(sources, targets, intensive=["rate", "income"], target_id="id")
    ref = tobler.area_weighted.area_interpolate(sources, targets,
                                                intensive_variables=["rate", "income"])
    assert out["covered_share"].to_numpy() == pytest.approx(1.0, rel=1e-9)
    for field in ("rate", "income"):
        np.testing.assert_allclose(out[field].to_numpy(), ref[field].to_numpy(), rtol=1e-6,
                                   err_msg=field)


@pytest.mark.peers
def test_intensive_weighted_by_population_equals_ratio_of_tobler_counts():
    # a population-weighted mean of 'rate' is the transferred count pop*rate over the
    # transferred pop: two extensive transfers in tobler (share of each source by area)
    import tobler.area_weighted

    _, sources, targets = _synthetic(seed=2)
    sources["pop_rate"] = sources["pop"] * sources["rate"]
    out, _ = area_interpolate(sources, targets, intensive=["rate"],
                              options=InterpolationOptions(weight_field="pop"))
    ref = tobler.area_weighted.area_interpolate(sources, targets,
                                                extensive_variables=["pop_rate", "pop"],
                                                allocate_total=False)
    np.testing.assert_allclose(out["rate"].to_numpy(), (ref["pop_rate"] / ref["pop"]).to_numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(out["rate_weight"].to_numpy(), ref["pop"].to_numpy(), rtol=1e-6)


def _blocks_and_plr(berlin_dir, district):
    blocks = gpd.read_file(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"))
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = blocks.to_crs(plr.crs)
    blocks = blocks[blocks["BEZIRK"].astype(str).str.lstrip("0") == district]
    blocks = blocks[blocks.is_valid].reset_index(drop=True)  # tobler does not repair
    plr = plr[plr["PLR_ID"].str[:2].astype(int) == int(district)].reset_index(drop=True)
    return blocks, plr


@pytest.mark.peers
def test_berlin_blocks_intensive_onto_plr_equal_tobler(berlin_dir):
    import tobler.area_weighted

    blocks, plr = _blocks_and_plr(berlin_dir, "1")
    rng = np.random.default_rng(11)
    blocks["rate"] = rng.uniform(0, 60, len(blocks))
    out, _ = area_interpolate(blocks, plr, intensive=["rate"], target_id="PLR_ID")
    ref = tobler.area_weighted.area_interpolate(blocks, plr, intensive_variables=["rate"])
    touched = out["covered_share"].to_numpy() > 0
    assert touched.mean() > 0.9
    np.testing.assert_allclose(out["rate"].to_numpy()[touched], ref["rate"].to_numpy()[touched],
                               rtol=1e-6)
    # where no block lies, ours is NULL (unknown), tobler's 0
    assert out["rate"][~touched].isna().all()


# ----------------------------------------------------------------------------------------
# dasymetric mode against a hand computation
# ----------------------------------------------------------------------------------------

def _dasymetric_reference(sources, targets, ancillary, extensive, intensive, density_field=None):
    """Sources cut by the ancillary polygons, the pieces cut by the targets (geopandas
    overlays), each piece weighted by its area x ancillary density; sources without any
    ancillary cover keep their whole area. Extensive: v_i W_ij / sum_j W_ij over the whole
    source; intensive: sum_i v_i W_ij / sum_i W_ij."""
    s = gpd.GeoDataFrame({"_s": np.arange(len(sources))}, geometry=sources.geometry.values, crs=CRS)
    t = gpd.GeoDataFrame({"_t": np.arange(len(targets))}, geometry=targets.geometry.values, crs=CRS)
    area = ancillary.area.to_numpy()
    density = (ancillary[density_field].to_numpy() / area) if density_field else np.ones(len(ancillary))
    a = gpd.GeoDataFrame({"_d": density}, geometry=ancillary.geometry.values, crs=CRS)
    pieces = gpd.overlay(s, a, how="intersection", keep_geom_type=True)
    pieces = pieces[pieces["_d"] * pieces.area > 0]
    source_weight = (pieces["_d"] * pieces.area).groupby(pieces["_s"]).sum()
    source_weight = source_weight.reindex(range(len(sources)), fill_value=0.0)
    fallback = s[(source_weight == 0).to_numpy()].assign(_d=1.0)
    source_weight[fallback["_s"]] = fallback.area.to_numpy()
    parts = gpd.overlay(pd.concat([pieces, fallback], ignore_index=True), t, how="intersection",
                        keep_geom_type=True)
    parts["w"] = parts["_d"] * parts.area
    W = parts.groupby(["_s", "_t"])["w"].sum().unstack(fill_value=0.0)
    W = W.reindex(index=range(len(sources)), columns=range(len(targets)), fill_value=0.0).to_numpy()
    out = {}
    for field in extensive:
        v = sources[field].to_numpy()
        out[field] = (v / source_weight.to_numpy()) @ W
    for field in intensive:
        v = sources[field].to_numpy()
        with np.errstate(invalid="ignore"):
            out[field] = (v @ W) / W.sum(axis=0)
    return out, int(len(fallback))


def _residential_blocks(rng, n=12, extent=EXTENT):
    """Non-overlapping 'blocks' (one random box per cell of an n x n grid, streets between),
    crossing source and target boundaries; dwellings as density field."""
    minx, miny, maxx, maxy = extent.bounds
    w, h = (maxx - minx) / n, (maxy - miny) / n
    geoms = []
    for i in range(n):
        for k in range(n):
            x0, y0 = minx + i * w, miny + k * h
            fx = np.sort(rng.uniform(0.05, 0.95, 2))
            fy = np.sort(rng.uniform(0.05, 0.95, 2))
            geoms.append(box(x0 + fx[0] * w, y0 + fy[0] * h, x0 + fx[1] * w, y0 + fy[1] * h))
    blocks = gpd.GeoDataFrame(geometry=geoms, crs=CRS)
    blocks["dw"] = rng.integers(0, 80, len(blocks)).astype(float)  # some blocks with 0
    return blocks


@pytest.mark.peers
@pytest.mark.parametrize("density_field", [None, "dw"])
def test_dasymetric_equals_hand_computed_overlay(density_field):
    rng, sources, targets = _synthetic(seed=3)
    blocks = _residential_blocks(rng)
    out, diag = area_interpolate(sources, targets, extensive=["pop"], intensive=["rate"],
                                 ancillary=blocks,
                                 options=InterpolationOptions(ancillary_field=density_field))
    ref, n_fallback = _dasymetric_reference(sources, targets, blocks, ["pop"], ["rate"],
                                            density_field)
    assert diag["dasymetric_fallback"] == n_fallback
    np.testing.assert_allclose(out["pop"].to_numpy(), ref["pop"], rtol=1e-6)
    np.testing.assert_allclose(out["rate"].to_numpy(), ref["rate"], rtol=1e-6, equal_nan=True)
    assert out["pop"].sum() == pytest.approx(sources["pop"].sum(), rel=1e-9)


@pytest.mark.peers
def test_dasymetric_by_area_equals_tobler_on_sources_clipped_to_the_blocks():
    # without a density field, dasymetric = plain area weighting of the inhabited part of
    # each source: tobler on the sources cut to the (non-overlapping) blocks
    import tobler.area_weighted

    rng, sources, targets = _synthetic(seed=4)
    blocks = _residential_blocks(rng, n=20)
    inhabited = unary_union(list(blocks.geometry))
    clipped = sources.copy()
    clipped["geometry"] = sources.geometry.intersection(inhabited)
    assert not clipped.geometry.is_empty.any()  # no fallback in this case
    out, diag = area_interpolate(sources, targets, extensive=["pop"], intensive=["rate"],
                                 ancillary=blocks)
    ref = tobler.area_weighted.area_interpolate(clipped, targets, extensive_variables=["pop"],
                                                intensive_variables=["rate"])
    assert diag["dasymetric_fallback"] == 0
    np.testing.assert_allclose(out["pop"].to_numpy(), ref["pop"].to_numpy(), rtol=1e-6)
    touched = out["rate_weight"].to_numpy() > 0
    np.testing.assert_allclose(out["rate"].to_numpy()[touched], ref["rate"].to_numpy()[touched],
                               rtol=1e-6)


@pytest.mark.peers
def test_berlin_plr_onto_a_grid_through_the_blocks_equals_hand_computation(berlin_dir):
    # PLR (sources) → 500 m squares cut to the district (targets, wholly covered by the PLR),
    # spread only onto the 2010 blocks
    blocks, plr = _blocks_and_plr(berlin_dir, "1")
    rng = np.random.default_rng(5)
    plr["pop"] = rng.integers(0, 8000, len(plr)).astype(float)
    plr["rate"] = rng.uniform(0, 50, len(plr))
    district = unary_union(list(plr.geometry))
    minx, miny, maxx, maxy = district.bounds
    squares = [box(x, y, x + 500, y + 500).intersection(district)
               for x in np.arange(minx, maxx, 500) for y in np.arange(miny, maxy, 500)]
    targets = gpd.GeoDataFrame(geometry=[g for g in squares if g.area > 1.0], crs=CRS)
    targets = targets[targets.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    out, diag = area_interpolate(plr, targets, extensive=["pop"], intensive=["rate"],
                                 ancillary=blocks)
    ref, n_fallback = _dasymetric_reference(plr, targets, blocks, ["pop"], ["rate"])
    assert diag["dasymetric_fallback"] == n_fallback
    np.testing.assert_allclose(out["pop"].to_numpy(), ref["pop"], rtol=1e-6, atol=1e-6)
    touched = np.isfinite(ref["rate"])
    assert touched.mean() > 0.8
    np.testing.assert_allclose(out["rate"].to_numpy()[touched], ref["rate"][touched], rtol=1e-6)
    assert out["rate"][~touched].isna().all()
