"""The build: contact, barriers, boundary policy, then the graph (see the package docstring)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .._contracts import require_layer
from ..errors import SchemaError, SpatialRenoWarning
from .barriers import _barrier_cuts, _Barriers, _check_barriers
from .fronts import _Facing, _facing_fronts, _Segments
from .options import (
    _BOX_PAD_M,
    _BOX_PAD_REL,
    _DEFAULT_STR_ATTRS,
    _SHOW_IDS,
    _USER_FROM_BUILD,
    SMALL_COMPONENT_SIZE,
    STAGE,
    _check_options,
    _list_columns,
    _warn_ids,
)


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def build_adjacency(
    compounds: gpd.GeoDataFrame,
    *,
    tolerance_m: float = 0.0,
    rule: Literal["rook", "queen"] = "rook",
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    boundary: str | None = None,
    boundary_policy: Literal["forbid", "mark", "ignore"] = "forbid",
    node_attrs: Sequence[str] | None = None,
) -> nx.Graph:
    """Build the compound adjacency graph.

    Parameters
    ----------
    compounds : GeoDataFrame
        Indexed by ``compound_id`` (unique), Polygon/MultiPolygon, valid and non-empty,
        in a projected CRS in metres (EPSG:4547 in Wuhan).
    tolerance_m : float, default 0.0
        Largest gap (m) bridged between two compounds, e.g. a lane of 15 m. 0 joins only
        compounds that touch.
    rule : {"rook", "queen"}, default "rook"
        At ``tolerance_m=0``: "rook" joins compounds sharing a wall segment of positive
        length, "queen" also joins compounds touching at a corner. With a tolerance both
        join every pair within ``tolerance_m`` (see the module docstring).
    barriers : GeoDataFrame or GeoSeries, optional
        Lines (arterial centre lines, railways, walls) and/or polygons (rivers) that no
        edge may cross, in the CRS of `compounds`. A ``barrier_type`` column, if present,
        is summarised in ``G.graph["barriers"]``. Null or empty geometries are skipped
        with a warning.
    boundary : str, optional
        Name of a column of `compounds` (``"street"``, ``"district"``, ...) whose value
        changes mark an administrative boundary.
    boundary_policy : {"forbid", "mark", "ignore"}, default "forbid"
        What to do with edges joining different `boundary` values: drop them, keep them
        with ``crosses_boundary=True`` (every other edge gets ``False``), or nothing.
        A compound with a missing value never counts as crossing (a warning lists them).
    node_attrs : sequence of str, optional
        Columns copied onto the nodes. By default every numeric column plus ``street``,
        ``district`` and ``adcode`` when present. ``x``, ``y`` and ``area_m2`` are always
        set.

    Returns
    -------
    networkx.Graph
        One node per compound (``compound_id``), isolated compounds included, with ``x``,
        ``y`` (``shapely.point_on_surface``), ``area_m2`` and the `node_attrs`.
        Each edge has

        * ``gap_m``: the polygon distance (0 when touching or overlapping);
        * ``shared_m``: the facing front. At ``tolerance_m=0`` it is the length of the
          shared boundary (``length(intersection(A, B))``, libpysal's perimeter weight;
          0 for corner contacts). With a tolerance it is the mean of the two one-way
          lengths "boundary of A within ``tolerance_m`` of the boundary of B" and the
          reverse. A shared wall of length L then counts about ``L + 2 * tolerance_m``,
          since the walls turning away stay within reach for ``tolerance_m`` each end,
          and a corner contact about ``2 * tolerance_m``.
        * ``crosses_boundary`` (only with ``boundary_policy="mark"``).

        ``G.graph`` holds ``crs`` (``CRS.to_string()``), ``tolerance_m``, ``rule``,
        ``barriers`` (None, or ``{"count": n, "types": {type: n}}``), ``boundary``,
        ``boundary_policy``, ``candidate_edges``, ``dropped_by_barriers``,
        ``dropped_by_boundary``, ``overlapping_pairs`` and ``dropped_edges`` (a list of
        ``(u, v, reason)`` with reason ``"barrier"`` or ``"boundary"``).

    Raises
    ------
    CRSError
        If `compounds` has no CRS, a geographic CRS or non-metre units, or `barriers`
        has another CRS.
    DataError
        If the index is not unique, or a geometry is missing, empty, invalid or not a
        polygon; the message lists the ids.
    SchemaError
        If `boundary` or a `node_attrs` name is not a column.
    ValueError
        If `rule`, `boundary_policy` or `tolerance_m` is not allowed.

    Notes
    -----
    **Barrier rule.** Each edge is tested with up to 7 connecting segments:

    * the shortest line between the two compounds (``shapely.shortest_line``), when they
      do not touch (``gap_m > 0``);
    * 3 segments from each compound's *facing front* (the part of its boundary within
      ``max(tolerance_m, FRONT_EPS_M)`` of the other's boundary), at 1/6, 1/2 and 5/6 of
      the front's length, each to the nearest point of the other compound's boundary. On a
      shared wall these segments shrink to points on the wall.

    A segment *crosses* a barrier line when it comes within ``BARRIER_SNAP_M`` (1 cm) of
    it (so a road centre line digitised on a shared wall cuts the wall), and a barrier
    polygon when it meets the polygon's interior (a lane along a river bank does not cross
    the river). The edge is dropped when at least half of its test segments cross a
    barrier. So a barrier along the lane between two compounds cuts them, and so does one
    whose end lets the shortest line slip past while most of the frontage is across it; a
    road stub that blocks only a small part of a long front does not, nor does a road that
    crosses a shared wall instead of running along it, nor one that blocks only the point
    of closest approach. A compound crossed by a barrier keeps its neighbours on both
    sides (they really touch it); neighbours facing each other across the barrier are cut.
    Only barriers within ``tolerance_m`` of both compounds, and near the box of their
    fronts, can cut an edge (every test segment lies in that box), so edges far from any
    barrier cost nothing.

    **Speed.** Candidate pairs come from one ``STRtree`` query of boxes grown by the
    tolerance, then ``shapely.distance``; the facing fronts are computed exactly in numpy
    from the polygons' straight segments (capsule intervals, united per segment); barrier
    tests are numpy segment distances against the barrier segments near each front. The
    graph is assembled from the arrays with networkx's public API (``add_nodes_from``,
    ``add_edges_from``).
    200,000 compounds take about 2.5 s on 2 cores (``benchmarks/adjacency.py``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import LineString, box
    >>> from spatialreno.adjacency import build_adjacency
    >>> compounds = gpd.GeoDataFrame(
    ...     {"households": [120, 80, 200], "street": ["A", "A", "B"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(210, 0, 300, 100)],
    ...     index=pd.Index(["a", "b", "c"], name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     G = build_adjacency(compounds)
    >>> sorted(G.edges(data="shared_m"))
    [('a', 'b', 100.0)]
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    build_adjacency: 1 compound(s) have no neighbour (tolerance_m=0); ...: ['c'].
    >>> G.graph["crs"], G.graph["rule"], G.graph["tolerance_m"]
    ('EPSG:4547', 'rook', 0.0)

    A 10 m lane is bridged with a tolerance, unless a barrier runs along it:

    >>> G = build_adjacency(compounds, tolerance_m=15, boundary="street", boundary_policy="mark")
    >>> sorted(G.edges(data="crosses_boundary"))
    [('a', 'b', False), ('b', 'c', True)]
    >>> G.edges["b", "c"]
    {'gap_m': 10.0, 'shared_m': 110.0, 'crosses_boundary': True}
    >>> road = gpd.GeoSeries([LineString([(205, -50), (205, 150)])], crs="EPSG:4547")
    >>> with warnings.catch_warnings(record=True):  # 'c' has no neighbour left
    ...     warnings.simplefilter("always")
    ...     G = build_adjacency(compounds, tolerance_m=15, barriers=road)
    >>> sorted(G.edges()), G.graph["dropped_by_barriers"], G.graph["dropped_edges"]
    ([('a', 'b')], 1, [('b', 'c', 'barrier')])
    """
    tol = _check_options(rule, boundary_policy, tolerance_m)
    return _build(compounds, tol, rule, barriers, boundary, boundary_policy, node_attrs)


def _build(compounds, tol, rule, barriers, boundary, boundary_policy, node_attrs) -> nx.Graph:
    """The body of :func:`build_adjacency`, after the option checks: a sequence of steps.

    Warnings are issued here or by helpers called from here (their ``stacklevel`` counts
    on it: see ``_USER_FROM_BUILD``).
    """
    compounds = require_layer(compounds, "compounds", stage=STAGE,
                              columns=() if boundary is None else (boundary,))
    attr_names = _resolve_node_attrs(compounds, node_attrs)
    bar = _check_barriers(barriers, compounds.crs) if barriers is not None else None
    geoms = np.asarray(compounds.geometry.array, dtype=object)
    ids = compounds.index
    pairs = _contact(geoms, tol, rule)
    if len(pairs.overlapping[0]):
        _warn_overlaps(ids, pairs.overlapping)
    keep = np.ones(pairs.n, dtype=bool)
    cut_barrier = _barrier_step(geoms, pairs, tol, bar)
    keep &= ~cut_barrier
    crosses, cut_boundary = _boundary_step(compounds, pairs, boundary, boundary_policy, keep)
    keep &= ~cut_boundary
    graph_attrs = _graph_attrs(compounds, ids, pairs, tol, rule, bar, boundary,
                               boundary_policy, cut_barrier, cut_boundary)
    G = _assemble(compounds, geoms, attr_names, pairs, keep, crosses, graph_attrs)
    _warn_components(ids, pairs.left[keep], pairs.right[keep], tol)
    return G


@dataclass
class _Pairs:
    """Candidate edges ``(left[k], right[k])`` (positions, left < right) from the contact step.

    ``gap`` and ``shared`` are the edge attributes; ``tree`` (compounds' STRtree),
    ``segs`` (boundary segments, computed on demand) and ``facing`` (fronts, with a
    tolerance) are reused by the barrier step.
    """

    left: np.ndarray
    right: np.ndarray
    gap: np.ndarray
    shared: np.ndarray
    overlapping: tuple[np.ndarray, np.ndarray]
    tree: shapely.STRtree | None = None
    segs: _Segments | None = None
    facing: _Facing | None = None

    @property
    def n(self) -> int:
        return len(self.left)


def _contact(geoms: np.ndarray, tol: float, rule: str) -> _Pairs:
    """Step 1: pairs that touch (tolerance 0) or lie within the tolerance."""
    none = np.empty(0, dtype=np.intp)
    if len(geoms) < 2:
        return _Pairs(none, none, np.empty(0), np.empty(0), (none, none))
    tree = shapely.STRtree(geoms)
    if tol == 0.0:
        left, right, overlap_pairs = _touching_pairs(geoms, tree, rule)
        shared = shapely.length(shapely.intersection(geoms[left], geoms[right]))
        return _Pairs(left, right, np.zeros(len(left)), shared, overlap_pairs, tree)
    left, right, gap = _pairs_within(geoms, tree, tol)
    segs = _Segments.from_geoms(geoms)
    facing = _facing_fronts(segs, shapely.bounds(geoms), left, right, tol)
    shared = 0.5 * (facing.length_left + facing.length_right)
    return _Pairs(left, right, gap, shared, (none, none), tree, segs, facing)


def _barrier_step(geoms: np.ndarray, pairs: _Pairs, tol: float, bar: _Barriers | None):
    """Step 2: which candidate edges a barrier cuts."""
    if bar is None or not pairs.n or not bar.n:
        return np.zeros(pairs.n, dtype=bool)
    if pairs.segs is None:
        pairs.segs = _Segments.from_geoms(geoms)
    return _barrier_cuts(geoms, pairs.tree, pairs.segs, pairs.left, pairs.right, pairs.gap,
                         tol, pairs.facing, bar)


def _boundary_step(compounds, pairs: _Pairs, boundary, boundary_policy, keep):
    """Step 3: ``(crosses, cut)``: the ``crosses_boundary`` edge flags (``None`` unless
    the policy is ``"mark"``) and the edges the ``"forbid"`` policy drops."""
    cut = np.zeros(pairs.n, dtype=bool)
    if boundary is None or boundary_policy == "ignore":
        return None, cut
    values = compounds[boundary]
    missing = values.isna().to_numpy()
    if missing.any():
        _warn_ids(
            f"{STAGE}: {int(missing.sum())} compound(s) have no {boundary!r} "
            "value; their edges never count as crossing the boundary",
            compounds.index[missing],
        )
    vals = values.to_numpy(dtype=object)
    crosses = np.zeros(pairs.n, dtype=bool)
    if pairs.n:
        left, right = pairs.left, pairs.right
        known = ~(missing[left] | missing[right])
        crosses[known] = vals[left[known]] != vals[right[known]]
    if boundary_policy == "forbid":
        return None, crosses & keep
    return crosses, cut


def _graph_attrs(compounds, ids, pairs: _Pairs, tol, rule, bar, boundary, boundary_policy,
                 cut_barrier, cut_boundary) -> dict:
    """``G.graph``: the build options and what the steps dropped."""
    id_list = ids.tolist()
    dropped = [
        (id_list[i], id_list[j], reason)
        for cut, reason in ((cut_barrier, "barrier"), (cut_boundary, "boundary"))
        for i, j in zip(pairs.left[cut].tolist(), pairs.right[cut].tolist())
    ]
    return {
        "crs": compounds.crs.to_string(),
        "tolerance_m": tol,
        "rule": rule,
        "barriers": bar.summary if bar is not None else None,
        "boundary": boundary,
        "boundary_policy": boundary_policy,
        "candidate_edges": int(pairs.n),
        "dropped_by_barriers": int(cut_barrier.sum()),
        "dropped_by_boundary": int(cut_boundary.sum()),
        "overlapping_pairs": len(pairs.overlapping[0]),
        "dropped_edges": dropped,
    }


def _assemble(compounds, geoms, attr_names, pairs: _Pairs, keep, crosses, graph_attrs):
    """The graph: nodes with their attributes, the kept edges with theirs."""
    pos = shapely.get_coordinates(shapely.point_on_surface(geoms))
    node_data = {name: compounds[name].tolist() for name in attr_names}
    node_data["area_m2"] = shapely.area(geoms).tolist()
    node_data["x"] = pos[:, 0].tolist()
    node_data["y"] = pos[:, 1].tolist()
    edge_data = {"gap_m": pairs.gap[keep], "shared_m": pairs.shared[keep]}
    if crosses is not None:
        edge_data["crosses_boundary"] = crosses[keep]
    return _graph_from_arrays(compounds.index.tolist(), node_data, pairs.left[keep],
                              pairs.right[keep], edge_data, graph_attrs)


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------
def _resolve_node_attrs(compounds: gpd.GeoDataFrame, node_attrs) -> list[str]:
    geom_name = compounds.geometry.name
    if node_attrs is None:
        names = [
            c
            for c in compounds.columns
            if c != geom_name
            and (pd.api.types.is_numeric_dtype(compounds[c]) or c in _DEFAULT_STR_ATTRS)
        ]
    else:
        if isinstance(node_attrs, str):
            node_attrs = [node_attrs]
        names = list(dict.fromkeys(node_attrs))
        missing = [c for c in names if c not in compounds.columns or c == geom_name]
        if missing:
            raise SchemaError(
                f"{STAGE}: node_attrs {missing} are not columns of `compounds`; "
                f"available: {_list_columns(compounds)}."
            )
    return [c for c in names if c not in ("x", "y", "area_m2")]


# --------------------------------------------------------------------------------------
# contact
# --------------------------------------------------------------------------------------
def _touching_pairs(geoms: np.ndarray, tree: shapely.STRtree, rule: str):
    """Pairs i < j that touch (queen) or share a segment (rook), and overlapping pairs."""
    a, b = tree.query(geoms)  # bounding boxes meet
    m = a < b
    a, b = a[m], b[m]
    if not len(a):
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, (empty, empty)
    im = shapely.relate(geoms[a], geoms[b]).astype("U9").view("U1").reshape(-1, 9)
    interiors_disjoint = im[:, 0] == "F"
    if rule == "rook":
        ok = interiors_disjoint & (im[:, 4] == "1")
    else:  # GEOS touches: II = F and (IB or BI or BB) not F
        ok = interiors_disjoint & ((im[:, 1] != "F") | (im[:, 3] != "F") | (im[:, 4] != "F"))
    overlap = ~interiors_disjoint
    return a[ok], b[ok], (a[overlap], b[overlap])


def _pairs_within(geoms: np.ndarray, tree: shapely.STRtree, tol: float):
    """Pairs i < j with ``shapely.distance <= tol`` and their distances."""
    bounds = shapely.bounds(geoms)
    pad = tol * (1 + _BOX_PAD_REL) + _BOX_PAD_M
    boxes = shapely.box(
        bounds[:, 0] - pad, bounds[:, 1] - pad, bounds[:, 2] + pad, bounds[:, 3] + pad
    )
    a, b = tree.query(boxes)
    m = a < b
    a, b = a[m], b[m]
    d = shapely.distance(geoms[a], geoms[b])
    ok = d <= tol
    return a[ok], b[ok], d[ok]


# --------------------------------------------------------------------------------------
# graph assembly and warnings
# --------------------------------------------------------------------------------------
def _graph_from_arrays(ids: list, node_data: dict, u, v, edge_data: dict, graph_attrs: dict):
    """A networkx.Graph from arrays, built with networkx's public API only.

    ``node_data`` and ``edge_data`` map attribute names to one value per node / edge
    (both always hold at least one attribute). Nodes go in with ``add_nodes_from`` and
    edges with ``add_edges_from``, each with its own attribute dict, in array order.
    """
    G = nx.Graph(**graph_attrs)
    node_keys = list(node_data)
    node_rows = zip(*node_data.values(), strict=True)
    G.add_nodes_from((node, dict(zip(node_keys, row))) for node, row in zip(ids, node_rows))
    edge_keys = list(edge_data)
    edge_rows = zip(*(np.asarray(col).tolist() for col in edge_data.values()), strict=True)
    id_array = np.asarray(ids, dtype=object)
    ends = zip(id_array[u].tolist(), id_array[v].tolist(), strict=True)
    G.add_edges_from((a, b, dict(zip(edge_keys, row))) for (a, b), row in zip(ends, edge_rows))
    return G


def _warn_components(ids: pd.Index, u, v, tol) -> None:
    n = len(ids)
    if n == 0:
        return
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    adj = coo_array((np.ones(len(u)), (u, v)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels, minlength=n_comp)
    isolated = sizes[labels] == 1
    if isolated.any() and n > 1:
        _warn_ids(
            f"build_adjacency: {int(isolated.sum())} compound(s) have no neighbour "
            f"(tolerance_m={tol:g}); they are kept as single-compound components. Raise "
            "tolerance_m or check the barriers and boundary policy if they should join",
            ids[isolated],
        )
    largest = int(sizes.argmax())
    small_comp = np.flatnonzero((sizes > 1) & (sizes <= SMALL_COMPONENT_SIZE))
    small_comp = small_comp[small_comp != largest]
    if len(small_comp):
        members = np.isin(labels, small_comp)
        _warn_ids(
            f"build_adjacency: {len(small_comp)} small component(s) of 2-{SMALL_COMPONENT_SIZE} "
            f"compounds ({int(members.sum())} compounds in all) are cut off from the rest",
            ids[members],
        )


def _warn_overlaps(ids: pd.Index, pairs) -> None:
    a, b = pairs
    shown = ", ".join(f"{ids[i]!r}/{ids[j]!r}" for i, j in zip(a[:_SHOW_IDS], b[:_SHOW_IDS]))
    more = f" and {len(a) - _SHOW_IDS} more" if len(a) > _SHOW_IDS else ""
    warnings.warn(
        f"build_adjacency: {len(a)} pair(s) of compounds overlap and are not joined at "
        f"tolerance_m=0: {shown}{more}. Repair the overlaps or use tolerance_m > 0.",
        SpatialRenoWarning,
        stacklevel=_USER_FROM_BUILD + 1,
    )

