"""Outputs open styled with legends in the interface language: shipped .qml legends (English or
bilingual) translated, status/dynamics and transferred values styled from their own data, and
the style stored in the GeoPackage so the file opens styled anywhere."""
import os

import pytest

from kommunalmonitor.core import i18n


def _polygons(field, values):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer("Polygon?crs=EPSG:25832", "areas", "memory")
    layer.dataProvider().addAttributes([QgsField(field, QVariant.Int)])
    layer.updateFields()
    for n, value in enumerate(values):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([value])
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({n} 0,{n + 1} 0,{n + 1} 1,{n} 1,{n} 0))"))
        layer.dataProvider().addFeature(feature)
    return layer


@pytest.mark.parametrize("lang, first, last", [
    ("de", "Priorität 1 (höchste)", "Keine Priorität (zu wenige Einwohner oder keine Daten)"),
    ("en", "Priority 1 (highest)", "No priority (too few residents or no data)")])
def test_bilingual_qml_legend_in_one_language(qgis_app, lang, first, last):
    from kommunalmonitor.processing.styling import apply_style

    layer = _polygons("priority", [1, 2, 3, 4, 0])
    with i18n.language(lang):
        apply_style(layer, "priorities_levels.qml")
    labels = [c.label() for c in layer.renderer().categories()]
    assert labels[0] == first and labels[-1] == last
    assert not any(" / " in label for label in labels)


def test_english_qml_legend_translated(qgis_app):
    from kommunalmonitor.processing.styling import apply_style

    layer = _polygons("burden_count", [0, 1, 2])
    with i18n.language("de"):
        apply_style(layer, "burden_count.qml")
    labels = [c.label() for c in layer.renderer().categories()]
    assert "1 hohe Belastung" in labels


def test_graduated_legend_in_german_number_notation(qgis_app):
    from kommunalmonitor.processing.styling import graduated_style

    layer = _polygons("ew", [1000, 2500, 4000, 12000, 30000])
    with i18n.language("de"):
        graduated_style(["missing", "ew"])(layer)
    renderer = layer.renderer()
    assert renderer.type() == "graduatedSymbol" and renderer.classAttribute() == "ew"
    labels = [r.label() for r in renderer.ranges()]
    assert labels[0].startswith("1.000 – ") and labels[-1].endswith(" – 30.000")
    flat = _polygons("x", [5, 5, 5])
    graduated_style(["x"])(flat)  # nothing to classify: outlines instead of a one-class map
    assert flat.renderer().type() == "singleSymbol"


def test_mss_from_the_statistics_import_opens_styled_with_german_status_classes(run_alg, berlin_dir, tmp_path):
    from qgis.core import QgsVectorLayer

    with i18n.language("de"):
        joined = run_alg("kommunalmonitor:statisticsimport", {
            "INPUT": os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), "MISSING_CODES": "-9999",
            "AREAS": os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"),
            "AREA_KEY_FIELD": "PLR_ID", "OUTPUT": str(tmp_path / "mss.gpkg")})["OUTPUT"]
        opened = QgsVectorLayer(joined, "mss", "ogr")
        assert opened.renderer().type() == "graduatedSymbol"  # the table's first value column
        result = run_alg("kommunalmonitor:statusdynamics", {
            "INPUT": joined, "STATUS_INDICATORS": ["S1", "S3", "S4"], "DYNAMICS_INDICATORS": ["D1", "D3", "D4"],
            "POPULATION_FIELD": "EW", "EXCLUDE_FIELD": "KOM", "EXCLUDE_VALUE": "ungültig (Ausreißer)",
            "OUTPUT": str(tmp_path / "status.gpkg")})
    layer = QgsVectorLayer(result["OUTPUT"], "status", "ogr")  # a fresh layer: the stored default style
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol" and "status_class" in renderer.classAttribute()
    labels = [c.label() for c in renderer.categories()]
    assert labels[0].startswith("sehr niedrig") and "Gebiete" in labels[0]
    assert any(label.startswith("hoch") for label in labels)
    # the index from the shipped MSS catalogue opens styled as well, in German with counts
    with i18n.language("de"):
        catalogue = run_alg("kommunalmonitor:catalogueindex", {
            "INPUT": joined, "CATALOGUE": 0, "OUTPUT": str(tmp_path / "catalogue.gpkg")})
    index_layer = QgsVectorLayer(catalogue["OUTPUT"], "index", "ogr")  # kept: it owns the renderer
    renderer = index_layer.renderer()
    assert renderer.type() == "categorizedSymbol"
    assert all("Gebiet" in c.label() for c in renderer.categories())


def test_supply_ratio_map_darkest_where_supply_is_lowest(qgis_app):
    from kommunalmonitor.processing.styling import SEQUENTIAL, graduated_style

    layer = _polygons("supply", [5, 10, 20, 40, 80])
    graduated_style(["supply"], high_is_good=True)(layer)
    ranges = layer.renderer().ranges()
    assert ranges[0].symbol().color().name() == SEQUENTIAL[-1]  # lowest supply: darkest
    assert ranges[-1].symbol().color().name() == SEQUENTIAL[0]
