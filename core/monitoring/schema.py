"""Tables of the monitoring store, one definition for GeoPackage and PostgreSQL/PostGIS.

Each table is a list of ``(column, type)``; types are logical (``text``, ``real``,
``integer``, ``bool``, ``geometry``) and mapped to SQL per dialect in :mod:`.store`.
Every table has an integer primary key ``fid`` first (GeoPackage requires one; QGIS uses
it as feature id on both databases). ``docs/monitoring-store.md`` describes the columns.
"""

PREFIX = "mon_"

POLICY_FIELDS = ("work", "housing", "integration", "social_affairs", "education", "culture",
                 "environment", "health")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")
GOAL_LEVELS = ("leitziel", "strategic", "target")
GOAL_SCOPES = ("city", "areas", "priority")
GOAL_DIRECTIONS = ("increase", "decrease")
REBASE_METHODS = ("blocks", "crosswalk", "area")

TABLES = {
    "area_sets": [
        ("area_set", "text"), ("label_en", "text"), ("label_de", "text"),
        ("valid_from", "text"), ("valid_to", "text"), ("crs", "text"),
    ],
    "areas": [
        ("area_set", "text"), ("area_id", "text"), ("name", "text"),
        ("priority_level", "integer"), ("geom", "geometry"),
    ],
    "indicators": [
        ("indicator", "text"), ("label_en", "text"), ("label_de", "text"), ("unit", "text"),
        ("numerator", "text"), ("denominator", "text"), ("scale", "real"),
        ("direction", "text"), ("policy_field", "text"), ("source", "text"),
        ("min_base", "real"),
    ],
    "observations": [
        ("area_set", "text"), ("area_id", "text"), ("indicator", "text"), ("period", "text"),
        ("value", "real"), ("numerator", "real"), ("denominator", "real"),
        ("suppressed", "bool"), ("small_base", "bool"), ("estimated", "bool"),
        ("rebased_method", "text"), ("estimated_share", "real"),
    ],
    "goals": [
        ("goal_id", "text"), ("parent_id", "text"), ("level", "text"), ("title_en", "text"),
        ("title_de", "text"), ("indicator", "text"), ("scope", "text"), ("scope_areas", "text"),
        ("priority_level", "integer"), ("area_set", "text"), ("baseline_period", "text"),
        ("baseline_value", "real"), ("target_value", "real"), ("target_period", "text"),
        ("direction", "text"),
    ],
    "measures": [
        ("measure_id", "text"), ("name", "text"), ("area_set", "text"), ("area_ids", "text"),
        ("start_period", "text"), ("end_period", "text"), ("policy_field", "text"),
        ("geom", "geometry"),
    ],
    "crosswalks": [
        ("from_set", "text"), ("to_set", "text"), ("old_id", "text"), ("new_id", "text"),
        ("share", "real"), ("method", "text"),
    ],
}

# Natural keys: loading a row whose key exists is idempotent (same values) or a conflict.
KEYS = {
    "area_sets": ("area_set",),
    "areas": ("area_set", "area_id"),
    "indicators": ("indicator",),
    "observations": ("area_set", "indicator", "period", "area_id"),
    "goals": ("goal_id",),
    "measures": ("measure_id",),
    "crosswalks": ("from_set", "to_set", "old_id", "new_id"),
}

# Columns a caller must give; the others may be missing (NULL / False / 0).
REQUIRED = {
    "area_sets": ("area_set",),
    "areas": ("area_set", "area_id"),
    "indicators": ("indicator",),
    "observations": ("area_set", "area_id", "indicator", "period", "value"),
    "goals": ("goal_id", "level"),
    "measures": ("measure_id", "name"),
    "crosswalks": ("from_set", "to_set", "old_id", "new_id", "share"),
}

# Accepted alternative column names (e.g. the panel's measures, the statistics import).
ALIASES = {
    "measures": {"start": "start_period", "end": "end_period"},
    "observations": {"area_key": "area_id"},
}


def table_name(table):
    """SQL name of a logical table."""
    return PREFIX + table


def columns(table):
    """Column names of a logical table (without ``fid``)."""
    return [name for name, _ in TABLES[table]]


def geometry_column(table):
    """Name of the table's geometry column, or None."""
    return next((name for name, kind in TABLES[table] if kind == "geometry"), None)
