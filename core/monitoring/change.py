"""Change of an indicator between two periods, trend over several, and whether it is noise.

``change_between(obs, indicator, start, end, options)`` gives per area the change
(absolute, relative, in percentage points for shares), a test of whether the change is
larger than the noise of its base, MSS-style dynamics classes, and position and movement
relative to the city value (converging / diverging). ``trend(obs, indicator)`` gives the
OLS slope per year with its confidence interval (weighted by the base where bases differ).

Tests of change, chosen for rates from counts on small bases:

* shares with numerator and denominator: the **two-proportion score test** (pooled
  variance; ``statsmodels.stats.proportion.proportions_ztest``) or the **exact conditional
  binomial test** of two Poisson rates: given ``x1 + x2`` events, ``x2`` is binomial with
  ``p = n2 / (n1 + n2)`` under equal rates (Przyborowski–Wilenski; ``statsmodels
  test_poisson_2indep(method='exact-cond')``);
* counts without a base: the same conditional test with equal exposure (Poisson).

Both treat the two periods as independent samples. Residents of one area in two periods
overlap, which makes the true variance of a change smaller, so the tests err on the side of
"within noise" — the point is that "+3 points" on 400 residents is not read as a trend.
Optionally the p-values are corrected across areas for the false-discovery rate
(Benjamini–Hochberg) and the rates are shrunk by Marshall's global empirical Bayes
estimator before the change, dynamics classes and convergence are computed.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, get_language, normalise_language, tr
from ..rates import DEFAULT_MIN_BASE
from .series import (AREA, DENOMINATOR, NUMERATOR, PERIOD, VALUE, city_values, for_indicator,
                     has_counts, match_period, period_years, scale_of, sorted_periods, wide)

TESTS = ("auto", "score", "exact", "none")
DESIRED = ("up", "down")
# the store's indicator and goal directions mean the same
_DESIRED_ALIASES = {"higher_is_better": "up", "increase": "up", "lower_is_better": "down",
                    "decrease": "down",
                    # as a planner writes it in a goals table (also in German)
                    "higher": "up", "lower": "down", "höher": "up", "niedriger": "down"}


def desired_direction(value):
    """'up' or 'down' from 'up'/'down' or the store's 'higher_is_better', 'decrease' …."""
    key = str(value).strip().lower() if value is not None else ""
    key = _DESIRED_ALIASES.get(key, key)
    if key not in DESIRED:
        raise InputError(tr("Desired direction '{value}' is not understood; use 'up' (higher is "
                            "better) or 'down' (lower is better).", value=value))
    return key

# change classes for the map: direction-adjusted sign × significance
CLASS_NAMES = {1: "significant improvement", 2: "improvement within noise", 0: "no change",
               3: "deterioration within noise", 4: "significant deterioration",
               5: "improvement, not tested", 6: "deterioration, not tested"}
CLASS_NAMES_DE = {1: "signifikante Verbesserung", 2: "Verbesserung im Rauschen", 0: "keine Veränderung",
                  3: "Verschlechterung im Rauschen", 4: "signifikante Verschlechterung",
                  5: "Verbesserung, nicht getestet", 6: "Verschlechterung, nicht getestet"}
DYNAMICS_NAMES = {1: "positive", 3: "stable", 5: "negative"}
DYNAMICS_NAMES_DE = {1: "positiv", 3: "stabil", 5: "negativ"}
MOVEMENT_NAMES = {"converging": "converging", "diverging": "diverging", "unchanged": "unchanged"}
MOVEMENT_NAMES_DE = {"converging": "annähernd", "diverging": "auseinanderlaufend", "unchanged": "unverändert"}
TREND_NAMES = {"improving": "improving", "worsening": "worsening", "no clear trend": "no clear trend"}
TREND_NAMES_DE = {"improving": "verbessernd", "worsening": "verschlechternd", "no clear trend": "kein klarer Trend"}


@dataclass
class ChangeOptions:
    """How change is measured and tested.

    Attributes
    ----------
    test : {'auto', 'score', 'exact', 'none'}
        'auto' = score test for shares with counts, exact conditional test for counts
        without a base.
    alpha : float
        Significance level.
    fdr : bool
        Correct p-values across areas (Benjamini–Hochberg); ``significant`` uses the q-value.
    shrinkage : bool
        Shrink rates by Marshall's global empirical Bayes before computing change.
    desired : {'up', 'down'}
        Which direction is an improvement (e.g. 'down' for unemployment).
    min_base : float
        Areas whose denominator is below this in either period are flagged ``small_base``
        and left out of the dynamics reference statistics and classes (MSS: 300 residents).
    dynamics_bounds : tuple
        z-score bounds of the dynamics classes (MSS: −1, 1).
    tolerance : float
        Changes of the gap to the city smaller than this (in value units) count as unchanged.
    """

    test: str = "auto"
    alpha: float = 0.05
    fdr: bool = False
    shrinkage: bool = False
    desired: str = "down"
    min_base: float = DEFAULT_MIN_BASE
    dynamics_bounds: tuple = (-1.0, 1.0)
    tolerance: float = 0.0


@dataclass
class ChangeResult:
    """Per-area table plus diagnostics (city values, test used, counts per class)."""

    table: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


def benjamini_hochberg(p_values):
    """Benjamini–Hochberg q-values (NaN stays NaN); hand-written: scipy 1.10 on QGIS lacks it."""
    p = np.asarray(p_values, dtype="float64")
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def eb_shrink(numerator, denominator, model="binomial"):
    """Marshall's global empirical-Bayes rates (as fractions) and their posterior variance.

    ``m = Σx / Σn``, ``s² = Σ n (r − m)² / Σ n``, prior variance ``A = max(s² − v̄, 0)`` with
    ``v̄ = m / n̄`` (Poisson) or ``m (1 − m) / n̄`` (binomial), shrinkage weight
    ``C = A / (A + v)`` with ``v = m / n`` (resp. ``m (1 − m) / n``), rate ``m + C (r − m)``,
    posterior variance ``C v`` (Marshall 1991, J. R. Stat. Soc. C 40, 283–294).

    Returns
    -------
    rates, posterior_variance : ndarray
    info : dict with ``mean``, ``prior_variance``
    """
    x = np.asarray(numerator, dtype="float64")
    n = np.asarray(denominator, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0)
    rates = np.full(x.shape, np.nan)
    post = np.full(x.shape, np.nan)
    if not ok.any():
        return rates, post, {"mean": np.nan, "prior_variance": np.nan}
    m = x[ok].sum() / n[ok].sum()
    r = x[ok] / n[ok]
    s2 = float(np.sum(n[ok] * (r - m) ** 2) / n[ok].sum())
    unit = m * (1.0 - m) if model == "binomial" else m
    prior = max(s2 - unit / n[ok].mean(), 0.0)
    v = unit / n[ok]
    weight = np.divide(prior, prior + v, out=np.zeros_like(v), where=(prior + v) > 0)
    rates[ok] = m + weight * (r - m)
    post[ok] = weight * v
    return rates, post, {"mean": float(m), "prior_variance": float(prior)}


def score_test_proportions(x1, n1, x2, n2):
    """Two-proportion score test (pooled variance): z and two-sided p per pair."""
    x1, n1, x2, n2 = (np.asarray(a, dtype="float64") for a in (x1, n1, x2, n2))
    z = np.full(x1.shape, np.nan)
    ok = np.isfinite(x1 + n1 + x2 + n2) & (n1 > 0) & (n2 > 0)
    pooled = np.divide(x1 + x2, n1 + n2, out=np.zeros_like(x1), where=ok)
    var = pooled * (1.0 - pooled) * (np.divide(1.0, n1, out=np.zeros_like(n1), where=ok)
                                     + np.divide(1.0, n2, out=np.zeros_like(n2), where=ok))
    diff = np.divide(x2, n2, out=np.zeros_like(x2), where=ok) - np.divide(x1, n1, out=np.zeros_like(x1), where=ok)
    pos = ok & (var > 0)
    z[pos] = diff[pos] / np.sqrt(var[pos])
    z[ok & (var == 0)] = 0.0  # both shares 0 % or both 100 %: no evidence of change
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def exact_conditional_test(x1, n1, x2, n2):
    """Exact conditional binomial test of two Poisson rates: z-like ratio and two-sided p.

    Given ``k = x1 + x2`` events, ``x2 ~ Binomial(k, n2 / (n1 + n2))`` under equal rates;
    scipy's ``binomtest`` gives the two-sided p (minimum-likelihood rule). The statistic is
    the log rate ratio (NaN where a count is 0).
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype="float64") for a in (x1, n1, x2, n2))
    stat = np.full(x1.shape, np.nan)
    p = np.full(x1.shape, np.nan)
    for i in range(len(x1)):
        if not (np.isfinite(x1[i] + n1[i] + x2[i] + n2[i]) and n1[i] > 0 and n2[i] > 0):
            continue
        k = int(round(x1[i] + x2[i]))
        if k == 0:
            p[i] = 1.0
            continue
        p[i] = stats.binomtest(int(round(x2[i])), k, n2[i] / (n1[i] + n2[i])).pvalue
        if x1[i] > 0 and x2[i] > 0:
            stat[i] = np.log((x2[i] / n2[i]) / (x1[i] / n1[i]))
    return stat, p


def _estimated_areas(rows, areas, periods):
    """Per area: True where a value of ``periods`` is flagged as estimated in a boundary change."""
    flags = estimated_rows(rows)
    in_periods = rows[PERIOD].isin(list(periods)).to_numpy()
    flagged = {str(a) for a in rows[AREA].to_numpy()[flags & in_periods]}
    return np.array([str(a) in flagged for a in areas], dtype=bool)


def not_counts(rows):
    """True when most values are not whole numbers ≥ 0, apart from those flagged as estimated in
    a boundary change: percentages or rates, not counts (which may be summed or tested as such)."""
    values = rows[VALUE].to_numpy(dtype="float64")
    known = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        whole = known & (np.abs(values - np.round(values)) <= 1e-9) & (values >= 0)
    unexplained = known & ~whole & ~estimated_rows(rows)
    return bool(known.any()) and 2 * int(unexplained.sum()) >= int(known.sum())


def estimated_rows(rows):
    """Per row: True where the store's flags say the value was estimated in a boundary change."""
    flags = np.zeros(len(rows), dtype=bool)
    if "estimated" in rows.columns:
        flags |= np.array([_true(v) for v in rows["estimated"]], dtype=bool)
    if "rebased_method" in rows.columns:
        flags |= np.array([_true(v) for v in rows["rebased_method"]], dtype=bool)  # 'blocks', 'area' …
    if "estimated_share" in rows.columns:
        share = pd.to_numeric(pd.Series(rows["estimated_share"].to_numpy(), dtype="object"), errors="coerce")
        flags |= (share.fillna(0.0).to_numpy(dtype="float64") > 0)
    return flags


def _number(value):
    """A value for a message in the reader's notation: whole numbers without decimals."""
    if not np.isfinite(value):
        return "–"
    whole = abs(value - round(value)) < 0.05 or abs(value) >= 1000
    return format_number(value, 0 if whole else 1, lang=None)


def _true(value):
    """A flag value as bool (1, True, 'true', 'ja' …; NULL/NaN → False)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "f", "no", "nein", "none", "null", "nan")
    return bool(value)


def _label(names_en, names_de, code, lang):
    """Class label in the given/current language (None for missing)."""
    if code is None or (isinstance(code, float) and not np.isfinite(code)):
        return None
    language = normalise_language(lang) if lang else get_language()
    return (names_de if language == "de" else names_en)[code]


def _check_options(options):
    """Refuse unknown options with a message naming the value."""
    if options.test not in TESTS:
        raise InputError(tr("Unknown test '{test}'; use one of {choices}.", test=options.test,
                            choices=", ".join(TESTS)))
    desired_direction(options.desired)
    if not 0.0 < options.alpha < 1.0:
        raise InputError(tr("The significance level must lie between 0 and 1, not {alpha}.",
                            alpha=options.alpha))


def change_between(obs, indicator, start, end, options=None, lang=None, feedback=None):
    """Change of one indicator per area between two periods, with its significance.

    Parameters
    ----------
    obs : DataFrame
        Long-form observations checked by ``series.check_observations``.
    indicator : str
    start, end : period values as in the ``period`` column.
    options : ChangeOptions, optional

    Returns
    -------
    ChangeResult
        ``table`` per area: ``value_start``, ``value_end``, ``change_abs``, ``change_rel``
        (% of the start value), ``change_pp`` (percentage points, shares only), ``statistic``,
        ``p_value``, ``q_value`` (with fdr), ``significant``, ``improvement`` (change in the
        desired direction, value units), ``change_class`` (1 significant improvement,
        2 improvement within noise, 0 none, 3 deterioration within noise, 4 significant
        deterioration; 5 improvement and 6 deterioration where the change was not tested),
        ``change_label``, ``small_base``, ``dynamics_z``, ``dynamics_class``
        (1 positive, 3 stable, 5 negative, MSS bounds), ``dynamics_label``, ``city_start``,
        ``city_end``, ``gap_start``, ``gap_end``, ``movement`` (converging / diverging /
        unchanged, relative to the city value) and ``movement_label``; with shrinkage also
        ``eb_start`` and ``eb_end``.
    """
    options = options or ChangeOptions()
    _check_options(options)
    feedback = ensure_feedback(feedback)
    rows = for_indicator(obs, indicator)
    periods = sorted_periods(rows)
    matched = [match_period(periods, p) for p in (start, end)]
    for period, found in zip((start, end), matched):
        if found is None:
            raise InputError(tr("Period {period} has no observations of indicator '{indicator}'. "
                                "Periods there: {available}.", period=period, indicator=indicator,
                                available=", ".join(str(p) for p in periods)))
    start, end = matched
    if period_years([start])[0] >= period_years([end])[0]:
        raise InputError(tr("The start period {start} must lie before the end period {end}.",
                            start=start, end=end))
    counts = has_counts(rows)
    per = scale_of(rows)
    values = wide(rows, VALUE, [start, end])
    areas = values.index.tolist()
    v1, v2 = values[start].to_numpy(dtype="float64"), values[end].to_numpy(dtype="float64")
    table = pd.DataFrame({AREA: areas, "value_start": v1, "value_end": v2})
    if counts:
        nums = wide(rows, NUMERATOR, [start, end])
        dens = wide(rows, DENOMINATOR, [start, end])
        x1, x2 = nums[start].to_numpy(dtype="float64"), nums[end].to_numpy(dtype="float64")
        n1, n2 = dens[start].to_numpy(dtype="float64"), dens[end].to_numpy(dtype="float64")
        for name, arr in (("num_start", x1), ("num_end", x2), ("den_start", n1), ("den_end", n2)):
            table[name] = arr
        shares = bool(np.nanmax(np.where(n1 > 0, x1 / np.where(n1 > 0, n1, 1), 0)) <= 1.0
                      and np.nanmax(np.where(n2 > 0, x2 / np.where(n2 > 0, n2, 1), 0)) <= 1.0)
        small = ~(np.isfinite(n1) & np.isfinite(n2) & (n1 >= options.min_base) & (n2 >= options.min_base))
    else:
        x1, x2 = v1, v2
        n1 = n2 = np.where(np.isfinite(v1) & np.isfinite(v2), 1.0, np.nan)
        shares = False
        small = np.zeros(len(areas), dtype=bool)
    table["small_base"] = small

    # the city value at both periods over the same areas: an area missing at one period (a
    # suppressed count) would otherwise move the city value by its absence alone
    both = np.isfinite(n1) & np.isfinite(n2) & np.isfinite(x1) & np.isfinite(x2) if counts else \
        np.isfinite(v1) & np.isfinite(v2)
    if not both.all() and both.any():
        left = [str(a) for a, b in zip(areas, both) if not b]
        feedback.warning(tr("The city value of '{indicator}' at {start} and {end} is taken over the {count} "
                            "areas with values at both periods; {missing} area(s) without are left out "
                            "(first: {areas}).", indicator=indicator, start=start, end=end,
                            count=int(both.sum()), missing=len(left), areas=", ".join(left[:5])))
    kept = {a for a, b in zip(areas, both) if b}
    city = city_values(rows[rows[AREA].isin(kept)], [start, end]) if both.any() else city_values(rows, [start, end])
    c1, c2 = float(city[start]), float(city[end])
    if options.shrinkage and counts:
        model = "binomial" if shares else "poisson"
        e1, _, info1 = eb_shrink(x1, n1, model)
        e2, _, info2 = eb_shrink(x2, n2, model)
        a1, a2 = per * e1, per * e2
        table["eb_start"], table["eb_end"] = a1, a2
    else:
        a1, a2 = v1, v2
    change = a2 - a1
    table["change_abs"] = change
    table["change_rel"] = np.where(np.isfinite(a1) & (a1 != 0), 100.0 * change / np.where(a1 != 0, a1, 1), np.nan)
    table["change_pp"] = change * (100.0 / per) if (counts and shares) else np.nan

    test = options.test
    if test == "auto":
        test = "score" if (counts and shares) else "exact"
    if test != "none" and not counts:
        # per area: a count estimated in a boundary change (fractional) has no Poisson noise
        # model, but it must not keep the areas with published whole counts from their test
        known = np.isfinite(v1) & np.isfinite(v2)
        with np.errstate(invalid="ignore"):
            whole = known & (np.abs(v1 - np.round(v1)) <= 1e-9) & (np.abs(v2 - np.round(v2)) <= 1e-9) \
                & (v1 >= 0) & (v2 >= 0)
        # the indicator holds counts only if most areas have whole values, apart from those a
        # boundary change estimated (flagged): in a table of percentages the few areas at
        # exactly 0 or 100 % are no counts, and a Poisson test of '100 → 0' would be a false alarm
        unexplained = known & ~whole & ~_estimated_areas(rows, areas, (start, end))
        if known.any() and (not whole.any() or 2 * unexplained.sum() >= known.sum()):
            feedback.warning(tr("Indicator '{indicator}' has neither numerator and denominator nor "
                                "whole counts; its change cannot be tested against noise. Load the "
                                "counts behind the rate to get a test.", indicator=indicator))
            test = "none"
        elif (known & ~whole).any():
            odd = [str(a) for a, k in zip(areas, known & ~whole) if k]
            feedback.warning(tr("{count} area(s) have values of '{indicator}' that are not whole counts "
                                "(e.g. estimated in a boundary change; first: {areas}); their change is "
                                "not tested against noise (p-value empty), the other areas' is.",
                                count=len(odd), indicator=indicator, areas=", ".join(odd[:5])))
            x1, x2 = np.where(whole, x1, np.nan), np.where(whole, x2, np.nan)
            n1 = n2 = np.where(whole, 1.0, np.nan)
    if test == "score":
        if counts and not shares:
            raise InputError(tr("The two-proportion score test needs shares (numerator at most the "
                                "denominator); indicator '{indicator}' has rates above 1. Use the "
                                "exact conditional test.", indicator=indicator))
        if counts:
            stat, p = score_test_proportions(x1, n1, x2, n2)
        else:  # Poisson counts, equal exposure: score statistic (x2 − x1) / √(x1 + x2)
            total = x1 + x2
            stat = np.divide(x2 - x1, np.sqrt(total), out=np.zeros_like(total), where=total > 0)
            stat[~np.isfinite(total)] = np.nan
            p = 2.0 * stats.norm.sf(np.abs(stat))
    elif test == "exact":
        stat, p = exact_conditional_test(x1, n1, x2, n2)
    else:
        stat = p = np.full(len(areas), np.nan)
    table["statistic"], table["p_value"] = stat, p
    decide = p
    if options.fdr and test != "none":
        table["q_value"] = benjamini_hochberg(p)
        decide = table["q_value"].to_numpy()
    significant = np.where(np.isfinite(decide), decide < options.alpha, False)
    table["significant"] = significant.astype(bool)

    sign = 1.0 if desired_direction(options.desired) == "up" else -1.0
    improvement = sign * change
    table["improvement"] = improvement
    klass = np.full(len(areas), np.nan)
    have = np.isfinite(improvement)
    # 'within noise' only where a test said so: an untested change (no test chosen, an estimated
    # value, no counts) is 'not tested', not noise
    tested = np.isfinite(np.asarray(decide, dtype="float64"))
    up, down = have & (improvement > 0), have & (improvement < 0)
    klass[up] = np.where(significant[up], 1, np.where(tested[up], 2, 5))
    klass[down] = np.where(significant[down], 4, np.where(tested[down], 3, 6))
    klass[have & (improvement == 0)] = 0
    table["change_class"] = pd.array([int(k) if np.isfinite(k) else None for k in klass], dtype="Int64")
    table["change_label"] = [_label(CLASS_NAMES, CLASS_NAMES_DE, int(k), lang) if np.isfinite(k) else None
                             for k in klass]

    # a value moved in a boundary change carries the estimate's error: a jump of half or more
    # between it and a published value is most often that error (area weights put residents
    # into parks and rail land), not a change the planner should act on
    est_start = _estimated_areas(rows, areas, (start,))
    est_end = _estimated_areas(rows, areas, (end,))
    table["estimated_start"], table["estimated_end"] = est_start, est_end
    with np.errstate(invalid="ignore"):
        jump = (est_start ^ est_end) & np.isfinite(table["change_rel"].to_numpy(dtype="float64")) \
            & (np.abs(table["change_rel"].to_numpy(dtype="float64")) >= 50.0)
    if jump.any():
        first = [f"{areas[i]} ({_number(v1[i])} → {_number(v2[i])})" for i in np.flatnonzero(jump)[:5]]
        feedback.warning(tr("{count} area(s) change by half or more between a value estimated in a boundary "
                            "change and a published one (first: {areas}). Such a jump is usually the "
                            "estimate's error, not a change: check the way across (small units with a "
                            "weight rather than area weights) before reading it.",
                            count=int(jump.sum()), areas="; ".join(first)))

    # MSS-style dynamics: worsening change as z-score over the areas with a sufficient base
    # (unweighted, population SD as the MSS), classes at −1 / +1.
    worsening = -improvement
    reference = np.isfinite(worsening) & ~small
    z = np.full(len(areas), np.nan)
    if reference.sum() >= 2:
        mean, sd = worsening[reference].mean(), worsening[reference].std(ddof=0)
        if sd > 0:
            z[reference] = (worsening[reference] - mean) / sd
    low, high = options.dynamics_bounds
    dyn = np.where(np.isfinite(z), np.where(z < low, 1, np.where(z > high, 5, 3)), np.nan)
    table["dynamics_z"] = z
    table["dynamics_class"] = pd.array([int(d) if np.isfinite(d) else None for d in dyn], dtype="Int64")
    table["dynamics_label"] = [_label(DYNAMICS_NAMES, DYNAMICS_NAMES_DE, int(d), lang) if np.isfinite(d)
                               else None for d in dyn]

    table["city_start"], table["city_end"] = c1, c2
    gap1, gap2 = a1 - c1, a2 - c2
    table["gap_start"], table["gap_end"] = gap1, gap2
    delta = np.abs(gap2) - np.abs(gap1)
    movement = np.where(~np.isfinite(delta), None,
                        np.where(np.abs(delta) <= options.tolerance, "unchanged",
                                 np.where(delta < 0, "converging", "diverging")))
    table["movement"] = movement
    table["movement_label"] = [_label(MOVEMENT_NAMES, MOVEMENT_NAMES_DE, m, lang) if m else None
                               for m in movement]
    table["position"] = np.where(~np.isfinite(gap2), None, np.where(gap2 > 0, "above", "below"))
    diagnostics = {
        "indicator": indicator, "start": start, "end": end, "test": test, "per": per,
        "shares": shares, "city_start": c1, "city_end": c2, "city_from_counts": counts, "fdr": options.fdr,
        "shrinkage": bool(options.shrinkage and counts),
        "class_counts": {int(k): int((klass == k).sum()) for k in (1, 2, 0, 3, 4, 5, 6)},
        "n_significant": int(significant.sum()), "n_small_base": int(small.sum()),
    }
    if options.shrinkage and counts:
        diagnostics["eb"] = {"start": info1, "end": info2}
    return ChangeResult(table=table, diagnostics=diagnostics)


def _slope_table(years, values, weights, alpha):
    """(Weighted) least-squares slope, its interval and p for one area's series."""
    ok = np.isfinite(years) & np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    t, y, w = years[ok], values[ok], weights[ok]
    k = len(t)
    out = {"n_periods": k, "slope": np.nan, "slope_low": np.nan, "slope_high": np.nan,
           "slope_se": np.nan, "slope_p": np.nan}
    if k < 2 or np.ptp(t) == 0:
        return out
    tw = np.sum(w * t) / w.sum()
    yw = np.sum(w * y) / w.sum()
    sxx = np.sum(w * (t - tw) ** 2)
    slope = np.sum(w * (t - tw) * (y - yw)) / sxx
    out["slope"] = slope
    if k < 3:
        return out
    resid = y - (yw + slope * (t - tw))
    sigma2 = np.sum(w * resid ** 2) / (k - 2)
    se = np.sqrt(sigma2 / sxx)
    q = stats.t.ppf(1.0 - alpha / 2.0, k - 2)
    out.update(slope_se=se, slope_low=slope - q * se, slope_high=slope + q * se,
               slope_p=float(2.0 * stats.t.sf(abs(slope / se), k - 2)) if se > 0 else
               (0.0 if slope != 0 else 1.0))
    return out


def trend(obs, indicator, periods=None, alpha=0.05, weighted=True, desired="down", lang=None):
    """Linear trend per area over several periods: slope per year with its interval.

    Parameters
    ----------
    periods : list, optional
        The periods to use (default: all of the indicator).
    weighted : bool
        Weight each period by its denominator (weighted least squares) where the
        indicator has counts: a value on 2,000 residents counts more than one on 200.
    desired : {'up', 'down'}
        Direction of improvement; ``trend_class`` is 'improving' / 'worsening' where the
        interval excludes 0, else 'no clear trend'.

    Returns
    -------
    DataFrame
        ``area_id``, ``n_periods``, ``slope``, ``slope_se``, ``slope_low``, ``slope_high``,
        ``slope_p``, ``weighted``, ``trend_class`` and ``trend_label`` (in the given/current
        language); city trend in ``attrs['city_slope']``.
    """
    desired = desired_direction(desired)
    rows = for_indicator(obs, indicator)
    periods = periods if periods is not None else sorted_periods(rows)
    years = period_years(periods)
    values = wide(rows, VALUE, periods)
    use_weights = weighted and has_counts(rows)
    weights = wide(rows, DENOMINATOR, periods) if use_weights else None
    records = []
    for area in values.index:
        w = weights.loc[area].to_numpy(dtype="float64") if use_weights else np.ones(len(periods))
        rec = _slope_table(years, values.loc[area].to_numpy(dtype="float64"), w, alpha)
        rec[AREA] = area
        records.append(rec)
    table = pd.DataFrame.from_records(records)
    table = table[[AREA, "n_periods", "slope", "slope_se", "slope_low", "slope_high", "slope_p"]]
    table["weighted"] = bool(use_weights)
    sign = 1.0 if desired == "up" else -1.0
    clear = np.isfinite(table["slope_low"].to_numpy()) & (
        (table["slope_low"].to_numpy() > 0) | (table["slope_high"].to_numpy() < 0))
    direction = sign * table["slope"].to_numpy()
    table["trend_class"] = np.where(clear, np.where(direction > 0, "improving", "worsening"), "no clear trend")
    table["trend_label"] = [_label(TREND_NAMES, TREND_NAMES_DE, c, lang) for c in table["trend_class"]]
    city = city_values(rows, periods).to_numpy(dtype="float64")
    table.attrs["city_slope"] = _slope_table(years, city, np.ones(len(periods)), alpha)["slope"]
    return table
