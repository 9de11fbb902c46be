"""The QGIS plugin object: registers the Processing provider, menu entries and language."""
from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QSettings

from ..core.i18n import set_language, tr
from .dependencies import missing_dependencies_message


def qgis_language():
    """'en' or 'de' from QGIS's user locale (None in a fresh profile: then the system locale)."""
    settings = QSettings()
    value = settings.value("locale/userLocale", None)
    if not value or settings.value("locale/overrideFlag", False) in (False, "false"):
        value = value or QgsApplication.locale()
    return value


class KommunalmonitorPlugin:
    """Entry point QGIS creates through ``classFactory``; ``iface`` is None in qgis_process."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        set_language(qgis_language())

    def initProcessing(self):  # noqa: N802
        """Register the Processing provider (also called by qgis_process)."""
        missing = missing_dependencies_message()
        if missing:
            QgsMessageLog.logMessage(missing, "Kommunalmonitor", Qgis.Critical)
        from ..processing.provider import KommunalmonitorProvider

        self.provider = KommunalmonitorProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

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
        self.iface.addPluginToMenu("&Kommunalmonitor", action)
        self.actions.append(action)

    def _open_algorithm(self, algorithm_id):
        """Open an algorithm's dialog (desktop only)."""
        try:
            import processing  # QGIS's own processing plugin, desktop only

            processing.execAlgorithmDialog(algorithm_id)
        except Exception as error:  # the dialog is a convenience; log instead of failing
            QgsMessageLog.logMessage(str(error), "Kommunalmonitor", Qgis.Warning)

    def unload(self):
        """Remove everything ``initGui``/``initProcessing`` added."""
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginMenu("&Kommunalmonitor", action)
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
