"""Values that used to give silently wrong numbers, run through Processing as a planner would:
text fields in German notation are converted and said so, missing-value codes such as -9999
are refused by name or (declared under 'Missing value codes') treated as no value, extreme
values (1e300, inf) never vanish silently into an index. Expected numbers by hand; the input
layers are checked unchanged after every run (QGIS stack)."""
import numpy as np
import pytest

from kommunalmonitor.core import i18n


def _layer(columns, name="areas", geometry="Polygon"):
    """A memory layer with one square per row; column types from the Python values."""
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsPointXY, QgsRectangle, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer(f"{geometry}?crs=EPSG:25833", name, "memory")
    provider = layer.dataProvider()
    kinds = {str: QVariant.String, float: QVariant.Double, int: QVariant.Int}
    provider.addAttributes([QgsField(n, kinds[type(next(v for v in values if v is not None))])
                            for n, values in columns.items()])
    layer.updateFields()
    n = len(next(iter(columns.values())))
    features = []
    for i in range(n):
        feature = QgsFeature(layer.fields())
        if geometry == "Point":
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(i * 100 + 45, 45)))
        else:
            feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(i * 100, 0, i * 100 + 90, 90)))
        feature.setAttributes([values[i] for values in columns.values()])
        features.append(feature)
    provider.addFeatures(features)
    return layer


def _snapshot(layer):
    return [(f.attributes(), f.geometry().asWkt()) for f in layer.getFeatures()]


class _Log:
    """A feedback that keeps every line (info and warnings)."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines = []

            def pushInfo(self, text):  # noqa: N802
                self.lines.append(text)

            def pushWarning(self, text):  # noqa: N802
                self.lines.append(text)

        return Feedback()


def _run(run_alg, algorithm, params, inputs=()):
    """Run in English into memory; return (output rows, log lines); inputs must stay unchanged."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    before = [_snapshot(layer) for layer in inputs]
    context, feedback = QgsProcessingContext(), _Log()
    try:
        with i18n.language("en"):
            results = run_alg(algorithm, dict(params, OUTPUT="memory:"), feedback=feedback, context=context)
    finally:
        assert [_snapshot(layer) for layer in inputs] == before
    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    rows = [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]
    return rows, feedback.lines


def _refused(run_alg, algorithm, params, inputs, *parts):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as info:
        _run(run_alg, algorithm, params, inputs)
    for part in parts:
        assert part in str(info.value), (part, str(info.value))


def _z(x):
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / x.std()


A = [1234.0, 2500.0, 3.5, 7.0, 12.25, 800.0]
B = [1.0, 2.0, 3.0, 5.0, 4.0, 2.5]
A_GERMAN = ["1.234", "2.500", "3,5", "7", "12,25", "800"]


def test_compositeindex_reads_german_text_right_and_says_so(run_alg):
    layer = _layer({"a": A_GERMAN, "b": B})
    rows, log = _run(run_alg, "kommunalmonitor:compositeindex",
                     {"INPUT": layer, "INDICATORS": ["a", "b"], "MIN_POPULATION": 0}, [layer])
    expected = _z(_z(A) + _z(B))  # 4.444-style values as thousands, 3,5 as 3.5
    np.testing.assert_allclose([r["index"] for r in rows], expected, atol=1e-12)
    assert any("Field 'a' in layer 'areas' holds numbers as text in German notation" in line
               and "converted 6 values" in line for line in log), log


def test_compositeindex_ambiguous_text_refused_by_name(run_alg):
    layer = _layer({"a": ["1.234", "2.500", "7", "800"], "b": B[:4]})
    _refused(run_alg, "kommunalmonitor:compositeindex",
             {"INPUT": layer, "INDICATORS": ["a", "b"], "MIN_POPULATION": 0}, [layer],
             "'a'", "'areas'", "'1.234'", "1234", "field calculator")


def test_compositeindex_minus_9999_refused_then_declared(run_alg):
    a = [3.0, -9999.0, 5.0, 9.0, 4.0, 6.0]
    layer = _layer({"id": [f"P{i}" for i in range(6)], "a": a, "b": B})
    params = {"INPUT": layer, "INDICATORS": ["a", "b"], "MIN_POPULATION": 0}
    _refused(run_alg, "kommunalmonitor:compositeindex", params, [layer],
             "'a'", "'areas'", "-9999", "1 feature(s)", "Missing value codes")
    rows, log = _run(run_alg, "kommunalmonitor:compositeindex", dict(params, MISSING_CODES="-9999"), [layer])
    keep = [0, 2, 3, 4, 5]
    expected = _z(_z(np.array(a)[keep]) + _z(np.array(B)[keep]))
    np.testing.assert_allclose([rows[i]["index"] for i in keep], expected, atol=1e-12)
    assert rows[1]["included"] is False or rows[1]["included"] == 0
    assert any("1 value(s) of field 'a' in layer 'areas' equal a declared missing value code (-9999)"
               in line for line in log), log


@pytest.mark.parametrize("extreme", [1e300, float("inf")])
def test_compositeindex_extreme_value_does_not_zero_the_index(run_alg, extreme):
    a = [3.0, extreme, 5.0, 9.0, 4.0, 6.0]
    layer = _layer({"a": a, "b": B})
    _refused(run_alg, "kommunalmonitor:compositeindex",
             {"INPUT": layer, "INDICATORS": ["a", "b"], "MIN_POPULATION": 0}, [layer],
             "'a'", "an extreme value", "1 feature(s)")


def _blocks_and_areas(counts):
    blocks = _layer({"EW": counts}, name="blocks", geometry="Point")
    areas = _layer({"plr": ["A", "B"]}, name="areas")
    # two areas, each 200 m wide: blocks 0-1 fall in A, 2-3 in B
    from qgis.core import QgsGeometry, QgsRectangle

    areas.dataProvider().changeGeometryValues({1: QgsGeometry.fromRect(QgsRectangle(0, 0, 200, 90)),
                                               2: QgsGeometry.fromRect(QgsRectangle(200, 0, 400, 90))})
    return blocks, areas


def test_aggregate_sums_german_counts_right(run_alg):
    blocks, areas = _blocks_and_areas(["1.234", "2.000", "12", "4.444"])
    rows, log = _run(run_alg, "kommunalmonitor:aggregatetoareas",
                     {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "plr", "COUNT_FIELDS": ["EW"]},
                     [blocks, areas])
    assert [r["EW"] for r in rows] == [3234, 4456]  # not 3.234 and 16.444
    assert any("German notation" in line for line in log), log


def test_aggregate_suppression_marks_counted_as_missing(run_alg):
    blocks, areas = _blocks_and_areas(["1.234", "–", "12", "4.444"])
    rows, log = _run(run_alg, "kommunalmonitor:aggregatetoareas",
                     {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "plr", "COUNT_FIELDS": ["EW"]},
                     [blocks, areas])
    assert [r["EW"] for r in rows] == [1234, 4456]
    assert any("suppression marks" in line and "'–'" in line for line in log), log


def test_aggregate_minus_9999_refused_then_declared(run_alg):
    blocks, areas = _blocks_and_areas([120.0, -9999.0, 80.0, 50.0])
    params = {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "plr", "COUNT_FIELDS": ["EW"]}
    _refused(run_alg, "kommunalmonitor:aggregatetoareas", params, [blocks, areas],
             "'EW'", "'blocks'", "-9999", "Missing value codes")
    rows, log = _run(run_alg, "kommunalmonitor:aggregatetoareas", dict(params, MISSING_CODES="-9999"),
                     [blocks, areas])
    assert [r["EW"] for r in rows] == [120, 130]
    assert any("declared missing value code" in line for line in log), log


def test_aggregate_1e300_refused(run_alg):
    blocks, areas = _blocks_and_areas([120.0, 1e300, 80.0, 50.0])
    _refused(run_alg, "kommunalmonitor:aggregatetoareas",
             {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "plr", "COUNT_FIELDS": ["EW"]},
             [blocks, areas], "'EW'", "1e+300", "an extreme value")


def test_typology_and_hotspots_refuse_an_undeclared_code(run_alg):
    values = [3.0, 4.0, -9999.0, 5.0, 6.0, 2.0, 4.5, 3.5]
    layer = _layer({"a": values, "b": [1.0, 2.0, 1.5, 3.0, 2.5, 1.0, 2.0, 3.0]})
    _refused(run_alg, "kommunalmonitor:typology",
             {"INPUT": layer, "FIELDS": ["a", "b"], "K_MIN": 2, "K_MAX": 2,
              "PROFILES": "memory:", "CURVE": "memory:"}, [layer], "'a'", "-9999")
    _refused(run_alg, "kommunalmonitor:hotspots", {"INPUT": layer, "FIELD": "a"}, [layer], "'a'", "-9999")


def test_missing_codes_parameter_refuses_a_code_that_is_no_number(run_alg):
    layer = _layer({"a": A, "b": B})
    _refused(run_alg, "kommunalmonitor:compositeindex",
             {"INPUT": layer, "INDICATORS": ["a", "b"], "MIN_POPULATION": 0, "MISSING_CODES": "minus eins"},
             [layer], "'minus'")


def _tif(path, values, nodata=None):
    import rasterio
    from affine import Affine

    values = np.asarray(values, dtype="float32")[np.newaxis]
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[2], height=values.shape[1], count=1,
                       dtype="float32", crs="EPSG:25833", transform=Affine(1, 0, 0, 0, -1, 4),
                       nodata=nodata) as ds:
        ds.write(values)
    return path


def test_zonalstatistics_warns_about_a_fill_value_and_the_nodata_parameter_fixes_it(run_alg, tmp_path):
    import hashlib

    path = _tif(str(tmp_path / "noise.tif"),
                [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, -9999, 12], [13, 14, 15, -9999]])
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    areas = _layer({"PLR": ["A", "B"]})
    from qgis.core import QgsGeometry, QgsRectangle

    areas.dataProvider().changeGeometryValues({1: QgsGeometry.fromRect(QgsRectangle(0, 0, 2, 4)),
                                               2: QgsGeometry.fromRect(QgsRectangle(2, 0, 4, 4))})
    params = {"INPUT": areas, "RASTER": path, "STATISTICS": [0, 2], "ID_FIELD": "PLR"}
    rows, log = _run(run_alg, "kommunalmonitor:zonalstatistics", params, [areas])
    assert rows[1]["b1_mean"] == pytest.approx((3 + 4 + 7 + 8 + 12 + 15 - 2 * 9999) / 8)
    assert any("band 1 holds -9999 in 2 pixel(s)" in line and "Nodata value of the raster" in line
               for line in log), log
    rows, log = _run(run_alg, "kommunalmonitor:zonalstatistics", dict(params, NODATA=-9999), [areas])
    assert rows[1]["b1_mean"] == pytest.approx((3 + 4 + 7 + 8 + 12 + 15) / 6)
    assert rows[1]["b1_count"] == pytest.approx(6) and rows[0]["b1_mean"] == pytest.approx(7.5)
    assert not any("holds -9999" in line for line in log)
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == digest
