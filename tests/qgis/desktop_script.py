"""Run inside the real QGIS desktop (``qgis --code desktop_script.py``) by test_desktop.py.

Drives the installed plugin as a planner would: open the planning-cycle dock, create the
sample municipality, run the first steps with the parameters the dock pre-fills (aggregate
blocks → composite index → council map, each loaded like the dialog loads it), save the
project, reopen it and look at the dock again. Writes what a planner would see (layers,
renderers, roles, dock state, message log) to ``$KM_DESKTOP_OUT/result.json`` plus screenshots,
then leaves QGIS.
"""
import json
import os
import time
import traceback

from qgis.core import Qgis, QgsApplication, QgsMapLayer, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication

OUT = os.environ["KM_DESKTOP_OUT"]
LOG = []
QgsApplication.messageLog().messageReceived.connect(
    lambda message, tag, level: LOG.append([tag, int(level), message]))


def _shot(widget, name):
    """Save a screenshot of a widget for review."""
    QApplication.processEvents()
    path = os.path.join(OUT, "screenshots", name + ".png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    widget.grab().save(path)
    return path


def _describe(layer):
    """What a planner sees of a layer: name, renderer, legend labels."""
    info = {"name": layer.name(), "type": "raster" if layer.type() == QgsMapLayer.RasterLayer else "vector"}
    renderer = layer.renderer()
    info["renderer"] = renderer.type() if renderer is not None else None
    if layer.type() == QgsMapLayer.VectorLayer and renderer is not None:
        info["legend"] = [item.label() for item in renderer.legendSymbolItems()]
    return info


def _wait_for(condition, seconds=10.0):
    """Process events until ``condition()`` or the timeout."""
    end = time.time() + seconds
    for _ in range(20):  # let a refresh start before asking whether it is done
        QApplication.processEvents()
        time.sleep(0.02)
    while time.time() < end and not condition():
        QApplication.processEvents()
        time.sleep(0.05)


def main():
    """The guided first steps; every finding goes into the result."""
    from qgis.utils import iface, plugins

    import processing

    from kommunalmonitor.plugin import roles

    result = {"steps": []}
    project = QgsProject.instance()
    plugin = plugins["kommunalmonitor"]
    window = iface.mainWindow()
    window.resize(1500, 950)
    # tools that failed to load were logged before this script ran: ask the provider
    result["load_errors"] = list(getattr(plugin.provider, "load_errors", []) or [])
    result["algorithms"] = sorted(a.id() for a in plugin.provider.algorithms())
    result["dock_open_at_start"] = plugin.dock is not None and not plugin.dock.isHidden()
    from processing.gui.ProviderActions import ProviderContextMenuActions

    result["context_actions"] = [getattr(a, "name", "") for a in ProviderContextMenuActions.actions]
    dock = plugin.show_dock()
    result["dock_title"] = dock.windowTitle()
    result["dock_steps"] = [dock.toolbox.itemText(i) for i in range(dock.toolbox.count())]
    result["menu"] = [a.text() for a in plugin.actions]
    _shot(window, "01_dock_empty_project")

    folder = os.path.join(OUT, "musterstadt")
    group = plugin.create_sample(folder, n_blocks=800)
    result["sample_group"] = group.name() if group is not None else None
    tree = project.layerTreeRoot()
    result["sample_layers"] = [dict(_describe(n.layer()), visible=n.isVisible()) for n in group.findLayers()]
    result["roles_after_sample"] = {k: l.name() for k, l in roles.roles().items()}
    iface.mapCanvas().setExtent(roles.role_layer("planning_areas").extent())
    iface.mapCanvas().refreshAllLayers()
    _wait_for(lambda: not iface.mapCanvas().isDrawing(), 15)
    _shot(window, "02_sample_loaded")
    result["steps"].append("sample")

    # step 1a: a statistics table as an office sends it (cp1252, ';', a title row, '–' for a
    # suppressed value), joined with what the dock pre-fills: the planner only picks the file
    areas_layer = roles.role_layer("planning_areas")
    keys = sorted(f["plr_id"] for f in areas_layer.getFeatures())
    table = os.path.join(OUT, "arbeitslose_2022.csv")
    lines = ["Arbeitslose nach Planungsräumen, Stand 31.12.2022;;", "Planungsraum;Name;Arbeitslose"]
    lines += [f"{key};Gebiet {key};{'–' if n == 0 else 10 + n}" for n, key in enumerate(keys)]
    with open(table, "w", encoding="cp1252", newline="\r\n") as handle:
        handle.write("\n".join(lines) + "\n")
    importer = next(a for a in roles.STEPS[0].actions if a.algorithm_id.endswith("statisticsimport"))
    params = roles.dialog_parameters(importer)
    result["prefilled_import"] = sorted(params)
    params.update({"INPUT": table, "OUTPUT": os.path.join(OUT, "arbeitslose.gpkg")})
    out = processing.runAndLoadResults(importer.algorithm_id, params)
    result["import"] = {"matched": out["MATCHED"], "areas": areas_layer.featureCount(),
                        "unmatched_table": out["UNMATCHED_TABLE"],
                        "layer": _describe(roles.layer_for_result(out["OUTPUT"]))}
    result["steps"].append("import")

    # step 1b: aggregate blocks, with what the dock pre-fills plus what the planner picks
    step = roles.STEPS[0]
    aggregate = next(a for a in step.actions if a.algorithm_id.endswith("aggregatetoareas"))
    params = roles.dialog_parameters(aggregate)
    result["prefilled_aggregate"] = sorted(params)
    params.update({"COUNT_FIELDS": ["pop_2022", "pop_18_64_2022", "unemployed_2022", "transfer_recipients_2022"],
                   "RATES": "unemployment_rate = unemployed_2022 / pop_18_64_2022 * 100;\n"
                            "transfer_rate = transfer_recipients_2022 / pop_2022 * 100",
                   "OUTPUT": os.path.join(OUT, "aggregated.gpkg")})
    out = processing.runAndLoadResults(aggregate.algorithm_id, params)
    aggregated = roles.layer_for_result(out["OUTPUT"])
    dock.set_role("indicators", aggregated)
    result["aggregated"] = _describe(aggregated)
    result["steps"].append("aggregate")

    # step 2: composite index on the indicators layer
    dock.toolbox.setCurrentIndex(1)
    composite = next(a for a in roles.STEPS[1].actions if a.algorithm_id.endswith("compositeindex"))
    params = roles.dialog_parameters(composite)
    result["prefilled_index"] = params.copy()
    params.update({"INDICATORS": ["unemployment_rate", "transfer_rate"], "OUTPUT": os.path.join(OUT, "index.gpkg")})
    out = processing.runAndLoadResults(composite.algorithm_id, params)
    index = roles.layer_for_result(out["OUTPUT"])
    dock.set_role("index", index)
    result["index"] = _describe(index)
    result["steps"].append("index")
    _wait_for(lambda: not iface.mapCanvas().isDrawing(), 15)
    _shot(window, "03_index_styled")
    _shot(dock, "04_dock_after_index")

    # step 4: council map of the index (the map step falls back to the index layer)
    dock.toolbox.setCurrentIndex(3)
    council = next(a for a in roles.STEPS[3].actions if a.algorithm_id.endswith("councilmap"))
    params = roles.dialog_parameters(council)
    params["OUTPUT"] = os.path.join(OUT, "council_map.pdf")
    out = processing.run(council.algorithm_id, params)
    result["council_map_pdf"] = out.get("OUTPUT")
    result["steps"].append("council map")

    # save, clear, reopen: the dock shows the same roles and step again
    path = os.path.join(OUT, "musterstadt.qgz")
    result["saved"] = project.write(path)
    project.clear()
    QApplication.processEvents()
    result["after_clear"] = {"roles": sorted(roles.roles()), "step": dock.toolbox.currentIndex()}
    result["reopened"] = project.read(path)
    QApplication.processEvents()
    result["roles_after_reopen"] = {k: l.name() for k, l in roles.roles().items()}
    result["dock_after_reopen"] = {
        "step": dock.toolbox.currentIndex(),
        "combos": {key: [c.currentLayer().name() if c.currentLayer() else None for c in combos]
                   for key, combos in dock.combos.items()}}
    result["layer_order_after_reopen"] = [n.layer().name() for n in tree.findLayers()]
    _shot(window, "05_reopened_project")
    result["steps"].append("reopen")
    return result


def finish():
    """Run, write the result and leave QGIS without teardown dialogs."""
    try:
        result = main()
    except Exception:  # noqa: BLE001 - the test reads the traceback from the result
        result = {"error": traceback.format_exc()}
    result["log"] = LOG
    result["qgis_version"] = Qgis.QGIS_VERSION
    with open(os.path.join(OUT, "result.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, ensure_ascii=False, indent=1)
    os._exit(0)  # no 'save project?' dialog, no teardown: everything is written


QTimer.singleShot(1000, finish)
