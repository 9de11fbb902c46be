"""Checks of parameter values before any work (``checkParameterValues``).

QGIS checks that a value is there and of the right kind. It does not check that a layer
given as a file path has the geometry the parameter asks for, that a GeoPackage with several
layers says which one (QGIS silently takes the first), or that an output file's extension
matches its format (a PDF written as ``report.xlsx``). These checks do, for every algorithm;
each algorithm adds its own (contradicting numbers, values that match nothing) in
``check_parameters``. Every message names the parameter, the layer or file and the value.
"""
import os
import re

from qgis.core import (QgsMapLayerType, QgsProcessing, QgsProcessingFeatureSourceDefinition,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorLayer, QgsProviderRegistry, QgsWkbTypes)

from ..core.i18n import tr

# parameter data types → geometry types they accept (None: any geometry, also unknown)
_ACCEPTS = {
    QgsProcessing.TypeVectorPoint: QgsWkbTypes.PointGeometry,
    QgsProcessing.TypeVectorLine: QgsWkbTypes.LineGeometry,
    QgsProcessing.TypeVectorPolygon: QgsWkbTypes.PolygonGeometry,
}
_GEOMETRY_NAMES = {
    QgsWkbTypes.PointGeometry: "point geometries",
    QgsWkbTypes.LineGeometry: "line geometries",
    QgsWkbTypes.PolygonGeometry: "polygon geometries",
    QgsWkbTypes.NullGeometry: "no geometries (a table)",
}


def run_checks(algorithm, parameters, context):
    """The first problem found by the common checks and the algorithm's own, or None."""
    for check in (_check_numbers_and_choices, _check_layer_choice, _check_geometry_types,
                  _check_file_extensions):
        message = check(algorithm, parameters, context)
        if message:
            return message
    return algorithm.check_parameters(parameters, context)


def _description(definition):
    """The parameter's label as the dialog shows it (its name if it has none)."""
    return definition.description() or definition.name()


def _layer_parameters(algorithm):
    """Feature-source and vector-layer parameter definitions."""
    return [d for d in algorithm.parameterDefinitions()
            if isinstance(d, (QgsProcessingParameterFeatureSource, QgsProcessingParameterVectorLayer))]


def _static_text(value):
    """The text of a layer value (a path, a layer id), or None for layer objects."""
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        value = value.source.staticValue()
    return value if isinstance(value, str) else None


def _check_numbers_and_choices(algorithm, parameters, context):
    """Numbers outside their range and choices outside the list, with the allowed values
    (QGIS refuses them too, but only says 'Incorrect parameter value for N_RUNS')."""
    for definition in algorithm.parameterDefinitions():
        value = parameters.get(definition.name())
        if value is None or value == "" or not isinstance(value, (int, float, str)) or isinstance(value, bool):
            continue
        label = _description(definition)
        if isinstance(definition, QgsProcessingParameterNumber):
            number = as_number(value)
            if number is None or number != number:
                return tr("'{parameter}' ({name}): '{value}' is not a number.", parameter=label,
                          name=definition.name(), value=value)
            whole = definition.dataType() == QgsProcessingParameterNumber.Integer
            if whole and number != int(number):
                return tr("'{parameter}' ({name}) must be a whole number; got {value}.", parameter=label,
                          name=definition.name(), value=value)
            low, high = definition.minimum(), definition.maximum()
            if number < low or number > high:
                shown = [int(v) if whole or v == int(v) else v for v in (low, high)]
                if high >= 1e300 or (whole and high >= 2 ** 31 - 1):
                    return tr("'{parameter}' ({name}) must be at least {low}; got {value}.", parameter=label,
                              name=definition.name(), low=shown[0], value=value)
                return tr("'{parameter}' ({name}) must be between {low} and {high}; got {value}.",
                          parameter=label, name=definition.name(), low=shown[0], high=shown[1], value=value)
        elif isinstance(definition, QgsProcessingParameterEnum):
            options = definition.options()
            for part in str(value).split(","):
                index = as_number(part)
                if index is None or index != int(index) or not 0 <= index < len(options):
                    choices = "; ".join(f"{i} = {o}" for i, o in enumerate(options))
                    return tr("'{parameter}' ({name}): '{value}' is not one of the choices ({choices}).",
                              parameter=label, name=definition.name(), value=part.strip(), choices=choices)
    return None


def _layer_values(algorithm, parameters):
    """(definition, text) of every layer given as text, lists of layers included."""
    for definition in algorithm.parameterDefinitions():
        value = parameters.get(definition.name())
        if isinstance(definition, QgsProcessingParameterMultipleLayers) and isinstance(value, (list, tuple)):
            for item in value:
                yield definition, _static_text(item)
        elif isinstance(definition, (QgsProcessingParameterFeatureSource, QgsProcessingParameterVectorLayer)):
            yield definition, _static_text(value)


def _check_layer_choice(algorithm, parameters, context):
    """A file with several layers (GeoPackage, SpatiaLite, …) given without choosing one."""
    for definition, text in _layer_values(algorithm, parameters):
        if not text or "|" in text or not os.path.isfile(text):
            continue
        try:
            names = [s.name() for s in QgsProviderRegistry.instance().querySublayers(text)
                     if s.type() == QgsMapLayerType.VectorLayer]  # a raster beside it is no choice
        except Exception:  # noqa: BLE001 - a file QGIS cannot list is reported when it is read
            continue
        if len(names) > 1:
            return tr("'{parameter}': the file {path} holds {count} layers ({names}) and none was chosen; "
                      "QGIS would silently use the first. Choose the layer, e.g. "
                      "{path}|layername={first}", parameter=_description(definition), path=text,
                      count=len(names), names=", ".join(names), first=names[0])
    return None


def _check_geometry_types(algorithm, parameters, context):
    """A layer whose geometry type the parameter does not accept (e.g. lines as areas)."""
    for definition in _layer_parameters(algorithm):
        value = parameters.get(definition.name())
        if value is None or value == "":
            continue
        types = list(definition.dataTypes())
        wanted = {_ACCEPTS[t] for t in types if t in _ACCEPTS}
        any_geometry = not types or QgsProcessing.TypeVectorAnyGeometry in types
        if QgsProcessing.TypeVector in types or QgsProcessing.TypeMapLayer in types:
            continue  # tables are welcome
        try:
            if isinstance(definition, QgsProcessingParameterVectorLayer):
                layer = algorithm.parameterAsVectorLayer(parameters, definition.name(), context)
            else:
                layer = algorithm.parameterAsSource(parameters, definition.name(), context)
        except Exception:  # noqa: BLE001 - unreadable layers keep QGIS's own message
            continue
        if layer is None:
            continue
        found = QgsWkbTypes.geometryType(layer.wkbType())
        if found == QgsWkbTypes.UnknownGeometry:
            continue  # mixed or undeclared (e.g. GeoJSON): the engine checks the features
        if any_geometry and not wanted:
            if found != QgsWkbTypes.NullGeometry:
                continue
            expected = tr("geometries (points, lines or polygons)")
        elif found in wanted:
            continue
        else:
            expected = tr(" or ").join(tr(_GEOMETRY_NAMES[w]) for w in sorted(wanted))
        name = layer.sourceName() if hasattr(layer, "sourceName") else layer.name()
        return tr("'{parameter}': layer '{layer}' has {found}, but this input needs {expected}. "
                  "Choose a layer of the right kind.", parameter=_description(definition), layer=name,
                  found=tr(_GEOMETRY_NAMES[found]), expected=expected)
    return None


def filter_extensions(file_filter):
    """['xlsx', 'csv'] from 'Excel (*.xlsx);;CSV (*.csv)'; [] when any file is fine."""
    found = [e.lower() for e in re.findall(r"\*\.([A-Za-z0-9_]+)", file_filter or "")]
    return [] if not found or re.search(r"\*\.\*|\(\*\)", file_filter or "") else list(dict.fromkeys(found))


def _check_file_extensions(algorithm, parameters, context):
    """An output or input file whose extension does not fit its format (PDF as .xlsx)."""
    for definition in algorithm.parameterDefinitions():
        if isinstance(definition, QgsProcessingParameterFileDestination):
            value = parameters.get(definition.name())
            if value is None or value == "":
                continue
            try:
                path = algorithm.parameterAsFileOutput(parameters, definition.name(), context)
            except Exception:  # noqa: BLE001 - QGIS reports unusable values itself
                continue
            allowed = filter_extensions(definition.fileFilter())
        elif isinstance(definition, QgsProcessingParameterFile) \
                and definition.behavior() == QgsProcessingParameterFile.File:
            path = _static_text(parameters.get(definition.name()))
            allowed = filter_extensions(definition.fileFilter()) or \
                ([definition.extension().lower()] if definition.extension() else [])
        else:
            continue
        if not path or not allowed:
            continue
        extension = os.path.splitext(path)[1].lower().lstrip(".")
        if extension in allowed:
            continue
        formats = ", ".join("." + e for e in allowed)
        if not extension:
            return tr("'{parameter}': the file name {path} has no extension; it must end in {formats} "
                      "(e.g. {example}).", parameter=_description(definition), path=path,
                      formats=formats, example=path + "." + allowed[0])
        return tr("'{parameter}': the file {path} ends in '.{extension}', but this file is written or read "
                  "as {formats}. Use a name ending in {formats} (e.g. {example}).",
                  parameter=_description(definition), path=path, extension=extension, formats=formats,
                  example=os.path.splitext(path)[0] + "." + allowed[0])
    return None


# --- helpers for the algorithms' own checks ------------------------------------------------

def field_values(algorithm, parameters, context, source_name, field):
    """The distinct values of ``field`` in the source parameter, or None if not readable."""
    try:
        source = algorithm.parameterAsSource(parameters, source_name, context)
    except Exception:  # noqa: BLE001 - unreadable layers keep QGIS's own message
        return None, None
    if source is None or not field:
        return None, None
    index = source.fields().lookupField(field)
    if index < 0:
        return None, source.sourceName()
    return [None if _is_null(v) else v for v in source.uniqueValues(index)], source.sourceName()


def _is_null(value):
    """True for NULL (QVariant or None)."""
    return value is None or (hasattr(value, "isNull") and value.isNull())


def as_number(value):
    """A float for numbers and numeric text ('2', ' 3.0 '), else None."""
    if isinstance(value, bool) or _is_null(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def same_value(value, text):
    """Does a field value equal a value typed as text? '1' matches 1, 1.0 and '1'."""
    if _is_null(value):
        return False
    if str(value).strip() == str(text).strip():
        return True
    number, wanted = as_number(value), as_number(text)
    return number is not None and wanted is not None and number == wanted


def examples(values, limit=5):
    """'a', 'b', 'c' … for a message."""
    shown = [f"'{v}'" for v in values[:limit]]
    return ", ".join(shown) + (" …" if len(values) > limit else "")


def check_class_numbers(parameter_label, field, values, layer):
    """Class codes must be numbers (also as text '2'); say which values are not, or that none exist."""
    present = [v for v in values if not _is_null(v)]
    if not present:
        return tr("'{parameter}': field '{field}' of layer '{layer}' has no value in any feature. "
                  "Choose the field that holds the classes.", parameter=parameter_label, field=field,
                  layer=layer)
    words = sorted({str(v) for v in present if as_number(v) is None})
    if words:
        return tr("'{parameter}': field '{field}' of layer '{layer}' should hold class numbers "
                  "(1, 2, 3, …) but holds {values}. Choose the numeric class field (e.g. index_class or cluster) or "
                  "recode the classes as numbers.", parameter=parameter_label, field=field, layer=layer,
                  values=examples(words))
    return None


def all_zero_or_empty(values):
    """True when every value is NULL or 0 (a weight that gives no weight)."""
    return all(_is_null(v) or as_number(v) == 0 for v in values)


def _given(parameters, name):
    """True if the parameter has a value (not None, not empty text, not an empty list)."""
    value = parameters.get(name)
    return value is not None and value != "" and value != []


def check_pair(algorithm, parameters, first, second):
    """Two parameters that only work together (a rate's numerator and denominator)."""
    for given, missing in ((first, second), (second, first)):
        if _given(parameters, given) and not _given(parameters, missing):
            label = _description(algorithm.parameterDefinition(given))
            return tr("'{given}' is set ({value}) but '{missing}' is empty; the one is used only with the "
                      "other. Set '{missing}' too, or clear '{given}'.", given=label,
                      value=parameters.get(given),
                      missing=_description(algorithm.parameterDefinition(missing)))
    return None


def check_alternatives(algorithm, parameters, first, second):
    """Two parameters of which only one can be used (a population layer or a population raster)."""
    if _given(parameters, first) and _given(parameters, second):
        return tr("'{first}' and '{second}' are alternatives, and both are set; the run would silently use "
                  "one of them. Clear the one you do not mean.",
                  first=_description(algorithm.parameterDefinition(first)),
                  second=_description(algorithm.parameterDefinition(second)))
    return None


def check_weight_fields(algorithm, parameters, context, pairs):
    """A refusal when a chosen weight field is 0 or empty in every feature (it would weight nothing).

    ``pairs`` are ``(layer parameter, field parameter)`` names; unset fields are skipped.
    """
    for source, name in pairs:
        field = algorithm.parameterAsString(parameters, name, context)
        if not field:
            continue
        values, layer = field_values(algorithm, parameters, context, source, field)
        if values is not None and all_zero_or_empty(values):
            return tr("Weight field '{field}' of layer '{layer}' is 0 or empty in every feature, so it gives "
                      "nothing any weight. Choose another weight field, or leave it empty to weight by area.",
                      field=field, layer=layer)
    return None
