"""kommunalmonitor:zonalstatistics in QGIS: exact values, CRS handling, clear errors, no partial output."""
import os

import numpy as np
import pytest

ALG = "kommunalmonitor:zonalstatistics"


def _raster(path, values, crs="EPSG:25833", origin=(0.0, 2.0), size=1.0, nodata=-1.0):
    import rasterio
    from affine import Affine

    values = np.asarray(values, dtype="float32")
    if values.ndim == 2:
        values = values[np.newaxis]
    transform = Affine(size, 0.0, origin[0], 0.0, -size, origin[1])
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[2], height=values.shape[1],
                       count=values.shape[0], dtype="float32", crs=crs, transform=transform,
                       nodata=nodata) as ds:
        ds.write(values)
    return path


def _areas(wkts, crs="EPSG:25833", ids=None):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer(f"Polygon?crs={crs}", "areas", "memory")
    provider = layer.dataProvider()
    provider.addAttributes([QgsField("PLR", QVariant.String)])
    layer.updateFields()
    for n, wkt in enumerate(wkts):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([ids[n] if ids else f"a{n}"])
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        provider.addFeature(feature)
    return layer


def _output(results, context):
    from qgis.core import QgsProcessingUtils

    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    return {f["PLR"]: f for f in layer.getFeatures()}, layer


def test_hand_computed_values_and_fields(run_alg, tmp_path):
    from qgis.core import QgsProcessingContext

    path = _raster(str(tmp_path / "v.tif"), [[1, 2], [3, 4]])
    areas = _areas(["POLYGON((0.5 0.5, 2 0.5, 2 2, 0.5 2, 0.5 0.5))", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"])
    context = QgsProcessingContext()
    results = run_alg(ALG, {"INPUT": areas, "RASTER": path, "STATISTICS": [0, 1, 2, 3, 4, 6, 8],
                            "PERCENTILES": "90", "THRESHOLD": "2.5", "ID_FIELD": "PLR",
                            "PREFIX": "v_", "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    rows, layer = _output(results, context)
    names = layer.fields().names()
    assert names[:2] == ["PLR", "v_b1_count"]
    assert "v_b1_p90" in names and "v_covered_share" in names and "v_b1_nodata_share" in names
    a = rows["a0"]
    assert a["v_b1_count"] == pytest.approx(2.25)
    assert a["v_b1_sum"] == pytest.approx(5.25)
    assert a["v_b1_mean"] == pytest.approx(5.25 / 2.25)
    assert (a["v_b1_min"], a["v_b1_max"]) == (1.0, 4.0)
    assert a["v_b1_median"] == pytest.approx(2.35)
    assert a["v_b1_share_above"] == pytest.approx(1 / 3)
    assert rows["a1"]["v_b1_mean"] == 3.0
    assert layer.geometryType() == 2 and layer.featureCount() == 2


def test_population_blocks_weighted_mean(run_alg, tmp_path):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProcessingContext, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    path = _raster(str(tmp_path / "v.tif"), [[1, 2], [3, 4]])
    blocks = QgsVectorLayer("Polygon?crs=EPSG:25833", "blocks", "memory")
    blocks.dataProvider().addAttributes([QgsField("ew", QVariant.Int)])
    blocks.updateFields()
    for wkt, pop in (("POLYGON((1 0, 2 0, 2 2, 1 2, 1 0))", 100), ("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", 50)):
        feature = QgsFeature(blocks.fields())
        feature.setAttributes([pop])
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        blocks.dataProvider().addFeature(feature)
    areas = _areas(["POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"])
    context = QgsProcessingContext()
    results = run_alg(ALG, {"INPUT": areas, "RASTER": path, "STATISTICS": [10],
                            "POPULATION_BLOCKS": blocks, "POPULATION_FIELD": "ew",
                            "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    rows, _ = _output(results, context)
    assert rows["a0"]["b1_weighted_mean"] == pytest.approx((2 * 50 + 4 * 50 + 3 * 50) / 150)


def test_berlin_plr_on_cover_fractions_matches_core(run_alg, berlin_dir):
    import geopandas as gpd
    from qgis.core import QgsProcessingContext, QgsVectorLayer

    from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

    shp = os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp")
    tif = os.path.join(berlin_dir, "berlin_cover_fractions_30m.tif")
    context = QgsProcessingContext()
    results = run_alg(ALG, {"INPUT": QgsVectorLayer(shp, "PLR", "ogr"), "RASTER": tif,
                            "BANDS": [1, 4], "STATISTICS": [0, 2], "ID_FIELD": "PLR_ID",
                            "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    from qgis.core import QgsProcessingUtils

    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    got = {f["PLR_ID"]: (f["b1_count"], f["b4_mean"]) for f in layer.getFeatures()}
    assert len(got) == 542
    plr = gpd.read_file(shp)
    table, _ = zonal_statistics(plr, tif, stats=["count", "mean"], options=ZonalOptions(bands=[1, 4]))
    for plr_id, count, mean in zip(plr["PLR_ID"], table["b1_count"], table["b4_mean"]):
        assert got[plr_id][0] == pytest.approx(count, abs=1e-9)
        if count > 0:
            assert got[plr_id][1] == pytest.approx(mean, abs=1e-9)
        else:
            assert got[plr_id][1] is None or got[plr_id][1] != got[plr_id][1] or not got[plr_id][1]


@pytest.mark.parametrize("case, message", [
    ("no_overlap", "do not overlap"),
    ("all_nodata", "no valid value"),
    ("duplicate_ids", "duplicate ids"),
    ("non_numeric", "is not numeric"),
    ("field_clash", "choose a prefix"),
])
def test_bad_input_message_and_nothing_written(run_alg, tmp_path, case, message):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProcessingException, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    path = _raster(str(tmp_path / "v.tif"), [[1, 2], [3, 4]])
    areas = _areas(["POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"])
    params = {"INPUT": areas, "RASTER": path, "STATISTICS": [2], "ID_FIELD": "PLR"}
    if case == "no_overlap":
        params["INPUT"] = _areas(["POLYGON((100 100, 101 100, 101 101, 100 101, 100 100))"])
    elif case == "all_nodata":
        params["RASTER"] = _raster(str(tmp_path / "nd.tif"), [[-1, -1], [-1, -1]])
    elif case == "duplicate_ids":
        params["INPUT"] = _areas(["POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"] * 2, ids=["x", "x"])
    elif case == "non_numeric":
        blocks = QgsVectorLayer("Polygon?crs=EPSG:25833", "blocks", "memory")
        blocks.dataProvider().addAttributes([QgsField("ew", QVariant.String)])
        blocks.updateFields()
        feature = QgsFeature(blocks.fields())
        feature.setAttributes(["viele"])
        feature.setGeometry(QgsGeometry.fromWkt("POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"))
        blocks.dataProvider().addFeature(feature)
        params.update(STATISTICS=[10], POPULATION_BLOCKS=blocks, POPULATION_FIELD="ew")
    elif case == "field_clash":
        params["INPUT"] = _areas(["POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"], ids=["b1_mean"])
        params["PREFIX"] = ""
        params["ID_FIELD"] = None
        # a field named like an output column
        layer = params["INPUT"]
        layer.dataProvider().addAttributes([QgsField("b1_mean", QVariant.Double)])
        layer.updateFields()
    out = str(tmp_path / "out.gpkg")
    params["OUTPUT"] = out
    with pytest.raises(QgsProcessingException, match=message):
        run_alg(ALG, params)
    assert not os.path.exists(out)


def test_crs_difference_is_handled(run_alg, tmp_path):
    from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsGeometry,
                           QgsProcessingContext, QgsProject)

    # raster in UTM 33N (EPSG:32633), areas in ETRS89 / UTM 33N (EPSG:25833)
    path = _raster(str(tmp_path / "utm.tif"), np.arange(100).reshape(10, 10), crs="EPSG:32633",
                   origin=(390000.0, 5820000.0), size=30.0)
    square = QgsGeometry.fromWkt("POLYGON((390040 5819750, 390200 5819750, 390200 5819900, "
                                 "390040 5819900, 390040 5819750))")
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:32633"),
                                       QgsCoordinateReferenceSystem("EPSG:25833"), QgsProject.instance())
    square.transform(transform)
    context = QgsProcessingContext()
    results = run_alg(ALG, {"INPUT": _areas([square.asWkt(12)]), "RASTER": path,
                            "STATISTICS": [0], "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    rows, _ = _output(results, context)
    assert rows["a0"]["b1_count"] == pytest.approx(160 * 150 / 900, rel=1e-6)
