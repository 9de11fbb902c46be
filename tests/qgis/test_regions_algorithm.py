"""The delineation algorithm in Processing: memory layers in, areas/membership/diagnostics/record out."""
import json

import pytest


def _grid_layer(nx=6, ny=6, pops=None):
    """Memory layer of nx × ny 100 m squares (EPSG:25833) with uid, pop and a share field."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:25833&field=uid:string&field=pop:double&field=share:double",
                           "blocks", "memory")
    features = []
    for n in range(nx * ny):
        x, y = n % nx, n // nx
        feature = QgsFeature(layer.fields())
        feature.setAttributes([f"B{n:03d}", float(pops[n] if pops is not None else 100 + 10 * (n % 7)),
                               float((x < nx // 2) * 10 + (n % 3))])
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x*100} {y*100},{x*100+100} {y*100},{x*100+100} {y*100+100},{x*100} {y*100+100},{x*100} {y*100}))"))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def _line_layer(wkt, name):
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("LineString?crs=EPSG:25833&field=name:string", name, "memory")
    feature = QgsFeature(layer.fields())
    feature.setAttributes(["Spree"])
    feature.setGeometry(QgsGeometry.fromWkt(wkt))
    layer.dataProvider().addFeatures([feature])
    return layer


def _take(results, key, context):
    from qgis.core import QgsProcessingUtils

    layer = QgsProcessingUtils.mapLayerFromString(results[key], context)
    return context.temporaryLayerStore().takeMapLayer(layer)


def _rows(layer):
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


def test_registered_with_help_in_both_languages(qgis_app):
    from qgis.core import QgsApplication

    from kommunalmonitor.core.i18n import language
    algorithm = QgsApplication.processingRegistry().algorithmById("kommunalmonitor:delineateplanningareas")
    assert algorithm is not None and algorithm.groupId() == "delineation"
    with language("de"):
        # the dialog puts the name above the help itself: the help starts with its first paragraph
        assert "Fasst kleine Einheiten" in algorithm.shortHelpString()
        assert algorithm.displayName() == "Planungsräume aus kleinen Einheiten bilden"
    with language("en"):
        assert "Groups small units" in algorithm.shortHelpString()


def test_areas_follow_the_river_and_bounds(run_alg, tmp_path):
    from qgis.core import QgsProcessingContext

    units = _grid_layer()
    river = _line_layer("LINESTRING(0 300, 600 300)", "rivers")
    record = str(tmp_path / "record.json")
    context = QgsProcessingContext()
    results = run_alg("kommunalmonitor:delineateplanningareas", {
        "INPUT": units, "POPULATION_FIELD": "pop", "ATTRIBUTE_FIELDS": ["share"], "ID_FIELD": "uid",
        "MODE": 0, "N_AREAS": 4, "MIN_POPULATION": 700, "MAX_POPULATION": 1700,
        "BARRIERS": [river], "SEED": 7, "OUTPUT": "memory:", "MEMBERSHIP": "memory:",
        "DIAGNOSTICS": "memory:", "RECORD": record}, context=context)
    areas = _rows(_take(results, "OUTPUT", context))
    assert len(areas) == 4
    total = sum(float(f["pop"]) for f in units.getFeatures())
    assert sum(a["population"] for a in areas) == pytest.approx(total)
    assert all(700 <= a["population"] <= 1700 for a in areas)
    members = _rows(_take(results, "MEMBERSHIP", context))
    assert len(members) == 36
    for area_id in {m["area_id"] for m in members}:
        rows = {int(m["uid"][1:]) // 6 < 3 for m in members if m["area_id"] == area_id}
        assert len(rows) == 1, "an area crosses the river"
    diagnostics = {r["measure"]: r["value"] for r in _rows(_take(results, "DIAGNOSTICS", context))}
    assert diagnostics["violations"] == 0 and diagnostics["n_areas"] == 4
    assert diagnostics["n_barrier_cuts"] == 6
    with open(record, encoding="utf-8") as fh:
        saved = json.load(fh)
    assert saved["seed"] == 7 and saved["parameters"]["n_areas"] == 4
    assert saved["versions"]["numpy"]


def test_infeasible_request_names_the_unit(run_alg):
    from qgis.core import QgsProcessingException

    pops = [100.0] * 36
    pops[8] = 5000.0
    with pytest.raises(QgsProcessingException) as info:
        run_alg("kommunalmonitor:delineateplanningareas", {
            "INPUT": _grid_layer(pops=pops), "POPULATION_FIELD": "pop", "ID_FIELD": "uid", "MODE": 1,
            "TARGET_POPULATION": 1000, "MIN_POPULATION": 500, "MAX_POPULATION": 2000,
            "OUTPUT": "memory:", "MEMBERSHIP": "memory:", "DIAGNOSTICS": "memory:"})
    assert "Unit B008 alone has 5,000 residents, more than the maximum of 2,000" in str(info.value)


def _districts_layer():
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:25833&field=bez:string", "districts", "memory")
    features = []
    for name, x0 in (("01", 0), ("02", 300)):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name])
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x0} 0,{x0 + 300} 0,{x0 + 300} 600,{x0} 600,{x0} 0))"))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_preset_starts_and_nesting_and_a_district_that_cannot_hold_the_count(run_alg):
    from qgis.core import QgsProcessingContext, QgsProcessingException

    context = QgsProcessingContext()
    params = {"INPUT": _grid_layer(pops=[100.0] * 36), "POPULATION_FIELD": "pop", "ID_FIELD": "uid",
              "ATTRIBUTE_FIELDS": ["share"], "MODE": 0, "N_AREAS": 6, "MIN_POPULATION": 450,
              "MAX_POPULATION": 750, "NEST": _districts_layer(), "NEST_ID_FIELD": "bez", "OBJECTIVE": 0,
              "N_STARTS": 3, "SEED": 1, "OUTPUT": "memory:", "MEMBERSHIP": "memory:", "DIAGNOSTICS": "memory:"}
    results = run_alg("kommunalmonitor:delineateplanningareas", params, context=context)
    areas = _rows(_take(results, "OUTPUT", context))
    assert len(areas) == 6 and all(450 <= a["population"] <= 750 for a in areas)
    assert sorted(a["parent_id"] for a in areas) == ["01"] * 3 + ["02"] * 3
    # 1,800 residents per district hold 3 areas of 450..750 (or 4 of 450), never 5: 9 areas in total
    # cannot be split 4 + 5 or 5 + 4, and the message names the district and the layer
    with pytest.raises(QgsProcessingException) as info:
        run_alg("kommunalmonitor:delineateplanningareas", dict(params, N_AREAS=9, INPUT=_grid_layer(pops=[100.0] * 36),
                                                              NEST=_districts_layer(), MIN_POPULATION=400))
    message = str(info.value)
    assert "higher-level area" in message.lower() and "layer 'districts'" in message
    assert "part" not in message.lower()


def _reprojected(layer, authid):
    """A memory copy of ``layer`` in another CRS (what a planner's barrier layer in WGS 84 is)."""
    from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsProject,
                           QgsVectorLayer, QgsWkbTypes)

    kind = QgsWkbTypes.displayString(layer.wkbType())
    copy = QgsVectorLayer(f"{kind}?crs={authid}", layer.name(), "memory")
    copy.dataProvider().addAttributes(layer.fields().toList())
    copy.updateFields()
    transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(authid), QgsProject.instance())
    features = []
    for feature in layer.getFeatures():
        moved = QgsFeature(copy.fields())
        moved.setAttributes(feature.attributes())
        geometry = feature.geometry()
        geometry.transform(transform)
        moved.setGeometry(geometry)
        features.append(moved)
    copy.dataProvider().addFeatures(features)
    return copy


def test_barriers_and_nesting_in_another_crs_are_reprojected_like_everywhere_else(run_alg):
    """A barrier layer in WGS 84 and districts in Web Mercator give the same areas as in the units'
    CRS (reprojected with an info line), instead of being refused as in no other algorithm."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def labels(river, districts):
        context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
        results = run_alg("kommunalmonitor:delineateplanningareas", {
            "INPUT": _grid_layer(), "POPULATION_FIELD": "pop", "ATTRIBUTE_FIELDS": ["share"], "ID_FIELD": "uid",
            "MODE": 0, "N_AREAS": 4, "MIN_POPULATION": 700, "MAX_POPULATION": 1700, "BARRIERS": [river],
            "NEST": districts, "NEST_ID_FIELD": "bez", "SEED": 7, "OUTPUT": "memory:", "MEMBERSHIP": "memory:",
            "DIAGNOSTICS": "memory:"}, feedback=feedback, context=context)
        members = _rows(_take(results, "MEMBERSHIP", context))
        return {m["uid"]: m["area_id"] for m in members}, feedback.textLog()

    river = _line_layer("LINESTRING(0 300, 600 300)", "rivers")
    same, _ = labels(river, _districts_layer())
    moved, log = labels(_reprojected(river, "EPSG:4326"), _reprojected(_districts_layer(), "EPSG:3857"))
    assert moved == same
    assert "EPSG:4326" in log and "EPSG:3857" in log  # said, not silent
