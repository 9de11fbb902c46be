"""Processing adapter: hot spots by local Moran's I and Getis-Ord Gi* (``core.priorities.hotspots``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber)

from ...core.i18n import format_number
from ...core.priorities.hotspots import HotSpotOptions, hot_spots
from ...core.priorities.weights import build_weights
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style

WEIGHT_KINDS = ["queen", "rook", "knn", "distance"]
METHODS = ["both", "lisa", "gi"]
ALPHAS = [0.10, 0.05, 0.01]


class HotSpots(MissingValueCodes, KommunalmonitorAlgorithm):
    """LISA categories and Gi* confidence bins with permutation inference and FDR."""

    ALGORITHM_ID = "hotspots"
    DISPLAY_NAME = "Hot spots (local Moran's I, Getis-Ord Gi*)"
    GROUP_ID = "priorities"
    TAGS = ("Hot Spot", "hot spot", "Cold Spot", "LISA", "Moran", "Getis-Ord", "Gi*",
            "räumliche Häufung", "spatial cluster")

    INPUT = "INPUT"
    FIELD = "FIELD"
    ID_FIELD = "ID_FIELD"
    METHOD = "METHOD"
    WEIGHTS = "WEIGHTS"
    K = "K"
    DISTANCE = "DISTANCE"
    LINK_ISLANDS = "LINK_ISLANDS"
    MAX_LINK_DISTANCE = "MAX_LINK_DISTANCE"
    PERMUTATIONS = "PERMUTATIONS"
    SEED = "SEED"
    ALPHA = "ALPHA"
    FDR = "FDR"
    SENSITIVITY = "SENSITIVITY"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: areas, indicator, method, weights, inference settings, output."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            self.FIELD, self.tr("Indicator"), None, self.INPUT, QgsProcessingParameterField.Numeric))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field (checked for duplicates; names areas in messages)"), None,
            self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Statistic"),
            [self.tr("Both (local Moran's I and Gi*)"), self.tr("Local Moran's I (LISA)"), self.tr("Getis-Ord Gi*")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.WEIGHTS, self.tr("Neighbours"),
            [self.tr("Queen contiguity (shared border or corner)"), self.tr("Rook contiguity (shared border)"),
             self.tr("k nearest neighbours"), self.tr("Distance band")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.K, self.tr("k (for k nearest neighbours)"), QgsProcessingParameterNumber.Integer, 6, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.DISTANCE, self.tr("Distance band in metres"), QgsProcessingParameterNumber.Double, 1500.0,
            minValue=0.0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.LINK_ISLANDS, self.tr("Link areas without neighbours to their nearest area"), False))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_LINK_DISTANCE, self.tr("Maximum linking distance in metres (0 = no limit)"),
            QgsProcessingParameterNumber.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.PERMUTATIONS, self.tr("Permutations"), QgsProcessingParameterNumber.Integer, 999,
            minValue=0, maxValue=99999))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer, 12345, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.ALPHA, self.tr("Significance level"), ["90 %", "95 %", "99 %"], defaultValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.FDR, self.tr("Correct for multiple testing (false discovery rate)"), True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SENSITIVITY, self.tr("Check the result with other neighbour definitions (robustness; takes longer)"),
            False))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Hot spots"), QgsProcessing.TypeVectorAnyGeometry))

    def check_parameters(self, parameters, context):
        """Refuse permutation settings under which no area could ever be significant."""
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        alpha = ALPHAS[self.parameterAsEnum(parameters, self.ALPHA, context)]
        level = f"{round(100 * (1 - alpha))} %"
        if permutations == 0 and method in ("lisa", "both"):
            return self.tr("'Permutations' is 0, but local Moran's I judges significance only by "
                           "permutations: every area would come out 'not significant'. Set 999 "
                           "permutations, or choose Getis-Ord Gi* alone (it then uses p-values from "
                           "the normal distribution).")
        smallest = 1.0 / (permutations + 1)
        if permutations and smallest > alpha:
            return self.tr("With {n} permutations the smallest possible p-value is {p}, above the "
                           "significance level of {level} confidence ({alpha}): no area could be "
                           "significant. Use at least {need} permutations (999 is usual).",
                           n=permutations, p=format_number(smallest, 3), level=level,
                           alpha=format_number(alpha, 2), need=int(round(10 / alpha)) - 1)
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the areas, build the weights, compute in the engine, write the result."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        field = self.parameterAsString(parameters, self.FIELD, context)
        id_field = self.parameterAsString(parameters, self.ID_FIELD, context) or None
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        kind = WEIGHT_KINDS[self.parameterAsEnum(parameters, self.WEIGHTS, context)]
        k = self.parameterAsInt(parameters, self.K, context)
        distance = self.parameterAsDouble(parameters, self.DISTANCE, context)
        link = self.parameterAsBool(parameters, self.LINK_ISLANDS, context)
        max_link = self.parameterAsDouble(parameters, self.MAX_LINK_DISTANCE, context)
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        alpha = ALPHAS[self.parameterAsEnum(parameters, self.ALPHA, context)]
        fdr = self.parameterAsBool(parameters, self.FDR, context)
        sensitivity = self.parameterAsBool(parameters, self.SENSITIVITY, context)
        name = source.sourceName() if source else None
        frame = prepare_layer(source_to_gdf(source, name=name), feedback, LayerChecks(projected=True))
        fids = frame.index  # QGIS feature ids: warnings name areas by them (or the id field), never by row
        frame = frame.reset_index(drop=True)
        frame.attrs["layer_name"] = name
        frame = self.without_missing_codes(frame, parameters, context, feedback, [self.FIELD],
                                           labels=None if id_field else fids)
        areas = frame.set_index(fids)  # the engine names areas by the index: feature ids, not rows
        weights = build_weights(areas, kind, k=k, threshold=distance, id_field=id_field,
                                islands="nearest" if link else "keep", max_link_distance=max_link or None,
                                feedback=core_feedback(feedback))
        if permutations == 0 and method == "gi":
            feedback.pushInfo(self.tr("Gi*: no permutations, p-values from the normal distribution."))
        options = HotSpotOptions(method=method, permutations=permutations, alpha=alpha, fdr=fdr,
                                 sensitivity=sensitivity)
        out, diag = hot_spots(areas, field, weights, options, seed=seed, feedback=core_feedback(feedback),
                              id_field=id_field)
        if "lisa" in diag:
            counts = diag["lisa"]["counts"]
            feedback.pushInfo(self.tr(
                "Local Moran: {hh} high–high, {ll} low–low, {hl} high–low, {lh} low–high areas; "
                "global Moran's I = {i}.", hh=counts["HH"], ll=counts["LL"], hl=counts["HL"],
                lh=counts["LH"], i=round(diag["lisa"]["global_moran_i"], 3)))
            if diag["lisa"]["islands"]:
                # n/S0 counts the unlinked areas in n but not in S0 (PySAL's esda does the same)
                feedback.pushWarning(self.tr(
                    "Global Moran's I ({i}) counts all {n} areas, {islands} of them without neighbours; that "
                    "inflates it (it can exceed 1) and makes it incomparable with other runs. Link the islands "
                    "or use k nearest neighbours before quoting it.", i=round(diag["lisa"]["global_moran_i"], 3),
                    n=diag["lisa"]["n"], islands=diag["lisa"]["islands"]))
        if "gi" in diag:
            counts = diag["gi"]["counts"]
            feedback.pushInfo(self.tr(
                "Gi*: {hot} hot-spot and {cold} cold-spot areas (90 % confidence or more).",
                hot=counts[1] + counts[2] + counts[3], cold=counts[-1] + counts[-2] + counts[-3]))
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        style = "hotspots_lisa.qml" if method == "lisa" else "hotspots_gi.qml"
        register_output_style(context, dest_id, style, self.tr("Hot spots"))
        return {self.OUTPUT: dest_id}
