"""Composite indices: standardise indicators, combine them (optionally by domain), re-standardise, classify.

Python API (used by the Processing algorithms, planning priorities and robustness)::

    from kommunalmonitor.core.indices.composite import IndexSpec, composite_index
    result = composite_index(frame, ["unemployment", "child_poverty"],
                             reversed=["green_space"], weights=[2, 1],
                             population="pop", min_population=300)
    result.scores         # DataFrame: standardised value per indicator, direction applied
    result.index          # Series: the index (positive = more need)
    result.classes        # Series (Int64): 1 = least need … k = most need
    result.labels         # Series: class label in the current language
    result.contributions  # DataFrame: each indicator's additive share of the index
    result.included       # Series (bool): area defines the reference statistics
    result.reason         # Series (str): why an area was left out of the reference
    result.reference      # dict: mean/SD (or min/max, n) per indicator and for the index

Areas under the minimum population, flagged (``exclude``) or with a missing indicator value
are left out of the reference statistics (as the Berlin MSS does), but are still scored
with the reference statistics wherever their values exist, and flagged.

With the default spec (z-scores, population SD, equal-weight sum, re-standardised, SD
bands) this is exactly the Berlin MSS status index. An index is a search strategy: the
areas it flags need a look on site, not a verdict.
"""
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..validate import layer_name, numeric_field, require_distinct_areas, require_not_empty
from ..values import format_value
from .classify import MSS_STATUS_BOUNDS, class_labels, classify
from .standardise import METHODS, standardise, weighted_mean_sd, winsorise

COMBINATIONS = ("sum", "mean", "geometric")
REASON_POPULATION = "population below minimum"
REASON_MISSING = "missing indicator value"
REASON_FLAGGED = "flagged as excluded"
REASON_SMALL_BASE = "base below the indicator's minimum"


@dataclass(frozen=True)
class IndexSpec:
    """Everything that defines an index besides the data (hashable, easy to vary)."""

    indicators: tuple
    reversed: tuple = ()
    weights: Optional[tuple] = None
    method: str = "z"
    combine: str = "sum"
    restandardise: bool = True
    classification: str = "sd_bands"
    n_classes: int = 4
    breaks: Optional[tuple] = None
    bounds: Optional[tuple] = MSS_STATUS_BOUNDS
    min_population: float = 300.0
    winsorise: Optional[tuple] = None
    domains: Optional[dict] = None  # indicator -> domain name
    domain_weights: Optional[dict] = None  # domain -> weight
    ddof: int = 0
    missing_values: tuple = ()

    def with_(self, **changes):
        """Copy with some settings changed."""
        return replace(self, **changes)


@dataclass
class IndexResult:
    """Result of ``composite_index`` (see the module docstring)."""

    scores: pd.DataFrame
    index: pd.Series
    classes: pd.Series
    labels: pd.Series
    contributions: pd.DataFrame
    included: pd.Series
    reason: pd.Series
    reference: dict
    raw: pd.Series
    breaks: np.ndarray
    spec: IndexSpec
    sub_indices: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: dict = field(default_factory=dict)


def _as_tuple(values):
    """None/str/list → tuple of str."""
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(values)


def make_spec(indicators, **kwargs):
    """Build an ``IndexSpec`` from loose arguments (lists, dicts) and check them."""
    indicators = _as_tuple(indicators)
    if not indicators:
        raise InputError(tr("Choose at least one indicator field for the index."))
    if len(set(indicators)) != len(indicators):
        raise InputError(tr("An indicator is listed twice: {fields}.", fields=", ".join(indicators)))
    reversed_ = _as_tuple(kwargs.pop("reversed", ()))
    unknown = [r for r in reversed_ if r not in indicators]
    if unknown:
        raise InputError(tr("Reversed field(s) {fields} are not among the index indicators.",
                            fields=", ".join(unknown)))
    weights = kwargs.pop("weights", None)
    if weights is not None and len(weights) > 0:
        weights = tuple(float(w) for w in weights)
        if len(weights) != len(indicators):
            raise InputError(tr("{n_weights} weight(s) given for {n_indicators} indicator(s); give "
                                "one weight per indicator, in the order of the indicators.",
                                n_weights=len(weights), n_indicators=len(indicators)))
        if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise InputError(tr("Weights must be non-negative numbers and not all zero (got {weights}).",
                                weights=", ".join(f"{w:g}" for w in weights)))
    else:
        weights = None
    for key in ("breaks", "bounds", "winsorise", "missing_values"):
        if kwargs.get(key) is not None:
            kwargs[key] = tuple(float(v) for v in kwargs[key])
    spec = IndexSpec(indicators=indicators, reversed=reversed_, weights=weights, **kwargs)
    if spec.method not in METHODS:
        raise InputError(tr("Unknown standardisation '{method}'. Use one of: {methods}.",
                            method=spec.method, methods=", ".join(METHODS)))
    if spec.combine not in COMBINATIONS:
        raise InputError(tr("Unknown combination '{combine}'. Use one of: {combinations}.",
                            combine=spec.combine, combinations=", ".join(COMBINATIONS)))
    if spec.combine == "geometric" and spec.method in ("z", "z_weighted"):
        raise InputError(tr("The geometric mean needs non-negative scores; z-scores are negative "
                            "for half the areas. Use min–max, percentile rank or the IMD rank "
                            "transform with the geometric mean."))
    return spec


def parse_weights(text):
    """'1, 2,0.5' → tuple of floats (empty → None); German decimal commas need ';' separators."""
    if text is None or not str(text).strip():
        return None
    raw = str(text)
    parts = raw.split(";") if ";" in raw else raw.split(",")
    try:
        return tuple(float(p.strip().replace(",", ".")) for p in parts if p.strip())
    except ValueError:
        raise InputError(tr("Weights '{text}' are not a list of numbers; write them like '1, 2, 1' "
                            "(or '1; 0,5; 1' with decimal commas).", text=raw)) from None


def _combine(block, weights, how):
    """Combine columns of ``block`` (n × m) with weights; returns (values, linear coefficients)."""
    weights = np.asarray(weights, dtype="float64")
    if how == "sum":
        return block @ weights, weights
    if how == "mean":
        coef = weights / weights.sum()
        return block @ coef, coef
    # geometric mean of non-negative scores; a zero score makes the mean zero
    with np.errstate(divide="ignore"):
        logs = np.log(block)
    # log(0) = -inf would give NaN with a zero weight; a huge negative number gives exp → 0
    logs = np.where(np.isneginf(logs), -1e300, logs)
    coef = weights / weights.sum()
    return np.exp(logs @ coef), None


def _centre_scale(values, reference, method, population, ddof, name):
    """Re-standardise combined values as z-scores over the reference (weighted for z_weighted)."""
    weights = population if method == "z_weighted" else None
    out, stats = standardise(values, reference, "z_weighted" if weights is not None else "z",
                             weights=weights, name=name, ddof=ddof)
    return out, stats


def _ref_mean(values, reference, method, population):
    """Reference mean (weighted for z_weighted) of one column."""
    ok = reference & np.isfinite(values)
    if method == "z_weighted":
        return weighted_mean_sd(values[ok], population[ok])[0]
    return float(np.mean(values[ok]))


def _warn_if_one_area_dominates(raw, z, included, ids, indicator, layer, feedback):
    """Warn when one area alone sets an indicator's spread (e.g. 1e10 among values 1..100).

    Its z-score then is large and every other area's is nearly the same: the indicator
    silently stops distinguishing them. Codes and values beyond 1e15 are refused earlier
    (``core.values``); this catches the outliers below that bound.
    """
    ref = np.flatnonzero(included & np.isfinite(z))
    if len(ref) < 5:
        return
    top = ref[np.argmax(np.abs(z[ref]))]
    rest = ref[ref != top]
    if np.std(raw[rest]) == 0 or abs(z[top]) < 2.0 or np.std(z[rest]) >= 0.1:
        return  # a constant rest is a deliberate 0/1 marker; otherwise the others still vary
    feedback.warning(tr("Indicator '{field}' of layer '{layer}': area {area} (value {value}) alone "
                        "sets the indicator's spread; the z-scores of all other areas differ by less "
                        "than a tenth of a standard deviation, so the indicator hardly distinguishes "
                        "them. Check this value (a code for missing data? a typing error?) or "
                        "winsorise the indicator.", field=indicator, layer=layer,
                        area=ids[top], value=f"{raw[top]:g}"))


def composite_index(frame, indicators=None, spec=None, population=None, exclude=None,
                    exclude_reason=None, feedback=None, id_field=None, check_areas=True, **kwargs):
    """Compute a composite index.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        One row per area with the indicator fields (not modified).
    indicators : list of str
        Indicator fields (higher = more need unless listed in ``reversed``).
    spec : IndexSpec, optional
        A ready spec; otherwise built from ``indicators`` and ``kwargs``
        (``reversed``, ``weights``, ``method``, ``combine``, ``restandardise``,
        ``classification``, ``n_classes``, ``breaks``, ``bounds``, ``min_population``,
        ``winsorise``, ``domains``, ``domain_weights``, ``ddof``, ``missing_values``).
    population : str or array-like, optional
        Population field (or values) for the minimum-population rule and weighted z-scores.
    exclude : array-like of bool, optional
        Areas to leave out of the reference statistics (e.g. MSS outliers).
    exclude_reason : array-like of str, optional
        English reason per excluded area (default "flagged as excluded"); translated on output.
    feedback : core.feedback.Feedback, optional
    id_field : str, optional
        Area id field: repeated ids are refused (a repeated area distorts every z-score and
        rank), and areas are named by it in warnings. Areas drawn twice (same geometry) are
        warned about with or without it.
    check_areas : bool
        Run that check (default). A caller computing several indices of the same areas
        (status and dynamics) checks once.

    Returns
    -------
    IndexResult
    """
    feedback = ensure_feedback(feedback)
    require_not_empty(frame)
    if spec is None:
        spec = make_spec(indicators, **kwargs)
    name = layer_name(frame)
    if check_areas:
        require_distinct_areas(frame, id_field, name, feedback)
    n = len(frame)
    ids = frame.index
    area_names = ids if not id_field else pd.Index(frame[id_field])  # as the attribute table shows them

    values = np.column_stack([numeric_field(frame, f, missing_codes=spec.missing_values).to_numpy(dtype="float64")
                              for f in spec.indicators])
    for sentinel in spec.missing_values:
        values[values == sentinel] = np.nan
    values[~np.isfinite(values)] = np.nan

    if population is None:
        pop = None
    elif isinstance(population, str):
        # a population is a count: never negative, and 1.234 in a text field means 1234
        pop = numeric_field(frame, population, allow_negative=False).to_numpy(dtype="float64")
    else:
        pop = np.asarray(population, dtype="float64")
    if spec.method == "z_weighted" and pop is None:
        raise InputError(tr("Population-weighted z-scores need a population field."))

    reason = np.full(n, "", dtype=object)
    small = np.zeros(n, dtype=bool)
    if pop is not None and spec.min_population and spec.min_population > 0:
        small = ~(np.nan_to_num(pop, nan=-1.0) >= spec.min_population)
        reason[small] = REASON_POPULATION
    flagged = np.zeros(n, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
    if exclude_reason is not None:
        given = np.asarray(exclude_reason, dtype=object)
        reason[flagged & (reason == "")] = np.where(given[flagged & (reason == "")] != "",
                                                    given[flagged & (reason == "")], REASON_FLAGGED)
    else:
        reason[flagged & (reason == "")] = REASON_FLAGGED
    missing = ~np.all(np.isfinite(values), axis=1)
    reason[missing & (reason == "")] = REASON_MISSING
    included = ~(flagged | small | missing)
    empty = [f for j, f in enumerate(spec.indicators) if not np.isfinite(values[:, j]).any()]
    if empty:  # name the field that empties the index, not only the count of usable areas
        raise InputError(tr("Indicator field(s) {fields} of layer '{layer}' have no value in any area "
                            "(all NULL or missing codes). Choose other indicators or fill the values.",
                            fields=", ".join(f"'{f}'" for f in empty), layer=name))
    if included.sum() < 3:
        raise InputError(tr("Only {count} area(s) of layer '{layer}' can be used for the index "
                            "(minimum population {minimum}, no NULL values, not excluded); at least "
                            "3 are needed.", count=int(included.sum()), layer=name,
                            minimum=format_value(spec.min_population)))  # 1000000000, not 1e+09
    feedback.progress(0.1)

    scores = np.full(values.shape, np.nan)
    reference = {}
    for j, indicator in enumerate(spec.indicators):
        feedback.check()
        column = values[:, j]
        if spec.winsorise is not None:
            column = winsorise(column, included, spec.winsorise)
        if indicator in spec.reversed:
            column = -column
        scores[:, j], stats = standardise(column, included, spec.method, weights=pop,
                                          name=indicator, ddof=spec.ddof)
        stats["reversed"] = indicator in spec.reversed
        reference[indicator] = stats
        _warn_if_one_area_dominates(values[:, j], scores[:, j], included, area_names, indicator, name,
                                    feedback)
    feedback.progress(0.5)

    weights = np.ones(len(spec.indicators)) if spec.weights is None else np.asarray(spec.weights)
    coef_total = np.zeros(len(spec.indicators))
    linear = spec.combine != "geometric"
    sub_frame = pd.DataFrame(index=ids)
    if spec.domains:
        domain_of = [spec.domains.get(ind, "") for ind in spec.indicators]
        domain_names = list(dict.fromkeys(domain_of))
        subs = []
        sub_scales = []
        for domain in domain_names:
            cols = [j for j, d in enumerate(domain_of) if d == domain]
            sub, coef = _combine(scores[:, cols], weights[cols], spec.combine)
            scale = 1.0
            if spec.restandardise:
                sub, stats = _centre_scale(sub, included, spec.method, pop, spec.ddof,
                                           tr("sub-index {domain}", domain=domain))
                scale = stats["sd"]
                reference["domain:" + domain] = stats
            subs.append(sub)
            sub_scales.append((cols, coef, scale))
            sub_frame[domain] = sub
        sub_block = np.column_stack(subs)
        dw = spec.domain_weights or {}
        domain_w = np.array([float(dw.get(d, 1.0)) for d in domain_names])
        combined, dcoef = _combine(sub_block, domain_w, spec.combine)
        if linear:
            for (cols, coef, scale), a in zip(sub_scales, dcoef):
                coef_total[cols] = a * coef / scale
    else:
        combined, coef = _combine(scores, weights, spec.combine)
        if linear:
            coef_total = coef
    raw = combined.copy()
    if spec.restandardise:
        index, stats = _centre_scale(combined, included, spec.method, pop, spec.ddof, tr("index"))
        reference["index"] = stats
        if linear:
            coef_total = coef_total / stats["sd"]
    else:
        index = combined
    feedback.progress(0.8)

    if linear:
        centred = scores.copy()
        if spec.restandardise:
            for j in range(scores.shape[1]):
                centred[:, j] = scores[:, j] - _ref_mean(scores[:, j], included, spec.method, pop)
        contributions = centred * coef_total
    else:
        contributions = np.full(scores.shape, np.nan)

    classes, upper = classify(index, included, spec.classification, spec.n_classes,
                              breaks=spec.breaks, bounds=spec.bounds)
    labels_by_class = class_labels(spec.classification, upper)
    class_series = pd.Series(pd.array(np.where(classes > 0, classes, 0), dtype="Int64"), index=ids)
    class_series = class_series.mask(class_series == 0)
    labels = pd.Series([labels_by_class.get(int(c)) if c > 0 else None for c in classes],
                       index=ids, dtype=object)

    diagnostics = {
        "n_areas": n,
        "n_included": int(included.sum()),
        "n_population_below_minimum": int((reason == REASON_POPULATION).sum()),
        "n_missing": int((reason == REASON_MISSING).sum()),
        "n_flagged": int((reason == REASON_FLAGGED).sum()),
        "class_counts_included": {int(c): int(((classes == c) & included).sum())
                                  for c in sorted(labels_by_class)},
        "class_labels": labels_by_class,
        "warnings": _population_warnings(pop, reason, area_names, population, name)
        + _collinearity_warnings(values, included, spec.indicators)
        + _direction_warnings(scores, included, spec.indicators),
    }
    feedback.progress(1.0)
    return IndexResult(
        scores=pd.DataFrame(scores, index=ids, columns=list(spec.indicators)),
        index=pd.Series(index, index=ids, name="index"),
        classes=class_series,
        labels=labels,
        contributions=pd.DataFrame(contributions, index=ids, columns=list(spec.indicators)),
        included=pd.Series(included, index=ids, name="included"),
        reason=pd.Series(reason, index=ids, name="reason"),
        reference=reference,
        raw=pd.Series(raw, index=ids, name="raw"),
        breaks=upper,
        spec=spec,
        sub_indices=sub_frame,
        diagnostics=diagnostics,
    )


def _population_warnings(pop, reason, area_names, population, name):
    """A warning naming areas left out because their population is NULL (unknown, not only small;
    the reason stays 'population below minimum' as the MSS publishes it for suppressed counts)."""
    if pop is None:
        return []
    missing = np.flatnonzero(np.isnan(pop) & (reason == REASON_POPULATION))
    if not len(missing):
        return []
    examples = ", ".join(str(v) for v in area_names[missing][:5])
    return [tr("Field '{field}' of layer '{layer}' is empty (NULL) in {count} area(s) (features {examples}); "
               "they are left out of the reference statistics. Fill in their population.",
               field=population if isinstance(population, str) else "population", layer=name,
               count=len(missing), examples=examples)]


def _collinearity_warnings(values, included, indicators, threshold=0.9):
    """Warn about indicator pairs correlated above ``threshold`` (they count one dimension twice)."""
    warnings = []
    if values.shape[1] < 2:
        return warnings
    block = values[included]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(block, rowvar=False)
    for a in range(len(indicators)):
        for b in range(a + 1, len(indicators)):
            if np.isfinite(corr[a, b]) and abs(corr[a, b]) > threshold:
                warnings.append(tr("Indicators '{a}' and '{b}' are strongly correlated (r = {r}); "
                                   "together they count one dimension twice.",
                                   a=indicators[a], b=indicators[b], r=format_number(corr[a, b], 2)))
    return warnings


def _direction_warnings(scores, included, indicators, threshold=-0.7):
    """Warn about indicator pairs that run strongly against each other after the 'reversed'
    setting: in a need index every score grows with need, so r below ``threshold`` points to
    an indicator where higher is better that is not marked as reversed (or one marked wrongly)."""
    warnings = []
    if scores.shape[1] < 2:
        return warnings
    block = scores[included]
    block = block[np.isfinite(block).all(axis=1)]
    if len(block) < 3:
        return warnings
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(block, rowvar=False)
    for a in range(len(indicators)):
        for b in range(a + 1, len(indicators)):
            if np.isfinite(corr[a, b]) and corr[a, b] < threshold:
                warnings.append(tr("Indicators '{a}' and '{b}' run against each other (r = {r}): in a need index "
                                   "both should grow with need. If higher values of one of them mean less need "
                                   "(e.g. green space, employment), mark it as reversed.",
                                   a=indicators[a], b=indicators[b], r=format_number(corr[a, b], 2)))
    return warnings


def result_frame(frame, result, prefix="z_", lang=None, labels=None, with_reasons=True):
    """Input attributes plus ``z_<indicator>``, ``index``, ``index_class``, ``index_label``,
    ``included``, ``excl_reason`` and (``with_reasons``) ``top_driver`` and ``reasons``
    (a copy; the input is not modified)."""
    out = frame.copy()
    for indicator in result.spec.indicators:
        out[prefix + indicator] = result.scores[indicator].to_numpy()
    out["index"] = result.index.to_numpy()
    out["index_class"] = result.classes.to_numpy()
    out["index_label"] = result.labels.to_numpy() if lang is None else \
        _labels_in(result, lang)
    out["included"] = result.included.to_numpy()
    out["excl_reason"] = [tr(r, lang=lang) if r else None for r in result.reason]
    if with_reasons:
        from .reasons import reasons
        why = reasons(result, top=3, lang=lang, labels=labels)
        out["top_driver"] = why["driver_1"].to_numpy() if "driver_1" in why else None
        out["reasons"] = why["reasons"].to_numpy()
    return out


def _labels_in(result, lang):
    """Class labels in a given language."""
    labels = class_labels(result.spec.classification, result.breaks, lang=lang)
    return [labels.get(int(c)) if pd.notna(c) else None for c in result.classes]
