"""Musterstadt over time: a seeded panel with a boundary change, measures and goals.

The sample city (:func:`core.sample.generate_sample_municipality`) is one snapshot. This
module lets it age: its statistical blocks carry counts for several periods (residents,
working-age residents, children, unemployed, transfer recipients, children in transfer
households), the planning areas are re-drawn in the middle of the panel (some split,
some merged, some with shifted boundaries, the others unchanged), two measures run in some of
the new areas — one with a planted effect, one without — and a goal system
(Leitziel → strategic goal → target) is set on the indicators.

Everything is built from the blocks, so the truth is known on both area sets: the
``observations`` are what a statistical office would have published (old periods on the
old areas, new periods on the new areas), ``observations_new`` is the whole series
re-tabulated exactly on the new areas (the reference for boundary-change methods and the
natural input for series, targets and evaluation).

Usage::

    from kommunalmonitor.core.monitoring.panel import make_panel
    panel = make_panel(seed=0)
    panel.observations_new.query("indicator == 'unemployment_rate'")
    panel.planted_effect["M1"]     # {'indicator': 'unemployment_rate', 'effect': -2.0, ...}
"""
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import unary_union

from ..errors import InputError
from ..i18n import tr
from ..sample import generate_sample_municipality

OLD_SET = "plr_old"
NEW_SET = "plr_new"

# Count indicators kept per block and period (the numerators and denominators of the rates).
COUNTS = ("population", "pop_18_64", "pop_under_15", "unemployed", "transfer_recipients",
          "children_transfer")
# rate -> (numerator, denominator, scale)
RATES = {
    "unemployment_rate": ("unemployed", "pop_18_64", 100.0),
    "transfer_rate": ("transfer_recipients", "population", 100.0),
    "child_poverty_rate": ("children_transfer", "pop_under_15", 100.0),
}

_CATALOGUE = [
    # indicator, label_en, label_de, unit, numerator, denominator, scale, direction, field, min_base
    ("population", "Residents", "Einwohnerinnen und Einwohner", "persons", None, None, None,
     "neutral", "social_affairs", None),
    ("pop_18_64", "Residents aged 18 to 64", "Einwohner 18 bis 64 Jahre", "persons", None, None,
     None, "neutral", "work", None),
    ("pop_under_15", "Children under 15", "Kinder unter 15 Jahren", "persons", None, None, None,
     "neutral", "education", None),
    ("unemployed", "Unemployed residents", "Arbeitslose", "persons", None, None, None,
     "lower_is_better", "work", None),
    ("transfer_recipients", "Transfer recipients", "Transferbeziehende", "persons", None, None,
     None, "lower_is_better", "social_affairs", None),
    ("children_transfer", "Children in transfer households", "Kinder in Transferhaushalten",
     "persons", None, None, None, "lower_is_better", "social_affairs", None),
    ("unemployment_rate", "Unemployment rate", "Arbeitslosenquote", "%", "unemployed",
     "pop_18_64", 100.0, "lower_is_better", "work", 300),
    ("transfer_rate", "Transfer rate", "Transferbezugsquote", "%", "transfer_recipients",
     "population", 100.0, "lower_is_better", "social_affairs", 300),
    ("child_poverty_rate", "Child poverty rate", "Kinderarmutsquote", "%", "children_transfer",
     "pop_under_15", 100.0, "lower_is_better", "social_affairs", 100),
]
SOURCE = "Musterstadt (synthetic sample city, Kommunalmonitor)"


@dataclass
class MonitoringPanel:
    """Musterstadt over time, in memory.

    Attributes
    ----------
    periods : list of str
        Period labels in order (years as text, e.g. ``"2018"``).
    change_period : str
        First period published on the new areas; earlier ones are on the old areas.
    areas_old, areas_new : GeoDataFrame
        ``area_id``, ``name``, geometry (EPSG:25832). ``areas_new`` also has
        ``boundary_changed`` (bool: not identical to one old area) and ``priority_level``
        (1 = highest priority, 2, 3 = none; from the baseline child poverty rate).
    area_sets : DataFrame
        ``area_set``, ``label_en``, ``label_de``, ``valid_from``, ``valid_to`` (period labels;
        ``valid_to`` empty = still valid).
    blocks : GeoDataFrame
        ``block_id``, ``area_id_old``, ``area_id_new``, geometry.
    block_counts : DataFrame
        Long: ``block_id``, ``period`` and one column per count in :data:`COUNTS`.
    observations : DataFrame
        As published, long form with the store's columns (``area_set``, ``area_id``,
        ``indicator``, ``period``, ``value``, ``numerator``, ``denominator``, ``suppressed``,
        ``small_base``, ``estimated``, ``rebased_method``, ``estimated_share``).
    observations_new : DataFrame
        Same columns, every period exactly on the new areas (re-tabulated from blocks).
    indicators : DataFrame
        The indicator catalogue (store schema ``indicators``).
    goals : DataFrame
        Goal system (store schema ``goals``): Leitziele, strategic goals, targets.
    measures : GeoDataFrame
        ``measure_id``, ``name``, ``area_set``, ``area_ids`` (comma-separated new area ids),
        ``start``, ``end`` (period labels), ``policy_field``, geometry (union of the areas).
    planted_effect : dict
        ``measure_id`` → ``{"indicator", "effect", "start", "areas"}``: the true additive
        effect in the indicator's unit (percentage points for rates) from ``start`` on.
    crosswalk : DataFrame
        Exact old → new crosswalk by residents at the last old period: ``old_id``,
        ``new_id``, ``share`` (of the old area's residents).
    seed : int
    """

    periods: list
    change_period: str
    areas_old: gpd.GeoDataFrame
    areas_new: gpd.GeoDataFrame
    area_sets: pd.DataFrame
    blocks: gpd.GeoDataFrame
    block_counts: pd.DataFrame
    observations: pd.DataFrame
    observations_new: pd.DataFrame
    indicators: pd.DataFrame
    goals: pd.DataFrame
    measures: gpd.GeoDataFrame
    planted_effect: dict
    crosswalk: pd.DataFrame
    seed: int
    diagnostics: dict = field(default_factory=dict)


def indicator_catalogue():
    """The panel's indicator catalogue as a DataFrame (store schema ``indicators``)."""
    cols = ["indicator", "label_en", "label_de", "unit", "numerator", "denominator", "scale",
            "direction", "policy_field", "min_base"]
    frame = pd.DataFrame(_CATALOGUE, columns=cols)
    frame["source"] = SOURCE
    frame["scale"] = frame["scale"].astype("float64")
    frame["min_base"] = frame["min_base"].astype("float64")
    return frame


# --------------------------------------------------------------------------- boundary change
def _area_adjacency(blocks, adjacency, column):
    """Pairs of areas (a < b) whose blocks share a border."""
    area_of = dict(zip(blocks["block_id"], blocks[column]))
    a = adjacency["block_id_a"].map(area_of)
    b = adjacency["block_id_b"].map(area_of)
    pairs = pd.DataFrame({"a": a, "b": b, "block_a": adjacency["block_id_a"],
                          "block_b": adjacency["block_id_b"]})
    return pairs[pairs["a"] != pairs["b"]]


def _split_two(frame, weight):
    """Boolean mask of the 'second half' of blocks along their main axis, by weight."""
    xy = np.column_stack([frame.geometry.centroid.x, frame.geometry.centroid.y])
    centred = xy - xy.mean(axis=0)
    # principal axis: the split cuts an elongated area across, like a planner would
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    order = np.argsort(centred @ vt[0], kind="stable")
    w = np.asarray(weight, dtype="float64")[order] + 1.0
    cut = int(np.searchsorted(np.cumsum(w), w.sum() / 2.0))
    cut = min(max(cut, 1), len(order) - 1)
    mask = np.zeros(len(frame), dtype=bool)
    mask[order[cut:]] = True
    return mask


def _redraw_areas(rng, blocks, adjacency, old_ids, district_of):
    """New area id for every block: splits, merges and shifted boundaries."""
    pop = blocks["pop_2020"].to_numpy()
    new_of = pd.Series(blocks["plr_id"].to_numpy().copy(), index=blocks.index, dtype=object)
    size = blocks.groupby("plr_id").size()
    n = len(old_ids)
    eligible_split = [a for a in old_ids if size[a] >= 8]
    split = list(rng.choice(eligible_split, size=max(2, round(0.2 * n)), replace=False))
    pairs = _area_adjacency(blocks, adjacency, "plr_id")
    pairs = pairs[~pairs["a"].isin(split) & ~pairs["b"].isin(split)]
    pairs = pairs[[district_of[a] == district_of[b] for a, b in zip(pairs["a"], pairs["b"])]]
    area_pairs = pairs[["a", "b"]].apply(lambda r: tuple(sorted(r)), axis=1).drop_duplicates()
    area_pairs = list(area_pairs.iloc[rng.permutation(len(area_pairs))])
    used, merged, shifted = set(split), [], []
    for a, b in area_pairs:
        if a in used or b in used:
            continue
        if len(merged) < max(1, round(0.06 * n)):
            merged.append((a, b))
        elif len(shifted) < max(2, round(0.12 * n)):
            shifted.append((a, b))
        else:
            break
        used.update((a, b))
    parts = {}
    for a in split:
        rows = np.flatnonzero((blocks["plr_id"] == a).to_numpy())
        second = _split_two(blocks.iloc[rows], pop[rows])
        new_of.iloc[rows[second]] = a + "#2"
        parts[a] = ("#1", "#2")
    for a, b in merged:
        new_of[blocks["plr_id"] == b] = a
    for a, b in shifted:
        border = pairs[(pairs["a"] == a) & (pairs["b"] == b)]["block_a"].unique()
        take = rng.choice(border, size=min(len(border), int(rng.integers(1, 4))), replace=False)
        # keep at least half of the giving area's blocks
        if len(take) < size[a] / 2:
            new_of[blocks["block_id"].isin(take).to_numpy()] = b
    return new_of, split, merged, shifted


def _new_ids(blocks, new_of, district_of, names_old, merged):
    """Final ids (district + running number, five digits) and names of the new areas."""
    merged_name = {a: f"{names_old[a]} / {names_old[b]}" for a, b in merged}
    keys = sorted(set(new_of))
    ids, names = {}, {}
    counter = {}
    for key in keys:
        old = key.split("#")[0]
        d = district_of[old]
        counter[d] = counter.get(d, 0) + 1
        ids[key] = f"{d}{counter[d]:03d}"
        base = merged_name.get(old, names_old[old])
        if "#" in key or any(k == old + "#2" for k in keys):
            base = base + (" II" if key.endswith("#2") else " I")
        names[key] = base
    return ids, names


# --------------------------------------------------------------------------- counts over time
def _expit(x):
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _block_series(rng, blocks, periods, area_new, effects, start_index):
    """Counts per block and period (long), with the planted effects in the measure areas."""
    pop0 = blocks["pop_2020"].to_numpy().astype("float64")
    safe = np.maximum(pop0, 1.0)
    share_work = np.where(pop0 > 0, blocks["pop_18_64_2020"] / safe, 0.62)
    share_child = np.where(pop0 > 0, (blocks["pop_0_5_2020"] + blocks["pop_6_14_2020"]) / safe, 0.14)
    # base probabilities shrunk towards the city value (blocks are small)
    def shrunk(num, den, k):
        city = num.sum() / max(den.sum(), 1.0)
        return (num + k * city) / (den + k)

    p_unemp = shrunk(blocks["unemployed_2020"].to_numpy(), blocks["pop_18_64_2020"].to_numpy(), 50.0)
    p_trans = shrunk(blocks["transfer_recipients_2020"].to_numpy(), pop0, 50.0)
    kids = (blocks["pop_0_5_2020"] + blocks["pop_6_14_2020"]).to_numpy()
    p_child = shrunk(blocks["children_transfer_2020"].to_numpy(), kids, 20.0)
    logit = {k: np.log(p / (1 - p)) for k, p in
             (("unemployed", p_unemp), ("transfer_recipients", p_trans), ("children_transfer", p_child))}
    # area-level growth and trends (on the new areas: the planted truth is defined there)
    areas = np.unique(area_new)
    pos = np.searchsorted(areas, area_new)
    growth = rng.normal(0.004, 0.008, len(areas))[pos]
    trend = {k: rng.normal(-0.01, 0.03, len(areas))[pos] for k in logit}
    rows = []
    pop = pop0.copy()
    for t, period in enumerate(periods):
        if t:
            pop = rng.poisson(np.maximum(pop * (1.0 + growth), 0.0)).astype("float64")
        work = rng.binomial(pop.astype(np.int64), np.clip(share_work, 0, 1))
        child = rng.binomial(pop.astype(np.int64) - work, np.clip(share_child / np.maximum(1 - share_work, 0.05), 0, 1))
        prob = {k: _expit(logit[k] + trend[k] * (t - start_index)) for k in logit}
        for effect in effects:
            if t >= effect["start_index"]:
                key = RATES[effect["indicator"]][0]
                prob[key] = prob[key] + effect["mask"] * effect["effect"] / 100.0
        base = {"unemployed": work, "transfer_recipients": pop.astype(np.int64), "children_transfer": child}
        counts = {k: rng.binomial(base[k], np.clip(prob[k], 0.0, 1.0)) for k in logit}
        rows.append(pd.DataFrame({
            "block_id": blocks["block_id"].to_numpy(), "period": period,
            "population": pop.astype(np.int64), "pop_18_64": work.astype(np.int64),
            "pop_under_15": child.astype(np.int64), **{k: v.astype(np.int64) for k, v in counts.items()}}))
    return pd.concat(rows, ignore_index=True)


def tabulate(block_counts, block_area, area_set, min_base=None):
    """Counts and rates per area and period from block counts, in the store's long form.

    Parameters
    ----------
    block_counts : DataFrame
        ``block_id``, ``period`` and the columns of :data:`COUNTS`.
    block_area : Series
        Area id per block id (index: ``block_id``).
    area_set : str
        Area set name written into the rows.
    min_base : dict, optional
        Minimum denominator per rate; rates on a smaller base get ``small_base``.

    Returns
    -------
    DataFrame
    """
    min_base = min_base or {}
    frame = block_counts.assign(area_id=block_counts["block_id"].map(block_area))
    sums = frame.groupby(["area_id", "period"], sort=True)[list(COUNTS)].sum().reset_index()
    parts = []
    for name in COUNTS:
        parts.append(pd.DataFrame({"area_id": sums["area_id"], "period": sums["period"],
                                   "indicator": name, "value": sums[name].astype("float64"),
                                   "numerator": np.nan, "denominator": np.nan}))
    for name, (num, den, scale) in RATES.items():
        n = sums[num].to_numpy(dtype="float64")
        d = sums[den].to_numpy(dtype="float64")
        value = np.divide(n * scale, d, out=np.full(len(d), np.nan), where=d > 0)
        parts.append(pd.DataFrame({"area_id": sums["area_id"], "period": sums["period"],
                                   "indicator": name, "value": value, "numerator": n,
                                   "denominator": d}))
    out = pd.concat(parts, ignore_index=True)
    base = out["indicator"].map(min_base).astype("float64")
    out["area_set"] = area_set
    out["suppressed"] = False
    out["small_base"] = (out["denominator"] < base).fillna(False).astype(bool)
    out["estimated"] = False
    out["rebased_method"] = None
    out["estimated_share"] = 0.0
    cols = ["area_set", "area_id", "indicator", "period", "value", "numerator", "denominator",
            "suppressed", "small_base", "estimated", "rebased_method", "estimated_share"]
    return out[cols].sort_values(["indicator", "area_id", "period"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- goals
def _city_value(obs, indicator, period, areas=None):
    """City (or listed areas') value of an indicator at a period, from the counts."""
    sel = obs[(obs["indicator"] == indicator) & (obs["period"] == period)]
    if areas is not None:
        sel = sel[sel["area_id"].isin(areas)]
    if indicator in RATES:
        scale = RATES[indicator][2]
        return float(round(sel["numerator"].sum() * scale / sel["denominator"].sum(), 2))
    return float(sel["value"].sum())


def _goal_system(obs, baseline, target_period, treated, priority_areas):
    """Leitziele → strategic goals → targets, with baselines from the exact series."""
    def target(gid, parent, title_en, title_de, indicator, scope, direction, change,
               scope_areas=None, priority_level=None):
        base = _city_value(obs, indicator, baseline, scope_areas if scope != "city" else None)
        return {"goal_id": gid, "parent_id": parent, "level": "target", "title_en": title_en,
                "title_de": title_de, "indicator": indicator, "scope": scope,
                "scope_areas": ",".join(scope_areas) if scope == "areas" else None,
                "priority_level": priority_level, "area_set": NEW_SET,
                "baseline_period": baseline, "baseline_value": base,
                "target_value": round(base + change, 2), "target_period": target_period,
                "direction": direction}

    def goal(gid, parent, level, title_en, title_de):
        return {"goal_id": gid, "parent_id": parent, "level": level, "title_en": title_en,
                "title_de": title_de, "indicator": None, "scope": None, "scope_areas": None,
                "priority_level": None, "area_set": None, "baseline_period": None,
                "baseline_value": np.nan, "target_value": np.nan, "target_period": None,
                "direction": None}

    rows = [
        goal("L1", None, "leitziel", "Equal living conditions in every neighbourhood",
             "Gleichwertige Lebensverhältnisse in allen Quartieren"),
        goal("S1", "L1", "strategic", "Reduce unemployment", "Arbeitslosigkeit senken"),
        target("T1", "S1", "Unemployment rate of the city down by 1 point",
               "Arbeitslosenquote der Stadt um 1 Punkt senken", "unemployment_rate", "city",
               "decrease", -1.0),
        target("T2", "S1", "Unemployment rate in the programme areas down by 3 points",
               "Arbeitslosenquote in den Programmgebieten um 3 Punkte senken",
               "unemployment_rate", "areas", "decrease", -3.0, scope_areas=list(treated)),
        goal("S2", "L1", "strategic", "Reduce child poverty", "Kinderarmut verringern"),
        target("T3", "S2", "Child poverty rate in priority areas (level 1) down by 4 points",
               "Kinderarmutsquote in Gebieten der Priorität 1 um 4 Punkte senken",
               "child_poverty_rate", "priority", "decrease", -4.0, scope_areas=list(priority_areas),
               priority_level=1),
        goal("L2", None, "leitziel", "A city for families", "Eine Stadt für Familien"),
        goal("S3", "L2", "strategic", "Keep families in the city", "Familien in der Stadt halten"),
        target("T4", "S3", "Children under 15: 2 % more than at the baseline",
               "Kinder unter 15 Jahren: 2 % mehr als zur Basis", "pop_under_15", "city",
               "increase", 0.0),
    ]
    rows[-1]["target_value"] = round(rows[-1]["baseline_value"] * 1.02)
    frame = pd.DataFrame(rows)
    frame["priority_level"] = frame["priority_level"].astype("float64")
    return frame


# --------------------------------------------------------------------------- entry point
def make_panel(seed=0, n_periods=8, first_year=2018, n_blocks=1500, effect=-2.0):
    """Generate Musterstadt over time.

    Parameters
    ----------
    seed : int
        Random seed (the sample city, the boundary change, the series, the measures).
    n_periods : int
        Number of yearly periods (6 ... 20); the boundary change falls in the middle.
    first_year : int
        Year of the first period.
    n_blocks : int
        Blocks of the underlying sample city (more = slower, finer boundaries).
    effect : float
        Planted effect of measure ``M1`` on the unemployment rate, in percentage points
        (negative = lower unemployment). Measure ``M2`` has no effect (a placebo).

    Returns
    -------
    MonitoringPanel
    """
    try:
        seed, n_periods, first_year = int(seed), int(n_periods), int(first_year)
    except (TypeError, ValueError):
        raise InputError(tr("Seed, number of periods and first year must be whole numbers "
                            "(got {seed!r}, {n!r}, {year!r}).", seed=seed, n=n_periods,
                            year=first_year)) from None
    if not 6 <= n_periods <= 20:
        raise InputError(tr("The panel needs between 6 and 20 periods (got {value}).", value=n_periods))
    sample = generate_sample_municipality(n_blocks=n_blocks, seed=seed)
    rng = np.random.default_rng([seed, 2012])
    blocks = sample.blocks.reset_index(drop=True)
    plr = sample.planning_areas.reset_index(drop=True)
    old_ids = sorted(plr["plr_id"])
    district_of = dict(zip(plr["plr_id"], plr["district_id"]))
    names_old = dict(zip(plr["plr_id"], plr["plr_name"]))
    periods = [str(first_year + i) for i in range(n_periods)]
    change_index = n_periods // 2
    change_period = periods[change_index]

    new_key, split, merged, shifted = _redraw_areas(rng, blocks, sample.block_adjacency,
                                                    old_ids, district_of)
    ids, names = _new_ids(blocks, new_key, district_of, names_old, merged)
    block_new = new_key.map(ids)
    panel_blocks = gpd.GeoDataFrame({"block_id": blocks["block_id"].to_numpy(),
                                     "area_id_old": blocks["plr_id"].to_numpy(),
                                     "area_id_new": block_new.to_numpy()},
                                    geometry=blocks.geometry.values, crs=blocks.crs)
    areas_old = gpd.GeoDataFrame({"area_id": plr["plr_id"].to_numpy(),
                                  "name": plr["plr_name"].to_numpy()},
                                 geometry=plr.geometry.values, crs=plr.crs)
    areas_old = areas_old.sort_values("area_id").reset_index(drop=True)
    dissolved = panel_blocks[["area_id_new", "geometry"]].dissolve("area_id_new")
    # an unchanged area has exactly the blocks of one old area: keep the old geometry
    members_old = panel_blocks.groupby("area_id_old")["block_id"].apply(frozenset)
    members_new = panel_blocks.groupby("area_id_new")["block_id"].apply(frozenset)
    same = {new: old for old, m in members_old.items() for new, n in members_new.items() if m == n}
    geom_old = dict(zip(areas_old["area_id"], areas_old.geometry))
    new_ids_sorted = sorted(members_new.index)
    key_of = {v: k for k, v in ids.items()}
    areas_new = gpd.GeoDataFrame(
        {"area_id": new_ids_sorted, "name": [names[key_of[i]] for i in new_ids_sorted],
         "boundary_changed": [i not in same for i in new_ids_sorted]},
        geometry=[geom_old[same[i]] if i in same else dissolved.geometry[i] for i in new_ids_sorted],
        crs=plr.crs)

    # measures: M1 (planted effect) in areas with high unemployment, M2 (no effect) elsewhere
    unemp = (blocks.groupby(block_new.to_numpy())[["unemployed_2020", "pop_18_64_2020"]].sum())
    rate = (unemp["unemployed_2020"] / unemp["pop_18_64_2020"]).sort_values(ascending=False)
    top = list(rate.index[: max(6, len(rate) // 3)])
    n_treated = max(4, len(rate) // 7)
    treated = sorted(rng.choice(top, size=n_treated, replace=False))
    rest = [a for a in rate.index if a not in treated]
    placebo = sorted(rng.choice(rest, size=max(3, len(rate) // 10), replace=False))
    measure_start_index = change_index
    effects = [{"indicator": "unemployment_rate", "effect": float(effect),
                "start_index": measure_start_index,
                "mask": np.isin(block_new.to_numpy(), treated).astype("float64")},
               {"indicator": "child_poverty_rate", "effect": 0.0,
                "start_index": measure_start_index,
                "mask": np.isin(block_new.to_numpy(), placebo).astype("float64")}]
    block_counts = _block_series(rng, blocks, periods, block_new.to_numpy(), effects, change_index)

    catalogue = indicator_catalogue()
    min_base = dict(zip(catalogue["indicator"], catalogue["min_base"]))
    by_old = pd.Series(panel_blocks["area_id_old"].to_numpy(), index=panel_blocks["block_id"])
    by_new = pd.Series(panel_blocks["area_id_new"].to_numpy(), index=panel_blocks["block_id"])
    obs_new = tabulate(block_counts, by_new, NEW_SET, min_base)
    obs_old = tabulate(block_counts, by_old, OLD_SET, min_base)
    published = pd.concat([obs_old[obs_old["period"] < change_period],
                           obs_new[obs_new["period"] >= change_period]], ignore_index=True)

    # priority levels from the child poverty rate at the last old period (terciles)
    baseline = periods[change_index - 1]
    cp = obs_new[(obs_new["indicator"] == "child_poverty_rate") & (obs_new["period"] == baseline)]
    cp = cp.set_index("area_id")["value"]
    level = pd.Series(3, index=cp.index)
    level[cp >= cp.quantile(2 / 3)] = 1
    level[(cp >= cp.quantile(1 / 3)) & (cp < cp.quantile(2 / 3))] = 2
    areas_new["priority_level"] = areas_new["area_id"].map(level).astype("int64")
    priority_areas = sorted(level.index[level == 1])

    goals = _goal_system(obs_new, baseline, str(first_year + n_periods + 1), treated, priority_areas)

    union = {m: unary_union(list(areas_new[areas_new["area_id"].isin(a)].geometry))
             for m, a in (("M1", treated), ("M2", placebo))}
    end = periods[-1]
    measures = gpd.GeoDataFrame({
        "measure_id": ["M1", "M2"],
        "name": ["Neighbourhood management: jobs and training",
                 "Education network: early childhood"],
        "area_set": [NEW_SET, NEW_SET],
        "area_ids": [",".join(treated), ",".join(placebo)],
        "start": [periods[measure_start_index]] * 2, "end": [end, end],
        "policy_field": ["work", "education"]},
        geometry=[union["M1"], union["M2"]], crs=plr.crs)
    planted = {"M1": {"indicator": "unemployment_rate", "effect": float(effect),
                      "start": periods[measure_start_index], "areas": list(treated)},
               "M2": {"indicator": "child_poverty_rate", "effect": 0.0,
                      "start": periods[measure_start_index], "areas": list(placebo)}}

    last_old = block_counts[block_counts["period"] == baseline].set_index("block_id")["population"]
    cw = panel_blocks.assign(w=panel_blocks["block_id"].map(last_old).astype("float64"))
    cw = cw.groupby(["area_id_old", "area_id_new"])["w"].sum().reset_index()
    total = cw.groupby("area_id_old")["w"].transform("sum")
    cw["share"] = np.where(total > 0, cw["w"] / total.where(total > 0, 1.0), 0.0)
    crosswalk = cw.rename(columns={"area_id_old": "old_id", "area_id_new": "new_id"})[
        ["old_id", "new_id", "share"]]
    crosswalk = crosswalk[crosswalk["share"] > 0].reset_index(drop=True)

    area_sets = pd.DataFrame({
        "area_set": [OLD_SET, NEW_SET],
        "label_en": ["Planning areas until " + periods[change_index - 1],
                     "Planning areas from " + change_period],
        "label_de": ["Planungsräume bis " + periods[change_index - 1],
                     "Planungsräume ab " + change_period],
        "valid_from": [periods[0], change_period], "valid_to": [periods[change_index - 1], None]})
    for frame, name in ((areas_old, "areas_old"), (areas_new, "areas_new"),
                        (panel_blocks, "blocks"), (measures, "measures")):
        frame.attrs["layer_name"] = name
    return MonitoringPanel(
        periods=periods, change_period=change_period, areas_old=areas_old, areas_new=areas_new,
        area_sets=area_sets, blocks=panel_blocks, block_counts=block_counts,
        observations=published, observations_new=obs_new, indicators=catalogue, goals=goals,
        measures=measures, planted_effect=planted, crosswalk=crosswalk, seed=seed,
        diagnostics={"split": sorted(split), "merged": merged, "shifted": shifted,
                     "n_old": len(areas_old), "n_new": len(areas_new),
                     "n_changed": int(areas_new["boundary_changed"].sum())})
