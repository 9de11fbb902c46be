"""Outputs are all or nothing, inputs are never overwritten, and the desktop shows no false alarm.

Every check runs real algorithms on Musterstadt files through QGIS's own entry points:
``alg.run`` (as ``processing.run`` and ``qgis_process`` do) and, for the desktop, QGIS's own
post-processing (``processing.gui.Postprocessing.handleAlgorithmResults``) that loads the
results after a dialog run and reports layers "not correctly generated".
"""
import hashlib
import os

import pytest

pytestmark = pytest.mark.qgis


def _digest(folder):
    """{relative path: sha256} of every file below ``folder``."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                found[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
    return found


def _leftovers(folder):
    """Staging folders or files left below ``folder``."""
    from kommunalmonitor.processing.outputs import STAGING_PREFIX

    return [os.path.join(root, n) for root, dirs, files in os.walk(folder) for n in dirs + files
            if n.startswith(STAGING_PREFIX)]


@pytest.fixture(scope="module")
def musterstadt(qgis_app, tmp_path_factory):
    """A small Musterstadt (600 blocks) written by the sample algorithm."""
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback

    folder = str(tmp_path_factory.mktemp("outputs-musterstadt"))
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("kommunalmonitor:samplemunicipality")
    results, ok = algorithm.run({"N_BLOCKS": 600, "SEED": 5, "OUTPUT_FOLDER": folder},
                                QgsProcessingContext(), QgsProcessingFeedback())
    assert ok
    return results["GPKG"]


def _aggregate_params(gpkg, output, count_fields=("pop_2022", "unemployed_2022", "pop_18_64_2022")):
    return {"BLOCKS": f"{gpkg}|layername=blocks", "AREAS": f"{gpkg}|layername=planning_areas",
            "AREA_ID_FIELD": "plr_id", "COUNT_FIELDS": list(count_fields),
            "RATES": "ul=unemployed_2022/pop_18_64_2022", "OUTPUT": output}


class _Feedback:
    """A QgsProcessingFeedback that cancels once a log line contains ``cancel_on``."""

    @staticmethod
    def make(cancel_on=None, cancel_at_progress=None):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines, self.errors = [], []

            def pushInfo(self, text):  # noqa: N802
                self.lines.append(text)
                if cancel_on and cancel_on in text:
                    self.cancel()

            def pushWarning(self, text):  # noqa: N802
                self.lines.append(text)

            def reportError(self, text, fatal=False):  # noqa: N802
                self.errors.append(text)

            def setProgress(self, value):  # noqa: N802
                super().setProgress(value)
                if cancel_at_progress is not None and value >= cancel_at_progress:
                    self.cancel()

        return Feedback()


def _run(algorithm_id, parameters, feedback=None, context=None):
    """(results, ok, feedback) from QGIS's own ``alg.run``."""
    from qgis.core import QgsApplication, QgsProcessingContext

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    feedback = feedback or _Feedback.make()
    results, ok = algorithm.run(parameters, context or QgsProcessingContext(), feedback)
    return results, ok, feedback


def test_success_moves_outputs_into_place_and_leaves_nothing_else(musterstadt, tmp_path):
    from qgis.core import QgsVectorLayer

    output = str(tmp_path / "areas.gpkg")
    results, ok, _ = _run("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, output))
    assert ok
    assert results["OUTPUT"] == output  # the final path, not the staging one
    layer = QgsVectorLayer(output, "areas", "ogr")
    assert layer.isValid() and layer.featureCount() == 29
    assert layer.name() == "areas" and "areas" in layer.dataProvider().subLayers()[0]  # layer name kept
    assert sum(f["pop_2022"] for f in layer.getFeatures()) == \
        sum(f["pop_2022"] for f in QgsVectorLayer(f"{musterstadt}|layername=blocks", "b", "ogr").getFeatures())
    assert sorted(os.listdir(tmp_path)) == ["areas.gpkg"]
    assert not _leftovers(tmp_path)


def test_shapefile_output_keeps_its_side_files_together(musterstadt, tmp_path):
    from qgis.core import QgsVectorLayer

    output = str(tmp_path / "areas.shp")
    _, ok, _ = _run("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, output))
    assert ok
    names = set(os.listdir(tmp_path))
    assert {"areas.shp", "areas.shx", "areas.dbf", "areas.prj"} <= names
    assert QgsVectorLayer(output, "a", "ogr").featureCount() == 29
    assert not _leftovers(tmp_path)


def test_failed_run_leaves_earlier_files_untouched(musterstadt, tmp_path):
    output = str(tmp_path / "areas.gpkg")
    _, ok, _ = _run("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, output))
    assert ok
    before = _digest(tmp_path)
    # a text field as count: refused during the run, after the outputs were staged
    results, ok, feedback = _run("kommunalmonitor:aggregatetoareas",
                                 _aggregate_params(musterstadt, output, ("pop_2022", "land_use")))
    assert not ok
    assert any("land_use" in e for e in feedback.errors)
    assert _digest(tmp_path) == before
    assert not _leftovers(tmp_path)


def test_cancelled_run_leaves_no_partial_output(musterstadt, tmp_path):
    output = str(tmp_path / "areas.gpkg")
    feedback = _Feedback.make(cancel_at_progress=50)
    _, ok, feedback = _run("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, output), feedback)
    assert not ok
    assert os.listdir(tmp_path) == []


def test_delineation_cancelled_while_writing_keeps_every_earlier_file(musterstadt, tmp_path):
    """Four outputs (areas, membership, diagnostics, run record): a cancel after the engine has
    finished, while they are written, leaves the previous run's four files exactly as they were."""
    blocks = f"{musterstadt}|layername=blocks"
    outputs = {"OUTPUT": str(tmp_path / "areas.gpkg"), "MEMBERSHIP": str(tmp_path / "members.gpkg"),
               "DIAGNOSTICS": str(tmp_path / "diagnostics.csv"), "RECORD": str(tmp_path / "record.json")}
    params = {"INPUT": blocks, "POPULATION_FIELD": "pop_2022", "ATTRIBUTE_FIELDS": ["unemployed_2022"],
              "ID_FIELD": "block_id", "MODE": 0, "N_AREAS": 12, "SEED": 1, **outputs}
    _, ok, first = _run("kommunalmonitor:delineateplanningareas", params)
    assert ok, first.errors
    before = _digest(tmp_path)
    assert set(before) >= {"areas.gpkg", "members.gpkg", "diagnostics.csv", "record.json"}
    # cancel as soon as the engine reports its result, i.e. during the writing phase
    _, ok, _ = _run("kommunalmonitor:delineateplanningareas", {**params, "SEED": 2},
                    _Feedback.make(cancel_on="BSS/TSS"))
    assert not ok
    assert _digest(tmp_path) == before
    assert not _leftovers(tmp_path)


def test_output_onto_an_input_is_refused_before_anything_is_written(musterstadt, tmp_path):
    import shutil

    copy = str(tmp_path / "musterstadt.gpkg")
    shutil.copy(musterstadt, copy)
    before = _digest(tmp_path)
    params = _aggregate_params(copy, copy)
    _, ok, feedback = _run("kommunalmonitor:aggregatetoareas", params)
    assert not ok
    message = " ".join(feedback.errors)
    assert "would overwrite the input" in message and "musterstadt.gpkg" in message
    assert _digest(tmp_path) == before
    assert not _leftovers(tmp_path)
    # also when the same file is spelled differently
    params = _aggregate_params(copy, str(tmp_path / "." / "musterstadt.gpkg"))
    _, ok, feedback = _run("kommunalmonitor:aggregatetoareas", params)
    assert not ok and _digest(tmp_path) == before


def test_two_outputs_onto_one_file_are_refused(musterstadt, tmp_path):
    same = str(tmp_path / "out.gpkg")
    params = {"INPUT": f"{musterstadt}|layername=blocks", "POPULATION_FIELD": "pop_2022",
              "ATTRIBUTE_FIELDS": ["unemployed_2022"], "MODE": 0, "N_AREAS": 12,
              "OUTPUT": same, "MEMBERSHIP": same, "DIAGNOSTICS": "TEMPORARY_OUTPUT"}
    _, ok, feedback = _run("kommunalmonitor:delineateplanningareas", params)
    assert not ok
    assert any("would both be written" in e for e in feedback.errors)
    assert os.listdir(tmp_path) == []


def test_folder_output_replaces_its_files_and_keeps_the_users_own(qgis_app, tmp_path):
    folder = tmp_path / "muster"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own notes")
    (folder / "musterstadt.gpkg").write_bytes(b"an old file")
    results, ok, _ = _run("kommunalmonitor:samplemunicipality",
                          {"N_BLOCKS": 500, "SEED": 2, "OUTPUT_FOLDER": str(folder)})
    assert ok
    assert results["GPKG"] == str(folder / "musterstadt.gpkg")
    assert (folder / "notes.txt").read_text() == "my own notes"
    assert (folder / "musterstadt.gpkg").stat().st_size > 10000
    assert not _leftovers(tmp_path)


def test_unwritable_folder_is_refused_with_the_path(musterstadt):
    _, ok, feedback = _run("kommunalmonitor:aggregatetoareas",
                           _aggregate_params(musterstadt, "/nonexistent-folder/out.gpkg"))
    assert not ok
    assert any("/nonexistent-folder" in e for e in feedback.errors)


@pytest.fixture(scope="module")
def desktop_processing(qgis_app):
    """QGIS's own Processing framework, as the desktop has it (for its post-processing)."""
    import sys

    if "/usr/share/qgis/python/plugins" not in sys.path:
        sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    from processing.gui.Postprocessing import handleAlgorithmResults

    return handleAlgorithmResults


@pytest.mark.parametrize("temporary", [True, False])
def test_desktop_run_loads_results_without_a_false_alarm(musterstadt, desktop_processing, tmp_path, temporary):
    """As the algorithm dialog runs it (every output TEMPORARY_OUTPUT or a file, 'open output file
    after running' on): results load, styled, and QGIS reports no layer 'not correctly generated'."""
    from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingOutputLayerDefinition,
                           QgsProject)

    project = QgsProject.instance()
    project.removeAllMapLayers()
    areas = str(tmp_path / "input_areas.gpkg")
    _, ok, _ = _run("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, areas))
    assert ok
    cases = [("kommunalmonitor:aggregatetoareas", _aggregate_params(musterstadt, None)),
             ("kommunalmonitor:compositeindex",
              {"INPUT": areas, "INDICATORS": ["ul"], "POPULATION_FIELD": "pop_2022"})]
    for algorithm_id, params in cases:
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        for definition in algorithm.destinationParameterDefinitions():
            if definition.type() in ("sink", "vectorDestination"):
                target = "TEMPORARY_OUTPUT" if temporary else str(tmp_path / f"{algorithm.name()}_{definition.name()}.gpkg")
                params[definition.name()] = QgsProcessingOutputLayerDefinition(target, project)
        context = QgsProcessingContext()
        context.setProject(project)
        feedback = _Feedback.make()
        results, ok = algorithm.run(params, context, feedback)
        assert ok, feedback.errors
        loaded = desktop_processing(algorithm, context, feedback, parameters=params)
        assert loaded, feedback.errors
        assert not [e for e in feedback.errors if "not correctly generated" in e]
    layers = list(project.mapLayers().values())
    assert len(layers) == 2, [layer.name() for layer in layers]  # aggregated areas, index
    renderers = sorted(layer.renderer().type() for layer in layers)
    assert renderers == ["categorizedSymbol", "singleSymbol"]  # our styles, applied on loading
    for layer in layers:
        assert ".kommunalmonitor-partial-" not in layer.source()
    assert not _leftovers(tmp_path)
    project.removeAllMapLayers()
