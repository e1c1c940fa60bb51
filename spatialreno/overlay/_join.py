"""Array-wise building blocks the overlays share: candidate pairs, grouping, cutting,
nearest compound, vocabulary codes, row reasons and roll-ups (numpy and shapely; no
per-feature Python loop)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from .._contracts import TYPE_NAME, GeometryType, geometry_rows
from ..errors import SpatialRenoWarning
from ._convex import ConvexTest

#: Pieces or shares smaller than this fraction of a feature are slivers (floating-point
#: noise along shared walls); their part goes with the rest.
SLIVER_FRACTION = 1e-9

#: every geometry type a layer row may carry; the overlays take them all and leave the
#: rows they cannot use in the remainder with the reason (nothing is lost)
ANY_TYPE: tuple[GeometryType, ...] = tuple(t for t in GeometryType if t != GeometryType.MISSING)

#: ``require_layer`` options for a layer whose rows the overlay may be unable to use (no,
#: empty, invalid or wrong-type geometry): those stay in the remainder with the reason
ROWS_MAY_FAIL = {"valid": False, "allow_missing": True, "allowed": ANY_TYPE}

#: what an overlay says a row of each layer should have been
EXPECTED = {"illegal": "Point or Polygon", "gas": "LineString", "roads": "LineString"}


# --------------------------------------------------------------------------------------
# the compounds features are joined to
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Targets:
    """The compounds as arrays, with their STRtree and the convex fast path."""

    geoms: np.ndarray
    ids: np.ndarray
    tree: shapely.STRtree
    convex: ConvexTest

    @classmethod
    def of(cls, compounds: gpd.GeoDataFrame) -> Targets:
        geoms = np.asarray(compounds.geometry.array, dtype=object)
        return cls(geoms, np.asarray(compounds.index.astype(object), dtype=object),
                   shapely.STRtree(geoms), ConvexTest(geoms))

    def __len__(self) -> int:
        return len(self.geoms)

    def ids_at(self, pos: np.ndarray) -> np.ndarray:
        """Compound ids at positions ``pos``; None where ``pos`` is -1 (no compound)."""
        pos = np.asarray(pos, dtype=np.int64)
        out = np.full(len(pos), None, dtype=object)
        hit = pos >= 0
        out[hit] = self.ids[pos[hit]]
        return out


# --------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------
def row_reasons(geoms: np.ndarray, allowed: Sequence[GeometryType], kind: str) -> np.ndarray:
    """Why each geometry cannot be overlaid (missing, empty, wrong type, invalid), or None."""
    rows = geometry_rows(geoms, allowed)
    reasons = np.full(len(rows.missing), None, dtype=object)
    reasons[rows.missing] = "missing geometry"
    reasons[rows.empty] = "empty geometry"
    wrong = rows.wrong_type
    if wrong.any():
        reasons[wrong] = [f"{t} geometry; expected {EXPECTED[kind]}" for t in rows.type_name[wrong]]
    invalid = rows.invalid & ~wrong
    if invalid.any():
        reasons[invalid] = [
            f"invalid geometry ({why}); repair with spatialreno.repair_layer(layer, {kind!r})"
            for why in rows.reason[invalid]
        ]
    return reasons


def type_is(geoms: np.ndarray, types: Sequence[GeometryType]) -> np.ndarray:
    """Boolean array: which geometries are of one of ``types``."""
    return np.isin(shapely.get_type_id(geoms), [t.value for t in types])


def type_label(types: Sequence[GeometryType]) -> str:
    return ", ".join(TYPE_NAME[t] for t in types)


def codes(frame: pd.DataFrame, column: str, vocab: str, fallback: str, *, stage: str,
          stacklevel: int = 2) -> np.ndarray:
    """Vocabulary codes of a column (labels accepted); unknown or missing → ``fallback``,
    with a warning listing the unknown values (``stacklevel`` counts from the caller)."""
    vocab_codes = tuple(schema.VOCABULARIES[vocab])
    if column not in frame:
        return np.full(len(frame), fallback, dtype=object)
    raw = frame[column]
    # map the distinct values only, then take (a million rows have a handful of values)
    pos, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    canon = schema.canonical_values(vocab, pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    canon = np.append(canon, None)  # the -1 sentinel of missing values
    out = canon[pos]
    known = np.array([c in vocab_codes for c in canon], dtype=bool)[pos]
    unknown = ~known & (pos >= 0)
    if unknown.any():
        vals = pd.unique(raw[unknown])[:5].tolist()
        warnings.warn(f"{stage}: {int(unknown.sum())} value(s) of `{column}` are not {vocab} codes "
                      f"(e.g. {vals}); counted as {fallback!r}.", SpatialRenoWarning,
                      stacklevel=stacklevel + 1)
    out[~known] = fallback
    return out


def isin(values: np.ndarray, allowed) -> np.ndarray:
    """Hash-based ``np.isin`` for arrays of codes (numpy sorts object arrays)."""
    return pd.Series(values, copy=False).isin(list(allowed)).to_numpy()


def flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A 0/1 column as booleans (missing column or values → False)."""
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy() > 0


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as floats (missing column or values → NaN)."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def int_array(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Floats with NaN as a nullable Int64 array."""
    return pd.array(np.asarray(values, dtype=float)).astype("Int64") if len(values) \
        else pd.array([], dtype="Int64")


def fmt(values: np.ndarray, spec: str) -> np.ndarray:
    return np.array([format(float(v), spec) for v in values], dtype=object)


# --------------------------------------------------------------------------------------
# grouping
# --------------------------------------------------------------------------------------
def group_order(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Order that sorts rows by ``group`` (non-negative ints), then by ``keys`` in turn.

    Same result as ``np.lexsort((*reversed(keys), group))``, but only the rows of groups
    with more than one row are sorted by the keys (most groups have one row).

    >>> import numpy as np
    >>> from spatialreno.overlay._join import group_order
    >>> group_order(np.array([1, 0, 1]), np.array([5.0, 0.0, 2.0])).tolist()
    [1, 2, 0]
    """
    order = np.argsort(group, kind="stable")
    if keys and len(group):
        g = group[order]
        multi = np.flatnonzero(np.bincount(group)[g] > 1)
        if len(multi):
            sub = order[multi]
            order[multi] = sub[np.lexsort((*[k[sub] for k in reversed(keys)], group[sub]))]
    return order


def first_per_group(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Positions (into the arrays) of the first row of each group after sorting by keys."""
    order = group_order(group, *keys)
    g = group[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return order[first]


def group_starts(group: np.ndarray) -> np.ndarray:
    """Boolean array: the first row of each run of ``group`` (rows sorted by group)."""
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    return start


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group (rows must be sorted by group)."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(len(group))
    return idx - np.maximum.accumulate(np.where(group_starts(group), idx, 0))


def by_category(rows: np.ndarray, category: np.ndarray, categories: Sequence[str],
                weights: np.ndarray, n_rows: int) -> np.ndarray:
    """``(n_rows, len(categories))`` sums of ``weights`` by row and category code."""
    k = len(categories)
    cat = pd.Categorical(category, categories=list(categories)).codes.astype(np.int64)
    sums = np.bincount(rows * k + cat, weights=weights, minlength=n_rows * k)
    return sums.reshape(n_rows, k)


# --------------------------------------------------------------------------------------
# spatial joins
# --------------------------------------------------------------------------------------
def pairs(tree: shapely.STRtree, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding-box candidate pairs (input, tree), sorted by input then tree position.

    A predicate given to ``STRtree.query`` prepares every *input* geometry, which costs
    more than it saves when each input meets one or two tree geometries; the callers
    test the candidates array-wise against the prepared tree geometries instead.
    """
    left, right = tree.query(geoms)
    order = group_order(left, right)
    return left[order], right[order]


def nearest(tree: shapely.STRtree, tgeoms: np.ndarray, geoms: np.ndarray,
            max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest tree geometry of each input and the distance (ties → lowest position).

    Candidates within ``max_distance`` come from one bounding-box query on the expanded
    envelopes and an array-wise ``shapely.distance``; only the inputs with none (far
    away, usually few) go through ``STRtree.query_nearest``.
    """
    n = len(geoms)
    best_c = np.full(n, -1, dtype=np.int64)
    best_d = np.full(n, np.inf)
    b = shapely.bounds(geoms)
    env = shapely.box(b[:, 0] - max_distance, b[:, 1] - max_distance,
                      b[:, 2] + max_distance, b[:, 3] + max_distance)
    left, right = pairs(tree, env)
    if len(left):
        d = shapely.distance(geoms[left], tgeoms[right])
        near = d <= max_distance
        left, right, d = left[near], right[near], d[near]
        pick = first_per_group(left, d, right)
        best_c[left[pick]] = right[pick]
        best_d[left[pick]] = d[pick]
    far = np.flatnonzero(best_c < 0)
    if len(far):
        (fl, fr), fd = tree.query_nearest(geoms[far], return_distance=True, all_matches=True)
        pick = first_per_group(fl, fr)
        best_c[far[fl[pick]]] = fr[pick]
        best_d[far[fl[pick]]] = fd[pick]
    return best_c, np.where(best_c >= 0, best_d, np.nan)


def cut(geoms: np.ndarray, cgeoms: np.ndarray, left: np.ndarray, right: np.ndarray):
    """Cut features by compounds, pairwise and array-wise: ``(pieces, rest)``.

    ``left``/``right`` are candidate (feature, compound) pairs sorted by feature then
    compound. Round r takes the r-th pair of every feature: piece = rest ∩ compound,
    rest = rest − compound. The pieces of a feature are therefore disjoint even where
    compounds overlap (the earlier compound keeps the overlap), and ``rest`` is the part
    outside every compound. The loop runs over ranks (≤ the most compounds any one
    feature meets), never over features.
    """
    pieces = np.empty(len(left), dtype=object)
    rest = geoms.copy()
    rank = rank_in_group(left)
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        sel = np.flatnonzero(rank == r)
        f = left[sel]
        cur = rest[f]
        comp = cgeoms[right[sel]]
        pieces[sel] = shapely.intersection(cur, comp)
        rest[f] = shapely.difference(cur, comp)
    return pieces, rest


def linear_part(geoms: np.ndarray, lineal: Sequence[GeometryType]) -> np.ndarray:
    """Keep only the line parts (intersections may add points where a pipe touches a wall)."""
    geoms = np.asarray(geoms, dtype=object)
    mixed = np.flatnonzero(~type_is(geoms, lineal) & ~shapely.is_empty(geoms)
                           & ~shapely.is_missing(geoms))
    if len(mixed):
        parts, idx = shapely.get_parts(geoms[mixed], return_index=True)
        lin = type_is(parts, lineal)
        fixed = np.full(len(mixed), None, dtype=object)
        fixed[:] = shapely.from_wkt("LINESTRING EMPTY")
        if lin.any():
            got, dense = np.unique(idx[lin], return_inverse=True)
            fixed[got] = shapely.line_merge(shapely.multilinestrings(parts[lin], indices=dense))
        geoms = geoms.copy()
        geoms[mixed] = fixed
    return geoms
