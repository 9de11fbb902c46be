"""Shared benchmark helpers: medians, peak memory, versions, markdown tables.

Each ``bench/bench_<area>.py`` runs under the current-stack virtualenv, measures our
engine and its peers there, measures our engine on the QGIS stack by calling itself
with ``--worker`` under /usr/bin/python3, and writes a markdown section to ``--out``.
``bench/report.py`` joins the sections into ``docs/benchmarks.md``.
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

QGIS_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
PKGROOT = os.path.join(os.path.dirname(HERE), ".build", "pkgroot")


def median_time(function, repeat=3, warmup=0):
    """Run ``function`` ``warmup + repeat`` times; return (median seconds, last result)."""
    result = None
    for _ in range(warmup):
        result = function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB.

    Read from VmHWM in /proc: ``ru_maxrss`` survives ``exec`` on Linux, so a fresh worker
    started from a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_isolated(script, args, python=None, timeout=3600):
    """Run ``script --worker args`` in a fresh interpreter; return its JSON result.

    A fresh process per measurement gives honest peak memory and no warm caches from
    other tools. The worker prints one JSON object as its last stdout line.
    """
    python = python or sys.executable
    env = dict(os.environ)
    env["PYTHONPATH"] = PKGROOT + (":/usr/share/qgis/python" if python == QGIS_PYTHON else "")
    if python == QGIS_PYTHON:
        env["PROJ_DATA"] = "/usr/share/proj"  # Debian's pyproj; the venv's wheels bring their own
    else:
        env.pop("PROJ_DATA", None)
    completed = subprocess.run([python, "-P", script, "--worker", *map(str, args)],
                               capture_output=True, text=True, env=env, timeout=timeout)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def versions(*modules):
    """'name version' for each importable module, plus Python and machine."""
    out = [f"Python {platform.python_version()}"]
    for name in modules:
        try:
            module = __import__(name)
            out.append(f"{name} {getattr(module, '__version__', '?')}")
        except Exception:  # a peer that is not installed is reported as such
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def markdown_table(header, rows):
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def write_section(text, out=None):
    """Print a markdown section and, when ``out`` is given, write it there (for bench/report.py)."""
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
