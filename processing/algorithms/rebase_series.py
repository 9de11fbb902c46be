"""Processing adapter: move a series onto another area set after a boundary change
(Rückrechnung; ``core.monitoring.rebase``; kommunalmonitor:rebaseseries)."""
import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core import validate
from ...core.errors import InputError
from ...core.monitoring.rebase import (CrosswalkOptions, build_crosswalk, crosswalk_from_table,
                                       rebase_observations)
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import gdf_to_sink
from ..observations import observation_columns

METHODS = ("blocks", "crosswalk", "area")


class RebaseSeriesAlgorithm(KommunalmonitorAlgorithm):
    """Counts and rates of old areas onto new areas through blocks, a crosswalk or area weights."""

    ALGORITHM_ID = "rebaseseries"
    DISPLAY_NAME = "Rebase series onto new areas (boundary change)"
    GROUP_ID = "monitoring"
    TAGS = ("Rückrechnung", "Gebietsreform", "boundary change", "Zeitreihe", "time series", "crosswalk",
            "Umschlüsselung", "Zuordnungstabelle", "Blöcke", "blocks", "LOR", "Planungsraum")

    OBSERVATIONS = "OBSERVATIONS"
    AREA_FIELD = "AREA_FIELD"
    INDICATOR_FIELD = "INDICATOR_FIELD"
    PERIOD_FIELD = "PERIOD_FIELD"
    VALUE_FIELD = "VALUE_FIELD"
    NUMERATOR_FIELD = "NUMERATOR_FIELD"
    DENOMINATOR_FIELD = "DENOMINATOR_FIELD"
    FROM_SET = "FROM_SET"
    TO_SET = "TO_SET"
    METHOD = "METHOD"
    OLD_AREAS = "OLD_AREAS"
    OLD_ID = "OLD_ID"
    NEW_AREAS = "NEW_AREAS"
    NEW_ID = "NEW_ID"
    UNITS = "UNITS"
    UNITS_WEIGHT = "UNITS_WEIGHT"
    CROSSWALK = "CROSSWALK"
    CROSSWALK_OLD_ID = "CROSSWALK_OLD_ID"
    CROSSWALK_NEW_ID = "CROSSWALK_NEW_ID"
    CROSSWALK_SHARE = "CROSSWALK_SHARE"
    INDICATORS = "INDICATORS"
    TOLERANCE = "TOLERANCE"
    OUTPUT = "OUTPUT"
    CROSSWALK_OUTPUT = "CROSSWALK_OUTPUT"
    AREAS_OUTPUT = "AREAS_OUTPUT"
    CHANGED = "CHANGED"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Observations, the two area sets, the way across, outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.OBSERVATIONS, self.tr("Observations on the old areas (long: area, indicator, period, value, "
                                       "counts)"), [QgsProcessing.TypeVector]))
        # optional with defaults: QGIS 3.22 refuses a missing field value even when a default exists
        for name, default, label in (
                (self.AREA_FIELD, "area_id", self.tr("Area id field")),
                (self.INDICATOR_FIELD, "indicator", self.tr("Indicator field")),
                (self.PERIOD_FIELD, "period", self.tr("Period field")),
                (self.VALUE_FIELD, "value", self.tr("Value field")),
                (self.NUMERATOR_FIELD, "numerator", self.tr("Numerator field of rates (count)")),
                (self.DENOMINATOR_FIELD, "denominator", self.tr("Denominator field of rates (base)"))):
            self.addParameter(QgsProcessingParameterField(
                name, label, defaultValue=default, parentLayerParameterName=self.OBSERVATIONS, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.FROM_SET, self.tr("Only rows of this area set (field area_set; empty: all rows)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.TO_SET, self.tr("Name of the new area set"), defaultValue="new"))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Way across the boundary change"),
            [self.tr("Small units (blocks, grid cells) with a weight (recommended)"),
             self.tr("Crosswalk table (old id, new id, share)"),
             self.tr("Area weights (last resort)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.OLD_AREAS, self.tr("Old areas (polygons)"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.OLD_ID, self.tr("Area id field of the old areas"), defaultValue="area_id",
            parentLayerParameterName=self.OLD_AREAS, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.NEW_AREAS, self.tr("New areas (polygons)"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.NEW_ID, self.tr("Area id field of the new areas"), defaultValue="area_id",
            parentLayerParameterName=self.NEW_AREAS, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.UNITS, self.tr("Small units (blocks or grid cells; polygons or points)"),
            [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.UNITS_WEIGHT, self.tr("Weight of the small units (e.g. residents; empty: their area)"),
            parentLayerParameterName=self.UNITS, type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.CROSSWALK, self.tr("Crosswalk table (old id, new id, share)"), [QgsProcessing.TypeVector],
            optional=True))
        for name, default, label in (
                (self.CROSSWALK_OLD_ID, "old_id", self.tr("Old id field of the crosswalk")),
                (self.CROSSWALK_NEW_ID, "new_id", self.tr("New id field of the crosswalk")),
                (self.CROSSWALK_SHARE, "share", self.tr("Share field of the crosswalk (of the old area's count)"))):
            self.addParameter(QgsProcessingParameterField(
                name, label, defaultValue=default, parentLayerParameterName=self.CROSSWALK, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INDICATORS, self.tr("Indicator catalogue (optional: scale and minimum base of rates)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.TOLERANCE, self.tr("Unchanged area: largest difference between old and new boundary (share "
                                    "of the area)"), QgsProcessingParameterNumber.Double, defaultValue=0.005,
            minValue=0.0, maxValue=0.2))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Rebased observations (long)"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.CROSSWALK_OUTPUT, self.tr("Crosswalk used"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.AREAS_OUTPUT, self.tr("New areas with boundary-change flag"), QgsProcessing.TypeVectorPolygon,
            optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.CHANGED, self.tr("New areas whose boundary changed")))

    def check_parameters(self, parameters, context):
        """The chosen way needs its inputs."""
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        if method == "crosswalk" and not parameters.get(self.CROSSWALK):
            return self.tr("The crosswalk method needs the crosswalk table (old id, new id, share).")
        if method != "crosswalk" and not (parameters.get(self.OLD_AREAS) and parameters.get(self.NEW_AREAS)):
            return self.tr("Small units and area weights need both the old and the new areas (polygons).")
        if method == "blocks" and not parameters.get(self.UNITS):
            return self.tr("The small-units method needs the small units (blocks or grid cells) with a weight "
                           "such as residents; or choose area weights.")
        return None

    def _observations(self, parameters, context, feedback):
        """The observations in the store's long columns (one area set)."""
        frame = self.read_table(parameters, self.OBSERVATIONS, context, feedback)
        layer = frame.attrs.get("layer_name", "?")
        validate.require_not_empty(frame, layer)
        from_set = self.parameterAsString(parameters, self.FROM_SET, context).strip()
        if from_set:
            if "area_set" not in frame.columns:
                raise InputError(self.tr("Table '{layer}' has no field 'area_set' to select the area set "
                                         "'{area_set}' by; leave 'Only rows of this area set' empty.",
                                         layer=layer, area_set=from_set))
            keep = frame["area_set"].astype(str) == from_set
            if not keep.any():
                raise InputError(self.tr("Table '{layer}' has no rows of area set '{area_set}' (area sets: "
                                         "{sets}).", layer=layer, area_set=from_set,
                                         sets=", ".join(sorted(frame["area_set"].dropna().astype(str).unique()))))
            frame = frame[keep.to_numpy()]
        roles = ((self.AREA_FIELD, "area_id", False), (self.INDICATOR_FIELD, "indicator", False),
                 (self.PERIOD_FIELD, "period", False), (self.VALUE_FIELD, "value", False),
                 (self.NUMERATOR_FIELD, "numerator", True), (self.DENOMINATOR_FIELD, "denominator", True))
        out = observation_columns(self, parameters, context, frame, roles)
        return out.reset_index(drop=True)

    def _crosswalk(self, parameters, context, feedback, method):
        """The crosswalk: built from the areas (blocks or area weights) or read from the table."""
        if method == "crosswalk":
            table = self.read_table(parameters, self.CROSSWALK, context)
            cols = [self.chosen_field(parameters, n, context) or d for n, d in
                    ((self.CROSSWALK_OLD_ID, "old_id"), (self.CROSSWALK_NEW_ID, "new_id"),
                     (self.CROSSWALK_SHARE, "share"))]
            return crosswalk_from_table(table, *cols), None
        old = self.read_source(parameters, self.OLD_AREAS, context, feedback=feedback, projected=True)
        new = self.read_source(parameters, self.NEW_AREAS, context, feedback=feedback, crs_like=old)
        old_id = self.chosen_field(parameters, self.OLD_ID, context) or "area_id"
        new_id = self.chosen_field(parameters, self.NEW_ID, context) or "area_id"
        options = CrosswalkOptions(method=method, unchanged_tolerance=self.parameterAsDouble(
            parameters, self.TOLERANCE, context))
        if method == "blocks":
            units = self.read_source(parameters, self.UNITS, context, feedback=feedback, crs_like=old)
            options.units = units
            options.weight_field = self.chosen_field(parameters, self.UNITS_WEIGHT, context)
        cw = build_crosswalk(old, new, old_id, new_id, options, core_feedback(feedback).step(0.1, 0.7))
        return cw, (new, new_id)

    def run_algorithm(self, parameters, context, feedback):
        """Read, build or read the crosswalk, move the observations, write the three outputs."""
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        to_set = self.parameterAsString(parameters, self.TO_SET, context).strip() or "new"
        obs = self._observations(parameters, context, feedback)
        catalogue = self.read_table(parameters, self.INDICATORS, context)
        crosswalk, new = self._crosswalk(parameters, context, feedback, method)
        slivers = crosswalk.attrs.get("slivers_ignored", 0)
        if slivers:
            feedback.pushInfo(self.tr(
                "{count} digitising sliver(s) between the two boundary versions (pieces below the tolerance of "
                "both areas and on average thinner than 1 m) were ignored: they are no correspondence.",
                count=slivers))
        result = rebase_observations(obs, crosswalk, to_set, catalogue=catalogue,
                                     feedback=core_feedback(feedback).step(0.7, 0.9))
        areas = result.areas
        changed = int(areas["boundary_changed"].sum())
        feedback.pushInfo(self.tr(
            "{rows} values moved onto {n_new} new areas ({method}); {unchanged} areas are unchanged and exact, "
            "{changed} changed.", rows=len(result.observations), n_new=len(areas), method=method,
            unchanged=len(areas) - changed, changed=changed))
        estimated = result.observations["estimated"].to_numpy(dtype=bool)
        if estimated.any():
            share = result.observations.loc[estimated, "estimated_share"]
            feedback.pushInfo(self.tr(
                "{count} values are partly estimated (median estimated share {share:.0%}); see the fields "
                "'estimated' and 'estimated_share'.", count=int(estimated.sum()), share=float(share.median())))
        left_out = result.diagnostics.get("left_out") or {}
        if left_out:
            feedback.pushWarning(self.tr(
                "{count} indicator(s) were not moved because they are rates, shares or averages given without "
                "their counts (a sum of percentages is no percentage): {indicators}. To move them, give "
                "numerator and denominator per row, or name their two count indicators in the indicator "
                "catalogue (columns numerator, denominator); an indicator that is a count is declared with "
                "the catalogue's unit (e.g. 'persons').", count=len(left_out),
                indicators="; ".join(f"{name} ({why})" for name, why in left_out.items())))
        for name in result.diagnostics.get("derived") or []:
            feedback.pushInfo(self.tr("'{indicator}' was recomputed on the new areas from its moved counts, as "
                                      "the indicator catalogue names them.", indicator=name))
        fallback = areas["method"].astype(str).eq("area") & (method == "blocks")
        if fallback.any():
            feedback.pushWarning(self.tr(
                "{count} new area(s) got values from old areas without any small-unit weight and were moved "
                "by area weights (field 'rebased_method' = 'area'): {ids}.", count=int(fallback.sum()),
                ids=", ".join(areas.loc[fallback, "area_id"].astype(str).head(10))))
        cw = crosswalk.copy()
        cw.insert(0, "to_set", to_set)
        for column in ("unchanged", "exact"):
            if column in cw.columns:
                cw[column] = cw[column].astype(bool)
        results = {
            self.OUTPUT: gdf_to_sink(self, parameters, context, self.OUTPUT,
                                     result.observations.reset_index(drop=True), feedback),
            self.CROSSWALK_OUTPUT: gdf_to_sink(self, parameters, context, self.CROSSWALK_OUTPUT,
                                               cw.reset_index(drop=True), feedback),
            self.CHANGED: changed}
        if new is not None and parameters.get(self.AREAS_OUTPUT):
            frame, new_id = new
            keyed = areas.set_index("area_id")
            from ...core.monitoring.store import _id_text

            ids = _id_text(frame[new_id]).to_numpy()
            out = frame.copy()
            for column in ("boundary_changed", "sources", "method"):
                values = keyed[column].reindex(ids).to_numpy()
                out["rebase_" + column if column == "method" else column] = values
            out["boundary_changed"] = pd.Series(out["boundary_changed"]).fillna(True).astype(bool).to_numpy()
            results[self.AREAS_OUTPUT] = gdf_to_sink(self, parameters, context, self.AREAS_OUTPUT,
                                                     out.reset_index(drop=True), feedback)
        return results
