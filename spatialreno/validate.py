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
#: what a layer's rows are, for messages ("no usable compound polygons")
_WHAT = {"compounds": "compound polygons", "illegal": "illegal-structure points or polygons",
         "gas": "gas pipe lines", "barriers": "barrier lines or polygons", "admin": "admin polygons",
         "roads": "road lines", "packages": "package polygons"}


#: shapely type ids of single-part geometries (what collections are flattened to)
_SINGLE_PART_IDS = tuple(t.value for t in (GeometryType.POINT, GeometryType.LINESTRING,
                                            GeometryType.LINEARRING, GeometryType.POLYGON))


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


def check_layer(gdf: gpd.GeoDataFrame, kind: str) -> pd.DataFrame:
    """Report every contract problem of a layer; change nothing.

    Checked: CRS present, projected and in metres; geometry missing, empty, invalid (with
    shapely's reason, e.g. ``Self-intersection[3 5]``), or of a type the layer does not
    take; missing and duplicate ids; non-numeric, non-finite (``inf``), implausibly large
    (beyond ±1e12) and negative values in numeric columns; build years outside 1900–this
    year; coordinates the CRS cannot hold (:func:`spatialreno.io.check_coordinates`: lon/lat
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
    for col in _numeric_columns(gdf, kind):
        _check_numbers(report, gdf[col.name], col)
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


def _check_numbers(report: _Report, raw: pd.Series, col: schema.Column) -> None:
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
        year = _dt.date.today().year
        out = ((num < 1900) | (num > year)).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(out):
            report.add(i, "year out of range", f"{col.name} = {num.iloc[i]:g}; expected 1900–{year}")


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
    out = gdf.copy()
    audit: list[dict] = []
    n = len(out)
    ids = _ids(out)
    repaired = np.zeros(n, dtype=bool)
    allowed = set(schema.GEOMETRY_TYPES[kind])
    families = [f for f in (_POLYGONAL, _LINEAR, _PUNTAL) if f & allowed]

    geoms = np.asarray(out.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    drop = missing | empty
    unusable: Counter = Counter()
    for i in np.flatnonzero(drop):
        why = "missing geometry" if missing[i] else "empty geometry"
        audit.append({"layer": kind, "id": ids[i], "row": int(i), "action": "dropped", "detail": why})
        unusable[why] += 1
    live = ~drop
    invalid = np.zeros(n, dtype=bool)
    invalid[live] = ~shapely.is_valid(geoms[live])
    new_geoms = geoms.copy()
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        new_geoms[invalid] = fixed
        collapsed = shapely.is_missing(fixed) | shapely.is_empty(fixed)
        for i, why, gone in zip(np.flatnonzero(invalid), reasons, collapsed):
            if gone:  # a zero-area polygon: make_valid leaves POLYGON EMPTY
                audit.append({"layer": kind, "id": ids[i], "row": int(i), "action": "dropped",
                              "detail": f"empty geometry: {why}, and make_valid leaves nothing of it"})
                unusable["empty geometry"] += 1
                drop[i] = True
            else:
                audit.append({"layer": kind, "id": ids[i], "row": int(i), "action": "geometry repaired",
                              "detail": f"{why} → make_valid"})
        repaired |= invalid
        live = ~drop
    # keep the parts of the right family
    kinds = np.full(n, None, dtype=object)
    kinds[live] = type_names(new_geoms[live])
    wrong = live & ~np.isin(kinds, list(allowed))
    if wrong.any():
        candidates = np.full(n, None, dtype=object)
        for fam in families:
            got = _keep_family(new_geoms[wrong], fam)
            sel = np.flatnonzero(wrong)
            take = pd.isna(candidates[sel]) & ~pd.isna(got)
            candidates[sel[take]] = got[take]
        for i in np.flatnonzero(wrong):
            if candidates[i] is None:
                audit.append({"layer": kind, "id": ids[i], "row": int(i), "action": "dropped",
                              "detail": f"{kinds[i]} has no part {kind} can take "
                                        f"({', '.join(sorted(allowed))})"})
                unusable[str(kinds[i])] += 1
                drop[i] = True
            else:
                kept = type_names([candidates[i]])[0]
                audit.append({"layer": kind, "id": ids[i], "row": int(i), "action": "geometry repaired",
                              "detail": f"kept the {kept} part of a {kinds[i]}"})
                new_geoms[i] = candidates[i]
                repaired[i] = True
    out = out.set_geometry(gpd.GeoSeries(new_geoms, index=out.index, crs=out.crs))

    # ids
    id_name = schema.ID_COLUMNS[kind]
    id_s = pd.Series(ids, dtype=object)
    blank = id_s.isna() | (id_s.astype(str).str.strip() == "")
    new_ids = id_s.copy()
    for i in np.flatnonzero(blank.to_numpy() & ~drop):
        new_ids[i] = f"row-{i + 1}"
        audit.append({"layer": kind, "id": None, "row": int(i), "action": "id assigned",
                      "detail": f"{id_name} was empty; set to row-{i + 1}"})
    keep_ids = new_ids[~drop]
    seen = set(keep_ids[~keep_ids.duplicated(keep="first")])
    dup_pos = np.flatnonzero((new_ids.duplicated(keep="first") & pd.Series(~drop)).to_numpy())
    for i in dup_pos:
        base, k = str(new_ids[i]), 2
        while f"{base}-{k}" in seen:
            k += 1
        new_ids[i] = f"{base}-{k}"
        seen.add(new_ids[i])
        audit.append({"layer": kind, "id": base, "row": int(i), "action": "id renamed",
                      "detail": f"duplicate {id_name} {base!r}; this row is now {new_ids[i]!r}"})
    out.index = pd.Index(new_ids.to_numpy(dtype=object), name=id_name)

    # numbers
    for col in _numeric_columns(out, kind):
        raw = out[col.name]
        num = pd.to_numeric(raw, errors="coerce")
        bad = (num.isna() & raw.notna()).to_numpy()
        neg = (num < 0).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero((bad | neg) & ~drop):
            why = "not a number" if bad[i] else "negative"
            audit.append({"layer": kind, "id": new_ids[i], "row": int(i), "action": "value cleared",
                          "detail": f"{col.name} ({col.zh}) = {raw.iloc[i]!r} is {why}; set to empty"})
        num = num.mask(neg)
        if col.dtype == "int" and bool((num.dropna() % 1 == 0).all()):
            out[col.name] = num.astype("Int64")
        else:
            out[col.name] = num.astype("float64")
        repaired |= (bad | neg)

    if drop.all() and (n or kind == "compounds"):
        raise DataError(_no_usable(gdf, kind, unusable))
    out["repaired"] = repaired
    out = out.iloc[np.flatnonzero(~drop)]
    audit_df = _frame(audit, AUDIT_COLUMNS)
    audit_df = audit_df.sort_values("row", kind="stable").reset_index(drop=True)
    out.attrs = dict(gdf.attrs)
    return out, audit_df

