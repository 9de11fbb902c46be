"""The monitoring store: one schema in a GeoPackage (default) or in PostgreSQL/PostGIS.

A store holds area sets (boundary versions with validity periods and geometries), the
indicator catalogue, observations in long form, goals, measures and the crosswalks used
for boundary changes (:mod:`.schema`, ``docs/monitoring-store.md``).

Why plain DB-API and not SQLAlchemy: the QGIS stack has no SQLAlchemy in its Python
(Debian's package would be an extra install for every user), and the two things that
make loading fast differ anyway (``executemany`` on SQLite, ``COPY`` on PostgreSQL); the
dialect layer here is small. GeoPackage tables are written with SQLite directly (header +
WKB geometry blobs, the GeoPackage 1.3 core tables), so no GDAL driver is involved and the
file opens in QGIS like any GeoPackage.

Loading is idempotent: rows whose key (area set, indicator, period, area) exists with the
same value are skipped; a different value raises :class:`~core.errors.InputError` naming
area, indicator, period and both values, and nothing is written.
"""
import io
import math
import os
import sqlite3
import struct
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DependencyError, InputError
from ..i18n import tr
from ..values import format_value, to_numbers
from . import schema

# Relative tolerance for 'the same value' (values pass through float64 text and back).
SAME_VALUE_RTOL = 1e-9
_GPKG_APPLICATION_ID = 0x47504B47  # 'GPKG'
_GPKG_VERSION = 10300


@dataclass
class LoadReport:
    """What a load did: rows inserted, rows skipped as identical, rows replaced."""

    table: str
    inserted: int = 0
    unchanged: int = 0
    replaced: int = 0
    new_indicators: list = field(default_factory=list)


# --------------------------------------------------------------------------- dialects
class _SQLite:
    """GeoPackage through Python's sqlite3."""

    name = "geopackage"
    param = "?"
    types = {"text": "TEXT", "real": "DOUBLE", "integer": "INTEGER", "bool": "BOOLEAN"}

    def __init__(self, path):
        self.path = os.fspath(path)
        self.conn = sqlite3.connect(self.path)
        self.qualified = schema.table_name

    def geometry_type(self, srid):
        """SQL type of a geometry column."""
        return "GEOMETRY"

    def geometry_param(self):
        """Placeholder for a geometry value."""
        return "?"

    def geometry_select(self, column):
        """SQL expression reading a geometry column."""
        return column

    def encode_geometry(self, geom, srid):
        """GeoPackage binary: 8-byte header (no envelope, little endian) + WKB."""
        if geom is None or geom.is_empty:
            return None
        from shapely import wkb

        return b"GP" + bytes([0, 1]) + struct.pack("<i", srid) + wkb.dumps(geom)

    def decode_geometry(self, blob):
        """Shapely geometry from a GeoPackage binary."""
        if blob is None:
            return None
        from shapely import wkb

        blob = bytes(blob)
        envelope = (blob[3] >> 1) & 7
        offset = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[envelope]
        return wkb.loads(blob[offset:])

    def bulk_insert(self, cur, table, cols, frame, large=False):
        """Insert many rows with one prepared statement (executemany).

        Columns with one value in every row (flags, an area set, empty counts) are written
        into the statement as literals: binding the parameters of each row is most of the
        cost of a large load in Python's sqlite3, and typical loads vary in 4 of 12 columns.
        """
        constants = {c: _sql_constant(frame[c]) for c in cols}
        varying = [c for c in cols if constants[c] is None]
        values = [constants[c] if constants[c] is not None else "?" for c in cols]
        sql = "INSERT INTO {t} ({c}) VALUES ({p})".format(t=table, c=", ".join(cols), p=", ".join(values))
        if varying:
            cur.executemany(sql, _rows(frame, varying))
        else:
            cur.executemany(sql, [()] * len(frame))

    def table_exists(self, cur, table):
        """True when the table exists."""
        cur.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
        return cur.fetchone() is not None

    def initialise(self, cur, srid, crs_wkt):
        """GeoPackage core tables (spec 1.3) and the store's spatial reference."""
        cur.execute("PRAGMA application_id = {}".format(_GPKG_APPLICATION_ID))
        cur.execute("PRAGMA user_version = {}".format(_GPKG_VERSION))
        cur.execute("""CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
            srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
            organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""")
        cur.execute("""CREATE TABLE IF NOT EXISTS gpkg_contents (
            table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
            description TEXT DEFAULT '',
            last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
            CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""")
        cur.execute("""CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
            srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
            CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
            CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
            CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""")
        defaults = [("Undefined cartesian SRS", -1, "NONE", -1, "undefined"),
                    ("Undefined geographic SRS", 0, "NONE", 0, "undefined")]
        if srid is not None:
            organization = "EPSG" if srid < 100000 else "NONE"
            defaults.append(("store CRS", srid, organization, srid if srid < 100000 else -1, crs_wkt))
        cur.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys "
                        "(srs_name, srs_id, organization, organization_coordsys_id, definition) "
                        "VALUES (?, ?, ?, ?, ?)", defaults)

    def create_table(self, cur, table, srid):
        """Create a store table and register it in gpkg_contents."""
        name = self.qualified(table)
        if self.table_exists(cur, name):
            return
        # AUTOINCREMENT (never reuse a deleted fid) costs a fifth of a large load's inserts;
        # the observations are keyed by (area set, indicator, period, area), not by fid
        defs = ["fid INTEGER PRIMARY KEY" + ("" if table == "observations" else " AUTOINCREMENT")]
        defs += ["{} {}".format(c, self.geometry_type(srid) if k == "geometry" else self.types[k])
                 for c, k in schema.TABLES[table]]
        defs.append("UNIQUE ({})".format(", ".join(schema.KEYS[table])))
        cur.execute("CREATE TABLE {} ({})".format(name, ", ".join(defs)))
        geom = schema.geometry_column(table)
        kind = "features" if geom else "attributes"
        cur.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                    "VALUES (?, ?, ?, ?)", (name, kind, name, srid if geom else None))
        if geom:
            cur.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, 'GEOMETRY', ?, 0, 0)",
                        (name, geom, srid))

    def store_srid(self, cur):
        """The srs id of the store's geometry columns, or None before the first area set."""
        if not self.table_exists(cur, "gpkg_geometry_columns"):
            return None
        cur.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
                    (schema.table_name("areas"),))
        row = cur.fetchone()
        return None if row is None else int(row[0])

    def store_crs_wkt(self, cur, srid):
        """WKT of the store's CRS."""
        cur.execute("SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srid,))
        row = cur.fetchone()
        return None if row is None else row[0]


class _Postgres:
    """PostgreSQL/PostGIS through psycopg2 (COPY for bulk loads)."""

    name = "postgis"
    param = "%s"
    types = {"text": "TEXT", "real": "DOUBLE PRECISION", "integer": "BIGINT", "bool": "BOOLEAN"}

    def __init__(self, dsn, db_schema="public"):
        try:
            import psycopg2
        except ImportError:
            raise DependencyError(tr("The PostgreSQL store needs the Python package psycopg2 "
                                     "(Debian: python3-psycopg2; pip: psycopg2-binary).")) from None
        self.conn = psycopg2.connect(dsn)
        self.db_schema = db_schema
        self.path = dsn

    def qualified(self, table):
        """Schema-qualified SQL name."""
        return '"{}"."{}"'.format(self.db_schema, schema.table_name(table))

    def geometry_type(self, srid):
        """SQL type of a geometry column."""
        return "geometry(Geometry, {})".format(int(srid)) if srid else "geometry"

    def geometry_param(self):
        """Placeholder for a geometry value (WKB + srid)."""
        return "ST_SetSRID(ST_GeomFromWKB(%s), %s)"

    def geometry_select(self, column):
        """SQL expression reading a geometry column."""
        return "ST_AsBinary({c}) AS {c}".format(c=column)

    def encode_geometry(self, geom, srid):
        """WKB bytes for ST_GeomFromWKB."""
        if geom is None or geom.is_empty:
            return None
        from shapely import wkb

        return wkb.dumps(geom)

    def decode_geometry(self, blob):
        """Shapely geometry from WKB."""
        if blob is None:
            return None
        from shapely import wkb

        return wkb.loads(bytes(blob))

    def bulk_insert(self, cur, table, cols, frame, large=False):
        """COPY the rows as CSV (much faster than INSERTs).

        A column with one value in every row that equals the column's default (NULL, or
        false for the flags of stores created with defaults) is left out of the COPY: fewer
        columns to write and to parse on a large load. With ``large`` (the caller has
        checked the rows against the stored keys) and a table holding fewer rows than the
        load, the unique key is dropped and rebuilt after the COPY inside the transaction:
        building the index once by sorting is faster than a million single inserts into it.
        """
        rebuild = None
        if large:
            cur.execute("SELECT COUNT(*) FROM {}".format(table))
            if int(cur.fetchone()[0]) < len(frame):
                cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                            "WHERE conrelid = %s::regclass AND contype = 'u'", (table,))
                rebuild = cur.fetchall()
                for name, _ in rebuild:
                    cur.execute('ALTER TABLE {} DROP CONSTRAINT "{}"'.format(table, name))
        defaults = self._column_defaults(cur, table)
        keep = []
        for c in cols:
            constant = _sql_constant(frame[c])
            default = defaults.get(c)
            same = (constant == "NULL" and default is None) or \
                (constant == "0" and default is not None and default.split("::")[0] in ("false", "0"))
            if not same:
                keep.append(c)
        keep = keep or cols[:1]
        buffer = io.StringIO()
        _copy_csv(frame, keep, buffer)
        buffer.seek(0)
        cur.copy_expert("COPY {t} ({c}) FROM STDIN WITH (FORMAT csv)".format(t=table, c=", ".join(keep)), buffer)
        if rebuild:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for name, definition in rebuild:
                cur.execute('ALTER TABLE {} ADD CONSTRAINT "{}" {}'.format(table, name, definition))

    def _column_defaults(self, cur, table):
        """Column name -> default expression (None without one) of a store table."""
        cur.execute("SELECT column_name, column_default FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s",
                    (self.db_schema, table.split(".")[-1].strip('"')))
        return {name: default for name, default in cur.fetchall()}

    def table_exists(self, cur, table):
        """True when the (unqualified) store table exists in the schema."""
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                    (self.db_schema, table.split(".")[-1].strip('"')))
        return cur.fetchone() is not None

    def initialise(self, cur, srid, crs_wkt):
        """PostGIS extension and the schema."""
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        if cur.fetchone() is None:
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except Exception as exc:  # the database refuses: say what the administrator must do
                raise InputError(tr("The PostgreSQL database has no PostGIS and it cannot be "
                                    "created here ({error}). Ask the administrator to run "
                                    "'CREATE EXTENSION postgis' in this database.",
                                    error=str(exc).strip())) from None
        cur.execute('CREATE SCHEMA IF NOT EXISTS "{}"'.format(self.db_schema))
        if srid is not None and srid >= 100000 and crs_wkt:
            # a CRS without an EPSG code (e.g. Soldner Berlin): registered in spatial_ref_sys
            cur.execute("INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext) "
                        "VALUES (%s, 'kommunalmonitor', %s, %s) ON CONFLICT (srid) DO NOTHING",
                        (srid, srid, crs_wkt))

    def create_table(self, cur, table, srid):
        """Create a store table."""
        name = self.qualified(table)
        if self.table_exists(cur, schema.table_name(table)):
            return
        defs = ["fid BIGSERIAL PRIMARY KEY"]
        for c, k in schema.TABLES[table]:
            if k == "geometry":
                defs.append("{} {}".format(c, self.geometry_type(srid)))
            elif k == "text" and c in schema.KEYS[table]:
                # byte order, as in the GeoPackage: ids and periods sort the same in both
                # stores, and the unique index compares with memcmp instead of the locale
                defs.append('{} TEXT COLLATE "C"'.format(c))
            elif k == "bool":
                defs.append("{} BOOLEAN DEFAULT false".format(c))
            else:
                defs.append("{} {}".format(c, self.types[k]))
        defs.append("UNIQUE ({})".format(", ".join(schema.KEYS[table])))
        cur.execute("CREATE TABLE {} ({})".format(name, ", ".join(defs)))
        geom = schema.geometry_column(table)
        if geom:
            cur.execute('CREATE INDEX ON {} USING GIST ({})'.format(name, geom))

    def store_srid(self, cur):
        """The srid of the store's area geometries, or None before the first area set."""
        cur.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s",
                    (self.db_schema, schema.table_name("areas")))
        row = cur.fetchone()
        return None if row is None else int(row[0])

    def store_crs_wkt(self, cur, srid):
        """WKT of the store's CRS."""
        cur.execute("SELECT srtext FROM spatial_ref_sys WHERE srid = %s", (srid,))
        row = cur.fetchone()
        return None if row is None else row[0]


def _python(value):
    """Plain Python value for the database (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return value


def _column_values(series):
    """One column as a list of plain Python values (None for missing), converted column-wise.

    Why not value by value: a million rows × 12 columns through a Python function per value
    took most of a load's time; numpy converts whole float/bool/int columns at C speed.
    """
    s = pd.Series(series)
    dtype = s.dtype
    if not pd.api.types.is_extension_array_dtype(dtype):
        if pd.api.types.is_bool_dtype(dtype):
            return s.to_numpy(dtype=bool).tolist()
        if pd.api.types.is_float_dtype(dtype):
            values = s.to_numpy(dtype="float64")
            out = values.astype(object)  # Python floats
            out[np.isnan(values)] = None
            return out.tolist()
        if pd.api.types.is_integer_dtype(dtype):
            return s.to_numpy().tolist()
    values = s.to_numpy(dtype=object)
    out = values.copy()
    out[pd.isna(values)] = None
    if pd.api.types.infer_dtype(out, skipna=True) in ("string", "bytes", "empty"):
        return out.tolist()
    # numpy scalars inside an object column (rare) still become Python values
    return [_python(v) if isinstance(v, np.generic) else v for v in out.tolist()]


def _sql_constant(series):
    """SQL literal of a column that holds one value in every row, or None (it varies).

    Only values whose text form is exact: NULL, booleans, whole numbers below 2**53 and
    text (quotes doubled); other floats are bound as parameters so nothing is rounded.
    """
    s = pd.Series(series)
    if len(s) == 0:
        return None
    missing = s.isna().to_numpy()
    if missing.all():
        return "NULL"
    if missing.any():
        return None
    first = s.iloc[0]
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype=bool)
        return ("1" if values[0] else "0") if (values == values[0]).all() else None
    if pd.api.types.is_numeric_dtype(s.dtype):
        values = s.to_numpy(dtype="float64")
        if not (values == values[0]).all():
            return None
        value = float(values[0])
        return str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else None
    if isinstance(first, str) and (s == first).all():
        return "'" + first.replace("'", "''") + "'"
    return None


def _rows(frame, cols):
    """Rows as tuples of plain Python values."""
    return list(zip(*[_column_values(frame[c]) for c in cols]))


def _copy_csv(frame, cols, buffer):
    """Write ``frame`` as CSV for ``COPY ... (FORMAT csv)``: empty unquoted field = NULL.

    Built column by column (numbers formatted by numpy, each distinct text quoted once) and
    joined row by row; faster than ``DataFrame.to_csv`` for the few, repetitive columns of
    a load, and an empty text stays an empty text (quoted) rather than becoming NULL.
    Floats keep their shortest round-trip form; whole numbers are written without '.0'.
    """
    parts = []
    for c in cols:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) and not pd.api.types.is_extension_array_dtype(s.dtype):
            text = np.where(s.to_numpy(dtype=bool), "t", "f").astype(object)
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            values = s.to_numpy(dtype="float64")
            missing = np.isnan(values)
            finite = values[~missing]
            text = np.full(len(values), "", dtype=object)
            if len(finite) and np.all(np.abs(finite) < 2 ** 53) and np.all(finite == np.round(finite)):
                text[~missing] = finite.astype("int64").astype(str).astype(object)
            else:
                text[~missing] = [repr(v) for v in finite.tolist()]
        else:
            codes, uniques = pd.factorize(s)
            lookup = np.empty(len(uniques) + 1, dtype=object)
            lookup[:len(uniques)] = ['"' + str(_python(v)).replace('"', '""') + '"'
                                     if (v == "" or any(ch in str(v) for ch in ',"\n\r')) else str(_python(v))
                                     for v in list(uniques)]
            lookup[-1] = ""  # missing: NULL
            text = lookup[codes]
        parts.append(text)
    if len(frame):
        buffer.write("\n".join(map(",".join, zip(*parts))))
        buffer.write("\n")


def _srid_of(crs):
    """EPSG code of a CRS, or a private id (>= 100000) for CRSs without one."""
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    if code is not None:
        return int(code), crs.to_wkt()
    # a stable private id from the WKT, so the same custom CRS gets the same id
    import zlib

    return 100000 + zlib.crc32(crs.to_wkt().encode("utf-8")) % 800000, crs.to_wkt()


# --------------------------------------------------------------------------- the store
class MonitoringStore:
    """A monitoring store in a GeoPackage file or a PostgreSQL/PostGIS database.

    Open with :meth:`geopackage` or :meth:`postgis`; use as a context manager or call
    :meth:`close`. Every load runs in one transaction: on any error nothing is written.
    """

    def __init__(self, dialect):
        self._db = dialect
        cur = self._db.conn.cursor()
        self._srid = self._db.store_srid(cur) if self._has_tables(cur) else None
        self._crs_wkt = self._db.store_crs_wkt(cur, self._srid) if self._srid is not None else None
        self._db.conn.commit()

    # ----------------------------------------------------------------- opening
    @classmethod
    def geopackage(cls, path):
        """Open (or create) a store in a GeoPackage file.

        Parameters
        ----------
        path : str or path-like
            The ``.gpkg`` file; created when missing. An existing GeoPackage keeps its
            other layers.

        Returns
        -------
        MonitoringStore
        """
        path = os.fspath(path)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head and not head.startswith(b"SQLite format 3"):
                raise InputError(tr("'{path}' is not a GeoPackage (SQLite) file. Choose a .gpkg "
                                    "file or a new file name.", path=path))
        elif os.path.dirname(path) and not os.path.isdir(os.path.dirname(path)):
            raise InputError(tr("The folder of '{path}' does not exist. Choose an existing folder.",
                                path=path))
        store = cls(_SQLite(path))
        cur = store._db.conn.cursor()
        store._db.initialise(cur, None, None)
        store._db.conn.commit()
        return store

    @classmethod
    def postgis(cls, dsn, db_schema="monitoring"):
        """Open a store in a PostgreSQL/PostGIS database.

        Parameters
        ----------
        dsn : str
            libpq connection string, e.g. ``"host=localhost port=5432 dbname=stadt user=..."``.
        db_schema : str
            Database schema of the store's tables (created when missing).

        Returns
        -------
        MonitoringStore
        """
        try:
            dialect = _Postgres(dsn, db_schema)
        except DependencyError:
            raise
        except Exception as exc:
            raise InputError(tr("Cannot connect to the PostgreSQL database ({dsn}): {error}",
                                dsn=_safe_dsn(dsn), error=str(exc).strip())) from None
        cur = dialect.conn.cursor()
        dialect.initialise(cur, None, None)
        dialect.conn.commit()
        return cls(dialect)

    @property
    def backend(self):
        """``'geopackage'`` or ``'postgis'``."""
        return self._db.name

    def close(self):
        """Close the connection."""
        self._db.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------- internals
    def _has_tables(self, cur):
        """True when the store's tables exist."""
        return self._db.table_exists(cur, schema.table_name("observations")) or \
            self._db.table_exists(cur, '"{}"'.format(schema.table_name("observations")))

    def _ensure_tables(self, cur, crs=None):
        """Create missing tables; the first geometry fixes the store's CRS."""
        if self._srid is None and crs is not None:
            self._srid, self._crs_wkt = _srid_of(crs)
        self._db.initialise(cur, self._srid, self._crs_wkt)
        for table in schema.TABLES:
            if schema.geometry_column(table) and self._srid is None:
                continue
            self._db.create_table(cur, table, self._srid)

    def _transaction(self, work):
        """Run ``work(cursor)`` in one transaction (rolled back on any error)."""
        cur = self._db.conn.cursor()
        try:
            result = work(cur)
        except BaseException:
            self._db.conn.rollback()
            raise
        self._db.conn.commit()
        return result

    def _to_store_crs(self, frame, layer):
        """Geometries of ``frame`` in the store's CRS."""
        if frame.crs is None:
            raise InputError(tr("Layer '{layer}' has no coordinate reference system (CRS). "
                                "Assign the correct CRS in the layer properties first.", layer=layer))
        if self._srid is None:
            return frame.geometry
        from pyproj import CRS

        target = CRS.from_wkt(self._crs_wkt) if self._crs_wkt and self._srid >= 100000 else \
            CRS.from_epsg(self._srid)
        if CRS.from_user_input(frame.crs) == target:
            return frame.geometry
        from ..geometry_arrays import reproject

        return reproject(frame.geometry, target)

    def _replace_rows(self, cur, table, frame):
        """Insert rows, replacing rows with the same key (catalogue-like tables)."""
        cols = [c for c in schema.columns(table) if c in frame.columns]
        name = self._db.qualified(table)
        keys = schema.KEYS[table]
        p = self._db.param
        where = " AND ".join("{} = {}".format(k, p) for k in keys)
        existing = 0
        for key in frame[list(keys)].itertuples(index=False, name=None):
            cur.execute("DELETE FROM {} WHERE {}".format(name, where), tuple(_python(k) for k in key))
            existing += max(cur.rowcount, 0)
        geom = schema.geometry_column(table)
        placeholders = [self._db.geometry_param() if c == geom else p for c in cols]
        sql = "INSERT INTO {} ({}) VALUES ({})".format(name, ", ".join(cols), ", ".join(placeholders))
        rows = []
        for values in _rows(frame, cols):
            out = []
            for c, v in zip(cols, values):
                if c == geom:
                    blob = self._db.encode_geometry(v, self._srid)
                    out.append(blob)
                    if self._db.name == "postgis":
                        out.append(self._srid)
                else:
                    out.append(v)
            rows.append(tuple(out))
        cur.executemany(sql, rows)
        return LoadReport(schema.table_name(table), inserted=len(frame) - existing, replaced=existing)

    # ----------------------------------------------------------------- loading
    def load_area_set(self, areas, area_set, id_field="area_id", name_field=None, valid_from=None,
                      valid_to=None, labels=None, priority_field=None):
        """Load (or replace) one area set with its geometries.

        Parameters
        ----------
        areas : GeoDataFrame
            One polygon per area.
        area_set : str
            Name of the boundary version, e.g. ``"plr_2021"``.
        id_field, name_field, priority_field : str
            Fields with the area id (text; leading zeros are kept), the name and the
            priority level (integer, optional).
        valid_from, valid_to : str, optional
            First and last period in which this boundary version is valid (empty
            ``valid_to``: still valid).
        labels : tuple of str, optional
            ``(label_en, label_de)`` of the area set.

        Returns
        -------
        LoadReport
        """
        from .. import validate

        layer = validate.layer_name(areas, fallback=tr("areas"))
        validate.require_not_empty(areas, layer)
        validate.require_fields(areas, [f for f in (id_field, name_field, priority_field) if f], layer)
        ids = _id_text(areas[id_field])
        if ids.isna().any() or ids.duplicated().any():
            bad = ids[ids.isna() | ids.duplicated(keep=False)].astype(object).fillna("NULL").unique()[:5]
            raise InputError(tr("Field '{field}' of layer '{layer}' must identify each area once "
                                "(empty or repeated: {values}); choose an id field.",
                                field=id_field, layer=layer, values=", ".join(map(str, bad))))
        label_en, label_de = (labels or (area_set, area_set))
        crs = areas.crs

        def work(cur):
            self._ensure_tables(cur, crs)
            geoms = self._to_store_crs(areas, layer)
            frame = pd.DataFrame({
                "area_set": str(area_set), "area_id": ids.to_numpy(),
                "name": areas[name_field].astype(object).to_numpy() if name_field else None,
                "priority_level": (pd.to_numeric(areas[priority_field], errors="coerce").to_numpy()
                                   if priority_field else np.nan),
                "geom": _object_array(geoms.values)})
            name = self._db.qualified("areas")
            cur.execute("DELETE FROM {} WHERE area_set = {}".format(name, self._db.param), (str(area_set),))
            replaced = max(cur.rowcount, 0)
            self._replace_rows(cur, "area_sets", pd.DataFrame({
                "area_set": [str(area_set)], "label_en": [label_en], "label_de": [label_de],
                "valid_from": [_text_or_none(valid_from)], "valid_to": [_text_or_none(valid_to)],
                "crs": [crs.to_string() if crs is not None else None]}))
            self._replace_rows(cur, "areas", frame)
            return LoadReport(schema.table_name("areas"), inserted=len(frame), replaced=replaced)

        return self._transaction(work)

    def register_area_set(self, area_set, valid_from=None, valid_to=None, labels=None):
        """Register an area set without geometries (e.g. before its layer is at hand)."""
        label_en, label_de = (labels or (area_set, area_set))
        frame = pd.DataFrame({"area_set": [str(area_set)], "label_en": [label_en],
                              "label_de": [label_de], "valid_from": [_text_or_none(valid_from)],
                              "valid_to": [_text_or_none(valid_to)], "crs": [None]})

        def work(cur):
            self._ensure_tables(cur)
            cur.execute("SELECT 1 FROM {} WHERE area_set = {}".format(
                self._db.qualified("area_sets"), self._db.param), (str(area_set),))
            if cur.fetchone() is not None:
                return LoadReport(schema.table_name("area_sets"), unchanged=1)
            return self._replace_rows(cur, "area_sets", frame)

        return self._transaction(work)

    def load_indicators(self, catalogue):
        """Load (or update) indicator definitions; see ``docs/monitoring-store.md``.

        Parameters
        ----------
        catalogue : DataFrame
            Columns of the ``indicators`` table; ``indicator`` is required.

        Returns
        -------
        LoadReport
        """
        frame = _prepare(catalogue, "indicators", tr("indicator catalogue"))
        _check_choice(frame, "direction", schema.DIRECTIONS, tr("indicator catalogue"))
        _check_choice(frame, "policy_field", schema.POLICY_FIELDS, tr("indicator catalogue"))
        _require_unique(frame, "indicators", tr("indicator catalogue"))
        return self._transaction(lambda cur: (self._ensure_tables(cur),
                                              self._replace_rows(cur, "indicators", frame))[1])

    def load_goals(self, goals):
        """Load (or update) goals: Leitziele, strategic goals and targets (``goals`` table)."""
        frame = _prepare(goals, "goals", tr("goals table"))
        _check_choice(frame, "level", schema.GOAL_LEVELS, tr("goals table"))
        _check_choice(frame, "scope", schema.GOAL_SCOPES, tr("goals table"))
        _check_choice(frame, "direction", schema.GOAL_DIRECTIONS, tr("goals table"))
        _require_unique(frame, "goals", tr("goals table"))
        known = set(frame["goal_id"])
        parents = frame["parent_id"].dropna()
        missing = sorted(set(parents) - known - set(self.goals()["goal_id"]))
        if missing:
            raise InputError(tr("The goals table names parent goal(s) {ids} that do not exist. "
                                "Load the parent goals too or correct 'parent_id'.",
                                ids=", ".join(missing)))
        return self._transaction(lambda cur: (self._ensure_tables(cur),
                                              self._replace_rows(cur, "goals", frame))[1])

    def load_measures(self, measures):
        """Load (or update) measures: name, area ids and/or polygon, start, end, policy field."""
        frame = _prepare(measures, "measures", tr("measures table"))
        _check_choice(frame, "policy_field", schema.POLICY_FIELDS, tr("measures table"))
        _require_unique(frame, "measures", tr("measures table"))
        crs = getattr(measures, "crs", None) if hasattr(measures, "geometry") else None

        def work(cur):
            self._ensure_tables(cur, crs)
            if crs is not None:
                import geopandas as gpd

                shapes = gpd.GeoDataFrame(geometry=gpd.GeoSeries(measures.geometry.values, crs=crs))
                frame["geom"] = _object_array(self._to_store_crs(shapes, tr("measures")).values)
            else:
                frame["geom"] = _object_array([None] * len(frame))
            return self._replace_rows(cur, "measures", frame)

        return self._transaction(work)

    def load_crosswalk(self, crosswalk, from_set, to_set, method):
        """Store a crosswalk (old id, new id, share) used for a boundary change."""
        frame = crosswalk.rename(columns={"share": "share"})[["old_id", "new_id", "share"]].copy()
        frame["old_id"] = _id_text(frame["old_id"]).to_numpy()
        frame["new_id"] = _id_text(frame["new_id"]).to_numpy()
        frame["from_set"], frame["to_set"], frame["method"] = str(from_set), str(to_set), str(method)

        def work(cur):
            self._ensure_tables(cur)
            name = self._db.qualified("crosswalks")
            p = self._db.param
            cur.execute("DELETE FROM {} WHERE from_set = {} AND to_set = {}".format(name, p, p),
                        (str(from_set), str(to_set)))
            self._db.bulk_insert(cur, name, schema.columns("crosswalks"), frame)
            return LoadReport(schema.table_name("crosswalks"), inserted=len(frame))

        return self._transaction(work)

    def load_observations(self, observations, area_set=None, columns=None, feedback=None, replace=False):
        """Load observations in long form, idempotently.

        Parameters
        ----------
        observations : DataFrame
            One row per area, indicator and period: ``area_id``, ``indicator``, ``period``,
            ``value`` and optionally ``numerator``, ``denominator``, the flags and
            ``area_set`` (else ``area_set`` below).
        area_set : str, optional
            Area set of all rows (when the frame has no ``area_set`` column).
        columns : dict, optional
            Renaming of the frame's columns to the store's (e.g. ``{"PLR_ID": "area_id"}``).
        feedback : core.feedback.Feedback, optional
        replace : bool
            Replace stored values that differ (a corrected publication) instead of refusing
            them; ``replaced`` says how many. Same-valued rows stay as they are.

        Returns
        -------
        LoadReport
            ``inserted`` new rows, ``unchanged`` rows already stored with the same value,
            ``replaced`` stored values corrected (with ``replace``), ``new_indicators`` added
            to the catalogue with their name as label.

        Raises
        ------
        InputError
            Unknown area set or area ids, or a value that differs from the stored one for
            the same area, indicator and period (the message names them and both values).
        """
        from ..feedback import ensure_feedback

        feedback = ensure_feedback(feedback)
        frame = observations.rename(columns=dict(columns or {}))
        if area_set is not None:
            frame = frame.assign(area_set=str(area_set))
        frame = _prepare(frame, "observations", tr("observations table"))
        frame = _dedupe_observations(frame)
        feedback.progress(0.1)
        sets = sorted(frame["area_set"].unique())

        def work(cur):
            self._ensure_tables(cur)
            self._check_area_sets_and_ids(cur, frame, sets)
            new_indicators = self._register_indicators(cur, sorted(frame["indicator"].unique()))
            feedback.progress(0.2)
            # set-based check against what is stored: only the (area set, indicator, period)
            # groups the store already holds can repeat or contradict a row
            stored = self._stored_values(cur, frame)
            feedback.progress(0.4)
            new_rows, unchanged, corrected = _new_rows(frame, stored, replace)
            if len(corrected):  # one transaction: the old values go only if the new ones are written
                p = self._db.param
                cur.executemany("DELETE FROM {} WHERE area_set = {p} AND indicator = {p} AND period = {p} "
                                "AND area_id = {p}".format(self._db.qualified("observations"), p=p),
                                [tuple(str(v) for v in row) for row in
                                 corrected[["area_set", "indicator", "period", "area_id"]].itertuples(index=False)])
            feedback.progress(0.5)
            if len(new_rows):
                self._db.bulk_insert(cur, self._db.qualified("observations"), schema.columns("observations"),
                                     new_rows, large=len(new_rows) >= 50000)
            feedback.progress(1.0)
            return LoadReport(schema.table_name("observations"), inserted=len(new_rows) - len(corrected),
                              unchanged=unchanged, replaced=len(corrected), new_indicators=new_indicators)

        return self._transaction(work)

    def load_layer(self, layer, area_set, id_field, period, fields, rates=None):
        """Load indicator fields of an area layer (one period) as observations.

        Parameters
        ----------
        layer : DataFrame or GeoDataFrame
            One row per area of ``area_set``.
        area_set : str
        id_field : str
            Field with the area id.
        period : str
            Period of all values (e.g. ``"2020-12-31"``).
        fields : list of str
            Numeric fields; each becomes an indicator of the same name.
        rates : dict, optional
            ``rate name -> (numerator field, denominator field, scale)``: rates computed from
            their counts (and stored with them).

        Returns
        -------
        LoadReport
        """
        from .. import validate

        name = validate.layer_name(layer, fallback=tr("layer"))
        rates = dict(rates or {})
        need = [id_field] + list(fields) + [f for spec in rates.values() for f in spec[:2]]
        validate.require_fields(layer, list(dict.fromkeys(need)), name)
        ids = _id_text(layer[id_field]).to_numpy()
        parts = []
        for f in fields:
            values = validate.numeric_field(layer, f, name)
            parts.append(pd.DataFrame({"area_id": ids, "indicator": f,
                                       "value": values.to_numpy(dtype="float64")}))
        for rate, spec in rates.items():
            num_field, den_field = spec[0], spec[1]
            scale = float(spec[2]) if len(spec) > 2 else 1.0
            num = validate.numeric_field(layer, num_field, name).to_numpy(dtype="float64")
            den = validate.numeric_field(layer, den_field, name).to_numpy(dtype="float64")
            value = np.divide(num * scale, den, out=np.full(len(den), np.nan), where=den > 0)
            parts.append(pd.DataFrame({"area_id": ids, "indicator": rate, "value": value,
                                       "numerator": num, "denominator": den}))
        frame = pd.concat(parts, ignore_index=True).assign(period=str(period), area_set=str(area_set))
        return self.load_observations(frame)

    def _stored_values(self, cur, frame):
        """Stored key and value of the rows in the (area set, indicator, period) groups of ``frame``."""
        name = self._db.qualified("observations")
        p = self._db.param
        groups = frame[["area_set", "indicator", "period"]].drop_duplicates()
        sets, indicators = sorted(groups["area_set"].unique()), sorted(groups["indicator"].unique())
        cur.execute("SELECT DISTINCT area_set, indicator, period FROM {n} WHERE area_set IN ({s}) AND "
                    "indicator IN ({i})".format(n=name, s=", ".join([p] * len(sets)),
                                                i=", ".join([p] * len(indicators))), tuple(sets + indicators))
        present = pd.DataFrame(cur.fetchall(), columns=["area_set", "indicator", "period"], dtype=object)
        overlap = groups.merge(present, on=["area_set", "indicator", "period"])
        keys = list(schema.KEYS["observations"])
        parts = []
        for (area_set, indicator), rows in overlap.groupby(["area_set", "indicator"], sort=True):
            periods = sorted(rows["period"])
            cur.execute("SELECT area_set, indicator, period, area_id, value FROM {n} WHERE area_set = {p} "
                        "AND indicator = {p} AND period IN ({ps})".format(n=name, p=p, ps=", ".join([p] * len(periods))),
                        tuple([area_set, indicator] + periods))
            parts.extend(cur.fetchall())
        stored = pd.DataFrame(parts, columns=keys + ["stored_value"], dtype=object)
        stored["stored_value"] = pd.to_numeric(stored["stored_value"]).astype("float64")
        return stored

    def _check_area_sets_and_ids(self, cur, frame, sets):
        """Every area set is registered; with stored areas, every id is one of them."""
        p = self._db.param
        for name in sets:
            cur.execute("SELECT 1 FROM {} WHERE area_set = {}".format(self._db.qualified("area_sets"), p), (name,))
            if cur.fetchone() is None:
                raise InputError(tr("Area set '{area_set}' is not in the store. Load its areas "
                                    "(or register it) before its observations.", area_set=name))
            if not self._db.table_exists(cur, schema.table_name("areas")) and self._db.name == "geopackage":
                continue
            if self._srid is None:
                continue
            cur.execute("SELECT area_id FROM {} WHERE area_set = {}".format(self._db.qualified("areas"), p), (name,))
            known = {r[0] for r in cur.fetchall()}
            if not known:
                continue
            given = set(pd.unique(frame.loc[frame["area_set"] == name, "area_id"]))
            unknown = sorted(given - known)
            if unknown:
                raise InputError(tr("{count} area id(s) are not in area set '{area_set}' (first: "
                                    "{ids}). Check the id field (leading zeros?) or the area set.",
                                    count=len(unknown), area_set=name, ids=", ".join(unknown[:5])))

    def _register_indicators(self, cur, names):
        """Add indicators missing from the catalogue, labelled with their name."""
        cur.execute("SELECT indicator FROM {}".format(self._db.qualified("indicators")))
        known = {r[0] for r in cur.fetchall()}
        new = [n for n in names if n not in known]
        if new:
            self._replace_rows(cur, "indicators", pd.DataFrame({
                "indicator": new, "label_en": new, "label_de": new, "direction": "neutral"}))
        return new

    # ----------------------------------------------------------------- queries
    def _select(self, table, where=(), params=(), order=None):
        """Rows of a store table as a DataFrame (geometry decoded when present)."""
        cur = self._db.conn.cursor()
        if not self._has_tables(cur) or (schema.geometry_column(table) and self._srid is None):
            self._db.conn.commit()
            return pd.DataFrame({c: pd.Series(dtype=_dtype(k)) for c, k in schema.TABLES[table]
                                 if k != "geometry"})
        cols = schema.columns(table)
        geom = schema.geometry_column(table)
        exprs = [self._db.geometry_select(c) if c == geom else c for c in cols]
        sql = "SELECT {} FROM {}".format(", ".join(exprs), self._db.qualified(table))
        if where:
            sql += " WHERE " + " AND ".join(where)
        if order:
            sql += " ORDER BY " + ", ".join(order)
        cur.execute(sql, tuple(params))
        rows = cur.fetchall()
        self._db.conn.commit()
        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
        frame = pd.DataFrame({c: pd.Series(data[c], dtype=_dtype(k)) if k != "geometry" else data[c]
                              for c, k in schema.TABLES[table]})
        if geom:
            import geopandas as gpd
            from pyproj import CRS

            crs = CRS.from_wkt(self._crs_wkt) if self._srid >= 100000 else CRS.from_epsg(self._srid)
            shapes = [self._db.decode_geometry(b) for b in frame[geom]]
            frame = gpd.GeoDataFrame(frame.drop(columns=[geom]), geometry=shapes, crs=crs)
        return frame

    def _in(self, column, values):
        """``column IN (...)`` with parameters."""
        values = [str(v) for v in values]
        return "{} IN ({})".format(column, ", ".join([self._db.param] * len(values))), values

    def observations(self, indicator=None, area_set=None, periods=None, area_ids=None):
        """Observations as a long DataFrame (store columns), sorted by indicator, area, period.

        Parameters
        ----------
        indicator : str or list of str, optional
        area_set : str, optional
        periods, area_ids : list of str, optional
        """
        where, params = [], []
        for column, values in (("indicator", indicator), ("area_set", area_set),
                               ("period", periods), ("area_id", area_ids)):
            if values is None:
                continue
            if isinstance(values, str):
                values = [values]
            clause, vals = self._in(column, values)
            where.append(clause)
            params += vals
        return self._select("observations", where, params,
                            order=("indicator", "area_set", "area_id", "period"))

    def series(self, indicator, area_set, wide=False):
        """One indicator over all its periods on one area set.

        Parameters
        ----------
        indicator : str
        area_set : str
        wide : bool
            False: long rows (as :meth:`observations`); True: areas × periods of ``value``.

        Returns
        -------
        DataFrame
        """
        frame = self.observations(indicator=indicator, area_set=area_set)
        if frame.empty:
            raise InputError(tr("The store holds no observations of '{indicator}' on area set "
                                "'{area_set}'.", indicator=indicator, area_set=area_set))
        if not wide:
            return frame
        return frame.pivot(index="area_id", columns="period", values="value")

    def cross_section(self, period, area_set, indicators=None):
        """All (or the listed) indicators of one period: areas × indicators of ``value``."""
        frame = self.observations(indicator=indicators, area_set=area_set, periods=[period])
        if frame.empty:
            raise InputError(tr("The store holds no observations for period {period} on area set "
                                "'{area_set}'.", period=period, area_set=area_set))
        return frame.pivot(index="area_id", columns="indicator", values="value")

    def periods(self, area_set=None, indicator=None):
        """Sorted list of the periods stored (for an area set / indicator)."""
        where, params = [], []
        for column, value in (("area_set", area_set), ("indicator", indicator)):
            if value is not None:
                where.append("{} = {}".format(column, self._db.param))
                params.append(str(value))
        cur = self._db.conn.cursor()
        if not self._has_tables(cur):
            return []
        sql = "SELECT DISTINCT period FROM {}".format(self._db.qualified("observations"))
        if where:
            sql += " WHERE " + " AND ".join(where)
        cur.execute(sql, tuple(params))
        out = sorted(r[0] for r in cur.fetchall())
        self._db.conn.commit()
        return out

    def area_sets(self):
        """The area sets with their validity periods."""
        return self._select("area_sets", order=("area_set",))

    def areas(self, area_set):
        """The areas of one area set as a GeoDataFrame (store CRS)."""
        return self._select("areas", ["area_set = {}".format(self._db.param)], [str(area_set)],
                            order=("area_id",))

    def indicators(self):
        """The indicator catalogue."""
        return self._select("indicators", order=("indicator",))

    def goals(self):
        """The goals (Leitziele, strategic goals, targets)."""
        return self._select("goals", order=("goal_id",))

    def measures(self):
        """The measures (GeoDataFrame when the store has a CRS)."""
        return self._select("measures", order=("measure_id",))

    def crosswalks(self, from_set=None, to_set=None):
        """The stored crosswalks."""
        where, params = [], []
        for column, value in (("from_set", from_set), ("to_set", to_set)):
            if value is not None:
                where.append("{} = {}".format(column, self._db.param))
                params.append(str(value))
        return self._select("crosswalks", where, params, order=("from_set", "to_set", "old_id", "new_id"))

    def delete_period(self, period, area_set=None, indicator=None):
        """Delete the observations of one period (to correct and load it again)."""
        where = ["period = {}".format(self._db.param)]
        params = [str(period)]
        for column, value in (("area_set", area_set), ("indicator", indicator)):
            if value is not None:
                where.append("{} = {}".format(column, self._db.param))
                params.append(str(value))

        def work(cur):
            cur.execute("DELETE FROM {} WHERE {}".format(self._db.qualified("observations"),
                                                         " AND ".join(where)), tuple(params))
            return max(cur.rowcount, 0)

        return self._transaction(work)


# --------------------------------------------------------------------------- helpers
def _object_array(values):
    """1-d object array of geometries (no sequence unpacking of multi-part shapes)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _dtype(kind):
    """pandas dtype of a logical column type for query results."""
    return {"text": object, "real": "float64", "integer": "float64", "bool": bool}[kind]


def _safe_dsn(dsn):
    """The DSN without its password (for messages)."""
    import re

    return re.sub(r"password\s*=\s*\S+", "password=***", str(dsn))


def _text_or_none(value):
    """Text, or None for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return str(value)


def _fmt(value):
    """A number for messages."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    # six significant digits, with the decimal comma in German messages
    return format_value(float("{:.6g}".format(float(value))))


def _id_text(series):
    """Area ids as text: integers without '.0', text as is (leading zeros kept).

    Each distinct value is converted once (ids, periods and area sets repeat a lot).
    """
    series = pd.Series(series)
    codes, uniques = pd.factorize(series)
    texts = []
    for v in list(uniques):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            texts.append(str(int(v)))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            texts.append(str(int(v)))
        else:
            texts.append(str(v))
    lookup = np.empty(len(texts) + 1, dtype=object)
    lookup[:len(texts)] = texts
    lookup[-1] = None  # factorize marks missing values with -1
    return pd.Series(lookup[codes], index=series.index, dtype=object)


_ID_COLUMNS = ("area_id", "old_id", "new_id", "period", "area_set", "baseline_period", "target_period",
               "start_period", "end_period", "goal_id", "parent_id", "measure_id")


def _text_values(series):
    """Text column as object values, missing as None (each distinct value handled once)."""
    series = pd.Series(series)
    codes, uniques = pd.factorize(series)
    lookup = np.empty(len(uniques) + 1, dtype=object)
    lookup[:len(uniques)] = list(uniques)
    lookup[-1] = None
    return pd.Series(lookup[codes], index=series.index, dtype=object)


def _prepare(frame, table, what):
    """Columns renamed by alias, required columns checked, missing optional ones added."""
    frame = pd.DataFrame(frame).rename(columns=schema.ALIASES.get(table, {}))
    missing = [c for c in schema.REQUIRED[table] if c not in frame.columns]
    if missing:
        raise InputError(tr("The {what} lacks the column(s) {fields}. It needs: {required}.",
                            what=what, fields=", ".join(missing),
                            required=", ".join(schema.REQUIRED[table])))
    n = len(frame)
    data = {}
    for c, kind in schema.TABLES[table]:
        if kind == "geometry":
            continue
        if c in frame.columns:
            values = frame[c].reset_index(drop=True)
        elif kind == "bool":
            values = pd.Series(np.zeros(n, dtype=bool))
        elif kind == "real" and c == "estimated_share":
            values = pd.Series(np.zeros(n, dtype="float64"))
        else:
            values = pd.Series(np.full(n, None, dtype=object), dtype=object)
        if kind == "text":
            values = _id_text(values) if c in _ID_COLUMNS else _text_values(values)
            # object, not pandas' string dtype: the values go to the database as Python str
            data[c] = pd.Series(values.to_numpy(dtype=object), dtype=object)
            continue
        if kind in ("real", "integer") and table != "observations" and not \
                pd.api.types.is_numeric_dtype(values.dtype):
            # catalogues and goals come from a planner's CSV: '100,0', '6,5' and '1.000' are
            # numbers in German notation (a text that is no number is refused, named)
            values = to_numbers(values, field=c, layer=what, whole_numbers=(kind == "integer" or c == "min_base"))[0]
        if kind in ("real", "integer"):
            converted = pd.to_numeric(values, errors="coerce")
            bad = converted.isna() & values.notna()
            if bad.any():
                raise InputError(tr("Column '{field}' of the {what} must be numeric (found "
                                    "'{value}').", field=c, what=what, value=values[bad].iloc[0]))
            values = converted.astype("float64")
        elif kind == "bool":
            values = values.fillna(False).astype(bool)
        data[c] = pd.Series(values.to_numpy())
    out = pd.DataFrame(data, index=range(n))
    for c in schema.REQUIRED[table]:
        if c in out.columns and out[c].isna().any() and c != "value":
            raise InputError(tr("Column '{field}' of the {what} has empty values in {count} "
                                "row(s); fill them in.", field=c, what=what,
                                count=int(out[c].isna().sum())))
    return out


def _check_choice(frame, column, allowed, what):
    """Values of ``column`` are empty or one of ``allowed``."""
    values = frame[column].dropna()
    bad = sorted(set(values) - set(allowed))
    if bad:
        raise InputError(tr("Column '{field}' of the {what} has the unknown value(s) {values}; "
                            "use one of: {allowed}.", field=column, what=what,
                            values=", ".join(map(str, bad)), allowed=", ".join(allowed)))


def _require_unique(frame, table, what):
    """Keys of a catalogue-like table are unique within the loaded frame."""
    keys = list(schema.KEYS[table])
    dup = frame[frame.duplicated(keys, keep=False)]
    if len(dup):
        raise InputError(tr("The {what} has repeated key(s) {values} in column(s) {fields}.",
                            what=what, fields=", ".join(keys),
                            values=", ".join(map(str, dup[keys[0]].unique()[:5]))))


def _dedupe_observations(frame):
    """Identical repeated rows collapse; repeated keys with different values are an error."""
    keys = list(schema.KEYS["observations"])
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        return frame
    rows = frame[dup]
    spread = rows.groupby(keys, sort=False)["value"].agg(["min", "max", "count"])
    value_count = rows.groupby(keys, sort=False)["value"].apply(lambda s: s.isna().sum())
    bad = (spread["max"] - spread["min"]).abs() > SAME_VALUE_RTOL * (1 + spread["max"].abs())
    bad = bad | ((value_count > 0) & (value_count < spread["count"]))
    if bad.any():
        key = bad[bad].index[0]
        values = rows.set_index(keys).loc[key, "value"]
        raise InputError(tr("The data hold different values for area {area} (area set "
                            "{area_set}), indicator '{indicator}', period {period}: {values}. "
                            "Each area, indicator and period may appear once.",
                            area_set=key[0], indicator=key[1], period=key[2], area=key[3],
                            values="; ".join(_fmt(v) for v in np.atleast_1d(values))))
    return frame.drop_duplicates(keys).reset_index(drop=True)


def _new_rows(frame, stored, replace=False):
    """Rows of ``frame`` to write, the number already stored with the same value, and the keys
    whose stored value is to be replaced.

    A stored key with a different value raises :class:`InputError` naming area, indicator,
    period and both values (and how many conflict), unless ``replace``: then it is written
    anew and returned among the keys to delete first.
    """
    keys = list(schema.KEYS["observations"])
    if stored.empty:
        return frame, 0, frame.iloc[:0][keys]
    merged = frame[keys + ["value"]].merge(stored, on=keys, how="left", indicator=True, sort=False)
    matched = (merged["_merge"] == "both").to_numpy()
    new = merged["value"].to_numpy(dtype="float64")
    old = merged["stored_value"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        differs = matched & ((np.isnan(new) != np.isnan(old)) |
                             (np.abs(new - old) > SAME_VALUE_RTOL * (1 + np.abs(old))))
    if differs.any() and replace:
        write = ~matched | differs
        return frame[write].reset_index(drop=True), int((matched & ~differs).sum()), \
            frame[differs][keys].reset_index(drop=True)
    if differs.any():
        first = merged[differs].iloc[0]
        error = InputError(tr("Conflicting value for area {area} (area set {area_set}), "
                              "indicator '{indicator}', period {period}: the store holds "
                              "{stored}, the new data give {new}. Correct the data or delete "
                              "the stored period first ({count} conflicting value(s) in all).",
                              area=first["area_id"], area_set=first["area_set"], indicator=first["indicator"],
                              period=first["period"], stored=_fmt(first["stored_value"]),
                              new=_fmt(first["value"]), count=int(differs.sum())))
        error.conflict = True  # the Processing adapter offers to replace the stored values
        raise error
    # merge keeps the left order and length (keys are unique in both after the dedupe)
    return frame[~matched].reset_index(drop=True), int(matched.sum()), frame.iloc[:0][keys]
