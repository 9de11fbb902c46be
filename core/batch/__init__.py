"""One workflow for many municipalities (or tiles), run on a Dask cluster.

``run_batch(workflow_file, municipalities, output_dir)`` runs the workflow once per
municipality with ``dask.distributed`` — a local cluster of worker processes by default
(one per core), or an existing scheduler (``scheduler="tcp://host:8786"``), or in this
process (``scheduler="serial"``, the reference the cluster run must equal). Each task reads
its own municipality's files on the worker, so no worker holds more than one municipality's
data at a time (one thread per worker); nothing large travels through the scheduler.

Each finished municipality leaves its results in ``<output_dir>/parts/<id>/`` with a
``_done.json`` marker written last; a rerun skips municipalities that have it. A municipality
that fails is retried (``retries``) and then reported, without losing the others; a worker
that dies mid-task has its task rescheduled by Dask's scheduler. At the end the parts of each
output are gathered into one GeoPackage/GeoParquet per output (with a ``municipality``
column), written all or nothing.

Dask's scheduler does the scheduling: this module only describes tasks and collects results.
"""
from .runner import BatchResult, read_municipalities, run_batch, run_one

__all__ = ["BatchResult", "read_municipalities", "run_batch", "run_one"]
