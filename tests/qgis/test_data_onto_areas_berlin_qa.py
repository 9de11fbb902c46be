"""QA of bringing data onto planning areas, run as a Berlin planner would (QGIS stack).

Each test is a finding on real data: what the planner saw before the fix, checked against
the data itself or a hand computation.
"""
import os

import pytest


class _Log:
    """A Processing feedback that keeps every message."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Keeping(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.warnings, self.infos = [], []

            def pushWarning(self, text):  # noqa: N802
                self.warnings.append(text)

            def pushInfo(self, text):  # noqa: N802
                self.infos.append(text)

        return Keeping()


def _vector(path, name):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, name, "ogr")
    assert layer.isValid(), path
    return layer


def _run(run_alg, algorithm_id, params):
    """Run into a memory layer; return (rows of the output, feedback)."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    context, feedback = QgsProcessingContext(), _Log()
    results = run_alg(algorithm_id, dict(params, OUTPUT="memory:"), feedback=feedback, context=context)
    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    rows = [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]
    return rows, feedback


def test_kitas_in_one_building_are_not_called_copies(run_alg, berlin_dir):
    """Before: 'Count facilities per area' on Berlin's kitas with places said '4 features are exact
    copies ... each copy is counted again. Remove the duplicates', and without a capacity field
    '47 ... copies'. The kitas.geojson has no copy at all: e.g. 'Kita Das Schneckenhäuschen' and
    'Inklusionskita Salamander' share Weidenweg 53 and 25 places. Only the fields read (the
    capacity) were compared."""
    plr = _vector(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR")
    kitas = _vector(os.path.join(berlin_dir, "kitas.geojson"), "kitas")
    for capacity in (["e_platz"], []):
        rows, log = _run(run_alg, "kommunalmonitor:pointstoareas", {
            "POINTS": kitas, "CAPACITY_FIELDS": capacity, "AREAS": plr, "AREA_ID": "PLR_ID"})
        assert sum(r["n_points"] for r in rows) == 2880
        assert not [w for w in log.warnings if "cop" in w.lower() or "kopie" in w.lower()], log.warnings


def test_a_real_copy_of_a_facility_is_still_named(run_alg):
    """The same facility twice (same name, same places, same place) is still warned about."""
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    areas = QgsVectorLayer("Polygon?crs=EPSG:25833&field=PLR:string", "Planungsräume", "memory")
    area = QgsFeature(areas.fields())
    area.setGeometry(QgsGeometry.fromWkt("POLYGON((0 0,100 0,100 100,0 100,0 0))"))
    area.setAttributes(["a"])
    areas.dataProvider().addFeatures([area])
    points = QgsVectorLayer("Point?crs=EPSG:25833&field=name:string&field=plaetze:integer", "kitas", "memory")
    features = []
    for name in ("Kita Sonne", "Kita Sonne", "Kita Mond"):
        feature = QgsFeature(points.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(50, 50)))
        feature.setAttributes([name, 20])
        features.append(feature)
    points.dataProvider().addFeatures(features)
    rows, log = _run(run_alg, "kommunalmonitor:pointstoareas", {
        "POINTS": points, "CAPACITY_FIELDS": ["plaetze"], "AREAS": areas, "AREA_ID": "PLR"})
    assert rows[0]["n_points"] == 3 and rows[0]["plaetze"] == 60
    copies = [w for w in log.warnings if "cop" in w.lower() or "kopie" in w.lower()]
    assert len(copies) == 1 and ("1 " in copies[0]), log.warnings


def test_statistics_import_names_the_areas_layer(run_alg, berlin_dir):
    """Before: 'Choose the area key field of the planning areas '' ...' and 'No planning area of ''
    matched a table row': the layer's name was looked up under a key the bridge never sets."""
    from qgis.core import QgsProcessingException

    old = _vector(os.path.join(berlin_dir, "plr_bis_2020_448.geojson"), "PLR alt")
    table = os.path.join(berlin_dir, "einwohner_2022h1_plr.csv")
    for extra in ({}, {"AREA_KEY_FIELD": "name"}):
        with pytest.raises(QgsProcessingException) as refused:
            _run(run_alg, "kommunalmonitor:statisticsimport", dict({"INPUT": table, "AREAS": old}, **extra))
        assert "'PLR alt'" in str(refused.value) and "''" not in str(refused.value), str(refused.value)


def test_series_across_the_boundary_change_names_the_empty_period(run_alg, berlin_dir):
    """2020-H2 (448 old PLR) with 2021-H1 and 2022-H1 (542 new PLR) joined to the new PLR: before,
    only '448 table row(s) match no planning area'; the column inhabitants_2020_H2 was empty in all
    542 areas without that being said. The matched periods keep the published totals."""
    from kommunalmonitor.core.i18n import language

    folder = os.path.join(berlin_dir, "einwohner_plr_zeitreihe")
    path = os.path.join(folder, "berlin-lor-population-{}-t1-planning-areas.csv")
    plr = _vector(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR")
    with language("en"):
        rows, log = _run(run_alg, "kommunalmonitor:statisticsimport", {
            "INPUT": path.format("2021-01"), "MORE_FILES": [path.format("2020-02"), path.format("2022-01")],
            "KEY_COLUMN": "id", "AREAS": plr, "AREA_KEY_FIELD": "PLR_ID"})
    assert all(r["inhabitants_2020_H2"] is None or str(r["inhabitants_2020_H2"]) == "NULL" for r in rows)
    assert sum(r["inhabitants_2022_H1"] for r in rows) == 3821881  # = einwohner_2022h1_plr.csv
    periods = [w for w in log.warnings if w.startswith("Period ")]
    assert len(periods) == 1 and periods[0].startswith("Period 2020-H2: none of its 448 area keys is in "
                                                       "layer 'PLR'"), log.warnings
