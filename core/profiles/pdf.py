"""The profile atlas as one A4 PDF: cover, city overview map, contents, one page per area.

Drawn with matplotlib's PDF backend (``PdfPages``) on standalone ``Figure`` objects, so no
pyplot state is touched and nothing leaks between pages or into the caller. Map paths are
built once per area (simplified) and reused on every page that shows the area.
"""
import datetime
import textwrap
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ..errors import InputError
from ..feedback import ensure_feedback
from ..i18n import format_number, tr
from . import charts
from .content import format_value, position_text, search_strategy_note

A4 = (8.27, 11.69)  # inches, portrait
RC = {"pdf.fonttype": 42, "font.family": "DejaVu Sans", "font.size": 7, "pdf.compression": 6,
      "path.simplify": True, "axes.linewidth": 0.5}
TOC_LINES = 62  # per column, two columns per contents page


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


def atlas_title(content, lang):
    """Title of the atlas."""
    return content.options.title or tr("Area profiles", lang=lang)


def _wrap(text, width):
    """Wrap a paragraph for the page."""
    return "\n".join(textwrap.wrap(str(text or ""), width)) if text else ""


class _Maps:
    """Simplified paths of all areas, the city outline and facility coordinates, built once."""

    def __init__(self, content, options):
        geoms = content.geometry
        self.available = geoms is not None
        if not self.available:
            return
        self.detail = [charts.geometry_path(g, options.detail_tolerance) for g in geoms]
        self.overview = [charts.geometry_path(g, options.overview_tolerance) for g in geoms]
        bounds = np.array([g.bounds if g is not None and not g.is_empty else (np.nan,) * 4 for g in geoms])
        self.bounds = bounds
        self.city_bounds = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]),
                            np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3]))
        self.city = _city_outline(geoms, options.overview_tolerance)
        self.labels = [g.representative_point().coords[0] if g is not None and not g.is_empty else None
                       for g in geoms]


def _city_outline(geoms, tolerance):
    """The whole city as one simplified path (one path per locator map instead of hundreds)."""
    try:
        from shapely.ops import unary_union

        city = unary_union([g.buffer(0) for g in geoms if g is not None and not g.is_empty])
        return charts.geometry_path(city, tolerance)
    except Exception:  # noqa: BLE001 - a failed union only loses the grey city background
        return None


def _footer(fig, content, lang, page):
    """Sources, reference date, the search-strategy note and the page number."""
    opts = content.options
    parts = []
    if opts.source:
        parts.append(tr("Sources: {source}", lang=lang, source=opts.source))
    if opts.reference_date:
        parts.append(tr("Reference date: {date}", lang=lang, date=opts.reference_date))
    fig.text(0.06, 0.045, _wrap(" · ".join(parts), 150), fontsize=5.8, va="top", color="#333333")
    fig.text(0.06, 0.022, search_strategy_note(lang), fontsize=5.8, va="top", style="italic", color="#333333")
    fig.text(0.94, 0.012, str(page), fontsize=7, ha="right", va="bottom")


def _cover(pdf, content, options, lang):
    """Cover page."""
    fig = Figure(figsize=A4)
    title = atlas_title(content, lang)
    fig.text(0.08, 0.78, title, fontsize=26, weight="bold", va="top")
    if options.subtitle:
        fig.text(0.08, 0.72, _wrap(options.subtitle, 70), fontsize=13, va="top")
    n = len(content.areas)
    lines = [tr("{n} planning areas, one page each", lang=lang, n=n)]
    if content.options.reference_date:
        lines.append(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))
    created = options.created or datetime.date.today().isoformat()
    lines.append(tr("Created on {date} with Kommunalmonitor", lang=lang, date=created))
    fig.text(0.08, 0.64, "\n".join(lines), fontsize=11, va="top", linespacing=1.6)
    hidden = content.diagnostics.get("suppressed_values", 0)
    notes = [search_strategy_note(lang)]
    if content.options.min_count:
        notes.append(tr("Counts below {minimum} and every value computed from them are not published "
                        "({hidden} values suppressed, marked •).", lang=lang,
                        minimum=format_number(float(content.options.min_count), 0, lang), hidden=hidden))
    fig.text(0.08, 0.40, "\n\n".join(_wrap(t, 90) for t in notes), fontsize=9, va="top")
    if content.options.source:
        fig.text(0.08, 0.12, _wrap(tr("Sources: {source}", lang=lang, source=content.options.source), 110),
                 fontsize=7.5, va="top")
    pdf.savefig(fig)


def _overview(pdf, content, maps, lang, page):
    """City map of the priority levels (or index classes) with legend and area numbers."""
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.955, tr("City overview", lang=lang), fontsize=16, weight="bold", va="top")
    areas = content.areas
    levels = np.asarray(areas["priority"], dtype=float)
    ax = fig.add_axes([0.06, 0.25, 0.88, 0.66])
    if maps.available:
        colours = [charts.PRIORITY_COLOURS.get(int(v), "#f0f0f0") if np.isfinite(v) else "#f0f0f0" for v in levels]
        charts.draw_paths(ax, maps.overview, colours, edgecolor="#ffffff", linewidth=0.15)
        charts.frame_map(ax, maps.city_bounds)
    labels = {1: tr("Priority 1 (highest)", lang=lang), 2: tr("Priority 2", lang=lang),
              3: tr("Priority 3", lang=lang), 4: tr("Priority 4 (lowest)", lang=lang),
              0: tr("No priority / not rated", lang=lang)}
    y = 0.21
    for level in (1, 2, 3, 4, 0):
        count = int(np.sum(np.nan_to_num(levels, nan=0) == level))
        fig.patches.append(_swatch(fig, 0.08, y, charts.PRIORITY_COLOURS[level]))
        fig.text(0.11, y + 0.006, f"{labels[level]}: {count}", fontsize=8, va="center")
        y -= 0.022
    fig.text(0.5, 0.21, _wrap(tr("The levels combine the index class and the rules chosen for the "
                                 "priorities; each area's page gives the reasons and how robust the "
                                 "class is.", lang=lang), 70), fontsize=7.5, va="top")
    _footer(fig, content, lang, page)
    pdf.savefig(fig)


def _swatch(fig, x, y, colour):
    """A small legend square in figure coordinates."""
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 0.022, 0.012, transform=fig.transFigure, figure=fig,
                     facecolor=colour, edgecolor="#606060", linewidth=0.4)


def _contents(pdf, areas, content, lang, first_area_page, first_page):
    """Table of contents: area, district, page (two columns per page)."""
    per_page = 2 * TOC_LINES
    pages = max(1, int(np.ceil(len(areas) / per_page)))
    for p in range(pages):
        fig = Figure(figsize=A4)
        fig.text(0.06, 0.955, tr("Contents", lang=lang), fontsize=16, weight="bold", va="top")
        chunk = areas.iloc[p * per_page:(p + 1) * per_page]
        for column in range(2):
            part = chunk.iloc[column * TOC_LINES:(column + 1) * TOC_LINES]
            if not len(part):
                continue
            x = 0.06 + column * 0.46
            names = [f"{_short(n, 38)} ({a})" for a, n in zip(part["area_id"], part["name"])]
            nums = [str(first_area_page + p * per_page + column * TOC_LINES + i) for i in range(len(part))]
            fig.text(x, 0.91, "\n".join(names), fontsize=6.6, va="top", linespacing=1.55)
            fig.text(x + 0.42, 0.91, "\n".join(nums), fontsize=6.6, va="top", ha="right", linespacing=1.55)
        _footer(fig, content, lang, first_page + p)
        pdf.savefig(fig)


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
        rows.append(rec)
    return rows


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
    if reasons:
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


class _Scratch:
    """Remembers what a figure and its axes hold, so a page's own artists can be removed
    after saving: the figure, its axes and the static drawing (city outline, legend,
    headings) are built once for all area pages, which makes a page several times faster."""

    def __init__(self, fig):
        self.fig = fig
        self.before = self._state()

    def _state(self):
        """Ids of all removable artists now present."""
        found = {id(a) for a in self.fig.texts + self.fig.patches}
        for ax in self.fig.axes:
            for group in (ax.lines, ax.patches, ax.collections, ax.texts, ax.images):
                found.update(id(a) for a in group)
        return found

    def reset(self):
        """Remove every artist added since the template was finished."""
        for artist in list(self.fig.texts) + list(self.fig.patches):
            if id(artist) not in self.before:
                artist.remove()
        for ax in self.fig.axes:
            for group in (ax.lines, ax.patches, ax.collections, ax.texts, ax.images):
                for artist in list(group):
                    if id(artist) not in self.before:
                        artist.remove()


class _AreaPage:
    """The reusable figure of an area page: axes and static content made once."""

    def __init__(self, content, maps, options, lang, n_rows, with_series):
        self.fig = fig = Figure(figsize=A4)
        self.content, self.maps, self.options, self.lang = content, maps, options, lang
        self.locator = self.detail = None
        if maps.available:
            self.locator = fig.add_axes([0.06, 0.745, 0.24, 0.17])
            if maps.city is not None:
                charts.draw_paths(self.locator, [maps.city], ["#d9d9d9"], edgecolor="#bdbdbd", linewidth=0.3)
            charts.frame_map(self.locator, maps.city_bounds, margin=0.02)
            self.detail = fig.add_axes([0.33, 0.745, 0.61, 0.17])
            charts.frame_map(self.detail, maps.city_bounds, margin=0.0)
        fig.text(0.06, 0.728, tr("Priority and index", lang=lang), fontsize=9.5, weight="bold", va="top")
        fig.text(0.06, 0.655, tr("Indicators compared with the city", lang=lang), fontsize=9.5,
                 weight="bold", va="top")
        # up to ten indicator rows fit above two rows of time series
        row_height = min(0.028, 0.25 / (n_rows + 1.4))
        self.top, self.bottom = 0.635, 0.635 - row_height * (n_rows + 1.4)
        self.spine = fig.add_axes([0.53, self.bottom, 0.41, self.top - self.bottom])
        legend = fig.add_axes([0.06, self.bottom - 0.03, 0.88, 0.018])
        charts.draw_spine_legend(legend, lang)
        self.series = []
        if with_series:
            top = self.bottom - 0.08
            self.series_top = top
            fig.text(0.06, top, tr("Development over time (dashed: city average)", lang=lang), fontsize=9.5,
                     weight="bold", va="top")
            periods = sorted(content.series["period"].astype(str).unique())
            if periods:
                fig.text(0.06, top - 0.018, tr("Periods {first} to {last}; figures: first and last value.",
                                               lang=lang, first=periods[0], last=periods[-1]), fontsize=7, va="top")
            for k in range(min(n_rows, 10)):
                col, line = k % 5, k // 5
                self.series.append(fig.add_axes([0.07 + col * 0.178, top - 0.105 - line * 0.112, 0.14, 0.06]))
        self.scratch = _Scratch(fig)

    def draw(self, pdf, row, page):
        """Draw, save and clear one area's page."""
        content, lang, fig = self.content, self.lang, self.fig
        area = content.area_record(row)
        fig.text(0.06, 0.965, f"{area['name']}", fontsize=17, weight="bold", va="top")
        sub = [tr("Planning area {id}", lang=lang, id=area["area_id"])]
        if area["district"]:
            sub.append(tr("District {name}", lang=lang, name=area["district"]))
        if np.isfinite(_f(area["population"])):
            sub.append(tr("{n} residents", lang=lang, n=format_number(_f(area["population"]), 0, lang)))
        if content.options.reference_date:
            sub.append(tr("Reference date: {date}", lang=lang, date=content.options.reference_date))
        fig.text(0.06, 0.933, " · ".join(sub), fontsize=8, va="top")
        if self.locator is not None:
            _locator(self.locator, self.maps, row)
            _detail(self.detail, content, self.maps, self.options, row, lang)
        fig.text(0.06, 0.71, "\n".join(_wrap(t, 135) for t in priority_lines(area, lang)) or
                 tr("No priority was computed for this atlas.", lang=lang), fontsize=7, va="top",
                 linespacing=1.35)
        rows = _rows(content, row, lang)
        ax = self.spine
        charts.spine_chart(ax, rows, lang)
        tf = blended_transform_factory(fig.transFigure, ax.transData)
        heads = [(0.06, tr("Indicator", lang=lang), "left"), (0.31, tr("Value", lang=lang), "right"),
                 (0.42, tr("Count / base", lang=lang), "right"), (0.50, tr("City", lang=lang), "right")]
        for x, text, ha in heads:
            ax.text(x, -0.75, text, transform=tf, fontsize=6.5, weight="bold", ha=ha, va="center")
        for y, rec in enumerate(rows):
            ax.text(0.06, y, _short(rec["label"], 44), transform=tf, fontsize=7, va="center")
            ax.text(0.31, y, charts.value_text(rec, lang), transform=tf, fontsize=7, va="center", ha="right")
            ax.text(0.42, y, counts_text(rec, lang), transform=tf, fontsize=6.5, va="center", ha="right")
            ax.text(0.50, y, format_value(rec["city_mean"], rec["decimals"], lang, rec["unit"]), transform=tf,
                    fontsize=6.5, va="center", ha="right", color="#404040")
        notes = []
        if any(r["suppressed"] for r in rows):
            notes.append(tr("• not published: a count is below {minimum}.", lang=lang,
                            minimum=format_number(float(content.options.min_count), 0, lang)))
        if any(r["small_base"] and not r["suppressed"] for r in rows):
            notes.append(tr("* small base: the value may change a lot by chance.", lang=lang))
        worse = [r["label"] for r in rows if r["position"] == "worse" and not r["suppressed"]]
        if worse:
            text = position_text("worse", lang)
            notes.append(text[:1].upper() + text[1:] + ": " + ", ".join(worse) + ".")
        if notes:
            fig.text(0.06, self.bottom - 0.043, _wrap(" ".join(notes), 150), fontsize=6.5, va="top")
        if self.series:
            _series_block(self.series, content, area, rows, lang)
        _footer(fig, content, lang, page)
        pdf.savefig(fig)
        self.scratch.reset()


def _locator(ax, maps, row):
    """The area in colour on the city (drawn once), with a ring so small areas are found."""
    if maps.detail[row] is not None:
        charts.draw_paths(ax, [maps.detail[row]], [charts.HIGHLIGHT], edgecolor=charts.HIGHLIGHT,
                          linewidth=0.8, zorder=3)
        b = maps.bounds[row]
        ax.scatter([(b[0] + b[2]) / 2], [(b[1] + b[3]) / 2], s=160, facecolors="none",
                   edgecolors="#000000", linewidths=0.8, zorder=4)


def _detail(ax, content, maps, options, row, lang):
    """The area with its neighbours (named) and the facilities in view."""
    neighbours = [int(i) for i in content.areas["neighbours"].iloc[row]]
    b = maps.bounds[row]
    dx, dy = b[2] - b[0], b[3] - b[1]
    # the view: the area with room for its neighbours, in the aspect of the axes (≈ 2.16:1)
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    half_h = max(dy, dx / 2.16) * 0.75 + 50
    half_w = half_h * 2.16
    view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    charts.draw_paths(ax, [maps.detail[i] for i in neighbours], ["#f2f2f2"] * len(neighbours),
                      edgecolor="#8c8c8c", linewidth=0.5)
    charts.draw_paths(ax, [maps.detail[row]], ["#fde0c5"], edgecolor=charts.HIGHLIGHT, linewidth=1.4, zorder=2)
    names = content.areas["name"].to_numpy()
    for i in neighbours:
        xy = maps.labels[i]
        if xy and view[0] < xy[0] < view[2] and view[1] < xy[1] < view[3]:
            ax.text(xy[0], xy[1], _short(names[i], 24), fontsize=5.5, ha="center", va="center",
                    color="#404040", clip_on=True)
    counts = []
    for fac in options.facilities:
        xy = fac.xy
        if not len(xy):
            continue
        inside = (xy[:, 0] > view[0]) & (xy[:, 0] < view[2]) & (xy[:, 1] > view[1]) & (xy[:, 1] < view[3])
        if inside.any():
            ax.scatter(xy[inside, 0], xy[inside, 1], s=9, marker=fac.marker, color=fac.colour,
                       edgecolors="white", linewidths=0.3, zorder=4)
        counts.append((fac, int(inside.sum())))
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    x = 0.01
    for fac, n in counts:
        ax.scatter([x + 0.006], [0.06], s=12, marker=fac.marker, color=fac.colour, transform=ax.transAxes,
                   zorder=5)
        ax.text(x + 0.016, 0.06, f"{fac.label(lang)} ({tr('in view', lang=lang)}): {n}", transform=ax.transAxes,
                fontsize=5.5, va="center", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})
        x += 0.2


def _series_block(axes, content, area, rows, lang):
    """Small multiples of the time series (when given), with target status."""
    series = content.area_series(area["area_id"])
    periods = sorted(content.series["period"].unique())
    city = _city_series(content)
    status = content.area_status(area["area_id"])
    present = set(series["indicator"]) if len(series) else set()
    shown = [r for r in rows if r["indicator"] in present][:len(axes)]
    for k, ax in enumerate(axes):
        ax.set_visible(k < len(shown))
        if k >= len(shown):
            continue
        rec = shown[k]
        part = series[series["indicator"] == rec["indicator"]].set_index("period")["value"]
        values = [part.get(p, np.nan) for p in periods]
        st = status[status["indicator"] == rec["indicator"]]
        target, text = None, None
        if len(st):
            srow = st.iloc[0]
            target = _f(srow.get("target"))
            text = str(srow.get("status") or "")
            sig = srow.get("significant")
            if sig is not None and sig == sig:
                text += " · " + (tr("change larger than noise", lang=lang) if bool(sig)
                                 else tr("change within noise", lang=lang))
        charts.series_chart(ax, periods, values, [city.get((rec["indicator"], p), np.nan) for p in periods],
                            _short(rec["label"], 30), lang, target=target, status=text, decimals=rec["decimals"])


def _city_series(content):
    """Mean of the published values per indicator and period (cached)."""
    cache = content.__dict__.get("_city_series")
    if cache is None:
        cache = content.series.groupby(["indicator", "period"])["value"].mean().to_dict()
        content.__dict__["_city_series"] = cache
    return cache


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
    toc = contents_pages(n)
    overview = 1 if maps.available else 0
    first_area_page = 2 + overview + toc
    with rc_context(RC), PdfPages(path) as pdf:
        info = pdf.infodict()
        info["Title"] = atlas_title(content, lang)
        info["Creator"] = "Kommunalmonitor"
        _cover(pdf, content, options, lang)
        if overview:
            _overview(pdf, content, maps, lang, 2)
        _contents(pdf, content.areas.iloc[rows], content, lang, first_area_page, 2 + overview)
        template = _AreaPage(content, maps, options, lang, len(content.indicators), len(content.series) > 0)
        for k, row in enumerate(rows):
            feedback.check()
            template.draw(pdf, row, first_area_page + k)
            feedback.progress((k + 1) / n)
    return {"pages": first_area_page - 1 + n, "first_area_page": first_area_page, "areas": n}
