"""The ``kommunalmonitor`` command: run workflows on files, one municipality or many (Dask).

    kommunalmonitor run workflow.yaml
    kommunalmonitor batch workflow.yaml municipalities.csv --output results/ [--workers 2 | --scheduler tcp://host:8786]
    kommunalmonitor sample folder/ [--blocks 3000 --seed 1]
    kommunalmonitor steps

Errors are printed in the planner's words (file and line for workflow files), never as a
traceback; the exit code is 0 on success, 1 when the data or a municipality failed, 2 for a
bad command line or workflow file.
"""
import argparse
import os
import sys
import time

from .errors import CancelledError, KommunalmonitorError
from .feedback import Feedback
from .i18n import set_language, tr


class ProgressBar:
    """A one-line progress bar on stderr (log lines above it); plain lines when not a terminal."""

    def __init__(self, stream=None, width=30, quiet=False):
        self.stream = stream or sys.stderr
        self.width = width
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1

    def progress(self, fraction):
        """Draw the bar (on a terminal every percent, else every 10 %)."""
        if self.quiet:
            return
        percent = int(round(100 * fraction))
        step = 1 if self.tty else 10
        if percent // step == self._last // step:
            return
        self._last = percent
        filled = int(self.width * fraction)
        bar = "[" + "#" * filled + "." * (self.width - filled) + f"] {percent:3d} %"
        if self.tty:
            self.stream.write("\r" + bar)
            if percent >= 100:
                self.stream.write("\n")
        else:
            self.stream.write(bar + "\n")
        self.stream.flush()

    def info(self, text):
        """A log line (above the bar on a terminal)."""
        if self.quiet:
            return
        self.stream.write(("\r\033[K" if self.tty else "") + str(text) + "\n")
        self.stream.flush()

    def feedback(self):
        """This bar as the engine's Feedback."""
        return Feedback(on_progress=self.progress, on_info=self.info, on_warning=self.info)


def _parser():
    parser = argparse.ArgumentParser(
        prog="kommunalmonitor",
        description=tr("Kommunalmonitor: planning-area analysis for integrated municipal development, "
                       "from files (GeoPackage, GeoParquet, CSV, GeoTIFF)."))
    parser.add_argument("--version", action="store_true", help=tr("print the version and exit"))
    language = argparse.ArgumentParser(add_help=False)  # --lang before or after the command
    language.add_argument("--lang", choices=("de", "en"), default=argparse.SUPPRESS,
                          help=tr("language of messages (default: the workflow's)"))
    parser.add_argument("--lang", choices=("de", "en"), help=tr("language of messages (default: the workflow's)"))
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", parents=[language], help=tr("run a workflow file on one municipality"))
    run.add_argument("workflow", help=tr("workflow file (YAML)"))
    run.add_argument("--record", help=tr("where to write the run record (JSON)"))
    run.add_argument("--quiet", action="store_true", help=tr("no progress bar and log"))
    batch = commands.add_parser("batch", parents=[language], help=tr("run a workflow for many municipalities on a Dask cluster"))
    batch.add_argument("workflow", help=tr("workflow file (YAML) with placeholders in its input paths, e.g. {folder}/blocks.gpkg"))
    batch.add_argument("municipalities", help=tr("CSV with a column 'id' and one column per placeholder"))
    batch.add_argument("--output", required=True, help=tr("folder for the results"))
    batch.add_argument("--workers", type=int, default=None,
                       help=tr("worker processes of the local cluster (default: one per core)"))
    batch.add_argument("--scheduler", default=None,
                       help=tr("address of a running Dask scheduler (tcp://host:8786); 'serial' runs "
                               "without Dask"))
    batch.add_argument("--retries", type=int, default=1, help=tr("retries of a failed municipality"))
    batch.add_argument("--format", choices=("gpkg", "parquet"), default="gpkg",
                       help=tr("file format of the gathered results"))
    batch.add_argument("--quiet", action="store_true", help=tr("no progress bar and log"))
    sample = commands.add_parser("sample", parents=[language], help=tr("write the synthetic sample municipality Musterstadt"))
    sample.add_argument("folder")
    sample.add_argument("--blocks", type=int, default=3000)
    sample.add_argument("--seed", type=int, default=42)
    commands.add_parser("steps", parents=[language], help=tr("list the steps a workflow can use"))
    return parser


def main(argv=None):
    """Entry point of the ``kommunalmonitor`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    if args.version:
        from .version import plugin_version

        print(f"kommunalmonitor {plugin_version()}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _COMMANDS[args.command](args)
    except CancelledError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KommunalmonitorError as error:
        from .workflow.config import WorkflowError

        print(tr("Error: {message}", message=str(error)), file=sys.stderr)
        return 2 if isinstance(error, WorkflowError) else 1
    except KeyboardInterrupt:
        print(tr("Stopped; no output was written."), file=sys.stderr)
        return 1


def _run(args):
    from .workflow import load_workflow, run_workflow

    workflow = load_workflow(args.workflow)
    if not args.lang:
        set_language(workflow.language)
    bar = ProgressBar(quiet=args.quiet)
    started = time.time()
    result = run_workflow(workflow, feedback=bar.feedback(), record_path=args.record)
    for name, path in result.outputs.items():
        bar.info(tr("{name}: {path}", name=name, path=path))
    bar.info(tr("Run record: {path} ({seconds:.1f} s)", path=result.record.get("path"),
                seconds=time.time() - started))
    return 0


def _batch(args):
    from .batch import read_municipalities, run_batch

    municipalities = read_municipalities(args.municipalities)
    bar = ProgressBar(quiet=args.quiet)
    result = run_batch(args.workflow, municipalities, args.output, scheduler=args.scheduler,
                       n_workers=args.workers, retries=args.retries, output_format=args.format,
                       feedback=bar.feedback())
    bar.info(tr("{done} municipality(ies) done ({skipped} already finished earlier), {failed} failed.",
                done=len(result.done), skipped=len(result.skipped), failed=len(result.failed)))
    for municipality, message in result.failed.items():
        bar.info(tr("Failed: {id}: {message}", id=municipality, message=message))
    for name, path in result.gathered.items():
        bar.info(tr("{name}: {path}", name=name, path=path))
    return 1 if result.failed else 0


def _sample(args):
    from .sample import generate_sample_municipality, write_sample_municipality

    bar = ProgressBar()
    sample = generate_sample_municipality(args.blocks, args.seed, feedback=bar.feedback())
    paths = write_sample_municipality(sample, os.path.abspath(args.folder))
    bar.info(paths["gpkg"])
    return 0


def _steps(args):
    from .workflow.steps import STEPS

    for name, kind in sorted(STEPS.items()):
        needs = ", ".join(kind.datasets + kind.raster_datasets + kind.required)
        print(f"{name:12s} ({kind.algorithm}) {needs}; " + tr("optional: {options}",
                                                             options=", ".join(kind.optional) or "–"))
    return 0


_COMMANDS = {"run": _run, "batch": _batch, "sample": _sample, "steps": _steps}


if __name__ == "__main__":  # pragma: no cover - python -m kommunalmonitor.core.cli
    sys.exit(main())
