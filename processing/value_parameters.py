"""The one 'Missing value codes' parameter shared by every algorithm that sums or standardises.

Statistical tables mark cells without a value with codes such as ``-9999`` or ``-1``. Summed
or standardised as numbers they give silently wrong results; undeclared, the engine refuses
them by name (``core.values.suspicious_values`` via ``core.validate.numeric_field``). With
this parameter the planner declares them: they become NULL before the computation, and the
log says how many values of which field were affected.

Usage in an algorithm (a mixin, listed before ``KommunalmonitorAlgorithm``)::

    class MyAlgorithm(MissingValueCodes, KommunalmonitorAlgorithm):
        def initAlgorithm(self, config=None):
            ...
            self.add_missing_codes_parameter()

        def run_algorithm(self, parameters, context, feedback):
            frame = ...
            frame = self.without_missing_codes(frame, parameters, context, feedback, [fields...])
"""
from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterString

from ..core.errors import InputError
from ..core.validate import layer_name
from ..core.values import (announce, check_plausible, parse_missing_codes, replace_missing_codes,
                           to_numbers)


class MissingValueCodes:
    """Mixin: the ``MISSING_CODES`` parameter and the replacement of declared codes by NULL."""

    MISSING_CODES = "MISSING_CODES"

    def add_missing_codes_parameter(self):
        """Declare the optional (advanced) 'Missing value codes' parameter."""
        parameter = QgsProcessingParameterString(
            self.MISSING_CODES,
            self.tr("Missing value codes in the value fields (e.g. -9999; -1), treated as no value"),
            optional=True)
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def missing_codes(self, parameters, context):
        """The declared codes as floats (empty list when none); refuses a code that is no number."""
        if self.MISSING_CODES not in parameters or parameters.get(self.MISSING_CODES) is None:
            return []
        return parse_missing_codes(self.parameterAsString(parameters, self.MISSING_CODES, context))

    def without_missing_codes(self, frame, parameters, context, feedback, field_parameters=(),
                              fields=(), labels=None, extra_codes=()):
        """A copy of ``frame`` whose value fields hold NULL where they held a declared code.

        The value fields are those chosen in the field parameters ``field_parameters``
        (parameter names) plus ``fields`` (field names). Text fields are read as numbers
        first (``core.values.to_numbers``, German notation included); a field that is no
        number is left for the engine to refuse by name. The fields chosen in the parameters
        are also checked for undeclared codes and extreme values here, where the areas can be
        named by their id (the algorithm's id field, else ``labels``, else the feature ids)
        rather than by row. ``extra_codes`` are codes declared by another parameter. Returns
        ``frame`` itself when no code occurs; the input is never modified. Each affected
        field gets one log line with the count.
        """
        if frame is None:
            return frame
        codes = list(self.missing_codes(parameters, context)) + [float(c) for c in extra_codes]
        chosen = list(fields)
        checked = []
        for name in field_parameters:
            if parameters.get(name) not in (None, ""):
                checked += self.parameterAsFields(parameters, name, context)
        chosen += checked
        layer = layer_name(frame)
        names = self._area_labels(frame, parameters, context) if labels is None else list(labels)
        result = frame
        for field in dict.fromkeys(f for f in chosen if f and f in frame.columns):
            try:
                numbers, report = to_numbers(frame[field], field, layer)
            except InputError:
                continue  # not a number field: the engine refuses it where it needs numbers
            announce(report)
            replaced, count = replace_missing_codes(numbers.to_numpy(), codes)
            if field in checked:
                check_plausible(replaced, field, layer, labels=names)
            if not count:
                continue
            if result is frame:
                result = frame.copy()
                result.attrs = dict(frame.attrs)
            result[field] = replaced
            feedback.pushInfo(self.tr(
                "{count} value(s) of field '{field}' in layer '{layer}' equal a declared missing value "
                "code ({codes}) and are treated as no value (NULL).",
                count=count, field=field, layer=layer,
                codes="; ".join(_code_text(c) for c in codes)))
        return result

    def _area_labels(self, frame, parameters, context):
        """The areas' ids for messages: the algorithm's id field when this layer has it."""
        for name in ("AREA_ID", "AREA_ID_FIELD", "ID_FIELD"):
            if parameters.get(name) not in (None, ""):
                field = self.parameterAsString(parameters, name, context)
                if field in frame.columns:
                    return frame[field].tolist()
        return list(frame.index)


def _code_text(code):
    """A code as typed: -9999, not -9999.0."""
    return str(int(code)) if float(code).is_integer() else str(code)
