"""Compact SVG paths of the areas: simplified, moved into a small integer grid, written with
relative moves, so 542 planning areas fit in a few hundred kilobytes."""
import numpy as np


class SvgFrame:
    """Maps coordinates of a projected CRS into an SVG viewBox (y down), rounding to
    ``1 / precision`` of a view unit."""

    def __init__(self, bounds, width=1000.0, margin=0.01, precision=1):
        minx, miny, maxx, maxy = [float(b) for b in bounds]
        dx, dy = (maxx - minx) or 1.0, (maxy - miny) or 1.0
        self.minx, self.maxy = minx - margin * dx, maxy + margin * dy
        self.scale = float(width) / (dx * (1 + 2 * margin))
        self.width = float(width)
        self.height = round(dy * (1 + 2 * margin) * self.scale, 1)
        self.precision = int(precision)

    @property
    def unit(self):
        """Length of one view unit in map units (metres)."""
        return 1.0 / self.scale

    def view_box(self):
        """The viewBox attribute."""
        return f"0 0 {self.width:g} {self.height:g}"

    def points(self, coords):
        """Map coordinates → integer view coordinates (times ``precision``)."""
        xy = np.asarray(coords, dtype=float)[:, :2]
        x = np.rint((xy[:, 0] - self.minx) * self.scale * self.precision).astype(np.int64)
        y = np.rint((self.maxy - xy[:, 1]) * self.scale * self.precision).astype(np.int64)
        return np.column_stack([x, y])

    def point(self, x, y):
        """One point as view coordinates (floats, one decimal)."""
        return (round((x - self.minx) * self.scale, 1), round((self.maxy - y) * self.scale, 1))

    def path(self, geom, tolerance=None):
        """SVG path data of a (multi)polygon: relative moves, holes kept (fill-rule evenodd)."""
        if geom is None or geom.is_empty:
            return ""
        tolerance = self.unit if tolerance is None else tolerance
        if tolerance > 0:
            # plain Douglas-Peucker: several times faster than the topology-preserving variant
            # (most of the atlas's time); a self-touching outline is harmless when drawn
            simple = geom.simplify(tolerance, preserve_topology=False)
            geom = simple if not simple.is_empty else geom
        parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        out = []
        last = np.array([0, 0], dtype=np.int64)
        for part in parts:
            if part.geom_type != "Polygon":
                continue
            for ring in [part.exterior, *part.interiors]:
                pts = self.points(ring.coords)
                keep = np.ones(len(pts), dtype=bool)
                keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)  # drop points merged by rounding
                pts = pts[keep]
                if len(pts) > 1 and (pts[0] == pts[-1]).all():
                    pts = pts[:-1]
                if len(pts) < 3:
                    continue
                deltas = np.diff(pts, axis=0)
                start = pts[0] - last
                text = f"m{_num(start[0], self.precision)} {_num(start[1], self.precision)}l" + \
                    " ".join(f"{_num(a, self.precision)} {_num(b, self.precision)}" for a, b in deltas) + "z"
                out.append(text.replace(" -", "-"))  # a minus sign separates numbers by itself
                last = pts[0]
        return "".join(out)


def _num(value, precision):
    """An integer view coordinate as short text (precision 10 → one decimal)."""
    if precision == 1:
        return str(int(value))
    text = f"{value / precision:.{len(str(precision)) - 1}f}".rstrip("0").rstrip(".")
    return text or "0"
