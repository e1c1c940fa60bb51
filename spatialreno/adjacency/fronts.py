"""Facing fronts of two polygons within a tolerance: exact for straight segments, in numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .._contracts import GeometryType


# --------------------------------------------------------------------------------------
# facing fronts (numpy, exact for straight segments)
# --------------------------------------------------------------------------------------
@dataclass
class _Segments:
    """All boundary segments, grouped by polygon (``off[i]:off[i+1]`` belong to polygon i)."""

    x0: np.ndarray  # start point
    y0: np.ndarray
    dx: np.ndarray  # direction: end - start
    dy: np.ndarray
    len2: np.ndarray  # squared length (> 0)
    xmin: np.ndarray  # box
    xmax: np.ndarray
    ymin: np.ndarray
    ymax: np.ndarray
    off: np.ndarray

    @classmethod
    def from_geoms(cls, geoms: np.ndarray) -> _Segments:
        n = len(geoms)
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        valid = idx[:-1] == idx[1:]  # consecutive coordinates of one polygon
        # polygons with several rings: the step from one ring's last coordinate to the
        # next ring's first is not a segment
        counts = np.bincount(idx, minlength=n)
        start = _excl_cumsum(counts)
        complex_ = np.flatnonzero(
            (shapely.get_type_id(geoms) == GeometryType.MULTIPOLYGON.value)
            | (shapely.get_num_interior_rings(geoms) > 0)
        )
        if len(complex_):
            parts, part_of = shapely.get_parts(geoms[complex_], return_index=True)
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            poly_of_ring = complex_[part_of[ring_of]]
            nc = shapely.get_num_coordinates(rings)
            cs = np.cumsum(nc)
            first = np.r_[True, poly_of_ring[1:] != poly_of_ring[:-1]]
            base = np.maximum.accumulate(np.where(first, cs - nc, 0))
            ring_last = start[poly_of_ring] + (cs - base) - 1
            last_of_poly = np.r_[first[1:], True]
            phantom = ring_last[~last_of_poly]
            valid[phantom] = False
        p0 = coords[:-1][valid]
        p1 = coords[1:][valid]
        seg_poly = idx[:-1][valid]
        nonzero = (p0[:, 0] != p1[:, 0]) | (p0[:, 1] != p1[:, 1])
        p0, p1, seg_poly = p0[nonzero], p1[nonzero], seg_poly[nonzero]
        off = np.zeros(n + 1, dtype=np.intp)
        np.cumsum(np.bincount(seg_poly, minlength=n), out=off[1:])
        x0, y0 = p0[:, 0].copy(), p0[:, 1].copy()
        x1, y1 = p1[:, 0].copy(), p1[:, 1].copy()
        dx, dy = x1 - x0, y1 - y0
        return cls(
            x0,
            y0,
            dx,
            dy,
            dx * dx + dy * dy,
            np.minimum(x0, x1),
            np.maximum(x0, x1),
            np.minimum(y0, y1),
            np.maximum(y0, y1),
            off,
        )


@dataclass
class _Facing:
    """Facing fronts of pairs ``(left[k], right[k])``.

    ``length_left[k]``: length of the boundary of ``left[k]`` within delta of the boundary
    of ``right[k]``; ``length_right`` the reverse. ``pieces[side]`` holds the disjoint
    pieces of each front as ``(pair, segment, t0, t1)`` (segment parameters), ordered by
    pair and then along the boundary.
    """

    length_left: np.ndarray
    length_right: np.ndarray
    pieces: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    def subset(self, cand: np.ndarray) -> _Facing:
        """The fronts of pairs ``cand`` (sorted), renumbered 0..len(cand)-1."""
        local = np.full(len(self.length_left), -1, dtype=np.intp)
        local[cand] = np.arange(len(cand))
        pieces = {}
        for side, (pair, *rest) in self.pieces.items():
            keep = local[pair] >= 0
            pieces[side] = (local[pair[keep]], *(v[keep] for v in rest))
        return _Facing(self.length_left[cand], self.length_right[cand], pieces)

    def coords(self, segs: _Segments, side: str):
        """(pair, x0, y0, x1, y1) of the pieces of one side."""
        pair, seg, t0, t1 = self.pieces[side]
        x, y, dx, dy = segs.x0[seg], segs.y0[seg], segs.dx[seg], segs.dy[seg]
        return pair, x + t0 * dx, y + t0 * dy, x + t1 * dx, y + t1 * dy


def _excl_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a) + 1, dtype=np.intp)
    np.cumsum(a, out=out[1:])
    return out[:-1]


def _expand_side(segs: _Segments, bounds, polys, others, delta):
    """(pair, segment) for the segments of ``polys[k]`` whose box meets box(others[k]) + delta."""
    cnt = segs.off[polys + 1] - segs.off[polys]
    total = int(cnt.sum())
    pair = np.repeat(np.arange(len(polys)), cnt)
    seg = np.arange(total) - np.repeat(_excl_cumsum(cnt) - segs.off[polys], cnt)
    ob = bounds[others]
    keep = (segs.xmax[seg] >= ob[pair, 0] - delta) & (segs.xmin[seg] <= ob[pair, 2] + delta)
    pair, seg = pair[keep], seg[keep]
    keep = (segs.ymax[seg] >= ob[pair, 1] - delta) & (segs.ymin[seg] <= ob[pair, 3] + delta)
    return pair[keep], seg[keep]


def _clip_linear(lo, hi, v0, dv, vmin, vmax):
    """Narrow [lo, hi] to the t with vmin <= v0 + t*dv <= vmax (Liang-Barsky, exact)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (vmin - v0) / dv
        tb = (vmax - v0) / dv
    flat = dv == 0
    inside = (v0 >= vmin) & (v0 <= vmax)
    tl = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb))
    th = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb))
    return np.maximum(lo, tl), np.minimum(hi, th)


def _capsule_interval(ax0, ay0, dx, dy, qa, bx0, by0, ex, ey, e2, r):
    """Parameter interval [lo, hi] ⊂ [0, 1] of segment a within distance r of segment b.

    Segment a is ``(ax0, ay0) + t * (dx, dy)`` with ``qa = dx² + dy²``; segment b starts at
    ``(bx0, by0)`` with direction ``(ex, ey)`` and ``e2 = ex² + ey²`` (both > 0). The set
    is convex (the distance to a segment is a convex function), so it is the hull of its
    intersections with the three convex pieces of the capsule around b: the slab and the
    two end discs. Empty intervals have ``lo > hi`` or NaN.
    """
    wx = ax0 - bx0
    wy = ay0 - by0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # slab, in units scaled by |b|: 0 <= s <= e2 along b, |h| <= r|b| across it
        s0 = wx * ex + wy * ey
        ds = dx * ex + dy * ey
        h0 = wx * ey - wy * ex
        dh = dx * ey - dy * ex
        rl = r * np.sqrt(e2)
        inv = 1.0 / ds
        ta = -s0 * inv
        tb = (e2 - s0) * inv
        lo = np.minimum(ta, tb)
        hi = np.maximum(ta, tb)
        inv = 1.0 / dh
        ta = (-rl - h0) * inv
        tb = (rl - h0) * inv
        np.maximum(lo, np.minimum(ta, tb), out=lo)
        np.minimum(hi, np.maximum(ta, tb), out=hi)
        flat = np.flatnonzero((ds == 0) | (dh == 0))  # parallel or perpendicular: redo exactly
        if len(flat):
            fl, fh = _clip_linear(
                np.full(len(flat), -np.inf),
                np.full(len(flat), np.inf),
                s0[flat],
                ds[flat],
                0.0,
                e2[flat],
            )
            lo[flat], hi[flat] = _clip_linear(fl, fh, h0[flat], dh[flat], -rl[flat], rl[flat])
        empty = ~(lo <= hi)
        lo[empty] = np.nan
        hi[empty] = np.nan
        # end discs: |w + t d - c| <= r; NaN where the line misses the disc
        r2 = r * r
        for px, py in ((wx, wy), (wx - ex, wy - ey)):
            qb = dx * px + dy * py
            disc = qb * qb - qa * (px * px + py * py - r2)
            sq = np.sqrt(disc)
            lo = np.fmin(lo, (-qb - sq) / qa)
            hi = np.fmax(hi, (-qb + sq) / qa)
    return np.maximum(lo, 0.0), np.minimum(hi, 1.0)


def _union_sorted(group, lo, hi):
    """Disjoint pieces of the union of intervals [lo, hi] within each group (any order).

    Returns (order, start, end): intervals sorted by (group, lo) and, for each, the part not
    covered by earlier intervals of its group (``end <= start`` when none).
    """
    k = len(group)
    order = np.lexsort((lo, group))
    group, lo, hi = group[order], lo[order], hi[order]
    rank = np.cumsum(np.r_[False, group[1:] != group[:-1]])
    run = np.maximum.accumulate(2.0 * rank + hi)  # hi in [0, 1]: never leaks across groups
    prev_hi = np.empty(k)
    prev_hi[:1] = -np.inf
    prev_hi[1:] = run[:-1] - 2.0 * rank[1:]  # < 0 when the previous interval is in another group
    return order, np.maximum(lo, prev_hi), hi


def _union_pieces(group, lo, hi):
    """Union of the intervals [lo, hi] of each group; `group` must be sorted.

    Returns (piece_group, start, end) ordered by group then start. The intervals of a group
    come in the ring order of the other polygon's segments, so they usually overlap one
    after the other, allowing one break where the run wraps around the ring start; such a
    group is one piece [min lo, max hi]. The other groups are sorted and swept.
    """
    k = len(group)
    if not k:
        return group, lo, hi
    new = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(new)
    n_groups = len(starts)
    size = np.diff(np.r_[starts, k])
    rank = np.cumsum(new) - 1
    disjoint = np.minimum(hi[1:], hi[:-1]) < np.maximum(lo[1:], lo[:-1])
    breaks = np.bincount(rank[1:][disjoint & ~new[1:]], minlength=n_groups)
    last = starts + size - 1
    wrap = (size >= 3) & (np.minimum(hi[starts], hi[last]) < np.maximum(lo[starts], lo[last]))
    bad = np.where(size == 2, breaks > 0, breaks + wrap > 1)
    g_lo = np.minimum.reduceat(lo, starts)
    g_hi = np.maximum.reduceat(hi, starts)
    g_id = group[starts]
    if not bad.any():
        return g_id, g_lo, g_hi
    sub = bad[rank]
    order, s, e = _union_sorted(group[sub], lo[sub], hi[sub])
    keep = e > s
    pg = np.concatenate([g_id[~bad], group[sub][order][keep]])
    ps = np.concatenate([g_lo[~bad], s[keep]])
    pe = np.concatenate([g_hi[~bad], e[keep]])
    o = np.lexsort((ps, pg))
    return pg[o], ps[o], pe[o]


def _facing_fronts(segs: _Segments, bounds, left, right, delta, chunk=8192) -> _Facing:
    """Facing fronts of pairs ``(left[k], right[k])`` at distance `delta`.

    The pairs are processed `chunk` at a time so that the intermediate arrays stay in the
    CPU cache; each chunk is independent (see :func:`_facing_chunk`).
    """
    m = len(left)
    parts = [
        _facing_chunk(segs, bounds, left[c : c + chunk], right[c : c + chunk], delta)
        for c in range(0, m, chunk)
    ]
    if not parts:
        parts = [_facing_chunk(segs, bounds, left, right, delta)]
    offsets = range(0, max(m, 1), chunk)
    length_left = np.concatenate([p[0] for p in parts])
    length_right = np.concatenate([p[1] for p in parts])
    pieces = {}
    for i, side in enumerate(("left", "right")):
        cols = [p[2 + i] for p in parts]
        pieces[side] = (
            np.concatenate([c[0] + off for c, off in zip(cols, offsets)]),
            *(np.concatenate([c[j] for c in cols]) for j in (1, 2, 3)),
        )
    return _Facing(length_left, length_right, pieces)


def _facing_chunk(segs: _Segments, bounds, left, right, delta):
    """Lengths and pieces of the fronts of one chunk of pairs.

    For each pair the candidate segments of each side are those whose box meets the other
    polygon's box grown by `delta`; every candidate segment pair whose boxes come within
    `delta` gets its two capsule intervals, which are then united per segment.
    """
    m = len(left)
    pa, sa = _expand_side(segs, bounds, left, right, delta)
    pb, sb = _expand_side(segs, bounds, right, left, delta)
    nb = np.bincount(pb, minlength=m)
    reps = nb[pa]
    ia = np.repeat(np.arange(len(pa)), reps)
    ib = _excl_cumsum(nb)[pa[ia]] + (np.arange(len(ia)) - np.repeat(_excl_cumsum(reps), reps))
    a, b = sa[ia], sb[ib]
    near = np.flatnonzero(
        (segs.xmax[a] >= segs.xmin[b] - delta)
        & (segs.xmin[a] <= segs.xmax[b] + delta)
        & (segs.ymax[a] >= segs.ymin[b] - delta)
        & (segs.ymin[a] <= segs.ymax[b] + delta)
    )
    ja, jb, a, b = ia[near], ib[near], a[near], b[near]
    x0, y0, dx, dy, qa = segs.x0, segs.y0, segs.dx, segs.dy, segs.len2
    ax0, ay0, adx, ady, aq = x0[a], y0[a], dx[a], dy[a], qa[a]
    bx0, by0, bdx, bdy, bq = x0[b], y0[b], dx[b], dy[b], qa[b]
    out: list = [None, None]
    lengths = []
    for i, (entry, seg_of_entry, pair_of_entry, (lo, hi)) in enumerate(
        (
            (ja, sa, pa, _capsule_interval(ax0, ay0, adx, ady, aq, bx0, by0, bdx, bdy, bq, delta)),
            (jb, sb, pb, _capsule_interval(bx0, by0, bdx, bdy, bq, ax0, ay0, adx, ady, aq, delta)),
        )
    ):
        hit = lo <= hi
        entry, lo, hi = entry[hit], lo[hit], hi[hit]
        if i == 1:  # entries come in A-segment order; group them by B-segment
            by_entry = np.argsort(entry, kind="stable")
            entry, lo, hi = entry[by_entry], lo[by_entry], hi[by_entry]
        entry, start, end = _union_pieces(entry, lo, hi)
        seg = seg_of_entry[entry]
        pair = pair_of_entry[entry]
        lengths.append(np.bincount(pair, weights=np.sqrt(qa[seg]) * (end - start), minlength=m))
        out[i] = (pair, seg, start, end)
    return lengths[0], lengths[1], out[0], out[1]


