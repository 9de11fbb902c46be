"""Planning-area delineation (regionalization) with hard constraints, barriers, nesting
and explanations when a request cannot be met."""
from .estimator import PlanningAreaBuilder, delineate
from .graph import UnitGraph, build_graph
from .engine import check_partition

__all__ = ["PlanningAreaBuilder", "delineate", "UnitGraph", "build_graph", "check_partition"]
