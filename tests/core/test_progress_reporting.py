"""Progress and cancellation of points → areas, multiple burden, target status and the sample city.

Each engine function is run with a recording ``Feedback``: the fractions it reports must be
several distinct values, never fall and end at 1.0; a cancel after the first report stops it
with ``CancelledError``. Chunked work (points, blocks) must give the same result whatever the
chunk size.
"""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import CancelledError, InputError
from kommunalmonitor.core.feedback import Feedback
from kommunalmonitor.core.indices.burden import BurdenIndicator, multiple_burden
from kommunalmonitor.core.monitoring.goals import target_status
from kommunalmonitor.core.monitoring.series import check_observations
from kommunalmonitor.core.overlay import points as points_module
from kommunalmonitor.core.overlay.points import points_to_areas

CRS = "EPSG:25833"


class Recorder(Feedback):
    """A Feedback that keeps every reported fraction and can cancel after ``cancel_after`` reports."""

    def __init__(self, cancel_after=None):
        self.values = []
        self.cancel_after = cancel_after
        super().__init__(on_progress=self.values.append,
                         is_cancelled=lambda: cancel_after is not None and len(self.values) >= cancel_after)


def _assert_rising_to_one(values, at_least=3):
    assert len(set(values)) >= at_least, values
    assert all(b >= a for a, b in zip(values, values[1:])), values
    assert values[-1] == 1.0 and min(values) >= 0.0


# --- points → areas ---------------------------------------------------------------------------

def _areas():
    return gpd.GeoDataFrame({"id": ["A", "B"], "kids": [200.0, 1000.0]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=CRS)


def _points():
    return gpd.GeoDataFrame({"nr": [1, 2, 3, 4, 5], "places": [50.0, 30.0, np.nan, 100.0, 10.0],
                             "art": ["kita", "kita", "tagespflege", "kita", "kita"]},
                            geometry=[Point(1, 1), Point(10, 5), Point(2, 2), Point(15, 5), Point(50, 50)],
                            crs=CRS)


def test_points_to_areas_reports_rising_progress():
    feedback = Recorder()
    out, diag = points_to_areas(_points(), _areas(), "id", ["places"], category_field="art",
                                population="kids", feedback=feedback)
    # the hand case of test_overlay_points: (10, 5) on the shared edge counts once, in A
    assert out["n_points"].tolist() == [3, 1] and out["places"].tolist() == [80.0, 100.0]
    assert diag["points_outside"] == 1
    _assert_rising_to_one(feedback.values, at_least=5)


def test_points_in_small_chunks_give_the_same_areas_and_report_each_chunk(monkeypatch):
    rng = np.random.default_rng(3)
    xy = rng.uniform(-2, 22, size=(500, 2))
    xy[:20, 0] = 10.0  # on the shared edge: first area, whatever the chunk
    points = gpd.GeoDataFrame({"places": rng.integers(1, 50, 500).astype(float)},
                              geometry=[Point(x, y) for x, y in xy], crs=CRS)
    whole, whole_diag = points_to_areas(points, _areas(), "id", ["places"])
    monkeypatch.setattr(points_module, "POINTS_PER_STEP", 7)
    feedback = Recorder()
    chunked, chunked_diag = points_to_areas(points, _areas(), "id", ["places"], feedback=feedback)
    pd.testing.assert_frame_equal(pd.DataFrame(chunked.drop(columns="geometry")),
                                  pd.DataFrame(whole.drop(columns="geometry")))
    assert chunked_diag == whole_diag
    inside = ((xy[:, 0] >= 0) & (xy[:, 0] <= 20) & (xy[:, 1] >= 0) & (xy[:, 1] <= 10)).sum()
    assert int(chunked["n_points"].sum()) == inside
    _assert_rising_to_one(feedback.values, at_least=500 // 7)


def test_points_overlap_still_refused_in_chunks(monkeypatch):
    monkeypatch.setattr(points_module, "POINTS_PER_STEP", 1)
    areas = _areas()
    twice = pd.concat([areas, areas.iloc[[0]].assign(id="A2")], ignore_index=True)
    with pytest.raises(InputError, match=r"Areas 'A' and 'A2' of layer .* overlap"):
        points_to_areas(_points(), twice, "id")


def test_points_to_areas_cancel_after_first_report():
    feedback = Recorder(cancel_after=1)
    with pytest.raises(CancelledError):
        points_to_areas(_points(), _areas(), "id", ["places"], feedback=feedback)
    assert len(feedback.values) <= 2  # stopped at the next check, not at the end


# --- multiple burden -------------------------------------------------------------------------

def _burden_frame():
    return pd.DataFrame({"noise": [50.0, 52, 55, 58, 60, 63, 66, 70],
                         "green": [9.0, 1, 5, 7, 2, 8, 3, 6],
                         "heat": [30.0, 31, 32, 33, 34, 35, 36, 37],
                         "mss": [1, 2, 3, 4, 1, 2, 3, 4]})


def test_multiple_burden_reports_one_step_per_indicator():
    feedback = Recorder()
    specs = [BurdenIndicator("noise"), BurdenIndicator("green", supply=True),
             BurdenIndicator("heat", thresholds=(31.5, 35.5))]
    result = multiple_burden(_burden_frame(), specs, social_status="mss", feedback=feedback)
    # quartiles of noise: 54.25 / 63.75; green (supply): below 2.75 → 3, from 7.25 → 1; heat fixed
    assert result.table["g_noise"].tolist() == [1, 1, 2, 2, 2, 2, 3, 3]
    assert result.table["g_green"].tolist() == [1, 3, 2, 2, 3, 1, 2, 2]
    assert result.table["g_heat"].tolist() == [1, 1, 2, 2, 2, 2, 3, 3]
    assert result.table["burden_count"].tolist() == [0, 1, 0, 0, 1, 0, 2, 2]
    assert result.table["burden_count_social"].tolist() == [0, 1, 1, 1, 1, 0, 3, 3]
    _assert_rising_to_one(feedback.values, at_least=5)  # start, 3 indicators, counts, end


def test_multiple_burden_cancel_after_first_report():
    feedback = Recorder(cancel_after=1)
    with pytest.raises(CancelledError):
        multiple_burden(_burden_frame(), ["noise", "heat"], feedback=feedback)


# --- target status ---------------------------------------------------------------------------

def _observations():
    rows = []
    for area, now in {"a": 340, "b": 320, "c": 520, "d": 276}.items():
        rows += [(area, 2020, 400, 4000), (area, 2023, now, 4000)]
    frame = pd.DataFrame(rows, columns=["area_id", "period", "numerator", "denominator"])
    frame["indicator"] = "unemployment_rate"
    frame["value"] = 100.0 * frame["numerator"] / frame["denominator"]
    return check_observations(frame)


def _goals():
    common = {"level": "target", "indicator": "unemployment_rate", "scope": "city", "scope_areas": None,
              "priority_level": np.nan, "baseline_period": 2020, "baseline_value": 10.0,
              "target_period": 2026, "direction": "decrease"}
    return pd.DataFrame([dict(common, goal_id="T1", title_en="down to 7 %", target_value=7.0),
                         dict(common, goal_id="T2", title_en="down to 9 %", target_value=9.0),
                         dict(common, goal_id="T3", title_en="down to 5 %", target_value=5.0)])


def test_target_status_reports_one_step_per_target():
    feedback = Recorder()
    result = target_status(_observations(), _goals(), lang="en", feedback=feedback)
    assert result.summary["goal_id"].tolist() == ["T1", "T2", "T3"]
    rows = result.table.set_index(["goal_id", "area_id"])
    # area d: 10 % → 6.9 % reaches every target; area c: 10 % → 13 % moves away from all three
    assert all(rows.loc[(goal, "d"), "status"] == 1 for goal in ("T1", "T2"))
    assert all(rows.loc[(goal, "c"), "status"] == 5 for goal in ("T1", "T2", "T3"))
    _assert_rising_to_one(feedback.values, at_least=5)  # start, checked, 3 targets, end


def test_target_status_cancel_after_first_report():
    feedback = Recorder(cancel_after=1)
    with pytest.raises(CancelledError):
        target_status(_observations(), _goals(), feedback=feedback)


# --- sample city: block cutting per chunk of blocks ------------------------------------------

def _layer_bytes(sample):
    """Attributes and WKB of every layer, the adjacency table and the rasters (bytes to compare)."""
    parts = []
    for name, frame in sample.layers.items():
        parts.append(name.encode())
        parts.append(pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_csv().encode())
        parts.extend(g.wkb for g in frame.geometry)
    parts.append(sample.block_adjacency.to_csv().encode())
    parts.extend(np.ascontiguousarray(sample.rasters[k]).tobytes() for k in sorted(sample.rasters))
    parts.append(sample.grid.to_csv().encode())
    return parts


def test_sample_block_cutting_reports_per_chunk_with_the_same_city(monkeypatch):
    from kommunalmonitor.core.sample import blocks as blocks_module
    from kommunalmonitor.core.sample.generate import generate_sample_municipality

    whole = generate_sample_municipality(500, seed=11)
    monkeypatch.setattr(blocks_module, "BLOCKS_PER_STEP", 40)
    feedback = Recorder()
    chunked = generate_sample_municipality(500, seed=11, feedback=feedback)
    assert _layer_bytes(chunked) == _layer_bytes(whole)
    _assert_rising_to_one(feedback.values, at_least=60)
    # the block cutting (up to 'Forming planning areas', 0.82) reports in small steps
    cutting = [v for v in feedback.values if v <= 0.82]
    assert max(np.diff(sorted(set(cutting)))) <= 0.06


def test_sample_cancel_inside_block_cutting(monkeypatch):
    from kommunalmonitor.core.sample import blocks as blocks_module
    from kommunalmonitor.core.sample.generate import generate_sample_municipality

    monkeypatch.setattr(blocks_module, "BLOCKS_PER_STEP", 40)
    feedback = Recorder(cancel_after=8)
    with pytest.raises(CancelledError):
        generate_sample_municipality(500, seed=11, feedback=feedback)
    assert feedback.values[-1] < 0.35  # stopped in the block cutting, not after it


def test_sample_blocks_written_in_chunks_are_the_same_layer(monkeypatch, tmp_path):
    import sqlite3

    from kommunalmonitor.core.sample import blocks as blocks_module
    from kommunalmonitor.core.sample import writing
    from kommunalmonitor.core.sample.generate import generate_sample_municipality

    sample = generate_sample_municipality(500, seed=4)
    at_once = writing.write_sample_municipality(sample, str(tmp_path / "once"))
    monkeypatch.setattr(blocks_module, "BLOCKS_PER_STEP", 60)
    monkeypatch.setattr(writing, "_writes_per_record", lambda: True)  # chunks on both stacks
    feedback = Recorder()
    chunked = writing.write_sample_municipality(sample, str(tmp_path / "chunks"), feedback=feedback)
    _assert_rising_to_one(feedback.values, at_least=12)  # 9 blocks chunks, the other layers, rasters

    def content(path):
        """Every table but the spatial-index tree (its layout depends on how rows arrived) and the
        layers' extents (GDAL stores an appended layer's extent to 15 digits), which are returned apart."""
        with sqlite3.connect(path) as con:
            tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                      if not t.startswith("rtree_") and t != "gpkg_contents"]
            found = {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"'))) for t in tables}
            found["gpkg_contents"] = sorted(con.execute(
                "SELECT table_name, data_type, identifier, description, srs_id FROM gpkg_contents"))
            found["blocks in rtree"] = con.execute('SELECT count(*) FROM "rtree_blocks_geom"').fetchall()
            extents = sorted(con.execute("SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents"))
        return found, extents

    (found, extents), (expected, expected_extents) = content(chunked["gpkg"]), content(at_once["gpkg"])
    assert found == expected
    assert [e[0] for e in extents] == [e[0] for e in expected_extents]
    assert np.allclose([e[1:] for e in extents], [e[1:] for e in expected_extents], rtol=0, atol=1e-6)
    blocks = gpd.read_file(chunked["gpkg"], layer="blocks")
    assert blocks["block_id"].tolist() == sample.layers["blocks"]["block_id"].tolist()
