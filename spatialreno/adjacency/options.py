"""The options of :func:`~spatialreno.adjacency.build_adjacency`: closed sets, named
constants, the option check, and the helpers its messages share."""

from __future__ import annotations

import math
import warnings

import pandas as pd

from ..errors import SpatialRenoWarning

#: Contact rules accepted by :func:`build_adjacency`.
RULES: tuple[str, ...] = ("rook", "queen")
#: Boundary policies accepted by :func:`build_adjacency`.
BOUNDARY_POLICIES: tuple[str, ...] = ("forbid", "mark", "ignore")
#: Width (m) of the facing front of touching compounds (tolerance 0), used to place the
#: barrier test points on a shared wall.
FRONT_EPS_M = 1e-3
#: A connecting segment that comes within this distance (m) of a barrier *line* crosses it.
#: It lets a road centre line digitised on a shared wall cut that wall.
BARRIER_SNAP_M = 1e-2
#: Positions, as fractions of the facing front's length, of the test points on each
#: compound's front (both directions are sampled, so each edge gets 2 × 3 test segments).
SAMPLE_FRACTIONS: tuple[float, ...] = (1 / 6, 1 / 2, 5 / 6)
#: Components of at most this many compounds (but more than one) are warned about.
SMALL_COMPONENT_SIZE = 5
#: How many ids a warning or error lists before "... and N more".
_SHOW_IDS = 10
#: Frames from _build up to the user's call of build_adjacency (for warnings' stacklevel).
_USER_FROM_BUILD = 3
#: Default string attributes copied to nodes when present.
_DEFAULT_STR_ATTRS = ("street", "district", "adcode")

#: The stage name that messages start with.
STAGE = "build_adjacency"
#: Relative and absolute padding of the boxes grown by the tolerance, so that a pair at
#: exactly ``tolerance_m`` is never lost to rounding in the box query.
_BOX_PAD_REL = 1e-9
_BOX_PAD_M = 1e-9




def _check_options(rule, boundary_policy, tolerance_m) -> float:
    """The closed option sets and the tolerance, as a float of metres."""
    if rule not in RULES:
        raise ValueError(f"`rule` must be one of {RULES}, got {rule!r}.")
    if boundary_policy not in BOUNDARY_POLICIES:
        raise ValueError(
            f"`boundary_policy` must be one of {BOUNDARY_POLICIES}, got {boundary_policy!r}."
        )
    try:
        tol = float(tolerance_m)
    except (TypeError, ValueError):
        raise ValueError(
            f"`tolerance_m` must be a number of metres >= 0, got {tolerance_m!r}."
        ) from None
    if not math.isfinite(tol) or tol < 0:
        raise ValueError(
            f"`tolerance_m` must be a finite number of metres >= 0, got {tolerance_m!r}."
        )
    return tol



def _warn_ids(message: str, ids, stacklevel: int = _USER_FROM_BUILD + 1) -> None:
    # stacklevel counts from the caller of _warn_ids (1); the default suits helpers that
    # _build calls directly
    warnings.warn(f"{message}: {_short_list(ids)}.", SpatialRenoWarning, stacklevel=stacklevel + 1)


def _short_list(values) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_SHOW_IDS])
    more = f" ... and {len(values) - _SHOW_IDS} more" if len(values) > _SHOW_IDS else ""
    return f"[{shown}{more}]"


def _list_columns(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c != df.geometry.name]
    return ", ".join(map(repr, cols)) or "(none)"
