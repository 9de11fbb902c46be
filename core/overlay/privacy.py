"""Small numbers: rates that carry their base, small-base flags, suppression for export.

Builds on ``core.rates`` (rate, small_base, suppress_small_counts).
"""
import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr
from ..rates import DEFAULT_MIN_BASE, rate, small_base, suppress_small_counts


class RateSpec:
    """A rate to build from two transferred counts.

    Parameters
    ----------
    name : str
        Output field name of the rate; ``<name>_num``, ``<name>_den`` and
        ``<name>_small`` are written beside it.
    numerator, denominator : str
        Count fields (transferred as extensive variables, then divided).
    per : float
        Multiplier (100 for percent, 1000 for per mille).
    min_base : float
        Areas whose denominator is below this are flagged (default 300 residents).
    """

    def __init__(self, name, numerator, denominator, per=100.0, min_base=DEFAULT_MIN_BASE):
        self.name = str(name)
        self.numerator = numerator
        self.denominator = denominator
        self.per = float(per)
        self.min_base = float(min_base)

    @classmethod
    def coerce(cls, spec):
        """Accept a RateSpec, a dict, or a tuple ``(name, numerator, denominator[, per[, min_base]])``."""
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, dict):
            return cls(**spec)
        return cls(*spec)


def add_rate(frame, name, numerator, denominator, per=100.0, min_base=DEFAULT_MIN_BASE):
    """Return a copy of ``frame`` with ``<name>_num``, ``<name>_den``, ``<name>`` and
    ``<name>_small`` (True where the base is under ``min_base`` or missing).

    ``numerator``/``denominator`` are arrays or column names of ``frame``.
    """
    out = frame.copy()
    num = frame[numerator] if isinstance(numerator, str) else numerator
    den = frame[denominator] if isinstance(denominator, str) else denominator
    set_rate_columns(out, name, num, den, per=per, min_base=min_base)
    return out


def set_rate_columns(out, name, numerator, denominator, per=100.0, min_base=DEFAULT_MIN_BASE):
    """Write ``<name>_num``, ``<name>_den``, ``<name>`` and ``<name>_small`` into ``out``
    (a result frame the caller owns), so every rate carries its base."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    out[f"{name}_num"] = num
    out[f"{name}_den"] = den
    out[name] = rate(num, den, per=per)
    out[f"{name}_small"] = small_base(den, min_base=min_base)


def flag_small_base(frame, base_column, min_base=DEFAULT_MIN_BASE, flag_column="small_base"):
    """Return a copy with a boolean ``flag_column``: base under ``min_base`` (or missing)."""
    out = frame.copy()
    out[flag_column] = small_base(np.asarray(frame[base_column], dtype="float64"), min_base)
    return out


def suppress_for_export(frame, count_columns, min_count=3, rates=(), derived=None, flag_column=None):
    """Suppress counts below ``min_count`` (but above 0) as statistical offices publish them,
    and every value derived from a suppressed count.

    Parameters
    ----------
    frame : DataFrame
    count_columns : list of str
        Count fields to suppress (set to NULL where 0 < value < min_count); names missing
        from ``frame`` are ignored.
    min_count : float
        Smallest count that may be published; 0 or None switches suppression off.
    rates : iterable of str
        Rate names (as written by :func:`add_rate`): the rate is also suppressed where its
        numerator or denominator was, so it cannot be used to recover the count.
    derived : dict, optional
        ``{column: [count columns]}``: means, shares or ratios computed from those counts
        become NULL wherever one of them was suppressed (a mean over two residents
        discloses as much as the count).
    flag_column : str, optional
        Adds this boolean column, True in rows where anything was suppressed.

    Returns
    -------
    (DataFrame, dict)
        A suppressed copy and ``{column: number of suppressed values}``.
    """
    out = frame.copy()
    report = {}
    if not min_count:
        return out, report
    if min_count < 0:
        raise InputError(tr("The minimum count for suppression must not be negative (got {value}).",
                            value=min_count))
    columns = [c for c in dict.fromkeys(count_columns) if c in out.columns]
    rates = [r for r in rates if r in out.columns]
    for name in rates:
        columns += [c for c in (f"{name}_num", f"{name}_den") if c in out.columns and c not in columns]
    hidden = {}
    for column in columns:
        values = _numbers(out[column])
        suppressed = suppress_small_counts(values, min_count=min_count)
        hidden[column] = np.isnan(suppressed) & ~np.isnan(values)
        out[column] = suppressed
    for name in rates:
        hidden[name] = hidden.get(f"{name}_num", False) | hidden.get(f"{name}_den", False)
    for column, bases in (derived or {}).items():
        if column in out.columns:
            hidden[column] = np.zeros(len(out), dtype=bool)
            for base in bases:
                hidden[column] = hidden[column] | hidden.get(base, False)
    for column, mask in hidden.items():
        if column in rates or column in (derived or {}):
            values = _numbers(out[column])
            mask = mask & ~np.isnan(values)
            values[mask] = np.nan
            out[column] = values
            hidden[column] = mask
        report[column] = int(np.sum(mask))
    if flag_column is not None:
        flag = np.zeros(len(out), dtype=bool)
        for mask in hidden.values():
            flag |= mask
        out[flag_column] = flag
    return out, report


def _numbers(column):
    """A column as a float array (NULL and text become NaN)."""
    return np.array(pd.to_numeric(column, errors="coerce"), dtype="float64")  # a writable copy

def warn_overwritten(before, after, feedback, layer):
    """Warn when result fields replaced fields the areas already had (e.g. when chaining)."""
    geometry = getattr(after, "_geometry_column_name", None)
    replaced = [c for c in after.columns if c in before.columns and c != geometry
                and not after[c].equals(before[c])]
    if replaced:
        feedback.warning(tr("Layer '{layer}' already had the field(s) {fields}; they were replaced "
                            "by the new results. Rename them first to keep both.",
                            layer=layer, fields=", ".join(replaced)))
    return replaced
