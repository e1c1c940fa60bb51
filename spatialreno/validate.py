"""Check a layer against its data contract, and repair it with one audit row per change.

:func:`check_layer` changes nothing and returns a table of problems (id, row, problem,
detail from shapely). :func:`repair_layer` returns the repaired layer and an audit table:
every input row is either in the output or named in the audit with the reason it left,
and every changed value or geometry has an audit row.

The audit table has the columns ``layer, id, row, action, detail``; ``row`` is the
0-based position in the input, so rows whose id is missing or duplicated can still be
found in the source file.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import schema
from ._contracts import (
    LINEAL,
    POLYGONAL,
    PUNTAL,
    TYPE_NAME,
    GeometryType,
    allowed_types,
    crs_problems,
    geometry_rows,
    id_rows,
    type_names,
)
from .errors import DataError

__all__ = ["check_layer", "repair_layer", "PROBLEM_COLUMNS", "AUDIT_COLUMNS", "MAX_PLAUSIBLE"]

PROBLEM_COLUMNS = ["id", "row", "problem", "detail"]
AUDIT_COLUMNS = ["layer", "id", "row", "action", "detail"]

#: geometry families by type name, as repair keeps the parts of a layer's family
_POLYGONAL = frozenset(TYPE_NAME[t] for t in POLYGONAL)
_LINEAR = frozenset(TYPE_NAME[t] for t in LINEAL)
_PUNTAL = frozenset(TYPE_NAME[t] for t in PUNTAL)
#: the largest magnitude a number in a layer may have: no count, area, length or cost of a
#: compound comes near it, and sums of values beyond it overflow to inf
MAX_PLAUSIBLE = 1e12
#: the earliest plausible build or install year
FIRST_YEAR = 1900
#: what a layer's rows are, for messages ("no usable compound polygons")
_WHAT = {"compounds": "compound polygons", "illegal": "illegal-structure points or polygons",
         "gas": "gas pipe lines", "barriers": "barrier lines or polygons", "admin": "admin polygons",
         "roads": "road lines", "packages": "package polygons"}


#: shapely type ids of single-part geometries (what collections are flattened to)
_SINGLE_PART_IDS = tuple(t.value for t in (GeometryType.POINT, GeometryType.LINESTRING,
                                            GeometryType.LINEARRING, GeometryType.POLYGON))


#: "the row's own id" for :meth:`_Repair.note`
_SAME = object()


def _check_kind(kind: str) -> None:
    if kind not in schema.LAYERS:
        raise ValueError(f"kind must be one of {', '.join(schema.LAYERS)}, got {kind!r}")


def _ids(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(gdf.index.astype("object"), dtype=object)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def _numeric_columns(gdf: pd.DataFrame, kind: str) -> list[schema.Column]:
    return [c for c in schema.columns(kind).values() if c.dtype in ("int", "float") and c.name in gdf]


def _source(gdf: gpd.GeoDataFrame, kind: str) -> str:
    return str(gdf.attrs.get("source") or f"{kind} layer")


def _no_usable(gdf: gpd.GeoDataFrame, kind: str, reasons: Counter) -> str:
    """``<file>: no usable compound polygons: 3 rows, 2 empty geometry, 1 Point; expected ...``"""
    allowed = schema.GEOMETRY_TYPES[kind]
    parts = "".join(f", {k} {r}" for r, k in reasons.most_common())
    return (f"{_source(gdf, kind)}: no usable {_WHAT.get(kind, kind + ' rows')}: {len(gdf)} rows"
            f"{parts}; expected {' or '.join(allowed)} geometries — is it the right file and "
            "layer, and the right kind?")


def _implausible(num: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Masks of values that are ±inf, and of finite values beyond ±MAX_PLAUSIBLE."""
    arr = num.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return np.isinf(arr), np.isfinite(arr) & (np.abs(arr) > MAX_PLAUSIBLE)


def _nonfinite_message(gdf: gpd.GeoDataFrame, kind: str) -> str | None:
    """One line naming every column and row whose number is inf or implausibly large."""
    ids = _ids(gdf)
    parts: list[str] = []
    for col in _numeric_columns(gdf, kind):
        raw = gdf[col.name]
        num = pd.to_numeric(raw, errors="coerce")
        inf, huge = _implausible(num)
        bad = np.flatnonzero(inf | huge)
        if len(bad):
            shown = ", ".join(f"{ids[i]!r} (row {i}) = {num.iloc[i]:g}" for i in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            parts.append(f"{col.name} ({col.zh}) in {len(bad)} row(s): {shown}{more}")
    if not parts:
        return None
    return (f"{_source(gdf, kind)}: numbers that are not finite or beyond ±{MAX_PLAUSIBLE:g} (they "
            f"would overflow every sum and cost): {'; '.join(parts)}. Fix them in the source "
            "file; leave a cell empty for 'unknown'")


def check_layer(gdf: gpd.GeoDataFrame, kind: str, *, as_of_year: int | None = None) -> pd.DataFrame:
    """Report every contract problem of a layer; change nothing.

    Checked: CRS present, projected and in metres; geometry missing, empty, invalid (with
    shapely's reason, e.g. ``Self-intersection[3 5]``), or of a type the layer does not
    take; missing and duplicate ids; non-numeric, non-finite (``inf``), implausibly large
    (beyond ±1e12) and negative values in numeric columns; build and install years outside
    1900–``as_of_year`` (the plan's as-of year; the current year when None, so pass it for a
    report that does not change on 1 January); coordinates the CRS cannot hold (:func:`spatialreno.io.check_coordinates`: lon/lat
    degrees in EPSG:4547, metres in EPSG:4326, 1e15, inf); an empty layer, or one where no
    row has a geometry the layer takes. The CRS, id and geometry checks are the predicates
    of :mod:`spatialreno._contracts`, which every stage's input check uses too.

    Returns
    -------
    DataFrame with columns ``id, row, problem, detail`` (empty when the layer is clean).

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import Point, box
    >>> import spatialreno as sr
    >>> x, y = 521_000, 3_378_500  # Hanyang, in EPSG:4547 metres
    >>> g = gpd.GeoDataFrame({"households": [10, -2]},
    ...                      geometry=[box(x, y, x + 90, y + 90), Point(x, y)],
    ...                      index=pd.Index(["a", "a"], name="compound_id"), crs="EPSG:4547")
    >>> sr.check_layer(g, "compounds")[["id", "row", "problem"]]
      id  row              problem
    0  a    0         duplicate id
    1  a    1         duplicate id
    2  a    1       negative value
    3  a    1  wrong geometry type
    """
    _check_kind(kind)
    report = _Report(_ids(gdf))
    _check_crs(report, gdf, kind)
    if len(gdf) == 0:
        report.add(None, "empty layer", f"no rows; expected {_WHAT.get(kind, kind)}")
    _check_geometry(report, gdf, kind)
    _check_ids(report, gdf, kind)
    last_year = _dt.date.today().year if as_of_year is None else int(as_of_year)
    for col in _numeric_columns(gdf, kind):
        _check_numbers(report, gdf[col.name], col, last_year)
    out = _frame(report.rows, PROBLEM_COLUMNS)
    return out.sort_values(["row", "problem"], na_position="first", kind="stable").reset_index(drop=True)


@dataclass
class _Report:
    """The rows of a :func:`check_layer` table, collected check by check."""

    ids: np.ndarray
    rows: list[dict] = field(default_factory=list)

    def add(self, i, problem: str, detail: str, *, with_id: bool = True) -> None:
        """One problem of row ``i`` (``None``: of the whole layer)."""
        ident = self.ids[i] if i is not None and with_id else None
        self.rows.append({"id": ident, "row": None if i is None else int(i),
                          "problem": problem, "detail": detail})


def _check_crs(report: _Report, gdf: gpd.GeoDataFrame, kind: str) -> None:
    for p in crs_problems(gdf.crs, name=_source(gdf, kind)):
        report.add(None, p.label, p.message)
    if gdf.crs is None or not len(gdf):
        return
    from .io import check_coordinates

    coord = check_coordinates(gdf, source=_source(gdf, kind))
    if coord is None:
        return
    if coord.whole_layer and coord.problem != "non-finite coordinates":
        report.add(None, coord.problem, coord.message)
    else:
        for i in coord.rows:
            report.add(i, coord.problem, coord.message)


def _check_geometry(report: _Report, gdf: gpd.GeoDataFrame, kind: str) -> None:
    allowed = allowed_types(kind)
    rows = geometry_rows(gdf.geometry.array, allowed)
    for i in np.flatnonzero(rows.missing):
        report.add(i, "missing geometry", "")
    for i in np.flatnonzero(rows.empty):
        report.add(i, "empty geometry", "")
    takes = ", ".join(TYPE_NAME[t] for t in allowed)
    for i in np.flatnonzero(rows.present):
        if rows.wrong_type[i]:
            report.add(i, "wrong geometry type", f"{rows.type_name[i]}; {kind} takes {takes}")
        if rows.invalid[i]:
            report.add(i, "invalid geometry", str(rows.reason[i]))
    unusable = Counter({"missing geometry": int(rows.missing.sum()),
                        "empty geometry": int(rows.empty.sum())})
    unusable.update(rows.type_name[rows.wrong_type].tolist())
    if len(gdf) and sum(unusable.values()) == len(gdf):
        report.add(None, "no usable geometry", _no_usable(gdf, kind, +unusable))


def _check_ids(report: _Report, gdf: gpd.GeoDataFrame, kind: str) -> None:
    id_col = schema.ID_COLUMNS[kind]
    missing, repeated = id_rows(gdf.index)
    for i in np.flatnonzero(missing):
        report.add(i, "missing id", f"{id_col} is empty", with_id=False)
    counts = pd.Series(report.ids[repeated]).value_counts()
    for i in np.flatnonzero(repeated):
        ident = report.ids[i]
        report.add(i, "duplicate id", f"{counts[ident]} rows share {id_col} {ident!r}")


def _check_numbers(report: _Report, raw: pd.Series, col: schema.Column, last_year: int) -> None:
    num = pd.to_numeric(raw, errors="coerce")
    what = f"{col.name} ({col.zh})"
    for i in np.flatnonzero((num.isna() & raw.notna()).to_numpy()):
        report.add(i, "not a number", f"{what} = {raw.iloc[i]!r}")
    inf, huge = _implausible(num)
    for i in np.flatnonzero(inf):
        report.add(i, "not a finite number", f"{what} = {raw.iloc[i]!r}")
    for i in np.flatnonzero(huge):
        report.add(i, "implausibly large", f"{what} = {num.iloc[i]:g}; beyond "
                                           f"±{MAX_PLAUSIBLE:g} no value is real, and sums overflow")
    neg = (num < 0).fillna(False).to_numpy(dtype=bool) & ~inf & ~huge
    for i in np.flatnonzero(neg):
        report.add(i, "negative value", f"{what} = {num.iloc[i]}")
    if col.name in ("build_year", "install_year"):
        year = last_year
        out = ((num < FIRST_YEAR) | (num > year)).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(out):
            report.add(i, "year out of range", f"{col.name} = {num.iloc[i]:g}; expected {FIRST_YEAR}–{year}")


def _keep_family(geoms: np.ndarray, family: set[str]) -> np.ndarray:
    """Keep only the parts of each geometry in ``family`` (vectorised); None when nothing is left."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # collections may hold multi-geometries or further collections: flatten to single parts
    for _ in range(4):
        multi = ~np.isin(shapely.get_type_id(parts), _SINGLE_PART_IDS)
        if not multi.any():
            break
        sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        idx = np.concatenate([idx[~multi], idx[multi][sub_idx]])
    names = type_names(parts)
    keep = np.isin(names, list(family)) & ~shapely.is_empty(parts)
    parts, idx = parts[keep], idx[keep]
    out = np.full(len(geoms), None, dtype=object)
    if len(parts) == 0:
        return out
    order = np.argsort(idx, kind="stable")
    parts, idx = parts[order], idx[order]
    has, dense = np.unique(idx, return_inverse=True)
    if family == _POLYGONAL:
        merged = shapely.multipolygons(parts, indices=dense)
        overlapping = ~shapely.is_valid(merged)
        if overlapping.any():  # parts of a collection may overlap: their union is the polygon
            merged[overlapping] = shapely.make_valid(merged[overlapping], method="structure")
    elif family <= _LINEAR:
        merged = shapely.multilinestrings(parts, indices=dense)
    else:
        merged = shapely.multipoints(parts, indices=dense)
    # single parts back to simple geometries
    counts = np.bincount(dense)
    simple = shapely.get_geometry(merged, 0)
    out[has] = np.where(counts == 1, simple, merged)
    return out


def repair_layer(gdf: gpd.GeoDataFrame, kind: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Make a layer meet its contract, with one audit row per change.

    * invalid geometry → ``shapely.make_valid(method="structure")``, keeping only the parts
      of the layer's geometry family (polygonal parts for compounds, line parts for gas);
    * missing or empty geometry, or nothing of the right family left → row dropped;
    * a geometry of a type the layer does not take (a line among compounds) → dropped;
    * missing ids → ``row-<n>``; duplicate ids → the first keeps it, the others get
      ``<id>-2``, ``<id>-3``, ...;
    * an invalid geometry that ``make_valid`` reduces to nothing (a zero-area polygon) →
      dropped as "empty geometry";
    * numeric columns coerced: a value that is not a number, or a negative count or area,
      becomes empty (NA).

    Returns
    -------
    (repaired, audit) : the repaired copy (with a boolean ``repaired`` column) and the audit
    table (``layer, id, row, action, detail``). Every input row is in ``repaired`` or has a
    ``dropped`` row in ``audit``.

    Raises
    ------
    DataError : before any change, when a numeric column holds ``inf`` or a value beyond
        ±1e12 (named by column, id and row: such a number is an error in the source, not
        something to guess); after repair, when nothing usable is left of a compounds layer
        (an empty layer, all rows dropped, points given as compounds) or of any other layer
        that had rows ("no usable compound polygons: 3 rows, 3 Point; expected ...").
    """
    _check_kind(kind)
    bad_numbers = _nonfinite_message(gdf, kind)
    if bad_numbers is not None:
        raise DataError(bad_numbers)
    rep = _Repair.start(gdf, kind)
    _drop_missing_geometry(rep)
    _make_valid(rep)
    _keep_allowed_parts(rep)
    out = gdf.set_geometry(gpd.GeoSeries(rep.geoms, index=gdf.index, crs=gdf.crs))
    out.index = pd.Index(_repair_ids(rep), name=schema.ID_COLUMNS[kind])
    for col in _numeric_columns(out, kind):
        out[col.name] = _repair_numbers(rep, out[col.name], col)
    if rep.drop.all() and (rep.n or kind == "compounds"):
        raise DataError(_no_usable(gdf, kind, rep.unusable))
    out["repaired"] = rep.repaired
    out = out.iloc[np.flatnonzero(~rep.drop)]
    out.attrs = dict(gdf.attrs)
    return out, rep.audit_frame()


@dataclass
class _Repair:
    """What :func:`repair_layer` has done so far: row masks, the geometries, the audit."""

    kind: str
    ids: np.ndarray
    geoms: np.ndarray
    drop: np.ndarray
    repaired: np.ndarray
    audit: list[dict] = field(default_factory=list)
    unusable: Counter = field(default_factory=Counter)

    @classmethod
    def start(cls, gdf: gpd.GeoDataFrame, kind: str) -> _Repair:
        n = len(gdf)
        return cls(kind, _ids(gdf), np.asarray(gdf.geometry.array, dtype=object).copy(),
                   np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def live(self) -> np.ndarray:
        return ~self.drop

    def note(self, i: int, action: str, detail: str, ident=_SAME) -> None:
        """One audit row for input row ``i`` (its id unless ``ident`` is given)."""
        self.audit.append({"layer": self.kind, "id": self.ids[i] if ident is _SAME else ident,
                           "row": int(i), "action": action, "detail": detail})

    def dropped(self, i: int, why: str, detail: str | None = None) -> None:
        """Row ``i`` leaves the layer; ``why`` counts toward "no usable ..." messages."""
        self.note(i, "dropped", detail or why)
        self.unusable[why] += 1
        self.drop[i] = True

    def audit_frame(self) -> pd.DataFrame:
        audit = _frame(self.audit, AUDIT_COLUMNS)
        return audit.sort_values("row", kind="stable").reset_index(drop=True)


def _drop_missing_geometry(rep: _Repair) -> None:
    """Rows without a geometry leave the layer."""
    missing = shapely.is_missing(rep.geoms)
    empty = ~missing & shapely.is_empty(rep.geoms)
    for i in np.flatnonzero(missing | empty):
        rep.dropped(i, "missing geometry" if missing[i] else "empty geometry")


def _make_valid(rep: _Repair) -> None:
    """Invalid geometries through ``make_valid``; those it reduces to nothing leave."""
    invalid = np.zeros(rep.n, dtype=bool)
    invalid[rep.live] = ~shapely.is_valid(rep.geoms[rep.live])
    if not invalid.any():
        return
    reasons = shapely.is_valid_reason(rep.geoms[invalid])
    fixed = shapely.make_valid(rep.geoms[invalid], method="structure", keep_collapsed=False)
    rep.geoms[invalid] = fixed
    collapsed = shapely.is_missing(fixed) | shapely.is_empty(fixed)
    for i, why, gone in zip(np.flatnonzero(invalid), reasons, collapsed, strict=True):
        if gone:  # a zero-area polygon: make_valid leaves POLYGON EMPTY
            rep.dropped(i, "empty geometry",
                        f"empty geometry: {why}, and make_valid leaves nothing of it")
        else:
            rep.note(i, "geometry repaired", f"{why} → make_valid")
    rep.repaired |= invalid


def _keep_allowed_parts(rep: _Repair) -> None:
    """A geometry of a type the layer does not take keeps its parts of a family the layer
    takes (the first family that has any), or leaves the layer."""
    allowed = set(schema.GEOMETRY_TYPES[rep.kind])
    kinds = np.full(rep.n, None, dtype=object)
    kinds[rep.live] = type_names(rep.geoms[rep.live])
    wrong = np.flatnonzero(rep.live & ~np.isin(kinds, list(allowed)))
    if not len(wrong):
        return
    candidates = np.full(len(wrong), None, dtype=object)
    for family in (f for f in (_POLYGONAL, _LINEAR, _PUNTAL) if f & allowed):
        got = _keep_family(rep.geoms[wrong], family)
        take = pd.isna(candidates) & ~pd.isna(got)
        candidates[take] = got[take]
    for i, kept in zip(wrong, candidates, strict=True):
        if kept is None:
            rep.dropped(i, str(kinds[i]), f"{kinds[i]} has no part {rep.kind} can take "
                                          f"({', '.join(sorted(allowed))})")
            continue
        rep.note(i, "geometry repaired", f"kept the {type_names([kept])[0]} part of a {kinds[i]}")
        rep.geoms[i] = kept
        rep.repaired[i] = True


def _repair_ids(rep: _Repair) -> np.ndarray:
    """Missing ids → ``row-<n>``; a repeated id stays with its first row, the others get
    ``<id>-2``, ``<id>-3``, ... (dropped rows keep theirs: they only appear in the audit)."""
    id_name = schema.ID_COLUMNS[rep.kind]
    new_ids = pd.Series(rep.ids, dtype=object)
    blank = (new_ids.isna() | (new_ids.astype(str).str.strip() == "")).to_numpy()
    for i in np.flatnonzero(blank & rep.live):
        new_ids[i] = f"row-{i + 1}"
        rep.note(i, "id assigned", f"{id_name} was empty; set to row-{i + 1}", ident=None)
    kept = new_ids[rep.live]
    seen = set(kept[~kept.duplicated(keep="first")])
    for i in np.flatnonzero(new_ids.duplicated(keep="first").to_numpy() & rep.live):
        base, k = str(new_ids[i]), 2
        while f"{base}-{k}" in seen:
            k += 1
        new_ids[i] = f"{base}-{k}"
        seen.add(new_ids[i])
        rep.note(i, "id renamed", f"duplicate {id_name} {base!r}; this row is now {new_ids[i]!r}",
                 ident=base)
    rep.ids = new_ids.to_numpy(dtype=object)
    return rep.ids


def _repair_numbers(rep: _Repair, raw: pd.Series, col: schema.Column) -> pd.Series:
    """A numeric column as numbers: text that is not a number, and negative values, emptied."""
    num = pd.to_numeric(raw, errors="coerce")
    bad = (num.isna() & raw.notna()).to_numpy()
    neg = (num < 0).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero((bad | neg) & rep.live):
        why = "not a number" if bad[i] else "negative"
        rep.note(i, "value cleared", f"{col.name} ({col.zh}) = {raw.iloc[i]!r} is {why}; set to empty")
    rep.repaired |= bad | neg
    num = num.mask(neg)
    if col.dtype == "int" and bool((num.dropna() % 1 == 0).all()):
        return num.astype("Int64")
    return num.astype("float64")

