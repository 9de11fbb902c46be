"""Which constraint cannot be met, where, and what would make the request feasible.

The graph after barriers, nesting and island links falls into connected pieces; no
area can span two of them. Each piece is one higher-level area (nesting), a group of
units cut off by barrier lines, an island kept on its own, or the whole layer; the
messages always name it that way, never as an internal "part".

A request is feasible only if

* no unit alone has more residents than the maximum;
* each piece can be divided: some whole number ``k`` of areas satisfies
  ``population / max ≤ k ≤ population / min`` (and ``k ≤`` its number of units);
* with a fixed number of areas, the counts per piece add up to that number.

``allocate`` chooses the count per piece jointly (dynamic programming over the counts
each piece can hold), preferring the allocation with the most even population per
area. The estimator then divides every piece (``search.divide_part``); a count a piece
turns out not to hold is excluded and the allocation is chosen again.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from ..i18n import format_number, tr


@dataclass
class Problem:
    """One reason why the request cannot be met."""

    constraint: str
    message: str
    units: list = field(default_factory=list)
    where: str = ""
    remedy: dict = field(default_factory=dict)


def _fmt(value):
    return format_number(value, 0)


def _cap(text):
    return text[:1].upper() + text[1:]


def join_or(values):
    """'14', '14 or 15', '12, 14 or 15' in the current language."""
    values = [str(v) for v in values]
    if not values:
        return tr("none")
    if len(values) == 1:
        return values[0]
    return tr("{first} or {last}", first=", ".join(values[:-1]), last=values[-1])


def count_range(total, size, lo, hi, allow_empty=False, inhabited=None):
    """(smallest, largest) number of areas a piece of ``total`` residents and ``size`` units can hold.

    ``allow_empty``: a piece without residents may still be one area (automatic minimum).
    ``inhabited``: number of units with residents (caps the count when there is a minimum).
    """
    if allow_empty and total <= 0:
        return 1, 1
    kmin = max(1, int(math.ceil(total / hi - 1e-9))) if np.isfinite(hi) and hi > 0 else 1
    kmax = int(math.floor(total / lo + 1e-9)) if lo > 0 else size
    if lo > 0 and inhabited is not None:
        kmax = min(kmax, int(inhabited))  # every area needs at least one inhabited unit
    return kmin, min(kmax, size)


class PieceNames:
    """Planner-readable names of the connected pieces of the unit graph."""

    def __init__(self, graph, comp, unit_ids, coords=None, nest_label=None, layer=None):
        self.graph = graph
        self.comp = comp
        self.unit_ids = unit_ids
        self.coords = coords
        self.nest_label = nest_label
        self.layer = layer
        order = np.argsort(comp, kind="stable")
        sizes = np.bincount(comp)
        self.members = np.split(order, np.cumsum(sizes)[:-1])
        nested = graph.parent_names is not None and graph.parent is not None and (graph.parent >= 0).all()
        self.parent = graph.parent if nested else None
        self.parent_size = np.bincount(graph.parent) if nested else None

    def nest_area(self, c):
        """Id of the higher-level area holding piece ``c`` (None without nesting)."""
        if self.parent is None:
            return None
        return self.graph.parent_names[int(self.parent[self.members[c][0]])]

    def is_whole_nest_area(self, c):
        """True when piece ``c`` is a whole higher-level area."""
        if self.parent is None:
            return False
        return len(self.members[c]) == self.parent_size[int(self.parent[self.members[c][0]])]

    def barriers_around(self, c):
        """Labels of the barriers that cut piece ``c`` off from its neighbours."""
        graph = self.graph
        if not len(graph.cut_edges):
            return []
        inside = np.zeros(graph.n, dtype=bool)
        inside[self.members[c]] = True
        rim = inside[graph.cut_edges[:, 0]] != inside[graph.cut_edges[:, 1]]
        rim &= graph.cut_reason == "barrier"
        return sorted({str(b) for b in graph.cut_barrier[rim] if b is not None})

    def describe(self, c, max_ids=3):
        """'higher-level area 01 (layer 'Bezirke')', 'the 3 unit(s) A, B, C cut off by …', …"""
        members = self.members[c]
        nest = self.nest_area(c)
        if nest is not None and self.is_whole_nest_area(c):
            return tr("higher-level area {id} ({nest})", id=nest, nest=self.nest_label or tr("nesting"))
        ids = [str(self.unit_ids[i]) for i in members[:max_ids]]
        listed = ", ".join(ids) + (", …" if len(members) > max_ids else "")
        barriers = self.barriers_around(c)
        if barriers:
            shown = ", ".join(barriers[:4]) + (" …" if len(barriers) > 4 else "")
            text = tr("the {count} unit(s) {ids} cut off by {barriers}", count=len(members), ids=listed,
                      barriers=shown)
        elif len(self.members) == 1 and nest is None:
            return tr("the units of layer '{layer}'", layer=self.layer or "?")
        else:
            text = tr("the island of {count} unit(s) {ids} (island rule 'keep on their own')",
                      count=len(members), ids=listed)
        if nest is not None:
            text += " " + tr("in higher-level area {id} ({nest})", id=nest, nest=self.nest_label or tr("nesting"))
        return text

    def what_separates(self):
        """'12 higher-level areas (field 'bez')', '2 groups cut off by barriers', … for totals."""
        kinds = []
        if self.parent is not None:
            kinds.append(tr("{count} higher-level area(s) ({nest})", count=len(self.graph.parent_names),
                            nest=self.nest_label or tr("nesting")))
        cut = sum(1 for c in range(len(self.members)) if not self.is_whole_nest_area(c) and self.barriers_around(c))
        if cut:
            kinds.append(tr("{count} group(s) of units cut off by barriers", count=cut))
        if not kinds:
            if len(self.members) == 1:
                return tr("the units of layer '{layer}'", layer=self.layer or "?")
            kinds.append(tr("{count} separate group(s) of units", count=len(self.members)))
        return ", ".join(kinds)


def basic_problems(names, pop, lo, hi, allow_empty=False):
    """Units above the maximum and pieces whose population fits no whole number of areas."""
    unit_ids = names.unit_ids
    problems = []
    if np.isfinite(hi):
        heavy = np.nonzero(pop > hi + 1e-9)[0]
        for u in heavy[np.argsort(-pop[heavy], kind="stable")][:10]:
            problems.append(Problem(
                "max_population",
                tr("Unit {unit} alone has {pop} residents, more than the maximum of {max}. Raise the "
                   "maximum to at least {pop} or split this unit.",
                   unit=unit_ids[u], pop=_fmt(pop[u]), max=_fmt(hi)),
                units=[str(unit_ids[u])], remedy={"max_population": float(pop[u])}))
        if len(heavy) > 10:
            problems.append(Problem("max_population", tr("{count} more unit(s) exceed the maximum alone.",
                                                        count=len(heavy) - 10)))
    totals = np.array([pop[m].sum() for m in names.members])
    for c in np.argsort(totals, kind="stable"):
        members = names.members[c]
        kmin, kmax = count_range(totals[c], len(members), lo, hi, allow_empty, int((pop[members] > 0).sum()))
        if kmin <= kmax:
            continue
        where = names.describe(c)
        if totals[c] < lo:
            hint = ""
            if not names.barriers_around(c) and not names.is_whole_nest_area(c) and names.nest_area(c) is None:
                hint = " " + tr("For an island, use the island rule 'attach to the nearest unit'.")
            elif names.barriers_around(c):
                hint = " " + tr("Or drop one of the barriers that cut it off.")
            message = tr("{where} has {pop} residents, fewer than the minimum of {min}. Lower the "
                         "minimum to {pop} or less.", where=_cap(where), pop=_fmt(totals[c]), min=_fmt(lo)) + hint
            remedy = {"min_population": float(totals[c])}
            constraint = "min_population"
        else:
            k = int(math.ceil(totals[c] / hi - 1e-9))
            suggest_min = math.floor(totals[c] / k)
            suggest_max = math.ceil(totals[c] / max(1, int(math.floor(totals[c] / lo + 1e-9)))) if lo > 0 else hi
            message = tr("{where} has {pop} residents and cannot be divided into areas of {min} to {max} "
                         "residents: {k} areas would stay under the maximum but then some area has fewer "
                         "than the minimum. Lower the minimum to {suggest_min} or raise the maximum to "
                         "{suggest_max}.",
                         where=_cap(where), pop=_fmt(totals[c]), min=_fmt(lo), max=_fmt(hi), k=k,
                         suggest_min=_fmt(suggest_min), suggest_max=_fmt(suggest_max))
            remedy = {"min_population": float(suggest_min), "max_population": float(suggest_max)}
            constraint = "bounds"
        problems.append(Problem(constraint, message, units=[str(unit_ids[i]) for i in members[:20]],
                                where=where, remedy=remedy))
        if len(problems) >= 12:
            break
    return problems


def allocate(allowed, totals, n_areas=None, target=None):
    """Number of areas per piece, chosen jointly; None when no allocation exists.

    Parameters
    ----------
    allowed : list of sorted int arrays
        The counts each piece may hold.
    totals : ndarray
        Residents per piece.
    n_areas : int, optional
        Exact total: dynamic programming over the counts, minimising Σ P²/k, which for a
        fixed total is the spread of the population per area around the mean (the most
        even allocation).
    target : float, optional
        Residents per area: each piece on its own, minimising k · (P/k − target)².
    """
    k = np.zeros(len(allowed), dtype=np.int64)
    if any(len(a) == 0 for a in allowed):
        return None
    if n_areas is None:
        for c, options in enumerate(allowed):
            options = np.asarray(options, dtype=float)
            cost = options * (totals[c] / options - target) ** 2
            k[c] = int(options[int(np.argmin(cost))])
        return k
    n = int(n_areas)
    fixed = [c for c, a in enumerate(allowed) if len(a) == 1]
    for c in fixed:
        k[c] = int(allowed[c][0])
    left = n - int(k.sum())
    free = [c for c, a in enumerate(allowed) if len(a) > 1]
    if left < 0:
        return None
    dp = np.full(left + 1, np.inf)
    dp[0] = 0.0
    choices = []
    for c in free:
        new = np.full(left + 1, np.inf)
        arg = np.zeros(left + 1, dtype=np.int64)
        for kk in allowed[c]:
            kk = int(kk)
            if kk > left:
                break
            cost = totals[c] ** 2 / kk
            shifted = np.full(left + 1, np.inf)
            shifted[kk:] = dp[:left + 1 - kk] + cost
            better = shifted < new
            new[better] = shifted[better]
            arg[better] = kk
        dp = new
        choices.append(arg)
    if not np.isfinite(dp[left]):
        return None
    t = left
    for c, arg in zip(reversed(free), reversed(choices)):
        k[c] = arg[t]
        t -= arg[t]
    return k


def reachable_totals(allowed, limit):
    """Every total number of areas (≤ ``limit``) the pieces' counts can add up to."""
    reach = np.zeros(limit + 1, dtype=bool)
    reach[0] = True
    for options in allowed:
        new = np.zeros(limit + 1, dtype=bool)
        for kk in options:
            kk = int(kk)
            if kk <= limit:
                new[kk:] |= reach[:limit + 1 - kk]
        reach = new
    return np.nonzero(reach)[0]


def range_problem(names, kmin, kmax, n_areas, lo, hi):
    """The asked number of areas is outside what the pieces' population ranges allow."""
    low, high = int(kmin.sum()), int(kmax.sum())
    what = names.what_separates()
    if n_areas < low:
        binding = _largest_needs(names, kmin)
        return Problem(
            "n_areas",
            tr("{asked} areas are too few: {what} need at least {low} areas to keep every area at or "
               "below {max} residents ({binding}). Ask for at least {low} areas or raise the maximum.",
               asked=n_areas, what=what, low=low, max=_fmt(hi), binding=binding),
            remedy={"n_areas": low})
    binding = _largest_needs(names, kmax, most=True)
    return Problem(
        "n_areas",
        tr("{asked} areas are too many: with at least {min} residents per area, {what} hold at most "
           "{high} areas ({binding}). Ask for at most {high} areas or lower the minimum.",
           asked=n_areas, min=_fmt(lo), what=what, high=high, binding=binding),
        remedy={"n_areas": high})


def _largest_needs(names, counts, most=False):
    """'higher-level area 01: 15, …' for the pieces with the largest counts."""
    order = np.argsort(-counts, kind="stable")[:3]
    word = tr("at most {count}") if most else tr("at least {count}")
    parts = [f"{names.describe(c)}: " + word.format(count=int(counts[c])) for c in order]
    return "; ".join(parts) + ("; …" if len(counts) > 3 else "")


def count_problem(names, c, asked_k, feasible, tried, totals, lo, hi, proven):
    """A piece cannot hold the number of areas the allocation needs; say which it can hold."""
    where = names.describe(c)
    bounds = tr("{min} to {max} residents", min=_fmt(lo), max=_fmt(hi) if np.isfinite(hi) else "∞")
    members = names.members[c]
    if feasible:
        not_k = join_or(sorted(k for k in tried if k not in feasible))
        message = tr("{where} ({pop} residents) can hold {ok} areas of {bounds}, not {bad}.",
                     where=_cap(where), pop=_fmt(totals[c]), ok=join_or(sorted(feasible)), bounds=bounds,
                     bad=not_k)
        remedy = {"n_areas_in": {names.nest_area(c) or str(c): sorted(int(k) for k in feasible)}}
    else:
        message = tr("{where} ({pop} residents) cannot be divided into connected areas of {bounds}: its "
                     "units are too unevenly sized or too thinly connected. Widen the population bounds "
                     "or drop a barrier here.", where=_cap(where), pop=_fmt(totals[c]), bounds=bounds)
        remedy = {"min_population": float(lo * 0.9), "max_population": float(hi * 1.1)}
    if not proven:
        message += " " + tr("(No division into {bad} connected areas was found after the full search; "
                            "more starts may still find one.)", bad=join_or(sorted(set(tried) - set(feasible))))
    return Problem("nesting" if names.nest_area(c) is not None else "bounds", message,
                   units=[str(names.unit_ids[i]) for i in members[:20]], where=where, remedy=remedy)
