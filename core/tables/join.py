"""Join a statistics table to planning areas by key, and say exactly what matched.

A join that silently fails is the classic error of municipal statistics: the key became a
number in a spreadsheet (``01100101`` → ``1100101``), a table lists areas the map does not
have, or an area appears twice. Here keys are compared as text; when both sides are digit
keys that differ only in leading zeros, they are matched ignoring them — and that is
reported. Matched, unmatched (both sides, with examples) and duplicate keys are counted.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr

EXAMPLES = 5


@dataclass
class JoinResult:
    """The areas with the table's columns, and what matched."""

    frame: pd.DataFrame
    matched: int = 0
    areas_total: int = 0
    table_total: int = 0
    unmatched_areas: list = field(default_factory=list)
    unmatched_table: list = field(default_factory=list)
    duplicate_area_keys: list = field(default_factory=list)
    duplicate_table_rows: int = 0
    leading_zeros_ignored: bool = False
    renamed_columns: dict = field(default_factory=dict)
    layer: str = ""
    area_key: str = ""

    def summary_lines(self):
        """Planner-readable lines (current language)."""
        lines = [tr("{matched} of {areas} planning area(s) matched a table row; {table} table row(s).",
                    matched=self.matched, areas=self.areas_total, table=self.table_total)]
        if self.unmatched_areas:
            lines.append(tr("{n} planning area(s) have no row in the table (their values stay empty), "
                            "e.g. {examples}.", n=len(self.unmatched_areas),
                            examples=", ".join(self.unmatched_areas[:EXAMPLES])))
        if self.unmatched_table:
            lines.append(tr("{n} table row(s) match no planning area, e.g. {examples}. Check that the "
                            "table and the layer use the same area scheme and key.",
                            n=len(self.unmatched_table), examples=", ".join(self.unmatched_table[:EXAMPLES])))
        if self.duplicate_area_keys:
            # a key twice is mostly a typo in the map (Berlin's old PLR layer has '06010102' twice,
            # once where 04030417 belongs): the row is copied, and sums count it twice
            lines.append(tr("{n} key(s) occur more than once in field '{field}' of layer '{layer}', e.g. "
                            "{examples}; each of those areas received the same table row, so sums over the "
                            "areas count that row more than once. Give every area its own key (a table row "
                            "without an area may hold the right one), or choose a field that names every "
                            "area once.", n=len(self.duplicate_area_keys), field=self.area_key,
                            layer=self.layer, examples=", ".join(self.duplicate_area_keys[:EXAMPLES])))
        if self.duplicate_table_rows:
            lines.append(tr("{n} repeated identical table row(s) ignored.", n=self.duplicate_table_rows))
        if self.leading_zeros_ignored:
            lines.append(tr("The keys differ in leading zeros between layer and table (e.g. a spreadsheet "
                            "turned '01100101' into 1100101); they were matched ignoring leading zeros."))
        for old, new in self.renamed_columns.items():
            lines.append(tr("Table column '{old}' is written as '{new}' (the layer already has '{old}').",
                            old=old, new=new))
        return lines


def key_texts(values):
    """Keys as text: numbers without '.0', strings stripped, empty → None."""
    out = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append(None)
        elif isinstance(value, (float, np.floating)) and float(value).is_integer():
            out.append(str(int(value)))
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            out.append(str(int(value)))
        else:
            text = str(value).strip()
            out.append(text or None)
    return out


def _without_zeros(keys):
    """Digit keys without leading zeros (other keys unchanged)."""
    return [k.lstrip("0") or "0" if k is not None and k.isdigit() else k for k in keys]


def join_table(areas, area_key, table, table_key):
    """Left-join ``table`` onto ``areas`` by key (every area kept, in its order).

    Parameters
    ----------
    areas : pandas.DataFrame or geopandas.GeoDataFrame
        The planning areas (not modified).
    area_key : str
        Key field of the areas.
    table : pandas.DataFrame
        One row per key (see ``reshape.long_to_wide`` for series).
    table_key : str
        Key column of the table; it is not repeated in the output.

    Returns
    -------
    JoinResult
    """
    attrs = getattr(areas, "attrs", {}) or {}
    # QGIS layers carry their name as 'layer_name' (processing.bridge); 'name' is the older spelling
    name = attrs.get("layer_name") or attrs.get("name") or tr("planning areas")
    if area_key not in areas.columns:
        raise InputError(tr("The layer '{layer}' has no field '{field}'. Choose its area key field.",
                            layer=name, field=area_key))
    if table_key not in table.columns:
        raise InputError(tr("The table has no key column '{key}'. Columns: {columns}.", key=table_key,
                            columns=", ".join(map(str, table.columns))))
    before = len(table)
    table = table.drop_duplicates()
    duplicate_rows = before - len(table)
    area_keys = key_texts(areas[area_key].tolist())
    table_keys = key_texts(table[table_key].tolist())
    counts = pd.Series(table_keys, dtype=object).value_counts()
    repeated = sorted(str(k) for k in counts[counts > 1].index)
    if repeated:
        raise InputError(tr("The table has several different rows for the same key, e.g. {examples}. "
                            "One planning area can take only one row: remove or sum the duplicates "
                            "first.", examples=", ".join(repeated[:EXAMPLES])))
    exact = set(area_keys) & set(table_keys) - {None}
    loose_areas, loose_table = _without_zeros(area_keys), _without_zeros(table_keys)
    loose = set(loose_areas) & set(loose_table) - {None}
    ignore_zeros = len(loose) > len(exact)
    left_keys, right_keys = (loose_areas, loose_table) if ignore_zeros else (area_keys, table_keys)

    values = table.drop(columns=[table_key])
    renamed = {}
    taken = set(map(str, areas.columns))
    columns = []
    for column in values.columns:
        new = str(column)
        n = 2
        while new in taken:
            new = f"{column}_{n}"
            n += 1
        if new != str(column):
            renamed[str(column)] = new
        taken.add(new)
        columns.append(new)
    values = values.set_axis(columns, axis=1)
    values.index = pd.Index(right_keys, dtype=object)
    joined = values.reindex(pd.Index(left_keys, dtype=object))
    joined.index = areas.index
    frame = areas.copy()
    for column in joined.columns:
        frame[column] = joined[column].to_numpy()
    if hasattr(areas, "geometry") and hasattr(frame, "set_geometry"):
        frame = frame[[c for c in frame.columns if c != areas.geometry.name] + [areas.geometry.name]]
    area_set = set(left_keys) - {None}
    table_set = set(right_keys) - {None}
    matched = sum(1 for k in left_keys if k in table_set)
    area_counts = pd.Series([k for k in area_keys if k is not None], dtype=object).value_counts()
    return JoinResult(
        frame=frame, matched=matched, areas_total=len(areas), table_total=len(table),
        unmatched_areas=sorted({a for a, k in zip(area_keys, left_keys) if a is not None and k not in table_set}),
        unmatched_table=sorted({t for t, k in zip(table_keys, right_keys) if t is not None and k not in area_set}),
        duplicate_area_keys=sorted(str(k) for k in area_counts[area_counts > 1].index),
        duplicate_table_rows=duplicate_rows, leading_zeros_ignored=ignore_zeros, renamed_columns=renamed,
        layer=name, area_key=area_key)
