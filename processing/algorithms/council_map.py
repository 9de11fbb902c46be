"""Processing adapter: the council map (A3 landscape PDF) of an index layer."""
import os

from qgis.core import (QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingParameterEnum, QgsProcessingParameterField,
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
    OUTPUT = "OUTPUT"

    LANGUAGES = ("auto", "de", "en")

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
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Council map (PDF)"), self.tr("PDF files (*.pdf)")))

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

        frame = source_to_gdf(layer, name=layer.name())
        require_not_empty(frame, layer.name())  # an empty map must not reach the council
        self._check_map_crs(frame, layer, feedback)
        require_fields(frame, [class_field], layer.name())
        if class_label_field and class_label_field not in frame.columns:
            class_label_field = None
        with language(lang):
            classes = map_classes(frame, class_field, class_label_field, lang=lang)
            spec = CouncilMapSpec(
                title=title or default_title(place, year, lang=lang),
                subtitle=subtitle or default_subtitle(indicator_names(frame.columns), lang=lang),
                source_note=source_note or default_source_note(layer.name(), lang=lang),
                note=search_strategy_note(lang=lang),
                classes=classes, class_field=class_field, label_field=label_field or None,
                legend_title=legend_title or tr("Index class", lang=lang), language=lang,
                reading_help=reading_help(len(indicator_names(frame.columns)), lang=lang)
                if indicator_names(frame.columns) else "")
            feedback.pushInfo(self.tr("Classes on the map: {summary}",
                                      summary=class_summary(classes, lang=lang)))
            project = QgsProject()
            map_layer = layer.clone()
            map_layer.setName(spec.title)
            project.addMapLayer(map_layer)
            style_index_layer(map_layer, classes, class_field, spec.label_field, lang=lang)
            layout = build_council_map(map_layer, spec, project)
            feedback.setProgress(60)
            error = export_pdf(layout, output)
        if error:
            raise QgsProcessingException(error)
        feedback.pushInfo(self.tr("Council map written to {path}", path=os.path.abspath(output)))
        return {self.OUTPUT: output}

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
