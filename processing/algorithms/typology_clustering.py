"""Processing adapter: typology of planning areas by clustering (``core.priorities.clustering``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

import pandas as pd

from ...core.priorities.clustering import TypologyOptions, cluster_typology
from ...core.priorities.profiles import cluster_profiles, parse_labels
from ...core.priorities.weights import build_weights
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style

METHODS = ["kmeans", "ward", "gmm"]
CRITERIA = ["silhouette", "calinski_harabasz", "bic"]


class TypologyClustering(MissingValueCodes, KommunalmonitorAlgorithm):
    """Clusters of planning areas with a k curve, stability, profiles and generated names."""

    ALGORITHM_ID = "typology"
    DISPLAY_NAME = "Typology of planning areas (clustering)"
    GROUP_ID = "priorities"
    TAGS = ("Typisierung", "typology", "Cluster", "clustering", "k-means", "Gebietstypen", "area types")

    INPUT = "INPUT"
    FIELDS = "FIELDS"
    ID_FIELD = "ID_FIELD"
    STANDARDISE = "STANDARDISE"
    METHOD = "METHOD"
    CONTIGUOUS = "CONTIGUOUS"
    K = "K"
    K_MIN = "K_MIN"
    K_MAX = "K_MAX"
    CRITERION = "CRITERION"
    BOOTSTRAP = "BOOTSTRAP"
    SEED = "SEED"
    LABELS = "LABELS"
    OUTPUT = "OUTPUT"
    PROFILES = "PROFILES"
    CURVE = "CURVE"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: areas, indicators, method, k, stability, outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.FIELDS, self.tr("Indicators (or their z-scores z_...)"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field (checked for duplicates; names areas in messages)"), None,
            self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.STANDARDISE, self.tr("Standardise the indicators first (z-scores)"), True))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Method"),
            [self.tr("k-means"), self.tr("Ward (hierarchical)"), self.tr("Gaussian mixture")], defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.CONTIGUOUS, self.tr("Spatially contiguous clusters (Ward with shared borders)"), False))
        self.addParameter(QgsProcessingParameterNumber(
            self.K, self.tr("Number of clusters (0 = choose automatically)"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.K_MIN, self.tr("Smallest number of clusters to try"), QgsProcessingParameterNumber.Integer, 2,
            minValue=2))
        self.addParameter(QgsProcessingParameterNumber(
            self.K_MAX, self.tr("Largest number of clusters to try"), QgsProcessingParameterNumber.Integer, 8,
            minValue=2))
        self.addParameter(QgsProcessingParameterEnum(
            self.CRITERION, self.tr("Choose the number of clusters by"),
            [self.tr("Silhouette"), self.tr("Calinski–Harabasz (pseudo-F)"), self.tr("BIC (Gaussian mixture only)")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.BOOTSTRAP, self.tr("Bootstrap resamples for stability (0 = skip)"),
            QgsProcessingParameterNumber.Integer, 50, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer, 12345, minValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.LABELS, self.tr("Indicator names for the cluster names (e.g. S4 = Kinderarmut / child poverty : f)"),
            optional=True))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Typology"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.PROFILES, self.tr("Cluster profiles"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.CURVE, self.tr("Choice of the number of clusters"), QgsProcessing.TypeVector, optional=True))

    def check_parameters(self, parameters, context):
        """Refuse a range of cluster numbers whose smallest is above its largest."""
        if self.parameterAsInt(parameters, self.K, context):
            return None  # a fixed k: the range is not used
        k_min = self.parameterAsInt(parameters, self.K_MIN, context)
        k_max = self.parameterAsInt(parameters, self.K_MAX, context)
        if k_min > k_max:
            return self.tr("'Smallest number of clusters to try' ({k_min}) is above 'Largest number of "
                           "clusters to try' ({k_max}). Set the smallest at most the largest, or give a "
                           "fixed number of clusters.", k_min=k_min, k_max=k_max)
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Cluster in the engine, profile, write areas, profiles and the k curve."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        fields = self.parameterAsFields(parameters, self.FIELDS, context)
        id_field = self.parameterAsString(parameters, self.ID_FIELD, context) or None
        standardise = self.parameterAsBool(parameters, self.STANDARDISE, context)
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        contiguous = self.parameterAsBool(parameters, self.CONTIGUOUS, context)
        k = self.parameterAsInt(parameters, self.K, context)
        k_min = self.parameterAsInt(parameters, self.K_MIN, context)
        k_max = self.parameterAsInt(parameters, self.K_MAX, context)
        criterion = CRITERIA[self.parameterAsEnum(parameters, self.CRITERION, context)]
        n_boot = self.parameterAsInt(parameters, self.BOOTSTRAP, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        labels = parse_labels(self.parameterAsString(parameters, self.LABELS, context))
        name = source.sourceName() if source else None
        frame = prepare_layer(source_to_gdf(source, name=name), feedback,
                              LayerChecks(projected=self.parameterAsBool(parameters, self.CONTIGUOUS, context)))
        fids = frame.index  # QGIS feature ids: warnings name areas by them (or the id field), never by row
        frame = frame.reset_index(drop=True)
        frame = self.without_missing_codes(frame, parameters, context, feedback, [self.FIELDS],
                                           labels=None if id_field else fids)
        frame.attrs["layer_name"] = name
        areas = frame.set_index(fids)  # the engine names areas by the index: feature ids, not rows
        weights = None
        if contiguous:
            method = "ward"
            weights = build_weights(areas, "queen", id_field=id_field)
        options = TypologyOptions(k=k or None, k_range=(k_min, max(k_min, k_max)), method=method,
                                  criterion=criterion, standardise_fields=standardise, n_boot=n_boot)
        result = cluster_typology(areas, fields, options, weights=weights, seed=seed,
                                  feedback=core_feedback(feedback), id_field=id_field)
        tried = int(result.curve["k"].max()) if not k and result.curve is not None and len(result.curve) else None
        if 0 < n_boot < 10:  # not wrong, but the stability figure is mostly chance
            getattr(feedback, "pushWarning", feedback.pushInfo)(self.tr(
                "Stability from only {n} bootstrap resamples is rough: read 'stability' as a hint, and use "
                "at least 10 resamples (50 is usual) for a figure to report.", n=n_boot))
        if tried is not None and k_max > tried:  # the engine stops at one cluster less than areas
            getattr(feedback, "pushWarning", feedback.pushInfo)(self.tr(
                "'Largest number of clusters to try' ({k_max}) is above what {n} areas allow; numbers of "
                "clusters up to {usable} were tried.", k_max=k_max, n=tried + 1, usable=tried))
        for text in result.diagnostics["warnings"]:
            getattr(feedback, "pushWarning", feedback.pushInfo)(text)
        profile, summary, r2 = cluster_profiles(frame, fields, result.labels, labels=labels)
        names = summary.set_index("cluster")
        out = frame.copy()
        out["cluster"] = result.labels
        out["cluster_name"] = [names["name_" + self._lang()].get(c) if c > 0 else None for c in result.labels]
        out["cluster_name_en"] = [names["name_en"].get(c) if c > 0 else None for c in result.labels]
        out["cluster_name_de"] = [names["name_de"].get(c) if c > 0 else None for c in result.labels]
        out["stability"] = result.stability
        feedback.pushInfo(self.tr("{k} clusters ({method}); median adjusted Rand index over the bootstrap "
                                  "resamples: {ari}.", k=result.k, method=method,
                                  ari="–" if result.diagnostics["ari_median"] is None
                                  else round(result.diagnostics["ari_median"], 2)))
        for c, row in names.iterrows():
            feedback.pushInfo(self.tr("Cluster {c} ({n} areas): {name}", c=c, n=row["n"],
                                      name=row["name_" + self._lang()]))
        raw = [f for f in fields if not str(f).startswith("z_")]
        if raw:  # the planning priorities read cluster 1 as the most burdened type
            feedback.pushInfo(self.tr(
                "Clusters are numbered by the mean of the standardised fields, highest first: cluster 1 is the "
                "most burdened type only if every field grows with the burden ({fields} are not z-scores of the "
                "composite index, where lower-is-better indicators are already turned round).",
                fields=", ".join(f"'{f}'" for f in raw)))
        profile = profile.assign(r2=profile["indicator"].map(r2))
        profile["cluster_name"] = profile["cluster"].map(names["name_" + self._lang()])
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        register_output_style(context, dest_id, "typology_clusters.qml", self.tr("Typology"))
        results = {self.OUTPUT: dest_id}
        results[self.PROFILES] = gdf_to_sink(self, parameters, context, self.PROFILES,
                                             pd.DataFrame(profile).reset_index(drop=True), feedback)
        if parameters.get(self.CURVE) is not None:
            curve = result.curve.copy()
            curve["chosen"] = curve["k"] == result.k
            results[self.CURVE] = gdf_to_sink(self, parameters, context, self.CURVE, curve, feedback)
        return results

    @staticmethod
    def _lang():
        from ...core.i18n import get_language

        return "de" if get_language() == "de" else "en"
