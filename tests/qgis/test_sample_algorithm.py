"""The Processing algorithm writes Musterstadt files that QGIS itself opens correctly."""
import os

import pytest

from kommunalmonitor.core import i18n


@pytest.fixture(scope="module")
def results(qgis_app, tmp_path_factory):
    from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingFeedback)

    folder = str(tmp_path_factory.mktemp("musterstadt_alg"))
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(
        "kommunalmonitor:samplemunicipality")
    assert algorithm is not None
    context = QgsProcessingContext()
    params = {"N_BLOCKS": "600", "SEED": "3", "OUTPUT_FOLDER": folder}  # strings, like qgis_process
    ok, message = algorithm.checkParameterValues(params, context)
    assert ok, message
    feedback = QgsProcessingFeedback()
    out, ok = algorithm.run(params, context, feedback)
    assert ok
    return out, folder, context


def test_outputs_are_the_written_files(results):
    out, folder, _ = results
    assert out["OUTPUT_FOLDER"] == folder
    assert out["GPKG"] == os.path.join(folder, "musterstadt.gpkg")
    for key, name in (("NOISE", "noise_lden_10m.tif"), ("GREEN", "green_cover_10m.tif"),
                      ("IMPERVIOUS", "impervious_10m.tif"), ("HEAT", "surface_heat_10m.tif"),
                      ("ZENSUS", "zensus_100m.csv")):
        assert out[key] == os.path.join(folder, name)
        assert os.path.getsize(out[key]) > 1000
    assert os.path.exists(os.path.join(folder, "README.txt"))


def test_qgis_opens_the_geopackage(results):
    from qgis.core import QgsVectorLayer, QgsWkbTypes

    import geopandas as gpd

    out, _, _ = results
    for name, geometry in (("blocks", QgsWkbTypes.PolygonGeometry),
                           ("planning_areas", QgsWkbTypes.PolygonGeometry),
                           ("districts", QgsWkbTypes.PolygonGeometry),
                           ("roads", QgsWkbTypes.LineGeometry),
                           ("schools", QgsWkbTypes.PointGeometry),
                           ("kitas", QgsWkbTypes.PointGeometry)):
        layer = QgsVectorLayer(f"{out['GPKG']}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        assert layer.crs().authid() == "EPSG:25832", name
        assert layer.featureCount() == len(gpd.read_file(out["GPKG"], layer=name)), name
        assert layer.geometryType() == geometry, name
    blocks = QgsVectorLayer(f"{out['GPKG']}|layername=blocks", "b", "ogr")
    names = blocks.fields().names()
    for field in ("block_id", "plr_id", "district_id", "pop_2022", "unemployed_2022", "rent_per_m2"):
        assert field in names
    assert 500 < blocks.featureCount() < 720  # asked for about 600
    total = sum(f["pop_2022"] for f in blocks.getFeatures())
    assert total == gpd.read_file(out["GPKG"], layer="blocks")["pop_2022"].sum()
    assert 180_000 < total < 320_000


def test_qgis_opens_the_rasters(results):
    from qgis.core import QgsRasterLayer

    out, _, _ = results
    layer = QgsRasterLayer(out["NOISE"], "noise")
    assert layer.isValid()
    assert layer.crs().authid() == "EPSG:25832"
    assert layer.rasterUnitsPerPixelX() == pytest.approx(10.0)
    provider = layer.dataProvider()
    assert provider.sourceHasNoDataValue(1) and provider.sourceNoDataValue(1) == -9999
    stats = provider.bandStatistics(1)
    assert 25 < stats.minimumValue and stats.maximumValue < 85


def test_desktop_loads_blocks_areas_and_noise(results):
    _, _, context = results
    details = context.layersToLoadOnCompletion()
    assert len(details) == 3
    assert any(k.endswith("|layername=blocks") for k in details)
    assert any(k.endswith("|layername=planning_areas") for k in details)
    assert any(k.endswith("noise_lden_10m.tif") for k in details)


def test_run_alg_and_bad_block_count(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException):
        run_alg("kommunalmonitor:samplemunicipality",
                {"N_BLOCKS": 100, "SEED": 1, "OUTPUT_FOLDER": str(tmp_path)})


def test_algorithm_texts_in_both_languages(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById("kommunalmonitor:samplemunicipality")
    with i18n.language("de"):
        assert algorithm.displayName() == "Musterkommune erzeugen (Musterstadt)"
        assert "synthetisch" in algorithm.shortHelpString()
    with i18n.language("en"):
        assert algorithm.displayName() == "Create sample municipality (Musterstadt)"
        assert algorithm.group() == "1 Data and sample municipality"


def test_temporary_output_folder(run_alg):
    out = run_alg("kommunalmonitor:samplemunicipality",
                  {"N_BLOCKS": 500, "SEED": 11, "OUTPUT_FOLDER": "TEMPORARY_OUTPUT"})
    assert os.path.isdir(out["OUTPUT_FOLDER"]) and out["OUTPUT_FOLDER"] != "TEMPORARY_OUTPUT"
    assert os.path.exists(out["GPKG"]) and os.path.dirname(out["GPKG"]) == out["OUTPUT_FOLDER"]


def test_files_open_styled(results):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    out, _, _ = results
    roads = QgsVectorLayer(f"{out['GPKG']}|layername=roads", "roads", "ogr")
    assert roads.renderer().type() == "categorizedSymbol"
    assert [c.value() for c in roads.renderer().categories()] == ["arterial", "primary"]
    rivers = QgsVectorLayer(f"{out['GPKG']}|layername=rivers", "rivers", "ogr")
    assert rivers.renderer().symbol().color().name() == "#3c82c8"
    noise = QgsRasterLayer(out["NOISE"], "noise")
    assert noise.renderer().type() == "singlebandpseudocolor"
    blocks = QgsVectorLayer(f"{out['GPKG']}|layername=blocks", "blocks", "ogr")
    assert blocks.renderer().symbol().color().name() == "#ebe8e0"
    kitas = QgsVectorLayer(f"{out['GPKG']}|layername=kitas", "kitas", "ogr")
    assert kitas.renderer().symbol().color().name() == "#e65a78"


def test_styles_stored_with_the_files(results):
    """The algorithm stores the shipped styles: a default style per GeoPackage layer, the
    raster .qml files beside the rasters, identical to resources/styles/sample_<key>.qml."""
    import sqlite3

    from kommunalmonitor.processing.styling import style_path

    out, _, _ = results
    with sqlite3.connect(out["GPKG"]) as con:
        styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault")}
    assert styled == {"blocks", "planning_areas", "districts", "rivers", "railways", "roads",
                      "city_boundary", "schools", "kitas"}
    for key, out_key in (("noise", "NOISE"), ("green", "GREEN"), ("impervious", "IMPERVIOUS"),
                         ("heat", "HEAT")):
        qml = os.path.splitext(out[out_key])[0] + ".qml"
        with open(qml, encoding="utf-8") as written, open(style_path(f"sample_{key}"),
                                                           encoding="utf-8") as shipped:
            text = written.read()
            assert text == shipped.read()
        assert "singlebandpseudocolor" in text
