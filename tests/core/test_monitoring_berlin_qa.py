"""A planner's checks of the monitoring tools on the real Berlin series (and the hand cases behind them).

Each test is a case a planner ran into: what was wrong before is said in the test's comment.
"""
import glob
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kommunalmonitor.core.feedback import KeptFeedback
from kommunalmonitor.core.monitoring.change import change_between
from kommunalmonitor.core.monitoring.series import check_observations


def _t2(berlin_dir, period):
    """The t2 file (age bands, foreigners; counts and percentages) of one half-year, ids as text."""
    folder = os.path.join(berlin_dir, "einwohner_plr_zeitreihe")
    (path,) = glob.glob(os.path.join(folder, f"*-{period}-t2-*.csv"))
    return pd.read_csv(path, dtype={"id": str})


def _long(berlin_dir, indicator, periods):
    """One indicator of the t2 files in long form, as the statistics import writes it ('2021-H2')."""
    parts = []
    for period in periods:
        table = _t2(berlin_dir, period)
        parts.append(pd.DataFrame({"area_id": table["id"], "indicator": indicator,
                                   "period": period.replace("-0", "-H"), "value": table[indicator]}))
    return pd.concat(parts, ignore_index=True)


def test_percentages_are_not_tested_as_counts_where_an_area_is_at_0_or_100_percent():
    # before: the three areas whose share was a whole number in both periods (100 % → 0 %, a
    # planning area with a handful of residents) got a Poisson test of '100 vs 0 persons' and
    # were marked a significant change; the other areas' percentages were left untested
    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
                        "period": ["2021-H2", "2023-H2"] * 4, "indicator": "foreigners_percentage",
                        "value": [100.0, 0.0, 21.37, 23.02, 18.4, 17.9, 33.33, 31.25]})
    log = KeptFeedback()
    table = change_between(check_observations(obs), "foreigners_percentage", "2021-H2", "2023-H2",
                           feedback=log).table.set_index("area_id")
    assert table["p_value"].isna().all() and not table["significant"].any()
    assert table.loc["a", "change_abs"] == pytest.approx(-100.0)
    # and the map does not call an untested change 'within noise' (lower is better by default)
    assert table["change_class"].tolist() == [5, 6, 5, 5]
    assert table.loc["b", "change_label"] == "deterioration, not tested"
    (warning,) = log.warnings
    assert "neither numerator and denominator nor whole counts" in warning


def test_flagged_estimates_do_not_make_the_published_counts_untested():
    # three of four areas were estimated in a boundary change (flagged as the rebase writes
    # them): the published whole count of 'a' is still tested, the estimates are not
    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
                        "period": ["2020-H2", "2021-H2"] * 4, "indicator": "residents",
                        "value": [2.0, 10.0, 6842.68, 6800.0, 120.4, 119.0, 35.5, 40.0],
                        "estimated": [False, False, True, False, True, False, True, False],
                        "rebased_method": [None, None, "blocks", None, "blocks", None, "blocks", None]})
    log = KeptFeedback()
    table = change_between(check_observations(obs), "residents", "2020-H2", "2021-H2",
                           feedback=log).table.set_index("area_id")
    assert table.loc["a", "p_value"] == pytest.approx(stats.binomtest(10, 12, 0.5).pvalue)
    assert table.loc[["b", "c", "d"], "p_value"].isna().all()
    # residents up is 'better' here only by the default direction (down): the classes say tested or not
    assert table["change_class"].tolist() == [4, 5, 5, 6]
    assert "3 area(s)" in log.warnings[0]


def test_berlin_foreigners_share_without_counts_raises_no_false_alarm(berlin_dir):
    # PLR 06200418 (a few residents): foreigners' share 100 % (31.12.2021) → 0 % (31.12.2023);
    # tested as 100 vs 0 'persons' it was p < 1e-29, a significant change on a map of percentages
    obs = check_observations(_long(berlin_dir, "inhabitants_foreigners_percentage", ["2021-02", "2023-02"]))
    table = change_between(obs, "inhabitants_foreigners_percentage", "2021-H2", "2023-H2",
                           feedback=KeptFeedback()).table.set_index("area_id")
    assert table.loc["06200418", ["value_start", "value_end"]].tolist() == [100.0, 0.0]
    assert table["p_value"].isna().all() and not table["significant"].any()
    assert len(table) == 542


def test_counts_as_indicators_of_their_own_become_the_share_counts():
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.monitoring.series import counts_from_indicators

    obs = check_observations(pd.DataFrame({
        "area_id": ["01", "01", "02", "02"] * 3, "period": ["2021-H2", "2023-H2"] * 6,
        "indicator": ["kids"] * 4 + ["residents"] * 4 + ["kids_pct"] * 4,
        "value": [10, 12, 5, 5, 100, 100, 50, 40, 10.0, 12.0, 10.0, 12.5]}))
    joined = counts_from_indicators(obs, "kids_pct", "kids", "residents")
    share = joined[joined["indicator"] == "kids_pct"].set_index(["area_id", "period"])
    assert share.loc[("02", "2023-H2"), ["numerator", "denominator", "value"]].tolist() == [5.0, 40.0, 12.5]
    assert set(share["per"]) == {100.0}
    # hand: city 2021 15/150 = 10 %, 2023 17/140 = 12.142857 %; score test of area 02: 5/50 vs 5/40
    result = change_between(joined, "kids_pct", "2021-H2", "2023-H2")
    assert result.diagnostics["city_start"] == pytest.approx(10.0)
    assert result.diagnostics["city_end"] == pytest.approx(100 * 17 / 140)
    pooled = 10 / 90
    z = (5 / 40 - 5 / 50) / np.sqrt(pooled * (1 - pooled) * (1 / 50 + 1 / 40))
    assert result.table.set_index("area_id").loc["02", "statistic"] == pytest.approx(z)
    # a share not in the table yet is built from the counts, in %
    built = counts_from_indicators(obs, "kids_share", "kids", "residents")
    assert built[built["indicator"] == "kids_share"]["value"].tolist() == pytest.approx([10, 12, 10, 12.5])
    assert len(obs) == 12 and "numerator" not in obs.columns  # the input is not modified
    # counts of different periods never meet: refused, naming share and counts
    apart = check_observations(pd.DataFrame({"area_id": ["01", "01"], "period": ["2021-H2", "2023-H2"],
                                             "indicator": ["kids", "residents"], "value": [10, 100]}))
    with pytest.raises(InputError, match="'kids_share'.*'kids'.*'residents'"):
        counts_from_indicators(apart, "kids_share", "kids", "residents")


def test_city_value_says_whether_it_is_the_ratio_of_counts(berlin_dir):
    # before: 'City value: 5.83 → 5.521' for the children's share without counts, the mean of
    # the 542 shares; the city's share (Σ children / Σ residents) was 5.897 % → 5.549 %
    obs = check_observations(_long(berlin_dir, "inhabitants_age_below_6_percentage", ["2021-02", "2023-02"]))
    result = change_between(obs, "inhabitants_age_below_6_percentage", "2021-H2", "2023-H2",
                            feedback=KeptFeedback())
    start = _t2(berlin_dir, "2021-02")
    assert result.diagnostics["city_start"] == pytest.approx(start["inhabitants_age_below_6_percentage"].mean())
    assert not result.diagnostics["city_from_counts"]
    assert 100 * start["inhabitants_age_below_6"].sum() / start["inhabitants"].sum() == pytest.approx(5.8973, abs=1e-4)


def test_store_replaces_a_corrected_value_only_when_asked(tmp_path):
    # before: a corrected publication was refused with 'delete the stored period first', which
    # no tool in QGIS offers; now 'replace' swaps the differing values in the same transaction
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    first = pd.DataFrame({"area_id": ["01100101", "01100102", "01100101"], "indicator": "inhabitants",
                          "period": ["2021-H2", "2021-H2", "2022-H1"], "value": [3406.0, 2001.0, 3503.0]})
    corrected = first.assign(value=[3409.0, 2001.0, 3503.0])
    with MonitoringStore.geopackage(tmp_path / "store.gpkg") as store:
        store.register_area_set("plr_542")
        assert store.load_observations(first, area_set="plr_542").inserted == 3
        with pytest.raises(InputError, match="01100101.*3406.*3409") as refused:
            store.load_observations(corrected, area_set="plr_542")
        assert refused.value.conflict
        assert sorted(store.series("inhabitants", "plr_542")["value"]) == [2001.0, 3406.0, 3503.0]
        report = store.load_observations(corrected, area_set="plr_542", replace=True)
        assert (report.inserted, report.unchanged, report.replaced) == (0, 2, 1)
        stored = store.series("inhabitants", "plr_542").set_index(["area_id", "period"])["value"]
        assert stored[("01100101", "2021-H2")] == 3409.0 and len(stored) == 3
        again = store.load_observations(corrected, area_set="plr_542", replace=True)
        assert (again.inserted, again.unchanged, again.replaced) == (0, 3, 0)


def test_store_reads_catalogue_and_goals_in_german_notation(tmp_path):
    # before: a catalogue exported from a German spreadsheet ('100,0' per cent, min_base
    # '1.000') and goals with '22,5' were refused ("must be numeric (found '100,0')"), while
    # 'Status of targets' read the same goals table
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    catalogue = pd.DataFrame([{"indicator": "anteil_u6", "label_de": "Anteil unter 6", "unit": "%",
                               "numerator": "u6", "denominator": "ew", "scale": "100,0",
                               "direction": "higher_is_better", "min_base": "1.000"}])
    goals = pd.DataFrame([{"goal_id": "Z1", "level": "target", "indicator": "anteil_u6", "scope": "priority",
                           "priority_level": "1", "baseline_period": "2021-H2", "baseline_value": "5,9",
                           "target_value": "22,5", "target_period": "2026-H2", "direction": "increase"}])
    with MonitoringStore.geopackage(tmp_path / "store.gpkg") as store:
        store.load_indicators(catalogue)
        store.load_goals(goals)
        stored = store.indicators().set_index("indicator").loc["anteil_u6"]
        assert (stored["scale"], stored["min_base"]) == (100.0, 1000.0)
        goal = store.goals().set_index("goal_id").loc["Z1"]
        assert (goal["baseline_value"], goal["target_value"], goal["priority_level"]) == (5.9, 22.5, 1)
        # a text that is no number is still refused, named
        with pytest.raises(InputError, match="'hundert'"):
            store.load_indicators(catalogue.assign(scale="hundert"))


def test_unnamed_measure_reads_as_german():
    # before: 'Geschätzte Wirkung von die Maßnahme auf …' when no name was given
    from kommunalmonitor.core.monitoring.evaluation import EvaluationOptions, describe

    text = describe(None, "arbeitslose", -2.0, -3.0, -1.0, 0.01, 0.5, 4, 12, EvaluationOptions(), lang="de")
    assert text.startswith("Geschätzte Wirkung der Maßnahme auf 'arbeitslose': -2,00 (Intervall -3,00 bis -1,00")
    named = describe("Quartiersmanagement", "arbeitslose", -2.0, -3.0, -1.0, 0.01, 0.5, 4, 12, EvaluationOptions(),
                     lang="en")
    assert named.startswith("Estimated effect of Quartiersmanagement on 'arbeitslose': -2.00")


# ----------------------------------------------------------------------------- targets
def _goal(**columns):
    base = {"goal_id": "Z", "level": "target", "indicator": "residents", "scope": "city",
            "baseline_period": "2019-H2", "target_period": "2025-H2", "direction": "increase"}
    return pd.DataFrame([{**base, **columns}])


def test_count_target_asks_each_area_the_same_relative_change():
    # before: +200 residents for the city (10,000 → 10,200) was asked of every area, so the
    # area of 1,000 that grew by 2 % like the city was 'off track' (target 1,200)
    from kommunalmonitor.core.monitoring.goals import target_status

    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b"], "period": ["2019-H2", "2023-H2"] * 2,
                        "indicator": "residents", "value": [1000.0, 1020.0, 9000.0, 9180.0]})
    result = target_status(check_observations(obs), _goal(target_value="10200", target_period="2023-H2"))
    table = result.table.set_index("area_id")
    assert table.loc["a", "target_value"] == pytest.approx(1020.0) and table.loc["b", "target_value"] == 9180.0
    assert table["target_value"].sum() == pytest.approx(10200.0)
    assert (table["status"] == 1).all() and result.summary["status"].iloc[0] == 1


def test_scope_of_a_target_compares_the_same_areas_at_baseline_and_now():
    # before: area c has no baseline value; the city went 2,000 → 3,000 'achieved' although no
    # area grew (c's appearance counted as growth)
    from kommunalmonitor.core.monitoring.goals import target_status

    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c"], "period": ["2019-H2", "2023-H2"] * 2 + ["2023-H2"],
                        "indicator": "residents", "value": [1000.0] * 5})
    log = KeptFeedback()
    result = target_status(check_observations(obs), _goal(target_value="2100"), feedback=log)
    summary = result.summary.iloc[0]
    assert (summary["baseline_value"], summary["current_value"]) == (2000.0, 2000.0)
    assert summary["status"] != 1
    assert any("1 area(s) lack a value at the baseline 2019-H2" in w and "c" in w for w in log.warnings)


def test_rate_target_without_counts_is_refused_not_summed():
    # before: a foreigners' share target of 22,5 % was rated on the SUM of the areas' shares
    # (20 % + 30 % = 50 %): 'achieved', with area targets of -7.5 % and 2.5 %
    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.monitoring.goals import target_status

    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c", "c"], "period": ["2019-H2", "2023-H2"] * 3,
                        "indicator": "share", "value": [20.4, 21.1, 30.25, 29.8, 12.5, 13.75]})
    with pytest.raises(InputError, match="Target Z.*'share' are no counts.*numerator and denominator"):
        target_status(check_observations(obs), _goal(indicator="share", target_value="22,5"))
    # with the counts it is the city's rate: (20.4+30.25+12.5) / 300 = 21.05 %
    counted = obs.assign(numerator=obs["value"], denominator=100.0)
    result = target_status(check_observations(counted), _goal(indicator="share", target_value="22,5"))
    assert result.summary["baseline_value"].iloc[0] == pytest.approx(63.15 / 3)


def test_priority_level_in_german_notation():
    # before: priority_level '1,0' from a German CSV ended in a Python ValueError
    from kommunalmonitor.core.monitoring.goals import target_status

    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b"], "period": ["2019-H2", "2023-H2"] * 2,
                        "indicator": "residents", "value": [1000.0, 1020.0, 9000.0, 9180.0]})
    result = target_status(check_observations(obs), _goal(scope="priority", priority_level="1,0", target_value="1100"),
                           priority_levels={"a": 1, "b": 2})
    assert result.table["area_id"].tolist() == ["a"] and result.summary["n_areas"].iloc[0] == 1


def test_berlin_residents_target_rates_areas_by_their_share_of_it(berlin_dir):
    # 2 % more residents from 31.12.2021 to 2025-H2, rated at 31.12.2023 (the city grew 2.7 %):
    # before, each of the 542 areas was asked for the city's +75,510 residents: 538 'off track'
    from kommunalmonitor.core.monitoring.goals import target_status

    obs = check_observations(pd.concat([_long(berlin_dir, "inhabitants", [p]) for p in ("2021-02", "2023-02")]))
    city = obs[obs["period"] == "2021-H2"]["value"].sum()
    assert city == 3775480.0
    result = target_status(obs, _goal(indicator="inhabitants", baseline_period="2021-H2",
                                      target_value=str(round(1.02 * city))), feedback=KeptFeedback())
    assert result.summary["status"].iloc[0] == 1  # 3,878,100 ≥ 3,850,990
    table = result.table
    assert table["target_value"].sum() == pytest.approx(round(1.02 * city), rel=1e-9)
    counts = table["status"].value_counts()
    assert counts.get(1, 0) + counts.get(2, 0) > 300 and counts.get(4, 0) < 200  # measured: 247 + 105, 150


def test_city_value_of_a_change_compares_the_same_areas():
    # before: area c's count was suppressed at the start, so the city share went 10 % → 20 %
    # although a and b did not change (c's 30 % only entered at the end)
    obs = pd.DataFrame({"area_id": ["a", "a", "b", "b", "c", "c"], "period": ["2021-H2", "2023-H2"] * 3,
                        "indicator": "share", "numerator": [10, 10, 10, 10, np.nan, 60],
                        "denominator": [100, 100, 100, 100, np.nan, 200]})
    obs["value"] = 100 * obs["numerator"] / obs["denominator"]
    log = KeptFeedback()
    result = change_between(check_observations(obs), "share", "2021-H2", "2023-H2", feedback=log)
    assert (result.diagnostics["city_start"], result.diagnostics["city_end"]) == (10.0, 10.0)
    assert any("over the 2 areas" in w and "first: c" in w for w in log.warnings)
