"""Benchmark: the 542-page Berlin profile atlas (core.profiles) against QGIS's native atlas
export (``native:atlaslayouttopdf``) of a comparable layout made in the same run, and the web
atlas (core.webatlas) for 542 areas x 10 indicators x 5 periods.

Data: the 542 Berlin PLR with the MSS 2021 indicators, resident counts (children under 6,
residents 65+, with suppression below 20), context indicators, time series 2022-2024 and the
902 schools as facilities (``../shared/data/berlin``).

The QGIS layout is an A4 portrait page per PLR with what QGIS's atlas gives without plugins:
a detail map that follows the atlas feature (PLR and schools), an overview map of the city
with the feature's frame, a title and subtitle, one text block with the ten indicator values
and their city means (expression aggregates) and a footer. Our pages carry more (spine chart,
time series, priority text, neighbour names), so the comparison favours QGIS. Our pages are
written by core.profiles.pdfcanvas (standard PDF fonts, a few operators per mark). Every
measurement is a fresh process; the clock covers building the content or layout and writing
the PDF, not reading the files.

    .venv/current/bin/python -P bench/bench_profiles.py --out .build/bench/profiles.md [--quick]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # bench/common.py (benchmarks are not plugin code)
import common  # noqa: E402

PLUGIN_DIR = os.path.dirname(HERE)
SHARED = os.environ.get("KOMMUNALMONITOR_SHARED") or os.path.join(os.path.dirname(PLUGIN_DIR), "shared")
BERLIN = os.path.join(SHARED, "data", "berlin")


def _test_data():
    """The Berlin inputs of the profile tests (tests/core/test_profiles_data.py)."""
    spec = importlib.util.spec_from_file_location(
        "profile_test_data", os.path.join(PLUGIN_DIR, "tests", "core", "test_profiles_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def berlin_inputs():
    """(frame, options, series, facilities) as the tests build them (the berlin_mss frame)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from kommunalmonitor.core.profiles.pdf import Facility

    data = _test_data()
    shapes = gpd.read_file(os.path.join(BERLIN, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    ids = {"PLR_ID": str, "BEZ_ID": str}
    mss = pd.read_csv(os.path.join(BERLIN, "mss_2021_index_indikatoren.csv"), dtype=ids)
    context = pd.read_csv(os.path.join(BERLIN, "mss_2021_kontext_indikatoren.csv"), dtype=ids)
    keep = ["PLR_ID"] + [c for c in context.columns if c.startswith("KI_") and not c.endswith("_GR")]
    frame = shapes.merge(mss, on="PLR_ID", how="left").merge(context[keep], on="PLR_ID", how="left")
    for column in ["S1", "S3", "S4", "D1", "D3", "D4"] + keep[1:]:
        frame.loc[frame["KOM"] != "gültig", column] = np.nan
    frame = data.berlin_frame(frame, BERLIN)
    options = data.berlin_options(frame)
    series = data.berlin_series(BERLIN, frame, options.indicators)
    schools = gpd.read_file(os.path.join(BERLIN, "schulen.geojson"))
    facilities = [Facility("Schools", "Schulen", np.column_stack([schools.geometry.x, schools.geometry.y]))]
    return frame, options, series, facilities


def worker(task, n_areas, out):
    """One measurement in this process."""
    if os.path.realpath(sys.executable) != os.path.realpath(common.QGIS_PYTHON):
        os.environ.pop("PROJ_DATA", None)
    n_areas = int(n_areas)
    if task == "qgis_atlas":
        return qgis_atlas(n_areas, out)
    from kommunalmonitor.core.priorities.ranking import IndexPriorityOptions, priorities_from_index
    from kommunalmonitor.core.profiles.content import build_profiles
    from kommunalmonitor.core.profiles.pdf import AtlasOptions, write_atlas
    from kommunalmonitor.core.webatlas.writer import WebAtlasOptions, write_web_atlas

    frame, options, series, facilities = berlin_inputs()
    start = time.perf_counter()
    if task == "pdf":
        ranking, _ = priorities_from_index(frame, ["S1", "S3", "S4"], population="EW",
                                           options=IndexPriorityOptions(n_runs=100), seed=1)
        content = build_profiles(frame, options, ranking=ranking, series=series)
        info = write_atlas(content, out, AtlasOptions(lang="de", facilities=facilities,
                                                      rows=list(range(n_areas))))
        result = {"pages": info["pages"], "bytes": os.path.getsize(out)}
    else:
        content = build_profiles(frame, options, series=series)
        info = write_web_atlas(content, out, WebAtlasOptions(period="2020-12", facilities=facilities))
        result = {"files": info["files"], "bytes": info["bytes"], "periods": len(info["periods"])}
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = common.peak_rss_mb()
    return result


def qgis_atlas(n_areas, out):
    """QGIS's own atlas: build a comparable A4 layout in a project and export it with
    ``native:atlaslayouttopdf`` (run through the Processing registry, as the toolbox does)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.analysis import QgsNativeAlgorithms
    from qgis.core import (QgsApplication, QgsLayoutItemLabel, QgsLayoutItemMap, QgsLayoutPoint,
                           QgsLayoutSize, QgsPrintLayout, QgsProcessingContext, QgsProcessingFeedback,
                           QgsProject, QgsUnitTypes, QgsVectorLayer)
    from qgis.PyQt.QtGui import QFont

    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.processingRegistry().addProvider(QgsNativeAlgorithms())
    frame, options, _, _ = berlin_inputs()
    folder = tempfile.mkdtemp()
    gpkg = os.path.join(folder, "plr.gpkg")
    columns = ["PLR_ID", "PLR_NAME", "BEZ_ID", "EW"] + [i.field for i in options.indicators]
    frame[columns + ["geometry"]].iloc[:n_areas].to_file(gpkg, layer="plr", driver="GPKG")
    project = QgsProject()
    plr = QgsVectorLayer(f"{gpkg}|layername=plr", "plr", "ogr")
    schools = QgsVectorLayer(os.path.join(BERLIN, "schulen.geojson"), "schools", "ogr")
    project.addMapLayers([schools, plr])
    start = time.perf_counter()
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    layout.setName("profiles")
    page = layout.pageCollection().page(0)
    page.setPageSize("A4", 0)  # portrait

    def mm(x, y):
        return QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters)

    def size(w, h):
        return QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters)

    def label(text, x, y, w, h, points=9):
        item = QgsLayoutItemLabel(layout)
        item.setText(text)
        item.setFont(QFont("DejaVu Sans", points))
        layout.addLayoutItem(item)
        item.attemptMove(mm(x, y))
        item.attemptResize(size(w, h))
        return item

    detail = QgsLayoutItemMap(layout)
    layout.addLayoutItem(detail)
    detail.attemptMove(mm(75, 30))
    detail.attemptResize(size(125, 60))
    detail.setLayers([schools, plr])
    detail.setAtlasDriven(True)
    detail.setAtlasScalingMode(QgsLayoutItemMap.Auto)
    detail.setAtlasMargin(0.6)
    overview = QgsLayoutItemMap(layout)
    layout.addLayoutItem(overview)
    overview.attemptMove(mm(10, 30))
    overview.attemptResize(size(60, 60))
    overview.setLayers([plr])
    overview.setExtent(plr.extent())
    overview.overview().setLinkedMap(detail)
    label('[% "PLR_NAME" %]', 10, 10, 190, 10, 18)
    label('Planungsraum [% "PLR_ID" %] · Bezirk [% "BEZ_ID" %] · [% format_number("EW", 0) %] Einwohner',
          10, 21, 190, 6)
    lines = [f'{i.label("de")}: [% format_number("{i.field}", 1) %] (Stadt: '
             f'[% format_number(mean("{i.field}"), 1) %])' for i in options.indicators]
    label("\n".join(lines), 10, 100, 190, 90)
    label(options.source + " · Stichtag " + options.reference_date
          + "\nEin Index ist eine Suchstrategie, kein Urteil.", 10, 270, 190, 15, 7)
    atlas = layout.atlas()
    atlas.setCoverageLayer(plr)
    atlas.setEnabled(True)
    atlas.setPageNameExpression('"PLR_NAME"')
    project.layoutManager().addLayout(layout)
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("native:atlaslayouttopdf")
    results, ok = algorithm.run({"LAYOUT": "profiles", "COVERAGE_LAYER": plr, "OUTPUT": out, "DPI": 150},
                                context, feedback)
    seconds = time.perf_counter() - start
    pages = int(subprocess.run(["pdfinfo", out], capture_output=True, text=True).stdout.split("Pages:")[1].split()[0])
    result = {"seconds": seconds, "pages": pages, "bytes": os.path.getsize(out), "ok": bool(ok),
              "peak_mb": common.peak_rss_mb()}
    os._exit(print(json.dumps(result), flush=True) or 0)  # QGIS 3.22 can crash at interpreter exit


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--out")
    parser.add_argument("--quick", action="store_true", help="60 areas instead of 542")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    n = 60 if args.quick else 542
    tmp = tempfile.mkdtemp()
    runs = [("Profile atlas PDF (ours, QGIS stack)", "pdf", common.QGIS_PYTHON, "ours_qgis.pdf"),
            ("Profile atlas PDF (ours, current stack)", "pdf", None, "ours_current.pdf"),
            ("QGIS atlas, native:atlaslayouttopdf", "qgis_atlas", common.QGIS_PYTHON, "qgis.pdf"),
            ("Web atlas (ours, QGIS stack)", "web", common.QGIS_PYTHON, "web_qgis"),
            ("Web atlas (ours, current stack)", "web", None, "web_current")]
    results = {}
    for name, task, python, target in runs:
        results[name] = common.run_isolated(__file__, [task, n, os.path.join(tmp, target)], python=python)
        print(name, results[name], file=sys.stderr)
    rows = []
    qgis = results["QGIS atlas, native:atlaslayouttopdf"].get("seconds")
    for name, res in results.items():
        if "error" in res:
            rows.append([name, "error: " + " ".join(res["error"]), "", "", "", ""])
            continue
        pages = res.get("pages", res.get("files"))
        ratio = f"{qgis / res['seconds']:.1f}x" if qgis and "pdf" in name.lower() and "QGIS atlas" not in name else ""
        rows.append([name, f"{res['seconds']:.1f}", pages, f"{res['bytes'] / 1e6:.1f}", f"{res['peak_mb']:.0f}", ratio])
    text = (f"## Profiles and web atlas ({n} Berlin PLR)\n\n"
            f"{common.markdown_table(['run', 'seconds', 'pages / files', 'MB', 'peak MB', 'speed-up vs QGIS atlas'], rows)}\n\n"
            "Targets: PDF atlas at least 3x faster than QGIS's atlas export and under 120 s; web atlas "
            "(10 indicators x 5 periods) under 30 s and under 10 MB. The QGIS layout has no charts (QGIS's atlas "
            "cannot draw the spine chart or time series without plugins), so it does less work per page than ours.\n\n"
            f"Machine: {os.cpu_count()} cores, shared; {common.versions('matplotlib', 'geopandas', 'shapely')}.\n")
    common.write_section(text, args.out)


if __name__ == "__main__":
    main()
