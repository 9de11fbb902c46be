"""Parameters shared by the overlay algorithms: the target planning areas with their id,
and the small-number settings (minimum base, suppression for publication)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber)

from ..core.overlay.privacy import suppress_for_export
from ..core.rates import DEFAULT_MIN_BASE

SUPPRESSED_FLAG = "suppressed"


class AreaParameters:
    """Mixin: ``AREAS`` + ``AREA_ID``, and ``MIN_BASE`` + ``MIN_COUNT``."""

    AREAS = "AREAS"
    AREA_ID = "AREA_ID"
    MIN_BASE = "MIN_BASE"
    MIN_COUNT = "MIN_COUNT"

    def add_area_parameters(self):
        """The planning areas to bring data onto, and their (optional) id field."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AREAS, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.AREA_ID, self.tr("Area id field (checked for duplicates)"), None, self.AREAS,
            optional=True))

    def add_small_number_parameters(self):
        """Minimum base for the small-base flag and suppression of small counts."""
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_BASE, self.tr("Minimum base (areas below are flagged)"),
            QgsProcessingParameterNumber.Integer, int(DEFAULT_MIN_BASE), minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_COUNT, self.tr("Suppress counts below this value for publication (0: off)"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0))

    def read_small_number_parameters(self, parameters, context):
        """(min_base, min_count) as the engine takes them."""
        return (self.parameterAsDouble(parameters, self.MIN_BASE, context),
                self.parameterAsInt(parameters, self.MIN_COUNT, context))

    def suppress_small_numbers(self, frame, counts, min_count, feedback, rates=(), derived=None,
                               report=True):
        """Suppress small counts and what was derived from them for publication
        (``core.overlay.privacy.suppress_for_export``, flag column ``suppressed``) and log
        how many values of which field were hidden."""
        out, hidden = suppress_for_export(frame, counts, min_count, rates=rates, derived=derived,
                                          flag_column=SUPPRESSED_FLAG)
        if report and min_count:
            text = ", ".join(f"{column}: {count}" for column, count in hidden.items() if count) or "0"
            feedback.pushInfo(self.tr("Suppressed for publication (counts below {n}): {report}.",
                                      n=min_count, report=text))
        return out
