"""A planning area that appears twice distorts the composite index (z-scores, ranks), hot spots
(neighbour weights, local means) and the typology (cluster centres): repeated ids are refused
naming layer, field and the ids; the same geometry under two ids is warned about by id.
Runs on both stacks."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.feedback import KeptFeedback
from kommunalmonitor.core.indices.composite import composite_index
from kommunalmonitor.core.priorities.clustering import TypologyOptions, cluster_typology
from kommunalmonitor.core.priorities.hotspots import HotSpotOptions, hot_spots
from kommunalmonitor.core.priorities.weights import build_weights
from kommunalmonitor.core.validate import require_distinct_areas, require_unique


def _grid(ids, repeat=None):
    """3 x 3 squares of 100 m with ids ``ids``; ``repeat=(i, j)`` draws square j again at place i."""
    geoms = [box(x * 100.0, y * 100.0, (x + 1) * 100.0, (y + 1) * 100.0) for y in range(3) for x in range(3)]
    if repeat is not None:
        geoms[repeat[0]] = geoms[repeat[1]]
    frame = gpd.GeoDataFrame({"plr": ids, "a": [1.0, 4, 2, 8, 5, 7, 3, 9, 6],
                              "b": [2.0, 1, 5, 3, 9, 4, 8, 6, 7]}, geometry=geoms, crs="EPSG:25833")
    frame.index = np.arange(11, 20)  # feature ids, not row numbers
    frame.attrs["layer_name"] = "Planungsräume"
    return frame


IDS = list("ABCDEFGHI")


def test_repeated_ids_are_listed_up_to_five():
    frame = _grid(["A", "B", "B", "C", "C", "D", "D", "A", "X"])
    with pytest.raises(InputError) as error:
        require_unique(frame, "plr")
    text = str(error.value)
    # different squares under one id: not copies, so the planner corrects an id
    assert "Layer 'Planungsräume' has duplicate ids in field 'plr': 'A', 'B', 'C', 'D' (8 features " \
           "affected) on different areas" in text
    assert "choose a field that identifies each area" in text


def test_more_than_five_repeated_ids_end_with_an_ellipsis():
    geoms = [box(i, 0, i + 1, 1) for i in range(12)]
    frame = gpd.GeoDataFrame({"plr": list("ABCDEF") * 2}, geometry=geoms, crs="EPSG:25833")
    with pytest.raises(InputError, match="'A', 'B', 'C', 'D', 'E', … \\(12 features"):
        require_unique(frame, "plr")


@pytest.mark.parametrize("run", [
    lambda f: composite_index(f, ["a", "b"], id_field="plr"),
    lambda f: hot_spots(f, "a", build_weights(f, "queen", id_field="plr"), HotSpotOptions(permutations=9),
                        id_field="plr"),
    lambda f: cluster_typology(f, ["a", "b"], TypologyOptions(k=2, n_boot=0), id_field="plr"),
], ids=["composite", "hotspots", "typology"])
def test_repeated_ids_are_refused_by_every_index_tool(run):
    frame = _grid(["A", "B", "C", "D", "E", "F", "G", "B", "I"])
    with pytest.raises(InputError) as error:
        run(frame)
    text = str(error.value)
    assert "'Planungsräume'" in text and "'plr'" in text and "'B'" in text and "2 features" in text


@pytest.mark.parametrize("run", [
    lambda f, log: composite_index(f, ["a", "b"], id_field="plr", feedback=log),
    lambda f, log: hot_spots(f, "a", build_weights(f, "knn", k=3, id_field="plr"),
                             HotSpotOptions(permutations=9), id_field="plr", feedback=log),
    lambda f, log: cluster_typology(f, ["a", "b"], TypologyOptions(k=2, n_boot=0), id_field="plr",
                                    feedback=log),
], ids=["composite", "hotspots", "typology"])
def test_the_same_geometry_under_two_ids_is_warned_about_by_id(run):
    frame = _grid(IDS, repeat=(8, 4))  # 'I' is drawn where 'E' is
    log = KeptFeedback()
    run(frame, log)
    same = [w for w in log.warnings if "same geometry" in w]
    assert len(same) == 1, log.warnings
    assert "1 area(s) of layer 'Planungsräume'" in same[0] and "'I' repeats 'E'" in same[0]


def test_without_an_id_field_copies_are_named_by_feature_id_and_distinct_areas_pass():
    log = KeptFeedback()
    composite_index(_grid(IDS, repeat=(8, 4)), ["a", "b"], feedback=log)
    assert any("19 repeats 15" in w for w in log.warnings), log.warnings
    log = KeptFeedback()
    result = composite_index(_grid(IDS), ["a", "b"], id_field="plr", feedback=log)
    assert not [w for w in log.warnings if "same geometry" in w]
    plain = composite_index(_grid(IDS), ["a", "b"])  # the id field changes nothing in the numbers
    assert np.allclose(result.index.to_numpy(), plain.index.to_numpy())
    table = pd.DataFrame(_grid(IDS).drop(columns="geometry"))
    assert require_distinct_areas(table, "plr") == 0  # a plain table: ids only, nothing to compare
    with pytest.raises(InputError, match="'A'"):
        require_distinct_areas(table.assign(plr=["A"] * 9), "plr")


def test_status_and_dynamics_warn_about_a_repeated_area_once():
    from kommunalmonitor.core.indices.mss import status_dynamics

    log = KeptFeedback()
    status_dynamics(_grid(IDS, repeat=(8, 4)), ["a"], ["b"], feedback=log)
    assert len([w for w in log.warnings if "same geometry" in w]) == 1, log.warnings


def test_the_workflow_index_step_takes_the_id_field():
    from kommunalmonitor.core.workflow.steps import index_step

    with pytest.raises(InputError, match="'plr': 'B'"):
        index_step({"input": _grid(["A", "B", "C", "D", "E", "F", "G", "B", "I"])},
                   {"indicators": ["a", "b"], "id_field": "plr"}, KeptFeedback())
    out, lines = index_step({"input": _grid(IDS, repeat=(8, 4))}, {"indicators": ["a", "b"], "id_field": "plr"},
                            KeptFeedback())
    assert len(out) == 9
