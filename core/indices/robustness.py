"""Robustness of an index: how much do the classes depend on the choices made?

``monte_carlo_robustness(frame, spec, RobustnessOptions(n=500, ...), seed=0)`` recomputes the index
many times:

* **weights** drawn independently per indicator from ``w · U(1 − r, 1 + r)`` (default r = 0.5,
  i.e. ±50 %),
* the **standardisation** drawn from ``methods`` (default: the spec's own only),
* plus one run **leaving out each indicator in turn**,

and reports per area the probability of each class, the class of the spec itself and how
often it is reproduced (``p_base``), the modal class, and a rank interval (5th–95th
percentile of the rank, 1 = highest need). An area is ``robust`` when ``p_base`` ≥
``threshold`` (default 0.8). Same input and seed → same output on both stacks.

The engine is vectorised: the standardised scores are computed once per method, the
indices of all runs come from one matrix product, re-standardisation and SD-band classes
work on all runs at once (quantiles, natural breaks and equal intervals per run).
"""
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..options import options_or_default, refuse_ignored_keywords
from .classify import classify, sd_band_classes
from .composite import IndexSpec, composite_index, make_spec


@dataclass
class RobustnessResult:
    """Per-area robustness of the index classes (see the module docstring)."""

    table: pd.DataFrame
    class_probability: pd.DataFrame
    runs: pd.DataFrame
    base: object
    diagnostics: dict = field(default_factory=dict)


@dataclass
class RobustnessOptions:
    """Settings of ``monte_carlo_robustness``: what varies, and when a class counts as robust.

    Attributes
    ----------
    n : int
        Number of random runs (weights and standardisation; default 500).
    weight_range : float
        Relative range of the weights: 0.5 (default) = each weight between 50 % and 150 %.
    methods : sequence of str, optional
        Standardisations to draw from (default: the spec's own).
    leave_one_out : bool
        Add one run per indicator without it (default; needs at least 2 indicators).
    threshold : float
        ``robust`` where the spec's own class is reproduced in at least this share of runs
        (default 0.8).
    """

    n: int = 500
    weight_range: float = 0.5
    methods: Optional[tuple] = None
    leave_one_out: bool = True
    threshold: float = 0.8


def _column_z(values, reference, weights=None, ddof=0):
    """Standardise each column of ``values`` (areas × runs) over the reference rows."""
    ref = values[reference]
    if weights is None:
        mean = ref.mean(axis=0)
        sd = ref.std(axis=0, ddof=ddof)
    else:
        w = weights[reference][:, None]
        mean = (w * ref).sum(axis=0) / w.sum()
        sd = np.sqrt((w * (ref - mean) ** 2).sum(axis=0) / w.sum())
    sd = np.where(sd > 0, sd, np.nan)
    return (values - mean) / sd


def _combine_matrix(scores, weights, how):
    """Combined score of every run: scores (areas × m), weights (runs × m) → areas × runs."""
    if how == "sum":
        return scores @ weights.T
    norm = weights / weights.sum(axis=1, keepdims=True)
    if how == "mean":
        return scores @ norm.T
    with np.errstate(divide="ignore"):
        logs = np.log(scores)
    logs = np.where(np.isfinite(logs), logs, -1e300)  # zero score → geometric mean 0
    return np.exp(logs @ norm.T)


def index_matrix(scores, weights, spec, included, population=None):
    """Index values (areas × runs) for one matrix of standardised scores and many weight vectors."""
    weighted = population if spec.method == "z_weighted" else None
    if spec.domains:
        domain_of = [spec.domains.get(ind, "") for ind in spec.indicators]
        names = list(dict.fromkeys(domain_of))
        dw = spec.domain_weights or {}
        domain_weights = np.array([float(dw.get(d, 1.0)) for d in names])
        subs = []
        for d in names:
            cols = [j for j, x in enumerate(domain_of) if x == d]
            w = weights[:, cols]
            sub = _combine_matrix(scores[:, cols], w, spec.combine)
            # a domain whose indicators all got weight 0 (leave-one-out) drops out
            empty = w.sum(axis=1) <= 0
            if spec.restandardise:
                sub = _column_z(sub, included, weighted, spec.ddof)
            sub[:, empty] = np.nan
            subs.append(sub)
        stack = np.stack(subs, axis=2)  # areas × runs × domains
        present = np.isfinite(stack[0])  # runs × domains (same for every area)
        combined = np.empty(stack.shape[:2])
        for pattern in np.unique(present, axis=0):
            runs = np.all(present == pattern, axis=1)
            dws = np.tile(domain_weights[pattern], (runs.sum(), 1))
            block = stack[:, runs][:, :, pattern]
            if spec.combine == "sum":
                combined[:, runs] = np.einsum("arm,rm->ar", block, dws)
            elif spec.combine == "mean":
                combined[:, runs] = np.einsum("arm,rm->ar", block, dws / dws.sum(axis=1, keepdims=True))
            else:
                with np.errstate(divide="ignore"):
                    logs = np.log(block)
                logs = np.where(np.isfinite(logs), logs, -1e300)
                combined[:, runs] = np.exp(np.einsum("arm,rm->ar", logs, dws / dws.sum(axis=1, keepdims=True)))
    else:
        combined = _combine_matrix(scores, weights, spec.combine)
    if spec.restandardise:
        combined = _column_z(combined, included, weighted, spec.ddof)
    return combined


def _classes_matrix(index, included, spec):
    """Classes of every run (areas × runs)."""
    if spec.classification == "sd_bands":
        return sd_band_classes(index, np.asarray(spec.bounds, dtype="float64"))
    if spec.classification == "fixed":
        return classify(index.ravel(), np.ones(index.size, bool), "fixed",
                        breaks=spec.breaks)[0].reshape(index.shape)
    out = np.zeros(index.shape, dtype=int)
    for r in range(index.shape[1]):
        out[:, r] = classify(index[:, r], included, spec.classification, spec.n_classes)[0]
    return out


def _ranks(index):
    """Rank per column, 1 = highest index; NaN stays NaN."""
    filled = np.where(np.isfinite(index), index, -np.inf)
    order = np.argsort(-filled, axis=0, kind="stable")
    ranks = np.empty(index.shape)
    rows = np.arange(index.shape[0])[:, None]
    ranks[order, np.arange(index.shape[1])[None, :]] = rows + 1
    return np.where(np.isfinite(index), ranks, np.nan)


def monte_carlo_robustness(frame, spec=None, options=None, seed=0, population=None, exclude=None,
                           feedback=None, **spec_kwargs):
    """Monte-Carlo robustness of the index classes.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
    spec : IndexSpec, optional
        The index as chosen (otherwise built from ``spec_kwargs`` like ``composite_index``).
    options : RobustnessOptions, optional
        Runs, weight range, standardisations, leave-one-out and the robustness threshold
        (defaults: ``RobustnessOptions()``).
    seed : int
        Seed of ``numpy.random.default_rng``.
    population, exclude : as in ``composite_index``.
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.
    **spec_kwargs
        Without ``spec``: ``indicators`` and the settings of ``make_spec``.

    Returns
    -------
    RobustnessResult
        ``table``: ``base_class``, ``p_base``, ``modal_class``, ``p_modal``, ``rank``,
        ``rank_lo``, ``rank_hi``, ``robust``; ``class_probability``: one column per class;
        ``runs``: weights and method of each run.
    """
    feedback = ensure_feedback(feedback)
    options = options_or_default(options, RobustnessOptions, "monte_carlo_robustness")
    refuse_ignored_keywords(spec, spec_kwargs, RobustnessOptions, "monte_carlo_robustness")
    n, weight_range, methods = options.n, options.weight_range, options.methods
    leave_one_out, threshold = options.leave_one_out, options.threshold
    if spec is None:
        spec = make_spec(spec_kwargs.pop("indicators"), **spec_kwargs)
    if not isinstance(spec, IndexSpec):
        raise InputError(tr("The robustness analysis needs an index specification."))
    if n < 0 or not 0 <= weight_range < 1:
        raise InputError(tr("Use a non-negative number of runs and a weight range between 0 and 1 "
                            "(e.g. 0.5 for ±50 %)."))
    methods = tuple(methods) if methods else (spec.method,)
    if 0 < n < 100:
        # a share of n runs is uncertain by about ±1.96·sqrt(p(1-p)/n); at the usual threshold
        # (0.8) and 5 runs that is ±35 points, so 'robust' would depend on the seed
        spread = 196.0 * np.sqrt(threshold * (1.0 - threshold) / n)
        feedback.warning(tr(
            "Only {runs} random runs: the share of runs that keep an area's class is uncertain by about "
            "±{spread} percentage points, so 'robust' or not may change with another seed. Use at least 100 "
            "runs (500 is usual).", runs=n, spread=format_number(spread, 0)))
    if len(spec.indicators) == 1 and (weight_range > 0 or leave_one_out):
        feedback.warning(tr(
            "The index has a single indicator: varying its weight or leaving it out cannot change the "
            "classes, so areas count as robust by construction (only a varied standardisation, if chosen, "
            "is tested). Add indicators or read the result as a check of the standardisation only."))
    rng = np.random.default_rng(seed)
    base = composite_index(frame, spec=spec, population=population, exclude=exclude)
    included = base.included.to_numpy()
    pop = None
    if population is not None:
        pop = np.asarray(frame[population] if isinstance(population, str) else population, dtype="float64")
    m = len(spec.indicators)
    base_w = np.ones(m) if spec.weights is None else np.asarray(spec.weights, dtype="float64")

    # standardised scores per method, with the same reference areas as the base index
    scores = {}
    for k, method in enumerate(methods):
        feedback.check()
        variant = base if method == spec.method else composite_index(
            frame, spec=spec.with_(method=method), population=population, exclude=exclude)
        scores[method] = variant.scores.to_numpy(dtype="float64")
        feedback.progress(0.3 * (k + 1) / len(methods))

    weights = base_w * rng.uniform(1.0 - weight_range, 1.0 + weight_range, size=(n, m))
    run_methods = [methods[i] for i in rng.integers(0, len(methods), size=n)]
    if leave_one_out and m >= 2:
        loo = np.tile(base_w, (m, 1))
        loo[np.arange(m), np.arange(m)] = 0.0
        weights = np.vstack([weights, loo])
        run_methods += [spec.method] * m
    runs = len(run_methods)
    if runs == 0:
        raise InputError(tr("No robustness runs: give a number of runs or allow leaving out indicators."))
    run_methods = np.array(run_methods, dtype=object)
    index = np.full((len(frame), runs), np.nan)
    for method in methods:
        feedback.check()
        cols = np.flatnonzero(run_methods == method)
        if cols.size:
            index[:, cols] = index_matrix(scores[method], weights[cols], spec.with_(method=method),
                                          included, pop)
    feedback.progress(0.7)
    classes = _classes_matrix(index, included, spec)
    classes = np.where(np.isfinite(index), classes, 0)
    k_max = int(max(classes.max(), np.nanmax(base.classes.to_numpy(dtype="float64", na_value=np.nan))
                    if base.classes.notna().any() else 1))
    valid_runs = np.isfinite(index).sum(axis=1)
    prob = np.stack([(classes == c).sum(axis=1) for c in range(1, k_max + 1)], axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = prob / valid_runs[:, None]
    base_class = base.classes.to_numpy(dtype="float64", na_value=np.nan)
    has_base = np.isfinite(base_class)
    p_base = np.full(len(frame), np.nan)
    p_base[has_base] = prob[has_base, base_class[has_base].astype(int) - 1]
    modal = np.where(valid_runs > 0, np.argmax(np.nan_to_num(prob), axis=1) + 1, 0)
    ranks = _ranks(np.where(included[:, None], index, np.nan))
    base_rank = _ranks(np.where(included, base.index.to_numpy(), np.nan)[:, None])[:, 0]
    with warnings.catch_warnings():  # areas outside the reference have no ranks
        warnings.simplefilter("ignore", RuntimeWarning)
        rank_lo = np.nanpercentile(np.where(included[:, None], ranks, np.nan), 5, axis=1)
        rank_hi = np.nanpercentile(np.where(included[:, None], ranks, np.nan), 95, axis=1)
        p_modal = np.nanmax(np.where(np.isfinite(prob), prob, np.nan), axis=1)
    from .mss import int_array
    ids = frame.index
    table = pd.DataFrame({
        "base_class": int_array(base_class),
        "p_base": p_base,
        "modal_class": int_array(np.where(modal > 0, modal, np.nan)),
        "p_modal": p_modal,
        "rank": base_rank,
        "rank_lo": np.floor(rank_lo),
        "rank_hi": np.ceil(rank_hi),
        "robust": np.where(has_base, np.nan_to_num(p_base) >= threshold, False),
    }, index=ids)
    class_prob = pd.DataFrame(prob, index=ids, columns=[f"p_class_{c}" for c in range(1, k_max + 1)])
    run_table = pd.DataFrame(weights, columns=[f"w_{ind}" for ind in spec.indicators])
    run_table["method"] = run_methods
    run_table["kind"] = ["random"] * n + ["leave out " + ind for ind in spec.indicators][: runs - n]
    feedback.progress(1.0)
    diagnostics = {
        "n_runs": runs,
        "n_random": n,
        "n_leave_one_out": runs - n,
        "methods": list(methods),
        "n_not_robust": int((~table["robust"].to_numpy() & included).sum()),
        "n_included": int(included.sum()),
        "seed": seed,
    }
    return RobustnessResult(table=table, class_probability=class_prob, runs=run_table, base=base,
                            diagnostics=diagnostics)
