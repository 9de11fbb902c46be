"""Charts and maps of a profile page, drawn on a ``pdfcanvas.Page``.

Colours are the Okabe–Ito set (distinguishable with every common colour-vision deficiency)
and every colour is doubled by a marker shape, so a grey print still reads.
"""
import numpy as np

from ..i18n import tr
from . import reference as ref
from .content import format_value, position_text
from .pdfcanvas import text_width

# Okabe & Ito (2008) colour-blind-safe colours.
WORSE = "#D55E00"     # vermillion
BETTER = "#0072B2"    # blue
SIMILAR = "#7F7F7F"   # grey
HIGHLIGHT = "#D55E00"
RANGE = "#E3E3E3"
QUARTILES = "#BDBDBD"
MARKERS = {"worse": ("s", WORSE), "similar": ("o", SIMILAR), "better": ("D", BETTER)}
# Priority levels 1 (highest) … 4 and 0 (none): ColorBrewer OrRd-like ramp, safe for CVD.
PRIORITY_COLOURS = {1: "#b30000", 2: "#e34a33", 3: "#fc8d59", 4: "#fdcc8a", 0: "#f0f0f0"}


def spine_position(value, row):
    """Position of ``value`` on the spine (−1 worst end … 0 city reference … +1 best end)."""
    mean, vmin, vmax = row["city_mean"], row["city_min"], row["city_max"]
    scale = max(abs(mean - vmin), abs(vmax - mean)) if np.isfinite(mean) else np.nan
    if value is None or not np.isfinite(value) or not np.isfinite(scale) or scale <= 0:
        return np.nan
    sign = -1.0 if row["higher_is_worse"] else 1.0
    return sign * (float(value) - mean) / scale


def spine_chart(page, x0, width, top, row_height, rows, lang="en"):
    """The spine chart of one area: one row per indicator from ``top`` downwards.

    Parameters
    ----------
    page : pdfcanvas.Page
    x0, width : float
        Horizontal extent in points (the city reference is in the middle).
    top, row_height : float
        Baseline of the header line and the height of a row, in points.
    rows : list of dict
        Per indicator: ``value``, ``small_base``, ``suppressed``, ``position``,
        ``higher_is_worse``, ``city_method`` and the ``city_*`` / ``district_*`` references.
    """
    centre, half = x0 + width / 2, width / 2 / 1.08

    def px(p):
        return centre + float(np.clip(p, -1.05, 1.05)) * half

    page.text(x0 + 0.04 * width, top, tr("◀ worse", lang=lang), 6.5, colour=WORSE)
    page.text(x0 + 0.96 * width, top, tr("better ▶", lang=lang), 6.5, align="right", colour=BETTER)
    label = ref.reference_label([r.get("city_method") for r in rows], lang)
    page.text(centre, top, label, 6.5, align="centre")
    bar = row_height * 0.55
    for k, row in enumerate(rows):
        y = top - (k + 1) * row_height  # row centre
        lo, hi = spine_position(row["city_min"], row), spine_position(row["city_max"], row)
        if np.isfinite(lo) and np.isfinite(hi):
            page.rect(px(min(lo, hi)), y - bar / 2, px(max(lo, hi)) - px(min(lo, hi)), bar, fill=RANGE)
            q1, q3 = spine_position(row["city_q25"], row), spine_position(row["city_q75"], row)
            if np.isfinite(q1) and np.isfinite(q3):
                page.rect(px(min(q1, q3)), y - bar / 2, px(max(q1, q3)) - px(min(q1, q3)), bar, fill=QUARTILES)
        d = spine_position(row.get("district_mean", np.nan), row)
        if np.isfinite(d):
            page.polyline([(px(d), y - bar * 0.6), (px(d), y + bar * 0.6)], width=1.2, dash=(1, 1))
        pos = spine_position(row["value"], row)
        if row["suppressed"]:
            page.text(px(0.5), y - 2.2, tr("suppressed (small numbers)", lang=lang), 6.5, style="italic",
                      align="centre", colour="#404040")
        elif np.isfinite(pos):
            marker, colour = MARKERS.get(row["position"], ("o", SIMILAR))
            page.marker(marker, px(pos), y, 6.0, fill="#ffffff" if row["small_base"] else colour,
                        stroke=colour, width=1.2)
    page.polyline([(centre, top - 0.5 * row_height), (centre, top - (len(rows) + 0.5) * row_height)], width=0.8)


def legend_rows(lang="en", methods=()):
    """(marker, colour, filled, text) entries explaining the spine chart ('… the mean of the
    areas' when every reference is an unweighted mean)."""
    method = ref.MEAN if methods and all(m == ref.MEAN for m in methods) else None
    return [("s", WORSE, True, position_text("worse", lang, method)),
            ("o", SIMILAR, True, position_text("similar", lang, method)),
            ("D", BETTER, True, position_text("better", lang, method)),
            ("o", SIMILAR, False, tr("small base: value uncertain", lang=lang))]


def spine_legend(page, x, y, lang="en", methods=()):
    """The legend line and the reading help under the spine chart; returns the y below it."""
    for marker, colour, filled, text in legend_rows(lang, methods):
        page.marker(marker, x + 3, y + 2.2, 5.0, fill=colour if filled else "#ffffff", stroke=colour, width=1.0)
        page.text(x + 9, y, text, 6.2)
        x += 9 + text_width(text, 6.2) + 14
    return y - 9


def series_chart(page, box, values, city, label, lang="en", target=None, status=None, decimals=1):
    """A small time series in ``box`` (x, y, w, h): the area (line), the city reference (dashed),
    a target line, and the first and last value as text."""
    x, y, w, h = box
    v = np.asarray(values, dtype=float)
    c = np.asarray(city, dtype=float) if city is not None else np.full(len(v), np.nan)
    page.text(x, y + h + 3, label, 6.5)
    extra = [target] if target is not None and np.isfinite(target) else []
    both = np.concatenate([v[np.isfinite(v)], c[np.isfinite(c)], np.asarray(extra, dtype=float)])
    if not np.isfinite(v).any() or not len(both):
        page.text(x + w / 2, y + h / 2, tr("no published values", lang=lang), 6, align="centre", colour="#404040")
        return
    lo, hi = float(both.min()), float(both.max())
    pad = (hi - lo) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    xs = x + (np.arange(len(v)) / max(1, len(v) - 1)) * w

    def ys(arr):
        return y + (np.asarray(arr, dtype=float) - lo) / (hi - lo) * h

    page.polyline([(x, y), (x + w, y)], stroke="#9a9a9a", width=0.5)
    if np.isfinite(c).any():
        ok = np.isfinite(c)
        page.polyline(np.column_stack([xs[ok], ys(c[ok])]), stroke="#000000", width=0.8, dash=(3, 2))
    if extra:
        page.polyline([(x, ys([target])[0]), (x + w, ys([target])[0])], stroke=WORSE, width=0.8, dash=(1, 1.5))
    ok = np.isfinite(v)
    page.polyline(np.column_stack([xs[ok], ys(v[ok])]), stroke=BETTER, width=1.4)
    first, last = int(np.flatnonzero(ok)[0]), int(np.flatnonzero(ok)[-1])
    page.text(x, y - 8, f"{format_value(v[first], decimals, lang)} → {format_value(v[last], decimals, lang)}",
              6, colour=BETTER)
    if status:
        page.text(x, y - 16, status, 5.5)


def geometry_rings(geom, tolerance=0.0):
    """The rings (exterior and holes) of a (multi)polygon as coordinate arrays, simplified."""
    if geom is None or geom.is_empty:
        return []
    if tolerance:
        simple = geom.simplify(tolerance, preserve_topology=False)  # fast; only drawn
        geom = simple if not simple.is_empty else geom
    rings = []
    for part in (list(geom.geoms) if hasattr(geom, "geoms") else [geom]):
        if part.geom_type == "Polygon":
            for ring in [part.exterior, *part.interiors]:
                coords = np.asarray(ring.coords)[:, :2]
                if len(coords) >= 3:
                    rings.append(coords)
    return rings


class MapFrame:
    """Map coordinates → page points for a view fitted into a box with equal scale."""

    def __init__(self, view, box):
        minx, miny, maxx, maxy = view
        x, y, w, h = box
        dx, dy = (maxx - minx) or 1.0, (maxy - miny) or 1.0
        self.scale = min(w / dx, h / dy)
        self.ox = x + (w - dx * self.scale) / 2 - minx * self.scale
        self.oy = y + (h - dy * self.scale) / 2 - miny * self.scale

    def __call__(self, xy):
        xy = np.asarray(xy, dtype=float)
        return np.column_stack([xy[:, 0] * self.scale + self.ox, xy[:, 1] * self.scale + self.oy])

    def point(self, x, y):
        """One point."""
        return x * self.scale + self.ox, y * self.scale + self.oy


def value_text(row, lang="en"):
    """Value with unit, or the suppression mark."""
    if row["suppressed"]:
        return "•"
    return format_value(row["value"], row["decimals"], lang, row["unit"])
