"""Build the compound adjacency graph: walls and lanes join compounds, barriers and 街道 lines cut them.

The graph is the input of packaging (:mod:`spatialreno.partition`): nodes are compounds
with the figures that package caps sum, edges say which compounds may share a package.

How an edge is decided, in order (all steps are vectorised over candidate pairs with
shapely 2 / GEOS and numpy; there is no Python loop over pairs):

1. **Contact.** With ``tolerance_m=0`` two compounds are joined when their interiors are
   disjoint and their boundaries meet: along a segment of positive length for
   ``rule="rook"`` (DE-9IM ``F***1****``), anywhere for ``rule="queen"`` (GEOS
   *touches*). These are exactly libpysal's ``Graph.build_contiguity(strict=True)``
   predicates. Overlapping compounds are not joined at tolerance 0 (a warning lists them).
   With ``tolerance_m > 0`` two compounds are joined when their polygon distance is at
   most ``tolerance_m`` (overlapping and touching compounds have distance 0). The rule
   then no longer separates corner from wall contacts, because a corner within the
   tolerance faces a front of positive length; use ``shared_m`` to tell them apart.
2. **Barriers.** An edge is dropped when a barrier separates the two compounds; see
   :func:`build_adjacency` for the exact rule.
3. **Boundary policy.** Edges between different values of a column such as ``street``
   are dropped (``"forbid"``), kept and marked (``"mark"``) or left alone (``"ignore"``).

Edge attributes: ``gap_m`` (polygon distance, 0 when touching) and ``shared_m`` (length of
the facing front, see :func:`build_adjacency`). Isolated compounds and small components
are kept and reported with a :class:`~spatialreno.errors.SpatialRenoWarning`;
:func:`adjacency_report` summarises a graph.
"""

from __future__ import annotations

from .build import (
    _graph_from_arrays,  # noqa: F401  (tests build graphs from arrays)
    build_adjacency,
)
from .options import (
    BARRIER_SNAP_M,
    BOUNDARY_POLICIES,
    FRONT_EPS_M,
    RULES,
    SAMPLE_FRACTIONS,
    SMALL_COMPONENT_SIZE,
)
from .report import AdjacencyReport, adjacency_report

__all__ = [
    "build_adjacency",
    "adjacency_report",
    "AdjacencyReport",
    "RULES",
    "BOUNDARY_POLICIES",
    "FRONT_EPS_M",
    "BARRIER_SNAP_M",
    "SAMPLE_FRACTIONS",
    "SMALL_COMPONENT_SIZE",
]
