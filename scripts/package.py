"""Build the plugin zip for the QGIS plugin repository and check it like its upload validator.

Usage: ``python3 -P scripts/package.py VERSION DIST_DIR`` (``make package`` does this) writes
``DIST_DIR/kommunalmonitor-VERSION.zip`` with exactly one top folder ``kommunalmonitor/``.

Only files tracked by git go in (so nothing untracked, ignored or generated slips in),
minus what a plugin user does not need: tests, benchmarks, scripts, developer docs, CI and
tool settings, dotfiles, caches. Entries are sorted and time-stamped with a fixed date, so
the same tree gives the same zip. Standard library only: runs with any Python 3.
"""
import configparser
import io
import os
import re
import subprocess
import sys
import zipfile

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_NAME = "kommunalmonitor"
MAX_BYTES = 25 * 1024 * 1024  # plugins.qgis.org refuses larger uploads

# Top-level folders and files that stay out of the zip (developer material).
EXCLUDED_TOP = {"tests", "bench", "scripts", "docs", "dist", "Makefile", "pyproject.toml",
                "requirements-current.txt", "demo-output"}
EXCLUDED_PARTS = {"__pycache__"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", "~")

REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author",
                     "email", "repository", "tracker", "homepage")
URL_METADATA = ("repository", "tracker", "homepage")
FIXED_DATE = (2020, 1, 1, 0, 0, 0)


def included(path):
    """True if a repository-relative path belongs in the plugin zip."""
    parts = path.replace("\\", "/").split("/")
    if parts[0] in EXCLUDED_TOP:
        return False
    if any(part.startswith(".") for part in parts):  # .ci, .gitignore, .venv, ...
        return False
    if any(part in EXCLUDED_PARTS for part in parts):
        return False
    return not path.endswith(EXCLUDED_SUFFIXES)


def tracked_files(root=PLUGIN_DIR):
    """Repository-relative paths of the files git tracks (walks the tree outside a checkout)."""
    try:
        output = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                                capture_output=True).stdout.decode("utf-8")
        paths = [p for p in output.split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            paths += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    # a file deleted in the working tree but not yet in git is not shipped
    return sorted(p for p in paths if os.path.isfile(os.path.join(root, p)))


def read_metadata(text):
    """Parse metadata.txt content; return the ``[general]`` section as a dict."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive (qgisMinimumVersion)
    parser.read_string(text)
    return dict(parser["general"]) if parser.has_section("general") else {}


def validate_zip(path, expected_version=None):
    """Return a list of problems the plugin repository would refuse (empty when fine)."""
    problems = []
    if os.path.getsize(path) > MAX_BYTES:
        problems.append(f"zip is larger than 25 MB ({os.path.getsize(path)} bytes)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {name.split("/")[0] for name in names}
        if len(tops) != 1:
            problems.append(f"zip must contain exactly one top folder, found {sorted(tops)}")
            return problems
        top = tops.pop()
        if not re.match(r"^[a-z_][a-z0-9_]*$", top):
            problems.append(f"top folder name {top!r} must match ^[a-z_][a-z0-9_]*$")
        for name in names:
            parts = name.split("/")
            if name.endswith((".pyc", ".pyo")) or "__pycache__" in parts or ".git" in parts:
                problems.append(f"forbidden file in zip: {name}")
        for required in ("__init__.py", "metadata.txt"):
            if f"{top}/{required}" not in names:
                problems.append(f"{top}/{required} is missing")
        if not any(re.match(rf"^{re.escape(top)}/LICEN[CS]E(\.\w+)?$", n) for n in names):
            problems.append(f"{top}/LICENSE is missing")
        if f"{top}/metadata.txt" in names:
            try:
                metadata = read_metadata(archive.read(f"{top}/metadata.txt").decode("utf-8"))
            except (configparser.Error, UnicodeDecodeError) as error:
                problems.append(f"metadata.txt cannot be read: {error}")
                metadata = {}
            for key in REQUIRED_METADATA:
                if not metadata.get(key, "").strip():
                    problems.append(f"metadata.txt: required field {key!r} is missing or empty")
            for key in URL_METADATA:
                value = metadata.get(key, "").strip()
                if value and not re.match(r"^https?://[^\s/$.?#].[^\s]*$", value):
                    problems.append(f"metadata.txt: {key} must be a URL, got {value!r}")
            if metadata.get("hasProcessingProvider", "").strip().lower() not in ("yes", "true"):
                problems.append("metadata.txt: hasProcessingProvider=yes is missing")
            if expected_version and metadata.get("version", "").strip() != expected_version:
                problems.append(f"metadata.txt: version {metadata.get('version')!r} differs from "
                                f"{expected_version!r}")
            icon = metadata.get("icon", "").strip()
            if icon and f"{top}/{icon}" not in names:
                problems.append(f"metadata.txt: icon {icon!r} is not in the zip")
            if not re.match(r"^\d+\.\d+(\.\d+)?$", metadata.get("qgisMinimumVersion", "").strip()):
                problems.append("metadata.txt: qgisMinimumVersion must look like 3.22")
    return problems


def build(version, dist_dir, root=PLUGIN_DIR):
    """Write ``dist_dir/kommunalmonitor-<version>.zip``; return its path (raises on problems)."""
    os.makedirs(dist_dir, exist_ok=True)
    target = os.path.join(dist_dir, f"{PACKAGE_NAME}-{version}.zip")
    files = [p for p in tracked_files(root) if included(p)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            info = zipfile.ZipInfo(f"{PACKAGE_NAME}/{relative}", date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(os.path.join(root, relative), "rb") as fh:
                archive.writestr(info, fh.read())
    tmp = target + ".part"
    with open(tmp, "wb") as fh:
        fh.write(buffer.getvalue())
    problems = validate_zip(tmp, expected_version=version)
    if problems:
        os.remove(tmp)
        raise ValueError("the plugin zip would be refused:\n  " + "\n  ".join(problems))
    os.replace(tmp, target)
    return target


def main(argv=None):
    """Command line: ``package.py VERSION DIST_DIR``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        path = build(argv[0], argv[1])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"{path} ({count} files, {os.path.getsize(path) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
