"""Processing adapter: multiple burden, Berlin Umweltgerechtigkeit style (kommunalmonitor:multipleburden)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterString)

from ...core.indices.burden import BurdenIndicator, multiple_burden, parse_thresholds
from ..base import KommunalmonitorAlgorithm, ProgressSpan, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style


class MultipleBurdenAlgorithm(MissingValueCodes, KommunalmonitorAlgorithm):
    """Grade each burden 1–3 (quartiles or fixed thresholds) and count the high burdens."""

    ALGORITHM_ID = "multipleburden"
    DISPLAY_NAME = "Multiple burden (environmental justice)"
    GROUP_ID = "indicators"
    TAGS = ("Mehrfachbelastung", "multiple burden", "Umweltgerechtigkeit", "environmental justice",
            "Lärm", "noise", "Hitze", "heat")

    INPUT = "INPUT"
    BURDEN_FIELDS = "BURDEN_FIELDS"
    SUPPLY_FIELDS = "SUPPLY_FIELDS"
    THRESHOLDS = "THRESHOLDS"
    SOCIAL_STATUS_FIELD = "SOCIAL_STATUS_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.BURDEN_FIELDS, self.tr("Burden and supply indicators (noise, NO₂, heat, green space, ...)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric, allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.SUPPLY_FIELDS, self.tr("Of these, supply indicators (higher = better, e.g. green space)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric,
            allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.THRESHOLDS, self.tr("Fixed thresholds (field=lower,upper; ...); other fields are graded by quartiles"),
            optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.SOCIAL_STATUS_FIELD, self.tr("Social status class field (MSS status 1–4, optional)"),
            parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric, optional=True))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Multiple burden"), QgsProcessing.TypeVectorPolygon))

    def run_algorithm(self, parameters, context, feedback):
        """Read the parameters, grade in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        fields = self.parameterAsFields(parameters, self.BURDEN_FIELDS, context)
        supply = set(self.parameterAsFields(parameters, self.SUPPLY_FIELDS, context))
        thresholds = parse_thresholds(self.parameterAsString(parameters, self.THRESHOLDS, context))
        social = self.parameterAsFields(parameters, self.SOCIAL_STATUS_FIELD, context)
        unknown = [f for f in list(supply) + list(thresholds) if f not in fields]
        if unknown:
            from ...core.errors import InputError
            raise InputError(self.tr("Field(s) {fields} are not among the chosen burden indicators.",
                                     fields=", ".join(unknown)))
        # one rising bar: reading 0–20 %, grading 20–80 %, writing 80–100 %
        frame = source_to_gdf(source, name=source.sourceName() if source else None,
                              feedback=ProgressSpan(feedback, 0, 20))
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, [self.BURDEN_FIELDS, self.SOCIAL_STATUS_FIELD])
        specs = [BurdenIndicator(f, supply=f in supply, thresholds=thresholds.get(f)) for f in fields]
        result = multiple_burden(frame, specs, social_status=social[0] if social else None,
                                 feedback=core_feedback(feedback).step(0.2, 0.8))
        for name, limits in result.breaks.items():
            feedback.pushInfo(self.tr("{field}: grade limits {low} and {high} ({kind}).", field=name,
                                      low=float(f"{limits['low']:.4g}"), high=float(f"{limits['high']:.4g}"),
                                      kind=self.tr(limits["kind"])))
        if result.diagnostics["n_incomplete"]:
            feedback.pushWarning(self.tr("{count} area(s) have a missing grade; their count is a minimum.",
                                         count=result.diagnostics["n_incomplete"]))
        feedback.pushInfo(self.tr("Quantile grades are relative to this city (worse than most areas); fixed "
                                  "thresholds are absolute. The field k_<indicator> says which."))
        out = frame.copy()
        for column in result.table.columns:
            out[column] = result.table[column].to_numpy()
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out, ProgressSpan(feedback, 80, 100))
        feedback.setProgress(100)
        register_output_style(context, dest, "burden_count.qml", self.tr("Multiple burden"))
        return {self.OUTPUT: dest}
