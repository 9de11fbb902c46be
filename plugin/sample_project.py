"""Musterstadt as a ready QGIS project: every layer in one group, styled, in a sensible order.

Order from top to bottom: boundaries and planning areas as outlines (so they stay visible over
everything), points, lines, the blocks, and the rasters at the bottom in their own group,
switched off (a raster switched on would hide everything below it). The planning areas and
blocks take their roles in the dock. The project can then be saved as a ``.qgz`` next to the
data (file-based layers only, so it reopens as it was).
"""
import os

from qgis.core import (QgsApplication, QgsLayerTreeGroup, QgsProcessingContext, QgsProcessingFeedback,
                       QgsProject, QgsRasterLayer, QgsVectorLayer)

from ..core.i18n import tr
from . import roles as role_store

SAMPLE_ALGORITHM = "kommunalmonitor:samplemunicipality"

# (GeoPackage layer, English layer name), top to bottom
VECTOR_LAYERS = (
    ("city_boundary", "Musterstadt city boundary (synthetic)"),
    ("districts", "Musterstadt districts (synthetic)"),
    ("planning_areas", "Musterstadt planning areas (synthetic)"),
    ("schools", "Musterstadt schools (synthetic)"),
    ("kitas", "Musterstadt day-care centres (synthetic)"),
    ("rivers", "Musterstadt rivers (synthetic)"),
    ("railways", "Musterstadt railways (synthetic)"),
    ("roads", "Musterstadt roads (synthetic)"),
    ("blocks", "Musterstadt blocks (synthetic)"),
)
RASTER_LAYERS = (
    ("noise", "Musterstadt road noise Lden (synthetic)"),
    ("heat", "Musterstadt surface heat (synthetic)"),
    ("green", "Musterstadt green cover (synthetic)"),
    ("impervious", "Musterstadt impervious surface (synthetic)"),
)


def create_sample(folder, n_blocks=None, seed=None, feedback=None):
    """Run the sample algorithm into ``folder``; returns its results (file paths)."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(SAMPLE_ALGORITHM)
    if algorithm is None:
        raise RuntimeError(tr("The Kommunalmonitor tools are not loaded; restart QGIS."))
    parameters = {"OUTPUT_FOLDER": folder}
    if n_blocks:
        parameters["N_BLOCKS"] = n_blocks
    if seed is not None:
        parameters["SEED"] = seed
    feedback = feedback or QgsProcessingFeedback()
    results, ok = algorithm.run(parameters, QgsProcessingContext(), feedback)
    if not ok:
        reason = feedback.textLog().strip().splitlines()[-1:] if hasattr(feedback, "textLog") else []
        raise RuntimeError(tr("The sample municipality could not be created in {folder}.", folder=folder)
                           + (" " + reason[0] if reason else ""))
    return results


def load_sample(folder, project=None):
    """Load Musterstadt from ``folder`` into ``project`` as one group; returns the group.

    An earlier Musterstadt group of this project is replaced, so loading twice does not
    duplicate layers.
    """
    project = project if project is not None else QgsProject.instance()
    gpkg = os.path.join(folder, "musterstadt.gpkg")
    if not os.path.exists(gpkg):
        raise FileNotFoundError(gpkg)
    root = project.layerTreeRoot()
    name = tr("Musterstadt (synthetic)")
    old = root.findGroup(name)
    if old is not None:
        project.removeMapLayers([layer.layerId() for layer in old.findLayers()])
        root.removeChildNode(old)
    group = root.insertGroup(0, name)
    loaded = {}
    for layer_name, english in VECTOR_LAYERS:
        layer = QgsVectorLayer(f"{gpkg}|layername={layer_name}", tr(english), "ogr")
        if not layer.isValid():
            continue  # older samples lack some layers
        project.addMapLayer(layer, False)
        group.addLayer(layer)
        loaded[layer_name] = layer
    from ..core.sample import RASTER_FILES

    rasters = group.addGroup(tr("Rasters (synthetic)"))
    for key, english in RASTER_LAYERS:
        path = os.path.join(folder, RASTER_FILES[key])
        layer = QgsRasterLayer(path, tr(english))
        if not layer.isValid():
            continue
        project.addMapLayer(layer, False)
        node = rasters.addLayer(layer)
        node.setItemVisibilityChecked(False)  # rasters hide what lies below: off until wanted
        loaded[key] = layer
    rasters.setItemVisibilityChecked(False)
    rasters.setExpanded(False)
    group.setExpanded(True)
    if "planning_areas" in loaded:
        role_store.set_role("planning_areas", loaded["planning_areas"], project)
    if "blocks" in loaded:
        role_store.set_role("blocks", loaded["blocks"], project)
    if loaded:
        project.setCrs(next(iter(loaded.values())).crs())
    return group


def sample_layers(group):
    """The layers of a loaded sample group, top to bottom (tests and the dock)."""
    return [node.layer() for node in group.findLayers()] if isinstance(group, QgsLayerTreeGroup) else []
