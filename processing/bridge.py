"""Conversion between QGIS layers and the engine's GeoDataFrames / raster arrays.

Geometry travels as WKB (exact, multipart kept; curves are segmentised and M values
dropped because GEOS/shapely cannot read them), attributes keep their types and NULLs,
the CRS travels as its authority id or WKT. No analysis happens here.

Attribute types (QGIS → pandas), chosen to match what ``geopandas.read_file`` gives,
so core code sees the same frames in tests and inside QGIS:

============================  ===========================================================
QGIS field                    pandas column
============================  ===========================================================
Int, LongLong, UInt, ULong    ``int64``; ``float64`` with NaN when the layer has NULLs
Double                        ``float64`` (NULL → NaN)
Bool                          ``bool``; ``object`` (True/False/None) when there are NULLs
String and others             ``object`` (``str`` or None)
Date                          ``object`` of ``datetime.date`` (None for NULL)
DateTime                      ``datetime64[ns]`` (NaT for NULL)
Time                          ``object`` of ``datetime.time``
============================  ===========================================================

The original QGIS field types are kept in ``gdf.attrs['qgis_field_types']`` so that
``gdf_to_sink`` writes an integer field with NULLs back as an integer field.
"""
import datetime
import json
import math

import numpy as np
import pandas as pd
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant

from ..core.errors import CancelledError
from ..core.i18n import tr

_INT_TYPES = (QVariant.Int, QVariant.LongLong, QVariant.UInt, QVariant.ULongLong)
_CHUNK = 5000  # features per progress/cancel check and per sink.addFeatures call


def crs_to_pyproj(crs):
    """QgsCoordinateReferenceSystem → something pyproj/geopandas accept (None if invalid)."""
    if crs is None or not crs.isValid():
        return None
    authid = crs.authid()
    if authid and authid.upper().startswith("EPSG:"):
        return authid
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def crs_from_pyproj(crs):
    """pyproj CRS, authority string or WKT (or None) → QgsCoordinateReferenceSystem."""
    if crs is None:
        return QgsCoordinateReferenceSystem()
    if isinstance(crs, str):
        if crs.upper().startswith("EPSG:"):
            return QgsCoordinateReferenceSystem(crs.upper())
        return QgsCoordinateReferenceSystem.fromWkt(crs)
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    if epsg:
        return QgsCoordinateReferenceSystem(f"EPSG:{epsg}")
    return QgsCoordinateReferenceSystem.fromWkt(crs.to_wkt())


def _python_value(value):
    """QGIS attribute value → plain Python (NULL → None, Qt dates → datetime)."""
    if value is None or (isinstance(value, QVariant) and value.isNull()):
        return None
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.isValid() else None
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    if isinstance(value, QVariant):  # e.g. maps and lists PyQt did not convert
        return value.value()
    return value


def _values(rows, index, field):
    """Column ``index`` of the attribute rows as plain Python values (NULL → None)."""
    if field.type() in _INT_TYPES + (QVariant.Double, QVariant.String, QVariant.Bool):
        # PyQt gives int/float/str/bool directly; only NULL arrives as a QVariant
        return [None if isinstance(v, QVariant) else v for v in (row[index] for row in rows)]
    return [_python_value(row[index]) for row in rows]


def _column(values, field):
    """Build a pandas column with a dtype matching the QGIS field type (see module doc)."""
    ftype = field.type()
    has_null = any(v is None for v in values)
    if ftype in _INT_TYPES:
        if has_null:
            return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
        return np.array(values, dtype="int64")
    if ftype == QVariant.Double:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if ftype == QVariant.Bool and not has_null:
        return np.array(values, dtype="bool")
    if ftype == QVariant.DateTime:
        return pd.to_datetime(pd.Series(values, dtype="object")).values
    column = np.empty(len(values), dtype="object")
    column[:] = values
    return column


def _geometry_fixer(wkb_type):
    """Return a function that makes a QgsGeometry readable by GEOS (no curves, no M), or None."""
    curved = QgsWkbTypes.isCurvedType(wkb_type)
    has_m = QgsWkbTypes.hasM(wkb_type)
    if not curved and not has_m:
        return None

    def fix(geometry):
        if curved or geometry.constGet().hasCurvedSegments():
            geometry = QgsGeometry(geometry.constGet().segmentize())
        if has_m:
            geometry = QgsGeometry(geometry.constGet().clone())
            geometry.get().dropMValue()
        return geometry

    return fix


def _geometry_array(wkbs, crs):
    """WKB bytes (None or empty: no geometry) → GeometryArray, as ``GeoSeries.from_wkb`` gives.

    shapely 2 and pygeos decode the whole list in C. On shapely 1.8 without pygeos (the
    QGIS 3.22 stack) geopandas decodes with ``shapely.wkb.loads``, which creates and
    destroys a GEOS WKB reader per geometry; one reader for all is the same decoding
    (same reader class, same errors) without that overhead.
    """
    import geopandas as gpd
    import shapely

    if hasattr(shapely, "from_wkb") or getattr(gpd.options, "use_pygeos", False):
        return gpd.GeoSeries.from_wkb(wkbs, crs=crs).values
    from shapely.geos import WKBReader, lgeos

    read = WKBReader(lgeos).read
    out = np.empty(len(wkbs), dtype=object)
    for i, wkb in enumerate(wkbs):  # item by item: numpy would unpack multipart geometries
        if wkb:
            out[i] = read(wkb)
    return gpd.array.GeometryArray(out, crs=crs)


def _check_cancel(feedback):
    if feedback is not None and feedback.isCanceled():
        raise CancelledError()


def source_to_gdf(source, fields=None, name=None, feedback=None, request=None, geometry=True):
    """Read a feature source (or vector layer) into a GeoDataFrame.

    Parameters
    ----------
    source : QgsFeatureSource or QgsVectorLayer
        From ``parameterAsSource`` (which already honours 'selected features only').
    fields : list of str, optional
        Only these attributes (default: all); a missing one raises naming the layer.
    name : str, optional
        Layer name for messages (stored in ``gdf.attrs['layer_name']``).
    feedback : QgsProcessingFeedback, optional
        Progress while reading; a cancel raises ``CancelledError``.
    request : QgsFeatureRequest, optional
        Filter/subset; by default all features.
    geometry : bool
        False skips reading geometries (faster for attribute-only work).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by the QGIS feature id (``fid``); ``attrs['layer_name']`` and
        ``attrs['qgis_field_types']`` (field name → QVariant type) are set.
    """
    import geopandas as gpd

    if source is None:
        raise QgsProcessingException(tr("Layer '{layer}' could not be read.", layer=name or "?"))
    layer_name = name or source.sourceName()
    all_fields = source.fields()
    names = list(fields) if fields is not None else [f.name() for f in all_fields]
    indices = []
    for field_name in names:
        index = all_fields.lookupField(field_name)
        if index < 0:
            raise QgsProcessingException(tr(
                "Layer '{layer}' has no field {fields}. Available fields: {available}.",
                layer=layer_name, fields=repr(field_name),
                available=", ".join(all_fields.names()) or "–"))
        indices.append(index)
    request = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    if fields is not None:
        request.setSubsetOfAttributes(indices)
    read_geometry = geometry and source.wkbType() != QgsWkbTypes.NoGeometry
    if not read_geometry:
        request.setFlags(request.flags() | QgsFeatureRequest.NoGeometry)
    fixer = _geometry_fixer(source.wkbType()) if read_geometry else None
    total = source.featureCount() or 0
    read_attributes = bool(indices)  # attributes() converts every field to Python: skip if none wanted
    ids, wkbs, rows = [], [], []
    for n, feature in enumerate(source.getFeatures(request)):
        if n % _CHUNK == 0 and feedback is not None:
            _check_cancel(feedback)
            if total > 0:
                feedback.setProgress(100.0 * n / total)
        ids.append(feature.id())
        if read_geometry:
            geom = feature.geometry()
            if geom.isNull():
                wkbs.append(None)
            else:
                if fixer is not None:
                    geom = fixer(geom)
                wkbs.append(bytes(geom.asWkb()))
        if read_attributes:
            rows.append(feature.attributes())
    _check_cancel(feedback)
    data = {field_name: _column(_values(rows, index, all_fields.at(index)), all_fields.at(index))
            for field_name, index in zip(names, indices)}
    crs = crs_to_pyproj(source.sourceCrs())
    geoms = _geometry_array(wkbs if read_geometry else [None] * len(ids), crs)
    del wkbs
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs=crs,
                             index=pd.Index(np.asarray(ids, dtype="int64"), name="fid"))
    frame.attrs["layer_name"] = layer_name
    frame.attrs["qgis_field_types"] = {field_name: int(all_fields.at(index).type())
                                       for field_name, index in zip(names, indices)}
    return frame


def _field_for(name, series, original_type=None):
    """QgsField for a pandas column (``original_type``: the QGIS type it was read from)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return QgsField(name, QVariant.Bool)
    if pd.api.types.is_integer_dtype(dtype):
        return QgsField(name, QVariant.LongLong)
    if pd.api.types.is_float_dtype(dtype):
        if original_type in _INT_TYPES:
            finite = series.dropna()
            if (np.asarray(finite, dtype="float64") % 1 == 0).all():
                return QgsField(name, QVariant.LongLong)
        return QgsField(name, QVariant.Double)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return QgsField(name, QVariant.DateTime)
    sample = series.dropna()
    kinds = set(type(v) for v in sample)
    if not kinds:
        if original_type is not None and original_type != QVariant.Invalid:
            return QgsField(name, QVariant.Type(original_type))
        return QgsField(name, QVariant.String)
    if all(issubclass(k, (datetime.datetime, pd.Timestamp)) for k in kinds):
        return QgsField(name, QVariant.DateTime)
    if all(issubclass(k, datetime.date) for k in kinds):
        return QgsField(name, QVariant.Date)
    if all(issubclass(k, datetime.time) for k in kinds):
        return QgsField(name, QVariant.Time)
    if all(issubclass(k, (bool, np.bool_)) for k in kinds):
        return QgsField(name, QVariant.Bool)
    if all(issubclass(k, (int, np.integer)) and not issubclass(k, (bool, np.bool_)) for k in kinds):
        return QgsField(name, QVariant.LongLong)
    if all(issubclass(k, (int, float, np.integer, np.floating)) for k in kinds):
        return QgsField(name, QVariant.Double)
    return QgsField(name, QVariant.String)


def fields_for(frame):
    """QgsFields matching the non-geometry columns of a (Geo)DataFrame."""
    fields = QgsFields()
    geometry_name = _geometry_name(frame)
    original = (getattr(frame, "attrs", None) or {}).get("qgis_field_types", {})
    for name in frame.columns:
        if name != geometry_name:
            fields.append(_field_for(str(name), frame[name], original.get(name)))
    return fields


def _geometry_name(frame):
    """Name of the active geometry column, or None for a plain DataFrame."""
    name = getattr(frame, "_geometry_column_name", None)
    return name if name is not None and name in frame.columns else None


def _qgis_value(value, field_type=None):
    """Python/numpy value → QGIS attribute (NaN/NA/NaT → NULL)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return NULL
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return NULL
        return int(value) if field_type == QVariant.LongLong else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return QDateTime(value.to_pydatetime())
    if isinstance(value, np.datetime64):
        return NULL if np.isnat(value) else QDateTime(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, datetime.datetime):
        return QDateTime(value)
    if isinstance(value, datetime.date):
        return QDate(value)
    if isinstance(value, datetime.time):
        return QTime(value)
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, default=str)
    if field_type == QVariant.String and not isinstance(value, str):
        return str(value)
    return value


def _qgis_column(series, field_type):
    """A whole column as QGIS attribute values (vectorised for numeric columns)."""
    dtype = series.dtype
    if pd.api.types.is_float_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        values = series.to_numpy(dtype="float64")
        missing = np.isnan(values)
        out = np.empty(len(values), dtype=object)
        if field_type == QVariant.LongLong:
            out[~missing] = values[~missing].astype("int64").tolist()
        else:
            out[~missing] = values[~missing].tolist()
        out[missing] = NULL
        return out.tolist()
    if (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) \
            and not pd.api.types.is_extension_array_dtype(dtype):
        return series.to_numpy().tolist()  # numpy ints/bools → Python ints/bools, no NULLs possible
    return [_qgis_value(v, field_type) for v in series.tolist()]


def wkb_type_for(geometries):
    """The QGIS geometry type for a GeoSeries: multi if any part is multi (or mixed)."""
    kinds = set(t for t in geometries.geom_type.dropna().unique())
    if not kinds:
        return QgsWkbTypes.NoGeometry
    has_z = bool(geometries.has_z.any())
    base = {"Point": QgsWkbTypes.Point, "MultiPoint": QgsWkbTypes.MultiPoint,
            "LineString": QgsWkbTypes.LineString, "MultiLineString": QgsWkbTypes.MultiLineString,
            "LinearRing": QgsWkbTypes.LineString,
            "Polygon": QgsWkbTypes.Polygon, "MultiPolygon": QgsWkbTypes.MultiPolygon}
    types = {base.get(k, QgsWkbTypes.Unknown) for k in kinds}
    if QgsWkbTypes.Unknown in types:  # GeometryCollection: no single layer type fits
        raise QgsProcessingException(tr("Mixed geometry types cannot be written to one layer."))
    if len(types) > 1:
        flat = {QgsWkbTypes.flatType(QgsWkbTypes.singleType(t)) for t in types}
        if len(flat) > 1:
            raise QgsProcessingException(tr("Mixed geometry types cannot be written to one layer."))
        wkb = QgsWkbTypes.multiType(types.pop())
    else:
        wkb = types.pop()
    return QgsWkbTypes.addZ(wkb) if has_z else wkb


def gdf_to_sink(algorithm, parameters, context, output_name, frame, feedback=None, crs=None):
    """Write a (Geo)DataFrame to the algorithm's feature sink ``output_name``; return its dest id.

    Fields and geometry type are derived from the frame (see the module doc); single
    parts are promoted to multi when the layer is multi. Everything is prepared before
    the sink opens, so a conversion error never leaves half a file.
    """
    fields = fields_for(frame)
    geometry_name = _geometry_name(frame)
    has_geometry = geometry_name is not None
    wkb_type = wkb_type_for(frame.geometry) if has_geometry else QgsWkbTypes.NoGeometry
    target_crs = crs if crs is not None else crs_from_pyproj(frame.crs if has_geometry else None)
    columns = [c for c in frame.columns if c != geometry_name]
    field_types = [fields.at(i).type() for i in range(fields.count())]
    if has_geometry:
        wkbs = list(frame.geometry.to_wkb())
        multi = QgsWkbTypes.isMultiType(wkb_type)
    sink, dest_id = algorithm.parameterAsSink(parameters, output_name, context, fields, wkb_type, target_crs)
    if sink is None:
        raise QgsProcessingException(algorithm.invalidSinkError(parameters, output_name))
    total = len(frame)
    batch = []
    converted = [_qgis_column(frame[c], t) for c, t in zip(columns, field_types)]
    rows = zip(*converted) if columns else ((),) * total
    for n, row in enumerate(rows):
        feature = QgsFeature(fields)
        feature.setAttributes(list(row))
        if has_geometry:
            wkb = wkbs[n]
            if wkb is not None:
                geometry = QgsGeometry()
                geometry.fromWkb(bytes(wkb))
                if multi and not geometry.isMultipart():
                    geometry.convertToMultiType()
                feature.setGeometry(geometry)
        batch.append(feature)
        if len(batch) >= _CHUNK:
            _flush(sink, batch, output_name)
            batch = []
            if feedback is not None:
                _check_cancel(feedback)
                feedback.setProgress(100.0 * (n + 1) / max(total, 1))
    _flush(sink, batch, output_name)
    return dest_id


def _flush(sink, features, output_name):
    """Add features to a sink; a refused write becomes a planner-readable error."""
    if features and not sink.addFeatures(features, QgsFeatureSink.FastInsert):
        error = sink.lastError() if hasattr(sink, "lastError") else ""
        raise QgsProcessingException(tr(
            "Could not write features to output '{output}': {error}. Check that the file is not "
            "open elsewhere and that there is enough disk space.",
            output=output_name, error=error or "?"))


def raster_path(layer, name=None):
    """Return the GDAL file path behind a raster layer (the engine reads it with rasterio)."""
    if layer is None or not layer.isValid():
        raise QgsProcessingException(tr("Raster layer '{layer}' could not be read.",
                                        layer=name or (layer.name() if layer is not None else "?")))
    if layer.providerType() != "gdal":
        raise QgsProcessingException(tr(
            "Raster layer '{layer}' is not a file (provider '{provider}'). Save it as GeoTIFF first.",
            layer=layer.name(), provider=layer.providerType()))
    return layer.source().split("|")[0]


def raster_to_array(layer, band=1):
    """Read one band of a raster layer: (masked array, affine transform, nodata, CRS string).

    The mask is True where the file's nodata value (or its mask band) says "no data".
    """
    import rasterio

    path = raster_path(layer)
    with rasterio.open(path) as dataset:
        if not 1 <= int(band) <= dataset.count:
            raise QgsProcessingException(tr(
                "Raster layer '{layer}' has no band {band} (it has {count}).",
                layer=layer.name(), band=band, count=dataset.count))
        data = dataset.read(int(band), masked=True)
        crs = crs_to_pyproj(layer.crs()) or (dataset.crs.to_wkt() if dataset.crs else None)
        return data, dataset.transform, dataset.nodata, crs
