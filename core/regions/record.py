"""Run record: everything needed to reproduce a delineation years later."""
import datetime
import hashlib
import json

import numpy as np

from ..version import library_versions as _library_versions

def library_versions():
    """Versions of the libraries the result depends on."""
    return _library_versions(("numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj"))


def fingerprint(frame, columns=()):
    """SHA-256 over geometry (WKB, 3 decimals via WKT-free rounding) and the given columns."""
    digest = hashlib.sha256()
    if frame is None:
        return None
    if hasattr(frame, "geometry"):
        from ..geometry_arrays import bounds_and_areas  # fast on shapely 1.8 too

        bounds, areas = bounds_and_areas(frame.geometry)
        bounds = np.round(np.asarray(bounds, dtype=float), 3)
        digest.update(np.ascontiguousarray(bounds).tobytes())
        areas = np.round(np.asarray(areas, dtype=float), 2)
        digest.update(np.ascontiguousarray(areas).tobytes())
    for column in columns:
        if column in frame.columns:
            values = frame[column]
            digest.update(str(column).encode())
            digest.update("\x1f".join("" if v is None else str(v) for v in values.tolist()).encode())
    digest.update(str(len(frame)).encode())
    return digest.hexdigest()


def make_record(parameters, seed, fingerprints, diagnostics):
    """The run record as a JSON-serialisable dict."""
    return {
        "tool": "kommunalmonitor:delineateplanningareas",
        "created_utc": datetime.datetime.utcnow().replace(microsecond=0).isoformat() + "Z",
        "parameters": _plain(parameters),
        "seed": seed,
        "versions": library_versions(),
        "inputs": fingerprints,
        "diagnostics": _plain(diagnostics),
    }


def _plain(value):
    """numpy → Python types, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    return value


def dumps(record):
    """Record as pretty JSON text."""
    return json.dumps(_plain(record), indent=2, ensure_ascii=False, sort_keys=True)
