"""Hot spots: hand-computed LISA/Gi*/FDR, esda on the current stack, Berlin MSS 2021."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.priorities import hotspots as H
from kommunalmonitor.core.priorities import weights as W


def grid(nrows, ncols, values):
    cells = [box(c, r, c + 1, r + 1) for r in range(nrows) for c in range(ncols)]
    return gpd.GeoDataFrame({"v": values}, geometry=cells, crs="EPSG:25833")


def chain():
    return W.from_lists([[1], [0, 2], [1, 3], [2]])


def test_fdr_hand_computed():
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    # sorted .005 .01 .03 .04 .2 against i*0.05/5 = .01 .02 .03 .04 .05 -> k = 4
    assert np.allclose(H.fdr_adjust(p), [0.025, 0.05, 0.05, 0.025, 0.2])
    assert H.fdr_cutoff(p, 0.05) == 0.04
    assert H.fdr_cutoff([0.5, 0.9], 0.05) == 0.0
    assert np.isnan(H.fdr_adjust([np.nan, 0.01])[0])


@pytest.mark.peers
def test_fdr_same_decisions_as_esda():
    import esda
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(0, 0.001, 30), rng.uniform(0, 1, 300)])
    ours = H.fdr_adjust(p) <= 0.05
    theirs = p < esda.fdr(p, 0.05)
    assert ours.sum() > 10 and (ours == theirs).all()


def test_local_moran_and_gi_star_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    out, diag = H.local_moran(y, chain(), permutations=0)
    # z = (y - 2.5)/sqrt(1.25) = [-1.342, -0.447, 0.447, 1.342]; lag(z) = [-0.447, -0.447, 0.447,
    # 0.447]; sum z^2 = 4; I = (n - 1) z lag / sum z^2 = [0.45, 0.15, 0.15, 0.45]
    assert np.allclose(out["lisa_i"], [0.45, 0.15, 0.15, 0.45])
    assert list(out["lisa_quad"][[0, 3]]) == ["LL", "HH"]
    gi, _ = H.gi_star(y, chain(), permutations=0, transform="b")
    # area 0: sum over {0,1} = 3, W = S1 = 2: z = (3 - 2.5*2) / (sqrt(1.25) * sqrt((4*2 - 4)/3))
    assert gi["gi_z"][0] == pytest.approx(-2 / (np.sqrt(1.25) * np.sqrt(4 / 3)))
    assert gi["gi"][0] == pytest.approx(3 / 10)


def _esda_w(weights, libpysal):
    return libpysal.weights.W({i: list(map(int, nb)) for i, nb in enumerate(weights.neighbour_lists())},
                              silence_warnings=True)


@pytest.mark.peers
def test_statistics_equal_esda_and_p_values_within_permutation_tolerance():
    """Same weights: I, quadrants, Gi*, binary Gi* z equal esda exactly; pseudo p-values use
    other random numbers (esda draws with its own scheme), so they agree within permutation
    noise (sd of a pseudo p with 999 permutations <= 0.016)."""
    import esda
    import libpysal
    rng = np.random.default_rng(7)
    n = 15
    base = np.add.outer(np.arange(n), np.arange(n)).ravel() / 4.0
    y = base + rng.normal(0, 1.5, n * n)
    g = grid(n, n, y)
    w = W.build_weights(g, "queen")
    ours, _ = H.local_moran(y, w, permutations=999, seed=1)
    wl = _esda_w(w, libpysal)
    wl.transform = "r"
    ref = esda.Moran_Local(y, wl, permutations=999, seed=1)
    assert np.allclose(ours["lisa_i"], ref.Is)
    assert (ours["lisa_quad"].map({"HH": 1, "LH": 2, "LL": 3, "HL": 4}).to_numpy() == ref.q).all()
    diff = np.abs(ours["lisa_p"].to_numpy() - ref.p_sim)
    assert diff.max() < 0.08 and diff.mean() < 0.02
    gb, _ = H.gi_star(y, w, permutations=999, seed=1, transform="b")
    refb = esda.G_Local(y, _esda_w(w, libpysal), transform="B", star=True, permutations=999, seed=1)
    assert np.allclose(gb["gi"], refb.Gs) and np.allclose(gb["gi_z"], refb.Zs)
    diff = np.abs(gb["gi_p"].to_numpy() - refb.p_sim)
    assert diff.max() < 0.08 and diff.mean() < 0.02
    gr, _ = H.gi_star(y, w, permutations=999, seed=1, transform="r")
    with pytest.warns(UserWarning):
        refr = esda.G_Local(y, _esda_w(w, libpysal), transform="R", star=True, permutations=999, seed=1)
    assert np.allclose(gr["gi"], refr.Gs)
    diff = np.abs(gr["gi_p"].to_numpy() - refr.p_sim)
    assert diff.max() < 0.08 and diff.mean() < 0.02


def test_same_seed_same_result_and_planted_hot_spot_found():
    y = np.zeros(100)
    y[:] = np.random.default_rng(3).normal(0, 1, 100)
    planted = [44, 45, 54, 55, 34, 35, 64, 65]
    y[planted] += 4
    g = grid(10, 10, y)
    w = W.build_weights(g, "queen")
    a, d = H.hot_spots(g, "v", w, seed=5)
    b, _ = H.hot_spots(g, "v", w, seed=5)
    c, _ = H.hot_spots(g, "v", w, seed=6)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert not np.array_equal(a["lisa_p"], c["lisa_p"])
    assert set(np.flatnonzero(a["lisa_code"] == "HH")) <= set(planted) | {24, 25, 74, 75, 43, 46, 53, 56}
    assert (a.loc[[44, 45, 54, 55], "gi_bin"] >= 2).all()
    assert d["lisa"]["global_moran_i"] > 0.2 and d["lisa"]["global_moran_p"] < 0.01


def test_degenerate_inputs_give_clear_messages():
    g = grid(2, 2, [1.0, 1.0, 1.0, 1.0])
    w = W.build_weights(g, "queen")
    with pytest.raises(InputError, match="same value"):
        H.hot_spots(g, "v", w)
    one = grid(1, 1, [3.0])
    with pytest.raises(InputError, match="at least 3 areas"):
        H.hot_spots(one, "v", W.build_weights(one, "queen"))
    far = gpd.GeoDataFrame({"v": [1.0, 2.0, 5.0]}, geometry=[box(0, 0, 1, 1), box(5, 5, 6, 6), box(9, 9, 10, 10)],
                           crs="EPSG:25833")
    with pytest.raises(InputError, match="No area"):
        H.hot_spots(far, "v", W.build_weights(far, "queen"))
    g = gpd.GeoDataFrame({"v": [1.0, 2.0, 4.0, 9.0]},
                         geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(50, 50, 51, 51)],
                         crs="EPSG:25833")
    out, diag = H.hot_spots(g, "v", W.build_weights(g, "queen"), H.HotSpotOptions(permutations=99))
    assert out["lisa_code"].iloc[3] == "none" and out["lisa_label"].iloc[3] == "No neighbours"
    assert "no neighbours" in diag["warnings"][0]


def test_berlin_child_poverty_hot_spots(berlin_mss):
    frame = berlin_mss
    w = W.build_weights(frame, "queen")
    out, diag = H.hot_spots(frame, "S4", w, seed=2021)
    assert diag["lisa"]["n_null"] == 6 and diag["lisa"]["global_moran_i"] > 0.4
    hh = out["lisa_code"] == "HH"
    ll = out["lisa_code"] == "LL"
    assert hh.sum() > 20 and ll.sum() > 20
    # hot spots lie in the high tail of child poverty, cold spots in the low tail
    assert out.loc[hh, "S4"].min() > out["S4"].median() and out.loc[ll, "S4"].max() < out["S4"].mean()
    assert (out.loc[out["gi_bin"] >= 2, "S4"].mean()) > 2 * out["S4"].mean() * 0.7
    # Gi* hot spots concentrate in the districts Mitte (01) and Neukölln (08)
    hot_districts = out.loc[out["gi_bin"] > 0, "PLR_ID"].str[:2].value_counts()
    assert set(hot_districts.index[:2]) <= {"01", "08", "12", "07", "10"}


def test_sensitivity_to_the_neighbour_definition():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, 100)
    core_cells = [44, 45, 54, 55]
    y[core_cells] += 5
    g = grid(10, 10, y)
    out, diag = H.hot_spots(g, "v", W.build_weights(g, "queen"),
                            H.HotSpotOptions(permutations=999, fdr=False, sensitivity=True), seed=1)
    assert diag["sensitivity"] == ["rook", "knn6", "knn8"]
    assert out["gi_robust"].between(0.25, 1).all() and out["lisa_robust"].between(0.25, 1).all()
    # the planted core is a 99 % hot spot and mostly stays one under the other definitions
    assert (out.loc[core_cells, "gi_bin"] == 3).all() and out.loc[core_cells, "gi_robust"].mean() >= 0.75
    assert (out["gi_robust"] < 1).any()
    from kommunalmonitor.core.priorities import ranking as R

    ranked, d = R.rank_priorities(out, "hotspot", R.RankingOptions(hotspot_field="gi_bin"))
    assert d["robustness_source"] == "neighbour_definitions"
    assert np.allclose(ranked["robustness"], out["gi_robust"])


def test_settings_come_as_one_options_object():
    """HotSpotOptions() holds the defaults; the old separate keywords are gone, not silently ignored."""
    g = grid(4, 4, np.random.default_rng(2).normal(0, 1, 16))
    w = W.build_weights(g, "queen")
    a, _ = H.hot_spots(g, "v", w, seed=4)
    defaults = H.HotSpotOptions(method="both", permutations=999, transform="r", alpha=0.05, fdr=True,
                                gi_pvalue="permutation", sensitivity=False)
    b, _ = H.hot_spots(g, "v", w, defaults, seed=4)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    with pytest.raises(TypeError, match="HotSpotOptions"):
        H.hot_spots(g, "v", w, "lisa")
    with pytest.raises(TypeError, match="permutations"):
        H.hot_spots(g, "v", w, permutations=99)
