"""Benchmark: hot spots, spatial weights and typology (core.priorities) against esda, libpysal
and pygeoda.

Cases: square lattices of 529 (Berlin-sized, 23 x 23), 10,000 (100 x 100) and 40,000
(200 x 200) planning areas with a smooth spatial trend plus noise. Hot spots: local Moran's I
with 999 conditional permutations (ours, esda ``Moran_Local``, pygeoda ``local_moran``) and
Gi* (ours, esda ``G_Local(star=True)``). Weights: queen contiguity from polygons (ours,
libpysal ``Graph.build_contiguity``, pygeoda ``queen_weights``). Typology: k-means with k
chosen over 2..8 plus 20 bootstrap resamples (ours only; no peer gives k choice and stability
in one call). Every run is a fresh process; our engine also on the QGIS stack.

    .venv/current/bin/python -P bench/bench_priorities.py --out build/bench/priorities.md [--quick]
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

CASES = [("529 areas", 23), ("10,000 areas", 100), ("40,000 areas", 200)]


def make_frame(side):
    """Lattice of unit squares (100 m) with a smooth trend plus noise in ``v``."""
    import geopandas as gpd
    from shapely.geometry import box

    rng = np.random.default_rng(side)
    rows, cols = np.divmod(np.arange(side * side), side)
    v = np.sin(rows / side * 6) + np.cos(cols / side * 5) + rng.normal(0, 0.7, side * side)
    cells = [box(c * 100.0, r * 100.0, c * 100.0 + 100, r * 100.0 + 100) for r, c in zip(rows, cols)]
    extra = rng.normal(size=(side * side, 4)) + np.column_stack([v, -v, v ** 2, rows / side])
    frame = gpd.GeoDataFrame({"v": v, **{f"x{i}": extra[:, i] for i in range(4)}}, geometry=cells,
                             crs="EPSG:25833")
    return frame


def worker(task, tool, side, out):
    """One measurement: build data, start the clock, run, save the result array."""
    if os.path.realpath(sys.executable) != os.path.realpath(common.QGIS_PYTHON):
        os.environ.pop("PROJ_DATA", None)
    side = int(side)
    frame = make_frame(side)
    y = frame["v"].to_numpy()
    result = None
    neighbours = None
    if task in ("lisa", "gi") and tool == "ours":
        from kommunalmonitor.core.priorities.weights import build_weights

        w = build_weights(frame, "queen")
    elif task in ("lisa", "gi") and tool == "esda":
        import libpysal

        from kommunalmonitor.core.priorities.weights import build_weights

        nb = build_weights(frame, "queen").neighbour_lists()
        w = libpysal.weights.W({i: list(map(int, n)) for i, n in enumerate(nb)}, silence_warnings=True)
    elif task == "lisa" and tool == "pygeoda":
        import pygeoda

        gda = pygeoda.open(frame)
        w = pygeoda.queen_weights(gda)
    # imports before the clock: the table compares computation, not module loading
    import scipy.stats  # noqa: F401
    if tool == "ours":
        import kommunalmonitor.core.priorities.clustering  # noqa: F401
        import kommunalmonitor.core.priorities.hotspots  # noqa: F401
        import sklearn.cluster  # noqa: F401
        import sklearn.metrics  # noqa: F401
        import sklearn.mixture  # noqa: F401
    elif tool == "esda":
        import esda  # noqa: F401
    start = time.perf_counter()
    if task == "lisa":
        if tool == "ours":
            from kommunalmonitor.core.priorities.hotspots import local_moran

            table, _ = local_moran(y, w, permutations=999, seed=1, fdr=False)
            result = np.column_stack([table["lisa_i"], table["lisa_p"]])
        elif tool == "esda":
            import esda

            w.transform = "r"
            m = esda.Moran_Local(y, w, permutations=999, seed=1)
            result = np.column_stack([m.Is, m.p_sim])
        elif tool == "pygeoda":
            import pygeoda

            lisa = pygeoda.local_moran(w, gda["v"], permutations=999, seed=1)
            result = np.column_stack([lisa.lisa_values(), lisa.lisa_pvalues()])
    elif task == "gi":
        if tool == "ours":
            from kommunalmonitor.core.priorities.hotspots import gi_star

            table, _ = gi_star(y, w, permutations=999, seed=1, fdr=False)
            result = np.column_stack([table["gi"], table["gi_p"]])
        elif tool == "esda":
            import warnings

            import esda

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = esda.G_Local(y, w, transform="R", star=True, permutations=999, seed=1)
            result = np.column_stack([g.Gs, g.p_sim])
    elif task == "weights":
        if tool == "ours":
            from kommunalmonitor.core.priorities.weights import build_weights

            m = build_weights(frame, "queen").neighbours
        elif tool == "libpysal":
            from libpysal.graph import Graph

            m = Graph.build_contiguity(frame, rook=False, strict=True).sparse
        elif tool == "pygeoda":
            import pygeoda

            gw = pygeoda.queen_weights(pygeoda.open(frame))
            neighbours = gw.num_neighbors if hasattr(gw, "num_neighbors") else None
            m = None
        result = np.asarray(m.sum(axis=1)).ravel() if m is not None else np.asarray(neighbours, dtype=float)
    elif task == "typology" and tool == "ours":
        from kommunalmonitor.core.priorities.clustering import TypologyOptions, cluster_typology

        res = cluster_typology(frame, ["x0", "x1", "x2", "x3"], TypologyOptions(k_range=(2, 8), n_boot=20),
                               seed=1)
        result = res.labels.astype(float)
    seconds = time.perf_counter() - start
    np.save(out, result)
    print(json.dumps({"seconds": seconds, "peak_mb": common.peak_rss_mb()}))


def measure(task, tool, side, repeat, python=None):
    """Median seconds and peak MB over fresh processes; the last result array."""
    times, peaks = [], []
    out = os.path.join(tempfile.gettempdir(), f"km_prio_{task}_{tool}_{side}_{os.getpid()}.npy")
    for _ in range(repeat):
        try:
            res = common.run_isolated(os.path.abspath(__file__), [task, tool, side, out], python=python,
                                      timeout=1800)
        except Exception as error:  # timeouts are reported in the table
            return {"error": str(error)[:80]}
        if "error" in res:
            return res
        times.append(res["seconds"])
        peaks.append(res["peak_mb"])
    return {"seconds": float(np.median(times)), "peak_mb": max(peaks), "result": np.load(out)}


def _agreement(task, ours, ref):
    """Largest statistic difference and share of areas on the same side of p = 0.05."""
    if ref is None or "result" not in ref or "result" not in ours:
        return "–"
    a, b = ours["result"], ref["result"]
    if task == "weights":
        return f"neighbour counts equal: {bool(np.array_equal(a, b))}"
    if task in ("lisa", "gi"):
        d = np.nanmax(np.abs(a[:, 0] - b[:, 0]))
        same = np.mean((a[:, 1] <= 0.05) == (b[:, 1] <= 0.05))
        return f"max |stat diff| {d:.1e}; same p<=0.05 call {100 * same:.1f} %"
    return "–"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=4)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    cases = CASES[:2] if args.quick else CASES
    repeat = 1 if args.quick else args.repeat
    plan = [("lisa", ["ours", "esda", "pygeoda"]), ("gi", ["ours", "esda"]),
            ("weights", ["ours", "libpysal", "pygeoda"]), ("typology", ["ours"])]
    rows = []
    for label, side in cases:
        for task, tools in plan:
            results = {}
            for tool in tools:
                results[(tool, "current")] = measure(task, tool, side, repeat)
                if tool == "ours":
                    results[(tool, "QGIS 3.22")] = measure(task, tool, side, repeat, python=common.QGIS_PYTHON)
            ref = results.get((tools[1], "current")) if len(tools) > 1 else None
            for (tool, stack), res in results.items():
                if "seconds" not in res:
                    rows.append([label, task, tool, stack, "–", "–", str(res.get("error"))[:70]])
                    continue
                note = _agreement(task, res, ref) if tool == "ours" else ""
                if tool == "pygeoda" and task == "lisa":
                    note = _agreement(task, res, results[("ours", "current")]).replace("stat diff", "I diff to ours")
                rows.append([label, task, tool, stack, round(res["seconds"], 3), round(res["peak_mb"]), note])
            print(rows[-len(results):], flush=True)
    table = common.markdown_table(["case", "task", "tool", "stack", "median s", "peak MB", "agreement"], rows)
    section = "\n".join([
        "## Planning priorities (hot spots, weights, typology)",
        "",
        "Square lattices with a smooth trend plus noise; queen contiguity, row-standardised; 999 "
        "conditional permutations. The clock starts after the data (and, for hot spots, the weights) "
        "are built. Agreement: largest difference of the statistic against esda and the share of areas "
        "with the same call at pseudo p <= 0.05 (the random draws differ between tools, so a few "
        "areas near 0.05 flip). Typology: k-means, k over 2..8 by silhouette, 20 bootstrap resamples. "
        f"Median of {repeat} fresh processes.",
        "",
        common.versions("numpy", "scipy", "sklearn", "geopandas", "esda", "libpysal", "pygeoda"),
        "",
        table,
        "",
    ])
    common.write_section(section, args.out)


if __name__ == "__main__":
    main()
