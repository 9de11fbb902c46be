"""Overlay algorithms run as a planner would: real Berlin files, memory outputs (QGIS stack)."""
import os

import pytest


def _run(run_alg, algorithm_id, params):
    """Run into a memory layer; return the output layer."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    context = QgsProcessingContext()
    results = run_alg(algorithm_id, dict(params, OUTPUT="memory:"), context=context)
    layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
    return context.temporaryLayerStore().takeMapLayer(layer)


def _rows(layer):
    return [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]


def _null(value):
    """True for a NULL attribute (None or QVariant NULL)."""
    return value is None or (hasattr(value, "isNull") and value.isNull())


def _vector(path, name="layer"):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, name, "ogr")
    assert layer.isValid(), path
    return layer


def _csv(path, name):
    from qgis.core import QgsVectorLayer

    uri = "file://" + path + "?delimiter=;&detectTypes=yes&geomType=none"
    layer = QgsVectorLayer(uri, name, "delimitedtext")
    assert layer.isValid(), path
    return layer


@pytest.fixture(scope="module")
def plr_path(berlin_dir):
    return os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp")


def test_all_four_algorithms_registered(qgis_app):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    for name in ("areainterpolation", "gridtoareas", "pointstoareas", "accessibility"):
        algorithm = registry.algorithmById(f"kommunalmonitor:{name}")
        assert algorithm is not None, name
        assert algorithm.groupId() == "overlay"
        assert "<" in algorithm.shortHelpString()


def test_pointstoareas_kitas_per_plr(run_alg, berlin_dir, plr_path):
    kitas = _vector(os.path.join(berlin_dir, "kitas.geojson"), "kitas")
    pub = _csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), "einwohner")
    out = _run(run_alg, "kommunalmonitor:pointstoareas", {
        "POINTS": kitas, "CAPACITY_FIELDS": ["e_platz"], "AREAS": _vector(plr_path, "PLR"),
        "AREA_ID": "PLR_ID", "POPULATION_TABLE": pub, "POPULATION_TABLE_ID": "PLR-ID",
        "POPULATION_TABLE_FIELD": "unter6"})
    rows = _rows(out)
    assert len(rows) == 542
    assert sum(r["n_points"] for r in rows) == 2880
    places = sum(float(f["e_platz"]) for f in kitas.getFeatures())
    assert sum(r["e_platz"] for r in rows) == pytest.approx(places)
    with_base = [r for r in rows if isinstance(r["supply_den"], float)]
    # ids with leading zeros ('01100101') match the CSV's numbers (1100101); 5 PLR are suppressed
    assert len(with_base) >= 530
    r = with_base[0]
    assert r["supply"] == pytest.approx(100 * r["supply_num"] / r["supply_den"])


def test_gridtoareas_zensus_csv_table(run_alg, berlin_dir, plr_path):
    grid = _csv(os.path.join(berlin_dir, "zensus2011_1km_einwohner_berlin.csv"), "zensus2011")
    out = _run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "AREAS": _vector(plr_path, "PLR"), "AREA_ID": "PLR_ID",
        "BASE_FIELD": "einwohner", "MIN_COUNT": 3})
    rows = _rows(out)
    total = sum(r["einwohner"] or 0 for r in rows)
    assert 0.97 * 3292365 < total < 3292365
    for field in ("einwohner_secret", "covered_share", "cells", "small_base"):
        assert field in out.fields().names()
    assert sum(r["einwohner_secret"] for r in rows) > 0  # -1 cells reported, not zero
    # MIN_COUNT=3: no PLR has 1 or 2 residents, so nothing is suppressed, and the flag says so
    assert all(isinstance(r["einwohner"], float) and r["einwohner"] >= 3 for r in rows)
    assert [r["suppressed"] for r in rows] == [False] * len(rows)
    # dasymetric split of the boundary cells by a layer that covers everything with the same
    # density gives back the plain split by area
    from qgis.core import QgsFeature, QgsGeometry, QgsRectangle, QgsVectorLayer

    everywhere = QgsVectorLayer("Polygon?crs=EPSG:25833&field=dw:double", "everywhere", "memory")
    feature = QgsFeature(everywhere.fields())
    feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(360000, 5790000, 420000, 5850000)))
    feature.setAttributes([1.0])
    everywhere.dataProvider().addFeatures([feature])
    dasy = _rows(_run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "AREAS": _vector(plr_path, "PLR"), "AREA_ID": "PLR_ID",
        "ANCILLARY": everywhere, "ANCILLARY_FIELD": "dw"}))
    assert [r["einwohner"] for r in dasy] == pytest.approx([r["einwohner"] for r in rows], rel=1e-9)
    assert "suppressed" not in dasy[0]  # no flag without suppression
    # a minimum count that some PLR fall below: exactly those become NULL and flagged, against
    # the unsuppressed run
    high = _rows(_run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "AREAS": _vector(plr_path, "PLR"), "AREA_ID": "PLR_ID",
        "BASE_FIELD": "einwohner", "MIN_COUNT": 1000}))
    plain = {r["PLR_ID"]: r["einwohner"] for r in dasy}
    small = {k for k, v in plain.items() if 0 < v < 1000}
    assert len(small) >= 3
    for r in high:
        if r["PLR_ID"] in small:
            assert _null(r["einwohner"]) and r["suppressed"] is True, r
        else:
            assert r["einwohner"] == pytest.approx(plain[r["PLR_ID"]], rel=1e-9)
            assert r["suppressed"] is False
        assert r["small_base"] == (plain[r["PLR_ID"]] < 300)  # the small-base flag stays


def test_areainterpolation_blocks_and_accessibility(run_alg, berlin_dir, plr_path):
    from qgis.core import QgsExpression, QgsFeatureRequest, QgsVectorLayer

    plr = _vector(plr_path, "PLR")
    blocks = _vector(os.path.join(berlin_dir, "bloecke_2010", "Berlin4matlab.shp"), "blocks")
    request = QgsFeatureRequest(QgsExpression("\"BEZIRK\" = 1"))
    mitte = blocks.materialize(request)
    plr_mitte = plr.materialize(QgsFeatureRequest(QgsExpression("left(\"PLR_ID\", 2) = '01'")))
    out = _run(run_alg, "kommunalmonitor:areainterpolation", {
        "SOURCES": mitte, "EXTENSIVE": ["FINHALT"], "AREAS": plr_mitte, "AREA_ID": "PLR_ID"})
    rows = _rows(out)
    assert len(rows) == plr_mitte.featureCount()
    total_in = sum(f["FINHALT"] for f in mitte.getFeatures())
    assert 0.95 * total_in < sum(r["FINHALT"] for r in rows) <= total_in * (1 + 1e-9)
    assert all(0 <= r["covered_share"] <= 1 for r in rows)
    # accessibility of kitas for the Zensus 100 m cells (as points) in Mitte
    cells = QgsVectorLayer("file://" + os.path.join(berlin_dir, "zensus2022_100m_alter_berlin.csv")
                           + "?delimiter=;&xField=x_mp_100m&yField=y_mp_100m&crs=EPSG:3035&detectTypes=yes",
                           "zensus2022", "delimitedtext")
    assert cells.isValid()
    kitas = _vector(os.path.join(berlin_dir, "kitas.geojson"), "kitas")
    out = _run(run_alg, "kommunalmonitor:accessibility", {
        "RESIDENCES": cells, "POPULATION_FIELD": "alter_unter10", "FACILITIES": kitas,
        "CAPACITY_FIELD": "e_platz", "AREAS": plr_mitte, "AREA_ID": "PLR_ID", "THRESHOLD": 500,
        "CATCHMENT": 1000, "DECAY": 2})
    rows = _rows(out)
    populated = [r for r in rows if r["population"]]
    assert populated and all(r["dist_mean"] < 1000 for r in populated)
    assert all(0 <= r["share_beyond"] <= 100 for r in populated)
    assert all(r["access"] > 0 for r in populated)


# --- Bad input: a clear message naming layer, field or value; nothing written; inputs unchanged ---

AREA_SQUARES = ["POLYGON((0 0,100 0,100 100,0 100,0 0))", "POLYGON((100 0,200 0,200 100,100 100,100 0))"]
FAR_SQUARE = "POLYGON((5000 5000,5100 5000,5100 5100,5000 5100,5000 5000))"
DEGREE_SQUARES = ["POLYGON((13.00 52.50,13.01 52.50,13.01 52.51,13.00 52.51,13.00 52.50))",
                  "POLYGON((13.01 52.50,13.02 52.50,13.02 52.51,13.01 52.51,13.01 52.50))"]


def _memory(geometry, crs, fields, rows, name):
    """A memory layer: ``fields`` as 'name:type' strings, ``rows`` as (wkt, [values])."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    uri = f"{geometry}?crs={crs}" + "".join(f"&field={f}" for f in fields)
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


def _areas(crs="EPSG:25833", ids=("a", "b"), wkts=AREA_SQUARES, name="Planungsräume"):
    return _memory("Polygon", crs, ["PLR:string", "kinder:integer"],
                   [(w, [i, 50]) for w, i in zip(wkts, ids)], name)


def _state(layer):
    """Feature count and every attribute and geometry of a layer, to check it is unchanged."""
    return (layer.featureCount(), layer.fields().names(),
            [(list(f.attributes()), f.geometry().asWkt(3)) for f in layer.getFeatures()])


def _case(algorithm, case):
    """Parameters for ``algorithm`` with the bad input ``case``; returns (params, input layers)."""
    crs = "EPSG:4326" if case == "geographic" else "EPSG:25833"
    wkts = DEGREE_SQUARES if case == "geographic" else AREA_SQUARES
    areas = _areas(crs=crs, wkts=wkts, ids=("a", "a") if case == "duplicate_ids" else ("a", "b"))
    if case == "no_overlap":
        areas = _areas(wkts=[FAR_SQUARE], ids=("far",))
    if case == "empty_areas":
        areas = _areas(ids=(), wkts=())
    points = ["POINT(50 50)", "POINT(150 50)"] if crs == "EPSG:25833" else \
        ["POINT(13.005 52.505)", "POINT(13.015 52.505)"]
    if algorithm == "areainterpolation":
        sources = _memory("Polygon", crs, ["ew:integer", "name:string"],
                          [(wkts[0], [120, "viele"]), (wkts[1], [80, "wenige"])], "Blöcke")
        params = {"SOURCES": sources, "EXTENSIVE": ["ew"], "AREAS": areas}
        if case == "non_numeric":
            params["EXTENSIVE"] = ["name"]
        inputs = [sources, areas]
    elif algorithm == "gridtoareas":
        grid = _memory("Point", crs, ["einwohner:integer", "name:string"],  # cell centres
                       [(points[0], [120, "viele"]), (points[1], [80, "wenige"])], "Gitter")
        params = {"GRID": grid, "FIELDS": ["einwohner"], "CELL_SIZE": 100, "AREAS": areas}
        if case == "non_numeric":
            params["FIELDS"] = ["name"]
        inputs = [grid, areas]
    elif algorithm == "pointstoareas":
        kitas = _memory("Point", crs, ["plaetze:integer", "name:string"],
                        [(points[0], [40, "Kita Sonne"]), (points[1], [60, "Kita Mond"])], "Kitas")
        params = {"POINTS": kitas, "CAPACITY_FIELDS": ["plaetze"], "AREAS": areas,
                  "POPULATION_FIELD": "kinder"}
        if case == "non_numeric":
            params["CAPACITY_FIELDS"] = ["name"]
        inputs = [kitas, areas]
    else:
        homes = _memory("Point", crs, ["kinder:integer", "name:string"],
                        [(points[0], [12, "viele"]), (points[1], [7, "wenige"])], "Wohnorte")
        kitas = _memory("Point", crs, ["plaetze:integer"], [(points[0], [40])], "Kitas")
        params = {"RESIDENCES": homes, "POPULATION_FIELD": "kinder", "FACILITIES": kitas,
                  "CAPACITY_FIELD": "plaetze", "AREAS": areas}
        if case == "non_numeric":
            params["POPULATION_FIELD"] = "name"
        inputs = [homes, kitas, areas]
    if case == "empty_input":  # e.g. 'selected features only' with nothing selected
        inputs[0].dataProvider().truncate()
    params["AREA_ID"] = "PLR"
    return params, inputs


BAD_INPUT = {
    # case: words the message must contain (English; layer, field or value named);
    # {input} is the name of the algorithm's first input layer
    "non_numeric": ["Field 'name' in layer '{input}' is not numeric", "the value '"],
    "no_overlap": ["'{input}'", "'Planungsräume'", "CRS"],
    "empty_areas": ["Layer 'Planungsräume' has no features"],
    "empty_input": ["Layer '{input}' has no features"],
    # a geographic CRS is reprojected with an info line (tests/qgis/test_geometry_crs_islands.py)
    "duplicate_ids": ["Layer 'Planungsräume' has duplicate ids in field 'PLR'", "'a'"],
}


@pytest.mark.parametrize("algorithm", ["areainterpolation", "gridtoareas", "pointstoareas",
                                       "accessibility"])
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_message_and_nothing_written(run_alg, tmp_path, algorithm, case):
    from qgis.core import QgsProcessingException

    params, inputs = _case(algorithm, case)
    before = [_state(layer) for layer in inputs]
    out = str(tmp_path / "out.gpkg")
    with pytest.raises(QgsProcessingException) as raised:
        run_alg(f"kommunalmonitor:{algorithm}", dict(params, OUTPUT=out))
    message = str(raised.value)
    for words in BAD_INPUT[case]:
        words = words.format(input=inputs[0].name())
        assert words in message, (words, message)
    assert any(f"'{layer.name()}'" in message for layer in inputs), message
    assert "Traceback" not in message and 'File "' not in message, message
    assert not os.path.exists(out)
    assert [_state(layer) for layer in inputs] == before


# --- Suppression for publication: area 'a' has a count under MIN_COUNT=3, area 'b' does not ---

def _by_id(layer):
    return {r["PLR"]: r for r in _rows(layer)}


def _check_suppressed(rows, hidden, kept):
    """In area 'a' every field of ``hidden`` is NULL and flagged, ``kept`` keep values; 'b' keeps all."""
    a, b = rows["a"], rows["b"]
    assert a["suppressed"] is True and b["suppressed"] is False
    for field in hidden:
        assert _null(a[field]), (field, a[field])
        assert not _null(b[field]), (field, b[field])
    for field in kept:
        assert not _null(a[field]), (field, a[field])


def test_accessibility_suppresses_everything_from_a_small_population(run_alg):
    homes = _memory("Point", "EPSG:25833", ["kinder:integer"],
                    [("POINT(50 50)", [2]), ("POINT(150 50)", [10]), ("POINT(190 50)", [6])], "Wohnorte")
    kitas = _memory("Point", "EPSG:25833", ["plaetze:integer"], [("POINT(40 50)", [32])], "Kitas")
    rows = _by_id(_run(run_alg, "kommunalmonitor:accessibility", {
        "RESIDENCES": homes, "POPULATION_FIELD": "kinder", "FACILITIES": kitas,
        "CAPACITY_FIELD": "plaetze", "AREAS": _areas(), "AREA_ID": "PLR", "THRESHOLD": 120,
        "CATCHMENT": 1000, "MIN_COUNT": 3}))
    _check_suppressed(rows, ["population", "dist_mean", "dist_max", "share_beyond", "access"],
                      ["small_base", "PLR"])
    b = rows["b"]
    assert b["population"] == 16
    assert b["dist_mean"] == pytest.approx((10 * 110 + 6 * 150) / 16)
    assert b["dist_max"] == pytest.approx(150)
    assert b["share_beyond"] == pytest.approx(100 * 6 / 16)
    assert b["access"] == pytest.approx(100 * 32 / 18)  # 32 places for all 18 children in reach
    assert rows["a"]["small_base"] is True  # the flag under MIN_BASE is not disclosive: kept
    # the residences output: a population under 3 is hidden too, distances stay
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    context = QgsProcessingContext()
    results = run_alg("kommunalmonitor:accessibility", {
        "RESIDENCES": homes, "POPULATION_FIELD": "kinder", "FACILITIES": kitas, "AREAS": _areas(),
        "AREA_ID": "PLR", "MIN_COUNT": 3, "OUTPUT": "memory:", "OUTPUT_RESIDENCES": "memory:"},
        context=context)
    residences = _rows(QgsProcessingUtils.mapLayerFromString(results["OUTPUT_RESIDENCES"], context))
    assert [(_null(r["population"]), r["suppressed"]) for r in residences] == \
        [(True, True), (False, False), (False, False)]
    assert [r["distance"] for r in residences] == pytest.approx([10, 110, 150])


def test_pointstoareas_suppresses_the_ratio_of_a_small_population(run_alg):
    areas = _memory("Polygon", "EPSG:25833", ["PLR:string", "kinder:integer"],
                    [(AREA_SQUARES[0], ["a", 2]), (AREA_SQUARES[1], ["b", 50])], "Planungsräume")
    kitas = _memory("Point", "EPSG:25833", ["plaetze:integer"],
                    [("POINT(50 50)", [40]), ("POINT(150 50)", [60])], "Kitas")
    rows = _by_id(_run(run_alg, "kommunalmonitor:pointstoareas", {
        "POINTS": kitas, "CAPACITY_FIELDS": ["plaetze"], "AREAS": areas, "AREA_ID": "PLR",
        "POPULATION_FIELD": "kinder", "MIN_COUNT": 3}))
    # the population and the ratio built on it are hidden; places and facility counts are public
    _check_suppressed(rows, ["supply_den", "supply"], ["supply_num", "plaetze", "n_points", "supply_small"])
    assert rows["a"]["plaetze"] == 40 and rows["a"]["n_points"] == 1
    assert rows["b"]["supply"] == pytest.approx(120.0)
    # the input's own population field is left alone (it is the layer the planner gave)
    assert [f["kinder"] for f in areas.getFeatures()] == [2, 50]


def test_areainterpolation_suppresses_counts_rates_and_means_of_a_small_base(run_alg):
    blocks = _memory("Polygon", "EPSG:25833",
                     ["ew:integer", "kinder:integer", "arm:integer", "miete:double"],
                     [(AREA_SQUARES[0], [2, 2, 1, 8.5]), (AREA_SQUARES[1], [120, 60, 30, 10.0])], "Blöcke")
    rows = _by_id(_run(run_alg, "kommunalmonitor:areainterpolation", {
        "SOURCES": blocks, "EXTENSIVE": ["ew"], "INTENSIVE": ["miete"], "WEIGHT_FIELD": "ew",
        "RATE_NUMERATOR": "arm", "RATE_DENOMINATOR": "kinder", "RATE_NAME": "armut",
        "BASE_FIELD": "ew", "AREAS": _areas(), "AREA_ID": "PLR", "MIN_COUNT": 3}))
    _check_suppressed(rows, ["ew", "armut", "armut_num", "armut_den", "miete", "miete_weight"],
                      ["covered_share", "small_base", "armut_small"])
    b = rows["b"]
    assert (b["ew"], b["armut"], b["miete"]) == (pytest.approx(120), pytest.approx(50.0), pytest.approx(10.0))


def test_gridtoareas_suppresses_counts_and_rates_of_a_small_base(run_alg):
    grid = _memory("Point", "EPSG:25833", ["einwohner:integer", "unter10:integer"],
                   [("POINT(50 50)", [2, 0]), ("POINT(150 50)", [120, 15])], "Gitter")
    rows = _by_id(_run(run_alg, "kommunalmonitor:gridtoareas", {
        "GRID": grid, "FIELDS": ["einwohner"], "CELL_SIZE": 100, "AREAS": _areas(), "AREA_ID": "PLR",
        "RATE_NUMERATOR": "unter10", "RATE_DENOMINATOR": "einwohner", "RATE_NAME": "kinderquote",
        "BASE_FIELD": "einwohner", "MIN_COUNT": 3}))
    _check_suppressed(rows, ["einwohner", "kinderquote", "kinderquote_den"],
                      ["cells", "covered_share", "small_base", "kinderquote_num"])
    assert rows["a"]["kinderquote_num"] == 0  # zero is published as zero
    assert rows["b"]["kinderquote"] == pytest.approx(12.5)
