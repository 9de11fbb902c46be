"""Benchmark: the QGIS ↔ GeoDataFrame bridge (processing.bridge) on 100,000 polygons.

What a Processing algorithm pays to hand a layer to the engine and to write the result:

* ours (QGIS stack only, it needs QGIS): ``gdf_to_sink`` into a GeoPackage through a real
  Processing sink, and ``source_to_gdf`` from that GeoPackage layer; also from/to a memory
  layer (what a model passes between steps);
* peers: geopandas ``to_file`` / ``read_file`` of the same frame (fiona on the QGIS stack,
  pyogrio on the current stack) — the usual "export, then read with geopandas" route.

Data: N synthetic rounded rectangles (21 vertices) with a text (umlauts), an integer,
a float field with 10 % NULLs; seed 0. Every read is checked against the written frame.

    PYTHONPATH=.build/pkgroot .venv/current/bin/python -P bench/bench_bridge.py --out x.md
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import QGIS_PYTHON, markdown_table, median_time, run_isolated, versions, write_section  # noqa: E402

SIZES = (10_000, 100_000)


def _frame(n):
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import box

    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(380000, 410000, n), rng.uniform(5800000, 5830000, n)
    share = rng.random(n)
    share[rng.random(n) < 0.1] = np.nan
    return gpd.GeoDataFrame({"name": [f"Block {i} Straße" for i in range(n)],
                             "einw": rng.integers(0, 5000, n), "anteil": share},
                            geometry=[box(x, y, x + 50, y + 80).buffer(5, 4) for x, y in zip(xs, ys)],
                            crs="EPSG:25833")


def _check(written, read):
    """Same count, same first/last geometry, same NULL count."""
    import numpy as np

    ok = len(written) == len(read)
    ok = ok and written.geometry.iloc[0].equals(read.geometry.iloc[0])
    ok = ok and written.geometry.iloc[-1].equals(read.geometry.iloc[-1])
    ok = ok and int(np.isnan(read["anteil"].to_numpy(dtype=float)).sum()) == int(written["anteil"].isna().sum())
    return bool(ok)


def task_ours(n):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsProcessingContext, QgsProcessingParameterFeatureSink, QgsVectorLayer
    from qgis.testing import start_app

    start_app()
    from kommunalmonitor.processing.base import KommunalmonitorAlgorithm
    from kommunalmonitor.processing.bridge import gdf_to_sink, source_to_gdf

    class Writer(KommunalmonitorAlgorithm):
        ALGORITHM_ID = "benchwriter"

        def initAlgorithm(self, config=None):  # noqa: N802
            self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Output"))

    algorithm = Writer()
    algorithm.initAlgorithm()
    frame = _frame(n)
    folder = tempfile.mkdtemp(prefix="km-bench-bridge-")
    result = {}
    counter = iter(range(100))

    def write_gpkg():
        path = os.path.join(folder, f"out{next(counter)}.gpkg")
        context = QgsProcessingContext()
        gdf_to_sink(algorithm, {"OUTPUT": path}, context, "OUTPUT", frame)
        del context  # closes and flushes the file
        return path

    result["gpkg_write"], path = median_time(write_gpkg, repeat=3)
    layer = QgsVectorLayer(path, "blocks", "ogr")
    result["gpkg_read"], read = median_time(lambda: source_to_gdf(layer), repeat=3)
    result["gpkg_ok"] = _check(frame, read)

    contexts = []

    def write_memory():
        context = QgsProcessingContext()
        contexts.append(context)
        dest = gdf_to_sink(algorithm, {"OUTPUT": "memory:"}, context, "OUTPUT", frame)
        return context.getMapLayer(dest)

    result["memory_write"], memory_layer = median_time(write_memory, repeat=3)
    result["memory_read"], read = median_time(lambda: source_to_gdf(memory_layer), repeat=3)
    result["memory_ok"] = _check(frame, read)
    return result


def task_geopandas(n):
    import geopandas as gpd

    frame = _frame(n)
    folder = tempfile.mkdtemp(prefix="km-bench-bridge-")
    counter = iter(range(100))

    def write():
        path = os.path.join(folder, f"out{next(counter)}.gpkg")
        frame.to_file(path, driver="GPKG")
        return path

    result = {}
    result["gpkg_write"], path = median_time(write, repeat=3)
    result["gpkg_read"], read = median_time(lambda: gpd.read_file(path), repeat=3)
    result["gpkg_ok"] = _check(frame, read)
    return result


def worker(argv):
    task = {"ours": task_ours, "geopandas": task_geopandas}[argv[0]]
    print(json.dumps(task(int(argv[1]))))


def main():
    if "--worker" in sys.argv:
        worker(sys.argv[sys.argv.index("--worker") + 1:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    script = os.path.abspath(__file__)
    rows = []
    for n in SIZES:
        runs = (("Kommunalmonitor bridge → GeoPackage sink / from layer", "QGIS 3.22", "gpkg",
                 run_isolated(script, ["ours", n], python=QGIS_PYTHON)),
                ("Kommunalmonitor bridge ↔ memory layer", "QGIS 3.22", "memory", None),
                ("geopandas to_file / read_file (fiona)", "QGIS 3.22", "gpkg",
                 run_isolated(script, ["geopandas", n], python=QGIS_PYTHON)),
                ("geopandas to_file / read_file (pyogrio)", "current", "gpkg",
                 run_isolated(script, ["geopandas", n])))
        ours = runs[0][3]
        for label, stack, kind, result in runs:
            result = ours if result is None else result
            if "error" in result:
                rows.append([label, stack, f"{n:,}", "error", result["error"], ""])
                continue
            rows.append([label, stack, f"{n:,}", result[f"{kind}_write"], result[f"{kind}_read"],
                         "yes" if result[f"{kind}_ok"] else "NO"])
    text = ["## QGIS ↔ GeoDataFrame bridge", "",
            "Synthetic rounded rectangles (21 vertices) with a text, an integer and a float field "
            "(10 % NULL). 'write' = GeoDataFrame → layer/file, 'read' = layer/file → GeoDataFrame; "
            "median of 3 runs in seconds; 'checked' = count, geometries and NULLs as written.", "",
            markdown_table(["method", "stack", "features", "write s", "read s", "checked"], rows), "",
            f"Versions (current stack): {versions('geopandas', 'shapely', 'pyogrio', 'numpy', 'pandas')}", ""]
    write_section("\n".join(text), args.out)


if __name__ == "__main__":
    main()
