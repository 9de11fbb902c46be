"""Decision table for the administration: CSV (Excel-friendly) and XLSX with German headers.

CSV is written the way German Excel opens it directly: semicolon separator, decimal comma,
UTF-8 with byte-order mark. XLSX (openpyxl, on both stacks) has a sheet with the areas, a
summary sheet per priority level (areas, residents, children) and a note on the method.
"""
import os

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import tr

# internal column → (German header, English header)
COLUMNS = {
    "area_id": ("Planungsraum", "Planning area"),
    "area_name": ("Name", "Name"),
    "priority": ("Priorität", "Priority"),
    "priority_label": ("Priorität (Text)", "Priority (text)"),
    "reasons": ("Gründe", "Reasons"),
    "robustness_pct": ("Robustheit (%)", "Robustness (%)"),
    "residents": ("Einwohner", "Residents"),
    "children": ("Kinder", "Children"),
    "index": ("Index", "Index"),
    "index_class": ("Indexklasse", "Index class"),
    "cluster": ("Cluster", "Cluster"),
    "hotspot": ("Hot-Spot", "Hot spot"),
}


def decision_table(frame, ranking, id_field=None, name_field=None, lang="de", extra_fields=None):
    """The decision table as a DataFrame, sorted by priority (1 first), headers in ``lang``.

    Parameters
    ----------
    frame : DataFrame
        The areas (ids, names, index …).
    ranking : DataFrame
        Output of ``ranking.rank_priorities`` (same index).
    extra_fields : dict, optional
        ``{internal key: field in frame}`` for index, index_class, cluster, hotspot.
    """
    if len(frame) != len(ranking):
        raise InputError(tr("The ranking ({m} rows) does not match the layer ({n} areas).",
                            m=len(ranking), n=len(frame)))
    col = 0 if lang == "de" else 1
    data = {}
    data["area_id"] = frame[id_field].to_numpy() if id_field else np.asarray(frame.index)
    if name_field:
        data["area_name"] = frame[name_field].to_numpy()
    data["priority"] = ranking["priority"].to_numpy()
    data["priority_label"] = [
        _label(v, lang) for v in ranking["priority"].to_numpy()]
    data["reasons"] = ranking[f"reasons_{'de' if lang == 'de' else 'en'}"].to_numpy()
    data["robustness_pct"] = np.round(100.0 * ranking["robustness"].to_numpy(dtype=float), 0)
    for key in ("residents", "children"):
        if key in ranking:
            data[key] = ranking[key].to_numpy()
    for key, field in (extra_fields or {}).items():
        if field and field in frame.columns:
            data[key] = frame[field].to_numpy()
    table = pd.DataFrame(data)
    for key in table.columns:
        table[key] = _whole_numbers(table[key])
    sort_key = table["priority"].replace(0, 9)
    table = table.assign(_k=sort_key).sort_values(["_k"], kind="mergesort").drop(columns="_k")
    return table.rename(columns={k: v[col] for k, v in COLUMNS.items()}).reset_index(drop=True)


def _whole_numbers(column):
    """A float column holding only whole numbers (residents, classes) as integers with NULLs:
    the council table read 'Einwohner 10564,0' and 'Indexklasse 4,0'."""
    if column.dtype.kind != "f":
        return column
    values = column.to_numpy(dtype="float64")
    known = values[np.isfinite(values)]
    if not len(known) or not np.all(known == np.round(known)) or np.abs(known).max() >= 2 ** 53:
        return column
    return pd.array([int(v) if np.isfinite(v) else None for v in values], dtype="Int64")


def _label(level, lang):
    from .ranking import level_label

    return level_label(level, lang)


def summary_table(ranking, lang="de"):
    """Areas, residents and children per priority level."""
    rows = []
    for level in (1, 2, 3, 4, 0):
        sel = ranking["priority"].to_numpy() == level
        row = {COLUMNS["priority"][0 if lang == "de" else 1]: _label(level, lang),
               ("Gebiete" if lang == "de" else "Areas"): int(sel.sum())}
        for key in ("residents", "children"):
            if key in ranking:
                row[COLUMNS[key][0 if lang == "de" else 1]] = float(np.nansum(ranking[key].to_numpy()[sel]))
        rows.append(row)
    return pd.DataFrame(rows)


def write_decision_table(table, path, summary=None, note=None):
    """Write CSV (';', decimal comma, UTF-8 BOM) or XLSX (by extension); return the path."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        table.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")
    elif ext == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            table.to_excel(writer, sheet_name="Prioritaeten", index=False)
            if summary is not None:
                summary.to_excel(writer, sheet_name="Uebersicht", index=False)
            if note:
                pd.DataFrame({"Hinweis": [note]}).to_excel(writer, sheet_name="Hinweis", index=False)
            for sheet in writer.sheets.values():
                for column in sheet.columns:
                    width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
                    sheet.column_dimensions[column[0].column_letter].width = min(max(10, width + 2), 80)
    else:
        raise InputError(tr("The decision table can be written as .csv or .xlsx, not '{ext}'.", ext=ext or path))
    return path
