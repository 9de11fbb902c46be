"""Styles for outputs: applied when QGIS loads the layer, and stored so files open styled.

Two routes, because each covers a case the other misses (see docs/platform.md):

* ``QgsProcessingLayerPostProcessorInterface`` styles the layer that the desktop loads after
  an algorithm ran. It runs in the main thread only when the output is loaded, and QGIS keeps
  no Python reference to it — so we keep one (``_POST_PROCESSORS``).
* ``save_default_style`` stores the style with the file: in the GeoPackage's
  ``layer_styles`` table (as default style) or as a ``.qml`` beside a shapefile/GeoJSON. This
  is what makes the files written by ``qgis_process`` (``make demo``) open styled.
"""
import os

from qgis.core import (QgsProcessingLayerPostProcessorInterface, QgsVectorLayer)

from .base import PLUGIN_DIR

STYLES_DIR = os.path.join(PLUGIN_DIR, "resources", "styles")

# QGIS holds post-processors by raw pointer: keep the Python objects alive.
_POST_PROCESSORS = []


def style_path(name):
    """Absolute path of a shipped ``.qml`` (``name`` with or without the extension)."""
    if not name.endswith(".qml"):
        name += ".qml"
    return os.path.join(STYLES_DIR, name)


def _file_of(dest_id):
    """(file path, layer name or None) behind an output id such as ``x.gpkg|layername=y``."""
    if not dest_id or dest_id.startswith("memory:"):
        return None, None
    path, _, options = str(dest_id).partition("|")
    layername = None
    for option in options.split("|"):
        if option.startswith("layername="):
            layername = option.split("=", 1)[1]
    return (path if os.path.exists(path) else None), layername


def apply_style(layer, style):
    """Apply a shipped ``.qml`` name, a ``.qml`` path, or a renderer-setting callable to ``layer``."""
    if callable(style):
        style(layer)
    else:
        path = style if os.path.isabs(str(style)) else style_path(style)
        layer.loadNamedStyle(path)
        localise_legend(layer)  # shipped .qml legends are English or bilingual
    layer.triggerRepaint()
    return layer


def save_default_style(layer_or_path, style=None, name="kommunalmonitor"):
    """Store ``layer``'s style (after applying ``style``, if given) so the file opens styled.

    GeoPackage → default style in its ``layer_styles`` table; other files → ``<file>.qml``
    beside it. Returns the place it was written to, or None for layers without a file.
    """
    layer = layer_or_path
    if isinstance(layer_or_path, str):
        layer = QgsVectorLayer(layer_or_path, name, "ogr")
    if layer is None or not layer.isValid():
        return None
    if style is not None:
        apply_style(layer, style)
    path, _ = _file_of(layer.source())
    if path is None:
        return None
    if path.lower().endswith(".gpkg"):
        # QGIS 3.22 blocks when saving over a style of the same name: replace it explicitly
        _, ids, names, _, _ = layer.listStylesInDatabase()
        for style_id, style_name in zip(ids or [], names or []):
            if style_name == name:
                layer.deleteStyleFromDatabase(style_id)
        layer.saveStyleToDatabase(name, "Kommunalmonitor", True, "")
        return path + "#layer_styles"
    target = os.path.splitext(path)[0] + ".qml"
    layer.saveNamedStyle(target)
    return target


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies a style (``.qml`` name/path or callable) to an output layer the desktop loads."""

    def __init__(self, style):
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        """Called by QGIS in the main thread once the output layer is loaded."""
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            apply_style(layer, self.style)


def register_output_style(context, dest_id, style, display_name=None, save=True):
    """Style an algorithm output both ways: on loading (desktop) and stored with the file.

    Parameters
    ----------
    context : QgsProcessingContext
    dest_id : str
        What ``gdf_to_sink`` returned (the sink is already closed).
    style : str or callable
        A shipped ``.qml`` name, a path, or ``callable(layer)`` setting the renderer.
    display_name : str, optional
        Layer name used while saving the style.
    save : bool
        Also store the style with the file (GeoPackage ``layer_styles`` or ``.qml`` beside it).
    """
    if save:
        path, layername = _file_of(dest_id)
        if path is not None:
            uri = path + (f"|layername={layername}" if layername else "")
            save_default_style(QgsVectorLayer(uri, display_name or "output", "ogr"), style)
    if context is not None and context.willLoadLayerOnCompletion(dest_id):
        from .outputs import attach_post_processor

        processor = StylePostProcessor(style)
        _POST_PROCESSORS.append(processor)
        attach_post_processor(context, dest_id, processor)  # once the staged outputs are final


def index_classes_style(layer, class_field="index_class", label_field="index_label",
                        name_field=None, lang=None):
    """Style an index layer from its own data, as on the council map: classes ordered by need
    (colour-blind-safe diverging colours), legend texts with the number of areas, grey for
    areas not rated, optional area names. Usable as ``style`` in ``register_output_style``.
    """
    from ..core.i18n import get_language, language
    from ..core.mapping import map_classes
    from .bridge import source_to_gdf
    from .layout import style_index_layer

    names = layer.fields().names()
    if class_field not in names:
        return apply_style(layer, "index_classes.qml")
    fields = [f for f in (class_field, label_field, "index", "included") if f and f in names]
    frame = source_to_gdf(layer, fields=fields, name=layer.name())
    lang = lang or get_language()
    with language(lang):
        classes = map_classes(frame, class_field, label_field if label_field in names else None,
                              lang=lang)
        return style_index_layer(layer, classes, class_field,
                                 name_field if name_field in names else None, lang=lang)


# --- legends in the interface language -------------------------------------------------------

def _label_in_language(label, lang=None):
    """A legend label in the interface language.

    Shipped ``.qml`` files carry either an English label (translated through the catalogue) or
    both languages as ``"German / English"`` or ``"English / German"``; the catalogue (English →
    German) tells which half is which.
    """
    from ..core.i18n import _catalogue, get_language, tr

    lang = lang or get_language()
    if not label:
        return label
    german = _catalogue("de")
    if " / " in label:
        first, _, second = label.partition(" / ")
        for english, other in ((second, first), (first, second)):
            if german.get(english) == other:
                return other if lang == "de" else english
    return tr(label, lang=lang)


def localise_legend(layer, lang=None):
    """Put every legend label of a categorized, graduated or rule-based renderer into the
    interface language (see ``_label_in_language``); other renderers stay as they are."""
    renderer = layer.renderer() if hasattr(layer, "renderer") else None
    if renderer is None:
        return layer
    kind = renderer.type()
    if kind == "categorizedSymbol":
        for i, category in enumerate(renderer.categories()):
            renderer.updateCategoryLabel(i, _label_in_language(category.label(), lang))
    elif kind == "graduatedSymbol":
        for i, band in enumerate(renderer.ranges()):
            renderer.updateRangeLabel(i, _label_in_language(band.label(), lang))
    elif kind == "RuleRenderer":
        for rule in renderer.rootRule().descendants():
            rule.setLabel(_label_in_language(rule.label(), lang))
    return layer


# --- styles computed from the output's own values ---------------------------------------------

# ColorBrewer YlOrRd 5 (sequential, colour-blind safe): low values light, high values dark.
SEQUENTIAL = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


def graduated_style(fields, classes=5, high_is_good=False):
    """A style callable: quantile classes of the first of ``fields`` that the layer has with at
    least two different values, legend labels as value ranges in the interface's number
    notation (``1.234,5 – 2.345,6``). Dark means 'look here': high values, or low ones when
    ``high_is_good`` (e.g. places per child). Areas without a value are not drawn; with no
    field to classify the areas are drawn as outlines."""
    from ..core.i18n import format_number

    def style(layer):
        import numpy as np
        from qgis.core import (QgsClassificationQuantile, QgsFillSymbol, QgsGraduatedSymbolRenderer,
                               QgsMarkerSymbol, QgsRendererRange, QgsSingleSymbolRenderer, QgsWkbTypes)

        names = layer.fields().names()
        for field in [f for f in fields if f and f in names]:
            index = layer.fields().indexOf(field)
            values = np.array([v for v in (f.attributes()[index] for f in layer.getFeatures())
                               if isinstance(v, (int, float)) and not isinstance(v, bool)], dtype=float)
            values = values[np.isfinite(values)]
            if len(np.unique(values)) < 2:
                continue
            breaks = np.unique(np.quantile(values, np.linspace(0, 1, classes + 1)))
            decimals = 0 if np.all(values == np.round(values)) and breaks.max() >= 10 else 1
            colours = SEQUENTIAL if len(breaks) - 1 == len(SEQUENTIAL) else \
                [SEQUENTIAL[int(round(i))] for i in np.linspace(0, len(SEQUENTIAL) - 1, len(breaks) - 1)]
            if high_is_good:
                colours = list(reversed(colours))
            point = layer.geometryType() == QgsWkbTypes.PointGeometry
            ranges = []
            for k, colour in enumerate(colours):
                low, high = float(breaks[k]), float(breaks[k + 1])
                if point:
                    symbol = QgsMarkerSymbol.createSimple({"color": colour, "outline_color": "#555555"})
                else:
                    symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#7f7f7f",
                                                         "outline_width": "0.2"})
                label = f"{format_number(low, decimals)} – {format_number(high, decimals)}"
                ranges.append(QgsRendererRange(low, high, symbol, label))
            renderer = QgsGraduatedSymbolRenderer(field, ranges)
            renderer.setClassificationMethod(QgsClassificationQuantile())
            layer.setRenderer(renderer)
            layer.setCustomProperty("kommunalmonitor/legend_field", field)
            return layer
        if layer.geometryType() == QgsWkbTypes.PolygonGeometry:  # nothing to classify: outlines
            layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
                {"color": "0,0,0,0", "outline_color": "#3c3c3c", "outline_width": "0.4"})))
        return layer

    return style


def status_dynamics_style(layer):
    """Status classes of the MSS method (1 high … 4 very low) from the layer's own labels, most
    need first, with the number of areas; areas not rated in grey."""
    return index_classes_style(layer, class_field="status_class", label_field="status_label")


# --- loading several outputs as one ordered group ----------------------------------------------

class GroupPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Moves a loaded output into a named group at the top of the layer tree, ordered by ``rank``
    (lower = higher up), optionally switched off (rasters would hide everything below)."""

    def __init__(self, group_name, rank, visible=True):
        super().__init__()
        self.group_name = group_name
        self.rank = rank
        self.visible = visible

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        """Called by QGIS in the main thread once the layer is in the project."""
        project = context.project()
        if project is None or layer is None:
            return
        place_in_group(project, layer, self.group_name, self.rank, self.visible)


def place_in_group(project, layer, group_name, rank, visible=True):
    """Put ``layer`` into the group ``group_name`` (created at the top) before every member of a
    higher rank; the rank is kept on the layer so later members find their place."""
    root = project.layerTreeRoot()
    group = root.findGroup(group_name) or root.insertGroup(0, group_name)
    node = root.findLayer(layer.id())
    layer.setCustomProperty("kommunalmonitor/rank", rank)
    position = 0
    for child in group.children():
        other = getattr(child, "layer", lambda: None)()
        other_rank = other.customProperty("kommunalmonitor/rank", 0) if other is not None else -1
        if other is not None and other is not layer and float(other_rank) <= rank:
            position += 1
    clone = group.insertLayer(position, layer)
    clone.setItemVisibilityChecked(visible)
    if node is not None and node.parent() is not None:
        node.parent().removeChildNode(node)
    return clone


def group_on_loading(context, dest_id, group_name, rank, visible=True):
    """Load ``dest_id`` into the group when the desktop loads the outputs."""
    if context is None or not context.willLoadLayerOnCompletion(dest_id):
        return
    from .outputs import attach_post_processor

    processor = GroupPostProcessor(group_name, rank, visible)
    _POST_PROCESSORS.append(processor)
    attach_post_processor(context, dest_id, processor)  # once the staged outputs are final
