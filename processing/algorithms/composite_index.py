"""Processing adapter: composite index (kommunalmonitor:compositeindex)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.indices.composite import composite_index, parse_weights, result_frame
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..index_parameters import IndexParameters
from ..styling import index_classes_style, register_output_style

COMBINATIONS = ("sum", "mean", "geometric")


class CompositeIndexAlgorithm(MissingValueCodes, IndexParameters, KommunalmonitorAlgorithm):
    """Standardise indicators, combine them, re-standardise and classify (MSS method by default)."""

    ALGORITHM_ID = "compositeindex"
    DISPLAY_NAME = "Composite index (need index)"
    GROUP_ID = "indicators"
    TAGS = ("Sozialindex", "Bedarfsindex", "deprivation", "composite index", "z-Wert", "z-score",
            "IMD", "Indikatoren")

    COMBINE = "COMBINE"
    BREAKS = "BREAKS"
    WINSORISE = "WINSORISE"
    ID_FIELD = "ID_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        self.add_index_parameters()
        self.addParameter(QgsProcessingParameterEnum(
            self.COMBINE, self.tr("Combination"),
            options=[self.tr("weighted sum"), self.tr("weighted mean"), self.tr("weighted geometric mean")],
            defaultValue=0, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.BREAKS, self.tr("Fixed class breaks (upper bounds, comma-separated)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.WINSORISE, self.tr("Winsorise: clip each indicator at this percentage at both ends (0 = off)"),
            QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0, maxValue=25.0, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field (checked for duplicates; names areas in messages)"), None,
            self.INPUT, optional=True))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Composite index"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Fixed breaks go with the 'fixed breaks' classes and must increase."""
        from ...core.errors import InputError

        scheme = self.INDEX_SCHEMES[self.parameterAsEnum(parameters, self.CLASSIFICATION, context)]
        text = self.parameterAsString(parameters, self.BREAKS, context)
        try:
            breaks = parse_weights(text)
        except InputError as error:
            return str(error)
        if breaks and scheme != "fixed":
            return self.tr("Fixed class breaks ({breaks}) are given, but 'Classes' is not 'fixed breaks', so "
                           "they would be ignored. Choose 'fixed breaks' or clear the breaks.", breaks=text)
        if breaks and any(b >= a for a, b in zip(breaks[1:], breaks)):
            return self.tr("Fixed class breaks must increase from class to class; '{breaks}' does not.",
                           breaks=text)
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the parameters, compute in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        index = self.read_index_parameters(parameters, context)
        index_scheme = index["classification"]
        combine = COMBINATIONS[self.parameterAsEnum(parameters, self.COMBINE, context)]
        breaks = parse_weights(self.parameterAsString(parameters, self.BREAKS, context))
        clip = self.parameterAsDouble(parameters, self.WINSORISE, context)
        winsorise = (clip / 100.0, 1.0 - clip / 100.0) if clip > 0 else None
        id_field = self.parameterAsString(parameters, self.ID_FIELD, context) or None

        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, [self.INDICATORS, self.POPULATION_FIELD])
        result = composite_index(frame, index.pop("indicators"), combine=combine, breaks=breaks,
                                 winsorise=winsorise, feedback=core_feedback(feedback), id_field=id_field,
                                 **index)
        diag = result.diagnostics
        feedback.pushInfo(self.tr("{included} of {total} areas define the reference statistics; "
                                  "{small} below the minimum population, {missing} with missing values.",
                                  included=diag["n_included"], total=diag["n_areas"],
                                  small=diag["n_population_below_minimum"], missing=diag["n_missing"]))
        for warning in diag["warnings"]:
            feedback.pushWarning(warning)
        feedback.pushInfo(self.tr("The index is a search strategy: areas with high values need a "
                                  "look on site, it is not a verdict on the people living there."))
        out = result_frame(frame, result)
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        if index_scheme == "sd_bands":
            register_output_style(context, dest, index_classes_style, self.tr("Composite index"))
        return {self.OUTPUT: dest}
