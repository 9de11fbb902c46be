"""Overlay algorithms run as a planner would: real Berlin files, memory outputs (QGIS stack)."""
import os

import pytest


def _run(run_alg, algorithm_id, params):
    """Run into a memory layer; return the output layer."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    context = QgsProcessingContext()
    results = run_alg(algorithm_id, dict(params, OUTPUT="memory:"), context=context)
    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    return context.temporaryLayerStore().takeMapLayer(layer)


def _rows(layer):
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


def _vector(path, name="layer"):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, name, "ogr")
    assert layer.isValid(), path
    return layer


def _csv(path, name):
    from qgis.core import QgsVectorLayer

    uri = "file://" + path + "?delimiter=;&detectTypes=yes&geomType=none"
    layer = QgsVectorLayer(uri, name, "delimitedtext")
    assert layer.isValid(), path
    return layer


@pytest.fixture(scope="module")
def plr_path(berlin_dir):
    return os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp")


def test_all_four_algorithms_registered(qgis_app):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    for name in ("areainterpolation", "gridtoareas", "pointstoareas", "accessibility"):
        algorithm = registry.algorithmById(f"kommunalmonitor:{name}")
        assert algorithm is not None, name
        assert algorithm.groupId() == "overlay"
        assert "<" in algorithm.shortHelpString()


def test_pointstoareas_kitas_per_plr(run_alg, berlin_dir, plr_path):
    kitas = _vector(os.path.join(berlin_dir, "kitas.geojson"), "kitas")
    pub = _csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), "einwohner")
    out = _run(run_alg, "kommunalmonitor:pointstoareas", {
        "POINTS": kitas, "CAPACITY_FIELDS": ["e_platz"], "AREAS": _vector(plr_path, "PLR"),
        "AREA_ID": "PLR_ID", "POPULATION_TABLE": pub, "POPULATION_TABLE_ID": "PLR-ID",
        "POPULATION_TABLE_FIELD": "unter6"})
    rows = _rows(out)
    assert len(rows) == 542
    assert sum(r["n_points"] for r in rows) == 2880
    places = sum(float(f["e_platz"]) for f in kitas.getFeatures())
    assert sum(r["e_platz"] for r in rows) == pytest.approx(places)
    with_base = [r for r in rows if isinstance(r["supply_den"], float)]
    # ids with leading zeros ('01100101') match the CSV's numbers (1100101); 5 PLR are suppressed
    assert len(with_base) >= 530
    r = with_base[0]
    assert r["supply"] == pytest.approx(100 * r["supply_num"] / r["supply_den"])


def test_gridtoareas_zensus_csv_table(run_alg, berlin_dir, plr_path):
    grid = _csv(os.path.join(berlin_dir, "zensus2011_1km_einwohner_berlin.csv"), "zensus2011")
    out = _run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "AREAS": _vector(plr_path, "PLR"), "AREA_ID": "PLR_ID",
        "BASE_FIELD": "einwohner", "MIN_COUNT": 3})
    rows = _rows(out)
    total = sum(r["einwohner"] or 0 for r in rows)
    assert 0.97 * 3292365 < total < 3292365
    for field in ("einwohner_secret", "covered_share", "cells", "small_base"):
        assert field in out.fields().names()
    assert sum(r["einwohner_secret"] for r in rows) > 0  # -1 cells reported, not zero
    # dasymetric split of the boundary cells by a layer that covers everything with the same
    # density gives back the plain split by area
    from qgis.core import QgsFeature, QgsGeometry, QgsRectangle, QgsVectorLayer

    everywhere = QgsVectorLayer("Polygon?crs=EPSG:25833&field=dw:double", "everywhere", "memory")
    feature = QgsFeature(everywhere.fields())
    feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(360000, 5790000, 420000, 5850000)))
    feature.setAttributes([1.0])
    everywhere.dataProvider().addFeatures([feature])
    dasy = _rows(_run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "AREAS": _vector(plr_path, "PLR"), "AREA_ID": "PLR_ID",
        "ANCILLARY": everywhere, "ANCILLARY_FIELD": "dw"}))
    assert [r["einwohner"] for r in dasy] == pytest.approx([r["einwohner"] for r in rows], rel=1e-9)


def test_areainterpolation_blocks_and_accessibility(run_alg, berlin_dir, plr_path):
    from qgis.core import QgsExpression, QgsFeatureRequest, QgsVectorLayer

    plr = _vector(plr_path, "PLR")
    blocks = _vector(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"), "blocks")
    request = QgsFeatureRequest(QgsExpression("\"BEZIRK\" = 1"))
    mitte = blocks.materialize(request)
    plr_mitte = plr.materialize(QgsFeatureRequest(QgsExpression("left(\"PLR_ID\", 2) = '01'")))
    out = _run(run_alg, "kommunalmonitor:areainterpolation", {
        "SOURCES": mitte, "EXTENSIVE": ["FINHALT"], "AREAS": plr_mitte, "AREA_ID": "PLR_ID"})
    rows = _rows(out)
    assert len(rows) == plr_mitte.featureCount()
    total_in = sum(f["FINHALT"] for f in mitte.getFeatures())
    assert 0.95 * total_in < sum(r["FINHALT"] for r in rows) <= total_in * (1 + 1e-9)
    assert all(0 <= r["covered_share"] <= 1 for r in rows)
    # accessibility of kitas for the Zensus 100 m cells (as points) in Mitte
    cells = QgsVectorLayer("file://" + os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv")
                           + "?delimiter=;&xField=x_mp_100m&yField=y_mp_100m&crs=EPSG:3035&detectTypes=yes",
                           "zensus2022", "delimitedtext")
    assert cells.isValid()
    kitas = _vector(os.path.join(berlin_dir, "kitas.geojson"), "kitas")
    out = _run(run_alg, "kommunalmonitor:accessibility", {
        "RESIDENCES": cells, "POPULATION_FIELD": "alter_unter10", "FACILITIES": kitas,
        "CAPACITY_FIELD": "e_platz", "AREAS": plr_mitte, "AREA_ID": "PLR_ID", "THRESHOLD": 500,
        "CATCHMENT": 1000, "DECAY": 2})
    rows = _rows(out)
    populated = [r for r in rows if r["population"]]
    assert populated and all(r["dist_mean"] < 1000 for r in populated)
    assert all(0 <= r["share_beyond"] <= 100 for r in populated)
    assert all(r["access"] > 0 for r in populated)


# Bad input (no point in any area, raster in another CRS, ...) is tested in tests/core: a failing
# algorithm run inside this QGIS test session makes the interpreter crash at exit (rc 139,
# also seen with tests/qgis/test_errors.py), so these runs are left out here.
