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
    "GeometryType", "TYPE_NAME", "POLYGONAL", "LINEAL", "PUNTAL", "FAMILIES", "KIND_TYPES",
    "Problem", "GeometryRows", "type_names", "allowed_types", "geometry_rows", "id_rows",
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

#: the geometry types each layer kind takes, from :data:`spatialreno.schema.GEOMETRY_TYPES`
#: (the schema names them once; this is the same table as shapely types)
KIND_TYPES: dict[str, tuple[GeometryType, ...]] = {
    kind: tuple(GeometryType[name.upper()] for name in names)
    for kind, names in schema.GEOMETRY_TYPES.items()
}

#: shapely's GeometryType → the name GEOS and GDAL use
TYPE_NAME: dict[GeometryType, str] = {
    GeometryType.MISSING: "missing", GeometryType.POINT: "Point",
    GeometryType.LINESTRING: "LineString", GeometryType.LINEARRING: "LinearRing",
    GeometryType.POLYGON: "Polygon", GeometryType.MULTIPOINT: "MultiPoint",
    GeometryType.MULTILINESTRING: "MultiLineString", GeometryType.MULTIPOLYGON: "MultiPolygon",
    GeometryType.GEOMETRYCOLLECTION: "GeometryCollection",
}
#: the names as an array indexed by type id + 1 (MISSING is -1)
_NAMES = np.array([TYPE_NAME[GeometryType(i)] for i in range(-1, 8)], dtype=object)


def type_names(geoms) -> np.ndarray:
    """Geometry type names (``"Polygon"``, ``"MultiLineString"``, ``"missing"``) of an array."""
    ids = shapely.get_type_id(np.asarray(geoms, dtype=object))
    return _NAMES[np.asarray(ids) + 1]


def allowed_types(kind: str, family: str | None = None) -> tuple[GeometryType, ...]:
    """The geometry types a layer of ``kind`` takes, or those of ``family`` when given.

    >>> from spatialreno._contracts import allowed_types
    >>> [t.name for t in allowed_types("gas")]
    ['LINESTRING', 'MULTILINESTRING']
    >>> [t.name for t in allowed_types("gas", "point")]
    ['POINT', 'MULTIPOINT']
    """
    if family is not None:
        return FAMILIES[family]
    return KIND_TYPES.get(kind, FAMILIES[KIND_FAMILY.get(kind, "any")])


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
    #: a short name of the problem for tables (``"no CRS"``, ``"geographic CRS"``, ...)
    label: str = ""

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
                               "Wuhan), or `crs=` when reading it.", label="no CRS")]
    out = []
    if metric and not crs.is_projected:
        out.append(Problem("crs", f"`{name}` is in geographic CRS {crs.to_string()!r} (degrees); "
                                  "distances need metres: read it with spatialreno.read_layer "
                                  "(which projects lon/lat to its CGCS2000 Gauss-Krüger zone) or "
                                  f"`{name}.to_crs('EPSG:4547')`.", label="geographic CRS"))
    elif metric:
        units = {(a.unit_name or "").lower() for a in crs.axis_info[:2]}
        if not units <= {"metre", "meter", "m"}:
            out.append(Problem("units", f"`{name}`'s CRS {crs.to_string()!r} is in "
                                        f"{sorted(units)}, not metres; reproject it to a "
                                        "metric CRS such as EPSG:4547.", label="CRS not in metres"))
    if like is not None and not crs.equals(like, ignore_axis_order=True):
        out.append(Problem("crs", f"`{name}` is in {crs.to_string()!r} but the compounds are in "
                                  f"{like.to_string()!r}; reproject it with "
                                  f"`{name}.to_crs(compounds.crs)`.", label="CRS differs"))
    return out


def id_rows(index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Row masks ``(missing, repeated)``: ids that are missing or blank, and ids that more
    than one row carries (every such row, the first included)."""
    missing = np.asarray(index.isna())
    if index.dtype == object or pd.api.types.is_string_dtype(index.dtype):
        text = pd.Series(index, copy=False).str.strip()  # non-text ids give NaN here
        missing = missing | text.eq("").to_numpy(dtype=bool)
    repeated = np.asarray(index.duplicated(keep=False)) & ~missing
    return missing, repeated


def id_problems(index: pd.Index, kind: str, *, name: str) -> list[Problem]:
    """Missing (or blank) and repeated ids."""
    id_col = schema.ID_COLUMNS.get(kind, "id")
    missing, repeated = id_rows(index)
    out = []
    if missing.any():
        out.append(Problem("ids", f"`{name}` has {int(missing.sum())} row(s) without "
                                  f"{id_col}; give every row an id.", label="missing id"))
    dup = index[repeated].unique()
    if len(dup):
        out.append(Problem("ids", f"{id_col} of `{name}` must be unique; {len(dup)} repeat: "
                                  f"{short_list(dup)}. Run "
                                  f"`spatialreno.repair_layer({name}, {kind!r})` first.",
                           tuple(dup[:10]), label="duplicate id"))
    return out


@dataclass(frozen=True)
class GeometryRows:
    """Row masks of a geometry array checked against the types a layer takes.

    ``missing`` (None), ``empty``, ``wrong_type`` (present but not an allowed type) and
    ``invalid`` (present and not valid, whatever its type); ``type_name`` per row (None
    when missing or empty) and ``reason`` (shapely's ``is_valid_reason`` where invalid).
    """

    missing: np.ndarray
    empty: np.ndarray
    wrong_type: np.ndarray
    invalid: np.ndarray
    type_name: np.ndarray
    reason: np.ndarray

    @property
    def present(self) -> np.ndarray:
        return ~self.missing & ~self.empty


def geometry_rows(geoms, allowed: Sequence[GeometryType], *, valid: bool = True) -> GeometryRows:
    """Check every geometry of ``geoms`` against the ``allowed`` types (and validity)."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    present = ~missing & ~empty
    names = np.full(len(geoms), None, dtype=object)
    names[present] = type_names(geoms[present])
    types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, [t.value for t in allowed])
    reason = np.full(len(geoms), None, dtype=object)
    invalid = np.zeros(len(geoms), dtype=bool)
    if valid and present.any():
        invalid[present] = ~shapely.is_valid(geoms[present])
        if invalid.any():
            reason[invalid] = shapely.is_valid_reason(geoms[invalid])
    return GeometryRows(missing, empty, wrong, invalid, names, reason)


def geometry_problems(geoms, index: pd.Index, *, name: str, family: str | None = None,
                      valid: bool = True, allowed: Sequence[GeometryType] | None = None,
                      allow_missing: bool = False) -> list[Problem]:
    """Missing or empty geometry (unless ``allow_missing``), types outside ``allowed`` (or
    ``family``), invalid geometry."""
    if allowed is None:
        allowed = FAMILIES[family or "any"]
    rows = geometry_rows(geoms, allowed, valid=valid)
    out = []
    gone = rows.missing | rows.empty
    if gone.any() and not allow_missing:
        out.append(Problem("geometry", f"{int(gone.sum())} row(s) of `{name}` have a missing "
                                       f"or empty geometry: {short_list(index[gone])}; drop "
                                       "them or run `spatialreno.repair_layer`.",
                           tuple(index[gone][:10]), label="missing geometry"))
    bad = rows.wrong_type
    if bad.any():
        found = sorted(set(rows.type_name[bad].tolist()))
        want = ", ".join(TYPE_NAME[t] for t in allowed)
        out.append(Problem("geometry", f"`{name}` must hold {want}; {int(bad.sum())} row(s) are "
                                       f"{', '.join(found)}: {short_list(index[bad])}.",
                           tuple(index[bad][:10]), label="wrong geometry type"))
    invalid = rows.invalid & ~bad
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        out.append(Problem("geometry", f"{int(invalid.sum())} row(s) of `{name}` have invalid "
                                       f"geometry: {short_list(index[invalid])}; e.g. "
                                       f"{index[first]!r}: {rows.reason[first]}. Repair them "
                                       "with `spatialreno.repair_layer`.",
                           tuple(index[invalid][:10]), label="invalid geometry"))
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
                  allow_empty: bool = True, allowed: Sequence[GeometryType] | None = None,
                  allow_missing: bool = False, ids: bool = True) -> gpd.GeoDataFrame:
    """``gdf`` as a GeoDataFrame that meets the contract of ``kind`` for ``stage``.

    Collects every problem (type, CRS and units, CRS equal to ``crs`` when given, ids,
    geometry types of the kind's family, validity, required ``columns``, emptiness) and
    raises once: :class:`CRSError` when all are CRS problems, :class:`SchemaError` when all
    are missing columns, else :class:`DataError`; the message lists them all.
    A GeoSeries is accepted as a GeoDataFrame without columns.

    The geometry types are those of ``kind`` (:data:`KIND_TYPES`), of ``family`` when
    given, or exactly ``allowed``. ``allow_missing=True`` lets rows without geometry pass
    (the stage skips them); ``ids=False`` skips the id checks (a layer whose rows are never
    named, such as barriers given as a GeoSeries).

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import Point, box
    >>> from spatialreno._contracts import require_layer
    >>> g = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), Point(0, 0)],
    ...                      index=pd.Index(["a", "a"], name="compound_id"))
    >>> require_layer(g, "compounds", stage="demo")
    Traceback (most recent call last):
    ...
    spatialreno.errors.DataError: demo: `compounds` has 3 problems:
      - `compounds` has no CRS; set the one its coordinates are in, e.g. `compounds.set_crs('EPSG:4547')` (CGCS2000 / 3-degree GK CM 114E, Wuhan), or `crs=` when reading it.
      - compound_id of `compounds` must be unique; 1 repeat: 'a'. Run `spatialreno.repair_layer(compounds, 'compounds')` first.
      - `compounds` must hold Polygon, MultiPolygon; 1 row(s) are Point: 'a'.
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
    if ids:
        problems += id_problems(gdf.index, kind, name=name)
    problems += geometry_problems(gdf.geometry.array, gdf.index, name=name, valid=valid,
                                  allowed=allowed or allowed_types(kind, family),
                                  allow_missing=allow_missing)
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
