"""The QGIS plugin object: registers the Processing provider, menu entries and language.

QGIS desktop calls ``classFactory(iface)`` then ``initGui()``; ``qgis_process`` calls
``classFactory(None)`` then only ``initProcessing()``. Nothing outside ``initGui``/``unload``
touches ``iface``.
"""
from qgis.core import Qgis, QgsApplication, QgsMessageLog

from ..core.i18n import normalise_language, set_language, tr
from .dependencies import missing_dependencies_message

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


class KommunalmonitorPlugin:
    """Entry point QGIS creates through ``classFactory``; ``iface`` is None in qgis_process."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
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
        """Desktop start: provider plus a menu entry that opens the toolbox on our algorithms."""
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from ..processing.base import ICON_PATH

        action = QAction(QIcon(ICON_PATH), tr("Create sample municipality (Musterstadt)…"),
                         self.iface.mainWindow())
        action.triggered.connect(lambda: self._open_algorithm("kommunalmonitor:samplemunicipality"))
        self.iface.addPluginToMenu(MENU, action)
        self.actions.append(action)
        if self.dependency_message:
            try:
                self.iface.messageBar().pushCritical(LOG_TAG, self.dependency_message)
            except Exception:  # noqa: BLE001 - the message log already has it
                pass

    def _open_algorithm(self, algorithm_id):
        """Open an algorithm's dialog (desktop only)."""
        try:
            import processing  # QGIS's own processing plugin, desktop only

            processing.execAlgorithmDialog(algorithm_id)
        except Exception as error:  # the dialog is a convenience; log instead of failing
            QgsMessageLog.logMessage(str(error), LOG_TAG, Qgis.Warning)

    def unload(self):
        """Remove everything ``initGui``/``initProcessing`` added."""
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginMenu(MENU, action)
            action.deleteLater()
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
