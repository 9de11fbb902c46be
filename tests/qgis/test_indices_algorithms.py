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


def _berlin_layer(berlin_dir):
    """The MSS 2021 raw indicators as a polygon layer (dummy squares), plus the published table."""
    import os

    import pandas as pd
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsRectangle, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
                      dtype={"PLR_ID": str, "BEZ_ID": str})
    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    layer = QgsVectorLayer("Polygon?crs=EPSG:25833", "mss", "memory")
    numeric = ["EW", "S1", "S3", "S4", "D1", "D3", "D4"]
    layer.dataProvider().addAttributes([QgsField("PLR_ID", QVariant.String), QgsField("KOM", QVariant.String)]
                                       + [QgsField(n, QVariant.Double) for n in numeric])
    layer.updateFields()
    features = []
    for i, row in enumerate(raw.itertuples(index=False)):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(i, 0, i + 0.9, 1)))
        values = [getattr(row, n) for n in numeric]
        feature.setAttributes([row.PLR_ID, row.KOM] + [None if v != v else float(v) for v in values])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer, published


def test_catalogueindex_berlin_mss_2021(run_alg, berlin_dir):
    layer, published = _berlin_layer(berlin_dir)
    out = _run(run_alg, {"_id": "kommunalmonitor:catalogueindex", "INPUT": layer, "CATALOGUE": 0})
    rows = _table(out)
    valid = published["KOM"] == "gültig"
    sdi = [r["sdi"] for r in rows]
    assert [s for s, v in zip(sdi, valid) if v] == published["SDI_N"][valid].astype(int).tolist()
    from qgis.core import NULL
    assert all(s == NULL for s, v in zip(sdi, valid) if not v)
    assert all(r["included"] is False for r, v in zip(rows, valid) if not v)
    assert sum(bool(r["included"]) for r in rows) == 536


def test_statusdynamics_berlin_mss_2021(run_alg, berlin_dir):
    layer, published = _berlin_layer(berlin_dir)
    out = _run(run_alg, {"_id": "kommunalmonitor:statusdynamics", "INPUT": layer,
                         "STATUS_INDICATORS": ["S1", "S3", "S4"], "DYNAMICS_INDICATORS": ["D1", "D3", "D4"],
                         "POPULATION_FIELD": "EW", "EXCLUDE_FIELD": "KOM",
                         "EXCLUDE_VALUE": "ungültig (Ausreißer)", "MISSING_VALUE": -9999})
    rows = _table(out)
    valid = (published["KOM"] == "gültig").tolist()
    assert [r["sdi_label"] for r, v in zip(rows, valid) if v] == published["SDI"][published["KOM"] == "gültig"].tolist()
    assert sum(bool(r["attention"]) for r in rows) > 0


def test_catalogueindex_bad_catalogue_file(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nname: x\nindicators:\n  - id: a\n    label: a\n    domain: Verkehr\n    value: a\n",
                    encoding="utf-8")
    layer = _layer({"a": [1.0, 2.0, 3.0]}, [500] * 3)
    with pytest.raises(QgsProcessingException, match="line 6"):
        _run(run_alg, {"_id": "kommunalmonitor:catalogueindex", "INPUT": layer, "CATALOGUE_FILE": str(path)})


def test_multipleburden_and_robustness_algorithms(run_alg):
    layer = _layer({"noise": [40.0, 50.0, 60.0, 70.0, 72.0, 45.0, 55.0, 65.0],
                    "green": [10.0, 8.0, 3.0, 1.0, 2.0, 12.0, 6.5, 5.0],
                    "status": [1.0, 2.0, 3.0, 4.0, 4.0, 1.0, 2.0, 2.0]}, [500] * 8)
    out = _run(run_alg, {"_id": "kommunalmonitor:multipleburden", "INPUT": layer,
                         "BURDEN_FIELDS": ["noise", "green"], "SUPPLY_FIELDS": ["green"],
                         "THRESHOLDS": "green=6,7", "SOCIAL_STATUS_FIELD": "status"})
    rows = _table(out)
    assert [r["g_green"] for r in rows] == [1, 1, 3, 3, 3, 1, 2, 3]
    assert [r["k_green"] for r in rows][0] == "fixed" and rows[0]["k_noise"] == "quantile"
    assert rows[3]["burden_count_social"] == 3

    params = {"_id": "kommunalmonitor:indexrobustness", "INPUT": layer, "INDICATORS": ["noise", "green"],
              "REVERSED": ["green"], "N_RUNS": 50, "SEED": 3, "POPULATION_FIELD": "pop"}
    first = _table(_run(run_alg, dict(params)))
    second = _table(_run(run_alg, dict(params)))
    assert [r["p_base"] for r in first] == [r["p_base"] for r in second]
    assert all(0.0 <= r["p_base"] <= 1.0 for r in first)
    assert all(r["robust"] == (r["p_base"] >= 0.8) for r in first)


def test_outputs_written_to_geopackage_are_styled(run_alg, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = _layer({"noise": [40.0, 50.0, 60.0, 70.0, 72.0, 45.0, 55.0, 65.0],
                    "green": [10.0, 8.0, 3.0, 1.0, 2.0, 12.0, 6.5, 5.0]}, [500] * 8)
    path = str(tmp_path / "robust.gpkg")
    run_alg("kommunalmonitor:indexrobustness", {"INPUT": layer, "INDICATORS": ["noise", "green"],
                                                "N_RUNS": 20, "OUTPUT": path})
    styled = QgsVectorLayer(path, "r", "ogr")
    assert styled.isValid()
    assert "robust" in styled.renderer().classAttribute()


def test_compositeindex_winsorise_option(run_alg):
    layer = _layer({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 100.0]}, [500] * 6)
    plain = _table(_run(run_alg, {"_id": "kommunalmonitor:compositeindex", "INPUT": layer, "INDICATORS": ["a"]}))
    clipped = _table(_run(run_alg, {"_id": "kommunalmonitor:compositeindex", "INPUT": layer,
                                    "INDICATORS": ["a"], "WINSORISE": 20}))
    assert clipped[-1]["z_a"] < plain[-1]["z_a"]
