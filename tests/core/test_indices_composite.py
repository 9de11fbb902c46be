"""Composite index: hand-computed cases, exclusions, bad input, Berlin MSS status/dynamics."""
import os

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InfeasibleError, InputError
from kommunalmonitor.core.indices.composite import composite_index, parse_weights, result_frame


def _frame():
    return pd.DataFrame({
        "a": [1.0, 2.0, 3.0, 4.0, 5.0, 9.0],
        "b": [2.0, 2.0, 2.0, 2.0, 7.0, 0.0],
        "c": [10.0, 8.0, 6.0, 4.0, 2.0, 1.0],
        "pop": [1000, 2000, 1500, 800, 400, 100],
    })


def _z(x):
    return (x - x.mean()) / x.std(ddof=0)


def test_mss_style_index_by_hand():
    frame = _frame()
    result = composite_index(frame, ["a", "b"], population="pop", min_population=300)
    ref = np.arange(5)  # the sixth area (100 residents) is excluded from the reference
    a, b = frame["a"].to_numpy(), frame["b"].to_numpy()
    za = (a - a[ref].mean()) / a[ref].std()
    zb = (b - b[ref].mean()) / b[ref].std()
    s = za + zb
    expected = (s - s[ref].mean()) / s[ref].std()
    np.testing.assert_allclose(result.scores["a"], za)
    np.testing.assert_allclose(result.index, expected)
    assert result.included.tolist() == [True] * 5 + [False]
    assert result.reason.iloc[5] == "population below minimum"
    # excluded area still scored with the reference statistics
    assert np.isfinite(result.index.iloc[5])
    assert result.reference["a"]["mean"] == pytest.approx(3.0)
    assert result.reference["a"]["sd"] == pytest.approx(np.sqrt(2.0))
    # contributions add up to the index exactly
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.index)
    # classes on unrounded values, MSS bands: <-1 | -1..1 | 1..1.5 | >1.5
    idx = result.index.to_numpy()
    expected_classes = 1 + (idx >= -1) + (idx > 1) + (idx > 1.5)
    assert result.classes.tolist() == expected_classes.tolist()


def test_reversed_weights_and_mean():
    frame = _frame()
    result = composite_index(frame, ["a", "c"], reversed=["c"], weights=[3, 1],
                             combine="mean", restandardise=False, min_population=0)
    za, zc = _z(frame["a"].to_numpy()), -_z(frame["c"].to_numpy())
    np.testing.assert_allclose(result.index, (3 * za + zc) / 4)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.index)


def test_population_weighted_z():
    frame = _frame()
    result = composite_index(frame, ["a"], population="pop", method="z_weighted", min_population=0,
                             restandardise=False)
    w, a = frame["pop"].to_numpy(float), frame["a"].to_numpy()
    m = np.average(a, weights=w)
    sd = np.sqrt(np.average((a - m) ** 2, weights=w))
    np.testing.assert_allclose(result.index, (a - m) / sd)


def test_minmax_percentile_rank_exp_by_hand():
    frame = pd.DataFrame({"x": [10.0, 20.0, 20.0, 40.0, 50.0]})
    mm = composite_index(frame, ["x"], method="minmax", restandardise=False, min_population=0)
    np.testing.assert_allclose(mm.index, [0, 0.25, 0.25, 0.75, 1.0])
    pr = composite_index(frame, ["x"], method="percentile", restandardise=False, min_population=0)
    # average ranks 1, 2.5, 2.5, 4, 5 → (rank-1)/(n-1)
    np.testing.assert_allclose(pr.index, [0, 0.375, 0.375, 0.75, 1.0])
    ex = composite_index(frame, ["x"], method="rank_exp", restandardise=False, min_population=0)
    r = np.array([1, 2.5, 2.5, 4, 5]) / 5
    np.testing.assert_allclose(ex.index, -23 * np.log(1 - r * (1 - np.exp(-100 / 23))))
    assert ex.index.iloc[-1] == pytest.approx(100.0)
    geo = composite_index(frame.assign(y=[1.0, 2.0, 3.0, 4.0, 5.0]), ["x", "y"], method="minmax",
                          combine="geometric", restandardise=False, min_population=0)
    y = np.array([0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(geo.index, np.sqrt(mm.index.to_numpy() * y))


def test_winsorising_limits_outlier():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 100.0]})
    plain = composite_index(frame, ["x"], restandardise=False, min_population=0)
    wins = composite_index(frame, ["x"], restandardise=False, min_population=0, winsorise=(0.0, 0.75))
    assert wins.index.iloc[-1] < plain.index.iloc[-1]
    assert wins.index.iloc[-1] == pytest.approx(wins.index.iloc[-2])


def test_null_and_sentinel_values_are_flagged():
    frame = _frame().assign(a=[1.0, 2.0, None, 4.0, -9999.0, 9.0])
    result = composite_index(frame, ["a", "b"], missing_values=[-9999], min_population=0)
    assert result.included.tolist() == [True, True, False, True, False, True]
    assert result.reason.iloc[2] == "missing indicator value"
    assert np.isnan(result.index.iloc[2]) and pd.isna(result.classes.iloc[2])


def test_bad_input_messages():
    frame = _frame()
    with pytest.raises(InputError, match="no field 'nope'"):
        composite_index(frame, ["a", "nope"])
    with pytest.raises(InfeasibleError, match="same value"):
        composite_index(frame.assign(b=5.0), ["a", "b"], min_population=0)
    with pytest.raises(InputError, match="at least 3"):
        composite_index(frame, ["a"], population="pop", min_population=1500)
    with pytest.raises(InputError, match="weight"):
        composite_index(frame, ["a", "b"], weights=[1])
    with pytest.raises(InputError, match="geometric"):
        composite_index(frame, ["a", "b"], combine="geometric")
    with pytest.raises(InputError, match="not numeric"):
        composite_index(frame.assign(a=["x"] * 6), ["a"])
    assert parse_weights("1, 2,0.5") == (1.0, 2.0, 0.5)
    assert parse_weights("1; 0,5") == (1.0, 0.5)
    assert parse_weights("  ") is None


def test_result_frame_fields_and_input_untouched():
    frame = _frame()
    before = frame.copy()
    result = composite_index(frame, ["a", "b"], population="pop")
    out = result_frame(frame, result)
    pd.testing.assert_frame_equal(frame, before)
    for column in ("z_a", "z_b", "index", "index_class", "index_label", "included", "excl_reason"):
        assert column in out.columns
    de = result_frame(frame, result, lang="de")
    assert "Bedarf" in "".join(de["index_label"].dropna())


def _read_mss(berlin_dir):
    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
                      dtype={"PLR_ID": str, "BEZ_ID": str}, encoding="utf-8")
    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"),
                            dtype={"PLR_ID": str, "BEZ_ID": str}, encoding="utf-8")
    return raw, published


def test_berlin_mss_2021_status_and_dynamics_via_composite(berlin_dir):
    raw, published = _read_mss(berlin_dir)
    outlier = (raw["KOM"] == "ungültig (Ausreißer)").to_numpy()
    status = composite_index(raw, ["S1", "S3", "S4"], population="EW", min_population=300,
                             exclude=outlier, missing_values=[-9999])
    dynamics = composite_index(raw, ["D1", "D3", "D4"], population="EW", min_population=300,
                               exclude=outlier, missing_values=[-9999], bounds=(-1.0, 1.0))
    valid = (published["KOM"] == "gültig").to_numpy()
    assert status.included.to_numpy().tolist() == valid.tolist()
    si = status.classes.to_numpy()[valid].astype(int)
    di = np.array([1, 3, 5])[dynamics.classes.to_numpy()[valid].astype(int) - 1]
    assert int((si != published["SI_N"].to_numpy()[valid]).sum()) == 0
    assert int((di != published["DI_N"].to_numpy()[valid]).sum()) == 0
    assert np.bincount(si)[1:].tolist() == [75, 366, 46, 49]


def test_domain_sub_indices_by_hand():
    frame = _frame()
    domains = {"a": "Arbeit", "b": "Soziales", "c": "Soziales"}
    result = composite_index(frame, ["a", "b", "c"], domains=domains, domain_weights={"Arbeit": 2.0},
                             min_population=0)
    za, zb, zc = (_z(frame[f].to_numpy()) for f in ("a", "b", "c"))
    social = _z(zb + zc)
    work = _z(za)
    expected = _z(2.0 * work + social)
    np.testing.assert_allclose(result.sub_indices["Soziales"], social)
    np.testing.assert_allclose(result.index, expected)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.index)


def test_imd_style_index_by_hand():
    """English IMD: rank → exponential transform per domain → weighted sum → deciles."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"income": rng.normal(size=40), "health": rng.normal(size=40)})
    result = composite_index(frame, ["income", "health"], method="rank_exp", weights=[22.5, 13.5],
                             restandardise=False, classification="quantiles", n_classes=10,
                             min_population=0)
    n = len(frame)

    def transform(x):
        r = (np.argsort(np.argsort(x)) + 1) / n
        return -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))

    expected = 22.5 * transform(frame["income"].to_numpy()) + 13.5 * transform(frame["health"].to_numpy())
    np.testing.assert_allclose(result.index, expected)
    assert np.bincount(result.classes.to_numpy(dtype=int))[1:].tolist() == [4] * 10
