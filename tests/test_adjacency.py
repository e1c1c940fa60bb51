"""Tests of spatialreno.adjacency: build_adjacency and adjacency_report."""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiPolygon, Point, Polygon, box

import spatialreno as sr
from spatialreno import CRSError, DataError, SchemaError, SpatialRenoWarning
from spatialreno.adjacency import (
    BOUNDARY_POLICIES,
    RULES,
    _graph_from_arrays,
    adjacency_report,
    build_adjacency,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
HANGZHOU = REAL / "hangzhou-osm-landuse" / "hangzhou-osm-landuse.gpkg"
CRS = "EPSG:4547"

pytestmark = pytest.mark.filterwarnings("error::spatialreno.SpatialRenoWarning")


# --------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------
def frame(geoms, ids=None, crs=CRS, **columns) -> gpd.GeoDataFrame:
    ids = ids if ids is not None else [f"c{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        columns, geometry=list(geoms), index=pd.Index(ids, name="compound_id"), crs=crs
    )


def lines(*coords, crs=CRS, types=None) -> gpd.GeoDataFrame:
    geoms = [LineString(c) if not isinstance(c, shapely.Geometry) else c for c in coords]
    return gpd.GeoDataFrame(
        {"barrier_type": types or ["arterial"] * len(geoms)},
        geometry=geoms,
        index=pd.Index([f"b{i}" for i in range(len(geoms))], name="barrier_id"),
        crs=crs,
    )


def edge_set(G) -> set[frozenset]:
    return {frozenset(e) for e in G.edges}


#: The build_adjacency warnings the property and real-data tests provoke in passing
#: (other tests assert them with pytest.warns): isolates, small components, overlaps.
INCIDENTAL = [r".*have no neighbour", r".*small component\(s\)", r".*overlap and are not joined"]


def quiet(func, *args, **kwargs):
    """Call with only the INCIDENTAL SpatialRenoWarnings silenced."""
    with warnings.catch_warnings():
        for message in INCIDENTAL:
            warnings.filterwarnings("ignore", message, SpatialRenoWarning)
        return func(*args, **kwargs)


def brute_force_within(gdf, tol) -> set[frozenset]:
    g = np.asarray(gdf.geometry.array)
    ids = list(gdf.index)
    i, j = np.triu_indices(len(g), k=1)
    d = shapely.distance(g[i], g[j])
    return {frozenset((ids[a], ids[b])) for a, b in zip(i[d <= tol], j[d <= tol])}


def facing_reference(a, b, tol) -> float:
    """GEOS reference of the one-way facing length: boundary(a) within tol of boundary(b)."""
    return shapely.intersection(a.boundary, b.boundary.buffer(tol, quad_segs=256)).length


def assert_shared_m_bracketed(shared, a, b, tol, quad_segs=64):
    """`shared` lies between the GEOS measures at 0.98 and 1.02 times the tolerance.

    GEOS buffers are approximations: arcs are inscribed polygons and the input line is
    simplified by 1 % of the distance first, so a GEOS reference can be off where a wall
    grazes the tolerance. Bracketing with a 2 % margin on the distance keeps the test exact
    in what it claims (the measure is monotonic in the distance) and robust.
    """

    def mean(r):
        return (
            sum(
                shapely.intersection(p.boundary, q.boundary.buffer(r, quad_segs=quad_segs)).length
                for p, q in ((a, b), (b, a))
            )
            / 2
        )

    assert (
        mean(0.98 * tol) - 1e-9
        <= shared
        <= mean(1.02 * tol / np.cos(np.pi / (4 * quad_segs))) + 1e-9
    )


@pytest.fixture
def grid3x3() -> gpd.GeoDataFrame:
    """Nine 100 m compounds, 10 households each, two 街道 (left column is street "W").

    g h i
    d e f
    a b c
    """
    cells = [box(x, y, x + 100, y + 100) for y in (0, 100, 200) for x in (0, 100, 200)]
    return frame(
        cells,
        ids=list("abcdefghi"),
        households=[10] * 9,
        floor_area_m2=[1000.0] * 9,
        street=["W", "E", "E"] * 3,
        name=[f"小区{k}" for k in "abcdefghi"],
    )


# --------------------------------------------------------------------------------------
# contact, nodes, graph attributes
# --------------------------------------------------------------------------------------
def test_public_api():
    assert sr.build_adjacency is build_adjacency
    assert sr.adjacency_report is adjacency_report


def test_rook_and_queen_on_grid(grid3x3):
    rook = build_adjacency(grid3x3)
    queen = build_adjacency(grid3x3, rule="queen")
    assert rook.number_of_edges() == 12
    assert queen.number_of_edges() == 20
    assert edge_set(rook) < edge_set(queen)
    assert rook.edges["a", "b"] == {"gap_m": 0.0, "shared_m": 100.0}
    assert queen.edges["a", "e"] == {"gap_m": 0.0, "shared_m": 0.0}  # corner contact
    assert list(rook.nodes) == list(grid3x3.index)


def test_node_attributes_default_and_explicit(grid3x3):
    G = build_adjacency(grid3x3)
    a = G.nodes["a"]
    assert set(a) == {"households", "floor_area_m2", "street", "area_m2", "x", "y"}
    assert a["households"] == 10 and a["street"] == "W" and a["area_m2"] == 10_000.0
    assert grid3x3.geometry["a"].contains(Point(a["x"], a["y"]))
    G = build_adjacency(grid3x3, node_attrs=["name"])
    assert set(G.nodes["a"]) == {"name", "area_m2", "x", "y"}
    assert G.nodes["e"]["name"] == "小区e"
    with pytest.raises(SchemaError, match="'cost_total'"):
        build_adjacency(grid3x3, node_attrs=["households", "cost_total"])


def test_graph_attributes(grid3x3):
    G = build_adjacency(
        grid3x3,
        tolerance_m=5,
        rule="queen",
        boundary="street",
        boundary_policy="mark",
        barriers=lines([(150, -10), (150, 5)]),
    )
    assert G.graph["crs"] == "EPSG:4547"
    assert G.graph["tolerance_m"] == 5.0
    assert G.graph["rule"] == "queen"
    assert G.graph["barriers"] == {"count": 1, "types": {"arterial": 1}}
    assert G.graph["boundary"] == "street"
    assert G.graph["boundary_policy"] == "mark"
    for key in ("candidate_edges", "dropped_by_barriers", "dropped_by_boundary", "dropped_edges"):
        assert key in G.graph
    assert build_adjacency(grid3x3).graph["barriers"] is None


def test_internal_graph_build_equals_networkx_api():
    ids = ["a", "b", "c", "d"]
    nodes = {"households": [1, 2, 3, 4], "x": [0.0, 1.0, 2.0, 3.0]}
    u, v = np.array([0, 2, 1]), np.array([1, 1, 3])
    edges = {"gap_m": np.array([0.0, 1.5, 2.0]), "shared_m": np.array([10.0, 3.0, 0.0])}
    G = _graph_from_arrays(ids, nodes, u, v, edges, {"crs": "EPSG:4547"})
    H = nx.Graph(crs="EPSG:4547")
    H.add_nodes_from((i, {"households": h, "x": x}) for i, h, x in zip(ids, *nodes.values()))
    H.add_edges_from(
        (ids[a], ids[b], {"gap_m": g, "shared_m": s})
        for a, b, g, s in zip(u, v, edges["gap_m"], edges["shared_m"])
    )
    assert nx.utils.graphs_equal(G, H)
    assert G["a"]["b"] is G["b"]["a"]  # one attribute dict per edge, as networkx does
    G.add_edge("a", "d", gap_m=9.0)  # still a normal, mutable graph
    assert G.degree("a") == 2 and "a" in G["d"]
    assert dict(G.degree()) == {"a": 2, "b": 3, "c": 1, "d": 2}


def test_tolerance_bridges_sliver_and_lane():
    """a|b share a wall; b and c are 0.05 m apart (sliver); c and d 10 m apart (lane)."""
    c = frame(
        [
            box(0, 0, 100, 100),
            box(100, 0, 200, 100),
            box(200.05, 0, 300, 100),
            box(310, 0, 400, 100),
        ]
    )
    assert edge_set(quiet(build_adjacency, c)) == {frozenset(("c0", "c1"))}
    G = quiet(build_adjacency, c, tolerance_m=0.1)
    assert edge_set(G) == {frozenset(("c0", "c1")), frozenset(("c1", "c2"))}
    assert G.edges["c1", "c2"]["gap_m"] == pytest.approx(0.05)
    # facing front: the 100 m wall plus, at each end, the collinear top/bottom edges as far
    # as they stay within reach of the other compound's corner (tolerance - gap)
    assert G.edges["c1", "c2"]["shared_m"] == pytest.approx(100 + 2 * (0.1 - 0.05))
    assert G.edges["c0", "c1"]["shared_m"] == pytest.approx(100 + 2 * 0.1)
    G = build_adjacency(c, tolerance_m=15)
    assert G.number_of_edges() == 3
    assert G.edges["c2", "c3"]["gap_m"] == 10.0
    assert G.edges["c2", "c3"]["shared_m"] == pytest.approx(100 + 2 * (15 - 10))


def test_corner_contact_with_tolerance_is_an_edge_with_short_front():
    c = frame([box(0, 0, 10, 10), box(10, 10, 20, 20)])
    assert quiet(build_adjacency, c).number_of_edges() == 0
    assert quiet(build_adjacency, c, rule="queen").edges["c0", "c1"]["shared_m"] == 0.0
    G = build_adjacency(c, tolerance_m=1)
    assert G.edges["c0", "c1"]["shared_m"] == pytest.approx(2.0)  # 1 m along each side


def test_shared_m_matches_geos_reference_on_irregular_shapes():
    rng = np.random.default_rng(4)
    polys = []
    for x in range(4):
        for y in range(4):
            pts = rng.uniform(0, 60, size=(7, 2)) + (x * 55, y * 55)
            polys.append(shapely.convex_hull(shapely.multipoints(pts)))
    c = frame(polys)
    for tol in (3.0, 12.0, 25.0):
        G = quiet(build_adjacency, c, tolerance_m=tol)
        assert G.number_of_edges() > 0
        for u, v, d in G.edges(data=True):
            a, b = c.geometry[u], c.geometry[v]
            ref = (facing_reference(a, b, tol) + facing_reference(b, a, tol)) / 2
            assert d["shared_m"] == pytest.approx(ref, rel=1e-4, abs=1e-3)
            assert d["gap_m"] == shapely.distance(a, b)


def test_multipolygon_hole_and_enclave():
    """An enclave sits in the hole of a ring compound; a two-part compound touches both."""
    ring = Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(40, 40), (60, 40), (60, 60), (40, 60)]]
    )
    enclave = box(40, 40, 60, 60)
    two_parts = MultiPolygon([box(100, 0, 120, 20), box(500, 500, 520, 520)])
    far_part_neighbour = box(520, 500, 540, 520)
    c = frame([ring, enclave, two_parts, far_part_neighbour])
    G = build_adjacency(c)
    assert edge_set(G) == {frozenset(p) for p in [("c0", "c1"), ("c0", "c2"), ("c2", "c3")]}
    assert G.edges["c0", "c1"]["shared_m"] == pytest.approx(80.0)
    G = build_adjacency(c, tolerance_m=2)
    assert G.edges["c0", "c1"]["shared_m"] == pytest.approx(80.0)  # hole ring faces the enclave
    assert G.edges["c2", "c3"]["shared_m"] == pytest.approx(20 + 2 * 2)


@pytest.mark.parametrize("int_ids", [False, True])
@pytest.mark.parametrize("tol", [0.0, 15.0])
def test_ids_and_row_order_do_not_matter(grid3x3, int_ids, tol):
    c = grid3x3.copy()
    if int_ids:
        c.index = pd.Index(range(100, 109), name="compound_id")
    G = build_adjacency(c, tolerance_m=tol)
    shuffled = c.sample(frac=1, random_state=3)
    H = build_adjacency(shuffled, tolerance_m=tol)
    assert edge_set(G) == edge_set(H)
    for u, v, d in G.edges(data=True):
        assert H.edges[u, v] == pytest.approx(d)
    assert list(H.nodes) == list(shuffled.index)


def test_input_is_not_modified(grid3x3):
    before = grid3x3.copy()
    build_adjacency(grid3x3, tolerance_m=5, boundary="street", boundary_policy="mark")
    pd.testing.assert_frame_equal(grid3x3, before)


def test_overlapping_compounds_warn_at_zero_tolerance_and_join_with_tolerance():
    c = frame([box(0, 0, 10, 10), box(5, 0, 15, 10), box(15, 0, 20, 10)])
    with pytest.warns(SpatialRenoWarning) as rec:
        G = build_adjacency(c)
    assert "1 pair(s) of compounds overlap and are not joined at tolerance_m=0: 'c0'/'c1'" in str(
        rec[0].message
    )
    assert "no neighbour" in str(rec[1].message) and "'c0'" in str(rec[1].message)
    assert {w.filename for w in rec} == {__file__}  # stacklevel points at the caller
    assert edge_set(G) == {frozenset(("c1", "c2"))}
    assert G.graph["overlapping_pairs"] == 1
    assert build_adjacency(c, tolerance_m=0.5).number_of_edges() == 2


# --------------------------------------------------------------------------------------
# barriers
# --------------------------------------------------------------------------------------
def two_across_a_lane(gap=10.0):
    """Two 100 m compounds facing each other across a lane (x from 100 to 100 + gap)."""
    return frame([box(0, 0, 100, 100), box(100 + gap, 0, 200 + gap, 100)])


def test_barrier_along_the_lane_cuts():
    c = two_across_a_lane()
    road = lines([(105, -50), (105, 150)])
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        G = build_adjacency(c, tolerance_m=15, barriers=road)
    assert G.number_of_edges() == 0
    assert G.graph["dropped_by_barriers"] == 1
    assert G.graph["dropped_edges"] == [("c0", "c1", "barrier")]
    assert adjacency_report(G).dropped_by_barriers == 1


def test_barrier_elsewhere_or_short_stub_keeps_edge():
    c = two_across_a_lane()
    far = lines([(105, 300), (105, 500)])
    assert build_adjacency(c, tolerance_m=15, barriers=far).number_of_edges() == 1
    # a stub reaching 10 m into the 100 m lane: most of the frontage is open
    stub = lines([(105, -50), (105, 10)])
    G = build_adjacency(c, tolerance_m=15, barriers=stub)
    assert G.number_of_edges() == 1 and G.graph["dropped_by_barriers"] == 0


def test_shortest_line_slipping_around_a_barrier_end_does_not_save_the_edge():
    """B is slanted so the shortest line is at the top, where the road has ended."""
    a = box(0, 0, 100, 100)
    b = Polygon([(108, 0), (200, 0), (200, 100), (103, 100)])  # 8 m apart at the bottom, 3 m at top
    c = frame([a, b])
    road = lines([(101.5, -50), (101.5, 97)])  # ends 3 m short of the top
    assert shapely.shortest_line(a, b).intersects(road.geometry.iloc[0]) is False
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        G = build_adjacency(c, tolerance_m=15, barriers=road)
    assert G.graph["dropped_by_barriers"] == 1


def test_barrier_blocking_only_the_closest_approach_does_not_cut():
    """The road covers the top 10 m of the lane, where the compounds come closest."""
    a = box(0, 0, 100, 100)
    b = Polygon([(114, 0), (200, 0), (200, 100), (103, 100)])
    road = lines([(101.5, 90), (101.5, 150)])
    assert shapely.shortest_line(a, b).intersects(road.geometry.iloc[0])
    G = build_adjacency(frame([a, b]), tolerance_m=15, barriers=road)
    assert G.number_of_edges() == 1
    longer = lines([(101.5, 30), (101.5, 150)])  # now it covers most of the front
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        assert (
            build_adjacency(frame([a, b]), tolerance_m=15, barriers=longer).number_of_edges() == 0
        )


def test_shared_wall_on_a_barrier_is_cut_but_a_road_crossing_it_is_not():
    c = frame([box(0, 0, 100, 100), box(100, 0, 200, 100)])
    on_wall = lines([(100, -50), (100, 150)])
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        assert build_adjacency(c, barriers=on_wall).number_of_edges() == 0
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        assert build_adjacency(c, tolerance_m=15, barriers=on_wall).number_of_edges() == 0
    # digitised a few millimetres off the wall still counts (BARRIER_SNAP_M = 1 cm)
    near_wall = lines([(100.004, -50), (100.004, 150)])
    with pytest.warns(SpatialRenoWarning, match="no neighbour"):
        assert build_adjacency(c, barriers=near_wall).number_of_edges() == 0
    across = lines([(-50, 50), (250, 50)])  # runs through both compounds
    assert build_adjacency(c, barriers=across).number_of_edges() == 1
    assert build_adjacency(c, tolerance_m=15, barriers=across).number_of_edges() == 1


def test_river_polygon_cuts_only_across_it():
    """a and b face each other across a river; c is downstream of a on the same bank."""
    a, b, c_ = box(0, 0, 100, 100), box(112, 0, 200, 100), box(0, -110, 100, -2)
    river = gpd.GeoDataFrame(
        {"barrier_type": ["river"]},
        geometry=[box(100, -300, 112, 300)],
        crs=CRS,
        index=pd.Index(["r"], name="barrier_id"),
    )
    with pytest.warns(SpatialRenoWarning, match=r"no neighbour.*\['c1'\]"):
        G = build_adjacency(frame([a, b, c_]), tolerance_m=15, barriers=river)
    assert edge_set(G) == {frozenset(("c0", "c2"))}  # the lane between a and c borders the river
    assert G.graph["barriers"] == {"count": 1, "types": {"river": 1}}
    assert sorted(G.graph["dropped_edges"]) == [("c0", "c1", "barrier"), ("c1", "c2", "barrier")]


def test_compound_crossed_by_a_barrier_keeps_both_sides():
    """Big compound m straddles a road; w and e touch m on either side and face each other
    across the road under it (w's and e's lane is 10 m wide where the road runs)."""
    m = box(0, 0, 200, 100)
    w = box(0, 100, 95, 200)
    e = box(105, 100, 200, 200)
    road = lines([(100, -50), (100, 250)])
    G = build_adjacency(frame([m, w, e], ids=["m", "w", "e"]), tolerance_m=15, barriers=road)
    assert edge_set(G) == {frozenset(("m", "w")), frozenset(("m", "e"))}
    assert G.graph["dropped_edges"] == [("w", "e", "barrier")]


def test_barrier_input_checks():
    c = two_across_a_lane()
    with pytest.raises(CRSError, match="to_crs"):
        build_adjacency(c, tolerance_m=15, barriers=lines([(105, 0), (105, 1)], crs="EPSG:4549"))
    pts = gpd.GeoSeries([Point(105, 50)], crs=CRS)
    with pytest.raises(DataError, match="must hold LineString.*Polygon.*are Point"):
        build_adjacency(c, tolerance_m=15, barriers=pts)
    mixed = gpd.GeoSeries([shapely.GeometryCollection([LineString([(105, 0), (105, 1)]),
                                                      Point(105, 50)])], crs=CRS)
    with pytest.raises(DataError, match="lines or polygons; 1 part.*Point"):
        build_adjacency(c, tolerance_m=15, barriers=mixed)
    with pytest.raises(DataError, match="`barriers` must be a GeoDataFrame"):
        build_adjacency(c, tolerance_m=15, barriers=[LineString([(105, 0), (105, 1)])])
    gaps = lines([(105, -50), (105, 150)])
    gaps.loc["b_empty"] = ["arterial", None]
    with pytest.warns(SpatialRenoWarning) as rec:
        G = build_adjacency(c, tolerance_m=15, barriers=gaps)
    assert any(
        "1 barrier(s) have no geometry" in str(w.message) and "b_empty" in str(w.message)
        for w in rec
    )
    assert {w.filename for w in rec} == {__file__}
    assert G.graph["barriers"]["count"] == 1
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    assert build_adjacency(c, tolerance_m=15, barriers=empty).number_of_edges() == 1
    series = gpd.GeoSeries([LineString([(105, -50), (105, 150)])], crs=CRS)
    with pytest.warns(SpatialRenoWarning):
        G = build_adjacency(c, tolerance_m=15, barriers=series)
    assert G.graph["barriers"] == {"count": 1, "types": {}}


# --------------------------------------------------------------------------------------
# boundary policy
# --------------------------------------------------------------------------------------
def test_boundary_policies(grid3x3):
    full = build_adjacency(grid3x3)
    crossing = {frozenset(p) for p in [("a", "b"), ("d", "e"), ("g", "h")]}
    with pytest.warns(SpatialRenoWarning, match=r"1 small component.*\['a', 'd', 'g'\]"):
        G = build_adjacency(grid3x3, boundary="street")
    assert edge_set(G) == edge_set(full) - crossing
    assert G.graph["dropped_by_boundary"] == 3
    assert sorted(r for *_, r in G.graph["dropped_edges"]) == ["boundary"] * 3
    G = build_adjacency(grid3x3, boundary="street", boundary_policy="mark")
    assert edge_set(G) == edge_set(full)
    assert {frozenset((u, v)) for u, v, x in G.edges(data="crosses_boundary") if x} == crossing
    assert all(isinstance(x, bool) for *_, x in G.edges(data="crosses_boundary"))
    assert adjacency_report(G).crosses_boundary == 3
    G = build_adjacency(grid3x3, boundary="street", boundary_policy="ignore")
    assert edge_set(G) == edge_set(full)
    assert "crosses_boundary" not in G.edges["a", "b"]


def test_boundary_errors_and_missing_values(grid3x3):
    with pytest.raises(SchemaError, match="no column 'town'.*it has 'households'"):
        build_adjacency(grid3x3, boundary="town")
    with pytest.raises(ValueError, match=r"\('forbid', 'mark', 'ignore'\).*'drop'"):
        build_adjacency(grid3x3, boundary="street", boundary_policy="drop")
    c = grid3x3.copy()
    c.loc["b", "street"] = None
    with pytest.warns(
        SpatialRenoWarning, match=r"1 compound\(s\) have no 'street' value.*'b'"
    ) as rec:
        G = build_adjacency(c, boundary="street")
    assert rec[0].filename == __file__
    assert G.has_edge("a", "b") and not G.has_edge("d", "e")


# --------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------
def test_option_errors(grid3x3):
    with pytest.raises(ValueError, match=r"\('rook', 'queen'\), got 'rock'"):
        build_adjacency(grid3x3, rule="rock")
    for bad in (-1, float("nan"), float("inf"), "ten"):
        with pytest.raises(ValueError, match="tolerance_m"):
            build_adjacency(grid3x3, tolerance_m=bad)
    assert RULES == ("rook", "queen") and BOUNDARY_POLICIES == ("forbid", "mark", "ignore")


def test_crs_errors(grid3x3):
    with pytest.raises(CRSError, match="geographic CRS 'EPSG:4326'.*EPSG:4547"):
        build_adjacency(grid3x3.set_crs(4326, allow_override=True))
    with pytest.raises(CRSError, match="no CRS"):
        build_adjacency(frame(grid3x3.geometry, crs=None))
    with pytest.raises(CRSError, match="not metres"):
        build_adjacency(grid3x3.set_crs(2227, allow_override=True))  # US survey feet


def test_data_errors(grid3x3):
    dup = grid3x3.copy()
    dup.index = pd.Index(list("abcdefgha"), name="compound_id")
    with pytest.raises(DataError, match=r"unique.*'a'"):
        build_adjacency(dup)
    holes = grid3x3.copy()
    holes.loc["c", "geometry"] = None
    holes.loc["e", "geometry"] = Polygon()
    with pytest.raises(
        DataError, match=r"2 row\(s\) of `compounds` have a missing or empty geometry: 'c', 'e'"
    ):
        build_adjacency(holes)
    pts = grid3x3.copy()
    pts.loc["d", "geometry"] = Point(0, 0)
    with pytest.raises(DataError, match=r"must hold Polygon, MultiPolygon; 1 row\(s\) are Point: 'd'"):
        build_adjacency(pts)
    bowtie = grid3x3.copy()
    bowtie.loc["i", "geometry"] = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    with pytest.raises(
        DataError, match=r"invalid geometry: 'i'.*Self-intersection.*repair_layer"
    ):
        build_adjacency(bowtie)
    with pytest.raises(DataError, match="GeoDataFrame"):
        build_adjacency(pd.DataFrame({"a": [1]}))
    assert build_adjacency(grid3x3.geometry).number_of_edges() == 12  # a GeoSeries is fine


def test_empty_and_single_compound():
    G = build_adjacency(frame([]))
    assert G.number_of_nodes() == 0
    assert adjacency_report(G).n_components == 0
    G = build_adjacency(frame([box(0, 0, 1, 1)]), tolerance_m=5)
    assert list(G.nodes) == ["c0"] and G.number_of_edges() == 0


# --------------------------------------------------------------------------------------
# warnings and the report
# --------------------------------------------------------------------------------------
def test_isolates_and_small_components_are_warned_with_ids():
    main = [box(x, 0, x + 10, 10) for x in range(0, 100, 10)]  # 10 in a row
    pair = [box(500, 0, 510, 10), box(510, 0, 520, 10)]
    lone = [box(1000 + 100 * k, 0, 1010 + 100 * k, 10) for k in range(12)]
    c = frame(main + pair + lone)
    with pytest.warns(SpatialRenoWarning) as rec:
        G = build_adjacency(c)
    messages = [str(w.message) for w in rec]
    iso = next(m for m in messages if "no neighbour" in m)
    assert "12 compound(s)" in iso and "'c12'" in iso and "... and 2 more" in iso
    small = next(m for m in messages if "small component" in m)
    assert "1 small component(s)" in small and "'c10', 'c11'" in small
    assert rec[0].filename == __file__  # stacklevel points at the caller
    assert G.number_of_nodes() == 24


def test_adjacency_report(grid3x3):
    c = pd.concat([grid3x3, frame([box(1000, 0, 1010, 10)], ids=["z"])])
    c.loc["z", "street"] = "E"
    with pytest.warns(SpatialRenoWarning) as rec:
        G = build_adjacency(c, tolerance_m=2, boundary="street")
    assert "'z'" in str(rec[0].message) and "'a', 'd', 'g'" in str(rec[1].message)
    r = adjacency_report(G)
    # 2 m joins corner contacts too: 20 edges, 7 of them (3 walls, 4 corners) cross W|E
    assert r.n_compounds == 10 and r.n_edges == 20 - 7
    assert r.n_components == 3 and r.component_sizes == (6, 3, 1)
    assert r.isolates == ("z",) and r.n_isolates == 1
    assert (r.degree_min, r.degree_max) == (0, 5)  # e: b, c, f, h, i
    assert r.degree_mean == pytest.approx(2 * 13 / 10)
    assert r.degree_median == float(np.median([d for _, d in G.degree()]))
    assert r.longest_gap_m == 0.0 and r.longest_gap_edge is not None
    assert r.dropped_by_boundary == 7 and r.dropped_by_barriers == 0
    assert (r.tolerance_m, r.rule, r.boundary, r.boundary_policy) == (
        2.0,
        "rook",
        "street",
        "forbid",
    )
    df = r.to_frame()
    assert list(df.columns) == ["metric", "value"]
    assert df.set_index("metric").loc["n_components", "value"] == 3
    assert "n_components" in str(r) and "<table" in r._repr_html_()
    assert r.components()["size"].tolist() == [6, 3, 1]
    # a plain networkx graph works too
    r = adjacency_report(nx.path_graph(4))
    assert r.n_components == 1 and r.tolerance_m is None and r.longest_gap_edge is None


def test_report_longest_gap():
    c = frame([box(0, 0, 10, 10), box(12, 0, 20, 10), box(27, 0, 30, 10)])
    r = adjacency_report(build_adjacency(c, tolerance_m=8))
    assert r.longest_gap_edge == ("c1", "c2") and r.longest_gap_m == pytest.approx(7.0)


# --------------------------------------------------------------------------------------
# agreement with libpysal on real data (tolerance 0) and with brute force (tolerance > 0)
# --------------------------------------------------------------------------------------
# (file in libpysal's bundled examples, CRS of the file, CRS to project to)
LIBPYSAL_EXAMPLES = {
    "columbus": ("columbus.shp", None, None),  # planar, unknown units: labelled as metres
    "virginia": ("vautm17n.shp", "EPSG:32617", None),
    "georgia": ("G_utm.shp", "EPSG:32616", None),
    "chicago": ("Chicago77.shp", None, None),
    "sids2": ("sids2.shp", "EPSG:4326", "EPSG:32617"),
    "us48": ("us48.shp", "EPSG:4326", "EPSG:5070"),
    "10740": ("10740.shp", "EPSG:4326", "EPSG:32613"),
}


def load_libpysal_example(name) -> gpd.GeoDataFrame:
    pytest.importorskip("libpysal")  # per test: only the tests that need libpysal skip
    from libpysal import examples

    filename, crs, to = LIBPYSAL_EXAMPLES[name]
    try:
        path = examples.get_path(filename)
    except Exception as exc:  # pragma: no cover - depends on the installed libpysal
        pytest.skip(f"libpysal example {filename} not available offline: {exc}")
    gdf = gpd.read_file(path)
    gdf = gdf.set_crs(crs or CRS, allow_override=True)  # planar examples: treat units as metres
    if to:
        gdf = gdf.to_crs(to)
    gdf.index = pd.Index([f"{name}-{i}" for i in range(len(gdf))], name="compound_id")
    return gdf


@pytest.fixture(scope="module")
def hangzhou() -> gpd.GeoDataFrame:
    if not HANGZHOU.exists():
        pytest.skip(f"real data not found at {HANGZHOU}")
    gdf = gpd.read_file(HANGZHOU, layer="landuse", columns=["osm_id", "fclass", "name"])
    gdf = gdf[gdf["fclass"] == "residential"].to_crs("EPSG:4549")
    return gdf.set_index(pd.Index(gdf["osm_id"].astype(str), name="compound_id"))


def libpysal_edges(gdf, rook) -> set[frozenset]:
    pytest.importorskip("libpysal")
    from libpysal.graph import Graph

    g = Graph.build_contiguity(gdf, rook=rook, strict=True)
    adj = g.adjacency.reset_index()
    adj = adj[adj["focal"] != adj["neighbor"]]
    return {frozenset(p) for p in zip(adj["focal"], adj["neighbor"])}


@pytest.mark.parametrize("rule", ["rook", "queen"])
@pytest.mark.parametrize("name", sorted(LIBPYSAL_EXAMPLES))
def test_zero_tolerance_equals_libpysal_strict_contiguity_on_examples(name, rule):
    gdf = load_libpysal_example(name)
    G = quiet(build_adjacency, gdf, rule=rule, node_attrs=[])
    expected = libpysal_edges(gdf, rook=rule == "rook")
    assert len(expected) > 0
    assert edge_set(G) == expected


@pytest.mark.parametrize("rule", ["rook", "queen"])
def test_zero_tolerance_equals_libpysal_strict_contiguity_on_hangzhou(hangzhou, rule):
    G = quiet(build_adjacency, hangzhou, rule=rule, node_attrs=[])
    expected = libpysal_edges(hangzhou, rook=rule == "rook")
    assert len(expected) > 200
    assert edge_set(G) == expected


@pytest.mark.parametrize("name", ["columbus", "virginia", "georgia"])
def test_shared_m_equals_libpysal_perimeter_weights(name):
    pytest.importorskip("libpysal")
    from libpysal.graph import Graph

    gdf = load_libpysal_example(name)
    g = Graph.build_contiguity(gdf, rook=True, strict=True, by_perimeter=True)
    weights = {frozenset((f, n)): w for (f, n), w in g.adjacency.items() if f != n}
    G = quiet(build_adjacency, gdf, node_attrs=[])
    for u, v, s in G.edges(data="shared_m"):
        assert s == pytest.approx(weights[frozenset((u, v))], rel=1e-12)
        assert s > 0


@pytest.fixture(scope="module")
def hangzhou_distances(hangzhou) -> pd.Series:
    """Polygon distance of every pair of the 2,112 residential polygons (brute force)."""
    g = np.asarray(hangzhou.geometry.array)
    i, j = np.triu_indices(len(g), k=1)
    ids = hangzhou.index.to_numpy()
    return pd.Series(
        shapely.distance(g[i], g[j]), index=pd.MultiIndex.from_arrays([ids[i], ids[j]])
    )


@pytest.mark.parametrize("tol", [1.0, 10.0, 40.0])
def test_tolerance_equals_brute_force_on_hangzhou(hangzhou, hangzhou_distances, tol):
    G = quiet(build_adjacency, hangzhou, tolerance_m=tol, node_attrs=[])
    within = hangzhou_distances[hangzhou_distances <= tol]
    assert len(within) > 300
    assert edge_set(G) == {frozenset(p) for p in within.index}
    for u, v, d in G.edges(data=True):
        key = (u, v) if (u, v) in within.index else (v, u)
        assert d["gap_m"] == within[key]
        assert d["shared_m"] >= 0


@pytest.mark.parametrize("name", ["columbus", "virginia"])
def test_tolerance_equals_brute_force_on_examples(name):
    gdf = load_libpysal_example(name)
    scale = np.sqrt(gdf.area.median())  # tolerances relative to the unit size
    for tol in (0.01 * scale, 0.2 * scale):
        G = quiet(build_adjacency, gdf, tolerance_m=tol, node_attrs=[])
        assert edge_set(G) == brute_force_within(gdf, tol)


def test_shared_m_matches_geos_reference_on_hangzhou(hangzhou):
    centroids = hangzhou.geometry.centroid
    cx, cy = centroids.x.median(), centroids.y.median()
    sub = hangzhou.cx[cx - 3000 : cx + 3000, cy - 3000 : cy + 3000]
    G = quiet(build_adjacency, sub, tolerance_m=10, node_attrs=[])
    assert G.number_of_edges() > 50
    for u, v, s in G.edges(data="shared_m"):
        a, b = sub.geometry[u], sub.geometry[v]
        if a.overlaps(b) or a.within(b) or b.within(a):
            continue  # boundary-to-boundary measure: overlaps count only where boundaries are near
        ref = (facing_reference(a, b, 10) + facing_reference(b, a, 10)) / 2
        assert s == pytest.approx(ref, rel=1e-4, abs=1e-3)


# --------------------------------------------------------------------------------------
# the bundled sample district
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def district():
    sample = pytest.importorskip("spatialreno.sample")
    return sample.sample_district(1500, seed=0)


@pytest.fixture(scope="module")
def barrier_cells(district):
    """Cell of the plane (between arterials, railway and river) holding each compound."""
    bar = np.asarray(district.barriers.geometry.array)
    xmin, ymin, xmax, ymax = district.compounds.total_bounds
    frame_ = box(xmin - 500, ymin - 500, xmax + 500, ymax + 500)
    linework = [g.boundary if g.geom_type.endswith("Polygon") else g for g in bar]
    noded = shapely.union_all([*linework, frame_.boundary])
    cells = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    points = shapely.point_on_surface(np.asarray(district.compounds.geometry.array))
    p, c = shapely.STRtree(cells).query(points, predicate="within")
    cell = pd.Series(-1, index=district.compounds.index)
    cell.iloc[p] = c
    assert (cell >= 0).all()
    return cell


def crosses_a_barrier(segment, barriers) -> bool:
    for g in barriers.geometry:
        if g.geom_type.endswith("Polygon"):
            if shapely.relate_pattern(segment, g, "T********"):
                return True
        elif segment.intersects(g):
            return True
    return False


@pytest.mark.parametrize("tol", [15.0, 60.0])
def test_sample_no_edge_crosses_a_barrier(district, barrier_cells, tol):
    c, bars = district.compounds, district.barriers
    without = quiet(build_adjacency, c, tolerance_m=tol)
    G = quiet(build_adjacency, c, tolerance_m=tol, barriers=bars)
    assert edge_set(G) <= edge_set(without)
    # every edge stays in one cell between barriers ...
    assert all(barrier_cells[u] == barrier_cells[v] for u, v in G.edges)
    # ... and every edge that left its cell was cut, and only those (no false cuts)
    crossing = {e for e in edge_set(without) if len({barrier_cells[x] for x in e}) == 2}
    assert edge_set(without) - edge_set(G) == crossing
    assert G.graph["dropped_by_barriers"] == len(crossing)
    if tol == 60.0:
        assert len(crossing) > 100  # wide enough to reach across arterials: the test bites
    # shortest lines of the kept edges do not cross a barrier
    geoms = c.geometry
    for u, v in list(G.edges)[:300]:
        if G.edges[u, v]["gap_m"] > 0:
            assert not crosses_a_barrier(shapely.shortest_line(geoms[u], geoms[v]), bars)


def test_sample_boundary_street(district):
    c = district.compounds
    assert c["street"].nunique() > 3
    street = c["street"]
    # 60 m reaches across arterials, where 街道 boundaries run
    base = quiet(build_adjacency, c, tolerance_m=60)
    differ = {e for e in edge_set(base) if len({street[x] for x in e}) == 2}
    assert len(differ) > 20
    G = quiet(build_adjacency, c, tolerance_m=60, boundary="street")
    assert all(street[u] == street[v] for u, v in G.edges)
    assert edge_set(G) == edge_set(base) - differ
    assert G.graph["dropped_by_boundary"] == len(differ)
    M = quiet(build_adjacency, c, tolerance_m=60, boundary="street", boundary_policy="mark")
    assert edge_set(M) == edge_set(base)
    assert {frozenset((u, v)) for u, v, x in M.edges(data="crosses_boundary") if x} == differ


def test_sample_nodes_carry_cap_columns(district):
    c = district.compounds
    G = quiet(build_adjacency, c, tolerance_m=15, barriers=district.barriers, boundary="street")
    assert set(G.nodes) == set(c.index)
    node = G.nodes[c.index[0]]
    for col in (
        "households",
        "floor_area_m2",
        "buildings",
        "street",
        "district",
        "adcode",
        "area_m2",
        "x",
        "y",
    ):
        assert col in node
    assert node["households"] == c["households"].iloc[0]
    r = adjacency_report(G)
    assert r.n_compounds == len(c) and r.n_isolates > 0  # the sample has stand-alone compounds
    assert sum(r.component_sizes) == len(c)


# --------------------------------------------------------------------------------------
# properties on small random polygon sets
# --------------------------------------------------------------------------------------
@st.composite
def polygon_sets(draw):
    """3-12 boxes and triangles on a coarse grid, so walls, corners, slivers and overlaps occur."""
    n = draw(st.integers(3, 12))
    geoms = []
    for _ in range(n):
        x, y = draw(st.integers(0, 12)), draw(st.integers(0, 12))
        w, h = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        dx = draw(st.sampled_from([0.0, 0.0, 0.25, 0.5]))
        if draw(st.booleans()):
            geoms.append(box(x + dx, y, x + w, y + h))
        else:
            geoms.append(Polygon([(x + dx, y), (x + w, y), (x, y + h)]))
    ids = [f"p{i}" for i in range(n)]
    streets = draw(st.lists(st.sampled_from(["A", "B"]), min_size=n, max_size=n))
    return frame(geoms, ids=ids, street=streets, households=list(range(n)))


@st.composite
def barrier_sets(draw):
    k = draw(st.integers(1, 3))
    segs = []
    for _ in range(k):
        pts = [
            (draw(st.integers(-1, 16)) + 0.5, draw(st.integers(-1, 16)) + 0.25) for _ in range(2)
        ]
        if pts[0] != pts[1]:
            segs.append(pts)
    return lines(*(segs or [[(0.5, 0.25), (9.5, 9.25)]]))


PROPS = settings(
    max_examples=int(os.environ.get("SPATIALRENO_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPS
@given(polygon_sets(), st.sampled_from(RULES))
def test_property_zero_tolerance_is_strict_contiguity(gdf, rule):
    G = quiet(build_adjacency, gdf, rule=rule)
    g = np.asarray(gdf.geometry.array)
    ids = list(gdf.index)
    expected = set()
    for i, j in itertools.combinations(range(len(g)), 2):
        if rule == "rook" and shapely.relate_pattern(g[i], g[j], "F***1****"):
            expected.add(frozenset((ids[i], ids[j])))
        if rule == "queen" and shapely.touches(g[i], g[j]):
            expected.add(frozenset((ids[i], ids[j])))
    assert edge_set(G) == expected
    assert list(G.nodes) == ids
    assert nx.number_of_selfloops(G) == 0


@PROPS
@given(polygon_sets(), st.floats(0.01, 3.0), st.floats(0.0, 3.0))
def test_property_tolerance(gdf, t1, dt):
    t2 = t1 + dt
    G1 = quiet(build_adjacency, gdf, tolerance_m=t1)
    G2 = quiet(build_adjacency, gdf, tolerance_m=t2)
    assert edge_set(G1) == brute_force_within(gdf, t1)
    assert edge_set(G1) <= edge_set(G2)  # monotonic
    assert edge_set(quiet(build_adjacency, gdf, rule="queen")) <= edge_set(G1)
    assert set(G1.nodes) == set(gdf.index) and nx.number_of_selfloops(G1) == 0
    # symmetric: the reversed table gives the same edges with the same attributes
    R = quiet(build_adjacency, gdf.iloc[::-1], tolerance_m=t1)
    assert edge_set(R) == edge_set(G1)
    for u, v, d in G1.edges(data=True):
        assert R.edges[u, v]["gap_m"] == d["gap_m"]
        assert R.edges[u, v]["shared_m"] == pytest.approx(d["shared_m"], rel=1e-9, abs=1e-9)
        assert 0 <= d["gap_m"] <= t1 and d["shared_m"] >= 0


@PROPS
@given(polygon_sets(), barrier_sets(), st.sampled_from([0.0, 0.5, 2.0]), st.sampled_from(RULES))
def test_property_barriers_and_boundaries_only_remove_edges(gdf, bars, tol, rule):
    base = quiet(build_adjacency, gdf, tolerance_m=tol, rule=rule)
    G = quiet(build_adjacency, gdf, tolerance_m=tol, rule=rule, barriers=bars)
    assert edge_set(G) <= edge_set(base)
    assert G.graph["dropped_by_barriers"] == len(edge_set(base) - edge_set(G))
    assert set(G.nodes) == set(base.nodes)
    for u, v, d in G.edges(data=True):
        assert d == base.edges[u, v]
    B = quiet(build_adjacency, gdf, tolerance_m=tol, rule=rule, barriers=bars, boundary="street")
    assert edge_set(B) == {e for e in edge_set(G) if len({gdf["street"][x] for x in e}) == 1}
    assert B.graph["dropped_by_boundary"] == len(edge_set(G) - edge_set(B))


@PROPS
@given(polygon_sets(), st.floats(0.05, 3.0))
def test_property_shared_m_matches_geos(gdf, tol):
    G = quiet(build_adjacency, gdf, tolerance_m=tol)
    for u, v, s in G.edges(data="shared_m"):
        assert_shared_m_bracketed(s, gdf.geometry[u], gdf.geometry[v], tol)


@PROPS
@given(
    polygon_sets(),
    st.integers(0, 14),
    st.sampled_from([0.5, 2.0, 6.0]),
    st.sampled_from(["line", "river"]),
)
def test_property_a_separating_barrier_cuts_exactly_the_edges_across_it(gdf, c, tol, kind):
    """A north-south road (x = c + 0.4) or river strip (c + 0.3 < x < c + 0.45) between the
    grid lines: edges across it are cut, edges on one side are kept."""
    if kind == "line":
        barrier = LineString([(c + 0.4, -100), (c + 0.4, 100)])
    else:
        barrier = box(c + 0.3, -100, c + 0.45, 100)
    bars = gpd.GeoDataFrame(
        {"barrier_type": [kind]},
        geometry=[barrier],
        crs=CRS,
        index=pd.Index(["b"], name="barrier_id"),
    )
    gdf = gdf[~gdf.intersects(barrier)]  # compounds astride the barrier are another test
    west = (gdf.bounds["maxx"] < c + 0.4).to_dict()
    base = quiet(build_adjacency, gdf, tolerance_m=tol)
    G = quiet(build_adjacency, gdf, tolerance_m=tol, barriers=bars)
    assert edge_set(G) == {e for e in edge_set(base) if len({west[x] for x in e}) == 1}


def test_build_leaves_process_state_alone(grid3x3, monkeypatch):
    import gc

    def forbidden():
        raise AssertionError("build_adjacency must not switch the garbage collector")

    monkeypatch.setattr(gc, "disable", forbidden)
    G = build_adjacency(grid3x3)
    assert gc.isenabled()
    assert G.number_of_nodes() == 9
    package = Path(sr.adjacency.__file__).parent
    sources = {p.name: p.read_text(encoding="utf-8") for p in package.glob("*.py")}
    assert "build.py" in sources
    for name, source in sources.items():
        for token in ("._node", "._adj", "eval(", "gc."):
            assert token not in source, (name, token)
