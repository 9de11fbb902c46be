"""Monitoring over time: boundary change (Rückrechnung) against tobler, and the monitoring
store loading and querying 1 million observations in GeoPackage and PostGIS.

Rebasing: 20 periods x 40 indicators (800 count columns, seeded) from the 12,309 Berlin
blocks (2010) onto the 542 planning areas by area weights: ours = crosswalk through the
exact overlay engine + one sparse product (what ``rebase_observations`` does per column
block), tobler = ``area_interpolate`` with the 800 extensive variables. Totals compared.

Store: 999,990 observations (542 areas x 41 indicators x 45 periods) loaded into a fresh
GeoPackage (current stack) and a throwaway PostGIS cluster (QGIS stack, psycopg2), then one
indicator's series and one period's cross-section queried.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import QGIS_PYTHON, median_time, run_isolated, versions, write_section  # noqa: E402

SHARED = os.environ.get("KOMMUNALMONITOR_SHARED") or os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared")
BERLIN = os.path.join(SHARED, "data", "berlin")


def observations_1m():
    """One million seeded observations in long form, and their areas."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    areas = gpd.read_file(os.path.join(BERLIN, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    ids = areas["PLR_ID"].to_numpy()
    n_ind, n_per = 41, 45
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "area_id": np.tile(ids, n_ind * n_per),
        "indicator": np.repeat(["ind_%02d" % i for i in range(n_ind)], len(ids) * n_per),
        "period": np.tile(np.repeat(["%d-%02d" % (2000 + p // 2, 1 + p % 2) for p in range(n_per)], len(ids)), n_ind),
        "value": rng.poisson(500, len(ids) * n_ind * n_per).astype("float64")})
    frame = frame.assign(area_set="plr")
    return areas, frame


def bench_store(store_factory):
    """Seconds to load 1M observations, to load them again (idempotent), and to query."""
    areas, frame = observations_1m()
    with store_factory() as store:
        store.load_area_set(areas, "plr", id_field="PLR_ID")
        t = time.perf_counter()
        report = store.load_observations(frame)
        load = time.perf_counter() - t
        t = time.perf_counter()
        again = store.load_observations(frame.iloc[:200_000])
        reload_ = time.perf_counter() - t
        t = time.perf_counter()
        series = store.series("ind_07", "plr", wide=True)
        section = store.cross_section("2010-01", "plr")
        query = time.perf_counter() - t
    return {"load_s": load, "inserted": report.inserted, "reload_200k_s": reload_,
            "reload_unchanged": again.unchanged, "query_s": query,
            "series_shape": list(series.shape), "section_shape": list(section.shape)}


def worker_postgis():
    """QGIS stack: the store on a throwaway PostGIS cluster."""
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    script = os.path.join(os.path.dirname(HERE), "scripts", "pg_test_cluster.sh")
    out = subprocess.run([script, "start"], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    try:
        result = bench_store(lambda: MonitoringStore.postgis(out[1].strip(), db_schema="bench"))
    finally:
        subprocess.run([script, "stop", out[0]], check=False)
    return result


def bench_rebase():
    """Ours vs tobler on 12,309 blocks -> 542 areas, 800 columns."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from scipy import sparse

    from kommunalmonitor.core.geometry_arrays import reproject
    from kommunalmonitor.core.monitoring.rebase import CrosswalkOptions, build_crosswalk

    areas = gpd.read_file(os.path.join(BERLIN, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = gpd.read_file(os.path.join(BERLIN, "bloecke_2010", "Berlin4matlab.shp"))
    blocks = blocks.set_geometry(reproject(blocks.geometry, areas.crs))
    blocks = gpd.GeoDataFrame({"block_id": blocks["SCHLUESSEL"].astype(str)}, geometry=blocks.geometry.values,
                              crs=areas.crs).drop_duplicates("block_id")
    blocks = blocks.set_geometry(blocks.geometry.buffer(0))
    rng = np.random.default_rng(1)
    columns = ["p%02d_i%02d" % (p, i) for p in range(20) for i in range(40)]
    values = rng.poisson(50, (len(blocks), len(columns))).astype("float64")

    def crosswalk():
        return build_crosswalk(blocks, areas, "block_id", "PLR_ID", CrosswalkOptions("area"))

    def apply(cw):
        # what rebase_observations does: the crosswalk as one sparse matrix, all columns at once
        o = pd.Index(blocks["block_id"]).get_indexer(cw["old_id"])
        n = pd.Index(areas["PLR_ID"]).get_indexer(cw["new_id"])
        S = sparse.csr_matrix((cw["share"].to_numpy(), (n, o)), shape=(len(areas), len(blocks)))
        return S @ values

    t_ours, mine = median_time(lambda: apply(crosswalk()), repeat=3)
    stored = crosswalk()  # built once, stored in the monitoring store, reused for every release
    t_apply, _ = median_time(lambda: apply(stored), repeat=3)
    import tobler
    from tobler.area_weighted import area_interpolate

    src = gpd.GeoDataFrame(pd.DataFrame(values, columns=columns, index=blocks.index),
                           geometry=blocks.geometry.values, crs=blocks.crs)
    t_tobler, theirs = median_time(lambda: area_interpolate(src, areas, extensive_variables=columns), repeat=3)
    diff = float(np.abs(mine.sum(axis=0) - theirs[columns].to_numpy().sum(axis=0)).max())
    # the floor of any exact method: GEOS's intersection of just the blocks that cross an area
    # boundary (neither covered by one area nor merely touching it), on one core
    import shapely

    a, b = np.asarray(blocks.geometry.values), np.asarray(areas.geometry.values)
    jb, ja = shapely.STRtree(a).query(b, predicate="intersects")
    cross = ~shapely.covers(b[jb], a[ja])
    t_floor, _ = median_time(lambda: shapely.intersection(a[ja[cross]], b[jb[cross]]), repeat=3)
    cpu = time.process_time()
    crosswalk()
    cpu = time.process_time() - cpu
    return {"ours_s": t_ours, "apply_s": t_apply, "tobler_s": t_tobler, "total_ours": float(mine.sum()),
            "floor_s": t_floor, "crossing_pairs": int(cross.sum()), "crosswalk_cpu_s": cpu,
            "total_tobler": float(theirs[columns].to_numpy().sum()), "max_column_total_diff": diff,
            "pairs": len(stored), "tobler": tobler.__version__}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--worker", nargs="?")
    args = parser.parse_args()
    if args.worker == "postgis":
        print(json.dumps(worker_postgis()))
        return
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    reb = bench_rebase()
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = bench_store(lambda: MonitoringStore.geopackage(os.path.join(tmp, "bench.gpkg")))
    pg = run_isolated(os.path.abspath(__file__), ["postgis"], python=QGIS_PYTHON)
    load = os.getloadavg()
    lines = ["## Monitoring over time", "",
             "Rebasing 20 periods x 40 indicators (800 count columns), 12,309 Berlin blocks (2010) -> 542 "
             "planning areas by area weights ({pairs:,} block-area pieces); medians of 3 runs:".format(pairs=reb["pairs"]),
             "", "| engine | seconds | vs tobler | total moved |", "|---|---|---|---|",
             "| Kommunalmonitor: exact crosswalk built in the run + one sparse product | %.2f | %.1fx | %.0f |" % (
                 reb["ours_s"], reb["tobler_s"] / reb["ours_s"], reb["total_ours"]),
             "| Kommunalmonitor: stored crosswalk reused (every later release) | %.3f | %.0fx | %.0f |" % (
                 reb["apply_s"], reb["tobler_s"] / reb["apply_s"], reb["total_ours"]),
             "| tobler %s area_interpolate | %.2f | 1x | %.0f |" % (reb["tobler"], reb["tobler_s"], reb["total_tobler"]),
             "", "Largest difference of a column total between the two: %.3g (of about %.0f per column). "
                 "Our crosswalk takes candidate pairs from the boxes, takes a block that one prepared area "
                 "covers whole and intersects only the rest, on up to four threads (this machine: %d cores; "
                 "%.2f s of CPU time for the crosswalk). "
                 "The 10x target is met where the crosswalk is reused, as the monitoring store keeps it "
                 "(`mon_crosswalks`); the first rebase is %.1fx faster. It cannot reach 10x exactly here: "
                 "GEOS's intersection of only the %d block-area pairs that cross a boundary takes %.2f s on one "
                 "core, against %.2f s for a tenth of tobler's time." % (
                     reb["max_column_total_diff"], reb["total_ours"] / 800, os.cpu_count() or 0,
                     reb["crosswalk_cpu_s"], reb["tobler_s"] / reb["ours_s"], reb["crossing_pairs"],
                     reb["floor_s"], reb["tobler_s"] / 10), "",
             "Monitoring store, 999,990 observations (542 areas x 41 indicators x 45 periods):", "",
             "| database | load (s) | reload 200k, all unchanged (s) | series + cross-section query (s) |",
             "|---|---|---|---|"]
    for name, r in (("GeoPackage (current stack)", gpkg), ("PostGIS 15/3.3 (QGIS stack, psycopg2)", pg)):
        if "error" in r:
            lines.append("| %s | error: %s | | |" % (name, r["error"]))
        else:
            lines.append("| %s | %.2f | %.2f | %.2f |" % (name, r["load_s"], r["reload_200k_s"], r["query_s"]))
    lines += ["", "Machine load during the run (1/5/15-minute load average on %d cores): %.1f / %.1f / %.1f; "
              "other work on the machine slows every number above." % ((os.cpu_count() or 0,) + tuple(load))]
    lines += ["", "Versions: " + versions("numpy", "pandas", "geopandas", "shapely", "tobler")]
    text = "\n".join(lines) + "\n"
    write_section(text, args.out)
    print(text)


if __name__ == "__main__":
    main()
