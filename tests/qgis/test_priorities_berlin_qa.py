"""QA: Berlin MSS 2021 on the real 542 PLR → composite index → hot spots → priorities (XLSX) →
council map, as a planner prepares a council decision (QGIS stack)."""
import os
import re
import subprocess

import pytest


@pytest.fixture(scope="module")
def berlin_gpkg(berlin_dir, tmp_path_factory):
    """The 542 PLR of 2023 with the MSS 2021 raw indicators (6 PLR 'KOM ungültig', -9999 there)."""
    import geopandas as gpd
    import pandas as pd

    areas = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    raw = pd.read_csv(os.path.join(berlin_dir, "mss_2021_index_indikatoren.csv"),
                      dtype={"PLR_ID": str, "BEZ_ID": str})
    frame = areas.merge(raw[["PLR_ID", "PLR_NAME", "EW", "BEZ_ID", "S1", "S3", "S4", "D1", "D3", "D4", "KOM"]],
                         on="PLR_ID")
    path = str(tmp_path_factory.mktemp("berlin_qa") / "plr.gpkg")
    frame.to_file(path, layer="plr", driver="GPKG")
    return path + "|layername=plr"


def _pdf_text(path):
    return subprocess.run(["pdftotext", "-raw", path, "-"], capture_output=True, text=True,
                          check=True).stdout


def test_berlin_priorities_leave_the_kom_invalid_areas_unranked_in_table_and_map(run_alg, berlin_gpkg, tmp_path):
    import geopandas as gpd
    import pandas as pd

    from kommunalmonitor.core.i18n import set_language

    index = str(tmp_path / "index.gpkg")
    run_alg("kommunalmonitor:compositeindex", {
        "INPUT": berlin_gpkg, "INDICATORS": ["S1", "S3", "S4"], "POPULATION_FIELD": "EW",
        "MISSING_CODES": "-9999", "ID_FIELD": "PLR_ID", "OUTPUT": index})
    hot = str(tmp_path / "hot.gpkg")
    run_alg("kommunalmonitor:hotspots", {"INPUT": index, "FIELD": "index", "ID_FIELD": "PLR_ID",
                                         "METHOD": 2, "PERMUTATIONS": 99, "OUTPUT": hot})
    table = str(tmp_path / "prioritaeten.xlsx")
    prio = str(tmp_path / "prio.gpkg")
    # the default combination index_class=2; burden_count=1; hotspot=1
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, text):
            self.lines.append(text)

    set_language("de")
    try:
        run_alg("kommunalmonitor:planningpriorities", {
            "INPUT": hot, "RULE": 4, "ID_FIELD": "PLR_ID", "NAME_FIELD": "PLR_NAME", "CLASS_FIELD": "index_class",
            "HOTSPOT_FIELD": "gi_bin", "POPULATION_FIELD": "EW", "OUTPUT": prio, "TABLE": table}, feedback=Log())
    finally:
        set_language("en")
    rows = pd.read_excel(table, sheet_name=0, dtype={"Planungsraum": str})
    level1 = rows.loc[rows["Priorität"] == 1, "Einwohner"].sum()
    # before: 'Priorität 1: 27 Gebiet(e), 210155 Einwohner' (no thousands mark in a council log)
    assert any(t.startswith("Priorität 1:") and f"{int(level1):,} Einwohner".replace(",", ".") in t
               for t in Log.lines), Log.lines
    assert "Keine Priorität: 6 Gebiet(e) (zu wenige Einwohner oder kein Wert für die Regel)." in Log.lines
    invalid = ["04400725", "06200418", "05300838", "03300515", "03400831", "10100205"]  # KOM ungültig
    unranked = rows[rows["Priorität"] == 0]
    # before: these 6 PLR (no index) were 'Priorität 4 (niedrigste)' with reasons 'Indexklasse nan'
    assert sorted(unranked["Planungsraum"]) == sorted(invalid)
    assert not rows["Gründe"].str.contains("nan").any()
    assert rows["Planungsraum"].str.len().eq(8).all()  # ids keep their leading zero

    set_language("de")
    try:
        pdf = str(tmp_path / "karte.pdf")
        run_alg("kommunalmonitor:councilmap", {
            "INPUT": prio, "CLASS_FIELD": "priority", "CLASS_LABEL_FIELD": "priority_label",
            "TITLE": "Handlungsprioritäten", "LANGUAGE": 1, "OUTPUT": pdf})
    finally:
        set_language("en")
    text = _pdf_text(pdf)
    # the map's counts agree with the table (before: table 81 × priority 4, map 75 + 6 not rated)
    level4 = int((rows["Priorität"] == 4).sum())
    assert re.search(rf"Priorität 4 \(niedrigste\) \({level4} Gebiete\)", text)
    assert "nicht bewertet (6 Gebiete)" in text
    # the scale bar of a German map: '2,5' km, not the C locale's '2.5'
    assert "2,5" in text and "2.5" not in text


def test_berlin_multiple_burden_grade_limits_in_german_and_no_count_without_data(run_alg, berlin_dir, tmp_path):
    import geopandas as gpd
    import pandas as pd
    from qgis.core import QgsProcessingFeedback

    from kommunalmonitor.core.i18n import set_language

    areas = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    context = pd.read_csv(os.path.join(berlin_dir, "mss_2021_kontext_indikatoren.csv"), dtype={"PLR_ID": str})
    path = str(tmp_path / "kontext.gpkg")
    areas.merge(context[["PLR_ID", "KI_01", "KI_02"]], on="PLR_ID").to_file(path, layer="k", driver="GPKG")

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, text):
            self.lines.append(text)

    out = str(tmp_path / "burden.gpkg")
    set_language("de")
    try:
        run_alg("kommunalmonitor:multipleburden", {"INPUT": path + "|layername=k", "BURDEN_FIELDS": ["KI_01", "KI_02"],
                                                   "MISSING_CODES": "-9999", "OUTPUT": out}, feedback=Log())
    finally:
        set_language("en")
    rated = context["KI_01"][context["KI_01"] != -9999]
    low, high = rated.quantile(0.25), rated.quantile(0.75)  # 1,4275 and 4,4975
    line = next(t for t in Log.lines if t.startswith("KI_01"))
    # before: 'KI_01: Stufengrenzen 1.4275 und 4.4975 (Quantil).' in a German log
    assert f"{low:.4g}".replace(".", ",") in line and f"{high:.4g}".replace(".", ",") in line
    result = gpd.read_file(out)
    assert result["burden_count"].isna().sum() == 6  # the KOM-ungültig PLR: no data, no count


def test_global_moran_of_a_district_with_unlinked_areas_is_flagged(run_alg, berlin_gpkg, tmp_path):
    # before: Treptow-Köpenick (43 PLR) with a 500 m distance band: 41 areas without neighbours,
    # and the log said 'global Moran's I = 1.202' as if strongly clustered (esda gives the same
    # 1.202: n/S0 counts the islands in n only)
    from qgis.core import QgsProcessingFeedback

    index = str(tmp_path / "index.gpkg")
    run_alg("kommunalmonitor:compositeindex", {
        "INPUT": berlin_gpkg, "INDICATORS": ["S1", "S3", "S4"], "POPULATION_FIELD": "EW",
        "MISSING_CODES": "-9999", "ID_FIELD": "PLR_ID", "OUTPUT": index})

    class Log(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, text):
            self.warnings.append(text)

    run_alg("kommunalmonitor:hotspots", {
        "INPUT": index + "|subset=\"BEZ_ID\"='09'", "FIELD": "index", "ID_FIELD": "PLR_ID", "METHOD": 1,
        "WEIGHTS": 3, "DISTANCE": 500, "PERMUTATIONS": 99, "OUTPUT": str(tmp_path / "hot.gpkg")}, feedback=Log())
    assert any("Global Moran's I (1.202) counts all 43 areas, 41 of them without neighbours" in w
               for w in Log.warnings), Log.warnings
    Log.warnings = []
    run_alg("kommunalmonitor:hotspots", {
        "INPUT": index + "|subset=\"BEZ_ID\"='09'", "FIELD": "index", "ID_FIELD": "PLR_ID", "METHOD": 1,
        "WEIGHTS": 2, "PERMUTATIONS": 99, "OUTPUT": str(tmp_path / "hot_knn.gpkg")}, feedback=Log())
    assert not any("Global Moran" in w for w in Log.warnings)


def test_council_map_of_the_twelve_sdi_classes_warns_about_too_many_colours(run_alg, berlin_dir, tmp_path):
    import geopandas as gpd
    import pandas as pd
    from qgis.core import QgsProcessingFeedback

    areas = gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))
    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    frame = areas.merge(published[["PLR_ID", "SDI", "KOM"]], on="PLR_ID")
    frame["SDI"] = frame["SDI"].where(frame["KOM"] == "gültig")
    path = str(tmp_path / "sdi.gpkg")
    frame.to_file(path, layer="sdi", driver="GPKG")

    class Log(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, text):
            self.warnings.append(text)

    run_alg("kommunalmonitor:councilmap", {"INPUT": path + "|layername=sdi", "CLASS_FIELD": "SDI",
                                           "CLASS_LABEL_FIELD": "SDI", "LANGUAGE": 2,
                                           "OUTPUT": str(tmp_path / "sdi.pdf")}, feedback=Log())
    assert any("'SDI' gives 12 classes" in w for w in Log.warnings), Log.warnings


def test_typology_on_raw_fields_says_how_clusters_are_numbered(run_alg, berlin_gpkg, tmp_path):
    # the priorities read cluster 1 as the most burdened type; with raw fields (one of which may
    # be better when higher) that numbering was not explained anywhere in the run
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, text):
            self.lines.append(text)

    run_alg("kommunalmonitor:typology", {
        "INPUT": berlin_gpkg, "FIELDS": ["S1", "S4"], "ID_FIELD": "PLR_ID", "K": 3, "BOOTSTRAP": 0,
        "MISSING_CODES": "-9999", "OUTPUT": str(tmp_path / "t.gpkg"), "PROFILES": "memory:", "CURVE": "memory:"},
        feedback=Log())
    assert any("Clusters are numbered by the mean" in t and "'S1', 'S4'" in t for t in Log.lines), Log.lines


def test_catalogue_index_leaves_the_area_ids_alone_and_reproduces_the_published_sdi(run_alg, berlin_gpkg,
                                                                                     berlin_dir, tmp_path):
    # before: 'Field 'PLR_ID' … holds numbers as text …; 542 values converted (e.g. '08401245')' and
    # the same for BEZ_ID - a planner had to check whether the ids of the council table were broken
    import geopandas as gpd
    import pandas as pd
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines, warnings = [], []

        def pushInfo(self, text):
            self.lines.append(text)

        def pushWarning(self, text):
            self.warnings.append(text)

    out = str(tmp_path / "mss.gpkg")
    run_alg("kommunalmonitor:catalogueindex", {"INPUT": berlin_gpkg, "CATALOGUE": 0, "OUTPUT": out}, feedback=Log())
    assert not any("PLR_ID" in t or "BEZ_ID" in t for t in Log.lines), Log.lines
    # before: "Field 'population' of layer 'input layer' is empty (NULL) …" for the catalogue's EW
    assert any(w.startswith("Field 'EW' of layer 'plr' is empty (NULL) in 1 area") for w in Log.warnings), \
        Log.warnings
    result = gpd.read_file(out)
    published = pd.read_csv(os.path.join(berlin_dir, "mss_2021_indizes.csv"), dtype={"PLR_ID": str})
    both = result.merge(published[["PLR_ID", "SDI_N", "KOM"]], on="PLR_ID", suffixes=("", "_pub"))
    valid = both["KOM_pub"] == "gültig"
    assert valid.sum() == 536 and (both.loc[valid, "sdi"] == both.loc[valid, "SDI_N"]).all()
    assert result["PLR_ID"].str.len().eq(8).all()


def test_combination_weights_with_german_decimal_commas():
    # before: 'index_class=1,5; hotspot=1' split at the comma and was refused "Cannot read the weight '5'"
    from kommunalmonitor.processing.algorithms.planning_priorities import parse_combination

    assert parse_combination("index_class=1,5; hotspot=1") == {"index_class": 1.5, "hotspot": 1.0}
    assert parse_combination("index_class=2, hotspot=1") == {"index_class": 2.0, "hotspot": 1.0}
    assert parse_combination("index_class=2; burden_count=1; hotspot=1") == {
        "index_class": 2.0, "burden_count": 1.0, "hotspot": 1.0}
