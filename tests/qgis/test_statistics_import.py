"""The statistics import algorithm on Berlin's real tables and a hand-made awkward file."""
import glob
import os

import pytest


def _layer(path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid(), path
    return layer


def test_berlin_residents_joined_to_542_planning_areas(run_alg, berlin_dir, tmp_path):
    from qgis.core import QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    out = str(tmp_path / "joined.gpkg")
    results = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"),
        "AREAS": os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"),
        "AREA_KEY_FIELD": "PLR_ID", "OUTPUT": out}, feedback=feedback)
    assert results["MATCHED"] == 542 and results["UNMATCHED_TABLE"] == 0
    layer = _layer(results["OUTPUT"])
    assert layer.featureCount() == 542
    names = layer.fields().names()
    assert "Gesamt" in names and "PLR-ID" not in names
    by_id = {f["PLR_ID"]: f for f in layer.getFeatures()}
    assert by_id["01100101"]["Gesamt"] == 3503
    # the five suppressed planning areas are NULL, not zero
    from qgis.core import NULL

    assert by_id["03400831"]["Gesamt"] == NULL
    assert by_id["03300515"]["Gesamt"] == 52 and by_id["03300515"]["18-27"] == NULL
    log = feedback.textLog()
    assert "PLR-ID" in log and "–" in log


def test_half_yearly_series_without_geometry(run_alg, berlin_dir, tmp_path):
    files = sorted(glob.glob(os.path.join(berlin_dir, "einwohner_plr_zeitreihe", "*-2021-0?-t1-*.csv")))
    results = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": files[0], "MORE_FILES": files[1:], "OUTPUT": str(tmp_path / "wide.gpkg"),
        "OUTPUT_SERIES": str(tmp_path / "series.gpkg")})
    wide = _layer(results["OUTPUT"])
    assert wide.featureCount() == 542
    assert {"id", "inhabitants_2021_H1", "inhabitants_2021_H2"} <= set(wide.fields().names())
    series = _layer(results["OUTPUT_SERIES"])
    assert series.fields().names()[1:6] == ["id", "indicator", "period", "value", "status"]
    first = next(series.getFeatures("\"id\" = '01100101' AND \"indicator\" = 'inhabitants'"))
    assert first["period"] == "2021-H1" and first["value"] == 3436


def test_awkward_cp1252_wide_table_with_numeric_layer_keys(run_alg, tmp_path):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    table = tmp_path / "bezirke.csv"
    table.write_bytes(("Einwohner in den Stadtteilen;;;\r\nQuelle: Stadt;;;\r\n"
                       "Stadtteil;Name;EW 2021;EW 2022\r\n"
                       "001;Altstadt;1.234;1.250\r\n002;Süd;–;12,5\r\n003;Nord;10;\r\n").encode("cp1252"))
    areas = QgsVectorLayer("Polygon?crs=EPSG:25832", "Stadtteile", "memory")
    areas.dataProvider().addAttributes([QgsField("nr", QVariant.Int)])
    areas.updateFields()
    for n in (1, 2, 4):
        feature = QgsFeature(areas.fields())
        feature.setAttributes([n])
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({n} 0, {n + 1} 0, {n + 1} 1, {n} 1, {n} 0))"))
        areas.dataProvider().addFeature(feature)
    results = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": str(table), "LAYOUT": 1, "AREAS": areas, "AREA_KEY_FIELD": "nr", "NOTATION": 1,
        "OUTPUT": str(tmp_path / "out.gpkg")})
    assert results["MATCHED"] == 2 and results["UNMATCHED_AREAS"] == 1 and results["UNMATCHED_TABLE"] == 1
    layer = _layer(results["OUTPUT"])
    values = {f["nr"]: (f["EW_2021"], f["EW_2022"]) for f in layer.getFeatures()}
    from qgis.core import NULL

    assert values[1] == (1234, 1250) and values[2] == (NULL, 12.5) and values[4] == (NULL, NULL)


def test_refusals_name_what_to_fix(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    table = tmp_path / "t.csv"
    table.write_text("key;ew\n01;1.234\n02;4.444\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="ew"):
        run_alg("kommunalmonitor:statisticsimport", {"INPUT": str(table), "OUTPUT": str(tmp_path / "o.gpkg")})
    with pytest.raises(QgsProcessingException, match="period column"):
        run_alg("kommunalmonitor:statisticsimport", {"INPUT": str(table), "LAYOUT": 2, "NOTATION": 1,
                                                     "OUTPUT": str(tmp_path / "o.gpkg")})
    assert not os.path.exists(tmp_path / "o.gpkg")


def test_mss_table_with_minus_9999_declared_as_missing(run_alg, berlin_dir, tmp_path):
    from qgis.core import NULL, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    undeclared = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
        "OUTPUT": str(tmp_path / "raw.gpkg")}, feedback=feedback)
    assert "-9999" in feedback.textLog()  # the planner is told before the code distorts anything
    results = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), "MISSING_CODES": "-9999",
        "AREAS": os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"),
        "AREA_KEY_FIELD": "PLR_ID", "OUTPUT": str(tmp_path / "mss.gpkg")})
    layer = _layer(results["OUTPUT"])
    by_id = {f["PLR_ID"]: f for f in layer.getFeatures()}
    assert by_id["03300515"]["S1"] == NULL and by_id["01100101"]["S1"] == pytest.approx(4.22594)
    assert results["MATCHED"] == 542 and undeclared["UNMATCHED_TABLE"] == 542


def test_long_table_finds_its_period_column(run_alg, tmp_path):
    table = tmp_path / "long.csv"
    table.write_text("Gebiet;Jahr;Einwohner\n01;2021;100\n01;2022;110\n02;2021;200\n02;2022;–\n", encoding="utf-8")
    results = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": str(table), "LAYOUT": 2, "OUTPUT": str(tmp_path / "wide.gpkg"),
        "OUTPUT_SERIES": str(tmp_path / "series.gpkg")})
    wide = _layer(results["OUTPUT"])
    rows = {f["Gebiet"]: (f["Einwohner_2021"], f["Einwohner_2022"]) for f in wide.getFeatures()}
    from qgis.core import NULL

    assert rows == {"01": (100, 110), "02": (200, NULL)}
    statuses = {(f["Gebiet"], f["period"]): f["status"] for f in _layer(results["OUTPUT_SERIES"]).getFeatures()}
    assert statuses[("02", "2022")] == "suppressed" and statuses[("01", "2021")] == NULL
