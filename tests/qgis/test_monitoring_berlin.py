"""The monitoring algorithms on the real Berlin series, inside QGIS, as a planner uses them.

The half-yearly Berlin files are imported with 'Import statistics table' as a planner would
(the long series then holds the counts and the shares as indicators of their own). One test
runs the whole cycle: five half-years (2019-H2 … 2020-H2 on the 448 old planning areas,
2021-H1, 2021-H2 on the 542 new ones) into a monitoring store, the old periods moved onto the
new areas (Rückrechnung), a target set and its status read per area, checked against the
published residents of 31.12.2020 (`EW` of the MSS 2021 table). The others each name what a
planner saw before a fix.
"""
import glob
import os

import numpy as np
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


OLD, NEW = "plr_448", "plr_542"


def _files(berlin_dir, *periods):
    """The t1 residents files of the given half-years ('2020-02' = 31.12.2020)."""
    folder = os.path.join(berlin_dir, "einwohner_plr_zeitreihe")
    return [glob.glob(os.path.join(folder, f"*-{p}-t1-*.csv"))[0] for p in periods]




def _published_residents(berlin_dir):
    """EW (residents 31.12.2020) per new planning area, from the MSS 2021 table."""
    table = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"), sep=None, engine="python",
                        dtype=str)
    key = next(c for c in table.columns if c.upper().startswith("PLR"))
    values = pd.to_numeric(table["EW"].str.replace(".", "", regex=False), errors="coerce")
    return pd.Series(values.to_numpy(), index=table[key].str.zfill(8))


def test_berlin_series_across_the_boundary_change_with_a_target(run_alg, berlin_dir, tmp_path):
    old_areas = _layer(os.path.join(berlin_dir, "plr_bis_2020_448.geojson"), "PLR bis 2020")
    new_areas = _layer(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"), "PLR 2021")
    # 1. import the five half-year files, as published
    old_files = _files(berlin_dir, "2019-02", "2020-01", "2020-02")
    new_files = _files(berlin_dir, "2021-01", "2021-02")
    old_import = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": old_files[0], "MORE_FILES": old_files[1:], "OUTPUT": str(tmp_path / "old_wide.gpkg"),
        "OUTPUT_SERIES": str(tmp_path / "old_series.gpkg")})
    new_import = run_alg("kommunalmonitor:statisticsimport", {
        "INPUT": new_files[0], "MORE_FILES": new_files[1:], "OUTPUT": str(tmp_path / "new_wide.gpkg"),
        "OUTPUT_SERIES": str(tmp_path / "new_series.gpkg")})
    old_series = _layer(old_import["OUTPUT_SERIES"], "Reihe alt")
    new_series = _layer(new_import["OUTPUT_SERIES"], "Reihe neu")
    assert sorted(set(_frame(old_series)["period"])) == ["2019-H2", "2020-H1", "2020-H2"]

    # 2. the store: both boundary versions with their validity. The open-data file of the old
    # areas gives two areas the id 06010102 (Schloßstraße in Steglitz and in Charlottenburg):
    # refused, naming layer, field and id; the planner corrects the Charlottenburg one
    store = str(tmp_path / "monitoring.gpkg")
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="'id' of layer 'PLR bis 2020'.*06010102"):
        run_alg("kommunalmonitor:monitoringstore", {
            "INPUT": old_series, "LAYOUT": 0, "AREA_FIELD": "id", "AREA_SET": OLD, "AREAS": old_areas,
            "AREAS_ID": "id", "STORE": store})
    assert not os.path.exists(store)
    old_areas = _corrected_old_areas(old_areas)
    loaded_old = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": old_series, "LAYOUT": 0, "AREA_FIELD": "id", "AREA_SET": OLD, "AREAS": old_areas,
        "AREAS_ID": "id", "AREAS_NAME": "name", "VALID_TO": "2020-H2", "STORE": store})
    loaded_new = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": new_series, "LAYOUT": 0, "AREA_FIELD": "id", "AREA_SET": NEW, "AREAS": new_areas,
        "AREAS_ID": "PLR_ID", "VALID_FROM": "2021-H1", "STORE": store})
    n_indicators = len(set(_frame(old_series)["indicator"]))
    assert loaded_old["INSERTED"] == 448 * 3 * n_indicators
    assert loaded_new["INSERTED"] == 542 * 2 * len(set(_frame(new_series)["indicator"]))

    # 3. Rückrechnung of the old half-years onto the new areas (area weights: no block
    # residents are published) and into the store beside the new periods. The files hold
    # percentages without their counts: summed like counts they would be wrong, so they are
    # left out with a warning, except the one the catalogue names numerator and denominator for
    from qgis.core import QgsProcessingFeedback

    class Recorded(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, text):  # noqa: N802 - QGIS API
            self.warnings.append(text)
            super().pushWarning(text)

    feedback = Recorded()
    rebased = run_alg("kommunalmonitor:rebaseseries", {
        "OBSERVATIONS": old_series, "AREA_FIELD": "id", "TO_SET": NEW, "METHOD": 2,
        "OLD_AREAS": old_areas, "OLD_ID": "id", "NEW_AREAS": new_areas, "NEW_ID": "PLR_ID",
        "INDICATORS": _layer(_catalogue(tmp_path), "Indikatoren"),
        "OUTPUT": str(tmp_path / "rebased.gpkg"), "CROSSWALK_OUTPUT": str(tmp_path / "crosswalk.gpkg"),
        "AREAS_OUTPUT": str(tmp_path / "new_areas_flagged.gpkg")}, feedback=feedback)
    moved = _frame(_layer(rebased["OUTPUT"], "zurückgerechnet"))
    moved_indicators = set(moved["indicator"])
    assert "inhabitants_foreigners_percentage" in moved_indicators
    assert not {i for i in moved_indicators if i.endswith("_percentage") and i != "inhabitants_foreigners_percentage"}
    assert any("inhabitants_germans_percentage" in w and "percentage" in w for w in feedback.warnings)
    flagged = _frame(_layer(rebased["AREAS_OUTPUT"], "Gebiete"))
    unchanged = set(flagged.loc[~flagged["boundary_changed"].astype(bool), "PLR_ID"].astype(str))
    assert 0 < rebased["CHANGED"] < 542 and len(unchanged) == 542 - rebased["CHANGED"]
    residents = moved[(moved["indicator"] == "inhabitants") & (moved["period"] == "2020-H2")]
    residents = residents.set_index(residents["area_id"].astype(str))["value"].astype(float)
    published = _published_residents(berlin_dir)
    assert len(residents) == 542
    assert residents.sum() == pytest.approx(published.loc[residents.index].sum(), abs=0.5)  # 3,769,962
    # unchanged planning areas come out exactly as published; the others are flagged estimates
    same = sorted(unchanged)
    np.testing.assert_allclose(residents.loc[same].to_numpy(), published.loc[same].to_numpy(), rtol=1e-9)
    estimated = moved[~moved["area_id"].astype(str).isin(unchanged)]
    assert estimated["estimated"].astype(bool).any() and (estimated["rebased_method"] == "area").all()
    # the percentage recomputed from the moved counts: on unchanged areas the published one
    share = moved[(moved["indicator"] == "inhabitants_foreigners_percentage") & (moved["period"] == "2020-H2")]
    share = share.set_index(share["area_id"].astype(str))
    published_share = _frame(old_series)
    published_share = published_share[(published_share["indicator"] == "inhabitants_foreigners_percentage")
                                      & (published_share["period"] == "2020-H2")]
    published_share = published_share.set_index(published_share["id"].astype(str))["value"].astype(float)
    # unchanged areas got new ids in 2021: the crosswalk used says which old area each one was
    crosswalk = _frame(_layer(rebased["CROSSWALK_OUTPUT"], "Zuordnung"))
    crosswalk = crosswalk[crosswalk["unchanged"].astype(bool)]
    old_of = dict(zip(crosswalk["new_id"].astype(str), crosswalk["old_id"].astype(str)))
    kept = [a for a in same if old_of.get(a) in published_share.index]
    assert len(kept) == len(same) > 200
    np.testing.assert_allclose(share.loc[kept, "value"].astype(float),
                               published_share.loc[[old_of[a] for a in kept]].to_numpy(), rtol=1e-9)
    assert (share["value"].astype(float) <= 100).all()
    again = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": rebased["OUTPUT"], "LAYOUT": 0, "AREA_SET": NEW, "STORE": store})
    assert again["INSERTED"] == len(moved)

    # 4. a target, and its status per area, read from the store's own tables
    city_2019 = moved.loc[(moved["indicator"] == "inhabitants") & (moved["period"] == "2019-H2"), "value"]
    goals = _layer(_goals_table(tmp_path, round(1.02 * city_2019.astype(float).sum())), "Ziele")
    observations = _layer(f"{store}|layername=mon_observations", "Beobachtungen")
    status = run_alg("kommunalmonitor:targetstatus", {
        "OBSERVATIONS": observations, "AREAS": new_areas, "AREAS_ID": "PLR_ID", "AREA_SET": NEW,
        "GOALS": goals, "OUTPUT": str(tmp_path / "status.gpkg"), "TABLE": str(tmp_path / "status.xlsx")})
    rows = _frame(_layer(status["OUTPUT"], "Zielstatus"))
    assert len(rows) == 542 and set(rows["goal_id"]) == {"EW1"}
    # the series behind every area's status has five half-years, three of them moved
    series = _frame(observations)
    series = series[(series["area_set"] == NEW) & (series["indicator"] == "inhabitants")]
    assert series.groupby("area_id")["period"].nunique().eq(5).all()
    assert len(series) == 542 * 5
    # status classes only, and the change since the baseline is the stored one
    assert set(rows["status"].dropna().astype(int)) <= {1, 2, 3, 4, 5}
    row = rows.set_index(rows["PLR_ID"].astype(str)).loc[same[0]]
    stored = series[series["area_id"].astype(str) == same[0]].set_index("period")["value"].astype(float)
    assert row["baseline_value"] == pytest.approx(stored["2019-H2"])
    assert row["current_value"] == pytest.approx(stored["2021-H2"])


def _corrected_old_areas(layer):
    """An editable copy of the old areas with the Charlottenburg Schloßstraße as 04030417 (its
    id in the residents table), as a planner would fix it in the attribute table."""
    from qgis.core import QgsFeatureRequest, QgsProject

    copy = layer.materialize(QgsFeatureRequest())
    copy.setName("PLR bis 2020 (korrigiert)")
    twins = [f for f in copy.getFeatures() if f["id"] == "06010102"]
    assert len(twins) == 2
    # Charlottenburg lies north of Steglitz
    north = max(twins, key=lambda f: f.geometry().centroid().asPoint().y())
    copy.startEditing()
    copy.changeAttributeValue(north.id(), copy.fields().indexOf("id"), "04030417")
    assert copy.commitChanges()
    QgsProject.instance().addMapLayer(copy)
    return copy


def _catalogue(tmp_path):
    """The planner's indicator catalogue: the foreigners' share from its two counts."""
    path = tmp_path / "indikatoren.csv"
    pd.DataFrame([{"indicator": "inhabitants", "label_de": "Einwohner", "unit": "persons", "numerator": "",
                   "denominator": "", "scale": ""},
                  {"indicator": "inhabitants_foreigners_percentage", "label_de": "Ausländeranteil", "unit": "%",
                   "numerator": "inhabitants_foreigners", "denominator": "inhabitants", "scale": "100"}]
                 ).to_csv(path, index=False)
    return str(path)


def _goals_table(tmp_path, target):
    """One target: 2 % more residents in the city from 2019-H2 to 2025 (a CSV a planner writes)."""
    path = tmp_path / "ziele.csv"
    pd.DataFrame([{"goal_id": "EW1", "level": "target", "title_en": "Residents: 2 % more by 2025",
                   "title_de": "Einwohner: 2 % mehr bis 2025", "indicator": "inhabitants", "scope": "city",
                   "baseline_period": "2019-H2", "target_value": target,
                   "target_period": "2025", "direction": "increase"}]).to_csv(path, index=False)
    return str(path)
