"""Spatial-index and overlay helpers that behave the same on shapely 1.8/geopandas 0.12
and shapely 2.x/geopandas 1.x (the two stacks)."""
import geopandas as gpd
import numpy as np

from ..geometry_arrays import SHAPELY_2, geometry_values

_GPD_MAJOR_MINOR = tuple(int(p) for p in gpd.__version__.split(".")[:2])
_SYMMETRIC = (None, "intersects")
# below this many candidate pairs per thread, starting threads costs more than it saves
PAIRS_PER_THREAD = 2000


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
    if _GPD_MAJOR_MINOR >= (0, 13):
        result = tree.sindex.query(inputs.values, predicate=predicate)
        left, right = result[0], result[1]
    elif predicate in _SYMMETRIC and len(inputs) > len(tree):
        # rtree (geopandas 0.12) answers one Python-level query per input geometry: index
        # the larger side and query with the smaller one (same pairs, far fewer queries)
        result = inputs.sindex.query_bulk(tree.values, predicate=predicate)
        left, right = result[1], result[0]
    else:
        result = tree.sindex.query_bulk(inputs.values, predicate=predicate)
        left, right = result[0], result[1]
    left = np.asarray(left, dtype="int64")
    right = np.asarray(right, dtype="int64")
    order = np.lexsort((right, left))
    return left[order], right[order]


def pairwise_intersection(a, b, ia, ib):
    """Intersections ``a[ia[k]] ∩ b[ib[k]]`` as a GeoSeries (RangeIndex, element-wise)."""
    left, right = _paired(a, b, ia, ib)
    return left.intersection(right)


def clip_to_boxes(geoms, index, minx, miny, maxx, maxy):
    """``geoms[index[k]]`` clipped to the box ``k`` (numpy object array, element-wise).

    shapely 2 intersects whole arrays at once; shapely 1.8 has no vectorised overlay, and
    GEOS's rectangle clipping there costs a third of a general intersection per pair.
    """
    values = geometry_values(geoms)[np.asarray(index, dtype="int64")]
    if SHAPELY_2:
        import shapely

        return shapely.intersection(values, shapely.box(minx, miny, maxx, maxy))
    from shapely.ops import clip_by_rect

    out = np.empty(len(values), dtype=object)
    for k, (geometry, x0, y0, x1, y1) in enumerate(zip(values, np.asarray(minx).tolist(), np.asarray(miny).tolist(),
                                                       np.asarray(maxx).tolist(), np.asarray(maxy).tolist())):
        out[k] = clip_by_rect(geometry, x0, y0, x1, y1)
    return out


def pairwise_predicate(a, b, ia, ib, predicate):
    """Boolean array: ``predicate(a[ia[k]], b[ib[k]])`` element-wise (``"covers"``,
    ``"contains"``, …)."""
    left, right = _paired(a, b, ia, ib)
    return np.asarray(getattr(left, predicate)(right), dtype=bool)


def _thread_budget():
    """Cores this process may use: its CPU affinity, capped by ``OMP_NUM_THREADS`` where set
    (Dask's workers set it to 1, so batch runs do not oversubscribe the machine)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        cores = min(cores, max(1, int(os.environ.get("OMP_NUM_THREADS", cores))))
    except ValueError:
        pass
    return cores


def overlaps_shapely2(a, b, keep_geometry=False, check=None):
    """Overlaps ``(ia, ib, area, pieces)`` of polygons ``a`` with polygons ``b`` on shapely 2.

    The same pairs and areas as a predicate query + pairwise intersection, built for many
    small polygons (blocks, cells, old areas) against fewer large ones (planning areas):
    candidate pairs come from the boxes alone, a ``b`` polygon is prepared once and takes a
    small polygon it covers whole (no overlay; most blocks lie wholly in one area), and
    only the rest is intersected. The pairs are split into chunks run on up to four
    threads: shapely releases the GIL in these calls, and every thread prepares its own
    copies of the ``b`` polygons it needs, because GEOS's prepared geometries are not safe
    to share between threads. ``check`` (e.g. a cancellation check) runs between stages.
    Pairs are sorted by ``ia``, then ``ib``; pairs that only touch are left out.
    """
    from concurrent.futures import ThreadPoolExecutor

    import shapely

    a = np.asarray(geometry_values(a), dtype=object)
    b = np.asarray(geometry_values(b), dtype=object)
    if len(a) == 0 or len(b) == 0:
        empty = np.empty(0, dtype="int64")
        return empty, empty, np.empty(0, dtype="float64"), (np.empty(0, dtype=object) if keep_geometry else None)
    jb, ja = shapely.STRtree(a).query(b)
    order = np.lexsort((ja, jb))  # grouped by b: a chunk then needs few b copies
    ia, ib = ja[order].astype("int64"), jb[order].astype("int64")
    if check is not None:
        check()

    def chunk(span):
        """Areas (and pieces) of the pairs ``span`` with thread-private prepared b."""
        sa, sb = ia[span], ib[span]
        need, local = np.unique(sb, return_inverse=True)
        own = shapely.from_wkb(shapely.to_wkb(b[need]))
        shapely.prepare(own)
        big = own[local]
        small = a[sa]
        area = np.zeros(len(sa), dtype="float64")
        pieces = small.copy() if keep_geometry else None
        covered = shapely.covers(big, small)
        area[covered] = shapely.area(small[covered])
        rest = np.flatnonzero(~covered)
        rest = rest[shapely.intersects(big[rest], small[rest])]
        if len(rest):
            cut = shapely.intersection(small[rest], big[rest])
            area[rest] = shapely.area(cut)
            if keep_geometry:
                pieces[rest] = cut
        return area, pieces

    n_chunks = max(1, min(4, _thread_budget(), len(ia) // PAIRS_PER_THREAD))
    spans = np.array_split(np.arange(len(ia)), n_chunks)
    if n_chunks == 1:
        parts = [chunk(spans[0])]
    else:
        with ThreadPoolExecutor(n_chunks) as pool:
            parts = list(pool.map(chunk, spans))
    area = np.concatenate([p[0] for p in parts])
    pieces = np.concatenate([p[1] for p in parts]) if keep_geometry else None
    order = np.lexsort((ib, ia))
    keep = order[area[order] > 0]
    return ia[keep], ib[keep], area[keep], (pieces[keep] if keep_geometry else None)


def _paired(a, b, ia, ib):
    """GeoSeries ``a[ia]`` and ``b[ib]`` side by side (RangeIndex, for element-wise methods)."""
    return gpd.GeoSeries(geometry_values(a)[ia]), gpd.GeoSeries(geometry_values(b)[ib])


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


def polygons_in(points, polygons, on_overlap=None):
    """For each point, the index of the first polygon that contains or touches it, or -1.

    A point on a shared boundary goes to the polygon with the smallest index, so it is
    counted exactly once. With ``on_overlap``, a point strictly inside two polygons calls
    ``on_overlap(first, second)`` (polygon positions), which should raise: the polygons
    overlap.
    """
    ip, ia = query_pairs(points, polygons, predicate="intersects")
    out = np.full(len(as_series(points)), -1, dtype="int64")
    if len(ip):
        first = np.r_[True, ip[1:] != ip[:-1]]
        out[ip[first]] = ia[first]
        if on_overlap is not None and not first.all():
            # points with several polygons: on a shared boundary, or inside an overlap
            multi = np.isin(ip, ip[~first])
            inside = pairwise_predicate(polygons, points, ia[multi], ip[multi], "contains")
            mp, ma = ip[multi][inside], ia[multi][inside]
            twice = np.flatnonzero(mp[1:] == mp[:-1])
            if len(twice):
                on_overlap(ma[twice[0]], ma[twice[0] + 1])
    return out


def same_crs(a, b):
    """True when two CRS descriptions denote the same CRS."""
    from pyproj import CRS

    try:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except Exception:  # noqa: BLE001 - an unreadable description is treated as different
        return False
