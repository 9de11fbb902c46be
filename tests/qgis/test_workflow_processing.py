"""The command line gives the numbers the Processing algorithms give: one workflow file against the
same chain run through QGIS (aggregate → zonal statistics → composite index → priorities), and
the installed package (``pip install .``) provides a working ``kommunalmonitor`` command."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.qgis

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORKFLOW = """\
name: same as processing
language: en
inputs:
  blocks: {path: data/musterstadt.gpkg, layer: blocks}
  areas: {path: data/musterstadt.gpkg, layer: planning_areas}
  noise: {path: data/noise_lden_10m.tif}
steps:
  - aggregate: {blocks: blocks, areas: areas, area_id: plr_id, counts: [pop_2022, pop_18_64_2022, unemployed_2022],
                rates: "ul=unemployed_2022/pop_18_64_2022", output: planning_areas}
  - zonal: {zones: planning_areas, raster: noise, stats: [mean], prefix: noise_, output: with_noise}
  - index: {input: with_noise, indicators: [ul, noise_b1_mean], population: pop_2022, output: index}
  - priorities: {input: index, population: pop_2022, output: priorities}
outputs:
  priorities: {path: out/priorities.gpkg}
"""


@pytest.fixture(scope="module")
def project(qgis_app, tmp_path_factory):
    from kommunalmonitor.core.sample import generate_sample_municipality, write_sample_municipality

    folder = tmp_path_factory.mktemp("workflow-processing")
    write_sample_municipality(generate_sample_municipality(600, seed=8), str(folder / "data"))
    (folder / "workflow.yaml").write_text(WORKFLOW, encoding="utf-8")
    return folder


def _values(path, field):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "x", "ogr")
    assert layer.isValid(), path
    return {f["plr_id"]: f[field] for f in layer.getFeatures()}


def test_command_line_equals_the_processing_chain(project, run_alg, tmp_path):
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-P", "-m", "kommunalmonitor.core.cli", "run",
                           str(project / "workflow.yaml"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    gpkg = str(project / "data" / "musterstadt.gpkg")
    step1 = run_alg("kommunalmonitor:aggregatetoareas", {
        "BLOCKS": f"{gpkg}|layername=blocks", "AREAS": f"{gpkg}|layername=planning_areas",
        "AREA_ID_FIELD": "plr_id", "COUNT_FIELDS": ["pop_2022", "pop_18_64_2022", "unemployed_2022"],
        "RATES": "ul=unemployed_2022/pop_18_64_2022", "OUTPUT": str(tmp_path / "areas.gpkg")})["OUTPUT"]
    step2 = run_alg("kommunalmonitor:zonalstatistics", {
        "INPUT": step1, "RASTER": str(project / "data" / "noise_lden_10m.tif"), "STATISTICS": [2],
        "PREFIX": "noise_", "OUTPUT": str(tmp_path / "noise.gpkg")})["OUTPUT"]
    step3 = run_alg("kommunalmonitor:compositeindex", {
        "INPUT": step2, "INDICATORS": ["ul", "noise_b1_mean"], "POPULATION_FIELD": "pop_2022",
        "OUTPUT": str(tmp_path / "index.gpkg")})["OUTPUT"]
    step4 = run_alg("kommunalmonitor:planningpriorities", {
        "INPUT": step3, "RULE": 0, "POPULATION_FIELD": "pop_2022",
        "OUTPUT": str(tmp_path / "priorities.gpkg")})["OUTPUT"]
    cli = str(project / "out" / "priorities.gpkg")
    for field in ("ul", "noise_b1_mean", "index"):
        ours, theirs = _values(cli, field), _values(step4, field)
        assert set(ours) == set(theirs)
        np.testing.assert_allclose([ours[k] for k in sorted(ours)], [theirs[k] for k in sorted(ours)],
                                   rtol=1e-12, atol=1e-12)
    for field in ("index_class", "priority", "reasons_de"):
        assert _values(cli, field) == _values(step4, field)


def test_pip_install_gives_a_working_command(project, tmp_path):
    """``pip install .`` (without dependencies: this Python has them) installs the package and the
    command; the command runs a workflow from anywhere, without the repository on the path."""
    import shutil

    source = tmp_path / "src"  # build from a copy: pip's in-tree build would leave build/ in the repo
    shutil.copytree(PLUGIN_DIR, source, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".build", ".venv", "tests", "bench", "dist",
                                                  "demo-output", "__pycache__", "*.egg-info", "build"))
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    package = target / "kommunalmonitor"
    assert (package / "core" / "cli.py").exists() and (package / "i18n" / "de" / "core.json").exists()
    assert (package / "resources" / "catalogues" / "berlin_mss_2021.yaml").exists()
    assert not (package / "processing").exists() and not (package / "plugin").exists()  # QGIS parts stay out
    assert not (package / "setup.py").exists()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    command = str(target / "bin" / "kommunalmonitor")
    version = subprocess.run([command, "--version"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "kommunalmonitor 0.1.0", version.stderr
    run = subprocess.run([command, "run", str(project / "workflow.yaml"), "--record", str(tmp_path / "r.json"),
                          "--quiet"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert os.path.exists(tmp_path / "r.json")
