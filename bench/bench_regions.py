"""Benchmark: planning-area delineation (core.regions) against spopt, pygeoda and scikit-learn Ward.

Input: Musterstadt (``core.sample.generate_sample_municipality``) at several sizes, with
rivers and railways as barriers. Every tool gets the same units, the same standardised
attributes and the same neighbour graph (ours, after barriers). The task: K areas with
between MIN_SHARE and MAX_SHARE times the mean population. Each tool runs in a fresh
process (honest peak memory) with a time limit.

A second table: Berlin's 542 planning areas (PLR, residents 31.12.2020 from the MSS table)
into 143 regions nested in the 12 districts, every region within ±25 % (and ±15 %) of the
mean, on both stacks and with each objective preset (``--berlin DIR``; skipped when the
shared Berlin data is absent).

    PYTHONPATH=.build/pkgroot .venv/current/bin/python -P bench/bench_regions.py --out x.md
    ... --sizes 500 2000 --limit 60     (a quick run)
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import QGIS_PYTHON, markdown_table, peak_rss_mb, run_isolated, versions, write_section  # noqa: E402

SIZES = (500, 2000, 10000, 30000)
SEED = 1
AREAS_PER_SIZE = {500: 20, 2000: 30, 10000: 30, 30000: 30}
MIN_SHARE, MAX_SHARE = 0.5, 1.5
ATTRIBUTES = ("share_children", "share_65plus", "transfer_rate", "rent_per_m2")
BARRIERS = ("rivers", "railways")
PEERS = ("sklearn_ward", "spopt_wardspatial", "spopt_skater", "spopt_azp", "spopt_maxp",
         "pygeoda_skater", "pygeoda_redcap", "pygeoda_schc", "pygeoda_azp_greedy", "pygeoda_maxp_greedy",
         # the same peers on the graph without barriers (they crash on the barrier graph's separate
         # parts); their areas are then checked against the barrier graph like everyone's
         "spopt_skater@plain", "pygeoda_skater@plain", "pygeoda_redcap@plain", "pygeoda_schc@plain")


# ----------------------------------------------------------------------------- data
def prepare(n_blocks, folder):
    """Generate Musterstadt, derive attributes, write units, barriers, our graph and a GAL file."""
    from kommunalmonitor.core.regions import build_graph
    from kommunalmonitor.core.sample import generate_sample_municipality

    city = generate_sample_municipality(n_blocks, seed=SEED)
    blocks = city.blocks.reset_index(drop=True)
    pop = blocks["pop_2022"].astype(float)
    safe = pop.where(pop > 0, 1.0)
    units = blocks[["block_id", "geometry"]].copy()
    units["pop"] = pop.to_numpy()
    units["share_children"] = ((blocks["pop_0_5_2022"] + blocks["pop_6_14_2022"]) / safe).to_numpy()
    units["share_65plus"] = (blocks["pop_65plus_2022"] / safe).to_numpy()
    units["transfer_rate"] = (blocks["transfer_recipients_2022"] / safe).to_numpy()
    units["rent_per_m2"] = blocks["rent_per_m2"].astype(float).fillna(blocks["rent_per_m2"].mean()).to_numpy()
    units.to_file(os.path.join(folder, "units.gpkg"), driver="GPKG")
    for name in BARRIERS:
        city.layers[name][["name", "geometry"]].to_file(os.path.join(folder, f"{name}.gpkg"), driver="GPKG")
    graph = build_graph(units, barriers={name: city.layers[name] for name in BARRIERS})
    np.save(os.path.join(folder, "edges.npy"), graph.edges)
    plain = build_graph(units)
    np.save(os.path.join(folder, "edges_plain.npy"), plain.edges)
    for name, g in (("graph.gal", graph), ("graph_plain.gal", plain)):
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(f"0 {len(units)} units id\n")
            for i, nb in enumerate(g.neighbours()):
                fh.write(f"{i} {len(nb)}\n{' '.join(str(int(j)) for j in nb)}\n")
    k = AREAS_PER_SIZE.get(n_blocks, 30)
    mean = units["pop"].sum() / k
    task = {"n_units": len(units), "k": k, "min": MIN_SHARE * mean, "max": MAX_SHARE * mean,
            "parts": int(graph.components()[0])}
    with open(os.path.join(folder, "task.json"), "w") as fh:
        json.dump(task, fh)
    return task


def load(folder):
    import geopandas as gpd

    units = gpd.read_file(os.path.join(folder, "units.gpkg"))
    with open(os.path.join(folder, "task.json")) as fh:
        task = json.load(fh)
    edges = np.load(os.path.join(folder, "edges.npy"))
    return units, task, edges


def standardised(units):
    X = units[list(ATTRIBUTES)].to_numpy(dtype=float)
    sd = X.std(axis=0)
    sd[sd == 0] = 1
    return (X - X.mean(axis=0)) / sd


# ----------------------------------------------------------------------------- quality
def evaluate(units, labels, edges, task, use_max=True):
    """Same measures for every tool: BSS/TSS, compactness, bound and contiguity violations."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    labels = np.asarray(labels)
    _, labels = np.unique(labels, return_inverse=True)
    k = int(labels.max()) + 1
    X = standardised(units)
    counts = np.bincount(labels, minlength=k)
    means = np.vstack([np.bincount(labels, weights=X[:, j], minlength=k) for j in range(X.shape[1])]).T / counts[:, None]
    wss = float(((X - means[labels]) ** 2).sum())
    bss_tss = 1 - wss / float((X ** 2).sum())
    pop = units["pop"].to_numpy()
    totals = np.bincount(labels, weights=pop, minlength=k)
    above = totals > task["max"] + 1e-6 if use_max else np.zeros(k, dtype=bool)
    out_of_bounds = int(((totals < task["min"] - 1e-6) | above).sum())
    same = labels[edges[:, 0]] == labels[edges[:, 1]]
    inner = edges[same]
    n = len(labels)
    matrix = sparse.coo_matrix((np.ones(len(inner)), (inner[:, 0], inner[:, 1])), shape=(n, n))
    _, comp = connected_components(matrix, directed=False)
    pieces = len(set(zip(labels.tolist(), comp.tolist())))
    not_contiguous = int(pieces - k)  # extra pieces: areas split, or joined across a barrier
    geoms = units.geometry
    area = geoms.area.to_numpy()
    cent = geoms.centroid
    xy = np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])
    W = np.bincount(labels, weights=area, minlength=k)
    cx = np.bincount(labels, weights=area * xy[:, 0], minlength=k) / W
    cy = np.bincount(labels, weights=area * xy[:, 1], minlength=k) / W
    inertia = np.bincount(labels, weights=area * ((xy[:, 0] - cx[labels]) ** 2 + (xy[:, 1] - cy[labels]) ** 2)
                          + area ** 2 / (2 * np.pi), minlength=k)
    nmi = float(np.mean(W ** 2 / (2 * np.pi * inertia)))
    return {"areas": k, "bss_tss": bss_tss, "nmi": nmi, "out_of_bounds": out_of_bounds,
            "not_contiguous": not_contiguous,
            "violations": out_of_bounds + not_contiguous,
            "dev_max_pct": float(np.max(np.abs(totals / (pop.sum() / task["k"]) - 1)) * 100)}


# ----------------------------------------------------------------------------- Berlin
BERLIN_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "berlin")
BERLIN_REGIONS = 143
BERLIN_TASKS = (("custom", 0.25), ("official", 0.25), ("homogeneous", 0.25), ("custom", 0.15))


def load_berlin(folder):
    """542 PLR with residents (MSS ``EW``) and the status indicators S1, S3, S4."""
    import geopandas as gpd
    import pandas as pd

    units = gpd.read_file(os.path.join(folder, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    mss = pd.read_csv(os.path.join(folder, "mss_2021_index_indikatoren.csv"), dtype={"PLR_ID": str})
    units = units.merge(mss[["PLR_ID", "EW", "S1", "S3", "S4"]], on="PLR_ID", how="left", validate="1:1")
    units["EW"] = units["EW"].astype(float).fillna(0.0)
    for column in ("S1", "S3", "S4"):  # -9999: fewer than 300 residents
        values = units[column].astype(float).where(lambda v: v > -999)
        units[column] = values.fillna(values.mean())
    units["bez"] = units["PLR_ID"].str[:2]
    units.attrs["layer_name"] = "PLR 2023"
    return units


def run_berlin(task, folder):
    """Our engine on the Berlin task ``objective:tolerance``; the measures for the table."""
    import sklearn.cluster  # noqa: F401  imported before the clock

    from kommunalmonitor.core.errors import InfeasibleError
    from kommunalmonitor.core.regions import PlanningAreaBuilder, check_partition

    objective, tolerance = task.split(":")
    tolerance = float(tolerance)
    units = load_berlin(folder)
    pop = units["EW"].to_numpy()
    mean = pop.sum() / BERLIN_REGIONS
    lo, hi = mean * (1 - tolerance), mean * (1 + tolerance)
    start = time.perf_counter()
    builder = PlanningAreaBuilder(n_areas=BERLIN_REGIONS, min_population=lo, max_population=hi,
                                  objective=objective, random_state=0)
    try:
        builder.fit(units, "EW", ["S1", "S3", "S4"], nest_field="bez", id_field="PLR_ID")
    except InfeasibleError as error:
        return {"seconds": time.perf_counter() - start, "refused": str(error)[:120]}
    seconds = time.perf_counter() - start
    d = builder.diagnostics_
    graph = builder.graph_
    deviation = np.abs(builder.areas_["population"].to_numpy() / mean - 1) * 100
    return {"seconds": seconds, "areas": d["n_areas"], "bss_tss": d["bss_tss"],
            "pp": d["mean_compactness_pp"], "nmi": d["mean_compactness_nmi"],
            "dev_max_pct": float(deviation.max()), "dev_mean_pct": float(deviation.mean()),
            "violations": len(check_partition(graph.n, graph.edges, builder.labels_, pop, lo, hi,
                                              parent=units["bez"].to_numpy()))}


def berlin_section(script, folder, qgis):
    """Markdown lines of the Berlin table (both stacks, every task)."""
    rows = []
    stacks = [("current", None)] + ([("QGIS", QGIS_PYTHON)] if qgis else [])
    for objective, tolerance in BERLIN_TASKS:
        for stack, python in stacks:
            result = run_isolated(script, [f"berlin:{objective}:{tolerance}", folder], python=python)
            label = f"±{tolerance * 100:.0f} %"
            if "error" in result or "refused" in result:
                text = result.get("refused") or " ".join(result.get("error", []))[:120]
                rows.append([label, objective, stack, "refused: " + text, "", "", "", "", "", "", "", ""])
            else:
                rows.append([label, objective, stack, round(result["seconds"], 2), round(result["peak_mb"]),
                             f"{result['areas']} / {BERLIN_REGIONS}", round(result["bss_tss"], 3),
                             round(result["pp"], 3), round(result["nmi"], 3), round(result["dev_mean_pct"], 1),
                             round(result["dev_max_pct"], 1), result["violations"]])
            print(rows[-1], flush=True)
    header = ["bounds", "objective", "stack", "time (s)", "peak MB", "regions / asked", "BSS/TSS (S1, S3, S4)",
              "compactness (PP)", "compactness (NMI)", "mean deviation from mean (%)",
              "max deviation from mean (%)", "violations"]
    return [
        "### Berlin: 542 planning areas into 143 regions nested in the 12 districts",
        "",
        "The planner's task of issue 14: every region within ±25 % (±15 %) of the mean population "
        "(3,769,962 residents of 31.12.2020, MSS table `EW`), inside one district, contiguous. "
        "Homogeneity on the MSS status indicators S1 (unemployment), S3 (transfer recipients), S4 "
        "(child poverty), standardised. Violations are checked independently (contiguity, bounds, "
        "nesting). No peer takes a maximum, a nesting layer or an exact count together, so none is "
        "run here. Objective presets: 'official' (compact, even population), 'homogeneous' (social "
        "structure), 'custom' (default weights).",
        "",
        markdown_table(header, rows),
        "",
    ]


# ----------------------------------------------------------------------------- tools
def run_ours(folder, peer_constraints=False):
    """Our engine on the full task, or (``peer_constraints``) on what the bounded peers take:
    the minimum only and homogeneity as the only objective."""
    import geopandas as gpd
    import sklearn.cluster  # noqa: F401  imported before the clock, as the peers' modules are

    from kommunalmonitor.core.regions import PlanningAreaBuilder

    units, task, edges = load(folder)
    barriers = {name: gpd.read_file(os.path.join(folder, f"{name}.gpkg")) for name in BARRIERS}
    start = time.perf_counter()
    if peer_constraints:
        builder = PlanningAreaBuilder(n_areas=task["k"], min_population=task["min"], compactness_weight=0.0,
                                      balance_weight=0.0, random_state=0)
    else:
        builder = PlanningAreaBuilder(n_areas=task["k"], min_population=task["min"],
                                      max_population=task["max"], random_state=0)
    builder.fit(units, "pop", list(ATTRIBUTES), barriers=barriers)
    seconds = time.perf_counter() - start
    return builder.labels_, seconds, {"search_s": builder.diagnostics_["seconds_search"],
                                      "graph_s": builder.diagnostics_["seconds_graph"]}


def _libpysal_w(n, edges):
    from libpysal.weights import W

    neighbours = {i: [] for i in range(n)}
    for i, j in edges.tolist():
        neighbours[i].append(j)
        neighbours[j].append(i)
    return W(neighbours, silence_warnings=True)


def run_peer(name, folder):
    units, task, edges = load(folder)
    plain = name.endswith("@plain")
    name = name.split("@")[0]
    if plain:
        edges = np.load(os.path.join(folder, "edges_plain.npy"))
    X = standardised(units)
    k = task["k"]
    n = len(units)
    frame = units.copy()
    for j, col in enumerate(ATTRIBUTES):
        frame[col] = X[:, j]
    attrs = list(ATTRIBUTES)
    if name == "sklearn_ward":
        from sklearn.cluster import AgglomerativeClustering

        from kommunalmonitor.core.regions.graph import adjacency_matrix
        start = time.perf_counter()
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward",
                                         connectivity=adjacency_matrix(n, edges)).fit(X).labels_
        return labels, time.perf_counter() - start
    if name.startswith("spopt"):
        import spopt.region as region

        w = _libpysal_w(n, edges)
        start = time.perf_counter()
        if name == "spopt_wardspatial":
            model = region.WardSpatial(frame, w, attrs, n_clusters=k)
        elif name == "spopt_skater":
            model = region.Skater(frame, w, attrs, n_clusters=k, floor=max(1, n // (3 * k)))
        elif name == "spopt_azp":
            model = region.AZP(frame, w, attrs, n_clusters=k, random_state=0)
        else:
            model = region.MaxPHeuristic(frame, w, attrs, threshold_name="pop", threshold=task["min"], top_n=2)
        model.solve()
        return np.asarray(model.labels_), time.perf_counter() - start
    import pygeoda

    w = pygeoda.read_gal(os.path.join(folder, "graph_plain.gal" if plain else "graph.gal"),
                         [str(i) for i in range(n)])
    data = frame[attrs]
    bound = frame["pop"].tolist()
    start = time.perf_counter()
    if name == "pygeoda_skater":
        result = pygeoda.skater(k, w, data, bound_variable=frame["pop"], min_bound=task["min"], random_seed=0)
    elif name == "pygeoda_redcap":
        result = pygeoda.redcap(k, w, data, "fullorder-wardlinkage", bound_variable=frame["pop"],
                                min_bound=task["min"], random_seed=0)
    elif name == "pygeoda_schc":
        result = pygeoda.schc(k, w, data, "ward", bound_variable=frame["pop"], min_bound=task["min"])
    elif name == "pygeoda_azp_greedy":
        result = pygeoda.azp_greedy(k, w, data, bound_variable=frame["pop"], min_bound=task["min"], random_seed=0)
    else:
        result = pygeoda.maxp_greedy(w, data, frame["pop"], task["min"], random_seed=0)
    del bound
    return np.asarray(result["Clusters"]), time.perf_counter() - start


def worker(tool, folder):
    """Run one tool on one prepared folder; print one JSON line."""
    if tool.startswith("berlin:"):
        result = run_berlin(tool[len("berlin:"):], folder)
        result["peak_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    units, task, edges = load(folder)
    if tool in ("ours", "ours_min_only"):
        labels, seconds, extra = run_ours(folder, peer_constraints=tool == "ours_min_only")
    else:
        labels, seconds = run_peer(tool, folder)
        extra = {}
    result = {"seconds": seconds, "peak_mb": peak_rss_mb(), **extra}
    # our min-only run is checked against what it was asked (the minimum), everyone else against both
    result.update(evaluate(units, labels, edges, task, use_max=tool != "ours_min_only"))
    print(json.dumps(result))


# ----------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--worker", nargs=2)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--limit", type=float, default=90.0, help="seconds per peer run")
    parser.add_argument("--peers", nargs="*", default=list(PEERS))
    parser.add_argument("--no-qgis", action="store_true")
    parser.add_argument("--berlin", default=BERLIN_DIR, help="folder of the shared Berlin data ('' to skip)")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    script = os.path.abspath(__file__)
    rows = []
    slow = set()
    tasks = {}
    with tempfile.TemporaryDirectory(prefix="km-bench-regions-") as tmp:
        for size in args.sizes:
            folder = os.path.join(tmp, str(size))
            os.makedirs(folder)
            t0 = time.perf_counter()
            task = prepare(size, folder)
            tasks[size] = task
            print(f"Musterstadt {size}: {task} (prepared in {time.perf_counter() - t0:.0f} s)", flush=True)
            tools = [("Kommunalmonitor (current stack)", "ours", None)]
            if not args.no_qgis and os.path.exists(QGIS_PYTHON):
                tools.append(("Kommunalmonitor (QGIS stack)", "ours", QGIS_PYTHON))
            tools.append(("Kommunalmonitor, peers' constraints (min only, homogeneity only; max not checked)",
                          "ours_min_only", None))
            tools += [(peer, peer, None) for peer in args.peers]
            for label, tool, python in tools:
                if tool in slow:
                    rows.append([size, task["n_units"], label, f"> {args.limit:.0f} s", "", "", "", "", "", "", ""])
                    continue
                limit = None if tool.startswith("ours") else args.limit
                try:
                    result = run_isolated(script, [tool, folder], python=python, timeout=limit or 3600)
                except Exception:  # subprocess.TimeoutExpired
                    result = {"timeout": True}
                if result.get("timeout"):
                    slow.add(tool)
                    rows.append([size, task["n_units"], label, f"> {args.limit:.0f} s", "", "", "", "", "", "", ""])
                elif "error" in result:
                    text = " ".join(result["error"])
                    text = "crashed (no message)" if text == "failed" else "error: " + text[:80]
                    rows.append([size, task["n_units"], label, text,
                                 "", "", "", "", "", "", ""])
                else:
                    rows.append([size, task["n_units"], label, round(result["seconds"], 2),
                                 round(result["peak_mb"]), f"{result['areas']} / {task['k']}",
                                 round(result["bss_tss"], 3), round(result["nmi"], 3),
                                 result["out_of_bounds"], result["not_contiguous"],
                                 round(result["dev_max_pct"], 1)])
                print(rows[-1], flush=True)
    header = ["blocks asked", "units", "tool", "time (s)", "peak MB", "areas / asked", "BSS/TSS",
              "compactness (NMI)", "areas out of bounds", "split or barrier-crossing areas",
              "max deviation from mean (%)"]
    lines = [
        "## Planning-area delineation (regionalization)",
        "",
        f"Musterstadt (seed {SEED}) with rivers and railways as barriers; every tool gets the same units, "
        f"the same standardised attributes ({', '.join(ATTRIBUTES)}) and the same neighbour graph (ours, "
        f"after barriers). Task: the given number of areas, each with {MIN_SHARE:g}–{MAX_SHARE:g} × the mean "
        "population. Peers that take a population bound get the minimum (none takes a maximum); "
        "scikit-learn Ward, spopt WardSpatial, Skater and AZP take none (Skater's floor counts units). "
        f"Each run in a fresh process; peers limited to {args.limit:.0f} s (a peer over the limit is not "
        "run at larger sizes). Our time includes building the graph from the polygons and dissolving the "
        "areas; peers get the graph for free. Violations are counted the same way for every tool: areas "
        "outside the population bounds, and extra pieces (areas not contiguous on the barrier graph, "
        "which includes areas joined across a barrier). pygeoda's SKATER, REDCAP and SCHC and spopt's "
        "Skater crash or refuse on a graph with separate parts, so they are also run on the graph without "
        "barriers (`@plain`); their areas are still checked against the barrier graph.",
        "",
        markdown_table(header, rows),
        "",
        "Tasks: " + "; ".join(f"{s}: {t['n_units']} units, {t['k']} areas, {t['min']:.0f}–{t['max']:.0f} "
                               f"residents, {t['parts']} parts after barriers" for s, t in tasks.items()),
        "",
        "Versions: " + versions("numpy", "scipy", "geopandas", "shapely", "sklearn", "spopt", "pygeoda", "libpysal"),
        "",
    ]
    if args.berlin and os.path.isdir(args.berlin):
        lines += berlin_section(script, args.berlin, not args.no_qgis and os.path.exists(QGIS_PYTHON))
    text = "\n".join(lines)
    write_section(text, args.out)


if __name__ == "__main__":
    main()
