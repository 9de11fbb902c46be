"""Benchmark: indicators and indices (core.indices).

1. Berlin MSS 2021 from the raw indicators with the shipped preset: class mismatches
   against the published table, and time (both stacks).
2. Natural breaks (Fisher–Jenks, exact): ours against mapclassify.FisherJenks — same
   breaks? goodness of variance fit, time — on skewed data of several sizes.
3. Robustness Monte Carlo on Berlin (536 valid PLR, 3 indicators, 4 standardisations):
   runs per second, vectorised engine against recomputing the index run by run.

    PYTHONPATH=.build/pkgroot .venv/current/bin/python -P bench/bench_indices.py --out x.md
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import QGIS_PYTHON, markdown_table, median_time, run_isolated, versions, write_section  # noqa: E402

BERLIN = os.path.join(os.environ.get("KOMMUNALMONITOR_SHARED")
                      or os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared"), "data", "berlin")
JENKS_SIZES = (542, 2000, 5000)
K = 5


def _berlin():
    import pandas as pd

    raw = pd.read_csv(os.path.join(BERLIN, "mss_2021_index_indikatoren.csv"), dtype={"PLR_ID": str})
    published = pd.read_csv(os.path.join(BERLIN, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    return raw, published


def task_mss():
    from kommunalmonitor.core.indices.catalogue import catalogue_index

    raw, published = _berlin()
    seconds, result = median_time(lambda: catalogue_index("berlin_mss_2021", raw), repeat=5, warmup=1)
    table = result.table
    valid = (published["KOM"] == "gültig").to_numpy()
    mismatches = {col: int((table[ours].to_numpy()[valid].astype(int)
                            != published[col].to_numpy()[valid].astype(int)).sum())
                  for ours, col in (("index_class", "SI_N"), ("dynamics_class", "DI_N"), ("sdi", "SDI_N"))}
    excluded_same = bool((table["included"].to_numpy() == valid).all())
    return {"seconds": seconds, "mismatches": mismatches, "excluded_same": excluded_same}


def _skewed(n):
    rng = np.random.default_rng(n)
    return np.concatenate([rng.lognormal(0, 0.6, int(n * 0.8)), rng.normal(8, 1.5, n - int(n * 0.8))])


def _ssd(x, upper):
    """Within-class sum of squared deviations (what Fisher–Jenks minimises)."""
    classes = np.searchsorted(np.asarray(upper)[:-1], x, side="left")
    return float(sum(((x[classes == c] - x[classes == c].mean()) ** 2).sum() for c in np.unique(classes)))


def task_jenks(n):
    from kommunalmonitor.core.indices.classify import fisher_jenks_breaks

    x = _skewed(n)
    seconds, upper = median_time(lambda: fisher_jenks_breaks(x, K), repeat=3)
    return {"seconds": seconds, "breaks": [float(v) for v in upper], "ssd": _ssd(x, upper)}


def peer_jenks(n):
    import mapclassify

    x = _skewed(n)
    seconds, model = median_time(lambda: mapclassify.FisherJenks(x, k=K), repeat=1)  # slow: once
    return {"seconds": seconds, "breaks": [float(v) for v in model.bins], "ssd": _ssd(x, model.bins)}


def task_robustness(runs):
    from kommunalmonitor.core.indices.composite import composite_index, make_spec
    from kommunalmonitor.core.indices.robustness import RobustnessOptions, monte_carlo_robustness

    raw, _ = _berlin()
    outlier = (raw["KOM"] == "ungültig (Ausreißer)").to_numpy()
    spec = make_spec(["S1", "S3", "S4"], missing_values=[-9999])
    methods = ["z", "z_weighted", "minmax", "percentile"]
    seconds, result = median_time(lambda: monte_carlo_robustness(
        raw, spec, RobustnessOptions(n=runs, methods=methods), seed=1, population="EW", exclude=outlier),
        repeat=3)
    # the naive way: one full composite_index per run (first 50 runs, extrapolated)
    weights = result.runs[[c for c in result.runs.columns if c.startswith("w_")]].to_numpy()[:50]
    start = time.perf_counter()
    for w, method in zip(weights, result.runs["method"][:50]):
        composite_index(raw, spec=spec.with_(weights=tuple(w), method=method), population="EW", exclude=outlier)
    naive = (time.perf_counter() - start) / 50 * len(result.runs)
    return {"seconds": seconds, "runs": len(result.runs), "naive_seconds": naive,
            "not_robust": result.diagnostics["n_not_robust"]}


def worker(argv):
    task = argv[0]
    if task == "mss":
        out = task_mss()
    elif task == "jenks":
        out = task_jenks(int(argv[1]))
    elif task == "peer_jenks":
        out = peer_jenks(int(argv[1]))
    else:
        out = task_robustness(int(argv[1]))
    print(json.dumps(out))


def main():
    if "--worker" in sys.argv:
        worker(sys.argv[sys.argv.index("--worker") + 1:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    script = os.path.abspath(__file__)
    lines = ["## Indicators and indices", ""]
    mss = {stack: run_isolated(script, ["mss"], python=py) for stack, py in
           (("current", sys.executable), ("QGIS", QGIS_PYTHON))}
    lines += ["### Berlin MSS 2021 reproduced from the raw indicators (preset `berlin_mss_2021`)", "",
              markdown_table(["stack", "status mismatches", "dynamics mismatches", "SDI mismatches",
                              "same 6 excluded", "time (s)"],
                             [[stack, r.get("mismatches", {}).get("SI_N", r.get("error")),
                               r.get("mismatches", {}).get("DI_N"), r.get("mismatches", {}).get("SDI_N"),
                               r.get("excluded_same"), r.get("seconds")] for stack, r in mss.items()]), ""]
    rows = []
    for n in JENKS_SIZES:
        ours = run_isolated(script, ["jenks", n])
        ours_q = run_isolated(script, ["jenks", n], python=QGIS_PYTHON)
        peer = run_isolated(script, ["peer_jenks", n])
        same = ("breaks" in ours and "breaks" in peer and np.allclose(ours["breaks"], peer["breaks"]))
        ssd = [f"{r['ssd']:.4f}" if "ssd" in r else "–" for r in (ours, peer)]
        rows.append([n, K, ours.get("seconds"), ours_q.get("seconds"), peer.get("seconds", peer.get("error")),
                     same, ssd[0], ssd[1]])
    lines += ["### Natural breaks (Fisher–Jenks, exact) against mapclassify", "",
              markdown_table(["values", "classes", "ours current (s)", "ours QGIS (s)", "mapclassify (s)",
                              "same breaks", "within-class SSD ours", "within-class SSD mapclassify"], rows), "",
              "Fisher–Jenks minimises the within-class sum of squares; where the breaks differ, the lower "
              "SSD is the better (exact) solution.", ""]
    rob = {stack: run_isolated(script, ["robustness", args.runs], python=py) for stack, py in
           (("current", sys.executable), ("QGIS", QGIS_PYTHON))}
    lines += ["### Robustness Monte Carlo (Berlin, 536 PLR, 3 indicators, 4 standardisations, ±50 % weights)", "",
              markdown_table(["stack", "runs", "vectorised (s)", "one index per run (s, extrapolated)",
                              "areas not robust"],
                             [[stack, r.get("runs", r.get("error")), r.get("seconds"), r.get("naive_seconds"),
                               r.get("not_robust")] for stack, r in rob.items()]), "",
              f"Versions: {versions('numpy', 'pandas', 'mapclassify')}", ""]
    write_section("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
