"""Processing adapter: build planning areas from small units (``core.regions``)."""

import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber)

from ...core.errors import InfeasibleError
from ...core.regions import PlanningAreaBuilder
from ...core.regions.record import dumps
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..base import LayerChecks, prepare_layer
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style


class DelineatePlanningAreas(KommunalmonitorAlgorithm):
    """Contiguous, balanced, homogeneous planning areas that follow barriers and nest."""

    ALGORITHM_ID = "delineateplanningareas"
    DISPLAY_NAME = "Build planning areas from small units"
    GROUP_ID = "delineation"
    TAGS = ("Planungsraum", "planning area", "Gebietszuschnitt", "regionalisation", "districting",
            "Raumgliederung", "max-p")

    INPUT = "INPUT"
    POPULATION_FIELD = "POPULATION_FIELD"
    ATTRIBUTE_FIELDS = "ATTRIBUTE_FIELDS"
    ID_FIELD = "ID_FIELD"
    MODE = "MODE"
    N_AREAS = "N_AREAS"
    TARGET_POPULATION = "TARGET_POPULATION"
    MIN_POPULATION = "MIN_POPULATION"
    MAX_POPULATION = "MAX_POPULATION"
    BARRIERS = "BARRIERS"
    NEST = "NEST"
    NEST_ID_FIELD = "NEST_ID_FIELD"
    EXISTING = "EXISTING"
    EXISTING_ID_FIELD = "EXISTING_ID_FIELD"
    CONTIGUITY = "CONTIGUITY"
    SNAP_TOLERANCE = "SNAP_TOLERANCE"
    MIN_SHARED_LENGTH = "MIN_SHARED_LENGTH"
    ISLAND_RULE = "ISLAND_RULE"
    HOMOGENEITY_WEIGHT = "HOMOGENEITY_WEIGHT"
    COMPACTNESS_WEIGHT = "COMPACTNESS_WEIGHT"
    CHANGE_WEIGHT = "CHANGE_WEIGHT"
    BALANCE_WEIGHT = "BALANCE_WEIGHT"
    OBJECTIVE = "OBJECTIVE"
    N_STARTS = "N_STARTS"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    MEMBERSHIP = "MEMBERSHIP"
    DIAGNOSTICS = "DIAGNOSTICS"
    RECORD = "RECORD"

    MODES = ("number", "target")
    RULES = ("rook", "queen")
    ISLAND_RULES = ("nearest", "alone")
    OBJECTIVES = ("official", "homogeneous", "custom")

    def initAlgorithm(self, config=None):  # noqa: N802
        """Units, population, attributes, count/target, bounds, barriers, nesting, existing areas."""
        number, double = QgsProcessingParameterNumber.Integer, QgsProcessingParameterNumber.Double
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Small units (blocks)"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population field"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, optional=True))  # optional: the dialog must not preselect 'fid'
        self.addParameter(QgsProcessingParameterField(
            self.ATTRIBUTE_FIELDS, self.tr("Fields for homogeneity (standardised)"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Unit id field (for messages and the membership table)"), None,
            self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODE, self.tr("How many areas"),
            [self.tr("Exact number of areas"), self.tr("Target population per area")], defaultValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_AREAS, self.tr("Number of areas"), number, 10, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET_POPULATION, self.tr("Target population per area"), double, 7000, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_POPULATION, self.tr("Minimum population per area (0 = at least 1 resident)"), double, 0,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_POPULATION, self.tr("Maximum population per area (0 = no limit)"), double, 0, minValue=0))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.BARRIERS, self.tr("Barrier lines (main roads, railways, rivers)"),
            QgsProcessing.TypeVectorLine, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.NEST, self.tr("Higher-level areas to nest in (e.g. districts)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.NEST_ID_FIELD, self.tr("Id field of the higher-level areas"), None, self.NEST, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.EXISTING, self.tr("Existing planning areas to stay close to"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.EXISTING_ID_FIELD, self.tr("Id field of the existing planning areas"), None, self.EXISTING,
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.CONTIGUITY, self.tr("Neighbours"),
            [self.tr("Shared boundary (rook)"), self.tr("Any contact, corners too (queen)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SNAP_TOLERANCE, self.tr("Gap still counted as contact, in metres (e.g. 30 for blocks separated by streets)"),
            double, 0.5, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_SHARED_LENGTH, self.tr("Minimum shared boundary in metres (0 = automatic)"), double, 0,
            minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.ISLAND_RULE, self.tr("Islands and exclaves"),
            [self.tr("Attach to the nearest unit"), self.tr("Keep on their own")], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.OBJECTIVE, self.tr("Objective"),
            [self.tr("Like official planning areas (compact, even population)"),
             self.tr("Homogeneous social structure"), self.tr("Custom weights (below)")], defaultValue=2))
        for name, label, default in (
                (self.HOMOGENEITY_WEIGHT, self.tr("Weight: homogeneity"), 1.0),
                (self.COMPACTNESS_WEIGHT, self.tr("Weight: compactness"), 0.5),
                (self.CHANGE_WEIGHT, self.tr("Weight: stay close to existing areas"), 1.0),
                (self.BALANCE_WEIGHT, self.tr("Weight: population close to the target"), 1.0)):
            self.addParameter(QgsProcessingParameterNumber(name, label, double, default, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_STARTS, self.tr("Number of starts (more: better areas and a more thorough search, slower)"),
            number, 1, minValue=1, maxValue=100))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"), number, 0, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Planning areas"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.MEMBERSHIP, self.tr("Units with their area"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.DIAGNOSTICS, self.tr("Diagnostics"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.RECORD, self.tr("Run record (JSON, to reproduce the result)"), self.tr("JSON files (*.json)"),
            optional=True))

    def _layer(self, parameters, name, context, feedback, units=None):
        """A feature source as GeoDataFrame (None when not given), checked like in every algorithm:
        the units projected (degrees → UTM zone), the other layers in the units' CRS (info line)."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            return None
        frame = source_to_gdf(source, name=source.sourceName())
        return prepare_layer(frame, feedback, LayerChecks(projected=units is None, repair=False, crs_like=units))

    def run_algorithm(self, parameters, context, feedback):
        """Read everything, build the areas in the engine, write areas, membership, diagnostics, record."""
        units = self._layer(parameters, self.INPUT, context, feedback)
        population = self.parameterAsString(parameters, self.POPULATION_FIELD, context)
        if not population:
            from ...core.errors import InputError

            raise InputError(self.tr("Choose the population field of the small units (the residents per block)."))
        attributes = self.parameterAsFields(parameters, self.ATTRIBUTE_FIELDS, context)
        id_field = self.parameterAsString(parameters, self.ID_FIELD, context) or None
        mode = self.MODES[self.parameterAsEnum(parameters, self.MODE, context)]
        max_population = self.parameterAsDouble(parameters, self.MAX_POPULATION, context)
        min_population = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        barriers = {}
        for layer in self.parameterAsLayerList(parameters, self.BARRIERS, context) or []:
            frame = source_to_gdf(layer, name=layer.name())
            barriers[layer.name()] = prepare_layer(frame, feedback, LayerChecks(repair=False, crs_like=units))
        nest = self._layer(parameters, self.NEST, context, feedback, units)
        nest_id = self.parameterAsString(parameters, self.NEST_ID_FIELD, context) or None
        existing = self._layer(parameters, self.EXISTING, context, feedback, units)
        existing_id = self.parameterAsString(parameters, self.EXISTING_ID_FIELD, context) or None
        min_shared = self.parameterAsDouble(parameters, self.MIN_SHARED_LENGTH, context)
        builder = PlanningAreaBuilder(
            n_areas=self.parameterAsInt(parameters, self.N_AREAS, context) if mode == "number" else None,
            target_population=self.parameterAsDouble(parameters, self.TARGET_POPULATION, context)
            if mode == "target" else None,
            min_population=min_population if min_population > 0 else None,
            max_population=max_population if max_population > 0 else float("inf"),
            homogeneity_weight=self.parameterAsDouble(parameters, self.HOMOGENEITY_WEIGHT, context),
            compactness_weight=self.parameterAsDouble(parameters, self.COMPACTNESS_WEIGHT, context),
            change_weight=self.parameterAsDouble(parameters, self.CHANGE_WEIGHT, context) if existing is not None else 0.0,
            balance_weight=self.parameterAsDouble(parameters, self.BALANCE_WEIGHT, context),
            contiguity=self.RULES[self.parameterAsEnum(parameters, self.CONTIGUITY, context)],
            snap_tolerance=self.parameterAsDouble(parameters, self.SNAP_TOLERANCE, context),
            min_shared_length=min_shared if min_shared > 0 else None,
            island_rule=self.ISLAND_RULES[self.parameterAsEnum(parameters, self.ISLAND_RULE, context)],
            objective=self.OBJECTIVES[self.parameterAsEnum(parameters, self.OBJECTIVE, context)],
            n_starts=self.parameterAsInt(parameters, self.N_STARTS, context),
            random_state=self.parameterAsInt(parameters, self.SEED, context))
        try:
            builder.fit(units, population, attributes, barriers=barriers or None, nest=nest,
                        nest_id_field=nest_id, existing=existing, existing_id_field=existing_id,
                        id_field=id_field, feedback=core_feedback(feedback))
        except InfeasibleError as error:
            for problem in error.details.get("problems", [])[:20]:
                feedback.reportError(problem.message, False)
            raise
        d = builder.diagnostics_
        feedback.pushInfo(self.tr(
            "{areas} planning areas built; population {low} to {high}; homogeneity BSS/TSS {bss}; "
            "{violations} constraint violation(s).", areas=d["n_areas"], low=round(d["population_min"]),
            high=round(d["population_max"]),
            bss="–" if d["bss_tss"] is None else f"{d['bss_tss']:.3f}", violations=d["violations"]))
        results = {}
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, builder.areas_, feedback)
        register_output_style(context, dest, "regions_areas.qml", self.tr("Planning areas"))
        results[self.OUTPUT] = dest
        keep = [c for c in units.columns if c not in ("fid", "area_id")]
        members = units[keep].reset_index(drop=True).copy()
        members["area_id"] = builder.labels_
        dest = gdf_to_sink(self, parameters, context, self.MEMBERSHIP, members, feedback)
        register_output_style(context, dest, "regions_membership.qml", self.tr("Units with their area"))
        results[self.MEMBERSHIP] = dest
        results[self.DIAGNOSTICS] = gdf_to_sink(self, parameters, context, self.DIAGNOSTICS,
                                                pd.DataFrame(builder.table_), feedback)
        record_path = self.parameterAsFileOutput(parameters, self.RECORD, context)
        if record_path:
            with open(record_path, "w", encoding="utf-8") as fh:
                fh.write(dumps(builder.record_))
            results[self.RECORD] = record_path
        feedback.pushInfo(self.tr("Boundaries kept: {barriers} unit pair(s) separated by a barrier, {nesting} by "
                                  "a higher-level boundary; {islands} island(s) linked to their nearest unit.",
                                  barriers=d["n_barrier_cuts"], nesting=d["n_nesting_cuts"],
                                  islands=d["n_island_links"]))
        return results
