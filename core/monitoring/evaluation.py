"""Evaluation of a measure: difference-in-differences against matched comparison areas.

``evaluate_measure(obs, indicator, treated, start, options, areas=None)``

1. Per area: the mean value before the measure (periods before ``start``), the linear
   trend before it, and the mean from ``start`` on; its change = after − before.
2. Comparison areas: every treated area gets its ``n_matches`` nearest untreated areas in
   pre-period level and trend (standardised; with replacement; ties broken by a seeded
   shuffle). Optionally the neighbours of treated areas (queen contiguity of the polygons,
   ``core.priorities.weights``) are excluded, because a measure may spill over into them.
3. Estimate (ATT): mean over treated areas of (own change − mean change of its matches),
   the matches' changes bias-corrected for their remaining difference in level and trend
   (optional, on by default).
4. Inference by permutation (placebo areas, seeded): the whole procedure is repeated with
   randomly chosen untreated areas as if they had been treated. Each estimate is
   studentized by its standard error (it is linear in the areas' changes; each area's noise
   is the sampling variance from its counts plus the drift the matching leaves unexplained),
   so an extreme or a small, noisy set of treated areas is compared on the same footing as
   typical placebo sets (studentized permutation, Chung & Romano 2013, Ann. Stat. 41, 484–507). p = share
   of placebo statistics at least as large in absolute value (with the usual +1). The
   interval inverts this test under a constant additive effect.
5. Pre-trend check: the same comparison for the pre-period slopes (treated minus matched),
   with its own placebo p-value — a significant difference means the areas were already
   drifting apart before the measure.

Matching on level and trend, placebo inference and the pre-trend check follow the
synthetic-control / matched DiD practice (Abadie, Diamond & Hainmueller 2010; Abadie
2021, J. Econ. Lit. 59, 391–425); we hand-write it in numpy because no library on the QGIS
stack offers it.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from .series import (AREA, DENOMINATOR, NUMERATOR, VALUE, for_indicator, has_counts, match_period,
                     period_years, scale_of, sorted_periods, wide)


@dataclass
class EvaluationOptions:
    """How comparison areas are found and the estimate is tested.

    Attributes
    ----------
    n_matches : int
        Comparison areas per treated area (nearest neighbours in level and trend).
    exclude_neighbours : bool
        Leave the treated areas' neighbours out of the comparison pool (needs polygons).
    permutations : int
        Number of placebo draws.
    alpha : float
        1 − confidence level of the interval; level of the tests.
    seed : int
        Seed of tie-breaking and the placebo draws.
    match_on_trend : bool
        Match on the pre-period trend too (needs at least two pre periods).
    bias_correction : bool
        Adjust each comparison area's change for its remaining difference in level and trend
        to the treated area (regression of the change on the matching variables in the
        comparison pool; Abadie & Imbens 2011, J. Bus. Econ. Stat. 29, 1–11). Matters where
        the measure's areas are extreme (the worst-off areas) and no close match exists.
    """

    n_matches: int = 3
    exclude_neighbours: bool = False
    permutations: int = 499
    alpha: float = 0.05
    seed: int = 0
    match_on_trend: bool = True
    bias_correction: bool = True


@dataclass
class EvaluationResult:
    """Estimate, interval, p-values, the areas used and a text in words."""

    estimate: float
    low: float
    high: float
    p_value: float
    pretrend: float
    pretrend_p: float
    areas: pd.DataFrame
    matches: pd.DataFrame
    placebo: np.ndarray
    text: str
    diagnostics: dict = field(default_factory=dict)


def _slopes(years, values):
    """OLS slope per row of ``values`` over ``years`` (NaN-aware; NaN with < 2 points)."""
    ok = np.isfinite(values)
    t = np.where(ok, years[None, :], np.nan)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = np.nanmean(t, axis=1, keepdims=True)
        ym = np.nanmean(values, axis=1, keepdims=True)
        sxy = np.nansum((t - tm) * (values - ym), axis=1)
        sxx = np.nansum((t - tm) ** 2, axis=1)
        slope = np.where((n >= 2) & (sxx > 0), sxy / sxx, np.nan)
    return slope


def _match(features, treated_idx, pool_idx, k, order):
    """For each treated row the ``k`` nearest pool rows (Euclidean); ties by ``order``."""
    pool = pool_idx[np.argsort(order, kind="stable")]
    diff = features[treated_idx][:, None, :] - features[pool][None, :, :]
    dist = np.sqrt((diff ** 2).sum(axis=2))
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return pool[nearest], np.take_along_axis(dist, nearest, axis=1)


def _att(change, slope, features, treated_idx, pool_idx, k, order, noise, bias_correction=True):
    """(estimate, its scale, pre-trend difference, its scale, matches, distances) for one treated set.

    The estimate is linear in the areas' changes, ``a · change``; its standard error is
    ``√(Σ a² σ²)`` with each area's noise variance σ² (``noise``: change, slope), used to
    studentize the placebo draws: an extreme set of treated areas, matched and bias-corrected
    by extrapolation, or a set of small, noisy areas has a larger error than a typical placebo
    set, and a raw placebo distribution would be too narrow for it.
    """
    k = min(k, pool_idx.size)
    matched, dist = _match(features, treated_idx, pool_idx, k, order)
    n_t = treated_idx.size
    weights = np.zeros(change.size)
    np.add.at(weights, treated_idx, 1.0 / n_t)
    np.add.at(weights, matched.ravel(), -1.0 / (n_t * k))
    pre_weights = weights.copy()
    if bias_correction:
        design = np.column_stack([np.ones(pool_idx.size), features[pool_idx]])
        projector = np.linalg.pinv(design)[1:]  # coefficients of the matching variables
        gap = (features[treated_idx] - features[matched].mean(axis=1)).mean(axis=0)
        weights[pool_idx] -= gap @ projector
    estimate = float(weights @ change)
    scale = float(np.sqrt(np.sum(weights ** 2 * noise[0])))
    pre = float(pre_weights @ slope)  # NaN with < 2 pre periods
    pre_scale = float(np.sqrt(np.sum(pre_weights ** 2 * noise[1])))
    return estimate, scale, pre, pre_scale, matched, dist


def _sampling_variance(rows, periods):
    """Area × period sampling variance of the value from its counts (zeros without counts).

    Shares: ``per² p (1 − p) / n``; rates above 1 (Poisson counts): ``per² x / n²``.
    """
    values = wide(rows, VALUE, periods)
    if not has_counts(rows):
        return np.zeros(values.shape)
    num = wide(rows, NUMERATOR, periods).to_numpy(dtype="float64")
    den = wide(rows, DENOMINATOR, periods).to_numpy(dtype="float64")
    per = scale_of(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = num / den
        shares = bool(np.nanmax(np.where(den > 0, share, 0.0)) <= 1.0)
        var = per ** 2 * (share * (1.0 - share) / den if shares else num / den ** 2)
    return np.where(np.isfinite(var), var, 0.0)


def _noise(sampling, years, n_pre, change, slope, features, pool_idx):
    """Noise variance per area of the change and of the pre-trend slope.

    Sampling variance from the counts plus a common extra variance (area-level drift the
    matching variables do not explain), estimated by moments from the comparison pool.
    """
    pre, post = sampling[:, :n_pre], sampling[:, n_pre:]
    v_change = pre.sum(axis=1) / n_pre ** 2 + post.sum(axis=1) / post.shape[1] ** 2
    design = np.column_stack([np.ones(pool_idx.size), features[pool_idx]])
    resid = change[pool_idx] - design @ np.linalg.lstsq(design, change[pool_idx], rcond=None)[0]
    dof = max(pool_idx.size - design.shape[1], 1)
    extra = max(float(resid @ resid) / dof - float(v_change[pool_idx].mean()), 0.0)
    noise_change = v_change + extra
    if n_pre >= 2:
        t = years[:n_pre] - years[:n_pre].mean()
        c = t / np.sum(t ** 2)
        v_slope = pre @ (c ** 2)
        extra_slope = max(float(np.var(slope[pool_idx], ddof=1)) - float(v_slope[pool_idx].mean()), 0.0)
        noise_slope = v_slope + extra_slope
    else:
        noise_slope = np.ones(change.size)
    # no information at all (a perfect fit without counts): equal noise for every area
    if not np.any(noise_change[pool_idx] > 0):
        noise_change = np.ones(change.size)
    if not np.any(noise_slope[pool_idx] > 0):
        noise_slope = np.ones(change.size)
    return noise_change, noise_slope


def _p_two_sided(observed, draws):
    """Permutation p-value with the +1 correction (NaN draws ignored)."""
    draws = draws[np.isfinite(draws)]
    if not np.isfinite(observed) or draws.size == 0:
        return np.nan
    return float((1 + np.sum(np.abs(draws) >= abs(observed) - 1e-12)) / (draws.size + 1))


def neighbours_of(areas, treated, id_field=AREA):
    """Ids of the queen neighbours of the treated areas (not themselves)."""
    from ..priorities.weights import contiguity

    weights = contiguity(areas, id_field=id_field)
    ids = [str(i) for i in weights.ids]
    wanted = {str(t) for t in treated}
    out = set()
    for pos, nbrs in enumerate(weights.neighbour_lists()):
        if ids[pos] in wanted:
            out.update(ids[j] for j in nbrs)
    return out - wanted


def evaluate_measure(obs, indicator, treated, start, options=None, areas=None, measure=None,
                     lang=None, feedback=None):
    """Difference-in-differences of a measure's areas against matched comparison areas.

    Parameters
    ----------
    obs : DataFrame
        Long-form observations (``series.check_observations``), one area set.
    indicator : str
    treated : list
        Ids of the measure's areas.
    start : period
        First period in which the measure may act.
    options : EvaluationOptions, optional
    areas : GeoDataFrame, optional
        Polygons with ``area_id`` (needed to exclude neighbours).
    measure : str, optional
        Name used in the text.

    Returns
    -------
    EvaluationResult
    """
    options = options or EvaluationOptions()
    feedback = ensure_feedback(feedback)
    if options.n_matches < 1 or options.permutations < 19:
        raise InputError(tr("Use at least 1 comparison area per treated area and at least 19 "
                            "permutations (got {k} and {b}).", k=options.n_matches, b=options.permutations))
    rows = for_indicator(obs, indicator)
    periods = sorted_periods(rows)
    start_period = match_period(periods, start)
    years = period_years(periods)
    t_start = period_years([start_period if start_period is not None else start])[0]
    pre = [p for p, y in zip(periods, years) if y < t_start]
    post = [p for p, y in zip(periods, years) if y >= t_start]
    if not pre or not post:
        raise InputError(tr("The measure starts at {start}; indicator '{indicator}' needs periods "
                            "before and from then on (it has {periods}).", start=start,
                            indicator=indicator, periods=", ".join(str(p) for p in periods)))
    table = wide(rows, VALUE, periods)
    ids = [str(a) for a in table.index]
    treated_set = {str(t) for t in treated}
    unknown = sorted(treated_set - set(ids))
    if unknown:
        raise InputError(tr("Areas of the measure without observations of '{indicator}': {areas}.",
                            indicator=indicator, areas=", ".join(unknown[:10])))
    values = table.to_numpy(dtype="float64")
    n_pre = len(pre)
    pre_vals, post_vals = values[:, :n_pre], values[:, n_pre:]
    complete = np.isfinite(values).all(axis=1)
    pre_level = pre_vals.mean(axis=1)
    slope = _slopes(years[:n_pre], pre_vals) if n_pre >= 2 else np.full(len(ids), np.nan)
    change = post_vals.mean(axis=1) - pre_level

    is_treated = np.array([i in treated_set for i in ids])
    excluded = np.zeros(len(ids), dtype=bool)
    if options.exclude_neighbours:
        if areas is None:
            raise InputError(tr("Excluding neighbouring areas needs the area polygons."))
        nbrs = neighbours_of(areas, treated_set)
        excluded = np.array([i in nbrs for i in ids]) & ~is_treated
    incomplete = ~complete
    if np.any(incomplete & is_treated):
        feedback.warning(tr("{n} areas of the measure lack values in some periods and are left out.",
                            n=int(np.sum(incomplete & is_treated))))
    treated_idx = np.flatnonzero(is_treated & complete)
    pool_idx = np.flatnonzero(~is_treated & ~excluded & complete)
    k = options.n_matches
    if treated_idx.size == 0:
        raise InputError(tr("No area of the measure has a complete series of '{indicator}'.",
                            indicator=indicator))
    if pool_idx.size < max(2 * treated_idx.size, treated_idx.size + 2, k):
        raise _too_few_comparisons(pool_idx.size, treated_idx.size, k)

    use_trend = options.match_on_trend and n_pre >= 2
    if options.match_on_trend and not use_trend:
        feedback.warning(tr("Only one period before the measure: comparison areas are matched on the "
                            "level only, and the pre-trend cannot be checked."))
    cols = [pre_level] + ([slope] if use_trend else [])
    raw = np.column_stack(cols)
    sd = raw[pool_idx].std(axis=0)
    features = (raw - raw[pool_idx].mean(axis=0)) / np.where(sd > 0, sd, 1.0)

    rng = np.random.default_rng(options.seed)
    order = rng.permutation(pool_idx.size)
    bias = options.bias_correction
    noise = _noise(_sampling_variance(rows, periods), years, n_pre, change, slope, features, pool_idx)
    estimate, scale, pretrend, pre_scale, matched, dist = _att(change, slope, features, treated_idx,
                                                               pool_idx, k, order, noise, bias)
    draws = np.empty(options.permutations)  # studentized: estimate / scale
    pre_draws = np.empty(options.permutations)
    n_t = treated_idx.size
    for b in range(options.permutations):
        if b % 50 == 0:
            feedback.check()
            feedback.progress(b / options.permutations)
        pick = rng.permutation(pool_idx.size)
        fake, rest = pool_idx[pick[:n_t]], pool_idx[pick[n_t:]]
        est_b, scale_b, pre_b, pre_scale_b, _, _ = _att(change, slope, features, fake, rest, k,
                                                        rng.permutation(rest.size), noise, bias)
        draws[b], pre_draws[b] = est_b / scale_b, pre_b / pre_scale_b
    p_value = _p_two_sided(estimate / scale, draws)
    pretrend_p = _p_two_sided(pretrend / pre_scale, pre_draws) if use_trend else np.nan
    low = estimate - scale * float(np.quantile(draws, 1 - options.alpha / 2))
    high = estimate - scale * float(np.quantile(draws, options.alpha / 2))

    role = np.where(is_treated, "treated", np.where(excluded, "excluded_neighbour", "pool"))
    used = np.zeros(len(ids), dtype=int)
    np.add.at(used, matched.ravel(), 1)
    role = np.where((role == "pool") & (used > 0), "comparison", role)
    role = np.where(incomplete & ~excluded, "incomplete", role)
    area_table = pd.DataFrame({AREA: table.index.tolist(), "role": role, "pre_level": pre_level,
                               "pre_slope": slope, "post_level": post_vals.mean(axis=1),
                               "change": change, "times_matched": used})
    matches = pd.DataFrame({"treated": np.repeat([table.index[i] for i in treated_idx], matched.shape[1]),
                            "comparison": [table.index[j] for j in matched.ravel()],
                            "distance": dist.ravel()})
    n_comparison = int(np.unique(matched).size)
    text = describe(measure or None, indicator, estimate, low, high, p_value, pretrend_p,
                    n_t, n_comparison, options, lang)
    diagnostics = {"pre_periods": pre, "post_periods": post, "n_treated": int(n_t),
                   "n_comparison": n_comparison, "n_pool": int(pool_idx.size),
                   "n_excluded_neighbours": int(excluded.sum()), "matched_on_trend": bool(use_trend),
                   "treated_change": float(change[treated_idx].mean()),
                   "comparison_change": float(change[matched].mean()), "seed": options.seed,
                   "permutations": options.permutations}
    return EvaluationResult(estimate=estimate, low=low, high=high, p_value=p_value, pretrend=pretrend,
                            pretrend_p=pretrend_p, areas=area_table, matches=matches, placebo=draws * scale,
                            text=text, diagnostics=diagnostics)


def _too_few_comparisons(pool, n_treated, k):
    """The error for a comparison pool too small for matching and placebo draws."""
    return InfeasibleError(tr("Only {pool} comparison areas are available for {n} areas of the measure "
                              "and {k} matches each; matching and placebo inference need at least {need}. "
                              "Use fewer matches, do not exclude neighbours, or add areas.", pool=pool,
                              n=n_treated, k=k, need=max(2 * n_treated, n_treated + 2, k)))


def _fmt(value, lang, digits=2, sign=True):
    """Number for the text, German decimal comma in German."""
    from ..i18n import get_language, normalise_language

    language = normalise_language(lang) if lang else get_language()
    text = format(value, ("+" if sign else "") + f".{digits}f") if np.isfinite(value) else "–"
    return text.replace(".", ",") if language == "de" else text


def describe(measure, indicator, estimate, low, high, p_value, pretrend_p, n_treated, n_comparison,
             options, lang=None):
    """What the estimate does and does not show, in words (current or given language)."""
    numbers = dict(indicator=indicator, estimate=_fmt(estimate, lang), low=_fmt(low, lang), high=_fmt(high, lang),
                   level=str(int(round(100 * (1 - options.alpha)))), p=_fmt(p_value, lang, 3, False),
                   n=str(n_treated), m=str(n_comparison))
    if measure is None:  # German needs its own sentence: 'Wirkung der Maßnahme', not 'von die Maßnahme'
        parts = [tr("Estimated effect of the measure on '{indicator}': {estimate} (interval {low} to {high}, "
                    "{level} %), permutation p = {p}, from {n} areas of the measure against {m} matched "
                    "comparison areas.", lang=lang, **numbers)]
    else:
        parts = [tr("Estimated effect of {measure} on '{indicator}': {estimate} (interval {low} to {high}, "
                    "{level} %), permutation p = {p}, from {n} areas of the measure against {m} matched "
                    "comparison areas.", lang=lang, measure=measure, **numbers)]
    if p_value < options.alpha:
        parts.append(tr("The development in the measure's areas differs from that of comparable areas "
                        "by more than chance would explain.", lang=lang))
    else:
        parts.append(tr("The difference is within what chance produces among comparable areas: the "
                        "data do not show an effect — which is not proof that there is none.", lang=lang))
    if np.isfinite(pretrend_p) and pretrend_p < options.alpha:
        parts.append(tr("Caution: before the measure its areas already developed differently from "
                        "their comparison areas (pre-trend check failed); the estimate may reflect "
                        "that difference rather than the measure.", lang=lang))
    elif np.isfinite(pretrend_p):
        parts.append(tr("Before the measure its areas and their comparison areas developed alike "
                        "(pre-trend check passed).", lang=lang))
    parts.append(tr("The estimate does not show what caused the difference: other programmes or events "
                    "in the same areas and years would appear here too.", lang=lang))
    if not options.exclude_neighbours:
        parts.append(tr("Neighbouring areas were allowed as comparison areas; if the measure spilled "
                        "over into them, the effect is underestimated.", lang=lang))
    return " ".join(parts)
