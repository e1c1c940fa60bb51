"""Fire lanes (消防车道): which structures leave less than the clear width a fire engine needs."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from .._contracts import LINEAL, POLYGONAL, PUNTAL, allowed_types, require_layer
from ..errors import ConfigError, SpatialRenoWarning
from ._join import (
    ROWS_MAY_FAIL,
    codes,
    first_per_group,
    flag,
    int_array,
    isin,
    numbers,
    row_reasons,
    type_is,
)
from .rules import as_codes

__all__ = ["flag_fire_lanes", "MIN_CLEAR_M", "POINT_FOOTPRINT_M"]

STAGE = "flag_fire_lanes"
#: clear width a fire lane must keep (GB 50016, DOMAIN.md §7.3), metres
MIN_CLEAR_M = 4.0
#: the footprint a point structure stands for, set against one edge of the lane, metres
POINT_FOOTPRINT_M = 1.0


def flag_fire_lanes(
    illegal: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    min_clear_m: float = MIN_CLEAR_M,
    point_footprint_m: float = POINT_FOOTPRINT_M,
    ignore_status: Sequence[str] = ("demolished",),
) -> gpd.GeoDataFrame:
    """Flag the structures that block a fire lane (消防车道, clear width ≥ 4 m, DOMAIN.md §7.3).

    The corridor of a road is its centreline buffered by ``width_m / 2`` (flat ends).
    Fire lanes are the roads with ``is_fire_lane == 1``, or all roads when the column is
    missing; roads without a width are skipped (and listed in a warning).

    * A polygon structure whose footprint overlaps a corridor (positive area) leaves a
      clear width equal to the larger of its distances to the corridor's two edges
      (``offset_curve`` of the centreline by ± width/2): intruding from one side by d
      leaves width − d, standing in the middle leaves the wider side.
    * A point structure within a corridor stands for a footprint of
      ``point_footprint_m`` (1 m) set against one edge: it leaves width − 1 m.

    A structure blocks (``blocks_fire_lane = 1``) when, in some corridor, the clear width
    left is below ``min_clear_m``; on a road narrower than 4 m anything in the corridor
    blocks. Structures whose status is in ``ignore_status`` (demolished) do not block.

    Parameters
    ----------
    illegal : GeoDataFrame
        Structures (Point or Polygon), projected CRS.
    roads : GeoDataFrame
        Road centrelines in the same CRS with ``width_m`` and optionally ``is_fire_lane``.
    min_clear_m : float, default 4.0
    point_footprint_m : float, default 1.0
    ignore_status : sequence of str, default ("demolished",)

    Returns
    -------
    GeoDataFrame
        Copy of ``illegal`` with ``blocks_fire_lane`` (Int64 0/1; NA for unusable
        geometry), ``fire_lane_road_id`` (the road with the least clear width) and
        ``fire_lane_clear_m`` (that width; NaN when in no corridor).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box, LineString, Point
    >>> from spatialreno.overlay import flag_fire_lanes
    >>> roads = gpd.GeoDataFrame({"width_m": [6.0], "is_fire_lane": [1]},
    ...     geometry=[LineString([(0, 0), (100, 0)])], index=["r1"], crs=4547)
    >>> illegal = gpd.GeoDataFrame(geometry=[box(10, 0, 15, 5), box(40, 2.5, 45, 9), Point(70, 0)],
    ...     index=["deep", "shallow", "point"], crs=4547)
    >>> flag_fire_lanes(illegal, roads)[["blocks_fire_lane", "fire_lane_clear_m"]]  # doctest: +NORMALIZE_WHITESPACE
                  blocks_fire_lane  fire_lane_clear_m
    structure_id
    deep                         1                3.0
    shallow                      0                5.5
    point                        0                5.0
    """
    illegal = require_layer(illegal, "illegal", stage=STAGE, **ROWS_MAY_FAIL)
    roads = require_layer(roads, "roads", stage=STAGE, crs=illegal.crs, columns=("width_m",),
                          **ROWS_MAY_FAIL)
    for name, v in (("min_clear_m", min_clear_m), ("point_footprint_m", point_footprint_m)):
        if not (float(v) >= 0):
            raise ConfigError(f"{STAGE}: {name} must be ≥ 0 metres, got {v!r}.")
    lanes = _Lanes.of(roads)
    usable, active = _active_structures(illegal, ignore_status)
    clear, road = _least_clear_width(illegal, active, lanes, float(point_footprint_m))
    out = illegal.copy()
    out.index.name = schema.ID_COLUMNS["illegal"]
    out["blocks_fire_lane"] = int_array(np.where(usable, clear < float(min_clear_m), np.nan))
    out["fire_lane_road_id"] = np.where(road >= 0, lanes.ids[np.maximum(road, 0)], None) \
        if len(lanes.ids) else np.full(len(out), None, dtype=object)
    out["fire_lane_clear_m"] = np.where(np.isfinite(clear), clear, np.nan)
    return out


@dataclass(frozen=True)
class _Lanes:
    """The fire lanes with a width: positions into the roads, centrelines, corridors
    (buffered by half the width, flat ends) and the corridors' two edges."""

    ids: np.ndarray
    idx: np.ndarray
    width: np.ndarray
    corridor: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @classmethod
    def of(cls, roads: gpd.GeoDataFrame) -> _Lanes:
        width = numbers(roads, "width_m")
        geoms = np.asarray(roads.geometry.array, dtype=object)
        lane = pd.isna(row_reasons(geoms, LINEAL, "roads"))
        if "is_fire_lane" in roads:
            lane &= flag(roads, "is_fire_lane")
        no_width = lane & ~(width > 0)
        if no_width.any():
            ids = roads.index[no_width][:5].tolist()
            warnings.warn(f"{STAGE}: {int(no_width.sum())} fire lane(s) have no width_m and were "
                          f"skipped, e.g. {ids}.", SpatialRenoWarning, stacklevel=3)
        idx = np.flatnonzero(lane & (width > 0))
        half = width[idx] / 2
        centre = geoms[idx]
        return cls(ids=np.asarray(roads.index.astype(object), dtype=object), idx=idx,
                   width=width[idx], corridor=shapely.buffer(centre, half, cap_style="flat"),
                   left=shapely.offset_curve(centre, half),
                   right=shapely.offset_curve(centre, -half))


def _active_structures(illegal: gpd.GeoDataFrame, ignore_status) -> tuple[np.ndarray, np.ndarray]:
    """(usable geometry, usable and not of an ignored status) per structure."""
    geoms = np.asarray(illegal.geometry.array, dtype=object)
    usable = pd.isna(row_reasons(geoms, allowed_types("illegal"), "illegal"))
    status = codes(illegal, "status", "illegal_status", "to_verify", stage=STAGE, stacklevel=3)
    ignore = as_codes(tuple(ignore_status), "illegal_status", STAGE) or ()
    return usable, usable & ~isin(status, ignore)


def _least_clear_width(illegal: gpd.GeoDataFrame, active: np.ndarray, lanes: _Lanes,
                       point_footprint_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Per structure: the least clear width it leaves in any corridor (inf: in none) and
    that road's position in the roads (-1: none)."""
    n = len(illegal)
    best = np.full(n, np.inf)
    best_road = np.full(n, -1, dtype=np.int64)
    if not len(lanes.idx) or not active.any():
        return best, best_road
    geoms = np.asarray(illegal.geometry.array, dtype=object)
    tree = shapely.STRtree(lanes.corridor)
    found = []
    polys = np.flatnonzero(active & type_is(geoms, POLYGONAL))
    if len(polys):
        a, b = tree.query(geoms[polys])
        piece = shapely.intersection(geoms[polys[a]], lanes.corridor[b])
        real = shapely.area(piece) > 0
        a, b, piece = a[real], b[real], piece[real]
        clear = np.maximum(shapely.distance(piece, lanes.left[b]),
                           shapely.distance(piece, lanes.right[b]))
        found.append((polys[a], b, np.minimum(clear, lanes.width[b])))
    pts = np.flatnonzero(active & type_is(geoms, PUNTAL))
    if len(pts):
        a, b = tree.query(geoms[pts])
        hit = shapely.intersects(lanes.corridor[b], geoms[pts[a]])
        a, b = a[hit], b[hit]
        found.append((pts[a], b, np.maximum(lanes.width[b] - point_footprint_m, 0.0)))
    if found:
        s, r, c = (np.concatenate(x) for x in zip(*found, strict=True))
        if len(s):
            pick = first_per_group(s, c, r)
            best[s[pick]] = c[pick]
            best_road[s[pick]] = lanes.idx[r[pick]]
    return best, best_road
