"""Tests for spatialreno.partition (graph-only packaging)."""

from __future__ import annotations

import itertools
import random
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import assert_valid_plan  # tests/oracle.py: networkx and pandas only
from scipy.spatial import Delaunay

from spatialreno.errors import ConfigError, InfeasiblePackagingError, SpatialRenoWarning
from spatialreno.partition import (
    check_plan,
    package_compactness,
    partition_packages,
    solver_report,
    violations,
)
from spatialreno.partition.limits import parse_limits
from spatialreno.testing import assert_packages_valid  # the public helper, tested once here

FAST = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


# -- graph builders ---------------------------------------------------------------------

def delaunay_graph(n: int, seed: int = 0, hh: tuple[int, int] = (200, 1200)) -> nx.Graph:
    """Delaunay graph of ``n`` random points (100 m apart on average), ids ``C000..``."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100 * np.sqrt(n), size=(n, 2))
    G = nx.Graph(crs="EPSG:32650", tolerance_m=0.0)
    ids = [f"C{i:03d}" for i in range(n)]
    households = rng.integers(hh[0], hh[1], n)
    cost = rng.uniform(50, 400, n).round(1)
    for i in range(n):
        G.add_node(ids[i], x=float(pts[i, 0]), y=float(pts[i, 1]),
                   households=float(households[i]), cost_total=float(cost[i]))
    if n >= 3:
        tri = Delaunay(pts)
        ptr, nb = tri.vertex_neighbor_vertices
        for i in range(n):
            for j in nb[ptr[i]:ptr[i + 1]]:
                if i < j:
                    G.add_edge(ids[i], ids[j], gap_m=0.0, shared_m=50.0)
    else:
        G.add_edges_from(zip(ids[:-1], ids[1:], strict=True), gap_m=0.0, shared_m=50.0)
    return G


def grid_graph(rows: int, cols: int, households: int = 500) -> nx.Graph:
    """Grid of 100 m compounds named ``r<row>c<col>``.

    r0c0 r0c1 ...
    r1c0 r1c1 ...
    """
    G0 = nx.grid_2d_graph(rows, cols)
    G = nx.relabel_nodes(G0, {(r, c): f"r{r}c{c}" for r, c in G0.nodes})
    for r, c in G0.nodes:
        G.nodes[f"r{r}c{c}"].update(x=100.0 * c, y=-100.0 * r, households=float(households))
    nx.set_edge_attributes(G, 0.0, "gap_m")
    nx.set_edge_attributes(G, 100.0, "shared_m")
    return G


def brute_force(G: nx.Graph, limits: dict) -> tuple[int | None, float | None]:
    """Fewest packages and best compactness over all valid partitions (tiny graphs)."""
    nodes = sorted(G.nodes)
    spec = parse_limits(G, limits)

    def ok(block: list[str]) -> bool:
        if not nx.is_connected(G.subgraph(block)):
            return False
        for j, name in enumerate(spec.names):
            s = len(block) if name == "compounds" else sum(G.nodes[v][name] for v in block)
            if s < spec.lo[j] - 1e-9 or s > spec.hi[j] + 1e-9:
                return False
        return True

    def partitions(items: list[str]):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for k in range(len(rest) + 1):
            for combo in itertools.combinations(rest, k):
                block = [first, *combo]
                if not ok(block):
                    continue
                remaining = [x for x in rest if x not in combo]
                for p in partitions(remaining):
                    yield [block, *p]

    best: tuple[int, float] | None = None
    for p in partitions(nodes):
        labels = pd.Series({v: i for i, b in enumerate(p) for v in b})
        comp = float(package_compactness(G, labels)["compactness_m"].sum())
        key = (len(p), comp)
        if best is None or key < best:
            best = key
    return (None, None) if best is None else best


# -- validation of options ----------------------------------------------------------------

def test_unknown_attribute_is_named():
    G = grid_graph(2, 2)
    with pytest.raises(ConfigError, match="'floor_area_m2'"):
        partition_packages(G, limits={"floor_area_m2": (None, 10)})


def test_min_above_max_rejected():
    with pytest.raises(ConfigError, match="min 5 above max 3"):
        partition_packages(grid_graph(2, 2), limits={"compounds": (5, 3)})


@pytest.mark.parametrize(("option", "value"), [("objective", "fastest"), ("method", "milp"),
                                               ("on_infeasible", "ignore")])
def test_closed_options_checked(option, value):
    with pytest.raises(ValueError, match=f"`{option}` must be one of"):
        partition_packages(grid_graph(2, 2), limits={"compounds": (1, 2)}, **{option: value})


# -- properties: every compound once, packages connected, limits held -----------------

limit_sets = st.sampled_from([
    {"compounds": (2, 8), "households": (1500, 6000)},
    {"compounds": (2, 5)},
    {"households": (1000, 3000), "cost_total": (None, 1500)},
    {"compounds": (3, 6), "households": (None, 4000)},
])


@FAST
@given(n=st.integers(3, 70), seed=st.integers(0, 10_000), limits=limit_sets,
       method=st.sampled_from(["auto", "heuristic"]))
def test_random_planar_plans_are_valid_or_explained(n, seed, limits, method):
    G = delaunay_graph(n, seed)
    try:
        labels_res = partition_packages(G, limits=limits, method=method, seed=seed,
                                    time_limit_s=5)
        labels = labels_res.labels
    except InfeasiblePackagingError as err:
        assert len(err.violations) > 0
        assert str(err).startswith("partition_packages: no plan keeps every limit")
        # the report mode then returns a full plan with the problems listed
        labels_res = partition_packages(G, limits=limits, method=method, seed=seed,
                                    on_infeasible="report", time_limit_s=5)
        labels = labels_res.labels
        assert set(labels.index) == set(G.nodes)
        assert len(violations(labels_res)) > 0
        return
    assert labels.name == "package_id"
    assert list(labels.index) == list(G.nodes)
    assert_valid_plan(G, labels, limits)
    assert violations(labels_res).empty


@FAST
@given(rows=st.integers(1, 9), cols=st.integers(2, 9), lo=st.integers(1, 3),
       span=st.integers(0, 4))
def test_grids_valid_or_explained(rows, cols, lo, span):
    G = grid_graph(rows, cols)
    limits = {"compounds": (lo, lo + span)}
    try:
        labels_res = partition_packages(G, limits=limits, time_limit_s=5)
        labels = labels_res.labels
    except InfeasiblePackagingError as err:
        # only legitimate reason on a grid: the compounds min/max cannot tile it
        assert (err.violations["limit"].isin(["all limits", "compounds min"])).all()
        assert rows * cols < lo or span == 0 or lo > 1
        return
    assert_valid_plan(G, labels, limits)


# -- exact solver ------------------------------------------------------------------------

@settings(max_examples=12, deadline=None, derandomize=True)
@given(n=st.integers(2, 8), seed=st.integers(0, 1000),
       limits=st.sampled_from([{"compounds": (2, 3)}, {"households": (900, 2000)},
                               {"compounds": (1, 4), "households": (700, None)}]))
def test_exact_matches_brute_force(n, seed, limits):
    G = delaunay_graph(n, seed)
    k_best, comp_best = brute_force(G, limits)
    if k_best is None:
        with pytest.raises(InfeasiblePackagingError):
            partition_packages(G, limits=limits, method="exact")
        return
    labels_res = partition_packages(G, limits=limits, method="exact")
    labels = labels_res.labels
    assert_valid_plan(G, labels, limits)
    assert labels.nunique() == k_best
    comp = package_compactness(G, labels)["compactness_m"].sum()
    assert comp == pytest.approx(comp_best, rel=1e-6, abs=1e-6)
    assert solver_report(labels_res)["status"].tolist() == ["optimal"]


def test_heuristic_within_five_percent_of_exact():
    limits = {"compounds": (2, 5), "households": (900, 3000)}
    exact_total = heur_total = 0
    for seed in range(10):
        G = delaunay_graph(20, seed)
        exact_res = partition_packages(G, limits=limits, method="exact", time_limit_s=20)
        exact = exact_res.labels
        report = solver_report(exact_res)
        assert (report["gap"] == 0).all()
        heur_res = partition_packages(G, limits=limits, method="heuristic", seed=seed)
        heur = heur_res.labels
        assert_valid_plan(G, heur, limits)
        exact_total += exact.nunique()
        heur_total += heur.nunique()
    assert heur_total <= 1.05 * exact_total


def test_balanced_spreads_no_more_than_fewest():
    G = delaunay_graph(14, 3)
    limits = {"households": (1000, 3500)}
    fewest_res = partition_packages(G, limits=limits, method="exact")
    fewest = fewest_res.labels
    balanced_res = partition_packages(G, limits=limits, method="exact", objective="balanced")
    balanced = balanced_res.labels
    assert balanced.nunique() == fewest.nunique()
    hh = pd.Series(nx.get_node_attributes(G, "households"))

    def spread(labels):
        tot = hh.groupby(labels).sum()
        return float((tot - tot.mean()).abs().sum())

    assert spread(balanced) <= spread(fewest) + 1e-6
    assert_valid_plan(G, balanced, limits)


@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_target_packages(method):
    G = grid_graph(3, 4)
    labels_res = partition_packages(G, limits={"compounds": (2, 6)}, target_packages=4,
                                method=method)
    labels = labels_res.labels
    assert labels.nunique() == 4
    assert_valid_plan(G, labels, {"compounds": (2, 6)})


def test_target_packages_too_small_is_explained():
    G = grid_graph(3, 4)
    with pytest.raises(InfeasiblePackagingError, match="target_packages=1"):
        partition_packages(G, limits={"compounds": (2, 4)}, target_packages=1)


# -- infeasibility explained -----------------------------------------------------------------

def test_compound_above_max_is_named():
    G = delaunay_graph(12, 1)
    G.nodes["C007"]["households"] = 9000.0
    with pytest.raises(InfeasiblePackagingError, match=r"compound 'C007' has households=9,000, "
                                                       r"above max 6,000") as info:
        partition_packages(G, limits={"households": (None, 6000)})
    v = info.value.violations
    assert v.loc[0, "compound_id"] == "C007"
    assert v.loc[0, "limit"] == "households max"
    assert "raise the households max" in v.loc[0, "fix"]


def test_component_below_min_is_named():
    G = grid_graph(3, 3)
    G.add_edge("x1", "x2")
    for v in ("x1", "x2"):
        G.nodes[v].update(x=900.0, y=900.0, households=100.0)
    with pytest.raises(InfeasiblePackagingError, match=r"component of 2 compound\(s\) "
                                                       r"\['x1', 'x2'\].*below min 1,000"):
        partition_packages(G, limits={"households": (1000, None)})


def test_report_mode_returns_plan_and_violations():
    G = delaunay_graph(15, 2)
    G.nodes["C003"]["households"] = 9000.0
    labels_res = partition_packages(G, limits={"households": (None, 6000)},
                                on_infeasible="report")
    labels = labels_res.labels
    table = violations(labels_res)
    assert list(table.columns) == ["package_id", "compound_id", "limit", "value", "bound",
                                   "problem", "fix"]
    assert "C003" in set(table["compound_id"])
    assert set(labels.index) == set(G.nodes)
    with pytest.raises(AssertionError, match=r"households = \d+ above max 6000"):
        assert_valid_plan(G, labels, {"households": (None, 6000)})


def test_lock_breaking_contiguity_is_named():
    G = grid_graph(1, 5)
    with pytest.raises(InfeasiblePackagingError, match="locked package 'A' is not connected"):
        partition_packages(G, limits={"compounds": (1, 5)},
                           locked={"r0c0": "A", "r0c4": "A"})


def test_must_link_across_components_is_named():
    G = grid_graph(2, 2)
    G.add_edge("z1", "z2")
    for v in ("z1", "z2"):
        G.nodes[v].update(x=5000.0, y=0.0, households=500.0)
    with pytest.raises(InfeasiblePackagingError, match="lie in different connected components"):
        partition_packages(G, limits={"compounds": (1, 4)}, must_link=[("r0c0", "z1")])


def test_isolated_compound_is_flagged_single_package():
    G = grid_graph(2, 3)
    G.add_node("lonely", x=9000.0, y=9000.0, households=10.0)
    with pytest.warns(SpatialRenoWarning, match="lonely"):
        labels_res = partition_packages(G, limits={"compounds": (2, 3), "households": (600, None)})
        labels = labels_res.labels
    assert (labels == labels["lonely"]).sum() == 1
    table = violations(labels_res)
    assert "isolated" in set(table.loc[table["compound_id"] == "lonely", "limit"])
    assert_valid_plan(G, labels, {"compounds": (2, 3), "households": (600, None)})
    with pytest.raises(AssertionError, match="below min 2"):
        assert_valid_plan(G, labels, {"compounds": (2, 3)}, allow_isolated=False)
    # the public helper makes the same exception for isolated compounds
    assert_packages_valid(G, labels, {"compounds": (2, 3), "households": (600, None)})
    with pytest.raises(AssertionError, match="lonely"):
        assert_packages_valid(G, labels, {"compounds": (2, 3)}, allow_isolated=False)


# -- determinism and stable ids ------------------------------------------------------------

def test_same_seed_same_packages_regardless_of_node_order():
    G = delaunay_graph(120, 5)
    a_res = partition_packages(G, limits={"compounds": (2, 8), "households": (1500, 6000)},
                           method="heuristic", seed=3)
    a = a_res.labels
    nodes = list(G.nodes(data=True))
    random.Random(1).shuffle(nodes)
    H = nx.Graph()
    H.add_nodes_from(nodes)
    edges = list(G.edges(data=True))
    random.Random(2).shuffle(edges)
    H.add_edges_from(edges)
    b_res = partition_packages(H, limits={"compounds": (2, 8), "households": (1500, 6000)},
                           method="heuristic", seed=3)
    b = b_res.labels
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())


def test_stable_ids_after_small_change():
    G = nx.disjoint_union(nx.Graph(), nx.Graph())
    left = delaunay_graph(30, 7)
    right = nx.relabel_nodes(delaunay_graph(30, 8), lambda v: "R" + v)
    for v in right:
        right.nodes[v]["x"] += 10_000
    G = nx.union(left, right)
    limits = {"compounds": (2, 8), "households": (1500, 6000)}
    before_res = partition_packages(G, limits=limits, method="heuristic")
    before = before_res.labels
    G.nodes["C004"]["households"] += 150
    after_res = partition_packages(G, limits=limits, method="heuristic")
    after = after_res.labels
    right_ids = [v for v in G if v.startswith("R")]
    pd.testing.assert_series_equal(before[right_ids], after[right_ids])
    old = before.groupby(before).groups
    new = after.groupby(after).groups
    same = [p for p in old if p in new and set(old[p]) == set(new[p])]
    assert len(same) >= len(set(before[right_ids]))
    # id rule: prefix + smallest member
    for pid, members in new.items():
        assert pid == f"PK-{min(members)}"


def test_district_prefix_in_ids():
    G = grid_graph(2, 2)
    nx.set_node_attributes(G, "420105", "adcode")
    labels_res = partition_packages(G, limits={"compounds": (4, 4)})
    labels = labels_res.labels
    assert set(labels) == {"PK-420105-r0c0"}
    # a member id that already carries the district code is not prefixed twice
    H = nx.relabel_nodes(G, {v: f"420105-{v}" for v in G})
    labels_res = partition_packages(H, limits={"compounds": (4, 4)})
    labels = labels_res.labels
    assert set(labels) == {"PK-420105-r0c0"}


# -- locked / must_link / cannot_link ----------------------------------------------------------

def test_locked_must_cannot_link_honoured():
    G = grid_graph(4, 4)
    limits = {"compounds": (2, 4)}
    locked = {"r0c0": "EPC-1", "r0c1": "EPC-1", "r1c0": "EPC-1"}
    labels_res = partition_packages(G, limits=limits, locked=locked,
                                must_link=[("r3c3", "r2c2")],
                                cannot_link=[("r3c0", "r3c1"), ("r0c3", "r1c3")])
    labels = labels_res.labels
    assert_valid_plan(G, labels, limits, locked=locked, must_link=[("r3c3", "r2c2")],
                      cannot_link=[("r3c0", "r3c1"), ("r0c3", "r1c3")])
    assert set(labels.index[labels == "EPC-1"]) == set(locked)
    assert labels["r3c3"] == labels["r2c2"]
    assert labels["r3c0"] != labels["r3c1"]
    assert labels["r0c3"] != labels["r1c3"]


@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_must_link_non_touching(method):
    G = grid_graph(3, 5)
    labels_res = partition_packages(G, limits={"compounds": (2, 5)},
                                must_link=[("r0c0", "r0c2")], method=method)
    labels = labels_res.labels
    assert labels["r0c0"] == labels["r0c2"]
    assert_valid_plan(G, labels, {"compounds": (2, 5)}, must_link=[("r0c0", "r0c2")])


def test_check_plan_reports_contiguity_and_coverage():
    G = grid_graph(1, 4)
    labels = pd.Series({"r0c0": "A", "r0c1": "B", "r0c2": "A"}, name="package_id")
    table = check_plan(G, labels, {"compounds": (1, 3)})
    assert set(table["limit"]) == {"coverage", "contiguity"}
    assert "r0c3" in set(table["compound_id"])


def test_compactness_medoid_sum():
    G = grid_graph(1, 3)
    labels = pd.Series({"r0c0": "A", "r0c1": "A", "r0c2": "A"}, name="package_id")
    table = package_compactness(G, labels)
    assert table.loc["A", "medoid"] == "r0c1"
    assert table.loc["A", "compactness_m"] == pytest.approx(200.0)


def test_no_warnings_on_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        partition_packages(grid_graph(3, 3), limits={"compounds": (3, 3)})
