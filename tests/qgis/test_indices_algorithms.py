"""Processing algorithms of the indicators group, run as a planner would (QGIS stack)."""
import numpy as np
import pytest


def _layer(values, pops):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsRectangle, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer("Polygon?crs=EPSG:25833", "areas", "memory")
    provider = layer.dataProvider()
    names = list(values)
    provider.addAttributes([QgsField("name", QVariant.String)] +
                           [QgsField(n, QVariant.Double) for n in names] +
                           [QgsField("pop", QVariant.Int)])
    layer.updateFields()
    features = []
    for i, pop in enumerate(pops):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(i * 100, 0, i * 100 + 90, 90)))
        feature.setAttributes([f"area {i}"] + [values[n][i] for n in names] + [pop])
        features.append(feature)
    provider.addFeatures(features)
    return layer


def _run(run_alg, params):
    """Run an algorithm into a memory layer and return the output layer."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    context = QgsProcessingContext()
    results = run_alg(params.pop("_id"), dict(params, OUTPUT="memory:"), context=context)
    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    return context.temporaryLayerStore().takeMapLayer(layer)


def _table(layer):
    rows = [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]
    return rows


def test_compositeindex_defaults_mss_method(run_alg):
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 9.0]
    b = [2.0, 2.0, 2.0, 2.0, 7.0, 0.0]
    layer = _layer({"a": a, "b": b}, [1000, 2000, 1500, 800, 400, 100])
    out = _run(run_alg, {"_id": "kommunalmonitor:compositeindex",
                         "INPUT": layer, "INDICATORS": ["a", "b"], "POPULATION_FIELD": "pop"})
    rows = _table(out)
    names = out.fields().names()
    for field in ("name", "a", "b", "pop", "z_a", "z_b", "index", "index_class", "index_label", "included"):
        assert field in names
    x, y = np.array(a[:5]), np.array(b[:5])
    s = (x - x.mean()) / x.std() + (y - y.mean()) / y.std()
    expected = (s - s.mean()) / s.std()
    np.testing.assert_allclose([r["index"] for r in rows[:5]], expected)
    assert [r["included"] for r in rows] == [True] * 5 + [False]
    assert rows[5]["index"] is not None
    classes = [r["index_class"] for r in rows[:5]]
    assert classes == list(1 + (expected >= -1) + (expected > 1) + (expected > 1.5))


def test_compositeindex_quantiles_reversed_and_bad_weights(run_alg):
    from qgis.core import QgsProcessingException

    layer = _layer({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "g": [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]},
                   [500] * 6)
    out = _run(run_alg, {"_id": "kommunalmonitor:compositeindex",
                         "INPUT": layer, "INDICATORS": ["a", "g"], "REVERSED": ["g"], "WEIGHTS": "1, 1",
                         "POPULATION_FIELD": "pop", "CLASSIFICATION": 1, "N_CLASSES": 3})
    rows = _table(out)
    assert [r["index_class"] for r in rows] == [1, 1, 2, 2, 3, 3]
    with pytest.raises(QgsProcessingException, match="weight"):
        run_alg("kommunalmonitor:compositeindex", {
            "INPUT": layer, "INDICATORS": ["a", "g"], "WEIGHTS": "1", "OUTPUT": "memory:"})
