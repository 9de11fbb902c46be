"""Processing adapter: composite index (kommunalmonitor:compositeindex)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.indices.composite import composite_index, parse_weights, result_frame
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import index_classes_style, register_output_style

STANDARDISATIONS = ("z", "z_weighted", "minmax", "percentile", "rank_exp")
SCHEMES = ("sd_bands", "quantiles", "jenks", "equal_interval", "fixed")
COMBINATIONS = ("sum", "mean", "geometric")


class CompositeIndexAlgorithm(KommunalmonitorAlgorithm):
    """Standardise indicators, combine them, re-standardise and classify (MSS method by default)."""

    ALGORITHM_ID = "compositeindex"
    DISPLAY_NAME = "Composite index (need index)"
    GROUP_ID = "indicators"

    INPUT = "INPUT"
    INDICATORS = "INDICATORS"
    REVERSED = "REVERSED"
    WEIGHTS = "WEIGHTS"
    POPULATION_FIELD = "POPULATION_FIELD"
    MIN_POPULATION = "MIN_POPULATION"
    STANDARDISATION = "STANDARDISATION"
    CLASSIFICATION = "CLASSIFICATION"
    N_CLASSES = "N_CLASSES"
    COMBINE = "COMBINE"
    BREAKS = "BREAKS"
    WINSORISE = "WINSORISE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.INDICATORS, self.tr("Indicator fields (higher = more need)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric,
            allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.REVERSED, self.tr("Indicators where higher means LESS need (reversed)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric,
            allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.WEIGHTS, self.tr("Weights, comma-separated in the order of the indicators (empty = equal)"),
            optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population field"), parentLayerParameterName=self.INPUT,
            type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_POPULATION, self.tr("Minimum population for the reference statistics"),
            QgsProcessingParameterNumber.Double, defaultValue=300, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.STANDARDISATION, self.tr("Standardisation"),
            options=[self.tr("z-score, unweighted (population SD, as MSS)"),
                     self.tr("z-score, population-weighted"),
                     self.tr("min–max (0 to 1)"),
                     self.tr("percentile rank"),
                     self.tr("rank with IMD exponential transform")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.CLASSIFICATION, self.tr("Classes"),
            options=[self.tr("SD bands (MSS: < −1, −1…1, 1…1.5, > 1.5)"),
                     self.tr("quantiles"),
                     self.tr("natural breaks (Jenks)"),
                     self.tr("equal intervals"),
                     self.tr("fixed breaks")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_CLASSES, self.tr("Number of classes (quantiles, natural breaks, equal intervals)"),
            QgsProcessingParameterNumber.Integer, defaultValue=4, minValue=2, maxValue=20))
        self.addParameter(QgsProcessingParameterEnum(
            self.COMBINE, self.tr("Combination"),
            options=[self.tr("weighted sum"), self.tr("weighted mean"), self.tr("weighted geometric mean")],
            defaultValue=0, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.BREAKS, self.tr("Fixed class breaks (upper bounds, comma-separated)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.WINSORISE, self.tr("Winsorise: clip each indicator at this percentage at both ends (0 = off)"),
            QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0, maxValue=25.0, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Composite index"), QgsProcessing.TypeVectorPolygon))

    def run(self, parameters, context, feedback):
        """Read the parameters, compute in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        indicators = self.parameterAsFields(parameters, self.INDICATORS, context)
        reversed_ = self.parameterAsFields(parameters, self.REVERSED, context)
        weights = parse_weights(self.parameterAsString(parameters, self.WEIGHTS, context))
        population = self.parameterAsFields(parameters, self.POPULATION_FIELD, context)
        population = population[0] if population else None
        min_population = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        method = STANDARDISATIONS[self.parameterAsEnum(parameters, self.STANDARDISATION, context)]
        scheme = SCHEMES[self.parameterAsEnum(parameters, self.CLASSIFICATION, context)]
        n_classes = self.parameterAsInt(parameters, self.N_CLASSES, context)
        combine = COMBINATIONS[self.parameterAsEnum(parameters, self.COMBINE, context)]
        breaks = parse_weights(self.parameterAsString(parameters, self.BREAKS, context))
        clip = self.parameterAsDouble(parameters, self.WINSORISE, context) if \
            parameters.get(self.WINSORISE) not in (None, "") else 0.0
        winsorise = (clip / 100.0, 1.0 - clip / 100.0) if clip > 0 else None

        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        result = composite_index(
            frame, indicators, population=population, reversed=reversed_, weights=weights,
            min_population=min_population if population else 0.0, method=method,
            classification=scheme, n_classes=n_classes, combine=combine, breaks=breaks,
            winsorise=winsorise, feedback=core_feedback(feedback))
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
        if scheme == "sd_bands":
            register_output_style(context, dest, index_classes_style, self.tr("Composite index"))
        return {self.OUTPUT: dest}
