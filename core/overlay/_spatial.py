"""Spatial-index and overlay helpers that behave the same on shapely 1.8/geopandas 0.12
and shapely 2.x/geopandas 1.x (the two stacks)."""
import geopandas as gpd
import numpy as np

_GPD_MAJOR_MINOR = tuple(int(p) for p in gpd.__version__.split(".")[:2])


def as_series(geoms, crs=None):
    """GeoSeries with a fresh RangeIndex (so binary operations never align on labels)."""
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        return gpd.GeoSeries(geoms.values, crs=geoms.crs if crs is None else crs)
    return gpd.GeoSeries(list(geoms) if not hasattr(geoms, "dtype") else geoms, crs=crs)


def query_pairs(inputs, tree, predicate="intersects"):
    """Index pairs ``(i_input, i_tree)`` where ``predicate(inputs[i], tree[j])`` holds.

    geopandas 0.12 (rtree backend) has ``sindex.query_bulk``; geopandas >= 0.13 takes
    arrays in ``sindex.query`` (``query_bulk`` is gone in 1.x). Pairs are sorted by input,
    then tree index, so results do not depend on the backend's order.
    """
    inputs = as_series(inputs)
    tree = as_series(tree)
    if len(inputs) == 0 or len(tree) == 0:
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    sindex = tree.sindex
    if _GPD_MAJOR_MINOR >= (0, 13):
        result = sindex.query(inputs.values, predicate=predicate)
    else:
        result = sindex.query_bulk(inputs.values, predicate=predicate)
    left = np.asarray(result[0], dtype="int64")
    right = np.asarray(result[1], dtype="int64")
    order = np.lexsort((right, left))
    return left[order], right[order]


def pairwise_intersection(a, b, ia, ib):
    """Intersections ``a[ia[k]] ∩ b[ib[k]]`` as a GeoSeries (RangeIndex, element-wise)."""
    left = gpd.GeoSeries(np.asarray(a.values)[ia])
    right = gpd.GeoSeries(np.asarray(b.values)[ib])
    return left.intersection(right)


def pairwise_covers(a, b, ia, ib):
    """Boolean array: ``a[ia[k]]`` covers ``b[ib[k]]`` (element-wise)."""
    left = gpd.GeoSeries(np.asarray(a.values)[ia])
    right = gpd.GeoSeries(np.asarray(b.values)[ib])
    return np.asarray(left.covers(right), dtype=bool)


def boxes(minx, miny, maxx, maxy, crs=None):
    """GeoSeries of axis-aligned rectangles, built as one block of WKB (fast on both
    shapely versions; shapely 1.8 has no vectorised ``box``)."""
    minx, miny, maxx, maxy = (np.asarray(v, dtype="float64").ravel() for v in (minx, miny, maxx, maxy))
    n = len(minx)
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("rings", "<u4"), ("points", "<u4"),
                       ("xy", "<f8", (10,))])
    wkb = np.zeros(n, dtype=record)
    wkb["order"] = 1
    wkb["type"] = 3
    wkb["rings"] = 1
    wkb["points"] = 5
    xy = np.column_stack([minx, miny, maxx, miny, maxx, maxy, minx, maxy, minx, miny])
    wkb["xy"] = xy
    raw = wkb.tobytes()
    size = record.itemsize
    return gpd.GeoSeries.from_wkb([raw[i * size:(i + 1) * size] for i in range(n)], crs=crs)


def points_xy(x, y, crs=None):
    """GeoSeries of points from coordinate arrays."""
    return gpd.GeoSeries(gpd.points_from_xy(np.asarray(x, dtype="float64"),
                                            np.asarray(y, dtype="float64")), crs=crs)


def point_coords(geoms):
    """(x, y) float arrays of point geometries (centroids for other types)."""
    series = as_series(geoms)
    kinds = set(series.geom_type.dropna().unique())
    if kinds - {"Point"}:
        series = series.centroid
    return np.asarray(series.x, dtype="float64"), np.asarray(series.y, dtype="float64")


def polygons_in(points, polygons):
    """For each point, the index of the first polygon that contains or touches it, or -1.

    A point on a shared boundary goes to the polygon with the smallest index, so it is
    counted exactly once.
    """
    ip, ia = query_pairs(points, polygons, predicate="intersects")
    out = np.full(len(as_series(points)), -1, dtype="int64")
    if len(ip):
        first = np.r_[True, ip[1:] != ip[:-1]]
        out[ip[first]] = ia[first]
    return out
