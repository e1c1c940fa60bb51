"""Tests for spatialreno.packages and spatialreno.testing."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from oracle import assert_valid_plan  # tests/oracle.py: networkx and pandas only
from shapely.geometry import box

import spatialreno as sr
from spatialreno.errors import DataError, EditError
from spatialreno.packages import diff_packages, dissolve_packages, move_compound
from spatialreno.partition import partition_packages
from spatialreno.testing import assert_packages_valid


@pytest.fixture
def grid3x3() -> gpd.GeoDataFrame:
    """Nine 100 m compounds.

    g h i
    d e f
    a b c
    """
    cells = [box(x, y, x + 100, y + 100) for y in (0, 100, 200) for x in (0, 100, 200)]
    return gpd.GeoDataFrame(
        {
            "households": [10, 20, 30, 40, 50, 60, 70, 80, 90],
            "cost_total": np.arange(9, dtype=float) * 1.5,
            "build_year": [1980, 1985, 1990, 1995, 2000, 1982, 1984, 1986, 1988],
            "x": np.arange(9, dtype=float),
            "consent_rate": [0.9] * 9,
            "street": ["S1", "S1", "S2", "S1", None, "S2", "S3", "S3", "S3"],
        },
        geometry=cells,
        index=pd.Index(list("abcdefghi"), name="compound_id"),
        crs="EPSG:32650",
    )


@pytest.fixture
def graph3x3(grid3x3) -> nx.Graph:
    G = nx.Graph(crs="EPSG:32650")
    pts = grid3x3.representative_point()
    for cid, row in grid3x3.iterrows():
        G.add_node(cid, x=pts[cid].x, y=pts[cid].y, households=float(row.households))
    ids = list("abcdefghi")
    for i, u in enumerate(ids):
        for j in range(i + 1, 9):
            v = ids[j]
            if grid3x3.geometry[u].intersection(grid3x3.geometry[v]).length > 0:
                G.add_edge(u, v, gap_m=0.0, shared_m=100.0)
    return G


LABELS = pd.Series(dict(zip("abcdefghi", ["P1", "P1", "P2", "P1", "P3", "P2", "P4", "P4", "P4"],
                            strict=True)), name="package_id")


def test_dissolve_sums_and_geometry(grid3x3):
    out = dissolve_packages(grid3x3, LABELS)
    assert out.index.name == "package_id"
    assert list(out.index) == ["P1", "P2", "P3", "P4"]
    assert out["n_compounds"].tolist() == [3, 2, 1, 3]
    assert out.loc["P1", "households"] == 10 + 20 + 40
    assert out["households"].sum() == grid3x3["households"].sum()
    assert out["cost_total"].sum() == pytest.approx(grid3x3["cost_total"].sum())
    assert "x" not in out.columns and "consent_rate" not in out.columns
    assert "build_year" not in out.columns
    assert out.loc["P1", "build_year_min"] == 1980
    assert out.loc["P1", "build_year_mean"] == pytest.approx((1980 + 1985 + 1995) / 3)
    assert out.loc["P1", "streets"] == "S1"
    assert out.loc["P2", "streets"] == "S2"
    assert out.loc["P3", "streets"] == ""
    assert out.geometry.area.tolist() == pytest.approx([30_000, 20_000, 10_000, 30_000])
    assert out.loc["P4"].geometry.geom_type == "Polygon"
    assert out.loc["P4", "compactness_m"] == pytest.approx(200.0)
    assert out.crs == grid3x3.crs


def test_dissolve_requires_every_compound(grid3x3):
    with pytest.raises(DataError, match="1 compound\\(s\\) have no package"):
        dissolve_packages(grid3x3, LABELS.drop("e"))
    with pytest.raises(DataError, match="not in `compounds`"):
        dissolve_packages(grid3x3.drop(index="e"), LABELS)


def test_partition_then_dissolve(grid3x3, graph3x3):
    limits = {"households": (60, 160)}
    labels_res = partition_packages(graph3x3, limits=limits)
    labels = labels_res.labels
    assert_valid_plan(graph3x3, labels, limits)
    out = dissolve_packages(grid3x3, labels)
    assert_valid_plan(graph3x3, labels, limits, compounds=grid3x3, packages=out,
                      sum_columns=["cost_total"])


def test_diff_packages():
    new = LABELS.copy()
    new["e"] = "P1"
    new["c"] = "P5"
    new["f"] = "P5"
    d = diff_packages(LABELS, new)
    assert set(d.compounds["compound_id"]) == {"c", "e", "f"} and len(d) == 3
    row = d.compounds.set_index("compound_id").loc["e"]
    assert (row["old_package"], row["new_package"], row["change"]) == ("P3", "P1", "moved")
    assert d.packages_added == ("P5",)
    assert d.packages_removed == ("P2", "P3")
    assert d.packages_kept == ("P4",)
    assert not d.compounds.attrs  # nothing travels in attrs
    assert diff_packages(LABELS, LABELS).empty
    d2 = diff_packages(LABELS.drop("a"), LABELS)
    assert d2.compounds["change"].tolist() == ["added"]


def test_move_compound_ok(graph3x3):
    res = move_compound(LABELS, graph3x3, "e", "P1", limits={"compounds": (1, 4)})
    assert isinstance(res, sr.PartitionResult)
    assert not res.labels.attrs
    assert res.edits == ({"compound_id": "e", "from": "P3", "to": "P1"},)
    assert res.violations.empty
    new = res.labels
    assert new["e"] == "P1"
    assert "P3" not in set(new)
    assert LABELS["e"] == "P3"  # input untouched
    assert_valid_plan(graph3x3, new, {"compounds": (1, 4)})


def test_move_compound_errors(graph3x3):
    limits = {"compounds": (1, 3), "households": (None, 200)}
    with pytest.raises(EditError, match="splits package 'P4'"):
        move_compound(LABELS, graph3x3, "h", "P3", limits={"compounds": (1, 9)})
    with pytest.raises(EditError, match="does not touch package 'P4'"):
        move_compound(LABELS, graph3x3, "b", "P4", limits=limits)
    with pytest.raises(EditError, match="compounds max limit of the target package"):
        move_compound(LABELS, graph3x3, "e", "P1", limits=limits)
    with pytest.raises(EditError, match="households max limit of the target package"):
        move_compound(LABELS, graph3x3, "e", "P4", limits={"households": (None, 260)})
    with pytest.raises(EditError, match="compounds min limit of the source package"):
        move_compound(LABELS, graph3x3, "f", "P3", limits={"compounds": (2, 4)})
    with pytest.raises(EditError, match="does not exist"):
        move_compound(LABELS, graph3x3, "e", "P9", limits=limits)
    with pytest.raises(EditError, match="not in the plan"):
        move_compound(LABELS, graph3x3, "zz", "P1", limits=limits)
    with pytest.raises(EditError, match="needs `limits`"):
        move_compound(LABELS, graph3x3, "e", "P1")


def test_move_compound_chains_results(graph3x3):
    first = move_compound(LABELS, graph3x3, "e", "P1", limits={"compounds": (1, 5)})
    second = move_compound(first, graph3x3, "f", "P1")  # limits come from the result
    assert second.labels["f"] == "P1" and len(second.edits) == 2
    with pytest.raises(EditError, match="compounds max"):
        move_compound(second, graph3x3, "c", "P1")


@pytest.mark.parametrize(("kwargs", "move", "match"), [
    ({"locked": {"e": "EPC-1"}}, ("e", "P1"), "locked constraint: 'e' is locked"),
    ({"locked": {"a": "P1"}}, ("e", "P1"), "package 'P1' is locked"),
    ({"must_link": [("e", "h")]}, ("e", "P1"), "must_link constraint"),
    ({"cannot_link": [("b", "e")]}, ("e", "P1"), "cannot_link constraint"),
])
def test_move_compound_checks_every_rule(graph3x3, kwargs, move, match):
    limits = {"compounds": (1, 9)}
    with pytest.raises(EditError, match=match):
        move_compound(LABELS, graph3x3, *move, limits=limits, **kwargs)
    # without the rule the same move is allowed
    assert move_compound(LABELS, graph3x3, *move, limits=limits).labels[move[0]] == move[1]


def test_move_compound_boundary_policy(graph3x3, grid3x3):
    G = graph3x3.copy()
    G.graph["boundary_policy"] = "forbid"
    street = grid3x3["street"]
    with pytest.raises(EditError, match="boundary policy"):  # f (S2) into P1 (S1)
        move_compound(LABELS, G, "c", "P1", limits={"compounds": (1, 9)}, boundary=street)
    G.graph["boundary_policy"] = "mark"  # marked crossings are allowed
    assert move_compound(LABELS, G, "c", "P1", limits={"compounds": (1, 9)},
                         boundary=street).labels["c"] == "P1"


def test_violations_refuse_bare_series(graph3x3):
    res = partition_packages(graph3x3, limits={"compounds": (1, 4)})
    assert not res.labels.attrs
    with pytest.raises(TypeError, match="pass the PartitionResult|not its labels Series"):
        sr.violations(res.labels)
    with pytest.raises(TypeError, match="not its labels Series"):
        sr.solver_report(res.labels)
    assert sr.violations(res).empty and len(sr.solver_report(res)) == 1


def test_assert_packages_valid_messages(graph3x3):
    bad = LABELS.copy()
    bad["i"] = "P1"
    with pytest.raises(AssertionError, match="package 'P1'.*contiguity"):
        assert_packages_valid(graph3x3, bad, {"compounds": (1, 9)})
    with pytest.raises(AssertionError, match="households max"):
        assert_packages_valid(graph3x3, LABELS, {"households": (None, 100)})
    with pytest.raises(AssertionError, match="compound 'i'.*no package"):
        assert_packages_valid(graph3x3, LABELS.drop("i"), {"compounds": (1, 9)})
    assert_packages_valid(graph3x3, LABELS, {"compounds": (1, 3)})
