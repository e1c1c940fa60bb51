"""Every input check once: the data contract between stages.

A stage states what it needs of a layer in one call, and gets every problem of that layer
at once, as one :class:`~spatialreno.errors.DataError` listing them all::

    compounds = require_layer(compounds, "compounds", stage="build_adjacency")
    illegal = require_layer(illegal, "illegal", stage="overlay_illegal", crs=compounds.crs)

The same predicates (:func:`crs_problems`, :func:`id_problems`, :func:`geometry_problems`,
:func:`column_problems`) feed :func:`spatialreno.check_layer`, so what a stage refuses is
what ``spatialreno check`` reports. Geometry types are shapely's :class:`shapely.GeometryType`
names, never bare integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import GeometryType

from . import schema
from .errors import CRSError, DataError, SchemaError

__all__ = [
    "GeometryType", "TYPE_NAME", "POLYGONAL", "LINEAL", "PUNTAL", "FAMILIES", "Problem", "type_names",
    "crs_problems", "id_problems", "geometry_problems", "column_problems", "require_layer",
    "require_frame", "short_list",
]

POLYGONAL = (GeometryType.POLYGON, GeometryType.MULTIPOLYGON)
LINEAL = (GeometryType.LINESTRING, GeometryType.LINEARRING, GeometryType.MULTILINESTRING)
PUNTAL = (GeometryType.POINT, GeometryType.MULTIPOINT)

#: geometry family → the types it admits, as the layer kinds need them
FAMILIES: dict[str, tuple[GeometryType, ...]] = {
    "polygon": POLYGONAL,
    "line": LINEAL,
    "point": PUNTAL,
    "point_or_polygon": PUNTAL + POLYGONAL,
    "line_or_polygon": LINEAL + POLYGONAL,
    "any": PUNTAL + LINEAL + POLYGONAL,
}

#: what each layer kind is made of (DESIGN.md, data contracts)
KIND_FAMILY = {"compounds": "polygon", "illegal": "point_or_polygon", "gas": "line",
               "barriers": "line_or_polygon", "admin": "polygon", "roads": "line"}

#: shapely's GeometryType → the name GEOS and GDAL use
TYPE_NAME: dict[GeometryType, str] = {
    GeometryType.MISSING: "missing", GeometryType.POINT: "Point",
    GeometryType.LINESTRING: "LineString", GeometryType.LINEARRING: "LinearRing",
    GeometryType.POLYGON: "Polygon", GeometryType.MULTIPOINT: "MultiPoint",
    GeometryType.MULTILINESTRING: "MultiLineString", GeometryType.MULTIPOLYGON: "MultiPolygon",
    GeometryType.GEOMETRYCOLLECTION: "GeometryCollection",
}
_NAMES = {t.value: n for t, n in TYPE_NAME.items()}


def type_names(geoms) -> np.ndarray:
    """Geometry type names (``"Polygon"``, ``"MultiLineString"``, ``"missing"``) of an array."""
    ids = shapely.get_type_id(np.asarray(geoms, dtype=object))
    return np.array([_NAMES[int(i)] for i in ids], dtype=object).reshape(ids.shape)


def short_list(values, limit: int = 10) -> str:
    """``'a', 'b', … (12 in all)``: a few ids for a message."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


@dataclass(frozen=True)
class Problem:
    """One broken expectation of a layer: what, which rows, how to fix."""

    check: str          # "type", "crs", "units", "ids", "geometry", "columns", "empty"
    message: str
    ids: tuple = ()

    @property
    def is_crs(self) -> bool:
        return self.check in ("crs", "units")


# --------------------------------------------------------------------------------------
# predicates
# --------------------------------------------------------------------------------------
def crs_problems(crs, *, name: str, metric: bool = True, like=None) -> list[Problem]:
    """A missing CRS, a geographic or non-metre CRS where metres are needed, or a CRS that
    differs from ``like`` (the compounds' CRS)."""
    if crs is None:
        return [Problem("crs", f"`{name}` has no CRS; set the one its coordinates are in, e.g. "
                               f"`{name}.set_crs('EPSG:4547')` (CGCS2000 / 3-degree GK CM 114E, "
                               "Wuhan), or `crs=` when reading it.")]
    out = []
    if metric and not crs.is_projected:
        out.append(Problem("crs", f"`{name}` is in geographic CRS {crs.to_string()!r} (degrees); "
                                  "distances need metres: read it with spatialreno.read_layer "
                                  "(which projects lon/lat to its CGCS2000 Gauss-Krüger zone) or "
                                  f"`{name}.to_crs('EPSG:4547')`."))
    elif metric:
        units = {(a.unit_name or "").lower() for a in crs.axis_info[:2]}
        if not units <= {"metre", "meter", "m"}:
            out.append(Problem("units", f"`{name}`'s CRS {crs.to_string()!r} is in "
                                        f"{sorted(units)}, not metres; reproject it to a "
                                        "metric CRS such as EPSG:4547."))
    if like is not None and not crs.equals(like, ignore_axis_order=True):
        out.append(Problem("crs", f"`{name}` is in {crs.to_string()!r} but the compounds are in "
                                  f"{like.to_string()!r}; reproject it with "
                                  f"`{name}.to_crs(compounds.crs)`."))
    return out


def id_problems(index: pd.Index, kind: str, *, name: str) -> list[Problem]:
    """Missing or repeated ids."""
    id_col = schema.ID_COLUMNS.get(kind, "id")
    out = []
    if index.hasnans:
        out.append(Problem("ids", f"`{name}` has {int(index.isna().sum())} row(s) without "
                                  f"{id_col}; give every row an id."))
    dup = index[index.duplicated()].unique()
    if len(dup):
        out.append(Problem("ids", f"{id_col} of `{name}` must be unique; {len(dup)} repeat: "
                                  f"{short_list(dup)}. Run "
                                  f"`spatialreno.repair_layer({name}, {kind!r})` first.",
                           tuple(dup[:10])))
    return out


def geometry_problems(geoms, index: pd.Index, *, name: str, family: str,
                      valid: bool = True) -> list[Problem]:
    """Missing or empty geometry, types outside ``family``, invalid geometry."""
    geoms = np.asarray(geoms, dtype=object)
    allowed = FAMILIES[family]
    out = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        out.append(Problem("geometry", f"{int(missing.sum())} row(s) of `{name}` have a missing "
                                       f"or empty geometry: {short_list(index[missing])}; drop "
                                       "them or run `spatialreno.repair_layer`.",
                           tuple(index[missing][:10])))
    types = shapely.get_type_id(geoms)
    bad = ~missing & ~np.isin(types, [t.value for t in allowed])
    if bad.any():
        found = sorted(set(type_names(geoms[bad]).tolist()))
        want = ", ".join(TYPE_NAME[t] for t in allowed)
        out.append(Problem("geometry", f"`{name}` must hold {want}; {int(bad.sum())} row(s) are "
                                       f"{', '.join(found)}: {short_list(index[bad])}.",
                           tuple(index[bad][:10])))
    if valid:
        ok = ~missing & ~bad
        invalid = np.zeros(len(geoms), dtype=bool)
        if ok.any():
            invalid[ok] = ~shapely.is_valid(geoms[ok])
        if invalid.any():
            first = int(np.flatnonzero(invalid)[0])
            reason = shapely.is_valid_reason(geoms[first])
            out.append(Problem("geometry", f"{int(invalid.sum())} row(s) of `{name}` have invalid "
                                           f"geometry: {short_list(index[invalid])}; e.g. "
                                           f"{index[first]!r}: {reason}. Repair them with "
                                           "`spatialreno.repair_layer`.",
                               tuple(index[invalid][:10])))
    return out


def column_problems(frame: pd.DataFrame, columns: Iterable[str], *, name: str,
                    stage: str | None = None) -> list[Problem]:
    """Required columns that are absent."""
    absent = [c for c in columns if c not in frame.columns]
    if not absent:
        return []
    return [Problem("columns", f"`{name}` has no column {', '.join(map(repr, absent))}"
                               + (f" (needed by {stage})" if stage else "")
                               + f"; it has {short_list(frame.columns, 20) or 'none'}.")]


# --------------------------------------------------------------------------------------
# require
# --------------------------------------------------------------------------------------
def _raise(problems: Sequence[Problem], *, stage: str, name: str) -> None:
    if not problems:
        return
    if all(p.is_crs for p in problems):
        cls = CRSError
    elif all(p.check == "columns" for p in problems):
        cls = SchemaError
    else:
        cls = DataError
    if len(problems) == 1:
        raise cls(f"{stage}: {problems[0].message}")
    lines = "\n".join(f"  - {p.message}" for p in problems)
    raise cls(f"{stage}: `{name}` has {len(problems)} problems:\n{lines}")


def require_layer(gdf, kind: str, *, stage: str, name: str | None = None, crs=None,
                  metric: bool = True, family: str | None = None,
                  columns: Iterable[str] = (), valid: bool = True,
                  allow_empty: bool = True) -> gpd.GeoDataFrame:
    """``gdf`` as a GeoDataFrame that meets the contract of ``kind`` for ``stage``.

    Collects every problem (type, CRS and units, CRS equal to ``crs`` when given, ids,
    geometry types of the kind's family, validity, required ``columns``, emptiness) and
    raises once: :class:`CRSError` when all are CRS problems, :class:`SchemaError` when all
    are missing columns, else :class:`DataError`; the message lists them all.
    A GeoSeries is accepted as a GeoDataFrame without columns.
    """
    name = name or kind
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gdf.to_frame()
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataError(f"{stage}: `{name}` must be a GeoDataFrame indexed by "
                        f"{schema.ID_COLUMNS.get(kind, 'its id')!r}, got {type(gdf).__name__}; "
                        "read it with spatialreno.read_layer(...).")
    problems: list[Problem] = []
    if not allow_empty and len(gdf) == 0:
        problems.append(Problem("empty", f"`{name}` has no rows; expected at least one "
                                         f"{kind} feature."))
    problems += crs_problems(gdf.crs, name=name, metric=metric, like=crs)
    problems += id_problems(gdf.index, kind, name=name)
    problems += geometry_problems(gdf.geometry.array, gdf.index, name=name,
                                  family=family or KIND_FAMILY.get(kind, "any"), valid=valid)
    problems += column_problems(gdf, columns, name=name)
    _raise(problems, stage=stage, name=name)
    return gdf


def require_frame(frame, kind: str, *, stage: str, name: str | None = None,
                  columns: Iterable[str] = ()) -> pd.DataFrame:
    """A (Geo)DataFrame with unique ids and the required ``columns`` (no geometry checks)."""
    name = name or kind
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{stage}: `{name}` must be a DataFrame or GeoDataFrame, got "
                        f"{type(frame).__name__}.")
    problems = id_problems(frame.index, kind, name=name)
    problems += column_problems(frame, columns, name=name)
    _raise(problems, stage=stage, name=name)
    return frame
