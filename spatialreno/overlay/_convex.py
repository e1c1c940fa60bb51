"""A numpy fast path for "box inside / outside compound" on convex compounds, so GEOS runs
only on the pairs it cannot decide."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import GeometryType

#: compounds with more corners than this are left to GEOS
MAX_VERTICES = 64
#: a corner must be this far (metres) inside every edge, or beyond one, to decide
DECIDE_EPS_M = 1e-6
#: relative tolerance of the turn test (cross product against the edge lengths)
TURN_RTOL = 1e-9


class ConvexTest:
    """Array-wise "box inside / outside compound" tests for convex compounds, in numpy.

    Most compounds are convex quadrilaterals, and most structures and pipes lie well
    inside one or clearly beside it. For those, the four corners of the feature's bounding
    box tested against the compound's edges (signed distances along the inward normals)
    decide without GEOS: inside when every corner is more than ``eps`` inside every edge;
    outside when all corners are more than ``eps`` beyond one edge (a separating line).
    Anything else, and compounds that are not convex simple polygons of at most
    ``max_vertices`` corners, is left undecided for the exact GEOS predicate.
    """

    def __init__(self, cgeoms: np.ndarray, *, max_vertices: int = MAX_VERTICES,
                 eps: float = DECIDE_EPS_M):
        m = len(cgeoms)
        self.eps = eps
        self.start = np.zeros(m, dtype=np.int64)
        self.count = np.zeros(m, dtype=np.int64)
        self.x0 = self.y0 = self.nx = self.ny = np.zeros(0)
        # simple polygons (compounds are checked valid, so their rings do not cross)
        cand = np.flatnonzero((shapely.get_type_id(cgeoms) == GeometryType.POLYGON)
                              & (shapely.get_num_interior_rings(cgeoms) == 0))
        ext = shapely.get_exterior_ring(cgeoms[cand])
        keep = shapely.get_num_coordinates(ext) <= max_vertices + 1
        cand, ext = cand[keep], ext[keep]
        if len(cand) == 0:
            return
        xy, owner = shapely.get_coordinates(ext, return_index=True)
        last = np.ones(len(owner), dtype=bool)
        last[:-1] = owner[1:] != owner[:-1]
        e0 = np.flatnonzero(~last)  # every vertex but the closing one starts an edge
        dx, dy = xy[e0 + 1, 0] - xy[e0, 0], xy[e0 + 1, 1] - xy[e0, 1]
        length = np.hypot(dx, dy)
        real = length > 0  # repeated vertices make no edge
        e0, dx, dy, length = e0[real], dx[real], dy[real], length[real]
        eo = owner[e0]
        # edges shorter than eps carry no usable direction: leave those compounds to GEOS
        short = np.bincount(eo, weights=length < eps, minlength=len(cand)) > 0
        n_edges = np.bincount(eo, minlength=len(cand))
        first_e = np.concatenate([[0], np.cumsum(n_edges)[:-1]]).astype(np.int64)
        sign = np.where(shapely.is_ccw(ext), 1.0, -1.0)
        # convex: a valid ring that turns the same way at every vertex, never doubling back
        nxt = np.arange(len(e0)) + 1
        ring_last = np.flatnonzero(np.r_[eo[1:] != eo[:-1], True])
        nxt[ring_last] = first_e[eo[ring_last]]
        turn = (dx * dy[nxt] - dy * dx[nxt]) * sign[eo]
        tol = TURN_RTOL * length * length[nxt]
        back = (dx * dx[nxt] + dy * dy[nxt]) < 0
        bent = (turn < -tol) | ((turn <= tol) & back)
        convex = (np.bincount(eo, weights=bent, minlength=len(cand)) == 0) & (n_edges >= 3) & ~short
        # inward unit normal: left of the edge for a counter-clockwise ring
        self.x0, self.y0 = xy[e0, 0], xy[e0, 1]
        self.nx, self.ny = -dy / length * sign[eo], dx / length * sign[eo]
        self.count[cand[convex]] = n_edges[convex]
        self.start[cand] = first_e

    def classify(self, comp: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside, outside) per (compound, box) pair; neither means undecided.

        ``bounds`` rows are ``xmin, ymin, xmax, ymax`` (a point has xmin == xmax).
        """
        inside = np.zeros(len(comp), dtype=bool)
        outside = np.zeros(len(comp), dtype=bool)
        cnt = self.count[comp]
        live = np.flatnonzero(cnt > 0)
        if len(live) == 0:
            return inside, outside
        lo = np.full(len(live), np.inf)  # least corner distance over all edges
        sep = np.full(len(live), np.inf)  # least greatest-corner distance over all edges
        xmin, ymin, xmax, ymax = (bounds[live, k] for k in range(4))
        start, cnt = self.start[comp[live]], cnt[live]
        # one pass per edge slot (at most max_vertices passes, each over all pairs)
        for k in range(int(cnt.max())):
            sel = np.flatnonzero(cnt > k) if k >= cnt.min() else slice(None)
            e = start[sel] + k
            nx, ny, x0, y0 = self.nx[e], self.ny[e], self.x0[e], self.y0[e]
            # the signed distance is linear, so its extremes over the box are at corners
            ax, bx = nx * (xmin[sel] - x0), nx * (xmax[sel] - x0)
            ay, by = ny * (ymin[sel] - y0), ny * (ymax[sel] - y0)
            lo[sel] = np.minimum(lo[sel], np.minimum(ax, bx) + np.minimum(ay, by))
            sep[sel] = np.minimum(sep[sel], np.maximum(ax, bx) + np.maximum(ay, by))
        inside[live] = lo > self.eps
        outside[live] = sep < -self.eps
        return inside, outside

    def inside(self, comp: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(decided, inside) per pair: decided where clearly inside or clearly outside."""
        inside, outside = self.classify(comp, bounds)
        return inside | outside, inside
