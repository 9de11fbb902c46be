"""Indicator series in long form: checks, periods as years, per-area tables, city values.

The analysis steps (change, targets, evaluation) all work on *observations in long form*:
one row per area, indicator and period with the columns

``area_id, period, indicator, value`` and, where the value is a rate from counts,
``numerator`` and ``denominator`` (plus optional flag columns, which are kept).

Where numerator and denominator are present the value is **recomputed from them**
(``per * numerator / denominator``, ``per`` inferred from the data: 1, 100, 1000 …), so a
rate is never averaged and the tests of change can use the counts behind it.
"""
import datetime
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr
from ..validate import layer_name
from ..values import format_value

AREA, PERIOD, INDICATOR, VALUE = "area_id", "period", "indicator", "value"
NUMERATOR, DENOMINATOR = "numerator", "denominator"
AREA_SET = "area_set"
REQUIRED = (AREA, PERIOD, INDICATOR, VALUE)
_SCALES = (1.0, 100.0, 1000.0, 10000.0, 100000.0)


def _numeric(column, frame, field, name):
    """``column`` as float64 or an InputError naming the first non-numeric value."""
    converted = pd.to_numeric(pd.Series(column, dtype="object"), errors="coerce").astype("float64")
    bad = converted.isna() & pd.Series(column, dtype="object").notna().to_numpy()
    if bad.any():
        raise InputError(tr("Field '{field}' of layer '{layer}' holds the non-numeric value '{value}'. "
                            "Clean the field so it only holds numbers (or NULL).",
                            field=field, layer=layer_name(frame, name),
                            value=pd.Series(column, dtype="object")[bad.to_numpy()].iloc[0]))
    return converted.to_numpy()


def check_observations(frame, name=None):
    """Return a clean copy of long-form observations (standard columns, float values).

    Raises ``InputError`` for missing columns, non-numeric values and duplicate rows
    (the same area, indicator and period twice).
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(tr("Table '{layer}' lacks the column(s) {fields} of observations in long "
                            "form (area_id, period, indicator, value; optionally numerator, "
                            "denominator). Rename the fields or choose them in the dialog.",
                            layer=layer_name(frame, name), fields=", ".join(missing)))
    if len(frame) == 0:
        raise InputError(tr("Table '{layer}' holds no observations.", layer=layer_name(frame, name)))
    if AREA_SET in frame.columns:
        sets = sorted({str(v) for v in frame[AREA_SET] if v is not None and v == v})
        if len(sets) > 1:  # ids of different boundary versions must never meet in one series
            raise InputError(tr("Table '{layer}' holds observations of several area sets ({sets}). "
                                "Choose one area set (rebase older periods onto it first).",
                                layer=layer_name(frame, name), sets=", ".join(sets)))
    out = pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns
                        if c != getattr(frame, "_geometry_column_name", None)})
    out[AREA] = [_plain_id(v) for v in out[AREA]]
    out[INDICATOR] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in out[INDICATOR]]
    for col in (VALUE, NUMERATOR, DENOMINATOR):
        if col in out.columns:
            out[col] = _numeric(out[col].to_numpy(), frame, col, name)
    key = [AREA, INDICATOR, PERIOD]
    duplicated = out.duplicated(key, keep=False)
    if duplicated.any():
        row = out.loc[duplicated, key].iloc[0]
        raise InputError(tr("Table '{layer}' holds area {area}, indicator '{indicator}', period {period} "
                            "more than once. Keep one observation per area, indicator and period.",
                            layer=layer_name(frame, name), area=row[AREA], indicator=row[INDICATOR],
                            period=row[PERIOD]))
    if NUMERATOR in out.columns and DENOMINATOR in out.columns:
        out = _recompute_values(out, layer_name(frame, name))
    out.attrs["layer_name"] = layer_name(frame, name)
    return out


def _plain_id(value):
    """Area id as a hashable plain value (floats that are whole numbers become int)."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def infer_scale(numerator, denominator, value):
    """The factor ``per`` with ``value = per * numerator / denominator`` (1, 100, 1000 … snapped)."""
    num, den, val = (np.asarray(a, dtype="float64") for a in (numerator, denominator, value))
    ok = np.isfinite(num) & np.isfinite(den) & np.isfinite(val) & (den > 0) & (num > 0)
    if not ok.any():
        return 100.0
    ratio = float(np.median(val[ok] / (num[ok] / den[ok])))
    for scale in _SCALES:
        if abs(ratio / scale - 1.0) < 0.02:
            return scale
    return ratio


def _check_values_match_counts(sub, indicator, label):
    """Refuse when the value column and numerator/denominator describe different things
    (one period in shares 0..1 and another in percent, or counts that do not fit the
    values): recomputing the values with one median factor would give wrong numbers."""
    num, den, val = (sub[c].to_numpy(dtype="float64") for c in (NUMERATOR, DENOMINATOR, VALUE))
    ok = np.isfinite(num) & np.isfinite(den) & np.isfinite(val) & (den > 0) & (num > 0) & (val > 0)
    if ok.sum() < 2:
        return
    ratio = val[ok] / (num[ok] / den[ok])
    low, high = np.percentile(ratio, [10, 90])
    if high <= 1.5 * low:  # rounding of published values stays far below a factor 1.5
        return
    i = int(np.argmax(np.abs(np.log(ratio / np.median(ratio)))))
    row = sub.iloc[np.flatnonzero(ok)[i]]
    raise InputError(tr("Table '{layer}', indicator '{indicator}': the values do not match numerator / "
                        "denominator by one factor (e.g. area {area}, period {period}: value {value}, "
                        "numerator {num}, denominator {den}; the factor value / (numerator / denominator) "
                        "ranges from {low} to {high} across the rows). Check whether one period is in shares (0..1) and "
                        "another in percent, or whether numerator and denominator are the right fields.",
                        layer=label or "?", indicator=indicator, area=row[AREA], period=row[PERIOD],
                        value=format_value(round(float(row[VALUE]), 4)), num=format_value(row[NUMERATOR]),
                        den=format_value(row[DENOMINATOR]), low=format_value(round(float(ratio.min()), 2)),
                        high=format_value(round(float(ratio.max()), 2))))


def _recompute_values(out, label=None):
    """Per indicator: value = per * numerator / denominator where both counts exist."""
    out = out.copy()
    out["per"] = np.nan
    for indicator, rows in out.groupby(INDICATOR, sort=False).groups.items():
        sub = out.loc[rows]
        num, den = sub[NUMERATOR].to_numpy(), sub[DENOMINATOR].to_numpy()
        has = np.isfinite(num) & np.isfinite(den)
        if not has.any():
            continue
        _check_values_match_counts(sub, indicator, label)
        per = infer_scale(num, den, sub[VALUE].to_numpy())
        values = sub[VALUE].to_numpy().copy()
        ok = has & (den > 0)
        values[ok] = per * num[ok] / den[ok]
        out.loc[rows, VALUE] = values
        out.loc[rows, "per"] = per
    return out


# half-years and quarters as the statistics import writes them ('2021-H1', '2021-Q3'): dated
# at their last day, as the stocks published for them are (30.06., 31.12.)
_PART_OF_YEAR = re.compile(r"^\s*(\d{4})\s*-?\s*([HQ])\s*([1-4])\s*$", re.IGNORECASE)
_PART_END = {("H", 1): (6, 30), ("H", 2): (12, 31), ("Q", 1): (3, 31), ("Q", 2): (6, 30), ("Q", 3): (9, 30),
             ("Q", 4): (12, 31)}


def _period_stamp(value):
    """The date a period stands for (a Timestamp), or an InputError naming it."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return pd.Timestamp(value)
    match = _PART_OF_YEAR.match(str(value))
    if match and (match.group(2).upper(), int(match.group(3))) in _PART_END:
        month, day = _PART_END[(match.group(2).upper(), int(match.group(3)))]
        return pd.Timestamp(int(match.group(1)), month, day)
    try:
        return pd.Timestamp(str(value))
    except (ValueError, TypeError):
        raise InputError(tr("Period '{period}' is neither a year, a half-year or quarter (2021-H1, "
                            "2021-Q3) nor a date (YYYY-MM-DD). Write periods in one of these forms.",
                            period=value)) from None


def period_years(periods):
    """Periods as decimal years (2020 → 2020.0, '2020-12-31' → 2020.9973…, '2020-H1' = 30.06.);
    for slopes per year."""
    values = pd.Series(list(periods), dtype="object")
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.astype("float64").to_numpy()
    out = np.empty(len(values))
    for i, value in enumerate(values):
        stamp = _period_stamp(value)
        days = 366.0 if stamp.is_leap_year else 365.0
        out[i] = stamp.year + (stamp.dayofyear - 1) / days
    return out


def for_indicator(obs, indicator):
    """The observations of one indicator, or an InputError listing the indicators there are."""
    rows = obs[obs[INDICATOR] == str(indicator)]
    if len(rows) == 0:
        raise InputError(tr("Indicator '{indicator}' is not in table '{layer}'. Indicators there: "
                            "{available}.", indicator=indicator, layer=layer_name(obs),
                            available=", ".join(sorted(set(map(str, obs[INDICATOR].dropna())))) or "–"))
    return rows


def sorted_periods(rows):
    """The distinct periods of ``rows`` in time order."""
    periods = list(dict.fromkeys(rows[PERIOD].tolist()))
    years = period_years(periods)
    return [periods[i] for i in np.argsort(years, kind="stable")]


def match_period(periods, value):
    """The entry of ``periods`` equal to ``value`` (also 2020 ↔ '2020' ↔ 2020.0), else None."""
    if value in periods:
        return value
    text = str(value).strip()
    for period in periods:
        if str(period).strip() == text:
            return period
    try:
        year = float(text)
    except ValueError:
        return None
    for period in periods:
        try:
            if float(str(period)) == year:
                return period
        except ValueError:
            continue
    return None


def wide(rows, column=VALUE, periods=None):
    """Area × period table of one column (areas in first-seen order)."""
    periods = periods if periods is not None else sorted_periods(rows)
    table = rows.pivot(index=AREA, columns=PERIOD, values=column)
    areas = list(dict.fromkeys(rows[AREA].tolist()))
    return table.reindex(index=areas, columns=periods)


def has_counts(rows):
    """True if the rows carry numerator and denominator for at least one observation."""
    return (NUMERATOR in rows.columns and DENOMINATOR in rows.columns
            and bool((np.isfinite(rows[NUMERATOR].to_numpy(dtype="float64"))
                      & np.isfinite(rows[DENOMINATOR].to_numpy(dtype="float64"))).any()))


def scale_of(rows):
    """The ``per`` factor of an indicator's rows (1.0 without counts)."""
    if "per" in rows.columns and rows["per"].notna().any():
        return float(rows["per"].dropna().iloc[0])
    return 1.0


def city_values(rows, periods=None):
    """City value per period: ``per * Σ numerator / Σ denominator`` with counts, else the mean.

    Only areas with both counts enter the ratio of sums (a rate is never averaged).
    """
    periods = periods if periods is not None else sorted_periods(rows)
    out = {}
    per = scale_of(rows)
    counts = has_counts(rows)
    for period in periods:
        sub = rows[rows[PERIOD] == period]
        if counts:
            num, den = sub[NUMERATOR].to_numpy(), sub[DENOMINATOR].to_numpy()
            ok = np.isfinite(num) & np.isfinite(den)
            total = den[ok].sum()
            out[period] = per * num[ok].sum() / total if total > 0 else np.nan
        else:
            vals = sub[VALUE].to_numpy(dtype="float64")
            out[period] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
    return pd.Series(out)


def counts_from_indicators(obs, indicator, numerator, denominator):
    """Observations where ``indicator`` takes its numerator and denominator from two count indicators.

    The statistics import writes the counts behind a share as indicators of their own (e.g.
    ``inhabitants_age_below_6`` and ``inhabitants`` beside ``inhabitants_age_below_6_percentage``);
    joined by area and period they become the share's counts, so its change can be tested and
    the city value is the ratio of the sums. Where ``indicator`` has no rows yet it is built
    from the counts (value ``per × numerator / denominator``, ``per`` = 100). The published
    values must match the counts (``check_observations`` refuses a mismatch).

    Parameters
    ----------
    obs : DataFrame
        Long-form observations (``check_observations``).
    indicator, numerator, denominator : str
        The share and the two count indicators.

    Returns
    -------
    DataFrame
        Checked observations (a new frame; ``obs`` is not modified).
    """
    label = layer_name(obs)
    count_rows = [for_indicator(obs, name) for name in (numerator, denominator)]
    keyed = [pd.Series(rows[VALUE].to_numpy(dtype="float64"),
                       index=pd.MultiIndex.from_arrays([rows[AREA].map(str), rows[PERIOD].map(str)]))
             for rows in count_rows]
    out = obs.drop(columns=["per"], errors="ignore").copy()
    for column in (NUMERATOR, DENOMINATOR):
        if column not in out.columns:
            out[column] = np.nan
    target = out[INDICATOR] == str(indicator)
    if not target.any():  # the share itself is not published: one row per area and period of the base
        base = count_rows[1]
        built = pd.DataFrame({AREA: base[AREA].to_numpy(), PERIOD: base[PERIOD].to_numpy(),
                              INDICATOR: str(indicator), VALUE: np.nan})
        out = pd.concat([out, built], ignore_index=True)
        target = out[INDICATOR] == str(indicator)
    index = pd.MultiIndex.from_arrays([out.loc[target, AREA].map(str), out.loc[target, PERIOD].map(str)])
    out.loc[target, NUMERATOR] = keyed[0].reindex(index).to_numpy()
    out.loc[target, DENOMINATOR] = keyed[1].reindex(index).to_numpy()
    if not (np.isfinite(out.loc[target, NUMERATOR].to_numpy(dtype="float64"))
            & np.isfinite(out.loc[target, DENOMINATOR].to_numpy(dtype="float64"))).any():
        raise InputError(tr("Indicator '{indicator}' of table '{layer}': no area and period has both "
                            "'{numerator}' and '{denominator}'. Check that the counts are of the same "
                            "areas and periods.", indicator=indicator, layer=label or "?",
                            numerator=numerator, denominator=denominator))
    out.attrs["layer_name"] = label
    return check_observations(out, label)
