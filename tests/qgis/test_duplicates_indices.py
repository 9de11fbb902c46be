"""Islands named by the area id a planner finds in the attribute table (not by the QGIS feature
id), and the dock pre-filling that id field for the composite index, hot spots and typology.
Duplicate areas themselves: tests/qgis/bad_inputs/duplicates_indices.yaml and
tests/core/test_duplicate_areas_indices.py."""
import pytest


def _island_town():
    """Six 1 km squares in a row (ids 'S1'..'S6', feature ids 1..6) and 'Neuwerk' 88 km east of
    the last one's centre (feature id 7)."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    uri = "Polygon?crs=EPSG:25832&field=name:string&field=wert:double"
    layer = QgsVectorLayer(uri, "Stadtteile", "memory")
    features = []
    squares = [(i * 1000, f"S{i + 1}", float(i)) for i in range(6)] + [(5000 + 88_000, "Neuwerk", 9.0)]
    for x, name, value in squares:
        feature = QgsFeature(layer.fields())
        wkt = f"POLYGON(({x} 0,{x + 1000} 0,{x + 1000} 1000,{x} 1000,{x} 0))"
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([name, value])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def _log(run_alg, algorithm_id, params, outputs=("OUTPUT",)):
    """Run into memory layers and return the log."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    run_alg(algorithm_id, dict(params, **{o: "memory:" for o in outputs}), feedback=feedback,
            context=QgsProcessingContext())
    return feedback.textLog()


@pytest.mark.parametrize("id_field, link, kept", [
    ("name", "Neuwerk → S6 (88.0 km)", "(Neuwerk)"),
    (None, "7 → 6 (88.0 km)", "(7)"),  # without an id field: the feature id, as before
])
def test_hot_spots_name_the_island_by_its_id(run_alg, id_field, link, kept):
    layer = _island_town()
    params = {"INPUT": layer, "FIELD": "wert", "METHOD": 2, "PERMUTATIONS": 99, "LINK_ISLANDS": True}
    if id_field:
        params["ID_FIELD"] = id_field
    log = _log(run_alg, "kommunalmonitor:hotspots", params)
    assert link in log and "linked to their nearest area" in log, log
    log = _log(run_alg, "kommunalmonitor:hotspots", dict(params, LINK_ISLANDS=False))
    assert f"have no neighbours with these weights {kept}" in log, log


def test_contiguous_typology_names_the_island_by_its_id_in_german(run_alg):
    from kommunalmonitor.core import i18n

    params = {"INPUT": _island_town(), "FIELDS": ["wert"], "ID_FIELD": "name", "CONTIGUOUS": True, "K": 2,
              "BOOTSTRAP": 0}
    log = _log(run_alg, "kommunalmonitor:typology", params, outputs=("OUTPUT", "PROFILES"))
    assert "Areas apart from the largest group: Neuwerk" in log, log
    with i18n.language("de"):
        log = _log(run_alg, "kommunalmonitor:typology", params, outputs=("OUTPUT", "PROFILES"))
    assert "Neuwerk" in log and "Areas apart" not in log, log


def test_the_dock_prefills_the_id_field_of_the_index_tools(qgis_app):
    from qgis.core import QgsProject, QgsVectorLayer

    from kommunalmonitor.plugin import roles

    project = QgsProject()
    uri = "Polygon?crs=EPSG:25832&field=fid:integer&field=plr_id:string&field=EW_2022:integer"
    layer = QgsVectorLayer(uri, "Index", "memory")
    project.addMapLayer(layer)
    roles.set_role("indicators", layer, project)
    roles.set_role("index", layer, project)
    for algorithm in ("compositeindex", "hotspots", "typology"):
        action = next(a for s in roles.STEPS for a in s.actions if a.algorithm_id.endswith(":" + algorithm))
        params = roles.dialog_parameters(action, project)
        assert params["INPUT"] == layer.id() and params["ID_FIELD"] == "plr_id", (algorithm, params)
