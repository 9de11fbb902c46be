"""A planner's checks of the monitoring algorithms on the real Berlin series, inside QGIS.

The half-yearly Berlin files are imported with 'Import statistics table' as a planner would
(the long series then holds the counts and the shares as indicators of their own); each test
names what the planner saw before the fix.
"""
import glob
import os

import pandas as pd
import pytest

pytestmark = pytest.mark.qgis


def _layer(path, name="layer"):
    from qgis.core import QgsProject, QgsVectorLayer

    layer = QgsVectorLayer(path, name, "ogr")
    assert layer.isValid(), path
    QgsProject.instance().addMapLayer(layer)
    return layer


def _frame(layer):
    """A layer's attributes as a DataFrame (NULL → None)."""
    from qgis.PyQt.QtCore import QVariant

    names = layer.fields().names()
    plain = lambda v: None if isinstance(v, QVariant) and v.isNull() else v  # noqa: E731
    return pd.DataFrame([[plain(v) for v in f.attributes()] for f in layer.getFeatures()], columns=names)


@pytest.fixture(scope="module")
def t2_series(berlin_dir, tmp_path_factory, qgis_app):
    """The t2 files of 31.12.2021 and 31.12.2023 imported as a long series ('2021-H2', '2023-H2')."""
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback

    folder = os.path.join(berlin_dir, "einwohner_plr_zeitreihe")
    files = [glob.glob(os.path.join(folder, f"*-{p}-t2-*.csv"))[0] for p in ("2021-02", "2023-02")]
    out = tmp_path_factory.mktemp("t2")
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("kommunalmonitor:statisticsimport")
    results, ok = algorithm.run({"INPUT": files[0], "MORE_FILES": files[1:], "OUTPUT": str(out / "wide.gpkg"),
                                 "OUTPUT_SERIES": str(out / "series.gpkg")}, QgsProcessingContext(),
                                QgsProcessingFeedback())
    assert ok
    raw = {p: pd.read_csv(f, dtype={"id": str}).set_index("id") for p, f in zip(("2021-H2", "2023-H2"), files)}
    return results["OUTPUT_SERIES"], raw


def test_share_of_children_tested_with_its_counts_from_the_import(run_alg, berlin_dir, t2_series, tmp_path):
    # before: the import's series holds the share and its two counts as separate indicators and
    # 'Change over time' had no way to join them: the share went untested (a warning for 539
    # areas) and the 'city value' was the mean of the 542 shares (5.83 % instead of 5.90 %)
    path, raw = t2_series
    series = _layer(path, "Reihe")
    areas = _layer(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR 2021")
    result = run_alg("kommunalmonitor:serieschange", {
        "OBSERVATIONS": series, "AREA_FIELD": "id", "AREAS": areas, "AREAS_ID": "PLR_ID",
        "INDICATOR": "inhabitants_age_below_6_percentage", "NUMERATOR_INDICATOR": "inhabitants_age_below_6",
        "DENOMINATOR_INDICATOR": "inhabitants", "START": "2021-H2", "END": "2023-H2", "DESIRED": 1,
        "OUTPUT": str(tmp_path / "change.gpkg")})
    table = _frame(_layer(result["OUTPUT"], "Veränderung")).set_index("PLR_ID")
    start, end = raw["2021-H2"], raw["2023-H2"]
    # the city value is the ratio of the sums (published counts), not a mean of shares
    assert table["city_start"].iloc[0] == pytest.approx(
        100 * start["inhabitants_age_below_6"].sum() / start["inhabitants"].sum())
    assert table["city_end"].iloc[0] == pytest.approx(100 * end["inhabitants_age_below_6"].sum() / end["inhabitants"].sum())
    # PLR 12200411: 362 residents, +3.1 points, score test p = 0.078 (as the core test with its own counts)
    area = table.loc["12200411"]
    assert area["den_start"] == 362 and area["change_pp"] == pytest.approx(3.11, abs=0.01)
    assert area["p_value"] == pytest.approx(0.078, abs=0.001) and not area["significant"]
    assert table["p_value"].notna().sum() >= 535 and table["significant"].astype(bool).any()

    # without the counts the log says that the reference is a mean of the areas, not the city's share
    from qgis.core import QgsProcessingFeedback

    class Recorded(QgsProcessingFeedback):
        infos = []

        def pushInfo(self, text):  # noqa: N802 - QGIS API
            self.infos.append(text)
            super().pushInfo(text)

    feedback = Recorded()
    untested = run_alg("kommunalmonitor:serieschange", {
        "OBSERVATIONS": series, "AREA_FIELD": "id", "AREAS": areas, "AREAS_ID": "PLR_ID",
        "INDICATOR": "inhabitants_age_below_6_percentage", "START": "2021-H2", "END": "2023-H2", "DESIRED": 1,
        "OUTPUT": str(tmp_path / "mean.gpkg")}, feedback=feedback)["OUTPUT"]
    assert any(i.startswith("Mean of the areas (no numerator and denominator") for i in feedback.infos)
    # nothing was tested, so no area is 'within noise' on the map (before: 418 'deterioration within noise')
    untested = _frame(_layer(untested, "ungetestet"))
    assert set(untested["change_class"]) <= {0, 5, 6} and (untested["change_class"] == 6).sum() > 300
    assert any(i.startswith("Not tested against noise") for i in feedback.infos)
    assert not any(i.startswith("City value") for i in feedback.infos)

    # one count indicator alone is refused, naming both
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="numerator.*denominator"):
        run_alg("kommunalmonitor:serieschange", {
            "OBSERVATIONS": series, "AREA_FIELD": "id", "AREAS": areas, "AREAS_ID": "PLR_ID",
            "INDICATOR": "inhabitants_age_below_6_percentage", "NUMERATOR_INDICATOR": "inhabitants_age_below_6",
            "START": "2021-H2", "END": "2023-H2", "OUTPUT": str(tmp_path / "refused.gpkg")})


def test_store_takes_a_corrected_value_when_asked(run_alg, berlin_dir, t2_series, tmp_path):
    # before: a corrected value for PLR 01100101 was refused with 'delete the stored period
    # first', which the planner could not do from QGIS
    from qgis.core import QgsFeatureRequest, QgsProcessingException, QgsProject

    path, raw = t2_series
    published = _layer(path, "Reihe")
    published.setSubsetString("indicator IN ('inhabitants', 'inhabitants_age_below_6')")
    areas = _layer(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR 2021")
    store = str(tmp_path / "monitoring.gpkg")
    first = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": published, "LAYOUT": 0, "AREA_FIELD": "id", "AREA_SET": "plr_542", "AREAS": areas,
        "AREAS_ID": "PLR_ID", "STORE": store})
    assert first["INSERTED"] == 542 * 2 * 2
    corrected = published.materialize(QgsFeatureRequest())
    corrected.setName("Reihe korrigiert")
    QgsProject.instance().addMapLayer(corrected)
    feature = next(f for f in corrected.getFeatures()
                   if f["id"] == "01100101" and f["indicator"] == "inhabitants" and f["period"] == "2021-H2")
    assert feature["value"] == raw["2021-H2"].loc["01100101", "inhabitants"] == 3406
    corrected.startEditing()
    corrected.changeAttributeValue(feature.id(), corrected.fields().indexOf("value"), 3409.0)
    assert corrected.commitChanges()
    load = {"INPUT": corrected, "LAYOUT": 0, "AREA_FIELD": "id", "AREA_SET": "plr_542", "STORE": store}
    with pytest.raises(QgsProcessingException, match="01100101.*3406.*3409.*tick 'Replace stored values"):
        run_alg("kommunalmonitor:monitoringstore", load)
    replaced = run_alg("kommunalmonitor:monitoringstore", dict(load, REPLACE=True))
    assert (replaced["INSERTED"], replaced["UNCHANGED"]) == (0, 542 * 2 * 2 - 1)
    stored = _frame(_layer(f"{store}|layername=mon_observations", "Beobachtungen"))
    row = stored[(stored["area_id"] == "01100101") & (stored["indicator"] == "inhabitants")
                 & (stored["period"] == "2021-H2")]
    assert row["value"].tolist() == [3409.0] and len(stored) == 542 * 2 * 2


def test_measure_evaluated_on_a_share_with_its_counts_from_the_import(run_alg, berlin_dir, t2_series, tmp_path):
    # the counts give each area's sampling noise: with them the interval of a district programme
    # (Neukölln, 46 areas; children's share) is narrower than without, the estimate the same
    path, _ = t2_series
    series = _layer(path, "Reihe")
    areas = _layer(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR 2021")
    ids = [f["PLR_ID"] for f in areas.getFeatures() if f["PLR_ID"].startswith("08")]
    common = {"OBSERVATIONS": series, "AREA_FIELD": "id", "AREAS": areas, "AREAS_ID": "PLR_ID",
              "INDICATOR": "inhabitants_age_below_6_percentage", "MEASURE_AREAS": ",".join(ids),
              "START": "2023-H1", "PERMUTATIONS": 39, "SEED": 3}
    with_counts = run_alg("kommunalmonitor:evaluatemeasure", dict(
        common, NUMERATOR_INDICATOR="inhabitants_age_below_6", DENOMINATOR_INDICATOR="inhabitants",
        OUTPUT=str(tmp_path / "with.gpkg")))
    without = run_alg("kommunalmonitor:evaluatemeasure", dict(common, OUTPUT=str(tmp_path / "without.gpkg")))
    assert len(ids) == 46
    assert with_counts["ESTIMATE"] == pytest.approx(without["ESTIMATE"])
    assert with_counts["HIGH"] - with_counts["LOW"] < without["HIGH"] - without["LOW"]


def test_share_target_rated_from_the_counts_the_catalogue_names(run_alg, berlin_dir, t2_series, tmp_path):
    # before: a foreigners' share target on the import's series was rated on the SUM of the 542
    # areas' shares (11,543 %): 'achieved' for the city and area targets of -11,520 %; now it is
    # refused without counts, and rated on the city's share with the catalogue's counts
    from qgis.core import QgsProcessingException

    path, raw = t2_series
    series = _layer(path, "Reihe")
    areas = _layer(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR 2021")
    goals = tmp_path / "ziele.csv"  # as a German spreadsheet saves it
    goals.write_text("goal_id;level;title_de;indicator;scope;baseline_period;target_value;target_period;direction\n"
                     "AUS1;target;Ausländeranteil 30 %;inhabitants_foreigners_percentage;city;2021-H2;30,0;"
                     "2030-H2;increase\n", encoding="utf-8")
    catalogue = tmp_path / "indikatoren.csv"
    catalogue.write_text("indicator,numerator,denominator,scale\n"
                         "inhabitants_foreigners_percentage,inhabitants_foreigners,inhabitants,100\n", encoding="utf-8")
    common = {"OBSERVATIONS": series, "AREA_FIELD": "id", "AREAS": areas, "AREAS_ID": "PLR_ID",
              "GOALS": _layer(str(goals), "Ziele"), "AS_OF": "2023-H2"}
    with pytest.raises(QgsProcessingException, match="AUS1.*are no counts.*numerator and denominator"):
        run_alg("kommunalmonitor:targetstatus", dict(common, OUTPUT=str(tmp_path / "refused.gpkg")))
    result = run_alg("kommunalmonitor:targetstatus", dict(
        common, INDICATORS=_layer(str(catalogue), "Indikatoren"), OUTPUT=str(tmp_path / "status.gpkg")))
    rows = _frame(_layer(result["OUTPUT"], "Zielstatus")).set_index("PLR_ID")
    start, end = raw["2021-H2"], raw["2023-H2"]
    city_start = 100 * start["inhabitants_foreigners"].sum() / start["inhabitants"].sum()  # 21.49 %
    city_end = 100 * end["inhabitants_foreigners"].sum() / end["inhabitants"].sum()  # 24.40 %
    assert city_start == pytest.approx(21.4896, abs=1e-3) and city_end == pytest.approx(24.4029, abs=1e-3)
    # each area: its own share, and the city's required change (+8.51 points) as its target
    area = rows.loc["01100101"]
    assert area["baseline_value"] == pytest.approx(start.loc["01100101", "inhabitants_foreigners_percentage"])
    assert area["target_value"] - area["baseline_value"] == pytest.approx(30.0 - city_start)
    assert rows["target_value"].between(0, 100).mean() > 0.95
