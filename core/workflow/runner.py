"""Run a checked workflow: read inputs, run the steps in order, write outputs, keep a run record."""
import json
import os
import time
from dataclasses import dataclass, field

from ..errors import KommunalmonitorError
from ..feedback import ensure_feedback
from ..i18n import language, tr
from ..version import library_versions
from .files import fingerprint, read_input, write_outputs
from .config import Workflow  # noqa: F401 - for the type hints
from .steps import STEPS


@dataclass
class WorkflowResult:
    """Datasets by name, the written files, log lines and the run record."""

    datasets: dict
    outputs: dict
    log: list = field(default_factory=list)
    record: dict = field(default_factory=dict)


def versions():
    """Versions of Python, the engine's libraries and Kommunalmonitor (for the run record)."""
    return {k: v for k, v in library_versions().items() if v is not None}


def run_workflow(workflow: "Workflow", feedback=None, record_path: "str | None" = None,
                 write: bool = True) -> WorkflowResult:
    """Run ``workflow`` (a :class:`~.config.Workflow`); return a :class:`WorkflowResult`.

    Parameters
    ----------
    feedback : core.feedback.Feedback, optional
        Progress over the whole run (reading, each step, writing) and cancellation.
    record_path : str, optional
        Where to write the run record (JSON); default ``<first output folder>/<name>.run.json``.
    write : bool
        Write the outputs (False: only compute, e.g. for a batch worker that writes itself).
    """
    feedback = ensure_feedback(feedback)
    started = time.time()
    log = []
    with language(workflow.language):
        datasets = {}
        n_steps = len(workflow.steps) + 2
        reading = feedback.step(0.0, 1.0 / n_steps)
        for position, (name, spec) in enumerate(workflow.inputs.items()):
            feedback.check()
            datasets[name] = read_input(spec, name, feedback)
            reading.progress((position + 1) / len(workflow.inputs))
        timings = []
        for number, step in enumerate(workflow.steps, start=1):
            feedback.check()
            kind = STEPS[step.kind]
            data = {key: datasets[str(step.options[key])] for key in kind.datasets + kind.raster_datasets}
            options = {k: v for k, v in step.options.items() if k not in data}
            feedback.info(tr("Step {number}/{total}: {kind} → {output}", number=number,
                             total=len(workflow.steps), kind=step.kind, output=step.output))
            t0 = time.time()
            try:
                frame, lines = kind.function(data, options, feedback.step(number / n_steps, (number + 1) / n_steps))
            except KommunalmonitorError as error:
                raise type(error)(tr("Workflow '{file}', step {number} ({kind}, line {line}): ", file=workflow.source,
                                     number=number, kind=step.kind, line=step.line) + str(error)) from None
            timings.append({"step": step.kind, "output": step.output, "seconds": round(time.time() - t0, 3)})
            for line in lines:
                feedback.info(line)
                log.append(line)
            datasets[step.output] = frame
        written = {}
        if write:
            written = write_outputs({name: datasets[name] for name in workflow.outputs}, workflow.outputs,
                                    feedback)
        feedback.progress(1.0)
    record = run_record(workflow, written, timings, time.time() - started)
    if write and record_path is not False:
        record_path = record_path or _default_record_path(workflow)
        _write_json(record, record_path)
        record["path"] = record_path
    return WorkflowResult(datasets=datasets, outputs=written, log=log, record=record)


def run_record(workflow, written, timings, seconds):
    """What was run on what, with which software: enough to reproduce and to audit the result."""
    return {
        "workflow": workflow.name,
        "workflow_file": workflow.source,
        "workflow_text": workflow.text,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(seconds, 3),
        "versions": versions(),
        "inputs": {name: {"path": spec["path"], "layer": spec.get("layer"), "sha256": _fingerprint_of(spec["path"])}
                   for name, spec in workflow.inputs.items()},
        "steps": [{"kind": s.kind, "options": s.options, "output": s.output} for s in workflow.steps],
        "timings": timings,
        "outputs": {name: {"path": path, "sha256": _fingerprint_of(path)} for name, path in written.items()},
    }


def _fingerprint_of(path):
    """SHA-256 of a file, or None when it is not there."""
    return fingerprint(path) if os.path.isfile(path) else None


def _default_record_path(workflow):
    """``<folder of the first output>/<workflow name>.run.json``."""
    first = next(iter(workflow.outputs.values()))
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in workflow.name) or "workflow"
    return os.path.join(os.path.dirname(first), safe + ".run.json")


def _write_json(data, path):
    """Write JSON atomically (a temporary file beside it, then moved)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
    os.replace(partial, path)
