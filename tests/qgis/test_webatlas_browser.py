"""The web atlas in a real browser: headless Chromium (Debian's chromium and chromium-driver,
installed by the Makefile) opens the Berlin atlas from disk, navigates by keyboard and mouse,
switches indicator, period and language, and fails on any console message of level warning or
above, any failed load (broken link) and any request that is not a file of the atlas.

Chromium is driven through chromedriver's W3C WebDriver protocol with plain HTTP (urllib):
no extra library. Screenshots go to ``.build/webatlas-screenshots`` for review.
"""
import base64
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.environ.get("KOMMUNALMONITOR_SCREENSHOTS") or os.path.join(PLUGIN_DIR, ".build", "webatlas-screenshots")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,1000"]
ENTER, TAB = "\ue007", "\ue004"

_spec = importlib.util.spec_from_file_location(
    "profile_test_data", os.path.join(PLUGIN_DIR, "tests", "core", "test_profiles_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A minimal W3C WebDriver client for one chromedriver session."""

    def __init__(self, profile_dir):
        self.port = _free_port()
        self.driver = subprocess.Popen([shutil.which("chromedriver"), f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):  # chromedriver needs a moment to listen
            try:
                if self._call("GET", "/status")["value"]["ready"]:
                    break
            except OSError:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
            "goog:chromeOptions": {"binary": shutil.which("chromium"),
                                   "args": CHROMIUM_FLAGS + [f"--user-data-dir={profile_dir}"]}}}}
        self.session = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode())

    def cmd(self, method, path, body=None):
        """A session command; returns its value."""
        return self._call(method, f"/session/{self.session}{path}", body)["value"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        value = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(value.values()))

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def keys(self, *keys):
        actions = []
        for key in keys:
            actions += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": actions}]})

    def wait_for(self, script, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if self.js(script):
                return True
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for: {script}")

    def screenshot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, name)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        return path

    def log(self, kind):
        """Browser or performance log entries since the last call."""
        return self.cmd("POST", "/se/log", {"type": kind})

    def close(self):
        try:
            self.cmd("DELETE", "")
        finally:
            self.driver.terminate()
            self.driver.wait(10)


def _problems(browser):
    """Console messages (warning and above) and requests outside the atlas or that failed."""
    problems = [f"console: {e['level']}: {e['message']}" for e in browser.log("browser")
                if e["level"] in ("WARNING", "SEVERE")]
    urls = {}
    for entry in browser.log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params.get("requestId")] = url
            if not url.startswith(("file://", "data:")):
                problems.append(f"network request: {url}")
        elif message["method"] == "Network.loadingFailed":
            problems.append(f"failed load: {params.get('errorText')} {urls.get(params.get('requestId'))}")
    return problems


@pytest.fixture(scope="module")
def berlin_atlas(tmp_path_factory, berlin_dir):
    """The Berlin web atlas (542 PLR, 10 indicators, 5 periods), written once for the module."""
    from kommunalmonitor.core.profiles.content import build_profiles
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    import geopandas as gpd
    import numpy as np
    import pandas as pd

    berlin = berlin_dir  # the berlin_mss fixture's frame, built once for the module
    shapes = gpd.read_file(os.path.join(berlin, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    ids = {"PLR_ID": str, "BEZ_ID": str}
    mss = pd.read_csv(os.path.join(berlin, "mss_2021_index_indikatoren.csv"), dtype=ids)
    context = pd.read_csv(os.path.join(berlin, "mss_2021_kontext_indikatoren.csv"), dtype=ids)
    keep = ["PLR_ID"] + [c for c in context.columns if c.startswith("KI_") and not c.endswith("_GR")]
    frame = shapes.merge(mss, on="PLR_ID", how="left").merge(context[keep], on="PLR_ID", how="left")
    for column in ["S1", "S3", "S4", "D1", "D3", "D4"] + keep[1:]:
        frame.loc[frame["KOM"] != "gültig", column] = np.nan
    frame = data.berlin_frame(frame, berlin)
    options = data.berlin_options(frame)
    series = data.berlin_series(berlin, frame, options.indicators)
    schools = gpd.read_file(os.path.join(berlin, "schulen.geojson"))
    from kommunalmonitor.core.profiles.pdf import Facility

    fac = [Facility("Schools", "Schulen", np.column_stack([schools.geometry.x, schools.geometry.y]))]
    folder = str(tmp_path_factory.mktemp("webatlas") / "berlin")
    write_web_atlas(build_profiles(frame, options, series=series), folder,
                    WebAtlasOptions(period="2020-12", publisher="Test", facilities=fac))
    return folder, frame


def test_atlas_in_chromium(berlin_atlas, tmp_path):
    folder, frame = berlin_atlas
    assert shutil.which("chromium") and shutil.which("chromedriver"), "make setup-qgis installs chromium"
    browser = Browser(str(tmp_path / "chromium-profile"))
    try:
        browser.go("about:blank")
        browser.log("browser")  # Chromium's own start page is not the atlas: forget its entries
        browser.log("performance")
        start = "file://" + os.path.join(folder, "index.html")
        browser.go(start)
        assert browser.js("return document.title")
        browser.click('a[href="de/index.html"]')
        browser.wait_for("return document.querySelectorAll('#map path[style]').length === 542")
        browser.screenshot("01_map_de.png")
        assert browser.js("return document.documentElement.lang") == "de"
        # keyboard: the skip link comes first, then the navigation
        browser.keys(TAB)
        assert browser.js("return document.activeElement.className") == "skip"
        # switch indicator and period; the map, the legend and the address follow
        browser.js("var s = document.getElementById('ind'); s.value = 'S4'; s.dispatchEvent(new Event('change'));")
        browser.js("var s = document.getElementById('per'); s.value = '2020-12'; s.dispatchEvent(new Event('change'));")
        legend = browser.js("return document.getElementById('legendname').textContent")
        assert legend.startswith("Kinderarmut (2020-12)")
        assert browser.js("return location.hash") == "#ind=S4&per=2020-12"
        colours = browser.js("return Array.from(document.querySelectorAll('#map path')).map(p => p.style.fill)")
        assert len(set(colours)) == 6  # five classes and 'no value'
        browser.screenshot("02_map_child_poverty.png")
        # search by name (umlauts typed plainly) and open the first hit with Enter
        name = frame["PLR_NAME"].iloc[0]
        browser.type("#q", name[:6])
        hits = browser.js("return Array.from(document.querySelectorAll('#hits a')).map(a => a.textContent)")
        assert any(name in h for h in hits)
        browser.screenshot("03_search.png")
        browser.keys(ENTER)
        browser.wait_for("return location.pathname.indexOf('/de/profiles/') >= 0")
        browser.wait_for("return document.querySelectorAll('#ind svg.sp').length === 10")
        assert browser.js("return document.querySelector('h1').textContent") == name
        assert browser.js("return document.querySelectorAll('#series figure').length") >= 2
        # the dashed line and its caption show the city rate of data.js (Σ counts / Σ residents),
        # not a mean of the area values computed in the browser
        text = open(os.path.join(folder, "assets", "data.js"), encoding="utf-8").read()
        atlas = json.loads(text[text.index("=") + 1:].strip().rstrip(";"))
        city = atlas["city"]["o65_share"][atlas["current"]]
        assert city == atlas["refs"]["o65_share"][0]
        captions = browser.js("return Array.from(document.querySelectorAll('#series figure p')).map(p => p.textContent)")
        assert any(f"(Stadtdurchschnitt {city:.1f}%)".replace(".", ",") in c for c in captions), captions
        assert browser.js("return document.querySelectorAll('#series polyline.city').length") >= 2
        browser.screenshot("04_profile_de.png")
        # language switch on the profile
        browser.click("#langswitch")
        browser.wait_for("return document.documentElement.lang === 'en'")
        assert "/en/profiles/" in browser.js("return location.pathname")
        assert browser.js("return document.querySelector('caption').textContent") == "Indicators compared with the city"
        browser.screenshot("05_profile_en.png")
        # a neighbour on the detail map is a keyboard-reachable link to its profile
        browser.js("document.querySelector('.det a').focus()")
        browser.keys(ENTER)
        browser.wait_for("return document.readyState === 'complete' && document.querySelector('h1').textContent !== "
                         + json.dumps(name))
        # back to the map in English: a click on an area opens its profile
        browser.click('nav a[href$="en/index.html"]')
        browser.wait_for("return document.querySelectorAll('#map path[style]').length === 542")
        browser.screenshot("06_map_en.png")
        browser.js("document.querySelector('#map a').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        browser.wait_for("return location.pathname.indexOf('/en/profiles/') >= 0")
        browser.click('nav a[href$="imprint.html"]')
        browser.wait_for("return document.querySelector('h1').textContent === 'Imprint and sources'")
        browser.screenshot("07_imprint_en.png")
        problems = _problems(browser)
        assert not problems, problems
    finally:
        browser.close()


def test_the_checks_catch_console_errors_broken_links_and_requests(tmp_path):
    """Negative control: a page with a console error, a missing script and a request to another
    address (a closed loopback port) must produce all three complaints."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><link rel="icon" href="data:,"><title>bad</title>'
                    '<script src="missing.js"></script></head><body><img alt="" src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("planted error")</script></body></html>', encoding="utf-8")
    browser = Browser(str(tmp_path / "chromium-profile"))
    try:
        browser.go("about:blank")
        browser.log("browser")
        browser.log("performance")
        browser.go("file://" + str(page))
        browser.wait_for("return document.readyState === 'complete'")
        time.sleep(0.5)
        problems = " | ".join(_problems(browser))
    finally:
        browser.close()
    assert "planted error" in problems
    assert "missing.js" in problems
    assert "network request: http://127.0.0.1:9/x.png" in problems
