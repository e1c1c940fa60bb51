"""The validity oracle (tests/oracle.py) catches each kind of broken plan, so it cannot pass
vacuously, and agrees with a plan that is valid."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from oracle import assert_valid_plan, plan_problems  # tests/oracle.py


@pytest.fixture
def grid() -> nx.Graph:
    """Six compounds, 100 households each but 'e' with 400.

    d e f
    a b c
    """
    G = nx.Graph()
    G.add_edges_from([("a", "b"), ("b", "c"), ("d", "e"), ("e", "f"),
                      ("a", "d"), ("b", "e"), ("c", "f")])
    nx.set_node_attributes(G, 100.0, "households")
    G.nodes["e"]["households"] = 400.0
    return G


GOOD = pd.Series({"a": "P1", "b": "P1", "d": "P1", "c": "P2", "e": "P2", "f": "P2"},
                 name="package_id")
LIMITS = {"compounds": (1, 3), "households": (None, 600)}


def test_valid_plan_passes(grid):
    assert plan_problems(grid, GOOD, LIMITS) == []
    assert_valid_plan(grid, GOOD, LIMITS)


def test_disconnected_package_fails(grid):
    bad = GOOD.copy()
    bad[["b", "e"]] = ["P2", "P1"]  # P1 = a, d, e is connected; P2 = b, c, f too
    assert_valid_plan(grid, bad, LIMITS)
    bad["e"] = "P2"
    bad["c"] = "P1"  # P1 = a, c, d: 'c' touches neither
    with pytest.raises(AssertionError, match=r"package 'P1' is not connected: 2 pieces"):
        assert_valid_plan(grid, bad, {"compounds": (1, 6)})


@pytest.mark.parametrize(("limits", "match"), [
    ({"households": (None, 500)}, r"package 'P2': households = 600 above max 500"),
    ({"compounds": (1, 2)}, r"package 'P1': compounds = 3 above max 2"),
    ({"households": (400, None)}, r"package 'P1': households = 300 below min 400"),
    ({"compounds": (4, None)}, r"compounds = 3 below min 4"),
])
def test_broken_cap_fails(grid, limits, match):
    with pytest.raises(AssertionError, match=match):
        assert_valid_plan(grid, GOOD, limits)


def test_cap_within_float_rounding_passes(grid):
    nx.set_node_attributes(grid, 0.1, "cost")
    labels = pd.Series("P", index=list("abcdef"))
    assert_valid_plan(grid, labels, {"cost": (None, 0.6)})  # 0.1 summed six times
    with pytest.raises(AssertionError, match="above max 0.59"):
        assert_valid_plan(grid, labels, {"cost": (None, 0.59)})


@pytest.mark.parametrize(("labels", "match"), [
    (GOOD.drop("f"), r"compound\(s\) in no package: \['f'\]"),
    (pd.concat([GOOD, pd.Series({"z": "P2"})]), r"not in the graph: \['z'\]"),
    (pd.concat([GOOD, pd.Series({"a": "P2"})]), r"more than one package: \['a'\]"),
    (GOOD.where(GOOD.index != "c"), r"empty package id: \['c'\]"),
])
def test_compound_missing_or_twice_fails(grid, labels, match):
    with pytest.raises(AssertionError, match=match):
        assert_valid_plan(grid, labels, LIMITS)


def test_compounds_table_must_match_graph(grid):
    compounds = pd.DataFrame({"households": [100.0] * 5}, index=list("abcde"))
    with pytest.raises(AssertionError, match=r"differ: \['f'\]"):
        assert_valid_plan(grid, GOOD, LIMITS, compounds=compounds)


def test_values_come_from_the_compounds_table(grid):
    compounds = pd.DataFrame({"households": [100.0] * 6, "cost": [1.0] * 6},
                             index=list("abcdef"))
    assert_valid_plan(grid, GOOD, {"households": (None, 300), "cost": (3, 3)},
                      compounds=compounds)
    with pytest.raises(KeyError, match="no compound value 'floor_area'"):
        assert_valid_plan(grid, GOOD, {"floor_area": (None, 1)})


def test_isolated_single_may_stay_below_min(grid):
    grid.add_node("z", households=10.0)
    labels = pd.concat([GOOD, pd.Series({"z": "P3"})])
    limits = {"compounds": (2, 3), "households": (100, None)}
    assert_valid_plan(grid, labels, limits)
    with pytest.raises(AssertionError, match=r"package 'P3': compounds = 1 below min 2"):
        assert_valid_plan(grid, labels, limits, allow_isolated=False)
    with pytest.raises(AssertionError, match=r"package 'P3': households = 10 above max 5"):
        assert_valid_plan(grid, labels, {"compounds": (1, 3), "households": (None, 5)})


def test_package_table_must_reconcile(grid):
    table = pd.DataFrame({"n_compounds": [3, 3], "households": [300.0, 600.0],
                          "cost": [2.0, 1.0]}, index=["P1", "P2"])
    compounds = pd.DataFrame({"households": [100.0] * 5 + [400.0], "cost": [0.5] * 6},
                             index=list("abcdfe"))
    assert_valid_plan(grid, GOOD, LIMITS, compounds=compounds, packages=table)
    off = table.assign(households=[300.0, 601.0])
    with pytest.raises(AssertionError, match="households differs from the compound sums "
                                             r"for \['P2'\]"):
        assert_valid_plan(grid, GOOD, LIMITS, compounds=compounds, packages=off)
    with pytest.raises(AssertionError, match=r"cost differs.*\['P1', 'P2'\]"):
        assert_valid_plan(grid, GOOD, LIMITS, compounds=compounds.assign(cost=1.0),
                          packages=table, sum_columns=["cost"])
    with pytest.raises(AssertionError, match=r"n_compounds|compounds differs"):
        assert_valid_plan(grid, GOOD, LIMITS, packages=table.assign(n_compounds=[2, 4]))
    with pytest.raises(AssertionError, match=r"name different packages: \['P3'\]"):
        extra = pd.concat([table, table.iloc[[0]].rename(index={"P1": "P3"})])
        assert_valid_plan(grid, GOOD, LIMITS, packages=extra)


@pytest.mark.parametrize(("rules", "match"), [
    ({"locked": {"a": "P1", "b": "P1"}}, r"locked package 'P1' is \['a', 'b', 'd'\]"),
    ({"locked": {"a": "L1"}}, r"locked package 'L1' is \[\]"),
    ({"must_link": [("a", "f")]}, r"must_link \('a', 'f'\) split"),
    ({"cannot_link": [("a", "b")]}, r"cannot_link \('a', 'b'\) both in 'P1'"),
])
def test_rules_broken_fail(grid, rules, match):
    with pytest.raises(AssertionError, match=match):
        assert_valid_plan(grid, GOOD, LIMITS, **rules)


def test_rules_kept_pass(grid):
    assert_valid_plan(grid, GOOD, LIMITS, locked={"a": "P1", "b": "P1", "d": "P1"},
                      must_link=[("c", "f")], cannot_link=[("a", "f")])


def test_every_problem_is_listed(grid):
    bad = GOOD.copy()
    bad[["b", "c", "e", "f"]] = ["P2", "P1", "P2", "P1"]  # P1 = a, c, d, f: 2 pieces, 4 members
    problems = plan_problems(grid, bad, {"compounds": (1, 3)})
    assert len(problems) == 2
    assert "not connected" in problems[0] and "above max 3" in problems[1]
