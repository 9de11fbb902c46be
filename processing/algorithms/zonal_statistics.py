"""Processing adapter: raster statistics per planning area with exact pixel shares (``core.zonal``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterBand, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.zonal import ZonalOptions, zonal_statistics
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import crs_to_pyproj, gdf_to_sink, raster_path, source_to_gdf
from ..styling import graduated_style, register_output_style

# (core name, English label); order = enum index
STATISTICS = (
    ("count", "count (pixels, partial pixels counted by their share)"),
    ("sum", "sum"),
    ("mean", "mean"),
    ("min", "minimum"),
    ("max", "maximum"),
    ("std", "standard deviation"),
    ("median", "median"),
    ("majority", "majority (most frequent value by area)"),
    ("share_above", "share of area above the threshold"),
    ("share_below", "share of area below the threshold"),
    ("weighted_mean", "population-weighted mean"),
)


class ZonalStatistics(MissingValueCodes, KommunalmonitorAlgorithm):
    """Summarise raster values per area, every pixel weighted by its exact share inside the area."""

    ALGORITHM_ID = "zonalstatistics"
    DISPLAY_NAME = "Raster statistics per area (exact)"
    GROUP_ID = "overlay"
    TAGS = ("Zonenstatistik", "zonal statistics", "Raster", "Grünanteil", "green", "Lärm", "noise",
            "Versiegelung", "Planungsraum")

    INPUT = "INPUT"
    ID_FIELD = "ID_FIELD"
    RASTER = "RASTER"
    BANDS = "BANDS"
    STATISTICS = "STATISTICS"
    PERCENTILES = "PERCENTILES"
    THRESHOLD = "THRESHOLD"
    POPULATION_RASTER = "POPULATION_RASTER"
    POPULATION_BLOCKS = "POPULATION_BLOCKS"
    POPULATION_FIELD = "POPULATION_FIELD"
    PREFIX = "PREFIX"
    NODATA = "NODATA"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: areas, raster and bands, statistics, threshold, population weights."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field (checked for duplicates)"), None, self.INPUT,
            optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.RASTER, self.tr("Raster")))
        self.addParameter(QgsProcessingParameterBand(
            self.BANDS, self.tr("Bands (empty: all bands)"), None, self.RASTER, optional=True,
            allowMultiple=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.STATISTICS, self.tr("Statistics"), [self.tr(label) for _, label in STATISTICS],
            allowMultiple=True, defaultValue=[0, 2]))
        self.addParameter(QgsProcessingParameterString(
            self.PERCENTILES, self.tr("Percentiles (e.g. 10, 90)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Threshold for the shares above / below (e.g. 65 dB)"),
            QgsProcessingParameterNumber.Double, None, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.POPULATION_RASTER, self.tr("Population raster (for the weighted mean)"),
            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.POPULATION_BLOCKS, self.tr("Or: blocks with population (for the weighted mean)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population field of the blocks"), None,
            self.POPULATION_BLOCKS, QgsProcessingParameterField.Any, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PREFIX, self.tr("Prefix for the new fields"), "", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Nodata value of the raster (if it has none, e.g. -9999)"),
            QgsProcessingParameterNumber.Double, optional=True))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas with raster statistics"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Refuse two population sources at once (one would be used silently)."""
        from ..parameter_checks import check_alternatives

        return check_alternatives(self, parameters, self.POPULATION_RASTER, self.POPULATION_BLOCKS)

    def run_algorithm(self, parameters, context, feedback):
        """Read the layers, compute in the engine, write areas with the statistics."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        id_field = self.parameterAsString(parameters, self.ID_FIELD, context) or None
        raster = self.parameterAsRasterLayer(parameters, self.RASTER, context)
        bands = self.parameterAsInts(parameters, self.BANDS, context) or None
        chosen = self.parameterAsEnums(parameters, self.STATISTICS, context)
        percentiles = self.parameterAsString(parameters, self.PERCENTILES, context)
        threshold_text = self.parameterAsString(parameters, self.THRESHOLD, context)
        population_raster = self.parameterAsRasterLayer(parameters, self.POPULATION_RASTER, context)
        blocks_source = self.parameterAsSource(parameters, self.POPULATION_BLOCKS, context)
        population_field = self.parameterAsString(parameters, self.POPULATION_FIELD, context) or None
        prefix = self.parameterAsString(parameters, self.PREFIX, context) or ""
        nodata = None  # the raster's own nodata unless the planner gives one
        if parameters.get(self.NODATA) not in (None, ""):
            nodata = self.parameterAsDouble(parameters, self.NODATA, context)

        stats = [STATISTICS[i][0] for i in chosen]
        # with ';' between them, a comma is a German decimal comma ('10; 90,5' = p10 and p90.5),
        # never a second percentile (which gave an unasked-for p5)
        parts = percentiles.split(";") if ";" in (percentiles or "") else (percentiles or "").split(",")
        for text in parts:
            if text.strip():
                stats.append("p" + text.strip().rstrip("%").strip().replace(",", "."))
        if (blocks_source is not None or population_raster is not None) and "weighted_mean" not in stats:
            feedback.pushWarning(self.tr("A population (raster or blocks) was given, but the statistic "
                                         "'population-weighted mean' was not chosen, so the population is "
                                         "not used. Tick it under 'Statistics' to weight by residents."))
        threshold = float(threshold_text) if threshold_text not in (None, "") else None
        zones = source_to_gdf(source, name=source.sourceName() if source else None)
        # the common CRS and geometry treatment (the engine overlays in the raster's CRS)
        zones = prepare_layer(zones, feedback, LayerChecks(id_field=id_field))
        weights = None
        if blocks_source is not None:
            weights = source_to_gdf(blocks_source, fields=[population_field] if population_field else [],
                                    name=blocks_source.sourceName())
            weights = self.without_missing_codes(
                weights, parameters, context, feedback, [self.POPULATION_FIELD])
        elif population_raster is not None:
            weights = raster_path(population_raster)
        options = ZonalOptions(bands=bands, threshold=threshold, crs=crs_to_pyproj(raster.crs()),
                               nodata=nodata, raster_name=raster.name())
        table, diagnostics = zonal_statistics(
            zones, raster_path(raster), stats=stats, prefix=prefix, options=options, weights=weights,
            weights_field=population_field, id_field=id_field, feedback=core_feedback(feedback))
        clash = [c for c in table.columns if c in zones.columns]
        if clash:
            raise InputError(self.tr("The areas already have field(s) {fields}; choose a prefix for "
                                     "the new fields.", fields=", ".join(clash)))
        output = zones.join(table)
        feedback.pushInfo(self.tr("{n} area(s) written; {cells} covered pixels read; {empty} area(s) "
                                  "without raster data.", n=len(output), cells=diagnostics["n_cells"],
                                  empty=len(diagnostics["empty_zones"])))
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, output.reset_index(drop=True),
                              feedback)
        register_output_style(context, dest_id, graduated_style(list(table.columns)),
                              self.tr("Areas with raster statistics"))
        return {self.OUTPUT: dest_id}
