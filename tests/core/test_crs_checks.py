"""CRS as a planner meets it (``core.crs_checks``): short CRS names, a wrong CRS detected by
its area of use (Cologne's Gauss-Krüger coordinates tagged EPSG:25832 land in Ukraine),
'assign' for a missing CRS, reprojection of degrees to the UTM zone of the data and of a
second layer to the planning areas' CRS with an info line. Runs on both stacks."""
import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from kommunalmonitor.core import crs_checks, i18n, validate
from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.feedback import KeptFeedback


Log = KeptFeedback  # keeps infos and warnings


def _square(lon, lat, crs, size=2000.0, name="Stadtteile Köln"):
    """A square of ``size`` metres (or size/100000 degrees) around a point given in lon/lat."""
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    half = size / 2.0 if not crs.endswith("4326") else size / 200000.0
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(x - half, y - half, x + half, y + half)], crs=crs)
    frame.attrs["layer_name"] = name
    return frame


def _retag(frame, crs):
    """Same coordinates, another CRS label (what 'Assign projection' does wrongly)."""
    out = frame.set_crs(crs, allow_override=True)
    out.attrs = dict(frame.attrs)
    return out


def test_crs_label_is_short():
    assert crs_checks.crs_label("EPSG:25833") == "EPSG:25833 – ETRS89 / UTM zone 33N"
    assert crs_checks.crs_label("EPSG:4326") == "EPSG:4326 – WGS 84"
    custom = "+proj=cass +lat_0=52.418 +lon_0=13.627 +x_0=40000 +y_0=10000 +ellps=bessel +units=m"
    label = crs_checks.crs_label(custom)
    assert len(label) < 100 and "PROJCS" not in label and "custom CRS" in label
    assert crs_checks.crs_label(None) == "no CRS"
    with i18n.language("de"):
        assert crs_checks.crs_label(None) == "kein KBS"


def test_cologne_gauss_krueger_tagged_25832_lands_in_ukraine():
    cologne = _square(6.96, 50.94, "EPSG:31466")  # Gauss-Krüger zone 2: x ≈ 2,567,500
    wrong = _retag(cologne, "EPSG:25832")
    log = Log()
    assert crs_checks.check_area_of_use(wrong, feedback=log)
    (text,) = log.warnings
    # PROJ puts x = 2,567,500 m in zone 32 at about 36.6°E, 47.5°N (south-east Ukraine)
    for part in ("'Stadtteile Köln'", "EPSG:25832 – ETRS89 / UTM zone 32N", "longitude 36.", "latitude 47.",
                 "probably wrong", "assign the right CRS"):
        assert part in text, (part, text)
    assert "reproject." not in text.lower().replace("do not reproject", "")
    # the right tag passes, and so does Cologne in 25832
    for good in (cologne, _square(6.96, 50.94, "EPSG:25832")):
        log = Log()
        assert not crs_checks.check_area_of_use(good, feedback=log) and not log.warnings


def test_berlin_in_zone_32_is_no_false_alarm():
    # Berlin (13.4°E) in EPSG:25832 is common and correct: zone 32 ends at 12°E, 1.4° away
    log = Log()
    assert not crs_checks.check_area_of_use(_square(13.4, 52.5, "EPSG:25832"), feedback=log)
    assert not log.warnings


def test_metres_tagged_as_degrees_are_not_on_earth():
    wrong = _retag(_square(13.4, 52.5, "EPSG:25833", name="Blöcke"), "EPSG:4326")
    log = Log()
    assert crs_checks.check_area_of_use(wrong, feedback=log)
    assert "'Blöcke'" in log.warnings[0] and "EPSG:4326 – WGS 84" in log.warnings[0] \
        and "probably wrong" in log.warnings[0]
    with pytest.raises(InputError) as info:
        crs_checks.ensure_projected(wrong)
    assert "assign the right one" in str(info.value)


def test_undefined_crs_says_assign_not_reproject():
    located = _square(13.4, 52.5, "EPSG:25833")
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=list(located.geometry))  # no CRS (srs_id 0)
    frame.attrs["layer_name"] = "Planungsräume"
    for call in (lambda: crs_checks.ensure_projected(frame),
                 lambda: crs_checks.align_crs(frame, "EPSG:25833"),
                 lambda: validate.require_projected(frame)):
        with pytest.raises(InputError) as info:
            call()
        message = str(info.value)
        assert "'Planungsräume'" in message and "Assign" in message and "eproject" not in message
    assert not crs_checks.check_area_of_use(frame)


@pytest.mark.parametrize("lon, lat, expected", [
    (13.4, 52.5, "EPSG:25833"),   # Berlin
    (6.96, 50.94, "EPSG:25832"),  # Cologne
    (10.0, 53.55, "EPSG:25832"),  # Hamburg
    (-74.0, 40.7, "EPSG:32618"),  # New York: WGS 84 / UTM 18N outside Europe
    (151.2, -33.9, "EPSG:32756"),  # Sydney: southern hemisphere
])
def test_degrees_are_reprojected_to_the_utm_zone_of_the_data(lon, lat, expected):
    frame = _square(lon, lat, "EPSG:4326", size=1000.0)
    log = Log()
    out = crs_checks.ensure_projected(frame, feedback=log)
    assert out.crs.to_epsg() == int(expected.split(":")[1])
    assert frame.crs.to_epsg() == 4326  # input unchanged
    # a 0.01° square: its metric area matches the reference projection of the same square
    reference = frame.to_crs(expected)
    assert out.geometry.iloc[0].area == pytest.approx(reference.geometry.iloc[0].area, rel=1e-9)
    assert len(log.infos) == 1 and "EPSG:4326 – WGS 84" in log.infos[0] and expected in log.infos[0]
    assert out.attrs["layer_name"] == "Stadtteile Köln"
    projected = _square(lon, lat, expected)
    assert crs_checks.ensure_projected(projected) is projected


def test_second_layer_is_reprojected_to_the_areas_crs():
    areas = _square(13.4, 52.5, "EPSG:25833", name="Planungsräume")
    blocks = _square(13.4, 52.5, "EPSG:3035", size=500.0, name="Blöcke")
    log = Log()
    out = crs_checks.align_crs(blocks, areas.crs, target_name="Planungsräume", feedback=log)
    assert out.crs.to_epsg() == 25833
    assert out.geometry.iloc[0].equals_exact(blocks.to_crs("EPSG:25833").geometry.iloc[0], 1e-6)
    (text,) = log.infos
    for part in ("'Blöcke'", "EPSG:3035", "'Planungsräume'", "EPSG:25833 – ETRS89 / UTM zone 33N"):
        assert part in text, (part, text)
    assert crs_checks.align_crs(areas, "EPSG:25833") is areas


def test_zone_33_layer_tagged_zone_32_is_caught_by_the_other_layer():
    # Berlin's UTM 33 coordinates labelled 25832 lie at 7.4°E: inside zone 32's area of use,
    # but 400 km from the planning areas once both are in one CRS
    areas = _square(13.4, 52.5, "EPSG:25833", size=20000.0, name="Planungsräume")
    blocks = _retag(_square(13.4, 52.5, "EPSG:25833", size=5000.0, name="Blöcke"), "EPSG:25832")
    assert not crs_checks.check_area_of_use(blocks)
    aligned = crs_checks.align_crs(blocks, areas.crs)
    log = Log()
    assert crs_checks.check_layers_overlap(aligned, areas, feedback=log)
    assert "'Blöcke'" in log.warnings[0] and "'Planungsräume'" in log.warnings[0] \
        and "wrong CRS" in log.warnings[0] and "longitude 13." in log.warnings[0]
    assert not crs_checks.check_layers_overlap(_square(13.4, 52.5, "EPSG:25833", size=500.0), areas)


def test_geopackage_srs_id_0_counts_as_no_crs():
    # what QGIS/GDAL report for a GeoPackage layer with srs_id 0: a geographic CRS in name only
    undefined = ('GEOGCRS["Undefined geographic SRS",DATUM["unknown",ELLIPSOID["unknown",6378137,'
                 '298.257223563]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],'
                 'CS[ellipsoidal,2],AXIS["latitude",north,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],'
                 'AXIS["longitude",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]]]')
    assert crs_checks.is_undefined(undefined) and crs_checks.is_undefined(None)
    assert not crs_checks.is_undefined("EPSG:25833")
    located = _square(6.96, 50.94, "EPSG:25832")
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=list(located.geometry), crs=undefined)
    frame.attrs["layer_name"] = "Quartiere"
    assert not crs_checks.check_area_of_use(frame)  # no false 'wrong CRS': there is none
    for call in (lambda: crs_checks.ensure_projected(frame), lambda: crs_checks.align_crs(frame, "EPSG:25832")):
        with pytest.raises(InputError) as info:
            call()
        assert "'Quartiere'" in str(info.value) and "srs_id 0" in str(info.value) \
            and "Assign the correct CRS" in str(info.value)


def test_aggregation_with_every_block_outside_gives_null_not_a_crash():
    # blocks with a wrong CRS land 400 km away: every area gets NULL (unknown), never 0
    from kommunalmonitor.core.aggregate import aggregate_to_areas

    areas = _square(13.4, 52.5, "EPSG:25833", size=20000.0, name="Planungsräume")
    blocks = _square(13.4, 52.5, "EPSG:25833", size=500.0, name="Blöcke").assign(pop=[100.0])
    far = crs_checks.align_crs(_retag(blocks, "EPSG:25832"), areas.crs)
    result = aggregate_to_areas(far, areas, "id", ["pop"])
    assert result.areas["pop"].isna().all() and result.diagnostics["n_outside"] == 1


def test_german_messages_use_decimal_commas():
    wrong = _retag(_square(6.96, 50.94, "EPSG:31466"), "EPSG:25832")
    with i18n.language("de"):
        log = Log()
        crs_checks.check_area_of_use(wrong, feedback=log)
    assert "seine Ausdehnung ist Länge 36,5" in log.warnings[0] and "Breite 47,5" in log.warnings[0], log.warnings
