"""GEOS called directly through shapely 1.8's ctypes handle, for the QGIS stack only.

shapely 1.8 (Debian's, without pygeos) wraps every result of a per-geometry operation in
Python objects; for 30,000 units the wrapping costs more than the geometry work. The
delineation needs only numbers from most of these operations (shared-boundary lengths,
centroid coordinates), so it calls the same GEOS functions shapely would call and keeps
the numbers: the results are identical to shapely's, only faster. We write this by hand
because the QGIS stack has no vectorised geometry library; shapely 2 (current stack) does
all of it in C and never comes here. ``functions()`` is None when this shapely is not 1.8.
"""
import ctypes

import numpy as np

_CACHE = {}


def functions():
    """Dict of ctypes GEOS functions plus ``handle``, or None (shapely 2, or symbols missing)."""
    if "f" not in _CACHE:
        _CACHE["f"] = None
        try:
            from shapely.geos import lgeos  # shapely 1.8 only

            lib = lgeos._lgeos
            ptr = ctypes.c_void_p
            dbl = ctypes.POINTER(ctypes.c_double)
            _CACHE["f"] = {
                "handle": lgeos.geos_handle,
                "intersection": ctypes.CFUNCTYPE(ptr, ptr, ptr, ptr)(("GEOSIntersection_r", lib)),
                "boundary": ctypes.CFUNCTYPE(ptr, ptr, ptr)(("GEOSBoundary_r", lib)),
                "buffer": ctypes.CFUNCTYPE(ptr, ptr, ptr, ctypes.c_double, ctypes.c_int)(("GEOSBuffer_r", lib)),
                "centroid": ctypes.CFUNCTYPE(ptr, ptr, ptr)(("GEOSGetCentroid_r", lib)),
                "x": ctypes.CFUNCTYPE(ctypes.c_int, ptr, ptr, dbl)(("GEOSGeomGetX_r", lib)),
                "y": ctypes.CFUNCTYPE(ctypes.c_int, ptr, ptr, dbl)(("GEOSGeomGetY_r", lib)),
                "length": ctypes.CFUNCTYPE(ctypes.c_int, ptr, ptr, dbl)(("GEOSLength_r", lib)),
                "is_empty": ctypes.CFUNCTYPE(ctypes.c_byte, ptr, ptr)(("GEOSisEmpty_r", lib)),
                "destroy": ctypes.CFUNCTYPE(None, ptr, ptr)(("GEOSGeom_destroy_r", lib)),
            }
        except (ImportError, AttributeError):
            pass
    return _CACHE["f"]


def pointers(values):
    """GEOS addresses of shapely 1.8 geometries (the geometries must stay alive meanwhile)."""
    return [g.__geom__ for g in values]


def centroids(values):
    """(n, 2) centroid coordinates, as shapely 1.8's ``centroid`` gives them (NaN when empty)."""
    f = functions()
    handle = f["handle"]
    out = np.full((len(values), 2), np.nan)
    x, y = ctypes.c_double(), ctypes.c_double()
    for k, p in enumerate(pointers(values)):
        c = f["centroid"](handle, p)
        if not c:
            continue
        if f["is_empty"](handle, c) == 0:
            f["x"](handle, c, ctypes.byref(x))
            f["y"](handle, c, ctypes.byref(y))
            out[k] = (x.value, y.value)
        f["destroy"](handle, c)
    return out


def shared_lengths(values, tolerance, ii, jj, quadsegs=2):
    """Length and non-emptiness of boundary(i) ∩ buffer(j, tolerance) for the pairs (ii, jj).

    Boundaries and buffers are built once per unit in GEOS and freed at the end.
    """
    f = functions()
    handle = f["handle"]
    geometry = pointers(values)
    boundary = [f["boundary"](handle, p) for p in geometry]
    near = [f["buffer"](handle, p, float(tolerance), quadsegs) for p in geometry] if tolerance > 0 else geometry
    try:
        if not all(boundary) or not all(near):
            return None
        lengths = np.zeros(len(ii))
        nonempty = np.zeros(len(ii), dtype=bool)
        out = ctypes.c_double()
        intersection, is_empty, length, destroy = f["intersection"], f["is_empty"], f["length"], f["destroy"]
        for k, (a, b) in enumerate(zip(ii.tolist(), jj.tolist())):
            result = intersection(handle, boundary[a], near[b])
            if not result:
                return None
            if is_empty(handle, result) == 0:  # 1: empty, 2: GEOS exception
                nonempty[k] = True
                length(handle, result, ctypes.byref(out))
                lengths[k] = out.value
            destroy(handle, result)
        return lengths, nonempty
    finally:
        for p in boundary:
            if p:
                f["destroy"](handle, p)
        if tolerance > 0:
            for p in near:
                if p:
                    f["destroy"](handle, p)
