"""Status and dynamics at two time points, the Berlin MSS way.

``status_dynamics(frame, status_indicators, dynamics_indicators, StatusDynamicsOptions(...))``
builds two composite indices with the same reference areas: the status index (levels, e.g.
shares in %) and the dynamics index (changes over two years, percentage points). Classes on
unrounded values:

status    1 hoch x < −1 | 2 mittel −1 ≤ x ≤ 1 | 3 niedrig 1 < x ≤ 1.5 | 4 sehr niedrig x > 1.5
dynamics  1 positiv x < −1 | 3 stabil −1 ≤ x ≤ 1 | 5 negativ x > 1

(positive index = more disadvantage / worsening), the combined code SDI = 10·status +
dynamics (e.g. 25) with its label "2-" (status mittel, dynamics negativ), and a flag for
areas needing particular attention by a configurable rule (default, as the MSS: status
niedrig or sehr niedrig, or status mittel with negative dynamics). "Negativ" dynamics is
relative to the city's development, not necessarily an absolute decline.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr
from ..options import options_or_default
from ..validate import layer_name, numeric_field
from .composite import REASON_FLAGGED, REASON_MISSING, composite_index

STATUS_BOUNDS = (-1.0, 1.0, 1.5)
DYNAMICS_BOUNDS = (-1.0, 1.0)
DYNAMICS_CODES = (1, 3, 5)
DYNAMICS_SYMBOLS = {1: "+", 3: "+/-", 5: "-"}
DEFAULT_ATTENTION = "3*, 4*, 25"

STATUS_NAMES = {1: "high", 2: "medium", 3: "low", 4: "very low"}
DYNAMICS_NAMES = {1: "positive", 3: "stable", 5: "negative"}
# the MSS's own German terms (used for the German labels)
STATUS_NAMES_DE = {1: "hoch", 2: "mittel", 3: "niedrig", 4: "sehr niedrig"}
DYNAMICS_NAMES_DE = {1: "positiv", 3: "stabil", 5: "negativ"}


@dataclass
class StatusDynamicsResult:
    """Status and dynamics indices plus the combined table (one row per area)."""

    status: object
    dynamics: object
    table: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


def int_array(values):
    """Float values with NaN → pandas nullable Int64 (NULL in the output layer)."""
    return pd.array([int(v) if np.isfinite(v) else None for v in np.asarray(values, dtype="float64")],
                    dtype="Int64")


def parse_attention_rule(rule):
    """'3*, 4*, 25' → set of SDI codes (``*`` = any dynamics); raises InputError on bad tokens."""
    codes = set()
    for token in str(rule or "").replace(";", ",").split(","):
        token = token.strip()
        if not token:
            continue
        if len(token) == 2 and token[0] in "1234" and token[1] == "*":
            codes.update(10 * int(token[0]) + d for d in DYNAMICS_CODES)
        elif len(token) == 2 and token[0] in "1234" and token[1] in "135":
            codes.add(int(token))
        else:
            raise InputError(tr("Attention rule token '{token}' is not understood; write codes of "
                                "status (1-4) and dynamics (1, 3, 5) like '25', or '3*' for any "
                                "dynamics, separated by commas.", token=token))
    return codes


def sdi_label(status_class, dynamics_class):
    """MSS label like '2-' for status 2 and dynamics 5."""
    return f"{int(status_class)}{DYNAMICS_SYMBOLS[int(dynamics_class)]}"


def status_label(code, lang=None):
    """Status class name in the given/current language."""
    from ..i18n import get_language, normalise_language
    language = normalise_language(lang) if lang else get_language()
    return (STATUS_NAMES_DE if language == "de" else STATUS_NAMES)[int(code)]


def dynamics_label(code, lang=None):
    """Dynamics class name in the given/current language."""
    from ..i18n import get_language, normalise_language
    language = normalise_language(lang) if lang else get_language()
    return (DYNAMICS_NAMES_DE if language == "de" else DYNAMICS_NAMES)[int(code)]


@dataclass
class StatusDynamicsOptions:
    """Settings of ``status_dynamics`` (both indices, their classes, the attention rule); every
    one has a default, the MSS one.

    Attributes
    ----------
    min_population : float
        Areas with fewer residents are left out of both reference sets (default 300; needs
        ``population``).
    missing_values : sequence of float
        Codes meaning 'no value' in the indicator fields (e.g. -9999).
    method : str
        Standardisation of both indices (default ``'z'``; see ``composite_index``).
    status_reversed, dynamics_reversed : sequence of str
        Indicators where higher means less disadvantage / an improvement.
    status_weights, dynamics_weights : sequence of float, optional
        Indicator weights (default: equal).
    status_bounds : tuple
        z-score bounds of the status classes 1–4 (MSS: −1, 1, 1.5).
    dynamics_bounds : tuple
        z-score bounds of the dynamics classes 1/3/5 (MSS: −1, 1).
    attention : str
        Rule as SDI codes, e.g. ``'3*, 4*, 25'`` (default, as the MSS).
    """

    min_population: float = 300.0
    missing_values: tuple = ()
    method: str = "z"
    status_reversed: tuple = ()
    dynamics_reversed: tuple = ()
    status_weights: Optional[tuple] = None
    dynamics_weights: Optional[tuple] = None
    status_bounds: tuple = STATUS_BOUNDS
    dynamics_bounds: tuple = DYNAMICS_BOUNDS
    attention: str = DEFAULT_ATTENTION


def status_dynamics(frame, status_indicators, dynamics_indicators, options=None, population=None,
                    exclude=None, exclude_reason=None, lang=None, feedback=None):
    """Status index, dynamics index, SDI code and attention flag per area.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
    status_indicators, dynamics_indicators : list of str
        Fields (higher = more disadvantage / worsening unless reversed).
    options : StatusDynamicsOptions, optional
        Minimum population, missing-value codes, standardisation, reversed indicators,
        weights, class bounds and the attention rule (defaults: ``StatusDynamicsOptions()``,
        the MSS settings).
    population : str or array-like, optional
        Population field (or values) for the minimum-population rule.
    exclude : array-like of bool, optional
        Areas flagged as outliers (left out of both reference sets).
    exclude_reason : array-like of str, optional
        English reason per excluded area (as in ``composite_index``).
    lang : str, optional
        Language of the class labels (default: the current language).
    feedback : core.feedback.Feedback, optional
        Progress and cancellation.

    Returns
    -------
    StatusDynamicsResult
        ``table`` has ``status_index``, ``status_class`` (1–4), ``status_label``,
        ``dynamics_index``, ``dynamics_class`` (1/3/5), ``dynamics_label``, ``sdi`` (e.g. 25),
        ``sdi_label`` (e.g. '2-'), ``attention`` (bool) and ``included``.
    """
    from ..feedback import ensure_feedback

    feedback = ensure_feedback(feedback)
    options = options_or_default(options, StatusDynamicsOptions, "status_dynamics")
    min_population, missing_values, method = options.min_population, options.missing_values, options.method
    codes = parse_attention_rule(options.attention)
    n = len(frame)
    flagged = np.zeros(n, bool) if exclude is None else np.asarray(exclude, bool)
    # one reference set for both: an area missing a dynamics value drops out of both, as in MSS
    common = dict(population=population, min_population=min_population,
                  missing_values=missing_values, method=method)
    # the same reading as the index itself (German text notation, codes, implausible values)
    probe_values = np.column_stack([
        numeric_field(frame, f, missing_codes=missing_values).to_numpy(dtype="float64")
        for f in list(status_indicators) + list(dynamics_indicators)])
    for sentinel in missing_values:
        probe_values[probe_values == sentinel] = np.nan
    names = list(status_indicators) + list(dynamics_indicators)
    empty = [f for j, f in enumerate(names) if not np.isfinite(probe_values[:, j]).any()]
    if empty:  # one empty dynamics field would drop every area from both indices
        raise InputError(tr("Indicator field(s) {fields} of layer '{layer}' have no value in any area "
                            "(all NULL or missing codes). Choose other indicators or fill the values.",
                            fields=", ".join(f"'{f}'" for f in empty), layer=layer_name(frame)))
    any_missing = ~np.all(np.isfinite(probe_values), axis=1)
    exclude_all = flagged | any_missing
    reasons_given = np.full(n, "", dtype=object) if exclude_reason is None else \
        np.asarray(exclude_reason, dtype=object).copy()
    reasons_given[flagged & (reasons_given == "")] = REASON_FLAGGED
    reasons_given[any_missing & ~flagged] = REASON_MISSING
    status = composite_index(frame, status_indicators, exclude=exclude_all, exclude_reason=reasons_given,
                             reversed=options.status_reversed,
                             weights=options.status_weights, bounds=options.status_bounds,
                             feedback=feedback.step(0.0, 0.5), **common)
    dynamics = composite_index(frame, dynamics_indicators, exclude=exclude_all, exclude_reason=reasons_given,
                               reversed=options.dynamics_reversed, weights=options.dynamics_weights,
                               bounds=options.dynamics_bounds, feedback=feedback.step(0.5, 1.0),
                               check_areas=False, **common)  # the same areas: checked once, by the status index
    included = status.included.to_numpy() & dynamics.included.to_numpy()
    s_class = status.classes.to_numpy(dtype="float64", na_value=np.nan)
    d_raw = dynamics.classes.to_numpy(dtype="float64", na_value=np.nan)
    d_class = np.where(np.isfinite(d_raw), np.array([0, 1, 3, 5])[np.nan_to_num(d_raw).astype(int)], np.nan)
    both = np.isfinite(s_class) & np.isfinite(d_class)
    sdi = np.where(both, 10 * np.nan_to_num(s_class) + np.nan_to_num(d_class), np.nan)
    ids = frame.index
    table = pd.DataFrame({
        "status_index": status.index.to_numpy(),
        "status_class": int_array(s_class),
        "status_label": [status_label(c, lang) if np.isfinite(c) else None for c in s_class],
        "dynamics_index": dynamics.index.to_numpy(),
        "dynamics_class": int_array(d_class),
        "dynamics_label": [dynamics_label(c, lang) if np.isfinite(c) else None for c in d_class],
        "sdi": int_array(sdi),
        "sdi_label": [sdi_label(s, d) if ok else None for s, d, ok in zip(s_class, d_class, both)],
        "attention": [bool(ok and int(v) in codes) for v, ok in zip(np.nan_to_num(sdi), both)],
        "included": included,
    }, index=ids)
    diagnostics = {
        "n_included": int(included.sum()),
        "status_counts": {c: int(((s_class == c) & included).sum()) for c in (1, 2, 3, 4)},
        "dynamics_counts": {c: int(((d_class == c) & included).sum()) for c in DYNAMICS_CODES},
        "n_attention": int((table["attention"] & included).sum()),
        "attention_codes": sorted(codes),
        "warnings": list(dict.fromkeys(status.diagnostics["warnings"] + dynamics.diagnostics["warnings"])),
    }
    return StatusDynamicsResult(status=status, dynamics=dynamics, table=table, diagnostics=diagnostics)
