"""Property tests: contiguity, bounds, barrier respect, nesting and determinism on random inputs."""
import geopandas as gpd
import numpy as np
from hypothesis import HealthCheck, event, given, settings, strategies as st
from shapely.geometry import LineString, box

from kommunalmonitor.core.errors import InfeasibleError
from kommunalmonitor.core.regions import PlanningAreaBuilder, build_graph, check_partition

CRS = "EPSG:25833"


@st.composite
def cities(draw):
    nx = draw(st.integers(3, 9))
    ny = draw(st.integers(3, 9))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n = nx * ny
    pop = rng.integers(0, 500, n).astype(float)
    units = gpd.GeoDataFrame({"pop": pop, "x1": rng.normal(size=n)},
                             geometry=[box(x * 100, y * 100, x * 100 + 100, y * 100 + 100)
                                       for y in range(ny) for x in range(nx)], crs=CRS)
    cut_row = draw(st.integers(1, ny - 1))
    cut_col = draw(st.integers(0, nx))
    barrier = LineString([(0, cut_row * 100), (cut_col * 100, cut_row * 100)])
    k = draw(st.integers(1, max(1, n // 3)))
    slack = draw(st.floats(0.2, 0.9))
    nest = draw(st.booleans())
    return units, barrier, k, slack, nest, seed, nx


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities())
def test_hard_constraints_hold_or_the_run_explains(city):
    units, barrier, k, slack, nest, seed, nx = city
    total = units["pop"].sum()
    mean = total / k
    lo, hi = mean * (1 - slack), mean * (1 + slack)
    if nest:
        units = units.assign(bez=np.where(np.arange(len(units)) % nx < nx // 2, "A", "B"))
    barriers = gpd.GeoDataFrame({"name": ["wall"]}, geometry=[barrier], crs=CRS)
    builder = PlanningAreaBuilder(n_areas=k, min_population=lo, max_population=hi, random_state=seed,
                                  max_passes=5)
    try:
        builder.fit(units, "pop", ["x1"], barriers=barriers, nest_field="bez" if nest else None)
    except InfeasibleError as error:
        assert error.details["problems"] and str(error)
        event(f"infeasible: {error.details['constraint']}")
        return
    labels = builder.labels_
    event("feasible")
    assert len(np.unique(labels)) == k
    # independent graph: contiguity on the plain rook graph of the grid, minus barrier pairs
    plain = build_graph(units, island_rule="alone")
    y_cut = barrier.coords[0][1]
    x_end = barrier.coords[1][0]
    cent = np.column_stack([units.geometry.centroid.x, units.geometry.centroid.y])
    keep = []
    for i, j in plain.edges.tolist():
        across = (cent[i, 1] < y_cut) != (cent[j, 1] < y_cut) and max(cent[i, 0], cent[j, 0]) < x_end
        same_parent = (not nest) or units["bez"].iloc[i] == units["bez"].iloc[j]
        if across and x_end >= nx * 100:  # a barrier right across the city: no area on both sides
            assert labels[i] != labels[j], "an area crosses the barrier"
        if same_parent and not across:
            keep.append((i, j))
    parent = units["bez"].to_numpy() if nest else None
    # areas are contiguous without the cut pairs (a dead-end barrier can be walked around)
    assert check_partition(len(units), np.asarray(keep).reshape(-1, 2), labels, units["pop"].to_numpy(),
                           lo, hi, parent=parent) == []
    again = PlanningAreaBuilder(n_areas=k, min_population=lo, max_population=hi, random_state=seed,
                                max_passes=5).fit(units, "pop", ["x1"], barriers=barriers,
                                                  nest_field="bez" if nest else None)
    assert np.array_equal(again.labels_, labels)
