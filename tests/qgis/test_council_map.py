"""Council map and aggregation through the Processing registry, offscreen."""
import os
import subprocess

import numpy as np
import pytest


@pytest.fixture
def index_gpkg(tmp_path):
    """48 square planning areas with index classes like the composite index writes them."""
    import geopandas as gpd
    from shapely.geometry import box

    rng = np.random.default_rng(7)
    geoms = [box(390000 + i * 1500, 5810000 + j * 1500, 391500 + i * 1500, 5811500 + j * 1500)
             for i in range(8) for j in range(6)]
    index = rng.normal(size=len(geoms))
    index[:2] = [2.5, 2.2]  # two areas with very high need
    classes = 1 + (index >= -1).astype(int) + (index > 1).astype(int) + (index > 1.5).astype(int)
    labels = {1: "geringer Bedarf", 2: "durchschnittlich", 3: "erhöhter Bedarf", 4: "sehr hoher Bedarf"}
    frame = gpd.GeoDataFrame({
        "plr_id": [f"{k:03d}" for k in range(len(geoms))],
        "plr_name": [f"Gebiet {k} Süd" for k in range(len(geoms))],
        "z_unemployment_rate": index, "z_child_poverty": index, "index": index,
        "index_class": classes, "index_label": [labels[c] for c in classes],
        "included": [True] * (len(geoms) - 1) + [False]}, geometry=geoms, crs="EPSG:25833")
    path = str(tmp_path / "index.gpkg")
    frame.to_file(path, layer="index", driver="GPKG")
    return path + "|layername=index", frame


def _pdf_text(path):
    return subprocess.run(["pdftotext", "-raw", path, "-"], capture_output=True, text=True,
                          check=True).stdout


def _pdf_pages(path):
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return int(fields["Pages"]), fields["Page size"].strip()


def _render(path, tmp_path):
    """First page as a QImage via pdftoppm -png -r 50."""
    from qgis.PyQt.QtGui import QImage

    prefix = str(tmp_path / "page")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", path, prefix], check=True)
    png = [f for f in os.listdir(tmp_path) if f.startswith("page") and f.endswith(".png")][0]
    return QImage(str(tmp_path / png))


def _colour_share(image, hex_colour, tolerance=12):
    """Share of pixels (sampled on a grid) within ``tolerance`` of a colour."""
    from qgis.PyQt.QtGui import QColor

    target = QColor(hex_colour)
    hits = total = 0
    for x in range(0, image.width(), 3):
        for y in range(0, image.height(), 3):
            c = QColor(image.pixel(x, y))
            total += 1
            if (abs(c.red() - target.red()) <= tolerance and abs(c.green() - target.green()) <= tolerance
                    and abs(c.blue() - target.blue()) <= tolerance):
                hits += 1
    return hits / total


def test_council_map_pdf_in_german(run_alg, index_gpkg, tmp_path):
    from kommunalmonitor.core.mapping import WARM

    path, frame = index_gpkg
    pdf = str(tmp_path / "karte.pdf")
    result = run_alg("kommunalmonitor:councilmap", {
        "INPUT": path, "LABEL_FIELD": "plr_name", "PLACE": "Teststadt", "YEAR": "2024",
        "SOURCE_NOTE": "Daten: Amt für Statistik Teststadt", "LANGUAGE": 1, "OUTPUT": pdf})
    assert result["OUTPUT"] == pdf
    with open(pdf, "rb") as fh:
        assert fh.read(4) == b"%PDF"
    pages, size = _pdf_pages(pdf)
    assert pages == 1 and "A3" in size and size.startswith("1191")  # landscape
    text = " ".join(_pdf_text(pdf).split())
    assert "Sozialindex Teststadt 2024" in text
    assert "Indikatoren: Arbeitslosenquote, Kinderarmut · Stand:" in text
    assert "Der Index ist eine Suchstrategie, kein Urteil: markierte Gebiete werden vor Ort geprüft." in text
    assert "Indexklasse" in text and "Daten: Amt für Statistik Teststadt" in text
    n_high = int(((frame["index_class"] == 4) & frame["included"]).sum())
    assert f"sehr hoher Bedarf ({n_high} Gebiete)" in text
    # the not-rated entry wraps inside the page (text beyond the page edge would be missing)
    assert "nicht bewertet (1 Gebiet) (zu wenige Einwohner oder keine Daten)" in text
    assert "Gebiet 0 Süd" in text  # area labels with umlauts
    assert "km" in text  # scale bar
    image = _render(pdf, tmp_path)
    assert not image.isNull() and image.width() > image.height()
    white = _colour_share(image, "#ffffff", 3)
    assert white < 0.9, "first page is (almost) blank"
    assert _colour_share(image, WARM[1], 10) > 0.001  # the very-high-need class is on the map


def test_council_map_in_english_and_generated_texts(run_alg, index_gpkg, tmp_path):
    path, _ = index_gpkg
    pdf = str(tmp_path / "map.pdf")
    run_alg("kommunalmonitor:councilmap", {"INPUT": path, "PLACE": "Sampletown", "LANGUAGE": 2,
                                           "OUTPUT": pdf})
    text = " ".join(_pdf_text(pdf).split())
    assert "Social index Sampletown" in text
    assert "The index is a search strategy, not a verdict" in text
    assert "Indicators: Unemployment rate, Child poverty · as of" in text
    assert "Data: index. Map: Kommunalmonitor." in text
    assert "Gebiet 0 Süd" not in text  # no label field given: no labels


def test_council_map_missing_class_field_names_it(run_alg, index_gpkg, tmp_path):
    from qgis.core import QgsProcessingException

    path, _ = index_gpkg
    with pytest.raises(QgsProcessingException, match="klasse|class"):
        run_alg("kommunalmonitor:councilmap", {"INPUT": path, "CLASS_FIELD": "no_such_field",
                                               "OUTPUT": str(tmp_path / "x.pdf")})


def test_council_map_is_main_thread_only(qgis_app):
    from qgis.core import QgsApplication, QgsProcessingAlgorithm

    algorithm = QgsApplication.processingRegistry().algorithmById("kommunalmonitor:councilmap")
    assert algorithm.flags() & QgsProcessingAlgorithm.FlagNoThreading


def test_aggregate_algorithm_sums_rates_and_stores_style(run_alg, tmp_path):
    import geopandas as gpd
    from qgis.core import QgsVectorLayer
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"plr_id": ["A", "B"], "plr_name": ["Altstadt", "Bahnhof"]},
                             geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:25833")
    blocks = gpd.GeoDataFrame({"pop": [100, 900, 400], "unemployed": [10, 9, 40]},
                              geometry=[box(1, 1, 4, 4), box(5, 5, 9, 9), box(8, 0, 18, 4)],
                              crs="EPSG:25833")
    source = str(tmp_path / "in.gpkg")
    areas.to_file(source, layer="areas", driver="GPKG")
    blocks.to_file(source, layer="blocks", driver="GPKG")
    output = str(tmp_path / "out.gpkg")
    result = run_alg("kommunalmonitor:aggregatetoareas", {
        "BLOCKS": source + "|layername=blocks", "AREAS": source + "|layername=areas",
        "AREA_ID_FIELD": "plr_id", "COUNT_FIELDS": ["pop"],
        "RATES": "unemployment_rate = unemployed / pop * 100", "MIN_BASE": 500, "OUTPUT": output})
    layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
    rows = {f["plr_id"]: f for f in layer.getFeatures()}
    assert rows["A"]["pop"] == 1000 and rows["B"]["pop"] == 400
    assert rows["A"]["unemployment_rate"] == pytest.approx(1.9)
    assert rows["B"]["unemployment_rate"] == pytest.approx(10.0)
    assert rows["B"]["unemployment_rate_small"] in (True, 1)
    assert rows["A"]["plr_name"] == "Altstadt" and rows["A"]["n_blocks"] == 2
    # the style is stored as the GeoPackage default, so the file opens styled
    styles = QgsVectorLayer(output + "|layername=layer_styles", "styles", "ogr")
    defaults = [f["useAsDefault"] for f in styles.getFeatures()]
    assert defaults and all(defaults)


def test_style_post_processor_styles_the_loaded_layer(qgis_app):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    from kommunalmonitor.processing import styling

    layer = QgsVectorLayer("Polygon?crs=EPSG:25833&field=index_class:integer", "x", "memory")
    processor = styling.StylePostProcessor("index_classes.qml")
    processor.postProcessLayer(layer, QgsProcessingContext(), QgsProcessingFeedback())
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol"
    assert [c.label() for c in renderer.categories()][:4] == [
        "very high need", "elevated need", "average", "low need"]


def test_auto_language_is_german_unless_qgis_runs_in_english(qgis_app):
    from qgis.PyQt.QtCore import QSettings

    from kommunalmonitor.processing.algorithms.council_map import auto_language

    settings = QSettings()
    before = settings.value("locale/userLocale", None)
    try:
        settings.remove("locale/userLocale")
        assert auto_language() == "de"  # fresh profile / qgis_process
        settings.setValue("locale/userLocale", "en_GB")
        assert auto_language() == "en"
        settings.setValue("locale/userLocale", "fr_FR")
        assert auto_language() == "de"
    finally:
        if before is None:
            settings.remove("locale/userLocale")
        else:
            settings.setValue("locale/userLocale", before)


def test_long_legend_labels_shrink_to_fit_the_panel(qgis_app, index_gpkg):
    from qgis.core import QgsProject, QgsVectorLayer

    from kommunalmonitor.core.mapping import map_classes
    from kommunalmonitor.processing import layout as L

    path, frame = index_gpkg
    frame = frame.assign(index_label=frame["index_label"] + " – ein sehr langer Legendentext zur Probe")
    project = QgsProject()
    layer = QgsVectorLayer(path, "index", "ogr")
    project.addMapLayer(layer)
    classes = map_classes(frame, "index_class", "index_label", lang="de")
    spec = L.CouncilMapSpec("T", "S", "Q", "N", classes, "index_class")
    L.style_index_layer(layer, classes, "index_class")
    layout = L.build_council_map(layer, spec, project)
    legend = layout.itemById("legend")
    right = legend.positionWithUnits().x() + legend.sizeWithUnits().width()
    assert legend.sizeWithUnits().width() > 0
    assert right <= L.PAGE_W - L.MARGIN + 0.5 or \
        legend.rstyle(L.QgsLegendStyle.SymbolLabel).font().pointSizeF() <= 7.0


def test_index_classes_style_from_the_data(qgis_app, index_gpkg):
    from qgis.core import QgsVectorLayer

    from kommunalmonitor.core.i18n import language
    from kommunalmonitor.processing import styling

    path, frame = index_gpkg
    layer = QgsVectorLayer(path, "index", "ogr")
    with language("de"):
        styling.index_classes_style(layer, name_field="plr_name")
    labels = [c.label() for c in layer.renderer().categories()]
    n_high = int(((frame["index_class"] == 4) & frame["included"]).sum())
    assert labels[0] == f"sehr hoher Bedarf ({n_high} Gebiete)"
    assert labels[-1].startswith("nicht bewertet (1 Gebiet)")
    assert layer.labelsEnabled() and layer.labeling().settings().fieldName == "plr_name"


def test_council_map_refuses_an_empty_layer(run_alg, tmp_path):
    from qgis.core import QgsProcessingException, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:25832&field=index_class:integer", "leer", "memory")
    out = tmp_path / "empty.pdf"
    with pytest.raises(QgsProcessingException, match="no features"):
        run_alg("kommunalmonitor:councilmap", {"INPUT": layer, "OUTPUT": str(out)})
    assert not out.exists()


def test_council_map_legend_title_for_other_maps(run_alg, index_gpkg, tmp_path):
    path, _ = index_gpkg
    pdf = str(tmp_path / "prioritaeten.pdf")
    run_alg("kommunalmonitor:councilmap", {"INPUT": path, "LEGEND_TITLE": "Priorität",
                                           "LANGUAGE": 1, "OUTPUT": pdf})
    text = " ".join(_pdf_text(pdf).split())
    assert "Priorität" in text and "Indexklasse" not in text
