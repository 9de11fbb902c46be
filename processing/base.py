"""Thin base class for all Kommunalmonitor Processing algorithms.

Subclasses set ``ALGORITHM_ID`` (also the help file name), ``GROUP_ID`` (a key of
``GROUPS``), implement ``initAlgorithm`` and ``run(parameters, context, feedback)``
(instead of ``processAlgorithm``), and read parameters only with ``parameterAsX``.
Errors from ``core`` become ``QgsProcessingException`` with the planner's message.
"""
import os
from dataclasses import dataclass

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from ..core.errors import KommunalmonitorError
from ..core.feedback import Feedback
from ..core.i18n import get_language, tr
from ..core.values import reporting as value_reporting
from ..core.dependencies import missing_dependencies_message

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELP_DIR = os.path.join(PLUGIN_DIR, "resources", "help")
ICON_PATH = os.path.join(PLUGIN_DIR, "resources", "icons", "kommunalmonitor.svg")

# Toolbox groups (id → English name; German in i18n/de/processing.json).
GROUPS = {
    "data": "1 Data and sample municipality",
    "overlay": "2 Overlay onto planning areas",
    "indicators": "3 Indicators and indices",
    "delineation": "4 Planning-area delineation",
    "priorities": "5 Planning priorities",
    "maps": "6 Council maps and reports",
    "monitoring": "7 Monitoring over time",
}


def core_feedback(feedback):
    """Wrap a ``QgsProcessingFeedback`` as the engine's ``Feedback``."""
    if feedback is None:
        return Feedback()
    return Feedback(
        on_progress=lambda f: feedback.setProgress(100.0 * f),
        on_info=feedback.pushInfo,
        on_warning=getattr(feedback, "pushWarning", None) or feedback.pushInfo,
        is_cancelled=feedback.isCanceled,
    )


class ProgressSpan:
    """A stand-in ``QgsProcessingFeedback`` whose 0–100 fills only ``start``–``end`` of the bar.

    The bridge reports reading (``source_to_gdf``) and writing (``gdf_to_sink``) as 0–100 of
    their own; an algorithm that reads, computes and writes hands them a span each, so its bar
    rises once instead of restarting per stage (the engine's share: ``core_feedback(f).step``).
    Everything else (cancel, log) goes to the wrapped feedback.
    """

    def __init__(self, feedback, start, end):
        self._feedback, self._start, self._end = feedback, float(start), float(end)

    def setProgress(self, value):  # noqa: N802
        """Map 0–100 of this stage onto its span of the whole run."""
        if self._feedback is not None:
            value = min(max(float(value), 0.0), 100.0)
            self._feedback.setProgress(self._start + (self._end - self._start) * value / 100.0)

    def isCanceled(self):  # noqa: N802
        """True once the user cancelled the run."""
        return self._feedback is not None and self._feedback.isCanceled()

    def __getattr__(self, name):
        """Log, warnings and the rest: the wrapped feedback's own."""
        return getattr(self._feedback, name)


def read_help(algorithm_id, lang=None):
    """Return the help text (HTML) of an algorithm in the given or current language."""
    lang = lang or get_language()
    for candidate in (lang, "en"):
        path = os.path.join(HELP_DIR, candidate, algorithm_id + ".html")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                return fh.read()
    return ""


def help_for_dialog(html):
    """The help HTML as QGIS's dialog needs it.

    QGIS 3.22 puts the algorithm's name as a heading above the help and wraps *every line*
    of ``shortHelpString`` in its own paragraph: a leading heading would show the title twice,
    and a line break inside a sentence would break it into two paragraphs. So the leading
    heading goes and the HTML becomes one line (HTML needs no line breaks between elements).
    """
    import re

    text = re.sub(r"^\s*<h[1-3][^>]*>.*?</h[1-3]>", "", html or "", count=1, flags=re.S | re.I)
    return " ".join(text.split())


class KommunalmonitorAlgorithm(QgsProcessingAlgorithm):
    """Common name, group, help, icon, translation and error handling.

    Subclasses write their work in ``run_algorithm(parameters, context, feedback)`` (not
    ``run``: ``QgsProcessingAlgorithm.run`` is QGIS's own entry point, used by
    ``processing.run`` and ``alg.run(...)``).
    """

    ALGORITHM_ID = None
    DISPLAY_NAME = None  # English; German in the catalogue
    GROUP_ID = "data"
    TAGS = ()  # search words for the toolbox, German and English (e.g. "Sozialindex", "deprivation")

    def tr(self, text, **kwargs):
        """Translate a user-facing text (see ``core.i18n``)."""
        return tr(text, **kwargs)

    def createInstance(self):  # noqa: N802
        """Return a fresh instance (QGIS runs each in its own)."""
        return type(self)()

    def name(self):
        """Stable algorithm id used in models and qgis_process."""
        return self.ALGORITHM_ID

    def displayName(self):  # noqa: N802
        """Translated name shown in the toolbox."""
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        """Translated group name."""
        return self.tr(GROUPS[self.GROUP_ID])

    def groupId(self):  # noqa: N802
        """Stable group id."""
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802
        """Help text from ``resources/help/<lang>/<id>.html``, ready for the dialog's help panel."""
        return help_for_dialog(read_help(self.ALGORITHM_ID))

    def tags(self):
        """Search words of the toolbox (both languages, so either finds the tool)."""
        return list(self.TAGS) + ["Kommunalmonitor"]

    def icon(self):
        """Plugin icon."""
        return QIcon(ICON_PATH)

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS's checks, then ours before any work (``processing/parameter_checks.py``).

        Where QGIS refuses a value with its terse 'Incorrect parameter value', our message
        (naming parameter and value) is shown instead when one of our checks explains it.
        """
        from .parameter_checks import run_checks

        ok, message = super().checkParameterValues(parameters, context)
        try:
            ours = run_checks(self, parameters, context)
        except Exception:  # noqa: BLE001 - a failing pre-check must not block the run; its own checks remain
            ours = None
        if ours:
            return False, ours
        return ok, message

    def check_parameters(self, parameters, context):
        """The algorithm's own check of contradicting or unfitting values: a message, or None."""
        return None

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        """Check dependencies and outputs, run with staged outputs, and commit them all or none.

        Outputs are written into staging folders and moved into place only when the run
        succeeded and was not cancelled (``processing/outputs.py``). Engine errors
        (``core.errors``) keep their message; a missing package names what to install; a
        failed geometry operation points to 'Fix geometries'. Only a genuine bug still ends as
        Python's error text, with the traceback in the log for the report.
        """
        missing = missing_dependencies_message()
        if missing:
            raise QgsProcessingException(missing)
        from .outputs import OutputTransaction

        transaction = OutputTransaction(self, context)
        staged = transaction.begin(parameters)  # refuses outputs onto inputs, unwritable folders
        self._transaction = transaction
        try:
            results = self._run_translated(staged, context, feedback)
            if feedback is not None and feedback.isCanceled():
                raise QgsProcessingException(self.tr(
                    "The run was cancelled; no output was written and earlier files are unchanged."))
            return transaction.commit(results)
        except BaseException:
            transaction.discard()
            raise
        finally:
            self._transaction = None

    def final_path(self, path):
        """The final place of an output path during the run (outputs are staged until it ends)."""
        transaction = getattr(self, "_transaction", None)
        return transaction.final_path(path) if transaction is not None else path

    def _run_translated(self, parameters, context, feedback):
        """Run ``run_algorithm`` and turn errors into planner-readable messages."""
        try:
            # text fields read as numbers say so in the log (German notation, suppression marks)
            with value_reporting(core_feedback(feedback)):
                return self.run_algorithm(parameters, context, feedback)
        except KommunalmonitorError as error:
            raise QgsProcessingException(str(error)) from None
        except ImportError as error:
            name = (getattr(error, "name", None) or "").split(".")[0]
            raise QgsProcessingException(
                missing_dependencies_message([name]) or self.tr(
                    "A Python package is missing: {name}. Install it and restart QGIS.",
                    name=name or str(error))) from None
        except Exception as error:  # noqa: BLE001 - only geometry failures are translated
            if _is_geometry_error(error):
                raise QgsProcessingException(self.tr(
                    "A geometry operation failed, most likely because an input layer has invalid "
                    "geometries (e.g. self-intersecting polygons). Run 'Fix geometries' on the input "
                    "layers and try again. Details: {error}", error=str(error).split("\n")[0])) from None
            raise

    def run_algorithm(self, parameters, context, feedback):
        """Do the work; subclasses implement this instead of ``processAlgorithm``."""
        raise NotImplementedError

    def chosen_field(self, parameters, name, context):
        """The field chosen in a field parameter, or None when none is."""
        chosen = self.parameterAsFields(parameters, name, context)
        return chosen[0] if chosen else None

    def read_table(self, parameters, name, context, feedback=None):
        """An (optional) layer or table parameter as a plain DataFrame without geometry; None when not given."""
        from .bridge import source_to_gdf

        if not parameters.get(name):
            return None
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            return None
        return plain_frame(source_to_gdf(source, name=source.sourceName(), feedback=feedback, geometry=False))

    def read_source(self, parameters, name, context, feedback=None, fields=None, projected=False,
                    not_empty=True, valid_geometries=True, crs_like=None):
        """Read a feature-source parameter into a GeoDataFrame and apply the common checks.

        Parameters
        ----------
        name : str
            The parameter name (e.g. ``self.INPUT``).
        fields : list of str, optional
            Only these attributes; a missing one raises naming layer and field.
        projected : bool
            Areas and distances are measured: a layer in degrees is reprojected to the UTM
            zone of its centre (info line); a layer without CRS is refused ("assign a CRS").
        not_empty : bool
            Refuse a layer without features (e.g. nothing selected).
        valid_geometries : bool
            Repair invalid geometries with the shared repair (warning naming the features).
        crs_like : GeoDataFrame, optional
            The reference layer (the planning areas): this layer is reprojected to its CRS.

        Every layer with geometries is also checked against its CRS's area of use (a
        warning when the CRS is probably wrong); see :func:`prepare_layer`.
        """
        from ..core import validate
        from .bridge import source_to_gdf

        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        frame = source_to_gdf(source, fields=fields, name=source.sourceName(), feedback=feedback)
        if not_empty:
            validate.require_not_empty(frame)
        return prepare_layer(frame, feedback, LayerChecks(projected=projected, repair=valid_geometries,
                                                          crs_like=crs_like))


@dataclass
class LayerChecks:
    """How :func:`prepare_layer` treats a layer (see ``KommunalmonitorAlgorithm.read_source``)."""

    projected: bool = False
    repair: bool = True
    crs_like: object = None  # reference GeoDataFrame (planning areas) whose CRS this layer takes
    id_field: str = None  # names repaired features; else the feature ids QGIS gave


def prepare_layer(frame, feedback=None, checks=None):
    """The common treatment of a layer read for an algorithm, the same in every algorithm.

    1. Geometries present: the CRS must exist ("assign a CRS", never "reproject") and the
       coordinates must lie in its area of use, else a warning says the CRS is probably
       wrong and gives the extent in longitude/latitude.
    2. With ``crs_like``: reprojected to the reference layer's CRS (info line), as QGIS's
       native algorithms do; else with ``projected``: a layer in degrees is reprojected to
       the UTM zone of its centre (EPSG:25832/25833 in Germany), with an info line.
    3. With ``repair``: invalid polygons repaired by the shared MakeValid repair, with a
       warning naming the features and their area before and after.
    """
    from ..core import crs_checks, geometry_repair, validate

    checks = checks or LayerChecks()
    engine = core_feedback(feedback) if not isinstance(feedback, Feedback) else feedback
    geoms = frame.geometry if frame.geometry.name in frame.columns else None
    if geoms is None or bool((geoms.isna() | geoms.is_empty).all()):
        return frame
    if checks.projected or checks.crs_like is not None:
        validate.require_crs(frame)
    crs_checks.check_area_of_use(frame, feedback=engine)
    like = checks.crs_like
    if like is not None and getattr(like, "crs", None) is not None:
        frame = crs_checks.align_crs(frame, like.crs, target_name=validate.layer_name(like), feedback=engine)
        crs_checks.check_layers_overlap(frame, like, feedback=engine)
    if checks.projected:
        frame = crs_checks.ensure_projected(frame, feedback=engine)
    if checks.repair:
        frame = geometry_repair.repair_geometries(frame, id_field=checks.id_field, feedback=engine)
    return frame


def _is_geometry_error(error):
    """True for GEOS failures (shapely 1.8 TopologicalError, shapely 2 GEOSException)."""
    try:
        from shapely import errors as shapely_errors
    except ImportError:  # pragma: no cover - shapely is a required dependency
        return False
    kinds = tuple(getattr(shapely_errors, n) for n in ("TopologicalError", "GEOSException")
                  if hasattr(shapely_errors, n))
    return isinstance(error, kinds)


def plain_frame(frame):
    """A GeoDataFrame's attributes as a plain DataFrame (no geometry column), attrs kept."""
    import pandas as pd

    geometry_column = getattr(frame, "_geometry_column_name", None)
    out = pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns if c != geometry_column})
    out.attrs.update(frame.attrs)
    return out
