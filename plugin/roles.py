"""The planning cycle (*Regelkreis*) the dock walks, and which project layer plays which role.

Roles are stored in the QGIS project (scope ``kommunalmonitor``, keys ``roles/<role>``, value
the layer id), so saving and reopening the project restores them. Everything here works on a
``QgsProject`` without any widget, so it is tested headless; ``plugin/dock.py`` shows it.

An action's parameters are written as small recipes, resolved against the project when the
button is pressed:

* ``"layer:<role>"`` (or ``"layer:<role>|<role>"`` for a fallback) → that layer;
* ``"id:<role>"`` → the layer's area-id field (guessed from the field names, never ``fid``);
* ``"population:<role>"`` → its population field (``pop_2022``, ``EW``, ``Einwohner`` …).

Parameters an algorithm does not have are dropped, so a guess never breaks a dialog.
"""
import re
from dataclasses import dataclass, field

from qgis.core import QgsApplication, QgsMapLayer, QgsProject, QgsWkbTypes

from ..core.i18n import tr

SCOPE = "kommunalmonitor"
STEP_KEY = "dock/step"


@dataclass(frozen=True)
class Role:
    """A part a layer plays in the planning cycle."""

    key: str
    label: str  # English; German in i18n/de/desktop.json
    kind: str  # "polygon", "point_or_polygon", "table", "raster"
    hint: str = ""


ROLES = {
    "planning_areas": Role("planning_areas", "Planning areas", "polygon",
                           "The areas the council decides on (e.g. Planungsräume, Stadtteile)."),
    "blocks": Role("blocks", "Blocks (small units with counts)", "point_or_polygon",
                   "Statistical blocks, addresses or grid cells with counts of residents and others."),
    "indicators": Role("indicators", "Planning areas with indicators", "polygon",
                       "The planning areas with the rates the index is built from."),
    "index": Role("index", "Index layer", "polygon", "The planning areas with an index and its classes."),
    "priorities": Role("priorities", "Map layer for the council", "polygon",
                       "The layer the council map and the profiles show (priorities or index)."),
    "series": Role("series", "Time series", "table",
                   "Values per area and period (e.g. from the statistics import)."),
}


@dataclass(frozen=True)
class Action:
    """A button: an algorithm dialog opened with parameters taken from the roles."""

    algorithm_id: str
    label: str  # English
    parameters: dict = field(default_factory=dict)
    result_role: object = None  # role its OUTPUT takes on after the run, or {output name: role}

    def result_roles(self):
        """``{output name: role}`` for the outputs that take on a role after the run."""
        if isinstance(self.result_role, dict):
            return dict(self.result_role)
        return {"OUTPUT": self.result_role} if self.result_role else {}


@dataclass(frozen=True)
class Step:
    """One step of the planning cycle."""

    key: str
    title: str
    purpose: str
    roles: tuple
    actions: tuple


# The monitoring tools read a long series (area, period, indicator, value) and the planning areas.
_SERIES = {"OBSERVATIONS": "layer:series", "AREA_FIELD": "id:series", "AREAS": "layer:planning_areas",
           "AREAS_ID": "id:planning_areas"}

STEPS = (
    Step("data", "1 Data and planning areas",
         "Bring the planning areas and the statistics together: import office tables, or add up "
         "block counts per planning area.",
         ("planning_areas", "blocks"),
         (Action("kommunalmonitor:samplemunicipality", "Create sample municipality (Musterstadt)…"),
          Action("kommunalmonitor:statisticsimport", "Import statistics table (CSV/Excel)…",
                 {"AREAS": "layer:planning_areas", "AREA_KEY_FIELD": "id:planning_areas"},
                 {"OUTPUT": "indicators", "OUTPUT_SERIES": "series"}),
          Action("kommunalmonitor:aggregatetoareas", "Aggregate blocks to planning areas…",
                 {"BLOCKS": "layer:blocks", "AREAS": "layer:planning_areas",
                  "AREA_ID_FIELD": "id:planning_areas"}, "indicators"),
          Action("kommunalmonitor:areainterpolation", "Transfer polygon data to areas…",
                 {"SOURCES": "layer:blocks", "AREAS": "layer:planning_areas", "AREA_ID": "id:planning_areas"},
                 "indicators"))),
    Step("indicators", "2 Indicators and index",
         "Combine the indicators into one index that shows where need is concentrated — a search "
         "strategy, not a verdict.",
         ("indicators",),
         (Action("kommunalmonitor:compositeindex", "Composite index (need index)…",
                 {"INPUT": "layer:indicators", "POPULATION_FIELD": "population:indicators",
                  "ID_FIELD": "id:indicators"}, "index"),
          Action("kommunalmonitor:statusdynamics", "Status and dynamics index (MSS method)…",
                 {"INPUT": "layer:indicators", "POPULATION_FIELD": "population:indicators"}, "index"),
          Action("kommunalmonitor:catalogueindex", "Index from indicator catalogue…",
                 {"INPUT": "layer:indicators"}, "index"),
          Action("kommunalmonitor:indexrobustness", "Index robustness (Monte Carlo)…",
                 {"INPUT": "layer:indicators", "POPULATION_FIELD": "population:indicators"}, "index"))),
    Step("priorities", "3 Priorities",
         "Decide where to act first: priority levels with reasons, hot spots, area types and "
         "multiple burdens.",
         ("index",),
         (Action("kommunalmonitor:planningpriorities", "Planning priorities with reasons…",
                 {"INPUT": "layer:index", "ID_FIELD": "id:index",
                  "POPULATION_FIELD": "population:index"}, "priorities"),
          Action("kommunalmonitor:hotspots", "Hot spots…",
                 {"INPUT": "layer:index", "ID_FIELD": "id:index"}),
          Action("kommunalmonitor:typology", "Typology of planning areas…",
                 {"INPUT": "layer:index", "ID_FIELD": "id:index"}),
          Action("kommunalmonitor:multipleburden", "Multiple burden…", {"INPUT": "layer:index"}))),
    Step("maps", "4 Council maps and profiles",
         "Show the result to the council: a print-ready map and a profile per planning area.",
         ("priorities",),
         (Action("kommunalmonitor:councilmap", "Council map (PDF)…", {"INPUT": "layer:priorities|index"}),
          Action("kommunalmonitor:profileatlas", "Area profiles (PDF atlas)…",
                 {"INPUT": "layer:priorities|index", "ID_FIELD": "id:priorities|index",
                  "POPULATION_FIELD": "population:priorities|index"}),
          Action("kommunalmonitor:webatlas", "Web atlas (HTML)…",
                 {"INPUT": "layer:priorities|index", "ID_FIELD": "id:priorities|index",
                  "POPULATION_FIELD": "population:priorities|index"}))),
    Step("monitoring", "5 Monitoring over time",
         "Watch the development: change over time, targets, the effect of measures, and series "
         "moved onto new area boundaries.",
         ("series", "planning_areas"),
         (Action("kommunalmonitor:monitoringstore", "Load into the monitoring store…",
                 {"INPUT": "layer:series", "AREAS": "layer:planning_areas", "AREAS_ID": "id:planning_areas"}),
          Action("kommunalmonitor:serieschange", "Change over time…", _SERIES),
          Action("kommunalmonitor:targetstatus", "Target status…", _SERIES),
          Action("kommunalmonitor:evaluatemeasure", "Evaluate a measure…", _SERIES),
          Action("kommunalmonitor:rebaseseries", "Move a series onto new areas…",
                 {"OBSERVATIONS": "layer:series", "AREA_FIELD": "id:series",
                  "NEW_AREAS": "layer:planning_areas", "NEW_ID": "id:planning_areas"}))),
)


# --- roles in the project -----------------------------------------------------------------

def _project(project):
    """The given project or the current one."""
    return project if project is not None else QgsProject.instance()


def set_role(role, layer, project=None):
    """Record ``layer`` (a layer, a layer id or None) as playing ``role`` in the project."""
    layer_id = layer.id() if isinstance(layer, QgsMapLayer) else (layer or "")
    project = _project(project)
    if layer_id:
        project.writeEntry(SCOPE, f"roles/{role}", layer_id)
    else:
        project.removeEntry(SCOPE, f"roles/{role}")


def role_layer(role, project=None):
    """The layer playing ``role`` (None if unset or the layer is gone)."""
    project = _project(project)
    layer_id, found = project.readEntry(SCOPE, f"roles/{role}", "")
    return project.mapLayer(layer_id) if found and layer_id else None


def roles(project=None):
    """``{role: layer}`` for every role that is set and whose layer still exists."""
    found = {key: role_layer(key, project) for key in ROLES}
    return {key: layer for key, layer in found.items() if layer is not None}


def set_step(index, project=None):
    """Remember the step the planner is at."""
    _project(project).writeEntryDouble(SCOPE, STEP_KEY, float(index))


def current_step(project=None):
    """The step the planner was at (0 when never set)."""
    value, found = _project(project).readDoubleEntry(SCOPE, STEP_KEY, 0.0)
    return int(value) if found else 0


def accepts(role, layer):
    """True if ``layer`` can play ``role`` (by geometry type)."""
    kind = ROLES[role].kind
    if layer is None:
        return False
    if kind == "raster":
        return layer.type() == QgsMapLayer.RasterLayer
    if layer.type() != QgsMapLayer.VectorLayer:
        return False
    geometry = layer.geometryType()
    if kind == "polygon":
        return geometry == QgsWkbTypes.PolygonGeometry
    if kind == "point_or_polygon":
        return geometry in (QgsWkbTypes.PolygonGeometry, QgsWkbTypes.PointGeometry)
    return True  # tables: any vector layer, with or without geometry


# --- field guesses --------------------------------------------------------------------------

_ID_WORDS = ("plr_id", "plrid", "area_id", "gebiet_id", "id", "key", "schluessel", "schlüssel", "code",
             "nr", "nummer", "ags", "rs")
_POPULATION = re.compile(r"^(pop|population|ew|einwohner|inhabitants|bev|bevoelkerung|bevölkerung|"
                         r"gesamt|residents)(_?(total|insgesamt|gesamt))?(_?\d{4})?$", re.I)


def _field_names(layer):
    """Field names of a vector layer, without QGIS's own feature-id column."""
    if layer is None or layer.type() != QgsMapLayer.VectorLayer:
        return []
    return [f.name() for f in layer.fields() if f.name().lower() not in ("fid", "ogc_fid")]


def guess_id_field(layer):
    """The area-id field: a name like ``plr_id``/``id``/``Schlüssel`` (never ``fid``), else the
    first text field."""
    names = _field_names(layer)
    lowered = {n.lower(): n for n in names}
    for word in _ID_WORDS:
        if word in lowered:
            return lowered[word]
    for name in names:
        plain = name.lower()
        if plain.endswith(("_id", "id")) or plain.startswith(("id_", "schl")):
            return name
    from qgis.PyQt.QtCore import QVariant

    for f in layer.fields() if names else []:
        if f.name() in names and f.type() == QVariant.String:
            return f.name()
    return None


def guess_population_field(layer):
    """The population field: ``pop_2022``, ``EW``, ``Einwohner``… (the latest year if several);
    None when nothing looks like one (never ``fid``)."""
    candidates = [n for n in _field_names(layer) if _POPULATION.match(n)]
    if not candidates:
        return None

    def year(name):
        found = re.findall(r"\d{4}", name)
        return int(found[-1]) if found else 0

    return max(candidates, key=lambda n: (year(n), -len(n)))


# --- parameters for a dialog ----------------------------------------------------------------

def algorithm_available(algorithm_id):
    """True if the algorithm is registered (later steps come from other parts of the plugin)."""
    return QgsApplication.processingRegistry().algorithmById(algorithm_id) is not None


def _resolve(recipe, project):
    """A recipe (``layer:…``, ``id:…``, ``population:…``) → value, or None."""
    kind, _, wanted = recipe.partition(":")
    layer = None
    for role in wanted.split("|"):
        layer = role_layer(role, project)
        if layer is not None:
            break
    if layer is None:
        return None
    if kind == "layer":
        return layer.id()
    if kind == "id":
        return guess_id_field(layer)
    if kind == "population":
        return guess_population_field(layer)
    return None


def dialog_parameters(action, project=None):
    """The parameters to pre-fill ``action``'s dialog with (only those the algorithm has and
    the roles can give)."""
    project = _project(project)
    algorithm = QgsApplication.processingRegistry().algorithmById(action.algorithm_id)
    if algorithm is None:
        return {}
    names = {d.name() for d in algorithm.parameterDefinitions()}
    out = {}
    for name, recipe in action.parameters.items():
        if name not in names:
            continue
        value = _resolve(recipe, project)
        if value is not None:
            out[name] = value
    return out


def layer_for_result(value, project=None):
    """The project layer an algorithm output (layer id or file path) was loaded as, or None."""
    project = _project(project)
    if not value or not isinstance(value, str):
        return None
    layer = project.mapLayer(value)
    if layer is not None:
        return layer
    path = value.split("|")[0]
    for layer in project.mapLayers().values():
        if layer.source().split("|")[0] == path:
            return layer
    return None


def texts():
    """Every English text of roles and steps (for the catalogue check and the dock)."""
    out = []
    for role in ROLES.values():
        out += [role.label, role.hint]
    for step in STEPS:
        out += [step.title, step.purpose] + [a.label for a in step.actions]
    return out


def translated(text):
    """A role/step text in the interface language."""
    return tr(text)
