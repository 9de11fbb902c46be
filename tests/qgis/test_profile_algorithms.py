"""Profile atlas (PDF) and web atlas (folder) through the Processing registry, offscreen."""
import os
import subprocess

import numpy as np
import pytest


@pytest.fixture
def areas_gpkg(tmp_path):
    """Twelve squares in two districts with priority fields, a rate with counts (one count of 2),
    a series table and a school layer, as GeoPackage layers."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point, box

    geoms = [box(390000 + i * 1000, 5810000 + j * 1000, 391000 + i * 1000, 5811000 + j * 1000)
             for i in range(4) for j in range(3)]
    n = len(geoms)
    children = np.array([120.0, 80, 2, 150, 90, 60, 110, 70, 130, 100, 95, 85])
    residents = np.full(n, 1000.0)
    frame = gpd.GeoDataFrame({
        "plr_id": [f"P{k:02d}" for k in range(n)], "plr_name": [f"Kiez {k} Süd" for k in range(n)],
        "bezirk": ["Nord"] * 6 + ["Süd"] * 6, "ew": residents, "kinder": children,
        "kinder_anteil": 100 * children / residents, "alq": np.linspace(3, 14, n),
        "priority": [1, 2, 3, 4] * 3, "reasons_de": ["Priorität: Test"] * n, "reasons_en": ["Priority: test"] * n,
        "index": np.linspace(-1.5, 1.5, n), "index_class": [1, 2, 3, 4] * 3, "robustness": [0.9] * n},
        geometry=geoms, crs="EPSG:25833")
    path = str(tmp_path / "areas.gpkg")
    frame.to_file(path, layer="areas", driver="GPKG")
    series = pd.DataFrame({"area_id": np.repeat(frame["plr_id"], 2).to_numpy(), "period": ["2023", "2024"] * n,
                           "indicator": "alq", "value": np.repeat(frame["alq"].to_numpy(), 2) + [0.5, 0.0] * n})
    gpd.GeoDataFrame(series, geometry=[None] * len(series)).to_file(path, layer="series", driver="GPKG")
    schools = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[Point(390500, 5810500), Point(392500, 5811500)],
                               crs="EPSG:25833")
    schools.to_file(path, layer="schools", driver="GPKG")
    return path, frame


def _params(path, extra=None):
    params = {"INPUT": f"{path}|layername=areas", "ID_FIELD": "plr_id", "NAME_FIELD": "plr_name",
              "DISTRICT_FIELD": "bezirk", "POPULATION_FIELD": "ew", "INDICATORS": ["alq", "kinder_anteil"],
              "BETTER_HIGH": ["kinder_anteil"], "LABELS": "alq = Arbeitslosigkeit / unemployment",
              "COUNTS": "kinder_anteil = kinder / ew", "MIN_COUNT": 3, "SERIES": f"{path}|layername=series",
              "FACILITIES": [f"{path}|layername=schools"], "SOURCE_NOTE": "Testamt", "REFERENCE_DATE": "31.12.2024"}
    params.update(extra or {})
    return params


def test_profile_atlas_algorithm_writes_the_pdf(run_alg, areas_gpkg, tmp_path):
    path, frame = areas_gpkg
    out = str(tmp_path / "atlas.pdf")
    result = run_alg("kommunalmonitor:profileatlas", _params(path, {"LANGUAGE": 0, "OUTPUT": out}))
    assert result["PAGES"] == 1 + 1 + 1 + 12  # cover, overview, contents, 12 areas
    text = subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True, text=True, check=True).stdout
    assert text.count("\f") == 15
    assert "Gebietssteckbriefe" in text and "Kiez 2 Süd" in text and "Arbeitslosigkeit" in text
    assert "Priorität: Test" in text and "Testamt" in text and "Schulen" not in text  # facility named by layer
    assert "schools" in text
    assert "0,2%" not in text and "2 / 1.000" not in text  # area P02 has 2 children: hidden
    before = frame.copy()
    assert before.equals(frame)


def test_web_atlas_algorithm_writes_the_folder(run_alg, areas_gpkg, tmp_path):
    path, _ = areas_gpkg
    folder = str(tmp_path / "web")
    result = run_alg("kommunalmonitor:webatlas", _params(path, {"PUBLISHER": "Stadt Test", "PERIOD": "2024-12",
                                                               "OUTPUT": folder}))
    assert result["FILES"] == 2 * 12 + 4 + 4 + 1 + 2  # profiles, map+imprint ×2, assets, landing, CSV
    for rel in ("index.html", "de/index.html", "en/imprint.html", "de/profiles/P02.html", "download/atlas_de.csv"):
        assert os.path.exists(os.path.join(folder, rel)), rel
    page = open(os.path.join(folder, "de/profiles/P02.html"), encoding="utf-8").read()
    assert "Kiez 2 Süd" in page and "•" in page and "0,2%" not in page
    assert "Stadt Test" in open(os.path.join(folder, "de/imprint.html"), encoding="utf-8").read()


def test_counts_for_an_unknown_indicator_are_refused(run_alg, areas_gpkg, tmp_path):
    from qgis.core import QgsProcessingException

    path, _ = areas_gpkg
    with pytest.raises(QgsProcessingException, match="nope"):
        run_alg("kommunalmonitor:profileatlas", _params(path, {"COUNTS": "nope = kinder / ew",
                                                               "OUTPUT": str(tmp_path / "x.pdf")}))
    assert not os.path.exists(tmp_path / "x.pdf")
