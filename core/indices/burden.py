"""Multiple burden (Berlin Umweltgerechtigkeit): grade each burden 1–3 and count the 3s.

Each indicator is graded 1 (low burden / good supply), 2 or 3 (high burden / poor supply),
either **relatively** by quantiles of the areas (default quartiles: lowest quarter 1,
highest quarter 3) or **absolutely** by fixed thresholds. The grade records which kind it
is (``kind`` = "quantile" or "fixed"): quantile grades say "worse than most of this city",
fixed grades say "above this limit".

For a supply indicator (higher = better, e.g. m² green per resident) the direction is
turned round: the lowest supply gets grade 3.

The social indicator comes from the MSS status class: 1 hoch → 1, 2 mittel → 2,
3 niedrig / 4 sehr niedrig → 3. ``burden_count`` counts the environmental grade-3
burdens (0–4 in Berlin), ``burden_count_social`` includes the social one (0–5).
An area with a missing grade gets ``burden_complete`` = false (its count is a minimum);
an area without any environmental grade gets no count (NULL), not 0.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from ..validate import numeric_field, require_not_empty

KIND_QUANTILE = "quantile"
KIND_FIXED = "fixed"


@dataclass(frozen=True)
class BurdenIndicator:
    """How one burden indicator is graded."""

    field: str
    supply: bool = False  # higher = better (e.g. green space per resident)
    thresholds: Optional[tuple] = None  # (t1, t2): fixed grading; None = quantiles
    quantiles: tuple = (0.25, 0.75)


@dataclass
class BurdenResult:
    """Grades per indicator, their kind, and the counts."""

    table: pd.DataFrame
    breaks: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)


def grade(values, supply=False, thresholds=None, quantiles=(0.25, 0.75), name="indicator"):
    """Grade values 1–3 (NaN stays 0); returns (grades, (low, high) limits, kind).

    Burden (higher = worse): 1 if x ≤ low, 3 if x > high, else 2.
    Supply (higher = better): 3 if x < low, 1 if x ≥ high, else 2.
    """
    values = np.asarray(values, dtype="float64")
    finite = np.isfinite(values)
    if thresholds is not None:
        if len(thresholds) != 2 or not thresholds[0] <= thresholds[1]:
            raise InputError(tr("Fixed thresholds for '{indicator}' must be two numbers, the lower "
                                "first (got {value}).", indicator=name, value=thresholds))
        low, high = float(thresholds[0]), float(thresholds[1])
        kind = KIND_FIXED
    else:
        if finite.sum() < 4:
            raise InputError(tr("Indicator '{indicator}' has only {count} areas with values; quantile "
                                "grades need at least 4. Use fixed thresholds instead.",
                                indicator=name, count=int(finite.sum())))
        low, high = np.quantile(values[finite], quantiles)
        if not high > low:
            raise InputError(tr("Indicator '{indicator}' has the same value in most areas, so its "
                                "quantile grades are meaningless. Use fixed thresholds instead.",
                                indicator=name))
        kind = KIND_QUANTILE
    if supply:
        grades = np.where(values < low, 3, np.where(values >= high, 1, 2))
    else:
        grades = np.where(values <= low, 1, np.where(values > high, 3, 2))
    return np.where(finite, grades, 0), (float(low), float(high)), kind


def social_grade(status_class):
    """MSS status class (1–4) → social burden grade: 1 → 1, 2 → 2, 3 and 4 → 3 (NaN → 0)."""
    status = np.asarray(status_class, dtype="float64")
    bad = np.isfinite(status) & ~np.isin(status, [1, 2, 3, 4])
    if bad.any():
        raise InputError(tr("The social status field must hold MSS status classes 1 to 4 (found {value}).",
                            value=status[bad][0]))
    return np.where(np.isfinite(status), np.minimum(np.nan_to_num(status), 3), 0).astype(int)


def multiple_burden(frame, indicators, social_status=None, feedback=None):
    """Grade burdens and count them per area.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
    indicators : list of BurdenIndicator (or field names, graded by quartiles as burdens)
    social_status : str, optional
        Field with the MSS status class (1–4).
    feedback : core.feedback.Feedback, optional
        Progress (one step per indicator) and cancellation.

    Returns
    -------
    BurdenResult
        ``table`` has ``g_<field>`` (grade 1–3, NULL if missing), ``k_<field>`` ("quantile"
        or "fixed"), ``g_social`` (if given), ``burden_count``, ``burden_count_social``,
        ``burden_complete``.
    """
    feedback = ensure_feedback(feedback)
    feedback.progress(0.0)
    require_not_empty(frame)
    specs = [BurdenIndicator(i) if isinstance(i, str) else i for i in indicators]
    if not specs:
        raise InputError(tr("Choose at least one burden indicator."))
    from .mss import int_array
    table = pd.DataFrame(index=frame.index)
    breaks = {}
    grades_all = []
    feedback.progress(0.05)
    for k, spec in enumerate(specs):
        feedback.check()
        values = numeric_field(frame, spec.field).to_numpy(dtype="float64")
        grades, limits, kind = grade(values, spec.supply, spec.thresholds, spec.quantiles, spec.field)
        grades_all.append(grades)
        table["g_" + spec.field] = int_array(np.where(grades > 0, grades, np.nan))
        table["k_" + spec.field] = [kind if g > 0 else None for g in grades]
        breaks[spec.field] = {"low": limits[0], "high": limits[1], "kind": kind, "supply": spec.supply}
        feedback.progress(0.05 + 0.8 * (k + 1) / len(specs))
    feedback.check()
    env = np.column_stack(grades_all)
    complete = np.all(env > 0, axis=1)
    # an area without any environmental grade (no data at all) has no count: 0 would read
    # "no burden" on the map and in the priorities
    none_known = np.all(env <= 0, axis=1)
    count = np.where(none_known, np.nan, (env == 3).sum(axis=1))
    table["burden_count"] = int_array(count)
    if social_status is not None:
        social = social_grade(numeric_field(frame, social_status).to_numpy(dtype="float64"))
        table["g_social"] = int_array(np.where(social > 0, social, np.nan))
        table["burden_count_social"] = int_array(np.where(none_known & ~(social > 0), np.nan,
                                                          np.nan_to_num(count) + (social == 3)))
        complete &= social > 0
    table["burden_complete"] = complete
    feedback.progress(0.95)
    diagnostics = {
        "count_distribution": {int(c): int((table["burden_count"] == c).sum()) for c in range(len(specs) + 1)},
        "n_incomplete": int((~complete).sum()),
    }
    if social_status is not None:
        diagnostics["count_distribution_social"] = {
            int(c): int((table["burden_count_social"] == c).sum()) for c in range(len(specs) + 2)}
    feedback.progress(1.0)
    return BurdenResult(table=table, breaks=breaks, diagnostics=diagnostics)


def parse_thresholds(text):
    """'noise=55,65; heat=30,35' → {'noise': (55.0, 65.0), ...} (German decimal commas: use ';' and '|')."""
    out = {}
    if not text or not str(text).strip():
        return out
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise InputError(tr("Cannot read the thresholds '{part}'; write them like 'noise=55,65; heat=30,35'.",
                                part=part))
        name, _, values = part.partition("=")
        numbers = [v for v in values.replace("|", ",").split(",") if v.strip()]
        try:
            pair = tuple(float(v) for v in numbers)
        except ValueError:
            raise InputError(tr("Cannot read the thresholds '{part}'; write them like 'noise=55,65; heat=30,35'.",
                                part=part)) from None
        if len(pair) != 2:
            raise InputError(tr("Cannot read the thresholds '{part}'; write them like 'noise=55,65; heat=30,35'.",
                                part=part))
        out[name.strip()] = pair
    return out
