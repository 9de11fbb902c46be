"""Reading numbers a planner's data really hold: text in German or English notation,
suppression marks of statistical offices, missing-value codes, impossible and extreme values.

Public functions (stable; other parts of the plugin, e.g. the statistics import, use them):

``parse_numbers(values, field=None, layer=None, notation="auto", whole_numbers=False)``
    Text/number values → float64 array plus a :class:`ValueReport`. The notation
    (German ``1.234,5`` / English ``1,234.5`` / plain ``1234.5``) is decided **per field**
    from all its values; a thousands separator is never read as a decimal point: a field
    whose only evidence is ``4.444`` (one dot, three digits after it) is refused unless
    another value decides it (``12,5`` → German, ``0.5`` → English), the field holds counts
    (``whole_numbers``: 4.444 persons can only be 4444) or ``notation`` is given.
``to_numbers(series, field=None, layer=None, notation="auto", whole_numbers=False)``
    The same for a pandas Series; returns a float64 Series with the same index.
``suspicious_values(values, kind="any", missing_codes=())``
    Values that are most likely codes or errors rather than data: non-finite or
    astronomically large values, common missing-value codes far outside the rest
    (``-9999``, ``99999``…), values impossible for the ``kind`` (negative counts,
    shares outside 0..1, percentages outside 0..100). Returns a list of :class:`Suspect`.
``replace_missing_codes(values, codes)``
    Declared missing-value codes → NaN; returns the new array and how many were replaced.
``parse_missing_codes(text)``
    ``"-9999; -1"`` (German ``-9.999`` and ``-1,5`` too) → ``[-9999.0, -1.0]``.
``describe_suspects(suspects, field, layer, labels=None)`` / ``check_plausible(values, field, layer, kind="any", labels=None)``
    The planner's message for :func:`suspicious_values`' findings / raise it as ``InputError``.
``rate_like(values)``
    ``"share"`` / ``"percent"`` when a field meant as counts holds rates (never summed).
``format_value(value)``
    A number for messages: ``-1`` not ``-1.0``, German decimal comma in German.
``announce(report)``
    Pass a :class:`ValueReport`'s log line to the active :func:`reporting` block.
``fill_value_mask(data)`` / ``is_fill_outlier(value, rest)``
    Raster cells holding a typical fill value (``-9999``, ``-3.4e38``…) of a raster without
    a nodata flag, and whether such a value lies far outside the other cells.
``reporting(feedback)``
    Context manager: reports of text conversions made inside (e.g. by
    ``core.validate.numeric_field``) go to ``feedback.info`` once per field.

Everything here is hand-written because no library on both stacks reads German number
notation per column (``pandas.to_numeric`` knows only the dot, ``locale`` is process-global
and depends on installed locales).
"""
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from .errors import InputError
from .i18n import get_language, tr

# Marks that German statistical offices print instead of a number (Destatis/Länder legend:
# "–" nothing, "." unknown or secret, "…" not yet available, "x" not applicable, "/" too
# uncertain) plus the usual empty/NA spellings of exports; each becomes a missing value.
SUPPRESSION_MARKS = ("", "-", "–", "—", ".", "..", "...", "…", "x", "X", "/", "NA", "N/A", "n/a",
                     "n.a.", "NaN", "nan", "NULL", "null", "None")

# Codes commonly used for "no value" in statistical tables and GIS exports. -1 and -99 are
# only suspicious where negatives are impossible (counts, shares); the others when they lie
# far outside the rest of the field.
MISSING_CODES = (-9999999.0, -999999.0, -99999.0, -9999.0, -999.0, 99999.0, 999999.0, 9999999.0)
SMALL_CODES = (-1.0, -99.0)
# Values beyond this size are never planning data (1e300, float32 fill values like 3.4e38).
EXTREME = 1e15
KINDS = ("any", "count", "share", "percent")

NOTATIONS = ("auto", "german", "english")

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_GROUPED_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_GERMAN_FULL = re.compile(r"^\d{1,3}(\.\d{3})+,\d+$")
_ENGLISH_FULL = re.compile(r"^\d{1,3}(,\d{3})+\.\d+$")
_SCIENTIFIC = re.compile(r"^(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
_DIGITS = re.compile(r"^\d+$")
_ONE_DOT = re.compile(r"^(\d*)\.(\d+)$")
_ONE_COMMA = re.compile(r"^(\d*),(\d+)$")


@dataclass
class ValueReport:
    """What reading one field found.

    Attributes
    ----------
    field, layer : str or None
        Names for messages.
    notation : str
        ``"numeric"`` (a number field, nothing converted), ``"plain"`` (text without
        separators, e.g. ``"1234.5"``), ``"german"`` or ``"english"``.
    converted : int
        Text values turned into numbers.
    suppressed : int
        Suppression marks and empty texts turned into missing values.
    marks : dict
        Each suppression mark found → how often.
    example : str or None
        A converted text value (for the log).
    """

    field: object = None
    layer: object = None
    notation: str = "numeric"
    converted: int = 0
    suppressed: int = 0
    marks: dict = dc_field(default_factory=dict)
    example: object = None

    def message(self):
        """The log line for a planner, or None when nothing was converted."""
        if self.notation == "numeric" and not self.suppressed:
            return None
        parts = []
        if self.converted:
            notation = {"german": tr("German notation (1.234,5)"),
                        "english": tr("English notation (1,234.5)"),
                        "plain": tr("plain notation (1234.5)")}[self.notation]
            parts.append(tr("Field '{field}' in layer '{layer}' holds numbers as text in {notation}; "
                            "converted {count} values (e.g. '{example}').",
                            field=self.field, layer=self.layer, notation=notation,
                            count=self.converted, example=self.example))
        if self.suppressed:
            marks = ", ".join(f"'{m}' ({n})" for m, n in sorted(self.marks.items(), key=lambda i: -i[1]))
            parts.append(tr("{count} value(s) of field '{field}' in layer '{layer}' are suppression "
                            "marks or empty texts ({marks}) and are treated as missing.",
                            count=self.suppressed, field=self.field, layer=self.layer, marks=marks))
        return " ".join(parts) if parts else None


@dataclass
class Suspect:
    """A value that is most likely a code or an error, found by :func:`suspicious_values`.

    ``reason`` is one of ``"extreme"`` (not finite or beyond 1e15), ``"code"`` (a common
    missing-value code far outside the rest), ``"impossible"`` (impossible for the kind).
    ``positions`` are the positions of the values in the input.
    """

    value: float
    reason: str
    positions: list


def _clean_text(text):
    """Strip blanks, signs and the group spaces/apostrophes (unambiguous separators)."""
    text = _SPACES.sub("", text.strip())
    sign = 1.0
    if text[:1] in ("-", "\u2212", "–"):
        sign, text = -1.0, text[1:]
    elif text[:1] == "+":
        text = text[1:]
    return sign, text


def _classify(body):
    """The shape of a number's body (no sign, no spaces).

    Returns ``(kind, evidence)``: kind in ``digits``, ``dot3`` (one dot, 3 digits after,
    1-3 before: 4.444), ``comma3`` (the same with a comma), ``german``, ``english``,
    ``dot`` (a decimal point, e.g. 12.5), ``scientific`` or ``None`` (not a number).
    """
    if _DIGITS.match(body):
        return "digits"
    if _SCIENTIFIC.match(body):
        return "scientific"
    dot = _ONE_DOT.match(body)
    if dot:
        before, after = dot.groups()
        if len(after) == 3 and 1 <= len(before) <= 3 and before != "0":
            return "dot3"
        return "dot"
    comma = _ONE_COMMA.match(body)
    if comma:
        before, after = comma.groups()
        if len(after) == 3 and 1 <= len(before) <= 3 and before != "0":
            return "comma3"
        return "german"
    if _GROUPED_DOT.match(body) or _GERMAN_FULL.match(body):
        return "german"
    if _GROUPED_COMMA.match(body) or _ENGLISH_FULL.match(body):
        return "english"
    return None


def _read(body, kind, notation):
    """The number of a classified body under the field's notation."""
    if kind in ("digits", "dot", "scientific"):
        return float(body)
    if notation == "german":
        return float(body.replace(".", "").replace(",", "."))
    return float(body.replace(",", ""))


def _plain(value):
    """A numpy scalar as its Python value."""
    return value.item() if hasattr(value, "item") else value


def parse_numbers(values, field=None, layer=None, notation="auto", whole_numbers=False):
    """Read numbers from numbers and/or text, deciding the notation once for the whole field.

    Parameters
    ----------
    values : sequence
        Numbers, texts, None/NaN (e.g. a column's values).
    field, layer : str, optional
        Names used in messages and in the report.
    notation : {"auto", "german", "english"}
        ``"auto"`` decides from the values: German if any value shows German notation
        (``12,5``, ``1.234.567``, ``1.234,5``, ``0,125``), English if any shows a decimal
        point (``12.5``, ``0.125``) or comma grouping (``1,234,567``, ``1,234.5``). Values
        such as ``4.444`` or ``4,444`` follow that decision.
    whole_numbers : bool
        The field holds counts (persons, dwellings): where only ``4.444``-like values occur,
        the reading that gives whole numbers is the right one (4444, never 4.444 persons).

    Returns
    -------
    numbers : numpy.ndarray of float64
        NaN where the value is missing (None, NaN, suppression mark, empty text).
    report : ValueReport

    Raises
    ------
    InputError
        For a text that is no number (naming it and how often it occurs), for a field
        mixing German and English notation, and for a field whose only separators are
        ambiguous (``4.444``: four thousand or four point four?) when ``notation`` is auto.
    """
    if notation not in NOTATIONS:
        raise ValueError(f"notation must be one of {NOTATIONS}")
    layer_label = layer if layer is not None else tr("input layer")
    items = list(values.tolist() if hasattr(values, "tolist") else values)
    numbers = np.full(len(items), np.nan)
    report = ValueReport(field=field, layer=layer_label)
    parsed = []  # (position, sign, body, kind, original)
    bad = {}
    for i, item in enumerate(items):
        if item is None or item is pd.NA or item is pd.NaT:
            continue
        if isinstance(item, (bool, np.bool_)):
            numbers[i] = float(item)
            continue
        if isinstance(item, (int, float, np.integer, np.floating)):
            numbers[i] = float(item)
            continue
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        text = str(item)
        if text.strip() in SUPPRESSION_MARKS:
            mark = text.strip()
            report.suppressed += 1
            report.marks[mark] = report.marks.get(mark, 0) + 1
            continue
        sign, body = _clean_text(text)
        lowered = body.lower()
        if lowered in ("inf", "infinity"):
            numbers[i] = sign * np.inf
            report.converted += 1
            continue
        kind = _classify(body)
        if kind is None:
            bad.setdefault(text, 0)
            bad[text] += 1
            continue
        parsed.append((i, sign, body, kind, text))
    if bad:
        example, count = next(iter(bad.items()))
        raise InputError(tr("Field '{field}' in layer '{layer}' is not numeric (for example the "
                            "value {value!r} in {count} feature(s)). Choose a numeric field or "
                            "convert it with the field calculator.",
                            field=field, layer=layer_label, value=example,
                            count=int(sum(bad.values()))))
    if not parsed and report.suppressed and not np.isfinite(numbers).any():
        # only marks and no number at all: a text field, not a table with suppressed cells
        example, count = max(report.marks.items(), key=lambda i: i[1])
        raise InputError(tr("Field '{field}' in layer '{layer}' is not numeric (for example the "
                            "value {value!r} in {count} feature(s)). Choose a numeric field or "
                            "convert it with the field calculator.",
                            field=field, layer=layer_label, value=example, count=int(count)))
    if not parsed:
        return numbers, report
    kinds = {}
    for _, _, _, kind, text in parsed:
        kinds.setdefault(kind, text)
    chosen = notation
    if chosen == "auto":
        german = kinds.get("german")
        english = kinds.get("english") or kinds.get("dot") or kinds.get("scientific")
        if german and english:
            raise InputError(tr("Field '{field}' in layer '{layer}' mixes German notation (e.g. "
                                "'{german}') and English notation (e.g. '{english}') in its texts, "
                                "so its numbers cannot be read reliably. Make the notation uniform "
                                "or convert the field to a numeric field first.",
                                field=field, layer=layer_label, german=german, english=english))
        if german:
            chosen = "german"
        elif english:
            chosen = "english"
        elif whole_numbers and ("dot3" in kinds) != ("comma3" in kinds):
            # counts are whole numbers: 1.234 persons can only be 1234 (grouping)
            chosen = "german" if "dot3" in kinds else "english"
        elif "dot3" in kinds or "comma3" in kinds:
            example = kinds.get("dot3") or kinds.get("comma3")
            body = _clean_text(example)[1]
            raise InputError(tr("Field '{field}' in layer '{layer}' holds numbers as text such as "
                                "'{example}', which can mean {thousands} (thousands separator) or "
                                "{decimal} (decimal separator), and no value of the field decides it. "
                                "Convert the field to a numeric field with the field calculator, e.g. "
                                "to_real(replace(replace(\"{field}\", '.', ''), ',', '.')) for German "
                                "notation.",
                                field=field, layer=layer_label, example=example,
                                thousands=_format(float(body.replace(".", "").replace(",", ""))),
                                decimal=_format(float(body.replace(",", ".")))))
        else:
            chosen = "plain"
    for i, sign, body, kind, _ in parsed:
        numbers[i] = sign * _read(body, kind, chosen)
    report.notation = chosen
    report.converted = len(parsed) + report.converted
    report.example = parsed[0][4].strip()
    return numbers, report


def to_numbers(series, field=None, layer=None, notation="auto", whole_numbers=False):
    """:func:`parse_numbers` for a pandas Series: returns ``(float64 Series, ValueReport)``.

    A numeric column (int, float, nullable Int64/Float64, bool) is only cast; texts go
    through the notation detection. The input is not modified.
    """
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=series.index,
                         name=series.name), ValueReport(field=field, layer=layer)
    numbers, report = parse_numbers(series.astype(object).tolist(), field, layer, notation, whole_numbers)
    return pd.Series(numbers, index=series.index, name=series.name), report


def rate_like(values):
    """``"share"`` / ``"percent"`` when a field's values look like rates rather than counts.

    A share: every value within 0..1 and some with decimals. A percentage: every value within
    0..100, nearly all non-zero values with decimals, and none with more than two (published
    rates are rounded; interpolated counts are not). Whole numbers never look like rates.
    Returns None otherwise.
    """
    arr = np.asarray(values, dtype="float64")
    arr = arr[np.isfinite(arr)]
    if len(arr) < 3 or arr.min() < 0:
        return None
    fractional = arr != np.round(arr)
    if not fractional.any():
        return None
    if arr.max() <= 1:
        return "share"
    nonzero = arr != 0
    rounded = np.abs(arr * 100 - np.round(arr * 100)) < 1e-6
    if arr.max() <= 100 and fractional.sum() >= 0.9 * nonzero.sum() and rounded.all():
        return "percent"
    return None


def parse_missing_codes(text):
    """Missing-value codes typed by a planner: ``"-9999; -1"`` → ``[-9999.0, -1.0]``.

    Codes are separated by ``;`` or blanks (a comma separates only when followed by a
    blank, since ``-1,5`` is a German decimal); each code may be in German or English
    notation. Raises ``InputError`` naming a code that is no number.
    """
    if text is None:
        return []
    if isinstance(text, (int, float, np.integer, np.floating)):
        return [] if np.isnan(text) else [float(text)]
    tokens = [t for t in re.split(r";|\s+|,\s+", str(text).strip()) if t]
    codes = []
    for token in tokens:
        number = [np.nan]
        for notation in ("auto", "german"):  # a lone '-9.999' is a German -9999: codes are whole
            try:
                number, _ = parse_numbers([token], field=None, layer=None, notation=notation)
                break
            except InputError:
                continue
        if len(number) != 1 or np.isnan(number[0]):
            raise InputError(tr("The missing value code '{code}' is not a number. Give codes such "
                                "as -9999 or -1, separated by semicolons.", code=token))
        codes.append(float(number[0]))
    return codes


def replace_missing_codes(values, codes):
    """Return ``(copy of values with every code → NaN, number of values replaced)``."""
    arr = np.array(values, dtype="float64")  # a copy: the input stays as it was
    if not len(codes):
        return arr, 0
    hit = np.isin(arr, np.asarray(codes, dtype="float64"))
    arr[hit] = np.nan
    return arr, int(hit.sum())


def suspicious_values(values, kind="any", missing_codes=()):
    """Find values that are most likely codes for 'no value' or errors, not data.

    Parameters
    ----------
    values : array-like of float
        NaN counts as missing and is never suspicious.
    kind : {"any", "count", "share", "percent"}
        What the field holds: counts cannot be negative, shares lie in 0..1, percentages
        in 0..100. ``"any"`` (an indicator of unknown kind) only checks extremes and codes.
    missing_codes : sequence of float
        Codes the planner declared; they are not reported (replace them first).

    Returns
    -------
    list of Suspect
        One entry per distinct suspicious value, in order of first occurrence:
        ``extreme`` (inf, -inf or beyond 1e15: such a value alone sets an index's
        standard deviation, every other z becomes ~0), ``code`` (``-9999``, ``99999``…,
        lying far outside the rest of the field: below its minimum / above its maximum by
        more than ten times its interquartile range, or a large negative code in a field
        that is otherwise never negative; ``-1``/``-99`` only where negatives are
        impossible) or ``impossible`` (a negative count, a share outside 0..1, a
        percentage outside 0..100).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    arr = np.asarray(values, dtype="float64")
    declared = np.isin(arr, np.asarray(list(missing_codes), dtype="float64")) if len(missing_codes) \
        else np.zeros(arr.shape, bool)
    present = ~np.isnan(arr) & ~declared
    extreme = present & (~np.isfinite(arr) | (np.abs(np.where(np.isfinite(arr), arr, 0.0)) >= EXTREME))
    codes = np.asarray(MISSING_CODES + (SMALL_CODES if kind != "any" else ()), dtype="float64")
    coded = present & ~extreme & np.isin(arr, codes)
    rest = arr[present & ~extreme & ~coded]
    flagged = {}  # value → reason
    for value in np.unique(arr[coded]):
        if _far_outside(value, rest, kind):
            flagged[float(value)] = "code"
    for value in np.unique(arr[extreme]):
        flagged[float(value)] = "extreme"
    limits = {"count": (0.0, np.inf), "share": (0.0, 1.0), "percent": (0.0, 100.0)}.get(kind)
    if limits is not None:
        outside = present & ~extreme & ((arr < limits[0]) | (arr > limits[1]))
        for value in np.unique(arr[outside]):
            flagged.setdefault(float(value), "impossible")
    suspects = []
    for value, reason in flagged.items():
        positions = np.flatnonzero((arr == value) & present).tolist()
        if np.isnan(value):  # pragma: no cover - NaN is never flagged
            continue
        suspects.append(Suspect(value=value, reason=reason, positions=positions))
    suspects.sort(key=lambda s: s.positions[0])
    return suspects


def _far_outside(value, rest, kind):
    """True when a common missing code lies far outside the other values of its field."""
    if value in SMALL_CODES:
        return kind != "any"  # -1 / -99 are codes only where negatives are impossible
    if not len(rest):
        return True  # nothing but codes: certainly no data
    if value < 0 and rest.min() >= 0:
        return True  # the only negatives of a never-negative field are large codes
    q1, q3 = np.percentile(rest, [25, 75])
    spread = max(q3 - q1, rest.max() - rest.min(), abs(np.median(rest)), 1e-12)
    return value < rest.min() - 10 * spread or value > rest.max() + 10 * spread


def describe_suspects(suspects, field, layer, labels=None):
    """The planner's message for :func:`suspicious_values`' findings (None when there are none).

    ``labels`` (e.g. area ids) name the features; without them the positions are shown.
    """
    if not suspects:
        return None
    parts = []
    for s in suspects[:3]:
        where = [labels[p] if labels is not None else p for p in s.positions[:5]]
        where = ", ".join(repr(_plain(w)) if isinstance(_plain(w), str) else str(_plain(w)) for w in where)
        if len(s.positions) > 5:
            where += ", …"
        reason = {"extreme": tr("an extreme value"), "code": tr("a typical code for 'no value'"),
                  "impossible": tr("impossible here")}[s.reason]
        parts.append(tr("{value} ({reason}) in {count} feature(s): {where}",
                        value=_format(s.value), reason=reason, count=len(s.positions), where=where))
    return tr("Field '{field}' in layer '{layer}' holds implausible values: {list}. Such a value "
              "would silently distort sums and standardised indicators. If it marks missing "
              "data, enter it under 'Missing value codes' (or set it to NULL); otherwise "
              "correct it.", field=field, layer=layer, list="; ".join(parts))


def format_value(value):
    """A number for messages: ``-1`` not ``-1.0``, ``±inf``, German decimal comma in German."""
    return _format(float(value))


def _format(value):
    """A number for messages: integers without decimals, infinities as ±inf."""
    if not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(float(value)) if abs(value) < 1e15 else f"{value:g}"
    return text.replace(".", ",") if get_language() == "de" else text


def check_plausible(values, field, layer, kind="any", labels=None):
    """Raise ``InputError`` (see :func:`describe_suspects`) when values look like codes or errors."""
    message = describe_suspects(suspicious_values(values, kind), field, layer, labels)
    if message:
        raise InputError(message)


# --- raster fill values ------------------------------------------------------------------------

# Values that rasters without a nodata flag use for "no data": the GDAL/ESRI favourites, the
# Int16 and UInt16 extremes and the float32/float64 extremes. All have |v| >= 9999, which
# lets a scan skip ordinary windows with two comparisons.
RASTER_FILL_VALUES = (-9999.0, -99999.0, -999999.0, -32768.0, -32767.0, 32767.0, 65535.0, 99999.0,
                      -3.4028234663852886e38, 3.4028234663852886e38, -3.4e38, 3.4e38,
                      -1.7976931348623157e308, 1.7976931348623157e308, -1e20, 1e20)
_FILL_MAGNITUDE = 9999.0


def fill_value_mask(data):
    """True where a raster value looks like a fill value (a known fill or beyond 1e15)."""
    data = np.asarray(data, dtype="float64")
    big = (data <= -_FILL_MAGNITUDE) | (data >= _FILL_MAGNITUDE)
    if not big.any():
        return big
    mask = np.zeros(data.shape, bool)
    values = data[big]
    mask[big] = np.isin(values, RASTER_FILL_VALUES) | ~np.isfinite(values) | (np.abs(values) >= EXTREME)
    return mask


def is_fill_outlier(value, rest):
    """True when a candidate fill ``value`` lies far outside the other raster values ``rest``."""
    if not np.isfinite(value) or abs(value) >= EXTREME:
        return True
    return _far_outside(value, np.asarray(rest, dtype="float64"), "any")


# --- reporting text conversions to the run's log ---------------------------------------------

_local = threading.local()


@contextmanager
def reporting(feedback):
    """Send conversion reports made inside this block to ``feedback.info`` (once per field).

    The Processing base class wraps every run in it, so ``core.validate.numeric_field``
    can say "converted 542 values" without every core function passing feedback along.
    """
    previous = getattr(_local, "sink", None)
    _local.sink = (feedback, set())
    try:
        yield
    finally:
        _local.sink = previous


def announce(report):
    """Pass a :class:`ValueReport`'s message to the active :func:`reporting` block, if any."""
    sink = getattr(_local, "sink", None)
    message = report.message() if report is not None else None
    if sink is None or not message:
        return
    feedback, seen = sink
    if message not in seen:
        seen.add(message)
        feedback.info(message)
