"""Benchmark: aggregating blocks to planning areas (core.aggregate).

Berlin's 12,309 statistical blocks (2010, reprojected to EPSG:25833) onto the 542
Planungsräume (2023), summing the block area as a stand-in count:

* ours (largest overlap, representative-point fallback) on both stacks: time, blocks by
  method, and agreement with the representative-point assignment;
* peers on the current stack: geopandas ``sjoin`` of representative points + groupby (the
  usual quick way; cannot tell blocks that straddle a boundary), and tobler's
  ``area_interpolate`` (splits every block by area share — a different method, shown for
  speed and because planners often reach for it).

    PYTHONPATH=.build/pkgroot .venv/current/bin/python -P bench/bench_aggregate.py --out x.md
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import QGIS_PYTHON, markdown_table, median_time, run_isolated, versions, write_section  # noqa: E402

BERLIN = os.path.join(os.environ.get("KOMMUNALMONITOR_SHARED")
                      or os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared"), "data", "berlin")


def _data():
    import geopandas as gpd

    plr = gpd.read_file(os.path.join(BERLIN, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    blocks = gpd.read_file(os.path.join(BERLIN, "bloecke_2010", "Berlin4matlab.shp")).to_crs(plr.crs)
    blocks["geometry"] = blocks.geometry.buffer(0)  # 2 invalid polygons in the source
    blocks["area_m2"] = blocks.geometry.area
    return blocks, plr


def _reference(blocks, plr):
    import geopandas as gpd

    points = blocks[["geometry"]].copy()
    points["geometry"] = blocks.representative_point()
    joined = gpd.sjoin(points, plr, predicate="within", how="left")
    return joined.loc[~joined.index.duplicated(), "PLR_ID"].reindex(blocks.index)


def task_ours():
    from kommunalmonitor.core.aggregate import aggregate_to_areas

    blocks, plr = _data()
    seconds, result = median_time(lambda: aggregate_to_areas(blocks, plr, "PLR_ID", ["area_m2"]), repeat=3)
    d = result.diagnostics
    ours = result.assignment["area_id"].astype(object).to_numpy()
    agree = float((ours == _reference(blocks, plr).astype(object).to_numpy()).mean())
    return {"seconds": seconds, "overlap": d["n_by_overlap"], "point": d["n_by_point"],
            "outside": d["n_outside"], "split": d["n_split_blocks"], "agree": agree,
            "total": float(result.areas["area_m2"].sum()), "blocks_total": float(blocks["area_m2"].sum())}


def peer_sjoin():
    blocks, plr = _data()

    def run():
        ref = _reference(blocks, plr)
        return blocks["area_m2"].groupby(ref.to_numpy()).sum()

    seconds, sums = median_time(run, repeat=3)
    return {"seconds": seconds, "total": float(sums.sum())}


def peer_tobler():
    from tobler.area_weighted import area_interpolate

    blocks, plr = _data()
    seconds, out = median_time(lambda: area_interpolate(blocks, plr, extensive_variables=["area_m2"]),
                               repeat=1)
    return {"seconds": seconds, "total": float(out["area_m2"].sum())}


def worker(argv):
    task = {"ours": task_ours, "sjoin": peer_sjoin, "tobler": peer_tobler}[argv[0]]
    print(json.dumps(task()))


def main():
    if "--worker" in sys.argv:
        worker(sys.argv[sys.argv.index("--worker") + 1:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    script = os.path.abspath(__file__)
    ours_current = run_isolated(script, ["ours"])
    ours_qgis = run_isolated(script, ["ours"], python=QGIS_PYTHON)
    sjoin = run_isolated(script, ["sjoin"])
    tobler = run_isolated(script, ["tobler"])
    rows = []
    for label, r in (("Kommunalmonitor, current stack", ours_current),
                     ("Kommunalmonitor, QGIS stack", ours_qgis)):
        if "error" in r:
            rows.append([label, "error", r["error"], "", ""])
            continue
        rows.append([label, r["seconds"],
                     f"{r['overlap']} by overlap ({r['split']} straddling), {r['point']} by point, "
                     f"{r['outside']} outside",
                     f"{100 * r['agree']:.2f} %", f"{r['total'] / r['blocks_total']:.6f}"])
    for label, r in (("geopandas sjoin (representative points) + groupby", sjoin),
                     ("tobler area_interpolate (splits blocks by area)", tobler)):
        if "error" in r:
            rows.append([label, "error", r["error"], "", ""])
        else:
            total = ours_current.get("blocks_total") or float("nan")
            rows.append([label, r["seconds"], "", "", f"{r['total'] / total:.6f}"])
    text = ["## Aggregating blocks to planning areas", "",
            "Berlin: 12,309 statistical blocks (2010) onto 542 Planungsräume (2023); the block "
            "area is summed as a stand-in count. 'Agreement' = share of blocks assigned to the same "
            "area as their representative point; 'total ratio' = summed result / sum over all blocks.",
            "", markdown_table(["method", "seconds (median)", "assignment", "agreement", "total ratio"], rows),
            "", f"Versions (current stack): {versions('geopandas', 'shapely', 'numpy', 'pandas', 'tobler')}", ""]
    write_section("\n".join(text), args.out)


if __name__ == "__main__":
    main()
