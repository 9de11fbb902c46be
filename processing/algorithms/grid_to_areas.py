"""Processing adapter: Zensus grid (table of cell centres or grid polygons) onto planning areas."""
from qgis.core import (QgsCoordinateReferenceSystem, QgsProcessing, QgsProcessingParameterCrs,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.overlay.grid import GridOptions, grid_to_areas
from ...core.overlay.privacy import RateSpec
from ..area_parameters import AreaParameters
from ..base import KommunalmonitorAlgorithm, LayerChecks, core_feedback, prepare_layer
from ..value_parameters import MissingValueCodes
from ..bridge import crs_to_pyproj, gdf_to_sink, source_to_gdf
from ..styling import graduated_style, register_output_style


class GridToAreas(MissingValueCodes, AreaParameters, KommunalmonitorAlgorithm):
    """Sum Zensus grid cells per planning area; boundary cells split exactly, secret cells reported."""

    ALGORITHM_ID = "gridtoareas"
    DISPLAY_NAME = "Zensus grid to areas"
    GROUP_ID = "overlay"
    TAGS = ("Zensus", "census", "Gitter", "grid", "100 m", "Planungsraum", "planning area")

    GRID = "GRID"
    FIELDS = "FIELDS"
    X_FIELD = "X_FIELD"
    Y_FIELD = "Y_FIELD"
    CELL_SIZE = "CELL_SIZE"
    GRID_CRS = "GRID_CRS"
    SECRET_VALUES = "SECRET_VALUES"
    ANCILLARY = "ANCILLARY"
    ANCILLARY_FIELD = "ANCILLARY_FIELD"
    RATE_NUMERATOR = "RATE_NUMERATOR"
    RATE_DENOMINATOR = "RATE_DENOMINATOR"
    RATE_NAME = "RATE_NAME"
    BASE_FIELD = "BASE_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Grid table or layer, count fields, grid geometry, areas, small-number options."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.GRID, self.tr("Zensus grid (table with x_mp/y_mp, cell centres or grid polygons)"),
            [QgsProcessing.TypeVector]))
        self.addParameter(QgsProcessingParameterField(
            self.FIELDS, self.tr("Count fields (e.g. einwohner, alter_unter10)"), None, self.GRID,
            QgsProcessingParameterField.Any, allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.X_FIELD, self.tr("x of the cell centre (empty: detect x_mp_100m / x_mp_1km)"), None,
            self.GRID, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.Y_FIELD, self.tr("y of the cell centre (empty: detect)"), None, self.GRID,
            QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.CELL_SIZE, self.tr("Cell size in metres (0: detect)"),
            QgsProcessingParameterNumber.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterCrs(
            self.GRID_CRS, self.tr("CRS of the cell-centre coordinates (tables only)"), "EPSG:3035",
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.SECRET_VALUES, self.tr("Values meaning 'secret / suppressed' (comma-separated; empty cells always)"),
            "-1, –, -, ., x, /", optional=True))
        self.add_area_parameters()
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.ANCILLARY, self.tr("Split boundary cells by where people live (e.g. residential blocks)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.ANCILLARY_FIELD, self.tr("Weight of the dasymetric layer (e.g. dwellings; empty: area)"),
            None, self.ANCILLARY, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.RATE_NUMERATOR, self.tr("Rate: numerator count (e.g. children in poverty)"), None,
            self.GRID, QgsProcessingParameterField.Any, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.RATE_DENOMINATOR, self.tr("Rate: denominator count (e.g. all children)"), None,
            self.GRID, QgsProcessingParameterField.Any, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.RATE_NAME, self.tr("Rate: name of the new field"), "rate", optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.BASE_FIELD, self.tr("Population count for the small-base flag"), None, self.GRID,
            QgsProcessingParameterField.Any, optional=True))
        self.add_small_number_parameters()
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Areas with grid sums"), QgsProcessing.TypeVectorPolygon))

    def check_parameters(self, parameters, context):
        """Refuse a half rate and a weight field that is 0 or empty everywhere."""
        from ..parameter_checks import check_pair, check_weight_fields

        message = check_pair(self, parameters, self.RATE_NUMERATOR, self.RATE_DENOMINATOR)
        if message:
            return message
        return check_weight_fields(self, parameters, context, [(self.ANCILLARY, self.ANCILLARY_FIELD)])

    def run_algorithm(self, parameters, context, feedback):
        """Read grid and areas, sum in the engine, write the areas."""
        grid_src = self.parameterAsSource(parameters, self.GRID, context)
        fields = self.parameterAsFields(parameters, self.FIELDS, context)
        x_field = self.parameterAsString(parameters, self.X_FIELD, context) or None
        y_field = self.parameterAsString(parameters, self.Y_FIELD, context) or None
        cell_size = self.parameterAsDouble(parameters, self.CELL_SIZE, context) or None
        grid_crs = self.parameterAsCrs(parameters, self.GRID_CRS, context)
        secret_text = self.parameterAsString(parameters, self.SECRET_VALUES, context) or ""
        areas_src = self.parameterAsSource(parameters, self.AREAS, context)
        area_id = self.parameterAsString(parameters, self.AREA_ID, context) or None
        ancillary_src = self.parameterAsSource(parameters, self.ANCILLARY, context)
        ancillary_field = self.parameterAsString(parameters, self.ANCILLARY_FIELD, context) or None
        numerator = self.parameterAsString(parameters, self.RATE_NUMERATOR, context) or None
        denominator = self.parameterAsString(parameters, self.RATE_DENOMINATOR, context) or None
        rate_name = self.parameterAsString(parameters, self.RATE_NAME, context) or "rate"
        base_field = self.parameterAsString(parameters, self.BASE_FIELD, context) or None
        min_base, min_count = self.read_small_number_parameters(parameters, context)

        secret = tuple(v.strip() for v in secret_text.split(",")) + ("",)
        rates = [RateSpec(rate_name, numerator, denominator, min_base=min_base)] \
            if numerator and denominator else []
        fields = list(fields) + ([base_field] if base_field and base_field not in fields else [])
        names = None
        if grid_src is not None:
            names = [f.name() for f in grid_src.fields()]
        wanted = list(dict.fromkeys(fields + [f for f in (x_field, y_field, numerator, denominator) if f]
                                    + [n for n in (names or []) if n.lower().startswith(("x_mp", "y_mp"))]))
        grid = source_to_gdf(grid_src, fields=wanted, name=grid_src.sourceName() if grid_src else None)
        grid = self.without_missing_codes(
            grid, parameters, context, feedback, [self.FIELDS, self.RATE_NUMERATOR, self.RATE_DENOMINATOR])
        areas = source_to_gdf(areas_src, name=areas_src.sourceName() if areas_src else None)
        # the common CRS and geometry treatment (the engine itself overlays in the grid's CRS)
        areas = prepare_layer(areas, feedback, LayerChecks(projected=True, id_field=area_id))
        grid = prepare_layer(grid, feedback, LayerChecks(repair=False))
        ancillary = None
        if ancillary_src is not None:
            ancillary = source_to_gdf(ancillary_src, fields=[ancillary_field] if ancillary_field else [],
                                      name=ancillary_src.sourceName())
            ancillary = self.without_missing_codes(
                ancillary, parameters, context, feedback, [self.ANCILLARY_FIELD])
        has_geometry = not (grid.geometry.isna() | grid.geometry.is_empty).all()
        crs = grid.crs if has_geometry and not x_field else crs_to_pyproj(
            grid_crs if grid_crs.isValid() else QgsCoordinateReferenceSystem("EPSG:3035"))
        options = GridOptions(x=x_field, y=y_field, cell_size=cell_size, crs=crs, secret_values=secret,
                              base_field=base_field, min_base=min_base, ancillary_field=ancillary_field)
        output, diagnostics = grid_to_areas(grid, areas, fields, options, rates=rates, target_id=area_id,
                                            ancillary=ancillary, feedback=core_feedback(feedback))
        if min_count:
            output = self.suppress_small_numbers(output, fields, min_count, feedback,
                                                 rates=[r.name for r in rates])
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, output.reset_index(drop=True),
                              feedback)
        register_output_style(context, dest_id, graduated_style([r.name for r in rates] + list(fields)),
                              self.tr("Zensus values per area"))
        return {self.OUTPUT: dest_id}
