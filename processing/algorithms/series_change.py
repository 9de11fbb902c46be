"""Processing adapter: change of an indicator and whether it is larger than noise (kommunalmonitor:serieschange).

Also holds the parameter and reading helpers the other monitoring-analysis algorithms share
(observations in long form, the areas layer, categorized styles with legend labels).
"""
import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.i18n import get_language
from ...core.monitoring.change import (CLASS_NAMES, CLASS_NAMES_DE, ChangeOptions, change_between, trend)
from ...core.monitoring.series import (AREA, AREA_SET, DENOMINATOR, INDICATOR, NUMERATOR, PERIOD, VALUE,
                                       check_observations, counts_from_indicators, for_indicator,
                                       match_period, period_years, sorted_periods)
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style

OBSERVATIONS = "OBSERVATIONS"
OBS_FIELDS = (("AREA_FIELD", AREA, "Area id field", False), ("PERIOD_FIELD", PERIOD, "Period field", False),
              ("INDICATOR_FIELD", INDICATOR, "Indicator field", False), ("VALUE_FIELD", VALUE, "Value field", False),
              ("NUMERATOR_FIELD", NUMERATOR, "Numerator field (count)", True),
              ("DENOMINATOR_FIELD", DENOMINATOR, "Denominator field (base)", True))
AREAS, AREAS_ID = "AREAS", "AREAS_ID"
AREA_SET_PARAM = "AREA_SET"
NUMERATOR_INDICATOR, DENOMINATOR_INDICATOR = "NUMERATOR_INDICATOR", "DENOMINATOR_INDICATOR"
ESTIMATE_FLAGS = ("estimated", "rebased_method", "estimated_share")

CHANGE_COLOURS = {1: "#2166ac", 2: "#92c5de", 0: "#f7f7f7", 3: "#f4a582", 4: "#b2182b", 5: "#d9e6ef",
                  6: "#f2ddd3"}


def add_observation_parameters(alg, areas_label=None):
    """Observations in long form, their fields, and the areas layer with its id field."""
    alg.addParameter(QgsProcessingParameterFeatureSource(
        OBSERVATIONS, alg.tr("Observations in long form (area, period, indicator, value, counts)"),
        [QgsProcessing.TypeVector]))
    # optional with defaults: QGIS 3.22 refuses a missing field value even when a default exists
    for name, default, label, _ in OBS_FIELDS:
        alg.addParameter(QgsProcessingParameterField(
            name, alg.tr(label), defaultValue=default, parentLayerParameterName=OBSERVATIONS, optional=True))
    alg.addParameter(QgsProcessingParameterFeatureSource(
        AREAS, areas_label or alg.tr("Planning areas (polygons for the map)"), [QgsProcessing.TypeVectorPolygon]))
    alg.addParameter(QgsProcessingParameterField(
        AREAS_ID, alg.tr("Area id field of the planning areas"), defaultValue=AREA,
        parentLayerParameterName=AREAS, optional=True))
    alg.addParameter(QgsProcessingParameterString(
        AREA_SET_PARAM, alg.tr("Area set (boundary version) to use where the layers hold several, "
                               "e.g. from a monitoring store"), optional=True))


def read_observations(alg, parameters, context, feedback):
    """The observations as a checked long-form DataFrame (standard column names)."""
    source = alg.parameterAsSource(parameters, OBSERVATIONS, context)
    frame = source_to_gdf(source, name=source.sourceName() if source else None, feedback=feedback,
                          geometry=False)
    names = frame.columns
    renamed = {}
    for name, standard, _, optional in OBS_FIELDS:
        field = alg.chosen_field(parameters, name, context) or (None if optional else standard)
        if field is None or (optional and field not in names):
            continue
        if field not in names:
            raise InputError(alg.tr("Table '{layer}' has no field '{field}'. Choose the field holding "
                                    "'{role}'.", layer=frame.attrs.get("layer_name", "?"), field=field,
                                    role=standard))
        renamed[field] = standard
    frame = _one_area_set(alg, parameters, context, frame)
    data = {standard: frame[field].to_numpy() for field, standard in renamed.items()}
    if AREA_SET in frame.columns:
        data[AREA_SET] = frame[AREA_SET].to_numpy()
    # the store's flags travel with the rows: an estimated (rebased) count is told apart from a
    # value that is no count at all
    for flag in ESTIMATE_FLAGS:
        if flag in frame.columns and flag not in data:
            data[flag] = frame[flag].to_numpy()
    obs = pd.DataFrame(data)
    obs.attrs["layer_name"] = frame.attrs.get("layer_name")
    return check_observations(obs)


def add_count_indicator_parameters(alg):
    """The two count indicators behind a share, where the table holds them as indicators of their own."""
    alg.addParameter(QgsProcessingParameterString(
        NUMERATOR_INDICATOR, alg.tr("Numerator as an indicator of the table (count, e.g. "
                                    "inhabitants_age_below_6; empty: numerator field)"), optional=True))
    alg.addParameter(QgsProcessingParameterString(
        DENOMINATOR_INDICATOR, alg.tr("Denominator as an indicator of the table (base, e.g. inhabitants)"),
        optional=True))


def with_count_indicators(alg, parameters, context, obs, indicator):
    """The observations with ``indicator``'s counts taken from the two count indicators, if named."""
    numerator = alg.parameterAsString(parameters, NUMERATOR_INDICATOR, context).strip()
    denominator = alg.parameterAsString(parameters, DENOMINATOR_INDICATOR, context).strip()
    if not numerator and not denominator:
        return obs
    if not (numerator and denominator):
        raise InputError(alg.tr("Name both count indicators of '{indicator}': the numerator (e.g. "
                                "inhabitants_age_below_6) and the denominator (e.g. inhabitants).",
                                indicator=indicator))
    return counts_from_indicators(obs, indicator, numerator, denominator)


def _one_area_set(alg, parameters, context, frame):
    """Rows of the chosen area set (a store's tables hold several); unchanged without the field."""
    wanted = alg.parameterAsString(parameters, AREA_SET_PARAM, context).strip()
    if not wanted or AREA_SET not in frame.columns:
        return frame
    keep = (frame[AREA_SET].astype(str) == wanted).to_numpy()
    if not keep.any():
        raise InputError(alg.tr("Layer '{layer}' holds no rows of area set '{area_set}'. Area sets there: "
                                "{sets}.", layer=frame.attrs.get("layer_name", "?"), area_set=wanted,
                                sets=", ".join(sorted(set(map(str, frame[AREA_SET]))))))
    out = frame[keep]
    out.attrs = dict(frame.attrs)
    return out


def read_areas(alg, parameters, context, feedback):
    """Areas layer (of the chosen area set, if it has several) and its id field name."""
    areas = _one_area_set(alg, parameters, context, alg.read_source(parameters, AREAS, context, feedback=feedback))
    if AREA_SET in areas.columns and areas[AREA_SET].astype(str).nunique() > 1:
        raise InputError(alg.tr("Layer '{layer}' holds areas of several area sets ({sets}). Choose the area "
                                "set to use.", layer=areas.attrs.get("layer_name", "?"),
                                sets=", ".join(sorted(set(map(str, areas[AREA_SET]))))))
    id_field = alg.chosen_field(parameters, AREAS_ID, context) or AREA
    if id_field not in areas.columns:
        raise InputError(alg.tr("Layer '{layer}' has no field '{field}'.", layer=areas.attrs.get("layer_name", "?"),
                                field=id_field))
    return areas, id_field


def join_to_areas(areas, id_field, table):
    """Areas (all kept, in order) with the table's columns joined by area id (as text)."""
    keyed = table.copy()
    keyed.index = [str(v) for v in keyed[AREA]]
    keyed = keyed.drop(columns=[AREA])
    out = areas.copy()
    keys = [str(v) for v in out[id_field]]
    for column in keyed.columns:
        name = column if column not in out.columns else column + "_1"
        out[name] = keyed[column].reindex(keys).to_numpy()
    return out


def categorized_style(field, colours, labels, missing_label):
    """A style callable: categories of ``field`` with the given colours and legend labels."""
    def apply(layer):
        from qgis.core import QgsCategorizedSymbolRenderer, QgsFillSymbol, QgsRendererCategory

        categories = []
        for code, colour in colours.items():
            symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#646464",
                                                 "outline_width": "0.1"})
            categories.append(QgsRendererCategory(code, symbol, labels[code]))
        symbol = QgsFillSymbol.createSimple({"color": "#d0d0d0", "outline_color": "#646464",
                                             "outline_width": "0.1", "style": "b_diagonal"})
        categories.append(QgsRendererCategory(None, symbol, missing_label))
        layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
        layer.triggerRepaint()
    return apply


class SeriesChangeAlgorithm(KommunalmonitorAlgorithm):
    """Change between two periods with its significance, dynamics class, convergence and trend."""

    ALGORITHM_ID = "serieschange"
    DISPLAY_NAME = "Change over time and significance"
    GROUP_ID = "monitoring"
    TAGS = ("Veränderung", "change", "Zeitreihe", "time series", "Trend", "Monitoring")

    INDICATOR = "INDICATOR"
    START = "START"
    END = "END"
    DESIRED = "DESIRED"
    TEST = "TEST"
    ALPHA = "ALPHA"
    FDR = "FDR"
    SHRINKAGE = "SHRINKAGE"
    MIN_BASE = "MIN_BASE"
    OUTPUT = "OUTPUT"
    TESTS = ("auto", "score", "exact", "none")

    def initAlgorithm(self, config=None):  # noqa: N802
        """Declare the parameters."""
        add_observation_parameters(self)
        self.addParameter(QgsProcessingParameterString(self.INDICATOR, self.tr("Indicator")))
        add_count_indicator_parameters(self)
        self.addParameter(QgsProcessingParameterString(self.START, self.tr("Start period")))
        self.addParameter(QgsProcessingParameterString(self.END, self.tr("End period")))
        self.addParameter(QgsProcessingParameterEnum(
            self.DESIRED, self.tr("Improvement means"),
            options=[self.tr("lower values (e.g. unemployment)"), self.tr("higher values")], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.TEST, self.tr("Test against noise"),
            options=[self.tr("automatic (score test for shares, exact test for counts)"),
                     self.tr("two-proportion score test"), self.tr("exact conditional binomial test"),
                     self.tr("no test")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.ALPHA, self.tr("Significance level"), QgsProcessingParameterNumber.Double,
            defaultValue=0.05, minValue=0.001, maxValue=0.5))
        self.addParameter(QgsProcessingParameterBoolean(
            self.FDR, self.tr("Correct for testing many areas (false-discovery rate)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SHRINKAGE, self.tr("Shrink rates of small areas towards the city (empirical Bayes)"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_BASE, self.tr("Minimum base (denominator) for dynamics classes"),
            QgsProcessingParameterNumber.Double, defaultValue=300, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Change"), QgsProcessing.TypeVectorPolygon))

    def run_algorithm(self, parameters, context, feedback):
        """Read, compute in core, join to the areas, write and style."""
        obs = read_observations(self, parameters, context, feedback)
        areas, id_field = read_areas(self, parameters, context, feedback)
        indicator = self.parameterAsString(parameters, self.INDICATOR, context).strip()
        obs = with_count_indicators(self, parameters, context, obs, indicator)
        start = self.parameterAsString(parameters, self.START, context).strip()
        end = self.parameterAsString(parameters, self.END, context).strip()
        options = ChangeOptions(
            test=self.TESTS[self.parameterAsEnum(parameters, self.TEST, context)],
            alpha=self.parameterAsDouble(parameters, self.ALPHA, context),
            fdr=self.parameterAsBoolean(parameters, self.FDR, context),
            shrinkage=self.parameterAsBoolean(parameters, self.SHRINKAGE, context),
            desired=("down", "up")[self.parameterAsEnum(parameters, self.DESIRED, context)],
            min_base=self.parameterAsDouble(parameters, self.MIN_BASE, context))
        result = change_between(obs, indicator, start, end, options, feedback=core_feedback(feedback))
        rows = for_indicator(obs, indicator)
        periods = sorted_periods(rows)
        t0, t1 = (period_years([match_period(periods, p)])[0] for p in (start, end))
        window = [p for p, y in zip(periods, period_years(periods)) if t0 <= y <= t1]
        slopes = trend(obs, indicator, periods=window, alpha=options.alpha, desired=options.desired)
        slopes = slopes.rename(columns={"n_periods": "trend_n", "slope": "trend_slope", "slope_se": "trend_se",
                                        "slope_low": "trend_low", "slope_high": "trend_high",
                                        "slope_p": "trend_p"}).drop(columns=["weighted"])
        table = result.table.merge(slopes, on=AREA, how="left")
        diag = result.diagnostics
        counts = diag["class_counts"]
        feedback.pushInfo(self.tr(
            "Test: {test}. Significant improvement: {a}, improvement within noise: {b}, no change: {c}, "
            "deterioration within noise: {d}, significant deterioration: {e} areas.", test=diag["test"],
            a=counts[1], b=counts[2], c=counts[0], d=counts[3], e=counts[4]))
        if counts[5] or counts[6]:
            feedback.pushInfo(self.tr("Not tested against noise (no test possible or chosen): improvement {a}, "
                                      "deterioration {b} areas.", a=counts[5], b=counts[6]))
        if diag["city_from_counts"]:
            feedback.pushInfo(self.tr("City value: {start} → {end}.", start=round(diag["city_start"], 3),
                                      end=round(diag["city_end"], 3)))
        else:  # a mean of shares is not the city's share: say what the reference is
            feedback.pushInfo(self.tr(
                "Mean of the areas (no numerator and denominator, so not the city's own rate; the columns "
                "city_start, city_end and the convergence refer to it): {start} → {end}.",
                start=round(diag["city_start"], 3), end=round(diag["city_end"], 3)))
        unmatched = set(map(str, table[AREA])) - set(map(str, areas[id_field]))
        if unmatched:
            feedback.pushWarning(self.tr("{n} areas of the observations are not in the areas layer (e.g. {ids}); "
                                         "check the id fields.", n=len(unmatched), ids=", ".join(sorted(unmatched)[:5])))
        out = join_to_areas(areas, id_field, table)
        dest = gdf_to_sink(self, parameters, context, self.OUTPUT, out.reset_index(drop=True), feedback)
        names = CLASS_NAMES_DE if get_language() == "de" else CLASS_NAMES
        register_output_style(context, dest, categorized_style(
            "change_class", CHANGE_COLOURS, names, self.tr("no data or not comparable")), self.tr("Change"))
        return {self.OUTPUT: dest}
