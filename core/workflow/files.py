"""Reading a workflow's input files and writing its outputs all or nothing.

Vectors through geopandas (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet), tables
through pandas (CSV with the key column kept as text; XLSX), rasters stay paths (the zonal
engine reads them). Outputs are written into a staging folder beside their place and moved
in together only when every output is complete, like the Processing algorithms do.
"""
import hashlib
import os
import shutil
import uuid

import geopandas as gpd
import pandas as pd

from ..crs_checks import check_area_of_use
from ..errors import InputError
from ..i18n import tr
from ..values import to_numbers

STAGING_PREFIX = ".kommunalmonitor-partial-"


def fingerprint(path, chunk=1 << 20):
    """SHA-256 of a file (of every file of a shapefile set is not needed: the .shp is enough)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def read_input(spec, name, feedback=None):
    """The dataset behind one input: a GeoDataFrame, a DataFrame, or a raster path.

    A layer whose coordinates lie outside its CRS's area of use gets the same warning as in
    QGIS (the CRS is probably wrong: assign the right one).
    """
    path = spec["path"]
    if not os.path.exists(path):
        raise InputError(tr("Input '{name}': the file {path} does not exist.", name=name, path=path))
    if spec["kind"] == "raster":
        return path
    extension = os.path.splitext(path)[1].lower()
    try:
        if spec["kind"] == "table":
            return _read_table(path, spec.get("key"), name)
        if extension in (".parquet", ".geoparquet"):
            frame = gpd.read_parquet(path)
        else:
            layers = _layer_names(path) if extension == ".gpkg" else []
            layer = spec.get("layer")
            if extension == ".gpkg" and layer is None and len(layers) > 1:
                raise InputError(tr("Input '{name}': the GeoPackage {path} holds several layers ({layers}); "
                                    "say which one with 'layer:'.", name=name, path=path,
                                    layers=", ".join(layers)))
            if layer is not None and layers and layer not in layers:
                raise InputError(tr("Input '{name}': the GeoPackage {path} has no layer '{layer}' (it has "
                                    "{layers}).", name=name, path=path, layer=layer, layers=", ".join(layers)))
            frame = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - a reader's own error, shown in the planner's words
        raise InputError(tr("Input '{name}': {path} could not be read ({error}).", name=name, path=path,
                            error=str(error).split("\n")[0])) from None
    frame.attrs["layer_name"] = name
    if isinstance(frame, gpd.GeoDataFrame):
        check_area_of_use(frame, name, feedback)
    return frame


def _layer_names(path):
    """Layer names of a GeoPackage (pyogrio or fiona, whichever geopandas uses)."""
    try:
        import pyogrio

        return [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except ImportError:
        import fiona

        return list(fiona.listlayers(path))


def _read_table(path, key, name):
    """A CSV/XLSX table; ``key`` stays text (leading zeros), numeric text columns become numbers."""
    if path.lower().endswith(".xlsx"):
        frame = pd.read_excel(path, dtype=str)
    else:
        frame = pd.read_csv(path, dtype=str, sep=None, engine="python", encoding="utf-8-sig")
    for column in frame.columns:
        if column == key:
            continue
        values = frame[column]
        try:
            frame[column] = to_numbers(values, field=column, layer=name)
        except InputError:
            continue  # a text column (names, labels) stays text
    frame.attrs["layer_name"] = name
    return frame


def write_outputs(datasets, outputs, feedback=None):
    """Write ``{name: frame}`` to ``{name: path}``: all files appear together or none does.

    Returns ``{name: path}``. A failure while writing removes every staged file and leaves
    earlier files at those paths untouched.
    """
    stages = {}
    staged = []
    try:
        for name, path in outputs.items():
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            if folder not in stages:
                stages[folder] = os.path.join(folder, STAGING_PREFIX + uuid.uuid4().hex[:12])
                os.mkdir(stages[folder])
            target = os.path.join(stages[folder], os.path.basename(path))
            _write(datasets[name], target, name)
            staged.append((target, path))
            if feedback is not None:
                feedback.check()
        for target, path in staged:  # every output is complete: move them in
            os.replace(target, path)
    finally:
        for stage in stages.values():
            shutil.rmtree(stage, ignore_errors=True)
    return dict(outputs)


def _typed(frame):
    """Object columns holding only whole numbers (and NULLs) as integers, so files get integer fields
    (pandas 1.5 keeps e.g. class codes with NULLs as object, which drivers write as text)."""
    import numbers

    out = None
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:
            continue
        present = values[values.notna()]
        if len(present) and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in present):
            out = frame.copy() if out is None else out
            out[column] = values.astype("Int64")
    return frame if out is None else out


def _write(frame, path, name):
    """One dataset to one file, by extension (GeoPackage layer named like the dataset)."""
    frame = _typed(frame)
    extension = os.path.splitext(path)[1].lower()
    has_geometry = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    if extension == ".csv" or not has_geometry:
        table = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) if has_geometry else pd.DataFrame(frame)
        if extension == ".csv":
            table.to_csv(path, index=False, encoding="utf-8")
            return
        if extension in (".parquet", ".geoparquet"):
            table.to_parquet(path, index=False)
            return
        frame = gpd.GeoDataFrame(table)
    frame = frame.reset_index(drop=True)
    if extension in (".parquet", ".geoparquet"):
        frame.to_parquet(path, index=False)
    elif extension == ".geojson":
        frame.to_file(path, driver="GeoJSON")
    else:
        frame.to_file(path, layer=name, driver="GPKG")
