"""Planning priorities 1–4 per area with reasons and robustness.

The planner chooses a rule; each rule maps an area to a level (1 = highest priority):

* ``index_class`` — the composite index class. With a class field: the distinct classes
  sorted from most to least burdened (``higher_is_worse``) become levels 1, 2, 3, 4 (further
  classes stay 4), e.g. MSS status 4 "sehr niedrig" → 1. Without a class field the index
  value is read in SD bands as the MSS does: > 1.5 → 1, > 1 → 2, ≥ −1 → 3, else 4.
* ``burden_count`` — multiple burden: the number of indicators with z ≥ ``burden_threshold``
  (default 1 SD): ≥ 3 → 1, 2 → 2, 1 → 3, 0 → 4.
* ``cluster`` — the typology: a given mapping cluster → level, or by default the clusters
  ordered by their mean z-sum (the canonical cluster numbers of ``clustering``): 1 → 1 … ≥ 4 → 4.
* ``hotspot`` — Gi* bin (+3 → 1, +2 → 2, +1 → 3, else 4) or LISA code (HH → 1, HL → 2, else 4).
* ``weighted`` — weighted mean of the levels of several rules (``combination``), rounded,
  halves towards the higher priority.

``min_population``: areas with fewer residents get no priority (level 0) and say why.

Reasons (bilingual): the rule's verdict plus the top drivers, the indicators with the
largest z-scores ("child poverty +2.1 SD above the city average").

Robustness: the share of plausible alternative calculations that give the same level.
If a robustness field is given (the index engine's Monte-Carlo class probability, or the
cluster stability from the typology) it is used as is. Otherwise, for rules built on the
z-scores (index class from the index value, burden count), a seeded Monte-Carlo run here
perturbs the indicator weights (each × U(0.5, 1.5)), drops one indicator at a time and
shifts the burden threshold by ±0.25 SD. For hot spots it is the share of neighbour
definitions giving the same result (``gi_robust`` / ``lisa_robust`` from ``hot_spots(...,
HotSpotOptions(sensitivity=True))``), else 1 − q (the FDR-adjusted p-value).
"""
import warnings
from dataclasses import dataclass, fields, replace
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..options import options_or_default, refuse_ignored_keywords
from ..validate import layer_name, numeric_field
from .profiles import _label

RULES = ("index_class", "burden_count", "cluster", "hotspot", "weighted")


def level_label(level, lang=None):
    """Translated text of a level."""
    texts = {1: tr("Priority 1 (highest)", lang=lang), 2: tr("Priority 2", lang=lang),
             3: tr("Priority 3", lang=lang), 4: tr("Priority 4 (lowest)", lang=lang),
             0: tr("No priority", lang=lang)}
    return texts[int(level)]


def _require_standardised(index, field, frame):
    """Refuse an index field that is no z-type index: the SD bands (> 1.5, > 1, >= -1) read raw
    rates or 0..1 scores wrongly (a rate of 1..16 % put 28 of 29 areas into the top priority)."""
    x = np.asarray(index, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 3:
        return
    mean, sd = float(x.mean()), float(x.std())
    if x.min() >= 0 or abs(mean) > max(1.0, sd):
        raise InputError(tr("Field '{field}' of layer '{layer}' does not look like a standardised index "
                            "(mean {mean}, smallest value {low}; a z-score index lies around 0): its values "
                            "cannot be read in standard-deviation bands. Choose the index class field, or "
                            "the index of the composite index with z-scores.", field=field,
                            layer=layer_name(frame), mean=format_number(mean, 2),
                            low=format_number(float(x.min()), 2)))


def index_bands(index):
    """Levels from a standardised index value in MSS SD bands (> 1.5, > 1, ≥ −1, else)."""
    x = np.asarray(index, dtype=float)
    lv = np.where(x > 1.5, 1, np.where(x > 1.0, 2, np.where(x >= -1.0, 3, 4))).astype(float)
    lv[np.isnan(x)] = np.nan
    return lv


def class_levels(classes, higher_is_worse=True, n_classes=None):
    """Class numbers → levels: the most-need class → 1, the next → 2, … (from the 4th on: 4).

    Classes are numbered 1..k (as the composite index writes them); ``n_classes`` is k,
    by default the largest class present. With ``higher_is_worse=False`` class 1 is the
    most-need class.
    """
    c = pd.to_numeric(pd.Series(np.asarray(classes, dtype=object)), errors="coerce").to_numpy(dtype=float)
    if np.isnan(c).all():
        return c
    if higher_is_worse:
        top = float(n_classes) if n_classes else np.nanmax(c)
        lv = top - c + 1
    else:
        lv = c - (1.0 if n_classes else np.nanmin(c)) + 1
    return np.clip(lv, 1, 4)


def burden_levels(count):
    """≥ 3 burdens → 1, 2 → 2, 1 → 3, 0 → 4."""
    n = np.asarray(count, dtype=float)
    return np.where(n >= 3, 1, np.where(n == 2, 2, np.where(n == 1, 3, 4))).astype(float)


def hotspot_levels(values):
    """Gi* bins (+3/+2/+1 → 1/2/3) or LISA codes (HH → 1, HL → 2); else 4."""
    s = pd.Series(np.asarray(values, dtype=object))
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().any():
        b = num.to_numpy(dtype=float)
        lv = np.where(b >= 3, 1, np.where(b >= 2, 2, np.where(b >= 1, 3, 4))).astype(float)
        lv[np.isnan(b)] = np.nan  # no value / no neighbours
        return lv
    lv = s.map({"HH": 1.0, "HL": 2.0}).fillna(4.0).to_numpy(dtype=float, copy=True)
    lv[s.isin(["none", "null"]).to_numpy() | s.isna().to_numpy()] = np.nan
    return lv


def _combine(levels, weights):
    """Weighted mean of levels, rounded with halves towards the higher priority (smaller)."""
    total = sum(weights.values())
    score = sum(weights[r] * levels[r] for r in weights) / total
    return np.clip(np.ceil(score - 0.5), 1, 4), score


def _z_fields(frame, z_fields):
    if z_fields is None:
        z_fields = [c for c in frame.columns if str(c).startswith("z_")]
    return list(z_fields)


def _z_matrix(frame, z_fields):
    return np.column_stack([numeric_field(frame, f).to_numpy() for f in z_fields]) if z_fields \
        else np.zeros((len(frame), 0))


def _mc_levels(Z, rule, burden_threshold, n_runs, rng, index_weights=None):
    """Levels under perturbed weights / dropped indicators / shifted threshold (n_runs × n)."""
    n, m = Z.shape
    out = []
    base_w = np.ones(m) if index_weights is None else np.asarray(index_weights, dtype=float)
    Zf = np.nan_to_num(Z, nan=0.0)
    for r in range(n_runs):
        w = base_w * rng.uniform(0.5, 1.5, size=m)
        if m > 1 and r % 3 == 0:
            w[r // 3 % m] = 0.0  # drop one indicator in turn
        if rule == "index_class":
            s = Zf @ w
            sd = s.std()
            idx = (s - s.mean()) / sd if sd > 0 else np.zeros(n)
            out.append(index_bands(idx))
        else:
            t = burden_threshold + rng.uniform(-0.25, 0.25)
            cnt = ((Z >= t) & (w > 0)).sum(axis=1)
            out.append(burden_levels(cnt))
    return np.array(out)


def reasons_for(frame, z_fields, labels=None, top=3, min_z=0.5, lang="en"):
    """Top drivers per area in words: 'child poverty +2.1 SD above the city average'."""
    Z = _z_matrix(frame, z_fields)
    texts = []
    for row in Z:
        order = np.argsort(-np.nan_to_num(row, nan=-np.inf), kind="mergesort")
        parts = []
        for j in order[:top]:
            if np.isnan(row[j]) or row[j] < min_z:
                break
            field = z_fields[j]
            base = field[2:] if field.startswith("z_") else field
            key = field if labels and field in labels else base
            name = _label(key, labels, lang)
            parts.append(tr("{indicator} +{value} SD above the city average", lang=lang,
                            indicator=name, value=format_number(row[j], 1, lang)))
        texts.append("; ".join(parts) if parts else tr("no indicator clearly above the city average",
                                                         lang=lang))
    return texts


def _rule_reason(rule, level, values, lang, extra):
    """The rule's verdict for one area."""
    values = {k: ("–" if isinstance(v, (float, np.floating)) and np.isnan(v) else v)  # no 'nan' in reasons
              for k, v in values.items()}
    if rule == "index_class":
        if extra.get("class_given"):
            value = values["class"]
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            return tr("index class {value}", lang=lang, value=value)
        return tr("index {value} SD from the city average", lang=lang,
                  value=values["index"] if values["index"] == "–" else format_number(values["index"], 2, lang))
    if rule == "burden_count":
        if extra.get("burden_given"):
            return tr("{count} high burden(s)", lang=lang, count=int(values["burden"]))
        return tr("{count} indicator(s) at least {threshold} SD above the city average", lang=lang,
                  count=int(values["burden"]), threshold=format_number(extra["threshold"], 1, lang))
    if rule == "cluster":
        return tr("cluster {value}", lang=lang, value=values["cluster"]) + (
            f" ({values['cluster_name']})" if values.get("cluster_name") else "")
    if rule == "hotspot":
        return tr("hot-spot result: {value}", lang=lang, value=values["hotspot"])
    return ""


@dataclass
class RankingOptions:
    """Settings of ``rank_priorities``, grouped by the rule they serve; every one has a default.

    Attributes
    ----------
    index_field : str
        Index class rule: the standardised index read in MSS SD bands (default ``index``)
        when no class field is given.
    class_field : str, optional
        Index class rule: ready class numbers 1..k (e.g. ``index_class`` or the MSS status).
    higher_is_worse : bool
        Index class rule: a higher index / class means more need (default True).
    n_classes : int, optional
        Index class rule: number of index classes (default: the largest class present).
    z_fields : list of str, optional
        Burden count rule (and reasons, Monte-Carlo robustness): the z-score fields
        (default: every ``z_*`` column).
    burden_threshold : float
        Burden count rule: z at or above which an indicator counts as a burden (default 1 SD).
    burden_field : str, optional
        Burden count rule: a ready burden count (e.g. ``burden_count`` of
        ``kommunalmonitor:multipleburden``) instead of counting z-scores.
    cluster_field : str, optional
        Cluster rule: the cluster number of the typology.
    cluster_levels : dict, optional
        Cluster rule: cluster → level (default: cluster 1 → 1 … ≥ 4 → 4).
    cluster_names : dict, optional
        Cluster rule: cluster → name, or ``{'en': …, 'de': …}``, quoted in the reasons.
    hotspot_field : str, optional
        Hot-spot rule: ``gi_bin`` or ``lisa_code``.
    hotspot_q_field : str, optional
        Hot-spot rule: FDR-adjusted p-value; robustness is 1 − q when no
        ``<gi|lisa>_robust`` field exists.
    combination : dict, optional
        Weighted rule: ``{rule: weight}`` of the other rules.
    id_field : str, optional
        Area id, used to name areas in warnings (default: the row number).
    population_field, children_field : str, optional
        Residents and children per area (summed per level in the diagnostics).
    min_population : float
        Areas below this get level 0 (no priority); needs ``population_field``.
    robustness_field : str, optional
        A 0..1 (or 0..100 %) field used as robustness (Monte-Carlo class probability,
        cluster stability).
    n_runs : int
        Monte-Carlo runs for the robustness of z-score-based rules (default 200).
    seed : int
        Seed of those runs (default 12345).
    labels : dict, optional
        Indicator id → readable name for the reasons.
    top : int
        Number of drivers named in the reasons (default 3).
    driver_texts : dict, optional
        ``{'en': [...], 'de': [...]}`` driver sentences per area (e.g. from
        ``core.indices.reasons``) instead of the ones built here from the z-scores.
    """

    # index class rule
    index_field: str = "index"
    class_field: Optional[str] = None
    higher_is_worse: bool = True
    n_classes: Optional[int] = None
    # burden count rule
    z_fields: Optional[list] = None
    burden_threshold: float = 1.0
    burden_field: Optional[str] = None
    # cluster rule
    cluster_field: Optional[str] = None
    cluster_levels: Optional[dict] = None
    cluster_names: Optional[dict] = None
    # hot-spot rule
    hotspot_field: Optional[str] = None
    hotspot_q_field: Optional[str] = None
    # weighted rule
    combination: Optional[dict] = None
    # areas and people
    id_field: Optional[str] = None
    population_field: Optional[str] = None
    children_field: Optional[str] = None
    min_population: float = 0
    # robustness
    robustness_field: Optional[str] = None
    n_runs: int = 200
    seed: int = 12345
    # reasons
    labels: Optional[dict] = None
    top: int = 3
    driver_texts: Optional[dict] = None


_OPTION_NAMES = tuple(f.name for f in fields(RankingOptions))


def _ranking_options(options, legacy):
    """The options object; old keyword arguments (accepted for one release) mapped onto it."""
    if isinstance(options, str):  # the old third positional argument was ``index_field``
        legacy = {"index_field": options, **legacy}
        options = None
    if options is None:
        options = RankingOptions()
    elif not isinstance(options, RankingOptions):
        raise TypeError(f"rank_priorities: options must be a RankingOptions, not {type(options).__name__}")
    if not legacy:
        return options
    unknown = sorted(set(legacy) - set(_OPTION_NAMES))
    if unknown:
        raise TypeError(f"rank_priorities() got unexpected keyword argument(s): {', '.join(unknown)}")
    warnings.warn("rank_priorities: pass the settings as options=RankingOptions(...); the separate "
                  "keyword arguments are accepted for one more release only.", DeprecationWarning,
                  stacklevel=3)
    return replace(options, **legacy)


def rank_priorities(frame, rule="index_class", options=None, feedback=None, **legacy):
    """Priority levels 1–4 with reasons and robustness.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        One row per area, e.g. the output of ``kommunalmonitor:compositeindex``
        (``z_<indicator>``, ``index``, ``index_class``) joined with cluster / hot-spot columns.
    rule : {'index_class', 'burden_count', 'cluster', 'hotspot', 'weighted'}
    options : RankingOptions, optional
        Fields and settings of the rules, population, robustness and reasons (defaults:
        ``RankingOptions()``).
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.
    **legacy
        Deprecated: the settings as separate keyword arguments (the field names of
        ``RankingOptions``), accepted for one release; they override ``options``.

    Returns
    -------
    (DataFrame, dict)
        Columns ``priority`` (0–4), ``priority_label``, ``reasons_en``, ``reasons_de``,
        ``robustness`` (0..1), ``residents``, ``children`` (when given), ``score``; and
        diagnostics with counts, residents and children per level.
    """
    o = _ranking_options(options, legacy)
    index_field, class_field, higher_is_worse, n_classes = (o.index_field, o.class_field,
                                                            o.higher_is_worse, o.n_classes)
    z_fields, burden_threshold, burden_field = o.z_fields, o.burden_threshold, o.burden_field
    cluster_field, cluster_levels, cluster_names = o.cluster_field, o.cluster_levels, o.cluster_names
    hotspot_field, hotspot_q_field, combination = o.hotspot_field, o.hotspot_q_field, o.combination
    population_field, children_field, min_population = (o.population_field, o.children_field,
                                                        o.min_population)
    robustness_field, n_runs, seed = o.robustness_field, o.n_runs, o.seed
    labels, top, driver_texts = o.labels, o.top, o.driver_texts
    feedback = ensure_feedback(feedback)
    if rule not in RULES:
        raise InputError(tr("Unknown priority rule '{value}'; use one of {values}.",
                            value=rule, values=", ".join(RULES)))
    if len(frame) == 0:
        raise InputError(tr("Layer '{layer}' has no features. Choose a layer with data "
                            "(or check the 'selected features only' option).", layer=layer_name(frame)))
    z_fields = _z_fields(frame, z_fields)
    Z = _z_matrix(frame, z_fields)
    n = len(frame)
    rules = list(combination) if rule == "weighted" else [rule]
    if rule == "weighted":
        unknown = [r for r in combination or {} if r not in RULES[:4]]
        if unknown:
            raise InputError(tr("Unknown rule(s) {names} in the weighted combination; use {values} "
                                "(e.g. 'index_class=2; hotspot=1').", names=", ".join(f"'{r}'" for r in unknown),
                                values=", ".join(RULES[:4])))
        if not combination or any(r not in RULES[:4] for r in combination) or \
                any(float(v) < 0 for v in combination.values()) or sum(combination.values()) <= 0:
            raise InputError(tr("A weighted combination needs positive weights for some of the rules "
                                "{values}.", values=", ".join(RULES[:4])))
    levels, values, extra = {}, {}, {"threshold": burden_threshold}
    for r in rules:
        if r == "index_class":
            if class_field:
                cls = frame[class_field].to_numpy()
                levels[r] = class_levels(cls, higher_is_worse, n_classes)
                present = pd.to_numeric(pd.Series(cls), errors="coerce")
                if not n_classes and higher_is_worse and present.notna().any() and present.max() < 4:
                    # one district of an MSS-style index may lack the top classes; its best class
                    # present would silently become 'priority 1'
                    feedback.warning(tr(
                        "The highest class in field '{field}' of layer '{layer}' is {top}; without 'Number of "
                        "index classes' it is read as the class of most need and gets priority 1. If the index "
                        "has more classes (the MSS bands: 4), e.g. because the layer holds only one district, "
                        "set the number of classes.", field=class_field, layer=layer_name(frame),
                        top=int(present.max()) if float(present.max()).is_integer() else float(present.max())))
                values["class"] = cls
                extra["class_given"] = True
            else:
                idx = numeric_field(frame, index_field).to_numpy()
                _require_standardised(idx, index_field, frame)
                levels[r] = index_bands(idx if higher_is_worse else -idx)
                values["index"] = idx
        elif r == "burden_count" and burden_field:
            cnt = numeric_field(frame, burden_field).to_numpy()
            levels[r] = np.where(np.isnan(cnt), np.nan, burden_levels(np.nan_to_num(cnt)))
            values["burden"] = np.nan_to_num(cnt)
            extra["burden_given"] = True
        elif r == "burden_count":
            if not z_fields:
                raise InputError(tr("The multiple-burden rule needs z-score fields (z_<indicator>) in "
                                    "layer '{layer}'; run the composite index first.",
                                    layer=layer_name(frame)))
            cnt = (np.nan_to_num(Z, nan=-np.inf) >= burden_threshold).sum(axis=1)
            # an area without any z-score (left out of the index) has no count, not "0 burdens"
            levels[r] = np.where(np.isnan(Z).all(axis=1), np.nan, burden_levels(cnt))
            values["burden"] = cnt
        elif r == "cluster":
            if not cluster_field:
                raise InputError(tr("The cluster rule needs the cluster field (from the typology)."))
            cl = pd.to_numeric(frame[cluster_field], errors="coerce").to_numpy(dtype=float)
            if cluster_levels:
                lv = np.array([float(cluster_levels.get(int(c), 4)) if not np.isnan(c) else np.nan
                               for c in cl])
            else:
                lv = np.where(cl >= 1, np.minimum(cl, 4), np.nan)
            levels[r] = lv
            values["cluster"] = [int(c) if not np.isnan(c) else "–" for c in cl]
            if cluster_names:
                values["cluster_names"] = cluster_names
        elif r == "hotspot":
            if not hotspot_field:
                raise InputError(tr("The hot-spot rule needs the hot-spot field (gi_bin or lisa_code)."))
            hs = frame[hotspot_field].to_numpy()
            levels[r] = hotspot_levels(hs)
            values["hotspot"] = hs
    if rule == "weighted":
        weights = {r: float(combination[r]) for r in rules}
        lv, score = _combine({r: np.nan_to_num(levels[r], nan=4.0) for r in rules}, weights)
        # an area without a value in every combined rule (e.g. left out of the index for too few
        # residents) has no level at all; counting it as level 4 would rank it "lowest need"
        missing = np.column_stack([np.isnan(np.asarray(levels[r], dtype=float)) for r in rules])
        lv = np.where(missing.all(axis=1), np.nan, lv)
        score = np.where(missing.all(axis=1), np.nan, score)
        partly = missing.any(axis=1) & ~missing.all(axis=1)
        if partly.any():
            feedback.warning(tr(
                "{count} area(s) of layer '{layer}' lack a value in some of the combined rules ({areas}); "
                "the missing rules count as the lowest level (4) there. Check these areas or fill the "
                "missing fields.", count=int(partly.sum()), layer=layer_name(frame),
                areas=", ".join(str(v) for v in list((frame[o.id_field] if o.id_field in frame.columns
                                                       else frame.index.to_series())[partly])[:5])
                + (", …" if partly.sum() > 5 else "")))
    else:
        lv = levels[rule]
        score = lv.copy()
    nodata = np.isnan(np.asarray(lv, dtype=float))
    lv = np.nan_to_num(lv, nan=0.0)
    pop = numeric_field(frame, population_field).to_numpy() if population_field else None
    kids = numeric_field(frame, children_field).to_numpy() if children_field else None
    small = np.zeros(n, dtype=bool)
    if min_population and pop is None:
        raise InputError(tr("A minimum population needs the population field."))
    if min_population and pop is not None:
        small = ~(np.nan_to_num(pop, nan=0.0) >= float(min_population))
        lv = np.where(small, 0, lv)
    lv = lv.astype(int)
    nodata = nodata & ~small
    feedback.progress(0.3)
    # robustness
    source = None
    if robustness_field:
        rob = numeric_field(frame, robustness_field).to_numpy()
        if np.nanmax(rob) > 1.0 + 1e-9:
            rob = rob / 100.0
        source = "field"
    elif rule == "cluster":
        rob = np.full(n, np.nan)
        source = "none"
    elif rule == "hotspot" and hotspot_field and f"{hotspot_field.split('_')[0]}_robust" in frame.columns:
        rob = numeric_field(frame, f"{hotspot_field.split('_')[0]}_robust").to_numpy()
        source = "neighbour_definitions"
    elif rule == "hotspot" and hotspot_q_field:
        q = numeric_field(frame, hotspot_q_field).to_numpy()
        rob = 1.0 - q
        source = "1-q"
    else:
        rng = np.random.default_rng(seed)
        mc_rules = [r for r in rules if r in ("index_class", "burden_count")]
        if Z.shape[1] and mc_rules and not extra.get("class_given") and not extra.get("burden_given"):
            runs = {r: _mc_levels(Z, r, burden_threshold, n_runs, rng) for r in mc_rules}
            if rule == "weighted":
                w = {r: float(combination[r]) for r in rules}
                sims = []
                for t in range(n_runs):
                    lvl = {r: (runs[r][t] if r in runs else np.nan_to_num(levels[r], nan=4.0)) for r in rules}
                    sims.append(_combine(lvl, w)[0])
                sims = np.array(sims)
            else:
                sims = runs[rule]
            rob = (sims == lv[None, :]).mean(axis=0)
            source = "monte_carlo"
        else:
            rob = np.full(n, np.nan)
            source = "none"
    rob = np.where(small | nodata, np.nan, rob)
    feedback.progress(0.7)
    out = pd.DataFrame(index=frame.index)
    out["priority"] = lv
    out["priority_label"] = [level_label(v) for v in lv]
    if driver_texts:
        drivers = {lang: [t if isinstance(t, str) else "" for t in driver_texts[lang]] for lang in ("en", "de")}
    else:
        drivers = {lang: reasons_for(frame, z_fields, labels, top, lang=lang) if z_fields else [""] * n
                   for lang in ("en", "de")}
    for lang in ("en", "de"):
        texts = []
        for i in range(n):
            if small[i]:
                texts.append(tr("fewer than {minimum} residents: no priority (values too uncertain)",
                                lang=lang, minimum=format_number(float(min_population), 0, lang)))
                continue
            if nodata[i]:
                texts.append(level_label(0, lang) + ": " + tr("no value for this rule (missing data)", lang=lang))
                continue
            parts = []
            for r in rules:
                vals = {k: (v[i] if not isinstance(v, dict) else v) for k, v in values.items()}
                if r == "cluster" and cluster_names:
                    c = values["cluster"][i]
                    name = cluster_names.get(c, {}) if isinstance(c, int) else {}
                    vals["cluster_name"] = name.get(lang) if isinstance(name, dict) else name
                parts.append(_rule_reason(r, lv[i], vals, lang, extra))
            head = level_label(lv[i], lang) + ": " + ", ".join(p for p in parts if p)
            texts.append(head + (" — " + drivers[lang][i] if drivers[lang][i] else ""))
        out[f"reasons_{lang}"] = texts
    out["robustness"] = rob
    out["score"] = score
    if pop is not None:
        out["residents"] = pop
    if kids is not None:
        out["children"] = kids
    diag = {"rule": rule, "rules": rules, "robustness_source": source, "n": n,
            "levels": {}, "z_fields": z_fields, "seed": seed,
            "note": tr("Priorities are a search strategy, not a verdict: check flagged areas on site.")}
    for level in (1, 2, 3, 4, 0):
        sel = lv == level
        diag["levels"][level] = {
            "areas": int(sel.sum()),
            "residents": float(np.nansum(pop[sel])) if pop is not None else None,
            "children": float(np.nansum(kids[sel])) if kids is not None else None,
            "mean_robustness": float(np.nanmean(rob[sel])) if sel.any() and not np.isnan(rob[sel]).all() else None}
    feedback.progress(1.0)
    return out, diag


@dataclass
class IndexPriorityOptions:
    """Settings of ``priorities_from_index``; every one has a default.

    Attributes
    ----------
    min_population : float
        Areas with fewer residents get no priority (default 0; needs ``population``).
    n_runs : int
        Monte-Carlo runs of ``core.indices.robustness.monte_carlo_robustness`` (default 500).
    labels : dict, optional
        Indicator id → readable name for the reasons.
    top : int
        Number of drivers named in the reasons (default 3).
    """

    min_population: float = 0
    n_runs: int = 500
    labels: Optional[dict] = None
    top: int = 3


def priorities_from_index(frame, indicators=None, spec=None, population=None, children=None, options=None,
                          seed=0, feedback=None, **spec_kwargs):
    """Priorities straight from the index engine: composite index classes → levels, the
    engine's reasons as drivers and its Monte-Carlo class probability as robustness.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        Areas with the raw indicators.
    indicators, spec, **spec_kwargs
        The index as in ``core.indices.composite.composite_index`` (default spec: the MSS).
    population : str, optional
        Population field (minimum population of the index reference, residents per level).
    children : str, optional
        Children field (children per level).
    options : IndexPriorityOptions, optional
        Minimum population, Monte-Carlo runs, indicator names and drivers named in the
        reasons (defaults: ``IndexPriorityOptions()``).
    seed : int
        Seed of the Monte-Carlo runs.
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.

    Returns
    -------
    (DataFrame, dict)
        As ``rank_priorities`` plus ``index``, ``index_class`` and ``z_<indicator>`` columns.
    """
    from ..indices.composite import composite_index, make_spec
    from ..indices.reasons import reasons as index_reasons
    from ..indices.robustness import RobustnessOptions, monte_carlo_robustness

    feedback = ensure_feedback(feedback)
    settings = options_or_default(options, IndexPriorityOptions, "priorities_from_index")
    refuse_ignored_keywords(spec, spec_kwargs, IndexPriorityOptions, "priorities_from_index")
    min_population, labels, top = settings.min_population, settings.labels, settings.top
    if spec is None:
        spec = make_spec(indicators, **spec_kwargs)
    base = composite_index(frame, spec=spec, population=population)
    feedback.progress(0.2)
    rob = monte_carlo_robustness(frame, spec=spec, options=RobustnessOptions(n=settings.n_runs), seed=seed,
                                 population=population, feedback=feedback.step(0.2, 0.8))
    work = pd.DataFrame(index=frame.index)
    for ind in spec.indicators:
        work[f"z_{ind}"] = base.scores[ind].to_numpy(dtype=float)
    work["index"] = base.index.to_numpy(dtype=float)
    work["index_class"] = base.classes.to_numpy(dtype=float, na_value=np.nan)
    work["p_base"] = rob.table["p_base"].to_numpy(dtype=float)
    if population:
        work["_pop"] = numeric_field(frame, population).to_numpy()
    if children:
        work["_kids"] = numeric_field(frame, children).to_numpy()
    drivers = {lang: list(index_reasons(base, top=top, lang=lang,
                                        labels={k: _label(k, labels, lang) for k in (labels or {})})["reasons"])
               for lang in ("en", "de")}
    n_classes = len(spec.bounds) + 1 if spec.classification == "sd_bands" and spec.bounds else spec.n_classes
    ranking = RankingOptions(class_field="index_class", n_classes=n_classes, robustness_field="p_base",
                             population_field="_pop" if population else None,
                             children_field="_kids" if children else None, min_population=min_population,
                             driver_texts=drivers)
    out, diag = rank_priorities(work, "index_class", ranking, feedback=feedback.step(0.8, 1.0))
    for c in ("index", "index_class") + tuple(f"z_{ind}" for ind in spec.indicators):
        out[c] = work[c].to_numpy()
    diag["robustness_source"] = "index_monte_carlo"
    diag["index"] = base.diagnostics
    return out, diag
