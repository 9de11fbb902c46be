"""Islands, honestly: linking an island to its nearest area is reported with the distance and
both areas' ids and can be limited (Hamburg's Neuwerk lies 88 km out); a contiguous typology
says which type is not one connected region and which areas break it. Areas are named by id,
never by row number. Runs on both stacks."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from kommunalmonitor.core.feedback import KeptFeedback
from kommunalmonitor.core.priorities import clustering as C
from kommunalmonitor.core.priorities import weights as W
from kommunalmonitor.core.priorities.hotspots import HotSpotOptions, hot_spots


Log = KeptFeedback  # keeps infos and warnings


def _town_with_island(values=None, gap=88_000.0):
    """Six 1 km squares in a row (ids 'A'..'F', feature ids 101..106) and island 'N' ``gap`` m
    east of the last square's centre (feature id 107)."""
    geoms = [box(i * 1000.0, 0, (i + 1) * 1000.0, 1000.0) for i in range(6)]
    geoms.append(box(5500.0 + gap - 500.0, 0, 5500.0 + gap + 500.0, 1000.0))
    frame = gpd.GeoDataFrame({"name": list("ABCDEF") + ["N"],
                              "x": values if values is not None else [1.0, 2, 3, 4, 5, 6, 7]},
                             geometry=geoms, crs="EPSG:25832")
    frame.index = np.arange(101, 108)
    frame.attrs["layer_name"] = "Stadtteile"
    return frame


def test_linking_an_island_says_how_far_and_which_areas():
    frame = _town_with_island()
    log = Log()
    w = W.build_weights(frame, "queen", id_field="name", islands="nearest", feedback=log)
    assert w.islands.size == 0
    assert w.parameters["islands_linked"] == ["N"]
    assert w.parameters["link_distances"] == [pytest.approx(88_000.0)]
    (text,) = log.warnings
    for part in ("'Stadtteile'", "N → F", "88.0 km", "maximum linking distance"):
        assert part in text, (part, text)
    # without an id field the feature ids (index) name the areas, never row positions 6 → 5
    log = Log()
    W.build_weights(frame, "queen", islands="nearest", feedback=log)
    assert "107 → 106" in log.warnings[0] and "6 → 5" not in log.warnings[0]


def test_maximum_linking_distance_keeps_the_island_apart():
    frame = _town_with_island()
    log = Log()
    w = W.build_weights(frame, "queen", id_field="name", islands="nearest", max_link_distance=10_000.0,
                        feedback=log)
    far = w
    assert list(w.islands) == [6] and w.parameters["islands_linked"] == []
    assert w.neighbours[6].nnz == 0
    (text,) = log.warnings
    assert "N (88.0 km)" in text and "10.0 km" in text
    # an island 2 km from its neighbour's centre is linked within the limit
    near = _town_with_island(gap=2_000.0)
    w = W.build_weights(near, "queen", id_field="name", islands="nearest", max_link_distance=10_000.0)
    assert w.parameters["islands_linked"] == ["N"] and w.islands.size == 0
    # the island without link gets no hot-spot result and is named by id in the warning
    log = Log()
    out, _ = hot_spots(frame.reset_index(drop=True), "x", far, HotSpotOptions(method="gi", permutations=99),
                       seed=1, feedback=log)
    assert np.isnan(out["gi_z"].iloc[6]) and np.isfinite(out["gi_z"].iloc[:6]).all()
    assert any("(N)" in t for t in log.warnings), log.warnings


def test_contiguous_typology_keeps_an_island_apart_when_it_can():
    # low values west (A-C), high east (D-F); island N has a low value. scikit-learn alone
    # would join N to the low type across 88 km of sea; as many types as groups keep it apart
    frame = _town_with_island(values=[0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 0.05])
    w = W.build_weights(frame, "queen", id_field="name")
    result = C.cluster_typology(frame.reset_index(drop=True), ["x"],
                                C.TypologyOptions(k=2, method="ward", n_boot=0), weights=w)
    assert len(set(result.labels[:6])) == 1 and result.labels[6] != result.labels[0]
    assert result.diagnostics["components"] == 2 and result.diagnostics["broken_types"] == []
    assert "Areas apart from the largest group: N" in " ".join(result.diagnostics["warnings"])
    # three types: the mainland splits into its low and high halves, the island stays alone
    result = C.cluster_typology(frame.reset_index(drop=True), ["x"],
                                C.TypologyOptions(k=3, method="ward", n_boot=0), weights=w)
    labels = list(result.labels)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:6])) == 1 and len(set(labels)) == 3
    assert result.diagnostics["broken_types"] == []


def test_contiguous_typology_names_the_island_that_breaks_a_type():
    # two islands (N 88 km east, M 50 km west) but only two types: one type must span a gap
    frame = _town_with_island(values=[0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 0.05])
    island_m = gpd.GeoDataFrame({"name": ["M"], "x": [10.05]}, geometry=[box(-50_500.0, 0, -49_500.0, 1000.0)],
                                crs="EPSG:25832", index=[108])
    frame = gpd.GeoDataFrame(pd.concat([frame, island_m]), crs="EPSG:25832")
    frame.attrs["layer_name"] = "Stadtteile"
    w = W.build_weights(frame, "queen", id_field="name")
    result = C.cluster_typology(frame.reset_index(drop=True), ["x"],
                                C.TypologyOptions(k=2, method="ward", n_boot=0), weights=w)
    assert result.diagnostics["components"] == 3
    (broken,) = result.diagnostics["broken_types"]
    cluster, parts, ids = broken
    assert parts == 2 and set(ids) <= {"N", "M"} and len(ids) >= 1
    text = " ".join(result.diagnostics["warnings"])
    assert f"Type {cluster} is not one connected region" in text and "Areas apart from its largest part" in text


def test_contiguous_typology_without_islands_keeps_its_promise_silently():
    frame = _town_with_island(values=[0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 0.05]).iloc[:6]
    w = W.build_weights(frame, "queen", id_field="name")
    result = C.cluster_typology(frame.reset_index(drop=True), ["x"],
                                C.TypologyOptions(k=2, method="ward", n_boot=0), weights=w)
    assert result.diagnostics["broken_types"] == []
    assert list(result.labels) in ([1, 1, 1, 2, 2, 2], [2, 2, 2, 1, 1, 1])
    assert not result.diagnostics["warnings"]
