"""``PlanningAreaBuilder``: contiguous, balanced, homogeneous planning areas from small units.

Hard constraints (always met, or the run stops with an explanation): every area is
contiguous on the unit graph, has between ``min_population`` and ``max_population``
residents, never crosses a barrier line, lies inside one higher-level area (nesting),
and the number of areas is exactly ``n_areas`` (or follows ``target_population``).
Soft objectives, weighted: homogeneity (within-area sum of squares of the standardised
attributes), compactness (moment of inertia) and minimal change from existing areas.
See ``engine`` for the algorithm, ``graph`` for adjacency and ``feasibility`` for the
explanations.

The same estimator aggregates planning areas into higher levels: pass the planning
areas as units.
"""
import time

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..validate import (layer_name, numeric_field, require_fields, require_not_empty,
                        require_projected, require_unique, require_valid_geometries)
from ..geometry_arrays import SHAPELY_2, bounds_and_areas, geometry_values
from . import geos18
from . import record as run_record
from .engine import LocalSearch, check_partition
from .feasibility import (PieceNames, Problem, allocate, basic_problems, count_problem, count_range, join_or,
                          range_problem, reachable_totals)
from .search import SearchOptions, divide_part, local_graph
from .graph import adjacency_matrix, build_graph, query_pairs


def sparse_from(rows, cols, n):
    """Symmetric CSR from index pairs."""
    return adjacency_matrix(n, np.column_stack([rows, cols]))


def _labels_from_layer(units, layer, field, what):
    """Id of the polygon of ``layer`` containing each unit's representative point (None if none)."""
    require_fields(layer, [field])
    if layer.crs is not None and units.crs is not None and layer.crs != units.crs:
        raise InputError(tr("Layer '{layer}' ({what}) uses a different coordinate reference system than "
                            "the units. Reproject it first.", layer=layer_name(layer), what=what))
    import geopandas as gpd

    points = gpd.GeoSeries(units.geometry.representative_point().values, crs=units.crs)
    polys = gpd.GeoSeries(layer.geometry.values, crs=units.crs)
    qi, ti = query_pairs(polys, points, predicate="within")
    out = np.full(len(units), None, dtype=object)
    values = layer[field].to_numpy(dtype=object)
    order = np.lexsort((ti, qi))  # first polygon (lowest row) wins on overlaps
    qi, ti = qi[order], ti[order]
    first = np.ones(len(qi), dtype=bool)
    first[1:] = qi[1:] != qi[:-1]
    out[qi[first]] = values[ti[first]]
    return out


# Objective presets: weights (homogeneity, compactness, balance). "official" imitates official
# planning areas: compact shapes and even populations matter most, the social mix little;
# "homogeneous" groups similar neighbourhoods even when that makes areas less compact and
# their populations less even (still within the hard bounds).
PRESETS = {
    "official": (0.1, 1.0, 40.0),
    "homogeneous": (1.0, 0.1, 0.0),
}
OBJECTIVES = ("official", "homogeneous", "custom")


class PlanningAreaBuilder:
    """Build planning areas from small units under hard constraints.

    Parameters
    ----------
    n_areas : int, optional
        Exact number of areas. Give this or ``target_population``.
    target_population : float, optional
        Residents per area to aim at; the number of areas per part is
        ``round(population / target)`` within what the bounds allow.
    min_population, max_population : float
        Hard bounds on residents per area (default: at least 1 resident, unlimited). With an
        explicit minimum of 0 an area may be empty (a warning says which).
    homogeneity_weight, compactness_weight, change_weight, balance_weight : float
        Objective weights (see ``engine``); balance pulls areas towards the target.
    objective : {'custom', 'official', 'homogeneous'}
        'official': like official planning areas (compact, even population; weights
        0.2 / 1 / 2 for homogeneity / compactness / balance); 'homogeneous': similar social
        structure within each area (1 / 0.2 / 0.3); 'custom': the weights given.
    contiguity : {'rook', 'queen'}
    snap_tolerance, min_shared_length, barrier_tolerance : float
        Adjacency settings in metres (see ``graph.build_graph``).
    island_rule : {'nearest', 'alone'}
    max_passes : int
        Local-search passes (each visits every boundary unit once).
    n_starts : int, optional
        Seeded starts, each dividing every part anew and improved by the local search; the
        best is kept (default 1: on Musterstadt 5 starts gained about 0.005 BSS/TSS for 5 × the
        time). The feasibility search per part makes at least 4 restarts, or ``n_starts``.
    time_limit : float, optional
        Seconds for the local search; a result then depends on machine speed (recorded).
    random_state : int
        Seed; the same input and seed give the same areas.

    Attributes after ``fit``
    ------------------------
    labels_ : ndarray of area ids (1..k) per unit, in input row order
    membership_ : DataFrame unit id → area id
    areas_ : GeoDataFrame of dissolved areas with population, deviation, compactness,
        homogeneity and unit count
    diagnostics_ : dict;  table_ : DataFrame (measure, value, description)
    record_ : dict run record (parameters, seed, versions, input fingerprints)
    graph_ : graph.UnitGraph;  problems_ : list of feasibility.Problem
    """

    def __init__(self, n_areas=None, target_population=None, min_population=None,
                 max_population=np.inf, homogeneity_weight=1.0, compactness_weight=0.5,
                 change_weight=0.0, balance_weight=1.0, contiguity="rook", snap_tolerance=0.5,
                 min_shared_length=None, barrier_tolerance=None, island_rule="nearest",
                 max_passes=30, n_starts=None, time_limit=None, random_state=0, objective="custom"):
        self.n_areas = n_areas
        self.objective = objective
        self.n_starts = n_starts
        self.target_population = target_population
        self.min_population = min_population
        self.max_population = max_population
        self.homogeneity_weight = homogeneity_weight
        self.compactness_weight = compactness_weight
        self.change_weight = change_weight
        self.balance_weight = balance_weight
        self.contiguity = contiguity
        self.snap_tolerance = snap_tolerance
        self.min_shared_length = min_shared_length
        self.barrier_tolerance = barrier_tolerance
        self.island_rule = island_rule
        self.max_passes = max_passes
        self.time_limit = time_limit
        self.random_state = random_state

    def get_params(self):
        """Constructor parameters as a dict."""
        keys = ("n_areas", "target_population", "min_population", "max_population",
                "homogeneity_weight", "compactness_weight", "change_weight", "balance_weight",
                "contiguity", "snap_tolerance", "min_shared_length", "barrier_tolerance",
                "island_rule", "max_passes", "n_starts", "time_limit", "random_state", "objective")
        return {k: getattr(self, k) for k in keys}

    # ------------------------------------------------------------------ checks
    def _bounds(self):
        # no minimum given: at least 1 resident per area, so no area is left empty (an uninhabited
        # island or cut-off group may still form an area of its own, with a warning)
        lo = 1.0 if self.min_population is None else float(self.min_population)
        hi = float(self.max_population) if self.max_population is not None else np.inf
        if lo < 0 or hi <= 0 or lo > hi:
            raise InputError(tr("The population bounds are not usable: minimum {min}, maximum {max}. "
                                "The minimum must be at least 0 and not above the maximum.",
                                min=lo, max=hi))
        if self.objective not in OBJECTIVES:
            raise InputError(tr("Unknown objective '{value}'. Use one of: {options}.", value=self.objective,
                                options=", ".join(OBJECTIVES)))
        if (self.n_areas is None) == (self.target_population is None):
            raise InputError(tr("Give either the number of areas or the target population per area "
                                "(exactly one of them)."))
        if self.n_areas is not None and int(self.n_areas) < 1:
            raise InputError(tr("The number of areas must be at least 1 (got {value}).", value=self.n_areas))
        if self.target_population is not None and float(self.target_population) <= 0:
            raise InputError(tr("The target population per area must be positive (got {value}).",
                                value=self.target_population))
        return lo, hi

    # ------------------------------------------------------------------ fit
    def fit(self, units, population_field, attribute_fields=(), barriers=None, nest=None,
            nest_id_field=None, nest_field=None, existing=None, existing_id_field=None,
            existing_field=None, id_field=None, feedback=None):
        """Build the areas.

        Parameters
        ----------
        units : GeoDataFrame
            Small units (polygons, projected CRS).
        population_field : str
            Residents per unit.
        attribute_fields : list of str
            Fields for homogeneity (standardised to mean 0, SD 1).
        barriers : GeoDataFrame or list/dict of them, optional
            Barrier line layers.
        nest, nest_id_field : GeoDataFrame and its id field, optional
            Higher-level areas to nest in (by each unit's representative point).
        nest_field : str, optional
            Alternatively, a field of ``units`` holding the higher-level id.
        existing, existing_id_field / existing_field : optional
            Existing planning areas to stay close to (layer + id, or a field of units).
        id_field : str, optional
            Unit id for outputs and messages (default: the index).
        """
        feedback = ensure_feedback(feedback)
        t0 = time.perf_counter()
        lo, hi = self._bounds()
        name = layer_name(units)
        require_not_empty(units)
        require_projected(units)
        units = require_valid_geometries(units, repair=True)
        index_ids = units.index.to_numpy(dtype=object)
        units = units.reset_index(drop=True)
        attribute_fields = list(attribute_fields or [])
        pop = numeric_field(units, population_field, name, allow_null=False, allow_negative=False).to_numpy()
        X = np.zeros((len(units), 0))
        if attribute_fields:
            cols = [numeric_field(units, f, name, allow_null=False).to_numpy() for f in attribute_fields]
            X = np.column_stack(cols)
            sd = X.std(axis=0)
            sd[sd == 0] = 1.0
            X = (X - X.mean(axis=0)) / sd
        if id_field:
            require_fields(units, [id_field])
            require_unique(units, id_field, name)  # messages and the membership table name units by id
            unit_ids = units[id_field].to_numpy(dtype=object)
        else:
            unit_ids = index_ids
        total = float(pop.sum())
        if lo > total:
            raise InputError(tr("The minimum of {min} residents per area is above the {total} residents of "
                                "all units in layer '{layer}' (field '{field}') together. Lower the minimum "
                                "to at most {total}.", min=format_number(lo, 0), total=format_number(total, 0),
                                layer=name, field=population_field))
        self._layer_name = name
        self._nest_label = None
        parent = None
        if nest_field:
            require_fields(units, [nest_field])
            parent = units[nest_field].to_numpy(dtype=object)
            self._nest_label = tr("field '{field}'", field=nest_field)
        elif nest is not None:
            self._nest_label = tr("layer '{layer}'", layer=layer_name(nest))
            parent = _labels_from_layer(units, nest, nest_id_field, tr("higher-level areas"))
            missing = pd.isna(pd.Series(parent))
            if missing.any():
                first = unit_ids[np.nonzero(missing.to_numpy())[0][0]]
                raise InputError(tr("{count} unit(s) lie outside every area of layer '{layer}' (first: unit "
                                    "{unit}); they cannot be nested. Extend the higher-level layer or "
                                    "remove these units.", count=int(missing.sum()),
                                    layer=layer_name(nest), unit=first))
        old = None
        if existing_field:
            require_fields(units, [existing_field])
            old_values = units[existing_field].to_numpy(dtype=object)
        elif existing is not None:
            old_values = _labels_from_layer(units, existing, existing_id_field, tr("existing areas"))
        else:
            old_values = None
        if old_values is not None:
            old = pd.factorize(pd.Series(old_values).astype(str), sort=True)[0]
        feedback.info(tr("Building the neighbour graph of {count} units…", count=len(units)))
        graph = build_graph(units, rule=self.contiguity, snap_tolerance=self.snap_tolerance,
                            min_shared_length=self.min_shared_length, barriers=barriers,
                            barrier_tolerance=self.barrier_tolerance, parent=parent,
                            island_rule=self.island_rule, feedback=feedback.step(0.0, 0.3))
        t_graph = time.perf_counter() - t0
        for (a, b), gap in list(zip(graph.island_links.tolist(), graph.island_distance.tolist()))[:20]:
            feedback.info(tr("Island: unit {unit} linked to its nearest unit {other}, {distance} km away.",
                             unit=unit_ids[a], other=unit_ids[b], distance=format_number(gap / 1000.0, 1)))
        if not SHAPELY_2 and geos18.functions() is not None:  # QGIS stack: no Point objects
            coords = geos18.centroids(geometry_values(units.geometry))
        else:
            centroids = units.geometry.centroid
            coords = np.column_stack([centroids.x.to_numpy(), centroids.y.to_numpy()])
        areas = bounds_and_areas(units.geometry)[1]
        labels = self.fit_arrays(graph, pop, X, coords, areas, old=old, unit_ids=unit_ids,
                                 feedback=feedback.step(0.3, 0.9))
        feedback.check()
        feedback.info(tr("Dissolving the areas…"))
        self._outputs(units, unit_ids, pop, X, coords, areas, labels, old, id_field)
        feedback.check()
        self.diagnostics_["seconds_graph"] = t_graph
        self.diagnostics_["seconds_total"] = time.perf_counter() - t0
        fingerprints = {"units": run_record.fingerprint(units, [population_field] + attribute_fields
                                                        + ([id_field] if id_field else [])
                                                        + ([nest_field] if nest_field else []))}
        for key, layer in (("nest", nest), ("existing", existing)):
            if layer is not None:
                fingerprints[key] = run_record.fingerprint(layer)
        if barriers is not None:
            items = barriers.items() if isinstance(barriers, dict) else enumerate(
                barriers if isinstance(barriers, (list, tuple)) else [barriers])
            fingerprints["barriers"] = {str(k): run_record.fingerprint(v) for k, v in items}
        params = dict(self.get_params(), population_field=population_field,
                      attribute_fields=attribute_fields, nest_field=nest_field,
                      nest_id_field=nest_id_field, existing_field=existing_field,
                      existing_id_field=existing_id_field, id_field=id_field, units_layer=name)
        if not np.isfinite(params["max_population"]):
            params["max_population"] = None
        self.record_ = run_record.make_record(params, self.random_state, fingerprints, self.diagnostics_)
        feedback.progress(1.0)
        return self

    def fit_arrays(self, graph, pop, X=None, coords=None, weights=None, old=None, unit_ids=None,
                   feedback=None):
        """Partition a prepared graph; return area ids (1..k) per unit (see ``fit``)."""
        feedback = ensure_feedback(feedback)
        lo, hi = self._bounds()
        n = graph.n
        pop = np.asarray(pop, dtype=float)
        X = np.zeros((n, 0)) if X is None else np.asarray(X, dtype=float).reshape(n, -1)
        coords = np.zeros((n, 2)) if coords is None else np.asarray(coords, dtype=float)
        weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        weights = weights / (weights.mean() if weights.mean() > 0 else 1.0)
        unit_ids = np.arange(n) if unit_ids is None else np.asarray(unit_ids, dtype=object)
        rng = np.random.default_rng(self.random_state)
        t0 = time.perf_counter()
        auto_min = self.min_population is None
        self.graph_ = graph
        self.problems_ = []
        ncomp, comp = graph.components()
        names = PieceNames(graph, comp, unit_ids, coords, nest_label=getattr(self, "_nest_label", None),
                           layer=getattr(self, "_layer_name", None))
        problems = basic_problems(names, pop, lo, hi, allow_empty=auto_min)
        if problems:
            self.problems_ = problems
            raise self._infeasible(problems)

        edges = graph.edges
        if X.shape[1] and self.objective != "official":  # official-like areas: trees follow distance
            base = np.sqrt(((X[edges[:, 0]] - X[edges[:, 1]]) ** 2).sum(axis=1))
        else:
            base = np.sqrt(((coords[edges[:, 0]] - coords[edges[:, 1]]) ** 2).sum(axis=1))
        base = base / (base.mean() if len(base) and base.mean() > 0 else 1.0)
        if old is not None and self.change_weight:
            base = base + 3.0 * (old[edges[:, 0]] != old[edges[:, 1]])

        members = names.members
        k_parts = self._allocate_and_divide(names, pop, edges, base, lo, hi, auto_min, feedback.step(0.0, 0.3))
        k = int(k_parts.sum())

        def initial(start, step):
            """A start: every piece divided with its allocated count; (labels, problems)."""
            labels = np.full(n, -1, dtype=np.int64)
            offset = 0
            for c, nodes in enumerate(members):
                step.progress(c / max(len(members), 1))
                kc = int(k_parts[c])
                result = self._divided.get((c, kc)) if start == 0 else self._divide(
                    c, kc, nodes, edges, base, pop, lo, hi, step, start)
                if result is None or result.labels is None:
                    return None, True
                labels[nodes] = result.labels + offset
                offset += kc
            return labels, False

        labels, _ = initial(0, feedback.step(0.3, 0.3))
        t_start = time.perf_counter() - t0
        target = float(self.target_population) if self.target_population else pop.sum() / k
        w_h, w_c, w_b = PRESETS.get(self.objective, (self.homogeneity_weight, self.compactness_weight,
                                                     self.balance_weight))
        search = LocalSearch(graph.neighbours(), pop, X, coords, weights, lo, hi, target=target, old=old,
                             w_h=w_h if X.shape[1] else 0.0, w_c=w_c, w_m=self.change_weight, w_b=w_b)
        start_parts = search.objective_parts(labels, k)
        mean = pop.sum() / max(k, 1)
        loose = lo <= 0.2 * mean and hi >= 5.0 * mean  # Ward's unequal sizes can only pass loose bounds
        ward = self._ward_start(members, k_parts, graph, X if X.shape[1] else coords, pop, lo, hi) \
            if loose else None
        start_kind = "tree"
        feedback.check()
        if ward is not None:
            ward_parts = search.objective_parts(ward, k)
            if search.score(ward_parts, start_parts) < search.score(start_parts, start_parts):
                labels, start_parts, start_kind = ward, ward_parts, "ward"
        starts = max(1, int(self.n_starts or 1))
        span = 0.7 / starts
        labels, passes, moves = search.run(labels, k, rng, max_passes=self.max_passes,
                                           time_limit=self.time_limit, feedback=feedback.step(0.3, 0.3 + span))
        end_parts = search.objective_parts(labels, k)
        best_score = search.score(end_parts, start_parts)
        used = 1
        for extra in range(1, starts):  # further seeded starts; the best result is kept
            other, failed = initial(extra, feedback.step(0.3 + span * extra, 0.3 + span * extra))
            if failed:
                continue
            used += 1
            other, p2, m2 = search.run(other, k, rng, max_passes=self.max_passes, time_limit=self.time_limit,
                                       feedback=feedback.step(0.3 + span * extra, 0.3 + span * (extra + 1)))
            parts = search.objective_parts(other, k)
            score = search.score(parts, start_parts)
            if score < best_score - 1e-12:
                labels, end_parts, best_score, passes, moves = other, parts, score, p2, m2
                start_kind = f"tree (start {extra + 1})"
        # area ids 1..k in order of each area's first unit
        _, first = np.unique(labels, return_index=True)
        rank = np.empty(k, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(1, k + 1)
        labels = rank[labels]
        violations = check_partition(n, edges, labels, pop, 0.0 if auto_min else lo, hi,
                                     parent=graph.parent if graph.parent_names is not None else None)
        area_pop = np.bincount(labels - 1, weights=pop, minlength=k)
        for area in np.nonzero(area_pop <= 0)[0][:10]:
            first = unit_ids[int(np.nonzero(labels == area + 1)[0][0])]
            feedback.warning(tr("Area {area} has no residents (units from {unit}): it is cut off from "
                                "inhabited units, or the minimum population is 0.", area=int(area + 1), unit=first))
        self.labels_ = labels
        self.diagnostics_ = {
            "n_units": n, "n_edges": int(len(edges)),
            "n_barrier_cuts": int((graph.cut_reason == "barrier").sum()),
            "n_nesting_cuts": int((graph.cut_reason == "nesting").sum()),
            "n_island_links": int(len(graph.island_links)),
            "n_parts": int(len(members)),
            "n_areas_asked": int(self.n_areas) if self.n_areas is not None else None,
            "n_areas": int(k), "min_population": lo, "max_population": hi if np.isfinite(hi) else None,
            "target_population": target,
            "wss_start": start_parts[0], "wss": end_parts[0],
            "inertia_start": start_parts[1], "inertia": end_parts[1],
            "changed_population_start": start_parts[2], "changed_population": end_parts[2],
            "passes": int(passes), "moves": int(moves), "start": start_kind, "starts": used,
            "violations": len(violations), "violation_list": [list(map(str, v)) for v in violations[:10]],
            "seconds_start": t_start, "seconds_search": time.perf_counter() - t0 - t_start,
        }
        if violations:  # never expected: the engine keeps every constraint by construction
            raise InfeasibleError(tr("Internal check failed: {count} area(s) break a hard constraint "
                                     "(first: area {area}, {kind}). Please report this with the run record.",
                                     count=len(violations), area=violations[0][1], kind=violations[0][0]))
        return labels

    def _search_options(self):
        """Search effort: at least the default restarts, more when more starts are asked for."""
        starts = max(SearchOptions.n_starts, int(self.n_starts or 1))
        return SearchOptions(n_starts=starts)

    def _divide(self, c, k, nodes, edges, base, pop, lo, hi, feedback, start=0):
        """Divide piece ``c`` into ``k`` areas (seeded by piece, count and start); a PartResult."""
        local, keep = local_graph(nodes, edges, len(pop))
        seed = [int(self.random_state), int(c), int(k), int(start)] if self.random_state is not None else None
        rng = np.random.default_rng(seed)
        return divide_part(pop[nodes], local, base[keep], k, lo, hi, rng, self._search_options(), feedback)

    def _allocate_and_divide(self, names, pop, edges, base, lo, hi, auto_min, feedback):
        """Counts per piece chosen jointly, each piece divided; counts a piece cannot hold are
        excluded and the allocation chosen again. Raises InfeasibleError naming the binding input."""
        members = names.members
        totals = np.array([pop[m].sum() for m in members])
        ranges = [count_range(totals[c], len(m), lo, hi, auto_min, int((pop[m] > 0).sum()))
                  for c, m in enumerate(members)]
        kmin = np.array([r[0] for r in ranges], dtype=np.int64)
        kmax = np.array([r[1] for r in ranges], dtype=np.int64)
        n_areas = int(self.n_areas) if self.n_areas is not None else None
        if n_areas is not None:
            if not kmin.sum() <= n_areas <= kmax.sum():
                problems = [range_problem(names, kmin, kmax, n_areas, lo, hi)]
                self.problems_ = problems
                raise self._infeasible(problems)
            kmax = np.minimum(kmax, n_areas - (kmin.sum() - kmin))
        allowed = [np.arange(a, b + 1, dtype=np.int64) for a, b in zip(kmin, kmax)]
        target = float(self.target_population) if self.target_population else None
        self._divided = {}
        wanted = allocate(allowed, totals, n_areas=n_areas, target=target)
        k_parts = wanted
        order = np.argsort(-totals, kind="stable")
        rounds = 0
        while k_parts is not None:
            feedback.check()
            failed = None
            for c in order.tolist():
                kc = int(k_parts[c])
                if (c, kc) not in self._divided:
                    feedback.progress(min(0.95, len(self._divided) / max(len(members), 1)))
                    self._divided[(c, kc)] = self._divide(c, kc, members[c], edges, base, pop, lo, hi, feedback)
                if self._divided[(c, kc)].labels is None:
                    failed = c
                    break
            if failed is None:
                return k_parts
            rounds += 1
            kc = int(k_parts[failed])
            allowed[failed] = allowed[failed][allowed[failed] != kc]
            k_parts = allocate(allowed, totals, n_areas=n_areas, target=target)
        problems = self._count_problems(names, wanted, kmin, kmax, totals, edges, base, pop, lo, hi, n_areas,
                                        feedback)
        self.problems_ = problems
        raise self._infeasible(problems)

    def _count_problems(self, names, wanted, kmin, kmax, totals, edges, base, pop, lo, hi, n_areas, feedback):
        """Which pieces hold which counts (all counts in their range tried), and the nearest totals."""
        problems = []
        known = []
        for c in range(len(names.members)):
            tried = [k for (cc, k) in self._divided if cc == c]
            if not any(self._divided[(c, k)].labels is None for k in tried):
                known.append(np.arange(kmin[c], kmax[c] + 1))
                continue
            # the counts of this piece's range nearest to the wanted one (at most 11: with a small
            # minimum the range can run to thousands)
            centre = int(wanted[c]) if wanted is not None else int(kmin[c])
            tried = sorted(sorted(range(int(kmin[c]), int(kmax[c]) + 1), key=lambda k: (abs(k - centre), k))[:11])
            for k in tried:
                if (c, k) not in self._divided:
                    self._divided[(c, k)] = self._divide(c, k, names.members[c], edges, base, pop, lo, hi,
                                                         feedback)
            feasible = [k for k in tried if self._divided[(c, k)].labels is not None]
            proven = all(self._divided[(c, k)].proven_impossible for k in tried if k not in feasible)
            known.append(np.asarray(feasible, dtype=np.int64))
            problems.append(count_problem(names, c, wanted[c] if wanted is not None else None, feasible, tried,
                                          totals, lo, hi, proven))
        if n_areas is not None and all(len(k) for k in known):
            totals_ok = reachable_totals(known, int(kmax.sum()))
            below = totals_ok[totals_ok < n_areas]
            above = totals_ok[totals_ok > n_areas]
            near = ([int(below[-1])] if len(below) else []) + ([int(above[0])] if len(above) else [])
            if near:
                problems.append(Problem("n_areas", tr(
                    "With these counts the areas can be built for {near} areas in total instead of {asked}; "
                    "ask for that number or widen the population bounds.", near=join_or(near), asked=n_areas),
                    remedy={"n_areas": near}))
        return problems

    @staticmethod
    def _ward_start(members, k_parts, graph, features, pop, lo, hi):
        """Ward clustering with contiguity per part (scikit-learn) as an alternative start; None if
        it breaks a bound or is unavailable. Wins when the bounds are loose."""
        try:
            from sklearn.cluster import AgglomerativeClustering
        except ImportError:  # pragma: no cover - scikit-learn is in both stacks
            return None
        from scipy.sparse.csgraph import connected_components as components

        matrix = graph.csr()
        labels = np.full(graph.n, -1, dtype=np.int64)
        offset = 0
        for nodes, k in zip(members, k_parts):
            k = int(k)
            if k == 1 or len(nodes) < 3:
                part = np.zeros(len(nodes), dtype=np.int64) if k == 1 else np.arange(len(nodes))
            else:
                sub = matrix[nodes][:, nodes]
                try:
                    part = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=sub).fit(
                        features[nodes]).labels_.astype(np.int64)
                except Exception:  # e.g. degenerate features; the tree start stays
                    return None
                if len(np.unique(part)) != k:
                    return None
                # every cluster must be connected on the graph
                rows, cols = sub.nonzero()
                same = part[rows] == part[cols]
                keep = sparse_from(rows[same], cols[same], len(nodes))
                if components(keep, directed=False)[0] != k:
                    return None
            totals = np.bincount(part, weights=pop[nodes])
            if len(totals) != k or totals.min() < lo - 1e-9 or totals.max() > hi + 1e-9:
                return None
            labels[nodes] = part + offset
            offset += k
        return labels

    def _infeasible(self, problems):
        head = [p.message for p in problems[:3]]
        if len(problems) > 3:
            head.append(tr("… and {count} more problem(s).", count=len(problems) - 3))
        message = tr("The planning areas cannot be built as requested.") + " " + " ".join(head)
        return InfeasibleError(message, problems=problems,
                               constraint=problems[0].constraint, where=problems[0].where,
                               units=problems[0].units, remedy=problems[0].remedy)

    # ------------------------------------------------------------------ outputs
    def _outputs(self, units, unit_ids, pop, X, coords, areas, labels, old, id_field):
        import geopandas as gpd

        k = int(labels.max())
        idx = labels - 1
        counts = np.bincount(idx, minlength=k)
        popk = np.bincount(idx, weights=pop, minlength=k)
        target = self.diagnostics_["target_population"]
        # homogeneity
        if X.shape[1]:
            means = np.vstack([np.bincount(idx, weights=X[:, j], minlength=k) for j in range(X.shape[1])]).T
            means = means / counts[:, None]
            dev = ((X - means[idx]) ** 2).sum(axis=1)
            wss_k = np.bincount(idx, weights=dev, minlength=k)
            tss = float((X ** 2).sum())  # X is standardised: mean 0
            bss_tss = 1.0 - wss_k.sum() / tss if tss > 0 else np.nan
            homog = 1.0 - (wss_k / counts) / (tss / len(X)) if tss > 0 else np.full(k, np.nan)
        else:
            wss_k = np.full(k, np.nan)
            bss_tss = np.nan
            homog = np.full(k, np.nan)
        # normalised moment of inertia (1 = disc), units approximated as discs
        W = np.bincount(idx, weights=areas, minlength=k)
        cx = np.bincount(idx, weights=areas * coords[:, 0], minlength=k) / W
        cy = np.bincount(idx, weights=areas * coords[:, 1], minlength=k) / W
        inertia = np.bincount(idx, weights=areas * ((coords[:, 0] - cx[idx]) ** 2 + (coords[:, 1] - cy[idx]) ** 2)
                              + areas ** 2 / (2 * np.pi), minlength=k)
        nmi = W ** 2 / (2 * np.pi * inertia)
        frame = gpd.GeoDataFrame({"area_id": labels}, geometry=units.geometry.values, crs=units.crs)
        dissolved = frame.dissolve(by="area_id").sort_index()
        geom = dissolved.geometry
        shape = geom
        tol = float(self.snap_tolerance or 0.0)
        if tol > 1.0:  # units separated by street space: close the gaps before measuring the outline
            shape = geom.buffer(tol, resolution=2).buffer(-tol, resolution=2)
        pp = (4 * np.pi * shape.area / shape.length ** 2).to_numpy()
        out = gpd.GeoDataFrame({
            "area_id": np.arange(1, k + 1, dtype=np.int64),
            "population": popk,
            "deviation_pct": (popk - target) / target * 100.0 if target else np.full(k, np.nan),
            "n_units": counts.astype(np.int64),
            "compactness_pp": pp,
            "compactness_nmi": nmi,
            "homogeneity": homog,
            "within_ss": wss_k,
        }, geometry=geom.values, crs=units.crs)
        if self.graph_.parent_names is not None:
            parent_of = np.zeros(k, dtype=np.int64)
            parent_of[idx] = self.graph_.parent
            out["parent_id"] = [self.graph_.parent_names[p] for p in parent_of]
        self.areas_ = out
        member = {"unit_id": pd.Series(unit_ids, dtype=object).astype(str).to_numpy(dtype=object),
                  "area_id": labels.astype(np.int64)}
        self.membership_ = pd.DataFrame(member)
        d = self.diagnostics_
        d.update({
            "bss_tss": float(bss_tss) if np.isfinite(bss_tss) else None,
            "mean_compactness_pp": float(np.mean(pp)),
            "mean_compactness_nmi": float(np.mean(nmi)),
            "population_min": float(popk.min()), "population_max": float(popk.max()),
            "max_abs_deviation_pct": float(np.max(np.abs(out["deviation_pct"]))) if target else None,
            "changed_share": (d["changed_population"] / pop.sum()) if (old is not None and pop.sum() > 0) else None,
        })
        rows = [
            ("n_areas", d["n_areas"], tr("Number of planning areas built")),
            ("n_areas_asked", d["n_areas_asked"], tr("Number of areas asked for (empty: from the target population)")),
            ("violations", d["violations"], tr("Areas breaking a hard constraint (contiguity, bounds, barriers, nesting)")),
            ("population_min", d["population_min"], tr("Smallest area population")),
            ("population_max", d["population_max"], tr("Largest area population")),
            ("max_abs_deviation_pct", d["max_abs_deviation_pct"], tr("Largest deviation from the target population, in percent")),
            ("bss_tss", d["bss_tss"], tr("Homogeneity: share of the attribute variance between areas (BSS/TSS, 1 = areas internally uniform)")),
            ("mean_compactness_pp", d["mean_compactness_pp"], tr("Mean Polsby-Popper compactness (1 = circle)")),
            ("mean_compactness_nmi", d["mean_compactness_nmi"], tr("Mean normalised moment of inertia (1 = circle)")),
            ("changed_share", d["changed_share"], tr("Share of residents whose area differs from the existing one")),
            ("n_barrier_cuts", d["n_barrier_cuts"], tr("Neighbour pairs separated by a barrier")),
            ("n_nesting_cuts", d["n_nesting_cuts"], tr("Neighbour pairs separated by a higher-level boundary")),
            ("n_island_links", d["n_island_links"], tr("Islands linked to their nearest unit")),
            ("n_parts", d["n_parts"], tr("Separate groups of units: higher-level areas, groups cut off by barriers, islands kept on their own (no area spans two)")),
            ("passes", d["passes"], tr("Local-search passes")),
            ("moves", d["moves"], tr("Units moved by the local search")),
        ]
        self.table_ = pd.DataFrame({"measure": [r[0] for r in rows],
                                    "value": [None if r[1] is None else float(r[1]) for r in rows],
                                    "description": [r[2] for r in rows]})


def delineate(units, population_field, **kwargs):
    """Functional shortcut: ``PlanningAreaBuilder(**params).fit(units, population_field, **fit_args)``."""
    fit_keys = ("attribute_fields", "barriers", "nest", "nest_id_field", "nest_field", "existing",
                "existing_id_field", "existing_field", "id_field", "feedback")
    fit_args = {k: kwargs.pop(k) for k in list(kwargs) if k in fit_keys}
    return PlanningAreaBuilder(**kwargs).fit(units, population_field, **fit_args)
