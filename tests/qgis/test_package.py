"""`make package` builds a zip the plugin repository accepts, and that zip installs into a
fresh QGIS profile and loads there: on the desktop (initGui/unload through qgis.utils) and
headless (qgis_process.bin plugins enable + list shows the provider and its algorithms).

The installed copy runs in subprocesses with neither QGIS_PLUGINPATH nor PYTHONPATH
pointing at the repository, so what loads is the zip's content.
"""
import ast
import importlib.util
import json
import os
import subprocess
import sys
import zipfile

import pytest

pytestmark = pytest.mark.qgis

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QGIS_PROCESS = "/usr/bin/qgis_process.bin"


def _package_module():
    spec = importlib.util.spec_from_file_location("km_package", os.path.join(PLUGIN_DIR, "scripts", "package.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _version():
    with open(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8") as fh:
        return _package_module().read_metadata(fh.read())["version"]


def _clean_env(profile):
    """Environment of a user's machine: no repository on any path, a fresh profile."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QGIS_PLUGINPATH")}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(profile))
    return env


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    """Run the packaging command exactly as `make package` does."""
    dist = tmp_path_factory.mktemp("dist")
    version = _version()
    result = subprocess.run([sys.executable, "-P", os.path.join(PLUGIN_DIR, "scripts", "package.py"),
                             version, str(dist)], capture_output=True, text=True, cwd=PLUGIN_DIR)
    assert result.returncode == 0, result.stderr
    path = dist / f"kommunalmonitor-{version}.zip"
    assert path.exists() and str(path) in result.stdout
    return path


@pytest.fixture(scope="module")
def installed(built_zip, tmp_path_factory):
    """The zip unpacked into a fresh profile's plugin folder, as the plugin manager does."""
    profile = tmp_path_factory.mktemp("profile")
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(plugins)
    return profile, plugins


def _algorithm_ids(plugin_root):
    ids = set()
    folder = os.path.join(plugin_root, "processing", "algorithms")
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and any(getattr(t, "id", None) == "ALGORITHM_ID" for t in node.targets):
                    ids.add(node.value.value)
    return ids


def test_zip_has_one_top_folder_and_only_what_users_need(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        names = archive.namelist()
    assert {n.split("/")[0] for n in names} == {"kommunalmonitor"}
    inside = {n.split("/", 1)[1] for n in names}
    for needed in ("__init__.py", "metadata.txt", "LICENSE", "core/i18n.py", "processing/provider.py",
                   "processing/bridge.py", "plugin/main.py", "i18n/de/core.json",
                   "resources/icons/kommunalmonitor.svg"):
        assert needed in inside, needed
    forbidden = [n for n in inside
                 if n.split("/")[0] in ("tests", "bench", "scripts", "docs", ".ci", ".git", ".venv", ".build")
                 or n in ("Makefile", "pyproject.toml", "requirements-current.txt", ".gitignore")
                 or n.endswith((".pyc", ".pyo")) or "__pycache__" in n]
    assert not forbidden, forbidden
    # nothing untracked goes in: every file is known to git
    tracked = set(subprocess.run(["git", "-C", PLUGIN_DIR, "ls-files"], capture_output=True, text=True,
                                 check=True).stdout.split("\n"))
    assert inside <= tracked
    assert os.path.getsize(built_zip) < 25 * 1024 * 1024


def test_zip_passes_the_repository_checks(built_zip):
    package = _package_module()
    assert package.validate_zip(str(built_zip), expected_version=_version()) == []
    with zipfile.ZipFile(built_zip) as archive:
        metadata = package.read_metadata(archive.read("kommunalmonitor/metadata.txt").decode("utf-8"))
    assert metadata["qgisMinimumVersion"] == "3.22"
    assert metadata["hasProcessingProvider"] == "yes"
    for key in ("homepage", "tracker", "repository"):
        assert metadata[key].startswith("https://")
    assert metadata["tags"] and metadata["category"]
    assert "planning area" in metadata["about"]


def _zip_with(tmp_path, entries):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return str(path)


GOOD_METADATA = ("[general]\nname=X\nqgisMinimumVersion=3.22\ndescription=d\nabout=a\nversion=1.0\n"
                 "author=a\nemail=a@b.c\nrepository=https://x.org/r\ntracker=https://x.org/t\n"
                 "homepage=https://x.org\nhasProcessingProvider=yes\n")


@pytest.mark.parametrize("entries, problem", [
    ({"a/__init__.py": "", "b/x.py": ""}, "exactly one top folder"),
    ({"Bad-Name/__init__.py": "", "Bad-Name/metadata.txt": GOOD_METADATA, "Bad-Name/LICENSE": ""},
     "must match"),
    ({"p/__init__.py": "", "p/metadata.txt": GOOD_METADATA, "p/LICENSE": "", "p/x.pyc": ""},
     "forbidden file"),
    ({"p/__init__.py": "", "p/metadata.txt": GOOD_METADATA, "p/LICENSE": "", "p/__pycache__/x": ""},
     "forbidden file"),
    ({"p/__init__.py": "", "p/metadata.txt": GOOD_METADATA}, "LICENSE is missing"),
    ({"p/metadata.txt": GOOD_METADATA, "p/LICENSE": ""}, "__init__.py is missing"),
    ({"p/__init__.py": "", "p/LICENSE": "", "p/metadata.txt": GOOD_METADATA.replace("tracker=https://x.org/t\n", "")},
     "'tracker' is missing"),
    ({"p/__init__.py": "", "p/LICENSE": "", "p/metadata.txt": GOOD_METADATA.replace("https://x.org/r", "github")},
     "repository must be a URL"),
    ({"p/__init__.py": "", "p/LICENSE": "", "p/metadata.txt": GOOD_METADATA + "icon=icon.png\n"},
     "icon 'icon.png' is not in the zip"),
])
def test_validator_refuses_what_the_repository_refuses(tmp_path, entries, problem):
    problems = _package_module().validate_zip(_zip_with(tmp_path, entries))
    assert any(problem in p for p in problems), problems


def test_packaging_refuses_a_version_mismatch(tmp_path):
    result = subprocess.run([sys.executable, "-P", os.path.join(PLUGIN_DIR, "scripts", "package.py"),
                             "99.0.0", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "differs" in result.stderr
    assert not list(tmp_path.iterdir())  # no half-written zip left behind


def test_packaging_is_reproducible(built_zip, tmp_path):
    build = _package_module().build(_version(), str(tmp_path))
    with open(build, "rb") as a, open(built_zip, "rb") as b:
        assert a.read() == b.read()


def test_installed_zip_loads_headless_in_qgis_process(installed):
    profile, plugins = installed
    env = _clean_env(profile)
    enable = subprocess.run([QGIS_PROCESS, "plugins", "enable", "kommunalmonitor"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert enable.returncode == 0, enable.stdout + enable.stderr
    listing = subprocess.run([QGIS_PROCESS, "--json", "list"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert listing.returncode == 0, listing.stderr
    providers = json.loads(listing.stdout)["providers"]
    assert "kommunalmonitor" in providers, sorted(providers)
    ours = providers["kommunalmonitor"]
    assert ours["name"] == "Kommunalmonitor" and ours["is_active"]
    expected = {f"kommunalmonitor:{a}" for a in _algorithm_ids(plugins / "kommunalmonitor")}
    assert expected <= set(ours["algorithms"]), expected - set(ours["algorithms"])
    assert "Traceback" not in listing.stderr


DESKTOP_SCRIPT = r"""
import json, sys
from unittest import mock
from qgis.testing import start_app
app = start_app()
import qgis.utils
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QMainWindow

plugins_dir = sys.argv[1]

class Iface:
    def __init__(self):
        self.window, self.menus, self.bar = QMainWindow(), [], mock.MagicMock()
    def mainWindow(self): return self.window
    def addPluginToMenu(self, menu, action): self.menus.append((menu, action.text()))
    def removePluginMenu(self, menu, action): self.menus.remove((menu, action.text()))
    def messageBar(self): return self.bar

iface = Iface()
qgis.utils.iface = iface
qgis.utils.plugin_paths = [plugins_dir]
sys.path.insert(0, plugins_dir)  # what QGIS does for each plugin path
qgis.utils.updateAvailablePlugins()
result = {"available": "kommunalmonitor" in qgis.utils.available_plugins,
          "loaded": qgis.utils.loadPlugin("kommunalmonitor"),
          "started": qgis.utils.startPlugin("kommunalmonitor")}
result["file"] = sys.modules["kommunalmonitor"].__file__
registry = QgsApplication.processingRegistry()
provider = registry.providerById("kommunalmonitor")
result["provider"] = provider is not None
result["algorithms"] = sorted(a.id() for a in provider.algorithms()) if provider else []
result["menus"] = list(iface.menus)
result["errors"] = bool(iface.bar.pushMessage.called or iface.bar.pushCritical.called)
result["unloaded"] = qgis.utils.unloadPlugin("kommunalmonitor")
result["provider_after"] = registry.providerById("kommunalmonitor") is not None
result["menus_after"] = list(iface.menus)
print("RESULT" + json.dumps(result))
"""


def test_installed_zip_loads_on_the_desktop_and_unloads(installed, tmp_path):
    profile, plugins = installed
    env = _clean_env(profile)
    env["PYTHONPATH"] = "/usr/share/qgis/python/plugins:/usr/share/qgis/python"
    script = tmp_path / "desktop.py"
    script.write_text(DESKTOP_SCRIPT)
    run = subprocess.run([sys.executable, "-P", str(script), str(plugins)], env=env, capture_output=True,
                         text=True, timeout=120, cwd=str(tmp_path))
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
    assert run.returncode == 0 and lines, run.stdout + run.stderr
    result = json.loads(lines[-1][len("RESULT"):])
    assert result["available"] and result["loaded"] and result["started"], result
    assert result["file"].startswith(str(plugins)), result["file"]  # the installed copy
    assert result["provider"] and not result["errors"]
    expected = {f"kommunalmonitor:{a}" for a in _algorithm_ids(plugins / "kommunalmonitor")}
    assert expected <= set(result["algorithms"])
    # the planning-cycle dock, the sample municipality, the help in German and English
    assert len(result["menus"]) == 4 and {menu for menu, _ in result["menus"]} == {"&Kommunalmonitor"}
    assert result["unloaded"] and not result["provider_after"] and result["menus_after"] == []


def test_readme_documents_commands_and_versions():
    with open(os.path.join(PLUGIN_DIR, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    for needed in ("make demo", "make test", "make package", "make bench", "3.22", "python3-sklearn",
                   "python3-scikit-learn", "OSGeo4W"):
        assert needed in readme, needed
