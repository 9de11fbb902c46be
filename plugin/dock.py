"""The Kommunalmonitor dock: the planning cycle step by step.

Each step says in one sentence what it is for, shows which project layer plays which role
(combo boxes filtered by geometry type) and opens the right algorithm dialog pre-filled with
those layers and guessed fields (``processing.execAlgorithmDialog``). Roles and the current
step live in the QGIS project (``plugin/roles.py``), so reopening a project restores them.
Buttons of algorithms that are not registered are disabled and say why.
"""
from qgis.core import Qgis, QgsMapLayerProxyModel, QgsMessageLog, QgsProject
from qgis.gui import QgsDockWidget, QgsMapLayerComboBox

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                                 QSizePolicy, QToolBox, QVBoxLayout, QWidget)

from ..core.i18n import tr
from . import roles as role_store

LOG_TAG = "Kommunalmonitor"

_FILTERS = {
    "polygon": QgsMapLayerProxyModel.PolygonLayer,
    "point_or_polygon": QgsMapLayerProxyModel.PolygonLayer | QgsMapLayerProxyModel.PointLayer,
    "table": QgsMapLayerProxyModel.VectorLayer,
    "raster": QgsMapLayerProxyModel.RasterLayer,
}


class KommunalmonitorDock(QgsDockWidget):
    """The guided planning cycle as a dock widget.

    Parameters
    ----------
    parent : QWidget, optional
    project : QgsProject, optional
        The project whose roles are shown (default: the current project).
    on_sample, on_help : callable, optional
        What the 'sample municipality' and 'help' buttons do (the plugin passes its own).
    """

    def __init__(self, parent=None, project=None, on_sample=None, on_help=None):
        super().__init__(tr("Kommunalmonitor – planning cycle"), parent)
        self.setObjectName("KommunalmonitorDock")
        self.project = project or QgsProject.instance()
        self.on_sample = on_sample
        self.on_help = on_help
        self.combos = {}  # role -> list of combo boxes (a role can appear in several steps)
        self.buttons = {}  # algorithm id -> list of buttons
        self._updating = False
        self._build()
        self.project.readProject.connect(self.restore)
        self.project.cleared.connect(self.restore)
        self.restore()

    # --- layout -------------------------------------------------------------------------

    def _build(self):
        """Header (sample, help), one page per step, a note on the cycle."""
        body = QWidget()
        layout = QVBoxLayout(body)
        intro = QLabel(tr("From the data to the council and back: work through the steps in order; "
                          "each step remembers which layer plays which part, in the project."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        header = QHBoxLayout()
        self.sample_button = QPushButton(tr("Sample municipality"))
        self.sample_button.setToolTip(tr("Create Musterstadt, a synthetic municipality, and load it "
                                         "styled into the project to try every step."))
        self.sample_button.clicked.connect(lambda: self.on_sample() if self.on_sample else None)
        self.help_button = QPushButton(tr("Help"))
        self.help_button.clicked.connect(lambda: self.on_help() if self.on_help else None)
        header.addWidget(self.sample_button)
        header.addWidget(self.help_button)
        layout.addLayout(header)
        self.toolbox = QToolBox()
        for step in role_store.STEPS:
            self.toolbox.addItem(self._step_page(step), tr(step.title))
        self.toolbox.currentChanged.connect(self._step_changed)
        for area in self.toolbox.findChildren(QScrollArea):  # QToolBox scrolls each page itself
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.toolbox.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        layout.addWidget(self.toolbox, 1)
        cycle = QLabel(tr("After monitoring, the cycle starts again with new data."))
        cycle.setWordWrap(True)
        cycle.setStyleSheet("color: grey")
        layout.addWidget(cycle)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        # the dock is narrow: texts wrap and buttons shrink instead of scrolling sideways
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)

    def _step_page(self, step):
        """A page: purpose, role combo boxes, one button per action."""
        page = QWidget()
        layout = QVBoxLayout(page)
        purpose = QLabel(tr(step.purpose))
        purpose.setWordWrap(True)
        layout.addWidget(purpose)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.WrapAllRows)  # role name above its layer: fits a narrow dock
        for key in step.roles:
            role = role_store.ROLES[key]
            combo = QgsMapLayerComboBox()
            combo.setObjectName(f"role_{key}_{step.key}")
            combo.setAllowEmptyLayer(True)
            combo.setFilters(_FILTERS[role.kind])
            combo.setLayer(None)
            combo.setToolTip(tr(role.hint))
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.layerChanged.connect(lambda layer, key=key, combo=combo: self._role_changed(key, layer, combo))
            self.combos.setdefault(key, []).append(combo)
            form.addRow(tr(role.label), combo)
        layout.addLayout(form)
        for action in step.actions:
            button = QPushButton(tr(action.label))
            button.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # long names must not widen the dock
            button.setMinimumWidth(120)
            button.setStyleSheet("text-align: left; padding: 3px 6px")  # a clipped name keeps its start
            button.setToolTip(tr(action.label))
            button.setObjectName(f"action_{action.algorithm_id.split(':')[-1]}")
            button.clicked.connect(lambda _=False, action=action: self.open_action(action))
            self.buttons.setdefault(action.algorithm_id, []).append(button)
            layout.addWidget(button)
        layout.addStretch(1)
        return page

    # --- state ----------------------------------------------------------------------------

    def restore(self, *args):
        """Show the roles and step stored in the project; enable only registered tools."""
        self._updating = True
        try:
            for key, combos in self.combos.items():
                layer = role_store.role_layer(key, self.project)
                for combo in combos:
                    combo.setLayer(layer)
            self.toolbox.setCurrentIndex(min(role_store.current_step(self.project), self.toolbox.count() - 1))
            self._mark_steps()
        finally:
            self._updating = False
        self.refresh_availability()

    def _mark_steps(self):
        """A tick on every step whose layers are all chosen: where the planner stands at a glance."""
        chosen = role_store.roles(self.project)
        for index, step in enumerate(role_store.STEPS):
            done = all(key in chosen for key in step.roles)
            self.toolbox.setItemText(index, tr(step.title) + (" ✓" if done else ""))

    def refresh_availability(self):
        """Disable buttons of algorithms that are not registered, saying why."""
        for algorithm_id, buttons in self.buttons.items():
            available = role_store.algorithm_available(algorithm_id)
            for button in buttons:
                button.setEnabled(available)
                button.setToolTip(button.text() if available else tr(
                    "This tool is not available in this installation ({id}).", id=algorithm_id))

    def _role_changed(self, key, layer, source_combo):
        """A combo box changed: store the role and show it in the other steps too."""
        if self._updating:
            return
        role_store.set_role(key, layer, self.project)
        self._updating = True
        try:
            for combo in self.combos.get(key, []):
                if combo is not source_combo:
                    combo.setLayer(layer)
        finally:
            self._updating = False
        self._mark_steps()

    def _step_changed(self, index):
        """Remember the step in the project."""
        if not self._updating:
            role_store.set_step(index, self.project)

    def set_role(self, key, layer):
        """Give ``layer`` the role ``key`` (stored and shown)."""
        role_store.set_role(key, layer, self.project)
        self.restore()

    # --- actions --------------------------------------------------------------------------

    def open_action(self, action):
        """Open the algorithm's dialog pre-filled; afterwards its output takes on the next role."""
        if action.algorithm_id == "kommunalmonitor:samplemunicipality" and self.on_sample:
            self.on_sample()
            return None
        if not role_store.algorithm_available(action.algorithm_id):
            return None
        parameters = role_store.dialog_parameters(action, self.project)
        try:
            import processing  # QGIS's own processing plugin (desktop)

            results = processing.execAlgorithmDialog(action.algorithm_id, parameters)
        except Exception as error:  # noqa: BLE001 - a dialog problem must not break the dock
            QgsMessageLog.logMessage(tr("The dialog of {id} could not be opened: {error}",
                                        id=action.algorithm_id, error=error), LOG_TAG, Qgis.Warning)
            return None
        if isinstance(results, dict):
            for output, role in action.result_roles().items():
                layer = role_store.layer_for_result(results.get(output), self.project)
                if layer is not None:
                    self.set_role(role, layer)
        return results

    def closeEvent(self, event):  # noqa: N802
        """Stop listening to the project when the dock goes away."""
        for signal in (self.project.readProject, self.project.cleared):
            try:
                signal.disconnect(self.restore)
            except (TypeError, RuntimeError):
                pass
        super().closeEvent(event)


def role_combo(dock, key):
    """The first combo box of a role (tests and scripts)."""
    combos = dock.combos.get(key) or []
    return combos[0] if combos else None



