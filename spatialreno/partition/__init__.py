"""Graph-only packaging: contiguous area packages (片区) under hard min/max limits.

This subpackage needs networkx, numpy, scipy and pandas only (no geopandas), so it can
be tested on small hand-made graphs.

* :func:`partition_packages` - the packaging engine (exact MILP, heuristic, auto); it
  returns a :class:`PartitionResult` (labels, violations, solver report, options);
* :func:`violations`, :func:`solver_report` - the tables of a PartitionResult;
* :func:`check_plan` - every way a plan breaks coverage, contiguity or a limit;
* :func:`package_compactness` - sum of member distances to the package medoid (m);
* :func:`package_id_for`, :func:`stable_package_ids` - the stable id rule.

The closed option sets are the ``Literal`` types :data:`Objective`, :data:`Method` and
:data:`OnInfeasible` (read them with ``typing.get_args``).
"""

from spatialreno.partition.compactness import package_compactness
from spatialreno.partition.core import (
    EXACT_MAX_NODES,
    Method,
    Objective,
    OnInfeasible,
    partition_packages,
)
from spatialreno.partition.ids import package_id_for, stable_package_ids
from spatialreno.partition.limits import (
    COUNT,
    VIOLATION_COLUMNS,
    LimitSpec,
    check_plan,
    parse_limits,
)
from spatialreno.partition.result import (
    SOLVER_COLUMNS,
    PartitionResult,
    solver_report,
    violations,
)

__all__ = [
    "COUNT",
    "EXACT_MAX_NODES",
    "SOLVER_COLUMNS",
    "VIOLATION_COLUMNS",
    "LimitSpec",
    "Method",
    "Objective",
    "OnInfeasible",
    "PartitionResult",
    "check_plan",
    "package_compactness",
    "package_id_for",
    "parse_limits",
    "partition_packages",
    "solver_report",
    "stable_package_ids",
    "violations",
]
