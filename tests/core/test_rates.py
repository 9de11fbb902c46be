"""Rates are recomputed from numerators and denominators, with their base flagged."""
import numpy as np

from kommunalmonitor.core.rates import rate, small_base, suppress_small_counts


def test_rate_is_ratio_of_sums_not_mean_of_rates():
    # two blocks: 10/100 and 90/300 → 100/400 = 25 %, not the mean 20 %
    assert rate(10 + 90, 100 + 300) == 25.0


def test_zero_and_missing_base_give_nan():
    out = rate([1, 2, 3], [0, np.nan, 6])
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 50.0


def test_small_base_and_suppression():
    assert small_base([299, 300, np.nan]).tolist() == [True, False, True]
    out = suppress_small_counts([0, 1, 2, 3, 10])
    assert out[0] == 0 and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == 3
