"""All-or-nothing outputs: every file an algorithm writes appears only when the whole run succeeded.

Before an algorithm runs, each file destination (feature sinks, vector/raster destinations,
file and folder destinations) is redirected into a hidden staging folder beside its final
place (``<folder>/.kommunalmonitor-partial-<token>/<same file name>``), so GeoPackage layer
names, shapefile side files and ``.qml`` styles written beside an output keep their names.
Only when ``run_algorithm`` returned and the run was not cancelled are the staged files moved
into place with ``os.replace`` (atomic per file, same file system); a failed or cancelled run
removes the staging folder and leaves every earlier file as it was.

The same step refuses, before any work, an output that would overwrite one of the run's own
inputs or another output of the run, and an output folder that does not exist or is not
writable. Resolving destinations the way QGIS does (``parameterAsOutputLayer``) registers
them for loading in the desktop as a side effect; that registration is undone here, because a
stray entry (``memory:<name>`` beside the real temporary layer) is what made the desktop say
"The following layers were not correctly generated" after runs that had succeeded.

Not staged (written in place by QGIS, as before): temporary outputs (``TEMPORARY_OUTPUT``,
already fresh files or memory layers) and database destinations (``ogr:``, ``postgres:`` …).
"""
import gc
import os
import shutil
import uuid

from qgis.core import (
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingDestinationParameter,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsProperty,
)

from ..core.i18n import tr

STAGING_PREFIX = ".kommunalmonitor-partial-"
_NON_FILE_PREFIXES = ("memory:", "ogr:", "postgres:", "postgis:", "spatialite:", "mssql:", "oracle:",
                      "hana:", "ept:", "http:", "https:", "gpkg:", "dbname=")
_INPUT_TYPES = (QgsProcessingParameterFeatureSource, QgsProcessingParameterVectorLayer,
                QgsProcessingParameterRasterLayer, QgsProcessingParameterMapLayer,
                QgsProcessingParameterMultipleLayers, QgsProcessingParameterFile)


def file_of(value):
    """The plain file path behind a destination or layer source string, or None (memory, database)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or value == QgsProcessing.TEMPORARY_OUTPUT or value.lower().startswith(_NON_FILE_PREFIXES):
        return None
    return value.split("|")[0]


def _same_file(a, b):
    """True if two paths name the same file (also through links or different spellings)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _is_temporary(value):
    """True for the TEMPORARY_OUTPUT placeholder, also inside an output layer definition."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        prop = value.sink
        value = prop.staticValue() if prop.propertyType() == QgsProperty.StaticProperty else None
    return isinstance(value, str) and value.strip() in ("", QgsProcessing.TEMPORARY_OUTPUT)


def _resolve(algorithm, definition, parameters, context):
    """The destination QGIS would write ``definition`` to (a path or URI), or None."""
    name = definition.name()
    if name not in parameters or parameters[name] is None:
        if not definition.defaultValue():
            return None
    try:  # resolves output definitions, expressions and TEMPORARY_OUTPUT like QGIS does
        if isinstance(definition, (QgsProcessingParameterFolderDestination,)) or \
                definition.type() in ("fileDestination", "folderDestination"):
            return algorithm.parameterAsFileOutput(parameters, name, context)
        return algorithm.parameterAsOutputLayer(parameters, name, context)
    except Exception:  # noqa: BLE001 - QGIS reports unusable outputs itself later
        return None


def _input_paths(algorithm, parameters, context):
    """(parameter description, layer name, file path) of every file-based input of the run."""
    found = []
    for definition in algorithm.parameterDefinitions():
        if not isinstance(definition, _INPUT_TYPES) or definition.name() not in parameters:
            continue
        values = parameters[definition.name()]
        values = values if isinstance(values, (list, tuple)) else [values]
        for value in values:
            if isinstance(value, QgsProcessingFeatureSourceDefinition):
                value = value.source.staticValue() if value.source.propertyType() == QgsProperty.StaticProperty else None
            layer = value if isinstance(value, QgsMapLayer) else None
            if layer is None and isinstance(value, str) and not os.path.exists(value.split("|")[0]):
                layer = QgsProcessingUtils.mapLayerFromString(value, context, False)
            source = layer.source() if layer is not None else value
            path = file_of(source) if isinstance(source, str) else None
            if path and os.path.exists(path):
                found.append((definition.description() or definition.name(),
                              layer.name() if layer is not None else os.path.basename(path), path))
    return found


class OutputTransaction:
    """Stage an algorithm's file outputs, then move them into place at once or throw them away.

    Use ``parameters = transaction.begin(parameters)`` before the run, ``results =
    transaction.commit(results)`` after it succeeded, and ``transaction.discard()`` on failure
    or cancellation (``commit`` and ``discard`` are safe to call in any order, once).
    """

    def __init__(self, algorithm, context):
        self.algorithm = algorithm
        self.context = context
        self._stages = {}    # final folder → staging folder
        self._deferred = []  # (output id, post-processor) attached once the outputs are final
        self._outer = _ACTIVE.get(id(context))  # an algorithm run inside another one's run
        _ACTIVE[id(context)] = self

    # -- before the run -------------------------------------------------------------------
    def begin(self, parameters):
        """Check the destinations and return parameters that write into staging folders."""
        # Resolve on a scratch context: QGIS registers resolved outputs for loading, and undoing
        # that on the real context would delete the post-processors it already holds.
        scratch = QgsProcessingContext()
        scratch.setProject(self.context.project())
        scratch.setExpressionContext(self.context.expressionContext())
        resolved = []
        for definition in self.algorithm.destinationParameterDefinitions():
            if not isinstance(definition, QgsProcessingDestinationParameter):
                continue
            path = file_of(_resolve(self.algorithm, definition, parameters, scratch))
            if path is not None:
                resolved.append((definition, path))
        self._check(resolved, parameters)
        staged = dict(parameters)
        try:
            for definition, path in resolved:
                name = definition.name()
                if _is_temporary(parameters.get(name, definition.defaultValue())):
                    continue  # a fresh file in QGIS's temporary folder: nothing to protect
                folder = os.path.dirname(os.path.abspath(path))
                stage = self._stage_for(folder, definition, path)
                target = os.path.join(stage, os.path.basename(os.path.normpath(path)))
                staged[name] = self._redirect(parameters.get(name), path, target)
        except BaseException:
            self.discard()
            raise
        return staged

    def _check(self, resolved, parameters):
        """Refuse unwritable folders, outputs onto inputs, and two outputs onto one file."""
        inputs = _input_paths(self.algorithm, parameters, self.context)
        seen = []
        for definition, path in resolved:
            label = definition.description() or definition.name()
            for input_label, layer_name, input_path in inputs:
                if _same_file(path, input_path):
                    raise QgsProcessingException(tr(
                        "Output '{output}' would overwrite the input '{input}' (layer '{layer}', file "
                        "{path}). Inputs are never modified: choose another file name for the output.",
                        output=label, input=input_label, layer=layer_name, path=path))
                # a folder output is merged into its folder: one holding an input would put the
                # output among the input data (and replace a file of the same name)
                if definition.type() == "folderDestination" and os.path.realpath(input_path).startswith(
                        os.path.realpath(path).rstrip(os.sep) + os.sep):
                    raise QgsProcessingException(tr(
                        "Output folder '{output}' ({path}) holds the input '{input}' (file {file}); the "
                        "output would be written among the input data. Inputs are never modified: choose "
                        "a separate, e.g. new, folder for the output.",
                        output=label, path=path, input=input_label, file=input_path))
            for other_label, other_path in seen:
                if _same_file(path, other_path):
                    raise QgsProcessingException(tr(
                        "Outputs '{first}' and '{second}' would both be written to {path}; one would "
                        "overwrite the other. Choose a separate file name for each output.",
                        first=other_label, second=label, path=path))
            seen.append((label, path))
            if _is_temporary(parameters.get(definition.name(), definition.defaultValue())):
                continue
            folder = os.path.dirname(os.path.abspath(path)) or "."
            if not os.path.isdir(folder):
                raise QgsProcessingException(tr(
                    "Output '{output}' cannot be written to {path}: the folder {folder} does not exist or "
                    "is not writable. Choose another file name or folder.",
                    output=label, path=path, folder=folder))

    def _stage_for(self, folder, definition, path):
        """The staging folder beside ``folder`` (created once per run and folder)."""
        if folder not in self._stages:
            stage = os.path.join(folder, STAGING_PREFIX + uuid.uuid4().hex[:12])
            try:
                os.mkdir(stage)
            except OSError:
                raise QgsProcessingException(tr(
                    "Output '{output}' cannot be written to {path}: the folder {folder} does not exist or "
                    "is not writable. Choose another file name or folder.",
                    output=definition.description() or definition.name(), path=path,
                    folder=folder)) from None
            self._stages[folder] = stage
        return self._stages[folder]

    @staticmethod
    def _redirect(value, final, target):
        """The parameter value with its destination replaced by ``target`` (options kept)."""
        if isinstance(value, QgsProcessingOutputLayerDefinition):
            copy = QgsProcessingOutputLayerDefinition(value)
            copy.sink = QgsProperty.fromValue(target)
            return copy
        if isinstance(value, str) and "|" in value:  # keep options such as |layername=
            return target + value[len(value.split("|")[0]):]
        return target

    # -- after the run --------------------------------------------------------------------
    def final_path(self, value):
        """``value`` (a path, URI or list of them) with staging folders replaced by the final ones."""
        if isinstance(value, (list, tuple)):
            return type(value)(self.final_path(v) for v in value)
        if not isinstance(value, str):
            return value
        for folder, stage in self._stages.items():
            if value.startswith(stage + os.sep) or value == stage:
                return folder + value[len(stage):]
        return value

    def commit(self, results):
        """Move every staged file into place; return ``results`` pointing at the final files."""
        gc.collect()  # close sinks and layers still held by Python objects before moving files
        try:
            for folder, stage in self._stages.items():
                for entry in sorted(os.listdir(stage)):
                    _move_into(os.path.join(stage, entry), os.path.join(folder, entry))
        except OSError as error:
            self.discard()
            raise QgsProcessingException(tr(
                "The outputs could not be moved into place ({error}). Check that the files are not open "
                "in another program and that there is enough disk space.", error=error)) from None
        self._remove_stages()
        self._remap_loading()
        self._deactivate()
        for key, processor in self._deferred:
            key = self.final_path(key)
            if self.context.willLoadLayerOnCompletion(key):
                self.context.layerToLoadOnCompletionDetails(key).setPostProcessor(processor)
        return {key: self.final_path(value) for key, value in (results or {}).items()}

    def defer(self, dest_id, processor):
        """Attach ``processor`` to output ``dest_id`` once the outputs are in their final place."""
        self._deferred.append((dest_id, processor))

    def _remap_loading(self):
        """Point the desktop's 'load on completion' entries at the final files.

        ``setLayersToLoadOnCompletion`` deletes every post-processor the context holds, so the
        entries are rebuilt fresh (ours are attached only afterwards, see ``defer``); a context
        holding another plugin's post-processor is left alone and the final files are added.
        """
        context = self.context
        loading = context.layersToLoadOnCompletion()
        if all(self.final_path(key) == key for key in loading):
            return
        if any(details.postProcessor() is not None for details in loading.values()):
            for key, details in loading.items():
                if self.final_path(key) != key and not context.willLoadLayerOnCompletion(self.final_path(key)):
                    context.addLayerToLoadOnCompletion(self.final_path(key), _fresh(details))
            return
        context.setLayersToLoadOnCompletion({self.final_path(k): _fresh(d) for k, d in loading.items()})

    def discard(self):
        """Remove every staged file: the run leaves nothing behind and earlier files untouched.

        Entries registered for loading stay (they point at files that no longer exist); QGIS
        does not load the outputs of a failed run.
        """
        gc.collect()
        self._remove_stages()
        self._deactivate()

    def _deactivate(self):
        """Hand the context back to an enclosing run's transaction, if any."""
        if _ACTIVE.get(id(self.context)) is self:
            if self._outer is not None:
                _ACTIVE[id(self.context)] = self._outer
            else:
                del _ACTIVE[id(self.context)]

    def _remove_stages(self):
        """Delete the staging folders (ignore ones already gone)."""
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)


_ACTIVE = {}  # id(context) → the transaction of the run using it


def attach_post_processor(context, dest_id, processor):
    """Set a layer post-processor for an output, after the run's outputs are final.

    During a staged run the output ids still name staging files; the processor is attached
    when ``commit`` has moved them (immediately when no transaction is active).
    """
    transaction = _ACTIVE.get(id(context))
    if transaction is not None:
        transaction.defer(dest_id, processor)
    elif context.willLoadLayerOnCompletion(dest_id):
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(processor)


def _fresh(details):
    """A copy of load-on-completion details without a post-processor."""
    copy = QgsProcessingContext.LayerDetails(details.name, details.project, details.outputName,
                                             details.layerTypeHint)
    copy.forceName = details.forceName
    return copy


def _move_into(source, target):
    """Move a staged file or folder to ``target``, replacing a file and merging into a folder."""
    if os.path.isdir(source) and os.path.isdir(target):
        for entry in sorted(os.listdir(source)):
            _move_into(os.path.join(source, entry), os.path.join(target, entry))
        os.rmdir(source)
        return
    if os.path.isdir(target) and not os.path.isdir(source):
        shutil.rmtree(target)
    elif os.path.isdir(source) and os.path.lexists(target):
        os.remove(target)
    os.replace(source, target)
