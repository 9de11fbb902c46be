"""The static web atlas: a folder of HTML, one small script, one style sheet and CSV files.

Layout of the folder::

    index.html                 language choice
    de/index.html, en/index.html       choropleth map, indicator/period choice, search, legend
    de/profiles/<id>.html, en/…        one profile per area (same content as the PDF page)
    de/imprint.html, en/…              sources, method, small-number rule
    assets/atlas.css, atlas.js, data.js
    download/atlas_de.csv, atlas_en.csv

Everything is written by this module: no external JavaScript or CSS, no web fonts, no request
at view time (the data is a script file, because browsers refuse ``fetch`` from disk). The
geometry is one shared SVG path set per map page; the values per indicator and period are in
``data.js`` and coloured by a small script. Suppressed values are NaN in the profile content
and never written. The city reference (spine centre, dashed line) comes from the profile content
(``core.profiles.reference``: the city's own rate where counts exist), as in the PDF atlas.
"""
import html
import json
import os
import shutil
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from ..profiles import reference as ref
from ..profiles.content import (area_facts, city_lines, estimated_note, format_value, period_order_warning,
                                position_text, search_strategy_note, value_grid)
from ..profiles.pdf import missing_note, priority_lines
from .geometry import SvgFrame

# ColorBrewer YlOrRd (5 classes, safe for colour-vision deficiencies): light = least need.
CLASS_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
NO_DATA = "#d9d9d9"
LANGS = ("de", "en")


@dataclass
class WebAtlasOptions:
    """Texts and choices of the web atlas."""

    title: str = ""
    publisher: str = ""
    period: str = ""  # label of the profile values' period (default: reference date or 'current')
    n_classes: int = 5
    map_width: float = 1000.0
    facilities: Optional[list] = None  # core.profiles.pdf.Facility objects


def _e(text):
    """Escape for HTML."""
    return html.escape(str(text), quote=True)


def _page(lang, title, body, depth, alternate):
    """A complete HTML page (relative links, shared style, no external resources)."""
    up = "../" * depth
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title>'
            f'<link rel="stylesheet" href="{up}assets/atlas.css"></head><body>'
            f'<a class="skip" href="#main">{_e(tr("Skip to content", lang=lang))}</a>'
            f'<header><nav aria-label="{_e(tr("Atlas navigation", lang=lang))}">'
            f'<a href="{up}{lang}/index.html">{_e(tr("Map", lang=lang))}</a> '
            f'<a href="{up}{lang}/imprint.html">{_e(tr("Imprint and sources", lang=lang))}</a> '
            f'<a href="{up}download/atlas_{lang}.csv" download>{_e(tr("Download data (CSV)", lang=lang))}</a> '
            f'<a id="langswitch" href="{alternate}" hreflang="{_other(lang)}" lang="{_other(lang)}">'
            f'{"English" if lang == "de" else "Deutsch"}</a></nav></header>'
            f'<main id="main">{body}</main></body></html>\n')


def _other(lang):
    """The other language."""
    return "en" if lang == "de" else "de"


def value_table(content, options):
    """Published values per indicator and period (``core.profiles.content.value_grid``)."""
    return value_grid(content, options.period)


def class_breaks(grid, k):
    """Quantile breaks over all periods (colours comparable across periods)."""
    v = grid[np.isfinite(grid)]
    if not len(v):
        return []
    qs = np.unique(np.quantile(v, np.linspace(0, 1, k + 1)[1:-1]))
    return [float(q) for q in qs]


def _data_script(content, options, periods, grids, frame):
    """assets/data.js: indicators, periods, names and values (suppressed values are null)."""
    inds = []
    values, breaks = {}, {}
    for ind in content.indicators:
        grid = grids[ind.field]
        digits = int(ind.decimals)
        # rounded as shown, so the map, the series and the profile tables print the same digits
        values[ind.field] = [[None if not np.isfinite(x) else round(float(x), digits) for x in row] for row in grid]
        breaks[ind.field] = [round(b, digits + 1) for b in class_breaks(grid, options.n_classes)]
        inds.append({"id": ind.field, "de": ind.label("de"), "en": ind.label("en"), "unit": ind.unit,
                     "dec": int(ind.decimals), "worse_high": bool(ind.higher_is_worse)})
    refs, dist, city = {}, {}, {}
    districts = content.areas["district"].astype(str).tolist()
    current = value_grid(content, options.period)[1]
    lines = city_lines(content, periods, current)
    for ind, info in zip(content.indicators, inds):
        block = content.values[content.values["indicator"] == ind.field].sort_values("row")
        first = block.iloc[0]
        refs[ind.field] = [_r(first[c]) for c in ("city_mean", "city_min", "city_max", "city_q25", "city_q75")]
        dist[ind.field] = {d: _r(m) for d, m in zip(districts, block["district_mean"])}
        city[ind.field] = [_r(v) for v in lines[ind.field]]  # the dashed line, as in the PDF
        info["ref"] = str(first["city_method"])
    data = {"indicators": inds, "periods": periods, "ids": content.areas["area_id"].tolist(),
            "current": periods.index(current), "refs": refs, "dist": dist, "city": city,
            "district": districts,
            "names": content.areas["name"].tolist(), "values": values, "breaks": breaks,
            "colours": _colours(options.n_classes), "nodata": NO_DATA,
            "text": {lang: _script_texts(lang) for lang in LANGS}}
    return "window.ATLAS = " + json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + ";\n"


def _r(value):
    """A reference number for the script (None for NaN)."""
    value = float(value)
    return None if not np.isfinite(value) else round(value, 6)


def _colours(n):
    """``n`` class colours from the YlOrRd ramp (light to dark)."""
    n = max(1, int(n))
    if n == len(CLASS_COLOURS):
        return list(CLASS_COLOURS)
    return [CLASS_COLOURS[int(round(p))] for p in np.linspace(0, len(CLASS_COLOURS) - 1, n)]


def _script_texts(lang):
    """Texts the map script shows, translated here so the catalogue covers them."""
    return {"nodata": tr("no published value", lang=lang), "upto": tr("up to", lang=lang),
            "above": tr("above", lang=lang), "nohits": tr("No area found.", lang=lang),
            "more": tr("More areas match: type more of the name.", lang=lang),
            "city": tr("city average", lang=lang), "mean": tr("mean of the areas", lang=lang),
            "spine": tr("{indicator}: area marked against the range of all areas", lang=lang),
            "worse_high": tr("Darker: higher value, more need.", lang=lang),
            "better_high": tr("Darker: higher value (a high value is favourable).", lang=lang)}


def _map_page(content, options, frame, paths, lang, periods, current):
    """The choropleth page of one language."""
    areas = content.areas
    title = options.title or content.options.title or tr("Atlas of the planning areas", lang=lang)
    svg_paths = "".join(
        f'<a href="profiles/{_e(a)}.html" aria-label="{_e(n)}"><path data-i="{k}" d="{d}"/></a>'
        for k, (a, n, d) in enumerate(zip(areas["area_id"], areas["name"], paths)) if d)
    ind_options = "".join(f'<option value="{_e(i.field)}">{_e(i.label(lang))}</option>' for i in content.indicators)
    per_options = "".join(f'<option value="{_e(p)}"{" selected" if p == current else ""}>{_e(p)}</option>'
                          for p in periods)
    listing = "".join(f'<li><a href="profiles/{_e(a)}.html">{_e(n)}</a> ({_e(a)})</li>'
                      for a, n in zip(areas["area_id"], areas["name"]))
    body = (f'<h1>{_e(title)}</h1>'
            f'<p class="note">{_e(search_strategy_note(lang))}</p>'
            f'<form class="controls" onsubmit="return false">'
            f'<label for="ind">{_e(tr("Indicator", lang=lang))}</label> <select id="ind">{ind_options}</select> '
            f'<label for="per">{_e(tr("Period", lang=lang))}</label> <select id="per">{per_options}</select> '
            f'<label for="q">{_e(tr("Find an area", lang=lang))}</label> '
            f'<input id="q" type="search" autocomplete="off" aria-describedby="qhelp" aria-controls="hits">'
            f'<span id="qhelp" class="hint">{_e(tr("Type part of a name or number; Enter opens the first hit.", lang=lang))}</span>'
            f'</form><ul id="hits" aria-live="polite"></ul>'
            f'<div class="mapwrap"><svg id="map" viewBox="{frame.view_box()}" role="group" '
            f'aria-label="{_e(tr("Map of the planning areas; each area links to its profile.", lang=lang))}">'
            f'{svg_paths}</svg>'
            f'<section id="legend" aria-labelledby="legendtitle"><h2 id="legendtitle">{_e(tr("Legend", lang=lang))}</h2>'
            f'<p id="legendname"></p><ul id="legenditems"></ul></section></div>'
            f'<details><summary>{_e(tr("All areas as a list", lang=lang))}</summary><ul class="cols">{listing}</ul></details>'
            f'<script src="../assets/data.js"></script><script src="../assets/atlas.js"></script>')
    page = _page(lang, title, body, 1, f"../{_other(lang)}/index.html")
    return page.replace('<html lang', f'<html data-lang="{lang}" lang', 1)


def _profile_page(content, options, row, lang, status_ctx, maps):
    """One area's profile page: all numbers as text; spine and time series are drawn by the
    shared script from ``data.js`` (the same published values), which keeps 1,000+ pages small."""
    area = content.area_record(row)
    aid = area["area_id"]
    name = area["name"]
    facts = area_facts(content, area, lang)
    specs = {i.field: i for i in content.indicators}
    records = content.value_records(row)
    methods = [r["city_method"] for r in records]
    only_means = bool(methods) and all(m == ref.MEAN for m in methods)
    rows = []
    for rec in records:
        ind = specs[rec["indicator"]]
        if rec["suppressed"]:
            shown, counts = "•", "•"
            compare = tr("not published (small numbers)", lang=lang)
        else:
            shown = format_value(rec["value"], ind.decimals, lang, ind.unit)
            counts = (f'{format_value(rec["numerator"], 0, lang)} / {format_value(rec["base"], 0, lang)}'
                      + (" *" if rec["small_base"] else "")) if (ind.numerator or ind.base) else ""
            compare = position_text(rec["position"], lang, rec["city_method"]) \
                if isinstance(rec["position"], str) else "–"
        city = format_value(rec["city_mean"], ind.decimals, lang, ind.unit) \
            + ref.reference_mark(rec["city_method"], methods)
        district = format_value(rec["district_mean"], ind.decimals, lang, ind.unit)
        position = rec["position"] if isinstance(rec["position"], str) else ""
        cls = ("" if rec["suppressed"] or not position else "p" + position[:1]) + \
            (" sb" if rec["small_base"] else "")
        rows.append(f'<tr class="{cls.strip()}"><th scope="row">{_e(ind.label(lang))}</th><td>{_e(shown)}</td>'
                    f'<td>{_e(counts)}</td><td>{_e(city)}</td><td>{_e(district)}</td><td>{_e(compare)}</td>'
                    f'<td></td></tr>')
    city_header = tr("Mean of the areas", lang=lang) if only_means else tr("City", lang=lang)
    spine_header = tr("◀ worse · mean of the areas · better ▶", lang=lang) if only_means \
        else tr("◀ worse · city average · better ▶", lang=lang)
    table = (f'<table class="ind" id="ind"><caption>{_e(tr("Indicators compared with the city", lang=lang))}</caption>'
             f'<thead><tr><th scope="col">{_e(tr("Indicator", lang=lang))}</th><th scope="col">{_e(tr("Value", lang=lang))}</th>'
             f'<th scope="col">{_e(tr("Count / base", lang=lang))}</th><th scope="col">{_e(city_header)}</th>'
             f'<th scope="col">{_e(tr("District", lang=lang))}</th><th scope="col">{_e(tr("Comparison", lang=lang))}</th>'
             f'<th scope="col">{_e(spine_header)}</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    notes = [ref.spine_note(methods, lang)] + ref.reference_notes(methods, lang)
    if content.options.min_count and any(r["suppressed"] for r in records):  # as on the PDF page
        notes.append(tr("• not published: a count is below {minimum}.", lang=lang,
                        minimum=format_number(float(content.options.min_count), 0, lang)))
    notes.append(tr("* small base: the value may change a lot by chance.", lang=lang))
    if any(not r["suppressed"] and not np.isfinite(_f(r["value"])) for r in records):
        notes.append(missing_note(lang))
    prio = "".join(f"<p>{_e(t)}</p>" for t in priority_lines(area, lang)) or \
        f'<p>{_e(tr("No priority was computed for this atlas.", lang=lang))}</p>'
    series = ""
    if status_ctx["periods"] > 1:
        estimated = estimated_note(content, aid, lang)
        series = (f'<section><h2>{_e(ref.series_heading(methods, lang))}</h2>'
                  + (f'<p class="small">{_e(estimated)}</p>' if estimated else "")
                  + f'<div class="series" id="series"></div>{_status_list(content, aid, lang)}</section>')
    body = (f'<h1>{_e(name)}</h1><p>{_e(" · ".join(facts))}</p>'
            f'<div class="maps">{maps(row, lang)}</div>'
            f'<section><h2>{_e(tr("Priority and index", lang=lang))}</h2>{prio}</section>'
            f'<section>{table}<p class="small">{_e(" ".join(notes))}</p></section>{series}'
            f'<footer><p class="small">{_sources(content, lang)}</p>'
            f'<p class="note">{_e(search_strategy_note(lang))}</p></footer>'
            f'<script src="../../assets/data.js"></script><script src="../../assets/profile.js"></script>')
    page = _page(lang, f"{name} – {tr('Area profiles', lang=lang)}", body, 2,
                 f"../../{_other(lang)}/profiles/{_e(aid)}.html")
    return page.replace('<html lang', f'<html data-lang="{lang}" data-i="{row}" lang', 1)


def _sources(content, lang):
    """Sources and reference date as escaped text."""
    parts = []
    if content.options.source:
        parts.append(tr("Sources: {source}", lang=lang, source=content.options.source))
    if content.options.reference_date:
        parts.append(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))
    return _e(" · ".join(parts))


def _status_list(content, area_id, lang):
    """Targets and their status as a list (only where given)."""
    status = content.area_status(area_id)
    if not len(status):
        return ""
    labels = {i.field: i.label(lang) for i in content.indicators}
    items = []
    for srow in status.to_dict("records"):
        text = f'{labels.get(srow["indicator"], srow["indicator"])}: {srow.get("status") or ""}'
        target = _f(srow.get("target"))
        if np.isfinite(target):
            text += " (" + tr("target {value}", lang=lang, value=format_number(target, 1, lang)) + ")"
        sig = srow.get("significant")
        if sig is not None and sig == sig:
            text += " · " + (tr("change larger than noise", lang=lang) if bool(sig)
                             else tr("change within noise", lang=lang))
        items.append(f"<li>{_e(text)}</li>")
    return f'<h3>{_e(tr("Targets", lang=lang))}</h3><ul>{"".join(items)}</ul>'


def _f(value):
    """A float, NaN for missing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


class _ProfileMaps:
    """Locator and detail SVG of each area (city outline made once)."""

    def __init__(self, content, options, city_frame):
        self.content = content
        self.geoms = content.geometry
        self.facilities = options.facilities or []
        self.ok = self.geoms is not None
        if not self.ok:
            return
        from shapely.ops import unary_union

        self.bounds = np.array([g.bounds for g in self.geoms])
        self.small = SvgFrame(city_frame, width=240)
        city = unary_union([g.buffer(0) for g in self.geoms])
        self.city = self.small.path(city, tolerance=4 * self.small.unit)

    def __call__(self, row, lang):
        """HTML of the two maps of the area at ``row``; the geometry text is kept for the last
        row, so the second language costs no new simplification."""
        if not self.ok:
            return ""
        geo = self.__dict__.get("_geo")
        if geo is None or geo["row"] != row:
            geo = self.__dict__["_geo"] = {"row": row}
        names = self.content.areas["name"].to_numpy()
        ids = self.content.areas["area_id"].to_numpy()
        if "area" not in geo:
            geo["area"] = self.small.path(self.geoms[row], tolerance=self.small.unit)
        area = geo["area"]
        b = self.bounds[row]
        cx, cy = self.small.point((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        locator = (f'<svg class="loc" viewBox="{self.small.view_box()}" role="img" '
                   f'aria-label="{_e(tr("Location of {name} in the city", lang=lang, name=names[row]))}">'
                   f'<path class="city" d="{self.city}"/><path class="hi" d="{area}"/>'
                   f'<circle class="ring" cx="{cx}" cy="{cy}" r="9"/></svg>')
        dx, dy = b[2] - b[0], b[3] - b[1]
        half_h = max(dy, dx / 2.0) * 0.75 + 50
        view = ((b[0] + b[2]) / 2 - 2 * half_h, (b[1] + b[3]) / 2 - half_h,
                (b[0] + b[2]) / 2 + 2 * half_h, (b[1] + b[3]) / 2 + half_h)
        frame = SvgFrame(view, width=480, margin=0.0)
        tol = frame.unit
        if "detail" not in geo:
            geo["detail"] = [(int(i), frame.path(self.geoms[int(i)], tolerance=tol))
                             for i in self.content.areas["neighbours"].iloc[row]]
            geo["self"] = frame.path(self.geoms[row], tolerance=tol)
        parts = [f'<a href="{_e(ids[i])}.html" aria-label="{_e(names[i])}"><path class="nb" d="{d}"/></a>'
                 for i, d in geo["detail"]]
        parts.append(f'<path class="hi2" d="{geo["self"]}"/>')
        legend = []
        for k, fac in enumerate(self.facilities):
            xy = fac.xy
            inside = (xy[:, 0] > view[0]) & (xy[:, 0] < view[2]) & (xy[:, 1] > view[1]) & (xy[:, 1] < view[3])
            if inside.any():  # one path of zero-length round-capped strokes: ~12 bytes per point
                pts = frame.points(xy[inside])
                parts.append(f'<path class="f{k % 3}" d="' + "".join(f"M{x} {y}h0" for x, y in pts) + '"/>')
            legend.append(f'<span class="f{k % 3}">●</span> {_e(fac.label(lang))} ({_e(tr("in view", lang=lang))}): '
                          f'{int(inside.sum())}')
        detail = (f'<svg class="det" viewBox="{frame.view_box()}" role="img" aria-label="'
                  f'{_e(tr("{name} with its neighbouring areas", lang=lang, name=names[row]))}">'
                  f'<rect class="sea" width="100%" height="100%"/>{"".join(parts)}</svg>')
        links = ", ".join(f'<a href="{_e(ids[i])}.html">{_e(names[i])}</a>' for i, _ in geo["detail"])
        if links:  # the neighbours as text links too: readable names, reachable without the map
            legend.append(f'{_e(tr("Neighbouring areas", lang=lang))}: {links}')
        return locator + f'<figure class="detail">{detail}<figcaption class="small">{"<br>".join(legend)}</figcaption></figure>'


def _imprint(content, options, lang):
    """Imprint, sources and method."""
    parts = [f'<h1>{_e(tr("Imprint and sources", lang=lang))}</h1>']
    if options.publisher:
        parts.append(f'<h2>{_e(tr("Publisher", lang=lang))}</h2><p>{_e(options.publisher)}</p>')
    parts.append(f'<h2>{_e(tr("Sources", lang=lang))}</h2><p>{_e(content.options.source or "–")}</p>')
    if content.options.reference_date:
        parts.append(f'<p>{_e(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))}</p>')
    parts.append(f'<h2>{_e(tr("Method", lang=lang))}</h2><p>{_e(search_strategy_note(lang))}</p>')
    methods = content.values["city_method"].drop_duplicates().tolist()
    parts.append(f'<p>{_e(" ".join(ref.reference_notes(methods, lang, marked=False)))}</p>')
    if content.options.min_count:
        parts.append(f'<p>{_e(tr("Counts below {minimum} and every value computed from them are not published.", lang=lang, minimum=format_number(float(content.options.min_count), 0, lang)))}</p>')
    parts.append(f'<p>{_e(tr("Map colours: five classes of equal size over all periods (quantiles); darker means a higher value. Grey: no published value.", lang=lang))}</p>')
    parts.append(f'<p>{_e(tr("This atlas works without a network connection; it loads nothing from elsewhere and sends nothing.", lang=lang))}</p>')
    parts.append(f'<p>{_e(tr("Made with Kommunalmonitor.", lang=lang))}</p>')
    return _page(lang, tr("Imprint and sources", lang=lang), "".join(parts), 1, f"../{_other(lang)}/imprint.html")


def _csv(content, periods, current, grids, lang):
    """Wide table of the published values: one row per area and period, one column per
    indicator (plus numerator and base for the profile period); suppressed cells are empty."""
    areas = content.areas
    n = len(areas)
    frames = []
    for p, period in enumerate(periods):
        block = {"area_id": areas["area_id"].to_numpy(), "name": areas["name"].to_numpy(),
                 "district": areas["district"].to_numpy(), "period": np.full(n, period, dtype=object)}
        for ind in content.indicators:
            block[ind.field] = grids[ind.field][p]
            if ind.numerator or ind.base:
                vals = content.values[content.values["indicator"] == ind.field].sort_values("row")
                block[f"{ind.field}_numerator"] = vals["numerator"].to_numpy() if period == current else np.nan
                block[f"{ind.field}_base"] = vals["base"].to_numpy() if period == current else np.nan
        frames.append(pd.DataFrame(block))
    table = pd.concat(frames, ignore_index=True)
    fields = [c for c in table.columns if c not in ("area_id", "name", "district", "period")]
    table = table[table[fields].notna().any(axis=1).to_numpy()]
    if lang == "de":
        table = table.rename(columns={"area_id": "Gebiet", "name": "Name", "district": "Bezirk",
                                      "period": "Zeitraum"})
        table.columns = [c.replace("_numerator", "_Zaehler").replace("_base", "_Basis") for c in table.columns]
    return table


def write_web_atlas(content, folder, options=None, feedback=None):
    """Write the web atlas folder.

    Parameters
    ----------
    content : ProfileContent
        From ``core.profiles.content.build_profiles`` (with geometries).
    folder : str
        Output folder (created; the pages of an earlier atlas there are removed first, other
        files are left alone).
    options : WebAtlasOptions, optional

    Returns
    -------
    dict
        ``files``, ``bytes`` (total size), ``periods``, ``areas``.
    """
    feedback = ensure_feedback(feedback)
    options = options or WebAtlasOptions()
    if content.geometry is None:
        raise InputError(tr("The web atlas needs the area geometries; give a polygon layer."))
    names = [_safe(a) for a in content.areas["area_id"]]  # refuse unusable ids before writing
    periods, current, grids = value_table(content, options)  # and a series without a place in time
    if period_order_warning(periods):
        feedback.warning(period_order_warning(periods))
    if os.path.isfile(os.path.join(folder, "assets", "data.js")):
        # an earlier atlas: remove its pages, so no page of an area (or value) left out now survives
        for sub in LANGS + ("assets", "download"):
            shutil.rmtree(os.path.join(folder, sub), ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    for sub in ("assets", "download", "de/profiles", "en/profiles"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    geoms = content.geometry
    bounds = np.array([g.bounds for g in geoms])
    city = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]), np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3]))
    frame = SvgFrame(city, width=options.map_width)
    paths = [frame.path(g) for g in geoms]
    written = []

    def put(rel, text):
        path = os.path.join(folder, rel)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        written.append(path)

    put("assets/data.js", _data_script(content, options, periods, grids, frame))
    put("assets/atlas.js", _read_asset("atlas.js"))
    put("assets/profile.js", _read_asset("profile.js"))
    put("assets/atlas.css", _read_asset("atlas.css"))
    title = options.title or content.options.title
    put("index.html", _landing(title))
    feedback.progress(0.05)
    col = {a: k for k, a in enumerate(content.areas["area_id"])}
    maps = _ProfileMaps(content, options, city)
    n = len(content.areas)
    for row in range(n):
        feedback.check()
        for lang in LANGS:
            put(f"{lang}/profiles/{names[row]}.html",
                _profile_page(content, options, row, lang, {"periods": len(periods)}, maps))
        feedback.progress(0.05 + 0.9 * (row + 1) / n)
    for lang in LANGS:
        put(f"{lang}/index.html", _map_page(content, options, frame, paths, lang, periods, current))
        put(f"{lang}/imprint.html", _imprint(content, options, lang))
        table = _csv(content, periods, current, grids, lang)
        path = os.path.join(folder, "download", f"atlas_{lang}.csv")
        if lang == "de":
            table.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")
        else:
            table.to_csv(path, index=False, encoding="utf-8")
        written.append(path)
    size = sum(os.path.getsize(p) for p in written)
    feedback.progress(1.0)
    return {"files": len(written), "bytes": int(size), "periods": periods, "areas": n}


def _safe(area_id):
    """An area id as a file name (ids with / or spaces are refused earlier by the browser)."""
    text = str(area_id)
    if not text or any(c in text for c in '/\\:*?"<>|') or text.startswith("."):
        raise InputError(tr("Area id '{value}' cannot be used as a file name of the web atlas; choose an id "
                            "field without / \\ : * ? \" < > |.", value=text))
    return text


def _landing(title):
    """index.html: choose the language."""
    name = title or "Atlas"
    return (f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(name)}</title>'
            f'<link rel="stylesheet" href="assets/atlas.css"></head><body><main id="main">'
            f'<h1>{_e(name)}</h1><ul class="langs"><li><a href="de/index.html" hreflang="de">Deutsch</a></li>'
            f'<li><a href="en/index.html" hreflang="en" lang="en">English</a></li></ul></main></body></html>\n')


def _read_asset(name):
    """A static asset shipped beside this module."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", name), encoding="utf-8") as fh:
        return fh.read()
