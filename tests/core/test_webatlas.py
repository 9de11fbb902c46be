"""Web atlas: files, links, no external resources, suppression everywhere, size and speed on Berlin."""
import importlib.util
import json
import os
import re
import time

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.profiles.content import build_profiles
from kommunalmonitor.core.webatlas.geometry import SvgFrame
from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

_spec = importlib.util.spec_from_file_location(
    "profile_test_data", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_profiles_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

LINK = re.compile(r'(?:href|src)="([^"]*)"')
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML name, not a request


def _all_files(folder):
    for root, _, files in os.walk(folder):
        for name in files:
            yield os.path.join(root, name)


def _data(folder):
    text = open(os.path.join(folder, "assets", "data.js"), encoding="utf-8").read()
    return json.loads(text[text.index("=") + 1:].strip().rstrip(";"))


def check_links_and_no_network(folder):
    """Every href/src resolves to a file of the folder; nothing points outside it."""
    checked = 0
    for path in _all_files(folder):
        if not path.endswith((".html", ".js", ".css")):
            continue
        text = open(path, encoding="utf-8").read()
        assert not re.search(r"https?://", text.replace(SVG_NAMESPACE, "")), path
        assert "@import" not in text and "url(" not in text, path
        for link in LINK.findall(text):
            if link.startswith(("#", "data:")):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), link.split("#")[0]))
            assert os.path.isfile(target), (path, link)
            assert target.startswith(os.path.abspath(folder)), (path, link)
            checked += 1
    return checked


def test_svg_paths_are_compact_and_closed():
    frame = SvgFrame((0, 0, 1000, 500), width=100, margin=0)
    assert frame.view_box() == "0 0 100 50"
    path = frame.path(box(0, 0, 1000, 500), tolerance=0)
    assert path == "m100 50l0-50-100 0 0 50z"  # box() starts at (maxx, miny); relative moves, y down
    # a hole and a second polygon: the second ring moves relative to the first ring's start
    from shapely.geometry import MultiPolygon, Polygon

    ring = Polygon([(0, 0), (400, 0), (400, 400), (0, 400)], [[(100, 100), (100, 300), (300, 300), (300, 100)]])
    multi = MultiPolygon([ring, box(600, 0, 800, 200)])
    text = frame.path(multi, tolerance=0)
    assert text.count("m") == 3 and text.count("z") == 3


def test_small_city_atlas_files_links_and_suppression(tmp_path):
    frame = data.small_city()
    series = pd.DataFrame({"area_id": ["a", "b", "c"] * 2, "period": ["2023"] * 3 + ["2022"] * 3,
                           "indicator": "unemployment", "value": [3.0, 7.0, 5.0, 2.0, 6.0, 4.0]})
    content = build_profiles(frame, data.small_options(), series=series)
    folder = str(tmp_path / "atlas")
    info = write_web_atlas(content, folder, WebAtlasOptions(period="2024", publisher="Stadt Test"))
    assert info["areas"] == 6 and info["periods"] == ["2022", "2023", "2024"]
    expected = {"index.html", "assets/atlas.css", "assets/atlas.js", "assets/profile.js", "assets/data.js",
                "download/atlas_de.csv", "download/atlas_en.csv"}
    for lang in ("de", "en"):
        expected |= {f"{lang}/index.html", f"{lang}/imprint.html"} | {f"{lang}/profiles/{a}.html" for a in "abcdef"}
    found = {os.path.relpath(p, folder) for p in _all_files(folder)}
    assert found == expected and info["files"] == len(expected)
    assert check_links_and_no_network(folder) > 100
    # the hidden value (87.6543, its count 2) is nowhere: no page, no script, no download
    for path in _all_files(folder):
        text = open(path, encoding="utf-8-sig").read()
        for hidden in ("87.6", "87,6", "87.7", "87,7", "2 / 250"):
            assert hidden not in text, (path, hidden)
    atlas = _data(folder)
    assert atlas["values"]["child_share"][atlas["current"]][2] is None
    assert atlas["values"]["unemployment"][atlas["periods"].index("2023")][:3] == [3.0, 7.0, 5.0]
    de = pd.read_csv(os.path.join(folder, "download", "atlas_de.csv"), sep=";", decimal=",", encoding="utf-8-sig",
                     dtype={"Zeitraum": str})
    row = de[(de["Gebiet"] == "c") & (de["Zeitraum"] == "2024")].iloc[0]
    assert np.isnan(row["child_share"]) and np.isnan(row["child_share_Zaehler"]) and row["unemployment"] == 6.0
    assert row["child_share_Basis"] == 250.0  # the base stays: it is not small
    en = pd.read_csv(os.path.join(folder, "download", "atlas_en.csv"), dtype={"period": str})
    assert len(en) == len(de) == 6 + 3 + 3  # 2024 for all areas, 2022/2023 for three
    page = open(os.path.join(folder, "de", "profiles", "c.html"), encoding="utf-8").read()
    assert 'lang="de"' in page and "Chausseeviertel" in page and "•" in page
    assert "nicht veröffentlicht" in page and "Suchstrategie, kein Urteil" in page
    assert 'href="../../en/profiles/c.html"' in page
    en_page = open(os.path.join(folder, "en", "profiles", "a.html"), encoding="utf-8").read()
    assert "Altstadt" in en_page and "search strategy, not a verdict" in en_page and "10.0%" in en_page
    imprint = open(os.path.join(folder, "de", "imprint.html"), encoding="utf-8").read()
    assert "Stadt Test" in imprint and "Test office" in imprint
    index = open(os.path.join(folder, "de", "index.html"), encoding="utf-8").read()
    assert index.count('<path data-i="') == 6 and index.count('aria-label="') >= 7


def test_bad_ids_and_missing_geometry_are_refused(tmp_path):
    frame = data.small_city().assign(id=["a/1", "b", "c", "d", "e", "f"])
    content = build_profiles(frame, data.small_options())
    with pytest.raises(InputError, match="a/1"):
        write_web_atlas(content, str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")
    plain = build_profiles(pd.DataFrame(data.small_city().drop(columns="geometry")), data.small_options(),
                           neighbours=[np.array([], dtype=int)] * 6)
    with pytest.raises(InputError, match="geometries"):
        write_web_atlas(plain, str(tmp_path / "y"))


def test_berlin_web_atlas_542_areas_10_indicators_5_periods(berlin_mss, berlin_dir, tmp_path):
    """The size and speed target, with the real PLR: under 10 MB and 30 s; hidden values nowhere."""
    frame = data.berlin_frame(berlin_mss, berlin_dir)
    options = data.berlin_options(frame)
    assert len(options.indicators) == 10
    series = data.berlin_series(berlin_dir, frame, options.indicators)
    content = build_profiles(frame, options, series=series)
    folder = str(tmp_path / "berlin")
    start = time.perf_counter()
    info = write_web_atlas(content, folder, WebAtlasOptions(period="2020-12"))
    seconds = time.perf_counter() - start
    assert info["periods"] == ["2020-12", "2022-02", "2023-02", "2024-01", "2024-02"]
    assert info["files"] == 2 * 542 + 11
    assert info["bytes"] < 10_000_000, info["bytes"]
    assert seconds < 30, seconds
    assert check_links_and_no_network(folder) > 5000
    atlas = _data(folder)
    # the spine centre and the dashed line are the profile content's city references (the PDF's):
    # for the resident shares Σ counts / Σ residents per period, not a mean of the area values
    from kommunalmonitor.core.profiles.content import city_lines

    lines = city_lines(content, atlas["periods"], atlas["periods"][atlas["current"]])
    for ind in ("u6_share", "o65_share", "S4"):
        assert atlas["city"][ind] == pytest.approx(lines[ind].tolist(), abs=1e-6)
        assert atlas["refs"][ind][0] == atlas["city"][ind][atlas["current"]]
    assert [i["ref"] for i in atlas["indicators"]][:8] == ["weighted"] * 6 + ["rate"] * 2
    hidden = content.values[content.values["suppressed"]]
    assert len(hidden) >= 3
    ids = content.areas["area_id"].tolist()
    csv = pd.read_csv(os.path.join(folder, "download", "atlas_en.csv"), dtype={"area_id": str, "period": str})
    for rec in hidden.to_dict("records"):
        assert atlas["values"][rec["indicator"]][atlas["current"]][rec["row"]] is None
        cell = csv[(csv["area_id"] == rec["area_id"]) & (csv["period"] == "2020-12")]
        assert cell[rec["indicator"]].isna().all() and cell[rec["indicator"] + "_numerator"].isna().all()
        label = {i.field: i.label("de") for i in options.indicators}[rec["indicator"]]
        page = open(os.path.join(folder, "de", "profiles", f"{ids[rec['row']]}.html"), encoding="utf-8").read()
        # the row of the hidden indicator shows the mark in the value and count cells
        assert f'<th scope="row">{label}</th><td>•</td><td>•</td>' in page


def test_rewriting_removes_the_pages_of_an_earlier_atlas(tmp_path):
    folder = str(tmp_path / "atlas")
    frame = data.small_city()
    write_web_atlas(build_profiles(frame, data.small_options()), folder)
    open(os.path.join(folder, "notes.txt"), "w").write("mine")
    fewer = frame[frame["id"] != "f"].reset_index(drop=True)
    write_web_atlas(build_profiles(fewer, data.small_options()), folder)
    assert not os.path.exists(os.path.join(folder, "de", "profiles", "f.html"))
    assert os.path.exists(os.path.join(folder, "de", "profiles", "e.html"))
    assert open(os.path.join(folder, "notes.txt")).read() == "mine"
    check_links_and_no_network(folder)
