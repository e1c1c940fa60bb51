"""Graph-only packaging: contiguous area packages (片区) under hard min/max limits.

This subpackage needs networkx, numpy, scipy and pandas only (no geopandas), so it can
be tested on small hand-made graphs.

* :func:`partition_packages` - the packaging engine (exact MILP, heuristic, auto);
* :func:`violations`, :func:`solver_report` - tables stored on a plan's ``attrs``;
* :func:`check_plan` - every way a plan breaks coverage, contiguity or a limit;
* :func:`package_compactness` - sum of member distances to the package medoid (m);
* :func:`package_id_for`, :func:`stable_package_ids` - the stable id rule.
"""

from spatialreno.partition.compactness import package_compactness
from spatialreno.partition.core import (
    EXACT_MAX_NODES,
    partition_packages,
    solver_report,
    violations,
)
from spatialreno.partition.ids import package_id_for, stable_package_ids
from spatialreno.partition.limits import (
    COUNT,
    VIOLATION_COLUMNS,
    LimitSpec,
    check_plan,
    parse_limits,
)

__all__ = [
    "COUNT",
    "EXACT_MAX_NODES",
    "VIOLATION_COLUMNS",
    "LimitSpec",
    "check_plan",
    "package_compactness",
    "package_id_for",
    "parse_limits",
    "partition_packages",
    "solver_report",
    "stable_package_ids",
    "violations",
]
