"""Processing algorithms of the monitoring analysis: serieschange, targetstatus, evaluatemeasure."""
import numpy as np
import pandas as pd
import pytest

N = 6  # 6 × 6 grid of planning areas


def _areas():
    """Memory layer of N×N square areas with id 'P00'…, a priority level and a measure flag."""
    from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:25832&field=plr:string&field=prio:integer&field=programm:integer",
                           "Planungsräume", "memory")
    features = []
    for i in range(N * N):
        r, c = divmod(i, N)
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({c*500} {r*500},{c*500+500} {r*500},{c*500+500} {r*500+500},{c*500} {r*500+500},"
            f"{c*500} {r*500}))"))
        f.setAttributes([f"P{i:02d}", 1 if i < 6 else 3, 1 if i in (7, 14, 21, 28) else 0])
        features.append(f)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def _table(frame, name):
    """Memory table (no geometry) from a DataFrame of str/int/float columns."""
    from qgis.core import QgsFeature, QgsProject, QgsVectorLayer

    kinds = {c: ("string" if frame[c].dtype == object else "integer" if frame[c].dtype.kind in "iu" else "double")
             for c in frame.columns}
    layer = QgsVectorLayer("None?" + "&".join(f"field={c}:{k}" for c, k in kinds.items()), name, "memory")
    features = []
    for row in frame.itertuples(index=False):
        f = QgsFeature(layer.fields())
        f.setAttributes([None if (isinstance(v, float) and np.isnan(v)) else
                         (v.item() if hasattr(v, "item") else v) for v in row])
        features.append(f)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def _observations(effect=-3.0):
    """Unemployment counts 2016–2023 per area; the 4 programme areas lose `effect` points from 2020."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(N * N):
        base = rng.integers(800, 3000)
        level = rng.uniform(6, 16)
        for year in range(2016, 2024):
            rate = level + 0.1 * (year - 2016) + (effect if i in (7, 14, 21, 28) and year >= 2020 else 0.0)
            count = int(rng.binomial(base, rate / 100))
            rows.append((f"P{i:02d}", year, "alq", 100.0 * count / base, float(count), float(base)))
    # one small area with "+3 points" on 400 residents
    rows = [(a, y, ind, v, n, d) for a, y, ind, v, n, d in rows if a != "P35"]
    rows += [("P35", y, "alq", 10.0 if y < 2022 else 13.0, 40.0 if y < 2022 else 52.0, 400.0)
             for y in range(2016, 2024)]
    return pd.DataFrame(rows, columns=["area_id", "period", "indicator", "value", "numerator", "denominator"])


def _features(path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "o", "ogr")
    assert layer.isValid()
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


def test_series_change_map(run_alg, tmp_path):
    from qgis.core import QgsVectorLayer

    obs = _table(_observations(), "Beobachtungen")
    out = str(tmp_path / "change.gpkg")
    res = run_alg("kommunalmonitor:serieschange", {
        "OBSERVATIONS": obs, "AREAS": _areas(), "AREAS_ID": "plr", "INDICATOR": "alq",
        "START": "2021", "END": "2022", "OUTPUT": out})
    rows = {r["plr"]: r for r in _features(res["OUTPUT"])}
    assert len(rows) == N * N
    small = rows["P35"]
    assert small["change_pp"] == pytest.approx(3.0)
    assert small["significant"] in (False, 0) and small["change_class"] == 3
    assert {"trend_slope", "trend_low", "movement", "dynamics_class", "p_value"} <= set(small)
    layer = QgsVectorLayer(res["OUTPUT"], "c", "ogr")
    # the style travels with the GeoPackage: categories by change class with legend labels
    styled = QgsVectorLayer(res["OUTPUT"], "c", "ogr")
    assert styled.renderer().type() == "categorizedSymbol"
    labels = [c.label() for c in styled.renderer().categories()]
    assert any("Rauschen" in label or "noise" in label for label in labels)
    assert layer.featureCount() == N * N


def test_target_status_map_and_xlsx(run_alg, tmp_path):
    import openpyxl

    goals = pd.DataFrame([{"goal_id": "T1", "level": "target", "title_en": "Unemployment down by 1 point",
                           "title_de": "Arbeitslosigkeit um 1 Punkt senken", "indicator": "alq",
                           "scope": "city", "scope_areas": "", "priority_level": np.nan,
                           "baseline_period": "2018", "baseline_value": np.nan, "target_value": 9.0,
                           "target_period": "2026", "direction": "decrease"},
                          {"goal_id": "T2", "level": "target", "title_en": "Priority areas down by 2 points",
                           "title_de": "Prioritätsgebiete um 2 Punkte senken", "indicator": "alq",
                           "scope": "priority", "scope_areas": "", "priority_level": 1.0,
                           "baseline_period": "2018", "baseline_value": np.nan, "target_value": 8.0,
                           "target_period": "2026", "direction": "decrease"}])
    xlsx = str(tmp_path / "ziele.xlsx")
    res = run_alg("kommunalmonitor:targetstatus", {
        "OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
        "GOALS": _table(goals, "Ziele"), "PRIORITY_FIELD": "prio", "OUTPUT": str(tmp_path / "ziele.gpkg"),
        "TABLE": xlsx})
    rows = _features(res["OUTPUT"])
    assert len([r for r in rows if r["goal_id"] == "T1"]) == N * N
    assert len([r for r in rows if r["goal_id"] == "T2"]) == 6
    programme = [r for r in rows if r["goal_id"] == "T1" and r["plr"] in ("P07", "P14", "P21", "P28")]
    # −3 points since 2020 against −2 needed by 2026: at least moderate progress in every programme area
    assert all(r["status"] in (1, 2, 3) for r in programme)
    assert sum(r["status"] in (1, 2) for r in programme) >= 3
    book = openpyxl.load_workbook(res["TABLE"])
    header = [c.value for c in book["Zielstatus je Gebiet"][1]]
    assert {"Ziel-ID", "Gebiet", "Status", "Veränderung signifikant"} <= set(header)
    assert book["Zielstatus je Gebiet"].max_row == 1 + N * N + 6


def test_evaluate_measure_recovers_the_planted_effect(run_alg, tmp_path):
    res = run_alg("kommunalmonitor:evaluatemeasure", {
        "OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
        "INDICATOR": "alq", "MEASURE_FIELD": "programm", "MEASURE_NAME": "Quartiersmanagement",
        "START": "2020", "N_MATCHES": 2, "EXCLUDE_NEIGHBOURS": True, "PERMUTATIONS": 199, "SEED": 3,
        "OUTPUT": str(tmp_path / "eval.gpkg")})
    assert res["LOW"] <= -3.0 <= res["HIGH"]
    assert res["P_VALUE"] < 0.05
    assert "Quartiersmanagement" in res["TEXT"]
    rows = {r["plr"]: r for r in _features(res["OUTPUT"])}
    assert rows["P07"]["role"] == "treated"
    assert rows["P08"]["role"] == "excluded_neighbour"  # right of P07
    assert sum(r["role"] == "comparison" for r in rows.values()) >= 2


def test_bad_input_names_the_problem(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="2030"):
        run_alg("kommunalmonitor:serieschange", {
            "OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
            "INDICATOR": "alq", "START": "2016", "END": "2030", "OUTPUT": "TEMPORARY_OUTPUT"})
    with pytest.raises(QgsProcessingException, match="areas of the measure|Gebiete der Maßnahme"):
        run_alg("kommunalmonitor:evaluatemeasure", {
            "OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
            "INDICATOR": "alq", "START": "2020", "OUTPUT": "TEMPORARY_OUTPUT"})


def test_store_tables_with_several_area_sets(run_alg, tmp_path):
    """A monitoring store's observations hold several area sets: the chosen one is used, none is refused."""
    from qgis.core import QgsProcessingException

    frame = _observations()
    old = frame.assign(area_id="X" + frame["area_id"], area_set="plr_old")  # another boundary version
    both = pd.concat([frame.assign(area_set="plr_new"), old], ignore_index=True)
    table = _table(both, "mon_observations")
    params = {"OBSERVATIONS": table, "AREAS": _areas(), "AREAS_ID": "plr", "INDICATOR": "alq",
              "START": "2021", "END": "2022", "OUTPUT": "TEMPORARY_OUTPUT"}
    with pytest.raises(QgsProcessingException, match="plr_new, plr_old"):
        run_alg("kommunalmonitor:serieschange", params)
    res = run_alg("kommunalmonitor:serieschange", dict(params, AREA_SET="plr_new",
                                                       OUTPUT=str(tmp_path / "set.gpkg")))
    rows = _features(res["OUTPUT"])
    assert len(rows) == N * N and all(r["value_end"] is not None for r in rows)
    with pytest.raises(QgsProcessingException, match="plr_2030"):
        run_alg("kommunalmonitor:serieschange", dict(params, AREA_SET="plr_2030"))


def test_evaluate_a_measure_from_a_measures_table(run_alg, tmp_path):
    """The store's measures table gives areas, start and name; same result as listing them."""
    measures = pd.DataFrame({"measure_id": ["M1", "M2"], "name": ["Quartiersmanagement", "Anderes"],
                             "area_ids": ["P07,P14,P21,P28", "P01,P02"], "start_period": ["2020", "2019"]})
    common = {"OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
              "INDICATOR": "alq", "N_MATCHES": 2, "PERMUTATIONS": 99, "SEED": 3}
    from_table = run_alg("kommunalmonitor:evaluatemeasure", dict(
        common, MEASURES=_table(measures, "mon_measures"), MEASURE_ID="M1", OUTPUT=str(tmp_path / "a.gpkg")))
    listed = run_alg("kommunalmonitor:evaluatemeasure", dict(
        common, MEASURE_AREAS="P07, P14, P21, P28", START="2020", OUTPUT=str(tmp_path / "b.gpkg")))
    assert from_table["ESTIMATE"] == pytest.approx(listed["ESTIMATE"])
    assert from_table["P_VALUE"] == listed["P_VALUE"]
    assert "Quartiersmanagement" in from_table["TEXT"]


def test_target_status_leaves_out_targets_of_other_area_sets(run_alg, tmp_path):
    goals = pd.DataFrame([{"goal_id": g, "level": "target", "indicator": "alq", "scope": "city",
                           "baseline_period": "2018", "target_value": 9.0, "target_period": "2026",
                           "direction": "decrease", "area_set": s} for g, s in (("T1", "plr_new"), ("T9", "plr_old"))])
    res = run_alg("kommunalmonitor:targetstatus", {
        "OBSERVATIONS": _table(_observations(), "Beobachtungen"), "AREAS": _areas(), "AREAS_ID": "plr",
        "GOALS": _table(goals, "Ziele"), "AREA_SET": "plr_new", "OUTPUT": str(tmp_path / "z.gpkg")})
    assert {r["goal_id"] for r in _features(res["OUTPUT"])} == {"T1"}
