"""Workflows described in a file (YAML): inputs, steps, outputs — run from Python or the command line.

``load_workflow(path)`` reads and checks the file (errors name file and line),
``run_workflow(workflow)`` runs it with the same engine functions as the Processing
algorithms and writes the outputs all or nothing, plus a run record (parameters, versions,
input fingerprints). See ``docs/python-package.md``.
"""
from .config import Workflow, WorkflowError, load_workflow
from .runner import WorkflowResult, run_workflow
from .steps import STEPS

__all__ = ["STEPS", "Workflow", "WorkflowError", "WorkflowResult", "load_workflow", "run_workflow"]
