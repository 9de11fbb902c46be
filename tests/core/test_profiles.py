"""Area profiles: content numbers by hand and against the index engine, suppression, the PDF atlas."""
import importlib.util
import os
import re
import shutil
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.profiles.content import IndicatorSpec, ProfileOptions, build_profiles
from kommunalmonitor.core.profiles.pdf import AtlasOptions, Facility, write_atlas

_spec = importlib.util.spec_from_file_location(
    "profile_test_data", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_profiles_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def test_hand_computed_profile_values():
    frame = data.small_city()
    before = frame.copy()
    content = build_profiles(frame, data.small_options())
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    v = content.values.set_index(["area_id", "indicator"])
    # unemployment: no counts, so the city reference is the mean weighted by residents:
    # (4·1000 + 8·2000 + 6·250 + 12·4000 + 10·500 + 2·1500) / 9250 = 77500 / 9250 (the plain
    # mean of the areas would be 7); range 2..12 stays the areas' range
    u = v.xs("unemployment", level="indicator")
    city = 77500 / 9250
    assert u["city_mean"].iloc[0] == pytest.approx(city) and u["city_method"].iloc[0] == "weighted"
    assert (u["city_min"].iloc[0], u["city_max"].iloc[0]) == (2.0, 12.0)
    assert u.loc["a", "district_mean"] == pytest.approx(21500 / 3250)  # N: a, b, c weighted
    assert u.loc["e", "district_mean"] == pytest.approx(56000 / 6000)  # S: d, e, f weighted
    sd = np.std([4, 8, 6, 12, 10, 2])
    assert u.loc["d", "z"] == pytest.approx((12 - city) / sd)
    assert u.loc["d", "position"] == "worse" and u.loc["f", "position"] == "better"
    assert u.loc["b", "position"] == "similar"  # |z| = 0.11 < 0.5
    assert u.loc["c", "position"] == "better"  # (6 − 8.38) / 3.42 = −0.70: below the city by more than 0.5 SD
    # children: area c has 2 children (< 3): numerator and value are hidden, base stays
    c = v.xs("child_share", level="indicator")
    assert c.loc["c", "suppressed"] and np.isnan(c.loc["c", "value"]) and np.isnan(c.loc["c", "numerator"])
    # the city rate over all counts (802 / 9250) together with the published counts of a, b, d,
    # e, f and c's base 250 would give c's 2 children away: a single hidden count is never safe,
    # so the city rate is taken over the published counts: (100+300+200+50+150) / 9000
    assert c["city_mean"].iloc[0] == pytest.approx(100 * 800 / 9000) and c["city_method"].iloc[0] == "rate"
    assert not content.references.set_index("indicator").loc["child_share", "hidden_included"]
    assert c["city_max"].iloc[0] == 15.0 and c["city_min"].iloc[0] == 5.0  # range of the published values
    assert c.loc["a", "district_mean"] == pytest.approx(100 * 400 / 3000)  # N without c
    assert c.loc["d", "district_mean"] == pytest.approx(100 * 400 / 6000)
    assert c.loc["c", "small_base"] and not c.loc["e", "small_base"]  # bases 250 < 300 ≤ 500
    # a higher child share counts as better (higher_is_worse=False)
    assert c.loc["b", "position"] == "better" and c.loc["d", "position"] == "worse"
    assert content.areas.set_index("area_id").loc["c", "suppressed"]
    assert content.diagnostics["suppressed"]["child_share"] == 1
    # neighbours from queen contiguity: a touches b, d, e
    a_neighbours = sorted(content.areas["area_id"].to_numpy()[content.areas["neighbours"].iloc[0]])
    assert a_neighbours == ["b", "d", "e"]


def test_small_base_and_suppression_off():
    frame = data.small_city()
    content = build_profiles(frame, data.small_options(min_count=0))
    c = content.values.set_index(["area_id", "indicator"]).xs("child_share", level="indicator")
    assert not c["suppressed"].any() and c.loc["c", "value"] == pytest.approx(data.SENTINEL)
    assert c.loc["c", "small_base"]  # 250 residents < 300
    assert not c.loc["e", "small_base"]


def test_errors_name_layer_and_field():
    frame = data.small_city()
    opts = data.small_options()
    opts.indicators = [IndicatorSpec("nope")]
    with pytest.raises(InputError, match="nope"):
        build_profiles(frame, opts)
    dup = frame.assign(id=["a", "a", "c", "d", "e", "f"])
    with pytest.raises(InputError, match="'id'"):
        build_profiles(dup, data.small_options())
    with pytest.raises(InputError, match="area_id"):
        build_profiles(frame, data.small_options(), series=pd.DataFrame({"period": ["1"]}))


def test_series_and_status_are_suppressed_with_the_values():
    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["c", "c", "a", "a"], "period": ["2023", "2024"] * 2,
                           "indicator": "child_share", "value": [1.0, 2.0, 9.0, 10.0],
                           "numerator": [1, 2, 90, 100], "base": [240, 250, 1000, 1000]})
    status = pd.DataFrame({"area_id": ["a", "c"], "indicator": ["child_share"] * 2, "target": [12.0, 12.0],
                           "status": ["on track", "off track"], "significant": [True, False]})
    content = build_profiles(frame, data.small_options(), series=series, status=status)
    s = content.series.set_index(["area_id", "period"])["value"]
    assert np.isnan(s[("c", "2023")]) and np.isnan(s[("c", "2024")]) and s[("a", "2024")] == 10.0
    # a status would restate the hidden value's position: dropped with it
    assert content.status["area_id"].tolist() == ["a"]


def _pdf_text(path, first=None, last=None):
    """pdftotext of some pages."""
    args = ["pdftotext", "-layout"]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    return subprocess.run(args + [path, "-"], check=True, capture_output=True, text=True).stdout


def _rendered_pages(path, folder, first, last, dpi=24):
    """Grey pixel arrays of rendered pages (pdftoppm, PGM)."""
    os.makedirs(folder, exist_ok=True)
    prefix = os.path.join(folder, "page")
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(first), "-l", str(last), path, prefix], check=True)
    pages = []
    for name in sorted(f for f in os.listdir(folder) if f.startswith("page") and f.endswith(".pgm")):
        with open(os.path.join(folder, name), "rb") as fh:
            raw = fh.read()
        parts = raw.split(maxsplit=4)  # P5, width, height, maxval, pixels
        width, height = int(parts[1]), int(parts[2])
        pages.append(np.frombuffer(parts[4][:width * height], dtype=np.uint8).reshape(height, width))
    return pages


def test_small_city_atlas_pdf_pages_text_and_no_hidden_value(tmp_path):
    frame = data.small_city()
    content = build_profiles(frame, data.small_options())
    schools = data.small_facilities()
    fac = [Facility("Schools", "Schulen", np.column_stack([schools.geometry.x, schools.geometry.y]))]
    for lang, title in (("en", "Area profiles"), ("de", "Gebietssteckbriefe")):
        path = str(tmp_path / f"atlas_{lang}.pdf")
        info = write_atlas(content, path, AtlasOptions(lang=lang, facilities=fac, created="2026-12-03"))
        # cover, overview, one contents page, six areas
        assert info == {"pages": 9, "first_area_page": 4, "areas": 6}
        text = _pdf_text(path)
        assert text.count("\f") == 9
        assert title in _pdf_text(path, 1)
        for k, name in enumerate(frame["name"]):
            assert name in _pdf_text(path, 4 + k)
        page_c = _pdf_text(path, 6)
        assert "Chausseeviertel" in page_c and "•" in page_c
        for hidden in ("87,7", "87.7", "87,65", "87.65", "2 / 250", "2,0 / 250"):
            assert hidden not in text
        assert ("search strategy, not a verdict" if lang == "en" else "Suchstrategie, kein Urteil") in page_c
        pages = _rendered_pages(path, str(tmp_path), 1, 9)
        assert len(pages) == 9
        for page in pages:
            assert (page < 200).sum() > 200  # something is printed on every page (a blank page has 0)


def test_berlin_profiles_equal_index_outputs_and_atlas(berlin_mss, berlin_dir, tmp_path):
    """All 542 PLR: content equals the index engine's output; the atlas pages of hidden values
    (and a few others) show the area and never the hidden numbers."""
    from kommunalmonitor.core.priorities.ranking import IndexPriorityOptions, priorities_from_index

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    options = data.berlin_options(frame)
    ranking, _ = priorities_from_index(frame, ["S1", "S3", "S4"], population="EW",
                                       options=IndexPriorityOptions(n_runs=60), seed=3)
    content = build_profiles(frame, options, ranking=ranking)
    areas = content.areas
    assert len(areas) == 542
    np.testing.assert_array_equal(areas["priority"].to_numpy(), ranking["priority"].to_numpy())
    np.testing.assert_allclose(areas["index"].to_numpy(dtype=float), ranking["index"].to_numpy(dtype=float))
    np.testing.assert_allclose(areas["robustness"].to_numpy(dtype=float), ranking["robustness"].to_numpy(dtype=float))
    assert areas["reasons_de"].tolist() == ranking["reasons_de"].tolist()
    # MSS status classes published by SenSBW: class 4 (sehr niedrig) is the index's top class
    idx = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    si = frame[["PLR_ID"]].merge(idx[["PLR_ID", "SI_N"]], how="left")["SI_N"].to_numpy(dtype=float)
    rated = np.isfinite(areas["index_class"].to_numpy(dtype=float))
    assert rated.sum() == 536
    np.testing.assert_array_equal(areas["index_class"].to_numpy(dtype=float)[rated], si[rated])
    values = content.values
    s1 = values[values["indicator"] == "S1"].sort_values("row")
    raw = pd.to_numeric(frame["S1"], errors="coerce").to_numpy(dtype=float)
    np.testing.assert_allclose(s1["value"].to_numpy(dtype=float), raw)
    # S1 has no counts: the city reference is weighted by the residents EW (5.20, the plain mean 4.97)
    ew = pd.to_numeric(frame["EW"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(raw) & (ew > 0)
    assert s1["city_mean"].iloc[0] == pytest.approx(np.sum(raw[ok] * ew[ok]) / np.sum(ew[ok]))
    hidden = values[values["suppressed"]]
    assert len(hidden) >= 3 and set(hidden["indicator"]) <= {"u6_share", "o65_share"}
    assert hidden["value"].isna().all() and hidden["numerator"].isna().all()
    path = str(tmp_path / "berlin.pdf")
    start = time.perf_counter()
    info = write_atlas(content, path, AtlasOptions(lang="de"))  # all 542 areas in one run
    assert time.perf_counter() - start < 60
    assert info["pages"] == 1 + 1 + 5 + 542 and info["first_area_page"] == 8  # cover, overview, contents
    pages = _pdf_text(path).split("\f")[:-1]
    assert len(pages) == info["pages"]
    for row in range(542):
        text = pages[info["first_area_page"] - 1 + row]
        assert areas["name"].iloc[row] in text and f"Planungsraum {areas['area_id'].iloc[row]}" in text
    for rec in hidden.to_dict("records"):
        text = pages[info["first_area_page"] - 1 + rec["row"]]
        raw_num = frame.loc[rec["row"], {"u6_share": "unter6", "o65_share": "65undmehr"}[rec["indicator"]]]
        label = {i.field: i.label("de") for i in options.indicators}[rec["indicator"]]
        line = next(x for x in text.splitlines() if x.strip().startswith(label))
        assert "•" in line and f"{int(raw_num)} / " not in text  # the mark, never the count
    rows = sorted(set(hidden["row"].tolist()) | {0, 541})
    rendered = []
    for row in rows:
        rendered += _rendered_pages(path, str(tmp_path / f"r{row}"), info["first_area_page"] + row,
                                    info["first_area_page"] + row)
    rendered += _rendered_pages(path, str(tmp_path / "front"), 1, 7)
    assert len(rendered) == len(rows) + 7 and all((p < 200).sum() > 200 for p in rendered)
    assert shutil.which("pdftotext")


def test_pdf_canvas_widths_text_and_pages(tmp_path):
    from kommunalmonitor.core.profiles.pdfcanvas import Document, Page, text_width, wrap

    # Helvetica AFM widths: H 722, e 556, l 222, o 556 (per 1000 em)
    assert text_width("Hello", 10) == pytest.approx(22.78)
    assert text_width("Straße ◀", 10) > text_width("Strasse", 10) - 5
    assert wrap("eins zwei drei vier", text_width("eins zwei", 8) + 0.1, 8) == ["eins zwei", "drei vier"]
    path = str(tmp_path / "c.pdf")
    with Document(path, title="Test") as doc:
        for k in range(2):
            page = Page()
            page.text(400, 700, f"Grüße (Seite {k + 1}) • 3,5 %", 12, align="right")
            page.polygons([np.array([[0, 0], [100, 0], [100, 100]])], fill="#D55E00", stroke="#000000")
            page.marker("D", 50, 50, 8, fill="#0072B2")
            doc.add(page)
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+2\n", info) and "Title:           Test" in info
    text = _pdf_text(path)
    assert "Grüße (Seite 1) • 3,5 %" in text and "Grüße (Seite 2)" in text
    with pytest.raises(ZeroDivisionError):
        with Document(str(tmp_path / "bad.pdf")):
            raise ZeroDivisionError


def test_time_series_join_the_profile_values_in_time_order(tmp_path):
    from kommunalmonitor.core.profiles.content import period_key, value_grid

    assert sorted(["31.12.2020", "2022-02", "2019"], key=period_key) == ["2019", "31.12.2020", "2022-02"]
    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["a", "b"] * 2, "period": ["2023", "2023", "2022", "2022"],
                           "indicator": "unemployment", "value": [3.0, 7.0, 2.0, 6.0]})
    content = build_profiles(frame, data.small_options(), series=series)
    periods, current, grids = value_grid(content)
    assert periods == ["2022", "2023", "31.12.2024"] and current == "31.12.2024"
    np.testing.assert_array_equal(grids["unemployment"][:, 0], [2.0, 3.0, 4.0])  # area a: series, then its value
    assert np.isnan(grids["child_share"][2, 2])  # the hidden value stays hidden in the series too
    path = str(tmp_path / "s.pdf")
    write_atlas(content, path, AtlasOptions(lang="en"))
    page_a = _pdf_text(path, 4)
    assert "Periods 2022 to 31.12.2024" in page_a and "2.0 -> 4.0" in page_a


def test_monitoring_store_columns_are_understood():
    """Observations with 'denominator' and a 'suppressed' flag, goal status with code and label."""
    frame = data.small_city()
    obs = pd.DataFrame({"area_id": ["a", "a", "b"], "period": ["2023", "2024", "2024"],
                        "indicator": "child_share", "value": [9.0, 8.0, 14.0], "numerator": [90, 2, 280],
                        "denominator": [1000, 1000, 2000], "suppressed": [False, False, True]})
    goals = pd.DataFrame({"area_id": ["a"], "indicator": ["child_share"], "status": [2],
                          "status_label": ["on track"], "target_value": [12.0], "significant": [True]})
    content = build_profiles(frame, data.small_options(), series=obs, status=goals)
    s = content.series.set_index(["area_id", "period"])["value"]
    assert s[("a", "2023")] == 9.0 and np.isnan(s[("a", "2024")]) and np.isnan(s[("b", "2024")])
    st = content.status.iloc[0]
    assert st["status"] == "on track" and st["target"] == 12.0 and bool(st["significant"])
