"""Robustness (Monte Carlo, seeded) and reasons (constructed case)."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core import i18n
from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.indices.composite import composite_index, make_spec
from kommunalmonitor.core.indices.reasons import reasons
from kommunalmonitor.core.indices.robustness import RobustnessOptions, index_matrix, monte_carlo_robustness


def _frame(n=60, seed=3):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n)
    return pd.DataFrame({
        "a": base + rng.normal(0, 0.5, n),
        "b": base + rng.normal(0, 0.8, n),
        "c": rng.normal(size=n),
        "pop": rng.integers(200, 5000, n),
    })


@pytest.mark.parametrize("kwargs", [
    {},
    {"method": "z_weighted"},
    {"combine": "mean", "method": "minmax"},
    {"combine": "geometric", "method": "percentile"},
    {"domains": {"a": "Arbeit", "b": "Soziales", "c": "Soziales"}},
])
def test_vectorised_runs_equal_composite_index(kwargs):
    frame = _frame()
    spec = make_spec(["a", "b", "c"], **kwargs)
    base = composite_index(frame, spec=spec, population="pop")
    weights = np.array([[1.0, 1.0, 1.0], [0.5, 1.2, 1.4], [1.0, 0.0, 1.0]])
    matrix = index_matrix(base.scores.to_numpy(), weights, spec, base.included.to_numpy(),
                          frame["pop"].to_numpy(float))
    for r, w in enumerate(weights):
        expected = composite_index(frame, spec=spec.with_(weights=tuple(w)), population="pop").index
        np.testing.assert_allclose(matrix[:, r], expected, atol=1e-10)


def test_robustness_seeded_and_sane():
    frame = _frame()
    spec = make_spec(["a", "b", "c"], min_population=300)
    options = RobustnessOptions(n=200, methods=["z", "minmax", "percentile"])
    one = monte_carlo_robustness(frame, spec, options, seed=7, population="pop")
    two = monte_carlo_robustness(frame, spec, options, seed=7, population="pop")
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.class_probability, two.class_probability)
    included = one.base.included.to_numpy()
    np.testing.assert_allclose(one.class_probability[included].sum(axis=1), 1.0)
    assert one.diagnostics["n_runs"] == 203
    t = one.table[included]
    assert (t["rank_lo"] <= t["rank"]).all() and (t["rank"] <= t["rank_hi"]).all()
    assert (t["robust"] == (t["p_base"] >= 0.8)).all()


def test_no_variation_is_fully_robust_and_leave_one_out_by_hand():
    frame = _frame()
    spec = make_spec(["a", "b", "c"], min_population=0)
    still = RobustnessOptions(n=20, weight_range=0.0, leave_one_out=False)
    fixed = monte_carlo_robustness(frame, spec, still, seed=1)
    assert (fixed.table["p_base"] == 1.0).all() and fixed.table["robust"].all()
    assert (fixed.table["rank_lo"] == fixed.table["rank_hi"]).all()
    loo = monte_carlo_robustness(frame, spec, RobustnessOptions(n=0, leave_one_out=True))
    expected = np.zeros(len(frame))
    for drop in ("a", "b", "c"):
        keep = [x for x in ("a", "b", "c") if x != drop]
        cls = composite_index(frame, keep, min_population=0).classes.to_numpy(dtype=int)
        expected += cls == composite_index(frame, ["a", "b", "c"], min_population=0).classes.to_numpy(dtype=int)
    np.testing.assert_allclose(loo.table["p_base"], expected / 3)
    with pytest.raises(InputError):
        monte_carlo_robustness(frame, spec, RobustnessOptions(n=0, leave_one_out=False))


def test_robustness_settings_come_as_one_options_object():
    """RobustnessOptions() holds the defaults; an old keyword is refused, never silently dropped."""
    frame = _frame()
    spec = make_spec(["a", "b", "c"], min_population=0)
    plain = monte_carlo_robustness(frame, spec, seed=3)
    defaults = RobustnessOptions(n=500, weight_range=0.5, methods=None, leave_one_out=True, threshold=0.8)
    pd.testing.assert_frame_equal(plain.table, monte_carlo_robustness(frame, spec, defaults, seed=3).table)
    with pytest.raises(TypeError, match="RobustnessOptions"):
        monte_carlo_robustness(frame, spec, n=20)
    with pytest.raises(TypeError, match="RobustnessOptions"):
        monte_carlo_robustness(frame, spec, 20)


def test_reasons_constructed_case():
    # area 0: driven by child poverty, area 1 by unemployment, area 4 least green (reversed)
    frame = pd.DataFrame({
        "kids": [9.0, 1.0, 2.0, 2.0, 1.0, 3.0],
        "unemp": [2.0, 9.0, 1.0, 2.0, 3.0, 1.0],
        "green": [5.0, 5.0, 5.0, 6.0, 0.0, 6.0],
    })
    result = composite_index(frame, ["kids", "unemp", "green"], reversed=["green"], min_population=0)
    labels = {"kids": "Kinderarmut", "unemp": "Arbeitslosigkeit", "green": "Grünfläche"}
    table = reasons(result, top=2, labels=labels, lang="de")
    assert table["driver_1"].tolist()[:2] == ["kids", "unemp"]
    assert table["driver_1"].iloc[4] == "green"
    z_kids = (9.0 - frame["kids"].mean()) / frame["kids"].std(ddof=0)
    assert table["driver_1_sd"].iloc[0] == pytest.approx(z_kids)
    assert table["reasons"].iloc[0].startswith(f"Kinderarmut {i18n.format_number(z_kids, 1, 'de')} SD über dem Stadtmittel")
    assert "Grünfläche" in table["reasons"].iloc[4] and "unter dem Stadtmittel" in table["reasons"].iloc[4]
    english = reasons(result, top=1, labels={"kids": "Child poverty"}, lang="en")
    assert english["reasons"].iloc[0] == f"Child poverty {z_kids:.1f} SD above the city average"
    # shares of the index in the area's direction add up to at most 1
    assert (table["driver_1_share"].dropna() <= 1.0 + 1e-12).all()
