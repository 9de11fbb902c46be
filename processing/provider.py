"""The Kommunalmonitor Processing provider: algorithms from ``processing/algorithms``
and Processing models from ``resources/models``."""
import importlib
import inspect
import os
import pkgutil

from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.i18n import tr
from . import algorithms as algorithms_package
from .base import ICON_PATH, PLUGIN_DIR, KommunalmonitorAlgorithm

MODELS_DIR = os.path.join(PLUGIN_DIR, "resources", "models")


def algorithm_classes():
    """All algorithm classes defined in ``processing/algorithms``, sorted by id."""
    found = {}
    for info in pkgutil.iter_modules(algorithms_package.__path__):
        module = importlib.import_module(f"{algorithms_package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, KommunalmonitorAlgorithm) and cls.ALGORITHM_ID
                    and cls.__module__ == module.__name__):
                found[cls.ALGORITHM_ID] = cls
    return [found[key] for key in sorted(found)]


class KommunalmonitorProvider(QgsProcessingProvider):
    """Provider id ``kommunalmonitor``."""

    def id(self):
        """Stable provider id (prefix of algorithm ids)."""
        return "kommunalmonitor"

    def name(self):
        """Name shown in the toolbox."""
        return "Kommunalmonitor"

    def longName(self):  # noqa: N802
        """Longer name with the tagline."""
        return tr("Kommunalmonitor – data for integrated municipal development")

    def icon(self):
        """Provider icon."""
        return QIcon(ICON_PATH)

    def loadAlgorithms(self):  # noqa: N802
        """Register every algorithm and shipped model."""
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
        if os.path.isdir(MODELS_DIR):
            for name in sorted(os.listdir(MODELS_DIR)):
                if name.endswith(".model3"):
                    model = QgsProcessingModelAlgorithm()
                    if model.fromFile(os.path.join(MODELS_DIR, name)):
                        self.addAlgorithm(model)
