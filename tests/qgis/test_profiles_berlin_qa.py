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


class _Log:
    """A Processing feedback that keeps the warnings."""

    def __init__(self):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self, sink):
                super().__init__()
                self.sink = sink

            def pushWarning(self, text):  # noqa: N802
                self.sink.append(text)
                super().pushWarning(text)

        self.warnings = []
        self.feedback = Feedback(self.warnings)


def test_the_atlas_warns_about_series_and_status_rows_it_cannot_place(run_alg, berlin_mss, berlin_dir, tmp_path):
    # before: the 2020-02 series on the 448 old PLR and a status table whose ids lost their leading
    # zero in a spreadsheet gave profiles without those periods and targets, and not a word why
    import geopandas as gpd
    import pandas as pd

    frame = data.berlin_frame(berlin_mss, berlin_dir)
    frame = frame[frame["BEZ_ID"] == "01"].head(6).reset_index(drop=True)[
        ["PLR_ID", "PLR_NAME", "BEZ_ID", "EW", "unter6", "Gesamt", "u6_share", "geometry"]]
    path = str(tmp_path / "berlin.gpkg")
    frame.to_file(path, layer="areas", driver="GPKG")
    old = pd.read_csv(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                   "berlin-lor-population-2020-02-t2-planning-areas.csv"), dtype={"id": str})
    old = old[old["id"].str.startswith("010")]
    series = pd.DataFrame({"area_id": old["id"], "period": "2020-02", "indicator": "u6_share",
                           "value": 100 * old["inhabitants_age_below_6"] / old["inhabitants"]})
    series = pd.concat([series, pd.DataFrame({"area_id": frame["PLR_ID"], "period": "2022-01",
                                              "indicator": "u6_share", "value": frame["u6_share"]})])
    gpd.GeoDataFrame(series, geometry=[None] * len(series)).to_file(path, layer="series", driver="GPKG")
    status = pd.DataFrame({"area_id": frame["PLR_ID"].str.lstrip("0"), "indicator": "u6_share",
                           "status": "on track"})
    gpd.GeoDataFrame(status, geometry=[None] * len(status)).to_file(path, layer="status", driver="GPKG")
    log = _Log()
    run_alg("kommunalmonitor:profileatlas", {
        "INPUT": f"{path}|layername=areas", "ID_FIELD": "PLR_ID", "NAME_FIELD": "PLR_NAME",
        "INDICATORS": ["u6_share"], "BETTER_HIGH": ["u6_share"], "COUNTS": "u6_share = unter6 / Gesamt",
        "SERIES": f"{path}|layername=series", "STATUS": f"{path}|layername=status",
        "REFERENCE_DATE": "30.06.2022", "LANGUAGE": 1, "OUTPUT": str(tmp_path / "atlas.pdf")}, feedback=log.feedback)
    text = " ".join(log.warnings)
    assert f"{len(old)} row(s) of the time series belong to {len(old)} area(s) that are not in the layer" in text
    assert "6 row(s) of the target status table name an area or indicator the atlas does not have" in text
