"""Processing adapter: aggregate blocks to planning areas (``core.aggregate``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.aggregate import aggregate_to_areas, parse_rates
from ...core.rates import DEFAULT_MIN_BASE
from ..base import KommunalmonitorAlgorithm, LayerChecks, prepare_layer, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style


class AggregateToAreas(MissingValueCodes, KommunalmonitorAlgorithm):
    """Sum block counts per planning area and recompute rates from the sums."""

    ALGORITHM_ID = "aggregatetoareas"
    DISPLAY_NAME = "Aggregate blocks to planning areas"
    GROUP_ID = "overlay"
    TAGS = ("Aggregation", "aggregate", "Blöcke", "blocks", "Summen", "Quoten", "rates",
            "Planungsraum", "planning area")

    BLOCKS = "BLOCKS"
    AREAS = "AREAS"
    AREA_ID_FIELD = "AREA_ID_FIELD"
    COUNT_FIELDS = "COUNT_FIELDS"
    RATES = "RATES"
    MIN_BASE = "MIN_BASE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: blocks, areas with id, count fields, rate definitions, output."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.BLOCKS, self.tr("Blocks (small units with counts)"),
            [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AREAS, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.AREA_ID_FIELD, self.tr("Planning-area id field"), None, self.AREAS))
        self.addParameter(QgsProcessingParameterField(
            self.COUNT_FIELDS, self.tr("Count fields to sum (residents, unemployed, ...)"), None,
            self.BLOCKS, QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        rates = QgsProcessingParameterString(
            self.RATES, self.tr("Rates from the sums (name = numerator / denominator * 100; ...)"),
            optional=True, multiLine=True)
        rates.setHelp(self.tr("One rate per line or separated by ';'. Numerator and denominator are a "
                              "count field or a sum of fields in brackets; '* 100' (percent) is the "
                              "default. Example: child_poverty = children_transfer_2022 / "
                              "(pop_0_5_2022 + pop_6_14_2022) * 100"))
        self.addParameter(rates)
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_BASE, self.tr("Flag rates whose denominator is below"),
            QgsProcessingParameterNumber.Integer, int(DEFAULT_MIN_BASE), minValue=0))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Planning areas with sums and rates"), QgsProcessing.TypeVectorPolygon))

    def run_algorithm(self, parameters, context, feedback):
        """Read both layers, aggregate in the engine, write the areas."""
        blocks_source = self.parameterAsSource(parameters, self.BLOCKS, context)
        areas_source = self.parameterAsSource(parameters, self.AREAS, context)
        area_id = self.parameterAsString(parameters, self.AREA_ID_FIELD, context)
        count_fields = self.parameterAsFields(parameters, self.COUNT_FIELDS, context)
        rates_text = self.parameterAsString(parameters, self.RATES, context)
        min_base = self.parameterAsDouble(parameters, self.MIN_BASE, context)

        specs = parse_rates(rates_text)
        needed = list(dict.fromkeys(count_fields + [f for s in specs for f in s.fields()]))
        blocks_name = blocks_source.sourceName() if blocks_source else None
        areas_name = areas_source.sourceName() if areas_source else None
        blocks = source_to_gdf(blocks_source, fields=needed, name=blocks_name)
        blocks = self.without_missing_codes(
            blocks, parameters, context, feedback, [self.COUNT_FIELDS], fields=needed)
        areas = source_to_gdf(areas_source, name=areas_name)
        # the common CRS and geometry treatment: blocks follow the areas' CRS, bow ties repaired
        areas = prepare_layer(areas, feedback, LayerChecks(projected=True, id_field=area_id))
        blocks = prepare_layer(blocks, feedback, LayerChecks(crs_like=areas))
        feedback.setProgress(10)
        result = aggregate_to_areas(blocks, areas, area_id, count_fields, specs, min_base=min_base,
                                    feedback=core_feedback(feedback))
        feedback.pushInfo(self.tr("{blocks} block(s) assigned by overlap, {points} by representative "
                                  "point, {outside} outside; {areas} planning area(s) written.",
                                  blocks=result.diagnostics["n_by_overlap"],
                                  points=result.diagnostics["n_by_point"],
                                  outside=result.diagnostics["n_outside"], areas=len(result.areas)))
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT,
                              result.areas.reset_index(drop=True), feedback)
        register_output_style(context, dest_id, "aggregate_areas.qml",
                              self.tr("Planning areas (aggregated)"))
        return {self.OUTPUT: dest_id}
