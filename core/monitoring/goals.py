"""Goals and targets: per target and area a status from progress made versus progress needed.

Method (published): the *progress measurement* of Statistics Canada as used by open-sdg
(``open-sdg/open-sdg``, docs/progress-methodology.md), itself built on Eurostat's SDG
progress assessment. The observed compound annual growth rate since the baseline,
``CAGR_obs = (y_t / y_0)^(1/(t − t0)) − 1``, is compared with the rate needed to reach the
target on time, ``CAGR_req = (y_T / y_0)^(1/(T − t0)) − 1``; their ratio ``R`` gives

=====================  =========================  ================================
target met now          achieved                   ``d·(y_t − y_T) ≥ 0``
R ≥ 0.95                on track
0.60 ≤ R < 0.95         moderate progress          ("progress made, acceleration needed")
0 ≤ R < 0.60            off track                  ("limited progress")
R < 0                   deteriorating              (moved away from the target)
=====================  =========================  ================================

Where a value is 0 or negative the growth rate is undefined; then (or with
``method='linear'``) the ratio of the annual change made to the annual change needed is
used instead. New here: the change since the baseline is tested against the noise of the
area's base (``change.change_between``); a move away from the target that is within that
noise is rated *off track*, not *deteriorating*.

Per area the target is read as the same change the target asks of its scope
(``area_targets='same_change'``: area target = area baseline + target − scope baseline) or
as the same level for every area (``'same_level'``).
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import get_language, normalise_language, tr
from ..validate import layer_name
from ..values import to_numbers
from .change import ChangeOptions, change_between, desired_direction, not_counts
from .series import (AREA, DENOMINATOR, NUMERATOR, PERIOD, VALUE, for_indicator, has_counts,
                     match_period, period_years, scale_of, sorted_periods)

THRESHOLDS = (0.95, 0.60, 0.0)
STATUS_NAMES = {1: "achieved", 2: "on track", 3: "moderate progress", 4: "off track", 5: "deteriorating"}
STATUS_NAMES_DE = {1: "erreicht", 2: "auf Kurs", 3: "mäßiger Fortschritt", 4: "nicht auf Kurs",
                   5: "Verschlechterung"}
GOAL_COLUMNS = ("goal_id", "indicator", "scope", "baseline_period", "target_value", "target_period",
                "direction")

# German column names of the administration's table
COLUMNS_DE = {
    "goal_id": "Ziel-ID", "title": "Ziel", "indicator": "Indikator", "area_id": "Gebiet",
    "baseline_period": "Basis (Zeitpunkt)", "baseline_value": "Basiswert",
    "current_period": "Aktueller Zeitpunkt", "current_value": "Aktueller Wert",
    "target_period": "Zieljahr", "target_value": "Zielwert", "progress_needed": "Nötiger Fortschritt",
    "progress_made": "Erreichter Fortschritt", "ratio": "Verhältnis R (ist/nötig)",
    "status": "Status-Code", "status_label": "Status", "significant": "Veränderung signifikant",
    "p_value": "p-Wert", "within_noise": "Rückgang im Rauschen", "small_base": "Kleine Basis",
    "n_areas": "Anzahl Gebiete", "scope": "Geltungsbereich",
}


@dataclass
class GoalOptions:
    """How targets are rated.

    Attributes
    ----------
    as_of : period, optional
        Rate with the values of this period (default: the latest before or at the target
        period).
    method : {'cagr', 'linear'}
        Growth rates (the published method) or annual changes.
    area_targets : {'same_change', 'same_level'}
    thresholds : tuple
        ``(on_track, moderate, off_track)`` lower bounds of R (0.95, 0.60, 0).
    change : ChangeOptions
        Test of the change since the baseline (alpha, test, FDR).
    """

    as_of: object = None
    method: str = "cagr"
    area_targets: str = "same_change"
    thresholds: tuple = THRESHOLDS
    change: ChangeOptions = field(default_factory=ChangeOptions)


@dataclass
class TargetResult:
    """``table`` (one row per target and area), ``summary`` (one row per target) and diagnostics."""

    table: pd.DataFrame
    summary: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


def status_label(code, lang=None):
    """Status name in the given/current language (None for missing)."""
    if code is None or (isinstance(code, float) and not np.isfinite(code)) or pd.isna(code):
        return None
    language = normalise_language(lang) if lang else get_language()
    return (STATUS_NAMES_DE if language == "de" else STATUS_NAMES)[int(code)]


def progress_ratio(y0, yt, target, t0, t, tt, desired, method="cagr"):
    """Ratio R of progress made to progress needed, plus both (as growth rates or annual changes).

    Vectorised over arrays. Returns ``(ratio, made, needed, achieved)``.
    """
    y0, yt, target = (np.asarray(a, dtype="float64") for a in (y0, yt, target))
    d = 1.0 if desired == "up" else -1.0
    elapsed, horizon = float(t - t0), float(tt - t0)
    achieved = np.isfinite(yt) & np.isfinite(target) & (d * (yt - target) >= 0)
    positive = (y0 > 0) & (yt > 0) & (target > 0)
    use_cagr = positive if method == "cagr" else np.zeros(y0.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        made = np.where(use_cagr, (yt / y0) ** (1.0 / elapsed) - 1.0, (yt - y0) / elapsed)
        needed = np.where(use_cagr, (target / y0) ** (1.0 / horizon) - 1.0, (target - y0) / horizon)
        # needed in the desired direction is positive; a baseline beyond the target needs 0
        ratio = np.where(d * needed > 0, made / needed, np.where(d * made >= 0, np.inf, -np.inf))
    return ratio, made, needed, achieved


def classify(ratio, achieved, thresholds=THRESHOLDS):
    """Status codes 1–5 from R and 'achieved' (NaN ratio → NaN)."""
    ratio = np.asarray(ratio, dtype="float64")
    on, moderate, off = thresholds
    code = np.where(ratio >= on, 2, np.where(ratio >= moderate, 3, np.where(ratio >= off, 4, 5))).astype(float)
    code[np.isnan(ratio)] = np.nan
    code[np.asarray(achieved, dtype=bool)] = 1
    return code


def _scope_areas(goal, all_areas, priority_levels):
    """Area ids a target covers (city: all)."""
    scope = str(goal.get("scope") or "city").strip().lower()
    if scope == "city":
        return list(all_areas)
    if scope == "areas":
        listed = goal.get("scope_areas")
        if listed is None or (isinstance(listed, float) and np.isnan(listed)) or not str(listed).strip():
            raise InputError(tr("Target {goal} has scope 'areas' but lists no areas in 'scope_areas'. "
                                "Write the area ids separated by commas.", goal=goal["goal_id"]))
        wanted = [s.strip() for s in str(listed).split(",") if s.strip()]
        by_text = {str(a): a for a in all_areas}
        unknown = [w for w in wanted if w not in by_text]
        if unknown:
            raise InputError(tr("Target {goal} lists areas that have no observations: {areas}.",
                                goal=goal["goal_id"], areas=", ".join(unknown[:10])))
        return [by_text[w] for w in wanted]
    if scope == "priority":
        if priority_levels is None:
            raise InputError(tr("Target {goal} applies to priority level {level}; give the areas' "
                                "priority levels (a field of the areas layer).", goal=goal["goal_id"],
                                level=goal.get("priority_level")))
        level = float(to_numbers(pd.Series([goal.get("priority_level")], dtype=object), "priority_level",
                                 tr("goals table"))[0].iloc[0])  # '1,0' from a German CSV
        levels = {str(k): v for k, v in dict(priority_levels).items()}
        return [a for a in all_areas if str(a) in levels and pd.notna(levels[str(a)])
                and float(levels[str(a)]) == level]
    raise InputError(tr("Target {goal} has the unknown scope '{scope}'; use city, areas or priority.",
                        goal=goal["goal_id"], scope=scope))


def _refuse_summed_rates(goal, rows):
    """Without counts a scope's value is the sum of its areas' values: refuse a rate or share."""
    if not_counts(rows):
        raise InputError(tr("Target {goal}: the values of '{indicator}' are no counts (most are not whole "
                            "numbers) and the observations have no numerator and denominator, so the value "
                            "of a group of areas would be their sum, which for a rate or share is "
                            "meaningless. Give the counts behind it (numerator and denominator fields, or an "
                            "indicator catalogue naming them).", goal=goal["goal_id"],
                            indicator=goal["indicator"]))


def _comparable_areas(goal, rows, areas, base_period, current, counts, feedback):
    """The scope's areas with a value at the baseline and now (a sum over other areas at the
    two periods would count an area's appearance as progress); a warning names the others."""
    columns = [NUMERATOR, DENOMINATOR] if counts else [VALUE]
    ok = {}
    for period in (base_period, current):
        sub = rows[(rows[PERIOD] == period) & rows[AREA].isin(areas)]
        good = np.isfinite(sub[columns].to_numpy(dtype="float64")).all(axis=1)
        ok[period] = set(sub[AREA].to_numpy()[good].tolist())
    kept = [a for a in areas if a in ok[base_period] and a in ok[current]]
    left = [str(a) for a in areas if a not in kept]
    if left:
        feedback.warning(tr("Target {goal}: {count} area(s) lack a value at the baseline {baseline} or at "
                            "{current} and are left out of the value of the target's scope (first: "
                            "{areas}).", goal=goal["goal_id"], count=len(left), baseline=base_period,
                            current=current, areas=", ".join(left[:5])))
    return kept


def _scope_value(rows, areas, period, per, counts):
    """Value of a group of areas at a period: ratio of summed counts, else the sum (counts)."""
    sub = rows[(rows[PERIOD] == period) & rows[AREA].isin(areas)]
    if counts:
        den = sub[DENOMINATOR].sum()
        return per * sub[NUMERATOR].sum() / den if den > 0 else np.nan
    return float(sub[VALUE].sum()) if len(sub) else np.nan


def target_status(obs, goals, options=None, priority_levels=None, lang=None, feedback=None):
    """Status of every target per area and for its whole scope.

    Parameters
    ----------
    obs : DataFrame
        Long-form observations (``series.check_observations``).
    goals : DataFrame
        Goal system; rows with ``level == 'target'`` (or, without a ``level`` column, every
        row with an indicator) are rated. Columns: ``goal_id``, ``indicator``, ``scope``
        (city / areas / priority), ``scope_areas``, ``priority_level``, ``baseline_period``,
        ``target_value``, ``target_period``, ``direction`` (decrease / increase), optional
        ``title_en``, ``title_de``, ``baseline_value`` (of the scope; recomputed when missing).
    priority_levels : mapping area id → level, optional
        Needed for targets with scope 'priority'.
    feedback : core.feedback.Feedback, optional
        Progress (one step per target) and cancellation.

    Returns
    -------
    TargetResult
    """
    from ..feedback import ensure_feedback

    options = options or GoalOptions()
    feedback = ensure_feedback(feedback)
    feedback.progress(0.0)
    if options.method not in ("cagr", "linear"):
        raise InputError(tr("Unknown progress method '{value}'; use 'cagr' or 'linear'.", value=options.method))
    if options.area_targets not in ("same_change", "same_level"):
        raise InputError(tr("Unknown area target rule '{value}'; use 'same_change' or 'same_level'.",
                            value=options.area_targets))
    missing = [c for c in GOAL_COLUMNS if c not in goals.columns]
    if missing:
        raise InputError(tr("The goals table lacks the column(s) {fields}.", fields=", ".join(missing)))
    goals = goals.copy()
    for column in ("target_value", "baseline_value"):  # '6,5' from a German CSV is 6.5, not a traceback
        if column in goals.columns:
            goals[column] = to_numbers(goals[column], column, layer_name(goals))[0]
    targets = goals[goals["level"].astype(str) == "target"] if "level" in goals.columns else goals
    targets = targets[targets["indicator"].notna()]
    if len(targets) == 0:
        raise InputError(tr("The goals table holds no target with an indicator."))
    language = normalise_language(lang) if lang else get_language()
    records, summary = [], []
    feedback.progress(0.05)  # goals table read and checked
    rating = feedback.step(0.05, 0.9)
    for k, (_, goal) in enumerate(targets.iterrows()):
        feedback.check()
        goal = goal.to_dict()
        rows = for_indicator(obs, goal["indicator"])
        periods = sorted_periods(rows)
        desired = desired_direction(goal["direction"])
        base_period = match_period(periods, goal["baseline_period"])
        if base_period is None:
            raise InputError(tr("Target {goal}: the baseline period {period} has no observations of "
                                "'{indicator}'.", goal=goal["goal_id"], period=goal["baseline_period"],
                                indicator=goal["indicator"]))
        t0, tt = period_years([base_period])[0], period_years([goal["target_period"]])[0]
        if options.as_of is not None:
            current = match_period(periods, options.as_of)
            if current is None:
                raise InputError(tr("Period {period} has no observations of indicator '{indicator}'. "
                                    "Periods there: {available}.", period=options.as_of,
                                    indicator=goal["indicator"],
                                    available=", ".join(str(p) for p in periods)))
        else:
            years = period_years(periods)
            later = [p for p, y in zip(periods, years) if t0 < y <= tt]
            current = later[-1] if later else None
        if current is None or period_years([current])[0] <= t0 or tt <= t0:
            raise InputError(tr("Target {goal} cannot be rated: it needs a period after the baseline "
                                "{baseline} (and a target period after it).", goal=goal["goal_id"],
                                baseline=base_period))
        t = period_years([current])[0]
        all_areas = list(dict.fromkeys(rows[AREA].tolist()))
        areas = _scope_areas(goal, all_areas, priority_levels)
        counts, per = has_counts(rows), scale_of(rows)
        if not counts:
            _refuse_summed_rates(goal, rows)
        comparable = _comparable_areas(goal, rows, areas, base_period, current, counts, feedback)
        scope_base = goal.get("baseline_value")
        if scope_base is None or not np.isfinite(float(scope_base)):
            scope_base = _scope_value(rows, comparable, base_period, per, counts)
        scope_base, scope_target = float(scope_base), float(goal["target_value"])
        title = goal.get("title_de" if language == "de" else "title_en") or goal.get("title_en") or goal["goal_id"]

        change = change_between(rows[rows[AREA].isin(areas)], goal["indicator"], base_period, current,
                                ChangeOptions(test=options.change.test, alpha=options.change.alpha,
                                              fdr=options.change.fdr, desired=desired,
                                              min_base=options.change.min_base)).table
        change = change.set_index(AREA).reindex(areas)
        y0 = change["value_start"].to_numpy(dtype="float64")
        yt = change["value_end"].to_numpy(dtype="float64")
        if options.area_targets == "same_level":
            area_target = np.full(len(areas), scope_target)
        elif counts:  # a rate: the same change in its units (points)
            area_target = y0 + (scope_target - scope_base)
        else:  # a count summed over the scope: the same relative change, so the areas add up to the target
            area_target = y0 * (scope_target / scope_base) if scope_base else np.full(len(areas), np.nan)
        ratio, made, needed, achieved = progress_ratio(y0, yt, area_target, t0, t, tt, desired, options.method)
        code = classify(ratio, achieved, options.thresholds)
        significant = change["significant"].to_numpy(dtype=bool)
        tested = np.isfinite(change["p_value"].to_numpy(dtype="float64"))
        noise = (code == 5) & tested & ~significant
        code[noise] = 4
        for i, area in enumerate(areas):
            records.append({
                "goal_id": goal["goal_id"], "title": title, "indicator": goal["indicator"], AREA: area,
                "baseline_period": base_period, "baseline_value": y0[i], "current_period": current,
                "current_value": yt[i], "target_period": goal["target_period"], "target_value": area_target[i],
                "progress_needed": needed[i], "progress_made": made[i],
                "ratio": ratio[i] if np.isfinite(ratio[i]) else np.nan,
                "status": code[i], "significant": bool(significant[i]),
                "p_value": change["p_value"].to_numpy(dtype="float64")[i], "within_noise": bool(noise[i]),
                "small_base": bool(change["small_base"].to_numpy(dtype=bool)[i])})
        # the scope as a whole: ratio of summed counts (the value the target refers to)
        current_scope = _scope_value(rows, comparable, current, per, counts)
        s_ratio, s_made, s_needed, s_achieved = progress_ratio(
            [scope_base], [current_scope], [scope_target], t0, t, tt, desired, options.method)
        s_code = classify(s_ratio, s_achieved, options.thresholds)
        if counts and s_code[0] == 5:
            sub0 = rows[(rows[PERIOD] == base_period) & rows[AREA].isin(comparable)]
            sub1 = rows[(rows[PERIOD] == current) & rows[AREA].isin(comparable)]
            pooled = pd.DataFrame({AREA: ["scope", "scope"], PERIOD: [base_period, current],
                                   "indicator": goal["indicator"],
                                   NUMERATOR: [sub0[NUMERATOR].sum(), sub1[NUMERATOR].sum()],
                                   DENOMINATOR: [sub0[DENOMINATOR].sum(), sub1[DENOMINATOR].sum()]})
            pooled[VALUE] = per * pooled[NUMERATOR] / pooled[DENOMINATOR]
            pooled["per"] = per
            test = change_between(pooled, goal["indicator"], base_period, current,
                                  ChangeOptions(alpha=options.change.alpha, desired=desired)).table
            if not bool(test["significant"].iloc[0]) and np.isfinite(test["p_value"].iloc[0]):
                s_code[0] = 4
        summary.append({"goal_id": goal["goal_id"], "title": title, "indicator": goal["indicator"],
                        "scope": goal.get("scope"), "n_areas": len(areas), "baseline_period": base_period,
                        "baseline_value": scope_base, "current_period": current,
                        "current_value": current_scope, "target_period": goal["target_period"],
                        "target_value": scope_target, "progress_needed": s_needed[0],
                        "progress_made": s_made[0],
                        "ratio": s_ratio[0] if np.isfinite(s_ratio[0]) else np.nan, "status": s_code[0]})
        rating.progress((k + 1) / len(targets))
    feedback.check()
    table = pd.DataFrame.from_records(records)
    summary = pd.DataFrame.from_records(summary)
    for frame in (table, summary):
        codes = frame["status"].to_numpy(dtype="float64")
        frame["status"] = pd.array([int(c) if np.isfinite(c) else None for c in codes], dtype="Int64")
        frame["status_label"] = [status_label(c, language) if np.isfinite(c) else None for c in codes]
    counts_by_status = {int(k): int((table["status"] == k).sum()) for k in STATUS_NAMES}
    feedback.progress(1.0)
    return TargetResult(table=table, summary=summary,
                        diagnostics={"method": options.method, "status_counts": counts_by_status,
                                     "n_targets": len(summary), "n_within_noise": int(table["within_noise"].sum())})


METHOD_NOTE_DE = ("Methode: Fortschrittsmessung nach Statistics Canada / open-sdg (auf Grundlage der "
                  "Eurostat-Fortschrittsbewertung der SDG): Verhältnis R der seit der Basis erreichten zur "
                  "nötigen jährlichen Wachstumsrate. R ≥ 0,95 auf Kurs; 0,60 ≤ R < 0,95 mäßiger Fortschritt; "
                  "0 ≤ R < 0,60 nicht auf Kurs; R < 0 Verschlechterung – aber nur, wenn die Veränderung "
                  "größer als das Rauschen der kleinen Basis ist (sonst 'nicht auf Kurs').")


def write_target_table(result, path):
    """Write the administration's XLSX: sheet 'Zielstatus je Gebiet', 'Ziele gesamt', 'Methode'.

    Column names are German (the table goes to the administration as it is).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = [("Zielstatus je Gebiet", result.table), ("Ziele gesamt", result.summary)]
    for i, (name, frame) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = name
        columns = [c for c in frame.columns if c in COLUMNS_DE]
        sheet.append([COLUMNS_DE[c] for c in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame[columns].itertuples(index=False):
            sheet.append([_cell(v) for v in row])
        sheet.freeze_panes = "A2"
        for j, column in enumerate(columns, start=1):
            width = max(len(COLUMNS_DE[column]), 10)
            sheet.column_dimensions[sheet.cell(1, j).column_letter].width = min(width + 2, 40)
    note = book.create_sheet("Methode")
    note.append([METHOD_NOTE_DE])
    book.save(path)
    return path


def _cell(value):
    """A value openpyxl can write (NaN/NA → empty, numpy scalars → Python)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.bool_, bool)):
        return "ja" if value else "nein"
    return value if isinstance(value, (int, str)) else str(value)
