"""Class schemes: hand-computed breaks and, on the current stack, mapclassify as reference."""
import numpy as np
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.indices.classify import (class_labels, classify, fisher_jenks_breaks,
                                                   sd_band_classes)


def test_sd_bands_mss_boundaries():
    x = np.array([-1.5, -1.0, -0.999, 1.0, 1.0001, 1.5, 1.5001, np.nan])
    assert sd_band_classes(x).tolist() == [1, 2, 2, 2, 3, 3, 4, 0]
    assert sd_band_classes(x, (-1.0, 1.0)).tolist() == [1, 2, 2, 2, 3, 3, 3, 0]


def test_schemes_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0, 30.0])
    ref = np.ones(x.size, bool)
    classes, upper = classify(x, ref, "equal_interval", 2)
    assert upper.tolist() == [15.5, 30.0] and classes.tolist() == [1] * 7 + [2]
    classes, upper = classify(x, ref, "quantiles", 4)
    np.testing.assert_allclose(upper, np.percentile(x, [25, 50, 75, 100]))
    assert classes.tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    classes, upper = classify(x, ref, "jenks", 3)
    assert upper.tolist() == [4.0, 12.0, 30.0] and classes.tolist() == [1, 1, 1, 1, 2, 2, 2, 3]
    classes, upper = classify(x, ref, "fixed", breaks=[4, 12])
    assert classes.tolist() == [1, 1, 1, 1, 2, 2, 2, 3]
    # breaks from the reference only; an excluded outlier lands in the top class
    ref2 = ref.copy()
    ref2[-1] = False
    classes, upper = classify(x, ref2, "equal_interval", 2)
    assert upper.tolist() == [6.5, 12.0] and classes[-1] == 2
    with pytest.raises(InputError):
        classify(x, ref, "fixed")
    with pytest.raises(InputError):
        classify(x[:2], ref[:2], "quantiles", 4)


def test_jenks_exhaustive_small():
    rng = np.random.default_rng(1)
    x = np.sort(rng.normal(size=12))
    best, best_bounds = np.inf, None
    for i in range(1, 11):
        for j in range(i + 1, 12):
            parts = [x[:i], x[i:j], x[j:]]
            ssd = sum(((p - p.mean()) ** 2).sum() for p in parts)
            if ssd < best:
                best, best_bounds = ssd, [x[i - 1], x[j - 1], x[-1]]
    np.testing.assert_allclose(fisher_jenks_breaks(x, 3), best_bounds)


@pytest.mark.peers
@pytest.mark.parametrize("k", [3, 5, 7])
def test_against_mapclassify(k):
    import mapclassify
    rng = np.random.default_rng(k)
    x = np.concatenate([rng.normal(0, 1, 150), rng.normal(4, 0.5, 50)])
    ref = np.ones(x.size, bool)
    for scheme, peer in (("jenks", mapclassify.FisherJenks), ("quantiles", mapclassify.Quantiles),
                         ("equal_interval", mapclassify.EqualInterval)):
        classes, upper = classify(x, ref, scheme, k)
        model = peer(x, k=k)
        np.testing.assert_allclose(upper, model.bins, err_msg=scheme)
        assert (classes - 1).tolist() == model.yb.tolist(), scheme


def test_labels_both_languages():
    labels = class_labels("sd_bands", np.array([-1.0, 1.0, 1.5]), lang="de")
    assert labels[4] == "sehr hoher Bedarf (über 1,5)"
    labels = class_labels("quantiles", np.array([1.0, 2.0, 3.0]), lang="en")
    assert labels[1].startswith("class 1 of 3") and "highest" in labels[3]


def _plain_dp_ssd(x, k):
    """Minimal within-class SSD by the plain O(k·n²) dynamic programme (reference)."""
    x = np.sort(x)
    n = x.size
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    ends = np.arange(1, n + 1)
    cost = s2[ends] - s1[ends] ** 2 / ends
    for c in range(1, k):
        new = np.full(n, np.inf)
        for j in range(c, n):
            i = np.arange(c, j + 1)
            new[j] = np.min(cost[i - 1] + (s2[j + 1] - s2[i]) - (s1[j + 1] - s1[i]) ** 2 / (j + 1 - i))
        cost = new
    return cost[-1]


@pytest.mark.parametrize("seed", range(6))
def test_jenks_divide_and_conquer_is_optimal(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, 80).astype(float) if seed % 2 else rng.lognormal(0, 1, 80)
    k = 3 + seed % 3
    upper = fisher_jenks_breaks(x, k)
    classes = np.searchsorted(upper[:-1], x, side="left")
    ssd = sum(((x[classes == c] - x[classes == c].mean()) ** 2).sum() for c in np.unique(classes))
    assert ssd == pytest.approx(_plain_dp_ssd(x, k), rel=1e-9, abs=1e-9)
