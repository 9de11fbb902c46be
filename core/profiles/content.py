"""Profile content as data: what one area's page says, computed once for PDF and web.

Every number a profile shows is in :class:`ProfileContent`: the area's indicator values with
numerator and base, small-base marks and suppression (``core.overlay.privacy``), the city
and district reference (the city's own rate where counts exist, see ``core.profiles.reference``;
range and quartiles of the *published* values), the direction
(better or worse than the city), priority level with its reasons, index value and class and
how robust the class is; optionally a time series and target status per indicator. The PDF
(``core.profiles.pdf``) and the web atlas (``core.webatlas``) only lay this out, so both
show the same numbers and neither can show a suppressed one.
"""
import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import format_number, tr
from ..overlay.privacy import suppress_for_export
from ..rates import DEFAULT_MIN_BASE
from ..validate import layer_name
from . import reference as ref

# |z| below this counts as "similar to the city" (half a standard deviation, as in the reasons).
SIMILAR_WITHIN = 0.5
POSITIONS = ("worse", "similar", "better")


@dataclass
class IndicatorSpec:
    """One indicator of the profile.

    Parameters
    ----------
    field : str
        Value field (a rate or share).
    label_en, label_de : str, optional
        Readable names (default: the field name).
    higher_is_worse : bool
        Direction: True when a higher value means more need (unemployment), False for
        supply (kita places per child).
    numerator, base : str, optional
        Count fields the value is computed from; shown beside the value, suppressed below the
        publication minimum, and the value with them.
    unit : str
        Shown after the value (``%``, ``‰``).
    decimals : int
        Decimals shown.
    min_base : float
        Bases below this are marked as small (values uncertain).
    """

    field: str
    label_en: Optional[str] = None
    label_de: Optional[str] = None
    higher_is_worse: bool = True
    numerator: Optional[str] = None
    base: Optional[str] = None
    unit: str = ""
    decimals: int = 1
    min_base: float = DEFAULT_MIN_BASE

    def label(self, lang="en"):
        """Readable name in ``lang``."""
        if lang == "de":
            return self.label_de or self.label_en or self.field
        return self.label_en or self.field


@dataclass
class ProfileOptions:
    """What the profiles are built from (fields of the area layer and publication rules)."""

    id_field: str
    indicators: list
    name_field: Optional[str] = None
    district_field: Optional[str] = None
    population_field: Optional[str] = None
    min_count: float = 3  # smallest count that may be published (0 switches suppression off)
    reference_date: str = ""
    source: str = ""
    title: str = ""


@dataclass
class ProfileContent:
    """All profile content.

    Attributes
    ----------
    areas : DataFrame
        One row per area in input order: ``area_id``, ``name``, ``district``, ``population``,
        ``priority``, ``priority_label_en/de``, ``reasons_en/de``, ``index``, ``index_class``,
        ``robustness``, ``neighbours`` (list of row positions), ``suppressed`` (any value hidden).
    values : DataFrame
        Long table, one row per area and indicator: ``area_id``, ``row``, ``indicator``,
        ``value``, ``numerator``, ``base``, ``small_base``, ``suppressed``, ``z``, ``position``
        (worse / similar / better / NaN), ``city_mean`` (the city reference: city rate,
        residents-weighted or plain mean of the areas, see ``city_method``), ``city_method``
        (``rate`` / ``weighted`` / ``mean``), ``city_min``, ``city_max``, ``city_q25``,
        ``city_q75`` (of the published area values), ``district_mean`` (same method, published
        counts only), ``district_min``, ``district_max``.
    series : DataFrame
        ``area_id``, ``period``, ``indicator``, ``value`` (suppressed values are NaN), ``estimated``
        (moved across a boundary change, from the store's flag).
    city_series : DataFrame
        ``indicator``, ``period``, ``city`` (the city reference of each series period, same
        method as ``city_method``).
    references : DataFrame
        One row per indicator: ``indicator``, ``method``, ``scale``, ``n_areas`` (areas in the
        city reference), ``hidden_included`` (counts of areas with hidden values are in the
        city rate), ``fits``/``compared`` (areas whose value equals scale × numerator / base).
    status : DataFrame
        ``area_id``, ``indicator``, ``target``, ``status``, ``significant`` (may be empty).
    indicators : list of IndicatorSpec
    options : ProfileOptions
    geometry : GeoSeries or None
        Area geometries in input order (for maps).
    diagnostics : dict
        ``suppressed`` (count per field), ``n_areas``, ``suppressed_values``,
        ``series_unknown_rows`` and ``series_unknown_areas`` (time series rows of areas the layer
        does not have, not shown), ``status_unknown_rows`` (target status rows of other areas or
        indicators, not shown).
    """

    areas: pd.DataFrame
    values: pd.DataFrame
    series: pd.DataFrame
    status: pd.DataFrame
    indicators: list
    options: ProfileOptions
    geometry: object = None
    diagnostics: dict = field(default_factory=dict)
    city_series: pd.DataFrame = None
    references: pd.DataFrame = None

    def area_values(self, row):
        """The value rows of the area at position ``row`` (indicator order)."""
        block = self._by_row().get(int(row))
        return block if block is not None else self.values.iloc[0:0]

    def area_record(self, row):
        """The area row at position ``row`` as a dict (records cached: pages ask often)."""
        cache = self.__dict__.get("_area_records")
        if cache is None:
            cache = self.areas.to_dict("records")
            self.__dict__["_area_records"] = cache
        return dict(cache[int(row)])

    def value_records(self, row):
        """The indicator rows of the area at ``row`` as a list of dicts (fresh copies)."""
        cache = self.__dict__.get("_value_records")
        if cache is None:
            cache = {}
            for record in self.values.to_dict("records"):  # one pass, not one to_dict per area
                cache.setdefault(int(record["row"]), []).append(record)
            self.__dict__["_value_records"] = cache
        return [dict(r) for r in cache.get(int(row), [])]

    def _by_row(self):
        """Value rows grouped by area position (cached)."""
        cache = self.__dict__.get("_row_cache")
        if cache is None:
            cache = {int(k): g for k, g in self.values.groupby("row", sort=False)}
            self.__dict__["_row_cache"] = cache
        return cache

    def area_series(self, area_id):
        """The time series rows of one area."""
        cache = self.__dict__.get("_series_cache")
        if cache is None:
            cache = {k: g for k, g in self.series.groupby("area_id", sort=False)} if len(self.series) else {}
            self.__dict__["_series_cache"] = cache
        return cache.get(area_id, self.series.iloc[0:0])

    def area_status(self, area_id):
        """The target status rows of one area."""
        if self.status is None or not len(self.status):
            return pd.DataFrame(columns=["area_id", "indicator", "target", "status", "significant"])
        return self.status[self.status["area_id"] == area_id]


def coerce_indicator(spec):
    """Accept an IndicatorSpec, a dict of its fields, or a field name."""
    if isinstance(spec, IndicatorSpec):
        return spec
    if isinstance(spec, dict):
        return IndicatorSpec(**spec)
    return IndicatorSpec(field=str(spec))


def _numbers(frame, column):
    """A column as float array (text and NULL → NaN)."""
    return np.asarray(pd.to_numeric(frame[column], errors="coerce"), dtype="float64")


def _check(frame, options, indicators):
    """Fields exist, ids unique: errors name layer and field."""
    layer = layer_name(frame)
    if len(frame) == 0:
        raise InputError(tr("Layer '{layer}' has no features; profiles need at least one area.", layer=layer))
    if not indicators:
        raise InputError(tr("Choose at least one indicator field for the profiles."))
    wanted = [options.id_field, options.name_field, options.district_field, options.population_field]
    for ind in indicators:
        wanted += [ind.field, ind.numerator, ind.base]
    missing = [f for f in dict.fromkeys(w for w in wanted if w) if f not in frame.columns]
    if missing:
        raise InputError(tr("Layer '{layer}' has no field(s) {fields}. Choose fields of the layer.",
                            layer=layer, fields=", ".join(missing)))
    ids = frame[options.id_field]
    if ids.isna().any() or ids.astype(str).duplicated().any():
        dup = ids.astype(str)[ids.astype(str).duplicated()].head(3).tolist()
        raise InputError(tr("Field '{field}' of layer '{layer}' must identify each area once (empty or "
                            "repeated: {values}); choose an id field.",
                            field=options.id_field, layer=layer, values=", ".join(dup) or "NULL"))
    fields = [ind.field for ind in indicators]
    if len(set(fields)) != len(fields):
        raise InputError(tr("An indicator is listed twice: {fields}.", fields=", ".join(fields)))


def suppressed_frame(frame, indicators, min_count):
    """Values, numerators and bases after the publication rule, plus a hidden mask per indicator.

    Each indicator with counts is treated as a rate (``core.overlay.privacy.suppress_for_export``):
    a numerator or base under ``min_count`` is hidden, and the value with it, so it cannot be
    recovered from the other two.
    """
    work = pd.DataFrame(index=range(len(frame)))
    names = []
    for k, ind in enumerate(indicators):
        name = f"i{k}"
        work[name] = _numbers(frame, ind.field)
        if ind.numerator or ind.base:
            names.append(name)
            work[f"{name}_num"] = _numbers(frame, ind.numerator) if ind.numerator else np.nan
            work[f"{name}_den"] = _numbers(frame, ind.base) if ind.base else np.nan
    out, report = suppress_for_export(work, [], min_count=min_count, rates=names)
    hidden = {}
    for k, ind in enumerate(indicators):
        name = f"i{k}"
        before = work[name].to_numpy()
        after = out[name].to_numpy(dtype=float)
        hidden[ind.field] = np.isnan(after) & ~np.isnan(before)
    named = {}
    for key, count in report.items():  # 'i0_num' → '<field>_num'
        prefix, _, suffix = key.partition("_")
        named[indicators[int(prefix[1:])].field + (f"_{suffix}" if suffix else "")] = count
    return out, hidden, named


def _reference(values, groups=None):
    """Mean, min, max, quartiles of the finite values, per group when given."""
    def stats(v):
        v = v[np.isfinite(v)]
        if not len(v):
            return (np.nan,) * 5
        return (float(v.mean()), float(v.min()), float(v.max()),
                float(np.quantile(v, 0.25)), float(np.quantile(v, 0.75)))
    if groups is None:
        return stats(values)
    out = np.full((len(values), 5), np.nan)
    keys = pd.Series(groups).astype(str).to_numpy()
    for key in np.unique(keys):
        sel = keys == key
        out[sel] = stats(values[sel])
    return out


def _ranking_columns(frame, ranking, n):
    """Priority, reasons, index, class and robustness from a ranking table (or empty)."""
    cols = {}
    for key in ("priority", "priority_label", "reasons_en", "reasons_de", "index", "index_class", "robustness"):
        if ranking is not None and key in ranking.columns:
            if len(ranking) != n:
                raise InputError(tr("The priority table ({m} rows) does not match the areas ({n}).",
                                    m=len(ranking), n=n))
            cols[key] = ranking[key].to_numpy()
            if key == "priority":
                cols[key] = _priority_levels(ranking[key], layer_name(frame))
            if key == "robustness":
                cols[key] = _robustness_shares(ranking[key], layer_name(frame))
        else:
            cols[key] = np.full(n, np.nan) if key not in ("reasons_en", "reasons_de", "priority_label") \
                else np.array([""] * n, dtype=object)
    return cols


def _priority_levels(column, layer):
    """Priority levels 1 … 4 as floats (NaN, 0: not rated); anything else is refused, because the
    overview would colour it as 'not rated' without counting it, and text would end in a traceback."""
    levels = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")
    given = column.notna().to_numpy() & (column.astype(str).str.strip() != "").to_numpy()
    bad = given & ~(np.isin(levels, [0, 1, 2, 3, 4]))
    if bad.any():
        examples = ", ".join(dict.fromkeys(str(v) for v in column[bad].head(10)))
        raise InputError(tr("Field 'priority' of layer '{layer}' holds {values}; the atlas reads it as the priority "
                            "level 1 (highest) to 4 (lowest), empty or 0 for not rated. Recode the field, or rename "
                            "it if it means something else.", layer=layer, values=examples))
    return levels


def _robustness_shares(column, layer):
    """Robustness as a share 0 … 1 (the page prints it as a percentage); a field in percent
    (90 for 90 %) would be printed as 9,000 %, so it is refused."""
    shares = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")
    bad = np.isfinite(shares) & ((shares < 0) | (shares > 1))
    if bad.any():
        raise InputError(tr("Field 'robustness' of layer '{layer}' holds {value}; the atlas reads it as a share from "
                            "0 to 1 (0.9 = robust in 90 % of the variations). Divide a percentage by 100.",
                            layer=layer, value=format_number(float(shares[bad][0]), 2)))
    return shares


def _series(series, ids, indicators, min_count, rules=None, weights=None):
    """Long time series restricted to known areas/indicators, suppressed where counts are small,
    and the city reference of each period (``rules``: ``{field: (method, scale)}``; ``weights``:
    residents per area id)."""
    columns = ["area_id", "period", "indicator", "value"]
    empty_city = pd.DataFrame({"indicator": pd.Series([], dtype=object), "period": pd.Series([], dtype=object),
                               "city": pd.Series([], dtype="float64")})
    if series is None or not len(series):
        return pd.DataFrame(columns=columns), empty_city, {"rows": 0, "areas": []}
    missing = [c for c in columns if c not in series.columns]
    if missing:
        raise InputError(tr("The time series table needs the columns {columns} (missing: {missing}).",
                            columns=", ".join(columns), missing=", ".join(missing)))
    known = {ind.field for ind in indicators}
    work = pd.DataFrame({"area_id": series["area_id"].astype(str).to_numpy(),
                         "period": series["period"].astype(str).to_numpy(),
                         "indicator": series["indicator"].astype(str).to_numpy(),
                         "value": _numbers(series, "value")})
    # the monitoring store calls the base 'denominator' and flags values it already suppressed
    base = "base" if "base" in series.columns else ("denominator" if "denominator" in series.columns else None)
    flagged = np.zeros(len(work), dtype=bool)
    if "suppressed" in series.columns:
        flagged = _flags(series["suppressed"], "suppressed")
        work.loc[flagged, "value"] = np.nan
    # the store flags values moved across a boundary change (rebased) as estimated: the page says so
    estimated = _flags(series["estimated"], "estimated") if "estimated" in series.columns \
        else np.zeros(len(work), dtype=bool)
    raw_num = _numbers(series, "numerator") if "numerator" in series.columns else np.full(len(work), np.nan)
    raw_den = _numbers(series, base) if base else np.full(len(work), np.nan)
    published = work
    if "numerator" in series.columns or base:
        work = work.assign(value_num=raw_num, value_den=raw_den)
        published, _ = suppress_for_export(work, [], min_count=min_count, rates=["value"])
    known_area = work["area_id"].isin(set(ids)).to_numpy()
    keep = known_area & work["indicator"].isin(known).to_numpy()
    _refuse_repeated_series_rows(work[keep], series)
    city = _series_city(published[keep].reset_index(drop=True), raw_num[keep], raw_den[keep], flagged[keep],
                        rules or {}, weights or {}, min_count)
    table = published[columns][keep].assign(estimated=estimated[keep])
    table = table.sort_values(["area_id", "indicator", "period"], kind="mergesort").reset_index(drop=True)
    # rows of areas the layer does not have (e.g. the old areas before a boundary change) are not
    # shown; the caller says so instead of dropping periods without a word
    foreign = work.loc[~known_area & work["indicator"].isin(known).to_numpy(), "area_id"]
    unknown = {"rows": int(len(foreign)), "areas": sorted(set(foreign))}
    return table, (city if len(city) else empty_city), unknown


# how a true/false column reads after a CSV or spreadsheet round trip (text, not bool)
_TRUE = {"true", "1", "1.0", "yes", "y", "t", "ja", "wahr", "x"}
_FALSE = {"false", "0", "0.0", "no", "n", "f", "nein", "falsch", ""}


def _flags(column, name, table="series", missing=False):
    """A true/false column as bool array: bools, numbers and texts such as 'false'/'0'/'ja'
    (``missing``: an object array with None where the column is empty).

    ``astype(bool)`` would read every non-empty text, 'false' and '0' too, as True (and hide
    the whole series, or call every change 'larger than noise')."""
    out = np.full(len(column), None, dtype=object) if missing else np.zeros(len(column), dtype=bool)
    for k, value in enumerate(column.tolist()):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
            out[k] = bool(value)
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[k] = True
        elif text in _FALSE:
            out[k] = False if text or not missing else None
        else:
            if table == "status":
                raise InputError(tr("Column '{column}' of the target status table holds '{value}'; write true or "
                                    "false (or 1 / 0).", column=name, value=value))
            raise InputError(tr("Column '{column}' of the time series table holds '{value}'; write true or false "
                                "(or 1 / 0).", column=name, value=value))
    return out


def _refuse_repeated_series_rows(rows, series):
    """Two values for one area, indicator and period would be drawn as one (the last), a silently
    wrong point: refuse, naming the first repeat (and the area sets when the table has several)."""
    repeated = rows.duplicated(["area_id", "indicator", "period"], keep=False).to_numpy()
    if not repeated.any():
        return
    first = rows[repeated].iloc[0]
    sets = ""
    if "area_set" in series.columns:
        names = sorted(set(series["area_set"].dropna().astype(str)))
        if len(names) > 1:
            sets = tr(" The table holds several area sets ({sets}); give the rows of one.", sets=", ".join(names))
    raise InputError(tr("The time series table has more than one value for area {area}, indicator {indicator}, "
                        "period {period}; keep one row per area, indicator and period.{sets}",
                        area=first["area_id"], indicator=first["indicator"], period=first["period"], sets=sets))


def _series_city(published, raw_num, raw_den, flagged, rules, weights, min_count):
    """City reference per indicator and period of the series, by the indicator's method."""
    rows = []
    missing = np.full(len(published), np.nan)
    pub_num = published["value_num"].to_numpy(dtype=float) if "value_num" in published else missing
    pub_den = published["value_den"].to_numpy(dtype=float) if "value_den" in published else missing
    value = published["value"].to_numpy(dtype=float)
    groups = published.groupby(["indicator", "period"], sort=False).indices
    for (indicator, period), at in groups.items():
        method, scale = rules.get(indicator, (ref.MEAN, np.nan))
        if method == ref.RATE:
            # flagged by the store: hidden too, whatever the size of its counts
            hidden_num = (np.isnan(pub_num[at]) | flagged[at]) & np.isfinite(raw_num[at])
            hidden_den = (np.isnan(pub_den[at]) | flagged[at]) & np.isfinite(raw_den[at])
            city = ref.rate_reference(raw_num[at], raw_den[at], scale, hidden_num, hidden_den, flagged[at],
                                      min_count)[0]
        elif method == ref.WEIGHTED:
            w = published["area_id"].iloc[at].map(weights).to_numpy(dtype=float)
            city = ref.weighted_reference(value[at], w)
        else:
            city = ref.mean_reference(value[at])
        rows.append((indicator, period, city))
    return pd.DataFrame(rows, columns=["indicator", "period", "city"])


def _city_rule(ind, raw_value, raw_num, raw_den, weights):
    """How the city reference of one indicator is computed: (method, scale, fits, compared)."""
    if ind.numerator and ind.base:
        scale, fits, compared = ref.infer_rate_scale(raw_value, raw_num, raw_den, ind.decimals)
        if np.isfinite(scale):
            return ref.RATE, scale, fits, compared
    else:
        fits = compared = 0
    weighted = weights is not None and (np.isfinite(weights) & (weights > 0)).any()
    method = ref.WEIGHTED if weighted else ref.MEAN
    return method, np.nan, fits, compared


def _city_values(rule, counts, value, weights, districts, min_count):
    """City reference (value, areas used, hidden included) and district references per area.

    ``counts``: raw and published numerator and base, hidden value mask."""
    method, scale = rule[0], rule[1]
    raw_num, raw_den, pub_num, pub_den, hidden = counts
    n = len(value)
    if method == ref.RATE:
        hidden_num = np.isnan(pub_num) & np.isfinite(raw_num)
        hidden_den = np.isnan(pub_den) & np.isfinite(raw_den)
        city = ref.rate_reference(raw_num, raw_den, scale, hidden_num, hidden_den, hidden, min_count)
        secret = hidden | hidden_num | hidden_den

        def local(sel):  # published counts only (see core.profiles.reference)
            return ref.rate_reference(np.where(secret[sel], np.nan, raw_num[sel]), raw_den[sel], scale)[0]
    elif method == ref.WEIGHTED:
        used = int((np.isfinite(value) & np.isfinite(weights) & (weights > 0)).sum())
        city = (ref.weighted_reference(value, weights), used, False)

        def local(sel):
            return ref.weighted_reference(value[sel], weights[sel])
    else:
        city = (ref.mean_reference(value), int(np.isfinite(value).sum()), False)

        def local(sel):
            return ref.mean_reference(value[sel])
    district = np.full(n, np.nan)
    if districts is not None:
        for key in np.unique(districts):
            sel = districts == key
            district[sel] = local(sel)
    return city, district


def build_profiles(frame, options, ranking=None, series=None, status=None, neighbours=None):
    """Compute the content of every area's profile.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        One row per area with the fields named in ``options`` (not modified).
    options : ProfileOptions
    ranking : DataFrame, optional
        Same rows as ``frame``: ``priority``, ``priority_label``, ``reasons_en``,
        ``reasons_de``, ``index``, ``index_class``, ``robustness`` (e.g. the output of
        ``core.priorities.ranking.priorities_from_index``); missing columns stay empty.
    series : DataFrame, optional
        Long time series: ``area_id``, ``period``, ``indicator`` (an indicator field),
        ``value`` and optionally ``numerator``/``base`` (or ``denominator``, as in the
        monitoring store; then suppressed like the values) and ``suppressed`` (True hides).
    status : DataFrame, optional
        Target status: ``area_id``, ``indicator``, ``status`` (text; a ``status_label``
        column is preferred when present), optionally ``target`` (or ``target_value``) and
        ``significant`` (change larger than noise, bool).
    neighbours : list of arrays, optional
        Row positions of each area's neighbours (default: queen contiguity when ``frame`` has
        geometries).

    Returns
    -------
    ProfileContent
    """
    indicators = [coerce_indicator(i) for i in options.indicators]
    _check(frame, options, indicators)
    n = len(frame)
    ids = frame[options.id_field].astype(str).to_numpy()
    names = frame[options.name_field].astype(str).to_numpy() if options.name_field else ids
    districts = frame[options.district_field].astype(str).to_numpy() if options.district_field else None
    published, hidden, report = suppressed_frame(frame, indicators, options.min_count)
    weights = _numbers(frame, options.population_field) if options.population_field else None
    rows, rules, refs = [], {}, []
    for k, ind in enumerate(indicators):
        name = f"i{k}"
        value = published[name].to_numpy(dtype=float)
        # range and quartiles only from published values: a range end could otherwise disclose a hidden one
        _, vmin, vmax, q25, q75 = _reference(value)
        raw = [_numbers(frame, f) if f else np.full(n, np.nan) for f in (ind.field, ind.numerator, ind.base)]
        num = published[f"{name}_num"].to_numpy(dtype=float) if f"{name}_num" in published else np.full(n, np.nan)
        den = published[f"{name}_den"].to_numpy(dtype=float) if f"{name}_den" in published else np.full(n, np.nan)
        rule = _city_rule(ind, raw[0], raw[1], raw[2], weights)
        (mean, used, with_hidden), district_ref = _city_values(
            rule, (raw[1], raw[2], num, den, hidden[ind.field]), value, weights, districts, options.min_count)
        rules[ind.field] = rule[:2]
        refs.append({"indicator": ind.field, "method": rule[0], "scale": rule[1], "n_areas": used,
                     "hidden_included": with_hidden, "fits": rule[2], "compared": rule[3]})
        spread = np.nanstd(value) if np.isfinite(value).sum() > 1 else np.nan
        z = (value - mean) / spread if spread and np.isfinite(spread) and spread > 0 else np.full(n, np.nan)
        need = z if ind.higher_is_worse else -z
        position = np.where(np.isnan(need), None,
                            np.where(need >= SIMILAR_WITHIN, "worse",
                                     np.where(need <= -SIMILAR_WITHIN, "better", "similar")))
        small = (np.isfinite(den) & (den < ind.min_base)) if ind.base else np.zeros(n, dtype=bool)
        block = {"area_id": ids, "row": np.arange(n), "indicator": ind.field, "value": value,
                 "numerator": num, "base": den, "small_base": small, "suppressed": hidden[ind.field],
                 # object dtype: None stays None on pandas 3 (its string dtype would make it NaN)
                 "z": z, "position": pd.Series(position, dtype=object), "city_mean": mean,
                 "city_method": rule[0], "city_min": vmin, "city_max": vmax,
                 "city_q25": q25, "city_q75": q75}
        if districts is not None:
            spread_by_district = _reference(value, districts)
            block.update(district_mean=district_ref, district_min=spread_by_district[:, 1],
                         district_max=spread_by_district[:, 2])
        else:
            block.update(district_mean=np.nan, district_min=np.nan, district_max=np.nan)
        rows.append(pd.DataFrame(block))
    values = pd.concat(rows, ignore_index=True)
    order = {ind.field: k for k, ind in enumerate(indicators)}
    values = values.assign(_k=values["indicator"].map(order)).sort_values(
        ["row", "_k"], kind="mergesort").drop(columns="_k").reset_index(drop=True)
    ranks = _ranking_columns(frame, ranking, n)
    any_hidden = np.zeros(n, dtype=bool)
    for mask in hidden.values():
        any_hidden |= mask
    geometry = getattr(frame, "geometry", None) if hasattr(frame, "crs") else None
    if neighbours is None and geometry is not None:
        from ..priorities.weights import contiguity

        neighbours = contiguity(frame.reset_index(drop=True)).neighbour_lists()
    areas = pd.DataFrame({
        "area_id": ids, "name": names,
        "district": districts if districts is not None else [""] * n,
        "population": _numbers(frame, options.population_field) if options.population_field else np.nan,
        "priority": ranks["priority"], "priority_label": ranks["priority_label"],
        "reasons_en": ranks["reasons_en"], "reasons_de": ranks["reasons_de"],
        "index": ranks["index"], "index_class": ranks["index_class"], "robustness": ranks["robustness"],
        "neighbours": list(neighbours) if neighbours is not None else [np.array([], dtype=int)] * n,
        "suppressed": any_hidden})
    status_table = pd.DataFrame(columns=["area_id", "indicator", "target", "status", "significant"])
    status_unknown = 0
    if status is not None and len(status):
        need = [c for c in ("area_id", "indicator", "status") if c not in status.columns]
        if need:
            raise InputError(tr("The target status table needs the columns area_id, indicator and status "
                                "(missing: {missing}).", missing=", ".join(need)))
        status_table = status.assign(area_id=status["area_id"].astype(str))
        # the monitoring's target table: a status code with its label, the target as target_value
        if "status_label" in status_table.columns:
            status_table = status_table.assign(status=status_table["status_label"])
        if "target" not in status_table.columns and "target_value" in status_table.columns:
            status_table = status_table.assign(target=status_table["target_value"])
        status_table = status_table.reindex(columns=["area_id", "indicator", "target", "status", "significant"])
        status_table["significant"] = _flags(status_table["significant"], "significant", "status", True)
        # status rows of areas or indicators the atlas does not have are not shown: counted for a warning
        known_pairs = status_table["area_id"].isin(set(ids)) & status_table["indicator"].astype(str).isin(
            {ind.field for ind in indicators})
        status_unknown = int((~known_pairs).sum())
        status_table = status_table[known_pairs.to_numpy()].reset_index(drop=True)
        # a target status must not restate a suppressed value
        hidden_pairs = set(zip(values.loc[values["suppressed"], "area_id"], values.loc[values["suppressed"], "indicator"]))
        keep = [(a, i) not in hidden_pairs for a, i in zip(status_table["area_id"], status_table["indicator"])]
        status_table = status_table[np.array(keep, dtype=bool)].reset_index(drop=True)
    residents = dict(zip(ids, weights)) if weights is not None else {}
    series_table, city_series, unknown = _series(series, ids, indicators, options.min_count, rules, residents)
    content = ProfileContent(
        areas=areas, values=values, series=series_table, city_series=city_series,
        references=pd.DataFrame(refs),
        status=status_table, indicators=indicators, options=options,
        geometry=geometry.reset_index(drop=True) if geometry is not None else None,
        diagnostics={"suppressed": report, "n_areas": n,
                     "suppressed_values": int(values["suppressed"].sum()),
                     "series_unknown_rows": unknown["rows"], "series_unknown_areas": unknown["areas"],
                     "status_unknown_rows": status_unknown})
    return content


def estimated_periods(content, area_id):
    """Periods of an area's series with a value estimated across a boundary change (time order)."""
    part = content.area_series(area_id)
    if "estimated" not in part.columns or not len(part):
        return []
    flagged = part[part["estimated"].astype(bool).to_numpy() & np.isfinite(part["value"].to_numpy(dtype=float))]
    return sorted(set(flagged["period"].astype(str)), key=period_key)


def estimated_note(content, area_id, lang):
    """'Estimated (moved across a boundary change): 2015-01 … 2020-02.' or ''."""
    periods = estimated_periods(content, area_id)
    if not periods:
        return ""
    span = periods[0] if len(periods) == 1 else f"{periods[0]} … {periods[-1]}"
    return tr("Estimated for this area (values moved across a boundary change): {periods}.", lang=lang,
              periods=span)


def period_key(period):
    """Sort key of a period label: 'dd.mm.yyyy' sorts as its date, anything else as text
    ('2023-02', '2024')."""
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", str(period).strip())
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return str(period)


def value_grid(content, period=None):
    """Published values per indicator and period, the profile's own values as one period.

    Parameters
    ----------
    content : ProfileContent
    period : str, optional
        Label of the profile values' period (default: the reference date, else 'current');
        where the series has the same label, the profile values win.

    Returns
    -------
    (list, str, dict)
        Periods in time order, the profile values' label, and
        ``{indicator: array (periods × areas)}`` with NaN for missing or suppressed values.
    """
    current = period or content.options.reference_date or "current"
    labels = set(content.series["period"].astype(str)) if len(content.series) else set()
    if labels and not (period or content.options.reference_date):
        # without a label the layer's values would be drawn as 'current' after the last period of
        # the series, whatever their date (e.g. values of 2020 after 2024)
        ordered = sorted(labels, key=period_key)
        raise InputError(tr("The time series has the periods {first} … {last}, but the layer's values have no "
                            "date: give the reference date (or the period label) of the layer's values, so they "
                            "are drawn at their place in time.", first=ordered[0], last=ordered[-1]))
    labels.add(current)
    periods = sorted(labels, key=period_key)
    ids = content.areas["area_id"].tolist()
    col = {a: k for k, a in enumerate(ids)}
    prow = {p: k for k, p in enumerate(periods)}
    grids = {}
    for ind in content.indicators:
        grid = np.full((len(periods), len(ids)), np.nan)
        part = content.series[content.series["indicator"] == ind.field] if len(content.series) else None
        if part is not None and len(part):
            r = part["period"].astype(str).map(prow).to_numpy()
            c = part["area_id"].map(col).to_numpy()
            grid[r, c] = part["value"].to_numpy(dtype=float)
        vals = content.values[content.values["indicator"] == ind.field].sort_values("row")
        grid[prow[current]] = vals["value"].to_numpy(dtype=float)
        grids[ind.field] = grid
    return periods, current, grids


def period_order_warning(periods):
    """A warning when the periods mix dates (31.12.2020) with other labels ('2022-02'), or ''.

    Such labels cannot be ordered with certainty ('2022-02' may be February or the second
    half-year): the warning shows the order used, so the planner can check it."""
    dated = [bool(re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", str(p).strip())) for p in periods]
    if not any(dated) or all(dated):
        return ""
    return tr("The periods mix dates and other labels, so their order is a guess: {order}. If it is wrong, give the "
              "period label of the layer's values in the notation of the time series.",
              order=" < ".join(str(p) for p in periods))


def city_lines(content, periods, current):
    """The city reference per indicator and period (the dashed line of the time series).

    The profile values' period takes the reference of the profile values (``city_mean``), the
    other periods the reference computed from the series by the same method (``city_series``),
    so the PDF and the web atlas draw the same line.

    Returns
    -------
    dict
        ``{indicator: array (periods)}``, NaN where a period has no reference.
    """
    lines = {}
    table = content.city_series if content.city_series is not None else pd.DataFrame(
        columns=["indicator", "period", "city"])
    for ind in content.indicators:
        part = table[table["indicator"] == ind.field]
        known = dict(zip(part["period"].astype(str), part["city"].to_numpy(dtype=float)))
        vals = content.values[content.values["indicator"] == ind.field]
        current_value = float(vals["city_mean"].iloc[0]) if len(vals) else np.nan
        lines[ind.field] = np.array([current_value if p == current else known.get(str(p), np.nan)
                                     for p in periods], dtype=float)
    return lines


def format_value(value, decimals=1, lang="en", unit=""):
    """A value as shown on a profile ('–' for missing)."""
    from ..i18n import format_number

    if value is None or not np.isfinite(value):
        return "–"
    text = format_number(float(value), decimals, lang)
    return f"{text} {unit}".strip() if unit and unit != "%" else text + (unit or "")


def position_text(position, lang="en", method=None):
    """'worse than the city average' … in ``lang`` ('… the mean of the areas' for an unweighted mean)."""
    if method == ref.MEAN:
        texts = {"worse": "worse than the mean of the areas", "better": "better than the mean of the areas",
                 "similar": "close to the mean of the areas"}
    else:
        texts = {"worse": "worse than the city average", "better": "better than the city average",
                 "similar": "close to the city average"}
    return tr(texts[position], lang=lang) if position in texts else ""


def search_strategy_note(lang="en"):
    """The note every profile carries."""
    return tr("An index is a search strategy, not a verdict: it shows where to look closer, "
              "not what is good or bad about an area. Check flagged areas on site.", lang=lang)


def as_float(value):
    """A float, NaN for missing or text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def area_facts(content, area, lang):
    """The line under an area's name (id, district, residents, reference date), as a list of texts."""
    facts = [tr("Planning area {id}", lang=lang, id=area["area_id"])]
    if area["district"]:
        facts.append(tr("District {name}", lang=lang, name=area["district"]))
    residents = as_float(area["population"])
    minimum = content.options.min_count
    if np.isfinite(residents) and minimum and 0 < residents < minimum:
        # the publication rule covers this count too: a base hidden as '•' in the table must not
        # stand in the line above it
        facts.append(tr("fewer than {minimum} residents", lang=lang, minimum=format_number(float(minimum), 0, lang)))
    elif np.isfinite(residents):
        facts.append(tr("{n} residents", lang=lang, n=format_number(residents, 0, lang)))
    if content.options.reference_date:
        facts.append(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))
    return facts
