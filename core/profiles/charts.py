"""Charts of a profile, drawn into given matplotlib axes (Agg/PDF, never pyplot's global state).

Colours are the Okabe–Ito set (distinguishable with every common colour-vision deficiency)
and every colour is doubled by a marker shape, so print in grey still reads.
"""
import numpy as np
from matplotlib.collections import LineCollection, PatchCollection, PolyCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from ..i18n import tr
from .content import format_value

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
    """Position of ``value`` on the spine (−1 worst end … 0 city mean … +1 best end)."""
    mean, vmin, vmax = row["city_mean"], row["city_min"], row["city_max"]
    scale = max(abs(mean - vmin), abs(vmax - mean)) if np.isfinite(mean) else np.nan
    if value is None or not np.isfinite(value) or not np.isfinite(scale) or scale <= 0:
        return np.nan
    sign = -1.0 if row["higher_is_worse"] else 1.0
    return sign * (float(value) - mean) / scale


def spine_chart(ax, rows, lang="en", text_columns=True):
    """Draw the spine chart of one area.

    Parameters
    ----------
    ax : matplotlib Axes
    rows : list of dict
        Per indicator: ``label``, ``value``, ``numerator``, ``base``, ``small_base``,
        ``suppressed``, ``position``, ``higher_is_worse``, ``decimals``, ``unit`` and the
        ``city_*`` / ``district_*`` references (from ``ProfileContent.values``).
    """
    n = len(rows)
    ax.set_xlim(-1.08, 1.08)
    ax.set_ylim(n - 0.5, -0.9)
    ax.axis("off")
    ax.plot([0, 0], [n - 0.5, -0.5], color="#000000", lw=0.8, zorder=3)
    ax.text(-1.0, -0.75, tr("◀ worse", lang=lang), fontsize=6.5, ha="left", va="center", color=WORSE)
    ax.text(1.0, -0.75, tr("better ▶", lang=lang), fontsize=6.5, ha="right", va="center", color=BETTER)
    ax.text(0, -0.75, tr("city average", lang=lang), fontsize=6.5, ha="center", va="center")
    # one collection per kind of mark (not one artist per row): a page draws several times faster
    ranges, quartiles, districts, marks = [], [], [], {}
    for y, row in enumerate(rows):
        lo = spine_position(row["city_min"], row)
        hi = spine_position(row["city_max"], row)
        if np.isfinite(lo) and np.isfinite(hi):
            ranges.append(_bar(lo, hi, y))
            q1, q3 = spine_position(row["city_q25"], row), spine_position(row["city_q75"], row)
            if np.isfinite(q1) and np.isfinite(q3):
                quartiles.append(_bar(q1, q3, y))
        dpos = spine_position(row.get("district_mean", np.nan), row)
        if np.isfinite(dpos):
            districts.append([(dpos, y - 0.3), (dpos, y + 0.3)])
        pos = spine_position(row["value"], row)
        if row["suppressed"]:
            ax.text(0.5, y, tr("suppressed (small numbers)", lang=lang), fontsize=6.5, ha="center",
                    va="center", style="italic", color="#404040", zorder=5)
        elif np.isfinite(pos):
            key = (row["position"] if row["position"] in MARKERS else "similar", bool(row["small_base"]))
            marks.setdefault(key, []).append((float(np.clip(pos, -1.05, 1.05)), y))
    if ranges:
        ax.add_collection(PolyCollection(ranges, facecolors=RANGE, edgecolors="none", zorder=1), autolim=False)
    if quartiles:
        ax.add_collection(PolyCollection(quartiles, facecolors=QUARTILES, edgecolors="none", zorder=2),
                          autolim=False)
    if districts:
        ax.add_collection(LineCollection(districts, colors="#000000", linewidths=1.4, linestyles=(0, (1, 1)),
                                         zorder=4), autolim=False)
    for (position, small), points in marks.items():
        marker, colour = MARKERS[position]
        xy = np.array(points)
        ax.plot(xy[:, 0], xy[:, 1], ls="none", marker=marker, ms=6.5, mew=1.4, mec=colour,
                mfc="white" if small else colour, zorder=6)


def _bar(a, b, y, height=0.55):
    """Corners of a horizontal bar from ``a`` to ``b`` at row ``y``."""
    lo, hi = min(a, b), max(a, b)
    return [(lo, y - height / 2), (hi, y - height / 2), (hi, y + height / 2), (lo, y + height / 2)]


def legend_rows(lang="en"):
    """(marker, colour, filled, text) entries explaining the spine chart."""
    return [("s", WORSE, True, tr("worse than the city average", lang=lang)),
            ("o", SIMILAR, True, tr("close to the city average", lang=lang)),
            ("D", BETTER, True, tr("better than the city average", lang=lang)),
            ("o", SIMILAR, False, tr("small base: value uncertain", lang=lang))]


def draw_spine_legend(ax, lang="en"):
    """A one-line legend under the spine chart (also city range, quartiles, district)."""
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    x = 0.0
    for marker, colour, filled, text in legend_rows(lang):
        ax.scatter([x + 0.008], [0.5], s=22, marker=marker, facecolors=colour if filled else "white",
                   edgecolors=colour, linewidths=1.2)
        ax.text(x + 0.02, 0.5, text, fontsize=6, va="center")
        x += 0.25
    ax.text(0.0, -0.4, tr("Grey bar: range of all areas (darker: middle half). Dotted line: district "
                          "average. Black line: city average.", lang=lang), fontsize=6, va="center")


def series_chart(ax, periods, values, city, label, lang="en", target=None, status=None, decimals=1):
    """A small time series without axes (the periods are named once above the row): the area's
    values (line), the city mean (dashed), a target line and the last value as text. Drawn
    with few artists, because an atlas draws hundreds of them."""
    x = np.arange(len(periods), dtype=float)
    v = np.asarray(values, dtype=float)
    c = np.asarray(city, dtype=float) if city is not None else np.full(len(x), np.nan)
    ax.axis("off")
    both = np.concatenate([v[np.isfinite(v)], c[np.isfinite(c)]] +
                          ([np.array([target])] if target is not None and np.isfinite(target) else []))
    ax.text(0.0, 1.08, label, transform=ax.transAxes, fontsize=6.5, va="bottom")
    if not len(both) or not np.isfinite(v).any():
        ax.text(0.5, 0.5, tr("no published values", lang=lang), transform=ax.transAxes, fontsize=6,
                ha="center", va="center", color="#404040")
        return
    lo, hi = float(both.min()), float(both.max())
    pad = (hi - lo) * 0.1 or 1.0
    ax.set_xlim(-0.2, max(1.0, len(x) - 1) + 0.2)
    ax.set_ylim(lo - pad, hi + pad)
    ax.plot([-0.2, max(1.0, len(x) - 1) + 0.2], [lo - pad, lo - pad], color="#9a9a9a", lw=0.5)
    if np.isfinite(c).any():
        ax.plot(x, c, color="#000000", lw=0.8, ls="--")
    ax.plot(x, v, color=BETTER, lw=1.4)
    if target is not None and np.isfinite(target):
        ax.plot([x[0], x[-1]], [target, target], color=WORSE, lw=0.8, ls=":")
    last = int(np.flatnonzero(np.isfinite(v))[-1])
    first = int(np.flatnonzero(np.isfinite(v))[0])
    ax.text(0.0, -0.12, f"{format_value(v[first], decimals, lang)} → {format_value(v[last], decimals, lang)}",
            transform=ax.transAxes, fontsize=6, va="top", color=BETTER)
    if status:
        ax.text(0.0, -0.42, status, transform=ax.transAxes, fontsize=5.5, va="top")


def geometry_path(geom, tolerance=0.0):
    """A matplotlib Path of a (multi)polygon, optionally simplified (holes kept)."""
    if geom is None or geom.is_empty:
        return None
    if tolerance:
        simple = geom.simplify(tolerance, preserve_topology=True)
        geom = simple if not simple.is_empty else geom
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    vertices, codes = [], []
    for part in parts:
        if part.geom_type != "Polygon":
            continue
        for ring in [part.exterior, *part.interiors]:
            coords = np.asarray(ring.coords)[:, :2]
            if len(coords) < 3:
                continue
            vertices.append(coords)
            ring_codes = np.full(len(coords), Path.LINETO, dtype=np.uint8)
            ring_codes[0] = Path.MOVETO
            ring_codes[-1] = Path.CLOSEPOLY
            codes.append(ring_codes)
    if not vertices:
        return None
    return Path(np.concatenate(vertices), np.concatenate(codes))


def draw_paths(ax, paths, facecolors, edgecolor="#ffffff", linewidth=0.2, zorder=1):
    """Add polygon paths with their fill colours as one collection."""
    patches, colours = [], []
    for path, colour in zip(paths, facecolors):
        if path is not None:
            patches.append(PathPatch(path))
            colours.append(colour)
    if patches:
        # autolim off: the map extent is set by the caller, and computing the data limits of
        # every path (Bézier extrema) would cost more than drawing it
        ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors=edgecolor,
                                          linewidths=linewidth, zorder=zorder), autolim=False)


def frame_map(ax, bounds, margin=0.04):
    """Equal-aspect map axes fitted to ``bounds`` (minx, miny, maxx, maxy), no ticks."""
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) or 1.0, (maxy - miny) or 1.0
    ax.set_xlim(minx - margin * dx, maxx + margin * dx)
    ax.set_ylim(miny - margin * dy, maxy + margin * dy)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#9a9a9a")
        spine.set_linewidth(0.5)


def value_text(row, lang="en"):
    """Value with unit, or the suppression mark."""
    if row["suppressed"]:
        return "•"
    return format_value(row["value"], row["decimals"], lang, row["unit"])
