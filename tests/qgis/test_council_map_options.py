"""Council map options a planner needs: far-away parts in an inset, a given extent, the print
layout added to the project for adjusting, a legend title fitting the map, the PDF as a link."""
import os

import pytest


@pytest.fixture
def island_city(qgis_app, tmp_path):
    """Four districts with index classes and a small island 100 km out (like Neuwerk)."""
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorFileWriter, QgsVectorLayer, QgsProject
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer("Polygon?crs=EPSG:25832", "Stadtteile", "memory")
    layer.dataProvider().addAttributes([QgsField("name", QVariant.String), QgsField("priority", QVariant.Int),
                                        QgsField("index", QVariant.Double)])
    layer.updateFields()
    shapes = [("Nord", 1, 1.8, (0, 5000)), ("Süd", 2, 0.9, (0, 0)), ("Ost", 3, -0.2, (5000, 0)),
              ("West", 4, -1.2, (5000, 5000)), ("Insel", 2, 0.8, (100000, 80000))]
    for name, priority, index, (x, y) in shapes:
        size = 1000 if name == "Insel" else 5000
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name, priority, index])
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"))
        layer.dataProvider().addFeature(feature)
    path = str(tmp_path / "island_city.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    QgsVectorFileWriter.writeAsVectorFormatV2(layer, path, QgsProject.instance().transformContext(), options)
    return path


def _run_with_project(run_alg, parameters):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    results = run_alg("kommunalmonitor:councilmap", parameters, feedback=feedback, context=context)
    return results, project, feedback.textLog()


def test_island_in_an_inset_layout_added_legend_title_and_link(run_alg, island_city, tmp_path):
    from qgis.core import QgsLayoutItemMap, QgsLayoutItemLegend

    from kommunalmonitor.core.i18n import language

    pdf = str(tmp_path / "map.pdf")
    with language("en"):
        results, project, log = _run_with_project(run_alg, {
            "INPUT": island_city, "CLASS_FIELD": "priority", "LABEL_FIELD": "name", "LANGUAGE": 2,
            "ADD_LAYOUT": True, "OUTPUT": pdf})
    assert os.path.getsize(results["OUTPUT"]) > 10_000
    assert results["PDF_RESULT"] == results["OUTPUT"]  # listed in the Results Viewer, opens on a click
    assert "file://" + os.path.abspath(pdf) in log and "inset" in log
    layouts = project.layoutManager().printLayouts()
    assert len(layouts) == 1
    items = {item.id(): item for item in layouts[0].items() if hasattr(item, "id")}
    main, inset = items["map"], items["inset_1"]
    assert isinstance(main, QgsLayoutItemMap) and isinstance(inset, QgsLayoutItemMap)
    assert main.extent().xMaximum() < 50000  # the island is not in the main frame
    assert inset.extent().contains(main.extent().center()) is False and inset.extent().xMinimum() > 90000
    legend = next(item for item in layouts[0].items() if isinstance(item, QgsLayoutItemLegend))
    assert legend.title() == "Priority"  # fits a priorities map, not 'Index class'
    assert layouts[0].name() == "Planning priorities"  # nor 'Social index'
    assert len(project.mapLayers()) == 1  # the styled copy the layout shows


def test_all_areas_and_given_extent(run_alg, island_city, tmp_path):
    from qgis.core import QgsProcessingException

    results, project, _ = _run_with_project(run_alg, {
        "INPUT": island_city, "CLASS_FIELD": "priority", "EXTENT_MODE": 0, "ADD_LAYOUT": True,
        "OUTPUT": str(tmp_path / "all.pdf")})
    items = {item.id(): item for item in project.layoutManager().printLayouts()[0].items() if hasattr(item, "id")}
    assert "inset_1" not in items and items["map"].extent().xMaximum() > 100000
    results, project, _ = _run_with_project(run_alg, {
        "INPUT": island_city, "CLASS_FIELD": "priority", "EXTENT_MODE": 2, "ADD_LAYOUT": True,
        "EXTENT": "0,5000,0,5000 [EPSG:25832]", "OUTPUT": str(tmp_path / "given.pdf")})
    extent = [i for i in project.layoutManager().printLayouts()[0].items() if getattr(i, "id", lambda: "")() == "map"][0].extent()
    assert extent.xMaximum() < 7000 and extent.yMaximum() < 7000
    with pytest.raises(QgsProcessingException, match="extent"):
        _run_with_project(run_alg, {"INPUT": island_city, "CLASS_FIELD": "priority", "EXTENT_MODE": 2,
                                    "OUTPUT": str(tmp_path / "none.pdf")})


def test_titles_legends_and_notes_for_every_kind_of_map_are_translated(qgis_app):
    from kommunalmonitor.core.i18n import _catalogue
    from kommunalmonitor.processing.algorithms.council_map import CouncilMap

    german = _catalogue("de")
    texts = list(CouncilMap.MAP_TITLES.values()) + list(CouncilMap.LEGEND_TITLES.values()) + \
        list(CouncilMap.MAP_NOTES.values())
    assert [t for t in texts if t not in german] == []


def test_typology_map_gets_a_note_that_fits(run_alg, island_city, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(island_city, "x", "ogr")
    layer.startEditing()
    from qgis.core import QgsField
    from qgis.PyQt.QtCore import QVariant

    layer.addAttribute(QgsField("cluster", QVariant.Int))
    layer.updateFields()
    index = layer.fields().indexOf("cluster")
    for feature in layer.getFeatures():
        layer.changeAttributeValue(feature.id(), index, feature["priority"] % 3 + 1)
    assert layer.commitChanges()
    _, project, _ = _run_with_project(run_alg, {"INPUT": island_city, "CLASS_FIELD": "cluster", "LANGUAGE": 2,
                                                "ADD_LAYOUT": True, "OUTPUT": str(tmp_path / "types.pdf")})
    layout = project.layoutManager().printLayouts()[0]
    note = next(item for item in layout.items() if getattr(item, "id", lambda: "")() == "note")
    assert note.text().startswith("Area types group areas") and layout.name() == "Area types"
