"""Which part of a municipality a map should show, and which far-away parts go into an inset.

Some municipalities have parts far from the rest (Hamburg's Neuwerk island lies about 100 km
out in the North Sea): zoomed to everything, the city shrinks to a speck. ``main_and_far_parts``
finds the main body (the largest part plus every part near it, repeatedly) and the parts far
from it, so the council map can show the main body large and the far parts in an inset.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MapParts:
    """Bounds ``(xmin, ymin, xmax, ymax)`` of the main body and of the far-away parts."""

    main: tuple
    far: list = field(default_factory=list)  # bounds of each group of far-away parts
    far_rows: list = field(default_factory=list)  # positions of the features lying only far away


def _grow(bounds, gap):
    """Bounds grown by ``gap`` on every side."""
    return (bounds[0] - gap, bounds[1] - gap, bounds[2] + gap, bounds[3] + gap)


def _overlaps(a, b):
    """True if two bounds overlap or touch."""
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _union(a, b):
    """The bounds covering both."""
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def main_and_far_parts(frame, gap_share=0.25):
    """Split a layer's extent into its main body and far-away parts.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The areas (projected CRS).
    gap_share : float
        A part counts as far away when it lies more than this share of the main body's
        diagonal from it (0.25: a quarter of the city's size away).

    Returns
    -------
    MapParts
    """
    geometries = frame.geometry.explode(index_parts=True)
    bounds = geometries.bounds.to_numpy(dtype=float)
    rows = np.asarray(geometries.index.get_level_values(0))
    if len(bounds) == 0:
        return MapParts(main=tuple(frame.total_bounds))
    areas = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    main = tuple(bounds[int(np.argmax(areas))])
    in_main = np.zeros(len(bounds), dtype=bool)
    in_main[int(np.argmax(areas))] = True
    changed = True
    while changed:  # parts near the main body join it; the body grows until nothing is near
        changed = False
        diagonal = float(np.hypot(main[2] - main[0], main[3] - main[1])) or 1.0
        reach = _grow(main, gap_share * diagonal)
        for k in np.flatnonzero(~in_main):
            if _overlaps(reach, tuple(bounds[k])):
                main = _union(main, tuple(bounds[k]))
                in_main[k] = True
                changed = True
    far_parts = [tuple(b) for b in bounds[~in_main]]
    groups = []
    for part in far_parts:  # far parts near each other share one inset
        for n, group in enumerate(groups):
            if _overlaps(_grow(group, gap_share * float(np.hypot(main[2] - main[0], main[3] - main[1]))), part):
                groups[n] = _union(group, part)
                break
        else:
            groups.append(part)
    main_rows = set(rows[in_main].tolist())
    far_rows = sorted(set(rows[~in_main].tolist()) - main_rows)
    positions = [int(np.flatnonzero(frame.index == r)[0]) for r in far_rows]
    return MapParts(main=main, far=groups, far_rows=positions)
