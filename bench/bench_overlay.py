"""Benchmark: overlay engine (core.overlay) against tobler, on both stacks.

Cases (synthetic, EPSG:3035; a regular 100 m grid of about 3 M cells with Poisson counts;
1,000 Voronoi areas clipped to the grid's extent):
  - area interpolation: the cells as square polygons → areas; ours (``area_interpolate``,
    which recognises the grid) vs ``tobler.area_weighted.area_interpolate``
    (allocate_total=False, i.e. the same estimator);
  - grid → areas: the cells as a Zensus-style table of centres; ours only.
Our engine runs on the current stack and on the QGIS stack (/usr/bin/python3); tobler on the
current stack. Every run is a fresh process. Agreement: relative difference of the totals
and largest relative difference per area against tobler.

    .venv/current/bin/python -P bench/bench_overlay.py --out build/bench/overlay.md [--quick]
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

ORIGIN = (4500000.0, 3200000.0)
SIZE = 100.0


def make_targets(n_areas, side, seed=0):
    """Voronoi areas of random points, clipped to the grid's extent."""
    import geopandas as gpd
    from scipy.spatial import Voronoi
    from shapely.geometry import Polygon, box

    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    x1, y1 = x0 + side * SIZE, y0 + side * SIZE
    pts = np.column_stack([rng.uniform(x0, x1, n_areas), rng.uniform(y0, y1, n_areas)])
    w = x1 - x0
    far = np.array([[x0 - 3 * w, y0 - 3 * w], [x1 + 3 * w, y0 - 3 * w], [x0 - 3 * w, y1 + 3 * w],
                    [x1 + 3 * w, y1 + 3 * w]])
    vor = Voronoi(np.vstack([pts, far]))
    frame = box(x0, y0, x1, y1)
    polys = [Polygon(vor.vertices[vor.regions[vor.point_region[i]]]).intersection(frame)
             for i in range(n_areas)]
    return gpd.GeoDataFrame({"aid": np.arange(n_areas)}, geometry=polys, crs="EPSG:3035")


def make_table(side, seed=1):
    """Zensus-style table of cell centres with a count field."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    return pd.DataFrame({"x_mp_100m": ORIGIN[0] + SIZE / 2 + ix.ravel() * SIZE,
                         "y_mp_100m": ORIGIN[1] + SIZE / 2 + iy.ravel() * SIZE,
                         "pop": rng.poisson(20, side * side).astype("float64")})


def worker(tool, side, n_areas, result_path):
    """Build the data (not timed), run one tool once, print seconds and memory as JSON."""
    if os.path.realpath(sys.executable) != os.path.realpath(common.QGIS_PYTHON):
        os.environ.pop("PROJ_DATA", None)  # the wheels bring their own PROJ
    import geopandas as gpd

    from kommunalmonitor.core.overlay._spatial import boxes

    side, n_areas = int(side), int(n_areas)
    targets = make_targets(n_areas, side)
    table = make_table(side)
    cells = None
    if tool in ("ours_interp", "tobler"):
        half = SIZE / 2
        cells = gpd.GeoDataFrame({"pop": table["pop"].to_numpy()},
                                 geometry=boxes(table.x_mp_100m - half, table.y_mp_100m - half,
                                                table.x_mp_100m + half, table.y_mp_100m + half).values,
                                 crs="EPSG:3035")
    start = time.perf_counter()
    if tool == "ours_interp":
        from kommunalmonitor.core.overlay.interpolate import area_interpolate

        out, _ = area_interpolate(cells, targets, extensive=["pop"])
        values = out["pop"].to_numpy()
    elif tool == "ours_grid":
        from kommunalmonitor.core.overlay.grid import grid_to_areas

        out, _ = grid_to_areas(table, targets, ["pop"])
        values = out["pop"].to_numpy()
    elif tool == "tobler":
        from tobler.area_weighted import area_interpolate

        out = area_interpolate(cells, targets, extensive_variables=["pop"], allocate_total=False)
        values = out["pop"].to_numpy()
    seconds = time.perf_counter() - start
    np.save(result_path, np.asarray(values, dtype="float64"))
    print(json.dumps({"seconds": seconds, "peak_mb": common.peak_rss_mb(),
                      "total_in": float(table["pop"].sum())}))


def measure(tool, side, n_areas, repeat, python=None):
    """Median seconds and peak memory over fresh processes; the per-area values."""
    times, peaks, out, result = [], [], None, {}
    for _ in range(repeat):
        out = os.path.join(tempfile.gettempdir(), f"km_overlay_{tool}_{os.getpid()}.npy")
        try:
            result = common.run_isolated(os.path.abspath(__file__), [tool, side, n_areas, out],
                                         python=python, timeout=3600)
        except Exception as error:  # a timeout is reported in the table
            return {"error": str(error)[:80]}
        if "error" in result:
            return result
        times.append(result["seconds"])
        peaks.append(result["peak_mb"])
    return {"seconds": float(np.median(times)), "peak_mb": max(peaks), "values": np.load(out),
            "total_in": result["total_in"]}


def qgis_versions():
    """geopandas, shapely and numpy of the QGIS stack's Python."""
    import subprocess

    code = ("import geopandas, shapely, numpy; print(f'geopandas {geopandas.__version__}, "
            "shapely {shapely.__version__}, numpy {numpy.__version__}')")
    try:
        return subprocess.run([common.QGIS_PYTHON, "-P", "-c", code], capture_output=True, text=True,
                              timeout=120).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300,000 cells, 1 run")
    parser.add_argument("--worker", nargs=4)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    side = 548 if args.quick else 1732  # 0.3 M or 3 M cells
    n_areas = 1000
    repeat = 1 if args.quick else args.repeat
    runs = {
        ("area interpolation", "ours, current stack"): measure("ours_interp", side, n_areas, repeat),
        ("area interpolation", "ours, QGIS stack"): measure("ours_interp", side, n_areas, repeat,
                                                            python=common.QGIS_PYTHON),
        ("area interpolation", "tobler (current stack)"): measure("tobler", side, n_areas, 1),
        ("grid → areas", "ours, current stack"): measure("ours_grid", side, n_areas, repeat),
        ("grid → areas", "ours, QGIS stack"): measure("ours_grid", side, n_areas, repeat,
                                                      python=common.QGIS_PYTHON),
    }
    reference = runs[("area interpolation", "tobler (current stack)")]
    ref_values = reference.get("values")
    ref_time = reference.get("seconds")
    rows = []
    for (case, tool), r in runs.items():
        if "error" in r:
            rows.append([case, tool, "failed: " + " ".join(r["error"] if isinstance(r["error"], list) else [r["error"]]), "", "", "", "", ""])
            continue
        total_rel = per_area = speedup = ""
        if ref_values is not None and "tobler" not in tool:
            total_rel = f"{abs(r['values'].sum() - ref_values.sum()) / ref_values.sum():.1e}"
            per_area = f"{np.max(np.abs(r['values'] - ref_values) / np.maximum(ref_values, 1)):.1e}"
            speedup = f"{ref_time / r['seconds']:.1f}×"
        current = runs.get((case, "ours, current stack"), {})
        versus_current = (f"{r['seconds'] / current['seconds']:.1f}×"
                          if "QGIS" in tool and "seconds" in current else "")
        rows.append([case, tool, f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}", total_rel, per_area,
                     speedup, versus_current])
    text = "\n".join([
        "## Overlay (area interpolation, grid → areas)",
        "",
        f"{side * side:,} cells of 100 m (EPSG:3035, Poisson counts) onto {n_areas:,} Voronoi areas; "
        f"median of {repeat} fresh process(es); data building not timed. Reference: tobler "
        "`area_interpolate` with `allocate_total=False` (the same estimator). Targets: totals "
        "within 1e-6 relative, ≥ 10× faster than tobler; grid → areas under 3 s on the current "
        "stack; QGIS stack within 5× of the current stack.",
        "",
        common.markdown_table(["case", "tool", "seconds", "peak MB", "total vs tobler (rel.)",
                               "max per-area diff (rel.)", "speed-up vs tobler",
                               "time ÷ current stack (target ≤ 5×)"], rows),
        "",
        "Versions: " + common.versions("geopandas", "shapely", "numpy", "rasterio", "tobler")
        + "; QGIS stack: " + qgis_versions(),
        "",
    ])
    common.write_section(text, args.out)


if __name__ == "__main__":
    main()
