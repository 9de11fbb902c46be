"""Geometry, CRS and islands as a planner meets them, through the Processing registry with
tiny in-memory layers (QGIS stack):

- a self-intersecting polygon ("bow tie") gives in every algorithm that reads polygons the
  same numbers as its repaired version, with a warning naming the feature;
- a layer in another CRS than the planning areas gives the same numbers as the layer
  reprojected beforehand (info line), in every algorithm that takes two layers;
- a geographic CRS (degrees) is reprojected to the UTM zone of the data;
- a wrong CRS (Cologne's Gauss-Krüger coordinates tagged EPSG:25832) is warned about with
  the extent; an undefined CRS says "assign", never "reproject";
- an island 88 km out is linked in hot spots only with a warning giving the distance, and
  a maximum linking distance keeps it apart.
"""
import math

import pytest

pytestmark = pytest.mark.qgis

AREAS_CRS = "EPSG:25833"
# the bow tie of tests/core/test_geometry_repair.py, 10 times larger: lobes of 20000/3 m²
# (west) and 5000/3 m² (east), GEOS's signed area of the stored ring 5000 m²
BOWTIE = "POLYGON((0 0,100 100,100 0,0 200,0 0))"
WEST, EAST = "POLYGON((0 0,60 0,60 200,0 200,0 0))", "POLYGON((60 0,120 0,120 200,60 200,60 0))"


def _repaired_wkt(wkt):
    from shapely import wkt as shapely_wkt

    from kommunalmonitor.core.geometry_repair import make_valid_polygonal

    return make_valid_polygonal(shapely_wkt.loads(wkt)).wkt


def _transform_wkt(wkt, source, target):
    """The WKT reprojected with QGIS (what 'Reproject layer' would give)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsGeometry, QgsProject

    geometry = QgsGeometry.fromWkt(wkt)
    geometry.transform(QgsCoordinateTransform(QgsCoordinateReferenceSystem(source),
                                              QgsCoordinateReferenceSystem(target), QgsProject.instance()))
    return geometry.asWkt(9)


def _memory(geometry, crs, fields, rows, name):
    """A memory layer: ``fields`` as 'name:type', ``rows`` as (wkt, [values]); ``crs`` None = no CRS."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsGeometry, QgsVectorLayer

    uri = geometry + (f"?crs={crs}" if crs else "?") + "".join(f"&field={f}" for f in fields)
    layer = QgsVectorLayer(uri, name, "memory")
    assert layer.isValid(), uri
    features = []
    for wkt, values in rows:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes(list(values))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    if not crs:  # a memory layer defaults to EPSG:4326; a shapefile without .prj has none
        layer.setCrs(QgsCoordinateReferenceSystem())
    return layer


def _state(layer):
    return (layer.featureCount(), [(list(f.attributes()), f.geometry().asWkt(3)) for f in layer.getFeatures()])


def _run(run_alg, algorithm_id, params, outputs=("OUTPUT",)):
    """Run into memory layers; return ({output: rows}, log text)."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProcessingUtils

    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    params = dict(params, **{o: "memory:" for o in outputs})
    results = run_alg(algorithm_id, params, feedback=feedback, context=context)
    rows = {}
    for output in outputs:
        layer = QgsProcessingUtils.mapLayerFromString(results[output], context)
        rows[output] = [dict(zip(layer.fields().names(), [_plain(v) for v in f.attributes()]))
                        for f in layer.getFeatures()]
    return rows, feedback.textLog()


def _plain(value):
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    return value


def _same_rows(got, expected, rel=1e-6):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert set(a) == set(b)
        for key in a:
            if isinstance(a[key], float) or isinstance(b[key], float):
                if a[key] is None or b[key] is None or (isinstance(a[key], float) and math.isnan(a[key])):
                    assert (a[key] is None or math.isnan(a[key])) and (b[key] is None or math.isnan(b[key])), key
                else:
                    assert a[key] == pytest.approx(b[key], rel=rel, abs=1e-6), (key, a[key], b[key])
            else:
                assert a[key] == b[key], (key, a[key], b[key])


def _raster(path, crs=AREAS_CRS):
    """10 m cells over x 0..120, y 0..200; value = column number (0..11)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=12, height=20, count=1, dtype="float32", crs=crs,
                       transform=from_origin(0, 200, 10, 10)) as dst:
        dst.write(np.tile(np.arange(12, dtype="float32"), (20, 1)), 1)
    return path


def _areas(crs=AREAS_CRS, wkts=(WEST, EAST), name="Planungsräume"):
    if crs != AREAS_CRS:
        wkts = [_transform_wkt(w, AREAS_CRS, crs) for w in wkts]
    return _memory("Polygon", crs, ["PLR:string", "kinder:integer"],
                   [(w, [i, 50]) for w, i in zip(wkts, ("W", "E"))], name)


# --- one case per algorithm: (algorithm, params builder) -------------------------------------

def _case(algorithm, tmp_path, bowtie=BOWTIE, second_crs=AREAS_CRS):
    """Parameters of a tiny run: the bow tie is the polygon the algorithm reads (``bowtie``),
    the non-area layer is given in ``second_crs``."""
    def second(wkt):
        return wkt if second_crs == AREAS_CRS else _transform_wkt(wkt, AREAS_CRS, second_crs)

    if algorithm == "aggregatetoareas":
        blocks = _memory("Polygon", second_crs, ["ew:integer"],
                         [(second(bowtie), [100]), (second("POLYGON((70 10,110 10,110 50,70 50,70 10))"), [7])],
                         "Blöcke")
        return {"BLOCKS": blocks, "AREAS": _areas(), "AREA_ID_FIELD": "PLR", "COUNT_FIELDS": ["ew"]}
    if algorithm == "areainterpolation":
        sources = _memory("Polygon", second_crs, ["ew:double"], [(second(bowtie), [250.0])], "Blöcke")
        return {"SOURCES": sources, "EXTENSIVE": ["ew"], "AREAS": _areas(), "AREA_ID": "PLR"}
    area_wkts = (bowtie, "POLYGON((200 0,300 0,300 200,200 200,200 0))")
    if algorithm == "pointstoareas":
        kitas = _memory("Point", second_crs, ["plaetze:integer"],
                        [(second("POINT(20 80)"), [10]), (second("POINT(90 50)"), [20]),
                         (second("POINT(250 50)"), [5])], "Kitas")
        return {"POINTS": kitas, "CAPACITY_FIELDS": ["plaetze"], "AREAS": _areas(wkts=area_wkts),
                "AREA_ID": "PLR"}
    if algorithm == "gridtoareas":
        grid = _memory("Point", AREAS_CRS, ["einwohner:integer"],
                       [("POINT(50 50)", [90]), ("POINT(250 50)", [40])], "Gitter")
        return {"GRID": grid, "FIELDS": ["einwohner"], "CELL_SIZE": 100,
                "AREAS": _areas(crs=second_crs, wkts=area_wkts), "AREA_ID": "PLR"}
    if algorithm == "accessibility":
        homes = _memory("Point", second_crs, ["kinder:integer"],
                        [(second("POINT(90 50)"), [12]), (second("POINT(250 50)"), [7])], "Wohnorte")
        kitas = _memory("Point", second_crs, ["plaetze:integer"], [(second("POINT(20 80)"), [40])], "Kitas")
        return {"RESIDENCES": homes, "POPULATION_FIELD": "kinder", "FACILITIES": kitas,
                "CAPACITY_FIELD": "plaetze", "CATCHMENT": 500, "AREAS": _areas(wkts=area_wkts), "AREA_ID": "PLR"}
    if algorithm == "zonalstatistics":
        zones = _memory("Polygon", second_crs, ["PLR:string"],
                        [(second(bowtie), ["B"]), (second("POLYGON((0 0,20 0,20 20,0 20,0 0))"), ["Q"])], "Zonen")
        return {"INPUT": zones, "ID_FIELD": "PLR", "RASTER": _raster(str(tmp_path / "r.tif"))}
    raise AssertionError(algorithm)


POLYGON_READERS = ["aggregatetoareas", "areainterpolation", "pointstoareas", "gridtoareas", "accessibility",
                   "zonalstatistics"]


@pytest.mark.parametrize("algorithm", POLYGON_READERS)
def test_bow_tie_gives_the_numbers_of_its_repaired_version(run_alg, tmp_path, algorithm):
    params = _case(algorithm, tmp_path)
    inputs = [v for v in params.values() if hasattr(v, "getFeatures")]
    before = [_state(layer) for layer in inputs]
    got, log = _run(run_alg, f"kommunalmonitor:{algorithm}", params)
    reference, _ = _run(run_alg, f"kommunalmonitor:{algorithm}", _case(algorithm, tmp_path, _repaired_wkt(BOWTIE)))
    _same_rows(got["OUTPUT"], reference["OUTPUT"])
    # the warning names the feature (id field or QGIS feature id 1) and both areas
    assert "were repaired, keeping every part" in log, log
    assert "Area as stored 5,000.0 m², after the repair 8,333.3 m²" in log, log
    assert ("PLR 'W'" in log or "PLR 'B'" in log or "feature id(s) 1" in log), log
    assert [_state(layer) for layer in inputs] == before


def test_bow_tie_numbers_by_hand(run_alg, tmp_path):
    # aggregation: the bow tie lies mostly (its whole west lobe) in W → W 100, E 7
    rows, _ = _run(run_alg, "kommunalmonitor:aggregatetoareas", _case("aggregatetoareas", tmp_path))
    assert {r["PLR"]: r["ew"] for r in rows["OUTPUT"]} == {"W": 100, "E": 7}
    # area interpolation: 250 residents spread over both lobes (25000/3 m²); east of x = 60
    # lie the east lobe and a sliver of the west one
    from shapely import wkt as shapely_wkt
    from shapely.geometry import box

    fixed = shapely_wkt.loads(_repaired_wkt(BOWTIE))
    east = fixed.intersection(box(60, 0, 120, 200)).area
    rows, _ = _run(run_alg, "kommunalmonitor:areainterpolation", _case("areainterpolation", tmp_path))
    got = {r["PLR"]: r["ew"] for r in rows["OUTPUT"]}
    assert got["E"] == pytest.approx(250.0 * east / fixed.area) and got["W"] + got["E"] == pytest.approx(250.0)
    # points: a kita in each lobe
    rows, _ = _run(run_alg, "kommunalmonitor:pointstoareas", _case("pointstoareas", tmp_path))
    assert {r["PLR"]: r["plaetze"] for r in rows["OUTPUT"]} == {"W": 30, "E": 5}


MIXED = ["aggregatetoareas", "areainterpolation", "pointstoareas", "gridtoareas", "accessibility",
         "zonalstatistics"]


@pytest.mark.parametrize("algorithm", MIXED)
def test_mixed_crs_gives_the_numbers_of_pre_reprojected_inputs(run_alg, tmp_path, algorithm):
    square = "POLYGON((0 0,100 0,100 200,0 200,0 0))"  # valid: this test is about the CRS only
    reference, _ = _run(run_alg, f"kommunalmonitor:{algorithm}", _case(algorithm, tmp_path, bowtie=square))
    params = _case(algorithm, tmp_path, bowtie=square, second_crs="EPSG:3035")
    got, log = _run(run_alg, f"kommunalmonitor:{algorithm}", params)
    _same_rows(got["OUTPUT"], reference["OUTPUT"], rel=1e-5)
    if algorithm != "zonalstatistics":  # zones follow the raster's CRS (exact cell coverage)
        # (the Zensus grid's own CRS is the reference of its overlay: the areas follow it)
        assert "EPSG:3035" in log and "was reprojected to the CRS of" in log, log
        assert "EPSG:25833 – ETRS89 / UTM zone 33N" in log, log
    else:
        assert "transformed from EPSG:3035" in log, log
    assert "PROJCS" not in log and "PROJCRS" not in log  # never a WKT


def test_geographic_layers_are_reprojected_to_the_utm_zone(run_alg, tmp_path):
    # the same two areas and blocks placed in Berlin, given in EPSG:4326
    def berlin(wkt):
        from shapely import affinity, wkt as shapely_wkt

        moved = affinity.translate(shapely_wkt.loads(wkt), 390000, 5820000).wkt
        return _transform_wkt(moved, AREAS_CRS, "EPSG:4326")

    def layers(crs, convert):
        areas = _memory("Polygon", crs, ["PLR:string"], [(convert(WEST), ["W"]), (convert(EAST), ["E"])],
                        "Planungsräume")
        blocks = _memory("Polygon", crs, ["ew:double"], [(convert("POLYGON((10 10,110 10,110 110,10 110,10 10))"),
                                                          [300.0])], "Blöcke")
        return {"SOURCES": blocks, "EXTENSIVE": ["ew"], "AREAS": areas, "AREA_ID": "PLR"}

    got, log = _run(run_alg, "kommunalmonitor:areainterpolation", layers("EPSG:4326", berlin))
    assert "geographic CRS EPSG:4326 – WGS 84" in log and "reprojected to EPSG:25833" in log, log
    values = {r["PLR"]: r["ew"] for r in got["OUTPUT"]}
    # 50 of the block's 100 m lie west of x = 60: 150 / 150, up to the reprojection's rounding
    assert values["W"] == pytest.approx(150.0, rel=1e-4) and values["E"] == pytest.approx(150.0, rel=1e-4)


def test_wrong_crs_warns_with_the_extent(run_alg):
    from pyproj import Transformer

    # Cologne's quarters in Gauss-Krüger zone 2 (EPSG:31466), tagged EPSG:25832
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:31466", always_xy=True).transform(6.96, 50.94)

    def cologne(wkt):
        from shapely import affinity, wkt as shapely_wkt

        return affinity.translate(shapely_wkt.loads(wkt), x, y).wkt

    areas = _memory("Polygon", "EPSG:25832", ["PLR:string"], [(cologne(WEST), ["W"]), (cologne(EAST), ["E"])],
                    "Stadtteile Köln")
    blocks = _memory("Polygon", "EPSG:25832", ["ew:integer"], [(cologne("POLYGON((10 10,50 10,50 50,10 50,10 10))"),
                                                                [5])], "Blöcke Köln")
    rows, log = _run(run_alg, "kommunalmonitor:aggregatetoareas",
                     {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "PLR", "COUNT_FIELDS": ["ew"]})
    assert "Layer 'Stadtteile Köln' lies outside the area of use of its CRS EPSG:25832" in log, log
    assert "longitude 36." in log and "latitude 47." in log and "assign the right CRS" in log, log
    assert {r["PLR"]: r["ew"] for r in rows["OUTPUT"]} == {"W": 5, "E": None}


def test_undefined_crs_says_assign(run_alg, tmp_path):
    import sqlite3

    from qgis.core import QgsProcessingException, QgsVectorFileWriter, QgsVectorLayer

    blocks = _memory("Polygon", AREAS_CRS, ["ew:integer"], [("POLYGON((10 10,50 10,50 50,10 50,10 10))", [5])],
                     "Blöcke")
    # a GeoPackage whose layer has srs_id 0 ('undefined geographic SRS' for QGIS)
    path = str(tmp_path / "quartiere.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName, options.layerName = "GPKG", "quartiere"
    error = QgsVectorFileWriter.writeAsVectorFormatV2(_areas(), path, blocks.transformContext(), options)
    assert error[0] == QgsVectorFileWriter.NoError, error
    with sqlite3.connect(path) as db:
        db.execute("UPDATE gpkg_geometry_columns SET srs_id = 0")
        db.execute("UPDATE gpkg_contents SET srs_id = 0")
    undefined = QgsVectorLayer(path + "|layername=quartiere", "quartiere", "ogr")
    no_crs = _memory("Polygon", None, ["PLR:string"], [(WEST, ["W"])], "Planungsräume ohne KBS")
    for areas, name in ((undefined, "quartiere"), (no_crs, "Planungsräume ohne KBS")):
        with pytest.raises(QgsProcessingException) as info:
            run_alg("kommunalmonitor:aggregatetoareas", {"BLOCKS": blocks, "AREAS": areas, "AREA_ID_FIELD": "PLR",
                                                         "COUNT_FIELDS": ["ew"], "OUTPUT": "memory:"})
        message = str(info.value)
        assert f"'{name}'" in message and "Assign the correct CRS" in message, message
        assert "eproject the layer" not in message and "'Blöcke'" not in message


def _island_town(gap=88_000.0):
    """Six 1 km squares in a row and an island ``gap`` m east of the last one's centre."""
    rows = []
    for i in range(6):
        rows.append((f"POLYGON(({i * 1000} 0,{(i + 1) * 1000} 0,{(i + 1) * 1000} 1000,{i * 1000} 1000,"
                     f"{i * 1000} 0))", [f"S{i + 1}", float(i)]))
    x = 5500 + gap
    rows.append((f"POLYGON(({x - 500} 0,{x + 500} 0,{x + 500} 1000,{x - 500} 1000,{x - 500} 0))", ["Neuwerk", 9.0]))
    return _memory("Polygon", "EPSG:25832", ["name:string", "wert:double"], rows, "Stadtteile")


def test_hot_spots_link_an_island_only_with_a_warning(run_alg):
    params = {"INPUT": _island_town(), "FIELD": "wert", "METHOD": 2, "LINK_ISLANDS": True, "PERMUTATIONS": 99}
    rows, log = _run(run_alg, "kommunalmonitor:hotspots", params)
    # the island (QGIS feature id 7) linked to area 6, 88 km between centres
    assert "7 → 6 (88.0 km)" in log and "linked to their nearest area" in log, log
    assert rows["OUTPUT"][6]["gi_z"] is not None
    rows, log = _run(run_alg, "kommunalmonitor:hotspots", dict(params, MAX_LINK_DISTANCE=10000))
    assert "7 (88.0 km)" in log and "stay unlinked" in log, log
    assert rows["OUTPUT"][6]["gi_z"] is None and all(r["gi_z"] is not None for r in rows["OUTPUT"][:6])


def test_contiguous_typology_names_the_island(run_alg):
    layer = _island_town()
    rows, log = _run(run_alg, "kommunalmonitor:typology",
                     {"INPUT": layer, "FIELDS": ["wert"], "CONTIGUOUS": True, "K": 2, "BOOTSTRAP": 0},
                     outputs=("OUTPUT", "PROFILES"))
    assert "Areas apart from the largest group: 7" in log, log


def test_council_map_in_degrees_is_drawn_in_metres(run_alg, tmp_path):
    def berlin(i):
        x0, y0 = 390000 + 1000 * i, 5820000
        return _transform_wkt(f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},"
                              f"{x0} {y0}))", AREAS_CRS, "EPSG:4326")

    layer = _memory("Polygon", "EPSG:4326", ["index_class:integer"], [(berlin(i), [1 + i % 3]) for i in range(6)],
                    "Index Berlin")
    from qgis.core import QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    out = str(tmp_path / "karte.pdf")
    run_alg("kommunalmonitor:councilmap", {"INPUT": layer, "OUTPUT": out}, feedback=feedback)
    log = feedback.textLog()
    assert "geographic CRS EPSG:4326 – WGS 84" in log and "drawn in EPSG:25833" in log, log

    from kommunalmonitor.processing.layout import map_crs_and_extent

    crs, extent = map_crs_and_extent(layer)
    assert crs.authid() == "EPSG:25833"
    # the bounding box of the areas in UTM 33 (a little larger than 6 × 1 km: the lon/lat box is
    # turned against the UTM grid at 13.3°E)
    assert 6000 <= extent.width() <= 6300 and 1000 <= extent.height() <= 1300


def _bowtie_town(bowtie=BOWTIE):
    """A bow tie and five 100 m × 200 m areas east of it, with a value rising eastwards."""
    rows = [(bowtie, ["S0", 0.0])]
    rows += [(f"POLYGON(({100 + i * 100} 0,{200 + i * 100} 0,{200 + i * 100} 200,{100 + i * 100} 200,"
              f"{100 + i * 100} 0))", [f"S{i + 1}", float(i + 1) ** 2]) for i in range(5)]
    return _memory("Polygon", AREAS_CRS, ["name:string", "wert:double"], rows, "Stadtteile")


@pytest.mark.parametrize("algorithm, params, outputs", [
    ("hotspots", {"FIELD": "wert", "METHOD": 0, "PERMUTATIONS": 99, "SEED": 3}, ("OUTPUT",)),
    ("typology", {"FIELDS": ["wert"], "CONTIGUOUS": True, "K": 2, "BOOTSTRAP": 0}, ("OUTPUT", "PROFILES")),
])
def test_neighbour_based_algorithms_read_the_bow_tie_like_its_repair(run_alg, algorithm, params, outputs):
    got, log = _run(run_alg, f"kommunalmonitor:{algorithm}", dict(params, INPUT=_bowtie_town()), outputs)
    reference, _ = _run(run_alg, f"kommunalmonitor:{algorithm}",
                        dict(params, INPUT=_bowtie_town(_repaired_wkt(BOWTIE))), outputs)
    _same_rows(got["OUTPUT"], reference["OUTPUT"])
    assert "'Stadtteile'" in log and "feature id(s) 1" in log and "keeping every part" in log, log


@pytest.fixture(scope="module")
def read_source_provider(qgis_app):
    """A test-only algorithm that reads its layer through ``read_source`` and writes each area."""
    from qgis.core import (QgsApplication, QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                           QgsProcessingProvider)

    from kommunalmonitor.processing.base import KommunalmonitorAlgorithm
    from kommunalmonitor.processing.bridge import gdf_to_sink

    class Areas(KommunalmonitorAlgorithm):
        ALGORITHM_ID = "areas"
        DISPLAY_NAME = "Areas"

        def initAlgorithm(self, config=None):  # noqa: N802
            self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Input"))
            self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Output"))

        def run_algorithm(self, parameters, context, feedback):
            frame = self.read_source(parameters, "INPUT", context, feedback, projected=True)
            result = frame.assign(area_m2=frame.geometry.area, crs=frame.crs.to_epsg())
            return {"OUTPUT": gdf_to_sink(self, parameters, context, "OUTPUT", result, feedback)}

    class Provider(QgsProcessingProvider):
        def id(self):
            return "kmtestreadsource"

        def name(self):
            return "read_source test"

        def loadAlgorithms(self):  # noqa: N802
            self.addAlgorithm(Areas())

    registry = QgsApplication.processingRegistry()
    provider = Provider()
    registry.addProvider(provider)
    yield
    registry.removeProvider(provider)


def test_read_source_reprojects_degrees_and_repairs(read_source_provider, run_alg):
    # the bow tie placed in Berlin and given in degrees: read_source reprojects it to UTM 33
    # and repairs it; its area is the repaired bow tie's 8333.3 m² (up to the round trip)
    from shapely import affinity, wkt as shapely_wkt

    moved = affinity.translate(shapely_wkt.loads(BOWTIE), 390000, 5820000).wkt
    layer = _memory("Polygon", "EPSG:4326", ["name:string"], [(_transform_wkt(moved, AREAS_CRS, "EPSG:4326"), ["B"])],
                    "Blöcke in Grad")
    rows, log = _run(run_alg, "kmtestreadsource:areas", {"INPUT": layer})
    assert rows["OUTPUT"][0]["crs"] == 25833
    assert rows["OUTPUT"][0]["area_m2"] == pytest.approx(25000 / 3, rel=1e-6)
    assert "reprojected to EPSG:25833" in log and "keeping every part" in log, log
    no_crs = _memory("Polygon", None, ["name:string"], [(WEST, ["W"])], "ohne KBS")
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as info:
        run_alg("kmtestreadsource:areas", {"INPUT": no_crs, "OUTPUT": "memory:"})
    assert "'ohne KBS'" in str(info.value) and "Assign the correct CRS" in str(info.value)
