"""The QGIS plugin object: registers the Processing provider, menu entries and language.

QGIS desktop calls ``classFactory(iface)`` then ``initGui()``; ``qgis_process`` calls
``classFactory(None)`` then only ``initProcessing()``. Nothing outside ``initGui``/``unload``
touches ``iface``.
"""
from qgis.core import Qgis, QgsApplication, QgsMessageLog

from ..core.i18n import normalise_language, set_language, tr
from ..core.dependencies import missing_dependencies_message

LOG_TAG = "Kommunalmonitor"
MENU = "&Kommunalmonitor"


def qgis_language():
    """The language QGIS runs in, as a locale name such as ``'de'`` or ``'en'``.

    QGIS's own rule (``QgsApplication.locale()``): the user locale from the settings when
    'override system locale' is on, otherwise the system locale. In a fresh profile the
    setting ``locale/userLocale`` is None; a system locale such as ``C`` is neither German
    nor English, so the catalogue's default (German) applies.
    """
    try:
        value = QgsApplication.locale()
    except Exception:  # noqa: BLE001 - no QGIS settings available: fall back to the default
        value = None
    if not value:
        from qgis.PyQt.QtCore import QSettings

        settings = QSettings()
        override = str(settings.value("locale/overrideFlag", False)).lower() in ("true", "1")
        value = settings.value("locale/userLocale", None) if override else None
    return value


def help_path(lang=None):
    """The plugin guide in ``lang`` (default: the interface language)."""
    import os

    from ..core.i18n import get_language

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "help")
    path = os.path.join(folder, normalise_language(lang or get_language()), "guide.html")
    return path if os.path.exists(path) else os.path.join(folder, "en", "guide.html")


class KommunalmonitorPlugin:
    """Entry point QGIS creates through ``classFactory``; ``iface`` is None in qgis_process."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.dock = None
        self.toolbar = None
        self.dependency_message = ""
        set_language(normalise_language(qgis_language()))

    def initProcessing(self):  # noqa: N802
        """Register the Processing provider (also called by qgis_process).

        Missing Python packages are named, with what to install, in the message log; the
        provider is registered anyway so the toolbox shows the tools and each run says
        what is missing (``processing.base``).
        """
        if self.provider is not None:
            return
        self.dependency_message = missing_dependencies_message()
        if self.dependency_message:
            QgsMessageLog.logMessage(self.dependency_message, LOG_TAG, Qgis.Critical)
        from ..processing.provider import KommunalmonitorProvider

        provider = KommunalmonitorProvider()
        if QgsApplication.processingRegistry().addProvider(provider):
            self.provider = provider

    def initGui(self):  # noqa: N802
        """Desktop start: provider, the dock, and menu/toolbar entries for the dock, the sample
        municipality and the help (German and English)."""
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from ..processing.base import ICON_PATH

        window = self.iface.mainWindow()
        self.toolbar = self.iface.addToolBar("Kommunalmonitor") if hasattr(self.iface, "addToolBar") else None
        if self.toolbar is not None:
            self.toolbar.setObjectName("KommunalmonitorToolbar")
        entries = (
            (tr("Kommunalmonitor: planning cycle"), self.show_dock, True),
            (tr("Create sample municipality (Musterstadt)…"), self.create_sample_interactive, True),
            (tr("Help (German)"), lambda: self.open_help("de"), False),
            (tr("Help (English)"), lambda: self.open_help("en"), False),
        )
        for text, slot, on_toolbar in entries:
            action = QAction(QIcon(ICON_PATH), text, window)
            action.triggered.connect(lambda _=False, slot=slot: slot())
            self.iface.addPluginToMenu(MENU, action)
            if on_toolbar and self.toolbar is not None:
                self.toolbar.addAction(action)
            self.actions.append(action)
        self.context_actions = []
        try:  # the toolbox's context menu comes from QGIS's processing plugin (desktop only)
            from processing.gui.ProviderActions import ProviderContextMenuActions

            from .model_actions import make_edit_copy_action

            self.context_actions = [make_edit_copy_action()]
            ProviderContextMenuActions.registerProviderContextMenuActions(self.context_actions)
        except Exception as error:  # noqa: BLE001 - a missing menu entry must not stop the plugin
            QgsMessageLog.logMessage(str(error), LOG_TAG, Qgis.Warning)
        self._show_dock_on_first_start()
        if self.dependency_message:
            try:
                self.iface.messageBar().pushCritical(LOG_TAG, self.dependency_message)
            except Exception:  # noqa: BLE001 - the message log already has it
                pass

    def _show_dock_on_first_start(self):
        """A planner who has just installed the plugin sees where to start: the dock opens once;
        afterwards QGIS remembers whether it was open."""
        from qgis.PyQt.QtCore import QSettings

        settings = QSettings()
        if str(settings.value("kommunalmonitor/dock_introduced", "false")).lower() in ("true", "1"):
            return
        try:
            self.show_dock()
            settings.setValue("kommunalmonitor/dock_introduced", True)
        except Exception as error:  # noqa: BLE001 - a missing dock must not stop the plugin
            QgsMessageLog.logMessage(str(error), LOG_TAG, Qgis.Warning)

    def show_dock(self):
        """Create (once) and show the planning-cycle dock."""
        if getattr(self, "dock", None) is None:
            from qgis.PyQt.QtCore import Qt

            from .dock import KommunalmonitorDock

            self.dock = KommunalmonitorDock(self.iface.mainWindow(), on_sample=self.create_sample_interactive,
                                            on_help=self.open_help)
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def create_sample_interactive(self):
        """Ask for a folder, create Musterstadt there, load it styled and offer to save the project."""
        import os

        from qgis.PyQt.QtWidgets import QFileDialog, QMessageBox

        window = self.iface.mainWindow()
        start = os.path.join(os.path.expanduser("~"), "Kommunalmonitor", "Musterstadt")
        folder = QFileDialog.getExistingDirectory(window, tr("Folder for the sample municipality"),
                                                  os.path.dirname(start))
        if not folder:
            return None
        group = self.create_sample(folder)
        if group is None:
            return None
        answer = QMessageBox.question(window, "Kommunalmonitor", tr(
            "Musterstadt is loaded. Save it as a QGIS project in {folder}?", folder=folder))
        if answer == QMessageBox.Yes:
            from qgis.core import QgsProject

            QgsProject.instance().write(os.path.join(folder, "musterstadt.qgz"))
        return group

    def create_sample(self, folder, project=None, n_blocks=None):
        """Create Musterstadt in ``folder`` and load it into the project as a styled group.

        Returns the layer-tree group, or None after logging why it failed.
        """
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtWidgets import QApplication

        from .sample_project import create_sample, load_sample

        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            create_sample(folder, n_blocks=n_blocks)
            group = load_sample(folder, project)
        except Exception as error:  # noqa: BLE001 - shown to the planner, never a crash
            QgsMessageLog.logMessage(str(error), LOG_TAG, Qgis.Critical)
            if self.iface is not None:
                self.iface.messageBar().pushCritical(LOG_TAG, str(error))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        if getattr(self, "dock", None) is not None:
            self.dock.restore()
        return group

    def open_help(self, lang=None):
        """Open the plugin guide (``resources/help/<lang>/guide.html``) in the browser."""
        from qgis.PyQt.QtCore import QUrl
        from qgis.PyQt.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(help_path(lang)))

    def _open_algorithm(self, algorithm_id):
        """Open an algorithm's dialog (desktop only)."""
        try:
            import processing  # QGIS's own processing plugin, desktop only

            processing.execAlgorithmDialog(algorithm_id)
        except Exception as error:  # the dialog is a convenience; log instead of failing
            QgsMessageLog.logMessage(str(error), LOG_TAG, Qgis.Warning)

    def unload(self):
        """Remove everything ``initGui``/``initProcessing`` added."""
        if getattr(self, "dock", None) is not None:
            if self.iface is not None and hasattr(self.iface, "removeDockWidget"):
                self.iface.removeDockWidget(self.dock)
            self.dock.close()
            self.dock.deleteLater()
            self.dock = None
        if getattr(self, "toolbar", None) is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if getattr(self, "context_actions", None):
            try:
                from processing.gui.ProviderActions import ProviderContextMenuActions

                ProviderContextMenuActions.deregisterProviderContextMenuActions(self.context_actions)
            except Exception:  # noqa: BLE001 - processing already gone at QGIS exit
                pass
            self.context_actions = []
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginMenu(MENU, action)
            action.deleteLater()
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
