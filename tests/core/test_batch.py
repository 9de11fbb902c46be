"""Batch runs over many municipalities on a real ``dask.distributed`` cluster (two worker processes):
the same numbers as the serial run, one municipality's failure reported without losing the others,
finished municipalities skipped on a rerun, and a worker killed mid-run losing nothing."""
import json
import os
import signal
import threading
import time

import geopandas as gpd
import pandas as pd
import pytest

from kommunalmonitor.core.batch import read_municipalities, run_batch
from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.sample import generate_sample_municipality, write_sample_municipality

WORKFLOW = """\
name: batch test
language: en
inputs:
  blocks: {path: "{folder}/musterstadt.gpkg", layer: blocks}
  areas: {path: "{folder}/musterstadt.gpkg", layer: planning_areas}
  noise: {path: "{folder}/noise_lden_10m.tif"}
steps:
  - aggregate: {blocks: blocks, areas: areas, area_id: plr_id, counts: [pop_2022, pop_18_64_2022, unemployed_2022],
                rates: "ul=unemployed_2022/pop_18_64_2022", output: planning_areas}
  - zonal: {zones: planning_areas, raster: noise, stats: [mean, max], prefix: noise_, output: with_noise}
  - index: {input: with_noise, indicators: [ul, noise_b1_mean], population: pop_2022, output: index}
outputs:
  index: {path: "{folder}/index.gpkg"}
  planning_areas: {path: "{folder}/areas.gpkg"}
"""


@pytest.fixture(scope="module")
def municipalities(tmp_path_factory):
    """Four generated municipalities (Musterstadt with other seeds), a workflow and the list."""
    root = tmp_path_factory.mktemp("batch")
    rows = []
    for number in range(4):
        folder = root / f"m{number}"
        write_sample_municipality(generate_sample_municipality(500, seed=100 + number), str(folder))
        rows.append({"id": f"09{number:03d}", "folder": str(folder)})
    (root / "workflow.yaml").write_text(WORKFLOW, encoding="utf-8")
    pd.DataFrame(rows).to_csv(root / "municipalities.csv", index=False)
    return root, rows


@pytest.fixture(scope="module")
def serial(municipalities, tmp_path_factory):
    """The reference: every municipality in this process."""
    root, rows = municipalities
    out = tmp_path_factory.mktemp("serial")
    result = run_batch(str(root / "workflow.yaml"), rows, str(out), scheduler="serial")
    assert result.failed == {} and result.done == [r["id"] for r in rows]
    return out, result


def _gathered(folder, name):
    return gpd.read_file(os.path.join(folder, name + ".gpkg"), layer=name)


def _assert_same(left, right):
    for name in ("index", "planning_areas"):
        a, b = _gathered(left, name), _gathered(right, name)
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                      pd.DataFrame(b.drop(columns="geometry")))
        assert a.geometry.geom_equals(b.geometry).all()


def test_serial_run_gathers_every_municipality_with_its_id(serial, municipalities):
    out, result = serial
    _, rows = municipalities
    index = _gathered(out, "index")
    assert list(index.columns[:2]) == ["municipality", "plr_id"]
    assert list(pd.unique(index["municipality"])) == [r["id"] for r in rows]  # keys stay text: 09000
    for row in rows:  # each municipality standardised on its own: z-scores of its index have mean 0
        part = index[index["municipality"] == row["id"]]
        assert abs(part["index"].mean()) < 1e-9
    with open(result.record_path, encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["done"] == [r["id"] for r in rows] and "versions" in record


def test_two_dask_workers_give_the_serial_numbers(serial, municipalities, tmp_path):
    root, rows = municipalities
    result = run_batch(str(root / "workflow.yaml"), str(root / "municipalities.csv"), str(tmp_path), n_workers=2)
    assert result.failed == {}
    assert result.workers == 2
    assert sorted(result.done) == sorted(r["id"] for r in rows)
    assert len({info["pid"] for info in result.timings.values()}) == 2  # both workers took municipalities
    _assert_same(serial[0], tmp_path)


def test_a_failing_municipality_is_reported_and_a_rerun_skips_the_finished(serial, municipalities, tmp_path):
    root, rows = municipalities
    broken = rows[:2] + [{"id": "09999", "folder": str(root / "missing")}] + rows[2:]
    result = run_batch(str(root / "workflow.yaml"), broken, str(tmp_path), n_workers=2, retries=1)
    assert list(result.failed) == ["09999"]
    assert "does not exist" in result.failed["09999"] and "missing" in result.failed["09999"]
    assert sorted(result.done) == sorted(r["id"] for r in rows)
    again = run_batch(str(root / "workflow.yaml"), broken, str(tmp_path), scheduler="serial", retries=0)
    assert sorted(again.skipped) == sorted(r["id"] for r in rows) and again.done == []
    assert list(again.failed) == ["09999"]
    _assert_same(serial[0], tmp_path)


def test_a_worker_killed_mid_run_loses_nothing(serial, municipalities, tmp_path):
    from distributed import Client, LocalCluster

    root, rows = municipalities
    many = [dict(r, id=f"{r['id']}{k}") for k in "ab" for r in rows]  # eight tasks, so some are in flight
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    killed = []

    def kill_one_worker_when_work_is_under_way():
        parts = tmp_path / "parts"
        deadline = time.time() + 120
        while time.time() < deadline:
            if parts.exists() and any((parts / d / "_done.json").exists() for d in os.listdir(parts)):
                break
            time.sleep(0.05)
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    killer = threading.Thread(target=kill_one_worker_when_work_is_under_way)
    killer.start()
    try:
        result = run_batch(str(root / "workflow.yaml"), many, str(tmp_path), scheduler=client, retries=1)
    finally:
        killer.join()
        client.close()
        cluster.close()
    assert killed, "no worker was killed"
    assert result.failed == {}
    assert sorted(result.done) == sorted(r["id"] for r in many)
    index = _gathered(tmp_path, "index")
    reference = _gathered(serial[0], "index")
    for row in rows:
        for k in "ab":
            got = index[index["municipality"] == row["id"] + k].drop(columns=["municipality", "geometry"])
            want = reference[reference["municipality"] == row["id"]].drop(columns=["municipality", "geometry"])
            pd.testing.assert_frame_equal(pd.DataFrame(got).reset_index(drop=True),
                                          pd.DataFrame(want).reset_index(drop=True))


def test_municipality_list_checks(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("id,folder\n01,./a\n01,./b\n", encoding="utf-8")
    with pytest.raises(InputError, match="duplicate ids"):
        read_municipalities(str(path))
    path.write_text("name,folder\nx,./a\n", encoding="utf-8")
    with pytest.raises(InputError, match="column 'id'"):
        read_municipalities(str(path))
    path.write_text("id,folder\n007,./a\n", encoding="utf-8")
    rows = read_municipalities(str(path))
    assert rows == [{"id": "007", "folder": str(tmp_path / "a")}]  # leading zeros, folder relative to the list
