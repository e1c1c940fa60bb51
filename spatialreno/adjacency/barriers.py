"""Barriers (rivers, rail, walls, arterial roads) and the test that cuts an edge across one."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from .._contracts import LINEAL, POLYGONAL, GeometryType, require_layer, type_names
from ..errors import DataError
from .fronts import _excl_cumsum, _Facing, _facing_fronts, _Segments
from .options import (
    BARRIER_SNAP_M,
    FRONT_EPS_M,
    SAMPLE_FRACTIONS,
    STAGE,
    _short_list,
    _warn_ids,
)


@dataclass
class _Barriers:
    """Barrier lines (also as straight segments, for the numpy crossing test) and polygons."""

    lines: np.ndarray
    polygons: np.ndarray
    summary: dict
    line_segs: _Segments | None = None
    line_seg_tree: shapely.STRtree | None = None  # boxes of line_segs
    polygon_tree: shapely.STRtree | None = None

    @property
    def n(self) -> int:
        return len(self.lines) + len(self.polygons)


#: what a barrier row may be: lines, polygons, or collections of them (exploded)
_BARRIER_TYPES = (*LINEAL, *POLYGONAL, GeometryType.GEOMETRYCOLLECTION)


def _check_barriers(barriers, crs) -> _Barriers:
    """The barriers as lines and polygons, through the contract (rows without geometry are
    skipped with a warning; collections are exploded into their parts)."""
    barriers = require_layer(barriers, "barriers", stage=STAGE, crs=crs, metric=False,
                             allowed=_BARRIER_TYPES, allow_missing=True, ids=False,
                             valid=False)
    geoms = np.asarray(barriers.geometry.array, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        _warn_ids(
            f"{STAGE}: {int(empty.sum())} barrier(s) have no geometry and are skipped",
            barriers.index[empty],
        )
    parts, part_of = shapely.get_parts(geoms[~empty], return_index=True)
    rows = np.flatnonzero(~empty)[part_of]
    types = shapely.get_type_id(parts)
    is_line = np.isin(types, [t.value for t in LINEAL])
    is_poly = types == GeometryType.POLYGON.value
    _check_barrier_parts(barriers.index, parts, rows, is_line, is_poly)
    return _barriers_from_parts(barriers, empty, parts[is_line], parts[is_poly])


def _check_barrier_parts(index, parts, rows, is_line, is_poly) -> None:
    """The parts of collections must be lines or polygons, and the polygons valid."""
    other = ~(is_line | is_poly)
    if other.any():
        found = ", ".join(sorted(set(type_names(parts[other]).tolist())))
        raise DataError(
            f"{STAGE}: barriers must be lines or polygons; {int(other.sum())} part(s) are "
            f"{found}, in barrier(s) {_short_list(index[np.unique(rows[other])])}."
        )
    valid_poly = shapely.is_valid(parts[is_poly])
    if not valid_poly.all():
        bad_rows = np.unique(rows[is_poly][~valid_poly])
        raise DataError(
            f"{STAGE}: barrier polygon(s) {_short_list(index[bad_rows])} are "
            "invalid; repair them with `shapely.make_valid` first."
        )


def _barriers_from_parts(barriers, empty, lines, polys) -> _Barriers:
    types_summary = {}
    if isinstance(barriers, gpd.GeoDataFrame) and "barrier_type" in barriers.columns:
        counts = barriers.loc[~empty, "barrier_type"].fillna("unknown").value_counts(sort=False)
        types_summary = {str(k): int(v) for k, v in counts.sort_index().items()}
    summary = {"count": int((~empty).sum()), "types": types_summary}
    line_segs = _Segments.from_geoms(lines) if len(lines) else None
    if line_segs is not None and len(line_segs.x0):
        seg_boxes = shapely.box(line_segs.xmin, line_segs.ymin, line_segs.xmax, line_segs.ymax)
        line_seg_tree = shapely.STRtree(seg_boxes)
    else:
        line_segs = line_seg_tree = None
    return _Barriers(
        lines=lines,
        polygons=polys,
        summary=summary,
        line_segs=line_segs,
        line_seg_tree=line_seg_tree,
        polygon_tree=shapely.STRtree(polys) if len(polys) else None,
    )


# --------------------------------------------------------------------------------------
# barriers
# --------------------------------------------------------------------------------------
def _barrier_cuts(geoms, tree, segs, left, right, gap, tol, facing: _Facing | None, bar: _Barriers):
    """Boolean per pair: does a barrier separate the two compounds? (rule: see build_adjacency)."""
    m = len(left)
    delta = max(tol, FRONT_EPS_M)
    bounds = shapely.bounds(geoms)
    # 1. coarse filter: every test segment of a pair lies within delta of both compounds,
    #    so a barrier can only cut pairs whose two compounds are both near that barrier
    barrier_geoms = np.concatenate([bar.lines, bar.polygons])
    b_idx, c_idx = tree.query(barrier_geoms, predicate="dwithin", distance=delta + BARRIER_SNAP_M)
    near = np.zeros(len(geoms), dtype=bool)
    near[c_idx] = True
    cand = np.flatnonzero(near[left] & near[right])
    if len(cand):
        # ... of the same barrier
        n_bar = len(barrier_geoms)
        key = c_idx.astype(np.int64) * n_bar + b_idx
        order = np.argsort(c_idx, kind="stable")
        cs, bs = c_idx[order], b_idx[order]
        first = np.searchsorted(cs, left[cand])
        cnt = np.searchsorted(cs, left[cand], side="right") - first
        rep = np.repeat(np.arange(len(cand)), cnt)
        pos = np.repeat(first - _excl_cumsum(cnt), cnt) + np.arange(int(cnt.sum()))
        shared = np.isin(right[cand][rep].astype(np.int64) * n_bar + bs[pos], key)
        mark = np.zeros(len(cand), dtype=bool)
        mark[rep[shared]] = True
        cand = cand[mark]
    if not len(cand):
        return np.zeros(m, dtype=bool)
    # 2. the fronts of the candidates
    if facing is None:
        sub = _facing_fronts(segs, bounds, left[cand], right[cand], delta)
    else:
        sub = facing.subset(cand)
    # 3. finer filter: the box of the two fronts (every test segment lies inside it)
    k = len(cand)
    fbox = np.full((k, 4), np.nan)
    for side in sub.pieces:
        pair, xa, ya, xb, yb = sub.coords(segs, side)
        for col, vals, fn in (
            (0, np.minimum(xa, xb), np.fmin),
            (1, np.minimum(ya, yb), np.fmin),
            (2, np.maximum(xa, xb), np.fmax),
            (3, np.maximum(ya, yb), np.fmax),
        ):
            red = np.full(k, np.nan)
            if len(pair):
                starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
                red[pair[starts]] = (np.minimum if col < 2 else np.maximum).reduceat(vals, starts)
            fbox[:, col] = fn(fbox[:, col], red)
    has_front = np.flatnonzero(~np.isnan(fbox[:, 0]))
    boxes = shapely.box(
        *(fbox[has_front] + [-BARRIER_SNAP_M, -BARRIER_SNAP_M, BARRIER_SNAP_M, BARRIER_SNAP_M]).T
    )
    # barrier segments and polygons near each front (boxes meet): the only ones to test
    line_hits = _Hits.empty(k)
    if bar.line_seg_tree is not None:
        i, j = bar.line_seg_tree.query(boxes)
        line_hits = _Hits(has_front[i], j, k)
    poly_hits = _Hits.empty(k)
    if bar.polygon_tree is not None:
        i, j = bar.polygon_tree.query(boxes, predicate="intersects")
        poly_hits = _Hits(has_front[i], j, k)
    sel = np.flatnonzero((line_hits.count > 0) | (poly_hits.count > 0))  # index into cand
    if not len(sel):
        return np.zeros(m, dtype=bool)
    pairs = cand[sel]
    # 4. test segments, as (start xy, end xy) and the pair they test (index into cand):
    #    the shortest lines of pairs with a gap ...
    tests, owners = [], []
    gapped = sel[gap[pairs] > 0]
    if len(gapped):
        sl = shapely.shortest_line(geoms[left[cand[gapped]]], geoms[right[cand[gapped]]])
        tests.append(shapely.get_coordinates(sl).reshape(-1, 2, 2))
        owners.append(gapped)
    # ... and from points along each front to the nearest point of the other front (the
    # nearest point of the other compound's boundary lies on its front)
    chosen = np.zeros(k, dtype=bool)
    chosen[sel] = True
    fronts = {}
    for side in sub.pieces:
        pair, xa, ya, xb, yb = sub.coords(segs, side)
        keep = chosen[pair]
        fronts[side] = (pair[keep], xa[keep], ya[keep], xb[keep], yb[keep])
    for side, other in (("left", "right"), ("right", "left")):
        if not len(fronts[side][0]):
            continue
        pts, owner = _sample_fronts(*fronts[side], k)
        near = _nearest_on_pieces(pts, owner, *fronts[other], k)
        tests.append(np.stack([pts, near], axis=1))
        owners.append(owner)
    tests = np.concatenate(tests) if tests else np.empty((0, 2, 2))
    owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.intp)
    crossed = _crosses(tests, owners, line_hits, poly_hits, bar)
    n_test = np.bincount(owners, minlength=k)
    n_cross = np.bincount(owners, weights=crossed, minlength=k)
    cut = np.zeros(m, dtype=bool)
    cut[cand[(n_test > 0) & (2 * n_cross >= n_test)]] = True
    return cut


@dataclass
class _Hits:
    """Many-to-many links from pairs (0..n-1) to barrier items, grouped by pair."""

    pair: np.ndarray
    item: np.ndarray
    n: int
    count: np.ndarray = field(init=False)
    first: np.ndarray = field(init=False)

    def __post_init__(self):
        order = np.argsort(self.pair, kind="stable")
        self.pair, self.item = self.pair[order], self.item[order]
        self.count = np.bincount(self.pair, minlength=self.n)
        self.first = _excl_cumsum(self.count)

    @classmethod
    def empty(cls, n: int) -> _Hits:
        return cls(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), n)

    def expand(self, owners: np.ndarray):
        """(test index, item) for every test and every item of its pair."""
        reps = self.count[owners]
        test = np.repeat(np.arange(len(owners)), reps)
        pos = np.repeat(self.first[owners] - _excl_cumsum(reps), reps) + np.arange(int(reps.sum()))
        return test, self.item[pos]


def _nearest_on_pieces(pts, owner, pair, xa, ya, xb, yb, n_pairs):
    """For each point, the nearest point on the pieces of its owner pair (pieces by pair)."""
    count = np.bincount(pair, minlength=n_pairs)
    first = _excl_cumsum(count)
    reps = count[owner]
    which = np.repeat(np.arange(len(pts)), reps)
    piece = np.repeat(first[owner] - _excl_cumsum(reps), reps) + np.arange(int(reps.sum()))
    ax, ay = xa[piece], ya[piece]
    dx, dy = xb[piece] - ax, yb[piece] - ay
    px, py = pts[which, 0], pts[which, 1]
    len2 = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
    t[~(len2 > 0)] = 0.0
    qx, qy = ax + t * dx, ay + t * dy
    d2 = (qx - px) ** 2 + (qy - py) ** 2
    near = pts.copy()  # a point whose owner has no pieces on the other side stays put
    if len(which):  # `which` is sorted: the pieces of each point are contiguous
        starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
        nearest = np.flatnonzero(
            d2 == np.repeat(np.minimum.reduceat(d2, starts), np.diff(np.r_[starts, len(d2)]))
        )
        best = nearest[np.r_[True, which[nearest][1:] != which[nearest][:-1]]]  # first of ties
        near[which[best]] = np.column_stack([qx[best], qy[best]])
    return near


def _sample_fronts(pair, xa, ya, xb, yb, n_pairs):
    """Points at SAMPLE_FRACTIONS of each pair's front (pieces ordered by pair)."""
    seg_len = np.hypot(xb - xa, yb - ya)
    total = np.bincount(pair, weights=seg_len, minlength=n_pairs)
    cum = np.cumsum(seg_len)
    first = _excl_cumsum(np.bincount(pair, minlength=n_pairs))
    owners = np.unique(pair)
    base = np.concatenate([[0.0], cum])[first[owners]]
    fr = np.asarray(SAMPLE_FRACTIONS)
    owner = np.repeat(owners, len(fr))
    target = np.repeat(base, len(fr)) + np.tile(fr, len(owners)) * np.repeat(total[owners], len(fr))
    i = np.searchsorted(cum, target, side="left")
    last = np.concatenate([first[1:], [len(pair)]])[owner] - 1
    i = np.clip(i, first[owner], last)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((target - (cum[i] - seg_len[i])) / seg_len[i], 0.0, 1.0)
    t = np.nan_to_num(t, nan=0.5)
    pts = np.column_stack([xa[i] + t * (xb[i] - xa[i]), ya[i] + t * (yb[i] - ya[i])])
    return pts, owner


def _crosses(seg_xy, owners, line_hits: _Hits, poly_hits: _Hits, bar: _Barriers) -> np.ndarray:
    """For test segments given as (k, 2, 2) coordinates: does each cross a barrier?

    A test crosses a barrier line when it comes within BARRIER_SNAP_M of one of the line's
    segments near its pair (computed in numpy), and a barrier polygon when it meets the
    polygon's interior (GEOS DE-9IM, only for pairs near a polygon). Tests shorter than
    BARRIER_SNAP_M (on a shared wall) are points.
    """
    k = len(seg_xy)
    out = np.zeros(k, dtype=bool)
    if not k:
        return out
    if len(line_hits.item):
        t, j = line_hits.expand(owners)
        ls = bar.line_segs
        d = _segment_distance(
            seg_xy[t, 0, 0],
            seg_xy[t, 0, 1],
            seg_xy[t, 1, 0],
            seg_xy[t, 1, 1],
            ls.x0[j],
            ls.y0[j],
            ls.x0[j] + ls.dx[j],
            ls.y0[j] + ls.dy[j],
        )
        out[t[d <= BARRIER_SNAP_M]] = True
    if len(poly_hits.item):
        t, j = poly_hits.expand(owners)
        keep = ~out[t]
        t, j = t[keep], j[keep]
        if len(t):
            xy = seg_xy[t]
            point = np.hypot(*(xy[:, 1] - xy[:, 0]).T) < BARRIER_SNAP_M
            geoms = np.empty(len(t), dtype=object)
            geoms[point] = shapely.points(xy[point, 0])
            geoms[~point] = shapely.linestrings(xy[~point])
            inside = shapely.relate_pattern(geoms, bar.polygons[j], "T********")
            out[t[inside]] = True
    return out


def _segment_distance(px, py, qx, qy, ax, ay, bx, by):
    """Distance between segments PQ and AB (either may be a point), vectorised."""

    def point_to_segment(x, y, x0, y0, x1, y1):
        dx, dy = x1 - x0, y1 - y0
        len2 = dx * dx + dy * dy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(((x - x0) * dx + (y - y0) * dy) / len2, 0.0, 1.0)
        t = np.where(len2 > 0, t, 0.0)
        return np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))

    def orient(x0, y0, x1, y1, x, y):
        return (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)

    proper = (orient(ax, ay, bx, by, px, py) * orient(ax, ay, bx, by, qx, qy) < 0) & (
        orient(px, py, qx, qy, ax, ay) * orient(px, py, qx, qy, bx, by) < 0
    )
    d = np.minimum(
        np.minimum(
            point_to_segment(px, py, ax, ay, bx, by), point_to_segment(qx, qy, ax, ay, bx, by)
        ),
        np.minimum(
            point_to_segment(ax, ay, px, py, qx, qy), point_to_segment(bx, by, px, py, qx, qy)
        ),
    )
    return np.where(proper, 0.0, d)


