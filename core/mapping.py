"""Texts and class colours for council maps, free of QGIS so they can be tested anywhere.

The layout itself is built in ``processing/layout.py``; this module decides what it says:
title, subtitle (indicators and date), source and the search-strategy note, the legend
entries (class label plus number of areas) and the colours (colour-blind-safe diverging
ColorBrewer RdYlBu, warm colours for the classes with the most need).
"""
import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .i18n import format_number, normalise_language, tr

# ColorBrewer RdYlBu (Cynthia Brewer, colour-blind safe), from most need (red) to least (blue).
RDYLBU = {
    2: ["#fc8d59", "#91bfdb"],
    3: ["#fc8d59", "#ffffbf", "#91bfdb"],
    4: ["#d7191c", "#fdae61", "#abd9e9", "#2c7bb6"],
    5: ["#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6"],
    6: ["#d73027", "#fc8d59", "#fee090", "#e0f3f8", "#91bfdb", "#4575b4"],
    7: ["#d73027", "#fc8d59", "#fee090", "#ffffbf", "#e0f3f8", "#91bfdb", "#4575b4"],
    8: ["#d73027", "#f46d43", "#fdae61", "#fee090", "#e0f3f8", "#abd9e9", "#74add1", "#4575b4"],
    9: ["#d73027", "#f46d43", "#fdae61", "#fee090", "#ffffbf", "#e0f3f8", "#abd9e9", "#74add1",
        "#4575b4"],
}
NOT_RATED_COLOUR = "#d9d9d9"
# RdYlBu 11 split at its neutral centre: need side (dark red first) and no-need side.
WARM = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090"]
NEUTRAL = "#ffffbf"
COOL = ["#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695"]
NEUTRAL_WITHIN = 0.5  # a class whose mean index is within ±0.5 of 0 is the "average" class

# Known indicator field names → planner-readable names (translated through the catalogue).
INDICATOR_NAMES = {
    "unemployment_rate": "Unemployment rate",
    "transfer_rate": "Transfer benefit rate",
    "child_poverty": "Child poverty",
    "child_poverty_rate": "Child poverty",
    "single_parent_share": "Single-parent households",
    "migration_share": "Migration background",
    "social_housing_share": "Social housing",
}


@dataclass
class MapClass:
    """One legend entry: class value, text, colour and number of areas."""

    value: object
    label: str
    colour: str
    count: int


def palette(n):
    """``n`` hex colours from most need (warm) to least need (cool)."""
    if n <= 0:
        return []
    if n == 1:
        return ["#fdae61"]
    if n in RDYLBU:
        return list(RDYLBU[n])
    # more classes than ColorBrewer's 9: interpolate between its stops, so that no two legend
    # entries share a colour (picking the nearest stop repeated colours: 12 MSS SDI classes
    # showed '4+/-' and '4+' in the same orange)
    base = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in RDYLBU[9]], dtype=float)
    positions = np.linspace(0, len(base) - 1, n)
    rgb = np.column_stack([np.interp(positions, np.arange(len(base)), base[:, k]) for k in range(3)])
    return ["#%02x%02x%02x" % tuple(int(round(v)) for v in row) for row in rgb]


def _pick(colours, n):
    """``n`` colours spread evenly over ``colours`` (kept in their order)."""
    if n <= 0:
        return []
    if n == 1:
        return [colours[2]]
    positions = np.linspace(1, len(colours) - 2, n) if n <= 3 else np.linspace(0, len(colours) - 1, n)
    return [colours[int(round(p))] for p in positions]


def diverging_palette(means):
    """Colours for classes ordered by mean index (descending): warm above the average class,
    the neutral colour for the class around 0, cool below. Falls back to ``palette`` when no
    class is near 0."""
    means = [float(m) for m in means]
    finite = [abs(m) if np.isfinite(m) else np.inf for m in means]
    if not means or min(finite) > NEUTRAL_WITHIN:
        return palette(len(means))
    centre = int(np.argmin(finite))
    if centre > len(WARM) or len(means) - centre - 1 > len(COOL):
        return palette(len(means))  # more classes on one side than shades: keep colours distinct
    warm = _pick(WARM, centre)  # darkest first
    cool = _pick(COOL, len(means) - centre - 1)  # lightest first
    return warm + [NEUTRAL] + cool


def map_classes(frame, class_field, label_field=None, index_field="index",
                included_field="included", lang=None):
    """Legend entries for the classes found in ``frame``, most need first.

    The order comes from the mean of ``index_field`` per class when that field exists
    (higher index = more need, as in the composite index); otherwise from the class values
    (descending: the highest class number = most need, as in ``core.indices.classify``).
    Areas without a class, without an index value, or with ``included_field`` false (not
    rated, e.g. fewer than 300 residents) form a last grey entry.
    """
    classes = frame[class_field]
    rated = classes.notna().to_numpy().copy()
    if index_field and index_field in frame.columns:
        rated = rated & pd.to_numeric(frame[index_field], errors="coerce").notna().to_numpy()
    if included_field and included_field in frame.columns:
        rated = rated & frame[included_field].fillna(False).astype(bool).to_numpy()
    rated = pd.Series(rated, index=frame.index)
    classes = classes.where(rated)
    values = list(pd.unique(classes[rated]))
    if index_field and index_field in frame.columns:
        index = pd.to_numeric(frame[index_field], errors="coerce")
        means = {v: float(np.nanmean(index[classes == v].to_numpy(dtype="float64")))
                 if index[classes == v].notna().any() else -np.inf for v in values}
        values.sort(key=lambda v: (-means[v], str(v)))
        colours = diverging_palette([means[v] for v in values])
    else:
        try:
            values.sort(reverse=True)
        except TypeError:
            values.sort(key=str, reverse=True)
        colours = palette(len(values))
    result = []
    for value, colour in zip(values, colours):
        label = None
        if label_field and label_field in frame.columns:
            labels = frame.loc[classes == value, label_field].dropna()
            label = str(labels.iloc[0]) if len(labels) else None
        result.append(MapClass(value, label or str(value), colour, int((classes == value).sum())))
    n_missing = int((~rated).sum())
    if n_missing:
        result.append(MapClass(None, tr("not rated\n(too few residents or no data)", lang=lang),
                               NOT_RATED_COLOUR, n_missing))
    return result


def legend_text(entry, lang=None):
    """'hoch (12 areas)' in the reader's language; the count follows the label's first line."""
    first, newline, rest = str(entry.label).partition("\n")
    if entry.count == 1:
        text = tr("{label} (1 area)", lang=lang, label=first)
    else:
        text = tr("{label} ({count} areas)", lang=lang, label=first, count=entry.count)
    return text + newline + rest


def indicator_names(columns, prefix="z_"):
    """Indicator fields behind the ``z_<indicator>`` columns of an index layer, in order."""
    return [str(c)[len(prefix):] for c in columns if str(c).startswith(prefix) and len(str(c)) > len(prefix)]


def indicator_label(name, lang=None):
    """Planner-readable name of an indicator field (known names translated, else as is)."""
    if name in INDICATOR_NAMES:
        return tr(INDICATOR_NAMES[name], lang=lang)
    return str(name).replace("_", " ")


def format_date(date=None, lang=None):
    """'24.11.2026' in German, '24 November 2026' in English."""
    date = date or datetime.date.today()
    if normalise_language(lang) == "en":
        return f"{date.day} {date.strftime('%B')} {date.year}"
    return date.strftime("%d.%m.%Y")


def default_title(place=None, year=None, lang=None):
    """'Sozialindex Musterstadt 2022' / 'Social index Musterstadt 2022'."""
    parts = [tr("Social index", lang=lang)] + [str(p).strip() for p in (place, year) if p not in (None, "")]
    return " ".join(p for p in parts if p)


def default_subtitle(indicators, date=None, lang=None):
    """'Indikatoren: Arbeitslosenquote, Kinderarmut · Stand: 24.11.2026'."""
    names = ", ".join(indicator_label(i, lang=lang) for i in indicators)
    when = format_date(date, lang=lang)
    if not names:
        return tr("As of {date}", lang=lang, date=when)
    return tr("Indicators: {indicators} · as of {date}", lang=lang, indicators=names, date=when)


def sample_source_note(lang=None):
    """Source note for maps of the synthetic sample municipality."""
    return tr("Data: synthetic example data (Musterstadt), generated with Kommunalmonitor; "
              "not real figures.", lang=lang)


def default_source_note(layer_name, lang=None):
    """Source note naming the input layer when the user gave none."""
    return tr("Data: {layer}. Map: Kommunalmonitor.", lang=lang, layer=layer_name)


def search_strategy_note(lang=None):
    """The note every index map carries: the index flags areas for a closer look, no more."""
    return tr("The index is a search strategy, not a verdict: flagged areas are checked on site.",
              lang=lang)


def reading_help(n_indicators, lang=None, class_field="index_class"):
    """Two sentences that tell a council member how to read the map ('' where none fits)."""
    if class_field == "priority":
        return tr("How to read the map: colours show planning priorities from 1 (highest) to 4, derived "
                  "from {n} indicators; the reasons for each area are in the decision table. Grey areas "
                  "have no priority.", lang=lang, n=n_indicators)
    if class_field in ("cluster", "gi_bin", "lisa_code", "burden_count", "dynamics_class", "sdi"):
        return ""  # not index classes; the framed note beside the map says how to read them
    return tr("How to read the map: the index combines {n} indicators as standardised values "
              "(z-scores); 0 is the city average, higher values mean more need. Colours show "
              "classes of the index; grey areas are not rated.", lang=lang, n=n_indicators)


def class_summary(entries, lang=None):
    """One line for logs: 'hoch: 12, mittel: 60, ...'."""
    return ", ".join(f"{e.label}: {format_number(e.count, 0, lang=lang)}" for e in entries)
