"""Processing adapter: the council map (A3 landscape PDF) of an index layer."""
import os

from qgis.core import (QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingOutputHtml, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterField,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterString,
                       QgsProcessingParameterVectorLayer, QgsProject)

from ...core.i18n import language, normalise_language, tr
from ...core.mapping import (class_summary, default_source_note, default_subtitle,
                             default_title, indicator_names, map_classes, reading_help,
                             search_strategy_note)
from ...core.validate import require_fields, require_not_empty
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import source_to_gdf
from ..layout import CouncilMapSpec, build_council_map, export_pdf, style_index_layer


def auto_language():
    """German unless QGIS runs in English (fresh profiles and qgis_process: German)."""
    from qgis.PyQt.QtCore import QSettings

    value = QSettings().value("locale/userLocale", None)
    return "en" if value and normalise_language(value) == "en" else "de"


class CouncilMap(KommunalmonitorAlgorithm):
    """Classified index map with legend, notes, scale bar and north arrow, as PDF."""

    ALGORITHM_ID = "councilmap"
    DISPLAY_NAME = "Council map (PDF)"
    GROUP_ID = "maps"

    INPUT = "INPUT"
    CLASS_FIELD = "CLASS_FIELD"
    CLASS_LABEL_FIELD = "CLASS_LABEL_FIELD"
    LABEL_FIELD = "LABEL_FIELD"
    TITLE = "TITLE"
    PLACE = "PLACE"
    YEAR = "YEAR"
    SUBTITLE = "SUBTITLE"
    SOURCE_NOTE = "SOURCE_NOTE"
    LEGEND_TITLE = "LEGEND_TITLE"
    LANGUAGE = "LANGUAGE"
    EXTENT_MODE = "EXTENT_MODE"
    EXTENT = "EXTENT"
    ADD_LAYOUT = "ADD_LAYOUT"
    OUTPUT = "OUTPUT"
    PDF_RESULT = "PDF_RESULT"

    LANGUAGES = ("auto", "de", "en")
    EXTENT_MODES = ("all", "main", "given")
    TAGS = ("Gremienkarte", "council map", "PDF", "Karte", "Druck", "print layout", "Sozialindex",
            "Ausschuss", "Stadtrat")
    # Legend titles that fit what the class field shows (English; German in the catalogue).
    # Default titles for maps that do not show a social index (place and year are appended).
    MAP_TITLES = {"priority": "Planning priorities", "status_class": "Social status (MSS)",
                  "sdi": "Status and dynamics", "cluster": "Area types", "burden_count": "Multiple burden",
                  "gi_bin": "Hot spots", "lisa_code": "Hot spots"}
    # The framed note beside the map, for maps that do not rank need (index and priorities keep
    # the search-strategy note).
    MAP_NOTES = {
        "cluster": "Area types group areas with a similar profile of indicators; they describe, they do "
                   "not rank.",
        "gi_bin": "A hot spot is a statistically significant cluster of high values among neighbours; "
                  "check on site what lies behind it.",
        "lisa_code": "A hot spot is a statistically significant cluster of high values among neighbours; "
                     "check on site what lies behind it.",
        "burden_count": "The number of burdens in which an area lies among the most burdened; which burdens "
                        "they are is in the data table.",
    }
    LEGEND_TITLES = {"index_class": "Index class", "priority": "Priority", "status_class": "Social status (MSS)",
                     "dynamics_class": "Dynamics (MSS)", "sdi": "Status and dynamics", "cluster": "Area type",
                     "burden_count": "Multiple burden", "gi_bin": "Hot spots", "lisa_code": "Hot spots"}

    def flags(self):
        """Layouts are not thread-safe: run in the main thread."""
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        """Parameters: index layer, class/label fields, texts, language, PDF path."""
        self.addParameter(QgsProcessingParameterVectorLayer(
            self.INPUT, self.tr("Planning areas with index classes"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.CLASS_FIELD, self.tr("Class field"), "index_class", self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CLASS_LABEL_FIELD, self.tr("Class label field (legend text)"), "index_label",
            self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.LABEL_FIELD, self.tr("Area name field (map labels)"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.TITLE, self.tr("Title (empty: 'Social index' with place and year)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PLACE, self.tr("Municipality name for the title"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.YEAR, self.tr("Data year for the title"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.SUBTITLE, self.tr("Subtitle (empty: indicators and date)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.SOURCE_NOTE, self.tr("Data source note"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.LEGEND_TITLE, self.tr("Legend title (empty: 'Index class')"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.LANGUAGE, self.tr("Map language"),
            [self.tr("Automatic (German unless QGIS runs in English)"), "Deutsch", "English"],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.EXTENT_MODE, self.tr("Map extent"),
            [self.tr("All areas"), self.tr("Main part; far-away parts (e.g. islands) in an inset"),
             self.tr("The extent given below")], defaultValue=1))
        self.addParameter(QgsProcessingParameterExtent(
            self.EXTENT, self.tr("Extent (only for 'the extent given below')"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ADD_LAYOUT, self.tr("Also add the print layout to the project (to adjust it before printing)"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Council map (PDF)"), self.tr("PDF files (*.pdf)")))
        # QGIS's Results Viewer lists 'HTML' outputs with a link and opens them on a double click
        # (with the system's viewer, so a PDF opens as a PDF): the council map is one click away
        self.addOutput(QgsProcessingOutputHtml(self.PDF_RESULT, self.tr("Council map (PDF), to open")))

    def check_parameters(self, parameters, context):
        """Refuse a class field without any value: the map would show every area as 'not rated'."""
        from ..parameter_checks import field_values

        field = self.parameterAsString(parameters, self.CLASS_FIELD, context) or "index_class"
        try:
            layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        except Exception:  # noqa: BLE001 - QGIS reports an unreadable layer itself
            return None
        if layer is None or layer.fields().lookupField(field) < 0 or layer.featureCount() == 0:
            return None  # the run names a missing field or an empty layer
        values = layer.uniqueValues(layer.fields().lookupField(field))
        if all(v is None or (hasattr(v, "isNull") and v.isNull()) for v in values):
            return self.tr("Class field '{field}' of layer '{layer}' has no value in any area: the map would "
                           "show every area as 'not rated'. Choose the field that holds the classes (e.g. "
                           "index_class).", field=field, layer=layer.name())
        return None

    def run_algorithm(self, parameters, context, feedback):
        """Read the layer, decide texts and classes, build the layout, export the PDF."""
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(self.tr("Layer '{layer}' could not be read.",
                                                 layer=parameters.get(self.INPUT)))
        class_field = self.parameterAsString(parameters, self.CLASS_FIELD, context) or "index_class"
        class_label_field = self.parameterAsString(parameters, self.CLASS_LABEL_FIELD, context)
        label_field = self.parameterAsString(parameters, self.LABEL_FIELD, context)
        title = self.parameterAsString(parameters, self.TITLE, context)
        place = self.parameterAsString(parameters, self.PLACE, context)
        year = self.parameterAsString(parameters, self.YEAR, context)
        subtitle = self.parameterAsString(parameters, self.SUBTITLE, context)
        source_note = self.parameterAsString(parameters, self.SOURCE_NOTE, context)
        legend_title = self.parameterAsString(parameters, self.LEGEND_TITLE, context)
        choice = self.LANGUAGES[self.parameterAsEnum(parameters, self.LANGUAGE, context)]
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        lang = auto_language() if choice == "auto" else choice
        extent_mode = self.EXTENT_MODES[self.parameterAsEnum(parameters, self.EXTENT_MODE, context)]
        add_layout = self.parameterAsBoolean(parameters, self.ADD_LAYOUT, context)

        frame = source_to_gdf(layer, name=layer.name())
        require_not_empty(frame, layer.name())  # an empty map must not reach the council
        self._check_map_crs(frame, layer, feedback)
        require_fields(frame, [class_field], layer.name())
        if class_label_field and class_label_field not in frame.columns:
            class_label_field = None
        with language(lang):
            classes = map_classes(frame, class_field, class_label_field, lang=lang)
            spec = CouncilMapSpec(
                title=title or self._default_title(class_field, place, year, lang),
                subtitle=subtitle or default_subtitle(indicator_names(frame.columns), lang=lang),
                source_note=source_note or default_source_note(layer.name(), lang=lang),
                note=tr(self.MAP_NOTES[class_field], lang=lang) if class_field in self.MAP_NOTES
                else search_strategy_note(lang=lang),
                classes=classes, class_field=class_field, label_field=label_field or None,
                legend_title=legend_title or tr(self.LEGEND_TITLES.get(class_field, "Index class"), lang=lang),
                language=lang,
                reading_help=reading_help(len(indicator_names(frame.columns)), lang=lang, class_field=class_field)
                if indicator_names(frame.columns) else "")
            feedback.pushInfo(self.tr("Classes on the map: {summary}",
                                      summary=class_summary(classes, lang=lang)))
            rated = [c for c in classes if c.value is not None]
            if len(rated) > 9:
                feedback.pushWarning(self.tr(
                    "Field '{field}' gives {count} classes; more than 9 colours are hard to tell apart on a "
                    "printed map. Group the classes (e.g. the MSS status instead of status and dynamics) or "
                    "classify a continuous field first.", field=class_field, count=len(rated)))
            spec.extra.update(self._extent(parameters, context, extent_mode, frame, layer, feedback))
            project = QgsProject()
            map_layer = layer.clone()
            map_layer.setName(spec.title)
            project.addMapLayer(map_layer)
            style_index_layer(map_layer, classes, class_field, spec.label_field, lang=lang)
            layout = build_council_map(map_layer, spec, project)
            feedback.setProgress(60)
            error = export_pdf(layout, output)
            if not error and add_layout:
                self._add_layout_to_project(layer, classes, spec, context, feedback, lang)
        if error:
            raise QgsProcessingException(error)
        from qgis.PyQt.QtCore import QUrl

        final = self.final_path(os.path.abspath(output)) if hasattr(self, "final_path") else os.path.abspath(output)
        feedback.pushInfo(self.tr("Council map written to {path}", path=final))
        feedback.pushInfo(QUrl.fromLocalFile(final).toString())  # the log shows it as a link to open
        return {self.OUTPUT: output, self.PDF_RESULT: output}

    def _default_title(self, class_field, place, year, lang):
        """'Planungsschwerpunkte Musterstadt 2022' for a priorities map, the social index title else."""
        if class_field not in self.MAP_TITLES:
            return default_title(place, year, lang=lang)
        parts = [tr(self.MAP_TITLES[class_field], lang=lang)] + [str(p).strip() for p in (place, year) if p]
        return " ".join(parts)

    def _extent(self, parameters, context, mode, frame, layer, feedback):
        """What the map frame shows: everything, the main part with insets, or a given extent."""
        if mode == "given":
            if not parameters.get(self.EXTENT):
                raise QgsProcessingException(self.tr(
                    "Choose the extent of the map, or choose another option for the map extent."))
            rectangle = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
            return {"bounds": (rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(),
                               rectangle.yMaximum())}
        if mode == "all":
            return {}
        from ...core.map_extent import main_and_far_parts

        parts = main_and_far_parts(frame)
        if not parts.far:
            return {}
        feedback.pushInfo(self.tr("{n} far-away part(s) of the areas are shown in an inset, so the main "
                                  "part is drawn large.", n=len(parts.far)))
        return {"bounds": parts.main, "insets": parts.far}

    def _add_layout_to_project(self, layer, classes, spec, context, feedback, lang):
        """Add an editable copy of the layout (with a styled copy of the layer) to the project."""
        project = context.project()
        if project is None:
            feedback.pushWarning(self.tr("No project is open, so the print layout could not be added."))
            return None
        map_layer = layer.clone()
        map_layer.setName(spec.title)
        project.addMapLayer(map_layer)
        style_index_layer(map_layer, classes, spec.class_field, spec.label_field, lang=lang)
        layout = build_council_map(map_layer, spec, project)
        manager = project.layoutManager()
        name, n = spec.title, 2
        while manager.layoutByName(name) is not None:
            name, n = f"{spec.title} ({n})", n + 1
        layout.setName(name)
        manager.addLayout(layout)
        feedback.pushInfo(self.tr("The print layout '{name}' was added to the project (Project ▸ Layouts); "
                                  "its map layer '{layer}' is in the layer panel.", name=name,
                                  layer=map_layer.name()))
        return layout

    def _check_map_crs(self, frame, layer, feedback):
        """Warn about a CRS that is probably wrong, and about degrees (the map is drawn in metres)."""
        from ...core.crs_checks import check_area_of_use, crs_label
        from ..layout import map_crs_and_extent

        check_area_of_use(frame, layer.name(), core_feedback(feedback))
        if layer.crs().isValid() and layer.crs().isGeographic():
            target, _ = map_crs_and_extent(layer)
            feedback.pushWarning(self.tr(
                "Layer '{layer}' has the geographic CRS {crs} (degrees); the map is drawn in {target} so "
                "that the areas keep their shape and the scale bar shows metres. Reproject the layer to "
                "your municipality's CRS to choose it yourself.", layer=layer.name(),
                crs=crs_label(frame.crs), target=crs_label(target.authid())))
