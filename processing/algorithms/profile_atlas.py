"""Processing adapter: the profile atlas (one A4 PDF page per planning area).

``ProfileInputs`` holds the parameters and reading shared with the web atlas
(``web_atlas.py``): areas, fields, indicators, counts, publication minimum, priority fields,
time series, target status and facility layers.
"""
import numpy as np
import pandas as pd
from qgis.core import (QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ...core.errors import InputError
from ...core.i18n import tr
from ...core.priorities.profiles import parse_labels
from ...core.profiles.content import IndicatorSpec, ProfileOptions, build_profiles
from ...core.profiles.pdf import AtlasOptions, Facility, write_atlas
from ...core.profiles.reference import reference_messages
from ..base import KommunalmonitorAlgorithm, core_feedback
from ..bridge import source_to_gdf

# Columns of a priority table (kommunalmonitor:planningpriorities) used when the layer has them.
PRIORITY_COLUMNS = ("priority", "priority_label", "reasons_en", "reasons_de", "index", "index_class", "robustness")
FACILITY_STYLE = [("^", "#0072B2"), ("o", "#009E73"), ("s", "#CC79A7"), ("D", "#E69F00")]


def parse_counts(text):
    """'u6_share = unter6 / Gesamt; …' → {indicator: (numerator, base)}."""
    counts = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        field, sep, rest = part.partition("=")
        num, slash, den = rest.partition("/")
        if not sep or not slash or not field.strip() or not num.strip() or not den.strip():
            raise InputError(tr("Cannot read the counts '{part}'; write for example "
                                "'child_share = children / residents'.", part=part.strip()))
        counts[field.strip()] = (num.strip(), den.strip())
    return counts


def _layer_title(layer, context):
    """The layer's name in the project, or its table name when given as a path
    ('file.gpkg|layername=schools' is named after the file otherwise)."""
    from qgis.core import QgsProviderRegistry

    project = context.project() if context else None
    if project is not None and project.mapLayer(layer.id()) is not None:
        return layer.name()
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    return parts.get("layerName") or layer.name()


class ProfileInputs:
    """Parameters and reading shared by the profile atlas and the web atlas."""

    INPUT = "INPUT"
    ID_FIELD = "ID_FIELD"
    NAME_FIELD = "NAME_FIELD"
    DISTRICT_FIELD = "DISTRICT_FIELD"
    POPULATION_FIELD = "POPULATION_FIELD"
    INDICATORS = "INDICATORS"
    BETTER_HIGH = "BETTER_HIGH"
    LABELS = "LABELS"
    COUNTS = "COUNTS"
    MIN_COUNT = "MIN_COUNT"
    SERIES = "SERIES"
    STATUS = "STATUS"
    FACILITIES = "FACILITIES"
    TITLE = "TITLE"
    SOURCE_NOTE = "SOURCE_NOTE"
    REFERENCE_DATE = "REFERENCE_DATE"
    PERIOD = "PERIOD"

    def add_profile_parameters(self):
        """The shared parameters."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Planning areas (with indicators; priority fields are used when present)"),
            [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.ID_FIELD, self.tr("Area id field"), None, self.INPUT))
        self.addParameter(QgsProcessingParameterField(
            self.NAME_FIELD, self.tr("Area name field"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.DISTRICT_FIELD, self.tr("District field (district averages)"), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.POPULATION_FIELD, self.tr("Residents field"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.INDICATORS, self.tr("Indicator fields"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.BETTER_HIGH, self.tr("Indicators where a high value is favourable"), None, self.INPUT,
            QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.LABELS, self.tr("Indicator names, e.g. 'S4 = Kinderarmut / child poverty; S1 = Arbeitslosigkeit'"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.COUNTS, self.tr("Counts behind indicators, e.g. 'child_share = children / residents'"),
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_COUNT, self.tr("Smallest count that may be published (0 = no suppression)"),
            QgsProcessingParameterNumber.Integer, 3, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SERIES, self.tr("Time series table (area_id, period, indicator, value [, numerator, base])"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.STATUS, self.tr("Target status table (area_id, indicator, status [, target, significant])"),
            [QgsProcessing.TypeVector], optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.FACILITIES, self.tr("Facilities shown on the detail maps (point layers, e.g. schools, kitas)"),
            QgsProcessing.TypeVectorPoint, optional=True))
        self.addParameter(QgsProcessingParameterString(self.TITLE, self.tr("Title"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.SOURCE_NOTE, self.tr("Data sources"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.REFERENCE_DATE, self.tr("Reference date of the data"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Period label of the layer's values (default: the reference date)"), optional=True))

    def read_profiles(self, parameters, context, feedback):
        """Read everything and build the profile content; returns (content, facilities)."""
        def text(name):
            return self.parameterAsString(parameters, name, context) or None

        indicators = self.parameterAsFields(parameters, self.INDICATORS, context)
        better = set(self.parameterAsFields(parameters, self.BETTER_HIGH, context) or [])
        unknown = sorted(better - set(indicators))
        if unknown:
            raise InputError(tr("Field(s) {fields} are marked as favourable but are not among the indicator "
                                "fields; add them to the indicators or remove the mark.", fields=", ".join(unknown)))
        labels = parse_labels(text(self.LABELS))
        counts = parse_counts(text(self.COUNTS))
        missing = sorted(set(counts) - set(indicators))
        if missing:
            raise InputError(tr("Counts are given for {fields}, which are not among the indicator fields.",
                                fields=", ".join(missing)))
        frame = self.read_source(parameters, self.INPUT, context, feedback, projected=True)
        specs = [IndicatorSpec(f, labels.get(f, {}).get("en"), labels.get(f, {}).get("de"),
                               higher_is_worse=f not in better,
                               numerator=counts.get(f, (None, None))[0], base=counts.get(f, (None, None))[1])
                 for f in indicators]
        options = ProfileOptions(
            id_field=text(self.ID_FIELD), indicators=specs, name_field=text(self.NAME_FIELD),
            district_field=text(self.DISTRICT_FIELD), population_field=text(self.POPULATION_FIELD),
            min_count=self.parameterAsInt(parameters, self.MIN_COUNT, context),
            reference_date=text(self.REFERENCE_DATE) or "", source=text(self.SOURCE_NOTE) or "",
            title=text(self.TITLE) or "")
        present = [c for c in PRIORITY_COLUMNS if c in frame.columns]
        ranking = pd.DataFrame({c: frame[c].to_numpy() for c in present}) if present else None
        if present:
            feedback.pushInfo(self.tr("Priority fields used: {fields}", fields=", ".join(present)))
        series = self.read_table(parameters, self.SERIES, context)
        status = self.read_table(parameters, self.STATUS, context)
        frame = frame.reset_index(drop=True)
        content = build_profiles(frame, options, ranking=ranking, series=series, status=status)
        hidden = content.diagnostics["suppressed_values"]
        if hidden:
            feedback.pushInfo(self.tr("{n} value(s) are below the publication minimum and are not shown.", n=hidden))
        unknown = content.diagnostics.get("series_unknown_areas") or []
        if unknown:  # e.g. a series on the areas before a boundary change: those periods stay empty
            feedback.pushWarning(self.tr(
                "{rows} row(s) of the time series belong to {n} area(s) that are not in the layer (e.g. {examples}) "
                "and are not shown; give the series on the layer's areas (e.g. moved to the new areas after a "
                "boundary change).", rows=content.diagnostics["series_unknown_rows"], n=len(unknown),
                examples=", ".join(unknown[:3])))
        if content.diagnostics.get("status_unknown_rows"):
            feedback.pushWarning(self.tr(
                "{rows} row(s) of the target status table name an area or indicator the atlas does not have and are "
                "not shown; check area_id (leading zeros) and indicator against the layer's id and indicator fields.",
                rows=content.diagnostics["status_unknown_rows"]))
        warnings, notes = reference_messages(content)  # how each 'city average' was computed, where it matters
        for text in warnings:
            feedback.pushWarning(text)
        for text in notes:
            feedback.pushInfo(text)
        return content, self._facilities(parameters, context, frame)

    def _facilities(self, parameters, context, frame):
        """Point layers → Facility objects in the areas' CRS."""
        from ...core.geometry_arrays import reproject

        out = []
        for k, layer in enumerate(self.parameterAsLayerList(parameters, self.FACILITIES, context) or []):
            points = source_to_gdf(layer, fields=[], name=layer.name())
            if not len(points):
                continue
            if points.crs is not None and frame.crs is not None and points.crs != frame.crs:
                points = reproject(points, frame.crs)
            geoms = points.geometry
            xy = np.array([(g.x, g.y) if g is not None and not g.is_empty and g.geom_type == "Point"
                           else (g.representative_point().x, g.representative_point().y) if g is not None
                           and not g.is_empty else (np.nan, np.nan) for g in geoms])
            marker, colour = FACILITY_STYLE[k % len(FACILITY_STYLE)]
            name = _layer_title(layer, context)
            out.append(Facility(name, name, xy[np.isfinite(xy).all(axis=1)], marker, colour))
        return out


class ProfileAtlas(ProfileInputs, KommunalmonitorAlgorithm):
    """One A4 page per planning area: maps, spine chart, time series, priority and reasons."""

    ALGORITHM_ID = "profileatlas"
    DISPLAY_NAME = "Area profiles (PDF atlas)"
    GROUP_ID = "maps"
    TAGS = ("Steckbrief", "profile", "Atlas", "PDF", "Gebietsprofil", "area profile", "Gremium")

    LANGUAGE = "LANGUAGE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        """Shared profile parameters, language and the PDF path."""
        self.add_profile_parameters()
        self.addParameter(QgsProcessingParameterEnum(
            self.LANGUAGE, self.tr("Language of the atlas"), ["Deutsch", "English"], defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Profile atlas (PDF)"), self.tr("PDF files (*.pdf)")))
        self.addOutput(QgsProcessingOutputNumber("PAGES", self.tr("Pages")))

    def run_algorithm(self, parameters, context, feedback):
        """Build the profile content and write the PDF."""
        lang = ("de", "en")[self.parameterAsEnum(parameters, self.LANGUAGE, context)]
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        content, facilities = self.read_profiles(parameters, context, feedback)
        period = self.parameterAsString(parameters, self.PERIOD, context) or ""
        info = write_atlas(content, output, AtlasOptions(lang=lang, facilities=facilities, period=period),
                           feedback=core_feedback(feedback))
        feedback.pushInfo(self.tr("{pages} pages written ({areas} area profiles).", pages=info["pages"],
                                  areas=info["areas"]))
        return {self.OUTPUT: output, "PAGES": info["pages"]}
