"""Read statistics tables as statistical offices publish them (CSV, TXT, XLSX).

What real files do, and what this module does about it:

* encoding: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), Windows
  cp1252 (umlauts from older exports) — sniffed from the bytes;
* delimiter: ``;`` (German Excel), ``,``, tab or ``|`` — the one giving the most rows of one
  width wins (a German decimal comma does not fool it, its count varies from row to row);
* title and note rows above the table and footnotes below it are found and dropped;
* ``–``, ``-``, ``.``, ``x``, ``/``, ``…`` mean "suppressed / not available", an empty cell
  means "missing": both become NaN and are *counted*, never read as zero;
* keys (area ids) stay text, leading zeros included (``01100101``); a column of digit
  strings with a leading zero is never turned into numbers;
* numbers in German (``1.234,5``) or English (``1,234.5``) notation, decided per column by
  ``core.values`` (one notation parser for the whole engine).

The result is a plain ``pandas.DataFrame`` (numeric columns float64, text columns object)
plus a report of what was found, for the planner's log.
"""
import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr

#: Cell contents meaning "value exists but is suppressed / not available" (German official
#: statistics use – . x / … ; many exports write a plain hyphen).
SUPPRESSED_MARKERS = ("–", "—", "-", ".", "x", "X", "/", "…", "...", "*")
DELIMITERS = (";", "\t", ",", "|")
_DIGITS = re.compile(r"^\d+$")


@dataclass
class ReadOptions:
    """How to read a table; every ``None`` is sniffed from the file."""

    encoding: str = None
    delimiter: str = None
    sheet: str = None
    header_row: int = None  # 1-based row number of the column names in the file
    text_columns: tuple = ()  # always kept as text (keys), whatever they look like
    notation: str = "auto"  # "auto", "german" or "english" (see core.values)
    missing_codes: tuple = ()  # numbers meaning 'no value' (e.g. -9999), read as empty


@dataclass
class ColumnReport:
    """What was found in one column."""

    kind: str  # "number" or "text"
    notation: str = None  # "de", "en" or None (integers only / text)
    suppressed: dict = field(default_factory=dict)  # marker -> count
    missing: int = 0  # empty cells
    kept_as_text_reason: str = None  # e.g. "leading zeros"
    coded: dict = field(default_factory=dict)  # declared missing code -> count (read as empty)
    warning: str = None  # implausible values found (e.g. an undeclared -9999), for the log


@dataclass
class TableRead:
    """A table read from a file, with how it was read and what was found."""

    frame: pd.DataFrame
    source: str
    encoding: str = None
    delimiter: str = None
    sheet: str = None
    header_row: int = 1
    dropped_rows_above: int = 0
    dropped_rows_below: int = 0
    columns: dict = field(default_factory=dict)  # column -> ColumnReport
    markers: dict = field(default_factory=dict)  # number column -> list of marker text/None per row

    @property
    def suppressed_total(self):
        """Number of suppressed cells over all columns."""
        return sum(sum(c.suppressed.values()) for c in self.columns.values())

    @property
    def missing_total(self):
        """Number of empty cells over all columns."""
        return sum(c.missing for c in self.columns.values())

    def summary_lines(self):
        """Planner-readable lines describing how the file was read (current language)."""
        name = os.path.basename(self.source)
        lines = []
        if self.sheet is not None:
            lines.append(tr("Read '{file}', sheet '{sheet}': {rows} row(s), {columns} column(s); column "
                            "names in row {header}.", file=name, sheet=self.sheet, rows=len(self.frame),
                            columns=len(self.frame.columns), header=self.header_row))
        else:
            delimiter = {"\t": tr("tab")}.get(self.delimiter, f"'{self.delimiter}'")
            lines.append(tr("Read '{file}' ({encoding}, delimiter {delimiter}): {rows} row(s), {columns} "
                            "column(s); column names in row {header}.", file=name,
                            encoding=self.encoding, delimiter=delimiter, rows=len(self.frame),
                            columns=len(self.frame.columns), header=self.header_row))
        if self.dropped_rows_above:
            lines.append(tr("{n} title or note row(s) above the table skipped.", n=self.dropped_rows_above))
        if self.dropped_rows_below:
            lines.append(tr("{n} footnote row(s) below the table skipped.", n=self.dropped_rows_below))
        for column, report in self.columns.items():
            if report.kept_as_text_reason:
                lines.append(tr("Column '{column}' kept as text ({reason}).", column=column,
                                reason=report.kept_as_text_reason))
            if report.notation == "de":
                lines.append(tr("Column '{column}': German number notation (1.234,5).", column=column))
            if report.suppressed:
                markers = ", ".join(f"'{m}' × {n}" for m, n in report.suppressed.items())
                lines.append(tr("Column '{column}': {n} suppressed or unavailable value(s) ({markers}) "
                                "left empty, not read as zero.", column=column,
                                n=sum(report.suppressed.values()), markers=markers))
            if report.missing and report.kind == "number":
                lines.append(tr("Column '{column}': {n} empty cell(s) left empty.", column=column,
                                n=report.missing))
            if report.coded:
                codes = ", ".join(f"{code:g} × {n}" for code, n in report.coded.items())
                lines.append(tr("Column '{column}': missing-value code(s) {codes} left empty.",
                                column=column, codes=codes))
        return lines

    def warnings(self):
        """Implausible values (undeclared codes such as -9999, extremes), one line per column."""
        return [report.warning for report in self.columns.values() if report.warning]


def read_table(path, options=None):
    """Read a CSV/TXT/XLSX statistics table.

    Parameters
    ----------
    path : str
        The file.
    options : ReadOptions, optional
        Encoding, delimiter, sheet, header row and text columns; sniffed where ``None``.

    Returns
    -------
    TableRead
        ``frame`` with numeric columns as float64 (suppressed/empty → NaN) and text columns
        as object, plus how it was read and what was found.
    """
    options = options or ReadOptions()
    if not os.path.isfile(path):
        raise InputError(tr("The table file '{path}' does not exist. Choose the CSV or Excel file "
                            "from the statistical office.", path=path))
    extension = os.path.splitext(path)[1].lower()
    if extension in (".xlsx", ".xlsm"):
        rows, sheet = _xlsx_rows(path, options.sheet)
        result = TableRead(frame=None, source=path, sheet=sheet)
    elif extension == ".xls":
        raise InputError(tr("'{path}' is an old Excel file (.xls). Save it as .xlsx or CSV and "
                            "choose that file.", path=os.path.basename(path)))
    else:
        text, encoding = decode_bytes(_read_bytes(path), options.encoding)
        delimiter = options.delimiter or sniff_delimiter(text)
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        result = TableRead(frame=None, source=path, encoding=encoding, delimiter=delimiter)
    return _build_frame(rows, options, result)


def _read_bytes(path):
    """The file's bytes (a helper so tests and callers share one open)."""
    with open(path, "rb") as handle:
        return handle.read()


def decode_bytes(data, encoding=None):
    """Decode a file's bytes: a BOM decides; else UTF-8 if valid, else cp1252 (Windows exports).

    Returns ``(text, encoding name)``.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as error:
            raise InputError(tr("The table cannot be read as {encoding}: {error}. Leave the encoding "
                                "empty to detect it.", encoding=encoding, error=error)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, ...): Latin-1 maps all
        return data.decode("latin-1"), "ISO-8859-1"


def sniff_delimiter(text):
    """The delimiter that gives most rows of one width (>1 column); ';' wins ties.

    Title rows above the table and a decimal comma inside ';'-separated rows do not decide:
    only how many rows share the most common width counts.
    """
    lines = [line for line in text.splitlines() if line.strip()][:500]
    best, best_score = None, 0
    for delimiter in DELIMITERS:
        widths = [len(_strip_trailing(row)) for row in csv.reader(lines, delimiter=delimiter)]
        widths = [w for w in widths if w > 1]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if count > best_score:
            best, best_score = delimiter, count
    if best is None:
        raise InputError(tr("No column delimiter found in the table: it has only one column. A "
                            "statistics table needs at least a key column and a value column "
                            "separated by ';', ',' or a tab."))
    return best


def _xlsx_rows(path, sheet=None):
    """All rows of a worksheet as lists of cell values, and the sheet's name.

    Without a sheet name the first sheet that looks like a table (most rows of >1 cell) is
    taken: offices often put a title/contents sheet first.
    """
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - both stacks have it (Makefile installs it)
        raise InputError(tr("Reading Excel files needs the Python package openpyxl.")) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - corrupt/encrypted workbooks: name the file
        raise InputError(tr("The Excel file '{path}' cannot be opened: {error}",
                            path=os.path.basename(path), error=error)) from None
    try:
        if sheet:
            if sheet not in book.sheetnames:
                raise InputError(tr("The Excel file '{path}' has no sheet '{sheet}'. Sheets: {sheets}.",
                                    path=os.path.basename(path), sheet=sheet,
                                    sheets=", ".join(book.sheetnames)))
            chosen = sheet
            rows = [list(r) for r in book[sheet].iter_rows(values_only=True)]
        else:
            chosen, rows, best = None, [], -1
            for name in book.sheetnames:
                candidate = [list(r) for r in book[name].iter_rows(values_only=True)]
                score = sum(1 for r in candidate if len(_strip_trailing(r)) > 1)
                if score > best:
                    chosen, rows, best = name, candidate, score
    finally:
        book.close()
    return rows, chosen


def _is_empty(value):
    """True for None and blank strings."""
    return value is None or (isinstance(value, str) and not value.strip())


def _strip_trailing(row):
    """The row without its trailing empty cells."""
    row = list(row)
    while row and _is_empty(row[-1]):
        row.pop()
    return row


def find_header(rows):
    """0-based index of the column-name row: the first row as wide as the table body whose
    next row is too (title and note rows above the table are narrower)."""
    lengths = [len(_strip_trailing(r)) for r in rows]
    body = [n for n in lengths if n > 1]
    if not body:
        raise InputError(tr("The table has no row with more than one column; check the delimiter "
                            "and the sheet."))
    width = Counter(body).most_common(1)[0][0]
    threshold = max(2, int(np.ceil(0.5 * width)))
    for i, n in enumerate(lengths):
        if n >= threshold and (i + 1 >= len(lengths) or lengths[i + 1] >= threshold):
            return i
    return lengths.index(max(lengths))


def _column_names(cells, width):
    """Clean, unique column names (empty ones numbered, line breaks removed)."""
    names, seen = [], Counter()
    for i in range(width):
        value = cells[i] if i < len(cells) else None
        name = " ".join(str(value).split()) if not _is_empty(value) else f"column_{i + 1}"
        if isinstance(value, float) and value.is_integer():
            name = str(int(value))  # a year typed as a number in Excel
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _build_frame(rows, options, result):
    """Header, body, footnotes and column types from raw rows."""
    if options.header_row:
        header = int(options.header_row) - 1
        if header < 0 or header >= len(rows):
            raise InputError(tr("Header row {row} is outside the table ({n} rows).",
                                row=options.header_row, n=len(rows)))
    else:
        header = find_header(rows)
    header_cells = _strip_trailing(rows[header])
    width = len(header_cells)
    body = [list(r) for r in rows[header + 1:]]
    threshold = max(2, int(np.ceil(0.5 * width)))
    end = len(body)
    while end > 0 and len(_strip_trailing(body[end - 1])) < threshold:
        end -= 1
    dropped_below = sum(1 for r in body[end:] if _strip_trailing(r))
    body = [r for r in body[:end] if _strip_trailing(r)]
    if not body:
        raise InputError(tr("The table '{file}' has column names but no data rows.",
                            file=os.path.basename(result.source)))
    names = _column_names(header_cells, width)
    text_columns = set(options.text_columns or ())
    unknown = text_columns - set(names)
    if unknown:
        raise InputError(tr("The table has no column {columns}. Columns: {available}.",
                            columns=", ".join(sorted(unknown)), available=", ".join(names)))
    data, reports, markers = {}, {}, {}
    # a column of only '7.757'-like values follows the notation of the file's other columns
    notations = (_file_notation(names, body, text_columns, os.path.basename(result.source))
                 if options.notation == "auto" else {})
    for i, name in enumerate(names):
        cells = [r[i] if i < len(r) else None for r in body]
        data[name], reports[name] = _typed_column(cells, name in text_columns, name,
                                                  os.path.basename(result.source),
                                                  notations.get(name, options.notation))
        coded = None
        if reports[name].kind == "number":
            data[name], coded = _declared_codes(data[name], reports[name], options.missing_codes)
            reports[name].warning = _implausible(data[name], name, os.path.basename(result.source))
        if reports[name].kind == "number" and (reports[name].suppressed or reports[name].missing
                                               or reports[name].coded):
            markers[name] = [_marker(c) for c in cells]
            for position in np.flatnonzero(coded):
                markers[name][position] = "code"
    result.frame = pd.DataFrame(data, columns=names)
    result.columns = reports
    result.markers = markers
    result.header_row = header + 1
    result.dropped_rows_above = sum(1 for r in rows[:header] if _strip_trailing(r))
    result.dropped_rows_below = dropped_below
    return result


def _as_text(value):
    """A cell as stripped text (Excel integers without '.0'), None for empty cells."""
    if _is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _marker(cell):
    """'' for an empty cell, the marker for a suppressed one, None for a value."""
    if _is_empty(cell):
        return ""
    text = _as_text(cell)
    return text if text in SUPPRESSED_MARKERS else None


def value_status(marker):
    """'missing' (empty cell or declared missing code), 'suppressed' (a marker such as '–') or
    None (a value)."""
    if marker is None:
        return None
    return "missing" if marker in ("", "code") else "suppressed"


def _declared_codes(values, report, codes):
    """The column with declared missing codes (e.g. -9999) as NaN, and where they were; counts
    them in the report."""
    array = values.to_numpy(dtype="float64").copy()
    mask = np.zeros(len(array), dtype=bool)
    for code in codes or ():
        hit = array == float(code)
        if hit.any():
            report.coded[float(code)] = int(hit.sum())
            mask |= hit
    array[mask] = np.nan
    return pd.Series(array, dtype="float64"), mask


def _implausible(values, column, source):
    """The planner's warning for undeclared codes or extreme values in a column, or None."""
    from ..values import describe_suspects, suspicious_values

    return describe_suspects(suspicious_values(values.to_numpy(dtype="float64")), column, source)


def _file_notation(names, body, text_columns, source):
    """``{column: "german"/"english"}`` for columns whose own values cannot decide the notation
    (only ``4.444``-like values) when every decided column of the file uses one notation."""
    decided, ambiguous = set(), []
    for i, name in enumerate(names):
        if name in text_columns:
            continue
        cells = [r[i] if i < len(r) else None for r in body]
        try:
            report = _typed_column(cells, False, name, source, "auto")[1]
        except InputError:
            ambiguous.append(name)
            continue
        if report.kind == "number" and report.notation:
            decided.add(report.notation)
    if len(decided) != 1 or not ambiguous:
        return {}
    notation = {"de": "german", "en": "english"}[decided.pop()]
    return {name: notation for name in ambiguous}


def _typed_column(cells, force_text=False, column=None, source=None, notation="auto"):
    """(values, ColumnReport): numbers where every filled cell is a number, else text."""
    texts = [_as_text(c) for c in cells]
    suppressed = Counter(t for t in texts if t in SUPPRESSED_MARKERS)
    missing = sum(1 for t in texts if t is None)
    filled = [t for t in texts if t is not None and t not in SUPPRESSED_MARKERS]
    if force_text:
        return (pd.Series(texts, dtype=object),
                ColumnReport("text", kept_as_text_reason=tr("key column")))
    if filled and all(_DIGITS.match(t) for t in filled) and any(len(t) > 1 and t[0] == "0" for t in filled):
        return (pd.Series(texts, dtype=object),
                ColumnReport("text", kept_as_text_reason=tr("leading zeros")))
    numbers, notation = _numbers(cells, filled, column, source, notation)
    if numbers is None:
        return pd.Series(texts, dtype=object), ColumnReport("text")
    return numbers, ColumnReport("number", notation=notation, suppressed=dict(suppressed),
                                 missing=missing)


def _numbers(cells, filled, column=None, source=None, notation_option="auto"):
    """The column as float64 (NaN for suppressed/empty) and its notation, or (None, None).

    Cells Excel already stored as numbers are taken as they are; text cells go through the
    engine's one notation parser (``core.values``).
    """
    if not filled:
        return None, None
    out = np.full(len(cells), np.nan)
    text_positions, text_values = [], []
    for i, cell in enumerate(cells):
        if isinstance(cell, bool):
            return None, None
        if isinstance(cell, (int, float, np.integer, np.floating)):
            out[i] = float(cell)
        else:
            text = _as_text(cell)
            if text is not None and text not in SUPPRESSED_MARKERS:
                text_positions.append(i)
                text_values.append(text)
    notation = None
    if text_values:
        parsed, notation = parse_number_texts(text_values, column, source, notation_option)
        if parsed is None:
            return None, None
        out[text_positions] = parsed
    return pd.Series(out, dtype="float64"), notation


_NUMBER_SHAPE = re.compile(r"^[+-]?[\d.,\s'’]*\d[\d.,\s'’]*$")


def parse_number_texts(texts, column=None, source=None, notation="auto"):
    """Parse the number texts of one column: ``(float array, "de"/"en"/None)``, or
    ``(None, None)`` when the column holds text (names, codes).

    The notation (German ``1.234,5`` / English ``1,234.5``, ``4.444`` as thousands) is
    decided by the engine's one notation parser, ``core.values.parse_numbers``, for the
    whole column. A column of number-shaped texts it cannot read unambiguously (``4.444``
    alone, mixed notations) is an error naming the column, never silently text.
    """
    if not all(_NUMBER_SHAPE.match(t) for t in texts):
        return None, None
    try:
        from ..values import parse_numbers
    except ImportError:  # pragma: no cover - only while core.values is not in the tree
        if not all(re.match(r"^[+-]?\d+(\.\d+)?$", t) for t in texts):
            return None, None
        return np.array([float(t) for t in texts]), None
    try:
        numbers, report = parse_numbers(texts, field=column, layer=source, notation=notation)
    except InputError:
        if notation != "auto" or not _readable_both_ways(texts, column, source, parse_numbers):
            raise
        # the engine's advice (convert with the field calculator) fits a layer, not a table read
        # here: '3.503' residents in a column without a deciding value needs the notation choice
        example = next(t for t in texts if "." in t or "," in t)
        raise InputError(tr("Column '{column}' of table '{table}' holds numbers such as '{example}', which "
                            "can mean thousands (German notation) or decimals (English notation), and no "
                            "value of the column decides it. Choose the number notation (advanced "
                            "parameter 'Number notation': German for 1.234,5, English for 1,234.5).",
                            column=column, table=source, example=example)) from None
    return np.asarray(numbers, dtype="float64"), {"german": "de", "english": "en"}.get(report.notation)


def _readable_both_ways(texts, column, source, parse_numbers):
    """True when the texts read in German and in English notation alike (only the choice is open)."""
    try:
        parse_numbers(texts, field=column, layer=source, notation="german")
        parse_numbers(texts, field=column, layer=source, notation="english")
    except InputError:
        return False
    return True
