"""The plugin object as QGIS drives it: desktop (initGui/unload with an iface) and
headless (classFactory(None) + initProcessing, as qgis_process does), the language it
picks, and what it says when a Python package is missing."""
import pytest

from kommunalmonitor.core import i18n

pytestmark = pytest.mark.qgis


class FakeIface:
    """The parts of QgisInterface the plugin may use, recording what it does."""

    def __init__(self):
        from unittest import mock

        from qgis.PyQt.QtWidgets import QMainWindow

        self.window = QMainWindow()
        self.menus = []
        self.bar = mock.MagicMock()

    def mainWindow(self):  # noqa: N802
        return self.window

    def addPluginToMenu(self, menu, action):  # noqa: N802
        self.menus.append((menu, action))

    def removePluginMenu(self, menu, action):  # noqa: N802
        self.menus.remove((menu, action))

    def messageBar(self):  # noqa: N802
        return self.bar

    def addToolBar(self, name):  # noqa: N802
        return self.window.addToolBar(name)

    def addDockWidget(self, area, dock):  # noqa: N802
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.window.removeDockWidget(dock)


@pytest.fixture
def registry(qgis_app):
    """The Processing registry without the session's Kommunalmonitor provider (restored after)."""
    from qgis.core import QgsApplication

    from kommunalmonitor.processing.provider import KommunalmonitorProvider

    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("kommunalmonitor")
    if existing is not None:
        registry.removeProvider(existing)
    yield registry
    leftover = registry.providerById("kommunalmonitor")
    if leftover is not None:
        registry.removeProvider(leftover)
    registry.addProvider(KommunalmonitorProvider())


@pytest.fixture
def message_log(qgis_app):
    """Messages written to QGIS's message log during the test: list of (tag, level, text)."""
    from qgis.core import QgsApplication

    received = []

    def collect(message, tag, level):
        received.append((tag, level, message))

    log = QgsApplication.messageLog()
    log.messageReceived.connect(collect)
    yield received
    log.messageReceived.disconnect(collect)


@pytest.fixture
def settings(qgis_app):
    """QGIS settings, with the locale keys restored after the test."""
    from qgis.PyQt.QtCore import QSettings

    store = QSettings()
    saved = {key: store.value(key) for key in ("locale/userLocale", "locale/overrideFlag")}
    yield store
    for key, value in saved.items():
        if value is None:
            store.remove(key)
        else:
            store.setValue(key, value)


def test_desktop_load_registers_provider_and_menu_and_unload_removes_them(registry):
    from kommunalmonitor import classFactory

    iface = FakeIface()
    plugin = classFactory(iface)
    plugin.initGui()
    provider = registry.providerById("kommunalmonitor")
    assert provider is not None and provider is plugin.provider
    assert provider.name() == "Kommunalmonitor"
    # menu: the planning-cycle dock, the sample municipality, the help in German and English
    assert [m for m, _ in iface.menus] == ["&Kommunalmonitor"] * 4
    texts = [a.text() for _, a in iface.menus]
    assert texts[1] in ("Create sample municipality (Musterstadt)…", "Musterkommune erzeugen (Musterstadt)…")
    assert texts[0] in ("Kommunalmonitor: planning cycle", "Kommunalmonitor: Regelkreis")
    assert len(plugin.toolbar.actions()) == 2
    assert not iface.bar.pushCritical.called  # nothing missing on this machine
    dock = plugin.show_dock()
    assert not dock.isHidden() and plugin.show_dock() is dock  # one dock, shown again (window itself not shown)
    plugin.unload()
    assert plugin.dock is None and plugin.toolbar is None
    assert registry.providerById("kommunalmonitor") is None
    assert iface.menus == [] and plugin.actions == []
    # loading again after unloading works (plugin reloader, enable/disable in the manager)
    plugin = classFactory(iface)
    plugin.initGui()
    assert registry.providerById("kommunalmonitor") is not None
    plugin.unload()
    assert registry.providerById("kommunalmonitor") is None


def test_headless_load_never_touches_iface(registry):
    from kommunalmonitor import classFactory

    plugin = classFactory(None)  # as qgis_process does: any use of iface would raise
    plugin.initProcessing()
    plugin.initProcessing()  # idempotent
    assert registry.providerById("kommunalmonitor") is plugin.provider
    plugin.initGui()  # harmless without iface
    plugin.unload()
    assert registry.providerById("kommunalmonitor") is None


@pytest.mark.parametrize("override, locale, expected", [
    (True, "en_US", "en"),
    (True, "en_GB", "en"),
    (True, "de_DE", "de"),
    (True, "fr_FR", "de"),  # neither: German, the planners' default
    (True, None, "de"),     # fresh profile: no user locale stored
])
def test_plugin_language_follows_qgis(registry, settings, override, locale, expected):
    from kommunalmonitor import classFactory

    settings.setValue("locale/overrideFlag", override)
    if locale is None:
        settings.remove("locale/userLocale")
    else:
        settings.setValue("locale/userLocale", locale)
    plugin = classFactory(None)
    try:
        assert i18n.get_language() == expected
        if expected == "de":
            assert plugin.provider is None
            from kommunalmonitor.processing.provider import KommunalmonitorProvider

            assert "Kommunalentwicklung" in KommunalmonitorProvider().longName()
    finally:
        i18n.set_language("en")


def test_fresh_profile_without_locale_setting_does_not_crash(registry, settings):
    from kommunalmonitor.plugin.main import qgis_language

    settings.remove("locale/userLocale")
    settings.remove("locale/overrideFlag")
    value = qgis_language()
    assert value is None or isinstance(value, str)
    assert i18n.normalise_language(value) in ("de", "en")


def test_missing_dependency_is_named_at_load(registry, message_log, monkeypatch):
    import importlib.util

    from qgis.core import Qgis

    from kommunalmonitor import classFactory

    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in ("sklearn", "rasterio") else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    iface = FakeIface()
    plugin = classFactory(iface)
    plugin.initGui()
    ours = [m for m in message_log if m[0] == "Kommunalmonitor"]
    assert len(ours) == 1 and ours[0][1] == Qgis.Critical
    text = ours[0][2]
    for expected in ("sklearn", "rasterio", "sudo apt install python3-sklearn python3-rasterio",
                     "OSGeo4W", "python3-scikit-learn"):
        assert expected in text, (expected, text)
    assert "geopandas" not in text  # only what is missing
    iface.bar.pushCritical.assert_called_once_with("Kommunalmonitor", text)
    # the provider is still there, so each run can say what is missing
    assert registry.providerById("kommunalmonitor") is not None
    plugin.unload()


def test_missing_dependency_message_in_german():
    from kommunalmonitor.core.dependencies import missing_dependencies_message

    with i18n.language("de"):
        text = missing_dependencies_message(["yaml"])
    assert "Python-Pakete" in text and "python3-yaml" in text and "python3-pyyaml" in text
    assert missing_dependencies_message([]) == ""


def test_rtree_is_only_required_with_shapely_1_without_pygeos(monkeypatch):
    import importlib.util

    import shapely

    from kommunalmonitor.core import dependencies

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name in ("rtree", "pygeos") else real_find_spec(name, *a, **k))
    monkeypatch.setattr(shapely, "__version__", "1.8.5")
    assert dependencies.missing_modules() == ["rtree"]
    assert "python3-rtree" in dependencies.missing_dependencies_message()
    monkeypatch.setattr(shapely, "__version__", "2.1.1")  # QGIS 3.34+: geopandas uses shapely's STRtree
    assert dependencies.missing_modules() == []
    assert dependencies.missing_dependencies_message() == ""


def test_a_broken_algorithm_module_is_logged_and_skipped_not_fatal(registry, message_log, monkeypatch):
    """loadAlgorithms is called from C++: an exception there aborts QGIS, so a module that
    cannot be imported (missing package, broken code) must be skipped and reported."""
    import importlib

    from kommunalmonitor.processing import provider as provider_module

    real_import = importlib.import_module
    broken = {"aggregate_to_areas": ImportError("No module named 'sklearn'", name="sklearn"),
              "zonal_statistics": SyntaxError("invalid syntax")}

    def import_module(name, *args, **kwargs):
        short = name.rsplit(".", 1)[-1]
        if short in broken:
            raise broken[short]
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(provider_module.importlib, "import_module", import_module)
    provider = provider_module.KommunalmonitorProvider()
    assert registry.addProvider(provider)  # no abort
    ids = {a.id() for a in provider.algorithms()}
    assert "kommunalmonitor:aggregatetoareas" not in ids and "kommunalmonitor:zonalstatistics" not in ids
    assert "kommunalmonitor:compositeindex" in ids  # the others still load
    logged = "\n".join(m[2] for m in message_log if m[0] == "Kommunalmonitor")
    assert "python3-sklearn" in logged  # a missing package is named with what to install
    assert "'zonal_statistics' could not be loaded" in logged and "SyntaxError" in logged
    assert len(provider.load_errors) == 2
