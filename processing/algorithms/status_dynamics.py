"""Processing adapter: status and dynamics index, MSS style (kommunalmonitor:statusdynamics)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.indices.mss import DEFAULT_ATTENTION, StatusDynamicsOptions, status_dynamics
from ...core.indices.reasons import reasons
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..value_parameters import MissingValueCodes
from ..parameter_checks import same_value
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style, status_dynamics_style


class StatusDynamicsAlgorithm(MissingValueCodes, KommunalmonitorAlgorithm):
    """Status index, dynamics index, combined code (e.g. '2-') and attention areas."""

    ALGORITHM_ID = "statusdynamics"
    DISPLAY_NAME = "Status and dynamics index (MSS method)"
    GROUP_ID = "indicators"
    TAGS = ("MSS", "Monitoring Soziale Stadtentwicklung", "Status", "Dynamik", "dynamics",
            "Sozialindex", "deprivation", "Berlin")

    INPUT = "INPUT"
    STATUS_INDICATORS = "STATUS_INDICATORS"
    DYNAMICS_INDICATORS = "DYNAMICS_INDICATORS"
    POPULATION_FIELD = "POPULATION_FIELD"
    MIN_POPULATION = "MIN_POPULATION"
    EXCLUDE_FIELD = "EXCLUDE_FIELD"
    EXCLUDE_VALUE = "EXCLUDE_VALUE"
    MISSING_VALUE = "MISSING_VALUE"
    STANDARDISATION = "STANDARDISATION"
    ATTENTION = "ATTENTION"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.STATUS_INDICATORS, self.tr("Status indicators (levels, higher = more disadvantage)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric,
            allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.DYNAMICS_INDICATORS, self.tr("Dynamics indicators (changes, higher = worsening)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric,
            allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population field"), parentLayerParameterName=self.INPUT,
            type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_POPULATION, self.tr("Minimum population for the reference statistics"),
            QgsProcessingParameterNumber.Integer, defaultValue=300, minValue=0))
        self.addParameter(QgsProcessingParameterField(
            self.EXCLUDE_FIELD, self.tr("Field flagging excluded areas (e.g. outliers)"),
            parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.EXCLUDE_VALUE, self.tr("Value of that field that means 'exclude'"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MISSING_VALUE, self.tr("Code for 'no value' in the indicator fields (e.g. -9999)"),
            QgsProcessingParameterNumber.Double, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.STANDARDISATION, self.tr("Standardisation"),
            options=[self.tr("z-score, unweighted (population SD, as MSS)"),
                     self.tr("z-score, population-weighted")], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.ATTENTION, self.tr("Areas needing particular attention (status/dynamics codes)"),
            defaultValue=DEFAULT_ATTENTION))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Status and dynamics"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """No field is both status and dynamics; the exclude field and value go together, and the
        value must flag at least one area."""
        from ..parameter_checks import examples, field_values, same_value

        both = [f for f in self.parameterAsFields(parameters, self.STATUS_INDICATORS, context)
                if f in self.parameterAsFields(parameters, self.DYNAMICS_INDICATORS, context)]
        if both:
            return self.tr("Field(s) {fields} are chosen both as status and as dynamics indicators; a level "
                           "and its change are different fields (e.g. unemployment 2022 and its change "
                           "2020–2022).", fields=", ".join(f"'{f}'" for f in both))
        field = (self.parameterAsFields(parameters, self.EXCLUDE_FIELD, context) or [None])[0]
        value = self.parameterAsString(parameters, self.EXCLUDE_VALUE, context)
        if value and not field:
            return self.tr("An exclude value '{value}' is given but no 'Field flagging excluded areas'. "
                           "Choose that field, or clear the value.", value=value)
        if field and not value:
            return self.tr("Field '{field}' is chosen to flag excluded areas, but 'Value of that field that "
                           "means 'exclude'' is empty. Enter the value (e.g. 1), or clear the field.",
                           field=field)
        if not field:
            return None
        values, layer = field_values(self, parameters, context, self.INPUT, field)
        if values is not None and not any(same_value(v, value) for v in values):
            present = sorted({str(v) for v in values if v is not None})
            return self.tr("No area of layer '{layer}' has the value '{value}' in field '{field}' (values "
                           "found: {found}), so no area would be excluded. Check the exclude value.",
                           layer=layer, value=value, field=field, found=examples(present) or "–")
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the parameters, compute in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        status_fields = self.parameterAsFields(parameters, self.STATUS_INDICATORS, context)
        dynamics_fields = self.parameterAsFields(parameters, self.DYNAMICS_INDICATORS, context)
        population = self.parameterAsFields(parameters, self.POPULATION_FIELD, context)
        population = population[0] if population else None
        min_population = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        exclude_field = self.parameterAsFields(parameters, self.EXCLUDE_FIELD, context)
        exclude_value = self.parameterAsString(parameters, self.EXCLUDE_VALUE, context)
        missing = parameters.get(self.MISSING_VALUE)
        missing = () if missing is None or missing == "" else (
            self.parameterAsDouble(parameters, self.MISSING_VALUE, context),)
        method = ("z", "z_weighted")[self.parameterAsEnum(parameters, self.STANDARDISATION, context)]
        attention = self.parameterAsString(parameters, self.ATTENTION, context)

        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, [self.STATUS_INDICATORS, self.DYNAMICS_INDICATORS,
                                                self.POPULATION_FIELD], extra_codes=missing)
        exclude = None
        if exclude_field:
            # '1' typed in the dialog must match 1, 1.0 and '1' alike (a decimal field prints '1.0')
            exclude = frame[exclude_field[0]].map(lambda v: same_value(v, exclude_value)).to_numpy(dtype=bool)
        options = StatusDynamicsOptions(min_population=min_population if population else 0.0,
                                        missing_values=missing, method=method, attention=attention)
        result = status_dynamics(frame, status_fields, dynamics_fields, options, population=population,
                                 exclude=exclude, feedback=core_feedback(feedback))
        diag = result.diagnostics
        feedback.pushInfo(self.tr("Status classes 1–4: {status}; dynamics classes 1/3/5: {dynamics}; "
                                  "{attention} areas need particular attention.",
                                  status=", ".join(str(v) for v in diag["status_counts"].values()),
                                  dynamics=", ".join(str(v) for v in diag["dynamics_counts"].values()),
                                  attention=diag["n_attention"]))
        for warning in diag["warnings"]:
            feedback.pushWarning(warning)
        feedback.pushInfo(self.tr("Dynamics are relative to the whole city: 'negative' means worse "
                                  "than the city's development, not necessarily an absolute decline."))
        out = frame.copy()
        for name in status_fields:
            out["z_" + name] = result.status.scores[name].to_numpy()
        for name in dynamics_fields:
            out["z_" + name] = result.dynamics.scores[name].to_numpy()
        for column in result.table.columns:
            out[column] = result.table[column].to_numpy()
        out["excl_reason"] = [self.tr(r) if r else None for r in result.status.reason]
        out["reasons"] = reasons(result.status, top=3)["reasons"].to_numpy()
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        register_output_style(context, dest, status_dynamics_style, self.tr("Status and dynamics"))
        return {self.OUTPUT: dest}
