"""Build the compound adjacency graph: walls and lanes join compounds, barriers and 街道 lines cut them.

The graph is the input of packaging (:mod:`spatialreno.partition`): nodes are compounds
with the figures that package caps sum, edges say which compounds may share a package.

How an edge is decided, in order (all steps are vectorised over candidate pairs with
shapely 2 / GEOS and numpy; there is no Python loop over pairs):

1. **Contact.** With ``tolerance_m=0`` two compounds are joined when their interiors are
   disjoint and their boundaries meet: along a segment of positive length for
   ``rule="rook"`` (DE-9IM ``F***1****``), anywhere for ``rule="queen"`` (GEOS
   *touches*). These are exactly libpysal's ``Graph.build_contiguity(strict=True)``
   predicates. Overlapping compounds are not joined at tolerance 0 (a warning lists them).
   With ``tolerance_m > 0`` two compounds are joined when their polygon distance is at
   most ``tolerance_m`` (overlapping and touching compounds have distance 0). The rule
   then no longer separates corner from wall contacts, because a corner within the
   tolerance faces a front of positive length; use ``shared_m`` to tell them apart.
2. **Barriers.** An edge is dropped when a barrier separates the two compounds; see
   :func:`build_adjacency` for the exact rule.
3. **Boundary policy.** Edges between different values of a column such as ``street``
   are dropped (``"forbid"``), kept and marked (``"mark"``) or left alone (``"ignore"``).

Edge attributes: ``gap_m`` (polygon distance, 0 when touching) and ``shared_m`` (length of
the facing front, see :func:`build_adjacency`). Isolated compounds and small components
are kept and reported with a :class:`~spatialreno.errors.SpatialRenoWarning`;
:func:`adjacency_report` summarises a graph.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ._contracts import LINEAL, POLYGONAL, GeometryType, require_layer, type_names
from .errors import DataError, SchemaError, SpatialRenoWarning

__all__ = [
    "build_adjacency",
    "adjacency_report",
    "AdjacencyReport",
    "RULES",
    "BOUNDARY_POLICIES",
    "FRONT_EPS_M",
    "BARRIER_SNAP_M",
    "SAMPLE_FRACTIONS",
    "SMALL_COMPONENT_SIZE",
]

#: Contact rules accepted by :func:`build_adjacency`.
RULES: tuple[str, ...] = ("rook", "queen")
#: Boundary policies accepted by :func:`build_adjacency`.
BOUNDARY_POLICIES: tuple[str, ...] = ("forbid", "mark", "ignore")
#: Width (m) of the facing front of touching compounds (tolerance 0), used to place the
#: barrier test points on a shared wall.
FRONT_EPS_M = 1e-3
#: A connecting segment that comes within this distance (m) of a barrier *line* crosses it.
#: It lets a road centre line digitised on a shared wall cut that wall.
BARRIER_SNAP_M = 1e-2
#: Positions, as fractions of the facing front's length, of the test points on each
#: compound's front (both directions are sampled, so each edge gets 2 × 3 test segments).
SAMPLE_FRACTIONS: tuple[float, ...] = (1 / 6, 1 / 2, 5 / 6)
#: Components of at most this many compounds (but more than one) are warned about.
SMALL_COMPONENT_SIZE = 5
#: How many ids a warning or error lists before "... and N more".
_SHOW_IDS = 10
#: Frames from _build up to the user's call of build_adjacency (for warnings' stacklevel).
_USER_FROM_BUILD = 3
#: Default string attributes copied to nodes when present.
_DEFAULT_STR_ATTRS = ("street", "district", "adcode")

#: The stage name that messages start with.
STAGE = "build_adjacency"
#: Relative and absolute padding of the boxes grown by the tolerance, so that a pair at
#: exactly ``tolerance_m`` is never lost to rounding in the box query.
_BOX_PAD_REL = 1e-9
_BOX_PAD_M = 1e-9


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
    >>> with warnings.catch_warnings(record=True):
    ...     G = build_adjacency(compounds, tolerance_m=15, barriers=road)
    >>> sorted(G.edges()), G.graph["dropped_by_barriers"], G.graph["dropped_edges"]
    ([('a', 'b')], 1, [('b', 'c', 'barrier')])
    """
    tol = _check_options(rule, boundary_policy, tolerance_m)
    return _build(compounds, tol, rule, barriers, boundary, boundary_policy, node_attrs)


def _check_options(rule, boundary_policy, tolerance_m) -> float:
    """The closed option sets and the tolerance, as a float of metres."""
    if rule not in RULES:
        raise ValueError(f"`rule` must be one of {RULES}, got {rule!r}.")
    if boundary_policy not in BOUNDARY_POLICIES:
        raise ValueError(
            f"`boundary_policy` must be one of {BOUNDARY_POLICIES}, got {boundary_policy!r}."
        )
    try:
        tol = float(tolerance_m)
    except (TypeError, ValueError):
        raise ValueError(
            f"`tolerance_m` must be a number of metres >= 0, got {tolerance_m!r}."
        ) from None
    if not math.isfinite(tol) or tol < 0:
        raise ValueError(
            f"`tolerance_m` must be a finite number of metres >= 0, got {tolerance_m!r}."
        )
    return tol


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


@dataclass(frozen=True)
class AdjacencyReport:
    """Summary of an adjacency graph (see :func:`adjacency_report`).

    ``to_dict()``, ``to_series()`` and ``to_frame()`` give plain, DataFrame-friendly views;
    ``components()`` lists the components with their sizes.
    """

    n_compounds: int
    n_edges: int
    n_components: int
    component_sizes: tuple[int, ...]
    isolates: tuple[Hashable, ...]
    degree_min: int
    degree_mean: float
    degree_median: float
    degree_max: int
    longest_gap_edge: tuple[Hashable, Hashable] | None
    longest_gap_m: float
    dropped_by_barriers: int | None
    dropped_by_boundary: int | None
    crosses_boundary: int | None
    tolerance_m: float | None
    rule: str | None
    boundary: str | None
    boundary_policy: str | None

    @property
    def n_isolates(self) -> int:
        """Number of compounds without any neighbour."""
        return len(self.isolates)

    @property
    def largest_component(self) -> int:
        """Size of the largest component (0 for an empty graph)."""
        return self.component_sizes[0] if self.component_sizes else 0

    def to_dict(self) -> dict:
        """All fields as a plain dict (ids kept as tuples)."""
        out = asdict(self)
        out["n_isolates"] = self.n_isolates
        return out

    def to_series(self) -> pd.Series:
        """One value per metric; long fields are shortened for display."""
        d = self.to_dict()
        sizes = d.pop("component_sizes")
        isolates = d.pop("isolates")
        d["largest_component"] = self.largest_component
        d["component_sizes"] = _short_list(sizes)
        d["isolates"] = _short_list(isolates)
        return pd.Series(d, name="value", dtype=object).rename_axis("metric")

    def to_frame(self) -> pd.DataFrame:
        """A two-column table ``metric, value`` (for notebooks and Excel)."""
        return self.to_series().reset_index()

    def components(self) -> pd.DataFrame:
        """Component sizes as a DataFrame (``component``, ``size``), largest first."""
        return pd.DataFrame(
            {"component": range(len(self.component_sizes)), "size": list(self.component_sizes)}
        )

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    def __str__(self) -> str:
        return self.to_series().to_string()


def adjacency_report(G: nx.Graph) -> AdjacencyReport:
    """Summarise an adjacency graph: components, isolates, degrees, gaps, dropped edges.

    Parameters
    ----------
    G : networkx.Graph
        Usually the output of :func:`build_adjacency`; other graphs work too, with the
        ``G.graph`` fields reported as None when absent.

    Returns
    -------
    AdjacencyReport
        ``n_compounds``, ``n_edges``, ``n_components`` and ``component_sizes`` (largest
        first), ``isolates`` (ids), degree min/mean/median/max, ``longest_gap_edge`` and
        ``longest_gap_m`` (the widest gap an edge bridges), the edges dropped by barriers
        and by the boundary policy (from ``G.graph``), the number of edges marked
        ``crosses_boundary``, and the build options. ``.to_frame()`` gives a table.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.adjacency import adjacency_report, build_adjacency
    >>> compounds = gpd.GeoDataFrame(
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(23, 0, 30, 10), box(99, 0, 120, 9)],
    ...     index=pd.Index(list("abcz"), name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):  # 'z' has no neighbour
    ...     G = build_adjacency(compounds, tolerance_m=5)
    >>> r = adjacency_report(G)
    >>> r.n_components, r.component_sizes, r.isolates
    (2, (3, 1), ('z',))
    >>> r.longest_gap_edge, r.longest_gap_m
    (('b', 'c'), 3.0)
    """
    nodes = list(G.nodes)
    sizes = sorted((len(c) for c in nx.connected_components(G)), reverse=True)
    degrees = np.fromiter((d for _, d in G.degree()), dtype=float, count=len(nodes))
    isolates = tuple(v for v in nodes if G.degree(v) == 0)
    longest_edge, longest = None, 0.0
    marked = 0
    has_mark = False
    for u, v, d in G.edges(data=True):
        g = d.get("gap_m")
        if g is not None and (longest_edge is None or g > longest):
            longest_edge, longest = (u, v), float(g)
        if "crosses_boundary" in d:
            has_mark = True
            marked += bool(d["crosses_boundary"])
    return AdjacencyReport(
        n_compounds=len(nodes),
        n_edges=G.number_of_edges(),
        n_components=len(sizes),
        component_sizes=tuple(sizes),
        isolates=isolates,
        degree_min=int(degrees.min()) if len(degrees) else 0,
        degree_mean=float(degrees.mean()) if len(degrees) else 0.0,
        degree_median=float(np.median(degrees)) if len(degrees) else 0.0,
        degree_max=int(degrees.max()) if len(degrees) else 0,
        longest_gap_edge=longest_edge,
        longest_gap_m=longest,
        dropped_by_barriers=G.graph.get("dropped_by_barriers"),
        dropped_by_boundary=G.graph.get("dropped_by_boundary"),
        crosses_boundary=marked if has_mark else None,
        tolerance_m=G.graph.get("tolerance_m"),
        rule=G.graph.get("rule"),
        boundary=G.graph.get("boundary"),
        boundary_policy=G.graph.get("boundary_policy"),
    )


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


def _warn_ids(message: str, ids, stacklevel: int = _USER_FROM_BUILD + 1) -> None:
    # stacklevel counts from the caller of _warn_ids (1); the default suits helpers that
    # _build calls directly
    warnings.warn(f"{message}: {_short_list(ids)}.", SpatialRenoWarning, stacklevel=stacklevel + 1)


def _short_list(values) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_SHOW_IDS])
    more = f" ... and {len(values) - _SHOW_IDS} more" if len(values) > _SHOW_IDS else ""
    return f"[{shown}{more}]"


def _list_columns(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c != df.geometry.name]
    return ", ".join(map(repr, cols)) or "(none)"
