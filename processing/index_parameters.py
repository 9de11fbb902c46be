"""Index parameters shared by the composite index and its robustness check, so both
algorithms offer (and read) exactly the same choices."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..core.indices.composite import parse_weights

STANDARDISATIONS = ("z", "z_weighted", "minmax", "percentile", "rank_exp")
SCHEMES = ("sd_bands", "quantiles", "jenks", "equal_interval", "fixed")


class IndexParameters:
    """Mixin for algorithms that build a composite index from indicator fields."""

    INPUT = "INPUT"
    INDICATORS = "INDICATORS"
    REVERSED = "REVERSED"
    WEIGHTS = "WEIGHTS"
    POPULATION_FIELD = "POPULATION_FIELD"
    MIN_POPULATION = "MIN_POPULATION"
    STANDARDISATION = "STANDARDISATION"
    CLASSIFICATION = "CLASSIFICATION"
    N_CLASSES = "N_CLASSES"

    #: class schemes this algorithm offers (a prefix of ``SCHEMES``)
    INDEX_SCHEMES = SCHEMES

    def add_index_parameters(self):
        """Declare the areas, indicators, weights, base, standardisation and class parameters."""
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
            QgsProcessingParameterNumber.Integer, defaultValue=300, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.STANDARDISATION, self.tr("Standardisation"),
            options=[self.tr("z-score, unweighted (population SD, as MSS)"),
                     self.tr("z-score, population-weighted"),
                     self.tr("min–max (0 to 1)"),
                     self.tr("percentile rank"),
                     self.tr("rank with IMD exponential transform")],
            defaultValue=0))
        labels = {"sd_bands": self.tr("SD bands (MSS: < −1, −1…1, 1…1.5, > 1.5)"),
                  "quantiles": self.tr("quantiles"), "jenks": self.tr("natural breaks (Jenks)"),
                  "equal_interval": self.tr("equal intervals"), "fixed": self.tr("fixed breaks")}
        self.addParameter(QgsProcessingParameterEnum(
            self.CLASSIFICATION, self.tr("Classes"),
            options=[labels[s] for s in self.INDEX_SCHEMES], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_CLASSES, self.tr("Number of classes (quantiles, natural breaks, equal intervals)"),
            QgsProcessingParameterNumber.Integer, defaultValue=4, minValue=2, maxValue=20))

    def read_index_parameters(self, parameters, context):
        """Return the index parameters as engine arguments (a dict)."""
        population = self.parameterAsFields(parameters, self.POPULATION_FIELD, context)
        population = population[0] if population else None
        min_population = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        return {
            "indicators": self.parameterAsFields(parameters, self.INDICATORS, context),
            "reversed": self.parameterAsFields(parameters, self.REVERSED, context),
            "weights": parse_weights(self.parameterAsString(parameters, self.WEIGHTS, context)),
            "population": population,
            # without a population field nothing can fall under the minimum
            "min_population": min_population if population else 0.0,
            "method": STANDARDISATIONS[self.parameterAsEnum(parameters, self.STANDARDISATION, context)],
            "classification": self.INDEX_SCHEMES[self.parameterAsEnum(parameters, self.CLASSIFICATION, context)],
            "n_classes": self.parameterAsInt(parameters, self.N_CLASSES, context),
        }
