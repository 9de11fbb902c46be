"""Processing adapter: planning priorities 1–4 with reasons and robustness (``core.priorities.ranking``)."""
from qgis.core import (QgsProcessing, QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.i18n import format_number, get_language, tr
from ...core.priorities.profiles import parse_labels
from ...core.priorities.ranking import RULES, RankingOptions, rank_priorities
from ...core.priorities.table import decision_table, summary_table, write_decision_table
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..value_parameters import MissingValueCodes
from ..bridge import gdf_to_sink, source_to_gdf
from ..styling import register_output_style


def parse_combination(text):
    """'index_class=2; hotspot=1' → {'index_class': 2.0, 'hotspot': 1.0}."""
    out = {}
    text = text or ""
    # 'index_class=1,5; hotspot=1' (German decimal comma) when ';' separates; else ',' separates
    parts = text.split(";") if ";" in text else text.split(",")
    for part in parts:
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = float(value.strip().replace(",", ".")) if ";" in text else float(value)
        except ValueError:
            raise InputError(tr("Cannot read the weight '{part}'; write for example "
                                "'index_class=2; hotspot=1'.", part=part.strip())) from None
        if not sep:
            raise InputError(tr("Cannot read the weight '{part}'; write for example "
                                "'index_class=2; hotspot=1'.", part=part.strip()))
    return out


def _whole(number):
    """1500.0 → 1500 for messages (counts of residents), other numbers unchanged."""
    return int(number) if float(number).is_integer() else number


class PlanningPriorities(MissingValueCodes, KommunalmonitorAlgorithm):
    """Priority levels per planning area with reasons, robustness and a decision table."""

    ALGORITHM_ID = "planningpriorities"
    DISPLAY_NAME = "Planning priorities with reasons"
    GROUP_ID = "priorities"
    TAGS = ("Prioritäten", "priorities", "Begründungen", "reasons", "Handlungsräume", "Fördergebiete",
            "Sozialindex", "Entscheidungstabelle")

    INPUT = "INPUT"
    RULE = "RULE"
    ID_FIELD = "ID_FIELD"
    NAME_FIELD = "NAME_FIELD"
    INDEX_FIELD = "INDEX_FIELD"
    CLASS_FIELD = "CLASS_FIELD"
    N_CLASSES = "N_CLASSES"
    Z_FIELDS = "Z_FIELDS"
    BURDEN_THRESHOLD = "BURDEN_THRESHOLD"
    BURDEN_FIELD = "BURDEN_FIELD"
    CLUSTER_FIELD = "CLUSTER_FIELD"
    HOTSPOT_FIELD = "HOTSPOT_FIELD"
    COMBINATION = "COMBINATION"
    POPULATION_FIELD = "POPULATION_FIELD"
    CHILDREN_FIELD = "CHILDREN_FIELD"
    MIN_POPULATION = "MIN_POPULATION"
    ROBUSTNESS_FIELD = "ROBUSTNESS_FIELD"
    SEED = "SEED"
    LABELS = "LABELS"
    OUTPUT = "OUTPUT"
    TABLE = "TABLE"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: areas with index / clusters / hot spots, the rule, people, outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas (e.g. the composite index output)"),
            [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterEnum(
            self.RULE, self.tr("Rule"),
            [self.tr("Composite index class"), self.tr("Multiple burden (count of indicators above threshold)"),
             self.tr("Cluster of the typology"), self.tr("Hot-spot membership"),
             self.tr("Weighted combination")], defaultValue=0))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.NAME_FIELD, self.tr("Area name field"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.INDEX_FIELD, self.tr("Index field"), "index", self.INPUT, QgsProcessingParameterField.Numeric,
            optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CLASS_FIELD, self.tr("Index class field (higher = more need)"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.N_CLASSES, self.tr("Number of index classes (0: the highest class present; set it when "
                                    "no area may be in the top class)"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterField(
            self.Z_FIELDS, self.tr("Indicator z-scores for reasons and burden count (default: all z_ fields)"),
            None, self.INPUT, QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.BURDEN_THRESHOLD, self.tr("Burden threshold in SD above the city average"),
            QgsProcessingParameterNumber.Double, 1.0))
        self.addParameter(QgsProcessingParameterField(
            self.BURDEN_FIELD, self.tr("Ready burden count field (e.g. burden_count of the multiple burden)"),
            None, self.INPUT, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CLUSTER_FIELD, self.tr("Cluster field (from the typology)"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.HOTSPOT_FIELD, self.tr("Hot-spot field (gi_bin or lisa_code)"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.COMBINATION, self.tr("Weights of the combination (e.g. index_class=2; hotspot=1)"),
            "index_class=2; burden_count=1; hotspot=1", optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Residents field"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CHILDREN_FIELD, self.tr("Children field"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_POPULATION, self.tr("Minimum residents for a priority"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterField(
            self.ROBUSTNESS_FIELD, self.tr("Robustness field (Monte-Carlo class probability or cluster stability)"),
            None, self.INPUT, QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer, 12345, minValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.LABELS, self.tr("Indicator names for the reasons (e.g. S4 = Kinderarmut / child poverty)"),
            optional=True))
        self.add_missing_codes_parameter()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Planning priorities"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.TABLE, self.tr("Decision table"), self.tr("Excel (*.xlsx);;CSV (*.csv)"), optional=True,
            createByDefault=False))

    def check_parameters(self, parameters, context):
        """Class, cluster and hot-spot fields must hold what the rule reads (never 'no value' for all)."""
        from ..parameter_checks import as_number, check_class_numbers, examples, field_values

        rule = RULES[self.parameterAsEnum(parameters, self.RULE, context)]
        rules = {rule}
        if rule == "weighted":
            try:
                combination = parse_combination(self.parameterAsString(parameters, self.COMBINATION, context))
            except InputError:
                return None  # the run reports the unreadable weight
            rules = {r for r, weight in combination.items() if weight > 0}
        for used, name, label in (("index_class", self.CLASS_FIELD, self.tr("Index class field (higher = more need)")),
                                  ("cluster", self.CLUSTER_FIELD, self.tr("Cluster field (from the typology)"))):
            field = self.parameterAsString(parameters, name, context)
            if used not in rules or not field:
                continue
            values, layer = field_values(self, parameters, context, self.INPUT, field)
            if values is None:
                continue
            message = check_class_numbers(label, field, values, layer)
            if message:
                return message
            n_classes = self.parameterAsInt(parameters, self.N_CLASSES, context)
            highest = max(as_number(v) for v in values if as_number(v) is not None)
            if used == "index_class" and n_classes and highest > n_classes:
                return self.tr("'Number of index classes' is {n}, but field '{field}' of layer '{layer}' has "
                               "class {highest}. Set the number of classes to {highest} or more (0: the "
                               "highest class present).", n=n_classes, field=field, layer=layer,
                               highest=_whole(highest))
        population = self.parameterAsString(parameters, self.POPULATION_FIELD, context)
        minimum = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        if population and minimum > 0:
            values, layer = field_values(self, parameters, context, self.INPUT, population)
            numbers = [as_number(v) for v in values or []]
            numbers = [n for n in numbers if n is not None]
            if numbers and minimum > max(numbers):
                return self.tr("'Minimum residents for a priority' is {minimum}, but no area of layer '{layer}' "
                               "has that many in field '{field}' (at most {largest}): no area could get a "
                               "priority. Lower the minimum.", minimum=_whole(minimum), layer=layer,
                               field=population, largest=_whole(max(numbers)))
        field = self.parameterAsString(parameters, self.HOTSPOT_FIELD, context)
        if "hotspot" in rules and field:
            values, layer = field_values(self, parameters, context, self.INPUT, field)
            if values is not None:
                present = [v for v in values if v is not None]
                codes = {"HH", "HL", "LH", "LL", "ns", "none", "null"}
                unknown = sorted({str(v) for v in present if as_number(v) is None and str(v) not in codes})
                if not present or unknown:
                    return self.tr("'Hot-spot field (gi_bin or lisa_code)': field '{field}' of layer '{layer}' "
                                   "should hold Gi* bins (-3 … 3) or LISA codes (HH, HL, LH, LL, ns) but holds "
                                   "{values}. Choose gi_bin or lisa_code of the hot-spot output.",
                                   field=field, layer=layer, values=examples(unknown) if unknown else "NULL")
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Rank in the engine; write the layer and the decision table."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        rule = RULES[self.parameterAsEnum(parameters, self.RULE, context)]

        def field(name):
            return self.parameterAsString(parameters, name, context) or None

        z_fields = self.parameterAsFields(parameters, self.Z_FIELDS, context) or None
        combination = parse_combination(self.parameterAsString(parameters, self.COMBINATION, context))
        min_population = self.parameterAsDouble(parameters, self.MIN_POPULATION, context)
        threshold = self.parameterAsDouble(parameters, self.BURDEN_THRESHOLD, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        n_classes = self.parameterAsInt(parameters, self.N_CLASSES, context) or None
        labels = parse_labels(self.parameterAsString(parameters, self.LABELS, context))
        table_path = self.parameterAsFileOutput(parameters, self.TABLE, context)
        name = source.sourceName() if source else None
        frame = source_to_gdf(source, name=name).reset_index(drop=True)
        frame = self.without_missing_codes(
            frame, parameters, context, feedback, [self.Z_FIELDS, self.INDEX_FIELD, self.BURDEN_FIELD,
                                                self.POPULATION_FIELD, self.CHILDREN_FIELD, self.ROBUSTNESS_FIELD])
        frame.attrs["layer_name"] = name
        cluster_field, hotspot_field = field(self.CLUSTER_FIELD), field(self.HOTSPOT_FIELD)
        robustness = field(self.ROBUSTNESS_FIELD)
        class_field = field(self.CLASS_FIELD)
        if robustness is None and rule == "cluster" and "stability" in frame.columns:
            robustness = "stability"
        if robustness is None and rule == "index_class" and "p_base" in frame.columns:
            robustness = "p_base"  # class probability from kommunalmonitor:indexrobustness
            class_field = class_field or ("index_class" if "index_class" in frame.columns else None)
        q_field = None
        if hotspot_field:
            q_field = {"gi_bin": "gi_q", "lisa_code": "lisa_q"}.get(hotspot_field)
            q_field = q_field if q_field in frame.columns else None
        cluster_names = None
        if cluster_field and "cluster_name_en" in frame.columns and "cluster_name_de" in frame.columns:
            cluster_names = {}
            for c, en, de in zip(frame[cluster_field], frame["cluster_name_en"], frame["cluster_name_de"]):
                if c is not None and c == c:
                    cluster_names[int(c)] = {"en": en, "de": de}
        index_field = field(self.INDEX_FIELD)
        options = RankingOptions(
            index_field=index_field or "index", class_field=class_field, n_classes=n_classes,
            z_fields=z_fields, burden_threshold=threshold, burden_field=field(self.BURDEN_FIELD),
            cluster_field=cluster_field, cluster_names=cluster_names,
            hotspot_field=hotspot_field, hotspot_q_field=q_field,
            combination=combination if rule == "weighted" else None,
            id_field=field(self.ID_FIELD),
            population_field=field(self.POPULATION_FIELD), children_field=field(self.CHILDREN_FIELD),
            min_population=min_population, robustness_field=robustness, seed=seed, labels=labels)
        result, diag = rank_priorities(frame, rule, options, feedback=core_feedback(feedback))
        lang = "de" if get_language() == "de" else "en"
        out = frame.copy()
        out["priority"] = result["priority"].to_numpy()
        out["priority_label"] = result["priority_label"].to_numpy()
        out["reasons"] = result[f"reasons_{lang}"].to_numpy()
        out["reasons_en"] = result["reasons_en"].to_numpy()
        out["reasons_de"] = result["reasons_de"].to_numpy()
        out["robustness"] = result["robustness"].to_numpy()
        for level in (1, 2, 3, 4):
            info = diag["levels"][level]
            feedback.pushInfo(self.tr("Priority {level}: {areas} area(s), {residents} residents, {children} children.",
                                      level=level, areas=info["areas"],
                                      residents=format_number(info["residents"], 0)
                                      if info["residents"] is not None else "–",
                                      children=format_number(info["children"], 0)
                                      if info["children"] is not None else "–"))
        if diag["levels"][0]["areas"]:
            feedback.pushInfo(self.tr("No priority: {areas} area(s) (too few residents or no value for the rule).",
                                      areas=diag["levels"][0]["areas"]))
        if diag["robustness_source"] == "none":
            getattr(feedback, "pushWarning", feedback.pushInfo)(self.tr(
                "No robustness figure could be computed for this rule; give a robustness field (e.g. the "
                "cluster stability)."))
        feedback.pushInfo(diag["note"])
        results = {}
        if table_path:
            extra = {"index": index_field if index_field in frame.columns else None,
                     "index_class": class_field, "cluster": cluster_field, "hotspot": hotspot_field}
            table = decision_table(frame, result, id_field=field(self.ID_FIELD), name_field=field(self.NAME_FIELD),
                                   lang="de", extra_fields=extra)
            results[self.TABLE] = write_decision_table(table, table_path, summary_table(result, "de"),
                                                       tr("Priorities are a search strategy, not a verdict: "
                                                          "check flagged areas on site.", lang="de"))
        dest_id = gdf_to_sink(self, parameters, context, self.OUTPUT, out, feedback)
        register_output_style(context, dest_id, "priorities_levels.qml", self.tr("Planning priorities"))
        results[self.OUTPUT] = dest_id
        return results
