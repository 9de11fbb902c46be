"""Goals and targets: status per area against hand-computed growth-rate ratios, XLSX table."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.monitoring.goals import (GoalOptions, classify, progress_ratio, target_status,
                                                   write_target_table)
from kommunalmonitor.core.monitoring.series import check_observations

# every area at 10 % (400 of 4000) in 2020; target: 7 % by 2026 (down 3 points)
CURRENT = {"moderate": 340, "on_track": 320, "noise": 420, "worse": 520, "achieved": 276, "slow": 380}


def _obs():
    rows = []
    for area, now in CURRENT.items():
        rows += [(area, 2020, 400, 4000), (area, 2023, now, 4000)]
    frame = pd.DataFrame(rows, columns=["area_id", "period", "numerator", "denominator"])
    frame["indicator"] = "unemployment_rate"
    frame["value"] = 100.0 * frame["numerator"] / frame["denominator"]
    return check_observations(frame)


def _goals(**changes):
    goal = {"goal_id": "T1", "level": "target", "title_en": "Unemployment down by 3 points",
            "title_de": "Arbeitslosigkeit um 3 Punkte senken", "indicator": "unemployment_rate",
            "scope": "city", "scope_areas": None, "priority_level": np.nan, "baseline_period": 2020,
            "baseline_value": 10.0, "target_value": 7.0, "target_period": 2026, "direction": "decrease"}
    goal.update(changes)
    return pd.DataFrame([goal, {"goal_id": "L1", "level": "leitziel", "indicator": None, "scope": None,
                                "baseline_period": None, "target_value": np.nan, "target_period": None,
                                "direction": None}])


def test_status_per_area_hand_computed():
    result = target_status(_obs(), _goals(), lang="en")
    table = result.table.set_index("area_id")
    needed = 0.7 ** (1 / 6) - 1  # −0.05767 per year
    assert table.loc["moderate", "progress_needed"] == pytest.approx(needed)
    assert table.loc["moderate", "ratio"] == pytest.approx((0.85 ** (1 / 3) - 1) / needed)  # 0.914
    expected = {"moderate": "moderate progress", "on_track": "on track", "achieved": "achieved",
                "slow": "off track",          # R = 0.294
                "noise": "off track",         # R < 0, but 10 → 10.5 % on 4000 is within noise
                "worse": "deteriorating"}     # 10 → 13 % on 4000 is significant
    assert table["status_label"].to_dict() == expected
    assert table.loc["noise", "within_noise"] and not table.loc["worse", "within_noise"]
    assert table.loc["slow", "ratio"] == pytest.approx((0.95 ** (1 / 3) - 1) / needed)
    # whole city: (340+320+420+520+276+380)/24000 = 9.4 % → R = ((0.94)^(1/3) − 1) / needed
    summary = result.summary.set_index("goal_id")
    assert summary.loc["T1", "current_value"] == pytest.approx(9.4)
    assert summary.loc["T1", "ratio"] == pytest.approx((0.94 ** (1 / 3) - 1) / needed)
    assert summary.loc["T1", "status_label"] == "off track"


def test_linear_method_and_german_labels():
    result = target_status(_obs(), _goals(), GoalOptions(method="linear"), lang="de")
    table = result.table.set_index("area_id")
    # annual change made −0.5 points vs needed −0.5 points → R = 1
    assert table.loc["moderate", "ratio"] == pytest.approx(1.0)
    assert table.loc["moderate", "status_label"] == "auf Kurs"


def test_scope_areas_and_priority_and_same_level():
    goals = _goals(scope="areas", scope_areas="moderate, worse", baseline_value=np.nan)
    result = target_status(_obs(), goals)
    assert sorted(result.table["area_id"]) == ["moderate", "worse"]
    assert result.summary.loc[0, "baseline_value"] == pytest.approx(10.0)  # recomputed from counts
    goals = _goals(scope="priority", priority_level=1)
    result = target_status(_obs(), goals, priority_levels={"slow": 1, "noise": 2, "worse": 1})
    assert sorted(result.table["area_id"]) == ["slow", "worse"]
    with pytest.raises(InputError, match="priority"):
        target_status(_obs(), goals)
    level = target_status(_obs(), _goals(target_value=9.0, baseline_value=12.0),
                          GoalOptions(area_targets="same_level"))
    assert (level.table["target_value"] == 9.0).all()
    assert level.table.set_index("area_id").loc["moderate", "status_label"] in ("achieved", "erreicht")


def test_progress_ratio_edge_cases():
    # baseline already beyond the target and moved away: deteriorating
    ratio, _, _, achieved = progress_ratio([6.0], [7.5], [7.0], 2020, 2023, 2026, "down")
    assert not achieved[0] and ratio[0] == -np.inf
    assert classify(ratio, achieved)[0] == 5
    # zero baseline: growth rate undefined → annual changes
    ratio, made, needed, _ = progress_ratio([0.0], [1.0], [4.0], 2020, 2022, 2024, "up")
    assert made[0] == pytest.approx(0.5) and needed[0] == pytest.approx(1.0) and ratio[0] == pytest.approx(0.5)
    np.testing.assert_array_equal(classify([0.95, 0.6, 0.0, -0.01, np.nan], [False] * 5)[:4], [2, 3, 4, 5])


def test_bad_goals_are_named():
    with pytest.raises(InputError, match="2019"):
        target_status(_obs(), _goals(baseline_period=2019))
    with pytest.raises(InputError, match="scope_areas"):
        target_status(_obs(), _goals(scope="areas"))
    with pytest.raises(InputError, match="nowhere"):
        target_status(_obs(), _goals(scope="areas", scope_areas="nowhere"))
    with pytest.raises(InputError, match="target_period"):
        target_status(_obs(), _goals().drop(columns=["target_period"]))


def test_xlsx_has_german_columns(tmp_path):
    from openpyxl import load_workbook

    result = target_status(_obs(), _goals(), lang="de")
    path = write_target_table(result, str(tmp_path / "ziele.xlsx"))
    book = load_workbook(path)
    assert book.sheetnames == ["Zielstatus je Gebiet", "Ziele gesamt", "Methode"]
    sheet = book["Zielstatus je Gebiet"]
    header = [c.value for c in sheet[1]]
    assert "Status" in header and "Gebiet" in header and "Zielwert" in header
    assert sheet.max_row == 1 + len(CURRENT)
    statuses = {row[header.index("Gebiet")]: row[header.index("Status")]
                for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert statuses["worse"] == "Verschlechterung" and statuses["noise"] == "nicht auf Kurs"
    assert "open-sdg" in book["Methode"]["A1"].value


def test_musterstadt_goal_system_is_rated():
    """The panel's goal system: every target gets a status per area and for its scope."""
    from kommunalmonitor.core.monitoring.panel import make_panel

    panel = make_panel(seed=0, n_blocks=900)
    obs = check_observations(panel.observations_new)
    levels = dict(zip(panel.areas_new["area_id"], panel.areas_new["priority_level"]))
    result = target_status(obs, panel.goals, priority_levels=levels, lang="en")
    targets = panel.goals[panel.goals["level"] == "target"]
    assert list(result.summary["goal_id"]) == list(targets["goal_id"])
    assert result.summary["status"].notna().all()
    n_priority = sum(1 for v in levels.values() if v == 1)
    t3 = result.table[result.table["goal_id"] == "T3"]
    assert len(t3) == n_priority > 0
    # T2 covers the programme areas, whose unemployment fell by the planted 2 points more
    t2 = result.summary.set_index("goal_id").loc["T2"]
    assert t2["current_value"] < t2["baseline_value"]
