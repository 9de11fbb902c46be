"""Processing adapter: status of targets per area (kommunalmonitor:targetstatus)."""
import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.i18n import get_language
from ...core.monitoring.change import ChangeOptions
from ...core.monitoring.goals import (STATUS_NAMES, STATUS_NAMES_DE, GoalOptions, target_status,
                                      write_target_table)
from ...core.monitoring.series import AREA, INDICATOR, counts_from_indicators, has_counts
from ..base import KommunalmonitorAlgorithm, ProgressSpan, core_feedback
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style
from .series_change import (AREA_SET_PARAM, add_observation_parameters, categorized_style, read_areas,
                            read_observations)

STATUS_COLOURS = {1: "#1a9850", 2: "#91cf60", 3: "#fee08b", 4: "#fc8d59", 5: "#d73027"}


class TargetStatusAlgorithm(KommunalmonitorAlgorithm):
    """Per target and area: achieved, on track, moderate progress, off track or deteriorating."""

    ALGORITHM_ID = "targetstatus"
    DISPLAY_NAME = "Status of targets per area"
    GROUP_ID = "monitoring"
    TAGS = ("Ziel", "target", "Zielerreichung", "Monitoring", "Zeitreihe", "time series")

    GOALS = "GOALS"
    INDICATORS = "INDICATORS"
    TARGET = "TARGET"
    PRIORITY_FIELD = "PRIORITY_FIELD"
    AS_OF = "AS_OF"
    METHOD = "METHOD"
    AREA_TARGETS = "AREA_TARGETS"
    ALPHA = "ALPHA"
    OUTPUT = "OUTPUT"
    TABLE = "TABLE"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        add_observation_parameters(self)
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.GOALS, self.tr("Goals and targets (table: goal_id, indicator, scope, baseline_period, "
                                "target_value, target_period, direction …)"), [QgsProcessing.TypeVector]))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INDICATORS, self.tr("Indicator catalogue (optional: indicator, numerator, denominator — the count "
                                     "indicators behind a rate, e.g. a monitoring store's mon_indicators)"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.TARGET, self.tr("Only this target (goal_id; empty = all targets)"), optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.PRIORITY_FIELD, self.tr("Priority level field of the planning areas (for targets by priority)"),
            parentLayerParameterName="AREAS", optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.AS_OF, self.tr("Rate with the values of period (empty = latest before the target year)"),
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Progress measured as"),
            options=[self.tr("growth rates (published method)"), self.tr("annual changes")], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.AREA_TARGETS, self.tr("Target per area"),
            options=[self.tr("the same change as the target asks of its scope"),
                     self.tr("the same target value for every area")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.ALPHA, self.tr("Significance level of the change since the baseline"),
            QgsProcessingParameterNumber.Double, defaultValue=0.05, minValue=0.001, maxValue=0.5))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Target status"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.TABLE, self.tr("Table for the administration"), self.tr("Excel (*.xlsx)"), optional=True,
            createByDefault=False))

    def _counts_from_catalogue(self, parameters, context, obs, goals, feedback):
        """The observations with each target's rate given the counts the catalogue names for it
        (the statistics import writes a share and its counts as indicators of their own)."""
        catalogue = self.read_table(parameters, self.INDICATORS, context)
        if catalogue is None or "indicator" not in catalogue.columns or "indicator" not in goals.columns:
            return obs
        text = lambda v: "" if v is None or v != v else str(v).strip()  # noqa: E731 - NULL/NaN → ''
        rows = {text(r.get("indicator")): r for r in catalogue.to_dict("records")}
        for indicator in dict.fromkeys(text(v) for v in goals["indicator"]):
            entry = rows.get(indicator)
            if not indicator or entry is None:
                continue
            numerator, denominator = text(entry.get("numerator")), text(entry.get("denominator"))
            if not (numerator and denominator) or has_counts(obs[obs[INDICATOR] == indicator]):
                continue
            obs = counts_from_indicators(obs, indicator, numerator, denominator)
            feedback.pushInfo(self.tr("'{indicator}' is rated from its counts '{numerator}' / '{denominator}' "
                                      "(indicator catalogue).", indicator=indicator, numerator=numerator,
                                      denominator=denominator))
        return obs

    def run_algorithm(self, parameters, context, feedback):
        """Read, rate in core, write map and table."""
        # one rising bar: reading 0–30 %, rating 30–80 %, joining 80–85 %, writing 85–100 %
        obs = read_observations(self, parameters, context, ProgressSpan(feedback, 0, 20))
        areas, id_field = read_areas(self, parameters, context, ProgressSpan(feedback, 20, 28))
        source = self.parameterAsSource(parameters, self.GOALS, context)
        goals = source_to_gdf(source, name=source.sourceName() if source else None, geometry=False,
                              feedback=ProgressSpan(feedback, 28, 30))
        geometry_column = getattr(goals, "_geometry_column_name", None)
        goals = pd.DataFrame({c: goals[c].to_numpy() for c in goals.columns if c != geometry_column})
        area_set = self.parameterAsString(parameters, AREA_SET_PARAM, context).strip()
        if area_set and "area_set" in goals.columns:  # a store's targets name their area set
            own = goals["area_set"].isna().to_numpy() | (goals["area_set"].astype(str) == area_set).to_numpy()
            goals = goals[own]
        target = self.parameterAsString(parameters, self.TARGET, context).strip()
        if target:
            if "goal_id" in goals.columns and target not in set(map(str, goals["goal_id"])):
                raise InputError(self.tr("Target '{target}' is not in the goals table. Targets there: {ids}.",
                                         target=target, ids=", ".join(map(str, goals["goal_id"]))))
            goals = goals[goals["goal_id"].astype(str) == target]
        obs = self._counts_from_catalogue(parameters, context, obs, goals, feedback)
        priority = self.parameterAsFields(parameters, self.PRIORITY_FIELD, context)
        levels = dict(zip(map(str, areas[id_field]), areas[priority[0]])) if priority else None
        as_of = self.parameterAsString(parameters, self.AS_OF, context).strip() or None
        alpha = self.parameterAsDouble(parameters, self.ALPHA, context)
        options = GoalOptions(as_of=as_of, method=("cagr", "linear")[self.parameterAsEnum(parameters, self.METHOD, context)],
                              area_targets=("same_change", "same_level")[
                                  self.parameterAsEnum(parameters, self.AREA_TARGETS, context)],
                              change=ChangeOptions(alpha=alpha))
        result = target_status(obs, goals, options, priority_levels=levels,
                               feedback=core_feedback(feedback).step(0.3, 0.8))
        names = STATUS_NAMES_DE if get_language() == "de" else STATUS_NAMES
        for _, row in result.summary.iterrows():
            feedback.pushInfo(self.tr("Target {goal} ({title}): {status} for its scope of {n} areas.",
                                      goal=row["goal_id"], title=row["title"], n=row["n_areas"],
                                      status=row["status_label"] or "–"))
        counts = result.diagnostics["status_counts"]
        feedback.pushInfo(self.tr("Areas by status: {counts}.",
                                  counts=", ".join(f"{names[k]} {counts[k]}" for k in names)))
        if result.diagnostics["n_within_noise"]:
            feedback.pushInfo(self.tr("{n} areas moved away from their target within the noise of their base; "
                                      "they are rated 'off track', not 'deteriorating'.",
                                      n=result.diagnostics["n_within_noise"]))
        table = result.table
        out_rows = []
        joining = core_feedback(feedback).step(0.8, 0.85)
        n_goals = table["goal_id"].nunique()
        for k, (goal_id, rows) in enumerate(table.groupby("goal_id", sort=False)):
            joining.check()
            joined = areas[[id_field, areas.geometry.name]].copy()
            keyed = rows.set_index(rows[AREA].astype(str))
            keys = [str(v) for v in joined[id_field]]
            inside = [k in keyed.index for k in keys]
            joined = joined[inside].copy()
            keys = [k for k, i in zip(keys, inside) if i]
            for column in rows.columns:
                if column == AREA:
                    continue
                joined[column] = keyed[column].reindex(keys).to_numpy()
            out_rows.append(joined)
            joining.progress((k + 1) / n_goals)
        out = pd.concat(out_rows, ignore_index=True)
        out = out.set_geometry(areas.geometry.name)
        out.crs = areas.crs
        for column in ("baseline_period", "current_period", "target_period"):
            out[column] = out[column].astype(str)
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out, ProgressSpan(feedback, 85, 98))
        register_output_style(context, dest, categorized_style(
            "status", STATUS_COLOURS, names, self.tr("not rated")), self.tr("Target status"))
        results = {self.OUTPUT: dest}
        path = self.parameterAsFileOutput(parameters, self.TABLE, context)
        if path:
            write_target_table(result, path)
            results[self.TABLE] = path
        feedback.setProgress(100)
        return results
