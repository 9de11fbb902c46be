"""Multiple burden: quartile and fixed grades by hand, social grade from MSS status, counts."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.indices.burden import (BurdenIndicator, grade, multiple_burden,
                                                 parse_thresholds)


def test_quartile_and_fixed_grades_by_hand():
    x = np.arange(1.0, 9.0)  # quartiles (linear): 2.75 and 6.25
    grades, limits, kind = grade(x)
    assert limits == (2.75, 6.25) and kind == "quantile"
    assert grades.tolist() == [1, 1, 2, 2, 2, 2, 3, 3]
    supply, _, _ = grade(x, supply=True)
    assert supply.tolist() == [3, 3, 2, 2, 2, 2, 1, 1]
    fixed, limits, kind = grade(np.array([50.0, 55.0, 60.0, 65.0, 70.0, np.nan]), thresholds=(55, 65))
    assert kind == "fixed" and fixed.tolist() == [1, 1, 2, 2, 3, 0]
    green, _, _ = grade(np.array([2.0, 6.0, 7.0]), supply=True, thresholds=(6, 7))
    assert green.tolist() == [3, 2, 1]
    with pytest.raises(InputError, match="fixed thresholds"):
        grade(np.ones(8))


def test_multiple_burden_counts():
    frame = pd.DataFrame({
        "noise": [40.0, 50.0, 60.0, 70.0, 72.0, 45.0, 55.0, 65.0],
        "no2": [20.0, 22.0, 35.0, 40.0, 41.0, 21.0, 30.0, None],
        "heat": [28.0, 29.0, 31.0, 36.0, 37.0, 30.0, 33.0, 34.0],
        "green": [10.0, 8.0, 3.0, 1.0, 2.0, 12.0, 6.5, 5.0],
        "status": [1, 2, 3, 4, 4, 1, 2, 2],
    })
    result = multiple_burden(frame, [
        BurdenIndicator("noise"), BurdenIndicator("no2"),
        BurdenIndicator("heat", thresholds=(30.0, 35.0)),
        BurdenIndicator("green", supply=True, thresholds=(6.0, 7.0))], social_status="status")
    t = result.table
    assert t["k_noise"].iloc[0] == "quantile" and t["k_heat"].iloc[0] == "fixed"
    assert t["g_heat"].tolist() == [1, 1, 2, 3, 3, 1, 2, 2]
    assert t["g_green"].tolist() == [1, 1, 3, 3, 3, 1, 2, 3]
    assert t["g_social"].tolist() == [1, 2, 3, 3, 3, 1, 2, 2]
    env3 = ((t[["g_noise", "g_no2", "g_heat", "g_green"]] == 3).fillna(False)).sum(axis=1)
    assert t["burden_count"].tolist() == env3.tolist()
    assert t["burden_count"].iloc[3] == 4 and t["burden_count_social"].iloc[3] == 5
    assert t["burden_complete"].tolist() == [True] * 7 + [False]
    assert pd.isna(t["g_no2"].iloc[7])


def test_parse_thresholds_and_bad_status():
    assert parse_thresholds("noise=55,65; heat = 30|35") == {"noise": (55.0, 65.0), "heat": (30.0, 35.0)}
    assert parse_thresholds("") == {}
    with pytest.raises(InputError):
        parse_thresholds("noise=55")
    with pytest.raises(InputError, match="status classes 1 to 4"):
        multiple_burden(pd.DataFrame({"n": [1.0, 2, 3, 4], "s": [1, 2, 7, 1]}), ["n"], social_status="s")
