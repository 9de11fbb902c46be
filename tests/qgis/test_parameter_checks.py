"""Parameter checks before any work (``processing/parameter_checks.py`` and the algorithms'
``check_parameters``): the helpers, the kinds of parameters every algorithm declares, and a
GeoPackage with several layers given to ``qgis_process`` without choosing one.

The refusals themselves, algorithm by algorithm, are cases of the bad-input catalogue
(``tests/qgis/bad_inputs/parameters.yaml``).
"""
import os
import subprocess

import pytest

pytestmark = pytest.mark.qgis

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKGROOT = os.path.join(PLUGIN_DIR, ".build", "pkgroot")

# Fields that may be text although they carry numbers: columns of CSV files and Zensus tables
# arrive as text ('4.444', '12,5', '–'); core.values reads them (notation per field) and a value
# that is no number is refused by name. Everything else that carries numbers is Numeric.
TEXT_NUMBERS = {
    ("accessibility", "POPULATION_FIELD"), ("accessibility", "CAPACITY_FIELD"),
    ("gridtoareas", "FIELDS"), ("gridtoareas", "RATE_NUMERATOR"), ("gridtoareas", "RATE_DENOMINATOR"),
    ("gridtoareas", "BASE_FIELD"), ("pointstoareas", "CAPACITY_FIELDS"),
    ("pointstoareas", "POPULATION_TABLE_FIELD"), ("zonalstatistics", "POPULATION_FIELD"),
    # class codes: numbers or their text ('2'); anything else refused in check_parameters
    ("planningpriorities", "CLASS_FIELD"), ("planningpriorities", "CLUSTER_FIELD"),
    ("planningpriorities", "HOTSPOT_FIELD"), ("councilmap", "CLASS_FIELD"),
    # priority levels matched against the targets table's levels (as text or number)
    ("targetstatus", "PRIORITY_FIELD"),
    # a yes/no flag: 1 / true / 'ja'
    ("evaluatemeasure", "MEASURE_FIELD"),
}
# ids, names, labels, categories, districts, periods and flags: any type is right
ANY_TYPE_WORDS = ("ID", "NAME", "LABEL", "CATEGORY", "EXCLUDE", "KEY", "DISTRICT", "PERIOD")
COUNT_WORDS = ("N_", "K", "K_MIN", "K_MAX", "SEED", "PERMUTATIONS", "BOOTSTRAP", "MIN_COUNT", "HEADER_ROW")


def _committed_algorithm_ids():
    """ALGORITHM_IDs of the committed algorithm modules (others' work in progress excluded)."""
    import ast

    listed = subprocess.run(["git", "-C", PLUGIN_DIR, "ls-files", "processing/algorithms"],
                            capture_output=True, text=True, check=True).stdout.split()
    ids = set()
    for relative in listed:
        path = os.path.join(PLUGIN_DIR, relative)
        if relative.endswith(".py") and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                for node in ast.walk(ast.parse(fh.read())):
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                            and any(getattr(t, "id", None) == "ALGORITHM_ID" for t in node.targets):
                        ids.add(node.value.value)
    return ids


def _algorithms():
    """The committed algorithms as registered by the provider."""
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("kommunalmonitor")
    committed = _committed_algorithm_ids()
    return [a for a in provider.algorithms() if a.name() in committed]


def test_field_parameters_are_numeric_where_only_numbers_make_sense(qgis_app):
    """A text field can only be chosen where text is a legitimate carrier (ids, names, CSV numbers)."""
    from qgis.core import QgsProcessing, QgsProcessingParameterField

    loose = []
    for algorithm in _algorithms():
        for definition in algorithm.parameterDefinitions():
            if not isinstance(definition, QgsProcessingParameterField):
                continue
            if definition.dataType() == QgsProcessingParameterField.Numeric:
                continue
            name = definition.name().upper()
            if any(word in name for word in ANY_TYPE_WORDS):
                continue
            if (algorithm.name(), definition.name()) in TEXT_NUMBERS:
                continue
            parent = algorithm.parameterDefinition(definition.parentLayerParameterName())
            if parent is not None and QgsProcessing.TypeVector in list(getattr(parent, "dataTypes", list)()):
                continue  # a table (CSV, spreadsheet): its numbers may arrive as text
            loose.append(f"{algorithm.name()}:{definition.name()}")
    assert not loose, f"field parameters of any type that should be Numeric (or listed): {loose}"


def test_counts_are_integer_parameters(qgis_app):
    """Numbers of clusters, runs, permutations, areas and seeds are whole numbers in the dialog."""
    from qgis.core import QgsProcessingParameterNumber

    wrong = []
    for algorithm in _algorithms():
        for definition in algorithm.parameterDefinitions():
            if not isinstance(definition, QgsProcessingParameterNumber):
                continue
            name = definition.name().upper()
            is_count = name.startswith("N_") or name in COUNT_WORDS
            if is_count and definition.dataType() != QgsProcessingParameterNumber.Integer:
                wrong.append(f"{algorithm.name()}:{definition.name()}")
    assert not wrong, f"count parameters that accept fractions: {wrong}"


def test_filter_extensions():
    from kommunalmonitor.processing.parameter_checks import filter_extensions

    assert filter_extensions("Excel (*.xlsx);;CSV (*.csv)") == ["xlsx", "csv"]
    assert filter_extensions("PDF files (*.pdf)") == ["pdf"]
    assert filter_extensions("YAML (*.yaml *.YML)") == ["yaml", "yml"]
    assert filter_extensions("All files (*.*)") == []
    assert filter_extensions("") == []


def test_same_value_matches_what_a_planner_types():
    """'1' typed in the dialog matches 1, 1.0 and '1'; not 10, not NULL."""
    from kommunalmonitor.processing.parameter_checks import same_value

    assert same_value(1, "1") and same_value(1.0, "1") and same_value("1", "1") and same_value(" x ", "x")
    assert not same_value(10, "1") and not same_value(None, "1") and not same_value("ja", "1")


def test_class_numbers_message_names_field_and_values():
    from kommunalmonitor.processing.parameter_checks import all_zero_or_empty, check_class_numbers

    assert check_class_numbers("Class", "k", [1, "2", 3.0, None], "areas") is None
    message = check_class_numbers("Class", "klasse", ["hoch", "1", "niedrig"], "areas")
    assert "klasse" in message and "'hoch'" in message and "'niedrig'" in message and "'1'" not in message
    assert "no value" in check_class_numbers("Class", "k", [None, None], "areas")
    assert all_zero_or_empty([0, None, 0.0, "0"]) and not all_zero_or_empty([0, 1])
    assert not all_zero_or_empty(["12,5"])  # German text is a weight, not 'empty'


def test_parameter_check_runs_before_any_work(run_alg, tmp_path):
    """checkParameterValues itself refuses (the dialog shows it before starting the run)."""
    from qgis.core import QgsApplication, QgsProcessingContext

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("kommunalmonitor:typology")
    ok, message = algorithm.checkParameterValues(
        {"INPUT": "/nonexistent.gpkg", "FIELDS": ["a"], "K": 0, "K_MIN": 6, "K_MAX": 3,
         "OUTPUT": str(tmp_path / "o.gpkg"), "PROFILES": str(tmp_path / "p.gpkg")}, QgsProcessingContext())
    assert not ok and "6" in message and "3" in message
    assert not list(tmp_path.iterdir())


def _multi_layer_geopackage(path):
    """Two polygon layers; QGIS's first is 'zz_first' (file order), not the alphabetical first."""
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(25833)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    for name, values in (("zz_first", [1, 2, 9, 4]), ("aa_second", [5, 7, 3, 9])):
        layer = dataset.CreateLayer(name, srs, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("unemp", ogr.OFTReal))
        for i, value in enumerate(values):
            feature = ogr.Feature(layer.GetLayerDefn())
            x = 390000 + 100 * i
            feature.SetGeometry(ogr.CreateGeometryFromWkt(
                f"POLYGON(({x} 5820000,{x + 100} 5820000,{x + 100} 5820100,{x} 5820100,{x} 5820000))"))
            feature.SetField("unemp", value)
            layer.CreateFeature(feature)
    dataset = None  # noqa: F841 - closes the file


def test_qgis_process_refuses_geopackage_with_several_layers(tmp_path):
    """qgis_process with INPUT=multi.gpkg silently took the first layer ('zz_first'): refused now,
    naming the layers and how to choose one; nothing is written."""
    assert os.path.isdir(os.path.join(PKGROOT, "kommunalmonitor")), "run `make pkgroot` first"
    source = tmp_path / "multi.gpkg"
    _multi_layer_geopackage(source)
    profile = tmp_path / "profile"
    profile.mkdir()
    ini = profile / "profiles" / "default" / "QGIS"
    ini.mkdir(parents=True)
    (ini / "QGIS3.ini").write_text("[PythonPlugins]\nkommunalmonitor=true\n\n"
                                   "[locale]\noverrideFlag=true\nuserLocale=en_US\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(profile), QGIS_PLUGINPATH=PKGROOT)
    output = tmp_path / "out" / "index.gpkg"
    output.parent.mkdir()

    def run(input_value):
        return subprocess.run(["/usr/bin/qgis_process.bin", "run", "kommunalmonitor:compositeindex", "--",
                               f"INPUT={input_value}", "INDICATORS=unemp", f"OUTPUT={output}"],
                              env=env, capture_output=True, text=True, timeout=300)

    refused = run(source)
    text = refused.stdout + refused.stderr
    assert refused.returncode != 0, text
    assert "zz_first" in text and "aa_second" in text and "layername=" in text, text
    assert "Traceback" not in text
    assert not list(output.parent.iterdir())

    chosen = run(f"{source}|layername=aa_second")
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    from osgeo import ogr

    dataset = ogr.Open(str(output))
    assert sorted(f.GetField("unemp") for f in dataset.GetLayer(0)) == [3, 5, 7, 9]
