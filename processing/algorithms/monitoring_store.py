"""Processing adapter: load observations and area sets into a monitoring store
(``core.monitoring.store``; kommunalmonitor:monitoringstore).

The store is a GeoPackage (a file destination: an existing store is copied into the run's
staging place, extended there and moved back only when the whole load succeeded, so a refused
load leaves it untouched) or a PostgreSQL/PostGIS database given by a connection string or
the name of a saved QGIS connection (each load is one database transaction).
"""
import os
import shutil

import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterString)

from ...core import validate
from ...core.errors import InputError
from ...core.i18n import tr
from ...core.monitoring.store import MonitoringStore
from ...core.tables.reshape import wide_to_long
from ..base import KommunalmonitorAlgorithm, core_feedback, plain_frame
from ..observations import observation_columns
from ..bridge import source_to_gdf

LAYOUTS = ("long", "wide", "period")


def connection_string(text):
    """A libpq connection string from a DSN, a ``postgresql://`` URI or a saved QGIS connection name."""
    text = (text or "").strip()
    if not text or "=" in text or text.startswith(("postgresql://", "postgres://")):
        return text
    from qgis.core import QgsDataSourceUri, QgsProviderRegistry

    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    names = sorted(metadata.connections().keys()) if metadata is not None else []
    if text not in names:
        raise InputError(tr(
            "'{name}' is neither a PostgreSQL connection string (host=… dbname=… user=…) nor a saved "
            "PostgreSQL connection of QGIS (saved: {names}).", name=text, names=", ".join(names) or "–"))
    uri = QgsDataSourceUri(metadata.findConnection(text).uri())
    # credentials of a stored authentication configuration are expanded for libpq
    return uri.connectionInfo(True)


class MonitoringStoreAlgorithm(KommunalmonitorAlgorithm):
    """Load a table or layer of observations (long or wide) and area sets into a monitoring store."""

    ALGORITHM_ID = "monitoringstore"
    DISPLAY_NAME = "Load into monitoring store"
    GROUP_ID = "monitoring"
    TAGS = ("Monitoring", "Zeitreihe", "time series", "Beobachtungen", "observations", "GeoPackage",
            "PostGIS", "PostgreSQL", "Gebietsstand", "area set", "Indikatoren", "indicators", "Ziele")

    INPUT = "INPUT"
    LAYOUT = "LAYOUT"
    AREA_FIELD = "AREA_FIELD"
    INDICATOR_FIELD = "INDICATOR_FIELD"
    PERIOD_FIELD = "PERIOD_FIELD"
    VALUE_FIELD = "VALUE_FIELD"
    NUMERATOR_FIELD = "NUMERATOR_FIELD"
    DENOMINATOR_FIELD = "DENOMINATOR_FIELD"
    FIELDS = "FIELDS"
    INDICATOR = "INDICATOR"
    PERIOD = "PERIOD"
    AREA_SET = "AREA_SET"
    AREAS = "AREAS"
    AREAS_ID = "AREAS_ID"
    AREAS_NAME = "AREAS_NAME"
    AREAS_PRIORITY = "AREAS_PRIORITY"
    VALID_FROM = "VALID_FROM"
    VALID_TO = "VALID_TO"
    INDICATORS = "INDICATORS"
    GOALS = "GOALS"
    REPLACE = "REPLACE"
    STORE = "STORE"
    DATABASE = "DATABASE"
    DB_SCHEMA = "DB_SCHEMA"
    INSERTED = "INSERTED"
    UNCHANGED = "UNCHANGED"
    STORE_URI = "STORE_URI"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Observations and their layout, the area set, catalogue tables, the store."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Observations (table or layer; empty: load only the area set)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.LAYOUT, self.tr("Layout of the observations"),
            [self.tr("Long: one row per area, indicator and period"),
             self.tr("Wide: one column per period (e.g. EW_2019, EW_2020)"),
             self.tr("One period: each chosen field is an indicator")], defaultValue=0))
        # optional with defaults: QGIS 3.22 refuses a missing field value even when a default exists
        for name, default, label in (
                (self.AREA_FIELD, "area_id", self.tr("Area id field")),
                (self.INDICATOR_FIELD, "indicator", self.tr("Indicator field (long layout)")),
                (self.PERIOD_FIELD, "period", self.tr("Period field (long layout)")),
                (self.VALUE_FIELD, "value", self.tr("Value field (long layout)")),
                (self.NUMERATOR_FIELD, "numerator", self.tr("Numerator field of rates (count; long layout)")),
                (self.DENOMINATOR_FIELD, "denominator",
                 self.tr("Denominator field of rates (base; long layout)"))):
            self.addParameter(QgsProcessingParameterField(
                name, label, defaultValue=default, parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.FIELDS, self.tr("Fields to load (wide and one-period layouts; empty: all numeric fields)"),
            parentLayerParameterName=self.INPUT, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.INDICATOR, self.tr("Indicator name (when the table has no indicator field, or its "
                                    "columns are periods only)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Period of all values (one-period layout, e.g. 2021 or 2021-12-31)"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.AREA_SET, self.tr("Area set (boundary version, e.g. plr_2021)")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AREAS, self.tr("Areas of this area set (polygons; loaded or replaced)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.AREAS_ID, self.tr("Area id field of the areas"), defaultValue="area_id",
            parentLayerParameterName=self.AREAS, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.AREAS_NAME, self.tr("Area name field of the areas"),
            parentLayerParameterName=self.AREAS, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.AREAS_PRIORITY, self.tr("Priority level field of the areas (1 = highest)"),
            parentLayerParameterName=self.AREAS, type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.VALID_FROM, self.tr("Area set valid from period"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.VALID_TO, self.tr("Area set valid to period (empty: still valid)"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INDICATORS, self.tr("Indicator catalogue (table: indicator, label_en, label_de, unit, "
                                     "numerator, denominator, direction, policy_field …)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.GOALS, self.tr("Goals and targets (table: goal_id, parent_id, level, indicator, scope …)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.REPLACE, self.tr("Replace stored values that differ (corrected data; otherwise a differing "
                                  "value is refused and nothing is loaded)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.STORE, self.tr("Monitoring store (GeoPackage; an existing store is extended)"),
            self.tr("GeoPackage (*.gpkg)"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterString(
            self.DATABASE, self.tr("Or: PostgreSQL/PostGIS database (connection string or saved connection "
                                   "name)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.DB_SCHEMA, self.tr("Database schema of the store (PostgreSQL)"), defaultValue="monitoring",
            optional=True))
        self.addOutput(QgsProcessingOutputNumber(self.INSERTED, self.tr("Observations inserted")))
        self.addOutput(QgsProcessingOutputNumber(self.UNCHANGED, self.tr("Observations already stored")))
        self.addOutput(QgsProcessingOutputString(self.STORE_URI, self.tr("Observations layer of the store")))

    def check_parameters(self, parameters, context):
        """Exactly one store; the one-period layout needs its period."""
        database = self.parameterAsString(parameters, self.DATABASE, context).strip()
        has_file = bool(parameters.get(self.STORE))
        if database and has_file:
            return self.tr("Choose either a GeoPackage file or a PostgreSQL database as the monitoring store, "
                           "not both.")
        if not database and not has_file:
            return self.tr("Choose the monitoring store: a GeoPackage file (new or existing) or a "
                           "PostgreSQL database.")
        layout = LAYOUTS[self.parameterAsEnum(parameters, self.LAYOUT, context)]
        if parameters.get(self.INPUT) and layout == "period" and \
                not self.parameterAsString(parameters, self.PERIOD, context).strip():
            return self.tr("The one-period layout needs the period of its values (e.g. 2021 or 2021-12-31).")
        return None

    # ------------------------------------------------------------------ reading
    def _long_observations(self, frame, parameters, context):
        """Long layout: the chosen fields renamed to the store's columns."""
        layer = frame.attrs.get("layer_name", "?")
        roles = ((self.AREA_FIELD, "area_id", False), (self.PERIOD_FIELD, "period", False),
                 (self.INDICATOR_FIELD, "indicator", True), (self.VALUE_FIELD, "value", False),
                 (self.NUMERATOR_FIELD, "numerator", True), (self.DENOMINATOR_FIELD, "denominator", True))
        indicator = self.parameterAsString(parameters, self.INDICATOR, context).strip()
        out = observation_columns(self, parameters, context, frame, roles)
        # the flags of the store travel with the rows (e.g. a table from 'Rebase series onto new areas')
        for flag in ("suppressed", "small_base", "estimated", "rebased_method", "estimated_share"):
            if flag in frame.columns:
                out[flag] = frame[flag].to_numpy()
        if "suppressed" not in frame.columns and "status" in frame.columns:
            # the time series of 'Import statistics table': status 'suppressed' = secret value
            out["suppressed"] = (frame["status"].astype(object) == "suppressed").to_numpy()
        if "indicator" not in out.columns:
            if not indicator:
                raise InputError(self.tr("Table '{layer}' has no indicator field: choose it, or give the "
                                         "indicator name of all its values.", layer=layer))
            out["indicator"] = indicator
        return out.reset_index(drop=True)

    def _wide_observations(self, frame, parameters, context, feedback):
        """Wide layout: one column per period (``EW_2019``) into long rows."""
        layer = frame.attrs.get("layer_name", "?")
        area_field = self.chosen_field(parameters, self.AREA_FIELD, context) or "area_id"
        validate.require_fields(frame, [area_field], layer)
        fields = self.parameterAsFields(parameters, self.FIELDS, context) or \
            [c for c in frame.columns if c != area_field and pd.api.types.is_numeric_dtype(frame[c])]
        values = {f: validate.numeric_field(frame, f, layer).to_numpy() for f in fields}
        table = pd.DataFrame({area_field: frame[area_field].to_numpy(), **values})
        name = self.parameterAsString(parameters, self.INDICATOR, context).strip() or "value"
        long = wide_to_long(table, area_field, indicator_name=name)
        for line in long.summary_lines():
            feedback.pushInfo(line)
        rows = long.frame
        return pd.DataFrame({"area_id": rows["key"].to_numpy(), "indicator": rows["indicator"].to_numpy(),
                             "period": rows["period"].to_numpy(), "value": rows["value"].to_numpy(),
                             "suppressed": (rows["status"] == "suppressed").to_numpy()})

    def _period_observations(self, frame, parameters, context):
        """One-period layout: every chosen field is an indicator of the given period."""
        layer = frame.attrs.get("layer_name", "?")
        area_field = self.chosen_field(parameters, self.AREA_FIELD, context) or "area_id"
        validate.require_fields(frame, [area_field], layer)
        period = self.parameterAsString(parameters, self.PERIOD, context).strip()
        fields = self.parameterAsFields(parameters, self.FIELDS, context) or \
            [c for c in frame.columns if c != area_field and pd.api.types.is_numeric_dtype(frame[c])]
        if not fields:
            raise InputError(self.tr("Layer '{layer}' has no numeric field to load; choose the fields.",
                                     layer=layer))
        parts = [pd.DataFrame({"area_id": frame[area_field].to_numpy(), "indicator": f, "period": period,
                               "value": validate.numeric_field(frame, f, layer).to_numpy()})
                 for f in fields]
        return pd.concat(parts, ignore_index=True)

    # ------------------------------------------------------------------ store
    def _open_store(self, parameters, context, feedback):
        """The store (GeoPackage copied into the staging place, or the database) and its layer URI."""
        database = connection_string(self.parameterAsString(parameters, self.DATABASE, context))
        if database:
            db_schema = self.parameterAsString(parameters, self.DB_SCHEMA, context).strip() or "monitoring"
            store = MonitoringStore.postgis(database, db_schema=db_schema)
            feedback.pushInfo(self.tr("Monitoring store: PostgreSQL database, schema '{schema}'.", schema=db_schema))
            uri = "{} table=\"{}\".\"mon_observations\"".format(database, db_schema)
            return store, uri
        path = self.parameterAsFileOutput(parameters, self.STORE, context)
        if not path.lower().endswith(".gpkg"):
            path += ".gpkg"
        final = self.final_path(path)
        if os.path.abspath(final) != os.path.abspath(path) and os.path.exists(final):
            # extended in the staging place: a refused load leaves the stored file as it was
            shutil.copyfile(final, path)
            feedback.pushInfo(self.tr("Extending the monitoring store {path}.", path=final))
        else:
            feedback.pushInfo(self.tr("Monitoring store: {path}.", path=final))
        return MonitoringStore.geopackage(path), path

    def run_algorithm(self, parameters, context, feedback):
        """Read the inputs, load them in the engine's store, report what was loaded."""
        engine = core_feedback(feedback)
        area_set = self.parameterAsString(parameters, self.AREA_SET, context).strip()
        if not area_set:
            raise InputError(self.tr("Name the area set (the boundary version, e.g. plr_2021)."))
        valid_from = self.parameterAsString(parameters, self.VALID_FROM, context).strip() or None
        valid_to = self.parameterAsString(parameters, self.VALID_TO, context).strip() or None
        observations = None
        if parameters.get(self.INPUT):
            source = self.parameterAsSource(parameters, self.INPUT, context)
            frame = plain_frame(source_to_gdf(source, name=source.sourceName(), feedback=feedback, geometry=False))
            validate.require_not_empty(frame, frame.attrs.get("layer_name"))
            layout = LAYOUTS[self.parameterAsEnum(parameters, self.LAYOUT, context)]
            if layout == "long":
                observations = self._long_observations(frame, parameters, context)
            elif layout == "wide":
                observations = self._wide_observations(frame, parameters, context, feedback)
            else:
                observations = self._period_observations(frame, parameters, context)
        areas = None
        if parameters.get(self.AREAS):
            areas = self.read_source(parameters, self.AREAS, context, feedback=feedback)
        indicators = self.read_table(parameters, self.INDICATORS, context)
        goals = self.read_table(parameters, self.GOALS, context)
        if observations is None and areas is None and indicators is None and goals is None:
            raise InputError(self.tr("Nothing to load: give observations, the areas of the area set, an "
                                     "indicator catalogue or goals."))
        feedback.setProgress(20)
        store, uri = self._open_store(parameters, context, feedback)
        results = {self.INSERTED: 0, self.UNCHANGED: 0}
        with store:
            if areas is not None:
                id_field = self.chosen_field(parameters, self.AREAS_ID, context) or "area_id"
                report = store.load_area_set(
                    areas, area_set, id_field=id_field,
                    name_field=self.chosen_field(parameters, self.AREAS_NAME, context),
                    priority_field=self.chosen_field(parameters, self.AREAS_PRIORITY, context),
                    valid_from=valid_from, valid_to=valid_to)
                feedback.pushInfo(self.tr("Area set '{area_set}': {count} areas loaded ({replaced} replaced).",
                                          area_set=area_set, count=report.inserted, replaced=report.replaced))
            elif observations is not None:
                report = store.register_area_set(area_set, valid_from=valid_from, valid_to=valid_to)
                if report.inserted:
                    feedback.pushWarning(self.tr(
                        "Area set '{area_set}' was new and is registered without areas, so the area ids "
                        "are not checked. Load its areas too (parameter 'Areas of this area set').",
                        area_set=area_set))
            if indicators is not None:
                report = store.load_indicators(indicators)
                feedback.pushInfo(self.tr("Indicator catalogue: {count} indicator(s) loaded.",
                                          count=report.inserted + report.replaced))
            if goals is not None:
                report = store.load_goals(goals)
                feedback.pushInfo(self.tr("Goals: {count} loaded.", count=report.inserted + report.replaced))
            feedback.setProgress(40)
            if observations is not None:
                replace = self.parameterAsBoolean(parameters, self.REPLACE, context)
                try:
                    report = store.load_observations(observations, area_set=area_set,
                                                     feedback=engine.step(0.4, 1.0), replace=replace)
                except InputError as error:
                    if replace or not getattr(error, "conflict", False):
                        raise
                    # the way to load a corrected publication from here
                    raise InputError("{} {}".format(error, self.tr(
                        "To load corrected values, tick 'Replace stored values that differ'."))) from None
                feedback.pushInfo(self.tr(
                    "Observations: {inserted} inserted, {unchanged} already stored with the same value.",
                    inserted=report.inserted, unchanged=report.unchanged))
                if report.replaced:
                    feedback.pushWarning(self.tr(
                        "{count} stored value(s) differed from the new data and were replaced by them.",
                        count=report.replaced))
                if report.new_indicators:
                    feedback.pushWarning(self.tr(
                        "{count} indicator(s) were not in the catalogue and are added with their name as "
                        "label: {names}. Load an indicator catalogue to give labels, units and directions.",
                        count=len(report.new_indicators), names=", ".join(report.new_indicators[:10])))
                results = {self.INSERTED: report.inserted, self.UNCHANGED: report.unchanged}
        if store.backend == "geopackage":
            results[self.STORE] = path_final = self.final_path(uri)
            results[self.STORE_URI] = path_final + "|layername=mon_observations"
        else:
            results[self.STORE_URI] = uri
        return results
