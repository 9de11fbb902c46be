"""The planning-cycle dock and its roles, headless: roles stored in and restored from the
project file, dialog parameters resolved from the roles, unavailable tools disabled, the
sample municipality loaded as one ordered group."""
import pytest

from kommunalmonitor.core import i18n


def _areas(name="Planungsräume", fields=("fid", "plr_id", "EW_2022", "EW_2020")):
    from qgis.core import QgsVectorLayer

    spec = "&".join(f"field={f}:{'string' if f == 'plr_id' else 'integer'}" for f in fields)
    layer = QgsVectorLayer(f"Polygon?crs=EPSG:25832&{spec}", name, "memory")
    assert layer.isValid()
    return layer


def test_every_step_and_role_text_has_a_german_translation():
    from kommunalmonitor.plugin import roles

    german = i18n._catalogue("de")
    missing = [t for t in roles.texts() if t and t not in german]
    assert not missing


def test_guesses_never_take_fid_and_prefer_the_latest_year(qgis_app):
    from kommunalmonitor.plugin.roles import guess_id_field, guess_population_field

    layer = _areas()
    assert guess_id_field(layer) == "plr_id"
    assert guess_population_field(layer) == "EW_2022"
    only_fid = _areas(fields=("fid", "name_x"))
    assert guess_population_field(only_fid) is None
    assert guess_id_field(only_fid) != "fid"


def test_roles_survive_saving_and_reopening_the_project(qgis_app, tmp_path):
    from qgis.core import QgsProject, QgsVectorFileWriter, QgsVectorLayer

    from kommunalmonitor.plugin import roles

    memory = _areas()
    path = str(tmp_path / "areas.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    QgsVectorFileWriter.writeAsVectorFormatV2(memory, path, QgsProject.instance().transformContext(), options)
    project = QgsProject()
    layer = QgsVectorLayer(path, "Planungsräume", "ogr")
    project.addMapLayer(layer)
    roles.set_role("planning_areas", layer, project)
    roles.set_role("indicators", layer, project)
    roles.set_step(2, project)
    project_path = str(tmp_path / "plan.qgz")
    assert project.write(project_path)

    reopened = QgsProject()
    assert reopened.read(project_path)
    found = roles.roles(reopened)
    assert set(found) == {"planning_areas", "indicators"}
    assert found["planning_areas"].source().split("|")[0] == path
    assert roles.current_step(reopened) == 2
    roles.set_role("indicators", None, reopened)
    assert "indicators" not in roles.roles(reopened)


def test_dialog_parameters_come_from_the_roles_and_skip_unknown_parameters(qgis_app):
    from qgis.core import QgsProject

    from kommunalmonitor.plugin import roles

    project = QgsProject()
    areas, blocks = _areas(), _areas("Blöcke")
    project.addMapLayers([areas, blocks])
    roles.set_role("planning_areas", areas, project)
    roles.set_role("blocks", blocks, project)
    action = next(a for s in roles.STEPS for a in s.actions if a.algorithm_id.endswith("aggregatetoareas"))
    params = roles.dialog_parameters(action, project)
    assert params == {"BLOCKS": blocks.id(), "AREAS": areas.id(), "AREA_ID_FIELD": "plr_id"}
    # the map step falls back to the index layer when no priorities layer is set
    roles.set_role("index", areas, project)
    council = next(a for s in roles.STEPS for a in s.actions if a.algorithm_id.endswith("councilmap"))
    assert roles.dialog_parameters(council, project)["INPUT"] == areas.id()
    # the monitoring tools read the series (e.g. the statistics import's long output)
    from qgis.core import QgsVectorLayer

    series = QgsVectorLayer("None?field=PLR_ID:string&field=indicator:string&field=period:string"
                            "&field=value:double", "Zeitreihe", "memory")
    project.addMapLayer(series)
    roles.set_role("series", series, project)
    change = next(a for s in roles.STEPS for a in s.actions if a.algorithm_id.endswith("serieschange"))
    if roles.algorithm_available(change.algorithm_id):
        assert roles.dialog_parameters(change, project) == {
            "OBSERVATIONS": series.id(), "AREA_FIELD": "PLR_ID", "AREAS": areas.id(), "AREAS_ID": "plr_id"}
    importer = next(a for s in roles.STEPS for a in s.actions if a.algorithm_id.endswith("statisticsimport"))
    assert importer.result_roles() == {"OUTPUT": "indicators", "OUTPUT_SERIES": "series"}
    missing = roles.Action("kommunalmonitor:doesnotexist", "x", {"INPUT": "layer:index"})
    assert roles.dialog_parameters(missing, project) == {} and not roles.algorithm_available(missing.algorithm_id)


def test_dock_shows_roles_restores_them_and_disables_missing_tools(qgis_app, tmp_path):
    from qgis.core import QgsProject

    from kommunalmonitor.plugin import roles
    from kommunalmonitor.plugin.dock import KommunalmonitorDock, role_combo

    project = QgsProject.instance()
    project.clear()
    areas = _areas()
    project.addMapLayer(areas)
    with i18n.language("de"):
        dock = KommunalmonitorDock(project=project)
        assert dock.toolbox.count() == len(roles.STEPS)
        assert dock.toolbox.itemText(0) == i18n.tr(roles.STEPS[0].title)
    combo = role_combo(dock, "planning_areas")
    assert not dock.toolbox.itemText(0).endswith("✓")
    combo.setLayer(areas)
    role_combo(dock, "blocks").setLayer(areas)
    assert dock.toolbox.itemText(0).endswith("✓")  # all layers of step 1 chosen
    role_combo(dock, "blocks").setLayer(None)
    assert roles.role_layer("planning_areas", project) is areas
    # the same role shown in another step follows
    assert all(c.currentLayer() is areas for c in dock.combos["planning_areas"])
    dock.toolbox.setCurrentIndex(3)
    assert roles.current_step(project) == 3
    # registered tools enabled, tools of other parts that are missing disabled with a reason
    assert all(b.isEnabled() for b in dock.buttons["kommunalmonitor:statisticsimport"])
    for algorithm_id, buttons in dock.buttons.items():
        if not roles.algorithm_available(algorithm_id):
            assert not buttons[0].isEnabled() and algorithm_id in buttons[0].toolTip()
    # the project forgets (cleared) → the dock shows nothing and the first step
    project.clear()
    assert role_combo(dock, "planning_areas").currentLayer() is None and dock.toolbox.currentIndex() == 0
    dock.close()


def test_sample_loads_as_one_ordered_group_with_roles(qgis_app, tmp_path):
    from qgis.core import QgsMapLayer, QgsProject

    from kommunalmonitor.plugin import roles
    from kommunalmonitor.plugin.sample_project import create_sample, load_sample, sample_layers

    folder = str(tmp_path / "musterstadt")
    create_sample(folder, n_blocks=500, seed=1)
    project = QgsProject()
    group = load_sample(folder, project)
    layers = sample_layers(group)
    kinds = [layer.type() for layer in layers]
    # vectors first, rasters at the bottom and switched off
    assert kinds == sorted(kinds, key=lambda k: k == QgsMapLayer.RasterLayer)
    rasters = [l for l in layers if l.type() == QgsMapLayer.RasterLayer]
    assert len(rasters) == 4
    root = project.layerTreeRoot()
    assert not any(root.findLayer(r.id()).isVisible() for r in rasters)
    names = [l.name() for l in layers]
    top_polygons = names.index(i18n.tr("Musterstadt planning areas (synthetic)"))
    assert top_polygons < names.index(i18n.tr("Musterstadt blocks (synthetic)"))
    # styled: planning areas as outlines (no fill), rasters with a colour ramp
    areas = roles.role_layer("planning_areas", project)
    symbol = areas.renderer().symbol()
    assert symbol.symbolLayer(0).brushStyle() == 0  # Qt.NoBrush
    assert all(r.renderer().type() == "singlebandpseudocolor" for r in rasters)
    assert roles.role_layer("blocks", project).name() == i18n.tr("Musterstadt blocks (synthetic)")
    # loading again replaces the group instead of doubling the layers
    count = len(project.mapLayers())
    load_sample(folder, project)
    assert len(project.mapLayers()) == count
    with pytest.raises(FileNotFoundError):
        load_sample(str(tmp_path / "nothing"), project)


def test_every_tool_has_search_tags_and_help_that_renders_as_paragraphs(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("kommunalmonitor")
    algorithms = [a for a in provider.algorithms() if not a.id().endswith("workflow")]
    assert len(algorithms) > 15
    untagged = [a.id() for a in algorithms if len(a.tags()) < 3]
    assert not untagged
    for algorithm in algorithms:
        with i18n.language("de"):
            text = algorithm.shortHelpString()
        # QGIS 3.22 turns every line into a paragraph and puts the name above the help itself
        assert "\n" not in text, algorithm.id()
        assert not text.lstrip().lower().startswith(("<h1", "<h2", "<h3")), algorithm.id()
    composite = QgsApplication.processingRegistry().algorithmById("kommunalmonitor:compositeindex")
    assert "Sozialindex" in composite.tags() and "deprivation" in composite.tags()


def test_sample_algorithm_loads_its_layers_as_one_ordered_group(run_alg, tmp_path):
    """As the desktop does after a run: load each output, then call its post-processor."""
    from qgis.core import (QgsProcessingContext, QgsProcessingFeedback, QgsProject, QgsRasterLayer,
                           QgsVectorLayer)

    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    with i18n.language("de"):
        run_alg("kommunalmonitor:samplemunicipality", {"N_BLOCKS": 500, "SEED": 2,
                                                       "OUTPUT_FOLDER": str(tmp_path / "m")}, context=context)
        for source, details in context.layersToLoadOnCompletion().items():
            layer = (QgsRasterLayer(source, details.name) if source.endswith(".tif")
                     else QgsVectorLayer(source, details.name, "ogr"))
            project.addMapLayer(layer)
            details.postProcessor().postProcessLayer(layer, context, feedback)
    group = project.layerTreeRoot().findGroup("Musterstadt (synthetisch)")
    nodes = group.findLayers()
    assert [n.layer().name() for n in nodes] == ["Musterstadt Planungsräume (synthetisch)",
                                                "Musterstadt Blöcke (synthetisch)",
                                                "Musterstadt Verkehrslärm Lden (synthetisch)"]
    assert [n.isVisible() for n in nodes] == [True, True, False]
    assert len(project.layerTreeRoot().findLayers()) == 3  # nothing left outside the group
