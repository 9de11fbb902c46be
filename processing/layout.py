"""The council map: an A3 landscape print layout built with PyQGIS and exported to PDF.

What the map says (texts, classes, colours) is decided QGIS-free in ``core/mapping.py``;
this module only places it on the page, one function per layout item. Layouts are not
thread-safe: the calling algorithm declares ``FlagNoThreading``.

Page plan (millimetres, A3 landscape 420 x 297)::

    title / subtitle                                   (top band)
    +------------------------------------+  legend
    |  map                         north |  (class labels with counts)
    |                                    |
    | scale bar                          |  search-strategy note (framed)
    +------------------------------------+
    data source · date                                  (bottom band)
"""
import os
from dataclasses import dataclass, field

from qgis.core import (QgsApplication, QgsBasicNumericFormat, QgsCategorizedSymbolRenderer, QgsFillSymbol,
                       QgsLayoutExporter, QgsLayoutItemLabel, QgsLayoutItemLegend,
                       QgsLayoutItemMap, QgsLayoutItemPage, QgsLayoutItemPicture,
                       QgsLayoutItemScaleBar, QgsLayoutMeasurement, QgsLayoutPoint, QgsLayoutSize, QgsLegendRenderer,
                       QgsLegendStyle, QgsPalLayerSettings, QgsPrintLayout, QgsProject,
                       QgsRenderContext, QgsRendererCategory, QgsTextBufferSettings, QgsTextFormat, QgsUnitTypes,
                       QgsVectorLayerSimpleLabeling)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QFont

from ..core.i18n import tr
from ..core.mapping import legend_text

FONT = "DejaVu Sans"  # installed with QGIS on Debian (fonts-dejavu-core); has all umlauts
PAGE_W, PAGE_H = 420.0, 297.0
MARGIN = 12.0
MAP_X, MAP_Y, MAP_W, MAP_H = MARGIN, 38.0, 288.0, 232.0
PANEL_X = MAP_X + MAP_W + 8.0
PANEL_W = PAGE_W - MARGIN - PANEL_X
TEXT_COLOUR = QColor("#222222")
NORTH_ARROW = "arrows/NorthArrow_02.svg"


@dataclass
class CouncilMapSpec:
    """Everything the layout shows besides the layer itself."""

    title: str
    subtitle: str
    source_note: str
    note: str
    classes: list  # core.mapping.MapClass, most need first
    class_field: str
    label_field: str = None
    legend_title: str = ""
    reading_help: str = ""
    language: str = "de"
    extra: dict = field(default_factory=dict)


def _mm(x, y):
    return QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters)


def _size(w, h):
    return QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters)


def _font(size, bold=False):
    font = QFont(FONT)
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


def _text_format(size, bold=False, colour=TEXT_COLOUR):
    fmt = QgsTextFormat()
    fmt.setFont(_font(size, bold))
    fmt.setSize(size)
    fmt.setSizeUnit(QgsUnitTypes.RenderPoints)
    fmt.setColor(colour)
    return fmt


def class_expression(layer, class_field, index_field="index", included_field="included"):
    """Renderer expression: the class, or NULL where the area is not rated (as ``map_classes``)."""
    names = layer.fields().names()
    conditions = [f'"{class_field}" IS NOT NULL']
    if index_field in names:
        conditions.append(f'"{index_field}" IS NOT NULL')
    if included_field in names:
        conditions.append(f'coalesce("{included_field}", false)')
    if len(conditions) == 1:
        return f'"{class_field}"'
    return f'CASE WHEN {" AND ".join(conditions)} THEN "{class_field}" END'


def style_index_layer(layer, classes, class_field, label_field=None, lang=None):
    """Categorised fill by class (colours from ``core.mapping``), area names with a halo."""
    categories = []
    for entry in classes:
        symbol = QgsFillSymbol.createSimple({"color": entry.colour, "outline_color": "#ffffff",
                                             "outline_width": "0.25", "outline_width_unit": "MM"})
        value = entry.value.item() if hasattr(entry.value, "item") else entry.value
        categories.append(QgsRendererCategory("" if value is None else value, symbol,
                                              legend_text(entry, lang=lang)))
    layer.setRenderer(QgsCategorizedSymbolRenderer(class_expression(layer, class_field), categories))
    if label_field:
        settings = QgsPalLayerSettings()
        settings.fieldName = label_field
        settings.enabled = True
        settings.placement = QgsPalLayerSettings.OverPoint
        settings.centroidInside = True
        fmt = _text_format(7.5)
        buffer = QgsTextBufferSettings()
        buffer.setEnabled(True)
        buffer.setSize(0.7)
        buffer.setSizeUnit(QgsUnitTypes.RenderMillimeters)
        buffer.setColor(QColor(255, 255, 255, 220))
        fmt.setBuffer(buffer)
        settings.setFormat(fmt)
        layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
        layer.setLabelsEnabled(True)
    else:
        layer.setLabelsEnabled(False)
    layer.triggerRepaint()
    return layer


def _add_label(layout, text, x, y, w, h, size, bold=False, frame=False, halign=Qt.AlignLeft):
    item = QgsLayoutItemLabel(layout)
    item.setText(text)
    item.setFont(_font(size, bold))
    item.setFontColor(TEXT_COLOUR)
    item.setHAlign(halign)
    item.setVAlign(Qt.AlignTop)
    item.setMode(QgsLayoutItemLabel.ModeFont)
    if frame:
        item.setFrameEnabled(True)
        item.setFrameStrokeColor(QColor("#b2182b"))
        item.setFrameStrokeWidth(QgsLayoutMeasurement(0.5, QgsUnitTypes.LayoutMillimeters))
        item.setBackgroundEnabled(True)
        item.setBackgroundColor(QColor("#fff7ec"))
        item.setMarginX(3.0)
        item.setMarginY(3.0)
    layout.addLayoutItem(item)
    item.attemptMove(_mm(x, y))
    item.attemptResize(_size(w, h))
    return item


def add_title(layout, spec):
    """Title and subtitle in the top band."""
    _add_label(layout, spec.title, MARGIN, 10.0, PAGE_W - 2 * MARGIN, 14.0, 26, bold=True)
    return _add_label(layout, spec.subtitle, MARGIN, 25.0, PAGE_W - 2 * MARGIN, 10.0, 12)


def fit_extent(extent, aspect, margin=0.03):
    """``extent`` grown by ``margin`` on each side and widened to the frame's ``aspect``."""
    from qgis.core import QgsRectangle

    cx, cy = extent.center().x(), extent.center().y()
    w = max(extent.width(), 1.0) * (1 + 2 * margin)
    h = max(extent.height(), 1.0) * (1 + 2 * margin)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return QgsRectangle(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def map_crs_and_extent(layer):
    """The CRS to draw the map in and the layer's extent in it.

    The layer's own CRS when it is projected; for a geographic CRS (degrees) the UTM zone
    of the layer's centre (EPSG:25832/25833 in Germany), so areas keep their shape and the
    scale bar measures metres.
    """
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject

    from ..core.crs_checks import utm_crs_for

    crs = layer.crs()
    if not crs.isValid() or not crs.isGeographic():
        return crs, layer.extent()
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(layer.extent().center())
    target = QgsCoordinateReferenceSystem(utm_crs_for(centre.x(), centre.y()))
    extent = QgsCoordinateTransform(crs, target, QgsProject.instance()).transformBoundingBox(layer.extent())
    return target, extent


def _to_map_crs(bounds, layer, crs):
    """Layer-CRS bounds ``(xmin, ymin, xmax, ymax)`` as a rectangle in the map's CRS."""
    from qgis.core import QgsCoordinateTransform, QgsRectangle

    rectangle = QgsRectangle(*bounds)
    if layer.crs() == crs:
        return rectangle
    return QgsCoordinateTransform(layer.crs(), crs, QgsProject.instance()).transformBoundingBox(rectangle)


def add_map(layout, layer, bounds=None):
    """The classified map frame, zoomed to the layer (or to ``bounds`` in the layer's CRS, e.g.
    the main body of a municipality with far-away parts) with a small margin."""
    item = QgsLayoutItemMap(layout)
    item.setId("map")
    layout.addLayoutItem(item)
    item.attemptMove(_mm(MAP_X, MAP_Y))
    item.attemptResize(_size(MAP_W, MAP_H))
    crs, extent = map_crs_and_extent(layer)
    if bounds is not None:
        extent = _to_map_crs(bounds, layer, crs)
    item.setCrs(crs)
    item.setLayers([layer])
    item.setKeepLayerSet(True)
    item.setExtent(fit_extent(extent, MAP_W / MAP_H))
    item.setFrameEnabled(True)
    item.setFrameStrokeColor(QColor("#888888"))
    item.setBackgroundColor(QColor("#ffffff"))
    return item


INSET_W, INSET_H = 70.0, 52.0


def add_inset(layout, map_item, layer, bounds, number, spec):
    """A small framed map of a far-away part (e.g. an island) in the map's lower right corner
    (the scale bar has the left one), captioned so nobody reads its position as true."""
    x = MAP_X + MAP_W - (number + 1) * (INSET_W + 4.0)
    y = MAP_Y + MAP_H - INSET_H - 4.0
    inset = QgsLayoutItemMap(layout)
    inset.setId(f"inset_{number + 1}")
    layout.addLayoutItem(inset)
    inset.attemptMove(_mm(x, y))
    inset.attemptResize(_size(INSET_W, INSET_H))
    inset.setCrs(map_item.crs())
    inset.setLayers([layer])
    inset.setKeepLayerSet(True)
    inset.setExtent(fit_extent(_to_map_crs(bounds, layer, map_item.crs()), INSET_W / INSET_H, margin=0.15))
    inset.setFrameEnabled(True)
    inset.setFrameStrokeColor(QColor("#555555"))
    inset.setBackgroundColor(QColor("#ffffff"))
    caption = _add_label(layout, tr("Far-away part (position not to scale)", lang=spec.language),
                         x, y - 6.0, INSET_W, 5.5, 8)
    caption.setId(f"inset_caption_{number + 1}")
    return inset


def add_legend(layout, map_item, layer, spec):
    """Legend of the index classes (labels with number of areas), layer name hidden."""
    legend = QgsLayoutItemLegend(layout)
    legend.setId("legend")
    legend.setTitle(spec.legend_title)
    legend.setLinkedMap(map_item)
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.clear()
    node = root.addLayer(layer)
    QgsLegendRenderer.setNodeLegendStyle(node, QgsLegendStyle.Hidden)
    legend.model().refreshLayerLegend(node)
    legend.rstyle(QgsLegendStyle.Title).setFont(_font(14, bold=True))
    legend.rstyle(QgsLegendStyle.SymbolLabel).setFont(_font(11))
    legend.rstyle(QgsLegendStyle.Title).setMargin(QgsLegendStyle.Bottom, 4.0)
    legend.rstyle(QgsLegendStyle.Symbol).setMargin(QgsLegendStyle.Top, 2.5)
    legend.setSymbolWidth(12.0)
    legend.setSymbolHeight(8.0)
    legend.setFontColor(TEXT_COLOUR)
    legend.setWrapString("\n")
    legend.setResizeToContents(True)
    layout.addLayoutItem(legend)
    legend.attemptMove(_mm(PANEL_X, MAP_Y))
    _fit_legend(layout, legend, PANEL_W)
    return legend


def _fit_legend(layout, legend, width, smallest=7.0):
    """Shrink the legend text until the legend fits ``width`` mm. QGIS sizes a legend only
    after it was painted once, so a small preview render comes first."""
    from qgis.PyQt.QtCore import QSize

    size = legend.rstyle(QgsLegendStyle.SymbolLabel).font().pointSizeF()
    for _ in range(20):
        QgsLayoutExporter(layout).renderPageToImage(0, QSize(420, 297))
        legend.adjustBoxSize()
        if legend.sizeWithUnits().width() <= width or size <= smallest:
            break
        size -= 0.5
        legend.rstyle(QgsLegendStyle.SymbolLabel).setFont(_font(size))
    return size


def add_scale_bar(layout, map_item, spec):
    """A single-box scale bar in kilometres, bottom left inside the map frame."""
    bar = QgsLayoutItemScaleBar(layout)
    bar.setId("scalebar")
    bar.setStyle("Single Box")
    bar.setLinkedMap(map_item)
    bar.applyDefaultSize(QgsUnitTypes.DistanceKilometers)
    bar.setUnitLabel("km")
    bar.setNumberOfSegmentsLeft(0)
    bar.setNumberOfSegments(4)
    bar.setHeight(2.5)
    bar.setTextFormat(_text_format(9))
    if spec.language == "de":  # '2,5 km' on a German council map, not the C locale's '2.5'
        numbers = QgsBasicNumericFormat()
        numbers.setDecimalSeparator(",")
        numbers.setThousandsSeparator(".")
        bar.setNumericFormat(numbers)
    bar.setBackgroundEnabled(True)
    bar.setBackgroundColor(QColor(255, 255, 255, 200))
    layout.addLayoutItem(bar)
    bar.attemptMove(_mm(MAP_X + 4.0, MAP_Y + MAP_H - 16.0))
    bar.update()
    return bar


def _north_arrow_path():
    for folder in QgsApplication.svgPaths() + ["/usr/share/qgis/svg"]:
        path = os.path.join(folder, NORTH_ARROW)
        if os.path.exists(path):
            return path
    return None


def add_north_arrow(layout, map_item):
    """North arrow top right inside the map frame (a plain 'N ↑' when the SVG is missing)."""
    path = _north_arrow_path()
    x, y = MAP_X + MAP_W - 20.0, MAP_Y + 4.0
    if path is None:
        return _add_label(layout, "N\n\u2191", x, y, 16.0, 20.0, 16, bold=True, halign=Qt.AlignHCenter)
    picture = QgsLayoutItemPicture(layout)
    picture.setId("north")
    picture.setPicturePath(path)
    picture.setLinkedMap(map_item)
    picture.setNorthMode(QgsLayoutItemPicture.GridNorth)
    layout.addLayoutItem(picture)
    picture.attemptMove(_mm(x, y))
    picture.attemptResize(_size(14.0, 20.0))
    return picture


def add_notes(layout, spec, legend):
    """Reading help and the search-strategy note (framed) beside the map, source at the bottom."""
    note_h = 26.0
    note = _add_label(layout, spec.note, PANEL_X, MAP_Y + MAP_H - note_h, PANEL_W, note_h, 11,
                      bold=True, frame=True)
    note.setId("note")
    if spec.reading_help:
        help_item = _add_label(layout, spec.reading_help, PANEL_X, MAP_Y + MAP_H - note_h - 42.0,
                               PANEL_W, 38.0, 9.5)
        help_item.setId("reading_help")
    source = _add_label(layout, spec.source_note, MARGIN, MAP_Y + MAP_H + 3.0,
                        PAGE_W - 2 * MARGIN, 12.0, 9)
    source.setId("source")
    return note, source


def build_council_map(layer, spec, project=None):
    """Build the A3 landscape layout for ``layer`` (already styled) and return it.

    ``layer`` must belong to ``project`` (a private ``QgsProject`` by default), which the
    caller keeps alive until the export is done.
    """
    project = project or QgsProject.instance()
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    layout.setName(spec.title)
    layout.pageCollection().page(0).setPageSize("A3", QgsLayoutItemPage.Landscape)
    add_title(layout, spec)
    map_item = add_map(layout, layer, spec.extra.get("bounds"))
    for number, bounds in enumerate(spec.extra.get("insets", [])[:3]):  # at most three insets fit
        add_inset(layout, map_item, layer, bounds, number, spec)
    legend = add_legend(layout, map_item, layer, spec)
    add_scale_bar(layout, map_item, spec)
    add_north_arrow(layout, map_item)
    add_notes(layout, spec, legend)
    return layout


def export_pdf(layout, path, dpi=200):
    """Export ``layout`` to ``path``; returns None or an error text."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = dpi
    settings.rasterizeWholeImage = False
    settings.forceVectorOutput = False
    settings.appendGeoreference = True
    settings.exportMetadata = True
    settings.textRenderFormat = QgsRenderContext.TextFormatAlwaysText  # searchable, sharp text
    result = QgsLayoutExporter(layout).exportToPdf(path, settings)
    if result != QgsLayoutExporter.Success:
        return tr("The PDF could not be written to '{path}' (QGIS layout export error {code}). "
                  "Check that the folder exists, is writable and the file is not open.",
                  path=path, code=int(result))
    return None
