"""Conversion between QGIS layers and the engine's GeoDataFrames / raster arrays.

Geometry travels as WKB (exact, multipart kept), attributes keep their types and NULLs,
the CRS travels as its authority id or WKT. No analysis happens here.
"""
import datetime
import math

import numpy as np
import pandas as pd
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant

from ..core.i18n import tr

_INT_TYPES = (QVariant.Int, QVariant.LongLong, QVariant.UInt, QVariant.ULongLong)


def crs_to_pyproj(crs):
    """QgsCoordinateReferenceSystem → something pyproj/geopandas accept (None if invalid)."""
    if crs is None or not crs.isValid():
        return None
    authid = crs.authid()
    if authid and authid.upper().startswith("EPSG:"):
        return authid
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def crs_from_pyproj(crs):
    """pyproj CRS (or None) → QgsCoordinateReferenceSystem."""
    if crs is None:
        return QgsCoordinateReferenceSystem()
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    if epsg:
        return QgsCoordinateReferenceSystem(f"EPSG:{epsg}")
    return QgsCoordinateReferenceSystem.fromWkt(crs.to_wkt())


def _python_value(value):
    """QGIS attribute value → plain Python (NULL → None, Qt dates → datetime)."""
    if value is None or value == NULL or (isinstance(value, QVariant) and value.isNull()):
        return None
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.isValid() else None
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    return value


def _column(values, field):
    """Build a pandas column with a dtype matching the QGIS field type."""
    ftype = field.type()
    if ftype in _INT_TYPES:
        return pd.array(values, dtype="Int64")
    if ftype == QVariant.Double:
        return pd.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if ftype == QVariant.Bool:
        return pd.array(values, dtype="boolean")
    return pd.Series(values, dtype="object").values


def source_to_gdf(source, fields=None, name=None, feedback=None, request=None):
    """Read a feature source (or vector layer) into a GeoDataFrame.

    Parameters
    ----------
    source : QgsFeatureSource or QgsVectorLayer
        From ``parameterAsSource`` (which already honours 'selected features only').
    fields : list of str, optional
        Only these attributes (default: all).
    name : str, optional
        Layer name for messages (stored in ``gdf.attrs['layer_name']``).
    """
    import geopandas as gpd

    if source is None:
        raise QgsProcessingException(tr("Layer '{layer}' could not be read.", layer=name or "?"))
    all_fields = source.fields()
    names = list(fields) if fields is not None else [f.name() for f in all_fields]
    indices = []
    for field_name in names:
        index = all_fields.lookupField(field_name)
        if index < 0:
            raise QgsProcessingException(tr(
                "Layer '{layer}' has no field {fields}. Available fields: {available}.",
                layer=name or source.sourceName(), fields=repr(field_name),
                available=", ".join(all_fields.names())))
        indices.append(index)
    request = request or QgsFeatureRequest()
    total = source.featureCount() or 0
    ids, wkbs = [], []
    columns = [[] for _ in names]
    for n, feature in enumerate(source.getFeatures(request)):
        if feedback is not None and n % 1000 == 0:
            if feedback.isCanceled():
                break
            if total > 0:
                feedback.setProgress(100.0 * n / total)
        ids.append(feature.id())
        geometry = feature.geometry()
        wkbs.append(bytes(geometry.asWkb()) if geometry is not None and not geometry.isNull() else None)
        attributes = feature.attributes()
        for column, index in zip(columns, indices):
            column.append(_python_value(attributes[index]))
    data = {field_name: _column(column, all_fields.at(index))
            for field_name, column, index in zip(names, columns, indices)}
    geometry = gpd.GeoSeries.from_wkb(wkbs, crs=crs_to_pyproj(source.sourceCrs()))
    frame = gpd.GeoDataFrame(data, geometry=geometry.values, crs=geometry.crs,
                             index=pd.Index(ids, name="fid"))
    frame.attrs["layer_name"] = name or source.sourceName()
    return frame


def _field_for(name, series):
    """QgsField for a pandas column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return QgsField(name, QVariant.Bool)
    if pd.api.types.is_integer_dtype(dtype):
        return QgsField(name, QVariant.LongLong)
    if pd.api.types.is_float_dtype(dtype):
        return QgsField(name, QVariant.Double)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return QgsField(name, QVariant.DateTime)
    sample = series.dropna()
    sample = sample.iloc[0] if len(sample) else None
    if isinstance(sample, datetime.datetime):
        return QgsField(name, QVariant.DateTime)
    if isinstance(sample, datetime.date):
        return QgsField(name, QVariant.Date)
    if isinstance(sample, (bool, np.bool_)):
        return QgsField(name, QVariant.Bool)
    if isinstance(sample, (int, np.integer)) and all(isinstance(v, (int, np.integer)) for v in series.dropna()):
        return QgsField(name, QVariant.LongLong)
    if isinstance(sample, (float, np.floating)):
        return QgsField(name, QVariant.Double)
    return QgsField(name, QVariant.String)


def fields_for(frame):
    """QgsFields matching the non-geometry columns of a (Geo)DataFrame."""
    fields = QgsFields()
    geometry_name = getattr(frame, "_geometry_column_name", None) if hasattr(frame, "geometry") else None
    for name in frame.columns:
        if name != geometry_name:
            fields.append(_field_for(str(name), frame[name]))
    return fields


def _qgis_value(value):
    """Python/numpy value → QGIS attribute (NaN/NA → NULL)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return NULL
    if isinstance(value, (float, np.floating)):
        return NULL if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return QDateTime(value.to_pydatetime())
    if isinstance(value, datetime.datetime):
        return QDateTime(value)
    if isinstance(value, datetime.date):
        return QDate(value)
    return value


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

    Everything is computed before the sink opens, so an error never leaves half a file.
    """
    fields = fields_for(frame)
    has_geometry = hasattr(frame, "geometry") and getattr(frame, "_geometry_column_name", None) in frame.columns
    wkb_type = wkb_type_for(frame.geometry) if has_geometry else QgsWkbTypes.NoGeometry
    target_crs = crs if crs is not None else crs_from_pyproj(frame.crs if has_geometry else None)
    sink, dest_id = algorithm.parameterAsSink(parameters, output_name, context, fields, wkb_type, target_crs)
    if sink is None:
        raise QgsProcessingException(algorithm.invalidSinkError(parameters, output_name))
    columns = [c for c in frame.columns if not (has_geometry and c == frame.geometry.name)]
    wkbs = frame.geometry.to_wkb() if has_geometry else None
    multi = QgsWkbTypes.isMultiType(wkb_type)
    total = len(frame)
    for n, row in enumerate(frame[columns].itertuples(index=False, name=None)):
        feature = QgsFeature(fields)
        feature.setAttributes([_qgis_value(v) for v in row])
        if has_geometry:
            wkb = wkbs.iloc[n]
            if wkb is not None:
                geometry = QgsGeometry()
                geometry.fromWkb(bytes(wkb))
                if multi and not geometry.isMultipart():
                    geometry.convertToMultiType()
                feature.setGeometry(geometry)
        sink.addFeature(feature)
        if feedback is not None and n % 1000 == 0:
            feedback.setProgress(100.0 * n / max(total, 1))
    return dest_id


def raster_path(layer, name=None):
    """Return the GDAL file path behind a raster layer (the engine reads it with rasterio)."""
    if layer is None:
        raise QgsProcessingException(tr("Raster layer '{layer}' could not be read.", layer=name or "?"))
    if layer.providerType() != "gdal":
        raise QgsProcessingException(tr(
            "Raster layer '{layer}' is not a file (provider '{provider}'). Save it as GeoTIFF first.",
            layer=layer.name(), provider=layer.providerType()))
    return layer.source().split("|")[0]


def raster_to_array(layer, band=1):
    """Read one band of a raster layer: (masked array, affine transform, nodata, CRS string)."""
    import rasterio

    with rasterio.open(raster_path(layer)) as dataset:
        data = dataset.read(band, masked=True)
        crs = crs_to_pyproj(layer.crs()) or (dataset.crs.to_wkt() if dataset.crs else None)
        return data, dataset.transform, dataset.nodata, crs
