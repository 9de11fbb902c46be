"""Workflow files and the ``kommunalmonitor`` command: checked with file and line, the same numbers
as the engine functions, outputs all or nothing, a run record that identifies inputs and software."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.aggregate import aggregate_to_areas
from kommunalmonitor.core.indices.composite import composite_index
from kommunalmonitor.core.sample import generate_sample_municipality, write_sample_municipality
from kommunalmonitor.core.workflow import WorkflowError, load_workflow, run_workflow

import kommunalmonitor

# the folder that holds the package (``.build/pkgroot``), never the plugin root itself
PKGROOT = os.path.dirname(os.path.dirname(os.path.abspath(kommunalmonitor.__file__)))

WORKFLOW = """\
name: Musterstadt test
language: en
inputs:
  blocks: {path: data/musterstadt.gpkg, layer: blocks}
  areas: {path: data/musterstadt.gpkg, layer: planning_areas}
  noise: {path: data/noise_lden_10m.tif}
steps:
  - aggregate:
      blocks: blocks
      areas: areas
      area_id: plr_id
      counts: [pop_2022, pop_18_64_2022, unemployed_2022]
      rates: "ul=unemployed_2022/pop_18_64_2022"
      output: planning_areas
  - zonal: {zones: planning_areas, raster: noise, stats: [mean], prefix: noise_, output: with_noise}
  - index: {input: with_noise, indicators: [ul, noise_b1_mean], population: pop_2022, output: index}
  - priorities: {input: index, population: pop_2022, output: priorities}
outputs:
  index: {path: out/index.gpkg}
  priorities: {path: out/priorities.csv}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder with Musterstadt (500 blocks) in data/ and the workflow file."""
    folder = tmp_path_factory.mktemp("workflow")
    write_sample_municipality(generate_sample_municipality(500, seed=4), str(folder / "data"))
    (folder / "workflow.yaml").write_text(WORKFLOW, encoding="utf-8")
    return folder


def _write(folder, text, name="bad.yaml"):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_results_equal_the_engine_functions_called_directly(project):
    import geopandas as gpd

    result = run_workflow(load_workflow(str(project / "workflow.yaml")))
    blocks = gpd.read_file(project / "data" / "musterstadt.gpkg", layer="blocks")
    areas = gpd.read_file(project / "data" / "musterstadt.gpkg", layer="planning_areas")
    direct = aggregate_to_areas(blocks, areas, "plr_id", ["pop_2022", "pop_18_64_2022", "unemployed_2022"],
                                "ul=unemployed_2022/pop_18_64_2022").areas
    index = result.datasets["index"]
    np.testing.assert_allclose(index["ul"], direct["ul"])
    assert index["pop_2022"].sum() == blocks["pop_2022"].sum()  # totals conserved
    frame = direct.join(result.datasets["with_noise"][["noise_b1_mean"]])
    expected = composite_index(frame, ["ul", "noise_b1_mean"], population="pop_2022")
    np.testing.assert_allclose(index["index"], expected.index)
    # what is on disk is what was computed
    written = gpd.read_file(project / "out" / "index.gpkg", layer="index")
    np.testing.assert_allclose(written["index"], index["index"])
    table = pd.read_csv(project / "out" / "priorities.csv", dtype={"plr_id": str})
    assert list(table["priority"]) == list(result.datasets["priorities"]["priority"])
    assert "geometry" not in table.columns


def test_run_record_names_inputs_versions_and_outputs(project):
    result = run_workflow(load_workflow(str(project / "workflow.yaml")))
    with open(result.record["path"], encoding="utf-8") as fh:
        record = json.load(fh)
    with open(project / "data" / "noise_lden_10m.tif", "rb") as fh:
        assert record["inputs"]["noise"]["sha256"] == hashlib.sha256(fh.read()).hexdigest()
    assert record["versions"]["kommunalmonitor"] == "0.1.0" and "geopandas" in record["versions"]
    assert [s["kind"] for s in record["steps"]] == ["aggregate", "zonal", "index", "priorities"]
    assert set(record["outputs"]) == {"index", "priorities"}
    assert record["workflow_text"] == WORKFLOW


@pytest.mark.parametrize("text, line, words", [
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - indx: {input: a, output: b}\noutputs: {b: out.gpkg}\n",
     3, ["unknown step 'indx'", "Did you mean 'index'"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index:\n      input: a\n      indicator: [u]\n      output: b\n"
     "outputs: {b: out.gpkg}\n", 5, ["no option 'indicator'", "'indicators'"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index: {input: areas, indicators: [u], output: b}\n"
     "outputs: {b: out.gpkg}\n", 3, ["'areas' is neither an input"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index: {input: a, output: b}\noutputs: {b: out.gpkg}\n",
     3, ["needs 'indicators'"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index: {input: a, indicators: [u], output: b}\n"
     "outputs:\n  c: out.gpkg\n", 5, ["no step writes 'c'"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index: {input: a, indicators: [u], output: b}\n"
     "outputs:\n  b: x.gpkg\n", 5, ["would overwrite the input 'a'"]),
    ("inputs: {a: {path: x.gpkg}}\nsteps:\n  - index: {input: a, indicators: [u], output: b}\n"
     "  - index: {input: b, indicators: [u], output: c}\noutputs:\n  b: out.gpkg\n  c: ./out.gpkg\n", 7,
     ["'b' and 'c' would both be written"]),
    ("inputs: {a: {path: x.gpkg}, r: {path: r.tif}}\nsteps:\n  - zonal: {zones: a, raster: a, output: b}\n"
     "outputs: {b: out.gpkg}\n", 3, ["'raster' must be a raster"]),
    ("inputs: {a: {path: x.docx}}\nsteps: []\noutputs: {}\n", 2, ["section 'steps' is missing"]),
    ("inputs:\n  a: {path: x.docx}\nsteps:\n  - index: {input: a, indicators: [u], output: b}\n"
     "outputs: {b: out.gpkg}\n", 2, ["'.docx' cannot be read"]),
    ("inputs: {a: {path: x.gpkg}\nsteps: []\n", 2, ["not valid YAML"]),
    ("inputs: {a: {path: x.gpkg}}\nstep: []\n", 2, ["unknown section 'step'", "'steps'"]),
])
def test_bad_workflow_files_name_file_line_and_remedy(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    message = str(info.value)
    assert f"Workflow 'bad.yaml', line {line}:" in message, message
    for word in words:
        assert word in message, message


def test_a_geopackage_with_several_layers_needs_a_layer(project, tmp_path):
    text = WORKFLOW.replace("{path: data/musterstadt.gpkg, layer: blocks}", "{path: data/musterstadt.gpkg}")
    path = project / "several.yaml"
    path.write_text(text.replace("out/", str(tmp_path) + "/"), encoding="utf-8")
    with pytest.raises(Exception) as info:
        run_workflow(load_workflow(str(path)))
    message = str(info.value)
    assert "several layers" in message and "blocks" in message and "'layer:'" in message
    assert os.listdir(tmp_path) == []


def test_outputs_are_all_or_nothing(project, tmp_path):
    """The second output cannot be written (its folder is a file): the first one is not left behind,
    and a file that was there before stays as it was."""
    (tmp_path / "index.gpkg").write_bytes(b"earlier result")
    (tmp_path / "blocked").write_text("a file where a folder is needed")
    text = WORKFLOW.replace("out/index.gpkg", str(tmp_path / "index.gpkg")) \
                   .replace("out/priorities.csv", str(tmp_path / "blocked" / "priorities.csv"))
    path = project / "blocked.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception):
        run_workflow(load_workflow(str(path)))
    assert (tmp_path / "index.gpkg").read_bytes() == b"earlier result"
    assert sorted(os.listdir(tmp_path)) == ["blocked", "index.gpkg"]


def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=PKGROOT)
    return subprocess.run([sys.executable, "-P", "-m", "kommunalmonitor.core.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_command_line_runs_a_workflow_end_to_end(project):
    done = _cli("run", str(project / "workflow.yaml"), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "Step 3/4: index" in done.stderr and "100 %" in done.stderr
    assert os.path.exists(project / "out" / "index.gpkg")
    assert "Traceback" not in done.stderr


def test_command_line_bad_workflow_exit_code_2_without_traceback(tmp_path):
    path = _write(tmp_path, "inputs: {a: {path: x.gpkg}}\nsteps:\n  - indx: {input: a, output: b}\n"
                            "outputs: {b: out.gpkg}\n")
    done = _cli("run", path, "--lang", "en")
    assert done.returncode == 2
    assert "line 3" in done.stderr and "unknown step 'indx'" in done.stderr
    assert "Traceback" not in done.stderr
    done = _cli("run", path, "--lang", "de")
    assert "Zeile 3" in done.stderr and "Traceback" not in done.stderr


def test_command_line_help_lists_the_commands():
    done = _cli("--help", "--lang", "en")
    assert done.returncode == 0
    for command in ("run", "batch", "sample", "steps"):
        assert command in done.stdout


def test_a_layer_with_a_wrong_crs_is_warned_about(project, tmp_path):
    """Musterstadt's coordinates (UTM zone 32, metres) labelled as EPSG:4326 lie far outside its area of use:
    the run says so, as the QGIS tools do."""
    import geopandas as gpd

    from kommunalmonitor.core.feedback import KeptFeedback

    areas = gpd.read_file(project / "data" / "musterstadt.gpkg", layer="planning_areas")
    areas.set_crs("EPSG:4326", allow_override=True).to_file(tmp_path / "wrong.gpkg", driver="GPKG")
    path = _write(tmp_path, f"""\
        language: en
        inputs:
          areas: {{path: {tmp_path / 'wrong.gpkg'}}}
        steps:
          - index: {{input: areas, indicators: [x], output: index}}
        outputs:
          index: {{path: {tmp_path / 'out.gpkg'}}}
        """, name="wrong.yaml")
    feedback = KeptFeedback()
    with pytest.raises(Exception):
        run_workflow(load_workflow(path), feedback=feedback)  # field x does not exist: fails after reading
    assert any("areas" in w and "CRS" in w for w in feedback.warnings), feedback.warnings
