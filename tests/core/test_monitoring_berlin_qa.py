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
