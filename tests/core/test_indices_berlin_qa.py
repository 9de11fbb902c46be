"""QA of the need index and planning priorities as a planner uses them (hand cases, Berlin MSS 2021)."""
import numpy as np
import pandas as pd

from kommunalmonitor.core.feedback import KeptFeedback
from kommunalmonitor.core.priorities.ranking import RankingOptions, rank_priorities


def _areas():
    """Four areas: two with index, cluster and hot spot; one left out of the index (too few
    residents: no index, cluster 0, no hot-spot value); one without a hot-spot value only."""
    return pd.DataFrame({
        "plr": ["01", "02", "03", "04"],
        "index_class": [4, 1, np.nan, 4],
        "cluster": [1, 3, 0, 1],
        "gi_bin": [3, 0, np.nan, np.nan],
    })


def test_weighted_priority_of_an_area_without_any_value_is_no_priority_not_lowest():
    # before: the area left out of the index got 'Priority 4 (lowest)' with the reason
    # 'index class nan, cluster 0, hot-spot result: nan' (6 Berlin PLR, KOM ungültig)
    feedback = KeptFeedback()
    options = RankingOptions(class_field="index_class", cluster_field="cluster", hotspot_field="gi_bin",
                             combination={"index_class": 2, "cluster": 1, "hotspot": 1}, id_field="plr")
    out, diag = rank_priorities(_areas(), "weighted", options, feedback=feedback)
    # hand: area 01 levels 1,1,1 → 1; area 02 levels 4, 3, 4 → (8+3+4)/4 = 3.75 → 4
    # area 04: index 1 (x2), cluster 1, hot spot missing → 4: (2+1+4)/4 = 1.75 → 2
    assert out["priority"].tolist() == [1, 4, 0, 2]
    assert diag["levels"][0]["areas"] == 1
    assert "nan" not in out["reasons_de"][2] and "kein Wert" in out["reasons_de"][2]
    assert np.isnan(out["score"][2])
    assert any("04" in w and "(4)" in w for w in feedback.warnings)
    assert not any("03" in w for w in feedback.warnings)


def test_burden_count_of_an_area_without_z_scores_is_no_value_not_zero_burdens():
    # before: an area left out of the index (all z NULL) counted '0 burdens' → level 4 'lowest',
    # so the default combination 'index_class=2; burden_count=1; hotspot=1' still ranked it
    frame = pd.DataFrame({"z_a": [2.0, 0.0, np.nan], "z_b": [1.5, np.nan, np.nan]})
    out, diag = rank_priorities(frame, "burden_count", RankingOptions(n_runs=10))
    # hand: 2 burdens → level 2; 0 burdens (one z known) → 4; no z at all → no priority
    assert out["priority"].tolist() == [2, 4, 0]
    assert diag["levels"][0]["areas"] == 1


def _mss_status(berlin_dir):
    """MSS 2021 status indicators S1, S3, S4 with population; the 6 KOM-ungültig PLR as NULL."""
    import os

    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), dtype={"PLR_ID": str})
    frame = raw[["PLR_ID", "EW", "S1", "S3", "S4"]].copy()
    frame[["S1", "S3", "S4"]] = frame[["S1", "S3", "S4"]].where(raw[["S1", "S3", "S4"]] != -9999)
    return frame


def test_robustness_with_few_runs_or_one_indicator_says_so(berlin_dir):
    # before: 5 runs on Berlin gave '40 of 536 areas not robust' without a word that a share of
    # 8 runs is uncertain by ±35 points (threshold 0.8); one indicator gave 'all robust' silently
    from kommunalmonitor.core.indices.robustness import RobustnessOptions, monte_carlo_robustness

    frame = _mss_status(berlin_dir)
    feedback = KeptFeedback()
    monte_carlo_robustness(frame, options=RobustnessOptions(n=5), seed=1, population="EW",
                           feedback=feedback, indicators=["S1", "S3", "S4"])
    assert any("5" in w and "±35" in w for w in feedback.warnings)  # 196·sqrt(0.16/5) = 35.06
    feedback = KeptFeedback()
    monte_carlo_robustness(frame, options=RobustnessOptions(n=200), seed=1, population="EW",
                           feedback=feedback, indicators=["S1", "S3", "S4"])
    assert not any("random runs" in w for w in feedback.warnings)
    feedback = KeptFeedback()
    result = monte_carlo_robustness(frame, options=RobustnessOptions(n=200, methods=None), seed=1,
                                    population="EW", feedback=feedback, indicators=["S1"])
    assert any("single indicator" in w for w in feedback.warnings)
    assert result.table["robust"][result.base.included].all()


def test_burden_count_of_an_area_without_any_grade_is_null(berlin_dir):
    # before: the 6 KOM-ungültig PLR (all context indicators -9999 → NULL) got burden_count 0 =
    # "no burden" on the map, with only a general note that counts of incomplete areas are minima
    import os

    from kommunalmonitor.core.indices.burden import BurdenIndicator, multiple_burden

    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_kontext_indikatoren.csv"), dtype={"PLR_ID": str})
    frame = raw[["PLR_ID", "KI_01", "KI_02", "KI_03"]].copy()
    frame[["KI_01", "KI_02", "KI_03"]] = frame[["KI_01", "KI_02", "KI_03"]].where(frame[["KI_01", "KI_02", "KI_03"]] != -9999)
    none = frame[["KI_01", "KI_02", "KI_03"]].isna().all(axis=1)
    assert none.sum() == 6
    result = multiple_burden(frame, [BurdenIndicator(f) for f in ("KI_01", "KI_02", "KI_03")])
    counts = result.table["burden_count"]
    assert counts[none].isna().all()
    # hand check of one rated PLR: grade 3 = above the upper quartile of the 536 rated values
    upper = {f: frame[f].quantile(0.75) for f in ("KI_01", "KI_02", "KI_03")}
    expected = sum(frame.loc[0, f] > upper[f] for f in upper)
    assert counts[0] == expected
    assert sum(result.diagnostics["count_distribution"].values()) == 536


def test_reading_aid_of_a_priority_map_speaks_of_priorities_not_index_classes():
    # before: the Berlin priority map said 'Die Farben zeigen Klassen des Index' beside a
    # legend of priorities 1-4
    from kommunalmonitor.core.mapping import reading_help

    text = reading_help(3, lang="de", class_field="priority")
    assert "Handlungsprioritäten" in text and "Klassen des Index" not in text
    assert "Klassen des Index" in reading_help(3, lang="de", class_field="index_class")
    assert reading_help(3, lang="de", class_field="cluster") == ""


def test_index_class_rule_on_one_district_without_the_top_class_warns():
    # before: Steglitz-Zehlendorf (BEZ 06, index classes 1 and 2 only) → 29 PLR 'Priorität 1
    # (höchste): Indexklasse 2 — kein Indikator deutlich über dem städtischen Mittel', silently
    frame = pd.DataFrame({"index_class": [2, 2, 1, 2, 1]})
    feedback = KeptFeedback()
    out, _ = rank_priorities(frame, "index_class", RankingOptions(class_field="index_class"), feedback=feedback)
    assert out["priority"].tolist() == [1, 1, 2, 1, 2]  # unchanged default, but now said
    assert any("highest class in field 'index_class'" in w and "is 2" in w for w in feedback.warnings)
    feedback = KeptFeedback()
    out, _ = rank_priorities(frame, "index_class", RankingOptions(class_field="index_class", n_classes=4),
                             feedback=feedback)
    assert out["priority"].tolist() == [3, 3, 4, 3, 4]  # MSS bands: class 2 → level 3, class 1 → 4
    assert not any("highest class" in w for w in feedback.warnings)


def test_twelve_mss_sdi_classes_get_twelve_distinct_colours(berlin_dir):
    # before: the council map of the published SDI (12 codes) showed '4+/-' and '4+', '3+' and
    # '2-', '1-' and '1+/-' in the same colour (nearest of ColorBrewer's 9 stops, repeated)
    import os

    from kommunalmonitor.core.mapping import RDYLBU, diverging_palette, map_classes, palette

    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    frame = published[["SDI", "KOM"]].assign(sdi=published["SDI"].where(published["KOM"] == "gültig"))
    classes = [c for c in map_classes(frame, "sdi") if c.value is not None]
    assert len(classes) == 12
    assert len({c.colour for c in classes}) == 12
    assert sum(c.count for c in classes) == 536
    assert palette(9) == RDYLBU[9] and palette(12)[0] == RDYLBU[9][0] and palette(12)[-1] == RDYLBU[9][-1]
    # 7 classes above the average class: more than the 5 warm shades → distinct colours too
    colours = diverging_palette([7, 6, 5, 4, 3, 2, 1, 0.0, -1])
    assert len(set(colours)) == 9


def test_an_indicator_where_higher_is_better_not_marked_reversed_is_named(berlin_dir):
    # before: an 'employment share' (higher = less need) put in the Berlin status index beside
    # S1/S3 unmarked turned the index round silently (it only warned about S1~S3 collinearity)
    from kommunalmonitor.core.indices.composite import composite_index

    frame = _mss_status(berlin_dir)
    frame["employed"] = 100.0 - frame["S1"] * 1.5  # hand-made: exactly against S1
    result = composite_index(frame, ["S1", "S4", "employed"], population="EW")
    against = [w for w in result.diagnostics["warnings"] if "run against each other" in w]
    assert any("'S1' and 'employed'" in w and "r = -1.00" in w for w in against)
    result = composite_index(frame, ["S1", "S4", "employed"], population="EW", reversed=["employed"])
    assert not any("run against each other" in w for w in result.diagnostics["warnings"])
    # the published MSS status indicators do not trigger it
    result = composite_index(frame, ["S1", "S3", "S4"], population="EW")
    assert not any("run against each other" in w for w in result.diagnostics["warnings"])


def test_decision_table_writes_residents_and_classes_as_whole_numbers(tmp_path):
    # before: the CSV for the council read '10564,0' residents and 'Indexklasse 4,0'
    from kommunalmonitor.core.priorities.table import decision_table, write_decision_table

    frame = pd.DataFrame({"plr": ["08301037", "03400831"], "index_class": [4.0, np.nan],
                          "index": [1.718565, np.nan], "EW": [10564.0, np.nan]})
    out, _ = rank_priorities(frame, "index_class", RankingOptions(class_field="index_class", n_classes=4,
                                                                  population_field="EW"))
    table = decision_table(frame, out, id_field="plr", extra_fields={"index": "index",
                                                                     "index_class": "index_class"})
    path = write_decision_table(table, str(tmp_path / "t.csv"))
    lines = open(path, encoding="utf-8-sig").read().splitlines()
    assert lines[1].startswith("08301037;") and ";10564;1,718565;4" in lines[1]
    assert lines[2].startswith("03400831;") and lines[2].endswith(";;;")
    path = write_decision_table(table, str(tmp_path / "t.xlsx"))
    import openpyxl

    row = [c.value for c in openpyxl.load_workbook(path).worksheets[0][2]]
    assert row[0] == "08301037" and 10564 in row and 4 in row


def test_weighted_combination_names_an_unknown_rule():
    # before: 'foo=2' was refused as "needs positive weights for index_class, …" without naming 'foo'
    import pytest

    from kommunalmonitor.core.errors import InputError

    with pytest.raises(InputError, match="'foo'"):
        rank_priorities(_areas(), "weighted", RankingOptions(class_field="index_class",
                                                             combination={"index_class": 2, "foo": 2}))
