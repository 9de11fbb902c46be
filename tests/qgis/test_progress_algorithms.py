"""The progress bar of 'Count facilities per area', 'Multiple burden' and 'Status of targets'.

Each algorithm runs through QGIS's own ``alg.run`` with a ``QgsProcessingFeedback`` that records
every ``setProgress`` value: the bar must move in several steps, never go back and end at 100.
A cancel after the first report must fail the run with the cancellation message and leave no
output file behind.
"""
import os

import pytest

pytestmark = pytest.mark.qgis


def _recorder(cancel_at=None):
    """A QgsProcessingFeedback keeping progress values and error texts; cancels at ``cancel_at`` % or more."""
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.values, self.errors = [], []

        def setProgress(self, value):  # noqa: N802
            self.values.append(value)
            super().setProgress(value)
            if cancel_at is not None and value >= cancel_at:
                self.cancel()

        def reportError(self, text, fatal=False):  # noqa: N802
            self.errors.append(text)

    return Recorder()


def _run(algorithm_id, parameters, feedback):
    """``(results, ok)`` from QGIS's own ``alg.run`` (as processing.run and qgis_process use it)."""
    from qgis.core import QgsApplication, QgsProcessingContext

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    return algorithm.run(parameters, QgsProcessingContext(), feedback)


def _memory(uri, name, rows):
    """A memory layer from ``uri`` with ``rows`` of (wkt or None, [values])."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer(uri, name, "memory")
    assert layer.isValid(), uri
    features = []
    for wkt, values in rows:
        feature = QgsFeature(layer.fields())
        if wkt:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes(list(values))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def _square(col, row, size=100):
    x, y = col * size, row * size
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def _areas(n=4):
    """n × n planning areas 'P00'… of 100 m, with children 0–5 and burden indicators."""
    rows = []
    for i in range(n * n):
        r, c = divmod(i, n)
        rows.append((_square(c, r), [f"P{i:02d}", 40 + 10 * i, 45.0 + 2 * i, float((i * 7) % 11), 1 + i % 4]))
    return _memory("Polygon?crs=EPSG:25833&field=plr:string&field=kinder:integer&field=noise:double"
                   "&field=green:double&field=status:integer", "Planungsräume", rows)


def _kitas():
    """Two kitas in P00 (30 + 20 places), one in P05 (45), one outside every area."""
    rows = [("POINT(10 10)", [30, "Kita"]), ("POINT(60 40)", [20, "Tagespflege"]),
            ("POINT(150 150)", [45, "Kita"]), ("POINT(900 900)", [10, "Kita"])]
    return _memory("Point?crs=EPSG:25833&field=plaetze:integer&field=art:string", "Kitas", rows)


def _observations_and_goals():
    """Unemployment 2020 and 2023 for the 16 areas (10 % → 7–13 %) and two targets."""
    rows = []
    for i in range(16):
        rows.append((None, [f"P{i:02d}", 2020, "alq", 10.0, 100.0, 1000.0]))
        rows.append((None, [f"P{i:02d}", 2023, "alq", 7.0 + 0.4 * i, 70.0 + 4 * i, 1000.0]))
    observations = _memory("None?field=area_id:string&field=period:integer&field=indicator:string"
                           "&field=value:double&field=numerator:double&field=denominator:double",
                           "Beobachtungen", rows)
    goal = ["target", "alq", "city", 2020, 10.0, 2026, "decrease"]
    goals = _memory("None?field=goal_id:string&field=level:string&field=indicator:string&field=scope:string"
                    "&field=baseline_period:integer&field=baseline_value:double&field=target_value:double"
                    "&field=target_period:integer&field=direction:string", "Ziele",
                    [(None, ["T1"] + goal[:5] + [8.0] + goal[5:]), (None, ["T2"] + goal[:5] + [9.5] + goal[5:])])
    return observations, goals


def _cases(tmp_path):
    """(algorithm id, parameters) of the three algorithms, writing into ``tmp_path``."""
    observations, goals = _observations_and_goals()
    return {
        "pointstoareas": ("kommunalmonitor:pointstoareas", {
            "POINTS": _kitas(), "CAPACITY_FIELDS": ["plaetze"], "CATEGORY_FIELD": "art", "AREAS": _areas(),
            "AREA_ID": "plr", "POPULATION_FIELD": "kinder", "OUTPUT": str(tmp_path / "kitas.gpkg")}),
        "multipleburden": ("kommunalmonitor:multipleburden", {
            "INPUT": _areas(), "BURDEN_FIELDS": ["noise", "green"], "SUPPLY_FIELDS": ["green"],
            "SOCIAL_STATUS_FIELD": "status", "OUTPUT": str(tmp_path / "burden.gpkg")}),
        "targetstatus": ("kommunalmonitor:targetstatus", {
            "OBSERVATIONS": observations, "AREAS": _areas(), "AREAS_ID": "plr", "GOALS": goals,
            "OUTPUT": str(tmp_path / "targets.gpkg"), "TABLE": str(tmp_path / "targets.xlsx")}),
    }


def _rows(path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid(), path
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


@pytest.mark.parametrize("name", ["pointstoareas", "multipleburden", "targetstatus"])
def test_progress_rises_in_steps_to_100(qgis_app, tmp_path, name):
    algorithm_id, parameters = _cases(tmp_path)[name]
    feedback = _recorder()
    results, ok = _run(algorithm_id, parameters, feedback)
    assert ok, feedback.errors
    values = feedback.values
    assert len(set(values)) >= 5, values
    assert all(b >= a for a, b in zip(values, values[1:])), values
    assert values[-1] == 100 and min(values) >= 0
    rows = _rows(results["OUTPUT"])
    if name == "pointstoareas":
        by_id = {r["plr"]: r for r in rows}
        assert (by_id["P00"]["n_points"], by_id["P00"]["plaetze"]) == (2, 50)
        assert (by_id["P05"]["n_points"], by_id["P05"]["plaetze"]) == (1, 45)
        assert by_id["P00"]["supply"] == pytest.approx(100 * 50 / 40)
    elif name == "multipleburden":
        assert len(rows) == 16 and all(r["burden_count"] in (0, 1, 2) for r in rows)
    else:
        assert sorted({r["goal_id"] for r in rows}) == ["T1", "T2"] and len(rows) == 32
        assert os.path.exists(results["TABLE"])


@pytest.mark.parametrize("name", ["pointstoareas", "multipleburden", "targetstatus"])
def test_cancel_at_the_first_progress_report_writes_nothing(qgis_app, tmp_path, name):
    algorithm_id, parameters = _cases(tmp_path)[name]
    feedback = _recorder(cancel_at=0)
    _, ok = _run(algorithm_id, parameters, feedback)
    assert not ok
    assert any("cancel" in e.lower() or "abgebrochen" in e for e in feedback.errors), feedback.errors
    assert len(feedback.values) == 1  # stopped right after the first report
    assert os.listdir(tmp_path) == []  # no output, no staging folder, no table


@pytest.mark.parametrize("name", ["pointstoareas", "targetstatus"])
def test_cancel_inside_the_engine_writes_nothing(qgis_app, tmp_path, name):
    algorithm_id, parameters = _cases(tmp_path)[name]
    feedback = _recorder(cancel_at=31)  # the engine's share starts at 20 and 30 %
    _, ok = _run(algorithm_id, parameters, feedback)
    assert not ok
    assert any("cancel" in e.lower() or "abgebrochen" in e for e in feedback.errors), feedback.errors
    assert 31 <= feedback.values[-1] < 80  # stopped by the engine's check, long before writing
    assert os.listdir(tmp_path) == []


def test_sample_municipality_progress_rises_to_100(qgis_app, tmp_path):
    feedback = _recorder()
    results, ok = _run("kommunalmonitor:samplemunicipality",
                       {"N_BLOCKS": 500, "SEED": 2, "OUTPUT_FOLDER": str(tmp_path)}, feedback)
    assert ok, feedback.errors
    values = feedback.values
    assert len(set(values)) >= 15, values
    assert all(b >= a for a, b in zip(values, values[1:])), values
    assert values[-1] == 100
    assert os.path.exists(results["GPKG"])
