"""Council-map texts and classes (QGIS-free part), hand-checked."""
import datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from kommunalmonitor.core import mapping
from kommunalmonitor.core.i18n import language


def _frame():
    index = [2.0, 1.7, 1.2, 0.1, -0.2, 0.3, -1.4, np.nan, 0.0]
    classes = [4, 4, 3, 2, 2, 2, 1, None, 2]
    labels = {4: "very high need", 3: "elevated need", 2: "average", 1: "low need"}
    return pd.DataFrame({
        "index": index,
        "index_class": pd.array(classes, dtype="Int64"),
        "index_label": [labels.get(c) if c is not None else None for c in classes],
        "included": [True] * 8 + [False],
        "z_unemployment_rate": index, "z_child_poverty": index, "z_green_m2": index,
    })


def test_classes_ordered_by_need_with_counts_and_not_rated():
    entries = mapping.map_classes(_frame(), "index_class", "index_label", lang="en")
    assert [e.value for e in entries] == [4, 3, 2, 1, None]
    assert [e.label for e in entries][:4] == ["very high need", "elevated need", "average", "low need"]
    # the area with class 2 but included = False and the one without index are not rated
    assert [e.count for e in entries] == [2, 1, 3, 1, 2]
    assert entries[-1].colour == mapping.NOT_RATED_COLOUR
    # warm for need, the neutral centre for the average class, cool for low need
    assert [e.colour for e in entries[:4]] == [mapping.WARM[1], mapping.WARM[3], mapping.NEUTRAL,
                                               mapping.COOL[2]]
    assert mapping.legend_text(entries[0], lang="de") == "very high need (2 Gebiete)"
    assert mapping.legend_text(entries[1], lang="en") == "elevated need (1 area)"
    assert mapping.legend_text(entries[-1], lang="en") == (
        "not rated (2 areas)\n(too few residents or no data)")


def test_without_index_field_the_highest_class_is_most_need():
    frame = pd.DataFrame({"cls": [1, 2, 3, 3]})
    entries = mapping.map_classes(frame, "cls", lang="en")
    assert [e.value for e in entries] == [3, 2, 1]
    assert [e.colour for e in entries] == mapping.RDYLBU[3]
    assert [e.label for e in entries] == ["3", "2", "1"]


def test_palettes_are_warm_first_and_sized():
    for n in range(1, 12):
        colours = mapping.palette(n)
        assert len(colours) == n
    assert mapping.palette(5)[0] == "#d7191c" and mapping.palette(5)[-1] == "#2c7bb6"
    assert mapping.diverging_palette([3.0, 2.0]) == mapping.palette(2)  # no class near 0
    assert mapping.diverging_palette([0.1, -1.2, -2.0]) == [mapping.NEUTRAL, mapping.COOL[1], mapping.COOL[3]]


def test_texts_in_both_languages():
    day = datetime.date(2024, 3, 5)
    assert mapping.default_title("Musterstadt", 2022, lang="de") == "Sozialindex Musterstadt 2022"
    assert mapping.default_title("Musterstadt", "2022", lang="en") == "Social index Musterstadt 2022"
    assert mapping.default_title(None, "", lang="de") == "Sozialindex"
    names = mapping.indicator_names(_frame().columns)
    assert names == ["unemployment_rate", "child_poverty", "green_m2"]
    assert mapping.default_subtitle(names, day, lang="de") == (
        "Indikatoren: Arbeitslosenquote, Kinderarmut, green m2 · Stand: 05.03.2024")
    assert mapping.default_subtitle(names[:1], day, lang="en") == (
        "Indicators: Unemployment rate · as of 5 March 2024")
    assert mapping.search_strategy_note(lang="de") == (
        "Der Index ist eine Suchstrategie, kein Urteil: markierte Gebiete werden vor Ort geprüft.")
    assert "search strategy, not a verdict" in mapping.search_strategy_note(lang="en")
    assert mapping.sample_source_note(lang="de").startswith("Daten: Synthetische Beispieldaten")
    with language("de"):
        assert "3 Indikatoren" in mapping.reading_help(3)


def test_geodataframe_input_is_not_modified():
    frame = gpd.GeoDataFrame(_frame(), geometry=gpd.points_from_xy(range(9), range(9)))
    before = frame.copy()
    mapping.map_classes(frame, "index_class", "index_label")
    pd.testing.assert_frame_equal(pd.DataFrame(frame.drop(columns="geometry")),
                                  pd.DataFrame(before.drop(columns="geometry")))
