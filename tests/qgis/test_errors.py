"""Bad input as a new user would try it gives a clear message naming the layer or field,
never a traceback, and never modifies the input layers.

Two algorithms are tried: a test-only one that uses the shared checks (``read_source``,
``core.validate``) and the real ``kommunalmonitor:aggregatetoareas``.
"""
import sys

import pytest

from kommunalmonitor.core import i18n

pytestmark = pytest.mark.qgis

SQUARES = ["POLYGON((0 0,10 0,10 10,0 10,0 0))", "POLYGON((10 0,20 0,20 10,10 10,10 0))"]
BOWTIE = "POLYGON((0 0,10 10,10 0,0 10,0 0))"
NOT_WRITABLE = ["/etc/hostname/out.gpkg", "/proc/kommunalmonitor-test.gpkg", "/nonexistent-folder/out.gpkg"]


@pytest.fixture(scope="module")
def check_provider(qgis_app):
    """A test-only algorithm: read INPUT (projected, not empty, valid), FIELD numeric, write OUTPUT."""
    from qgis.core import (QgsApplication, QgsProcessingParameterBoolean, QgsProcessingParameterFeatureSink,
                           QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                           QgsProcessingProvider)

    from kommunalmonitor.core import validate
    from kommunalmonitor.processing.base import KommunalmonitorAlgorithm
    from kommunalmonitor.processing.bridge import gdf_to_sink

    class Check(KommunalmonitorAlgorithm):
        ALGORITHM_ID = "check"
        DISPLAY_NAME = "Check"
        INPUT, FIELD, IMPORT, OUTPUT = "INPUT", "FIELD", "IMPORT", "OUTPUT"

        def initAlgorithm(self, config=None):  # noqa: N802
            self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, "Input"))
            self.addParameter(QgsProcessingParameterField(self.FIELD, "Field", None, self.INPUT))
            self.addParameter(QgsProcessingParameterBoolean(self.IMPORT, "Import sklearn", False))
            self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Output"))

        def run_algorithm(self, parameters, context, feedback):
            field = self.parameterAsString(parameters, self.FIELD, context)
            if self.parameterAsBool(parameters, self.IMPORT, context):
                import sklearn  # noqa: F401 - simulates a missing package at run time
            frame = self.read_source(parameters, self.INPUT, context, feedback, projected=True,
                                     valid_geometries=True)
            values = validate.numeric_field(frame, field)
            result = frame.assign(doubled=values * 2)
            return {self.OUTPUT: gdf_to_sink(self, parameters, context, self.OUTPUT, result, feedback)}

    class Provider(QgsProcessingProvider):
        def id(self):
            return "kmtesterrors"

        def name(self):
            return "errors test"

        def loadAlgorithms(self):  # noqa: N802
            self.addAlgorithm(Check())

    registry = QgsApplication.processingRegistry()
    provider = Provider()
    registry.addProvider(provider)
    yield
    registry.removeProvider(provider)


def _layer(crs, wkts, fields, rows, name):
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    uri = "Polygon?" + (f"crs={crs}&" if crs else "") + fields
    layer = QgsVectorLayer(uri, name, "memory")
    features = []
    for wkt, row in zip(wkts, rows):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes(row)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    if not crs:  # a memory layer defaults to EPSG:4326; a shapefile without .prj has none
        from qgis.core import QgsCoordinateReferenceSystem

        layer.setCrs(QgsCoordinateReferenceSystem())
        assert not layer.crs().isValid()
    return layer


def _blocks(crs="EPSG:25833", wkts=SQUARES, name="Blöcke Mitte"):
    return _layer(crs, wkts, "field=Einwohner:integer&field=Straße:string",
                  [[120, "Große Straße"], [80, "Öde Gasse"]][:len(wkts)], name)


def _snapshot(layer):
    return [(bytes(f.geometry().asWkb()), f.attributes()) for f in layer.getFeatures()], \
        [f.name() for f in layer.fields()], layer.crs().authid()


def _fails(run_alg, algorithm_id, parameters):
    """Run, expect failure; return the message, asserting it carries no traceback."""
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as info:
        run_alg(algorithm_id, parameters)
    message = str(info.value)
    assert "Traceback" not in message and 'File "' not in message, message
    return message


@pytest.mark.parametrize("case, expected", [
    ("no_crs", ["'Blöcke Mitte'", "no coordinate reference system"]),
    ("empty", ["'Blöcke Mitte'", "no features"]),
    ("missing_field", ["'Blöcke Mitte'", "'Einwohnerzahl'", "Available fields: Einwohner, Straße"]),
    ("not_numeric", ["'Straße'", "'Blöcke Mitte'", "not numeric", "'Große Straße'"]),
    # a geographic CRS is reprojected and invalid polygons repaired, with a message: see
    # tests/qgis/test_geometry_crs_islands.py
])
def test_bad_input_is_named_and_the_input_unchanged(check_provider, run_alg, tmp_path, case, expected):
    crs = {"no_crs": None, "geographic": "EPSG:4326"}.get(case, "EPSG:25833")
    wkts = {"empty": [], "invalid_geometry": [BOWTIE, SQUARES[1]]}.get(case, SQUARES)
    if crs == "EPSG:4326":
        wkts = ["POLYGON((13.1 52.4,13.2 52.4,13.2 52.5,13.1 52.5,13.1 52.4))"]
    layer = _blocks(crs, wkts)
    field = {"missing_field": "Einwohnerzahl", "not_numeric": "Straße"}.get(case, "Einwohner")
    before = _snapshot(layer)
    message = _fails(run_alg, "kmtesterrors:check",
                     {"INPUT": layer, "FIELD": field, "OUTPUT": str(tmp_path / "out.gpkg")})
    for part in expected:
        assert part in message, (part, message)
    assert _snapshot(layer) == before
    assert not (tmp_path / "out.gpkg").exists()  # no half-written output


def test_messages_follow_the_language(check_provider, run_alg, tmp_path):
    with i18n.language("de"):
        i18n.set_language("de")
        message = _fails(run_alg, "kmtesterrors:check",
                         {"INPUT": _blocks(None), "FIELD": "Einwohner", "OUTPUT": "memory:"})
    assert "hat kein Koordinatenbezugssystem" in message and "'Blöcke Mitte'" in message


@pytest.mark.parametrize("path", NOT_WRITABLE)
def test_output_path_not_writable_is_refused_before_any_work(check_provider, run_alg, path):
    layer = _blocks()
    before = _snapshot(layer)
    message = _fails(run_alg, "kmtesterrors:check", {"INPUT": layer, "FIELD": "Einwohner", "OUTPUT": path})
    assert path in message and "not writable" in message and "Choose another" in message
    assert _snapshot(layer) == before


def test_good_input_runs_and_leaves_the_input_unchanged(check_provider, run_alg, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = _blocks()
    before = _snapshot(layer)
    out = str(tmp_path / "ok.gpkg")
    run_alg("kmtesterrors:check", {"INPUT": layer, "FIELD": "Einwohner", "OUTPUT": out})
    written = QgsVectorLayer(out, "ok", "ogr")
    assert sorted(f["doubled"] for f in written.getFeatures()) == [160.0, 240.0]
    assert _snapshot(layer) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".km-write-test-")]


def test_missing_dependency_at_run_time(check_provider, run_alg, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "sklearn" else real_find_spec(name, *a, **k))
    message = _fails(run_alg, "kmtesterrors:check", {"INPUT": _blocks(), "FIELD": "Einwohner", "OUTPUT": "memory:"})
    assert "sklearn" in message and "python3-sklearn" in message and "python3-scikit-learn" in message


def test_import_error_inside_a_run_names_the_package(check_provider, run_alg, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    message = _fails(run_alg, "kmtesterrors:check",
                     {"INPUT": _blocks(), "FIELD": "Einwohner", "IMPORT": True, "OUTPUT": "memory:"})
    assert "sudo apt install python3-sklearn" in message and "python3-scikit-learn" in message


# --- the real aggregation algorithm, as a planner would misuse it ---------------------------

def _areas(crs="EPSG:25833"):
    return _layer(crs, ["POLYGON((0 0,20 0,20 10,0 10,0 0))"], "field=plr_id:string", [["01100101"]],
                  "Planungsräume")


@pytest.mark.parametrize("case, expected", [
    ("empty", ["'Blöcke Mitte'", "no features"]),
    ("missing_field", ["'Blöcke Mitte'", "'Einwohnerzahl'"]),
    ("not_numeric", ["'Straße'", "'Blöcke Mitte'", "not numeric"]),
    ("not_writable", ["/etc/hostname/out.gpkg", "not writable"]),
])
def test_aggregate_to_areas_bad_input(run_alg, case, expected):
    from qgis.core import QgsApplication

    if QgsApplication.processingRegistry().algorithmById("kommunalmonitor:aggregatetoareas") is None:
        pytest.fail("kommunalmonitor:aggregatetoareas is not registered")
    wkts = {"empty": [], "invalid_geometry": [BOWTIE, SQUARES[1]]}.get(case, SQUARES)
    blocks, areas = _blocks(wkts=wkts), _areas()
    field = {"missing_field": "Einwohnerzahl", "not_numeric": "Straße"}.get(case, "Einwohner")
    output = "/etc/hostname/out.gpkg" if case == "not_writable" else "memory:"
    before = (_snapshot(blocks), _snapshot(areas))
    message = _fails(run_alg, "kommunalmonitor:aggregatetoareas",
                     {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "plr_id", "COUNT_FIELDS": [field],
                      "OUTPUT": output})
    for part in expected:
        assert part in message, (part, message)
    assert (_snapshot(blocks), _snapshot(areas)) == before


def test_core_feedback_forwards_progress_messages_and_cancel(qgis_app):
    from qgis.core import QgsProcessingFeedback

    from kommunalmonitor.core.errors import CancelledError
    from kommunalmonitor.processing.base import core_feedback

    qgis_feedback = QgsProcessingFeedback()
    feedback = core_feedback(qgis_feedback)
    feedback.step(0.5, 1.0).progress(0.5)
    assert qgis_feedback.progress() == pytest.approx(75.0)
    feedback.info("Hinweis: 3 Blöcke außerhalb")
    feedback.warning("Achtung")
    assert "Hinweis: 3 Blöcke außerhalb" in qgis_feedback.textLog() and "Achtung" in qgis_feedback.textLog()
    feedback.check()
    qgis_feedback.cancel()
    with pytest.raises(CancelledError):
        feedback.check()
    core_feedback(None).check()  # silent without QGIS feedback


@pytest.mark.parametrize("output", ["TEMPORARY_OUTPUT", "memory:", "ogr:dbname='{tmp}/x.gpkg' table=\"t\" (geom)"])
def test_non_file_and_temporary_outputs_pass_the_output_check(check_provider, run_alg, tmp_path, output):
    results = run_alg("kmtesterrors:check", {"INPUT": _blocks(), "FIELD": "Einwohner",
                                             "OUTPUT": output.format(tmp=tmp_path)})
    assert results["OUTPUT"]


def _tiny_raster(path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=6, height=2, count=1, dtype="float32",
                       crs="EPSG:25833", transform=from_origin(0, 10, 10, 5), nodata=-1) as dst:
        dst.write(np.arange(12, dtype="float32").reshape(2, 6), 1)
    return path


BAD_LAYERS = {
    "empty": ("EPSG:25833", []),
    "no_crs": (None, [f"POLYGON(({x} 0,{x + 10} 0,{x + 10} 10,{x} 10,{x} 0))" for x in range(0, 60, 10)]),
    "geographic": ("EPSG:4326", [f"POLYGON(({13 + x / 100} 52,{13.01 + x / 100} 52,{13.01 + x / 100} 52.01,"
                                 f"{13 + x / 100} 52.01,{13 + x / 100} 52))" for x in range(6)]),
    "invalid": ("EPSG:25833", [BOWTIE] + [f"POLYGON(({x} 0,{x + 10} 0,{x + 10} 10,{x} 10,{x} 0))"
                                          for x in range(10, 60, 10)]),
}


def test_every_algorithm_meets_bad_layers_without_traceback_or_changed_input(qgis_app, tmp_path):
    """A new user's mistakes, tried on every Kommunalmonitor algorithm that reads layers:
    whatever the outcome, no traceback reaches the user and no input layer changes."""
    from qgis.core import (QgsApplication, QgsFeature, QgsGeometry, QgsProcessingContext,
                           QgsProcessingFeedback, QgsProject, QgsRasterLayer, QgsVectorLayer)

    provider = QgsApplication.processingRegistry().providerById("kommunalmonitor")
    raster = QgsRasterLayer(_tiny_raster(str(tmp_path / "r.tif")), "Raster")
    problems, tried = [], 0
    for algorithm in provider.algorithms():
        definitions = algorithm.parameterDefinitions()
        if not any(d.type() == "source" for d in definitions) or algorithm.id().endswith("workflow"):
            continue  # generators (sample municipality) and shipped models
        for case, (crs, wkts) in BAD_LAYERS.items():
            layers, params = [], {}
            for d in definitions:
                if d.type() == "source":
                    layer = QgsVectorLayer("Polygon?" + (f"crs={crs}&" if crs else "")
                                           + "field=id:string&field=einw:integer&field=txt:string",
                                           f"Layer {d.name()}", "memory")
                    features = []
                    for i, wkt in enumerate(wkts):
                        feature = QgsFeature(layer.fields())
                        feature.setGeometry(QgsGeometry.fromWkt(wkt))
                        feature.setAttributes([f"A{i}", 100 + 7 * i, "x"])
                        features.append(feature)
                    layer.dataProvider().addFeatures(features)
                    if not crs:
                        from qgis.core import QgsCoordinateReferenceSystem

                        layer.setCrs(QgsCoordinateReferenceSystem())
                    layers.append(layer)
                    params[d.name()] = layer
                elif d.type() == "raster":
                    params[d.name()] = raster
                elif d.type() == "field":
                    params[d.name()] = ["einw"] if d.allowMultiple() else "einw"
                elif d.isDestination():
                    params[d.name()] = "TEMPORARY_OUTPUT"
            before = [_snapshot(layer) for layer in layers]
            context = QgsProcessingContext()
            context.setProject(QgsProject.instance())
            feedback = QgsProcessingFeedback()
            ok, message = algorithm.checkParameterValues(params, context)
            if ok:
                tried += 1
                _, ok = algorithm.run(params, context, feedback)
                message = feedback.textLog()
            if "Traceback" in message or 'File "' in message:
                problems.append(f"{algorithm.id()} / {case}: traceback\n{message[-800:]}")
            if [_snapshot(layer) for layer in layers] != before:
                problems.append(f"{algorithm.id()} / {case}: input layer modified")
    assert tried >= 4 * 5, tried
    assert not problems, "\n\n".join(problems)
