"""QA of the web atlas in a real browser on Berlin data, as a citizen searches it."""
import importlib.util
import os

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    "webatlas_browser", os.path.join(PLUGIN_DIR, "tests", "qgis", "test_webatlas_browser.py"))
browser_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser_tests)
data = browser_tests.data


def _hits(browser, text):
    browser.js("var q = document.getElementById('q'); q.value = ''; q.focus();")
    browser.type("#q", text)
    return browser.js("return Array.from(document.querySelectorAll('#hits li')).map(li => li.textContent)")


def test_search_finds_umlaut_names_typed_without_umlauts_and_ids_without_zero(berlin_mss, berlin_dir, tmp_path):
    # before: 'Gueterbahnhof' (no umlaut key) and '4400725' (the id as a spreadsheet shows it) found
    # nothing, and 'straße' listed 12 areas without saying that more match
    from kommunalmonitor.core.profiles.content import build_profiles
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["BEZ_ID"] == "04"].reset_index(drop=True)  # Charlottenburg-Wilmersdorf: 64 PLR
    options = data.berlin_options(frame, n=3)
    folder = str(tmp_path / "atlas")
    write_web_atlas(build_profiles(frame, options), folder, WebAtlasOptions())
    streets = int(frame["PLR_NAME"].str.contains("straße", case=False).sum())
    assert streets > 12
    browser = browser_tests.Browser(str(tmp_path / "chromium-profile"))
    try:
        browser.go("about:blank")
        browser.log("browser")  # Chromium's own start page is not the atlas: forget its entries
        browser.log("performance")
        browser.go("file://" + os.path.join(folder, "de", "index.html"))
        browser.wait_for("return document.querySelectorAll('#map path[style]').length === %d" % len(frame))
        assert _hits(browser, "Gueterbahnhof") == ["Güterbahnhof Grunewald (04400725)"]
        assert _hits(browser, "Güterbahnhof") == ["Güterbahnhof Grunewald (04400725)"]
        assert _hits(browser, "4400725") == ["Güterbahnhof Grunewald (04400725)"]
        assert "Schloßstraße (04300414)" in _hits(browser, "Schlossstrasse")
        listed = _hits(browser, "straße")
        assert len(listed) == 13 and listed[-1] == "Weitere Gebiete passen: Geben Sie mehr vom Namen ein."
        assert _hits(browser, "Xyz") == ["Kein Gebiet gefunden."]
        # Enter opens the first hit, by keyboard
        _hits(browser, "Gueterbahnhof")
        browser.keys(browser_tests.ENTER)
        browser.wait_for("return location.pathname.indexOf('/de/profiles/04400725.html') >= 0")
        assert browser.js("return document.querySelector('h1').textContent") == "Güterbahnhof Grunewald"
        problems = browser_tests._problems(browser)
        assert not problems, problems
    finally:
        browser.close()
