"""Whole-array geometry facts (bounds, areas) that are fast on both shapely stacks.

shapely 2 computes bounds and areas for a whole array in C. shapely 1.8 (QGIS 3.22's
Debian stack) has only per-geometry properties; each ``.bounds`` builds Python objects and
costs microseconds, so reading 3 M grid cells took longer than the whole overlay. There we
call GEOS ourselves through shapely 1.8's own ctypes handle: one ``GEOSGeom_getExtent_r``
and one ``GEOSArea_r`` per geometry, writing straight into a numpy buffer (about 5x faster
than ``.bounds``). We write this by hand because the QGIS stack has no vectorised
geometry library (pygeos is not packaged for Debian 12); tests compare it with shapely's own
per-geometry values there and with shapely 2's vectorised functions on the current stack.
Where GEOS is older than 3.11 (no ``GEOSGeom_getExtent_r``), shapely's properties are used.
"""
import ctypes
from itertools import repeat
from operator import attrgetter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SHAPELY_2 = not str(shapely.__version__).startswith("1.")


def geometry_values(geoms):
    """The geometries of a GeoSeries / GeoDataFrame / sequence as a numpy object array."""
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    values = getattr(geoms, "values", geoms)
    data = getattr(values, "data", None)  # geopandas 0.12 GeometryArray keeps its ndarray here
    if isinstance(data, np.ndarray) and data.dtype == object:
        return data
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    if hasattr(values, "__array__") and not isinstance(values, np.ndarray):
        return np.asarray(values, dtype=object)  # geopandas >= 0.13 GeometryArray
    # a plain sequence: fill element by element, because numpy would unpack shapely 1.8's
    # multi-part geometries (they behave as sequences) into a 2-D array
    out = np.empty(len(values), dtype=object)
    for i, geometry in enumerate(values):
        out[i] = geometry
    return out


def bounds_and_areas(geoms):
    """Bounds ``(n, 4)`` (minx, miny, maxx, maxy) and areas ``(n,)`` of many geometries.

    Missing (None) and empty geometries get NaN bounds and area 0.
    """
    values = geometry_values(geoms)
    if SHAPELY_2:
        return (np.asarray(shapely.bounds(values), dtype="float64").reshape(-1, 4),
                np.nan_to_num(np.asarray(shapely.area(values), dtype="float64")))
    functions = _geos_functions()
    if functions is None:
        return _bounds_and_areas_per_geometry(values)
    return _bounds_and_areas_geos(values, *functions)


def _bounds_and_areas_per_geometry(values):
    """shapely 1.8 with GEOS < 3.11: the plain (slow) per-geometry properties."""
    n = len(values)
    bounds = np.full((n, 4), np.nan)
    areas = np.zeros(n)
    for i, geom in enumerate(values):
        if geom is not None and not geom.is_empty:
            bounds[i] = geom.bounds
            areas[i] = geom.area
    return bounds, areas


_GEOS = {}


def _geos_functions():
    """(handle, extent, area) ctypes functions of shapely 1.8's GEOS, or None."""
    if "functions" not in _GEOS:
        _GEOS["functions"] = None
        try:
            from shapely.geos import lgeos  # shapely 1.8 only

            library = lgeos._lgeos
            pointer = ctypes.c_void_p
            extent = ctypes.CFUNCTYPE(ctypes.c_int, *[pointer] * 6)(("GEOSGeom_getExtent_r", library))
            area = ctypes.CFUNCTYPE(ctypes.c_int, *[pointer] * 3)(("GEOSArea_r", library))
            _GEOS["functions"] = (lgeos.geos_handle, extent, area)
        except (ImportError, AttributeError):  # another shapely, or GEOS < 3.11
            pass
    return _GEOS["functions"]


def _bounds_and_areas_geos(values, handle, extent, area):
    """One GEOS call per geometry for its extent and one for its area, written in place."""
    n = len(values)
    rows = np.flatnonzero(~pd.isna(values))
    m = len(rows)
    out = np.full((m, 5), np.nan)  # minx, miny, maxx, maxy, area
    if m:
        # the geometries stay referenced by ``values`` while GEOS reads them
        pointers = list(map(attrgetter("__geom__"), values[rows]))
        if None in pointers or 0 in pointers:
            return _bounds_and_areas_per_geometry(values)
        base = out.ctypes.data
        # addresses of row k's five slots: base + 40 k + 8 j (ranges yield them lazily)
        slots = [range(base + 8 * j, base + 40 * m, 40) for j in range(5)]
        # empty geometries return 0 here and keep their NaN bounds
        list(map(extent, repeat(handle, m), pointers, *slots[:4]))
        list(map(area, repeat(handle, m), pointers, slots[4]))
    bounds = np.full((n, 4), np.nan)
    bounds[rows] = out[:, :4]
    areas = np.zeros(n)
    areas[rows] = np.nan_to_num(out[:, 4])
    return bounds, areas


class PolygonRings:
    """Coordinates of every ring of many (multi)polygons, read once into flat arrays.

    Attributes
    ----------
    xy : (N, 2) float array
        All ring coordinates, ring after ring (each ring closed: last point = first).
    length : (R,) int array
        Number of points of each ring.
    owner : (R,) int array
        Index of the geometry each ring belongs to (non-decreasing).
    hole : (R,) bool array
        True for interior rings (holes).
    """

    def __init__(self, xy, length, owner, hole):
        self.xy = xy
        self.length = np.asarray(length, dtype="int64")
        self.owner = np.asarray(owner, dtype="int64")
        self.hole = np.asarray(hole, dtype=bool)
        self.start = np.cumsum(self.length) - self.length

    def point_ring(self):
        """Ring index of every point of ``xy``."""
        return np.repeat(np.arange(len(self.length)), self.length)


def polygon_rings(geoms):
    """The rings of the polygons in ``geoms`` (polygon parts of collections included; points,
    lines, empty and missing geometries contribute none) as :class:`PolygonRings`."""
    values = geometry_values(geoms)
    if SHAPELY_2:
        return _polygon_rings_vectorised(values)
    return _polygon_rings_wkb(values)


def _polygon_rings_vectorised(values):
    """shapely 2: parts, rings and coordinates in C, no Python loop."""
    parts, owner = shapely.get_parts(values, return_index=True)
    kinds = shapely.get_type_id(parts)
    while (kinds >= 4).any():  # collections inside collections
        nested = kinds >= 4
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        owner = np.concatenate([owner[~nested], owner[nested][sub_index]])
        kinds = shapely.get_type_id(parts)
    keep = (kinds == 3) & ~shapely.is_empty(parts)
    parts, owner = parts[keep], owner[keep]
    order = np.argsort(owner, kind="stable")
    parts, owner = parts[order], owner[order]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    hole = np.r_[False, ring_part[1:] == ring_part[:-1]] if len(rings) else np.zeros(0, bool)
    xy, point_ring = shapely.get_coordinates(rings, return_index=True)
    length = np.bincount(point_ring, minlength=len(rings))
    return PolygonRings(np.asarray(xy, dtype="float64").reshape(-1, 2), length, owner[ring_part], hole)


def _polygon_rings_wkb(values):
    """shapely 1.8: parse each geometry's WKB (3x faster than its ring and coordinate
    objects), with one reused WKB writer; other encodings fall back to shapely objects."""
    from shapely.geos import WKBWriter, lgeos  # shapely 1.8 only

    writer = WKBWriter(lgeos)
    coords, length, owner, hole = [], [], [], []
    for index, geometry in enumerate(values):
        if geometry is None or geometry.is_empty:
            continue
        rings = _wkb_rings(writer.write(geometry))
        if rings is None:  # big-endian or a collection: shapely's own objects
            rings = []
            for polygon in _polygon_parts(geometry):
                rings.append((np.asarray(polygon.exterior.coords), False))
                rings.extend((np.asarray(r.coords), True) for r in polygon.interiors)
        for xy, is_hole in rings:
            coords.append(xy[:, :2])
            length.append(len(xy))
            owner.append(index)
            hole.append(is_hole)
    xy = np.concatenate(coords).astype("float64") if coords else np.zeros((0, 2))
    return PolygonRings(xy, length, owner, hole)


def _polygon_parts(geometry):
    """Polygons of a (multi)polygon or collection; empty list for other or empty geometry."""
    if geometry is None or geometry.is_empty:
        return []
    kind = geometry.geom_type
    if kind == "Polygon":
        return [geometry]
    if kind in ("MultiPolygon", "GeometryCollection"):
        return [p for part in geometry.geoms for p in _polygon_parts(part)]
    return []


def _wkb_rings(wkb):
    """Rings of a little-endian Polygon / MultiPolygon WKB (2-D, Z or M) as
    ``[(coords (n, dims), is_hole)]``; None for any other encoding or type."""
    rings = []

    def polygon(offset):
        if wkb[offset] != 1:
            return None
        kind = int.from_bytes(wkb[offset + 1:offset + 5], "little")
        dims = 2 + bool(kind & 0x80000000) + bool(kind & 0x40000000)
        iso = (kind & 0xFFFF) // 1000
        dims += {0: 0, 1: 1, 2: 1, 3: 2}.get(iso, 0)
        if (kind & 0xFFFF) % 1000 != 3:
            return None
        n_rings = int.from_bytes(wkb[offset + 5:offset + 9], "little")
        offset += 9
        for k in range(n_rings):
            n_points = int.from_bytes(wkb[offset:offset + 4], "little")
            xy = np.frombuffer(wkb, dtype="<f8", count=n_points * dims, offset=offset + 4)
            rings.append((xy.reshape(n_points, dims), k > 0))
            offset += 4 + 8 * n_points * dims
        return offset

    if len(wkb) < 9 or wkb[0] != 1:
        return None
    kind = int.from_bytes(wkb[1:5], "little") & 0xFFFF
    if kind % 1000 == 3:
        return rings if polygon(0) is not None else None
    if kind % 1000 == 6:
        offset = 9
        for _ in range(int.from_bytes(wkb[5:9], "little")):
            offset = polygon(offset)
            if offset is None:
                return None
        return rings
    return None


def reproject(geoms, crs):
    """``geoms.to_crs(crs)`` (GeoSeries or GeoDataFrame) that keeps points PROJ cannot map.

    PROJ's Cassini-Soldner inverse returns infinity for a point exactly on the latitude of
    origin (seen with Berlin's Soldner system, EPSG:3068, at y = 10,000 m), so a whole
    block would be lost. Such vertices are transformed again 1 mm (or 1e-8 degrees) beside
    that line, far below any survey's precision; points that still fail stay infinite and
    are reported by the callers' checks.
    """
    out = geoms.to_crs(crs)
    bounds, _ = bounds_and_areas(out)
    values = geometry_values(geoms)
    bad = np.flatnonzero(~np.isfinite(bounds).all(axis=1) & ~pd.isna(values))
    if not len(bad):
        return out
    from pyproj import CRS, Transformer
    from shapely.ops import transform

    source = CRS.from_user_input(geoms.crs)
    transformer = Transformer.from_crs(source, CRS.from_user_input(crs), always_xy=True)
    nudge = 1e-8 if source.is_geographic else 1e-3

    def robust(x, y, z=None):
        """Transform coordinates; retry the ones that come out infinite beside the line."""
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        tx, ty = (np.asarray(v, dtype="float64") for v in transformer.transform(x, y))
        failed = ~(np.isfinite(tx) & np.isfinite(ty))
        if failed.any():
            rx, ry = transformer.transform(x[failed] + nudge, y[failed] + nudge)
            tx[failed], ty[failed] = rx, ry
        return tx, ty

    fixed = geometry_values(out).copy()
    for row in bad:
        fixed[row] = transform(robust, values[row])
    series = gpd.GeoSeries(fixed, index=out.index, crs=out.crs)
    if isinstance(out, gpd.GeoDataFrame):
        out = out.copy()
        out[out.geometry.name] = series
        return out
    return series
