"""Statistics tables from statistical offices: read (``reading``), reshape series (``reshape``)
and join to planning areas (``join``)."""
from .join import JoinResult, join_table
from .reading import ReadOptions, TableRead, read_table
from .reshape import LongTable, long_table, long_to_wide, parse_period, stack_period_tables, wide_to_long

__all__ = ["JoinResult", "join_table", "ReadOptions", "TableRead", "read_table", "LongTable",
           "long_table", "long_to_wide", "parse_period", "stack_period_tables", "wide_to_long"]
