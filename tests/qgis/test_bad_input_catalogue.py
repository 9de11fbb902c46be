"""The catalogue of bad inputs (``tests/qgis/bad_inputs/*.yaml``, format in its README.md).

Each case builds tiny layers in a temporary ``in/`` folder, runs one algorithm and checks the
outcome the case states (refused with a message naming what is wrong; or finished with the
expected log lines and values). Every case also checks that the input files are byte for byte
unchanged, and a refused case that nothing was left in the ``out/`` folder.
"""
import glob
import hashlib
import math
import os

import pytest
import yaml

pytestmark = pytest.mark.qgis

CATALOGUE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_inputs")
DEFAULT_CRS = "EPSG:25833"
FIELD_TYPES = ("str", "int", "float")
REF_PREFIXES = ("@file:", "@sel:", "@out:", "@in:")


def _as_list(value):
    """None → [], a string → [it], a list stays."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def load_catalogue():
    """All cases of all files as (file name, shared layers, case) tuples, in file order."""
    cases = []
    for path in sorted(glob.glob(os.path.join(CATALOGUE_DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            document = yaml.safe_load(fh) or {}
        shared = {}
        for other in _as_list(document.get("layers_from")):
            with open(os.path.join(CATALOGUE_DIR, other), encoding="utf-8") as fh:
                shared.update((yaml.safe_load(fh) or {}).get("layers") or {})
        shared.update(document.get("layers") or {})
        for case in document.get("cases") or []:
            cases.append((os.path.basename(path), shared, case))
    return cases


CASES = load_catalogue()


def _params():
    """One pytest param per case (no case may be skipped or expected to fail: a known gap is
    written down as the behaviour it should have, and fixed)."""
    return [pytest.param(file_name, shared, case, id=case["id"]) for file_name, shared, case in CASES]


def test_catalogue_is_well_formed():
    """Ids are unique, every case names an algorithm and exactly one outcome."""
    ids = [case["id"] for _, _, case in CASES]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate case ids: {duplicates}"
    for file_name, _, case in CASES:
        expect = case.get("expect") or {}
        outcomes = [key for key in ("refused", "ok", "warning") if key in expect]
        assert outcomes, f"{file_name}:{case['id']}: expect needs refused, ok or warning"
        assert not ("refused" in expect and len(outcomes) > 1), f"{case['id']}: refused and ok at once"
        assert case.get("algorithm", "").startswith(("kommunalmonitor:", "native:")), case["id"]
        unknown = set(case) - {"id", "algorithm", "description", "language", "layers", "select", "parameters",
                               "expect"}
        assert not unknown, f"{file_name}:{case['id']}: unknown key(s) {sorted(unknown)}"


# --- building the inputs ---------------------------------------------------------------

def _geometry_type(spec):
    """OGR geometry type of a layer spec (from ``geometry`` or the WKTs)."""
    from osgeo import ogr

    names = {"point": ogr.wkbPoint, "linestring": ogr.wkbLineString, "polygon": ogr.wkbPolygon,
             "multipoint": ogr.wkbMultiPoint, "multilinestring": ogr.wkbMultiLineString,
             "multipolygon": ogr.wkbMultiPolygon, "none": ogr.wkbNone, "unknown": ogr.wkbUnknown}
    if spec.get("geometry"):
        return names[str(spec["geometry"]).lower()]
    kinds = {str(row[0]).split("(")[0].strip().lower() for row in spec.get("features") or []
             if row and row[0] is not None}
    if len(kinds) == 1:
        return names.get(kinds.pop(), ogr.wkbUnknown)
    return ogr.wkbUnknown if kinds else ogr.wkbPolygon


def _srs(crs):
    """An OGR spatial reference for 'EPSG:xxxx', or None for no CRS."""
    if not crs:
        return None
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.SetFromUserInput(str(crs))
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _write_vector(path, name, spec):
    """Write one layer (append to an existing GeoPackage: several layers per file)."""
    from osgeo import ogr

    ext = os.path.splitext(path)[1].lower()
    driver_name = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV"}[ext]
    driver = ogr.GetDriverByName(driver_name)
    if os.path.exists(path) and driver_name == "GPKG":
        dataset = ogr.Open(path, 1)
    else:
        dataset = driver.CreateDataSource(path)
    geometry_type = _geometry_type(spec)
    options = ["GEOMETRY=AS_WKT"] if driver_name == "CSV" and geometry_type != ogr.wkbNone else []
    crs = spec.get("crs", DEFAULT_CRS)
    layer = dataset.CreateLayer(name, _srs(crs) if geometry_type != ogr.wkbNone else None,
                                geometry_type, options=options)
    fields = list((spec.get("fields") or {}).items())
    for field_name, kind in fields:
        assert kind in FIELD_TYPES, f"layer {name}: field type {kind} not in {FIELD_TYPES}"
        ogr_type = {"str": ogr.OFTString, "int": ogr.OFTInteger64, "float": ogr.OFTReal}[kind]
        layer.CreateField(ogr.FieldDefn(field_name, ogr_type))
    has_geometry = geometry_type != ogr.wkbNone
    for row in spec.get("features") or []:
        row = list(row)
        feature = ogr.Feature(layer.GetLayerDefn())
        if has_geometry:
            wkt = row.pop(0)
            if wkt is not None:
                feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        assert len(row) == len(fields), f"layer {name}: row {row} does not match fields {fields}"
        for (field_name, kind), value in zip(fields, row):
            if value is None:
                feature.SetFieldNull(field_name)
            elif kind == "str":
                feature.SetField(field_name, str(value))
            elif kind == "int":
                feature.SetField(field_name, int(value))
            else:
                feature.SetField(field_name, float(value))
        layer.CreateFeature(feature)
    dataset = None  # noqa: F841 - closes and flushes the file


def _write_raster(path, spec):
    """A one-band (or several-band: list of arrays) Float64 GeoTIFF from inline arrays."""
    import numpy as np
    from osgeo import gdal

    bands = np.asarray(spec["raster"], dtype="float64")
    if bands.ndim == 2:
        bands = bands[None, :, :]
    count, rows, cols = bands.shape
    pixel = float(spec.get("pixel", 1.0))
    x0, y0 = spec.get("origin", [0.0, rows * pixel])
    dataset = gdal.GetDriverByName("GTiff").Create(path, cols, rows, count, gdal.GDT_Float64)
    dataset.SetGeoTransform((float(x0), pixel, 0.0, float(y0), 0.0, -pixel))
    srs = _srs(spec.get("crs", DEFAULT_CRS))
    if srs is not None:
        dataset.SetProjection(srs.ExportToWkt())
    for i in range(count):
        band = dataset.GetRasterBand(i + 1)
        band.WriteArray(bands[i])
        if spec.get("nodata") is not None:
            band.SetNoDataValue(float(spec["nodata"]))
    dataset.FlushCache()
    dataset = None  # noqa: F841


def _references(value):
    """Layer names a parameter value refers to ('@name', '@sel:name')."""
    if isinstance(value, str) and value.startswith("@"):
        if value.startswith("@sel:"):
            return {value[5:]}
        if not value.startswith(REF_PREFIXES):
            return {value[1:]}
        return set()
    if isinstance(value, list):
        return set().union(*[_references(v) for v in value]) if value else set()
    return set()


def _file_of(name, spec):
    """The file a layer is written to."""
    if "text" in spec:
        return spec.get("file", name + ".txt")
    if "raster" in spec:
        return spec.get("file", name + ".tif")
    return spec.get("file", name + ".gpkg")


def build_inputs(case, shared, folder):
    """Write the layers the case uses; return {name: (path, spec)} and the per-file layer count."""
    layers = dict(shared)
    layers.update(case.get("layers") or {})
    wanted = set(case.get("layers") or {})
    for value in (case.get("parameters") or {}).values():
        wanted |= _references(value)
    for value in (case.get("parameters") or {}).values():  # '@file:x.gpkg' writes every layer of x.gpkg
        if isinstance(value, str) and value.startswith("@file:"):
            wanted |= {n for n, s in layers.items() if _file_of(n, s) == value[6:]}
    unknown = wanted - set(layers)
    assert not unknown, f"case {case['id']}: unknown layer(s) {sorted(unknown)}"
    files = {}
    for name in sorted(wanted):  # layers that share a file with a wanted one are written too
        files.setdefault(_file_of(name, layers[name]), set()).add(name)
    for name, spec in layers.items():
        if _file_of(name, spec) in files:
            files[_file_of(name, spec)].add(name)
    written = {}
    for file_name, names in files.items():
        path = os.path.join(folder, file_name)
        for name in sorted(names):
            spec = layers[name]
            if "text" in spec:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(spec["text"])
            elif "raster" in spec:
                _write_raster(path, spec)
            else:
                _write_vector(path, name, spec)
            written[name] = (path, len(names))
    return written


def checksums(folder):
    """sha256 of every file under ``folder`` (relative path → digest)."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def leftovers(folder):
    """Every file and folder under ``folder`` (relative paths)."""
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, n), folder) for n in dirs + names]
    return sorted(found)


# --- running ---------------------------------------------------------------------------

def _feedback_class():
    """A feedback that records info, warning and error lines separately."""
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines = {"info": [], "warning": [], "error": []}

        def pushInfo(self, text):  # noqa: N802
            self.lines["info"].append(text)
            super().pushInfo(text)

        def pushWarning(self, text):  # noqa: N802
            self.lines["warning"].append(text)
            super().pushWarning(text)

        def reportError(self, text, fatal=False):  # noqa: N802
            self.lines["error"].append(text)
            super().reportError(text, fatal)

        def log(self):
            return "\n".join(self.lines["info"] + self.lines["warning"] + self.lines["error"])

    return Recorder


def resolve(value, inputs, in_dir, out_dir, project, selections):
    """Turn '@...' references into paths or feature-source definitions."""
    if isinstance(value, list):
        return [resolve(v, inputs, in_dir, out_dir, project, selections) for v in value]
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    if value.startswith("@out:"):
        return os.path.join(out_dir, value[5:])
    if value.startswith("@in:"):
        return os.path.join(in_dir, value[4:])
    if value.startswith("@file:"):
        return os.path.join(in_dir, value[6:])
    if value.startswith("@sel:"):
        from qgis.core import QgsProcessingFeatureSourceDefinition, QgsVectorLayer

        name = value[5:]
        path, _ = inputs[name]
        layer = QgsVectorLayer(f"{path}|layername={name}" if path.endswith(".gpkg") else path, name, "ogr")
        assert layer.isValid(), f"could not load {path} for the selection"
        project.addMapLayer(layer)
        layer.selectByIds(list(selections.get(name, [])))
        return QgsProcessingFeatureSourceDefinition(layer.id(), True)
    name = value[1:]
    path, n_layers = inputs[name]
    if path.endswith(".gpkg") and n_layers > 1:
        return f"{path}|layername={name}"
    return path


def default_outputs(algorithm_id, parameters, out_dir):
    """Point every output the case did not set (and QGIS would create) into ``out_dir``."""
    from qgis.core import (QgsApplication, QgsProcessingParameterFileDestination,
                           QgsProcessingParameterFolderDestination)

    algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    for definition in algorithm.destinationParameterDefinitions():
        name = definition.name()
        if name in parameters:
            continue
        if definition.flags() & definition.FlagOptional and not definition.createByDefault():
            continue
        if isinstance(definition, QgsProcessingParameterFolderDestination):
            parameters[name] = os.path.join(out_dir, name)
        elif isinstance(definition, QgsProcessingParameterFileDestination):
            parameters[name] = os.path.join(out_dir, f"{name}.{definition.defaultFileExtension()}")
        else:
            parameters[name] = os.path.join(out_dir, f"{name}.gpkg")
    return parameters


def read_field(destination, field):
    """Values of one field of an output layer, in feature order (NULL → None)."""
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(destination, "output", "ogr")
    assert layer.isValid(), f"output {destination} cannot be read"
    names = layer.fields().names()
    assert field in names, f"output has no field {field}; fields: {names}"
    values = []
    for feature in sorted(layer.getFeatures(), key=lambda f: f.id()):
        value = feature[field]
        values.append(None if value is None or (hasattr(value, "isNull") and value.isNull()) else value)
    return values


def _same(actual, expected, tolerance):
    """Compare one value: numbers with a tolerance, NULL/NaN alike, everything else exactly."""
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if actual is None:
        return False
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            return False
        return abs(actual - expected) <= tolerance + 1e-9 * abs(expected)
    return str(actual) == str(expected)


def _contains_all(text, parts):
    """The substrings (case-insensitive) of ``parts`` missing from ``text``."""
    low = text.lower()
    return [p for p in parts if str(p).lower() not in low]


@pytest.mark.parametrize("file_name, shared, case", _params())
def test_bad_input(file_name, shared, case, run_alg, tmp_path, request):
    """Run one catalogue case and check outcome, inputs and outputs."""
    from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProject

    from kommunalmonitor.core import i18n

    i18n.set_language(case.get("language", "en"))
    request.addfinalizer(lambda: i18n.set_language("en"))
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    out_dir.mkdir()
    inputs = build_inputs(case, shared, str(in_dir))
    before = checksums(str(in_dir))

    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = _feedback_class()()
    parameters = {key: resolve(value, inputs, str(in_dir), str(out_dir), project, case.get("select") or {})
                  for key, value in (case.get("parameters") or {}).items()}
    parameters = default_outputs(case["algorithm"], parameters, str(out_dir))
    expect = case["expect"]

    # the checks before the run swallow their own exceptions (a broken check must not block a
    # run); here they must not raise at all
    from qgis.core import QgsApplication

    from kommunalmonitor.processing.parameter_checks import run_checks

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(case["algorithm"])
    if hasattr(algorithm, "check_parameters"):
        run_checks(algorithm, parameters, context)

    error, results = None, None
    try:
        results = run_alg(case["algorithm"], parameters, feedback=feedback, context=context)
    except QgsProcessingException as exc:
        error = str(exc)
    finally:
        project.removeAllMapLayers()

    changed = {k for k in set(before) | set(checksums(str(in_dir)))
               if before.get(k) != checksums(str(in_dir)).get(k)}
    assert not changed, f"input files changed or added: {sorted(changed)}"

    if "refused" in expect:
        log = feedback.log()
        assert error is not None, f"expected a refusal, the run finished: {results}\nlog:\n{log}"
        message = "\n".join([error] + feedback.lines["error"])
        missing = _contains_all(message, expect["refused"] or [])
        assert not missing, f"message lacks {missing}:\n{message}"
        assert "Traceback" not in message, message
        assert not leftovers(str(out_dir)), f"refused run left {leftovers(str(out_dir))}"
        return

    assert error is None, f"expected the run to finish, it was refused:\n{error}"
    hidden = [p for p in leftovers(str(out_dir)) if os.path.basename(p).startswith(".")]
    assert not hidden, f"the finished run left staging or temporary files: {hidden}"
    log = feedback.log()
    missing = _contains_all(log, expect.get("log") or [])
    assert not missing, f"log lacks {missing}:\n{log}"
    warnings = "\n".join(feedback.lines["warning"])
    missing = _contains_all(warnings, expect.get("warning") or [])
    assert not missing, f"warnings lack {missing}:\n{warnings}\nlog:\n{log}"
    for check in expect.get("values") or []:
        destination = results[check.get("output", "OUTPUT")]
        actual = read_field(destination, check["field"])
        expected = check["equals"]
        tolerance = float(check.get("tolerance", 1e-9))
        assert len(actual) == len(expected) and all(
            _same(a, e, tolerance) for a, e in zip(actual, expected)), \
            f"{check['field']}: {actual} != {expected} (tolerance {tolerance})"
