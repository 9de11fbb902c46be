"""``make demo``: from the sample municipality to the council map, headless with qgis_process.

Steps (each a real ``qgis_process.bin`` call in a fresh QGIS profile, as a planner's
batch job would run them):

1. enable the plugin in the profile;
2. ``kommunalmonitor:samplemunicipality`` writes Musterstadt to ``<output>/musterstadt/``;
3. the shipped Processing model ``kommunalmonitor:councilmapworkflow`` (aggregate blocks to
   planning areas → composite index → council map) writes
   ``<output>/musterstadt_index.gpkg`` and ``<output>/musterstadt_council_map.pdf``;
4. the index classes style is stored in the GeoPackage so the file opens styled;
5. planning priorities: ``indexrobustness`` (Monte Carlo over weights, standardisation and
   indicator set) → ``planningpriorities`` (levels 1–4 with reasons, robustness, residents and
   children, decision table ``musterstadt_priorities.xlsx``) → ``councilmap`` of the priorities
   (``musterstadt_priorities_map.pdf``);
6. monitoring over time (``run_monitoring``): Musterstadt's panel (``core.monitoring.panel``) is
   loaded into a monitoring store GeoPackage, then ``serieschange`` (change map with
   significance), ``targetstatus`` (status per target and area, map and XLSX) and
   ``evaluatemeasure`` (the measure with a planted effect) run on the store's layers.

``python3 -P scripts/demo.py --write-model`` (re)builds
``resources/models/musterstadt_council_map.model3`` from ``build_model()`` below, so the
model stays readable as code.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN_DIR = os.path.dirname(HERE)
MODEL_PATH = os.path.join(PLUGIN_DIR, "resources", "models", "musterstadt_council_map.model3")
MODEL_NAME = "councilmapworkflow"
MODEL_ID = "kommunalmonitor:" + MODEL_NAME
QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"

INDICATORS = ["unemployment_rate", "transfer_rate", "child_poverty"]
MODEL_GROUP = ("maps", "6 Council maps and reports")  # the toolbox group of the council map itself

# Model inputs in the order the dialog shows them. QGIS 3.22 lists model inputs sorted by
# their names, so the names carry a letter for the order; the descriptions (English, German
# in i18n/de/desktop.json via the provider's ShippedModel) are what the planner reads.
# (name, description, kind, default, parent, optional)
MODEL_INPUTS = (
    ("a_blocks", "Blocks with counts", "layer", None, None, False),
    ("b_areas", "Planning areas", "layer", None, None, False),
    ("c_area_id", "Planning-area id field", "field", "plr_id", "b_areas", False),
    ("d_area_name", "Area name field (labels on the map)", "field", "plr_name", "b_areas", True),
    ("e_population", "Residents (count field of the blocks)", "number_field", "pop_2022", "a_blocks", False),
    ("f_working_age", "Residents of working age, 18–64 (denominator of the unemployment rate)",
     "number_field", "pop_18_64_2022", "a_blocks", False),
    ("g_unemployed", "Unemployed (count field)", "number_field", "unemployed_2022", "a_blocks", False),
    ("h_transfer", "Recipients of transfer benefits (count field)", "number_field",
     "transfer_recipients_2022", "a_blocks", False),
    ("i_children", "Children (denominator of child poverty, e.g. under 6)", "number_field",
     "pop_0_5_2022", "a_blocks", False),
    ("j_children_more", "More children to add to the denominator (e.g. 6 to 14), optional", "number_field",
     "pop_6_14_2022", "a_blocks", True),
    ("k_children_transfer", "Children receiving transfer benefits (count field)", "number_field",
     "children_transfer_2022", "a_blocks", False),
    ("l_place", "Municipality (map title)", "string", "Musterstadt", None, True),
    ("m_year", "Data year", "string", "2022", None, True),
    ("n_source_note", "Data source note", "string", "", None, True),
)

# The child poverty denominator: one children field, or two added up.
_CHILDREN = ("if(coalesce(@j_children_more, '') = '', @i_children, "
             "'(' || @i_children || ' + ' || @j_children_more || ')')")
# Rates from the chosen fields: the indicator names stay fixed, so the map labels them.
RATES_EXPRESSION = (
    "'unemployment_rate = ' || @g_unemployed || ' / ' || @f_working_age || ' * 100;\n' || "
    "'transfer_rate = ' || @h_transfer || ' / ' || @e_population || ' * 100;\n' || "
    "'child_poverty = ' || @k_children_transfer || ' / ' || " + _CHILDREN + " || ' * 100'")
COUNT_FIELDS_EXPRESSION = (
    "@e_population || ';' || @f_working_age || ';' || @g_unemployed || ';' || @h_transfer || ';' || "
    "@i_children || if(coalesce(@j_children_more, '') = '', '', ';' || @j_children_more) || ';' || "
    "@k_children_transfer")


def build_model():
    """The council-map workflow as a ``QgsProcessingModelAlgorithm`` (needs a running QGIS).

    Every field comes from a model input (count, rate denominators, population), so the model
    runs on any municipality's blocks; the defaults are Musterstadt's field names.
    """
    from qgis.core import (QgsProcessing, QgsProcessingModelAlgorithm,
                           QgsProcessingModelChildAlgorithm,
                           QgsProcessingModelChildParameterSource as Source,
                           QgsProcessingModelOutput, QgsProcessingModelParameter,
                           QgsProcessingParameterField, QgsProcessingParameterString,
                           QgsProcessingParameterVectorLayer)
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm(MODEL_NAME, MODEL_GROUP[1], MODEL_GROUP[0])
    model.setHelpContent({"ALG_CREATOR": "Kommunalmonitor"})  # help: resources/help/<lang>/councilmapworkflow.html

    for n, (name, description, kind, default, parent, optional) in enumerate(MODEL_INPUTS):
        if kind == "layer":
            definition = QgsProcessingParameterVectorLayer(name, description, [QgsProcessing.TypeVectorPolygon])
        elif kind == "string":
            definition = QgsProcessingParameterString(name, description, default, optional=optional)
        else:
            numeric = QgsProcessingParameterField.Numeric if kind == "number_field" else QgsProcessingParameterField.Any
            definition = QgsProcessingParameterField(name, description, default, parent, numeric, optional=optional)
        component = QgsProcessingModelParameter(name)
        component.setPosition(QPointF(120 + 260 * (n // 7), 60 + 60 * (n % 7)))
        model.addModelParameter(definition, component)

    def child(child_id, algorithm, description, x, y, sources, outputs=None):
        step = QgsProcessingModelChildAlgorithm(algorithm)
        step.setChildId(child_id)
        step.setDescription(description)
        step.setPosition(QPointF(x, y))
        for name, source in sources.items():
            step.addParameterSources(name, [source])
        if outputs:
            step.setModelOutputs(outputs)
        model.addChildAlgorithm(step)
        return step

    def output(child_id, name, description):
        result = QgsProcessingModelOutput(name, description)
        result.setChildId(child_id)
        result.setChildOutputName("OUTPUT")
        return {name: result}

    child("aggregate", "kommunalmonitor:aggregatetoareas", "Aggregate blocks to planning areas", 380, 520, {
        "BLOCKS": Source.fromModelParameter("a_blocks"),
        "AREAS": Source.fromModelParameter("b_areas"),
        "AREA_ID_FIELD": Source.fromModelParameter("c_area_id"),
        "COUNT_FIELDS": Source.fromExpression(COUNT_FIELDS_EXPRESSION),
        "RATES": Source.fromExpression(RATES_EXPRESSION),
        "MIN_BASE": Source.fromStaticValue(300),
        "OUTPUT": Source.fromStaticValue("TEMPORARY_OUTPUT"),
    })
    child("index", "kommunalmonitor:compositeindex", "Composite index", 380, 620, {
        "INPUT": Source.fromChildOutput("aggregate", "OUTPUT"),
        "INDICATORS": Source.fromStaticValue(INDICATORS),
        "POPULATION_FIELD": Source.fromModelParameter("e_population"),
        "MIN_POPULATION": Source.fromStaticValue(300),
        "STANDARDISATION": Source.fromStaticValue(0),
        "CLASSIFICATION": Source.fromStaticValue(0),
        "N_CLASSES": Source.fromStaticValue(4),
    }, output("index", "index", "Index per planning area"))
    child("map", "kommunalmonitor:councilmap", "Council map", 380, 720, {
        "INPUT": Source.fromChildOutput("index", "OUTPUT"),
        "CLASS_FIELD": Source.fromStaticValue("index_class"),
        "CLASS_LABEL_FIELD": Source.fromStaticValue("index_label"),
        "LABEL_FIELD": Source.fromModelParameter("d_area_name"),
        "PLACE": Source.fromModelParameter("l_place"),
        "YEAR": Source.fromModelParameter("m_year"),
        "SOURCE_NOTE": Source.fromModelParameter("n_source_note"),
        "LANGUAGE": Source.fromStaticValue(0),
    }, output("map", "council_map", "Council map (PDF)"))
    return model


_APP = []


def _start_qgis():
    """Start an offscreen QGIS in this process once (quietly, unlike qgis.testing.start_app)."""
    if _APP:
        return _APP[0]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", tempfile.mkdtemp(prefix="km-demo-"))
    if not os.environ.get("XDG_RUNTIME_DIR"):
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="km-runtime-")
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    _APP.append(app)
    return app


def write_model(path=MODEL_PATH):
    """Build the model in an offscreen QGIS and save it as ``.model3``."""
    from qgis.core import QgsApplication

    _start_qgis()
    from kommunalmonitor.processing.provider import KommunalmonitorProvider

    provider = KommunalmonitorProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    model = build_model()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not model.toFile(path):
        raise SystemExit(f"could not write {path}")
    print(f"model written to {path}")


def _env(profile):
    env = dict(os.environ)
    env.update({"QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": profile,
                "QGIS_PLUGINPATH": os.path.join(PLUGIN_DIR, ".build", "pkgroot"),
                "PROJ_DATA": env.get("PROJ_DATA", "/usr/share/proj")})
    env.pop("PYTHONPATH", None)  # qgis_process brings its own Python path
    if not env.get("XDG_RUNTIME_DIR"):
        runtime = os.path.join(profile, "runtime")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = runtime
    return env


def _qgis_process(args, env, label):
    """Run qgis_process.bin; return its JSON result (or raise with its log)."""
    command = [QGIS_PROCESS] + args
    started = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    print(f"   ({label}: {time.time() - started:.1f} s)")
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + "\n" + done.stderr[-4000:] + "\n")
        raise SystemExit(f"demo failed at step '{label}' (exit code {done.returncode}):\n  "
                         + " ".join(command))
    if "--json" in args:
        text = done.stdout[done.stdout.find("{"):]
        return json.loads(text)
    return done.stdout


def style_index_gpkg(path, lang="de"):
    """Store the council-map class style in the GeoPackage (opens styled in QGIS)."""
    _start_qgis()
    from qgis.core import QgsVectorLayer

    from kommunalmonitor.processing.styling import index_classes_style, save_default_style

    layer = QgsVectorLayer(path, "index", "ogr")
    return save_default_style(layer, lambda lyr: index_classes_style(
        lyr, name_field="plr_name", lang=lang))


def run_priorities(index_path, output, env, note, seed=42):
    """Planning priorities on the index: robustness (Monte Carlo), priority levels with
    reasons and a decision table, and a second council map of the priorities."""
    robustness_path = os.path.join(output, "musterstadt_robustness.gpkg")
    priorities_path = os.path.join(output, "musterstadt_priorities.gpkg")
    table_path = os.path.join(output, "musterstadt_priorities.xlsx")
    map_path = os.path.join(output, "musterstadt_priorities_map.pdf")
    for path in (robustness_path, priorities_path, table_path, map_path):
        if os.path.exists(path):
            os.remove(path)
    print(">> planning priorities: index robustness → priority levels with reasons → council map")
    _qgis_process(["--json", "run", "kommunalmonitor:indexrobustness", "--", f"INPUT={index_path}",
                   *[f"INDICATORS={name}" for name in INDICATORS], "POPULATION_FIELD=pop_2022",
                   "MIN_POPULATION=300", "N_RUNS=500", f"SEED={seed}", f"OUTPUT={robustness_path}"],
                  env, "index robustness")
    _qgis_process(["--json", "run", "kommunalmonitor:planningpriorities", "--", f"INPUT={robustness_path}",
                   "RULE=0", "CLASS_FIELD=index_class", "N_CLASSES=4", "ID_FIELD=plr_id",
                   "NAME_FIELD=plr_name", "POPULATION_FIELD=pop_2022", "CHILDREN_FIELD=pop_6_14_2022",
                   f"SEED={seed}", f"OUTPUT={priorities_path}", f"TABLE={table_path}"],
                  env, "planning priorities")
    _qgis_process(["--json", "run", "kommunalmonitor:councilmap", "--", f"INPUT={priorities_path}",
                   "CLASS_FIELD=priority", "CLASS_LABEL_FIELD=priority_label", "LABEL_FIELD=plr_name",
                   "TITLE=Planungsschwerpunkte Musterstadt 2022", "LEGEND_TITLE=Priorität",
                   f"SOURCE_NOTE={note}", "LANGUAGE=1", f"OUTPUT={map_path}"],
                  env, "priorities map")
    return priorities_path, table_path, map_path


def run_monitoring(output, env, seed=42):
    """Monitoring over time on Musterstadt's panel (8 years, boundary change in the middle):
    store → change map (series and significance) → target status (map + XLSX) → evaluation of
    the measure with a planted effect. Returns (paths dict, evaluation results, seconds)."""
    from kommunalmonitor.core.monitoring.panel import make_panel
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    started = time.time()
    paths = {name: os.path.join(output, f"musterstadt_{name}") for name in
             ("monitoring.gpkg", "change.gpkg", "targets.gpkg", "targets.xlsx", "evaluation.gpkg")}
    for path in paths.values():
        if os.path.exists(path):
            os.remove(path)
    print(">> monitoring over time: panel → store → change map → target status → evaluation")
    panel = make_panel(seed=seed)
    store_path = paths["monitoring.gpkg"]
    with MonitoringStore.geopackage(store_path) as store:
        store.load_area_set(panel.areas_new, "plr_new", name_field="name", priority_field="priority_level",
                            valid_from=panel.change_period)
        store.load_indicators(panel.indicators)
        store.load_observations(panel.observations_new)
        store.load_goals(panel.goals)
        store.load_measures(panel.measures)
    print(f"   ({len(panel.periods)} periods {panel.periods[0]}–{panel.periods[-1]}, boundary change in "
          f"{panel.change_period}, series re-tabulated on the new areas: {store_path})")
    subset = "|subset=area_set = 'plr_new'"
    observations = f"{store_path}|layername=mon_observations{subset}"
    areas = f"{store_path}|layername=mon_areas{subset}"
    _qgis_process(["--json", "run", "kommunalmonitor:serieschange", "--", f"OBSERVATIONS={observations}",
                   f"AREAS={areas}", "AREAS_ID=area_id", "INDICATOR=unemployment_rate",
                   f"START={panel.periods[0]}", f"END={panel.periods[-1]}", f"OUTPUT={paths['change.gpkg']}"],
                  env, "change map")
    _qgis_process(["--json", "run", "kommunalmonitor:targetstatus", "--", f"OBSERVATIONS={observations}",
                   f"AREAS={areas}", "AREAS_ID=area_id", f"GOALS={store_path}|layername=mon_goals",
                   "PRIORITY_FIELD=priority_level", f"OUTPUT={paths['targets.gpkg']}",
                   f"TABLE={paths['targets.xlsx']}"], env, "target status")
    measure = panel.measures.iloc[0]
    planted = panel.planted_effect[measure["measure_id"]]
    result = _qgis_process(["--json", "run", "kommunalmonitor:evaluatemeasure", "--",
                            f"OBSERVATIONS={observations}", f"AREAS={areas}", "AREAS_ID=area_id",
                            f"INDICATOR={planted['indicator']}", f"MEASURE_AREAS={measure['area_ids']}",
                            f"MEASURE_NAME={measure['name']}", f"START={planted['start']}",
                            "PERMUTATIONS=499", f"SEED={seed}", f"OUTPUT={paths['evaluation.gpkg']}"],
                           env, "evaluation of a measure")["results"]
    print(f"   planted effect {planted['effect']:+.2f}, estimated {result['ESTIMATE']:+.2f} "
          f"[{result['LOW']:+.2f}, {result['HIGH']:+.2f}], p = {result['P_VALUE']:.3f}")
    print("   " + result["TEXT"])
    elapsed = time.time() - started
    print(f"Monitoring part finished in {elapsed:.1f} s")
    return paths, result, elapsed


def run_demo(output, profile, n_blocks=3000, seed=42):
    """The whole chain; returns (index gpkg, council map pdf, (priorities gpkg, table, map), seconds)."""
    from kommunalmonitor.core.i18n import language
    from kommunalmonitor.core.mapping import sample_source_note

    start = time.time()
    output = os.path.abspath(output)
    sample_dir = os.path.join(output, "musterstadt")
    index_path = os.path.join(output, "musterstadt_index.gpkg")
    pdf_path = os.path.join(output, "musterstadt_council_map.pdf")
    os.makedirs(output, exist_ok=True)
    for path in (index_path, pdf_path):
        if os.path.exists(path):
            os.remove(path)
    shutil.rmtree(profile, ignore_errors=True)
    os.makedirs(profile, exist_ok=True)
    env = _env(profile)

    print(f">> fresh QGIS profile {profile}; enabling the plugin")
    _qgis_process(["plugins", "enable", "kommunalmonitor"], env, "enable plugin")
    print(f">> creating Musterstadt ({n_blocks} blocks, seed {seed}) in {sample_dir}")
    result = _qgis_process(["--json", "run", "kommunalmonitor:samplemunicipality", "--",
                            f"N_BLOCKS={n_blocks}", f"SEED={seed}", f"OUTPUT_FOLDER={sample_dir}"],
                           env, "sample municipality")
    gpkg = result["results"].get("GPKG") or os.path.join(sample_dir, "musterstadt.gpkg")
    lang = "de"  # a fresh profile has no user locale: German, as the council map's 'auto'
    with language(lang):
        note = sample_source_note(lang=lang)
    print(f">> running the model {MODEL_ID}: aggregate → composite index → council map")
    _qgis_process(["--json", "run", MODEL_ID, "--",
                   f"a_blocks={gpkg}|layername=blocks", f"b_areas={gpkg}|layername=planning_areas",
                   "c_area_id=plr_id", "d_area_name=plr_name", "e_population=pop_2022",
                   "f_working_age=pop_18_64_2022", "g_unemployed=unemployed_2022",
                   "h_transfer=transfer_recipients_2022", "i_children=pop_0_5_2022",
                   "j_children_more=pop_6_14_2022", "k_children_transfer=children_transfer_2022",
                   "l_place=Musterstadt", "m_year=2022", f"n_source_note={note}",
                   f"index:index={index_path}", f"map:council_map={pdf_path}"],
                  env, "council map workflow")
    style_index_gpkg(index_path, lang)
    priorities = run_priorities(index_path, output, env, note, seed)
    monitoring = run_monitoring(output, env, seed)
    elapsed = time.time() - start
    return index_path, pdf_path, priorities, elapsed, monitoring


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join(PLUGIN_DIR, "demo-output"))
    parser.add_argument("--profile", default=os.path.join(PLUGIN_DIR, ".build", "qgis-profile-demo"))
    parser.add_argument("--blocks", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write-model", action="store_true", help="rebuild the .model3 and stop")
    args = parser.parse_args(argv)
    if args.write_model:
        write_model()
        return 0
    index_path, pdf_path, priorities, elapsed, monitoring = run_demo(args.output, args.profile, args.blocks,
                                                                     args.seed)
    print(f"\nDemo finished in {elapsed:.1f} s")
    print(f"  index (GeoPackage, opens styled): {index_path}")
    print(f"  council map (PDF, A3):            {pdf_path}")
    print(f"  planning priorities:              {priorities[0]}")
    print(f"  decision table (XLSX):            {priorities[1]}")
    print(f"  priorities map (PDF, A3):         {priorities[2]}")
    print(f"  sample data:                      {os.path.dirname(index_path)}/musterstadt/")
    paths, _, seconds = monitoring
    print(f"  monitoring store (GeoPackage):    {paths['monitoring.gpkg']}")
    print(f"  change map (GeoPackage, styled):  {paths['change.gpkg']}")
    print(f"  target status (map, XLSX):        {paths['targets.gpkg']}, {paths['targets.xlsx']}")
    print(f"  evaluation of the measure:        {paths['evaluation.gpkg']}")
    print(f"  (monitoring part: {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
