"""Monitoring over time: store, boundary changes, series and change, targets, evaluation.

- ``schema``: the tables of the monitoring store (area sets, indicators, observations,
  goals, measures) and their column types, shared by GeoPackage and PostGIS.
- ``store``: :class:`~.store.MonitoringStore`, load (idempotent) and query as DataFrames.
- ``rebase``: boundary changes (Rückrechnung) through blocks, a crosswalk or area weights.
- ``panel``: Musterstadt over time (``make_panel``), a seeded synthetic panel for tests/demo.
- ``series``, ``change``, ``goals``, ``evaluation``: analysis steps on the stored series.

Modules are imported by their users (``from kommunalmonitor.core.monitoring import store``);
this package imports nothing, so each part loads only what it needs.
"""
