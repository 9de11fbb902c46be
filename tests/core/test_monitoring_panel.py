"""Musterstadt over time: the panel is seeded, consistent across its two area sets and
carries the planted effect where it says."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.monitoring.panel import NEW_SET, OLD_SET, make_panel


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=3, n_blocks=800)


def test_periods_and_boundary_change(panel):
    assert len(panel.periods) >= 6
    assert panel.change_period == panel.periods[len(panel.periods) // 2]
    sets = panel.observations.groupby("period")["area_set"].unique()
    for period, found in sets.items():
        assert list(found) == [OLD_SET if period < panel.change_period else NEW_SET]
    assert 0 < panel.areas_new["boundary_changed"].sum() < len(panel.areas_new)
    assert len(panel.areas_new) != len(panel.areas_old)


def test_totals_equal_on_both_area_sets(panel):
    obs = panel.observations_new
    truth = panel.block_counts.groupby("period")["population"].sum()
    new = obs[obs["indicator"] == "population"].groupby("period")["value"].sum()
    pd.testing.assert_series_equal(new, truth.astype("float64"), check_names=False)
    pub = panel.observations[panel.observations["indicator"] == "population"]
    pd.testing.assert_series_equal(pub.groupby("period")["value"].sum(), truth.astype("float64"),
                                   check_names=False)


def test_unchanged_areas_have_identical_values(panel):
    cw = panel.crosswalk
    single = cw.groupby("new_id").filter(lambda g: len(g) == 1)
    single = single[single["share"] == 1.0]
    unchanged = panel.areas_new.loc[~panel.areas_new["boundary_changed"], "area_id"]
    assert set(unchanged) <= set(single["new_id"])
    old_of = dict(zip(single["new_id"], single["old_id"]))
    pub = panel.observations
    period = panel.periods[0]
    for new_id in list(unchanged)[:5]:
        a = pub[(pub["area_id"] == old_of[new_id]) & (pub["period"] == period)]
        b = panel.observations_new[(panel.observations_new["area_id"] == new_id)
                                   & (panel.observations_new["period"] == period)]
        np.testing.assert_allclose(a.sort_values("indicator")["value"].to_numpy(),
                                   b.sort_values("indicator")["value"].to_numpy())


def test_rates_are_ratios_of_their_counts(panel):
    obs = panel.observations_new
    rate = obs[obs["indicator"] == "unemployment_rate"].set_index(["area_id", "period"])
    num = obs[obs["indicator"] == "unemployed"].set_index(["area_id", "period"])["value"]
    den = obs[obs["indicator"] == "pop_18_64"].set_index(["area_id", "period"])["value"]
    np.testing.assert_allclose(rate["numerator"], num.loc[rate.index])
    np.testing.assert_allclose(rate["value"], 100 * num.loc[rate.index] / den.loc[rate.index])


def test_crosswalk_shares_sum_to_one(panel):
    sums = panel.crosswalk.groupby("old_id")["share"].sum()
    np.testing.assert_allclose(sums, 1.0)
    assert set(panel.crosswalk["new_id"]) == set(panel.areas_new["area_id"])


def test_planted_effect_against_the_same_panel_without_it(panel):
    effect = panel.planted_effect["M1"]
    # same seed, no effect: the same random draws, so the difference is the effect
    null = make_panel(seed=3, n_blocks=800, effect=0.0)
    assert null.planted_effect["M1"]["areas"] == effect["areas"]

    def pooled(obs, post):
        sel = obs[(obs["indicator"] == effect["indicator"]) & obs["area_id"].isin(effect["areas"])]
        sel = sel[(sel["period"] >= effect["start"]) == post]
        return 100 * sel["numerator"].sum() / sel["denominator"].sum()

    assert pooled(panel.observations_new, False) == pooled(null.observations_new, False)
    diff = pooled(panel.observations_new, True) - pooled(null.observations_new, True)
    assert diff == pytest.approx(effect["effect"], abs=0.3)
    assert panel.planted_effect["M2"]["effect"] == 0.0
    m1 = panel.measures.set_index("measure_id").loc["M1"]
    assert m1["area_ids"].split(",") == effect["areas"]


def test_goal_hierarchy(panel):
    goals = panel.goals.set_index("goal_id")
    for gid, row in goals.iterrows():
        if row["level"] == "leitziel":
            assert pd.isna(row["parent_id"])
        else:
            assert row["parent_id"] in goals.index
    targets = goals[goals["level"] == "target"]
    assert set(targets["scope"]) == {"city", "areas", "priority"}
    assert set(targets["indicator"]) <= set(panel.indicators["indicator"])
    city = panel.observations_new
    t1 = targets.loc["T1"]
    sel = city[(city["indicator"] == "unemployment_rate") & (city["period"] == t1["baseline_period"])]
    assert t1["baseline_value"] == pytest.approx(100 * sel["numerator"].sum() / sel["denominator"].sum(), abs=0.005)


def test_seeded():
    a = make_panel(seed=5, n_periods=6, n_blocks=600)
    b = make_panel(seed=5, n_periods=6, n_blocks=600)
    pd.testing.assert_frame_equal(a.observations, b.observations)
    assert a.planted_effect == b.planted_effect
    with pytest.raises(InputError, match="between 6 and 20"):
        make_panel(seed=5, n_periods=4)
