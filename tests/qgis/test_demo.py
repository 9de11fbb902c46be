"""The demo path end to end: `make demo`'s script runs the shipped model with qgis_process.bin."""
import os
import re
import subprocess
import sys

import pytest

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKGROOT = os.path.join(PLUGIN_DIR, ".build", "pkgroot")


def test_model_is_exposed_with_the_three_steps(qgis_app):
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().createAlgorithmById("kommunalmonitor:councilmapworkflow")
    assert model is not None, "resources/models/musterstadt_council_map.model3 not loaded"
    steps = {c.childId(): c.algorithmId() for c in model.childAlgorithms().values()}
    assert steps == {"aggregate": "kommunalmonitor:aggregatetoareas",
                     "index": "kommunalmonitor:compositeindex",
                     "map": "kommunalmonitor:councilmap"}
    names = {p.name() for p in model.parameterDefinitions()}
    assert {"a_blocks", "b_areas", "c_area_id", "l_place", "index:index", "map:council_map"} <= names
    # the rates are built from the planner's field choices (tests/qgis/test_model.py runs them)
    rates = model.childAlgorithm("aggregate").parameterSources()["RATES"][0].expression()
    assert "'child_poverty = ' || @k_children_transfer" in rates


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run scripts/demo.py once (as `make demo` does) into a temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PKGROOT, "/usr/share/qgis/python/plugins",
                                         "/usr/share/qgis/python"])
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, "-P", os.path.join(PLUGIN_DIR, "scripts", "demo.py"),
                           "--output", str(out / "demo-output"), "--profile", str(out / "profile"),
                           "--blocks", "1000"],  # a smaller city keeps the test fast; same chain
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "demo-output", done.stdout


def test_demo_writes_gpkg_and_pdf_and_reports_time(demo_run):
    folder, stdout = demo_run
    pdf = folder / "musterstadt_council_map.pdf"
    gpkg = folder / "musterstadt_index.gpkg"
    assert str(pdf) in stdout and str(gpkg) in stdout
    assert re.search(r"Demo finished in \d+\.\d s", stdout)
    assert (folder / "musterstadt" / "musterstadt.gpkg").exists()
    with open(pdf, "rb") as fh:
        assert fh.read(4) == b"%PDF"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\b", info) and "A3" in info
    text = " ".join(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "Sozialindex Musterstadt 2022" in text
    assert "Indikatoren: Arbeitslosenquote, Transferbezugsquote, Kinderarmut" in text
    assert "Der Index ist eine Suchstrategie, kein Urteil" in text
    assert "Synthetische Beispieldaten" in text
    assert re.search(r"\(\d+ Gebiete?\)", text)  # legend entries carry their counts


def test_demo_pdf_first_page_is_not_blank(demo_run, tmp_path):
    from qgis.PyQt.QtGui import QColor, QImage

    folder, _ = demo_run
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1",
                    str(folder / "musterstadt_council_map.pdf"), str(tmp_path / "p")], check=True)
    png = [p for p in os.listdir(tmp_path) if p.endswith(".png")][0]
    image = QImage(str(tmp_path / png))
    pixels = [QColor(image.pixel(x, y)) for x in range(0, image.width(), 4)
              for y in range(0, image.height(), 4)]
    coloured = sum(1 for c in pixels if max(c.red(), c.green(), c.blue())
                   - min(c.red(), c.green(), c.blue()) > 40)
    assert coloured / len(pixels) > 0.15, "the map area is not coloured"


def test_demo_index_gpkg_has_index_fields_and_default_style(demo_run, qgis_app):
    from qgis.core import QgsVectorLayer

    folder, _ = demo_run
    gpkg = str(folder / "musterstadt_index.gpkg")
    layer = QgsVectorLayer(gpkg, "index", "ogr")
    assert layer.isValid() and layer.featureCount() > 10
    names = set(layer.fields().names())
    assert {"index", "index_class", "index_label", "unemployment_rate", "transfer_rate",
            "child_poverty", "unemployment_rate_base", "pop_2022", "n_blocks"} <= names
    # opened fresh, the layer takes the default style stored in the GeoPackage
    assert layer.renderer().type() == "categorizedSymbol"
    labels = [c.label() for c in layer.renderer().categories()]
    assert any("Gebiet" in label for label in labels)


def test_demo_ends_with_planning_priorities_map_and_decision_table(demo_run, qgis_app):
    """The step the council waits for: priorities with reasons, robustness and a table."""
    import openpyxl
    from qgis.core import QgsVectorLayer

    folder, stdout = demo_run
    priorities = folder / "musterstadt_priorities.gpkg"
    table = folder / "musterstadt_priorities.xlsx"
    pdf = folder / "musterstadt_priorities_map.pdf"
    assert str(pdf) in stdout and str(table) in stdout
    layer = QgsVectorLayer(str(priorities), "p", "ogr")
    rows = [dict(zip(layer.fields().names(), f.attributes())) for f in layer.getFeatures()]
    rated = [r for r in rows if r["priority"] is not None and r["priority"] == r["priority"]]
    assert rated and {r["priority"] for r in rated} <= {1, 2, 3, 4}
    assert all(r["reasons_de"] and r["robustness"] is not None for r in rated)
    sheet = openpyxl.load_workbook(table, read_only=True).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["Planungsraum", "Name", "Priorität"]
    text = " ".join(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "Planungsschwerpunkte Musterstadt 2022" in text and "Priorität 1" in text


def test_demo_ends_with_monitoring_over_time(demo_run, qgis_app):
    """Series → change map → target status → evaluation on Musterstadt's panel, timed."""
    import openpyxl
    from qgis.core import QgsVectorLayer

    folder, stdout = demo_run
    assert re.search(r"Monitoring part finished in \d+\.\d s", stdout)
    change = QgsVectorLayer(str(folder / "musterstadt_change.gpkg"), "c", "ogr")
    assert change.isValid() and change.renderer().type() == "categorizedSymbol"
    assert {"change_class", "p_value", "movement", "trend_slope"} <= set(change.fields().names())
    targets = QgsVectorLayer(str(folder / "musterstadt_targets.gpkg"), "t", "ogr")
    statuses = {f["status"] for f in targets.getFeatures()}
    assert statuses and statuses <= {1, 2, 3, 4, 5, None}
    book = openpyxl.load_workbook(folder / "musterstadt_targets.xlsx", read_only=True)
    assert "Zielstatus je Gebiet" in book.sheetnames
    # the measure with the planted effect (−2 points) is found, its interval holds the truth
    found = re.search(r"planted effect ([+-]\d+\.\d+), estimated ([+-]\d+\.\d+) \[([+-]\d+\.\d+), "
                      r"([+-]\d+\.\d+)\], p = (\d\.\d+)", stdout)
    planted, _, low, high, p = map(float, found.groups())
    assert low <= planted <= high and p < 0.05
