"""Boundary changes (Rückrechnung): move counts from one area set onto another.

Three ways to build the crosswalk (old id, new id, share of the old area's count that goes
to the new area), best first:

- ``blocks``: small units (statistical blocks, Zensus cells) with a weight (residents,
  dwellings, children). Each unit's weight is split onto the pieces old ∩ new by its area
  (units are small, so the assumption 'even within a unit' costs little); a unit given as a
  point (a Zensus cell centre) falls wholly into its piece.
- ``crosswalk``: a table from the statistical office (old id, new id, share).
- ``area``: area weights, the last resort (moves residents into parks and water).

Counts are moved with the shares; rates are recomputed from their moved numerator and
denominator, never averaged. A rate, share or average given without its counts (a published
percentage) is recomputed from two count indicators the catalogue names, or else left out
with the reason: summed like a count it would be wrong. An old area that (within ``unchanged_tolerance``) is the same
as one new area moves with share exactly 1, so unchanged areas come out exact. Every moved
value is flagged with the method and the share of it that was estimated (came from old
areas that were split).

The overlap itself uses the exact overlay engine (:mod:`core.overlay.interpolate`).
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from .. import validate
from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import tr
from ..overlay.interpolate import overlap_table
from ..values import to_numbers
from . import schema

METHODS = schema.REBASE_METHODS
# mean width (2 × area / perimeter, metres) below which a small piece old ∩ new is a
# digitising sliver, not a real transfer of land between areas
SLIVER_WIDTH = 1.0


@dataclass
class CrosswalkOptions:
    """How to build a crosswalk between two area sets.

    Attributes
    ----------
    method : str
        ``"blocks"`` (units with a weight), ``"area"`` (area weights).
    units : GeoDataFrame, optional
        Small units (polygons or points) for ``"blocks"``.
    weight_field : str, optional
        Field of ``units`` with the weight (e.g. residents); without it, unit areas.
    unchanged_tolerance : float
        An old and a new area whose symmetric difference is at most this share of either
        area are 'unchanged': share exactly 1. A piece old ∩ new below this share of both
        areas is a digitising sliver and is ignored (the old area's other shares are
        renormalised).
    """

    method: str = "blocks"
    units: object = None
    weight_field: str = None
    unchanged_tolerance: float = 0.005


@dataclass
class RebaseResult:
    """Moved observations, the crosswalk used and the change flag per target area."""

    observations: pd.DataFrame
    crosswalk: pd.DataFrame
    areas: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


def _ids(frame, id_field, name):
    """Area ids as text, unique and complete."""
    validate.require_fields(frame, [id_field], name)
    from .store import _id_text

    ids = _id_text(frame[id_field])
    if ids.isna().any() or ids.duplicated().any():
        bad = ids[ids.isna() | ids.duplicated(keep=False)].astype(object).fillna("NULL").unique()[:5]
        raise InputError(tr("Field '{field}' of layer '{layer}' must identify each area once "
                            "(empty or repeated: {values}); choose an id field.",
                            field=id_field, layer=name, values=", ".join(map(str, bad))))
    return ids.to_numpy()


def _prepared(frame, name, crs=None):
    """Polygons checked, repaired and (if needed) in ``crs``."""
    validate.require_not_empty(frame, name)
    validate.require_crs(frame, name)
    if crs is not None and frame.crs != crs:
        from ..geometry_arrays import reproject

        frame = frame.set_geometry(reproject(frame.geometry, crs))
    validate.require_projected(frame, name)
    return validate.require_valid_geometries(frame, name, repair=True)


def _unchanged_pairs(old_area, new_area, ia, ib, inter, tolerance):
    """Pairs (old, new) that are the same area within the tolerance."""
    sym_diff = old_area[ia] + new_area[ib] - 2 * inter
    same = sym_diff <= tolerance * np.minimum(old_area[ia], new_area[ib])
    return ia[same], ib[same]


def build_crosswalk(old_areas, new_areas, old_id, new_id, options=None, feedback=None):
    """Crosswalk from one area set to another.

    Parameters
    ----------
    old_areas, new_areas : GeoDataFrame
        The two boundary versions (any projected CRS; ``new_areas`` is reprojected to the
        CRS of ``old_areas`` if they differ).
    old_id, new_id : str
        Id fields.
    options : CrosswalkOptions, optional
        Method, units and weight (default: ``blocks`` needs ``units``).
    feedback : core.feedback.Feedback, optional

    Returns
    -------
    DataFrame
        ``old_id``, ``new_id``, ``share`` (of the old area's count; sums to 1 per old area
        with any overlap), ``weight`` (the units' weight in the piece), ``method``
        (``blocks`` or ``area`` for old areas without unit weight), ``unchanged`` (bool: the
        same area in both sets) and ``exact`` (the old area lies wholly in the new one).
    """
    feedback = ensure_feedback(feedback)
    options = options or CrosswalkOptions()
    if options.method not in ("blocks", "area"):
        raise InputError(tr("Unknown crosswalk method '{value}'; use 'blocks' or 'area' (or give "
                            "a crosswalk table).", value=options.method))
    old_name = validate.layer_name(old_areas, fallback=tr("old areas"))
    new_name = validate.layer_name(new_areas, fallback=tr("new areas"))
    old = _prepared(old_areas, old_name)
    new = _prepared(new_areas, new_name, old.crs)
    o_ids, n_ids = _ids(old, old_id, old_name), _ids(new, new_id, new_name)
    old_area = np.asarray(old.geometry.area, dtype="float64")
    new_area = np.asarray(new.geometry.area, dtype="float64")
    # the pieces' geometry is kept for the blocks and for telling slivers by their width
    ia, ib, inter, pieces = overlap_table(old.geometry, new.geometry, feedback.step(0.0, 0.4),
                                          keep_geometry=True)
    if len(ia) == 0:
        raise InputError(tr("Layers '{old}' and '{new}' do not overlap. Check their CRS and extent.",
                            old=old_name, new=new_name))
    weight = inter.copy()
    method = np.full(len(ia), "area", dtype=object)
    if options.method == "blocks":
        if options.units is None:
            raise InputError(tr("The 'blocks' method needs a layer of small units (blocks or grid "
                                "cells) with a weight such as residents."))
        weight, has_units = _unit_weights(options, old.crs, pieces, ia, len(o_ids), feedback.step(0.4, 0.9))
        # old areas without any unit weight fall back to area weights (flagged as 'area')
        fallback = ~has_units[ia]
        weight = np.where(fallback, inter, weight)
        method = np.where(fallback, "area", "blocks").astype(object)
    total = np.bincount(ia, weights=weight, minlength=len(o_ids))
    share = np.divide(weight, total[ia], out=np.zeros(len(ia)), where=total[ia] > 0)
    # unchanged areas: share exactly 1, slivers dropped (from both sides)
    uo, un = _unchanged_pairs(old_area, new_area, ia, ib, inter, options.unchanged_tolerance)
    unchanged = np.zeros(len(ia), dtype=bool)
    # an old area wholly inside one new area moves exactly (a merge), whatever the method
    contained = inter >= (1.0 - options.unchanged_tolerance) * old_area[ia]
    if len(uo):
        old_same = np.zeros(len(o_ids), dtype=bool)
        new_same = np.zeros(len(n_ids), dtype=bool)
        old_same[uo] = True
        new_same[un] = True
        pair = set(zip(uo.tolist(), un.tolist()))
        unchanged = np.array([(a, b) in pair for a, b in zip(ia.tolist(), ib.tolist())])
        drop = (old_same[ia] | new_same[ib]) & ~unchanged
        share = np.where(unchanged, 1.0, share)
        keep = ~drop
        ia, ib, inter, pieces, share, weight, method, unchanged, contained = (
            ia[keep], ib[keep], inter[keep], pieces[keep], share[keep], weight[keep], method[keep],
            unchanged[keep], contained[keep])
        # the others of an old area that lost a sliver to an unchanged new area: renormalise
        sums = np.bincount(ia, weights=share, minlength=len(o_ids))
        share = np.divide(share, sums[ia], out=np.zeros(len(ia)), where=sums[ia] > 0)
    # digitising slivers between the two boundary versions elsewhere too: a piece below the
    # tolerance of both its old and its new area and thinner than SLIVER_WIDTH on average
    # (Berlin: 13 m² of a Mitte area 'in' Charlottenburg, median width 0.1 m) is no
    # correspondence; a small but real transfer (a block, a street) is wider and stays. An
    # area made only of such pieces keeps them.
    tol = options.unchanged_tolerance
    sliver = (inter < tol * old_area[ia]) & (inter < tol * new_area[ib]) & ~unchanged
    if sliver.any():
        import geopandas as gpd

        perimeter = np.asarray(gpd.GeoSeries(list(pieces[sliver])).length, dtype="float64")
        sliver[sliver] = 2.0 * inter[sliver] < SLIVER_WIDTH * perimeter
    solid_old = np.bincount(ia, weights=(~sliver).astype("float64"), minlength=len(o_ids)) > 0
    solid_new = np.bincount(ib, weights=(~sliver).astype("float64"), minlength=len(n_ids)) > 0
    sliver &= solid_old[ia] & solid_new[ib]
    if sliver.any():
        keep = ~sliver
        ia, ib, inter, share, weight, method, unchanged, contained = (
            ia[keep], ib[keep], inter[keep], share[keep], weight[keep], method[keep], unchanged[keep],
            contained[keep])
        sums = np.bincount(ia, weights=share, minlength=len(o_ids))
        share = np.divide(share, sums[ia], out=np.zeros(len(ia)), where=sums[ia] > 0)
    feedback.progress(1.0)
    # zero shares are dropped, except where a new area gets nothing at all (it stays, with 0)
    gets = np.zeros(len(n_ids), dtype=bool)
    gets[ib[share > 0]] = True
    keep = (share > 0) | ~gets[ib]
    exact = unchanged | contained
    out = pd.DataFrame({"old_id": o_ids[ia[keep]], "new_id": n_ids[ib[keep]], "share": share[keep],
                        "weight": weight[keep], "method": method[keep], "unchanged": unchanged[keep],
                        "exact": exact[keep]})
    out = out.sort_values(["old_id", "new_id"], kind="stable").reset_index(drop=True)
    out.attrs["slivers_ignored"] = int(sliver.sum())
    return out


def _unit_weights(options, crs, pieces, ia, n_old, feedback):
    """Weight of the small units in every piece old ∩ new, and which old areas have units."""
    import geopandas as gpd

    units = options.units
    name = validate.layer_name(units, fallback=tr("small units"))
    validate.require_not_empty(units, name)
    validate.require_crs(units, name)
    if units.crs != crs:
        from ..geometry_arrays import reproject

        units = units.set_geometry(reproject(units.geometry, crs))
    if options.weight_field:
        w = validate.numeric_field(units, options.weight_field, name, allow_negative=False)
        w = w.fillna(0.0).to_numpy(dtype="float64")
    else:
        w = None
    piece_series = gpd.GeoSeries(list(pieces), crs=crs)
    kinds = set(units.geometry.geom_type.dropna().unique())
    if kinds <= {"Point", "MultiPoint"}:
        w = np.ones(len(units)) if w is None else w
        hit = gpd.sjoin(gpd.GeoDataFrame({"w": w}, geometry=units.geometry.values, crs=crs),
                        gpd.GeoDataFrame(geometry=piece_series.values, crs=crs),
                        how="inner", predicate="within")
        hit = hit[~hit.index.duplicated()]  # a point on a shared edge counts once
        piece_weight = np.bincount(hit["index_right"].to_numpy(), weights=hit["w"].to_numpy(),
                                   minlength=len(piece_series))
    else:
        units = validate.require_valid_geometries(units, name, repair=True)
        u_area = np.asarray(units.geometry.area, dtype="float64")
        w = u_area if w is None else w
        density = np.divide(w, u_area, out=np.zeros(len(w)), where=u_area > 0)
        ju, jp, part, _ = overlap_table(units.geometry, piece_series, feedback)
        piece_weight = np.bincount(jp, weights=density[ju] * part, minlength=len(piece_series))
    has_units = np.bincount(ia, weights=piece_weight, minlength=n_old) > 0
    return piece_weight, has_units


def crosswalk_from_table(table, old_col="old_id", new_col="new_id", share_col="share"):
    """A crosswalk given by the statistical office, checked (shares sum to 1 per old id)."""
    validate.require_fields(table, [old_col, new_col, share_col], "crosswalk")
    from .store import _id_text

    share = validate.numeric_field(table, share_col, "crosswalk", allow_negative=False).to_numpy(dtype="float64")
    out = pd.DataFrame({"old_id": _id_text(table[old_col]).to_numpy(),
                        "new_id": _id_text(table[new_col]).to_numpy(), "share": share})
    sums = out.groupby("old_id")["share"].sum()
    bad = sums[(sums - 1.0).abs() > 1e-6]
    if len(bad):
        raise InputError(tr("The shares of the crosswalk must sum to 1 for every old area; they "
                            "do not for {count} area(s) (first: {area} sums to {value:.4f}).",
                            count=len(bad), area=bad.index[0], value=float(bad.iloc[0])))
    out["weight"] = np.nan
    out["method"] = "crosswalk"
    counts_old = out.groupby("old_id")["new_id"].transform("size")
    counts_new = out.groupby("new_id")["old_id"].transform("size")
    out["unchanged"] = (counts_old == 1) & (counts_new == 1)
    out["exact"] = out["share"] == 1.0
    return out


# Words of an indicator's name or unit that mark a rate, share or average: summed like a count
# it would be wrong (a sum of percentages is no percentage), so it is never moved as one
_NOT_COUNT_WORDS = {"percent", "percentage", "prozent", "anteil", "quote", "rate", "share", "ratio",
                    "index", "mean", "average", "durchschnitt", "median", "dichte", "density", "pct",
                    "%", "‰", "per", "je", "pro", "quotient", "score"}
_NOT_COUNT_ENDINGS = ("quote", "anteil", "rate", "dichte", "prozent")
_COUNT_UNITS = {"count", "counts", "number", "persons", "people", "residents", "anzahl", "personen",
                "einwohner", "fälle", "faelle", "cases", "households", "haushalte", "dwellings",
                "wohnungen", "children", "kinder"}


def _not_count_word(text):
    """The word of ``text`` that marks a rate, share or average, or None."""
    import re

    for word in re.split(r"[^0-9a-zäöüß%‰]+", str(text or "").lower()):
        if word in _NOT_COUNT_WORDS or (len(word) > 6 and word.endswith(_NOT_COUNT_ENDINGS)):
            return word
    return None


def _catalogue_frame(catalogue):
    """The catalogue (checked by :func:`_catalogue_lookup`) indexed by indicator; empty without one."""
    if catalogue is None or len(catalogue) == 0:
        return pd.DataFrame()
    frame = pd.DataFrame(catalogue).drop_duplicates("indicator")
    return frame.set_index(frame["indicator"].astype(str))


def _entry(frame, indicator, column):
    """Text of a catalogue cell ('' where absent)."""
    if frame.empty or column not in frame.columns or indicator not in frame.index:
        return ""
    value = frame.at[indicator, column]
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()


def _sort_value_indicators(counts, catalogue, scale):
    """Indicators without counts in their rows: ``(derived, left_out)``.

    ``derived`` maps a rate to ``(numerator indicator, denominator indicator, scale)`` where
    the catalogue names two count indicators present here (it is computed from them after
    they moved); ``left_out`` maps an indicator that is a rate, share or average with no way
    to recompute it to the reason. Every other indicator is moved as a count. The catalogue's
    ``unit`` decides first (a count unit such as 'persons' keeps an indicator a count);
    without it the name, and then the values (mostly fractions, all within 0–100), tell.
    ``scale`` is the catalogue's scale per indicator (:func:`_catalogue_lookup`).
    """
    frame = _catalogue_frame(catalogue)
    present = set(counts["indicator"].astype(str))
    derived, left_out = {}, {}
    for indicator, rows in counts.groupby("indicator", sort=True):
        indicator = str(indicator)
        num, den = _entry(frame, indicator, "numerator"), _entry(frame, indicator, "denominator")
        unit = _entry(frame, indicator, "unit")
        if num in present and den in present and indicator not in (num, den):
            derived[indicator] = (num, den, scale.get(indicator, np.nan))
            continue
        if unit.lower() in _COUNT_UNITS:
            continue
        word = _not_count_word(unit) if unit else None
        if word is not None:
            left_out[indicator] = tr("unit '{unit}'", unit=unit)
            continue
        if unit:
            continue  # a declared unit that names no rate: the planner's word counts
        word = _not_count_word(indicator)
        if word is not None:
            left_out[indicator] = tr("'{word}' in its name", word=word)
            continue
        values = pd.to_numeric(rows["value"], errors="coerce").dropna().to_numpy(dtype="float64")
        if len(values) and (values != np.round(values)).mean() >= 0.5 and values.min() >= 0 and values.max() <= 100:
            left_out[indicator] = tr("its values: mostly fractions between 0 and 100")
    for indicator, (num, den, _) in list(derived.items()):
        if num in left_out or den in left_out:  # its counts cannot move either
            left_out[indicator] = tr("its counts '{numerator}' / '{denominator}' are not counts",
                                     numerator=num, denominator=den)
            del derived[indicator]
    return derived, left_out


def _derive_rates(moved, derived, observations):
    """Rates computed on the new areas from their two moved count indicators."""
    rows = []
    old = None  # the old areas' values side by side, built once where a scale is to be read off
    for indicator, (num, den, scale) in derived.items():
        n = moved[moved["indicator"] == num].set_index(["area_id", "period"])
        d = moved[moved["indicator"] == den].set_index(["area_id", "period"])
        keys = n.index.intersection(d.index)
        if np.isnan(scale):  # from the old areas: value ≈ scale × num / den
            if old is None:
                old = observations.pivot_table(index=["area_id", "period"], columns="indicator", values="value",
                                               aggfunc="first")
            if {indicator, num, den} <= set(old.columns):
                guess = pd.DataFrame({"indicator": indicator, "value": old[indicator],
                                      "numerator": old[num], "denominator": old[den]}).dropna()
                scale = _infer_scale(guess).get(indicator, 1.0)
            else:
                scale = 1.0
        numerator = n.loc[keys, "value"].to_numpy(dtype="float64")
        denominator = d.loc[keys, "value"].to_numpy(dtype="float64")
        rows.append(pd.DataFrame({
            "area_id": keys.get_level_values(0), "indicator": indicator, "period": keys.get_level_values(1),
            "value": np.divide(numerator * scale, denominator, out=np.full(len(keys), np.nan),
                               where=denominator > 0),
            "numerator": numerator, "denominator": denominator,
            "estimated_share": np.maximum(n.loc[keys, "estimated_share"].to_numpy(dtype="float64"),
                                          d.loc[keys, "estimated_share"].to_numpy(dtype="float64"))}))
    return rows


def rebase_observations(observations, crosswalk, to_set, catalogue=None, feedback=None):
    """Move observations onto another area set with a crosswalk.

    Parameters
    ----------
    observations : DataFrame
        Long form (store columns): ``area_id``, ``indicator``, ``period``, ``value`` and, for
        rates, ``numerator`` and ``denominator``.
    crosswalk : DataFrame
        From :func:`build_crosswalk` or :func:`crosswalk_from_table`.
    to_set : str
        Name of the target area set (written into ``area_set``).
    catalogue : DataFrame, optional
        Indicator catalogue: ``scale`` of rates and ``min_base`` (small-base flag); for an
        indicator given without counts, ``numerator`` and ``denominator`` naming two count
        indicators (the rate is recomputed from them on the new areas) or a ``unit``.
    feedback : core.feedback.Feedback, optional

    Returns
    -------
    RebaseResult
        ``diagnostics['left_out']`` names the rates, shares and averages given without
        their counts (not moved: summing them would be wrong) and why they were taken as such.
    """
    feedback = ensure_feedback(feedback)
    from .store import _id_text

    obs = pd.DataFrame(observations).copy()
    validate.require_fields(obs, ["area_id", "indicator", "period", "value"], "observations")
    for col in ("numerator", "denominator"):
        if col not in obs.columns:
            obs[col] = np.nan
    obs["area_id"] = _id_text(obs["area_id"]).to_numpy()
    obs["period"] = _id_text(obs["period"]).to_numpy()
    old_ids = np.array(sorted(set(crosswalk["old_id"])), dtype=object)
    new_ids = np.array(sorted(set(crosswalk["new_id"])), dtype=object)
    unknown = sorted(set(obs["area_id"]) - set(old_ids))
    if unknown:
        raise InputError(tr("{count} area id(s) of the observations are not in the crosswalk "
                            "(first: {ids}). Check the area set and the id field.",
                            count=len(unknown), ids=", ".join(unknown[:5])))
    o_pos = pd.Index(old_ids).get_indexer(crosswalk["old_id"])
    n_pos = pd.Index(new_ids).get_indexer(crosswalk["new_id"])
    share = crosswalk["share"].to_numpy(dtype="float64")
    S = sparse.csr_matrix((share, (n_pos, o_pos)), shape=(len(new_ids), len(old_ids)))
    # estimated: the part coming from old areas that were split (share < 1)
    exact = crosswalk["exact"].to_numpy(dtype=bool) if "exact" in crosswalk.columns else share >= 1.0
    split = sparse.csr_matrix((np.where(exact, 0.0, share), (n_pos, o_pos)),
                              shape=(len(new_ids), len(old_ids)))
    unchanged_new = set(crosswalk.loc[crosswalk["unchanged"].astype(bool), "new_id"]) \
        if "unchanged" in crosswalk.columns else set()
    method_of = crosswalk.groupby("new_id")["method"].agg(lambda m: "blocks" if (m == "blocks").any()
                                                          else m.iloc[0]).reindex(new_ids)

    scale, min_base = _catalogue_lookup(catalogue)
    is_rate = obs["numerator"].notna() | obs["denominator"].notna()
    parts = []
    # columns to move: (indicator, period) × {value | numerator, denominator}
    counts = obs[~is_rate]
    rates = obs[is_rate]
    missing = obs[is_rate & (obs["numerator"].isna() | obs["denominator"].isna())]
    if len(missing):
        row = missing.iloc[0]
        raise InputError(tr("Rate '{indicator}' (area {area}, period {period}) lacks its "
                            "numerator or denominator: rates are moved as their two counts, never "
                            "averaged. Give both counts.", indicator=row["indicator"],
                            area=row["area_id"], period=row["period"]))
    derived, left_out = _sort_value_indicators(counts, catalogue, scale)
    counts = counts[~counts["indicator"].astype(str).isin(set(derived) | set(left_out))]
    if counts.empty and rates.empty and not derived:
        raise InputError(tr("Nothing can be moved: every indicator is a rate, share or average without "
                            "its counts ({indicators}). Give numerator and denominator per row, or name "
                            "the two count indicators in the indicator catalogue (columns numerator, "
                            "denominator), or declare a count with the catalogue's unit (e.g. 'persons').",
                            indicators=", ".join(f"{k}: {v}" for k, v in left_out.items())))
    for kind, frame, fields in (("count", counts, ("value",)), ("rate", rates, ("numerator", "denominator"))):
        if frame.empty:
            continue
        moved = {}
        for f in fields:
            wide = frame.pivot_table(index="area_id", columns=["indicator", "period"], values=f,
                                     aggfunc="first", dropna=False)
            wide = wide.reindex(old_ids)
            values = wide.to_numpy(dtype="float64")
            nan = np.isnan(values)
            filled = np.where(nan, 0.0, values)
            out = S @ filled
            # a target that receives any share from a missing value is missing
            touched = (S != 0).astype("float64") @ nan.astype("float64")
            out[touched > 0] = np.nan
            est = split @ filled
            moved[f] = (wide.columns, out, est)
            feedback.check()
        cols, first, est = moved[fields[0]]
        n_cols = len(cols)
        long = pd.DataFrame({
            "area_id": np.repeat(new_ids, n_cols),
            "indicator": np.tile(cols.get_level_values(0).to_numpy(dtype=object), len(new_ids)),
            "period": np.tile(cols.get_level_values(1).to_numpy(dtype=object), len(new_ids))})
        if kind == "count":
            long["value"] = first.ravel()
            long["numerator"] = np.nan
            long["denominator"] = np.nan
            base = first.ravel()
        else:
            num = first.ravel()
            den = moved["denominator"][1].ravel()
            est = moved["denominator"][2]
            sc = long["indicator"].map(scale).to_numpy(dtype="float64")
            guess = _infer_scale(rates)
            sc = np.where(np.isnan(sc), long["indicator"].map(guess).to_numpy(dtype="float64"), sc)
            long["numerator"] = num
            long["denominator"] = den
            long["value"] = np.divide(num * sc, den, out=np.full(len(den), np.nan), where=den > 0)
            base = den
        est_part = est.ravel()
        long["estimated_share"] = np.divide(np.abs(est_part), np.abs(base), out=np.zeros(len(base)),
                                            where=np.abs(base) > 0).clip(0.0, 1.0)
        parts.append(long)
    if derived:
        parts += _derive_rates(pd.concat(parts, ignore_index=True), derived, obs)
    result = pd.concat(parts, ignore_index=True)
    result = result[result[["value", "numerator", "denominator"]].notna().any(axis=1) |
                    result["area_id"].isin(new_ids)]
    changed = ~result["area_id"].isin(unchanged_new)
    result["area_set"] = str(to_set)
    result["suppressed"] = False
    mb = result["indicator"].map(min_base).astype("float64")
    result["small_base"] = (result["denominator"] < mb).fillna(False).astype(bool)
    result["estimated"] = changed & (result["estimated_share"] > 0)
    result["rebased_method"] = result["area_id"].map(method_of).astype(object)
    result.loc[~changed, "estimated_share"] = 0.0
    cols = schema.columns("observations")
    result = result[cols].sort_values(["indicator", "area_id", "period"], kind="stable").reset_index(drop=True)
    areas = pd.DataFrame({"area_id": new_ids, "boundary_changed": [a not in unchanged_new for a in new_ids],
                          "sources": crosswalk.groupby("new_id")["old_id"].agg(
                              lambda s: ",".join(sorted(s))).reindex(new_ids).to_numpy(),
                          "method": method_of.to_numpy()})
    feedback.progress(1.0)
    return RebaseResult(observations=result, crosswalk=crosswalk, areas=areas,
                        diagnostics={"n_old": len(old_ids), "n_new": len(new_ids),
                                     "n_unchanged": len(unchanged_new), "rows": len(result),
                                     "left_out": left_out, "derived": sorted(derived)})


def _catalogue_lookup(catalogue):
    """Scale and minimum base per indicator from a catalogue."""
    if catalogue is None or len(catalogue) == 0:
        return {}, {}
    frame = pd.DataFrame(catalogue)
    if "indicator" not in frame.columns:  # another layer chosen as the catalogue: a message, no KeyError
        raise InputError(tr("The indicator catalogue '{layer}' has no column 'indicator' (columns: "
                            "{columns}). Choose an indicator catalogue (indicator, scale, min_base …) "
                            "or leave the parameter empty.", layer=validate.layer_name(catalogue),
                            columns=", ".join(str(c) for c in frame.columns) or "–"))
    # a catalogue may leave out either column (a plain CSV with indicator, unit …); from a German
    # spreadsheet '1.000' is a thousand (per 1,000 residents), never 1.0
    def column(name):
        if name not in frame.columns:
            return np.full(len(frame), np.nan)
        layer = validate.layer_name(catalogue, fallback=tr("indicator catalogue"))
        return to_numbers(frame[name], field=name, layer=layer, whole_numbers=True)[0].to_numpy(dtype="float64")

    scale = dict(zip(frame["indicator"].astype(str), column("scale")))
    base = dict(zip(frame["indicator"].astype(str), column("min_base")))
    return scale, base


def _infer_scale(rates):
    """Scale of each rate (1, 100, 1000...) from its rows: value ≈ scale × num / den."""
    ok = (rates["numerator"] > 0) & (rates["denominator"] > 0) & rates["value"].notna()
    ratio = rates.loc[ok, "value"] * rates.loc[ok, "denominator"] / rates.loc[ok, "numerator"]
    med = ratio.groupby(rates.loc[ok, "indicator"]).median()
    # snap to a power of ten: the scale is a unit choice, not an estimate
    return {k: float(10 ** np.round(np.log10(v))) if v > 0 else 1.0 for k, v in med.items()}


def rebase(observations, old_areas, new_areas, old_id, new_id, to_set, options=None,
           catalogue=None, feedback=None):
    """Build the crosswalk (blocks or area weights) and move the observations with it.

    See :func:`build_crosswalk` and :func:`rebase_observations`; returns their
    :class:`RebaseResult` (``crosswalk`` is the one used, for export and reuse).
    """
    feedback = ensure_feedback(feedback)
    cw = build_crosswalk(old_areas, new_areas, old_id, new_id, options, feedback.step(0.0, 0.7))
    return rebase_observations(observations, cw, to_set, catalogue, feedback.step(0.7, 1.0))
