"""The monitoring store on a real PostgreSQL + PostGIS server: the same checks as on
GeoPackage (tests/core/test_monitoring_store.py).

`make test` starts a throwaway cluster (scripts/pg_test_cluster.sh) and exports its DSN
as KOMMUNALMONITOR_PG_DSN; without it these tests FAIL (they never skip): run them
through `make test`, or start a cluster yourself and export the DSN."""
import importlib.util
import os
import uuid

import pytest

from kommunalmonitor.core.monitoring.panel import make_panel
from kommunalmonitor.core.monitoring.store import MonitoringStore

_spec = importlib.util.spec_from_file_location(
    "monitoring_store_checks", os.path.join(os.path.dirname(__file__), "..", "core", "test_monitoring_store.py"))
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


@pytest.fixture(scope="module")
def dsn():
    value = os.environ.get("KOMMUNALMONITOR_PG_DSN")
    if not value:
        pytest.fail("KOMMUNALMONITOR_PG_DSN is not set: run the PostGIS tests through `make test` "
                    "(it starts a throwaway PostgreSQL + PostGIS cluster) or export the DSN of one "
                    "(scripts/pg_test_cluster.sh start).")
    return value


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=1, n_blocks=600, n_periods=6)


@pytest.fixture
def store(dsn):
    import psycopg2

    name = "t_" + uuid.uuid4().hex[:12]
    opened = MonitoringStore.postgis(dsn, db_schema=name)
    yield opened
    opened.close()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    conn.cursor().execute('DROP SCHEMA "{}" CASCADE'.format(name))
    conn.close()


@pytest.mark.parametrize("check", checks.CHECKS, ids=lambda f: f.__name__)
def test_postgis(check, store, panel):
    assert store.backend == "postgis"
    check(store, panel)


def test_postgis_geometry_is_real_postgis(store, panel, dsn):
    import psycopg2

    checks.fill(store, panel)
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    schema_name = store._db.db_schema
    cur.execute('SELECT SUM(ST_Area(geom)), MIN(ST_SRID(geom)) FROM "{}".mon_areas '
                "WHERE area_set = 'plr_new'".format(schema_name))
    area, srid = cur.fetchone()
    conn.close()
    assert srid == 25832
    assert area == pytest.approx(panel.areas_new.area.sum(), rel=1e-9)


def test_postgis_custom_crs(store, panel):
    """A CRS without EPSG code (like the Berlin blocks' Soldner WKT) is registered."""
    from pyproj import CRS

    custom = CRS.from_proj4("+proj=tmerc +lat_0=52.4 +lon_0=13.6 +k=1 +x_0=40000 +y_0=10000 "
                            "+ellps=bessel +units=m +no_defs")
    areas = panel.areas_old.to_crs(custom)
    store.load_area_set(areas, "custom")
    back = store.areas("custom")
    assert back.crs.to_epsg() is None
    assert back.area.sum() == pytest.approx(areas.area.sum(), rel=1e-9)
