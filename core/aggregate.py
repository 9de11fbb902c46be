"""Aggregate small units (blocks) to planning areas: sum counts, recompute rates.

A block goes to the planning area it overlaps most (by area); a block without any areal
overlap (a point, a sliver on the boundary, a block drawn slightly outside) falls back to
the area containing its representative point; blocks in neither case are reported as
outside. Counts are summed per area; rates are recomputed from the summed numerators and
denominators with ``core.rates`` — never averaged — and carry their base and a small-base
flag, so a reader sees which rates rest on too few residents.

Rate definitions use a planner-friendly text syntax (see ``parse_rates``)::

    unemployment_rate = unemployed_2022 / pop_18_64_2022 * 100;
    child_poverty = children_transfer_2022 / (pop_0_5_2022 + pop_6_14_2022)
"""
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from . import rates as rates_module
from .errors import InputError
from .feedback import ensure_feedback
from .i18n import tr
from .geometry_repair import repair_geometries
from .values import format_value, rate_like
from .validate import (layer_name, numeric_field, require_fields, require_not_empty,
                       require_projected, require_same_crs, require_unique,
                       warn_duplicate_features)

#: assignment methods written to the block assignment table
BY_OVERLAP = "overlap"
BY_POINT = "point"
OUTSIDE = "outside"


@dataclass
class RateSpec:
    """One rate: ``per * sum(numerator fields) / sum(denominator fields)``."""

    name: str
    numerator: list
    denominator: list
    per: float = 100.0

    def fields(self):
        """All count fields this rate needs."""
        return list(dict.fromkeys(self.numerator + self.denominator))


@dataclass
class AggregationResult:
    """Aggregated areas plus the per-block assignment and diagnostics."""

    areas: gpd.GeoDataFrame
    assignment: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_RATE_RE = re.compile(
    r"^\s*(?P<name>{n})\s*=\s*(?P<num>\(?[^/]+?\)?)\s*/\s*(?P<den>\(?[^*/]+?\)?)"
    r"\s*(?:\*\s*(?P<per>[0-9]+(?:[.,][0-9]+)?)\s*)?$".format(n=_NAME))


def _field_sum(text, definition):
    """'(a + b)' or 'a' → ['a', 'b']; raises InputError on anything else."""
    inner = text.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    names = [part.strip() for part in inner.split("+")]
    if not names or not all(re.fullmatch(_NAME, n) for n in names):
        raise InputError(tr("Rate definition '{definition}' cannot be read at '{part}'. Write "
                            "field names joined by '+', e.g. 'child_poverty = children_transfer "
                            "/ (pop_0_5 + pop_6_14) * 100'.", definition=definition.strip(),
                            part=text.strip()))
    return names


def parse_rates(text):
    """Parse rate definitions: ``name = numerator / denominator [* per]``, separated by ``;``
    or new lines. Numerator and denominator are a field or a sum of fields in brackets;
    ``per`` defaults to 100 (percent).

    Parameters
    ----------
    text : str or None
        E.g. ``"unemployment_rate = unemployed / pop_18_64 * 100; transfer_rate =
        transfer_recipients / pop"``.

    Returns
    -------
    list of RateSpec
    """
    if text is None:
        return []
    specs = []
    for definition in re.split(r"[;\n]", str(text)):
        if not definition.strip():
            continue
        match = _RATE_RE.match(definition)
        if not match:
            raise InputError(tr("Rate definition '{definition}' cannot be read. Write "
                                "'name = numerator / denominator * 100', several separated by ';', "
                                "e.g. 'unemployment_rate = unemployed / pop_18_64 * 100'.",
                                definition=definition.strip()))
        per = match.group("per")
        specs.append(RateSpec(match.group("name"), _field_sum(match.group("num"), definition),
                              _field_sum(match.group("den"), definition),
                              float(per.replace(",", ".")) if per else 100.0))
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(tr("Rate name '{name}' is defined twice; give every rate its own name.",
                            name=duplicated[0]))
    return specs


def _pairs(tree_geoms, query_geoms, predicate):
    """(query positions, tree positions) of intersecting pairs on geopandas 0.12 and 1.x."""
    sindex = tree_geoms.sindex
    geoms = np.asarray(query_geoms.values, dtype=object) if hasattr(query_geoms, "values") else query_geoms
    if int(gpd.__version__.split(".")[0]) >= 1:
        result = sindex.query(geoms, predicate=predicate)
    else:
        result = sindex.query_bulk(geoms, predicate=predicate)
    return np.asarray(result[0], dtype=np.int64), np.asarray(result[1], dtype=np.int64)


def _as_count(values, *sources):
    """Sums of integer fields stay integers (nullable ``Int64``); otherwise float."""
    if all(pd.api.types.is_integer_dtype(source.dtype) for source in sources):
        return pd.array(np.round(values), dtype="float64").astype("Int64")
    return values


def assign_blocks(blocks, areas, area_id_field, blocks_name=None, areas_name=None, feedback=None):
    """Assign every block to one planning area.

    Largest areal overlap wins; blocks without areal overlap fall back to the area that
    contains their representative point; the rest are ``outside``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``blocks``: ``area_id`` (missing when outside), ``method``
        (``overlap``/``point``/``outside``) and ``overlap_share`` (share of the block's area
        inside the chosen area; 1.0 for point assignments of point blocks).
    """
    feedback = ensure_feedback(feedback)
    require_same_crs(blocks, areas, blocks_name, areas_name)
    # overlap shares compare areas: in degrees they are distorted, so refuse as all area work does
    require_projected(areas, areas_name)
    n = len(blocks)
    area_ids = areas[area_id_field].to_numpy(dtype=object)
    chosen = np.full(n, -1, dtype=np.int64)
    share = np.full(n, np.nan)
    method = np.full(n, OUTSIDE, dtype=object)

    block_geoms = blocks.geometry.reset_index(drop=True)
    area_geoms = areas.geometry.reset_index(drop=True)
    valid = ~(block_geoms.isna() | block_geoms.is_empty).to_numpy()
    block_area = np.where(valid, block_geoms.area.to_numpy(), 0.0)

    # fast path: a polygon lying wholly inside one area needs no intersection geometry
    inner = np.flatnonzero(valid & (block_area > 0))
    if len(inner):
        wq, wt = _pairs(area_geoms, block_geoms.iloc[inner], "within")
        if len(wq):
            wq = inner[wq]
            order = np.lexsort((wt, wq))
            wq, wt = wq[order], wt[order]
            first = np.ones(len(wq), dtype=bool)
            first[1:] = wq[1:] != wq[:-1]
            chosen[wq[first]] = wt[first]
            share[wq[first]] = 1.0
            method[wq[first]] = BY_OVERLAP
    feedback.progress(0.2)
    feedback.check()

    todo = np.flatnonzero(valid & (chosen < 0))
    qi, ti = _pairs(area_geoms, block_geoms.iloc[todo], "intersects")
    qi = todo[qi]
    feedback.progress(0.3)
    if len(qi):
        left = gpd.GeoSeries(block_geoms.values[qi], crs=blocks.crs)
        right = gpd.GeoSeries(area_geoms.values[ti], crs=blocks.crs)
        overlap = left.intersection(right).area.to_numpy()
        feedback.check()
        # best pair per block: sort by block, then overlap descending, then area position
        order = np.lexsort((ti, -overlap, qi))
        qs, ts, os_ = qi[order], ti[order], overlap[order]
        first = np.ones(len(qs), dtype=bool)
        first[1:] = qs[1:] != qs[:-1]
        best_q, best_t, best_o = qs[first], ts[first], os_[first]
        positive = best_o > 0
        chosen[best_q[positive]] = best_t[positive]
        with np.errstate(divide="ignore", invalid="ignore"):
            share[best_q[positive]] = best_o[positive] / block_area[best_q[positive]]
        method[best_q[positive]] = BY_OVERLAP
    feedback.progress(0.6)

    rest = np.flatnonzero((chosen < 0) & valid)
    if len(rest):
        points = block_geoms.iloc[rest].representative_point()
        pq, pt = _pairs(area_geoms, points, "intersects")
        if len(pq):
            order = np.lexsort((pt, pq))
            pq, pt = pq[order], pt[order]
            first = np.ones(len(pq), dtype=bool)
            first[1:] = pq[1:] != pq[:-1]
            hit = rest[pq[first]]
            chosen[hit] = pt[first]
            method[hit] = BY_POINT
            polygonal = block_geoms.iloc[hit].area.to_numpy() > 0
            share[hit] = np.where(polygonal, 0.0, 1.0)
    feedback.progress(1.0)

    ids = np.where(chosen >= 0, area_ids[np.clip(chosen, 0, None)] if len(area_ids) else None, None)
    return pd.DataFrame({"area_id": pd.Series(ids, dtype=object).values, "method": method,
                         "overlap_share": share}, index=blocks.index)


def warn_odd_rate(spec, num, den, area_keys, feedback):
    """Warn about a rate whose numerator exceeds its denominator (swapped fields?) or whose
    denominator is 0 (the rate stays NULL there)."""
    with np.errstate(invalid="ignore"):
        above = (num > den) & (den > 0)
        zero = den == 0
    if above.any():
        i = int(np.flatnonzero(above)[0])
        feedback.warning(tr("Rate '{rate}': in {count} planning area(s) the numerator is larger than the "
                            "denominator (e.g. area {area}: {num} of {den}), so the rate is above "
                            "{per}. If the rate is a share of the denominator, numerator and "
                            "denominator are probably swapped.", rate=spec.name, count=int(above.sum()),
                            area=area_keys[i], num=format_value(round(float(num[i]), 1)),
                            den=format_value(round(float(den[i]), 1)),
                            per=format_value(spec.per)))
    if zero.any():
        feedback.warning(tr("Rate '{rate}': the denominator is 0 in {count} planning area(s) (e.g. "
                            "area {area}); the rate stays empty (NULL) there.", rate=spec.name,
                            count=int(zero.sum()), area=area_keys[int(np.flatnonzero(zero)[0])]))


def aggregate_to_areas(blocks, areas, area_id_field, count_fields=(), rates=None,
                       min_base=rates_module.DEFAULT_MIN_BASE, blocks_name=None,
                       areas_name=None, feedback=None):
    """Aggregate block counts to planning areas and recompute rates from the sums.

    Parameters
    ----------
    blocks : GeoDataFrame
        Small units (polygons or points) with count fields.
    areas : GeoDataFrame
        Planning areas with a unique id field; their other fields are kept.
    area_id_field : str
        Id field of ``areas``.
    count_fields : list of str
        Count fields of ``blocks`` to sum (residents, unemployed, dwellings...).
    rates : str or list of RateSpec, optional
        Rate definitions (``parse_rates`` syntax); their fields are summed as well.
    min_base : float
        Rates whose denominator is below this are flagged ``<rate>_small`` (default 300).

    Returns
    -------
    AggregationResult
        ``areas``: the planning areas with ``n_blocks``, the summed counts, and per rate
        ``<rate>`` (e.g. percent), ``<rate>_base`` (summed denominator) and
        ``<rate>_small`` (True where the base is below ``min_base``); counts are NULL for
        areas without blocks. ``assignment``: per block ``area_id``, ``method``,
        ``overlap_share``. ``diagnostics``: counts of blocks by method, blocks outside
        (their index values), areas without blocks, NULL counts per field, split blocks.
    """
    feedback = ensure_feedback(feedback)
    blocks_label = layer_name(blocks, blocks_name)
    areas_label = layer_name(areas, areas_name)
    require_not_empty(blocks, blocks_label)
    require_not_empty(areas, areas_label)
    require_fields(areas, [area_id_field], areas_label)
    if areas[area_id_field].isna().any():
        raise InputError(tr("Layer '{layer}' has {count} feature(s) without an id in field "
                            "'{field}'. Give every planning area an id.", layer=areas_label,
                            count=int(areas[area_id_field].isna().sum()), field=area_id_field))
    require_unique(areas, area_id_field, areas_label)
    # the shared repair (both lobes of a bow tie kept, a warning names the features)
    blocks = repair_geometries(blocks, blocks_label, None, feedback)
    warn_duplicate_features(blocks, blocks_label, feedback)
    areas = repair_geometries(areas, areas_label, area_id_field, feedback)
    specs = parse_rates(rates) if rates is None or isinstance(rates, str) else list(rates)
    fields = list(dict.fromkeys(list(count_fields) + [f for s in specs for f in s.fields()]))
    require_fields(blocks, fields, blocks_label)
    clashes = [f for f in fields + [s.name for s in specs] if f in areas.columns and f != area_id_field]
    values = {f: numeric_field(blocks, f, blocks_label, allow_negative=False) for f in fields}
    for f in fields:
        kind = rate_like(values[f].to_numpy())
        if kind:  # a rate summed over blocks is no number at all
            feedback.warning(tr("Field '{field}' of layer '{layer}' holds values like a {kind} (all "
                                "between 0 and {top}, with decimals, e.g. {example}), not counts: "
                                "summed, they mean nothing. Sum the numerator and the denominator and "
                                "let the parameter 'Rates from the sums' compute the rate; ignore this if they really "
                                "are counts.", field=f, layer=blocks_label,
                                kind=tr("share") if kind == "share" else tr("percentage"),
                                top=1 if kind == "share" else 100,
                                example=format_value(values[f].dropna().iloc[0])))

    assignment = assign_blocks(blocks, areas, area_id_field, blocks_label, areas_label,
                               feedback.step(0.0, 0.8))
    feedback.check()
    inside = assignment["method"].to_numpy() != OUTSIDE
    keys = assignment["area_id"].to_numpy(dtype=object)[inside]
    area_keys = areas[area_id_field].to_numpy(dtype=object)
    position = {key: i for i, key in enumerate(area_keys)}
    codes = np.fromiter((position[k] for k in keys), dtype=np.int64, count=len(keys))
    n_areas = len(areas)
    n_blocks = np.bincount(codes, minlength=n_areas)

    out = areas.drop(columns=[c for c in clashes if c in areas.columns]).copy()
    out["n_blocks"] = n_blocks.astype("int64")
    empty = n_blocks == 0
    sums = {}
    null_counts = {}
    null_areas = {}
    for f in fields:
        v = values[f].to_numpy()[inside]
        missing = np.isnan(v)
        null_counts[f] = int(np.isnan(values[f].to_numpy()).sum())
        null_areas[f] = [area_keys[i] for i in np.unique(codes[missing])]
        # float even when no block lies inside (numpy gives int64 for an empty input)
        total = np.bincount(codes, weights=np.where(missing, 0.0, v), minlength=n_areas).astype("float64")
        known = np.bincount(codes, weights=(~missing).astype("float64"), minlength=n_areas)
        total[known == 0] = np.nan  # no block, or only NULLs: unknown, not zero
        sums[f] = total
        out[f] = _as_count(total, blocks[f])
    for spec in specs:
        num = np.sum([sums[f] for f in spec.numerator], axis=0)
        den = np.sum([sums[f] for f in spec.denominator], axis=0)
        out[spec.name] = rates_module.rate(num, den, per=spec.per)
        out[spec.name + "_base"] = _as_count(den, *[blocks[f] for f in spec.denominator])
        out[spec.name + "_small"] = rates_module.small_base(den, min_base)
        warn_odd_rate(spec, num, den, area_keys, feedback)
    feedback.progress(1.0)

    methods = assignment["method"]
    outside_ids = list(blocks.index[~inside])
    split = int(((assignment["overlap_share"] < 0.99) & (methods == BY_OVERLAP)).sum())
    diagnostics = {
        "n_blocks": len(blocks),
        "n_by_overlap": int((methods == BY_OVERLAP).sum()),
        "n_by_point": int((methods == BY_POINT).sum()),
        "n_outside": len(outside_ids),
        "outside_blocks": outside_ids,
        "n_split_blocks": split,
        "areas_without_blocks": list(area_keys[empty]),
        "null_counts": {k: v for k, v in null_counts.items() if v},
        "replaced_area_fields": clashes,
        "rates": [s.name for s in specs],
        "n_small_base": {s.name: int(out[s.name + "_small"].sum()) for s in specs},
    }
    if outside_ids:
        feedback.warning(tr("{count} block(s) of layer '{layer}' lie outside every planning area "
                            "and are not counted (e.g. feature {feature}). Check that both layers "
                            "cover the same territory.", count=len(outside_ids),
                            layer=blocks_label, feature=outside_ids[0]))
    if split:
        feedback.info(tr("{count} block(s) straddle a planning-area boundary; each went whole to "
                         "the area it overlaps most.", count=split))
    for f, count in diagnostics["null_counts"].items():
        # which areas: the planner has to look there (or fill the blocks) before mapping the sums
        hit = null_areas[f]
        feedback.warning(tr("Field '{field}' of layer '{layer}' has {count} NULL value(s); they count as "
                            "missing, so the sums (and rates from them) of {n} planning area(s) of '{areas}' "
                            "may be too low (e.g. {examples}). Fill the blocks' values if they are known "
                            "(e.g. 0), or mark these areas as incomplete.", field=f, layer=blocks_label,
                            count=count, n=len(hit), areas=areas_label,
                            examples=", ".join(str(k) for k in hit[:5]) or "–"))
    if diagnostics["areas_without_blocks"]:
        feedback.info(tr("{count} planning area(s) received no block; their counts and rates "
                         "stay empty (NULL).", count=len(diagnostics["areas_without_blocks"])))
    return AggregationResult(out, assignment, diagnostics)
