"""The public Python API: the engine function behind every Processing algorithm, in one place.

    from kommunalmonitor.core import api
    areas = api.aggregate_to_areas(blocks, planning_areas, "plr_id", ["pop_2022"]).areas
    index = api.composite_index(areas, ["ul", "kt"], population="pop_2022")

Every function takes and returns GeoDataFrames / DataFrames (plus diagnostics) and is
documented where it is defined (``help(api.zonal_statistics)``). ``ALGORITHMS`` maps each
Processing algorithm id to the API names that do its work, so a script can do in Python what a
planner does in the toolbox. Names are resolved on first use: importing this module is cheap.
See ``docs/python-package.md`` for a walk-through.
"""
import importlib

# API name → "module:attribute" below kommunalmonitor.core
_WHERE = {
    # data and sample municipality
    "generate_sample_municipality": "sample:generate_sample_municipality",
    "write_sample_municipality": "sample:write_sample_municipality",
    "read_table": "tables:read_table",
    "ReadOptions": "tables.reading:ReadOptions",
    "join_table": "tables:join_table",
    "wide_to_long": "tables:wide_to_long",
    # overlay onto planning areas
    "aggregate_to_areas": "aggregate:aggregate_to_areas",
    "zonal_statistics": "zonal:zonal_statistics",
    "ZonalOptions": "zonal:ZonalOptions",
    "area_interpolate": "overlay.interpolate:area_interpolate",
    "InterpolationOptions": "overlay.interpolate:InterpolationOptions",
    "grid_to_areas": "overlay.grid:grid_to_areas",
    "GridOptions": "overlay.grid:GridOptions",
    "points_to_areas": "overlay.points:points_to_areas",
    "PointsOptions": "overlay.points:PointsOptions",
    "accessibility": "overlay.accessibility:accessibility",
    "AccessibilityOptions": "overlay.accessibility:AccessibilityOptions",
    # indicators and indices
    "composite_index": "indices.composite:composite_index",
    "index_table": "indices.composite:result_frame",
    "load_catalogue": "indices.catalogue:load_catalogue",
    "catalogue_index": "indices.catalogue:catalogue_index",
    "status_dynamics": "indices.mss:status_dynamics",
    "StatusDynamicsOptions": "indices.mss:StatusDynamicsOptions",
    "multiple_burden": "indices.burden:multiple_burden",
    "index_robustness": "indices.robustness:monte_carlo_robustness",
    "RobustnessOptions": "indices.robustness:RobustnessOptions",
    # delineation
    "PlanningAreaBuilder": "regions:PlanningAreaBuilder",
    # planning priorities
    "build_weights": "priorities.weights:build_weights",
    "hot_spots": "priorities.hotspots:hot_spots",
    "HotSpotOptions": "priorities.hotspots:HotSpotOptions",
    "cluster_typology": "priorities.clustering:cluster_typology",
    "TypologyOptions": "priorities.clustering:TypologyOptions",
    "rank_priorities": "priorities.ranking:rank_priorities",
    "RankingOptions": "priorities.ranking:RankingOptions",
    "decision_table": "priorities.table:decision_table",
    # council maps and reports
    "map_classes": "mapping:map_classes",
    "build_profiles": "profiles.content:build_profiles",
    "ProfileOptions": "profiles.content:ProfileOptions",
    "write_profile_atlas": "profiles.pdf:write_atlas",
    "AtlasOptions": "profiles.pdf:AtlasOptions",
    "write_web_atlas": "webatlas.writer:write_web_atlas",
    "WebAtlasOptions": "webatlas.writer:WebAtlasOptions",
    # monitoring over time
    "MonitoringStore": "monitoring.store:MonitoringStore",
    "rebase": "monitoring.rebase:rebase",
    "change_between": "monitoring.change:change_between",
    "ChangeOptions": "monitoring.change:ChangeOptions",
    "trend": "monitoring.change:trend",
    "target_status": "monitoring.goals:target_status",
    "evaluate_measure": "monitoring.evaluation:evaluate_measure",
    "EvaluationOptions": "monitoring.evaluation:EvaluationOptions",
    # workflows and batch runs
    "load_workflow": "workflow:load_workflow",
    "run_workflow": "workflow:run_workflow",
    "run_batch": "batch:run_batch",
}

# Processing algorithm id → the API names doing its work
ALGORITHMS = {
    "samplemunicipality": ["generate_sample_municipality", "write_sample_municipality"],
    "statisticsimport": ["read_table", "wide_to_long", "join_table"],
    "aggregatetoareas": ["aggregate_to_areas"],
    "zonalstatistics": ["zonal_statistics"],
    "areainterpolation": ["area_interpolate"],
    "gridtoareas": ["grid_to_areas"],
    "pointstoareas": ["points_to_areas"],
    "accessibility": ["accessibility"],
    "compositeindex": ["composite_index", "index_table"],
    "catalogueindex": ["load_catalogue", "catalogue_index"],
    "statusdynamics": ["status_dynamics"],
    "multipleburden": ["multiple_burden"],
    "indexrobustness": ["index_robustness"],
    "delineateplanningareas": ["PlanningAreaBuilder"],
    "hotspots": ["build_weights", "hot_spots"],
    "typology": ["cluster_typology"],
    "planningpriorities": ["rank_priorities", "decision_table"],
    "councilmap": ["map_classes"],
    "profileatlas": ["build_profiles", "write_profile_atlas"],
    "webatlas": ["build_profiles", "write_web_atlas"],
    "monitoringstore": ["MonitoringStore"],
    "rebaseseries": ["rebase"],
    "serieschange": ["change_between", "trend"],
    "targetstatus": ["target_status"],
    "evaluatemeasure": ["evaluate_measure"],
}

__all__ = sorted(_WHERE) + ["ALGORITHMS"]


def __getattr__(name):
    """Resolve an API name on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"kommunalmonitor.core.api has no {name!r}; see api.__all__")
    module, attribute = _WHERE[name].split(":")
    value = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__():
    return __all__
