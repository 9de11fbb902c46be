"""Series and change: hand-computed tests, classes, convergence; peers statsmodels and esda."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.monitoring.change import (ChangeOptions, benjamini_hochberg, change_between,
                                                    eb_shrink, exact_conditional_test,
                                                    score_test_proportions, trend)
from kommunalmonitor.core.monitoring.series import check_observations, period_years


def _obs(rows):
    """Long-form frame from (area, period, numerator, denominator) tuples, value in %."""
    frame = pd.DataFrame(rows, columns=["area_id", "period", "numerator", "denominator"])
    frame["indicator"] = "unemployment"
    frame["value"] = 100.0 * frame["numerator"] / frame["denominator"]
    return frame


def test_three_points_on_400_residents_is_noise_but_not_on_4000():
    # hand: pooled 92/800 = 0.115, var = 0.115·0.885·(2/400), z = 0.03/0.022558 = 1.3299
    obs = check_observations(_obs([("small", 2020, 40, 400), ("small", 2022, 52, 400),
                                   ("large", 2020, 400, 4000), ("large", 2022, 520, 4000)]))
    result = change_between(obs, "unemployment", 2020, 2022)
    table = result.table.set_index("area_id")
    assert table.loc["small", "change_pp"] == pytest.approx(3.0)
    assert table.loc["small", "change_abs"] == pytest.approx(3.0)
    assert table.loc["small", "change_rel"] == pytest.approx(30.0)
    assert table.loc["small", "statistic"] == pytest.approx(1.32993, abs=1e-4)
    assert table.loc["small", "p_value"] == pytest.approx(0.18355, abs=1e-4)
    assert not table.loc["small", "significant"]
    assert table.loc["small", "change_class"] == 3  # worse (unemployment up), within noise
    # z = 0.03 / sqrt(0.115·0.885·2/4000) = 4.2055
    assert table.loc["large", "statistic"] == pytest.approx(4.2055, abs=1e-3)
    assert table.loc["large", "significant"]
    assert table.loc["large", "change_class"] == 4
    assert result.diagnostics["test"] == "score"
    # city: 440/4400 = 10 % → 572/4400 = 13 %
    assert table.loc["small", "city_start"] == pytest.approx(10.0)
    assert table.loc["small", "city_end"] == pytest.approx(13.0)


def test_exact_conditional_test_hand_case():
    # x2 | 12 events ~ Bin(12, 1/2); P(X ≥ 10) = (1 + 12 + 66) / 4096, two-sided doubled
    stat, p = exact_conditional_test([2], [1.0], [10], [1.0])
    assert p[0] == pytest.approx(158 / 4096)
    assert stat[0] == pytest.approx(np.log(5.0))


def test_counts_without_base_use_the_exact_poisson_test_and_desired_up():
    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b"], "period": [2019, 2023, 2019, 2023],
                        "indicator": "places", "value": [2.0, 10.0, 5.0, 5.0]})
    result = change_between(check_observations(obs), "places", 2019, 2023,
                            ChangeOptions(desired="up"))
    table = result.table.set_index("area_id")
    assert result.diagnostics["test"] == "exact"
    assert table.loc["a", "p_value"] == pytest.approx(158 / 4096)
    assert table.loc["a", "change_class"] == 1  # more places is better, significant
    assert table.loc["b", "change_class"] == 0
    assert table.loc["b", "p_value"] == pytest.approx(1.0)


def test_benjamini_hochberg_hand_case():
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5, np.nan])
    np.testing.assert_allclose(q[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(q[4])


def test_fdr_makes_fewer_areas_significant():
    rows = []
    for i, (a, b) in enumerate([(40, 60), (40, 58), (40, 41), (40, 39), (40, 42)]):
        rows += [(f"p{i}", 2020, a, 400), (f"p{i}", 2022, b, 400)]
    obs = check_observations(_obs(rows))
    plain = change_between(obs, "unemployment", 2020, 2022).table
    corrected = change_between(obs, "unemployment", 2020, 2022, ChangeOptions(fdr=True)).table
    assert (corrected["q_value"] >= corrected["p_value"] - 1e-12).all()
    assert corrected["significant"].sum() <= plain["significant"].sum()


def test_empirical_bayes_hand_case():
    # m = 0.2, s² = 0.01, A = 0.01 − 0.2/100 = 0.008, C = 0.008 / 0.010 = 0.8
    rates, post, info = eb_shrink([10, 30], [100, 100], model="poisson")
    np.testing.assert_allclose(rates, [0.12, 0.28])
    np.testing.assert_allclose(post, [0.0016, 0.0016])
    assert info["prior_variance"] == pytest.approx(0.008)


def test_shrinkage_pulls_small_areas_towards_the_city():
    rows = [("tiny", 2020, 4, 40), ("tiny", 2022, 10, 40)]
    for i in range(10):
        rows += [(f"big{i}", 2020, 100 + 5 * i, 1000), (f"big{i}", 2022, 100 + 5 * i, 1000)]
    obs = check_observations(_obs(rows))
    raw = change_between(obs, "unemployment", 2020, 2022).table.set_index("area_id")
    eb = change_between(obs, "unemployment", 2020, 2022,
                        ChangeOptions(shrinkage=True)).table.set_index("area_id")
    assert raw.loc["tiny", "change_abs"] == pytest.approx(15.0)
    assert 0 < eb.loc["tiny", "change_abs"] < raw.loc["tiny", "change_abs"]
    assert abs(eb.loc["big3", "change_abs"]) < 1.0
    # tiny is below the minimum base: no dynamics class
    assert pd.isna(raw.loc["tiny", "dynamics_class"]) and raw.loc["tiny", "small_base"]


def test_dynamics_classes_and_convergence_hand_case():
    # changes in points (unemployment, lower better): a −4, b 0, c 0, d +4 → z −1.414, 0, 0, 1.414
    rows = [("a", 2020, 200, 1000), ("a", 2022, 160, 1000), ("b", 2020, 100, 1000), ("b", 2022, 100, 1000),
            ("c", 2020, 100, 1000), ("c", 2022, 100, 1000), ("d", 2020, 50, 1000), ("d", 2022, 90, 1000)]
    table = change_between(check_observations(_obs(rows)), "unemployment", 2020, 2022).table.set_index("area_id")
    assert list(table["dynamics_class"]) == [1, 3, 3, 5]
    np.testing.assert_allclose(table["dynamics_z"], [-np.sqrt(2), 0, 0, np.sqrt(2)])
    # city 11.25 % in both periods; a: gap 8.75 → 4.75 converging; d: −6.25 → −2.25 converging
    # b: gap −1.25 → −1.25 unchanged
    assert table.loc["a", "movement"] == "converging"
    assert table.loc["d", "movement"] == "converging"
    assert table.loc["b", "movement"] == "unchanged"
    assert table.loc["a", "position"] == "above" and table.loc["d", "position"] == "below"


def test_diverging_area():
    rows = [("a", 2020, 150, 1000), ("a", 2022, 200, 1000), ("b", 2020, 100, 1000), ("b", 2022, 90, 1000)]
    table = change_between(check_observations(_obs(rows)), "unemployment", 2020, 2022).table.set_index("area_id")
    # city 12.5 → 14.5; a: gap 2.5 → 5.5 diverging
    assert table.loc["a", "movement"] == "diverging"


def test_trend_matches_scipy_linregress_unweighted():
    rng = np.random.default_rng(1)
    years = [2016, 2017, 2018, 2019, 2020, 2021]
    values = 10 + 0.5 * np.arange(6) + rng.normal(0, 0.3, 6)
    obs = pd.DataFrame({"area_id": "a", "period": years, "indicator": "x", "value": values})
    table = trend(check_observations(obs), "x", weighted=False)
    ref = stats.linregress(years, values)
    assert table.loc[0, "slope"] == pytest.approx(ref.slope)
    assert table.loc[0, "slope_se"] == pytest.approx(ref.stderr)
    assert table.loc[0, "slope_p"] == pytest.approx(ref.pvalue)
    q = stats.t.ppf(0.975, 4)
    assert table.loc[0, "slope_low"] == pytest.approx(ref.slope - q * ref.stderr)
    assert table.loc[0, "trend_class"] == "worsening"  # rising, lower is better


def test_trend_weighted_by_base_hand_case():
    # two periods weigh 3:1 on the first → slope is still exact through two points; with three
    # points the weights pull the line towards the heavy ones
    obs = pd.DataFrame({"area_id": "a", "period": [0, 1, 2], "indicator": "x",
                        "numerator": [1.0, 2.0, 4.0], "denominator": [100.0, 100.0, 100.0]})
    obs["value"] = obs["numerator"]
    table = trend(check_observations(obs), "x")
    assert table.loc[0, "slope"] == pytest.approx(1.5)  # equal weights: plain OLS
    assert table.loc[0, "slope_se"] == pytest.approx(np.sqrt(1 / 12))


def test_period_years_from_dates():
    years = period_years(["2020-01-01", "2020-12-31", 2021])
    assert years[0] == pytest.approx(2020.0)
    assert years[1] == pytest.approx(2020 + 365 / 366)


def test_half_years_and_quarters_as_the_statistics_import_writes_them():
    years = period_years(["2021-H1", "2021-H2", "2022-Q1", "2022 q4"])
    assert years[0] == pytest.approx(2021 + 180 / 365)  # 30.06.
    assert years[1] == pytest.approx(2021 + 364 / 365)  # 31.12.
    assert years[2] == pytest.approx(2022 + 89 / 365) and years[3] == pytest.approx(2022 + 364 / 365)
    with pytest.raises(InputError, match="2021-H3.*half-year"):
        period_years(["2021-H3"])


def test_estimated_counts_are_left_untested_without_disabling_the_others():
    from kommunalmonitor.core.feedback import KeptFeedback

    # 'b' was estimated in a boundary change (fractional); 'a' and 'c' are published counts
    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c", "c"], "period": ["2020-H2", "2021-H2"] * 3,
                        "indicator": "residents", "value": [2.0, 10.0, 6842.68, 6800.0, 5.0, 5.0]})
    log = KeptFeedback()
    table = change_between(check_observations(obs), "residents", "2020-H2", "2021-H2",
                           feedback=log).table.set_index("area_id")
    assert table.loc["a", "p_value"] == pytest.approx(stats.binomtest(10, 12, 0.5).pvalue)
    assert table.loc["c", "p_value"] == pytest.approx(1.0)
    assert np.isnan(table.loc["b", "p_value"]) and not table.loc["b", "significant"]
    (warning,) = log.warnings
    assert "1 area(s)" in warning and "first: b" in warning


def test_a_jump_from_an_estimated_value_is_named_not_read_as_change():
    from kommunalmonitor.core.feedback import KeptFeedback
    from kommunalmonitor.core.i18n import language

    # 'park' got 3,820 residents by area weights in the boundary change; 0 are published later
    obs = pd.DataFrame({"area_id": ["park", "park", "a", "a"], "period": ["2019-H2", "2023-H2"] * 2,
                        "indicator": "residents", "value": [3820.0, 0.0, 1000.0, 1010.0],
                        "estimated": [True, False, True, False]})
    log = KeptFeedback()
    with language("de"):
        table = change_between(check_observations(obs), "residents", "2019-H2", "2023-H2",
                               feedback=log).table.set_index("area_id")
    assert table.loc["park", "estimated_start"] and not table.loc["park", "estimated_end"]
    (warning,) = [w for w in log.warnings if "Hälfte" in w]
    assert "1 Gebiet(e)" in warning and "park (3.820 → 0)" in warning and "a (" not in warning


def test_bad_inputs_name_what_is_wrong():
    obs = check_observations(_obs([("a", 2020, 1, 10), ("a", 2022, 2, 10)]))
    with pytest.raises(InputError, match="2021"):
        change_between(obs, "unemployment", 2021, 2022)
    with pytest.raises(InputError, match="before"):
        change_between(obs, "unemployment", 2022, 2020)
    with pytest.raises(InputError, match="poverty"):
        change_between(obs, "poverty", 2020, 2022)
    with pytest.raises(InputError, match="sideways"):
        change_between(obs, "unemployment", 2020, 2022, ChangeOptions(desired="sideways"))
    twice = pd.concat([_obs([("a", 2020, 1, 10)])] * 2)
    with pytest.raises(InputError, match="more than once"):
        check_observations(twice)
    with pytest.raises(InputError, match="period"):
        check_observations(pd.DataFrame({"area_id": [1], "value": [1.0], "indicator": ["x"]}))


def test_inputs_not_modified():
    frame = _obs([("a", 2020, 1, 10), ("a", 2022, 2, 10)])
    before = frame.copy()
    change_between(check_observations(frame), "unemployment", 2020, 2022, ChangeOptions(shrinkage=True))
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.peers
def test_peers_statsmodels_tests_and_fdr_and_wls():
    from statsmodels.regression.linear_model import WLS
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest
    from statsmodels.stats.rates import test_poisson_2indep
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(150, 3000, 40), rng.integers(150, 3000, 40)
    x1, x2 = rng.binomial(n1, 0.1), rng.binomial(n2, 0.12)
    z, p = score_test_proportions(x1, n1, x2, n2)
    _, pe = exact_conditional_test(x1, n1, x2, n2)
    for i in range(40):
        zs, ps = proportions_ztest([x2[i], x1[i]], [n2[i], n1[i]])
        assert z[i] == pytest.approx(zs) and p[i] == pytest.approx(ps)
        ref = test_poisson_2indep(x2[i], n2[i], x1[i], n1[i], method="exact-cond")
        assert pe[i] == pytest.approx(ref.pvalue, rel=1e-9)
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    t = np.array([2015.0, 2016, 2017, 2019, 2020, 2022])
    y = 3 + 0.2 * t + rng.normal(0, 0.5, 6)
    w = rng.integers(100, 1000, 6).astype(float)
    obs = pd.DataFrame({"area_id": "a", "period": t, "indicator": "x", "value": y,
                        "numerator": y * w / 100, "denominator": w})
    table = trend(check_observations(obs), "x")
    fit = WLS(y, sm.add_constant(t), weights=w).fit()
    assert table.loc[0, "slope"] == pytest.approx(fit.params[1])
    assert table.loc[0, "slope_se"] == pytest.approx(fit.bse[1])
    low, high = fit.conf_int()[1]
    assert table.loc[0, "slope_low"] == pytest.approx(low) and table.loc[0, "slope_high"] == pytest.approx(high)


@pytest.mark.peers
def test_peers_esda_empirical_bayes():
    from esda.smoothing import Empirical_Bayes

    rng = np.random.default_rng(3)
    n = rng.integers(100, 5000, 60)
    x = rng.poisson(n * rng.gamma(20, 0.1 / 20, 60))
    rates, _, info = eb_shrink(x, n, model="poisson")
    assert info["prior_variance"] > 0
    np.testing.assert_allclose(rates, Empirical_Bayes(x, n).r.ravel())


def _berlin_under6(berlin_dir):
    """Share of children under 6 per Berlin PLR (542 new areas), half-yearly 2021–2024."""
    import os

    folder = os.path.join(berlin_dir, "einwohner_plr_zeitreihe")
    frames = []
    for year in range(2021, 2025):
        for half, day in (("01", "06-30"), ("02", "12-31")):
            table = pd.read_csv(os.path.join(folder, f"berlin-lor-population-{year}-{half}-t2-planning-areas.csv"),
                                dtype={"id": str})
            frames.append(pd.DataFrame({
                "area_id": table["id"], "period": f"{year}-{day}", "indicator": "under6",
                "value": table["inhabitants_age_below_6_percentage"],
                "numerator": table["inhabitants_age_below_6"], "denominator": table["inhabitants"]}))
    return pd.concat(frames, ignore_index=True)


def test_berlin_real_series_three_points_on_362_residents_is_noise(berlin_dir):
    raw = _berlin_under6(berlin_dir)
    obs = check_observations(raw)
    # the published percentages are numerator / denominator × 100: recomputed, not averaged
    assert set(obs["per"]) == {100.0}
    assert np.nanmax(np.abs(obs["value"].to_numpy() - raw["value"].to_numpy())) < 1e-9
    result = change_between(obs, "under6", "2021-12-31", "2023-12-31", ChangeOptions(desired="up"))
    table = result.table.set_index("area_id")
    start = raw[raw["period"] == "2021-12-31"]
    assert result.diagnostics["city_start"] == pytest.approx(
        100 * start["numerator"].sum() / start["denominator"].sum())
    # PLR 12200411: 362 residents, children under 6 up by 3.1 points — within noise
    area = table.loc["12200411"]
    assert area["den_start"] == 362 and area["change_pp"] == pytest.approx(3.11, abs=0.01)
    assert area["p_value"] == pytest.approx(0.078, abs=0.001) and not area["significant"]
    # small bases: larger changes, none significant, no dynamics class
    small, large = table["den_start"] < 1000, table["den_start"] >= 5000
    assert table.loc[small, "change_pp"].abs().mean() > 2 * table.loc[large, "change_pp"].abs().mean()
    assert not table.loc[small, "significant"].any() and table.loc[large, "significant"].mean() > 0.15
    assert table.loc[table["den_start"] < 300, "dynamics_class"].isna().all()
    assert len(table) == 542


@pytest.mark.peers
def test_berlin_p_values_match_statsmodels(berlin_dir):
    from statsmodels.stats.proportion import proportions_ztest

    obs = check_observations(_berlin_under6(berlin_dir))
    table = change_between(obs, "under6", "2021-12-31", "2023-12-31").table
    ok = (table["den_start"] > 0) & (table["den_end"] > 0) & (table["num_start"] + table["num_end"] > 0)
    for row in table[ok].itertuples():
        _, p = proportions_ztest([row.num_end, row.num_start], [row.den_end, row.den_start])
        assert row.p_value == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_several_area_sets_are_refused():
    frame = _obs([("a", 2020, 1, 10), ("b", 2022, 2, 10)]).assign(area_set=["plr_old", "plr_new"])
    with pytest.raises(InputError, match="plr_new, plr_old"):
        check_observations(frame)
    assert len(check_observations(frame.assign(area_set="plr_new"))) == 2


def test_trend_labels_in_both_languages():
    obs = pd.DataFrame({"area_id": "a", "period": [2019, 2020, 2021, 2022], "indicator": "x",
                        "value": [1.0, 2.0, 3.0, 4.1]})
    assert trend(check_observations(obs), "x", desired="up", lang="de").loc[0, "trend_label"] == "verbessernd"
    assert trend(check_observations(obs), "x", desired="down", lang="en").loc[0, "trend_label"] == "worsening"
