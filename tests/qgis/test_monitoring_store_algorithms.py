"""Processing algorithms of the monitoring store: monitoringstore (load) and rebaseseries
(Rückrechnung), on tiny in-memory layers and on the Musterstadt panel."""
import os
import sqlite3
import uuid

import numpy as np
import pandas as pd
import pytest

from kommunalmonitor.core.monitoring.panel import make_panel

AREA_SET = "plr_2021"


def _table(frame, name):
    """Memory table (no geometry) from a DataFrame of str/int/float/bool columns."""
    from qgis.core import QgsFeature, QgsProject, QgsVectorLayer

    def kind(series):
        if series.dtype == bool:
            return "boolean"
        if series.dtype.kind in "iu":
            return "integer"
        if series.dtype.kind == "f":
            return "double"
        return "string"

    layer = QgsVectorLayer("None?" + "&".join(f"field={c}:{kind(frame[c])}" for c in frame.columns), name, "memory")
    features = []
    for row in frame.itertuples(index=False):
        f = QgsFeature(layer.fields())
        f.setAttributes([None if v is None or (isinstance(v, float) and np.isnan(v)) else
                         (v.item() if hasattr(v, "item") else v) for v in row])
        features.append(f)
    assert layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def _layer(gdf, name, kind="Polygon"):
    """Memory layer from a GeoDataFrame (text and number columns, EPSG code CRS)."""
    from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsVectorLayer

    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    kinds = {c: ("integer" if gdf[c].dtype.kind in "iu" else "double" if gdf[c].dtype.kind == "f" else "string")
             for c in columns}
    uri = f"Multi{kind}?crs=EPSG:{gdf.crs.to_epsg()}&" + "&".join(f"field={c}:{k}" for c, k in kinds.items())
    layer = QgsVectorLayer(uri, name, "memory")
    features = []
    for geom, row in zip(gdf.geometry, gdf[columns].itertuples(index=False)):
        f = QgsFeature(layer.fields())
        g = QgsGeometry()
        g.fromWkb(geom.wkb)
        f.setGeometry(g)
        f.setAttributes([v.item() if hasattr(v, "item") else (str(v) if kinds[c] == "string" else v)
                         for c, v in zip(columns, row)])
        features.append(f)
    assert layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def _squares():
    """Four square areas P1…P4 (EPSG:25833)."""
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame({"plr": ["P1", "P2", "P3", "P4"], "name": ["Nord", "Ost", "Süd", "West"]},
                            geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200),
                                      box(100, 100, 200, 200)], crs="EPSG:25833")


def _long():
    """Residents and an unemployment rate (with its counts) for two years."""
    rows = []
    for k, area in enumerate(["P1", "P2", "P3", "P4"]):
        for year in (2020, 2021):
            pop = 1000.0 + 100 * k + (year - 2020) * 10
            rows.append((area, str(year), "EW", pop, np.nan, np.nan))
            rows.append((area, str(year), "alq", 100.0 * (50 + k) / (600 + k), 50.0 + k, 600.0 + k))
    return pd.DataFrame(rows, columns=["plr_id", "jahr", "merkmal", "wert", "zaehler", "nenner"])


def _count(path, where=""):
    """Rows of the store's observations table."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM mon_observations " + where).fetchone()[0]


def _long_parameters(table, areas, store):
    return {"INPUT": table, "LAYOUT": 0, "AREA_FIELD": "plr_id", "INDICATOR_FIELD": "merkmal",
            "PERIOD_FIELD": "jahr", "VALUE_FIELD": "wert", "NUMERATOR_FIELD": "zaehler",
            "DENOMINATOR_FIELD": "nenner", "AREA_SET": AREA_SET, "AREAS": areas, "AREAS_ID": "plr",
            "AREAS_NAME": "name", "VALID_FROM": "2021", "STORE": store}


def test_load_long_twice_does_not_duplicate_and_conflict_names_the_value(run_alg, tmp_path):
    from qgis.core import QgsProcessingException, QgsVectorLayer

    from kommunalmonitor.core.monitoring.store import MonitoringStore

    frame = _long()
    store = str(tmp_path / "monitoring.gpkg")
    params = _long_parameters(_table(frame, "Beobachtungen"), _layer(_squares(), "PLR"), store)
    first = run_alg("kommunalmonitor:monitoringstore", params)
    assert first["INSERTED"] == len(frame) and first["UNCHANGED"] == 0
    assert first["STORE"] == store and _count(store) == len(frame)
    again = run_alg("kommunalmonitor:monitoringstore", params)
    assert again["INSERTED"] == 0 and again["UNCHANGED"] == len(frame)
    assert _count(store) == len(frame)  # idempotent: nothing duplicated

    changed = frame.copy()
    changed.loc[(changed["plr_id"] == "P3") & (changed["jahr"] == "2021") & (changed["merkmal"] == "EW"), "wert"] = 999.0
    params["INPUT"] = _table(changed, "Beobachtungen korrigiert")
    with pytest.raises(QgsProcessingException) as error:
        run_alg("kommunalmonitor:monitoringstore", params)
    message = str(error.value)
    assert "Conflicting value for area P3" in message and "'EW'" in message and "2021" in message
    assert "1210" in message and "999" in message  # the stored and the new value
    with MonitoringStore.geopackage(store) as opened:  # the refused load left the store as it was
        stored = opened.series("EW", AREA_SET, wide=True)
        assert stored.loc["P3", "2021"] == 1210.0
        assert list(opened.areas(AREA_SET)["name"]) == ["Nord", "Ost", "Süd", "West"]
        assert opened.area_sets().set_index("area_set").loc[AREA_SET, "valid_from"] == "2021"
        rate = opened.series("alq", AREA_SET).set_index(["area_id", "period"])
        assert rate.loc[("P2", "2020"), "numerator"] == 51.0 and rate.loc[("P2", "2020"), "denominator"] == 601.0
    # the observations layer of the store opens in QGIS
    layer = QgsVectorLayer(first["STORE_URI"], "obs", "ogr")
    assert layer.isValid() and layer.featureCount() == len(frame)


def test_wide_and_one_period_layouts(run_alg, tmp_path):
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    store = str(tmp_path / "wide.gpkg")
    areas = _layer(_squares(), "PLR")
    wide = pd.DataFrame({"plr": ["P1", "P2", "P3", "P4"], "EW_2019": [10.0, 20.0, 30.0, 40.0],
                         "EW_2020": [11.0, 21.0, 31.0, np.nan]})
    res = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": _table(wide, "EW breit"), "LAYOUT": 1, "AREA_FIELD": "plr", "AREA_SET": AREA_SET,
        "AREAS": areas, "AREAS_ID": "plr", "STORE": store})
    assert res["INSERTED"] == 8
    one = pd.DataFrame({"plr": ["P1", "P2", "P3", "P4"], "kinder": [1.0, 2.0, 3.0, 4.0],
                        "alte": [5.0, 6.0, 7.0, 8.0]})
    res = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": _table(one, "Stichtag"), "LAYOUT": 2, "AREA_FIELD": "plr", "FIELDS": ["kinder"],
        "PERIOD": "2020", "AREA_SET": AREA_SET, "STORE": store})
    assert res["INSERTED"] == 4
    with MonitoringStore.geopackage(store) as opened:
        ew = opened.series("EW", AREA_SET, wide=True)
        assert list(ew.columns) == ["2019", "2020"] and ew.loc["P2", "2020"] == 21.0
        assert np.isnan(ew.loc["P4", "2020"])
        assert opened.cross_section("2020", AREA_SET).loc["P3", "kinder"] == 3.0
        assert len(opened.areas(AREA_SET)) == 4  # loading observations alone kept the areas


def test_series_of_the_statistics_import_keeps_suppressed_values(run_alg, tmp_path):
    """The long series written by 'Import statistics table' (key, indicator, period, value, status)."""
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    series = pd.DataFrame({"PLR_ID": ["P1", "P2", "P1", "P2"], "indicator": ["EW"] * 4,
                           "period": ["2020-H2", "2020-H2", "2021-H1", "2021-H1"],
                           "value": [120.0, np.nan, 125.0, 7.0], "status": [None, "suppressed", None, None]})
    store = str(tmp_path / "import.gpkg")
    res = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": _table(series, "Zeitreihe"), "LAYOUT": 0, "AREA_FIELD": "PLR_ID", "AREA_SET": AREA_SET,
        "AREAS": _layer(_squares(), "PLR"), "AREAS_ID": "plr", "STORE": store})
    assert res["INSERTED"] == 4
    with MonitoringStore.geopackage(store) as opened:
        rows = opened.observations(area_set=AREA_SET).set_index(["area_id", "period"])
    assert rows.loc[("P2", "2020-H2"), "suppressed"] and np.isnan(rows.loc[("P2", "2020-H2"), "value"])
    assert not rows.loc[("P1", "2020-H2"), "suppressed"]


def test_unknown_area_id_and_missing_store_are_refused(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    frame = _long()
    frame.loc[0, "plr_id"] = "P9"
    store = str(tmp_path / "m.gpkg")
    with pytest.raises(QgsProcessingException, match="P9"):
        run_alg("kommunalmonitor:monitoringstore",
                _long_parameters(_table(frame, "obs"), _layer(_squares(), "PLR"), store))
    assert not os.path.exists(store)  # nothing written by a refused first load
    params = _long_parameters(_table(_long(), "obs"), None, None)
    params.pop("STORE")
    params.pop("AREAS")
    with pytest.raises(QgsProcessingException, match="monitoring store"):
        run_alg("kommunalmonitor:monitoringstore", params)


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=1, n_blocks=600, n_periods=6)


def _panel_inputs(panel):
    """Old-area observations, both area sets and blocks weighted by the last old period's residents."""
    old = panel.observations[panel.observations["area_set"] == "plr_old"].reset_index(drop=True)
    last_old = panel.periods[panel.periods.index(panel.change_period) - 1]
    pop = panel.block_counts[panel.block_counts["period"] == last_old].set_index("block_id")["population"]
    blocks = panel.blocks[["block_id", "geometry"]].copy()
    blocks["residents"] = blocks["block_id"].map(pop).astype("float64")
    table = old[["area_set", "area_id", "indicator", "period", "value", "numerator", "denominator"]]
    return old, _table(table, "Beobachtungen alt"), _layer(panel.areas_old[["area_id", "name", "geometry"]], "PLR alt"), \
        _layer(panel.areas_new[["area_id", "name", "geometry"]], "PLR neu"), _layer(blocks, "Blöcke")


def _features(path):
    from qgis.core import QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer(path, "o", "ogr")
    assert layer.isValid(), path
    names = layer.fields().names()
    plain = lambda v: None if isinstance(v, QVariant) and v.isNull() else v  # noqa: E731
    return pd.DataFrame([{n: plain(v) for n, v in zip(names, f.attributes())} for f in layer.getFeatures()])


def test_rebase_panel_with_blocks_exact_on_unchanged_areas_and_totals_kept(run_alg, tmp_path, panel):
    old, table, areas_old, areas_new, blocks = _panel_inputs(panel)
    res = run_alg("kommunalmonitor:rebaseseries", {
        "OBSERVATIONS": table, "FROM_SET": "plr_old", "TO_SET": "plr_new", "METHOD": 0,
        "OLD_AREAS": areas_old, "OLD_ID": "area_id", "NEW_AREAS": areas_new, "NEW_ID": "area_id",
        "UNITS": blocks, "UNITS_WEIGHT": "residents", "OUTPUT": str(tmp_path / "rebased.gpkg"),
        "CROSSWALK_OUTPUT": str(tmp_path / "crosswalk.gpkg"), "AREAS_OUTPUT": str(tmp_path / "areas.gpkg")})
    moved = _features(res["OUTPUT"])
    unchanged = set(panel.areas_new.loc[~panel.areas_new["boundary_changed"], "area_id"])
    assert res["CHANGED"] == int(panel.areas_new["boundary_changed"].sum()) and unchanged
    truth = panel.observations_new.set_index(["indicator", "area_id", "period"])
    got = moved.set_index(["indicator", "area_id", "period"])
    keys = [k for k in got.index if k[1] in unchanged]
    assert len(keys) == len(unchanged) * len(set(old["indicator"])) * len(set(old["period"]))
    # unchanged areas: exactly the re-tabulated truth, counts and rates (from moved counts)
    np.testing.assert_array_equal(got.loc[keys, "value"].to_numpy(dtype=float), truth.loc[keys, "value"].to_numpy())
    np.testing.assert_array_equal(got.loc[keys, "numerator"].to_numpy(dtype=float),
                                  truth.loc[keys, "numerator"].to_numpy())
    assert not got.loc[keys, "estimated"].astype(bool).any()
    assert (got.loc[keys, "estimated_share"].astype(float) == 0).all()
    # counts: every total of an indicator and period is kept
    counts = old[old["numerator"].isna()]
    before = counts.groupby(["indicator", "period"])["value"].sum()
    after = moved[moved["numerator"].isna()].groupby(["indicator", "period"])["value"].sum()
    np.testing.assert_allclose(after.loc[before.index].to_numpy(dtype=float), before.to_numpy(), rtol=1e-9)
    # rates: value = scale × moved numerator / moved denominator
    rates = moved[moved["numerator"].notna()]
    np.testing.assert_allclose(rates["value"].astype(float),
                               100 * rates["numerator"].astype(float) / rates["denominator"].astype(float))
    changed = moved[~moved["area_id"].isin(unchanged)]
    assert changed["estimated"].astype(bool).any() and (changed["rebased_method"] == "blocks").all()
    cw = _features(res["CROSSWALK_OUTPUT"])
    np.testing.assert_allclose(cw.groupby("old_id")["share"].sum(), 1.0)
    assert set(cw.columns) >= {"to_set", "old_id", "new_id", "share", "method", "unchanged"}
    areas = _features(res["AREAS_OUTPUT"]).set_index("area_id")
    assert set(areas.index[~areas["boundary_changed"].astype(bool)]) == unchanged

    # the rebased series goes into the store with its flags, next to the published new periods
    from kommunalmonitor.core.monitoring.store import MonitoringStore

    store = str(tmp_path / "store.gpkg")
    loaded = run_alg("kommunalmonitor:monitoringstore", {
        "INPUT": res["OUTPUT"], "LAYOUT": 0, "AREA_SET": "plr_new", "AREAS": areas_new, "AREAS_ID": "area_id",
        "STORE": store})
    assert loaded["INSERTED"] == len(moved)
    with MonitoringStore.geopackage(store) as opened:
        stored = opened.observations(area_set="plr_new").set_index(["indicator", "area_id", "period"])
    flags = moved.set_index(["indicator", "area_id", "period"]).loc[stored.index]
    assert (stored["estimated"].to_numpy() == flags["estimated"].astype(bool).to_numpy()).all()
    assert stored["estimated"].any() and (stored["rebased_method"] == "blocks").all()
    np.testing.assert_allclose(stored["estimated_share"], flags["estimated_share"].astype(float))


def test_rebase_with_the_published_crosswalk_and_area_weights(run_alg, tmp_path, panel):
    old, table, areas_old, areas_new, _ = _panel_inputs(panel)
    last_old = panel.periods[panel.periods.index(panel.change_period) - 1]
    res = run_alg("kommunalmonitor:rebaseseries", {
        "OBSERVATIONS": table, "FROM_SET": "plr_old", "TO_SET": "plr_new", "METHOD": 1,
        "CROSSWALK": _table(panel.crosswalk, "Zuordnung"), "OUTPUT": str(tmp_path / "cw_rebased.gpkg"),
        "CROSSWALK_OUTPUT": str(tmp_path / "cw_used.gpkg")})
    moved = _features(res["OUTPUT"]).set_index(["indicator", "area_id", "period"])
    truth = panel.observations_new.set_index(["indicator", "area_id", "period"])
    # the crosswalk was built from the residents of the last old period: exact there for every area
    pop = [k for k in moved.index if k[0] == "population" and k[2] == last_old]
    np.testing.assert_allclose(moved.loc[pop, "value"].to_numpy(dtype=float), truth.loc[pop, "value"].to_numpy(),
                               rtol=1e-9)
    assert (moved["rebased_method"] == "crosswalk").all()
    area = run_alg("kommunalmonitor:rebaseseries", {
        "OBSERVATIONS": table, "FROM_SET": "plr_old", "TO_SET": "plr_new", "METHOD": 2,
        "OLD_AREAS": areas_old, "NEW_AREAS": areas_new, "OUTPUT": str(tmp_path / "area.gpkg"),
        "CROSSWALK_OUTPUT": str(tmp_path / "area_cw.gpkg")})
    by_area = _features(area["OUTPUT"]).set_index(["indicator", "area_id", "period"])
    unchanged = set(panel.areas_new.loc[~panel.areas_new["boundary_changed"], "area_id"])
    keys = [k for k in by_area.index if k[1] in unchanged]
    np.testing.assert_array_equal(by_area.loc[keys, "value"].to_numpy(dtype=float), truth.loc[keys, "value"].to_numpy())


def test_rebase_refuses_a_missing_way_across(run_alg, tmp_path, panel):
    from qgis.core import QgsProcessingException

    _, table, areas_old, areas_new, _ = _panel_inputs(panel)
    with pytest.raises(QgsProcessingException, match="small units"):
        run_alg("kommunalmonitor:rebaseseries", {
            "OBSERVATIONS": table, "METHOD": 0, "OLD_AREAS": areas_old, "NEW_AREAS": areas_new,
            "OUTPUT": str(tmp_path / "x.gpkg"), "CROSSWALK_OUTPUT": str(tmp_path / "y.gpkg")})
    with pytest.raises(QgsProcessingException, match="plr_gone"):
        run_alg("kommunalmonitor:rebaseseries", {
            "OBSERVATIONS": table, "FROM_SET": "plr_gone", "METHOD": 2, "OLD_AREAS": areas_old,
            "NEW_AREAS": areas_new, "OUTPUT": str(tmp_path / "x.gpkg"), "CROSSWALK_OUTPUT": str(tmp_path / "y.gpkg")})
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def dsn():
    value = os.environ.get("KOMMUNALMONITOR_PG_DSN")
    if not value:
        pytest.fail("KOMMUNALMONITOR_PG_DSN is not set: run the PostGIS tests through `make test` "
                    "(it starts a throwaway PostgreSQL + PostGIS cluster) or export the DSN of one "
                    "(scripts/pg_test_cluster.sh start).")
    return value


def test_load_into_postgis_twice_and_conflict(run_alg, dsn):
    import psycopg2
    from qgis.core import QgsProcessingException

    schema = "alg_" + uuid.uuid4().hex[:10]
    frame = _long()
    params = _long_parameters(_table(frame, "Beobachtungen"), _layer(_squares(), "PLR"), None)
    params.pop("STORE")
    params.update({"DATABASE": dsn, "DB_SCHEMA": schema})
    try:
        assert run_alg("kommunalmonitor:monitoringstore", params)["INSERTED"] == len(frame)
        again = run_alg("kommunalmonitor:monitoringstore", params)
        assert again["INSERTED"] == 0 and again["UNCHANGED"] == len(frame)
        changed = frame.copy()
        changed.loc[0, "wert"] = 5.0
        params["INPUT"] = _table(changed, "korrigiert")
        with pytest.raises(QgsProcessingException, match="Conflicting value for area P1"):
            run_alg("kommunalmonitor:monitoringstore", params)
        conn = psycopg2.connect(dsn)
        count = conn.cursor()
        count.execute(f'SELECT COUNT(*) FROM "{schema}".mon_observations')
        assert count.fetchone()[0] == len(frame)
        conn.close()
    finally:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def test_large_load_into_postgis_keeps_the_unique_key(dsn):
    """A load larger than the table rebuilds the unique key after the COPY: it is there afterwards
    and still refuses a repeated key; loading again finds every row unchanged."""
    import psycopg2

    from kommunalmonitor.core.monitoring.store import MonitoringStore

    schema = "big_" + uuid.uuid4().hex[:10]
    areas = _squares()
    n_per = 15000  # 4 areas x 15,000 periods = 60,000 rows
    frame = pd.DataFrame({"area_id": np.tile(areas["plr"].to_numpy(), n_per), "indicator": "EW",
                          "period": np.repeat([f"p{k:05d}" for k in range(n_per)], 4),
                          "value": np.arange(4 * n_per, dtype="float64") / 3.0})
    try:
        with MonitoringStore.postgis(dsn, db_schema=schema) as store:
            store.load_area_set(areas, AREA_SET, id_field="plr")
            assert store.load_observations(frame, area_set=AREA_SET).inserted == len(frame)
            again = store.load_observations(frame, area_set=AREA_SET)
            assert (again.inserted, again.unchanged) == (0, len(frame))
            got = store.series("EW", AREA_SET).set_index(["area_id", "period"])["value"]
            assert got.loc[("P3", "p00007")] == frame["value"].iloc[7 * 4 + 2]  # exact float round trip
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        cur.execute(f"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                    f"'\"{schema}\".mon_observations'::regclass AND contype = 'u'")
        assert cur.fetchall() == [("UNIQUE (area_set, indicator, period, area_id)",)]
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(f"INSERT INTO \"{schema}\".mon_observations (area_set, area_id, indicator, period, value) "
                        f"VALUES ('{AREA_SET}', 'P1', 'EW', 'p00000', 1)")
        conn.rollback()
        conn.close()
    finally:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def test_postgis_copy_keeps_texts_nulls_and_floats_exactly(dsn):
    """Commas, quotes and line breaks in names, an empty text (not NULL), NULL values and floats
    survive the COPY exactly; loading the same rows again finds them unchanged."""
    import psycopg2

    from kommunalmonitor.core.monitoring.store import MonitoringStore

    schema = "csv_" + uuid.uuid4().hex[:10]
    obs = pd.DataFrame({"area_id": ["P1", "P2", "P1", "P2"], "indicator": ['x,"y"', 'x,"y"', "line\nbreak", "z"],
                        "period": ["2020"] * 4, "value": [0.1 + 0.2, np.nan, 1e300, -2.5],
                        "numerator": [1.0, 2.0, np.nan, 3.0], "denominator": [10.0, 20.0, 30.0, 40.0],
                        "rebased_method": ["", None, "blocks", "area"]})
    try:
        with MonitoringStore.postgis(dsn, db_schema=schema) as store:
            store.load_area_set(_squares(), AREA_SET, id_field="plr")
            assert store.load_observations(obs, area_set=AREA_SET).inserted == 4
            got = store.observations(area_set=AREA_SET).set_index(["area_id", "indicator"])
            assert got.loc[("P1", 'x,"y"'), "value"] == 0.1 + 0.2
            assert np.isnan(got.loc[("P2", 'x,"y"'), "value"])
            assert got.loc[("P1", "line\nbreak"), "value"] == 1e300
            assert np.isnan(got.loc[("P1", "line\nbreak"), "numerator"])
            assert got.loc[("P1", 'x,"y"'), "rebased_method"] == ""
            assert got.loc[("P2", 'x,"y"'), "rebased_method"] is None
            again = store.load_observations(obs, area_set=AREA_SET)
            assert (again.inserted, again.unchanged) == (0, 4)
    finally:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def test_database_by_the_name_of_a_saved_qgis_connection(run_alg, dsn):
    import psycopg2
    from qgis.core import QgsProcessingException, QgsProviderRegistry

    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    name = "Monitoring " + uuid.uuid4().hex[:6]
    metadata.saveConnection(metadata.createConnection(dsn, {"saveUsername": True}), name)
    schema = "saved_" + uuid.uuid4().hex[:10]
    params = _long_parameters(_table(_long(), "Beobachtungen"), _layer(_squares(), "PLR"), None)
    params.pop("STORE")
    params.update({"DATABASE": name, "DB_SCHEMA": schema})
    try:
        assert run_alg("kommunalmonitor:monitoringstore", params)["INSERTED"] == len(_long())
        params["DATABASE"] = "no such connection"
        with pytest.raises(QgsProcessingException, match="no such connection.*" + name):
            run_alg("kommunalmonitor:monitoringstore", params)
    finally:
        metadata.deleteConnection(name)
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()
