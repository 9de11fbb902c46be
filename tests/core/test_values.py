"""Reading numbers as planners' data hold them (``core.values``): German/English notation
decided per field, suppression marks, missing-value codes, implausible and extreme values.
Every expected number is written out by hand. Runs on both stacks."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core import i18n, validate, values
from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.feedback import Feedback


def _numbers(texts, notation="auto"):
    numbers, report = values.parse_numbers(texts, "EW", "Blöcke", notation)
    return numbers.tolist(), report


def _refused(texts, *parts, notation="auto"):
    with pytest.raises(InputError) as info:
        values.parse_numbers(texts, "EW", "Blöcke", notation)
    for part in parts:
        assert part in str(info.value), (part, str(info.value))
    return str(info.value)


def test_german_notation_decided_by_the_field():
    numbers, report = _numbers(["4.444", "12,5", "1.234,5", "-1.234.567", "7"])
    assert numbers == [4444.0, 12.5, 1234.5, -1234567.0, 7.0]
    assert (report.notation, report.converted, report.suppressed) == ("german", 5, 0)
    # 4.444 and 12.500 alone are ambiguous; one comma decimal makes the field German
    assert _numbers(["4.444", "12.500", "7,5"])[0] == [4444.0, 12500.0, 7.5]
    # a comma with three decimals in a German field is a decimal comma
    assert _numbers(["1,234", "0,5"])[0] == [1.234, 0.5]
    assert _numbers(["1 234,5", "\u2212 3,25"])[0] == [1234.5, -3.25]  # blank grouping, minus sign


def test_english_and_plain_notation():
    numbers, report = _numbers(["1,234.5", "12.5", "1,000,000"])
    assert numbers == [1234.5, 12.5, 1000000.0] and report.notation == "english"
    # a decimal point elsewhere in the field decides 4.444 as 4.444 and 1,234 as 1234
    assert _numbers(["0.5", "4.444", "1,234"])[0] == [0.5, 4.444, 1234.0]
    numbers, report = _numbers(["1234", "7", "+3"])
    assert numbers == [1234.0, 7.0, 3.0] and report.notation == "plain"
    assert _numbers(["1.5e3", "2"])[0] == [1500.0, 2.0]
    assert _numbers(["4.444"], notation="german")[0] == [4444.0]
    assert _numbers(["4.444"], notation="english")[0] == [4.444]


def test_ambiguous_and_mixed_fields_are_refused_by_name():
    message = _refused(["4.444", "12.500", "7"], "'EW'", "'Blöcke'", "'4.444'", "4444", "4.444")
    assert "field calculator" in message
    _refused(["4,444", "12,500"], "'4,444'", "4444")
    # counts are whole numbers: only the grouping reading is possible
    assert values.parse_numbers(["4.444", "12.500", "7"], whole_numbers=True)[0].tolist() == [4444.0, 12500.0, 7.0]
    assert values.parse_numbers(["4,444", "7"], whole_numbers=True)[0].tolist() == [4444.0, 7.0]
    with pytest.raises(InputError):
        values.parse_numbers(["4,444", "4.444"], whole_numbers=True)
    frame = pd.DataFrame({"EW": ["1.234", "2.000", "12"]})
    assert validate.numeric_field(frame, "EW", allow_negative=False).tolist() == [1234.0, 2000.0, 12.0]
    _refused(["12,5", "12.5"], "mixes German notation", "'12,5'", "'12.5'")
    _refused(["12", "zwölf", "zwölf"], "not numeric", "'zwölf'", "2 feature(s)")
    _refused(["1.23.4"], "not numeric")
    with i18n.language("de"):  # German messages show German decimal commas
        assert "4,444 (Dezimaltrennzeichen)" in _refused(["4.444"])


def test_suppression_marks_become_missing_and_are_counted():
    numbers, report = _numbers(["1.234", "–", ".", "x", "", "/", "…", None, "5,5", "-"])
    assert numbers[0] == 1234.0 and numbers[8] == 5.5
    assert all(np.isnan(numbers[i]) for i in (1, 2, 3, 4, 5, 6, 7, 9))
    assert report.suppressed == 7 and report.converted == 2  # None is a NULL, not a mark
    assert report.marks["–"] == 1 and report.marks["."] == 1
    message = report.message()
    assert "German notation (1.234,5)" in message and "converted 2 values" in message
    assert "7 value(s)" in message and "'.'" in message


def test_numbers_pass_unchanged_and_report_nothing():
    numbers, report = _numbers([1, 2.5, None, np.nan])
    assert numbers[:2] == [1.0, 2.5] and np.isnan(numbers[2]) and report.message() is None
    series = pd.Series(pd.array([1, None, 3], dtype="Int64"))
    converted, report = values.to_numbers(series, "n", "L")
    assert converted.dtype == np.float64 and np.isnan(converted[1]) and report.notation == "numeric"


def test_numeric_field_converts_text_and_logs_once():
    frame = pd.DataFrame({"EW": ["4.444", "12,5", "–"], "x": [1, 2, 3]})
    frame.attrs["layer_name"] = "Blöcke"
    before = frame.copy()
    lines = []
    with values.reporting(Feedback(on_info=lines.append)):
        first = validate.numeric_field(frame, "EW")
        validate.numeric_field(frame, "EW")  # read twice, said once
        validate.numeric_field(frame, "x")   # a number field: nothing to say
    assert first.tolist()[:2] == [4444.0, 12.5] and np.isnan(first.iloc[2])
    assert len(lines) == 1 and "Field 'EW' in layer 'Blöcke'" in lines[0] and "converted 2 values" in lines[0]
    pd.testing.assert_frame_equal(frame, before)
    validate.numeric_field(frame, "EW")  # outside a reporting block: silent, no error


def test_suspicious_codes_extremes_and_impossible_values():
    found = values.suspicious_values([10, 12, -9999, 11, 99999, 13])
    assert [(s.value, s.reason, s.positions) for s in found] == [(-9999.0, "code", [2]), (99999.0, "code", [4])]
    # a -99 among changes from -40 to +30 is data, -9999 is not
    assert values.suspicious_values([-40, 30, -99, 5]) == []
    assert [s.value for s in values.suspicious_values([-40, 30, -9999, 5])] == [-9999.0]
    # 99999 inside the spread of the rest is data (a big district), far above it a code
    assert values.suspicious_values([80000, 120000, 99999, 95000]) == []
    # -1 is a code only where negatives are impossible
    assert values.suspicious_values([3, -1, 5]) == []
    assert [(s.value, s.reason) for s in values.suspicious_values([3, -1, 5], "count")] == [(-1.0, "code")]
    assert [(s.value, s.reason) for s in values.suspicious_values([3, -2, 5], "count")] == [(-2.0, "impossible")]
    assert [s.value for s in values.suspicious_values([0.2, 1.5, 0.3], "share")] == [1.5]
    assert [s.value for s in values.suspicious_values([20, 101, 30], "percent")] == [101.0]
    assert values.suspicious_values([20, 100, 0], "percent") == []
    found = values.suspicious_values([1.0, np.inf, 1e300, -np.inf, np.nan, 2.0])
    assert sorted((s.value, s.reason) for s in found) == [(-np.inf, "extreme"), (1e300, "extreme"),
                                                          (np.inf, "extreme")]
    assert values.suspicious_values([np.nan, 1.0, -9999], missing_codes=[-9999]) == []
    assert [s.value for s in values.suspicious_values([-9999, -9999])] == [-9999.0]


def test_describe_and_check_name_value_count_and_areas():
    suspects = values.suspicious_values([5, -9999, 6, -9999, np.inf])
    message = values.describe_suspects(suspects, "Arbeitslose", "PLR", labels=["a", "b", "c", "d", "e"])
    assert "'Arbeitslose'" in message and "'PLR'" in message
    assert "-9999 (a typical code for 'no value') in 2 feature(s): 'b', 'd'" in message
    assert "inf (an extreme value) in 1 feature(s): 'e'" in message and "Missing value codes" in message
    with pytest.raises(InputError, match="1e\\+300"):
        values.check_plausible([1, 2, 1e300], "x", "L")
    values.check_plausible([1, 2, 3], "x", "L")


def test_numeric_field_refuses_codes_and_extremes_by_feature():
    frame = pd.DataFrame({"EW": [100.0, -9999.0, 120.0], "z": [1.0, 2.0, 1e300]}, index=[10, 11, 12])
    with pytest.raises(InputError, match="-9999 .* in 1 feature\\(s\\): 11"):
        validate.numeric_field(frame, "EW")
    with pytest.raises(InputError, match="12"):
        validate.numeric_field(frame, "z")
    assert validate.numeric_field(frame, "z", plausible=False).iloc[2] == 1e300
    # a negative count keeps the clear 'negative' message (with its hint to codes such as -1)
    with pytest.raises(InputError, match="negative"):
        validate.numeric_field(pd.DataFrame({"n": [3.0, -1.0]}), "n", allow_negative=False)


def test_missing_codes_parsed_and_replaced():
    assert values.parse_missing_codes("-9999; -1") == [-9999.0, -1.0]
    assert values.parse_missing_codes("-9999, -1,5") == [-9999.0, -1.5]
    assert values.parse_missing_codes("-9.999") == [-9999.0]  # a German user's -9999
    assert values.parse_missing_codes("") == [] and values.parse_missing_codes(None) == []
    assert values.parse_missing_codes(-99.0) == [-99.0]
    with pytest.raises(InputError, match="'minus'"):
        values.parse_missing_codes("minus")
    original = np.array([1.0, -9999.0, 3.0, -1.0])
    replaced, count = values.replace_missing_codes(original, [-9999.0, -1.0])
    assert count == 2 and np.isnan(replaced[[1, 3]]).all() and replaced[0] == 1.0
    assert original[1] == -9999.0  # the input is untouched


def test_raster_fill_values_found_only_far_outside_the_data():
    data = np.array([[1.0, 2.0, -9999.0], [3.4028234663852886e38, 65535.0, 12000.0]])
    assert values.fill_value_mask(data).tolist() == [[False, False, True], [True, True, False]]
    rest = np.array([1.0, 2.0, 3.0, 4.0])
    assert values.is_fill_outlier(-9999.0, rest) and values.is_fill_outlier(-3.4028234663852886e38, rest)
    assert values.is_fill_outlier(65535.0, rest)
    # a DEM or a uint16 band whose values reach 65535 legitimately is no fill
    assert not values.is_fill_outlier(65535.0, np.array([40000.0, 52000.0, 61000.0, 64000.0]))
    assert not values.is_fill_outlier(-32768.0, np.array([-30000.0, -12000.0, 5000.0, 20000.0]))


def _zones():
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[box(0, 0, 2, 4), box(2, 0, 4, 4)],
                            crs="EPSG:25833", index=["A", "B"])


def test_zonal_warns_about_an_unflagged_fill_value_and_the_nodata_setting_fixes_it():
    from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

    grid = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, -9999, 12], [13, 14, 15, -9999]], dtype="float32")
    warnings = []
    table, diag = zonal_statistics(_zones(), grid, stats="mean,count",
                                   options=ZonalOptions(transform=(1, 0, 0, 0, -1, 4), crs="EPSG:25833"),
                                   feedback=Feedback(on_warning=warnings.append))
    assert diag["fill_values"] == {1: {-9999.0: 2}}
    assert len(warnings) == 1
    for part in ("no nodata value", "band 1 holds -9999 in 2 pixel(s) under 1 area(s) (e.g. B)",
                 "Nodata value of the raster"):
        assert part in warnings[0], warnings[0]
    # area B (columns 2-3): 3, 4, 7, 8, -9999, 12, 15, -9999 → the fill values drag the mean off
    assert table.loc["B", "b1_mean"] == pytest.approx((3 + 4 + 7 + 8 + 12 + 15 - 2 * 9999) / 8)
    warnings.clear()
    table, diag = zonal_statistics(_zones(), grid, stats="mean,count",
                                   options=ZonalOptions(transform=(1, 0, 0, 0, -1, 4), crs="EPSG:25833",
                                                        nodata=-9999),
                                   feedback=Feedback(on_warning=warnings.append))
    assert table.loc["B", "b1_mean"] == pytest.approx((3 + 4 + 7 + 8 + 12 + 15) / 6)
    assert table.loc["B", "b1_count"] == 6 and diag["fill_values"] == {} and warnings == []
    # area A holds only ordinary values: 1 2 5 6 9 10 13 14
    assert table.loc["A", "b1_mean"] == pytest.approx(7.5)


def test_zonal_float32_fill_value_named():
    from kommunalmonitor.core.zonal import ZonalOptions, zonal_statistics

    grid = np.array([[1.5, 2.5, 3.5, -3.4028234663852886e38]] * 4, dtype="float32")
    warnings = []
    zonal_statistics(_zones(), grid, stats="mean",
                     options=ZonalOptions(transform=(1, 0, 0, 0, -1, 4), crs="EPSG:25833"),
                     feedback=Feedback(on_warning=warnings.append))
    assert len(warnings) == 1 and "-3.4028235e+38 in 4 pixel(s)" in warnings[0], warnings


def test_dasymetric_raster_leaves_a_positive_fill_value_out_and_says_so():
    from affine import Affine

    from kommunalmonitor.core.overlay.interpolate import RasterWeights

    weights = RasterWeights(np.array([[10.0, 20.0], [65535.0, -9999.0]]), Affine(1, 0, 0, 0, -1, 2))
    assert weights.weights.tolist() == [10.0, 20.0] and weights.fill_values == {65535.0: 1}
    flagged = RasterWeights(np.array([[10.0, 20.0], [65535.0, 5.0]]), Affine(1, 0, 0, 0, -1, 2), nodata=65535)
    assert flagged.weights.tolist() == [10.0, 20.0, 5.0] and flagged.fill_values == {}


def test_composite_warns_when_one_area_alone_sets_the_spread():
    import geopandas as gpd
    from shapely.geometry import box

    from kommunalmonitor.core.indices.composite import composite_index

    frame = gpd.GeoDataFrame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8, 1e10], "b": [3.0, 1, 4, 1, 5, 9, 2, 6, 5]},
                             geometry=[box(i, 0, i + 1, 1) for i in range(9)], crs="EPSG:25833",
                             index=[f"P{i}" for i in range(9)])
    frame.attrs["layer_name"] = "PLR"
    warnings = []
    result = composite_index(frame, ["a", "b"], min_population=0, feedback=Feedback(on_warning=warnings.append))
    assert len(warnings) == 1
    assert "Indicator 'a' of layer 'PLR': area P8 (value 1e+10) alone sets" in warnings[0]
    # the other areas' z for 'a' are all (1..8 - mean) / sd with sd ~ 3.1e9: nearly equal
    assert np.ptp(result.scores["a"].iloc[:8].to_numpy()) < 1e-8
    warnings.clear()
    composite_index(frame.assign(a=[1.0, 2, 3, 4, 5, 6, 7, 8, 30]), ["a", "b"], min_population=0,
                    feedback=Feedback(on_warning=warnings.append))
    assert warnings == []  # an ordinary high value is no alarm
    composite_index(frame.assign(a=[0.0] * 8 + [1.0]), ["a", "b"], min_population=0,
                    feedback=Feedback(on_warning=warnings.append))
    assert warnings == []  # a 0/1 marker of one area is deliberate


def test_grid_text_counts_in_german_notation_and_office_marks():
    from kommunalmonitor.core.overlay.grid import parse_grid_values

    lines = []
    with values.reporting(Feedback(on_info=lines.append)):
        counts, secret = parse_grid_values(["1.234", "–", "12", ".", "4.444"], field="EW", layer="Zensus")
    assert counts[[0, 2, 4]].tolist() == [1234.0, 12.0, 4444.0]  # never 1.234 persons
    assert np.isnan(counts[[1, 3]]).all() and secret.tolist() == [False, True, False, True, False]
    assert len(lines) == 1 and "German notation" in lines[0]
    with pytest.raises(InputError, match="'viele'"):
        parse_grid_values(["12", "viele"], field="EW", layer="Zensus")


def test_catalogue_counts_read_as_counts_and_an_impossible_share_named():
    from kommunalmonitor.core.indices.catalogue import compute_indicators, load_catalogue

    catalogue = load_catalogue("""\
id: mini
name: {de: Mini, en: Mini}
indicators:
  - id: kids_poor
    label: {de: Kinderarmut, en: Child poverty}
    domain: Soziales
    numerator: poor_kids
    denominator: kids
""")
    frame = pd.DataFrame({"poor_kids": ["1.200", "10", "30"], "kids": ["2.400", "20", "25"]},
                         index=["P1", "P2", "P3"])
    result = compute_indicators(catalogue, frame)
    # counts as text: 1.200 of 2.400 children = 50 %, not 1.2 of 2.4; 30 of 25 is impossible
    np.testing.assert_allclose(result.values["kids_poor"], [50.0, 50.0, 120.0])
    assert any("share above 100, which is impossible (e.g. area P3: 120.0)" in w for w in result.warnings)
    with pytest.raises(InputError, match="negative"):
        compute_indicators(catalogue, frame.assign(kids=[20.0, -3.0, 25.0]))


def test_rates_are_not_summed_as_counts_silently():
    import geopandas as gpd
    from shapely.geometry import Point, box

    from kommunalmonitor.core.aggregate import aggregate_to_areas
    from kommunalmonitor.core.overlay.interpolate import area_interpolate

    assert values.rate_like([0.12, 0.3, 0.05]) == "share"
    assert values.rate_like([7.5, 12.3, 4.1, 0.0]) == "percent"
    assert values.rate_like([120, 80, 50]) is None  # whole numbers: counts
    assert values.rate_like([12.345678, 40.1, 7.25]) is None  # unrounded: interpolated counts
    assert values.rate_like([7.5, 250.5, 3.5]) is None  # beyond 100: no percentage
    areas = gpd.GeoDataFrame({"plr": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
                             crs="EPSG:25833")
    blocks = gpd.GeoDataFrame({"rate": [7.5, 12.5, 4.1], "ew": [100, 200, 50]},
                              geometry=[Point(2, 2), Point(4, 4), Point(15, 5)], crs="EPSG:25833")
    warnings = []
    aggregate_to_areas(blocks, areas, "plr", ["rate", "ew"], feedback=Feedback(on_warning=warnings.append))
    rate_warnings = [w for w in warnings if "holds values like a percentage" in w]
    assert len(rate_warnings) == 1 and "'rate'" in rate_warnings[0] and "7.5" in rate_warnings[0]
    assert "Rates from the sums" in rate_warnings[0]
    warnings.clear()
    sources = gpd.GeoDataFrame({"quote": [0.12, 0.3, 0.05]},
                               geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
                               crs="EPSG:25833")
    area_interpolate(sources, areas, extensive=["quote"], feedback=Feedback(on_warning=warnings.append))
    assert any("'quote'" in w and "like a share" in w and "intensive" in w for w in warnings), warnings


def test_zonal_population_raster_fill_value_weighs_nothing():
    from kommunalmonitor.core.zonal import RasterGrid, ZonalOptions, zonal_statistics

    values_grid = np.array([[10.0, 20, 30, 40]] * 4)
    population = np.array([[1.0, 1, 1, -9999]] * 4)  # -9999: no nodata flag
    weights = RasterGrid(population, transform=(1, 0, 0, 0, -1, 4), crs="EPSG:25833")
    warnings = []
    table, _ = zonal_statistics(_zones(), values_grid, stats="weighted_mean",
                                options=ZonalOptions(transform=(1, 0, 0, 0, -1, 4), crs="EPSG:25833"),
                                weights=weights, feedback=Feedback(on_warning=warnings.append))
    # area B covers the columns 30 and 40; the 40s carry no population: the mean is 30
    assert table.loc["B", "b1_weighted_mean"] == pytest.approx(30.0)
    assert table.loc["A", "b1_weighted_mean"] == pytest.approx(15.0)
    assert any("holds -9999 under the areas" in w for w in warnings), warnings
