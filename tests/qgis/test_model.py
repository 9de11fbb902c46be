"""The shipped council-map model: the planner's own field names instead of fixed ones, inputs in
a sensible order with labels and help in one language, in its topic's toolbox group, and an
editable copy among the user's models."""
import os

import pytest

from kommunalmonitor.core import i18n

MODEL_ID = "kommunalmonitor:councilmapworkflow"
# Musterstadt's fields renamed the way another city's statistics office might name them
RENAMED = {"pop_2022": "EW_insg", "pop_18_64_2022": "EW_18_64", "unemployed_2022": "Arbeitslose",
           "transfer_recipients_2022": "SGBII_Empf", "pop_0_5_2022": "Kinder_u6",
           "pop_6_14_2022": "Kinder_6_14", "children_transfer_2022": "Kinder_SGBII", "plr_id": "GEB_NR"}


@pytest.fixture(scope="module")
def musterstadt(qgis_app, tmp_path_factory):
    """A small Musterstadt, plus its blocks with other field names (like another city's data)."""
    import geopandas as gpd

    from kommunalmonitor.plugin.sample_project import create_sample

    folder = tmp_path_factory.mktemp("model")
    create_sample(str(folder / "sample"), n_blocks=600, seed=3)
    gpkg = str(folder / "sample" / "musterstadt.gpkg")
    blocks = gpd.read_file(gpkg, layer="blocks").rename(columns=RENAMED)
    areas = gpd.read_file(gpkg, layer="planning_areas").rename(columns=RENAMED)
    other = str(folder / "other_city.gpkg")
    blocks.to_file(other, layer="bloecke", driver="GPKG")
    areas.to_file(other, layer="gebiete", driver="GPKG")
    return folder, gpkg, other


def _index_values(path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "index", "ogr")
    assert layer.isValid()
    id_field = "plr_id" if "plr_id" in layer.fields().names() else "GEB_NR"
    return {f[id_field]: (f["index"], f["unemployment_rate"], f["child_poverty"]) for f in layer.getFeatures()}


def test_model_inputs_in_order_translated_and_in_the_maps_group(qgis_app):
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().algorithmById(MODEL_ID)
    names = [p.name() for p in model.parameterDefinitions() if ":" not in p.name()]
    assert names[:5] == ["a_blocks", "b_areas", "c_area_id", "d_area_name", "e_population"]
    assert model.groupId() == "maps"
    with i18n.language("de"):
        assert model.group() == "6 Gremienkarten und Berichte" or model.group().startswith("6 ")
        assert "Gremienkarte" in model.shortHelpString() and "From blocks" not in model.shortHelpString()
        copy = model.createInstance()
        copy_group = copy.group()
    assert copy_group and copy.parameterDefinition("g_unemployed") is not None
    german = i18n._catalogue("de")
    untranslated = [p.description() for p in model.parameterDefinitions()
                    if ":" not in p.name() and p.description() not in german.values()
                    and p.description() not in german]
    assert not untranslated


def test_model_runs_on_other_field_names_with_the_same_result(run_alg, musterstadt):
    folder, gpkg, other = musterstadt
    from qgis.core import QgsApplication

    common = {"l_place": "Musterstadt", "m_year": "2022", "n_source_note": "synthetic"}
    model = QgsApplication.processingRegistry().algorithmById(MODEL_ID)
    # the dialog starts from the defaults: Musterstadt's field names
    defaults = {p.name(): p.defaultValue() for p in model.parameterDefinitions()
                if p.defaultValue() is not None and ":" not in p.name()}
    assert defaults["g_unemployed"] == "unemployed_2022" and defaults["c_area_id"] == "plr_id"
    default = run_alg(MODEL_ID, dict(defaults, **common, a_blocks=f"{gpkg}|layername=blocks",
                                     b_areas=f"{gpkg}|layername=planning_areas",
                                     **{"index:index": str(folder / "a.gpkg"),
                                        "map:council_map": str(folder / "a.pdf")}))
    mapped = run_alg(MODEL_ID, dict(
        common, a_blocks=f"{other}|layername=bloecke", b_areas=f"{other}|layername=gebiete",
        c_area_id="GEB_NR", d_area_name="plr_name", e_population="EW_insg", f_working_age="EW_18_64",
        g_unemployed="Arbeitslose", h_transfer="SGBII_Empf", i_children="Kinder_u6",
        j_children_more="Kinder_6_14", k_children_transfer="Kinder_SGBII",
        **{"index:index": str(folder / "b.gpkg"), "map:council_map": str(folder / "b.pdf")}))
    assert os.path.getsize(mapped["map:council_map"]) > 10_000
    first, second = _index_values(default["index:index"]), _index_values(mapped["index:index"])
    assert first.keys() == second.keys() and len(first) > 5
    for key, values in first.items():
        assert second[key] == pytest.approx(values, nan_ok=True)


def test_edit_copy_lands_among_the_users_models_with_german_labels(qgis_app, tmp_path):
    from qgis.core import QgsApplication, QgsProcessingModelAlgorithm

    from kommunalmonitor.plugin.model_actions import copy_model

    model = QgsApplication.processingRegistry().algorithmById(MODEL_ID)
    with i18n.language("de"):
        path, _ = copy_model(model, str(tmp_path))
        second, _ = copy_model(model, str(tmp_path))
    assert path != second and os.path.basename(path) == "councilmapworkflow_copy.model3"
    loaded = QgsProcessingModelAlgorithm()
    assert loaded.fromFile(path)
    assert loaded.parameterDefinition("a_blocks").description() == i18n.tr("Blocks with counts", lang="de")
    assert "Kopie" in loaded.name()
