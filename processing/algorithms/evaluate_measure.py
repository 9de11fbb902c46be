"""Processing adapter: evaluation of a measure by matched difference-in-differences (kommunalmonitor:evaluatemeasure)."""
from qgis.core import (QgsProcessing, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterBoolean, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.i18n import get_language
from ...core.monitoring.evaluation import EvaluationOptions, evaluate_measure
from ...core.monitoring.series import AREA
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style
from .series_change import (add_count_indicator_parameters, add_observation_parameters, categorized_style,
                            join_to_areas, read_areas, read_observations, with_count_indicators)

ROLE_COLOURS = {"treated": "#d95f02", "comparison": "#1b9e77", "excluded_neighbour": "#fdd0a2",
                "pool": "#f0f0f0"}
ROLE_NAMES = {"treated": "area of the measure", "comparison": "comparison area",
              "excluded_neighbour": "neighbour, left out (spill-over)", "pool": "not used as comparison"}
ROLE_NAMES_DE = {"treated": "Gebiet der Maßnahme", "comparison": "Vergleichsgebiet",
                 "excluded_neighbour": "Nachbargebiet, ausgeschlossen (Ausstrahlung)",
                 "pool": "nicht als Vergleich genutzt"}


def _truthy(value):
    """True for values that mark an area of the measure (1, true, 'ja', 'x' …)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "nein", "no", "f", "n")
    try:
        return bool(value) and value == value  # NaN is not a mark
    except (TypeError, ValueError):
        return False


def _text(value):
    """A table value as stripped text, None for NULL / NaN / empty."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


class EvaluateMeasureAlgorithm(KommunalmonitorAlgorithm):
    """Difference-in-differences of a measure's areas against matched comparison areas."""

    ALGORITHM_ID = "evaluatemeasure"
    DISPLAY_NAME = "Evaluate a measure (difference-in-differences)"
    GROUP_ID = "monitoring"
    TAGS = ("Wirkung", "evaluation", "Maßnahme", "measure", "Differenz-von-Differenzen",
            "difference in differences", "Monitoring")

    INDICATOR = "INDICATOR"
    MEASURE_AREAS = "MEASURE_AREAS"
    MEASURE_FIELD = "MEASURE_FIELD"
    MEASURE_NAME = "MEASURE_NAME"
    MEASURES = "MEASURES"
    MEASURE_ID = "MEASURE_ID"
    START = "START"
    N_MATCHES = "N_MATCHES"
    EXCLUDE_NEIGHBOURS = "EXCLUDE_NEIGHBOURS"
    PERMUTATIONS = "PERMUTATIONS"
    ALPHA = "ALPHA"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    ESTIMATE, LOW, HIGH, P_VALUE, PRETREND_P, TEXT = "ESTIMATE", "LOW", "HIGH", "P_VALUE", "PRETREND_P", "TEXT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters and outputs."""
        add_observation_parameters(self)
        self.addParameter(QgsProcessingParameterString(self.INDICATOR, self.tr("Indicator")))
        add_count_indicator_parameters(self)
        self.addParameter(QgsProcessingParameterString(
            self.MEASURE_AREAS, self.tr("Areas of the measure (ids, separated by commas)"), optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.MEASURE_FIELD, self.tr("…or a field of the planning areas marking them (1 / true)"),
            parentLayerParameterName="AREAS", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.MEASURES, self.tr("…or a measures table (measure_id, name, area_ids, start_period), e.g. "
                                   "a monitoring store's"), [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.MEASURE_ID, self.tr("Measure id in that table"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.MEASURE_NAME, self.tr("Name of the measure"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.START, self.tr("First period in which the measure can act (empty: the measure's start)"),
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_MATCHES, self.tr("Comparison areas per area of the measure"),
            QgsProcessingParameterNumber.Integer, defaultValue=3, minValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.EXCLUDE_NEIGHBOURS, self.tr("Leave out neighbouring areas (spill-over)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.PERMUTATIONS, self.tr("Placebo permutations"), QgsProcessingParameterNumber.Integer,
            defaultValue=499, minValue=19))
        self.addParameter(QgsProcessingParameterNumber(
            self.ALPHA, self.tr("Significance level"), QgsProcessingParameterNumber.Double,
            defaultValue=0.05, minValue=0.001, maxValue=0.5))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas of the evaluation"), QgsProcessing.TypeVectorPolygon))
        for name, label in ((self.ESTIMATE, "Estimated effect"), (self.LOW, "Interval, lower bound"),
                            (self.HIGH, "Interval, upper bound"), (self.P_VALUE, "p-value (permutation)"),
                            (self.PRETREND_P, "p-value of the pre-trend check")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))
        self.addOutput(QgsProcessingOutputString(self.TEXT, self.tr("What the result shows")))

    def run_algorithm(self, parameters, context, feedback):
        """Read, evaluate in core, write the areas and report in words."""
        obs = read_observations(self, parameters, context, feedback)
        areas, id_field = read_areas(self, parameters, context, feedback)
        # ';' separates ids as well as ',' (as in the other list parameters)
        listed = [s.strip() for s in self.parameterAsString(parameters, self.MEASURE_AREAS, context)
                  .replace(";", ",").split(",") if s.strip()]
        flag = self.parameterAsFields(parameters, self.MEASURE_FIELD, context)
        if flag:
            listed += [str(i) for i, v in zip(areas[id_field], areas[flag[0]]) if _truthy(v)]
        measure = self._measure_row(parameters, context)
        if measure is not None and not listed:
            listed = [a.strip() for a in (_text(measure.get("area_ids")) or "").replace(";", ",").split(",")
                      if a.strip()]
        if not listed:
            raise InputError(self.tr("Name the areas of the measure: list their ids or choose a field of the "
                                     "planning areas that marks them."))
        options = EvaluationOptions(
            n_matches=self.parameterAsInt(parameters, self.N_MATCHES, context),
            exclude_neighbours=self.parameterAsBoolean(parameters, self.EXCLUDE_NEIGHBOURS, context),
            permutations=self.parameterAsInt(parameters, self.PERMUTATIONS, context),
            alpha=self.parameterAsDouble(parameters, self.ALPHA, context),
            seed=self.parameterAsInt(parameters, self.SEED, context))
        indicator = self.parameterAsString(parameters, self.INDICATOR, context).strip()
        obs = with_count_indicators(self, parameters, context, obs, indicator)
        start = self.parameterAsString(parameters, self.START, context).strip()
        name = self.parameterAsString(parameters, self.MEASURE_NAME, context).strip() or None
        if measure is not None:
            start = start or _text(measure.get("start_period")) or _text(measure.get("start")) or ""
            name = name or _text(measure.get("name")) or _text(measure.get("measure_id"))
        if not start:
            raise InputError(self.tr("Give the first period in which the measure can act."))
        polygons = areas[[id_field, areas.geometry.name]].rename(columns={id_field: AREA})
        polygons = polygons.set_geometry(areas.geometry.name)
        result = evaluate_measure(obs, indicator, sorted(set(listed)), start, options,
                                  areas=polygons if options.exclude_neighbours else None, measure=name,
                                  feedback=core_feedback(feedback))
        feedback.pushInfo(result.text)
        out = join_to_areas(areas, id_field, result.areas)
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out.reset_index(drop=True), feedback)
        names = ROLE_NAMES_DE if get_language() == "de" else ROLE_NAMES
        register_output_style(context, dest, categorized_style(
            "role", ROLE_COLOURS, names, self.tr("no complete series")), self.tr("Evaluation areas"))
        return {self.OUTPUT: dest, self.ESTIMATE: result.estimate, self.LOW: result.low, self.HIGH: result.high,
                self.P_VALUE: result.p_value, self.PRETREND_P: result.pretrend_p, self.TEXT: result.text}

    def _measure_row(self, parameters, context):
        """The chosen row of the measures table as a dict, or None without a table."""
        source = self.parameterAsSource(parameters, self.MEASURES, context)
        if source is None:
            return None
        measures = source_to_gdf(source, name=source.sourceName(), geometry=False)
        wanted = self.parameterAsString(parameters, self.MEASURE_ID, context).strip()
        if "measure_id" not in measures.columns:
            raise InputError(self.tr("The measures table '{layer}' has no field 'measure_id'.",
                                     layer=source.sourceName()))
        ids = [str(v) for v in measures["measure_id"]]
        if not wanted and len(ids) == 1:
            wanted = ids[0]
        if wanted not in ids:
            raise InputError(self.tr("Measure '{measure}' is not in the measures table. Measures there: {ids}.",
                                     measure=wanted, ids=", ".join(ids)))
        return measures.iloc[ids.index(wanted)].to_dict()
