"""Points → areas and small numbers: hand cases and Berlin kitas/schools per PLR."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.overlay.points import PointsOptions, points_to_areas
from kommunalmonitor.core.overlay.privacy import add_rate, flag_small_base, suppress_for_export

CRS = "EPSG:25833"


def _areas():
    return gpd.GeoDataFrame({"id": ["A", "B"], "kids": [200.0, 1000.0]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=CRS)


def _points():
    return gpd.GeoDataFrame({"nr": [1, 2, 3, 4, 5], "places": [50.0, 30.0, np.nan, 100.0, 10.0],
                             "art": ["kita", "kita", "tagespflege", "kita", "kita"]},
                            geometry=[Point(1, 1), Point(10, 5), Point(2, 2), Point(15, 5), Point(50, 50)],
                            crs=CRS)


def test_counts_capacity_categories_and_supply():
    out, diag = points_to_areas(_points(), _areas(), "id", ["places"], category_field="art",
                                population="kids", options=PointsOptions(per=100, min_base=300),
                                point_id="nr")
    # the point on the shared boundary (10, 5) is counted once, in the first area
    assert out["n_points"].tolist() == [3, 1]
    assert out["places"].tolist() == [80.0, 100.0]
    assert out["places_missing"].tolist() == [1, 0]
    assert out["n_kita"].tolist() == [2, 1] and out["n_tagespflege"].tolist() == [1, 0]
    assert out["places_kita"].tolist() == [80.0, 100.0]
    assert out["supply"].tolist() == pytest.approx([40.0, 10.0])
    assert out["supply_num"].tolist() == [80.0, 100.0] and out["supply_den"].tolist() == [200.0, 1000.0]
    assert out["supply_small"].tolist() == [True, False]
    assert diag["points_outside"] == 1 and diag["outside_ids"] == [5]
    assert diag["capacity_missing"] == {"places": 1}


def test_every_capacity_field_per_category():
    points = _points().assign(staff=[5.0, 3.0, 1.0, 8.0, 2.0])
    out, _ = points_to_areas(points, _areas(), "id", ["places", "staff"], category_field="art")
    assert out["places_kita"].tolist() == [80.0, 100.0]
    assert out["staff_kita"].tolist() == [8.0, 8.0] and out["staff_tagespflege"].tolist() == [1.0, 0.0]
    assert out["staff"].tolist() == [9.0, 8.0]


def test_population_from_another_layer_as_values():
    out, _ = points_to_areas(_points(), _areas(), population=np.array([100.0, 0.0]))
    assert out["supply"].iloc[0] == pytest.approx(3.0)  # 3 points per 100 residents
    assert np.isnan(out["supply"].iloc[1])  # no base, no rate


def test_points_bad_input():
    with pytest.raises(InputError, match="different coordinate"):
        points_to_areas(_points().set_crs("EPSG:3035", allow_override=True), _areas())
    with pytest.raises(InputError, match="No point"):
        points_to_areas(_points().iloc[[4]], _areas())
    with pytest.raises(InputError, match="duplicate"):
        points_to_areas(_points(), _areas().assign(id=["A", "A"]), "id")
    with pytest.raises(InputError, match="not numeric"):
        points_to_areas(_points().assign(places=list("abcde")), _areas(), capacity_fields=["places"])


def test_overlapping_areas_are_refused_not_counted_once_or_twice():
    areas = _areas()
    twice = pd.concat([areas, areas.iloc[[0]].assign(id="A2")], ignore_index=True)
    with pytest.raises(InputError, match=r"Areas 'A' and 'A2' of layer .* overlap"):
        points_to_areas(_points(), twice, "id")
    # touching areas with a point on their common boundary are fine (counted once)
    out, _ = points_to_areas(_points(), areas, "id")
    assert out["n_points"].sum() == 4


def test_rates_carry_base_and_export_suppression():
    frame = pd.DataFrame({"kids": [2.0, 0.0, 40.0], "pop": [250.0, 1.0, 400.0]})
    out = add_rate(frame, "kid_share", "kids", "pop", per=100, min_base=300)
    assert out["kid_share"].tolist() == pytest.approx([0.8, 0.0, 10.0])
    assert out["kid_share_small"].tolist() == [True, True, False]
    assert flag_small_base(frame, "pop", 300)["small_base"].tolist() == [True, True, False]
    hidden, report = suppress_for_export(out, ["kids"], min_count=3, rates=["kid_share"])
    assert np.isnan(hidden["kids"].iloc[0]) and hidden["kids"].iloc[1] == 0.0
    assert np.isnan(hidden["kid_share"].iloc[0]) and np.isnan(hidden["kid_share"].iloc[1])  # pop 1 hidden
    assert hidden["kid_share"].iloc[2] == pytest.approx(10.0)
    assert report == {"kids": 1, "kid_share_num": 1, "kid_share_den": 1, "kid_share": 2}
    assert frame["kids"].iloc[0] == 2.0  # input untouched
    same, report = suppress_for_export(out, ["kids"], min_count=0)
    assert report == {} and same["kids"].iloc[0] == 2.0


def test_suppression_hides_values_derived_from_a_small_count_and_flags_rows():
    frame = pd.DataFrame({"residents": [2.0, 50.0, 0.0], "dist_mean": [310.0, 420.0, np.nan],
                          "places": [1.0, 2.0, 9.0]})
    hidden, report = suppress_for_export(frame, ["residents", "missing"], min_count=3,
                                         derived={"dist_mean": ["residents"], "absent": ["residents"]},
                                         flag_column="suppressed")
    assert np.isnan(hidden["residents"].iloc[0]) and np.isnan(hidden["dist_mean"].iloc[0])
    assert hidden["dist_mean"].iloc[1] == 420.0 and hidden["places"].tolist() == [1.0, 2.0, 9.0]
    assert hidden["suppressed"].tolist() == [True, False, False]
    assert report == {"residents": 1, "dist_mean": 1}


@pytest.fixture(scope="module")
def plr(berlin_dir):
    return gpd.read_file(os.path.join(berlin_dir, "LOR_2023-01-01_PLR_EPSG_25833_nur_ID.shp"))


def test_berlin_kitas_and_schools_per_plr(berlin_dir, plr):
    kitas = gpd.read_file(os.path.join(berlin_dir, "kitas.geojson"))
    pub = pd.read_csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), sep=";",
                      dtype={"PLR-ID": str}, encoding="utf-8-sig", na_values=["–"])
    under6 = plr[["PLR_ID"]].merge(pub, left_on="PLR_ID", right_on="PLR-ID", how="left")["unter6"]
    out, diag = points_to_areas(kitas, plr, "PLR_ID", ["e_platz"], population=under6.to_numpy())
    places = pd.to_numeric(kitas["e_platz"])
    assert diag["points_outside"] == 0
    assert out["n_points"].sum() == len(kitas) == 2880
    assert out["e_platz"].sum() == pytest.approx(places.sum())
    # independent reference: geopandas spatial join
    ref = gpd.sjoin(kitas, plr, predicate="within").groupby("PLR_ID").size()
    counts = out.set_index("PLR_ID")["n_points"]
    assert (counts.reindex(ref.index) == ref).all()
    # Berlin-wide supply ratio equals total places per 100 children under 6
    assert out["supply_num"].sum() / np.nansum(out["supply_den"]) * 100 == pytest.approx(
        places.sum() / under6.sum() * 100)
    schools = gpd.read_file(os.path.join(berlin_dir, "schulen.geojson"))
    out, diag = points_to_areas(schools, plr, "PLR_ID", category_field="schulart")
    assert out["n_points"].sum() + diag["points_outside"] == len(schools) == 902
    assert "n_Grundschule" in out.columns
    assert out["n_Grundschule"].sum() == (schools["schulart"] == "Grundschule").sum() - sum(
        1 for i in diag["outside_ids"] if schools.loc[i, "schulart"] == "Grundschule")


def test_replaced_fields_are_reported():
    messages = []
    from kommunalmonitor.core.feedback import Feedback

    areas = _areas().assign(n_points=[9, 9])
    out, diag = points_to_areas(_points(), areas, feedback=Feedback(on_warning=messages.append))
    assert diag["replaced_fields"] == ["n_points"]
    assert any("n_points" in m and "replaced" in m for m in messages)
    assert areas["n_points"].tolist() == [9, 9]  # input untouched


def test_settings_come_as_one_options_object():
    """The ratio settings are one PointsOptions; an old positional unit or keyword is refused."""
    plain, _ = points_to_areas(_points(), _areas(), "id", ["places"], population="kids")
    same, _ = points_to_areas(_points(), _areas(), "id", ["places"], population="kids",
                              options=PointsOptions(per=100.0))
    pd.testing.assert_frame_equal(plain, same)
    with pytest.raises(TypeError, match="PointsOptions"):
        points_to_areas(_points(), _areas(), "id", ["places"], None, "kids", 100.0)
    with pytest.raises(TypeError, match="supply_field"):
        points_to_areas(_points(), _areas(), "id", ["places"], population="kids", supply_field="places")
