"""Processing adapter: count facilities per area and build supply ratios (``core.overlay.points``)."""
import numpy as np
import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber)

from ...core.errors import InputError
from ...core.overlay.points import PointsOptions, points_to_areas
from ...core.validate import numeric_field
from ..area_parameters import AreaParameters
from ..base import KommunalmonitorAlgorithm, LayerChecks, ProgressSpan, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import graduated_style, register_output_style


def _keys(values):
    """Join keys that survive spreadsheet tools: '01100101', 1100101 and '1100101.0' match."""
    text = pd.Series(values).astype(str).str.strip()
    digits = text.str.fullmatch(r"\d+(\.0+)?")
    return text.where(~digits, text.str.split(".").str[0].str.lstrip("0").replace("", "0")).to_numpy()


class PointsToAreas(MissingValueCodes, AreaParameters, KommunalmonitorAlgorithm):
    """Count facilities and sum their places per area; places per 100 residents of an age group."""

    ALGORITHM_ID = "pointstoareas"
    DISPLAY_NAME = "Count facilities per area (supply ratios)"
    GROUP_ID = "overlay"
    TAGS = ("Einrichtungen", "facilities", "Versorgungsquote", "supply ratio", "Kita", "Schule",
            "Punkte zählen", "count points")

    POINTS = "POINTS"
    CAPACITY_FIELDS = "CAPACITY_FIELDS"
    CATEGORY_FIELD = "CATEGORY_FIELD"
    POPULATION_FIELD = "POPULATION_FIELD"
    POPULATION_TABLE = "POPULATION_TABLE"
    POPULATION_TABLE_ID = "POPULATION_TABLE_ID"
    POPULATION_TABLE_FIELD = "POPULATION_TABLE_FIELD"
    PER = "PER"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Facilities, areas, and where the population for the ratio comes from."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.POINTS, self.tr("Facilities (e.g. kitas, schools)"), [QgsProcessing.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterField(
            self.CAPACITY_FIELDS, self.tr("Capacity fields to sum (e.g. places)"), None, self.POINTS,
            QgsProcessingParameterField.Any, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CATEGORY_FIELD, self.tr("Category field (count per category, e.g. school type)"), None,
            self.POINTS, QgsProcessingParameterField.Any, optional=True))
        self.add_area_parameters()
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Population of the areas for the ratio (e.g. children 0–5)"),
            None, self.AREAS, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.POPULATION_TABLE, self.tr("Or: population from another layer or table (joined by area id)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_TABLE_ID, self.tr("Area id in that table"), None, self.POPULATION_TABLE,
            optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_TABLE_FIELD, self.tr("Population in that table"), None, self.POPULATION_TABLE,
            QgsProcessingParameterField.Any, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.PER, self.tr("Ratio per (100: places per 100 residents)"),
            QgsProcessingParameterNumber.Double, 100.0, minValue=0.000001))
        self.add_small_number_parameters()
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas with facility counts"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Refuse a population field and a population table at once (the table would win silently)."""
        from ..parameter_checks import check_alternatives

        return check_alternatives(self, parameters, self.POPULATION_FIELD, self.POPULATION_TABLE)

    def run_algorithm(self, parameters, context, feedback):
        """Read the layers, count in the engine, write the areas."""
        points_src = self.parameterAsSource(parameters, self.POINTS, context)
        capacity = self.parameterAsFields(parameters, self.CAPACITY_FIELDS, context)
        category = self.parameterAsString(parameters, self.CATEGORY_FIELD, context) or None
        areas_src = self.parameterAsSource(parameters, self.AREAS, context)
        area_id = self.parameterAsString(parameters, self.AREA_ID, context) or None
        pop_field = self.parameterAsString(parameters, self.POPULATION_FIELD, context) or None
        table_src = self.parameterAsSource(parameters, self.POPULATION_TABLE, context)
        table_id = self.parameterAsString(parameters, self.POPULATION_TABLE_ID, context) or None
        table_field = self.parameterAsString(parameters, self.POPULATION_TABLE_FIELD, context) or None
        per = self.parameterAsDouble(parameters, self.PER, context)
        min_base, min_count = self.read_small_number_parameters(parameters, context)

        # one rising bar: reading 0–20 %, the engine 20–90 %, writing 90–100 %
        # every field but the file's own feature id (a GeoPackage's 'fid' differs even between two
        # copies) is read, not only the capacities: two kitas in one building with the same places
        # are two facilities, and only their names or numbers tell them from a real copy
        points = source_to_gdf(points_src, fields=_fields_without_feature_id(self, parameters, context),
                               name=points_src.sourceName() if points_src else None,
                               feedback=ProgressSpan(feedback, 0, 10))
        points = self.without_missing_codes(points, parameters, context, feedback, [self.CAPACITY_FIELDS])
        areas = source_to_gdf(areas_src, name=areas_src.sourceName() if areas_src else None,
                              feedback=ProgressSpan(feedback, 10, 15))
        areas = self.without_missing_codes(areas, parameters, context, feedback, [self.POPULATION_FIELD])
        # the common CRS and geometry treatment: the points follow the areas' CRS, bow ties repaired
        areas = prepare_layer(areas, feedback, LayerChecks(projected=True, id_field=area_id))
        points = prepare_layer(points, feedback, LayerChecks(crs_like=areas))
        population = pop_field
        if table_src is not None:
            if not (area_id and table_id and table_field):
                raise InputError(self.tr("To take the population from another table, choose the area "
                                         "id field, the id field of the table and its population field."))
            table = source_to_gdf(table_src, fields=[table_id, table_field], name=table_src.sourceName(),
                                  feedback=ProgressSpan(feedback, 15, 20))
            table = self.without_missing_codes(
                table, parameters, context, feedback, [self.POPULATION_TABLE_FIELD])
            # read like every count: German text notation (1.234 = 1234), suppression marks, codes
            values = numeric_field(table, table_field, allow_negative=False)
            lookup = pd.Series(values.to_numpy(), index=_keys(table[table_id]))
            lookup = lookup[~lookup.index.duplicated()]
            population = lookup.reindex(_keys(areas[area_id])).to_numpy(dtype="float64")
            missing = int(np.isnan(population).sum())
            if missing:  # a notice, not a failure: ERROR is kept for runs that fail
                examples = ", ".join(str(v) for v in areas[area_id][np.isnan(population)].head(5))
                feedback.pushWarning(self.tr("{count} area(s) have no population in the table (e.g. {examples}); "
                                             "their ratio stays empty.", count=missing, examples=examples))
        output, diagnostics = points_to_areas(points, areas, area_id=area_id, capacity_fields=capacity,
                                              category_field=category, population=population,
                                              options=PointsOptions(per=per, min_base=min_base),
                                              feedback=core_feedback(feedback).step(0.2, 0.9))
        if min_count and "supply_den" in output.columns:
            # the population is the small count; places and facility counts are public
            output = self.suppress_small_numbers(output, ["supply_den"], min_count, feedback,
                                                 derived={"supply": ["supply_den"]})
        feedback.pushInfo(self.tr("{assigned} of {total} facilities assigned to areas; {outside} outside.",
                                  assigned=diagnostics["points_assigned"], total=diagnostics["points"],
                                  outside=diagnostics["points_outside"]))
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, output.reset_index(drop=True),
                              ProgressSpan(feedback, 90, 100))
        feedback.setProgress(100)
        # opens as a map of the supply ratio (dark = few places per resident), else of the counts
        register_output_style(context, dest_id, graduated_style(["supply", "n_points"], high_is_good=True),
                              self.tr("Facilities per area"))
        return {self.OUTPUT: dest_id}


def _fields_without_feature_id(algorithm, parameters, context):
    """The point layer's field names without its primary key (e.g. a GeoPackage's 'fid')."""
    source = algorithm.parameterAsSource(parameters, algorithm.POINTS, context)
    layer = algorithm.parameterAsVectorLayer(parameters, algorithm.POINTS, context)
    key = set(layer.primaryKeyAttributes()) if layer is not None else set()
    names = source.fields().names() if source is not None else []
    key_names = {layer.fields().at(i).name() for i in key} if layer is not None else set()
    return [name for name in names if name not in key_names]
