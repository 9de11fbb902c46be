"""Monitoring store on GeoPackage: load, idempotence, conflicts, queries.

The ``check_*`` functions take an open store and are shared with the PostGIS tests
(tests/qgis/test_monitoring_postgis.py), so both databases pass the same checks."""
import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.errors import InputError
from kommunalmonitor.core.monitoring.panel import make_panel
from kommunalmonitor.core.monitoring.store import MonitoringStore


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=1, n_blocks=600, n_periods=6)


def fill(store, panel):
    """Load the whole panel into a store."""
    store.load_area_set(panel.areas_old, "plr_old", name_field="name", valid_from=panel.periods[0],
                        valid_to=panel.periods[2], labels=("Old areas", "Alte Planungsräume"))
    store.load_area_set(panel.areas_new, "plr_new", name_field="name", priority_field="priority_level",
                        valid_from=panel.change_period)
    store.load_indicators(panel.indicators)
    report = store.load_observations(panel.observations)
    store.load_goals(panel.goals)
    store.load_measures(panel.measures)
    store.load_crosswalk(panel.crosswalk, "plr_old", "plr_new", "blocks")
    return report


def check_round_trip(store, panel):
    report = fill(store, panel)
    assert report.inserted == len(panel.observations) and report.unchanged == 0
    got = store.series("unemployment_rate", "plr_new")
    want = panel.observations[(panel.observations["indicator"] == "unemployment_rate")
                              & (panel.observations["area_set"] == "plr_new")]
    want = want.sort_values(["area_id", "period"]).reset_index(drop=True)
    assert list(got["area_id"]) == list(want["area_id"])
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12)
    np.testing.assert_allclose(got["numerator"], want["numerator"])
    wide = store.series("population", "plr_old", wide=True)
    assert list(wide.columns) == panel.periods[:3]
    section = store.cross_section(panel.periods[0], "plr_old")
    assert section.loc[panel.areas_old["area_id"].iloc[0], "population"] == want_value(
        panel, "plr_old", "population", panel.periods[0], panel.areas_old["area_id"].iloc[0])
    assert store.periods("plr_new") == panel.periods[3:]
    areas = store.areas("plr_new")
    assert list(areas["area_id"]) == sorted(panel.areas_new["area_id"])
    assert str(areas.crs.to_epsg()) == "25832"
    geo = panel.areas_new.set_index("area_id").loc[areas["area_id"]]
    np.testing.assert_allclose(areas.area.to_numpy(), geo.area.to_numpy(), rtol=1e-12)
    assert areas["priority_level"].notna().all()
    sets = store.area_sets().set_index("area_set")
    assert sets.loc["plr_old", "valid_to"] == panel.periods[2]
    assert sets.loc["plr_old", "label_de"] == "Alte Planungsräume"
    goals = store.goals().set_index("goal_id")
    assert goals.loc["T2", "scope_areas"] == panel.goals.set_index("goal_id").loc["T2", "scope_areas"]
    measures = store.measures()
    assert list(measures["start_period"]) == list(panel.measures["start"])
    assert measures.geometry.area.sum() == pytest.approx(panel.measures.geometry.area.sum())
    cw = store.crosswalks("plr_old", "plr_new")
    assert len(cw) == len(panel.crosswalk) and set(cw["method"]) == {"blocks"}


def want_value(panel, area_set, indicator, period, area):
    obs = panel.observations
    sel = obs[(obs["area_set"] == area_set) & (obs["indicator"] == indicator)
              & (obs["period"] == period) & (obs["area_id"] == area)]
    return float(sel["value"].iloc[0])


def check_idempotent_and_conflict(store, panel):
    fill(store, panel)
    n = len(store.observations())
    again = store.load_observations(panel.observations)
    assert (again.inserted, again.unchanged) == (0, len(panel.observations))
    # the same period loaded again with one new indicator: only the new rows go in
    extra = panel.observations[panel.observations["period"] == panel.periods[0]]
    extra = pd.concat([extra, extra[extra["indicator"] == "population"].assign(indicator="residents_copy")])
    report = store.load_observations(extra)
    assert report.inserted == (extra["indicator"] == "residents_copy").sum()
    assert report.new_indicators == ["residents_copy"]
    assert len(store.observations()) == n + report.inserted
    n = len(store.observations())
    row = panel.observations[panel.observations["indicator"] == "unemployed"].iloc[[0]]
    bad = row.assign(value=row["value"] + 7)
    with pytest.raises(InputError) as err:
        store.load_observations(pd.concat([panel.observations.iloc[:50], bad]))
    text = str(err.value)
    for part in (row["area_id"].iloc[0], "unemployed", row["period"].iloc[0],
                 "{:g}".format(row["value"].iloc[0]), "{:g}".format(row["value"].iloc[0] + 7)):
        assert part in text
    assert len(store.observations()) == n  # nothing written


def check_bad_input(store, panel):
    fill(store, panel)
    obs = panel.observations.iloc[:3].copy()
    with pytest.raises(InputError, match="Area set 'nowhere' is not in the store"):
        store.load_observations(obs.assign(area_set="nowhere"))
    with pytest.raises(InputError, match="not in area set 'plr_old'.*9999"):
        store.load_observations(obs.iloc[:1].assign(area_id="9999", area_set="plr_old"))
    twice = pd.concat([obs.iloc[:1], obs.iloc[:1].assign(value=obs["value"].iloc[0] + 1)])
    with pytest.raises(InputError, match="different values for area"):
        store.load_observations(twice)
    with pytest.raises(InputError, match="lacks the column"):
        store.load_observations(obs.drop(columns=["period"]))
    with pytest.raises(InputError, match="policy_field.*transport"):
        store.load_indicators(pd.DataFrame({"indicator": ["x"], "policy_field": ["transport"]}))
    with pytest.raises(InputError, match="parent goal"):
        store.load_goals(pd.DataFrame({"goal_id": ["G9"], "parent_id": ["NOPE"], "level": ["target"]}))


def check_layer_and_import_table(store, panel):
    fill(store, panel)
    # a statistics import: integer keys lose leading zeros; '0101' stays text in the store
    layer = panel.areas_old.assign(residents=np.arange(len(panel.areas_old)) * 10.0 + 100,
                                   jobless=np.arange(len(panel.areas_old)) + 5.0,
                                   working=np.arange(len(panel.areas_old)) + 50.0)
    report = store.load_layer(layer, "plr_old", "area_id", "2099", ["residents"],
                              rates={"jobless_rate": ("jobless", "working", 100.0)})
    assert report.inserted == 2 * len(layer)
    got = store.cross_section("2099", "plr_old")
    first = panel.areas_old["area_id"].iloc[0]
    assert first.startswith("0")
    assert got.loc[first, "residents"] == 100.0
    assert got.loc[first, "jobless_rate"] == pytest.approx(100 * 5 / 50)
    long = pd.DataFrame({"area_key": [first], "period": ["2099"], "indicator": ["residents"],
                         "value": [100.0]})
    assert store.load_observations(long, area_set="plr_old").unchanged == 1


CHECKS = [check_round_trip, check_idempotent_and_conflict, check_bad_input, check_layer_and_import_table]


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.__name__)
def test_geopackage(check, panel, tmp_path):
    with MonitoringStore.geopackage(tmp_path / "monitoring.gpkg") as store:
        check(store, panel)


def test_geopackage_opens_in_gis_readers_and_reopens(panel, tmp_path):
    import geopandas as gpd

    path = tmp_path / "monitoring.gpkg"
    with MonitoringStore.geopackage(path) as store:
        fill(store, panel)
    areas = gpd.read_file(path, layer="mon_areas")
    assert len(areas) == len(panel.areas_old) + len(panel.areas_new)
    assert areas.crs.to_epsg() == 25832
    with MonitoringStore.geopackage(path) as store:  # reopened: CRS and rows are there
        assert len(store.areas("plr_old")) == len(panel.areas_old)
        assert store.load_observations(panel.observations).inserted == 0


def test_not_a_geopackage(tmp_path):
    path = tmp_path / "x.gpkg"
    path.write_text("hello")
    with pytest.raises(InputError, match="is not a GeoPackage"):
        MonitoringStore.geopackage(path)
