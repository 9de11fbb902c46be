"""Processing adapter: index from an indicator catalogue (kommunalmonitor:catalogueindex)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterFile)

from ...core.i18n import get_language
from ...core.indices.catalogue import catalogue_index, catalogue_output, load_catalogue, shipped_catalogues
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import index_classes_style, register_output_style


class CatalogueIndexAlgorithm(MissingValueCodes, KommunalmonitorAlgorithm):
    """Compute the indicators and the index a YAML catalogue describes (e.g. Berlin MSS 2021)."""

    ALGORITHM_ID = "catalogueindex"
    DISPLAY_NAME = "Index from indicator catalogue"
    GROUP_ID = "indicators"
    TAGS = ("Indikatorenkatalog", "indicator catalogue", "Sozialindex", "social index", "YAML", "MSS")

    INPUT = "INPUT"
    CATALOGUE = "CATALOGUE"
    CATALOGUE_FILE = "CATALOGUE_FILE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterEnum(
            self.CATALOGUE, self.tr("Shipped catalogue"), options=shipped_catalogues(), defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            self.CATALOGUE_FILE, self.tr("Own catalogue file (YAML; replaces the shipped one)"),
            fileFilter="YAML (*.yaml *.yml)", optional=True))  # both spellings; checked before the run
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Indicators and index"), QgsProcessing.TypeVectorPolygon))

    def run_algorithm(self, parameters, context, feedback):
        """Load the catalogue, compute in core, write the layer."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        path = self.parameterAsFile(parameters, self.CATALOGUE_FILE, context)
        if not path:
            path = shipped_catalogues()[self.parameterAsEnum(parameters, self.CATALOGUE, context)]
        catalogue = load_catalogue(path)
        feedback.pushInfo(self.tr("Catalogue: {name} ({count} indicators).",
                                  name=catalogue.name.get(get_language(), catalogue.id),
                                  count=len(catalogue.indicators)))
        frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback)
        # the area id and the exclusion flag are names, not values: converting '08401245' to a number
        # was reported as '542 values converted' for PLR_ID (and BEZ_ID, which no indicator reads)
        read = {catalogue.population}
        for indicator in catalogue.indicators:
            read.add(indicator.value)
            for terms in (indicator.numerator, indicator.denominator, indicator.baseline_numerator,
                          indicator.baseline_denominator):
                read.update(name for _, name in terms or [])
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, (), fields=[c for c in frame.columns if c in read])
        result = catalogue_index(catalogue, frame, feedback=core_feedback(feedback))
        diag = result.diagnostics
        feedback.pushInfo(self.tr("{included} of {total} areas define the reference statistics; "
                                  "{small} below the minimum population, {missing} with missing values.",
                                  included=diag["n_included"], total=diag["n_areas"],
                                  small=diag["n_population_below_minimum"], missing=diag["n_missing"]))
        for warning in diag["indicator_warnings"] + diag["warnings"]:
            feedback.pushWarning(warning)
        feedback.pushInfo(self.tr("The index is a search strategy: areas with high values need a "
                                  "look on site, it is not a verdict on the people living there."))
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, catalogue_output(frame, result), feedback)
        # every classification opens styled: classes from the data, legend with counts
        register_output_style(context, dest, index_classes_style, self.tr("Indicators and index"))
        return {self.OUTPUT: dest}
