"""The partition engine on arrays: tree bisection start, then boundary-unit local search.

1. **Start (balanced spanning-tree bisection).** Each connected part of the graph gets a
   number of areas ``k`` (chosen jointly, see ``feasibility.allocate``; when this bisection
   finds no division, ``search.divide_part`` restarts, repairs and, for small parts, searches
   exhaustively). A minimum spanning tree
   of the part is built on attribute dissimilarity (plus seeded jitter; edges that cross
   existing planning-area boundaries are made expensive so the tree follows them). The
   tree is cut at the edge that splits the population into two pieces that can hold
   ``k1`` and ``k - k1`` areas within [min, max] — choosing the most even split, and
   among near-equal ones the most dissimilar edge — and each piece is split again until
   every piece is one area. Every piece is connected (a subtree) and, because each cut
   keeps ``k·min ≤ population ≤ k·max``, every final area is within bounds. When a tree
   offers no admissible cut, a new random spanning tree of the piece is tried (seeded).
2. **Improve (local search).** Boundary units move to a neighbouring area when the
   weighted objective falls, the source area stays connected and both areas stay within
   [min, max]: every hard constraint holds after every move. Passes run in a seeded
   random order until no move improves or ``max_passes`` is reached.

Objective (lower is better), each term relative to its value after step 1::

    w_h · WSS/WSS₀  +  w_c · I/I₀  +  w_m · changed/P  +  w_b · Σ(pop − target)²/(k · target²)

WSS: within-area sum of squares of the standardised attributes; I: area-weighted moment
of inertia of the unit centroids around their area's centre (compactness); changed: the
residents whose unit is not in the existing area its new area mostly covers.
"""
import time

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from ..errors import CancelledError
from ..feedback import ensure_feedback


class SplitFailure(Exception):
    """No admissible cut was found for a piece (nodes, k) after all retries."""

    def __init__(self, nodes, k):
        super().__init__("split failed")
        self.nodes = nodes
        self.k = k


def _induced_edges(nodes, edges, in_piece, local_index):
    """Edges of ``edges`` with both ends in the piece, in local numbering."""
    mask = in_piece[edges[:, 0]] & in_piece[edges[:, 1]]
    return mask, local_index[edges[mask, 0]], local_index[edges[mask, 1]]


def subtree_mask(order, pred, v):
    """Nodes of ``v``'s subtree as a boolean mask: walk the BFS ``order`` (descendants come after v)."""
    flags = [False] * len(pred)
    flags[v] = True
    parents = pred.tolist()
    for u in order.tolist():
        if u != v and parents[u] >= 0 and flags[parents[u]]:
            flags[u] = True
    return np.asarray(flags)


def _subtree_sums(order, pred, values):
    """Sum of ``values`` over each node's subtree (tree rooted at order[0])."""
    sums = values.astype(float).copy()
    p = pred.tolist()
    s = sums.tolist()
    for v in reversed(order.tolist()[1:]):
        s[p[v]] += s[v]
    return np.asarray(s)


def best_cut(order, pred, pop, count, weight_to_parent, k, lo, hi, gamma=0.2, beta=0.1, features=None,
             relaxed=False):
    """Best tree edge (child node) to cut a piece of ``k`` areas, with the child's k1; or None.

    Default: the most even split (then the most dissimilar edge). With ``features``: the cut
    that removes the most within-area sum of squares (as SKATER does), among admissible ones.
    ``relaxed``: when no cut keeps both sides within the bounds, take the one with the
    smallest violation (the repair search fixes it afterwards).
    """
    sub_pop = _subtree_sums(order, pred, pop)
    sub_cnt = _subtree_sums(order, pred, count)
    total, size = sub_pop[order[0]], sub_cnt[order[0]]
    child = order[1:]
    s = sub_pop[child]
    c = sub_cnt[child]
    rest = total - s
    rest_c = size - c
    mean = total / k if total > 0 else 1.0
    wn = weight_to_parent[child]
    wn = wn / (wn.mean() if len(wn) and wn.mean() > 0 else 1.0)
    reduction = None
    if features is not None and features.shape[1]:
        reduction = np.zeros(len(child))
        for j in range(features.shape[1]):
            sub = _subtree_sums(order, pred, features[:, j])
            inner = sub[child] / c
            outer = (sub[order[0]] - sub[child]) / np.maximum(rest_c, 1)
            reduction += (inner - outer) ** 2
        reduction *= c * rest_c / size
        reduction /= reduction.max() if reduction.max() > 0 else 1.0
    best_score, best = np.inf, None
    ratio = s / total if total > 0 else c / size
    options = [np.full(len(child), k // 2), np.full(len(child), k - k // 2),
               np.floor(k * ratio), np.ceil(k * ratio)]
    eps = 1e-9 * max(hi if np.isfinite(hi) else total, 1.0)
    for k1 in options:
        k1 = np.clip(k1, 1, k - 1).astype(np.int64)
        k2 = k - k1
        ok = ((s >= k1 * lo - eps) & (s <= k1 * hi + eps) & (rest >= k2 * lo - eps)
              & (rest <= k2 * hi + eps) & (c >= k1) & (rest_c >= k2))
        if relaxed:
            over = (np.maximum(k1 * lo - s, 0) + np.maximum(s - k1 * hi, 0)
                    + np.maximum(k2 * lo - rest, 0) + np.maximum(rest - k2 * hi, 0))
            ok = (c >= k1) & (rest_c >= k2)
            if not ok.any():
                continue
            score = np.where(ok, over / mean * 10.0 + np.abs(s / k1 - rest / k2) / mean, np.inf)
            at = int(np.argmin(score))
            if score[at] < best_score:
                best_score, best = score[at], (int(child[at]), int(k1[at]))
            continue
        if not ok.any():
            continue
        if reduction is None:
            score = (np.abs(s / k1 - rest / k2) / mean + gamma * np.abs(k1 / k - 0.5) - beta * wn)
        else:
            score = gamma * np.abs(k1 / k - 0.5) - reduction
        score = np.where(ok, score, np.inf)
        at = int(np.argmin(score))
        if score[at] < best_score:
            best_score, best = score[at], (int(child[at]), int(k1[at]))
    return best


def split_part(nodes, k, edges, base_weight, pop, lo, hi, rng, labels, next_label,
               tries=40, feedback=None, features=None):
    """Split the connected ``nodes`` into ``k`` areas within [lo, hi]; write ``labels``.

    Returns the next free label. Raises ``SplitFailure`` naming the piece that could
    not be cut.
    """
    n_total = len(pop)
    in_piece = np.zeros(n_total, dtype=bool)
    local_index = np.full(n_total, -1, dtype=np.int64)
    stack = [(np.asarray(nodes, dtype=np.int64), int(k))]
    while stack:
        piece, kk = stack.pop()
        if kk == 1:
            labels[piece] = next_label
            next_label += 1
            continue
        if feedback is not None:
            feedback.check()
        in_piece[piece] = True
        local_index[piece] = np.arange(len(piece))
        mask, a, b = _induced_edges(piece, edges, in_piece, local_index)
        w0 = base_weight[mask]
        m = len(piece)
        result = None
        for attempt in range(tries):
            jitter = 0.05 if attempt == 0 else min(0.25 * attempt, 4.0)
            w = w0 * (1.0 + jitter * rng.random(len(w0))) + 1e-6 + (jitter * 0.01) * rng.random(len(w0))
            tree = minimum_spanning_tree(sparse.coo_matrix((w, (a, b)), shape=(m, m)).tocsr())
            tree = tree + tree.T
            root = int(rng.integers(m)) if attempt else 0
            order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
            if len(order) != m:  # not connected (should not happen): give up on this piece
                break
            wpar = np.zeros(m)
            child = order[1:]
            wpar[child] = np.asarray(tree[child, pred[child]]).ravel()
            result = best_cut(order, pred, pop[piece], np.ones(m), wpar, kk, lo, hi,
                              features=None if features is None else features[piece])
            if result is not None:
                break
        in_piece[piece] = False
        if result is None:
            local_index[piece] = -1
            raise SplitFailure(piece, kk)
        v, k1 = result
        is_sub = subtree_mask(order, pred, v)
        local_index[piece] = -1
        stack.append((piece[~is_sub], kk - k1))
        stack.append((piece[is_sub], k1))
    return next_label


class LocalSearch:
    """Boundary-unit moves that keep contiguity and bounds and lower the objective."""

    def __init__(self, neighbours, pop, X, coords, weights, lo, hi, target=None, old=None,
                 w_h=1.0, w_c=0.5, w_m=0.0, w_b=0.0):
        self.nb = [list(map(int, x)) for x in neighbours]
        self.edges = np.asarray([(u, v) for u, vs in enumerate(self.nb) for v in vs if u < v],
                                dtype=np.int64).reshape(-1, 2)
        self.pop = np.asarray(pop, float)
        self.X = np.asarray(X, float)
        self.Y = np.asarray(coords, float)
        self.a = np.asarray(weights, float)
        self.lo, self.hi = lo, hi
        self.target = target
        self.old = None if old is None else np.asarray(old, np.int64)
        self.w = (w_h, w_c, w_m, w_b)

    def _stats(self, labels, k):
        n = np.bincount(labels, minlength=k).astype(float)
        P = np.bincount(labels, weights=self.pop, minlength=k)
        S = np.vstack([np.bincount(labels, weights=self.X[:, j], minlength=k) for j in range(self.X.shape[1])]).T \
            if self.X.shape[1] else np.zeros((k, 0))
        W = np.bincount(labels, weights=self.a, minlength=k)
        SY = np.vstack([np.bincount(labels, weights=self.a * self.Y[:, j], minlength=k) for j in range(2)]).T
        return n, P, S, W, SY

    def objective_parts(self, labels, k):
        """(WSS, inertia, changed population, balance) of a labelling."""
        n, P, S, W, SY = self._stats(labels, k)
        m = S / np.maximum(n, 1)[:, None]
        wss = float(((self.X - m[labels]) ** 2).sum())
        c = SY / np.maximum(W, 1e-300)[:, None]
        inertia = float((self.a * ((self.Y - c[labels]) ** 2).sum(axis=1)).sum())
        changed = 0.0
        if self.old is not None:
            changed = float(self.pop[self.old != self.assign_old(labels, k)[labels]].sum())
        bal = 0.0
        if self.target:
            bal = float(((P - self.target) ** 2).sum() / (k * self.target ** 2))
        return wss, inertia, changed, bal

    def score(self, parts, base):
        """Weighted objective of ``parts`` relative to ``base`` (both from ``objective_parts``)."""
        w_h, w_c, w_m, w_b = self.w
        total = 0.0
        if w_h and base[0] > 0:
            total += w_h * parts[0] / base[0]
        if w_c and base[1] > 0:
            total += w_c * parts[1] / base[1]
        if w_m and self.pop.sum() > 0:
            total += w_m * parts[2] / self.pop.sum()
        if w_b:
            total += w_b * parts[3]
        return total

    def assign_old(self, labels, k):
        """The existing area each new area mostly covers (by residents, then units)."""
        n_old = int(self.old.max()) + 1
        key = labels.astype(np.int64) * n_old + self.old
        weight = np.bincount(key, weights=self.pop + 1e-6, minlength=k * n_old).reshape(k, n_old)
        return weight.argmax(axis=1)

    def _gains(self, u, A, B, n, P, S, W, SY, scales, oldR):
        """Objective change for moving units ``u`` from areas ``A`` to ``B`` (arrays, vectorised)."""
        sh, sc, sm, sb, T = scales
        gain = np.zeros(len(u))
        pu = self.pop[u]
        nA, nB = n[A], n[B]
        if sh:
            x = self.X[u]
            mA = S[A] / nA[:, None]
            mB = S[B] / nB[:, None]
            gain += sh * (nB / (nB + 1) * ((x - mB) ** 2).sum(axis=1)
                          - nA / np.maximum(nA - 1, 1) * ((x - mA) ** 2).sum(axis=1))
        if sc:
            y = self.Y[u]
            au = self.a[u]
            WA, WB = W[A], W[B]
            cA = SY[A] / WA[:, None]
            cB = SY[B] / WB[:, None]
            rest = np.maximum(WA - au, 1e-12)
            gain += sc * (au * WB / (WB + au) * ((y - cB) ** 2).sum(axis=1)
                          - au * WA / rest * ((y - cA) ** 2).sum(axis=1))
        if sm:
            o = self.old[u]
            gain += sm * pu * ((oldR[B] != o).astype(float) - (oldR[A] != o).astype(float))
        if sb:
            gain += sb * (((P[A] - pu - T) ** 2 - (P[A] - T) ** 2) + (P[B] + pu - T) ** 2 - (P[B] - T) ** 2)
        return gain

    def _gain1(self, u, A, B, n, P, S, W, SY, scales, oldR):
        """Objective change of one move, in plain Python (the inner loop re-evaluates many)."""
        sh, sc, sm, sb, T = scales
        gain = 0.0
        if sh:
            x = self._xl[u]
            nA, nB = n[A], n[B]
            SA, SB = S[A], S[B]
            dA = 0.0
            dB = 0.0
            for j in range(len(x)):
                t = x[j] - SA[j] / nA
                dA += t * t
                t = x[j] - SB[j] / nB
                dB += t * t
            gain += sh * (nB / (nB + 1.0) * dB - nA / max(nA - 1.0, 1.0) * dA)
        if sc:
            yx, yy = self._yl[u]
            au = self._al[u]
            WA, WB = W[A], W[B]
            SA, SB = SY[A], SY[B]
            dA = (yx - SA[0] / WA) ** 2 + (yy - SA[1] / WA) ** 2
            dB = (yx - SB[0] / WB) ** 2 + (yy - SB[1] / WB) ** 2
            gain += sc * (au * WB / (WB + au) * dB - au * WA / max(WA - au, 1e-12) * dA)
        pu = self._pl[u]
        if sm:
            o = self._ol[u]
            gain += sm * pu * (float(oldR[B] != o) - float(oldR[A] != o))
        if sb:
            gain += sb * (((P[A] - pu - T) ** 2 - (P[A] - T) ** 2) + (P[B] + pu - T) ** 2 - (P[B] - T) ** 2)
        return gain

    def run(self, labels, k, rng, max_passes=30, time_limit=None, feedback=None):
        """Improve ``labels``; return (labels, passes, moves).

        Each pass computes the gain of every boundary move at once (numpy), then applies the
        improving ones best first; a move whose areas changed earlier in the pass is
        re-evaluated before it is applied. Only areas touched in the last pass are revisited.
        """
        feedback = ensure_feedback(feedback)
        w_h, w_c, w_m, w_b = self.w
        labels = np.asarray(labels, np.int64).copy()
        n, P, S, W, SY = self._stats(labels, k)
        self._area_size = n
        wss0, in0, _, _ = self.objective_parts(labels, k)
        sh = w_h / wss0 if wss0 > 0 else 0.0
        sc = w_c / in0 if in0 > 0 else 0.0
        sm = w_m / self.pop.sum() if (self.old is not None and self.pop.sum() > 0) else 0.0
        sb = (w_b / (k * self.target ** 2)) if (self.target and w_b) else 0.0
        scales = (sh, sc, sm, sb, self.target or 0.0)
        oldR = self.assign_old(labels, k) if self.old is not None else None
        oldRl = oldR.tolist() if oldR is not None else None
        self._xl, self._yl, self._al = self.X.tolist(), self.Y.tolist(), self.a.tolist()
        self._pl = self.pop.tolist()
        self._ol = self.old.tolist() if self.old is not None else None
        lab = labels.tolist()
        pop, X = self.pop, self.X
        lo, hi = self.lo, self.hi
        e0, e1 = self.edges[:, 0], self.edges[:, 1]
        start = time.perf_counter()
        total_moves = 0
        passes = 0
        active = np.ones(k, dtype=bool)  # areas whose statistics changed in the last pass
        tol = 1e-9
        for passes in range(1, max_passes + 1):
            feedback.check()
            moves = 0
            if passes > 1:  # plain-Python state of the last pass → numpy for the vectorised gains
                n, P, W = np.asarray(nl, float), np.asarray(Pl, float), np.asarray(Wl, float)
                S = np.asarray(Sl, float).reshape(k, X.shape[1])
                SY = np.asarray(SYl, float).reshape(k, 2)
                self._area_size = nl
            labels = np.asarray(lab, dtype=np.int64)
            la, lb = labels[e0], labels[e1]
            touch = (la != lb) & (active[la] | active[lb])
            u = np.concatenate([e0[touch], e1[touch]])
            B = np.concatenate([lb[touch], la[touch]])
            key = np.unique(u * k + B)
            u, B = key // k, key % k
            A = labels[u]
            pu = pop[u]
            ok = (n[A] > 1) & (P[A] - pu >= lo - tol) & (P[B] + pu <= hi + tol)
            u, A, B = u[ok], A[ok], B[ok]
            gain = self._gains(u, A, B, n, P, S, W, SY, scales, oldR)
            good = gain < -1e-12
            u, A, B, gain = u[good], A[good], B[good], gain[good]
            order = np.lexsort((B, u, gain))
            nl, Pl, Wl = n.tolist(), P.tolist(), W.tolist()
            Sl, SYl = S.tolist(), SY.tolist()
            self._area_size = nl
            dirty = np.zeros(k, dtype=bool)
            failed = set()
            for count, i in enumerate(order.tolist()):
                if count % 2000 == 0:
                    feedback.check()
                uu, AA, BB = int(u[i]), int(A[i]), int(B[i])
                if lab[uu] != AA or uu in failed:
                    continue
                p_u = pop[uu]
                if dirty[AA] or dirty[BB]:
                    if nl[AA] <= 1 or Pl[AA] - p_u < lo - tol or Pl[BB] + p_u > hi + tol:
                        continue
                    if self._gain1(uu, AA, BB, nl, Pl, Sl, Wl, SYl, scales, oldRl) >= -1e-12:
                        continue
                if dirty[BB] and not any(lab[v] == BB for v in self.nb[uu]):
                    continue  # its neighbour in B has left B earlier in this pass
                if not self._stays_connected(uu, AA, lab):
                    failed.add(uu)
                    continue
                lab[uu] = BB
                dirty[AA] = dirty[BB] = True
                x, (yx, yy), au = self._xl[uu], self._yl[uu], self._al[uu]
                nl[AA] -= 1
                nl[BB] += 1
                Pl[AA] -= p_u
                Pl[BB] += p_u
                SA, SB = Sl[AA], Sl[BB]
                for j in range(len(x)):
                    SA[j] -= x[j]
                    SB[j] += x[j]
                Wl[AA] -= au
                Wl[BB] += au
                SYl[AA][0] -= au * yx
                SYl[AA][1] -= au * yy
                SYl[BB][0] += au * yx
                SYl[BB][1] += au * yy
                moves += 1
            active = dirty
            total_moves += moves
            feedback.progress(passes / max_passes)
            if moves == 0:
                break
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
        return np.asarray(lab, dtype=np.int64), passes, total_moves

    def _stays_connected(self, u, A, lab, full_limit=60):
        """True if area A minus unit u is still connected.

        First a local test: are u's neighbours in A connected to each other within two steps
        of u (enough on tessellations almost always)? Otherwise a full search of A when A is
        small; in a large area such a move is skipped (never accepted unchecked).
        """
        nb = self.nb
        targets = [v for v in nb[u] if lab[v] == A]
        if len(targets) <= 1:
            return True
        ring = set(targets)
        for v in targets:
            for w in nb[v]:
                if lab[w] == A:
                    ring.add(w)
        ring.discard(u)
        if self._reaches(targets, lambda w: w in ring, u):
            return True
        if self._area_size[A] > full_limit:
            return False
        return self._reaches(targets, lambda w: lab[w] == A, u)

    def _reaches(self, targets, allowed, u):
        """True if all ``targets`` are connected through ``allowed`` nodes without ``u``."""
        nb = self.nb
        remaining = set(targets[1:])
        seen = {u, targets[0]}
        frontier = [targets[0]]
        while frontier:
            v = frontier.pop()
            for w in nb[v]:
                if w not in seen and allowed(w):
                    if w in remaining:
                        remaining.discard(w)
                        if not remaining:
                            return True
                    seen.add(w)
                    frontier.append(w)
        return not remaining


def check_partition(n, edges, labels, pop, lo, hi, parent=None):
    """Independent check: list of (kind, area) problems (empty when all constraints hold)."""
    labels = np.asarray(labels)
    problems = []
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    same = labels[edges[:, 0]] == labels[edges[:, 1]]
    inner = edges[same]
    matrix = sparse.coo_matrix((np.ones(len(inner)), (inner[:, 0], inner[:, 1])), shape=(n, n))
    ncomp, comp = connected_components(matrix, directed=False)
    areas = np.unique(labels)
    pieces = {}
    for area, c in zip(labels.tolist(), comp.tolist()):
        pieces.setdefault(area, set()).add(c)
    for area in areas.tolist():
        if len(pieces[area]) != 1:
            problems.append(("not contiguous", area))
    totals = {a: p for a, p in zip(areas.tolist(), np.bincount(np.searchsorted(areas, labels), weights=pop).tolist())}
    for area, total in totals.items():
        if total < lo - 1e-6 or total > hi + 1e-6:
            problems.append(("population out of bounds", area))
    if parent is not None:
        parent = np.asarray(parent)
        for area in areas.tolist():
            if len(np.unique(parent[labels == area])) > 1:
                problems.append(("not nested", area))
    return problems


def timed(func, *args, **kwargs):
    """(seconds, result) of a call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


__all__ = ["SplitFailure", "best_cut", "split_part", "LocalSearch", "check_partition", "CancelledError"]
