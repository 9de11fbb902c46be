"""'Edit a copy of the model…' in the toolbox's context menu for the shipped models.

QGIS 3.22 lets the model designer edit only models of its own 'Models' provider. A shipped
model lives inside the plugin folder, which an update replaces, so editing it in place would
lose the planner's work: the action saves a copy (inputs labelled in the interface language)
among the planner's own models and opens that copy in the model designer.
"""
import os
import re

from qgis.core import QgsApplication, QgsProcessingModelAlgorithm

from ..core.i18n import tr

PROVIDER_ID = "kommunalmonitor"


def user_models_folder():
    """The folder of the planner's own models (the 'Models' provider reads it)."""
    try:
        from processing.modeler.ModelerUtils import ModelerUtils

        return ModelerUtils.modelsFolders()[0]
    except Exception:  # noqa: BLE001 - processing plugin missing: QGIS's default place
        folder = os.path.join(QgsApplication.qgisSettingsDirPath(), "processing", "models")
        os.makedirs(folder, exist_ok=True)
        return folder


def copy_model(model, folder=None):
    """Save an editable copy of a shipped ``model`` into ``folder`` (default: the user's models
    folder) and return ``(path, copy)``; an existing copy is never overwritten."""
    folder = folder or user_models_folder()
    os.makedirs(folder, exist_ok=True)
    copy = QgsProcessingModelAlgorithm()
    copy.loadVariant(model.toVariant())
    for definition in copy.parameterDefinitions():  # labels as the planner reads them now
        own = copy.parameterDefinition(definition.name())
        if own is not None and ":" not in own.name():
            own.setDescription(tr(own.description()))
    title = tr("{name} (my copy)", name=model.displayName())
    copy.setName(title)
    copy.setGroup(tr("My models"))
    stem = re.sub(r"[^\w-]+", "_", model.name()).strip("_") or "model"
    path = os.path.join(folder, f"{stem}_copy.model3")
    n = 2
    while os.path.exists(path):
        path = os.path.join(folder, f"{stem}_copy_{n}.model3")
        n += 1
    copy.setSourceFilePath(path)
    if not copy.toFile(path):
        raise OSError(tr("The model could not be saved to {path}.", path=path))
    provider = QgsApplication.processingRegistry().providerById("model")
    if provider is not None:
        provider.refreshAlgorithms()
    return path, copy


def make_edit_copy_action():
    """The toolbox context action (needs QGIS's processing plugin, i.e. the desktop)."""
    from processing.gui.ContextAction import ContextAction

    class EditCopyAction(ContextAction):
        """Shown on Kommunalmonitor's models: copy among the user's models and open the designer."""

        def __init__(self):
            super().__init__()
            self.name = tr("Edit a copy of the model…")

        def isEnabled(self):  # noqa: N802
            data = self.itemData
            return (isinstance(data, QgsProcessingModelAlgorithm) and data.provider() is not None
                    and data.provider().id() == PROVIDER_ID)

        def execute(self):
            from processing.modeler.ModelerDialog import ModelerDialog

            _, copy = copy_model(self.itemData)
            dialog = ModelerDialog.create(copy)
            dialog.show()
            dialog.activate()

    return EditCopyAction()
