"""Geometry for display: simplified in metres, in lon/lat (or GCJ-02), as compact GeoJSON.

A layer's data is a list of features ``[geometry, id, values, style, extras]``:
geometry is ``[type, coordinates]`` with type 1 Point, 2 LineString, 3 Polygon,
4 MultiPoint, 5 MultiLineString, 6 MultiPolygon, 7 GeometryCollection, and coordinates
in integer micro-degrees (6 decimals, ≈0.1 m), the first vertex of each ring or line
relative to the layer's ``origin`` and each further vertex relative to the one before
(polygon rings without their closing vertex). ``values`` are display strings aligned
with the layer's ``fields``; ``extras`` holds ``n`` (title), ``k`` (package), ``r``
(circle radius in px) and ``p`` (label point) when present. The runtime
(``static/runtime.js``) decodes it to GeoJSON for ``L.geoJSON``. This is about a third of
the size of GeoJSON features.

>>> from shapely import LineString
>>> from spatialreno.maps.encode import encode
>>> encode(LineString([(114.000001, 30.5), (114.000003, 30.500001)]), (114_000_000, 30_500_000))
[2, [1, 0, 2, 1]]
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely import GeometryType

from .gcj02 import gcj02_xy

__all__ = ["DECIMALS", "SCALE", "Display", "metric", "display_geometry", "encode"]

log = logging.getLogger(__name__)

#: decimals of the coordinates shown (≈ 0.1 m in latitude; display only)
DECIMALS = 6
#: coordinates travel as integers: degrees × SCALE
SCALE = 10**DECIMALS
_WGS84 = 4326

# geometry type → its code in the compact format
_CODE = {"Point": 1, "LineString": 2, "LinearRing": 2, "Polygon": 3, "MultiPoint": 4,
         "MultiLineString": 5, "MultiPolygon": 6}
_COLLECTION = 7


@dataclass(frozen=True)
class Display:
    """The drawable rows of a layer, encoded."""

    rows: np.ndarray  # positions (iloc) of the rows kept
    geoms: list  # encoded geometries
    points: list | None  # encoded label points
    bounds: list[list[float]] | None  # [[south, west], [north, east]]
    metric: gpd.GeoSeries  # kept geometries in metres, before simplification
    origin: tuple[int, int]


def metric(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """The geometries in a projected CRS in metres (themselves when already projected)."""
    if geoms.crs.is_projected:
        return geoms
    return geoms.to_crs(geoms.estimate_utm_crs())


def _to_display(arr: np.ndarray, crs, datum: str) -> np.ndarray:
    out = np.asarray(gpd.GeoSeries(arr, crs=crs).to_crs(_WGS84).values)
    if datum == "gcj02":
        out = shapely.transform(out, gcj02_xy, interleaved=False)
    return out


def _quantise(coords) -> np.ndarray:
    return np.rint(np.asarray(coords, dtype=float)[:, :2] * SCALE).astype(np.int64)


def _line(coords, origin: tuple[int, int], *, ring: bool = False) -> list[int]:
    q = _quantise(coords)
    if ring and len(q) > 1 and (q[0] == q[-1]).all():
        q = q[:-1]
    if not len(q):
        return []
    d = np.empty_like(q)
    d[0] = q[0] - np.asarray(origin, dtype=np.int64)
    d[1:] = q[1:] - q[:-1]
    return d.ravel().tolist()


def _rings(polygon, origin) -> list[list[int]]:
    return [_line(r.coords, origin, ring=True) for r in (polygon.exterior, *polygon.interiors)]


def encode(geom, origin: tuple[int, int]) -> list:
    """One geometry as ``[type code, coordinates]`` (see the module docstring)."""
    kind = geom.geom_type
    code = _CODE.get(kind, _COLLECTION)
    if kind in ("Point", "LineString", "LinearRing"):
        return [code, _line(geom.coords, origin)]
    if kind == "Polygon":
        return [code, _rings(geom, origin)]
    if kind == "MultiPoint":
        return [code, _line(shapely.get_coordinates(geom), origin)]
    if kind == "MultiLineString":
        return [code, [_line(part.coords, origin) for part in geom.geoms]]
    if kind == "MultiPolygon":
        return [code, [_rings(part, origin) for part in geom.geoms]]
    return [code, [encode(part, origin) for part in geom.geoms if not part.is_empty]]


def _bounds_and_origin(shown: np.ndarray) -> tuple[list | None, tuple[int, int]]:
    if not len(shown):
        return None, (0, 0)
    w, s, e, n = shapely.total_bounds(shown)
    if not np.all(np.isfinite([w, s, e, n])):
        return None, (0, 0)
    bounds = [[round(float(s), DECIMALS), round(float(w), DECIMALS)],
              [round(float(n), DECIMALS), round(float(e), DECIMALS)]]
    return bounds, (int(math.floor(w * SCALE)), int(math.floor(s * SCALE)))


def _relative_points(points: np.ndarray, origin: tuple[int, int]) -> list:
    return (_quantise(shapely.get_coordinates(points)) - np.asarray(origin)).tolist()


def _encode_all(shown: np.ndarray, origin: tuple[int, int]) -> list:
    if len(shown) and (shapely.get_type_id(shown) == GeometryType.POINT).all():
        return [[_CODE["Point"], pair] for pair in _relative_points(shown, origin)]  # vectorised
    return [encode(g, origin) for g in shown]


def display_geometry(gdf: gpd.GeoDataFrame, *, datum: str, simplify_m: float,
                     label_points: bool = False) -> Display:
    """The rows of ``gdf`` that have geometry, simplified by ``simplify_m`` metres
    (topology-preserving), shown in WGS84 or shifted to GCJ-02 (``datum``) and encoded,
    with a label point inside each when ``label_points``."""
    geoms = gdf.geometry
    keep = (~(geoms.isna() | geoms.is_empty)).to_numpy()
    if not keep.all():
        log.info("map: %d row(s) without geometry not drawn", int((~keep).sum()))
    kept = metric(geoms[keep])
    arr = np.asarray(kept.values)
    if simplify_m and simplify_m > 0:
        arr = shapely.simplify(arr, simplify_m, preserve_topology=True)
    shown = _to_display(arr, kept.crs, datum)
    bounds, origin = _bounds_and_origin(shown)
    points = None
    if label_points:
        inside = shapely.point_on_surface(np.asarray(kept.values))
        points = _relative_points(_to_display(np.asarray(inside), kept.crs, datum), origin)
    return Display(np.flatnonzero(keep), _encode_all(shown, origin), points, bounds, kept,
                   origin)
