"""The shared input checks (``core.validate``): each bad input raises ``InputError`` whose
message names the layer, field or value and what to do; good input passes untouched.
Runs on both stacks (pandas 1.5 object strings and pandas 3 string dtype alike)."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from kommunalmonitor.core import i18n, validate
from kommunalmonitor.core.errors import InputError, KommunalmonitorError

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])


def _frame(crs="EPSG:25833", name="Planungsräume", geometries=None, **columns):
    columns = columns or {"Einwohner": [120, 80, 50], "Straße": ["Große Straße", "Öde Gasse", None]}
    n = len(next(iter(columns.values())))
    geometries = geometries if geometries is not None else [box(i, 0, i + 1, 1) for i in range(n)]
    frame = gpd.GeoDataFrame(columns, geometry=geometries, crs=crs)
    frame.attrs["layer_name"] = name
    return frame


def _raises(call, *parts):
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    for part in parts:
        assert part in message, (part, message)
    assert isinstance(info.value, KommunalmonitorError)
    return message


def test_layer_name_from_attrs_argument_or_default():
    frame = _frame()
    assert validate.layer_name(frame) == "Planungsräume"
    assert validate.layer_name(frame, "Blöcke") == "Blöcke"
    assert validate.layer_name(pd.DataFrame()) == "input layer"
    with i18n.language("de"):
        assert validate.layer_name(None) == "Eingabelayer"


def test_not_empty():
    validate.require_not_empty(_frame())
    _raises(lambda: validate.require_not_empty(_frame().iloc[0:0]), "'Planungsräume'", "no features",
            "selected features only")
    _raises(lambda: validate.require_not_empty(None, "Blöcke"), "'Blöcke'")


def test_crs_and_projected():
    validate.require_projected(_frame())
    _raises(lambda: validate.require_crs(_frame(crs=None)), "'Planungsräume'", "no coordinate reference system")
    _raises(lambda: validate.require_projected(_frame(crs=None)), "no coordinate reference system")
    _raises(lambda: validate.require_projected(_frame(crs="EPSG:4326")), "'Planungsräume'", "EPSG:4326",
            "EPSG:25833", "Reproject")


def test_same_crs():
    validate.require_same_crs(_frame(), _frame(name="Blöcke"))
    _raises(lambda: validate.require_same_crs(_frame(), _frame(crs="EPSG:25832", name="Blöcke")),
            "'Planungsräume' (EPSG:25833 – ETRS89 / UTM zone 33N)", "'Blöcke' (EPSG:25832 – ETRS89 / UTM zone 32N)")


def test_fields_listed_when_missing():
    validate.require_fields(_frame(), ["Einwohner", "Straße"])
    message = _raises(lambda: validate.require_fields(_frame(), ["Einwohnerzahl", "Straße"]),
                      "'Planungsräume'", "'Einwohnerzahl'", "Available fields: Einwohner, Straße")
    assert "geometry" not in message


def test_numeric_field_converts_and_names_offending_values():
    values = validate.numeric_field(_frame(), "Einwohner")
    assert values.dtype == np.float64 and list(values) == [120.0, 80.0, 50.0]
    _raises(lambda: validate.numeric_field(_frame(), "Straße"), "'Straße'", "'Planungsräume'", "not numeric",
            "'Große Straße'", "2 feature(s)")
    # numbers stored as text (CSV imports) are accepted
    text_numbers = _frame(Anzahl=["1", "2,5".replace(",", "."), None])
    assert validate.numeric_field(text_numbers, "Anzahl").tolist()[:2] == [1.0, 2.5]


def test_numeric_field_nulls_and_negatives():
    frame = _frame(Arbeitslose=[3.0, np.nan, -1.0])
    assert np.isnan(validate.numeric_field(frame, "Arbeitslose")[1])
    _raises(lambda: validate.numeric_field(frame, "Arbeitslose", allow_null=False), "1 NULL value(s)")
    _raises(lambda: validate.numeric_field(frame, "Arbeitslose", allow_negative=False), "negative",
            "-1", "NULL")


def test_numeric_field_accepts_nullable_integers_and_leaves_input_alone():
    frame = _frame(n=pd.array([1, None, 3], dtype="Int64"))
    before = frame.copy()
    values = validate.numeric_field(frame, "n")
    assert values.dtype == np.float64 and np.isnan(values[1]) and values[2] == 3.0
    pd.testing.assert_frame_equal(frame, before)


def test_unique_ids():
    validate.require_unique(_frame(plr_id=["a", "b", "c"]), "plr_id")
    _raises(lambda: validate.require_unique(_frame(plr_id=["a", "b", "a"]), "plr_id"), "'plr_id'", "'a'",
            "2 features")
    validate.require_unique(_frame(), None)


def test_one_id_on_two_different_areas_is_no_copy_to_remove():
    # Berlin's old PLR file: two Schloßstraße areas 5 km apart share 06010102
    twins = _frame(plr_id=["06010102", "x", "06010102"])
    _raises(lambda: validate.require_unique(twins, "plr_id"), "on different areas", "'06010102'",
            "Correct the id of the wrong one")
    copies = _frame(plr_id=["a", "b", "a"], geometries=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 1, 1)])
    _raises(lambda: validate.require_unique(copies, "plr_id"), "duplicate ids", "remove the repeated features")


def test_invalid_geometries_named_or_repaired_without_losing_area():
    frame = _frame(geometries=[BOWTIE, box(20, 0, 21, 1), None], Einwohner=[1, 2, 3])
    frame.index = [11, 12, 13]  # QGIS feature ids
    _raises(lambda: validate.require_valid_geometries(frame), "'Planungsräume'", "1 invalid",
            "feature 11", "Fix geometries")
    before = frame.copy()
    repaired = validate.require_valid_geometries(frame, repair=True)
    assert repaired.geometry.is_valid.iloc[0]
    # both lobes of the bow tie survive (buffer(0) would keep only one: area 25)
    assert repaired.geometry.iloc[0].area == pytest.approx(50.0)
    assert repaired.geometry.iloc[0].geom_type in ("MultiPolygon", "Polygon")
    assert repaired.geometry.iloc[1].equals(box(20, 0, 21, 1))
    assert repaired.geometry.iloc[2] is None
    assert not frame.geometry.is_valid.iloc[0]  # input unchanged
    assert frame.geometry.iloc[0].equals_exact(before.geometry.iloc[0], 0)
    _raises(lambda: validate.require_valid_geometries(_frame(geometries=[None, None], Einwohner=[1, 2])),
            "no geometries")
    validate.require_valid_geometries(_frame().iloc[0:0])  # empty: nothing to check here


def test_geometry_type():
    validate.require_geometry_type(_frame(geometries=[box(0, 0, 1, 1), MultiPolygon([box(2, 2, 3, 3)]), None],
                                          Einwohner=[1, 2, 3]), ("Polygon",))
    points = _frame(geometries=[Point(0, 0), LineString([(0, 0), (1, 1)])], Einwohner=[1, 2])
    _raises(lambda: validate.require_geometry_type(points, ("Polygon",)), "'Planungsräume'",
            "LineString, Point", "Polygon")


def test_finite_or_nan():
    result = validate.finite_or_nan([1.0, np.inf, -np.inf, np.nan, 2])
    assert np.isnan(result[1:4]).all() and result[0] == 1.0 and result[4] == 2.0


def test_messages_in_german():
    with i18n.language("de"):
        _raises(lambda: validate.require_crs(_frame(crs=None)), "hat kein Koordinatenbezugssystem")
        _raises(lambda: validate.numeric_field(_frame(), "Straße"), "ist nicht numerisch")


@pytest.mark.parametrize("repair", [False, True])
def test_infinite_coordinates_are_named_not_crashed_on(repair):
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    from kommunalmonitor.core.errors import InputError
    from kommunalmonitor.core.validate import require_valid_geometries

    inf = float("inf")
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 1, 1), Polygon([(0, 0), (inf, 0), (inf, inf), (0, 0)])],
                             crs="EPSG:25833")
    with pytest.raises(InputError, match="infinite or undefined coordinates .first: feature 1"):
        require_valid_geometries(frame, "Blöcke", repair=repair)
