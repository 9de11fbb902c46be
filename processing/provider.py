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
from ..core.dependencies import missing_dependencies_message
from .base import ICON_PATH, PLUGIN_DIR, KommunalmonitorAlgorithm

MODELS_DIR = os.path.join(PLUGIN_DIR, "resources", "models")

# Shipped models: model name (its id) → English display name (German in the catalogue).
MODEL_DISPLAY_NAMES = {
    "councilmapworkflow": "Council map workflow (aggregate, index, PDF)",
}


class ShippedModel(QgsProcessingModelAlgorithm):
    """A model from ``resources/models`` that speaks the interface language: translated name,
    input labels and help (``resources/help/<lang>/<model name>.html``), in the toolbox group of
    its topic (QGIS shows a model's id as its name and its file's group otherwise)."""

    def displayName(self):  # noqa: N802
        """Translated name, or the model's own name when none is registered."""
        english = MODEL_DISPLAY_NAMES.get(self.name())
        return tr(english) if english else super().displayName()

    def groupId(self):  # noqa: N802
        """The id of the model's topic group (a model file stores only the English group name)."""
        from .base import GROUPS

        stored = super().group()
        return next((key for key, english in GROUPS.items() if english == stored), stored)

    def group(self):
        """The translated toolbox group of the model's topic (the same as its algorithms')."""
        from .base import GROUPS

        return tr(GROUPS[self.groupId()]) if self.groupId() in GROUPS else super().group()

    def shortHelpString(self):  # noqa: N802
        """Help in the interface language, from the help folder like the algorithms'."""
        from .base import help_for_dialog, read_help

        return help_for_dialog(read_help(self.name())) or super().shortHelpString()

    def translate_inputs(self):
        """Input labels in the interface language (English in the file, German in the catalogue)."""
        for definition in self.parameterDefinitions():
            own = self.parameterDefinition(definition.name())
            if own is not None and not own.name().count(":"):  # outputs are named child:output
                own.setDescription(tr(own.description()))
        return self

    def createInstance(self):  # noqa: N802
        """A copy that keeps the translated name (QGIS clones models for each run)."""
        copy = ShippedModel()
        copy.loadVariant(self.toVariant())
        copy.setSourceFilePath(self.sourceFilePath())
        return copy


def _report_broken_module(module_name, error):
    """Log why an algorithm module could not be loaded (never let it take QGIS down)."""
    from qgis.core import Qgis, QgsMessageLog

    missing = ""
    if isinstance(error, ImportError):
        package = (getattr(error, "name", None) or "").split(".")[0]
        missing = missing_dependencies_message([package]) if package else ""
    message = missing or tr("The Kommunalmonitor tool '{module}' could not be loaded: {error}",
                            module=module_name, error=f"{type(error).__name__}: {error}")
    QgsMessageLog.logMessage(message, "Kommunalmonitor", Qgis.Critical)
    return message


def algorithm_classes(errors=None):
    """All algorithm classes defined in ``processing/algorithms``, sorted by id.

    A module that fails to import (missing package, broken code) is skipped and logged to
    the message log; its message is appended to ``errors`` when a list is given. Raising
    here would abort QGIS, because ``loadAlgorithms`` is called from C++.
    """
    found = {}
    for info in pkgutil.iter_modules(algorithms_package.__path__):
        try:
            module = importlib.import_module(f"{algorithms_package.__name__}.{info.name}")
        except Exception as error:  # noqa: BLE001 - any import failure must not crash QGIS
            message = _report_broken_module(info.name, error)
            if errors is not None:
                errors.append(message)
            continue
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
        """Register every algorithm and shipped model; problems are logged, never raised
        (an exception here, called from C++, would abort QGIS)."""
        self.load_errors = []
        for cls in algorithm_classes(self.load_errors):
            try:
                self.addAlgorithm(cls())
            except Exception as error:  # noqa: BLE001
                self.load_errors.append(_report_broken_module(cls.__module__, error))
        if os.path.isdir(MODELS_DIR):
            for name in sorted(os.listdir(MODELS_DIR)):
                if name.endswith(".model3"):
                    model = ShippedModel()
                    if model.fromFile(os.path.join(MODELS_DIR, name)):
                        self.addAlgorithm(model.translate_inputs())
                    else:
                        self.load_errors.append(_report_broken_module(name, ValueError("invalid model file")))
