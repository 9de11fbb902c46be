"""The profile atlas as one A4 PDF: cover, city overview map, contents, one page per area.

Pages are drawn with ``core.profiles.pdfcanvas`` (a few PDF operators per mark, standard
fonts): the 542 Berlin planning areas take seconds, not minutes. Map rings are simplified
once per area and the city outline of the locator map is prepared once for all pages.
"""
import datetime
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from . import charts
from . import reference as ref
from .content import (area_facts, city_lines, estimated_note, format_value, period_order_warning, position_text,
                      search_strategy_note, value_grid)
from .pdfcanvas import A4_POINTS, Document, Page, text_width, wrap

W, H = A4_POINTS
LEFT, RIGHT = 36.0, W - 36.0
TOC_LINES = 62  # per column, two columns per contents page
LOCATOR = (LEFT, 628.0, 143.0, 143.0)
DETAIL = (196.0, 628.0, RIGHT - 196.0, 143.0)


@dataclass
class Facility:
    """Points shown on the detail maps (schools, kitas …)."""

    label_en: str
    label_de: str
    xy: np.ndarray  # (n, 2) coordinates in the areas' CRS
    marker: str = "^"
    colour: str = "#009E73"  # Okabe–Ito bluish green

    def label(self, lang):
        """Legend text in ``lang``."""
        return self.label_de if lang == "de" else self.label_en


@dataclass
class AtlasOptions:
    """Texts and drawing choices of the atlas."""

    lang: str = "de"
    title: str = ""
    subtitle: str = ""
    facilities: list = field(default_factory=list)
    created: Optional[str] = None  # date printed on the cover (default today)
    detail_tolerance: float = 2.0  # metres of simplification on detail maps
    overview_tolerance: float = 25.0
    rows: Optional[list] = None  # row positions to print (default: all areas)
    period: str = ""  # label of the profile values in the time series (default: the reference date)


def atlas_title(content, lang, options=None):
    """Title of the atlas."""
    return (options.title if options else "") or content.options.title or tr("Area profiles", lang=lang)


class _Maps:
    """Simplified rings of all areas, the locator's city drawing and label points, built once."""

    def __init__(self, content, options):
        geoms = content.geometry
        self.available = geoms is not None
        if not self.available:
            return
        self.detail = [charts.geometry_rings(g, options.detail_tolerance) for g in geoms]
        self.overview = [charts.geometry_rings(g, options.overview_tolerance) for g in geoms]
        bounds = np.array([g.bounds if g is not None and not g.is_empty else (np.nan,) * 4 for g in geoms])
        self.bounds = bounds
        self.city_bounds = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]),
                            np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3]))
        self.labels = [g.representative_point().coords[0] if g is not None and not g.is_empty else None
                       for g in geoms]
        self.locator = charts.MapFrame(self.city_bounds, _inset(LOCATOR, 4))
        page = Page()
        page.rect(*LOCATOR, stroke="#9a9a9a", width=0.5)
        page.polygons([self.locator(r) for r in _city_rings(geoms, options.overview_tolerance)],
                      fill="#d9d9d9", stroke="#bdbdbd", width=0.3)
        self.locator_ops = b"\n".join(page.ops)  # the same on every page


def _inset(box, margin):
    """A box shrunk by ``margin`` points on each side."""
    x, y, w, h = box
    return (x + margin, y + margin, w - 2 * margin, h - 2 * margin)


def _city_rings(geoms, tolerance):
    """The whole city as rings (one path per locator map instead of hundreds)."""
    try:
        from shapely.ops import unary_union

        return charts.geometry_rings(unary_union([g.buffer(0) for g in geoms if g is not None and not g.is_empty]),
                                     tolerance)
    except Exception:  # noqa: BLE001 - a failed union only loses the grey city background
        return []


def _footer(page, content, lang, number):
    """Sources, reference date, the search-strategy note and the page number."""
    opts = content.options
    parts = []
    if opts.source:
        parts.append(tr("Sources: {source}", lang=lang, source=opts.source))
    if opts.reference_date:
        parts.append(tr("Reference date: {date}", lang=lang, date=opts.reference_date))
    page.lines(LEFT, 40, wrap(" · ".join(parts), RIGHT - LEFT - 40, 5.8)[:2], 5.8, colour="#333333")
    page.text(LEFT, 22, search_strategy_note(lang), 5.8, style="italic", colour="#333333")
    page.text(RIGHT, 12, str(number), 7, align="right")


def _cover(doc, content, options, lang):
    """Cover page."""
    page = Page()
    y = page.lines(LEFT + 12, 660, wrap(atlas_title(content, lang, options), 480, 26, "bold"), 26, style="bold")
    if options.subtitle:
        y = page.lines(LEFT + 12, y - 10, wrap(options.subtitle, 480, 13), 13)
    n = len(content.areas) if options.rows is None else len(options.rows)
    lines = [tr("{n} planning areas, one page each", lang=lang, n=n)]
    if content.options.reference_date:
        lines.append(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))
    created = options.created or datetime.date.today().isoformat()
    lines.append(tr("Created on {date} with Kommunalmonitor", lang=lang, date=created))
    y = page.lines(LEFT + 12, y - 30, lines, 11, leading=1.6)
    notes = [search_strategy_note(lang)]
    if content.options.min_count:
        notes.append(tr("Counts below {minimum} and every value computed from them are not published "
                        "({hidden} values suppressed, marked •).", lang=lang,
                        minimum=format_number(float(content.options.min_count), 0, lang),
                        hidden=content.diagnostics.get("suppressed_values", 0)))
    y -= 40
    for note in notes:
        y = page.lines(LEFT + 12, y, wrap(note, 480, 9), 9) - 8
    if content.options.source:
        page.lines(LEFT + 12, 100, wrap(tr("Sources: {source}", lang=lang, source=content.options.source),
                                        480, 7.5), 7.5)
    doc.add(page)


def _overview(doc, content, maps, lang, number):
    """City map of the priority levels with legend and counts."""
    page = Page()
    page.text(LEFT, 800, tr("City overview", lang=lang), 16, style="bold")
    levels = np.asarray(content.areas["priority"], dtype=float)
    frame = charts.MapFrame(maps.city_bounds, (LEFT, 230, RIGHT - LEFT, 550))
    for rings, level in zip(maps.overview, levels):
        colour = charts.PRIORITY_COLOURS.get(int(level), "#f0f0f0") if np.isfinite(level) else "#f0f0f0"
        page.polygons([frame(r) for r in rings], fill=colour, stroke="#ffffff", width=0.3)
    labels = {1: tr("Priority 1 (highest)", lang=lang), 2: tr("Priority 2", lang=lang),
              3: tr("Priority 3", lang=lang), 4: tr("Priority 4 (lowest)", lang=lang),
              0: tr("No priority / not rated", lang=lang)}
    y = 200
    for level in (1, 2, 3, 4, 0):
        count = int(np.sum(np.nan_to_num(levels, nan=0) == level))
        page.rect(LEFT + 12, y - 1, 13, 8, fill=charts.PRIORITY_COLOURS[level], stroke="#606060", width=0.4)
        page.text(LEFT + 32, y, f"{labels[level]}: {count}", 8)
        y -= 14
    page.lines(300, 200, wrap(tr("The levels combine the index class and the rules chosen for the "
                                 "priorities; each area's page gives the reasons and how robust the "
                                 "class is.", lang=lang), RIGHT - 300, 7.5), 7.5)
    _footer(page, content, lang, number)
    doc.add(page)


def _contents(doc, areas, content, lang, first_area_page, first_page):
    """Table of contents: area and page (two columns per page)."""
    per_page = 2 * TOC_LINES
    for p in range(contents_pages(len(areas))):
        page = Page()
        page.text(LEFT, 800, tr("Contents", lang=lang), 16, style="bold")
        chunk = areas.iloc[p * per_page:(p + 1) * per_page]
        for k, (area_id, name) in enumerate(zip(chunk["area_id"], chunk["name"])):
            column, line = divmod(k, TOC_LINES)
            x, y = LEFT + column * 274, 770 - line * 11.4
            page.text(x, y, f"{_short(name, 40)} ({area_id})", 6.6)
            page.text(x + 250, y, str(first_area_page + p * per_page + k), 6.6, align="right")
        _footer(page, content, lang, first_page + p)
        doc.add(page)


def contents_pages(n_areas):
    """Number of contents pages for ``n_areas``."""
    return max(1, int(np.ceil(n_areas / (2 * TOC_LINES))))


def _short(text, width):
    """Cut a long name with an ellipsis."""
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def _rows(content, row, lang):
    """Spine chart rows of one area as dicts."""
    specs = {ind.field: ind for ind in content.indicators}
    rows = []
    for rec in content.value_records(row):
        ind = specs[rec["indicator"]]
        rec.update(label=ind.label(lang), higher_is_worse=ind.higher_is_worse, decimals=ind.decimals,
                   unit=ind.unit, has_counts=bool(ind.numerator or ind.base))
        if not isinstance(rec["position"], str):
            rec["position"] = None
        rows.append(rec)
    return rows


def missing_note(lang):
    """What '–' means: no value given (a reader of official tables may take '–' for zero)."""
    return tr("– no value in the data (e.g. the area is not rated); not zero.", lang=lang)


def counts_text(rec, lang):
    """'numerator / base' or '•' where suppressed, '' without counts."""
    if not rec["has_counts"]:
        return ""
    if rec["suppressed"]:
        return "•"
    num = format_value(rec["numerator"], 0, lang)
    den = format_value(rec["base"], 0, lang)
    return f"{num} / {den}" + (" *" if rec["small_base"] else "")


def priority_lines(area, lang):
    """Priority, reasons, index class and robustness as short lines of text."""
    lines = []
    reasons = area.get(f"reasons_{lang}") or ""
    if isinstance(reasons, str) and reasons:
        lines.append(reasons)
    facts = []
    if np.isfinite(_f(area.get("index"))):
        facts.append(tr("Index: {value}", lang=lang, value=format_number(_f(area["index"]), 2, lang)))
    if np.isfinite(_f(area.get("index_class"))):
        facts.append(tr("index class {value}", lang=lang, value=int(_f(area["index_class"]))))
    if np.isfinite(_f(area.get("robustness"))):
        rob = _f(area["robustness"])
        facts.append(tr("the class is robust in {pct} % of the variations of the method", lang=lang,
                        pct=format_number(100 * rob, 0, lang)))
    if facts:
        lines.append("; ".join(facts) + ".")
    return lines


def _f(value):
    """A float, NaN for missing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _area_page(doc, content, maps, options, row, number, lang, grid):
    """One area's page."""
    page = Page()
    area = content.area_record(row)
    area["row"] = row
    _area_title(page, str(area["name"]))
    sub = area_facts(content, area, lang)
    page.text(LEFT, 783, " · ".join(sub), 8)
    if maps.available:
        _locator(page, maps, row)
        _detail(page, content, maps, options, row, lang)
    page.text(LEFT, 608, tr("Priority and index", lang=lang), 9.5, style="bold")
    lines = []
    for text in priority_lines(area, lang) or [tr("No priority was computed for this atlas.", lang=lang)]:
        lines += wrap(text, RIGHT - LEFT, 7)
    page.lines(LEFT, 595, lines[:4], 7, leading=1.35)
    rows = _rows(content, row, lang)
    methods = [r["city_method"] for r in rows]
    only_means = bool(methods) and all(m == ref.MEAN for m in methods)
    page.text(LEFT, 553, tr("Indicators compared with the city", lang=lang), 9.5, style="bold")
    top = 538.0
    row_height = min(16.0, 160.0 / max(1, len(rows)))
    city_header = tr("Area mean", lang=lang) if only_means else tr("City", lang=lang)
    for x, text, align in ((LEFT, tr("Indicator", lang=lang), "left"), (190, tr("Value", lang=lang), "right"),
                           (258, tr("Count / base", lang=lang), "right"), (305, city_header, "right")):
        page.text(x, top, text, 6.5, style="bold", align=align)
    for k, rec in enumerate(rows):
        y = top - (k + 1) * row_height - 2.4
        page.text(LEFT, y, _short(rec["label"], 44), 7)
        page.text(190, y, charts.value_text(rec, lang), 7, align="right")
        page.text(258, y, counts_text(rec, lang), 6.5, align="right")
        page.text(305, y, format_value(rec["city_mean"], rec["decimals"], lang, rec["unit"])
                  + ref.reference_mark(rec["city_method"], methods), 6.5, align="right", colour="#404040")
    charts.spine_chart(page, 315, RIGHT - 315, top, row_height, rows, lang)
    y = top - (len(rows) + 1) * row_height - 8
    y = charts.spine_legend(page, LEFT, y, lang, methods)
    notes = [ref.spine_note(methods, lang)] + ref.reference_notes(methods, lang)
    if any(r["suppressed"] for r in rows):
        notes.append(tr("• not published: a count is below {minimum}.", lang=lang,
                        minimum=format_number(float(content.options.min_count), 0, lang)))
    if any(r["small_base"] and not r["suppressed"] for r in rows):
        notes.append(tr("* small base: the value may change a lot by chance.", lang=lang))
    if any(not r["suppressed"] and not np.isfinite(_f(r["value"])) for r in rows):
        notes.append(missing_note(lang))
    worse = [r["label"] for r in rows if r["position"] == "worse" and not r["suppressed"]]
    if worse:
        text = position_text("worse", lang, ref.MEAN if only_means else None)
        notes.append(text[:1].upper() + text[1:] + ": " + ", ".join(worse) + ".")
    y = page.lines(LEFT, y, wrap(" ".join(notes), RIGHT - LEFT, 6.3)[:5], 6.3)
    _series_block(page, content, area, rows, lang, y - 14, grid)
    _footer(page, content, lang, number)
    doc.add(page)


def _area_title(page, name):
    """The area's name over the page width: 17 pt, smaller for a long name, two lines at the
    smallest size; a name must not run off the page edge (a cut name reads as another area)."""
    width = RIGHT - LEFT
    size = 17.0 * min(1.0, width / max(text_width(name, 17.0, "bold"), 1e-9))
    if size >= 10.0:
        page.text(LEFT, 800, name, size, style="bold")
        return
    lines = wrap(name, width, 9.0, "bold")
    if len(lines) > 2:  # beyond two lines the rest is cut visibly; the id stands in the line below
        lines = [lines[0], _fit(" ".join(lines[1:]), width, 9.0)]
    page.lines(LEFT, 806 if len(lines) > 1 else 800, [_fit(t, width, 9.0) for t in lines], 9.0, leading=1.1,
               style="bold")


def _fit(text, width, size):
    """``text`` cut with an ellipsis to fit ``width`` points in bold."""
    if text_width(text, size, "bold") <= width:
        return text
    while text and text_width(text + "…", size, "bold") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _locator(page, maps, row):
    """The city (prepared once), the area in colour and a ring so that small areas are found."""
    page.raw(maps.locator_ops)
    rings = maps.detail[row]
    if rings:
        page.polygons([maps.locator(r) for r in rings], fill=charts.HIGHLIGHT, stroke=charts.HIGHLIGHT, width=0.6)
        b = maps.bounds[row]
        x, y = maps.locator.point((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        page.marker("o", x, y, 16, stroke="#000000", width=0.8)


def _detail(page, content, maps, options, row, lang):
    """The area with its neighbours (named) and the facilities in view."""
    x0, y0, w, h = DETAIL
    b = maps.bounds[row]
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    aspect = w / h
    half_h = max(b[3] - b[1], (b[2] - b[0]) / aspect) * 0.75 + 50
    view = (cx - half_h * aspect, cy - half_h, cx + half_h * aspect, cy + half_h)
    frame = charts.MapFrame(view, DETAIL)
    page.clip(x0, y0, w, h)
    page.rect(x0, y0, w, h, fill="#fafafa")
    neighbours = [int(i) for i in content.areas["neighbours"].iloc[row]]
    for i in neighbours:
        page.polygons([frame(r) for r in maps.detail[i]], fill="#eeeeee", stroke="#8c8c8c", width=0.5)
    page.polygons([frame(r) for r in maps.detail[row]], fill="#fde0c5", stroke=charts.HIGHLIGHT, width=1.4)
    names = content.areas["name"].to_numpy()
    for i in neighbours:
        xy = maps.labels[i]
        if xy and view[0] < xy[0] < view[2] and view[1] < xy[1] < view[3]:
            px, py = frame.point(*xy)
            page.text(px, py, _short(names[i], 24), 5.5, align="centre", colour="#404040")
    legend = []
    for fac in options.facilities:
        xy = fac.xy
        if not len(xy):
            continue
        inside = (xy[:, 0] > view[0]) & (xy[:, 0] < view[2]) & (xy[:, 1] > view[1]) & (xy[:, 1] < view[3])
        for px, py in frame(xy[inside]) if inside.any() else []:
            page.marker(fac.marker, px, py, 4.0, fill=fac.colour, stroke="#ffffff", width=0.3)
        legend.append((fac, int(inside.sum())))
    x = x0 + 4
    for fac, n in legend:
        text = f"{fac.label(lang)} ({tr('in view', lang=lang)}): {n}"
        width = text_width(text, 5.5) + 12
        page.rect(x, y0 + 3, width, 9, fill="#ffffff")
        page.marker(fac.marker, x + 4, y0 + 7.5, 4.5, fill=fac.colour)
        page.text(x + 9, y0 + 5.5, text, 5.5)
        x += width + 4
    page.unclip()
    page.rect(x0, y0, w, h, stroke="#9a9a9a", width=0.5)


def _series_block(page, content, area, rows, lang, top, grid):
    """Small multiples of the time series (the profile values as one period), with targets."""
    periods, current, grids = grid
    if len(periods) < 2:
        return
    lines = city_lines(content, periods, current)
    row = int(area["row"])
    status = content.area_status(area["area_id"])
    page.text(LEFT, top, ref.series_heading([r["city_method"] for r in rows], lang), 9.5, style="bold")
    subtitle = tr("Periods {first} to {last}; figures: first and last value.", lang=lang,
                  first=periods[0], last=periods[-1])
    page.text(LEFT, top - 11, subtitle, 7)
    extra = [estimated_note(content, area["area_id"], lang)]
    drawable = [r for r in rows if np.isfinite(grids[r["indicator"]][:, row]).sum() >= 2]
    # as many rows of five charts as fit above the footer (a chart's box bottom at y >= 70)
    fit = 5 * max(1, int((top - 62 - 70) // 68) + 1)
    shown = drawable[:fit]
    if len(drawable) > fit:  # say which are left out, so a missing chart is not read as 'no data'
        left_out = ", ".join(r["label"] for r in drawable[fit:])
        extra.append(tr("Not drawn for lack of space (see the web atlas or the data): {names}.", lang=lang,
                        names=left_out))
    extra = " ".join(t for t in extra if t)
    if extra:  # one line between the subtitle and the chart labels
        page.text(LEFT, top - 19.5, _fit(extra, RIGHT - LEFT, 6.0), 6.0, style="bold", colour="#404040")
    if not shown:
        page.text(LEFT, top - 26, tr("no published values", lang=lang), 7, style="italic", colour="#404040")
    for k, rec in enumerate(shown):
        col, line = k % 5, k // 5
        box = (LEFT + 4 + col * 105, top - 62 - line * 68, 80, 32)
        values = grids[rec["indicator"]][:, row]
        target, text = None, None
        st = status[status["indicator"] == rec["indicator"]]
        if len(st):
            srow = st.iloc[0]
            target = _f(srow.get("target"))
            text = str(srow.get("status") or "")
            sig = srow.get("significant")
            if sig is not None and sig == sig:
                text += " · " + (tr("change larger than noise", lang=lang) if bool(sig)
                                 else tr("change within noise", lang=lang))
        charts.series_chart(page, box, values, lines[rec["indicator"]], _short(rec["label"], 30),
                            lang, target=target, status=text, decimals=rec["decimals"])


def write_atlas(content, path, options=None, feedback=None):
    """Write the profile atlas PDF.

    Parameters
    ----------
    content : ProfileContent
        From ``core.profiles.content.build_profiles``.
    path : str
        Output PDF path.
    options : AtlasOptions, optional

    Returns
    -------
    dict
        ``pages``, ``first_area_page``, ``areas``.
    """
    feedback = ensure_feedback(feedback)
    options = options or AtlasOptions()
    lang = options.lang if options.lang in ("de", "en") else "en"
    rows = list(range(len(content.areas))) if options.rows is None else [int(r) for r in options.rows]
    n = len(rows)
    if n == 0:
        raise InputError(tr("There are no areas to write profiles for."))
    maps = _Maps(content, options)
    grid = value_grid(content, options.period)
    if period_order_warning(grid[0]):
        feedback.warning(period_order_warning(grid[0]))
    overview = 1 if maps.available else 0
    first_area_page = 2 + overview + contents_pages(n)
    try:
        with Document(path, title=atlas_title(content, lang, options)) as doc:
            _cover(doc, content, options, lang)
            if overview:
                _overview(doc, content, maps, lang, 2)
            _contents(doc, content.areas.iloc[rows], content, lang, first_area_page, 2 + overview)
            for k, row in enumerate(rows):
                feedback.check()
                _area_page(doc, content, maps, options, row, first_area_page + k, lang, grid)
                feedback.progress((k + 1) / n)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)  # no half-written atlas for the council
        raise
    return {"pages": first_area_page - 1 + n, "first_area_page": first_area_page, "areas": n}
