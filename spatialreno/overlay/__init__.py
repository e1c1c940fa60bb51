"""Overlay illegal structures, the gas network and fire lanes on compounds, with totals that reconcile.

Three stage functions, all vectorised (one STRtree per layer, array-wise shapely
predicates and overlays, ``numpy.bincount`` roll-ups; no per-feature Python loop):

* :func:`overlay_illegal` (``illegal.py``) — every illegal structure (违法建设) is counted
  in exactly one place: inside a compound, shared by footprint area between the compounds
  it straddles, given to the nearest compound within ``max_distance_m`` (structures in the
  lanes between compounds), or left unassigned with the reason. Adds ``illegal_count``,
  ``illegal_area_m2``, ``illegal_m2_<kind>`` and ``illegal_n_<status>`` to the compounds.
* :func:`overlay_gas` (``gas.py``) — gas segments are cut at compound boundaries; every
  piece is inside one compound or outside all of them (municipal mains in the streets),
  and aged pipe is marked by replaceable rules (``rules.py``: :class:`AgedRule`,
  :class:`OccupationRule`; defaults from the national 2022–2025 renewal plan,
  :data:`DEFAULT_AGED_RULES`), with ages counted to an explicit ``as_of_year``. Adds
  ``gas_total_m``, ``gas_aged_m``, ``gas_<class>_m``, ``gas_aged_<class>_m`` and
  ``gas_mat_<material>_m`` to the compounds.
* :func:`flag_fire_lanes` (``fire_lanes.py``) — marks structures that leave less than
  4 m clear in a fire lane (消防车道) corridor; :func:`overlay_illegal` then counts them
  per compound (``fire_lane_blocked``).

Nothing is lost: every result (``results.py``) carries the remainder that no compound
holds, and :meth:`OverlayResult.totals` (or :func:`reconcile`) returns the audit table
``layer_total = compounds + remainder`` (and, given packages, the packages' roll-up).
Inputs are checked by :func:`spatialreno._contracts.require_layer`; the shared array
helpers are in ``_join.py`` and the convex fast path in ``_convex.py``.
"""

from __future__ import annotations

# importable as before though not in __all__: the vocabularies, and two helpers the tests use
from ._convex import ConvexTest as _ConvexTest  # noqa: F401
from ._join import group_order as _group_order  # noqa: F401
from .fire_lanes import flag_fire_lanes
from .gas import overlay_gas
from .illegal import overlay_illegal
from .results import (
    ASSIGNMENT_COLUMNS,
    GAS_COMPOUND_COLUMNS,
    HOW,
    ILLEGAL_COMPOUND_COLUMNS,
    PIECE_COLUMNS,
    GasOverlay,
    IllegalOverlay,
    OverlayResult,
    reconcile,
)
from .rules import (  # noqa: F401
    DEFAULT_AGED_RULES,
    KINDS,
    MATERIALS,
    PIPE_CLASSES,
    STATUSES,
    AgedRule,
    OccupationRule,
)

__all__ = [
    "overlay_illegal",
    "overlay_gas",
    "flag_fire_lanes",
    "reconcile",
    "OverlayResult",
    "IllegalOverlay",
    "GasOverlay",
    "AgedRule",
    "OccupationRule",
    "DEFAULT_AGED_RULES",
    "ASSIGNMENT_COLUMNS",
    "PIECE_COLUMNS",
    "ILLEGAL_COMPOUND_COLUMNS",
    "GAS_COMPOUND_COLUMNS",
    "HOW",
]
