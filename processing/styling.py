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
