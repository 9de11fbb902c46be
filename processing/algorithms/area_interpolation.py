"""Processing adapter: transfer polygon data onto planning areas (``core.overlay.interpolate``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)

from ...core.overlay.interpolate import InterpolationOptions, RasterWeights, area_interpolate
from ...core.overlay.privacy import RateSpec
from ..area_parameters import AreaParameters
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, raster_path, source_to_gdf
from ..styling import graduated_style, register_output_style

class AreaInterpolation(MissingValueCodes, AreaParameters, KommunalmonitorAlgorithm):
    """Split counts of source polygons (blocks, old districts) exactly onto the planning areas."""

    ALGORITHM_ID = "areainterpolation"
    DISPLAY_NAME = "Transfer polygon data to areas"
    GROUP_ID = "overlay"
    TAGS = ("Flächengewichtung", "areal interpolation", "dasymetrisch", "dasymetric", "Umrechnung",
            "Planungsraum", "planning area")

    SOURCES = "SOURCES"
    EXTENSIVE = "EXTENSIVE"
    INTENSIVE = "INTENSIVE"
    WEIGHT_FIELD = "WEIGHT_FIELD"
    RATE_NUMERATOR = "RATE_NUMERATOR"
    RATE_DENOMINATOR = "RATE_DENOMINATOR"
    RATE_NAME = "RATE_NAME"
    RATE_PER = "RATE_PER"
    ANCILLARY = "ANCILLARY"
    ANCILLARY_FIELD = "ANCILLARY_FIELD"
    ANCILLARY_RASTER = "ANCILLARY_RASTER"
    BASE_FIELD = "BASE_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Sources and fields, target areas, optional dasymetric layer, small-number options."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SOURCES, self.tr("Source polygons (e.g. statistical blocks)"),
            [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.EXTENSIVE, self.tr("Counts to split (residents, dwellings; totals are kept)"), None,
            self.SOURCES, QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.INTENSIVE, self.tr("Means or rates to average (without their counts)"), None,
            self.SOURCES, QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.WEIGHT_FIELD, self.tr("Weight for the averages (e.g. residents; empty: area)"), None,
            self.SOURCES, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.RATE_NUMERATOR, self.tr("Rate: numerator count (e.g. children in poverty)"), None,
            self.SOURCES, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.RATE_DENOMINATOR, self.tr("Rate: denominator count (e.g. all children)"), None,
            self.SOURCES, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.RATE_NAME, self.tr("Rate: name of the new field"), "rate", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.RATE_PER, self.tr("Rate: per (100 = percent)"), QgsProcessingParameterNumber.Double,
            100.0, minValue=0.000001))
        self.add_area_parameters()
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.ANCILLARY, self.tr("Dasymetric layer: where people live (e.g. residential blocks)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.ANCILLARY_FIELD, self.tr("Weight of the dasymetric layer (e.g. dwellings; empty: area)"),
            None, self.ANCILLARY, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.ANCILLARY_RASTER, self.tr("Or: dasymetric raster (e.g. population or residential "
                                           "share; any CRS)"), optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.BASE_FIELD, self.tr("Population count for the small-base flag"), None, self.SOURCES,
            QgsProcessingParameterField.Numeric, optional=True))
        self.add_small_number_parameters()
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas with transferred data"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Refuse a half rate, two dasymetric sources, and a weight field that is 0 or empty everywhere."""
        from ..parameter_checks import check_alternatives, check_pair, check_weight_fields

        message = check_pair(self, parameters, self.RATE_NUMERATOR, self.RATE_DENOMINATOR) or \
            check_alternatives(self, parameters, self.ANCILLARY, self.ANCILLARY_RASTER)
        if message:
            return message
        return check_weight_fields(self, parameters, context,
                                   [(self.SOURCES, self.WEIGHT_FIELD), (self.ANCILLARY, self.ANCILLARY_FIELD)])

    def run_algorithm(self, parameters, context, feedback):
        """Read both layers, transfer in the engine, write the areas."""
        sources_src = self.parameterAsSource(parameters, self.SOURCES, context)
        areas_src = self.parameterAsSource(parameters, self.AREAS, context)
        extensive = self.parameterAsFields(parameters, self.EXTENSIVE, context)
        intensive = self.parameterAsFields(parameters, self.INTENSIVE, context)
        weight_field = self.parameterAsString(parameters, self.WEIGHT_FIELD, context) or None
        numerator = self.parameterAsString(parameters, self.RATE_NUMERATOR, context) or None
        denominator = self.parameterAsString(parameters, self.RATE_DENOMINATOR, context) or None
        rate_name = self.parameterAsString(parameters, self.RATE_NAME, context) or "rate"
        per = self.parameterAsDouble(parameters, self.RATE_PER, context)
        area_id = self.parameterAsString(parameters, self.AREA_ID, context) or None
        ancillary_src = self.parameterAsSource(parameters, self.ANCILLARY, context)
        ancillary_field = self.parameterAsString(parameters, self.ANCILLARY_FIELD, context) or None
        ancillary_raster = self.parameterAsRasterLayer(parameters, self.ANCILLARY_RASTER, context)
        base_field = self.parameterAsString(parameters, self.BASE_FIELD, context) or None
        min_base, min_count = self.read_small_number_parameters(parameters, context)

        rates = []
        if numerator and denominator:
            rates.append(RateSpec(rate_name, numerator, denominator, per=per, min_base=min_base))
        if base_field and base_field not in extensive:
            extensive = list(extensive) + [base_field]
        wanted = list(dict.fromkeys(list(extensive) + list(intensive)
                                    + [f for f in (weight_field, numerator, denominator) if f]))
        sources = source_to_gdf(sources_src, fields=wanted, name=sources_src.sourceName() if sources_src else None)
        sources = self.without_missing_codes(
            sources, parameters, context, feedback, [self.EXTENSIVE, self.INTENSIVE, self.WEIGHT_FIELD,
                                                  self.RATE_NUMERATOR, self.RATE_DENOMINATOR])
        areas = source_to_gdf(areas_src, name=areas_src.sourceName() if areas_src else None)
        ancillary = None
        if ancillary_src is not None:
            ancillary = source_to_gdf(ancillary_src, fields=[ancillary_field] if ancillary_field else [],
                                      name=ancillary_src.sourceName())
            ancillary = self.without_missing_codes(
                ancillary, parameters, context, feedback, [self.ANCILLARY_FIELD])
        elif ancillary_raster is not None:
            ancillary = RasterWeights.from_file(raster_path(ancillary_raster))
        # the common CRS and geometry treatment: every layer follows the areas' CRS, bow ties repaired
        areas = prepare_layer(areas, feedback, LayerChecks(projected=True, id_field=area_id))
        sources = prepare_layer(sources, feedback, LayerChecks(crs_like=areas))
        if ancillary is not None and not isinstance(ancillary, RasterWeights):
            ancillary = prepare_layer(ancillary, feedback, LayerChecks(crs_like=areas))
        options = InterpolationOptions(weight_field=weight_field, ancillary_field=ancillary_field,
                                       base_field=base_field, min_base=min_base)
        output, _ = area_interpolate(sources, areas, extensive=extensive, intensive=intensive,
                                     rates=rates, options=options, ancillary=ancillary,
                                     target_id=area_id, feedback=core_feedback(feedback))
        if min_count:
            # a mean is as disclosive as the count it averages over: the transferred weight
            # (e.g. residents) and the population count of the small-base flag
            bases = ([f"{f}_weight" for f in intensive] if weight_field else []) \
                + ([base_field] if base_field else [])
            derived = {f: ([f"{f}_weight"] if weight_field else []) + ([base_field] if base_field else [])
                       for f in intensive}
            output = self.suppress_small_numbers(output, list(extensive) + bases, min_count, feedback,
                                                 rates=[r.name for r in rates], derived=derived)
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, output.reset_index(drop=True),
                              feedback)
        # opens as a map of the transferred values: the rate first, then means, then counts
        register_output_style(context, dest_id, graduated_style(
            [r.name for r in rates] + list(intensive) + list(extensive)), self.tr("Transferred values"))
        return {self.OUTPUT: dest_id}
