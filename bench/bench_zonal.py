"""Benchmark: exact zonal statistics (core.zonal) against exactextract, rasterstats and QGIS.

Cases (synthetic float32 rasters, 10 m cells, EPSG:25833; zones are jittered 33-vertex
circles on a regular lattice, a few with holes):
  9 Mpx x 500 zones, 9 Mpx x 50,000 zones, 100 Mpx x 10,000 zones.
Statistics: count, sum, mean, min, max. Every tool runs in a fresh process (honest peak
memory). Our engine runs on the current stack and on the QGIS stack (/usr/bin/python3);
exactextract and rasterstats on the current stack; QGIS ``native:zonalstatisticsfb`` on
the QGIS stack. Agreement: largest absolute difference of the mean against exactextract.

Like for like: the main rows time every tool from the files on disk (zones in a GeoPackage):
exactextract gets the two paths and reads the zones through GDAL's Python bindings (osgeo,
its fastest feature reader; ``make setup-current`` builds them into the venv), our engine
reads the zones inside the clock with geopandas (pyogrio) on the current stack and, on the
QGIS stack, as the plugin does (QGIS opens the layer, ``processing/bridge.py`` converts it;
the QGIS application starts before the clock, like the imports). The
"in memory" rows keep the older variant: zones read before the clock, both tools get the
GeoDataFrame (for exactextract that includes its Python GeoJSON feature conversion).

    .venv/current/bin/python -P bench/bench_zonal.py --out build/bench/zonal.md [--quick] [--case N]
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # bench/common.py (benchmarks are not plugin code)
import common  # noqa: E402

STATS = ["count", "sum", "mean", "min", "max"]
CASES = [("9 Mpx x 500", 3000, 500), ("9 Mpx x 50,000", 3000, 50000), ("100 Mpx x 10,000", 10000, 10000)]
ORIGIN = (380000.0, 5830000.0)
CELL = 10.0


def make_data(folder, side, n_zones):
    """Write (once) the raster and the zones; return their paths."""
    import geopandas as gpd
    import rasterio
    from affine import Affine
    from shapely.geometry import Point

    os.makedirs(folder, exist_ok=True)
    raster = os.path.join(folder, f"raster_{side}.tif")
    if not os.path.exists(raster):
        rng = np.random.default_rng(side)
        with rasterio.open(raster, "w", driver="GTiff", width=side, height=side, count=1,
                           dtype="float32", crs="EPSG:25833", nodata=-9999.0, tiled=True,
                           transform=Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1])) as ds:
            for r in range(0, side, 1000):
                rows = min(1000, side - r)
                block = (rng.random((rows, side), dtype=np.float32) * 100).astype("float32")
                block[rng.random((rows, side)) < 0.01] = -9999.0
                ds.write(block, 1, window=rasterio.windows.Window(0, r, side, rows))
    zones = os.path.join(folder, f"zones_{side}_{n_zones}.gpkg")
    if not os.path.exists(zones):
        rng = np.random.default_rng(n_zones)
        k = int(round(np.sqrt(n_zones)))
        step = side * CELL / k
        xs, ys = np.meshgrid(np.arange(k), np.arange(k))
        px = ORIGIN[0] + (xs.ravel() + 0.5 + rng.uniform(-0.1, 0.1, k * k)) * step
        py = ORIGIN[1] - (ys.ravel() + 0.5 + rng.uniform(-0.1, 0.1, k * k)) * step
        geoms = []
        for i, (x, y) in enumerate(zip(px, py)):
            shape = Point(x, y).buffer(step * 0.45, 8)
            if i % 10 == 0:
                shape = shape.difference(Point(x, y).buffer(step * 0.1, 4))
            geoms.append(shape)
        gpd.GeoDataFrame({"zid": np.arange(len(geoms))}, geometry=geoms,
                         crs="EPSG:25833").to_file(zones, driver="GPKG")
    return raster, zones


def worker(tool, raster, zones, result_path):
    """Run one tool once and print timing and memory as JSON.

    ``tool`` is ``name`` or ``name:input`` with input ``file`` (the clock includes reading the
    zones from the GeoPackage), ``qgis`` (our engine as the plugin runs it: QGIS opens the
    GeoPackage as a layer and ``processing/bridge.py`` converts it, inside the clock; the QGIS
    application starts before the clock, like the imports) or ``memory`` (zones read into a
    GeoDataFrame before the clock).
    """
    if os.path.realpath(sys.executable) != os.path.realpath(common.QGIS_PYTHON):
        # common.run_isolated sets Debian's PROJ_DATA, which breaks the wheels' own PROJ
        os.environ.pop("PROJ_DATA", None)
    import geopandas as gpd

    tool, _, source = tool.partition(":")
    frame = gpd.read_file(zones) if source == "memory" else None
    # imports happen before the clock starts (Debian's rasterio/pyproj import takes ~1 s)
    if tool == "ours":
        import rasterio  # noqa: F401

        from kommunalmonitor.core.zonal import zonal_statistics
        if source == "qgis":  # QGIS start-up is set-up like an import; reading the layer is timed
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from qgis.core import QgsApplication, QgsVectorLayer

            from kommunalmonitor.processing.bridge import source_to_gdf
            app = QgsApplication([], False)
            app.initQgis()
    elif tool == "exactextract":
        from exactextract import exact_extract
        if source == "file":
            # exactextract reads a path with osgeo (GDAL) when it can, else fiona; without
            # both it fails, so say what is missing instead of its "Unhandled feature datatype"
            try:
                from osgeo import gdal, gdal_array, ogr  # noqa: F401
            except ImportError as error:
                raise SystemExit(f"no osgeo in this venv ({error}); run make setup-current")
            gdal.PushErrorHandler("CPLQuietErrorHandler")  # GDAL 3.6 warns on GeoPackage 1.4 files
    elif tool == "rasterstats":
        from rasterstats import zonal_stats
    start = time.perf_counter()
    means = None
    if tool == "ours":
        if source == "file":
            frame = gpd.read_file(zones)
        elif source == "qgis":  # what the Processing algorithm does with its areas layer
            layer = QgsVectorLayer(zones, "zones", "ogr")
            if not layer.isValid():
                raise SystemExit(f"QGIS cannot open {zones}")
            frame = source_to_gdf(layer, name=layer.name())
        table, _ = zonal_statistics(frame, raster, stats=STATS)
        means = table["b1_mean"].to_numpy()
    elif tool == "exactextract":
        table = exact_extract(raster, zones if source == "file" else frame, STATS, output="pandas")
        means = table["mean"].to_numpy(dtype="float64")
    elif tool == "rasterstats":
        rows = zonal_stats(list(frame.geometry), raster, stats=STATS)
        means = np.array([np.nan if r["mean"] is None else r["mean"] for r in rows], dtype="float64")
    elif tool == "qgis":
        from qgis.analysis import QgsNativeAlgorithms
        from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingFeedback,
                               QgsRasterLayer, QgsVectorLayer)

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QgsApplication([], False)
        app.initQgis()
        QgsApplication.processingRegistry().addProvider(QgsNativeAlgorithms())
        start = time.perf_counter()
        alg = QgsApplication.processingRegistry().createAlgorithmById("native:zonalstatisticsfb")
        params = {"INPUT": QgsVectorLayer(zones, "z", "ogr"), "INPUT_RASTER": QgsRasterLayer(raster, "r"),
                  "RASTER_BAND": 1, "COLUMN_PREFIX": "_", "STATISTICS": [0, 1, 2, 5, 6],
                  "OUTPUT": "TEMPORARY_OUTPUT"}
        context = QgsProcessingContext()
        results, ok = alg.run(params, context, QgsProcessingFeedback())
        layer = context.getMapLayer(results["OUTPUT"]) or context.takeResultLayer(results["OUTPUT"])
        values = {f["zid"]: f["_mean"] for f in layer.getFeatures()}
        zids = gpd.read_file(zones, ignore_geometry=True)["zid"] if frame is None else frame["zid"]
        means = np.array([np.nan if values.get(z) in (None,) else float(values[z])
                          for z in zids], dtype="float64")
    seconds = time.perf_counter() - start
    np.save(result_path, means)
    print(json.dumps({"seconds": seconds, "peak_mb": common.peak_rss_mb()}))


def gdal_versions():
    """The GDAL each reader links: osgeo (exactextract's reader) and the wheels' own copies."""
    out = []
    for label, get in (("osgeo (exactextract) GDAL", lambda: __import__("osgeo.gdal").gdal.__version__),
                       ("pyogrio GDAL", lambda: __import__("pyogrio").__gdal_version_string__),
                       ("rasterio GDAL", lambda: __import__("rasterio").__gdal_version__)):
        try:
            out.append(f"{label} {get()}")
        except Exception:  # not installed: reported as such
            out.append(f"{label} (not installed)")
    return ", ".join(out)


def measure(tool, raster, zones, repeat, python=None, timeout=1800):
    """Median seconds and peak memory over ``repeat`` fresh processes; path of the means."""
    times, peaks, out = [], [], None
    for i in range(repeat):
        out = os.path.join(tempfile.gettempdir(), f"km_zonal_{tool.replace(':', '_')}_{os.getpid()}.npy")
        try:
            result = common.run_isolated(os.path.abspath(__file__), [tool, raster, zones, out],
                                         python=python, timeout=timeout)
        except Exception as error:  # a timeout is reported in the table
            return {"error": str(error)[:80]}
        if "error" in result:
            return result
        times.append(result["seconds"])
        peaks.append(result["peak_mb"])
    return {"seconds": float(np.median(times)), "peak_mb": max(peaks), "means": np.load(out)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=False, default=None)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "km_bench_zonal"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the 9 Mpx x 500 case, 1 run")
    parser.add_argument("--case", type=int, action="append", choices=range(1, len(CASES) + 1),
                        help="only case number N (1-based, repeatable), e.g. --case 2 for 9 Mpx x 50,000")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the in-memory (GeoDataFrame) rows of our engine and exactextract")
    parser.add_argument("--worker", nargs=4)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    cases = CASES[:1] if args.quick else CASES
    if args.case:
        cases = [CASES[n - 1] for n in sorted(set(args.case))]
    repeat = 1 if args.quick else args.repeat
    rows = []
    file_, memory = "file (GPKG)", "in memory (GeoDataFrame)"
    file_qgis = "file (GPKG), zones read by QGIS + bridge"
    for label, side, n_zones in cases:
        raster, zones = make_data(args.data, side, n_zones)
        ee = measure("exactextract:file", raster, zones, repeat)
        ours = measure("ours:file", raster, zones, repeat)
        # on the QGIS stack the plugin never calls gpd.read_file: QGIS reads the layer and
        # processing/bridge.py converts it, so that is what this row times
        ours_q = measure("ours:qgis", raster, zones, repeat, python=common.QGIS_PYTHON)
        runs = [("Kommunalmonitor core.zonal", "current", file_, ours, ee),
                ("Kommunalmonitor core.zonal", "QGIS 3.22", file_qgis, ours_q, ee),
                ("exactextract 0.3 (zones via GDAL)", "current", file_, ee, ee)]
        if not args.no_memory:
            ee_m = measure("exactextract:memory", raster, zones, repeat)
            ours_m = measure("ours:memory", raster, zones, repeat)
            ours_qm = measure("ours:memory", raster, zones, repeat, python=common.QGIS_PYTHON)
            runs += [("Kommunalmonitor core.zonal", "current", memory, ours_m, ee_m),
                     ("Kommunalmonitor core.zonal", "QGIS 3.22", memory, ours_qm, ee_m),
                     ("exactextract 0.3 (GeoJSON features)", "current", memory, ee_m, ee_m)]
        else:
            ee_m = {"error": "in-memory rows skipped (--no-memory)"}
        # the slow peers once each, and rasterstats only where it finishes in minutes
        rs = measure("rasterstats:memory", raster, zones, 1) if n_zones <= 500 else {"error": "skipped (> 200 s)"}
        qgis = measure("qgis:file", raster, zones, 1, python=common.QGIS_PYTHON)
        runs += [("rasterstats (pixel centre)", "current", memory, rs, ee_m),
                 ("QGIS native:zonalstatisticsfb", "QGIS 3.22", file_, qgis, ee)]
        reference = ee.get("means")
        for name, stack, source, result, versus in runs:
            if "seconds" not in result:
                rows.append([label, name, stack, source, "–", "–", "–", "–", str(result.get("error"))[:60]])
                continue
            diff = "–"
            if reference is not None:
                both = np.isfinite(reference) & np.isfinite(result["means"])
                diff = f"{np.max(np.abs(result['means'][both] - reference[both])):.1e}" if both.any() else "–"
            ratio = f"{result['seconds'] / versus['seconds']:.2f}" if "seconds" in versus else "–"
            rows.append([label, name, stack, source, round(result["seconds"], 2), ratio,
                         round(result["peak_mb"]), diff, ""])
        print(rows[-len(runs):], flush=True)
    table = common.markdown_table(
        ["case", "tool", "stack", "zones given as", "median s", "time / exactextract (same input)",
         "peak MB", "max |mean - exactextract|", "note"], rows)
    section = "\n".join([
        "## Zonal statistics (raster → areas)",
        "",
        f"Synthetic float32 rasters (10 m cells, 1 % nodata), zones = jittered 33-vertex circles "
        f"(every 10th with a hole); statistics {', '.join(STATS)}. Median of {repeat} fresh "
        "processes (peers that take minutes: one run). Modules are imported before the clock "
        "starts. *file (GPKG)*: every tool starts from the raster and the zones on disk and the "
        "clock includes reading the zones — exactextract gets both paths and reads the zones "
        "through GDAL's Python bindings (its fastest feature reader), our engine reads them with "
        "geopandas (pyogrio) on the current stack; on the QGIS stack it runs as the plugin does: "
        "QGIS opens the GeoPackage as a layer and the plugin's bridge converts it to a "
        "GeoDataFrame (QGIS starts before the clock, like the imports). QGIS's algorithm "
        "opens the layer. *in memory (GeoDataFrame)*: the zones are read before the clock and "
        "handed over as a GeoDataFrame, which exactextract converts feature by feature to GeoJSON "
        "in Python. The time ratio compares with exactextract given the same input; the "
        "agreement column compares with exactextract from the file. Pixel-centre tools differ "
        "from the exact "
        "result by design; the last column shows by how much.",
        "",
        f"{common.versions('numpy', 'shapely', 'geopandas', 'pyogrio', 'rasterio', 'exactextract', 'rasterstats')}, "
        f"{gdal_versions()}",
        "",
        table,
        "",
    ])
    common.write_section(section, args.out)


if __name__ == "__main__":
    main()
