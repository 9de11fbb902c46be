"""Accessibility: nearest distance and 2SFCA, hand-computed and on Berlin kitas."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.overlay.accessibility import (AccessibilityOptions, accessibility, decay_weights,
                                                        two_step_fca)

CRS = "EPSG:25833"


def _residences():
    return gpd.GeoDataFrame({"kids": [100.0, 50.0, 0.0, np.nan]},
                            geometry=[Point(0, 0), Point(300, 0), Point(5, 5), Point(9, 9)], crs=CRS)


def _facilities():
    return gpd.GeoDataFrame({"places": [30.0, 60.0]}, geometry=[Point(0, 400), Point(300, 800)], crs=CRS)


def _areas():
    return gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[box(-100, -100, 150, 100), box(150, -100, 400, 100)],
                            crs=CRS)


def test_nearest_distance_share_beyond_and_2sfca_by_hand():
    res, area, diag = accessibility(_residences(), _facilities(), "kids", _areas(), "id", "places",
                                    AccessibilityOptions(threshold=450, catchment=600))
    # residence 0: facility 0 at 400 m; residence 1: facility 0 at 500 m
    assert res["distance"].tolist() == pytest.approx([400.0, 500.0])
    assert diag["missing_population"] == 1 and diag["residences"] == 2
    # 2SFCA without decay: facility 0 reaches both (150 kids) → 30/150; facility 1 reaches
    # residence 1 only (d = 800 > 600? no: sqrt(0 + 800²) = 800 → out of reach)
    assert res["access"].tolist() == pytest.approx([20.0, 20.0])
    assert area["population"].tolist() == [100.0, 50.0]
    assert area["dist_mean"].tolist() == pytest.approx([400.0, 500.0])
    assert area["share_beyond"].tolist() == pytest.approx([0.0, 100.0])
    assert area["population_beyond"].tolist() == pytest.approx([0.0, 50.0])
    assert diag["capacity_reached"] == 30.0 and diag["facilities_without_residents"] == 1
    assert area["small_base"].tolist() == [True, True]


def test_2sfca_conserves_capacity_with_decay():
    rng = np.random.default_rng(0)
    res_xy = rng.uniform(0, 5000, (400, 2))
    pop = rng.integers(1, 100, 400).astype(float)
    fac_xy = rng.uniform(0, 5000, (30, 2))
    cap = rng.integers(20, 150, 30).astype(float)
    for decay in ("none", "linear", "gaussian"):
        index, ratio, demand = two_step_fca(res_xy, pop, fac_xy, cap, 1200.0, decay, per=1.0)
        served = demand > 0
        assert (pop * index).sum() == pytest.approx(cap[served].sum(), rel=1e-12)
    # brute-force reference for the Gaussian case
    d = np.hypot(res_xy[:, None, 0] - fac_xy[None, :, 0], res_xy[:, None, 1] - fac_xy[None, :, 1])
    w = decay_weights(d, 1200.0, "gaussian")
    r = cap / (pop[:, None] * w).sum(axis=0)
    expected = (w * np.where(np.isfinite(r), r, 0)[None, :]).sum(axis=1)
    index, _, _ = two_step_fca(res_xy, pop, fac_xy, cap, 1200.0, "gaussian", per=1.0)
    np.testing.assert_allclose(index, expected, rtol=1e-12)


def test_decay_functions():
    assert decay_weights([0, 500, 1000, 1001], 1000, "linear").tolist() == pytest.approx([1, 0.5, 0, 0])
    g = decay_weights([0, 1000], 1000, "gaussian")
    assert g.tolist() == pytest.approx([1.0, 0.0])
    with pytest.raises(InputError, match="decay"):
        decay_weights([1], 10, "cubic")


def test_accessibility_bad_input():
    with pytest.raises(InputError, match="different coordinate"):
        accessibility(_residences(), _facilities().set_crs("EPSG:3035", allow_override=True), "kids")
    with pytest.raises(InputError, match="population above 0"):
        accessibility(_residences().assign(kids=0.0), _facilities(), "kids")
    with pytest.raises(InputError, match="greater than 0"):
        accessibility(_residences(), _facilities(), "kids", options=AccessibilityOptions(catchment=-5))
    far_areas = _areas().set_geometry(_areas().geometry.translate(10000, 0))
    with pytest.raises(InputError, match="No residence"):
        accessibility(_residences(), _facilities(), "kids", far_areas, "id")
    overlapping = _areas().set_geometry([box(-100, -100, 200, 100), box(150, -100, 400, 100)])
    with pytest.raises(InputError, match="Areas 'W' and 'E' .* overlap"):
        accessibility(_residences().assign(kids=[1.0, 2.0, 3.0, 4.0]).set_geometry(
            [Point(0, 0), Point(175, 0), Point(5, 5), Point(9, 9)]), _facilities(), "kids", overlapping, "id")


def test_berlin_kitas_from_zensus_cells(berlin_dir):
    plr = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    kitas = gpd.read_file(os.path.join(berlin_dir, "kitas.geojson"))
    kitas["e_platz"] = pd.to_numeric(kitas["e_platz"])
    table = pd.read_csv(os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv"), sep=";")
    table["kids"] = pd.to_numeric(table["alter_unter10"])
    # district Mitte and 2 km around it (keeps the test fast on the QGIS stack)
    plr = plr[plr["PLR_ID"].str[:2] == "01"]
    x0, y0, x1, y1 = plr.to_crs("EPSG:3035").total_bounds
    table = table[table.x_mp_100m.between(x0 - 2000, x1 + 2000) & table.y_mp_100m.between(y0 - 2000, y1 + 2000)]
    cells = gpd.GeoDataFrame(table[["kids"]], geometry=gpd.points_from_xy(table.x_mp_100m, table.y_mp_100m),
                             crs="EPSG:3035")
    options = AccessibilityOptions(threshold=500, catchment=1000, decay="gaussian", reproject=True)
    res, area, diag = accessibility(cells, kitas, "kids", plr, "PLR_ID", "e_platz", options)
    assert diag["population"] == pytest.approx(table["kids"].sum())
    assert (res["population"] * res["access"]).sum() / 100 == pytest.approx(diag["capacity_reached"], rel=1e-9)
    # nearest distance: brute force on a sample of cells
    sample = res.sample(200, random_state=0)
    k = np.column_stack([kitas.geometry.x, kitas.geometry.y])
    brute = np.sqrt(((sample.geometry.x.to_numpy()[:, None] - k[None, :, 0]) ** 2
                     + (sample.geometry.y.to_numpy()[:, None] - k[None, :, 1]) ** 2).min(axis=1))
    np.testing.assert_allclose(sample["distance"].to_numpy(), brute, rtol=1e-12)
    inner = area["population"] > 0
    assert area.loc[inner, "dist_mean"].median() < 400  # Berlin is dense with kitas
    assert area["population"].sum() + diag["population_outside_areas"] == pytest.approx(diag["population"])


def test_settings_come_as_one_options_object():
    """The distance settings are one AccessibilityOptions; an old positional threshold is refused."""
    plain = accessibility(_residences(), _facilities(), "kids", _areas(), "id", "places")
    same = accessibility(_residences(), _facilities(), "kids", _areas(), "id", "places",
                         AccessibilityOptions(decay="none", per=100.0))
    pd.testing.assert_frame_equal(plain[1], same[1])
    with pytest.raises(TypeError, match="AccessibilityOptions"):
        accessibility(_residences(), _facilities(), "kids", _areas(), "id", "places", 450)
    with pytest.raises(TypeError, match="catchment"):
        accessibility(_residences(), _facilities(), "kids", catchment=600)
