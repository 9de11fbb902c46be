"""Complete search for a feasible division of one connected part into ``k`` areas.

``divide_part`` tries, in this order, and stops at the first division that keeps every
area connected and within [min, max]:

1. **Tree bisection restarts** (``engine.split_part``): balanced cuts of seeded random
   spanning trees, each start from a different root and tree.
2. **Relaxed bisection + repair**: the tree is cut into ``k`` connected pieces even when
   no admissible cut exists (the cut with the smallest bound violation), then a tabu
   search moves boundary units between neighbouring areas until every area is within
   the bounds (a move may pass through an area that is already feasible, so population
   can be shifted along a chain of areas).
3. **Exhaustive search** for small parts (``SearchOptions.exact_units`` units or fewer):
   every connected area containing the first free unit is enumerated with pruning by the
   population still to place. When it finishes without a division, the part is *proven*
   indivisible; only then is a small part declared impossible.

Everything random goes through the ``rng`` passed in, so a seed gives the same result.
"""
from dataclasses import dataclass

import numpy as np

from .engine import SplitFailure, best_cut, split_part, subtree_mask


@dataclass
class SearchOptions:
    """How hard to look for a feasible division before a part is declared impossible."""

    n_starts: int = 4          # tree-bisection restarts
    repair_starts: int = None  # relaxed starts with repair (default: 4 × n_starts, n_starts in huge parts)
    tries: int = 12            # random spanning trees per piece within one bisection
    repair_steps: int = 4000   # tabu moves per relaxed start (scaled down for huge parts)
    exact_units: int = 16      # parts up to this size get the exhaustive search
    exact_steps: int = 300_000  # node budget of the exhaustive search


@dataclass
class PartResult:
    """Outcome of ``divide_part``: local labels 0..k-1 (or None), how, and whether proven."""

    labels: np.ndarray = None
    method: str = ""
    proven_impossible: bool = False


def local_graph(nodes, edges, n_total):
    """Edges of the induced subgraph of ``nodes`` in local numbering (0..len(nodes)-1)."""
    index = np.full(n_total, -1, dtype=np.int64)
    index[nodes] = np.arange(len(nodes))
    a, b = index[edges[:, 0]], index[edges[:, 1]]
    keep = (a >= 0) & (b >= 0)
    return np.column_stack([a[keep], b[keep]]), keep


def _violation(P, lo, hi):
    """Residents below the minimum or above the maximum, per area."""
    return np.maximum(lo - P, 0.0) + np.maximum(P - hi, 0.0)


def divide_part(pop, edges, base, k, lo, hi, rng, options=None, feedback=None):
    """Divide one connected part (local arrays) into ``k`` connected areas within [lo, hi].

    Parameters
    ----------
    pop : ndarray
        Residents per unit of the part.
    edges : ndarray (m × 2)
        Neighbour pairs in local numbering.
    base : ndarray
        Dissimilarity per edge (spanning trees prefer similar neighbours).
    k : int
        Number of areas.
    lo, hi : float
        Population bounds per area.
    rng : numpy Generator
    options : SearchOptions, optional
    feedback : Feedback, optional
        Checked for cancellation in every loop.

    Returns
    -------
    PartResult
    """
    options = options or SearchOptions()
    m = len(pop)
    k = int(k)
    labels = np.full(m, -1, dtype=np.int64)
    if k == 1:
        labels[:] = 0
        return PartResult(labels, "single")
    nodes = np.arange(m)
    for start in range(max(1, options.n_starts)):
        if feedback is not None:
            feedback.check()
        labels[:] = -1
        try:
            split_part(nodes, k, edges, base, pop, lo, hi, rng, labels, 0, tries=options.tries,
                       feedback=feedback)
            return PartResult(labels.copy(), "bisection")
        except SplitFailure:
            pass
    neighbours = _neighbour_lists(m, edges)
    steps = options.repair_steps if m <= 5000 else max(500, options.repair_steps * 5000 // m)
    repair_starts = options.repair_starts
    if repair_starts is None:  # a failed start costs little in a part of a few hundred units
        repair_starts = 4 * options.n_starts if m <= 2000 else options.n_starts
    for start in range(max(1, repair_starts)):
        if feedback is not None:
            feedback.check()
        relaxed = relaxed_bisection(nodes, k, edges, base, pop, lo, hi, rng)
        if relaxed is None:
            break
        repaired = repair(relaxed, k, neighbours, pop, lo, hi, rng, steps, feedback, edges=edges)
        if repaired is not None:
            return PartResult(repaired, "repair")
    if m <= options.exact_units:
        found, complete = exact_division(neighbours, pop, k, lo, hi, options.exact_steps, feedback)
        if found is not None:
            return PartResult(found, "exact")
        return PartResult(None, "exact", proven_impossible=complete)
    return PartResult(None, "search")


def _neighbour_lists(m, edges):
    """Plain-Python neighbour lists (the repair and exhaustive search walk them one by one)."""
    nb = [[] for _ in range(m)]
    for a, b in edges.tolist():
        nb[a].append(b)
        nb[b].append(a)
    return nb


def relaxed_bisection(nodes, k, edges, base, pop, lo, hi, rng):
    """Cut a random spanning tree into ``k`` connected pieces, as balanced as possible.

    Unlike ``split_part`` this never fails when the part has at least ``k`` units: where no
    cut keeps both sides within the bounds, the cut with the smallest violation is taken.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    m = len(nodes)
    if m < k:
        return None
    labels = np.full(m, -1, dtype=np.int64)
    next_label = 0
    stack = [(np.asarray(nodes, dtype=np.int64), int(k))]
    index = np.full(m, -1, dtype=np.int64)
    while stack:
        piece, kk = stack.pop()
        if kk == 1:
            labels[piece] = next_label
            next_label += 1
            continue
        index[piece] = np.arange(len(piece))
        a, b = index[edges[:, 0]], index[edges[:, 1]]
        keep = (a >= 0) & (b >= 0)
        a, b = a[keep], b[keep]
        w = base[keep] * (1.0 + 2.0 * rng.random(int(keep.sum()))) + 1e-6
        size = len(piece)
        tree = minimum_spanning_tree(sparse.coo_matrix((w, (a, b)), shape=(size, size)).tocsr())
        tree = tree + tree.T
        root = int(rng.integers(size))
        order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
        index[piece] = -1
        if len(order) != size:
            return None
        cut = best_cut(order, pred, pop[piece], np.ones(size), np.zeros(size), kk, lo, hi, relaxed=True)
        if cut is None:
            return None
        v, k1 = cut
        sub = subtree_mask(order, pred, v)
        stack.append((piece[~sub], kk - k1))
        stack.append((piece[sub], k1))
    return labels


def _connected_without(u, area, lab, nb):
    """True if ``area`` minus unit ``u`` is still connected (search within the area)."""
    targets = [v for v in nb[u] if lab[v] == area]
    if len(targets) <= 1:
        return True
    remaining = set(targets[1:])
    seen = {u, targets[0]}
    frontier = [targets[0]]
    while frontier:
        v = frontier.pop()
        for w in nb[v]:
            if w not in seen and lab[w] == area:
                if w in remaining:
                    remaining.discard(w)
                    if not remaining:
                        return True
                seen.add(w)
                frontier.append(w)
    return not remaining


def repair(labels, k, nb, pop, lo, hi, rng, steps, feedback=None, edges=None):
    """Tabu search on boundary moves that drives the total bound violation to 0.

    Each step applies the best move (unit to a neighbouring area) that keeps the source
    area connected and non-empty and is not tabu (the unit may not return to the area it
    just left for a while), even when it does not lower the violation: that is how
    population travels through feasible areas to where it is missing. Ties are broken by
    balance and a seeded random key. The gains of all boundary moves are computed at once
    (numpy), so a step costs little even in a part of 30,000 units. Returns the labels once
    every area is within the bounds, or None.
    """
    m = len(labels)
    lab = np.asarray(labels, dtype=np.int64).copy()
    pop = np.asarray(pop, dtype=float)
    if edges is None:
        edges = np.asarray([(a, b) for a in range(m) for b in nb[a] if a < b], dtype=np.int64).reshape(-1, 2)
    e0, e1 = edges[:, 0], edges[:, 1]
    P = np.bincount(lab, weights=pop, minlength=k)
    count = np.bincount(lab, minlength=k)
    mid = (lo + hi) / 2.0 if np.isfinite(hi) else max(lo, float(pop.sum()) / k)
    scale = max(mid, 1.0)

    def viol(p):
        return np.maximum(lo - p, 0.0) + np.maximum(p - hi, 0.0)

    total = float(viol(P).sum())
    if total <= 1e-9:
        return lab
    tabu_area = np.full(m, -1, dtype=np.int64)
    tabu_until = np.full(m, -1, dtype=np.int64)
    tenure = 7
    best_total = total
    stall = 0
    lab_list = lab.tolist()
    for step in range(steps):
        if feedback is not None and step % 50 == 0:
            feedback.check()
        la, lb = lab[e0], lab[e1]
        cross = la != lb
        u = np.concatenate([e0[cross], e1[cross]])
        src = np.concatenate([la[cross], lb[cross]])
        dst = np.concatenate([lb[cross], la[cross]])
        pu = pop[u]
        ok = (count[src] > 1) & ~((tabu_area[u] == dst) & (tabu_until[u] >= step))
        vs, vd = viol(P[src]), viol(P[dst])
        d = viol(P[src] - pu) + viol(P[dst] + pu) - vs - vd
        ok &= ~((d > 1e-9) & (vs <= 0.0) & (vd <= 0.0))  # never break two fine areas at once
        if not ok.any():
            return None
        u, src, dst, pu, d = u[ok], src[ok], dst[ok], pu[ok], d[ok]
        bal = ((P[src] - pu - mid) ** 2 + (P[dst] + pu - mid) ** 2 - (P[src] - mid) ** 2
               - (P[dst] - mid) ** 2) / scale ** 2
        order = np.lexsort((rng.random(len(u)), bal, np.round(d / scale, 12)))[:60]
        moved = False
        for i in order.tolist():
            uu, a, b = int(u[i]), int(src[i]), int(dst[i])
            if not _connected_without(uu, a, lab_list, nb):
                continue
            lab[uu] = b
            lab_list[uu] = b
            P[a] -= pop[uu]
            P[b] += pop[uu]
            count[a] -= 1
            count[b] += 1
            tabu_area[uu] = a
            tabu_until[uu] = step + tenure + int(rng.integers(0, 5))
            moved = True
            break
        if not moved:
            return None
        total = float(viol(P).sum())
        if total <= 1e-9:
            return lab
        if total < best_total - 1e-9:
            best_total, stall = total, 0
        else:
            stall += 1
            if stall > max(200, 4 * min(m, 2000)):
                return None
    return None


def exact_division(nb, pop, k, lo, hi, max_steps, feedback=None):
    """Exhaustive search for ``k`` connected areas within [lo, hi] on a small part.

    Areas are built one at a time: the lowest-numbered free unit starts the next area,
    whose connected unit sets are enumerated once each (a unit left out of a branch stays
    out), pruned by the bounds and by the free units left (each free piece must be able to
    hold a whole number of areas). Returns (labels or None, complete): ``complete`` is
    True when the search finished within ``max_steps``, i.e. a None result is a proof.
    """
    m = len(pop)
    popl = [float(x) for x in pop]
    lab = [-1] * m
    steps = [0]
    eps = 1e-9 * max(1.0, hi if np.isfinite(hi) else sum(popl))

    class Budget(Exception):
        pass

    def rest_ok(areas_left):
        """Free units split into pieces; each piece must hold a whole number of areas."""
        seen = [False] * m
        low = high = 0
        for s in range(m):
            if lab[s] != -1 or seen[s]:
                continue
            seen[s] = True
            stack, total, size = [s], 0.0, 0
            while stack:
                v = stack.pop()
                total += popl[v]
                size += 1
                for w in nb[v]:
                    if lab[w] == -1 and not seen[w]:
                        seen[w] = True
                        stack.append(w)
            kmin = int(np.ceil(total / hi - 1e-9)) if np.isfinite(hi) else 1
            kmin = max(kmin, 1)
            kmax = int(np.floor(total / lo + 1e-9)) if lo > 0 else size
            kmax = min(kmax, size)
            if kmin > kmax:
                return False
            low += kmin
            high += kmax
        return low <= areas_left <= high

    def place(area):
        if area == k:
            return all(x != -1 for x in lab)
        seed = next(i for i in range(m) if lab[i] == -1)
        lab[seed] = area
        if grow(area, popl[seed], [w for w in nb[seed] if lab[w] == -1], set()):
            return True
        lab[seed] = -1
        return False

    def grow(area, total, frontier, banned):
        steps[0] += 1
        if steps[0] > max_steps:
            raise Budget()
        if feedback is not None and steps[0] % 5000 == 0:
            feedback.check()
        if lo - eps <= total <= hi + eps and rest_ok(k - area - 1) and place(area + 1):
            return True
        frontier = list(dict.fromkeys(w for w in frontier if lab[w] == -1 and w not in banned))
        excluded = set(banned)
        for i, v in enumerate(frontier):
            if total + popl[v] <= hi + eps:
                lab[v] = area
                extra = [w for w in nb[v] if lab[w] == -1 and w not in excluded]
                if grow(area, total + popl[v], frontier[i + 1:] + extra, excluded):
                    return True
                lab[v] = -1
            excluded.add(v)
        return False

    try:
        ok = place(0)
    except Budget:
        return None, False
    if ok:
        return np.asarray(lab, dtype=np.int64), True
    return None, True
