"""Statistics tables: reading awkward office files, reshaping series, joining with a report."""
import glob
import os

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.tables import (ReadOptions, join_table, long_table, long_to_wide, parse_period,
                                         read_table, stack_period_tables, wide_to_long)
from kommunalmonitor.core.tables.reading import decode_bytes, sniff_delimiter


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_cp1252_semicolons_title_rows_markers_and_leading_zero_keys(tmp_path):
    text = ("Bevölkerung nach Planungsräumen;;;\r\n"
            "Stand: 31.12.2022;;;\r\n"
            ";;;\r\n"
            "Schlüssel;Name;Einwohner;Anteil Ältere\r\n"
            "0101;Nördliche Altstadt;1.234;12,5\r\n"
            "0102;Südviertel;–;x\r\n"
            "0103;Größere Au;2.345.678;\r\n"
            "0104;Bachweg;12;.\r\n"
            ";;;\r\n"
            "Quelle: Statistikstelle;;;\r\n")
    path = _write(tmp_path, "ew.csv", text, "cp1252")
    result = read_table(path)
    frame = result.frame
    assert result.encoding == "cp1252" and result.delimiter == ";"
    assert result.header_row == 4 and result.dropped_rows_above == 2 and result.dropped_rows_below == 1
    assert list(frame.columns) == ["Schlüssel", "Name", "Einwohner", "Anteil Ältere"]
    assert frame["Schlüssel"].tolist() == ["0101", "0102", "0103", "0104"]
    assert frame["Name"].tolist()[2] == "Größere Au"
    # notation per column: '2.345.678' makes the residents column German, so '1.234' is 1234
    residents = frame["Einwohner"].to_numpy()
    assert residents[[0, 2, 3]].tolist() == [1234.0, 2345678.0, 12.0] and np.isnan(residents[1])
    shares = frame["Anteil Ältere"].to_numpy()
    assert shares[0] == 12.5 and np.isnan(shares[1:]).all()
    report = result.columns["Anteil Ältere"]
    assert report.notation == "de" and report.suppressed == {"x": 1, ".": 1} and report.missing == 1
    assert result.columns["Einwohner"].suppressed == {"–": 1}
    assert result.markers["Anteil Ältere"] == [None, "x", "", "."]
    lines = " ".join(result.summary_lines())
    assert "leading zeros" in lines and "2 title or note row(s)" in lines


def test_ambiguous_thousands_column_is_read_with_the_given_notation(tmp_path):
    path = _write(tmp_path, "ew.csv", "key;ew\n01;1.234\n02;4.444\n03;12\n")
    with pytest.raises(InputError, match="ew"):
        read_table(path)
    result = read_table(path, ReadOptions(notation="german"))
    assert result.frame["ew"].tolist() == [1234.0, 4444.0, 12.0]
    assert result.frame["key"].tolist() == ["01", "02", "03"]


def test_utf8_bom_comma_english_notation_and_quoted_fields(tmp_path):
    text = '\ufeffid,name,rate\n"A1","Nord, Alt",1.5\n"A2",Süd,"1,234.5"\n'
    result = read_table(_write(tmp_path, "t.csv", text))
    assert result.encoding == "UTF-8 (BOM)" and result.delimiter == ","
    assert list(result.frame.columns) == ["id", "name", "rate"]
    assert result.frame["name"].tolist() == ["Nord, Alt", "Süd"]
    assert result.frame["rate"].tolist() == [1.5, 1234.5]
    assert result.columns["rate"].notation == "en"


def test_sniffing_helpers():
    assert decode_bytes("Größe".encode("cp1252")) == ("Größe", "cp1252")
    assert decode_bytes("\ufeffa;b".encode("utf-8"))[0] == "a;b"
    assert decode_bytes("a\tb".encode("utf-16"))[1] == "UTF-16"
    # decimal commas inside ';' rows must not make ',' the delimiter
    assert sniff_delimiter("Titel\nk;a;b\n1;2,5;3\n2;4;5,25\n3;1;1\n") == ";"
    assert sniff_delimiter("k\ta\tb\n1\t2\t3\n") == "\t"


def test_text_columns_forced_and_missing_file(tmp_path):
    path = _write(tmp_path, "t.csv", "code;n\n123;1\n456;2\n")
    assert read_table(path).frame["code"].dtype == np.float64
    forced = read_table(path, ReadOptions(text_columns=("code",))).frame
    assert forced["code"].tolist() == ["123", "456"]
    with pytest.raises(InputError, match="does not exist"):
        read_table(str(tmp_path / "nope.csv"))
    with pytest.raises(InputError, match="xlsx"):
        read_table(_write(tmp_path, "old.xls", "x"))


def test_xlsx_title_rows_numeric_cells_and_text_keys(tmp_path):
    import openpyxl  # both stacks have it (Makefile installs it)
    book = openpyxl.Workbook()
    book.active.title = "Inhalt"
    book.active.append(["Titel: Einwohner"])
    sheet = book.create_sheet("Daten")
    sheet.append(["Einwohner nach Planungsraum"])
    sheet.append([])
    sheet.append(["PLR", "EW 2019", "EW 2020", "EW_2021"])
    sheet.append(["0101", 100, 110, "–"])
    sheet.append(["0102", 200.0, None, 230])
    sheet.append(["Quelle: AfS"])
    path = str(tmp_path / "t.xlsx")
    book.save(path)
    result = read_table(path)
    assert result.sheet == "Daten" and result.header_row == 3 and result.dropped_rows_below == 1
    assert result.frame["PLR"].tolist() == ["0101", "0102"]
    assert result.frame["EW 2019"].tolist() == [100.0, 200.0]
    long = wide_to_long(result.frame, "PLR", result)
    assert long.periods == ["2019", "2020", "2021"] and long.indicators == ["EW"]
    rows = {(r.key, r.period): (r.value, r.status) for r in long.frame.itertuples()}
    assert rows[("0101", "2021")][1] == "suppressed" and np.isnan(rows[("0101", "2021")][0])
    assert rows[("0102", "2020")][1] == "missing"
    assert rows[("0102", "2021")] == (230.0, None)
    with pytest.raises(InputError, match="no sheet"):
        read_table(path, ReadOptions(sheet="Fehlt"))


@pytest.mark.parametrize("text,period", [
    ("EW_2019", "2019"), ("2020", "2020"), ("2021 H1", "2021-H1"), ("Einwohner 2. Hj. 2022", "2022-H2"),
    ("31.12.2022", "2022-H2"), ("30.06.2023", "2023-H1"), ("Stand 31.03.2020", "2020-03-31"),
    ("berlin-lor-population-2015-02-t1-planning-areas.csv", "2015-H2"), ("2019_1", "2019-H1"),
    ("Einwohner", None), ("PLR-ID", None), ("S1_SD_GR", None)])
def test_parse_period(text, period):
    assert parse_period(text)[0] == period


def test_long_table_and_round_trip_to_wide():
    frame = pd.DataFrame({"key": ["01", "01", "02", "02"], "Jahr": [2020.0, 2021.0, 2020.0, 2021.0],
                          "ew": [10.0, 11.0, 20.0, np.nan]})
    long = long_table(frame, "key", "Jahr")
    assert long.periods == ["2020", "2021"] and long.indicators == ["ew"]
    wide = long_to_wide(long)
    assert wide.columns.tolist() == ["key", "ew_2020", "ew_2021"]
    assert wide["key"].tolist() == ["01", "02"]
    assert wide["ew_2021"].tolist()[0] == 11.0 and np.isnan(wide["ew_2021"].tolist()[1])
    with pytest.raises(InputError, match="same area"):
        long_to_wide(pd.concat([long.frame, long.frame.head(1)]))
    with pytest.raises(InputError, match="not a year"):
        long_table(frame.assign(Jahr=["a", "b", "c", "d"]), "key", "Jahr")


def test_join_reports_matches_both_sides_duplicates_and_leading_zeros():
    areas = pd.DataFrame({"id": [1100101, 1100102, 1100103, 1100103], "n": [1, 2, 3, 4]})
    table = pd.DataFrame({"PLR": ["01100101", "01100102", "09999999", "01100102"],
                          "n": [5.0, 6.0, 7.0, 6.0]})
    result = join_table(areas, "id", table, "PLR")
    assert result.leading_zeros_ignored and result.matched == 2
    assert result.frame["n_2"].tolist()[:2] == [5.0, 6.0] and np.isnan(result.frame["n_2"].tolist()[2])
    assert result.frame["n"].tolist() == [1, 2, 3, 4]  # the layer's own field stays
    assert result.unmatched_areas == ["1100103"] and result.unmatched_table == ["09999999"]
    assert result.duplicate_area_keys == ["1100103"] and result.duplicate_table_rows == 1
    assert result.renamed_columns == {"n": "n_2"}
    assert "2 of 4" in result.summary_lines()[0]
    assert areas.columns.tolist() == ["id", "n"]  # input untouched
    with pytest.raises(InputError, match="01100101"):
        join_table(areas, "id", table.assign(n=[5.0, 6.0, 7.0, 8.0], PLR=["01100101"] * 4), "PLR")


def test_berlin_residents_table_joins_all_542_planning_areas(berlin_dir):
    import geopandas as gpd

    result = read_table(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"))
    frame = result.frame
    assert result.delimiter == ";" and result.encoding == "UTF-8 (BOM)"
    assert len(frame) == 542 and frame["PLR-ID"].str.len().eq(8).all()
    assert frame["PLR-ID"].iloc[0] == "01100101"
    # README: '–' marks suppressed values (5 PLR); two PLR are suppressed entirely
    suppressed_rows = frame.drop(columns="PLR-ID").isna().any(axis=1)
    assert suppressed_rows.sum() == 5 and result.columns["Gesamt"].suppressed == {"–": 2}
    areas = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    joined = join_table(areas, "PLR_ID", frame, "PLR-ID")
    assert joined.matched == 542 and not joined.unmatched_table and not joined.leading_zeros_ignored
    assert joined.frame["Gesamt"].sum() == pytest.approx(frame["Gesamt"].sum())


def test_berlin_half_yearly_series_and_the_mss_total(berlin_dir):
    files = sorted(glob.glob(os.path.join(berlin_dir, "einwohner_plr_zeitreihe", "*-t1-*.csv")))
    series = stack_period_tables([read_table(f) for f in files], "id")
    assert series.periods[0] == "2015-H1" and series.periods[-1] == "2024-H2" and len(series.periods) == 20
    residents = series.frame[series.frame["indicator"] == "inhabitants"]
    per_period = residents.groupby("period")["key"].nunique()
    assert per_period["2020-H2"] == 448 and per_period["2021-H1"] == 542
    mss = read_table(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"))
    # README: the MSS 'EW' total of 31.12.2020 equals the series' 2020-H2 total (3,769,962)
    total = residents.loc[residents["period"] == "2020-H2", "value"].sum()
    assert total == mss.frame["EW"].sum() == 3769962


def test_berlin_key_table_from_excel(berlin_dir):
    result = read_table(os.path.join(berlin_dir, "lor_2021_namen.xlsx"))
    assert result.sheet == "LOR_2023_Übersicht" and len(result.frame) == 542
    assert result.frame["PLR_ID"].iloc[0] == "01100101" and result.frame["BEZ_ID"].iloc[0] == "01"
    assert result.frame["PLR"].iloc[0] == "Stülerstraße"



def test_missing_value_codes_declared_or_warned(tmp_path):
    path = _write(tmp_path, "t.csv", "key;ew;rate\n01;100;1.5\n02;-9999;2.5\n03;120;-9999\n04;130;3.5\n")
    undeclared = read_table(path)
    assert undeclared.frame["ew"].tolist()[1] == -9999.0  # a number as typed, but the log warns
    warnings = " ".join(undeclared.warnings())
    assert "'ew'" in warnings and "-9999" in warnings and "'rate'" in warnings
    declared = read_table(path, ReadOptions(missing_codes=(-9999.0,)))
    assert np.isnan(declared.frame["ew"][1]) and declared.columns["ew"].coded == {-9999.0: 1}
    assert not declared.warnings()
    assert declared.markers["rate"] == [None, None, "code", None]
    wide = read_table(_write(tmp_path, "w.csv", "key;ew_2020;ew_2021\n01;100;–\n02;-9999;130\n"),
                      ReadOptions(missing_codes=(-9999.0,)))
    long = wide_to_long(wide.frame, "key", wide)
    statuses = {(r.key, r.period): r.status for r in long.frame.itertuples()}
    assert statuses[("02", "2020")] == "missing" and statuses[("01", "2021")] == "suppressed"
    assert statuses[("02", "2021")] is None
    assert "-9999 × 1" in " ".join(declared.summary_lines())


def test_berlin_mss_table_warns_about_its_minus_9999(berlin_dir):
    result = read_table(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"))
    warned = " ".join(result.warnings())
    assert "-9999" in warned and "'S1'" in warned
    declared = read_table(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
                          ReadOptions(missing_codes=(-9999.0,)))
    assert declared.frame["S1"].min() > -100 and declared.columns["S1"].coded[-9999.0] >= 1


def test_period_column_detected_in_long_tables():
    from kommunalmonitor.core.tables.reshape import detect_period_column, period_columns

    frame = pd.DataFrame({"Gebiet": ["01", "01"], "Stand": ["31.12.2021", "31.12.2022"],
                          "Jahr": [2021.0, 2022.0], "EW": [10.0, 11.0]})
    assert detect_period_column(frame, "Gebiet") == "Jahr"  # named like a period wins
    assert detect_period_column(frame.drop(columns="Jahr"), "Gebiet") == "Stand"
    assert detect_period_column(frame[["Gebiet", "EW"]], "Gebiet") is None
    wide = pd.DataFrame({"id": ["1"], "EW_2020": [1.0], "EW_2021": [2.0], "Name": ["x"]})
    assert period_columns(wide, "id") == ["EW_2020", "EW_2021"]
