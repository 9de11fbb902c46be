"""QA of the area profiles as a planner uses them on real Berlin data: what a council member
reads must never be a silently wrong number."""
import importlib.util
import os

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.profiles.content import IndicatorSpec, ProfileOptions, build_profiles, value_grid

_spec = importlib.util.spec_from_file_location(
    "profile_test_data", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_profiles_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _t2(berlin_dir, period):
    return pd.read_csv(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                    f"berlin-lor-population-{period}-t2-planning-areas.csv"), dtype={"id": str})


def _u6_series(berlin_dir, periods):
    rows = []
    for p in periods:
        t = _t2(berlin_dir, p)
        rows.append(pd.DataFrame({"area_id": t["id"], "period": p, "indicator": "u6_share",
                                  "value": 100 * t["inhabitants_age_below_6"] / t["inhabitants"],
                                  "numerator": t["inhabitants_age_below_6"], "base": t["inhabitants"]}))
    return pd.concat(rows, ignore_index=True)


def _u6_options():
    return ProfileOptions(id_field="PLR_ID", name_field="PLR_NAME", district_field="BEZ_ID", population_field="EW",
                          indicators=[IndicatorSpec("u6_share", "Children under 6", "Kinder unter 6",
                                                    numerator="unter6", base="Gesamt", unit="%",
                                                    higher_is_worse=False)],
                          min_count=3, reference_date="30.06.2022")


def test_series_across_the_2021_boundary_change_says_which_rows_it_cannot_show(berlin_mss, berlin_dir):
    # before: a series 2020-02 (448 old PLR) + 2021-01 (542 new PLR) gave profiles whose 2020
    # point was simply missing, without a word: the old ids match none of the new areas
    frame = data.berlin_frame(berlin_mss, berlin_dir)
    series = _u6_series(berlin_dir, ("2020-02", "2021-01"))
    content = build_profiles(frame, _u6_options(), series=series)
    assert content.diagnostics["series_unknown_rows"] == 448
    assert len(content.diagnostics["series_unknown_areas"]) == 448
    assert "01011101" in content.diagnostics["series_unknown_areas"]  # Stülerstraße on the old scheme
    assert set(content.series["period"]) == {"2021-01"}
    # the 2021-01 value shown for Stülerstraße (new 01100101) is the published share, by hand
    t = _t2(berlin_dir, "2021-01").set_index("id").loc["01100101"]
    shown = content.series[(content.series["area_id"] == "01100101")]["value"].iloc[0]
    assert shown == pytest.approx(100 * t["inhabitants_age_below_6"] / t["inhabitants"])


def test_two_values_for_one_area_and_period_are_refused_not_drawn_as_the_last(berlin_mss, berlin_dir):
    # before: a store table holding two area sets with the same ids drew the last row's value
    frame = data.berlin_frame(berlin_mss, berlin_dir)
    series = _u6_series(berlin_dir, ("2021-01",))
    twice = pd.concat([series.assign(area_set="plr2021"),
                       series.assign(area_set="plr2021_estimated", value=series["value"] + 1.0)],
                      ignore_index=True)
    with pytest.raises(InputError, match=r"more than one value for area 01100101, indicator u6_share, "
                                         r"period 2021-01.*several area sets \(plr2021, plr2021_estimated\)"):
        build_profiles(frame, _u6_options(), series=twice)


def test_one_row_per_area_and_period_in_a_hand_case():
    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["a", "a", "zz"], "period": ["2019", "2020", "2019"],
                           "indicator": ["unemployment"] * 3, "value": [5.0, 6.0, 7.0]})
    content = build_profiles(frame, data.small_options(), series=series)
    periods, _, grids = value_grid(content)
    assert periods == ["2019", "2020", "31.12.2024"]
    assert grids["unemployment"][:, 0].tolist() == [5.0, 6.0, 4.0]
    assert content.diagnostics["series_unknown_areas"] == ["zz"]
    with pytest.raises(InputError, match="area a, indicator unemployment, period 2019"):
        build_profiles(frame, data.small_options(), series=pd.concat([series, series.iloc[:1]]))
    assert np.isnan(grids["unemployment"][0, 1])


def _pdf_text(path):
    import subprocess

    return subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout


def test_a_residents_count_below_the_minimum_is_not_printed_under_the_name(tmp_path):
    # before: area c with 2 residents showed '• / •' for its child share (base 2 < 3 hidden) and
    # '2 residents' in the line right above the table, in the PDF and on the web page
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame = data.small_city()
    frame.loc[2, ["residents", "children"]] = [2.0, 1.0]
    content = build_profiles(frame, data.small_options())
    hidden = content.values[(content.values["area_id"] == "c") & (content.values["indicator"] == "child_share")]
    assert bool(hidden["suppressed"].iloc[0]) and np.isnan(hidden["base"].iloc[0])
    write_atlas(content, str(tmp_path / "de.pdf"), AtlasOptions(lang="de"))
    write_atlas(content, str(tmp_path / "en.pdf"), AtlasOptions(lang="en"))
    write_web_atlas(content, str(tmp_path / "web"), WebAtlasOptions())
    de, en = _pdf_text(str(tmp_path / "de.pdf")), _pdf_text(str(tmp_path / "en.pdf"))
    assert "Planungsraum c · Bezirk N · weniger als 3 Einwohnerinnen und Einwohner" in de
    assert "Planning area c · District N · fewer than 3 residents" in en
    assert "2 residents" not in en and "2 Einwohnerinnen" not in de
    # the other areas keep their residents (1,000 is published)
    assert "Planning area a · District N · 1,000 residents" in en
    page = (tmp_path / "web" / "en" / "profiles" / "c.html").read_text(encoding="utf-8")
    assert "fewer than 3 residents" in page and "2 residents" not in page
    # publication minimum off: the count is shown as it is
    plain = build_profiles(frame, data.small_options(min_count=0))
    write_atlas(plain, str(tmp_path / "plain.pdf"), AtlasOptions(lang="en"))
    assert "Planning area c · District N · 2 residents" in _pdf_text(str(tmp_path / "plain.pdf"))


def _words_beyond_right_margin(path, page):
    """Words of ``page`` whose box ends right of the page width minus the 36 pt margin."""
    import re
    import subprocess

    box = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), path, "-"],
                         capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', box).group(1))
    return [w for x, w in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
                                     box) if float(x) > width - 36 + 0.5]


def test_a_long_area_name_stays_on_the_page(tmp_path):
    # before: 'Gewerbegebiet Bitterfelder Straße / Marzahn-Hellersdorf-Nord (Ortsteil Marzahn), Teilgebiet
    # Süd-Ost' was drawn at 17 pt and ran off the right edge after '(Ortste'
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.small_city()
    long_name = ("Gewerbegebiet Bitterfelder Straße / Marzahn-Hellersdorf-Nord (Ortsteil Marzahn), "
                 "Teilgebiet Süd-Ost")
    frame.loc[0, "name"] = long_name
    frame.loc[1, "name"] = " ".join(["Schmöckwitz/Rauchfangswerder-Karolinenhof"] * 6)  # absurdly long
    content = build_profiles(frame, data.small_options())
    path = str(tmp_path / "long.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="de"))
    first = info["first_area_page"]
    assert _words_beyond_right_margin(path, first) == []
    assert _words_beyond_right_margin(path, first + 1) == []
    text = _pdf_text(path)
    assert long_name in text  # the whole name, only smaller


def test_layer_values_without_a_date_are_not_drawn_after_the_series(berlin_mss, berlin_dir, tmp_path):
    # before: the MSS layer (31.12.2020) with the resident series 2022-02 … 2024-02 and no reference
    # date: the 2020/2022 layer values were drawn as the point 'current' after 2024-02
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["BEZ_ID"] == "03"].reset_index(drop=True)  # Pankow, to stay fast
    options = _u6_options()
    options.reference_date = ""
    series = _u6_series(berlin_dir, ("2022-02", "2024-02"))
    content = build_profiles(frame, options, series=series)
    with pytest.raises(InputError, match=r"periods 2022-02 … 2024-02, but the layer's values have no date"):
        value_grid(content)
    with pytest.raises(InputError, match="reference date"):
        write_atlas(content, str(tmp_path / "a.pdf"), AtlasOptions(lang="de"))
    assert not (tmp_path / "a.pdf").exists()
    # an earlier web atlas in the folder is not emptied by the refusal
    dated = build_profiles(frame, _u6_options(), series=series)
    write_web_atlas(dated, str(tmp_path / "web"), WebAtlasOptions())
    with pytest.raises(InputError, match="reference date"):
        write_web_atlas(content, str(tmp_path / "web"), WebAtlasOptions())
    assert (tmp_path / "web" / "de" / "profiles" / "03100101.html").exists()
    # with a label in the series' own notation the layer's values sit at their place in time
    periods, current, _ = value_grid(content, period="2022-01")
    assert periods == ["2022-01", "2022-02", "2024-02"]


def test_a_missing_value_is_explained_not_left_as_a_bare_dash(berlin_mss, berlin_dir, tmp_path):
    # before: Blankenburger Süden (03300515, MSS 'ungültig (EW unter 300)') showed '–' for
    # unemployment and child poverty with no word what it means; in official German tables '–'
    # reads as 'exactly zero'
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["PLR_ID"].isin(["03300515", "03300514", "03300516"])].reset_index(drop=True)
    options = ProfileOptions(id_field="PLR_ID", name_field="PLR_NAME", population_field="EW", min_count=3,
                             indicators=[IndicatorSpec("S1", "Unemployment", "Arbeitslosigkeit", unit="%"),
                                         IndicatorSpec("o65_share", "Residents 65+", "Einwohner ab 65",
                                                       numerator="65undmehr", base="Gesamt", unit="%")],
                             reference_date="31.12.2020")
    content = build_profiles(frame, options)
    row = int(np.flatnonzero(content.areas["area_id"] == "03300515")[0])
    assert np.isnan(content.values[(content.values["row"] == row) & (content.values["indicator"] == "S1")]
                    ["value"].iloc[0])
    path = str(tmp_path / "de.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="de"))
    pages = {k: _pdf_page(path, info["first_area_page"] + k) for k in range(3)}
    note = "kein Wert in den Daten (z. B. Gebiet nicht bewertet); nicht null."
    for k, text in pages.items():
        assert (note in " ".join(text.split())) == (k == row), (k, text[:60])
    # the published 65+ share of Blankenburger Süden (12 of 52) is printed, the dash only where no value is
    assert "23,1%" in pages[row] and "12 / 52 *" in pages[row]
    write_web_atlas(content, str(tmp_path / "web"), WebAtlasOptions())
    page = (tmp_path / "web" / "en" / "profiles" / "03300515.html").read_text(encoding="utf-8")
    assert "– no value in the data (e.g. the area is not rated); not zero." in page
    other = content.areas["area_id"].iloc[(row + 1) % 3]
    assert "no value in the data" not in (tmp_path / "web" / "en" / "profiles" / f"{other}.html").read_text(
        encoding="utf-8")


def _pdf_page(path, page):
    import subprocess

    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), path, "-"],
                          capture_output=True, text=True, check=True).stdout


def test_true_false_columns_read_from_text_keep_their_meaning(tmp_path):
    # before: the store's observations saved as CSV and read back ('suppressed' = 'false'/'true'
    # text) hid every value of the series, and a target status with significant = 'false' said
    # 'change larger than noise': astype(bool) reads every non-empty text as True
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["a", "a", "b", "b"], "period": ["2019", "2020", "2019", "2020"],
                           "indicator": ["unemployment"] * 4, "value": [5.0, 6.0, 7.0, 8.0],
                           "suppressed": ["false", "true", "0", "False"]})
    status = pd.DataFrame({"area_id": ["a", "b"], "indicator": ["unemployment"] * 2, "status": ["on track"] * 2,
                           "significant": ["false", "1"]})
    content = build_profiles(frame, data.small_options(), series=series, status=status)
    shown = content.series.set_index(["area_id", "period"])["value"]
    assert shown[("a", "2019")] == 5.0 and np.isnan(shown[("a", "2020")])
    assert shown[("b", "2019")] == 7.0 and shown[("b", "2020")] == 8.0
    assert content.area_status("a")["significant"].tolist() == [False]
    assert content.area_status("b")["significant"].tolist() == [True]
    path = str(tmp_path / "en.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="en"))
    page_a = " ".join(_pdf_page(path, info["first_area_page"]).split())
    assert "change within noise" in page_a and "larger than noise" not in page_a
    with pytest.raises(InputError, match="Column 'suppressed' of the time series table holds 'maybe'"):
        build_profiles(frame, data.small_options(), series=series.assign(suppressed="maybe"))


def test_time_series_left_out_for_space_are_named(berlin_mss, berlin_dir, tmp_path):
    # before: with 16 indicators (6 MSS, 2 shares, 8 context indicators) the page drew the time
    # series of the first 10 and left out 6 without a word
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["BEZ_ID"] == "07"].head(4).reset_index(drop=True)
    options = data.berlin_options(frame, min_count=3, n=16)
    assert len(options.indicators) == 16
    series = data.berlin_series(berlin_dir, frame, options.indicators, periods=("2022-02", "2024-02"))
    content = build_profiles(frame, options, series=series)
    path = str(tmp_path / "de.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="de", period="2020-12"))
    text = " ".join(_pdf_page(path, info["first_area_page"]).split())
    last = options.indicators[-1].label("de")
    assert f"Aus Platzgründen nicht gezeichnet (siehe Web-Atlas oder Daten): {last}." in text
    # ten indicators fit: no such line
    few = build_profiles(frame, data.berlin_options(frame, min_count=3, n=10), series=series)
    write_atlas(few, str(tmp_path / "few.pdf"), AtlasOptions(lang="de", period="2020-12"))
    assert "Platzgründen" not in _pdf_page(str(tmp_path / "few.pdf"), info["first_area_page"])


def test_a_priority_field_outside_the_four_levels_is_refused(tmp_path):
    # before: a 'priority' field with text ('hoch') ended in a ValueError traceback, and a level 5
    # or -1 was drawn in the 'not rated' grey on the overview but counted in no legend line
    # (1 + 1 + 0 + 1 + 2 = 5 of 6 areas)
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.small_city()
    for levels, shown in ((["1", "2", "3", "4", "hoch", None], "hoch"), ([1, 2, 5, 4, 0, np.nan], "5.0"),
                          ([1.0, 2, 3, 4, -1, np.nan], "-1.0")):
        with pytest.raises(InputError, match=f"Field 'priority' of layer .* holds {shown}; .* level 1 "):
            build_profiles(frame, data.small_options(), ranking=pd.DataFrame({"priority": levels}))
    content = build_profiles(frame, data.small_options(), ranking=pd.DataFrame({"priority": [1, 2, 2, 4, 0, None]}))
    path = str(tmp_path / "en.pdf")
    write_atlas(content, path, AtlasOptions(lang="en"))
    overview = " ".join(_pdf_page(path, 2).split())
    for line in ("Priority 1 (highest): 1", "Priority 2: 2", "Priority 3: 0", "Priority 4 (lowest): 1",
                 "No priority / not rated: 2"):
        assert line in overview


def test_values_estimated_across_a_boundary_change_are_marked(tmp_path):
    # before: the store's rebased 2015-2020 values (flag 'estimated', moved from the 448 old PLR to
    # the new ones) were drawn and printed like counted values, without a word
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["a"] * 3 + ["b"] * 3, "period": ["2020-01", "2020-02", "2021-01"] * 2,
                           "indicator": "unemployment", "value": [5.0, 5.5, 6.0, 7.0, 7.5, 8.0],
                           "estimated": [True, True, False, False, False, False]})
    content = build_profiles(frame, data.small_options(), series=series)
    path = str(tmp_path / "de.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="de"))
    page_a = " ".join(_pdf_page(path, info["first_area_page"]).split())
    page_b = " ".join(_pdf_page(path, info["first_area_page"] + 1).split())
    assert "Für dieses Gebiet geschätzt (Werte über eine Gebietsreform umgerechnet): 2020-01 … 2020-02." in page_a
    assert "geschätzt" not in page_b
    write_web_atlas(content, str(tmp_path / "web"), WebAtlasOptions())
    web_a = (tmp_path / "web" / "en" / "profiles" / "a.html").read_text(encoding="utf-8")
    assert "Estimated for this area (values moved across a boundary change): 2020-01 … 2020-02." in web_a
    assert "Estimated" not in (tmp_path / "web" / "en" / "profiles" / "b.html").read_text(encoding="utf-8")


def test_a_robustness_in_percent_is_refused_not_printed_as_9000_percent(tmp_path):
    # before: a layer whose 'robustness' field held 90 (percent) printed 'the class is robust in
    # 9,000 % of the variations of the method'
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.small_city()
    ranking = pd.DataFrame({"priority": [1, 2, 3, 4, 1, 2], "robustness": [90.0, 80, 70, 60, 50, 40]})
    with pytest.raises(InputError, match=r"Field 'robustness' of layer .* holds 90.00; .* share from 0 to 1"):
        build_profiles(frame, data.small_options(), ranking=ranking)
    content = build_profiles(frame, data.small_options(), ranking=ranking.assign(robustness=ranking["robustness"] / 100))
    path = str(tmp_path / "en.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="en"))
    assert "the class is robust in 90 % of the variations" in " ".join(_pdf_page(path, info["first_area_page"]).split())


def test_mixed_period_notations_show_the_order_used(berlin_mss, berlin_dir, tmp_path):
    # before: the resident share of 30.06.2022 (reference date '30.06.2022') with the half-year series
    # '2022-02' (= 31.12.2022) and '2024-02' was drawn after 31.12.2022 without a word: '2022-02'
    # sorts as February
    from kommunalmonitor.core.feedback import KeptFeedback
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["BEZ_ID"] == "03"].head(3).reset_index(drop=True)
    series = _u6_series(berlin_dir, ("2022-02", "2024-02"))
    content = build_profiles(frame, _u6_options(), series=series)
    feedback = KeptFeedback()
    write_atlas(content, str(tmp_path / "a.pdf"), AtlasOptions(lang="en"), feedback=feedback)
    assert any("their order is a guess: 2022-02 < 30.06.2022 < 2024-02" in w for w in feedback.warnings)
    # one notation: no warning
    quiet = KeptFeedback()
    write_atlas(content, str(tmp_path / "b.pdf"), AtlasOptions(lang="en", period="2022-01"), feedback=quiet)
    assert not any("order is a guess" in w for w in quiet.warnings)
