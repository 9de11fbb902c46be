"""Processing adapter: distance to the nearest facility and 2SFCA supply per area."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber)

from ...core.overlay.accessibility import DECAYS, AccessibilityOptions, accessibility
from ..area_parameters import AreaParameters
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import graduated_style, register_output_style

# per-area values computed from the area's residents (population-weighted)
PER_RESIDENT = ("dist_mean", "dist_max", "share_beyond", "access")
DECAY_LABELS = ("none (all facilities in reach count fully)", "linear", "Gaussian")


class Accessibility(MissingValueCodes, AreaParameters, KommunalmonitorAlgorithm):
    """How far residents live from the nearest facility, and the 2SFCA places per resident."""

    ALGORITHM_ID = "accessibility"
    DISPLAY_NAME = "Accessibility of facilities (distance, 2SFCA)"
    GROUP_ID = "overlay"
    TAGS = ("Erreichbarkeit", "accessibility", "2SFCA", "Versorgung", "supply", "Kita", "Schule",
            "Entfernung", "distance", "Planungsraum")

    RESIDENCES = "RESIDENCES"
    POPULATION_FIELD = "POPULATION_FIELD"
    FACILITIES = "FACILITIES"
    CAPACITY_FIELD = "CAPACITY_FIELD"
    THRESHOLD = "THRESHOLD"
    CATCHMENT = "CATCHMENT"
    DECAY = "DECAY"
    PER = "PER"
    OUTPUT = "OUTPUT"
    OUTPUT_RESIDENCES = "OUTPUT_RESIDENCES"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Residences with population, facilities with capacity, areas, distances."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.RESIDENCES, self.tr("Where people live (grid cells, blocks, addresses)"),
            [QgsProcessing.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population (e.g. children 0–5)"), None, self.RESIDENCES,
            QgsProcessingParameterField.Any, optional=True))  # optional: the dialog must not preselect 'fid'
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.FACILITIES, self.tr("Facilities of one type"), [QgsProcessing.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterField(
            self.CAPACITY_FIELD, self.tr("Capacity (e.g. places; empty: each facility counts 1)"), None,
            self.FACILITIES, QgsProcessingParameterField.Any, optional=True))
        self.add_area_parameters()
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Distance for 'share of residents beyond' (m)"),
            QgsProcessingParameterNumber.Double, 500.0, minValue=0.001))
        self.addParameter(QgsProcessingParameterNumber(
            self.CATCHMENT, self.tr("2SFCA catchment radius (m; 0: no 2SFCA)"),
            QgsProcessingParameterNumber.Double, 1000.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterEnum(
            self.DECAY, self.tr("Distance decay inside the catchment"),
            [self.tr(label) for label in DECAY_LABELS], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.PER, self.tr("2SFCA per (100: places per 100 residents)"),
            QgsProcessingParameterNumber.Double, 100.0, minValue=0.000001))
        self.add_small_number_parameters()
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas with accessibility"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_RESIDENCES, self.tr("Residences with distance and 2SFCA"),
            QgsProcessing.TypeVectorAnyGeometry, optional=True, createByDefault=False))

    def check_parameters(self, parameters, context):
        """A distance decay needs the 2SFCA catchment it applies to."""
        decay = self.parameterAsEnum(parameters, self.DECAY, context)
        catchment = self.parameterAsDouble(parameters, self.CATCHMENT, context)
        if decay and not catchment:
            return self.tr("'Distance decay inside the catchment' is set, but the 2SFCA catchment radius is 0 "
                           "(no 2SFCA), so the decay would be ignored. Give a catchment radius or choose no "
                           "decay.")
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the layers, compute in the engine, write areas (and residences)."""
        res_src = self.parameterAsSource(parameters, self.RESIDENCES, context)
        pop_field = self.parameterAsString(parameters, self.POPULATION_FIELD, context)
        if not pop_field:
            from ...core.errors import InputError

            raise InputError(self.tr("Choose the population field of the residences layer (e.g. residents or "
                                     "children 0–5)."))
        fac_src = self.parameterAsSource(parameters, self.FACILITIES, context)
        cap_field = self.parameterAsString(parameters, self.CAPACITY_FIELD, context) or None
        areas_src = self.parameterAsSource(parameters, self.AREAS, context)
        area_id = self.parameterAsString(parameters, self.AREA_ID, context) or None
        threshold = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        catchment = self.parameterAsDouble(parameters, self.CATCHMENT, context) or None
        decay = DECAYS[self.parameterAsEnum(parameters, self.DECAY, context)]
        per = self.parameterAsDouble(parameters, self.PER, context)
        min_base, min_count = self.read_small_number_parameters(parameters, context)

        residences = source_to_gdf(res_src, fields=[pop_field], name=res_src.sourceName() if res_src else None)
        residences = self.without_missing_codes(
            residences, parameters, context, feedback, [self.POPULATION_FIELD])
        facilities = source_to_gdf(fac_src, fields=[cap_field] if cap_field else [],
                                   name=fac_src.sourceName() if fac_src else None)
        facilities = self.without_missing_codes(
            facilities, parameters, context, feedback, [self.CAPACITY_FIELD])
        areas = source_to_gdf(areas_src, name=areas_src.sourceName() if areas_src else None)
        # the common CRS and geometry treatment: residences and facilities follow the areas' CRS
        areas = prepare_layer(areas, feedback, LayerChecks(projected=True, id_field=area_id))
        residences = prepare_layer(residences, feedback, LayerChecks(crs_like=areas))
        facilities = prepare_layer(facilities, feedback, LayerChecks(crs_like=areas))
        options = AccessibilityOptions(threshold=threshold, catchment=catchment, decay=decay, per=per,
                                       min_base=min_base, reproject=True)
        res, per_area, diagnostics = accessibility(
            residences, facilities, pop_field, areas=areas, area_id=area_id, capacity_field=cap_field,
            options=options, feedback=core_feedback(feedback))
        if min_count:
            per_area = self.suppress_small_numbers(
                per_area, ["population", "population_beyond"], min_count, feedback,
                derived={column: ["population"] + (["population_beyond"] if column == "share_beyond" else [])
                         for column in PER_RESIDENT})
            res = self.suppress_small_numbers(res, ["population"], min_count, feedback, report=False)
        feedback.pushInfo(self.tr("{residents} residents in {cells} places; {facilities} facilities.",
                                  residents=round(diagnostics["population"]), cells=diagnostics["residences"],
                                  facilities=diagnostics["facilities"]))
        results = {self.OUTPUT: gdf_to_sink(self, parameters, context, self.OUTPUT,
                                            per_area.reset_index(drop=True), feedback)}
        # darker = farther: the mean distance, else the share beyond the limit
        register_output_style(context, results[self.OUTPUT], graduated_style(["dist_mean", "share_beyond"]),
                              self.tr("Accessibility per area"))
        if self.parameterAsOutputLayer(parameters, self.OUTPUT_RESIDENCES, context):
            results[self.OUTPUT_RESIDENCES] = gdf_to_sink(
                self, parameters, context, self.OUTPUT_RESIDENCES,
                res.drop(columns=["nearest"]).reset_index(drop=True), feedback)
        return results
