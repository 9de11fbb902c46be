"""Time series tables into one shape: long rows of (area key, indicator, period, value, status).

Offices publish series two ways: *wide*, one column per year or half-year (``EW_2019``,
``2019``, ``2020 H1``, ``1. Hj. 2021``, ``31.12.2022``), or *long*, with a period column. Both
become the long form the monitoring tools read; ``long_to_wide`` gives one row per area
again (columns ``<indicator>_<period>``) for a join onto the planning areas.

Periods are written uniformly: ``2019`` (a year), ``2019-H1`` / ``2019-H2`` (half-years;
``30.06.`` and ``31.12.`` dates and the ``-01``/``-02`` suffix of half-yearly open-data
series), ``2019-03-31`` (any other day).
"""
import os
import re
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..i18n import tr
from .reading import value_status

_YEAR = r"(?:19|20)\d{2}"
# order matters: the most specific forms first
_PERIOD_PATTERNS = [
    ("date", re.compile(rf"(?<!\d)(\d{{1,2}})\.(\d{{1,2}})\.({_YEAR})(?!\d)")),
    ("half_first", re.compile(rf"(?<![\d.])([12])\.?\s*(?:hj|halbjahr|half|h)\.?\s*({_YEAR})(?!\d)", re.I)),
    ("half_after", re.compile(rf"(?<!\d)({_YEAR})\s*[-_/ ]?\s*(?:hj|h|halbjahr|s)\.?\s*([12])(?!\d)", re.I)),
    ("half_suffix", re.compile(rf"(?<!\d)({_YEAR})[-_](0?[12])(?!\d)")),
    ("year", re.compile(rf"(?<!\d)({_YEAR})(?!\d)")),
]


def parse_period(text):
    """``(period, matched text)`` for a column or file name, or ``(None, None)`` if it names none.

    >>> parse_period("EW_2019")
    ('2019', '2019')
    >>> parse_period("berlin-lor-population-2015-02-t1")[0]
    '2015-H2'
    """
    text = str(text)
    for kind, pattern in _PERIOD_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        if kind == "date":
            day, month, year = (int(g) for g in match.groups())
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            if (day, month) == (30, 6):
                return f"{year}-H1", match.group(0)
            if (day, month) == (31, 12):
                return f"{year}-H2", match.group(0)
            return f"{year:04d}-{month:02d}-{day:02d}", match.group(0)
        if kind == "half_first":
            half, year = match.groups()
            return f"{year}-H{half}", match.group(0)
        if kind in ("half_after", "half_suffix"):
            year, half = match.groups()
            return f"{year}-H{int(half)}", match.group(0)
        return match.group(1), match.group(0)
    return None, None


def _indicator_of(column, matched):
    """The column name without its period part (``EW_2019`` → ``EW``)."""
    rest = column.replace(matched, " ", 1)
    rest = re.sub(r"[\s_\-/.,:]+", " ", rest).strip()
    return rest.replace(" ", "_")


@dataclass
class LongTable:
    """A series in long form, with what the reshaping found."""

    frame: pd.DataFrame  # key, indicator, period, value, status (+ carried text columns)
    periods: list = field(default_factory=list)
    indicators: list = field(default_factory=list)
    ignored_columns: list = field(default_factory=list)

    def summary_lines(self):
        """Planner-readable lines (current language)."""
        lines = [tr("Series: {indicators} indicator(s) over {n} period(s) ({first} … {last}), "
                    "{rows} value row(s).", indicators=len(self.indicators), n=len(self.periods),
                    first=self.periods[0] if self.periods else "-",
                    last=self.periods[-1] if self.periods else "-", rows=len(self.frame))]
        if self.ignored_columns:
            lines.append(tr("Column(s) without a period, not part of the series: {columns}.",
                            columns=", ".join(self.ignored_columns)))
        return lines


def _status_for(table_read, column, n):
    """Per-row status ('missing', 'suppressed', None) of a number column."""
    markers = (table_read.markers or {}).get(column) if table_read is not None else None
    if markers is None:
        return [None] * n
    return [value_status(m) for m in markers]


def wide_to_long(frame, key, table_read=None, indicator_name="value"):
    """Turn one-column-per-period tables into long rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area; numeric columns whose names carry a period (``EW_2019``, ``2020 H1``).
    key : str
        The area key column (kept as text).
    table_read : TableRead, optional
        The reading report, to mark suppressed and missing values in ``status``.
    indicator_name : str
        Indicator name for columns that are only a period (``2019``, ``2020``).

    Returns
    -------
    LongTable
    """
    if key not in frame.columns:
        raise InputError(tr("The table has no key column '{key}'. Columns: {columns}.", key=key,
                            columns=", ".join(map(str, frame.columns))))
    pieces, periods, indicators, ignored = [], [], [], []
    for column in frame.columns:
        if column == key:
            continue
        period, matched = parse_period(column)
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        if period is None or not numeric:
            ignored.append(str(column))
            continue
        indicator = _indicator_of(str(column), matched) or indicator_name
        pieces.append(pd.DataFrame({
            "key": frame[key].astype(object).to_numpy(), "indicator": indicator, "period": period,
            "value": frame[column].to_numpy(dtype="float64"),
            "status": pd.Series(_status_for(table_read, column, len(frame)), dtype=object)}))
        periods.append(period)
        indicators.append(indicator)
    if len(set(periods)) < 2:
        raise InputError(tr("No columns with years or half-years in their names were found (such as "
                            "'EW_2019', '2020', '2021 H1', '31.12.2022'); found: {columns}. Choose the "
                            "layout 'one row per area' for this table.",
                            columns=", ".join(map(str, frame.columns))))
    long = _sorted(pd.concat(pieces, ignore_index=True))
    return LongTable(long, sorted(set(periods)), list(dict.fromkeys(indicators)), ignored)


def long_table(frame, key, period_column, indicator_column=None, table_read=None):
    """Normalise a table that already has a period column into the long form.

    Every numeric column becomes an indicator; with ``indicator_column`` (a text column naming
    the indicator, e.g. ``Merkmal``) the single numeric column is the value.
    """
    for column in (key, period_column, indicator_column):
        if column is not None and column not in frame.columns:
            raise InputError(tr("The table has no column '{column}'. Columns: {columns}.", column=column,
                                columns=", ".join(map(str, frame.columns))))
    periods = []
    for value in frame[period_column].tolist():
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        period, _ = parse_period(text)
        if period is None:
            raise InputError(tr("The period column '{column}' holds '{value}', which is not a year, "
                                "half-year or date.", column=period_column, value=value))
        periods.append(period)
    numeric = [c for c in frame.columns if c not in (key, period_column, indicator_column)
               and pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        raise InputError(tr("The table has no column with numbers besides the key and period."))
    if indicator_column is not None and len(numeric) != 1:
        raise InputError(tr("With an indicator column the table needs exactly one column of values; "
                            "found {columns}.", columns=", ".join(numeric)))
    pieces = []
    for column in numeric:
        indicator = frame[indicator_column].astype(str).to_numpy() if indicator_column else column
        pieces.append(pd.DataFrame({
            "key": frame[key].astype(object).to_numpy(), "indicator": indicator, "period": periods,
            "value": frame[column].to_numpy(dtype="float64"),
            "status": pd.Series(_status_for(table_read, column, len(frame)), dtype=object)}))
    long = _sorted(pd.concat(pieces, ignore_index=True))
    ignored = [str(c) for c in frame.columns
               if c not in numeric and c not in (key, period_column, indicator_column)]
    return LongTable(long, sorted(set(periods)), list(dict.fromkeys(long["indicator"])), ignored)


def stack_period_tables(tables, key):
    """One long table from several one-row-per-area tables, one per period (period from the
    file name, e.g. ``...-2015-01-...csv`` → ``2015-H1``); every numeric column is an indicator.

    Parameters
    ----------
    tables : list of TableRead
    key : str
        The key column, present in every table.
    """
    pieces, periods = [], []
    for table in tables:
        period, _ = parse_period(os.path.basename(table.source))
        if period is None:
            raise InputError(tr("The file name '{file}' carries no year or half-year; name the files "
                                "of a series by period (e.g. ..._2021-01.csv).",
                                file=os.path.basename(table.source)))
        frame = table.frame.assign(**{"__period": period})
        pieces.append(long_table(frame, key, "__period", table_read=table).frame)
        periods.append(period)
    duplicated = sorted({p for p in periods if periods.count(p) > 1})
    if duplicated:
        raise InputError(tr("Several files have the same period {periods}; give one file per period "
                            "(or per period and topic with different column names).",
                            periods=", ".join(duplicated)))
    long = _sorted(pd.concat(pieces, ignore_index=True))
    return LongTable(long, sorted(set(periods)), list(dict.fromkeys(long["indicator"])), [])


def _sorted(long):
    """Rows ordered by key, indicator, period (stable output for files and tests)."""
    long = long.sort_values(["key", "indicator", "period"], kind="mergesort").reset_index(drop=True)
    long["key"] = long["key"].astype(object)
    long["indicator"] = long["indicator"].astype(object)
    long["period"] = long["period"].astype(object)
    long["status"] = long["status"].astype(object)
    return long


def long_to_wide(long):
    """One row per key with a column per indicator and period (``EW_2019_H1``), for a join.

    Duplicate (key, indicator, period) rows are refused with examples: one area cannot carry
    two values for the same period.
    """
    frame = long.frame if isinstance(long, LongTable) else long
    duplicated = frame.duplicated(["key", "indicator", "period"], keep=False)
    if duplicated.any():
        examples = frame.loc[duplicated, ["key", "indicator", "period"]].drop_duplicates().head(5)
        raise InputError(tr("The series has several values for the same area, indicator and period, "
                            "e.g. {examples}. Remove the duplicate rows from the table.",
                            examples="; ".join(" / ".join(map(str, r)) for r in examples.to_numpy())))
    # "_" instead of "-" keeps the field names usable in QGIS expressions without quoting
    names = frame["indicator"].astype(str) + "_" + frame["period"].astype(str).str.replace("-", "_")
    wide = pd.DataFrame({"key": frame["key"].to_numpy(), "column": names.to_numpy(),
                         "value": frame["value"].to_numpy(dtype="float64")})
    order = list(dict.fromkeys(wide["column"]))
    table = wide.pivot(index="key", columns="column", values="value")
    table = table.reindex(columns=sorted(order, key=lambda c: (c.rsplit("_", 1)[0], c.rsplit("_", 1)[1])))
    table.columns = [str(c) for c in table.columns]
    table.columns.name = None
    out = table.reset_index()
    out["key"] = out["key"].astype(object)
    return out.astype({c: "float64" for c in out.columns if c != "key"})



_PERIOD_NAMES = ("jahr", "year", "period", "periode", "zeitraum", "zeitpunkt", "stichtag", "datum", "date",
                 "halbjahr", "zeit", "time")


def detect_period_column(frame, key=None):
    """The column holding the period of a long table (every value a year, half-year or date),
    preferring names such as ``Jahr``/``year``/``Stichtag``; None when no column qualifies."""
    candidates = []
    for column in frame.columns:
        if column == key:
            continue
        values = [v for v in frame[column].tolist() if v is not None and v == v]
        if not values:
            continue
        texts = [str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v) for v in values]
        if all(parse_period(t)[0] is not None and len(t) <= 20 for t in texts):
            named = str(column).strip().lower() in _PERIOD_NAMES
            candidates.append((not named, list(frame.columns).index(column), column))
    return min(candidates)[2] if candidates else None


def period_columns(frame, key=None):
    """Numeric columns whose names carry a period (a sign of a wide time-series table)."""
    return [c for c in frame.columns if c != key and parse_period(c)[0] is not None
            and pd.api.types.is_numeric_dtype(frame[c])]
