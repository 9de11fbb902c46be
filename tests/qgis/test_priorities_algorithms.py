"""Processing algorithms of the priorities group: hot spots, typology, planning priorities."""
import numpy as np
import pytest


def _grid_layer(n=10, seed=3):
    """A memory layer of n×n square areas with a planted hot spot in the middle."""
    from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsVectorLayer

    rng = np.random.default_rng(seed)
    layer = QgsVectorLayer("Polygon?crs=EPSG:25833&field=plr:string&field=ew:double&field=kinder:double"
                           "&field=armut:double&field=laerm:double", "Planungsräume", "memory")
    features = []
    for r in range(n):
        for c in range(n):
            f = QgsFeature(layer.fields())
            f.setGeometry(QgsGeometry.fromWkt(
                f"POLYGON(({c*100} {r*100},{c*100+100} {r*100},{c*100+100} {r*100+100},{c*100} {r*100+100},"
                f"{c*100} {r*100}))"))
            hot = 3 <= r <= 6 and 3 <= c <= 6
            armut = rng.normal(10, 2) + (15 if hot else 0)
            laerm = rng.normal(50, 3) + (10 if c > 5 else 0)
            ew = 250.0 if (r, c) == (0, 0) else float(rng.integers(1000, 9000))
            f.setAttributes([f"P{r:02d}{c:02d}", ew, round(ew * 0.15), float(armut), float(laerm)])
            features.append(f)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def _features(path_or_layer):
    from qgis.core import QgsVectorLayer

    layer = path_or_layer if not isinstance(path_or_layer, str) else QgsVectorLayer(path_or_layer, "o", "ogr")
    assert layer.isValid()
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


def test_hot_spots_algorithm(run_alg, tmp_path):
    layer = _grid_layer()
    out = str(tmp_path / "hot.gpkg")
    res = run_alg("kommunalmonitor:hotspots", {"INPUT": layer, "FIELD": "armut", "PERMUTATIONS": 199,
                                               "SEED": 7, "OUTPUT": out})
    rows = _features(res["OUTPUT"])
    assert len(rows) == 100
    centre = [r for r in rows if r["plr"] in ("P0404", "P0405", "P0504", "P0505")]
    assert all(r["lisa_code"] == "HH" for r in centre) and all(r["gi_bin"] >= 2 for r in centre)
    assert {r["lisa_label"] for r in centre} == {"High–high (hot spot)"}
    again = _features(run_alg("kommunalmonitor:hotspots", {"INPUT": layer, "FIELD": "armut", "PERMUTATIONS": 199,
                                                           "SEED": 7, "OUTPUT": str(tmp_path / "h2.gpkg")})["OUTPUT"])
    assert [r["lisa_p"] for r in rows] == [r["lisa_p"] for r in again]


def test_degenerate_input_gives_a_processing_error(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    layer = _grid_layer(2)
    with pytest.raises(QgsProcessingException, match="at least 3 areas|k = 6"):
        run_alg("kommunalmonitor:hotspots", {"INPUT": layer, "FIELD": "armut", "WEIGHTS": 2,
                                             "OUTPUT": "TEMPORARY_OUTPUT"})
    with pytest.raises(QgsProcessingException, match="at most 3"):
        run_alg("kommunalmonitor:typology", {"INPUT": layer, "FIELDS": ["armut", "laerm"], "K": 5,
                                             "OUTPUT": "TEMPORARY_OUTPUT", "PROFILES": "TEMPORARY_OUTPUT"})


def test_typology_then_priorities_with_decision_table(run_alg, tmp_path):
    import openpyxl

    layer = _grid_layer()
    res = run_alg("kommunalmonitor:typology", {
        "INPUT": layer, "FIELDS": ["armut", "laerm"], "K": 0, "K_MIN": 2, "K_MAX": 5, "BOOTSTRAP": 10,
        "LABELS": "armut = Kinderarmut / child poverty : f",
        "SEED": 1, "OUTPUT": str(tmp_path / "typ.gpkg"), "PROFILES": str(tmp_path / "prof.gpkg"),
        "CURVE": str(tmp_path / "curve.gpkg")})
    rows = _features(res["OUTPUT"])
    assert {"cluster", "cluster_name", "cluster_name_de", "stability"} <= set(rows[0])
    centre = [r for r in rows if r["plr"] == "P0404"][0]
    assert centre["cluster"] == 1 and "high child poverty" in centre["cluster_name_en"]
    assert "hohe Kinderarmut" in centre["cluster_name_de"]
    assert all(0 <= r["stability"] <= 1 for r in rows)
    profiles = _features(res["PROFILES"])
    assert {p["indicator"] for p in profiles} == {"armut", "laerm"} and all(0 <= p["r2"] <= 1 for p in profiles)
    curve = _features(res["CURVE"])
    assert [c["k"] for c in curve] == [2, 3, 4, 5] and sum(bool(c["chosen"]) for c in curve) == 1

    table = str(tmp_path / "entscheidung.xlsx")
    res = run_alg("kommunalmonitor:planningpriorities", {
        "INPUT": res["OUTPUT"], "RULE": 2, "CLUSTER_FIELD": "cluster", "ID_FIELD": "plr",
        "POPULATION_FIELD": "ew", "CHILDREN_FIELD": "kinder", "MIN_POPULATION": 300,
        "OUTPUT": str(tmp_path / "prio.gpkg"), "TABLE": table})
    prio = _features(res["OUTPUT"])
    by_id = {r["plr"]: r for r in prio}
    assert by_id["P0404"]["priority"] == 1 and "cluster 1" in by_id["P0404"]["reasons_en"]
    assert by_id["P0000"]["priority"] == 0 and "fewer than 300" in by_id["P0000"]["reasons_en"]
    assert all(r["reasons"] for r in prio)
    assert all(r["robustness"] is not None and 0 <= r["robustness"] <= 1 for r in prio if r["priority"] > 0)
    sheet = openpyxl.load_workbook(table)["Prioritaeten"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Planungsraum", "Priorität", "Priorität (Text)", "Gründe", "Robustheit (%)"]
    assert sheet.cell(2, 2).value == 1


def test_priorities_from_index_fields_and_weighted_rule(run_alg, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = _grid_layer()
    hot = run_alg("kommunalmonitor:hotspots", {"INPUT": layer, "FIELD": "armut", "PERMUTATIONS": 999,
                                               "SENSITIVITY": True, "OUTPUT": str(tmp_path / "hot.gpkg")})["OUTPUT"]
    hl = QgsVectorLayer(hot, "hot", "ogr")
    # z-scores and an index as the composite index would write them
    vals = np.array([f["armut"] for f in hl.getFeatures()])
    with_index = str(tmp_path / "idx.gpkg")
    res = run_alg("native:fieldcalculator", {
        "INPUT": hl, "FIELD_NAME": "z_armut", "FIELD_TYPE": 0, "FIELD_LENGTH": 20, "FIELD_PRECISION": 6,
        "FORMULA": f'("armut" - {vals.mean()}) / {vals.std()}', "OUTPUT": str(tmp_path / "z.gpkg")})
    res = run_alg("native:fieldcalculator", {
        "INPUT": res["OUTPUT"], "FIELD_NAME": "index", "FIELD_TYPE": 0, "FIELD_LENGTH": 20, "FIELD_PRECISION": 6,
        "FORMULA": '"z_armut"', "OUTPUT": with_index})
    out = run_alg("kommunalmonitor:planningpriorities", {
        "INPUT": res["OUTPUT"], "RULE": 4, "HOTSPOT_FIELD": "gi_bin",
        "COMBINATION": "index_class=1; hotspot=1", "OUTPUT": str(tmp_path / "p.gpkg"),
        "TABLE": str(tmp_path / "p.csv")})
    rows = _features(out["OUTPUT"])
    centre = [r for r in rows if r["plr"] == "P0505"][0]
    assert centre["priority"] == 1 and "z_armut" not in centre["reasons_en"]
    assert "armut +" in centre["reasons_en"]
    assert all(r["robustness"] is not None for r in rows)
    assert all(0.25 <= r["gi_robust"] <= 1 for r in rows)
    text = open(out["TABLE"], encoding="utf-8-sig").read()
    assert text.startswith("Planungsraum;Priorität;")


COUNTS = ["pop_2022", "pop_0_5_2022", "pop_6_14_2022", "pop_18_64_2022", "unemployed_2022",
          "transfer_recipients_2022", "children_transfer_2022"]
RATES = ("unemployment_rate = unemployed_2022 / pop_18_64_2022 * 100;"
         "transfer_rate = transfer_recipients_2022 / pop_2022 * 100;"
         "child_poverty = children_transfer_2022 / (pop_0_5_2022 + pop_6_14_2022) * 100")
INDICATORS = ["unemployment_rate", "transfer_rate", "child_poverty"]


def test_musterstadt_priorities_on_the_council_map(run_alg, tmp_path):
    """Musterstadt: aggregate → composite index → index robustness → hot spots → priorities → council
    map PDF with the priority levels as legend (German)."""
    import subprocess

    from kommunalmonitor.core import i18n
    from kommunalmonitor.core.sample import generate_sample_municipality, write_sample_municipality

    gpkg = write_sample_municipality(generate_sample_municipality(n_blocks=500, seed=42), str(tmp_path / "ms"))["gpkg"]
    agg = run_alg("kommunalmonitor:aggregatetoareas", {
        "BLOCKS": f"{gpkg}|layername=blocks", "AREAS": f"{gpkg}|layername=planning_areas",
        "AREA_ID_FIELD": "plr_id", "COUNT_FIELDS": COUNTS, "RATES": RATES, "MIN_BASE": 300,
        "OUTPUT": str(tmp_path / "agg.gpkg")})["OUTPUT"]
    idx = run_alg("kommunalmonitor:compositeindex", {
        "INPUT": agg, "INDICATORS": INDICATORS, "POPULATION_FIELD": "pop_2022", "MIN_POPULATION": 300,
        "OUTPUT": str(tmp_path / "idx.gpkg")})["OUTPUT"]
    rob = run_alg("kommunalmonitor:indexrobustness", {
        "INPUT": idx, "INDICATORS": INDICATORS, "POPULATION_FIELD": "pop_2022", "MIN_POPULATION": 300,
        "N_RUNS": 100, "SEED": 1, "OUTPUT": str(tmp_path / "rob.gpkg")})["OUTPUT"]
    i18n.set_language("de")
    prio = run_alg("kommunalmonitor:planningpriorities", {
        "INPUT": rob, "RULE": 0, "ID_FIELD": "plr_id", "NAME_FIELD": "plr_name", "POPULATION_FIELD": "pop_2022",
        "CHILDREN_FIELD": "pop_6_14_2022", "OUTPUT": str(tmp_path / "prio.gpkg"),
        "TABLE": str(tmp_path / "prioritaeten.xlsx")})
    rows = _features(prio["OUTPUT"])
    rated = [r for r in rows if r["included"]]
    assert rated and all(r["priority"] in (1, 2, 3, 4) for r in rated)
    assert all(r["reasons_de"].startswith("Priorität") and "Indexklasse" in r["reasons_de"] for r in rated)
    assert all("SD über dem städtischen Mittel" in r["reasons_de"] for r in rated if r["priority"] <= 2)
    p_base = {r["plr_id"]: r["p_base"] for r in rows}
    assert all(r["robustness"] == pytest.approx(p_base[r["plr_id"]]) for r in rated)
    pdf = str(tmp_path / "prioritaeten.pdf")
    run_alg("kommunalmonitor:councilmap", {
        "INPUT": prio["OUTPUT"], "CLASS_FIELD": "priority", "CLASS_LABEL_FIELD": "priority_label",
        "LABEL_FIELD": "plr_name", "TITLE": "Planungsschwerpunkte Musterstadt 2022", "LANGUAGE": 1,
        "OUTPUT": pdf})
    text = " ".join(subprocess.run(["pdftotext", "-raw", pdf, "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "Planungsschwerpunkte Musterstadt 2022" in text
    levels = sorted({r["priority"] for r in rated})
    for level in levels:
        assert f"Priorität {level}" in text


def test_contiguous_typology(run_alg, tmp_path):
    import geopandas as gpd
    from scipy.sparse.csgraph import connected_components

    from kommunalmonitor.core.priorities.weights import build_weights

    layer = _grid_layer()
    res = run_alg("kommunalmonitor:typology", {
        "INPUT": layer, "FIELDS": ["armut", "laerm"], "CONTIGUOUS": True, "K": 4, "BOOTSTRAP": 3,
        "OUTPUT": str(tmp_path / "typ.gpkg"), "PROFILES": str(tmp_path / "prof.csv")})
    frame = gpd.read_file(res["OUTPUT"])
    w = build_weights(frame, "queen")
    assert sorted(frame["cluster"].unique()) == [1, 2, 3, 4]
    for c in range(1, 5):
        sel = (frame["cluster"] == c).to_numpy().nonzero()[0]
        assert connected_components(w.neighbours[sel][:, sel], directed=False)[0] == 1


def test_number_of_classes_keeps_levels_when_the_top_class_is_empty(run_alg, tmp_path):
    """With 4 index classes but nobody in class 4, class 3 is priority 2, not 1."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:25833&field=plr:string&field=index:double"
                           "&field=index_class:integer&field=z_armut:double", "Gebiete", "memory")
    features = []
    for i, cls in enumerate([1, 2, 2, 3, 2, 1]):
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({i*10} 0,{i*10+10} 0,{i*10+10} 10,{i*10} 10,{i*10} 0))"))
        f.setAttributes([f"P{i}", float(cls) - 2.0, cls, float(cls) - 2.0])
        features.append(f)
    layer.dataProvider().addFeatures(features)
    levels = {}
    for n_classes in (0, 4):
        out = run_alg("kommunalmonitor:planningpriorities", {
            "INPUT": layer, "RULE": 0, "CLASS_FIELD": "index_class", "N_CLASSES": n_classes,
            "OUTPUT": str(tmp_path / f"p{n_classes}.gpkg")})
        levels[n_classes] = {r["plr"]: r["priority"] for r in _features(out["OUTPUT"])}
    assert levels[0]["P3"] == 1 and levels[4]["P3"] == 2
    assert levels[4]["P0"] == 4 and levels[4]["P1"] == 3
