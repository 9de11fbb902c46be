"""Processing adapter: robustness of a composite index (kommunalmonitor:indexrobustness)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.indices.composite import make_spec, parse_weights
from ...core.indices.robustness import monte_carlo_robustness
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style

STANDARDISATIONS = ("z", "z_weighted", "minmax", "percentile", "rank_exp")
SCHEMES = ("sd_bands", "quantiles", "jenks", "equal_interval")


class IndexRobustnessAlgorithm(KommunalmonitorAlgorithm):
    """How stable are the index classes under other weights, standardisations and indicator sets?"""

    ALGORITHM_ID = "indexrobustness"
    DISPLAY_NAME = "Index robustness (Monte Carlo)"
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
    N_RUNS = "N_RUNS"
    WEIGHT_RANGE = "WEIGHT_RANGE"
    VARY_STANDARDISATION = "VARY_STANDARDISATION"
    LEAVE_ONE_OUT = "LEAVE_ONE_OUT"
    THRESHOLD = "THRESHOLD"
    SEED = "SEED"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters (the index ones as in the composite index)."""
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
            options=[self.tr("SD bands (MSS: < −1, −1…1, 1…1.5, > 1.5)"), self.tr("quantiles"),
                     self.tr("natural breaks (Jenks)"), self.tr("equal intervals")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_CLASSES, self.tr("Number of classes (quantiles, natural breaks, equal intervals)"),
            QgsProcessingParameterNumber.Integer, defaultValue=4, minValue=2, maxValue=20))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_RUNS, self.tr("Number of random runs"), QgsProcessingParameterNumber.Integer,
            defaultValue=500, minValue=0, maxValue=100000))
        self.addParameter(QgsProcessingParameterNumber(
            self.WEIGHT_RANGE, self.tr("Weight variation (0.5 = each weight between 50 % and 150 %)"),
            QgsProcessingParameterNumber.Double, defaultValue=0.5, minValue=0.0, maxValue=0.99))
        self.addParameter(QgsProcessingParameterBoolean(
            self.VARY_STANDARDISATION, self.tr("Also vary the standardisation (z-score, min–max, percentile)"),
            defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.LEAVE_ONE_OUT, self.tr("Also leave out each indicator in turn"), defaultValue=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Robust when the class is reproduced in at least this share of runs"),
            QgsProcessingParameterNumber.Double, defaultValue=0.8, minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Index robustness"), QgsProcessing.TypeVectorPolygon))

    def run(self, parameters, context, feedback):
        """Read the parameters, run the Monte Carlo in core, write the layer."""
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
        n_runs = self.parameterAsInt(parameters, self.N_RUNS, context)
        weight_range = self.parameterAsDouble(parameters, self.WEIGHT_RANGE, context)
        vary = self.parameterAsBoolean(parameters, self.VARY_STANDARDISATION, context)
        leave_one_out = self.parameterAsBoolean(parameters, self.LEAVE_ONE_OUT, context)
        threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)

        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        spec = make_spec(indicators, reversed=reversed_, weights=weights, method=method,
                         classification=scheme, n_classes=n_classes,
                         min_population=min_population if population else 0.0)
        methods = None
        if vary:
            methods = [method] + [m for m in ("z", "minmax", "percentile") if m != method]
        result = monte_carlo_robustness(frame, spec, n=n_runs, seed=seed, weight_range=weight_range,
                                        methods=methods, leave_one_out=leave_one_out,
                                        threshold=threshold, population=population,
                                        feedback=core_feedback(feedback))
        diag = result.diagnostics
        feedback.pushInfo(self.tr("{runs} runs ({random} random, {loo} leaving out one indicator); "
                                  "{unstable} of {included} areas do not keep their class robustly.",
                                  runs=diag["n_runs"], random=diag["n_random"], loo=diag["n_leave_one_out"],
                                  unstable=diag["n_not_robust"], included=diag["n_included"]))
        out = frame.copy()
        out["index"] = result.base.index.to_numpy()
        out["index_class"] = result.base.classes.to_numpy()
        out["included"] = result.base.included.to_numpy()
        for column in result.table.columns:
            out[column] = result.table[column].to_numpy()
        for column in result.class_probability.columns:
            out[column] = result.class_probability[column].to_numpy()
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        if scheme == "sd_bands":  # classes 1-4, hatched where not robust
            register_output_style(context, dest, "index_robustness.qml", self.tr("Index robustness"))
        return {self.OUTPUT: dest}
