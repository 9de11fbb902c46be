"""Processing adapter: import a statistics table (CSV/XLSX) and join it to planning areas
(``core.tables``)."""
import os

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingParameterDefinition,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterFile, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.validate import layer_name
from ...core.values import parse_missing_codes
from ...core.tables import (ReadOptions, join_table, long_table, long_to_wide, read_table,
                            stack_period_tables, wide_to_long)
from ...core.tables.reshape import detect_period_column, parse_period, period_columns
from ..base import KommunalmonitorAlgorithm
from ..bridge import gdf_to_sink
from ..styling import graduated_style, register_output_style

LAYOUTS = ("rows", "wide", "long")
NOTATIONS = ("auto", "german", "english")
# Column names that usually hold the area key (lower case, compared without separators).
_KEY_HINTS = ("plrid", "plr", "id", "key", "schluessel", "schlüssel", "gebiet", "code", "ags", "rs")


class StatisticsImport(KommunalmonitorAlgorithm):
    """Read a table as a statistical office publishes it and join it to planning areas."""

    ALGORITHM_ID = "statisticsimport"
    DISPLAY_NAME = "Import statistics table (CSV/Excel)"
    GROUP_ID = "data"
    TAGS = ("Statistik", "statistics", "CSV", "Excel", "XLSX", "join", "Tabelle verknüpfen",
            "Zeitreihe", "time series", "Planungsraum", "planning area", "Einwohner")

    INPUT = "INPUT"
    MORE_FILES = "MORE_FILES"
    SHEET = "SHEET"
    HEADER_ROW = "HEADER_ROW"
    NOTATION = "NOTATION"
    MISSING_CODES = "MISSING_CODES"
    KEY_COLUMN = "KEY_COLUMN"
    LAYOUT = "LAYOUT"
    PERIOD_COLUMN = "PERIOD_COLUMN"
    AREAS = "AREAS"
    AREA_KEY_FIELD = "AREA_KEY_FIELD"
    OUTPUT = "OUTPUT"
    OUTPUT_SERIES = "OUTPUT_SERIES"
    MATCHED = "MATCHED"
    UNMATCHED_AREAS = "UNMATCHED_AREAS"
    UNMATCHED_TABLE = "UNMATCHED_TABLE"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Table file(s), how to read them, the areas to join to, outputs."""
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, self.tr("Statistics table (CSV, TXT or Excel .xlsx)"),
            fileFilter=self.tr("Tables") + " (*.csv *.txt *.tsv *.xlsx *.xlsm);;" + self.tr("All files") + " (*.*)"))
        self.addParameter(QgsProcessingParameterString(
            self.KEY_COLUMN, self.tr("Area key column in the table (empty: detect)"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AREAS, self.tr("Planning areas to join to (empty: output the table without geometry)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.AREA_KEY_FIELD, self.tr("Area key field of the planning areas"), None, self.AREAS,
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.LAYOUT, self.tr("Table layout"),
            [self.tr("One row per area"),
             self.tr("Time series: one column per year or half-year (e.g. EW_2019, EW_2020)"),
             self.tr("Time series: one row per area and period (period column)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD_COLUMN, self.tr("Period column (only for one row per area and period; empty: detect)"),
            optional=True))
        more = QgsProcessingParameterMultipleLayers(
            self.MORE_FILES, self.tr("Further files of the same series, one per period (period from the "
                                     "file name)"), QgsProcessing.TypeFile, optional=True)
        self.addParameter(more)
        # what is detected by itself goes under 'Advanced': the dialog shows only what needs a choice
        advanced = [
            QgsProcessingParameterString(
                self.SHEET, self.tr("Excel sheet (empty: the first sheet with a table)"), optional=True),
            QgsProcessingParameterNumber(
                self.HEADER_ROW, self.tr("Row with the column names (0: detect)"),
                QgsProcessingParameterNumber.Integer, 0, minValue=0),
            QgsProcessingParameterEnum(
                self.NOTATION, self.tr("Number notation"),
                [self.tr("Detect per column"), self.tr("German (1.234,5)"), self.tr("English (1,234.5)")],
                defaultValue=0)]
        for definition in advanced:
            definition.setFlags(definition.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(definition)
        self.addParameter(QgsProcessingParameterString(
            self.MISSING_CODES, self.tr("Numbers that mean 'no value' (e.g. -9999; -1), read as empty"),
            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Planning areas with the table's values"), QgsProcessing.TypeVectorAnyGeometry))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_SERIES, self.tr("Time series (one row per area, indicator and period)"),
            QgsProcessing.TypeVector, optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.MATCHED, self.tr("Planning areas matched")))
        self.addOutput(QgsProcessingOutputNumber(self.UNMATCHED_AREAS, self.tr("Planning areas without a table row")))
        self.addOutput(QgsProcessingOutputNumber(self.UNMATCHED_TABLE, self.tr("Table rows without a planning area")))

    def run_algorithm(self, parameters, context, feedback):
        """Read, reshape, join, write; every finding goes to the log in the planner's words."""
        path = self.parameterAsFile(parameters, self.INPUT, context)
        more = [p for p in self.parameterAsFileList(parameters, self.MORE_FILES, context) if p]
        key = self.parameterAsString(parameters, self.KEY_COLUMN, context).strip() or None
        layout = LAYOUTS[self.parameterAsEnum(parameters, self.LAYOUT, context)]
        period_column = self.parameterAsString(parameters, self.PERIOD_COLUMN, context).strip() or None
        options = ReadOptions(sheet=self.parameterAsString(parameters, self.SHEET, context).strip() or None,
                              header_row=self.parameterAsInt(parameters, self.HEADER_ROW, context) or None,
                              text_columns=(key,) if key else (),
                              notation=NOTATIONS[self.parameterAsEnum(parameters, self.NOTATION, context)],
                              missing_codes=tuple(parse_missing_codes(
                                  self.parameterAsString(parameters, self.MISSING_CODES, context))))
        tables = []
        for n, file_path in enumerate([path] + [p for p in more if os.path.abspath(p) != os.path.abspath(path)]):
            table = read_table(file_path, options)
            for line in table.summary_lines():
                feedback.pushInfo(line)
            for line in table.warnings():  # e.g. an undeclared -9999: say so before it distorts a sum
                feedback.pushWarning(line)
            tables.append(table)
            feedback.setProgress(40.0 * (n + 1) / (len(more) + 1))
        first = tables[0]
        key = key or detect_key_column(first.frame, first.columns)
        feedback.pushInfo(self.tr("Area key column of the table: '{key}'.", key=key))

        series = None
        if len(tables) > 1:
            series = stack_period_tables(tables, key)
        elif layout == "wide":
            series = wide_to_long(first.frame, key, first)
        elif layout == "long":
            period_column = period_column or detect_period_column(first.frame, key)
            if not period_column:
                raise InputError(self.tr("For a table with one row per area and period, name the period "
                                         "column (columns: {columns}).",
                                         columns=", ".join(map(str, first.frame.columns))))
            feedback.pushInfo(self.tr("Period column of the table: '{column}'.", column=period_column))
            series = long_table(first.frame, key, period_column, table_read=first)
        elif len(set(parse_period(c)[0] for c in period_columns(first.frame, key))) >= 2:
            feedback.pushInfo(self.tr("Several columns carry years or half-years in their names ({columns}); "
                                      "for a time series choose the layout 'one column per year or half-year'.",
                                      columns=", ".join(map(str, period_columns(first.frame, key)[:4]))))
        if series is not None:
            for line in series.summary_lines():
                feedback.pushInfo(line)
            table_frame = long_to_wide(series).rename(columns={"key": key})
        else:
            table_frame = first.frame
        feedback.setProgress(60)

        results = {}
        if parameters.get(self.AREAS):
            areas = self.read_source(parameters, self.AREAS, context)
            area_key = self.parameterAsString(parameters, self.AREA_KEY_FIELD, context)
            if not area_key:
                raise InputError(self.tr("Choose the area key field of the planning areas '{layer}' (the "
                                         "field holding the same keys as the table column '{key}').",
                                         layer=layer_name(areas), key=key))
            joined = join_table(areas.reset_index(drop=True), area_key, table_frame, key)
            lines = joined.summary_lines()
            feedback.pushInfo(lines[0])
            for line in lines[1:]:  # everything after the count is something to look at
                feedback.pushWarning(line)
            if joined.matched == 0:
                raise InputError(self.tr(
                    "No planning area of '{layer}' matched a table row: the layer's keys look like {area} "
                    "and the table's like {table}. Choose the right key field and key column.",
                    layer=layer_name(areas), area=", ".join(joined.unmatched_areas[:3]),
                    table=", ".join(joined.unmatched_table[:3])))
            if series is not None and joined.unmatched_table:
                # a series across a boundary change (Berlin: 2020-H2 on the 448 old PLR, 2021 on the
                # 542 new) leaves whole periods empty; '448 rows match no area' alone did not say so
                _warn_unmatched_periods(self, series, joined, layer_name(areas), feedback)
            output = joined.frame
            results.update({self.MATCHED: joined.matched, self.UNMATCHED_AREAS: len(joined.unmatched_areas),
                            self.UNMATCHED_TABLE: len(joined.unmatched_table)})
        else:
            output = table_frame
            results.update({self.MATCHED: 0, self.UNMATCHED_AREAS: 0, self.UNMATCHED_TABLE: len(table_frame)})
        feedback.setProgress(80)
        results[self.OUTPUT] = gdf_to_sink(self, parameters, context, self.OUTPUT,
                                           output.reset_index(drop=True), feedback)
        if parameters.get(self.AREAS):  # opens as a map of the table's first value column
            numeric = [c for c in table_frame.columns if c != key and c in output.columns
                       and str(output[c].dtype).startswith(("float", "int"))]
            register_output_style(context, results[self.OUTPUT], graduated_style(numeric),
                                  self.tr("Planning areas with the table's values"))
        if parameters.get(self.OUTPUT_SERIES) and series is not None:
            long = series.frame.rename(columns={"key": key})
            results[self.OUTPUT_SERIES] = gdf_to_sink(self, parameters, context, self.OUTPUT_SERIES, long, feedback)
        elif parameters.get(self.OUTPUT_SERIES):
            feedback.pushInfo(self.tr("No time series output: the table has one row per area. Choose a "
                                      "time-series layout to get one."))
        return results


def _warn_unmatched_periods(algorithm, series, joined, layer, feedback):
    """Name each period of a series none of whose keys matched an area of the layer."""
    unmatched = set(joined.unmatched_table)
    frame = series.frame
    for period in series.periods:
        keys = sorted({str(k) for k in frame.loc[frame["period"].astype(str) == str(period), "key"]
                       if k is not None})
        if keys and unmatched.issuperset(keys):
            feedback.pushWarning(algorithm.tr(
                "Period {period}: none of its {n} area keys is in layer '{layer}' (e.g. {examples}), so "
                "its columns stay empty. A series across a boundary change matches only the periods of "
                "the layer's area scheme: bring the other periods onto these areas first (e.g. with "
                "'Transfer polygon data to areas').", period=period, n=len(keys), layer=layer,
                examples=", ".join(keys[:3])))


def detect_key_column(frame, reports):
    """The column most likely holding the area key.

    First choice: text columns of digit codes kept for their leading zeros (the finest one,
    i.e. the most distinct values: ``PLR_ID`` before ``BEZ_ID``); then columns named like a
    key (``id``, ``Schlüssel``, ``PLR`` …); then the text column with the most distinct values.
    """
    def distinct(column):
        return frame[column].nunique(dropna=True)

    def hinted(column):
        plain = "".join(ch for ch in str(column).lower() if ch.isalnum())
        return any(plain == h or plain.endswith(h) or plain.startswith(h) for h in _KEY_HINTS)

    text_columns = [c for c in frame.columns if reports[c].kind == "text"]
    for candidates in ([c for c in text_columns if reports[c].kept_as_text_reason],
                       [c for c in frame.columns if hinted(c)], text_columns):
        if candidates:
            return max(candidates, key=lambda c: (distinct(c), hinted(c)))
    from ...core.i18n import tr

    raise QgsProcessingException(tr(
        "The table has no text column that could hold the area key; name the key column "
        "(columns: {columns}).", columns=", ".join(map(str, frame.columns))))
