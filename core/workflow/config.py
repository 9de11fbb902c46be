"""A workflow file (YAML): inputs, steps and outputs, checked before anything runs.

Example::

    name: Musterstadt needs analysis
    language: de
    inputs:
      blocks: {path: musterstadt.gpkg, layer: blocks}
      areas: {path: musterstadt.gpkg, layer: planning_areas}
      noise: {path: noise_lden_10m.tif}
    steps:
      - aggregate: {blocks: blocks, areas: areas, area_id: plr_id,
                    counts: [pop_2022, pop_18_64_2022, unemployed_2022],
                    rates: "ul=unemployed_2022/pop_18_64_2022", output: planning_areas}
      - zonal: {zones: planning_areas, raster: noise, stats: [mean], prefix: noise_, output: with_noise}
      - index: {input: with_noise, indicators: [ul, noise_b1_mean], population: pop_2022, output: index}
    outputs:
      index: {path: results/index.gpkg}

Relative paths are relative to the workflow file. Every error names the file and line and
says what to change.
"""
import difflib
import os
from dataclasses import dataclass, field

import yaml

from ..errors import InputError
from ..i18n import tr
from ..yaml_lines import load_with_lines, yaml_error_line
from .steps import STEPS

VECTOR_EXTENSIONS = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet", ".geoparquet")
RASTER_EXTENSIONS = (".tif", ".tiff", ".vrt", ".asc")
TABLE_EXTENSIONS = (".csv", ".xlsx")
OUTPUT_EXTENSIONS = (".gpkg", ".parquet", ".geoparquet", ".csv", ".geojson")


class WorkflowError(InputError):
    """A workflow file that cannot be run as written (the message names file and line)."""


@dataclass
class Step:
    """One step: its kind, options, output name and line in the file."""

    kind: str
    options: dict
    output: str
    line: int


@dataclass
class Workflow:
    """A checked workflow; ``folder`` resolves relative paths."""

    name: str
    inputs: dict
    steps: list
    outputs: dict
    folder: str
    source: str
    language: str = "de"
    lines: dict = field(default_factory=dict)
    text: str = ""

    def path(self, value):
        """An input/output path, relative to the workflow file's folder."""
        value = os.path.expanduser(str(value))
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.folder, value))


def _fail(source, line, message):
    """WorkflowError prefixed with file and line (``message`` already translated)."""
    return WorkflowError(tr("Workflow '{file}', line {line}: ", file=source, line=line) + message)


def _suggest(word, choices):
    """' Did you mean 'x'?' for a misspelt key, or ''."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return tr(" Did you mean '{word}'?", word=close[0]) if close else ""


def load_workflow(path: "str | None" = None, text: "str | None" = None,
                  substitutions: "dict | None" = None) -> Workflow:
    """Read and check a workflow file (or ``text``); ``{placeholders}`` are filled from ``substitutions``.

    Returns
    -------
    Workflow
    """
    if text is None:
        if not os.path.exists(path):
            raise WorkflowError(tr("Workflow file '{file}' does not exist.", file=path))
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    source = os.path.basename(path) if path else "<text>"
    folder = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    try:
        data, lines = load_with_lines(text)
    except yaml.YAMLError as error:
        raise _fail(source, yaml_error_line(error), tr("this is not valid YAML ({problem}).",
                                                       problem=getattr(error, "problem", None) or error)) from None
    if not isinstance(data, dict):
        raise _fail(source, 1, tr("a workflow is a mapping with 'inputs', 'steps' and 'outputs'."))
    known = {"name", "language", "inputs", "steps", "outputs", "description"}
    for key in data:
        if key not in known:
            raise _fail(source, lines.get((key,), 0), tr("unknown section '{key}'.", key=key) + _suggest(key, known))
    for key in ("inputs", "steps", "outputs"):
        if not data.get(key):
            raise _fail(source, lines.get((key,), 1), tr("the section '{key}' is missing or empty.", key=key))
    substitutions = {k: str(v) for k, v in (substitutions or {}).items()}
    workflow = Workflow(name=str(data.get("name") or os.path.splitext(source)[0]), inputs={}, steps=[],
                        outputs={}, folder=folder, source=source, language=str(data.get("language", "de")),
                        lines=lines, text=text)
    workflow.inputs = _inputs(data["inputs"], workflow, substitutions)
    workflow.steps = _steps(data["steps"], workflow)
    workflow.outputs = _outputs(data["outputs"], workflow, substitutions)
    return workflow


def _fill(value, substitutions, source, line):
    """Fill ``{name}`` placeholders (e.g. a municipality's folder in a batch run)."""
    try:
        return str(value).format(**substitutions)
    except KeyError as error:
        raise _fail(source, line, tr("the placeholder {{{name}}} has no value; give it in the "
                                     "municipality list.", name=error.args[0])) from None


def _inputs(section, workflow, substitutions):
    """{name: {'path', 'layer', 'kind', 'key'}} with paths checked."""
    source, lines = workflow.source, workflow.lines
    if not isinstance(section, dict):
        raise _fail(source, lines.get(("inputs",), 0), tr("'inputs' maps names to files."))
    inputs = {}
    for name, spec in section.items():
        line = lines.get(("inputs", name), 0)
        spec = {"path": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or "path" not in spec:
            raise _fail(source, line, tr("input '{name}' needs a 'path'.", name=name))
        unknown = set(spec) - {"path", "layer", "key"}
        if unknown:
            word = sorted(unknown)[0]
            raise _fail(source, lines.get(("inputs", name, word), line),
                        tr("unknown option '{key}' for input '{name}'.", key=word, name=name)
                        + _suggest(word, {"path", "layer", "key"}))
        path = workflow.path(_fill(spec["path"], substitutions, source, line))
        extension = os.path.splitext(path)[1].lower()
        kind = ("raster" if extension in RASTER_EXTENSIONS else "table" if extension in TABLE_EXTENSIONS
                else "vector" if extension in VECTOR_EXTENSIONS else None)
        if kind is None:
            raise _fail(source, line, tr("input '{name}': files of type '{ext}' cannot be read; use GeoPackage, "
                                         "GeoParquet, Shapefile, GeoJSON, CSV, XLSX or GeoTIFF.",
                                         name=name, ext=extension or "?"))
        inputs[name] = {"path": path, "layer": spec.get("layer"), "kind": kind, "key": spec.get("key"),
                        "line": line}
    return inputs


def _steps(section, workflow):
    """[Step] with every dataset reference checked against inputs and earlier outputs."""
    source, lines = workflow.source, workflow.lines
    if not isinstance(section, list):
        raise _fail(source, lines.get(("steps",), 0), tr("'steps' is a list, each item one step such as "
                                                         "'- index: {...}'."))
    available = {name: spec["kind"] for name, spec in workflow.inputs.items()}
    steps = []
    for position, item in enumerate(section):
        line = lines.get(("steps", position), 0)
        if not isinstance(item, dict) or len(item) != 1:
            raise _fail(source, line, tr("each step is one name with its options, e.g. '- index: {input: "
                                         "areas, indicators: [a, b], output: index}'."))
        kind, options = next(iter(item.items()))
        if kind not in STEPS:
            raise _fail(source, line, tr("unknown step '{kind}'; the steps are {steps}.", kind=kind,
                                         steps=", ".join(sorted(STEPS))) + _suggest(kind, STEPS))
        options = dict(options or {})
        spec = STEPS[kind]
        where = ("steps", position, kind)
        for key in options:
            if key != "output" and key not in spec.options():
                raise _fail(source, lines.get(where + (key,), line),
                            tr("step '{kind}' has no option '{key}'.", kind=kind, key=key)
                            + _suggest(key, spec.options() | {"output"}))
        missing = [k for k in spec.datasets + spec.required + spec.raster_datasets + ("output",) if k not in options]
        if missing:
            raise _fail(source, line, tr("step '{kind}' needs {keys}.", kind=kind,
                                         keys=", ".join(repr(k) for k in missing)))
        for key in spec.datasets + spec.raster_datasets:
            reference = str(options[key])
            wanted = "raster" if key in spec.raster_datasets else None
            if reference not in available:
                raise _fail(source, lines.get(where + (key,), line),
                            tr("step '{kind}': '{name}' is neither an input nor the output of an earlier "
                               "step.", kind=kind, name=reference) + _suggest(reference, available))
            if (wanted == "raster") != (available[reference] == "raster"):
                raise _fail(source, lines.get(where + (key,), line),
                            tr("step '{kind}': '{key}' must be {what}, '{name}' is not.", kind=kind, key=key,
                               name=reference, what=tr("a raster") if wanted else tr("a layer or table")))
        output = str(options.pop("output"))
        available[output] = "vector"
        steps.append(Step(kind=kind, options=options, output=output, line=line))
    workflow._available = available
    return steps


def _outputs(section, workflow, substitutions):
    """{name: path} for datasets produced by steps (or inputs), with a known file type."""
    source, lines = workflow.source, workflow.lines
    if not isinstance(section, dict):
        raise _fail(source, lines.get(("outputs",), 0), tr("'outputs' maps dataset names to files."))
    outputs = {}
    produced = {step.output for step in workflow.steps}
    for name, spec in section.items():
        line = lines.get(("outputs", name), 0)
        spec = {"path": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or "path" not in spec:
            raise _fail(source, line, tr("output '{name}' needs a 'path'.", name=name))
        if name not in produced:
            raise _fail(source, line, tr("no step writes '{name}'.", name=name) + _suggest(name, produced))
        path = workflow.path(_fill(spec["path"], substitutions, source, line))
        if os.path.splitext(path)[1].lower() not in OUTPUT_EXTENSIONS:
            raise _fail(source, line, tr("output '{name}': write GeoPackage (.gpkg), GeoParquet (.parquet), "
                                         "GeoJSON or CSV.", name=name))
        for input_name, spec_in in workflow.inputs.items():
            if os.path.abspath(spec_in["path"]) == os.path.abspath(path):
                raise _fail(source, line, tr("output '{name}' would overwrite the input '{input}'; inputs are "
                                             "never modified.", name=name, input=input_name))
        for other, other_path in outputs.items():
            if os.path.abspath(other_path) == os.path.abspath(path):
                raise _fail(source, line, tr("outputs '{first}' and '{second}' would both be written to {path}; "
                                             "give each its own file.", first=other, second=name, path=path))
        outputs[name] = path
    return outputs
