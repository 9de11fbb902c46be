"""Which constraint cannot be met, where, and what would make the request feasible.

The graph after barriers, nesting and island links falls into connected *parts*; no
area can span two parts. A request is feasible only if

* no unit alone has more residents than the maximum;
* each part can be divided: some whole number ``k`` of areas satisfies
  ``population / max ≤ k ≤ population / min`` (and ``k ≤`` its number of units);
* with a fixed number of areas, that number lies between the sums of the parts'
  smallest and largest ``k``.

Each violated condition becomes one ``Problem`` naming the place (its units, the
higher-level area, the barriers around it, its centre) and a remedy.
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


def count_range(total, size, lo, hi):
    """(smallest, largest) number of areas a part of ``total`` residents and ``size`` units can hold."""
    kmin = max(1, int(math.ceil(total / hi - 1e-9))) if np.isfinite(hi) and hi > 0 else 1
    kmax = int(math.floor(total / lo + 1e-9)) if lo > 0 else size
    return kmin, min(kmax, size)


def describe_part(members, unit_ids, graph, coords=None, max_ids=3):
    """Planner-readable description of a part: units, higher-level area, barriers, centre."""
    members = np.asarray(members)
    ids = [str(unit_ids[i]) for i in members[:max_ids]]
    text = tr("the part with {count} unit(s) ({ids}{more})", count=len(members),
              ids=", ".join(ids), more=", …" if len(members) > max_ids else "")
    if graph.parent_names is not None and graph.parent is not None and len(members):
        text += " " + tr("in {parent}", parent=graph.parent_names[int(graph.parent[members[0]])])
    if len(graph.cut_edges):
        inside = np.zeros(graph.n, dtype=bool)
        inside[members] = True
        rim = inside[graph.cut_edges[:, 0]] != inside[graph.cut_edges[:, 1]]
        rim &= graph.cut_reason == "barrier"
        names = sorted({str(b) for b in graph.cut_barrier[rim] if b is not None})
        if names:
            text += " " + tr("bounded by {barriers}", barriers=", ".join(names[:4]) + (" …" if len(names) > 4 else ""))
    if coords is not None and len(members):
        centre = np.asarray(coords)[members].mean(axis=0)
        text += " " + tr("(centre at x={x}, y={y})", x=f"{centre[0]:.0f}", y=f"{centre[1]:.0f}")
    return text


def check_request(graph, pop, unit_ids, lo, hi, n_areas=None, target=None, coords=None):
    """Return (k per part, part label per unit, problems); problems empty when feasible."""
    pop = np.asarray(pop, dtype=float)
    ncomp, comp = graph.components()
    totals = np.bincount(comp, weights=pop, minlength=ncomp)
    sizes = np.bincount(comp, minlength=ncomp)
    problems = []
    if np.isfinite(hi):
        heavy = np.nonzero(pop > hi + 1e-9)[0]
        for u in heavy[np.argsort(-pop[heavy])][:10]:
            problems.append(Problem(
                "max_population",
                tr("Unit {unit} alone has {pop} residents, more than the maximum of {max}. Raise the "
                   "maximum to at least {pop} or split this unit.",
                   unit=unit_ids[u], pop=_fmt(pop[u]), max=_fmt(hi)),
                units=[str(unit_ids[u])], remedy={"max_population": float(pop[u])}))
        if len(heavy) > 10:
            problems.append(Problem("max_population", tr("{count} more unit(s) exceed the maximum alone.",
                                                        count=len(heavy) - 10)))
    kmin = np.zeros(ncomp, dtype=np.int64)
    kmax = np.zeros(ncomp, dtype=np.int64)
    for c in range(ncomp):
        kmin[c], kmax[c] = count_range(totals[c], sizes[c], lo, hi)
    members_of = None
    bad = np.nonzero(kmin > kmax)[0]
    if len(bad):
        order = np.argsort(comp, kind="stable")
        members_of = np.split(order, np.cumsum(sizes)[:-1])
    for c in bad[np.argsort(totals[bad], kind="stable")][:10]:
        where = describe_part(members_of[c], unit_ids, graph, coords)
        if totals[c] < lo:
            message = tr("{where} has {pop} residents, fewer than the minimum of {min}. Lower the "
                         "minimum to {pop} or less, or drop a barrier that cuts it off, or (for an island) use "
                         "the island rule 'nearest'.",
                         where=_cap(where), pop=_fmt(totals[c]), min=_fmt(lo))
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
        problems.append(Problem(constraint, message, units=[str(unit_ids[i]) for i in members_of[c][:20]],
                                where=where, remedy=remedy))
    if problems:
        return None, comp, problems
    if n_areas is not None:
        n_areas = int(n_areas)
        low, high = int(kmin.sum()), int(kmax.sum())
        if n_areas < low:
            problems.append(Problem(
                "n_areas",
                tr("{asked} areas are too few: the {parts} separate part(s) need at least {low} areas to "
                   "keep every area at or below {max} residents. Ask for at least {low} areas, or raise "
                   "the maximum, or remove barriers/nesting that separate parts.",
                   asked=n_areas, parts=ncomp, low=low, max=_fmt(hi)),
                remedy={"n_areas": low}))
            return None, comp, problems
        if n_areas > high:
            problems.append(Problem(
                "n_areas",
                tr("{asked} areas are too many: with at least {min} residents per area the units hold at "
                   "most {high} areas. Ask for at most {high} areas or lower the minimum.",
                   asked=n_areas, min=_fmt(lo), high=high),
                remedy={"n_areas": high}))
            return None, comp, problems
        k = _allocate(kmin, kmax, totals, n_areas)
    else:
        k = np.clip(np.round(totals / float(target)).astype(np.int64), kmin, kmax)
    return k, comp, problems


def _allocate(kmin, kmax, totals, n_areas):
    """Distribute ``n_areas`` over parts: start from the minimum, add to the most populous per area."""
    import heapq

    k = kmin.copy()
    heap = [(-totals[c] / k[c], c) for c in range(len(k)) if k[c] < kmax[c]]
    heapq.heapify(heap)
    for _ in range(int(n_areas - k.sum())):
        _, c = heapq.heappop(heap)
        k[c] += 1
        if k[c] < kmax[c]:
            heapq.heappush(heap, (-totals[c] / k[c], c))
    return k


def _cap(text):
    return text[:1].upper() + text[1:]


def split_failure_problem(nodes, k, pop, unit_ids, graph, lo, hi, coords=None):
    """Explain a part the search could not divide although the totals allow it."""
    where = describe_part(nodes, unit_ids, graph, coords)
    heavy = nodes[np.argsort(-pop[nodes])][:3]
    return Problem(
        "bounds",
        tr("{where} has {pop} residents for {k} areas of {min} to {max} residents, but no division "
           "into connected areas was found: its units are too unevenly sized or too thinly connected "
           "(largest units: {heavy}). Widen the population bounds, or change the number of areas, or "
           "remove a barrier here.",
           where=_cap(where), pop=_fmt(pop[nodes].sum()), k=k, min=_fmt(lo), max=_fmt(hi),
           heavy=", ".join(f"{unit_ids[u]} ({_fmt(pop[u])})" for u in heavy)),
        units=[str(unit_ids[i]) for i in nodes[:20]], where=where,
        remedy={"min_population": float(lo * 0.9), "max_population": float(hi * 1.1)})
