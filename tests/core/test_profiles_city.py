"""The city reference of the profiles (spine centre, 'city average', dashed series line):
the city's own rate from the counts, by hand, in the PDF, in the web atlas and on Berlin."""
import importlib.util
import json
import os
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.profiles import reference as ref
from kommunalmonitor.core.profiles.content import IndicatorSpec, ProfileOptions, build_profiles, city_lines, value_grid
from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

_spec = importlib.util.spec_from_file_location(
    "profile_test_data", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_profiles_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

CITY = 100 * 231 / 1110  # 20.81 %: all counts over all bases
MEAN_OF_RATES = (10 + 30 + 20) / 3  # 20.0 %: what the atlas used to call the city average


def three_areas(numerators=(1, 30, 200), bases=(10, 100, 1000)):
    """Three areas with counts 1/10, 30/100, 200/1000 (rates 10 %, 30 %, 20 %)."""
    num, den = np.asarray(numerators, dtype=float), np.asarray(bases, dtype=float)
    n = len(num)
    return gpd.GeoDataFrame({"id": [f"a{k}" for k in range(n)], "name": [f"Area {k}" for k in range(n)],
                             "cases": num, "base": den, "rate": 100 * num / den,
                             "plain": np.arange(n, dtype=float) + 1.0},
                            geometry=[box(k * 100, 0, (k + 1) * 100, 100) for k in range(n)], crs="EPSG:25833")


def three_options(min_count=0, population=None):
    """A rate with counts and a value without counts."""
    return ProfileOptions(id_field="id", name_field="name", population_field=population, min_count=min_count,
                          indicators=[IndicatorSpec("rate", "Rate", "Quote", numerator="cases", base="base", unit="%"),
                                      IndicatorSpec("plain", "Plain", "Einfach")],
                          reference_date="2024")


def _pdf_text(path, page):
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), path, "-"],
                          capture_output=True, text=True, check=True).stdout


def _atlas_data(folder):
    text = open(os.path.join(folder, "assets", "data.js"), encoding="utf-8").read()
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


def test_city_rate_is_all_counts_over_all_bases_not_the_mean_of_rates():
    content = build_profiles(three_areas(), three_options())
    rate = content.values[content.values["indicator"] == "rate"]
    assert rate["city_mean"].iloc[0] == pytest.approx(CITY) and CITY != pytest.approx(MEAN_OF_RATES)
    assert rate["city_method"].iloc[0] == "rate"
    # range and quartiles stay the distribution of the area values
    assert (rate["city_min"].iloc[0], rate["city_max"].iloc[0]) == (10.0, 30.0)
    assert rate["city_q25"].iloc[0] == pytest.approx(15.0) and rate["city_q75"].iloc[0] == pytest.approx(25.0)
    # the comparison is against the city rate: 20 % is 0.1 SD below 20.81 %, i.e. close to it
    z = (20.0 - CITY) / np.std([10.0, 30.0, 20.0])
    assert rate.set_index("area_id").loc["a2", "z"] == pytest.approx(z)
    refs = content.references.set_index("indicator")
    assert refs.loc["rate", "scale"] == 100.0 and refs.loc["rate", "n_areas"] == 3
    assert (refs.loc["rate", "fits"], refs.loc["rate", "compared"]) == (3, 3)
    # no counts and no residents field: the plain mean, and it says so
    plain = content.values[content.values["indicator"] == "plain"]
    assert plain["city_mean"].iloc[0] == pytest.approx(2.0) and plain["city_method"].iloc[0] == "mean"


def test_residents_weight_a_value_without_counts():
    frame = three_areas().assign(residents=[10.0, 100.0, 1000.0])
    content = build_profiles(frame, three_options(population="residents"))
    plain = content.values[content.values["indicator"] == "plain"]
    assert plain["city_method"].iloc[0] == "weighted"
    assert plain["city_mean"].iloc[0] == pytest.approx((1 * 10 + 2 * 100 + 3 * 1000) / 1110)
    rate = content.values[content.values["indicator"] == "rate"]
    assert rate["city_mean"].iloc[0] == pytest.approx(CITY)  # counts win over residents


def test_scale_per_mille_and_values_that_are_not_the_rate_of_the_counts():
    frame = three_areas().assign(rate=lambda f: 1000 * f["cases"] / f["base"])
    content = build_profiles(frame, three_options())
    refs = content.references.set_index("indicator")
    assert refs.loc["rate", "method"] == "rate" and refs.loc["rate", "scale"] == 1000.0
    assert content.values["city_mean"].iloc[0] == pytest.approx(10 * CITY)
    # values unrelated to the counts: not treated as their rate (plain mean, labelled as such)
    other = build_profiles(three_areas().assign(rate=[50.0, 5.0, 70.0]), three_options())
    refs = other.references.set_index("indicator")
    assert refs.loc["rate", "method"] == "mean" and refs.loc["rate", "fits"] == 0
    assert other.values["city_mean"].iloc[0] == pytest.approx(125 / 3)
    assert ref.infer_rate_scale([20.0, 0.0], [2, 0], [10, 10]) == (100.0, 2, 2)
    assert np.isnan(ref.infer_rate_scale([np.nan], [1], [10])[0])


def test_hidden_counts_enter_the_city_only_when_their_total_pins_none():
    # by hand, counts hidden below 3 lie in 1..2: one hidden count is its own total; (1, 1) and
    # (2, 2) are pinned by their totals 2 and 4; (1, 2) has total 3, each may be 1 or 2
    assert not ref.hidden_total_safe([1], 3) and not ref.hidden_total_safe([2], 3)
    assert not ref.hidden_total_safe([1, 1], 3) and not ref.hidden_total_safe([2, 2], 3)
    assert ref.hidden_total_safe([1, 2], 3) and ref.hidden_total_safe([], 3)
    assert ref.hidden_total_safe([4, 9, 12], 20)  # Berlin o65: total 25 of 3 counts in 1..19
    # one hidden area (1 case of 10): the city rate over all would give it away with the other
    # areas' published counts, so it is taken over the published areas: 230 / 1100
    content = build_profiles(three_areas(), three_options(min_count=3))
    rate = content.values[content.values["indicator"] == "rate"].set_index("area_id")
    assert rate.loc["a0", "suppressed"]
    assert rate["city_mean"].iloc[0] == pytest.approx(100 * 230 / 1100)
    assert not content.references.set_index("indicator").loc["rate", "hidden_included"]
    # two hidden areas with 1 and 2 cases: their total 3 pins neither, the city counts them
    frame = three_areas(numerators=(1, 2, 30, 200), bases=(10, 20, 100, 1000))
    content = build_profiles(frame, three_options(min_count=3))
    rate = content.values[content.values["indicator"] == "rate"]
    assert rate["suppressed"].sum() == 2
    assert rate["city_mean"].iloc[0] == pytest.approx(100 * 233 / 1130)
    assert content.references.set_index("indicator").loc["rate", "hidden_included"]


def test_series_city_line_per_period_from_its_counts():
    series = pd.DataFrame({"area_id": ["a0", "a1", "a2"], "period": "2023", "indicator": "rate",
                           "value": [20.0, 40.0, 15.0], "numerator": [2, 40, 150], "base": [10, 100, 1000]})
    content = build_profiles(three_areas(), three_options(), series=series)
    periods, current, _ = value_grid(content)
    lines = city_lines(content, periods, current)
    assert periods == ["2023", "2024"]
    np.testing.assert_allclose(lines["rate"], [100 * 192 / 1110, CITY])
    np.testing.assert_allclose(lines["plain"][1], 2.0)
    assert np.isnan(lines["plain"][0])  # no series of 'plain': no line there


def test_pdf_and_web_atlas_show_the_city_rate(tmp_path):
    series = pd.DataFrame({"area_id": ["a0", "a1", "a2"], "period": "2023", "indicator": "rate",
                           "value": [20.0, 40.0, 15.0], "numerator": [2, 40, 150], "base": [10, 100, 1000]})
    content = build_profiles(three_areas(), three_options(), series=series)
    path = str(tmp_path / "atlas.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="en"))
    page = _pdf_text(path, info["first_area_page"])
    line = next(x for x in page.splitlines() if x.strip().startswith("Rate"))
    assert "20.8%" in line and "20.0%" not in line  # the city rate, not the mean of the rates
    plain = next(x for x in page.splitlines() if x.strip().startswith("Plain"))
    assert "2.0°" in plain  # a mean of the areas among city averages carries its mark
    flat = " ".join(page.split())
    assert "City average of a rate: all counts of the city over all bases" in flat
    assert "mean of the areas: every area counts the same" in flat
    folder = str(tmp_path / "web")
    write_web_atlas(content, folder, WebAtlasOptions())
    atlas = _atlas_data(folder)
    assert atlas["refs"]["rate"][0] == pytest.approx(CITY, abs=1e-6)
    assert atlas["periods"] == ["2023", "2024"]
    assert atlas["city"]["rate"] == pytest.approx([100 * 192 / 1110, CITY], abs=1e-6)  # same line as the PDF
    assert [i["ref"] for i in atlas["indicators"]] == ["rate", "mean"]
    html = open(os.path.join(folder, "en", "profiles", "a2.html"), encoding="utf-8").read()
    assert "<td>20.8%</td>" in html and "<td>2.0°</td>" in html
    assert "City average of a rate" in html
    imprint = open(os.path.join(folder, "de", "imprint.html"), encoding="utf-8").read()
    assert "alle Fallzahlen der Stadt geteilt durch alle Basen" in imprint


def test_only_means_are_labelled_mean_of_the_areas(tmp_path):
    options = three_options()
    options.indicators = [IndicatorSpec("plain", "Plain", "Einfach")]
    content = build_profiles(three_areas(), options)
    path = str(tmp_path / "atlas.pdf")
    info = write_atlas(content, path, AtlasOptions(lang="de"))
    page = " ".join(_pdf_text(path, info["first_area_page"]).split())
    assert "Mittel der Gebiete" in page and "Gebietsmittel" in page and "Stadtdurchschnitt" not in page
    folder = str(tmp_path / "web")
    write_web_atlas(content, folder, WebAtlasOptions())
    html = open(os.path.join(folder, "de", "profiles", "a0.html"), encoding="utf-8").read()
    assert '<th scope="col">Mittel der Gebiete</th>' in html and "◀ ungünstiger · Mittel der Gebiete" in html
    assert "Stadtdurchschnitt" not in html
    en = open(os.path.join(folder, "en", "profiles", "a0.html"), encoding="utf-8").read()
    assert "city average" not in en and "not the city&#x27;s own rate" in en


def test_berlin_city_rate_is_the_published_counts_summed(berlin_mss, berlin_dir, tmp_path):
    """Residents 65+ and under 6 of 30.06.2022 and the half-yearly series of the 542 PLR: the
    city reference is Σ published counts / Σ published residents (not the mean of 542 shares)."""
    frame = data.berlin_frame(berlin_mss, berlin_dir)
    options = data.berlin_options(frame)  # publication minimum 20
    series = data.berlin_series(berlin_dir, frame, options.indicators)
    content = build_profiles(frame, options, series=series)
    values = content.values
    refs = content.references.set_index("indicator")
    residents = pd.to_numeric(frame["Gesamt"], errors="coerce").to_numpy(dtype=float)
    for indicator, count in (("o65_share", "65undmehr"), ("u6_share", "unter6")):
        block = values[values["indicator"] == indicator].sort_values("row")
        cases = pd.to_numeric(frame[count], errors="coerce").to_numpy(dtype=float)
        both = np.isfinite(cases) & np.isfinite(residents)
        hidden = block["suppressed"].to_numpy()
        if refs.loc[indicator, "hidden_included"]:  # 65+: 3 hidden counts, their total pins none
            expected = 100 * cases[both].sum() / residents[both].sum()
        else:  # under 6: one hidden count of 4 children: the published areas only
            expected = 100 * cases[both & ~hidden].sum() / residents[both & ~hidden].sum()
        city = block["city_mean"].iloc[0]
        assert city == pytest.approx(expected, rel=1e-12)
        assert refs.loc[indicator, "method"] == "rate" and refs.loc[indicator, "scale"] == 100.0
        # not the unweighted mean of the published shares (65+: 19.02 % against 19.50 %)
        assert abs(city - np.nanmean(block["value"])) > 0.01
    assert refs.loc["o65_share", "hidden_included"] and not refs.loc["u6_share", "hidden_included"]
    # the series periods: the counts of the published table, summed
    periods, current, _ = value_grid(content, "2020-12")
    lines = city_lines(content, periods, current)
    ids = set(frame["PLR_ID"].astype(str))
    for p in ("2022-02", "2024-02"):
        t = pd.read_csv(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                     f"berlin-lor-population-{p}-t2-planning-areas.csv"), dtype={"id": str})
        t = t[t["id"].isin(ids)]
        cases, people = t["inhabitants_age_above_65"], t["inhabitants"]
        small = ((cases > 0) & (cases < 20)) | ((people > 0) & (people < 20))
        if p == "2022-02":  # hidden 7 and 13: total 20 leaves each anywhere in 1..19, so they count
            assert sorted(cases[small]) == [7, 13]
            expected = 100 * cases.sum() / people.sum()
        else:  # hidden 10 and 18 (total 28 would put each in 9..18) and one base of 16: published areas only
            assert sorted(cases[small]) == [0, 10, 18] and sorted(people[small]) == [16, 49, 61]
            expected = 100 * cases[~small].sum() / people[~small].sum()
        assert lines["o65_share"][periods.index(p)] == pytest.approx(expected, rel=1e-12)


def test_the_log_says_when_the_city_average_is_not_the_rate_of_all_counts():
    warnings, notes = ref.reference_messages(build_profiles(three_areas(), three_options(min_count=3)))
    assert warnings == [] and len(notes) == 1
    assert "'rate'" in notes[0] and "the 2 areas with published counts" in notes[0]
    frame = three_areas().assign(rate=[50.0, 5.0, 70.0], residents=[10.0, 100.0, 1000.0])
    warnings, notes = ref.reference_messages(build_profiles(frame, three_options(population="residents")))
    assert notes == [] and len(warnings) == 1
    assert "cases / base" in warnings[0] and "3 of 3 areas" in warnings[0] and "weighted by residents" in warnings[0]
    warnings, notes = ref.reference_messages(build_profiles(three_areas(), three_options()))
    assert warnings == [] and notes == []
