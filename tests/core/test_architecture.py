"""House rules checked mechanically: core stays QGIS-free, every algorithm is documented
in both languages, nothing edits sys.path."""
import ast
import os

import pytest

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python_files(folder):
    for root, _, files in os.walk(os.path.join(PLUGIN_DIR, folder)):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(root, name)


def _imports(path):
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_never_imports_qgis_or_qt():
    offending = [(os.path.relpath(p, PLUGIN_DIR), m) for p in _python_files("core")
                 for m in _imports(p) if m.split(".")[0] in {"qgis", "PyQt5", "PyQt6", "sip", "processing"}]
    assert not offending, offending


def test_processing_never_reaches_up_into_plugin():
    """plugin/ (desktop) builds on processing/ and core/, never the other way round."""
    offending = []
    for path in _python_files("processing"):
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 0 and (node.module or "").split(".")[0] == "plugin":
                offending.append(os.path.relpath(path, PLUGIN_DIR))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kommunalmonitor.plugin"):
                offending.append(os.path.relpath(path, PLUGIN_DIR))
    assert not offending, offending


def test_plugin_code_never_imports_pyqt_directly_or_edits_sys_path():
    offending = []
    for folder in ("core", "processing", "plugin"):
        for path in _python_files(folder):
            text = open(path, encoding="utf-8").read()
            if "sys.path.insert" in text or "sys.path.append" in text:
                offending.append((path, "sys.path"))
            offending += [(path, m) for m in _imports(path) if m.split(".")[0] in {"PyQt5", "PyQt6"}]
    assert not offending, offending


def _algorithm_ids():
    for path in _python_files(os.path.join("processing", "algorithms")):
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and any(getattr(t, "id", None) == "ALGORITHM_ID" for t in node.targets) \
                    and isinstance(node.value.value, str):
                yield node.value.value


ALGORITHM_IDS = sorted(set(_algorithm_ids()))


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_algorithm_has_help_in_both_languages(language):
    assert ALGORITHM_IDS, "no algorithms found"
    missing = [a for a in ALGORITHM_IDS
               if not os.path.exists(os.path.join(PLUGIN_DIR, "resources", "help", language, a + ".html"))]
    assert not missing, f"help texts missing in {language}: {missing}"


def test_algorithm_ids_are_lowercase_and_unique():
    ids = list(_algorithm_ids())
    assert len(ids) == len(set(ids)), "duplicate ALGORITHM_ID"
    assert all(a == a.lower() and a.isidentifier() for a in ids), ids


def test_no_test_skips_itself():
    """Only the Berlin-data fixture may skip (where ../shared is absent); peers are marked."""
    offending = []
    for folder in ("tests",):
        for path in _python_files(folder):
            if path.endswith(os.path.join("tests", "conftest.py")):
                continue
            text = open(path, encoding="utf-8").read()
            # spelled in pieces so that this file does not match its own search
            for needle in ("import" "orskip", "pytest." "skip(", "mark." "skip", "mark." "xfail"):
                if needle in text:
                    offending.append((os.path.relpath(path, PLUGIN_DIR), needle))
    assert not offending, offending
