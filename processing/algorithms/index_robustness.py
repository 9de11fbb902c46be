"""Processing adapter: robustness of a composite index (kommunalmonitor:indexrobustness)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterNumber)

from ...core.indices.composite import make_spec
from ...core.indices.robustness import RobustnessOptions, monte_carlo_robustness
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..index_parameters import SCHEMES, IndexParameters
from ..styling import register_output_style


class IndexRobustnessAlgorithm(MissingValueCodes, IndexParameters, KommunalmonitorAlgorithm):
    """How stable are the index classes under other weights, standardisations and indicator sets?"""

    ALGORITHM_ID = "indexrobustness"
    DISPLAY_NAME = "Index robustness (Monte Carlo)"
    GROUP_ID = "indicators"
    TAGS = ("Robustheit", "robustness", "Sensitivität", "sensitivity", "Monte Carlo", "Sozialindex",
            "Gewichte", "weights")
    INDEX_SCHEMES = SCHEMES[:4]  # fixed breaks would not vary with the weights

    N_RUNS = "N_RUNS"
    WEIGHT_RANGE = "WEIGHT_RANGE"
    VARY_STANDARDISATION = "VARY_STANDARDISATION"
    LEAVE_ONE_OUT = "LEAVE_ONE_OUT"
    THRESHOLD = "THRESHOLD"
    SEED = "SEED"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters (the index ones as in the composite index)."""
        self.add_index_parameters()
        self.addParameter(QgsProcessingParameterNumber(
            self.N_RUNS, self.tr("Number of random runs"), QgsProcessingParameterNumber.Integer,
            defaultValue=500, minValue=1, maxValue=100000))
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
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Index robustness"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Refuse zero random runs: the robustness would rest on no variation of the weights."""
        n_runs = self.parameterAsInt(parameters, self.N_RUNS, context)
        if n_runs < 1:
            return self.tr("'Number of random runs' is {runs}: the robustness would rest on no random "
                           "variation of the weights. Set at least 100 runs (500 is usual).", runs=n_runs)
        if self.parameterAsDouble(parameters, self.THRESHOLD, context) <= 0:
            return self.tr("'Robust when the class is reproduced in at least this share of runs' is 0: every "
                           "area would count as robust. Set a share such as 0.8.")
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the parameters, run the Monte Carlo in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        index = self.read_index_parameters(parameters, context)
        population = index.pop("population")
        n_runs = self.parameterAsInt(parameters, self.N_RUNS, context)
        weight_range = self.parameterAsDouble(parameters, self.WEIGHT_RANGE, context)
        vary = self.parameterAsBoolean(parameters, self.VARY_STANDARDISATION, context)
        leave_one_out = self.parameterAsBoolean(parameters, self.LEAVE_ONE_OUT, context)
        threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)

        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, [self.INDICATORS, self.POPULATION_FIELD])
        spec = make_spec(index.pop("indicators"), **index)
        methods = None
        if vary:
            methods = [index["method"]] + [m for m in ("z", "minmax", "percentile") if m != index["method"]]
        options = RobustnessOptions(n=n_runs, weight_range=weight_range, methods=methods,
                                    leave_one_out=leave_one_out, threshold=threshold)
        result = monte_carlo_robustness(frame, spec, options, seed=seed, population=population,
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
        if index["classification"] == "sd_bands":  # classes 1-4, hatched where not robust
            register_output_style(context, dest, "index_robustness.qml", self.tr("Index robustness"))
        return {self.OUTPUT: dest}
