"""Tests for spatialreno.overlay: illegal structures, gas network, fire lanes, reconciliation."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString, MultiPolygon, Point, Polygon, box

from spatialreno.errors import ConfigError, CRSError, DataError, SchemaError, SpatialRenoWarning
from spatialreno.overlay import (
    ASSIGNMENT_COLUMNS,
    DEFAULT_AGED_RULES,
    GAS_COMPOUND_COLUMNS,
    HOW,
    ILLEGAL_COMPOUND_COLUMNS,
    KINDS,
    MATERIALS,
    PIECE_COLUMNS,
    PIPE_CLASSES,
    STATUSES,
    AgedRule,
    OccupationRule,
    _ConvexTest,
    _group_order,
    flag_fire_lanes,
    overlay_gas,
    overlay_illegal,
    reconcile,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CRS = "EPSG:4547"
RTOL = 1e-9


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300) if b else abs(a - b)


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    """Three 100 m compounds; a and b share a wall, a 10 m lane separates b from c.

    y=100 +-----+-----+  lane  +-----+
          |  a  |  b  | 10 m   |  c  |
    y=0   +-----+-----+        +-----+
          0    100   200  210       310
    """
    return gpd.GeoDataFrame(
        {"households": [10, 20, 30], "name": ["甲", "乙", "丙"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(210, 0, 310, 100)],
        index=pd.Index(["a", "b", "c"], name="compound_id"),
        crs=CRS,
    )


@pytest.fixture
def illegal() -> gpd.GeoDataFrame:
    rows = [
        ("p_in", Point(50, 50), "tin_shed", "filed", 10.0),
        ("p_wall", Point(100, 50), "rooftop", "demolished", 20.0),
        ("q_ab", box(90, 10, 110, 20), "common_space_shed", "deadline", 40.0),  # 50/50 a|b
        ("q_lane", box(190, 30, 220, 40), "tin_shed", "forced", 30.0),  # b 1/3, lane 1/3, c 1/3
        ("q_half", box(195, 60, 205, 70), "ground_enclosure", "to_verify", 8.0),  # b 1/2, lane 1/2
        ("p_lane", Point(205, 60), "tin_shed", "filed", 6.0),  # 5 m from b and c
        ("p_far", Point(348.2, 50), "other", "filed", 7.0),  # 38.2 m from c
        ("p_none", None, "tin_shed", "filed", 8.0),
        ("q_empty", Polygon(), "tin_shed", "filed", 3.0),
        ("q_bow", Polygon([(10, 10), (20, 20), (20, 10), (10, 20)]), "tin_shed", "filed", 9.0),
        ("q_noarea", box(20, 20, 30, 25), "wall_gate", "retained", np.nan),  # footprint 50
        ("p_noarea", Point(150, 50), "business_use", "deferred", np.nan),
        ("m_in", MultiPolygon([box(60, 60, 62, 62), box(64, 64, 66, 66)]), "balcony_cage", "stop_order", 5.0),
    ]
    return gpd.GeoDataFrame(
        {"kind": [r[2] for r in rows], "status": [r[3] for r in rows],
         "area_m2": [r[4] for r in rows], "party": ["张三"] * len(rows)},
        geometry=[r[1] for r in rows],
        index=pd.Index([r[0] for r in rows], name="structure_id"),
        crs=CRS,
    )


def _rows(res, sid):
    return res.assignments[res.assignments["structure_id"] == sid].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# overlay_illegal
# --------------------------------------------------------------------------------------
def test_illegal_assignment_rules(compounds, illegal):
    res = overlay_illegal(compounds, illegal)
    a = res.assignments
    assert list(a.columns) == ASSIGNMENT_COLUMNS
    assert set(a["how"].astype(str)) <= set(HOW)
    # every structure appears, shares sum to 1
    assert set(a["structure_id"]) == set(illegal.index)
    assert np.allclose(a.groupby("structure_id")["share"].sum(), 1.0, rtol=0, atol=1e-12)

    r = _rows(res, "p_in")
    assert (r.compound_id.tolist(), r.how.tolist(), r.share.tolist()) == (["a"], ["inside"], [1.0])
    r = _rows(res, "p_wall")  # on the shared wall: counted once, not twice
    assert len(r) == 1 and r.how[0] == "inside" and r.compound_id[0] in ("a", "b")
    assert "wall of 2 compounds" in r.note[0]
    r = _rows(res, "q_ab")
    assert r.how.tolist() == ["split_by_area"] * 2
    assert dict(zip(r.compound_id, r.share)) == pytest.approx({"a": 0.5, "b": 0.5})
    assert r.area_m2.sum() == pytest.approx(40.0)
    r = _rows(res, "q_lane")  # a third in the lane goes to the largest part (b, tie → first)
    assert dict(zip(r.compound_id, r.share)) == pytest.approx({"b": 2 / 3, "c": 1 / 3})
    assert "outside every compound" in r.note[0]
    r = _rows(res, "q_half")  # one compound, half outside: split_by_area with share 1
    assert r.compound_id.tolist() == ["b"] and r.share[0] == 1.0 and r.how[0] == "split_by_area"
    r = _rows(res, "p_lane")
    assert r.how[0] == "nearest_within_distance" and r.distance_m[0] == pytest.approx(5.0)
    assert r.compound_id[0] in ("b", "c")
    r = _rows(res, "m_in")
    assert r.how.tolist() == ["inside"] and r.compound_id[0] == "a"


def test_illegal_unassigned_reasons(compounds, illegal):
    res = overlay_illegal(compounds, illegal)
    un = res.unassigned
    assert set(un.index) == {"p_far", "p_none", "q_empty", "q_bow"}
    assert un.loc["p_far", "reason"] == "no compound within 15 m; nearest 38.2 m: c"
    assert un.loc["p_far", "nearest_compound_id"] == "c"
    assert un.loc["p_none", "reason"] == "missing geometry"
    assert un.loc["q_empty", "reason"] == "empty geometry"
    assert un.loc["q_bow", "reason"].startswith("invalid geometry (Self-intersection")
    assert un["counted_area_m2"].sum() == pytest.approx(7 + 8 + 3 + 9)
    # a larger distance brings the far one in
    res40 = overlay_illegal(compounds, illegal, max_distance_m=40)
    assert "p_far" not in res40.unassigned.index
    assert _rows(res40, "p_far").compound_id[0] == "c"


def test_illegal_missing_area_uses_footprint(compounds, illegal):
    res = overlay_illegal(compounds, illegal)
    r = _rows(res, "q_noarea")
    assert r.area_m2[0] == pytest.approx(50.0)
    assert "footprint 50.0 m² used" in r.note[0]
    r = _rows(res, "p_noarea")
    assert r.area_m2[0] == 0.0 and "counted as 0 m²" in r.note[0]
    # no area column at all
    res2 = overlay_illegal(compounds, illegal.drop(columns="area_m2"))
    assert res2.compounds["illegal_area_m2"].sum() == pytest.approx(
        shapely.area(illegal.geometry.loc[["q_ab", "q_lane", "q_half", "q_noarea", "m_in"]]).sum())
    res2.check()


def test_illegal_compound_columns_and_breakdowns(compounds, illegal):
    res = overlay_illegal(compounds, illegal)
    out = res.compounds
    for col in ILLEGAL_COMPOUND_COLUMNS:
        assert col in out, col
    assert out.index.equals(compounds.index)
    assert out["households"].tolist() == [10, 20, 30]
    kinds = out[[f"illegal_m2_{k}" for k in KINDS]].sum(axis=1)
    np.testing.assert_allclose(kinds, out["illegal_area_m2"], rtol=1e-12)
    stats = out[[f"illegal_n_{s}" for s in STATUSES]].sum(axis=1)
    np.testing.assert_allclose(stats, out["illegal_count"], rtol=1e-12)
    assert out.loc["a", "illegal_m2_common_space_shed"] == pytest.approx(20.0)
    assert out.loc["b", "illegal_m2_common_space_shed"] == pytest.approx(20.0)
    # fractional count: q_ab counts half in a and half in b
    assert out.loc["a", "illegal_n_deadline"] == pytest.approx(0.5)


def test_illegal_reconciles(compounds, illegal):
    res = overlay_illegal(compounds, illegal)
    t = res.check()
    assert t.loc["illegal_count", "layer_total"] == len(illegal)
    assert t["ok"].all()
    assert (t["rel_error"] <= RTOL).all()
    assert set(t.columns) >= {"layer_total", "compounds", "remainder", "difference"}
    flat = res.reconcile()  # flat form for the Plan's audit
    assert flat["layer"].eq("illegal").all() and flat["quantity"].tolist() == list(t.index)
    # the annotated layer: main compound, footprint
    ann = res.illegal
    assert ann.loc["q_lane", "compound_id"] == "b"
    assert pd.isna(ann.loc["p_far", "compound_id"])
    assert ann.loc["q_ab", "land_area_m2"] == pytest.approx(200.0)
    assert "overlay_illegal" not in repr(res)  # repr works
    assert "illegal_area_m2" in repr(res)


def test_illegal_does_not_change_inputs(compounds, illegal):
    c0, i0 = compounds.copy(), illegal.copy()
    overlay_illegal(compounds, illegal)
    pd.testing.assert_frame_equal(compounds, c0)
    pd.testing.assert_frame_equal(illegal, i0)


def test_illegal_overlapping_compounds_count_once():
    comp = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(95, 0, 200, 100)],
                            index=pd.Index(["x", "y"], name="compound_id"), crs=CRS)
    ill = gpd.GeoDataFrame({"area_m2": [10.0, 20.0]},
                           geometry=[box(96, 50, 99, 60), box(90, 10, 110, 20)],
                           index=pd.Index(["in_overlap", "straddle"], name="structure_id"), crs=CRS)
    res = overlay_illegal(comp, ill)
    assert res.compounds["illegal_count"].sum() == pytest.approx(2.0)
    res.check()
    r = _rows(res, "straddle")  # 90..100 in x (which keeps the overlap), 100..110 in y
    assert dict(zip(r.compound_id, r.share)) == pytest.approx({"x": 0.5, "y": 0.5})
    assert _rows(res, "in_overlap").compound_id.tolist() == ["x"]


def test_illegal_fire_and_gas_flags_roll_up(compounds, illegal):
    ill = illegal.copy()
    ill["blocks_fire_lane"] = [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    ill["blocks_gas"] = pd.array([0, 0, 0, 1, None, 0, 0, 0, 0, 0, 0, 0, 0], dtype="Int64")
    res = overlay_illegal(compounds, ill)
    out = res.compounds
    assert out["fire_lane_blocked"].dtype == "Int64"
    assert out["fire_lane_blocked"].tolist() == [2, 1, 0]  # p_in + q_ab (main a), q_lane (main b)
    assert out["illegal_over_gas"].tolist() == [0, 1, 0]
    t = res.check()
    assert t.loc["fire_lane_blocked", "layer_total"] == 4
    assert t.loc["fire_lane_blocked", "remainder"] == 1  # p_far


def test_illegal_errors(compounds, illegal):
    with pytest.raises(CRSError, match="but the compounds are in"):
        overlay_illegal(compounds, illegal.to_crs(4326))
    with pytest.raises(CRSError, match="geographic"):
        overlay_illegal(compounds.to_crs(4326), illegal.to_crs(4326))
    with pytest.raises(CRSError, match="no CRS"):
        overlay_illegal(compounds.set_crs(None, allow_override=True), illegal)
    dup = pd.concat([compounds, compounds.iloc[[0]]])
    with pytest.raises(DataError, match="unique"):
        overlay_illegal(dup, illegal)
    with pytest.raises(DataError, match="unique"):
        overlay_illegal(compounds, pd.concat([illegal, illegal.iloc[[0]]]))
    with pytest.raises(ConfigError, match="max_distance_m"):
        overlay_illegal(compounds, illegal, max_distance_m=-1)
    bad = compounds.copy()
    bad.loc["a", "geometry"] = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    with pytest.raises(DataError, match="repair_layer"):
        overlay_illegal(bad, illegal)


def test_illegal_unknown_kind_warns(compounds, illegal):
    ill = illegal.copy()
    ill.loc["p_in", "kind"] = "鸽棚"
    with pytest.warns(SpatialRenoWarning, match="鸽棚"):
        res = overlay_illegal(compounds, ill)
    assert res.compounds.loc["a", "illegal_m2_other"] >= 10.0


def test_illegal_chinese_labels(compounds, illegal):
    ill = illegal.copy()
    ill["kind"] = "铁皮板房棚"
    ill["status"] = "已拆除"
    res = overlay_illegal(compounds, ill)
    out = res.compounds
    assert out["illegal_m2_tin_shed"].sum() == pytest.approx(out["illegal_area_m2"].sum())
    assert out["illegal_n_demolished"].sum() == pytest.approx(out["illegal_count"].sum())


def test_illegal_empty_layers(compounds, illegal):
    res = overlay_illegal(compounds, illegal.iloc[:0])
    assert res.compounds["illegal_count"].sum() == 0
    res.check()
    res = overlay_illegal(compounds.iloc[:0], illegal)
    assert len(res.unassigned) == len(illegal)
    assert (res.unassigned["reason"].dropna() != "").all()
    res.check()


@st.composite
def _scene(draw):
    nx_ = draw(st.integers(1, 4))
    gap = draw(st.sampled_from([0.0, 8.0]))
    cells = [box(i * (50 + gap), j * 50, i * (50 + gap) + 50, j * 50 + 50)
             for i in range(nx_) for j in range(2)]
    n = draw(st.integers(0, 25))
    geoms = []
    for _ in range(n):
        x = draw(st.floats(-30, nx_ * 60 + 30, allow_nan=False))
        y = draw(st.floats(-30, 130, allow_nan=False))
        if draw(st.booleans()):
            geoms.append(Point(x, y))
        else:
            w = draw(st.floats(0.5, 40))
            h = draw(st.floats(0.5, 40))
            geoms.append(box(x, y, x + w, y + h))
    areas = draw(st.lists(st.one_of(st.none(), st.floats(0, 500)), min_size=n, max_size=n))
    return cells, geoms, areas


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scene(), st.sampled_from([0.0, 5.0, 15.0]))
def test_illegal_reconciles_property(scene, dist):
    cells, geoms, areas = scene
    comp = gpd.GeoDataFrame(geometry=cells, index=pd.Index([f"c{i}" for i in range(len(cells))],
                            name="compound_id"), crs=CRS)
    ill = gpd.GeoDataFrame({"area_m2": [np.nan if a is None else a for a in areas]},
                           geometry=geoms,
                           index=pd.Index([f"s{i}" for i in range(len(geoms))], name="structure_id"),
                           crs=CRS)
    res = overlay_illegal(comp, ill, max_distance_m=dist)
    t = res.totals()
    assert t["ok"].all(), t
    shares = res.assignments.groupby("structure_id")["share"].sum()
    assert np.allclose(shares, 1.0, atol=1e-12)
    assert (res.assignments["share"] > 0).all()


# --------------------------------------------------------------------------------------
# overlay_gas
# --------------------------------------------------------------------------------------
@pytest.fixture
def gas() -> gpd.GeoDataFrame:
    rows = [
        # id, geometry, class, material, year
        ("g_cross", LineString([(50, 50), (260, 50)]), "courtyard_buried", "grey_cast_iron", 1995),
        ("g_main", LineString([(-50, 150), (400, 150)]), "municipal", "ductile_iron", 1990),
        ("g_wall", LineString([(100, 10), (100, 90)]), "overhead", "steel", 2000),
        ("g_riser", LineString([(20, 80), (20, 81), (21, 81)]), "riser", "galvanized_steel", 2003),
        ("g_young", LineString([(220, 20), (300, 20)]), "courtyard_buried", "pe", 2015),
        ("g_multi", MultiLineString([[(10, 5), (30, 5)], [(205, 5), (230, 5)]]), "庭院埋地", "PE", 1998),
        ("g_none", None, "courtyard_buried", "pe", 2010),
        ("g_noyear", LineString([(230, 90), (240, 90)]), "service", "steel", None),
    ]
    return gpd.GeoDataFrame(
        {"pipe_class": [r[2] for r in rows], "material": [r[3] for r in rows],
         "install_year": pd.array([r[4] for r in rows], dtype="Int64"),
         "diameter_mm": [100] * len(rows), "owner": ["居民共有"] * len(rows)},
        geometry=[r[1] for r in rows],
        index=pd.Index([r[0] for r in rows], name="segment_id"),
        crs=CRS,
    )


def test_gas_cut_at_boundaries(compounds, gas):
    res = overlay_gas(compounds, gas, as_of_year=2024)
    p = res.pieces
    assert list(p.columns) == [*PIECE_COLUMNS, "geometry"]
    cross = p[p.segment_id == "g_cross"]
    got = {(None if pd.isna(c) else c): round(length, 9) for c, length in zip(cross.compound_id, cross.length_m)}
    assert got == {"a": 50.0, "b": 100.0, "c": 50.0, None: 10.0}  # 10 m in the lane
    main = p[p.segment_id == "g_main"]
    assert len(main) == 1 and pd.isna(main.compound_id.iloc[0]) and main.length_m.iloc[0] == 450.0
    assert main.reason.iloc[0] == "outside every compound"
    # a pipe along the shared wall is counted once
    wall = p[p.segment_id == "g_wall"]
    assert wall.length_m.sum() == pytest.approx(80.0) and len(wall) == 1
    # multilinestring split between a and c plus 5 m in the lane
    multi = p[p.segment_id == "g_multi"]
    assert multi.length_m.sum() == pytest.approx(45.0)
    assert multi[multi.compound_id.isna()].length_m.sum() == pytest.approx(5.0)
    # missing geometry: kept, outside, with its reason
    none = p[p.segment_id == "g_none"]
    assert len(none) == 1 and none.reason.iloc[0] == "missing geometry" and none.length_m.iloc[0] == 0
    # every segment is in the pieces; pieces of a segment add up to its length
    assert set(p.segment_id) == set(gas.index)
    sums = p.groupby("segment_id")["length_m"].sum()
    lengths = shapely.length(gas.geometry).fillna(0)
    np.testing.assert_allclose(sums[gas.index], lengths, rtol=1e-12)


def test_gas_aged_rules(compounds, gas):
    res = overlay_gas(compounds, gas, as_of_year=2024)
    seg = res.gas
    rule = seg["aged_rule"].to_dict()
    assert rule["g_cross"] == "CI_ALL"
    assert rule["g_main"] == ""  # ductile iron: needs an assessment, no default rule
    assert rule["g_wall"] == "AGE20"  # steel 24 years
    assert rule["g_riser"] == "RISER20"  # 21 years
    assert rule["g_young"] == ""  # PE 9 years
    assert rule["g_multi"] == "AGE20"  # 庭院埋地 / PE → courtyard_buried / pe, 26 years
    assert rule["g_noyear"] == ""  # no install year: no age rule
    assert seg["aged"].tolist() == [bool(r) for r in seg["aged_rule"]]
    assert seg.loc["g_wall", "age_years"] == 24
    # as_of_year moves the boundary
    res2 = overlay_gas(compounds, gas, as_of_year=2036)
    assert res2.gas.loc["g_young", "aged_rule"] == "AGE20"


def test_gas_compound_columns_and_breakdowns(compounds, gas):
    res = overlay_gas(compounds, gas, as_of_year=2024)
    out = res.compounds
    for col in GAS_COMPOUND_COLUMNS:
        assert col in out, col
    np.testing.assert_allclose(out[[f"gas_{c}_m" for c in PIPE_CLASSES]].sum(axis=1), out["gas_total_m"])
    np.testing.assert_allclose(out[[f"gas_mat_{m}_m" for m in MATERIALS]].sum(axis=1), out["gas_total_m"])
    np.testing.assert_allclose(out[[f"gas_aged_{c}_m" for c in PIPE_CLASSES]].sum(axis=1), out["gas_aged_m"])
    assert out.loc["a", "gas_mat_grey_cast_iron_m"] == pytest.approx(50.0)
    assert out.loc["a", "gas_aged_courtyard_buried_m"] == pytest.approx(50.0 + 20.0)  # g_cross, g_multi
    assert out.loc["a", "gas_riser_m"] == pytest.approx(2.0)
    assert out.loc["a", "gas_overhead_m"] == pytest.approx(80.0)  # the wall pipe goes to a
    assert out["gas_municipal_m"].sum() == 0.0
    t = res.check()
    assert t.loc["gas_total_m", "remainder"] == pytest.approx(450 + 10 + 5 + 0)
    assert t.loc["gas_municipal_m", "remainder"] == pytest.approx(450)
    assert t["ok"].all()


def test_gas_occupation(compounds, gas, illegal):
    ill = illegal.copy()
    extra = gpd.GeoDataFrame(
        {"kind": ["tin_shed", "rooftop", "tin_shed", "tin_shed", "tin_shed"],
         "status": ["filed", "filed", "demolished", "filed", "filed"],
         "area_m2": [12.0, 12.0, 12.0, 1.0, 1.0]},
        geometry=[box(230, 15, 235, 25), box(270, 15, 275, 25), box(280, 15, 285, 25),
                  Point(250, 20.8), Point(250, 90)],
        index=pd.Index(["over_young", "roof", "gone", "pt_near", "pt_far"], name="structure_id"), crs=CRS)
    ill = pd.concat([ill, extra])
    res = overlay_gas(compounds, gas, illegal=ill, as_of_year=2024)
    assert res.gas.loc["g_young", "aged_rule"] == "OCC"
    assert res.gas.loc["g_young", "occupied"] == 1
    assert res.gas.loc["g_cross", "aged_rule"] == "CI_ALL;OCC"  # p_in stands on it
    assert res.gas.loc["g_wall", "aged_rule"] == "AGE20;OCC"  # q_ab stands over it
    b = res.illegal["blocks_gas"]
    assert b.dtype == "Int64"
    assert b["over_young"] == 1 and b["pt_near"] == 1
    assert b["roof"] == 0 and b["gone"] == 0 and b["pt_far"] == 0
    assert pd.isna(b["p_none"]) and pd.isna(b["q_bow"])
    assert res.compounds.loc["c", "gas_occupied_m"] == pytest.approx(80.0 + 50.0)  # g_young, g_cross
    assert res.compounds.loc["c", "gas_aged_m"] >= 80.0
    # rules without OCC: blocks_gas still computed, pipe not aged by occupation
    rules = [r for r in DEFAULT_AGED_RULES if not isinstance(r, OccupationRule)]
    res2 = overlay_gas(compounds, gas, illegal=ill, aged_rules=rules, as_of_year=2024)
    assert res2.gas.loc["g_young", "aged_rule"] == ""
    assert res2.illegal.loc["over_young", "blocks_gas"] == 1
    # combined rule string
    gas2 = gas.copy()
    gas2.loc["g_young", "material"] = "grey_cast_iron"
    res3 = overlay_gas(compounds, gas2, illegal=ill, as_of_year=2040)
    assert res3.gas.loc["g_young", "aged_rule"] == "CI_ALL;OCC"
    # then overlay_illegal counts the structures over gas per compound
    res4 = overlay_illegal(compounds, res.illegal)
    assert res4.compounds.loc["c", "illegal_over_gas"] == 2
    res4.check()


def test_gas_occupied_column(compounds, gas):
    g = gas.copy()
    g["occupied"] = [0, 0, 0, 0, 1, 0, 0, 0]
    res = overlay_gas(compounds, g, as_of_year=2024)
    assert res.gas.loc["g_young", "aged_rule"] == "OCC"
    assert res.compounds["gas_occupied_m"].sum() == pytest.approx(80.0)


def test_gas_custom_rules(compounds, gas):
    rules = [{"code": "DI_ALL", "description_zh": "球墨铸铁", "material": "球墨铸铁"},
             AgedRule("OLD10", "10年以上", min_age=10)]
    res = overlay_gas(compounds, gas, aged_rules=rules, as_of_year=2024)
    assert res.gas.loc["g_main", "aged_rule"] == "DI_ALL;OLD10"
    assert res.gas.loc["g_young", "aged_rule"] == ""
    assert [r.code for r in res.rules] == ["DI_ALL", "OLD10"]
    with pytest.raises(ConfigError, match="unknown pipe_material"):
        overlay_gas(compounds, gas, aged_rules=[{"code": "X", "material": "unobtainium"}])
    with pytest.raises(ConfigError, match="unique"):
        overlay_gas(compounds, gas, aged_rules=[AgedRule("A"), AgedRule("A")])
    with pytest.raises(ConfigError):
        overlay_gas(compounds, gas, aged_rules=[42])


def test_gas_errors(compounds, gas):
    with pytest.raises(SchemaError, match="pipe_class"):
        overlay_gas(compounds, gas.drop(columns="pipe_class"))
    with pytest.raises(CRSError, match="but the compounds are in"):
        overlay_gas(compounds, gas.to_crs(3857))


def test_gas_unknown_class_warns_and_counts_as_other(compounds, gas):
    g = gas.copy()
    g.loc["g_cross", "pipe_class"] = "mystery"
    with pytest.warns(SpatialRenoWarning, match="mystery"):
        res = overlay_gas(compounds, g, as_of_year=2024)
    assert res.compounds["gas_other_m"].sum() == pytest.approx(200.0)
    res.check()


def test_gas_does_not_change_inputs(compounds, gas, illegal):
    c0, g0, i0 = compounds.copy(), gas.copy(), illegal.copy()
    overlay_gas(compounds, gas, illegal=illegal, as_of_year=2024)
    pd.testing.assert_frame_equal(compounds, c0)
    pd.testing.assert_frame_equal(gas, g0)
    pd.testing.assert_frame_equal(illegal, i0)


def test_gas_overlapping_compounds_not_double_counted():
    comp = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(50, 0, 150, 100)],
                            index=pd.Index(["x", "y"], name="compound_id"), crs=CRS)
    g = gpd.GeoDataFrame({"pipe_class": ["courtyard_buried"]},
                         geometry=[LineString([(10, 50), (140, 50)])], index=["s"], crs=CRS)
    res = overlay_gas(comp, g, as_of_year=2024)
    assert res.compounds["gas_total_m"].to_dict() == pytest.approx({"x": 90.0, "y": 40.0})
    res.check()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-40, 300), st.floats(-40, 140), st.floats(-40, 300),
                          st.floats(-40, 140)), min_size=1, max_size=15),
       st.sampled_from([0.0, 3.0, 10.0]))
def test_gas_reconciles_property(segs, gap):
    cells = [box(i * (50 + gap), j * 50, i * (50 + gap) + 50, j * 50 + 50)
             for i in range(4) for j in range(2)]
    comp = gpd.GeoDataFrame(geometry=cells, index=pd.Index([f"c{i}" for i in range(8)],
                            name="compound_id"), crs=CRS)
    geoms = [LineString([(a, b), (c, d)]) for a, b, c, d in segs]
    g = gpd.GeoDataFrame({"pipe_class": "courtyard_buried", "material": "grey_cast_iron"},
                         geometry=geoms, index=[f"s{i}" for i in range(len(geoms))], crs=CRS)
    res = overlay_gas(comp, g, as_of_year=2024)
    assert res.totals()["ok"].all()


def test_gas_degenerate_segment_is_not_lost():
    """GEOS snaps a 1e-43 m segment away when cutting it; it must still be counted."""
    comp = gpd.GeoDataFrame(geometry=[box(0, 0, 50, 50), box(50, 0, 100, 50)],
                            index=pd.Index(["c0", "c1"], name="compound_id"), crs=CRS)
    g = gpd.GeoDataFrame({"pipe_class": ["courtyard_buried", "courtyard_buried"]},
                         geometry=[LineString([(0.0, 9.2e-43), (1.5e-297, 0.0)]),
                                   LineString([(10, 10), (90, 10)])],
                         index=["tiny", "normal"], crs=CRS)
    res = overlay_gas(comp, g, as_of_year=2024)
    assert set(res.pieces.segment_id) == {"tiny", "normal"}
    assert res.pieces.loc[res.pieces.segment_id == "tiny", "reason"].iloc[0].startswith("kept whole")
    res.check()


# --------------------------------------------------------------------------------------
# fire lanes
# --------------------------------------------------------------------------------------
@pytest.fixture
def roads() -> gpd.GeoDataFrame:
    """A 6 m fire lane along y=0, a 3.5 m lane along x=300, a 12 m road that is no fire lane.

    y=0:  r6   (0,0) → (200,0), width 6 (corridor y ∈ [-3, 3])
    x=300: r35 (300,-50) → (300,50), width 3.5
    y=100: r12 (0,100) → (200,100), width 12, is_fire_lane 0
    """
    return gpd.GeoDataFrame(
        {"width_m": [6.0, 3.5, 12.0, np.nan], "is_fire_lane": [1, 1, 0, 1]},
        geometry=[LineString([(0, 0), (200, 0)]), LineString([(300, -50), (300, 50)]),
                  LineString([(0, 100), (200, 100)]), LineString([(0, -200), (10, -200)])],
        index=pd.Index(["r6", "r35", "r12", "r_nowidth"], name="road_id"), crs=CRS,
    )


def test_fire_lanes(roads):
    geoms = {
        "deep": box(10, 0, 15, 5),  # reaches y=0: leaves 3 m → blocks
        "shallow": box(40, 2.5, 45, 9),  # intrudes 0.5 m: leaves 5.5 m
        "middle": box(60, -1, 62, 1),  # 2 m in the middle: 2 m either side → blocks
        "touch": box(80, 3, 85, 8),  # touches the edge only: no intrusion
        "pt_6m": Point(100, 1),  # 6 − 1 = 5 ≥ 4
        "pt_narrow": Point(300, 0),  # 3.5 m lane: blocks
        "pt_out": Point(100, 20),
        "on_non_fire": box(50, 104, 60, 110),  # road 12 is not a fire lane; intrudes 2 m
        "gone": box(120, 0, 125, 5),
        "nogeom": None,
    }
    ill = gpd.GeoDataFrame({"status": ["filed"] * 8 + ["demolished", "filed"]},
                           geometry=list(geoms.values()),
                           index=pd.Index(list(geoms), name="structure_id"), crs=CRS)
    with pytest.warns(SpatialRenoWarning, match="r_nowidth"):
        out = flag_fire_lanes(ill, roads)
    b = out["blocks_fire_lane"]
    assert b.dtype == "Int64"
    assert pd.isna(b["nogeom"])
    assert b.drop("nogeom").to_dict() == {"deep": 1, "shallow": 0, "middle": 1, "touch": 0,
                                          "pt_6m": 0, "pt_narrow": 1, "pt_out": 0,
                                          "on_non_fire": 0, "gone": 0}
    assert out.loc["deep", "fire_lane_clear_m"] == pytest.approx(3.0)
    assert out.loc["shallow", "fire_lane_clear_m"] == pytest.approx(5.5)
    assert out.loc["middle", "fire_lane_clear_m"] == pytest.approx(2.0)
    assert out.loc["pt_narrow", "fire_lane_road_id"] == "r35"
    assert out.loc["pt_narrow", "fire_lane_clear_m"] == pytest.approx(2.5)
    assert np.isnan(out.loc["pt_out", "fire_lane_clear_m"])
    assert pd.isna(out.loc["pt_out", "fire_lane_road_id"])
    # without is_fire_lane every road is a lane: the 12 m road now counts (leaves ≥ 4 m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpatialRenoWarning)
        out2 = flag_fire_lanes(ill, roads.drop(columns="is_fire_lane"))
    assert out2.loc["on_non_fire", "fire_lane_road_id"] == "r12"
    assert out2.loc["on_non_fire", "blocks_fire_lane"] == 0
    # stricter point footprint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpatialRenoWarning)
        out3 = flag_fire_lanes(ill, roads, point_footprint_m=2.5)
    assert out3.loc["pt_6m", "blocks_fire_lane"] == 1


def test_fire_lanes_errors(roads, illegal):
    with pytest.raises(SchemaError, match="width_m"):
        flag_fire_lanes(illegal, roads.drop(columns="width_m"))
    with pytest.raises(CRSError):
        flag_fire_lanes(illegal, roads.to_crs(3857))


def test_fire_lanes_roll_up_to_compounds(compounds, illegal):
    roads = gpd.GeoDataFrame({"width_m": [4.5], "is_fire_lane": [1]},
                             geometry=[LineString([(205, -10), (205, 110)])],
                             index=pd.Index(["lane"], name="road_id"), crs=CRS)
    flagged = flag_fire_lanes(illegal, roads)
    # q_lane, q_half and p_lane stand in the 4.5 m lane between b and c
    assert flagged["blocks_fire_lane"].fillna(0).sum() == 3
    assert flagged.loc["q_half", "fire_lane_clear_m"] == pytest.approx(2.25)
    assert flagged.loc["p_lane", "fire_lane_clear_m"] == pytest.approx(3.5)
    res = overlay_illegal(compounds, flagged)
    blocked = res.compounds["fire_lane_blocked"]
    assert blocked.sum() == 3 and blocked["a"] == 0 and blocked["b"] >= 2
    res.check()


# --------------------------------------------------------------------------------------
# internals: the numpy convex test agrees with GEOS, the group order with lexsort
# --------------------------------------------------------------------------------------
_coord = st.floats(-50, 150, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_coord, _coord), min_size=3, max_size=9),
       st.lists(st.tuples(_coord, _coord, st.floats(0, 30), st.floats(0, 30)), min_size=1,
                max_size=10),
       st.sampled_from([(0.0, 0.0), (523456.789, 3381234.5)]))  # EPSG:4547-sized coordinates
def test_convex_test_agrees_with_geos(vertices, boxes, offset):
    ox, oy = offset
    vertices = [(x + ox, y + oy) for x, y in vertices]
    boxes = [(x + ox, y + oy, w, h) for x, y, w, h in boxes]
    try:
        poly = shapely.make_valid(Polygon(vertices))
    except shapely.errors.GEOSException:  # GEOS cannot repair some degenerate rings
        return
    candidates = [poly, shapely.convex_hull(poly), box(ox, oy, ox + 100, oy + 100)]
    cg = np.array([g for g in candidates if g.geom_type == "Polygon" and g.area > 0 and g.is_valid],
                  dtype=object)  # compounds are checked valid before the test runs
    if len(cg) == 0:
        return
    test = _ConvexTest(cg)
    bounds = np.array([(x, y, x + w, y + h) for x, y, w, h in boxes])
    feats = shapely.box(bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3])
    pts = shapely.points(bounds[:, :2])
    for c in range(len(cg)):
        comp = np.full(len(bounds), c)
        inside, outside = test.classify(comp, bounds)
        assert not (inside & ~shapely.covers(cg[c], feats)).any()
        assert not (outside & shapely.intersects(cg[c], feats)).any()
        pb = np.column_stack([bounds[:, :2], bounds[:, :2]])
        decided, inside = test.inside(comp, pb)
        geos = shapely.intersects(cg[c], pts)
        assert (inside[decided] == geos[decided]).all()


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-3, 3), st.integers(0, 3)), max_size=40))
def test_group_order_matches_lexsort(rows):
    if not rows:
        return
    g, a, b = (np.array(x) for x in zip(*rows))
    np.testing.assert_array_equal(_group_order(g, a, b), np.lexsort((b, a, g)))


# --------------------------------------------------------------------------------------
# packages roll-up
# --------------------------------------------------------------------------------------
def _packages(compounds: gpd.GeoDataFrame, labels: pd.Series) -> pd.DataFrame:
    """Dissolve with spatialreno.packages when it exists, else a plain groupby sum."""
    if importlib.util.find_spec("spatialreno.packages") is not None:
        from spatialreno.packages import dissolve_packages

        return dissolve_packages(compounds, labels)
    numeric = compounds.drop(columns="geometry").select_dtypes("number")
    return numeric.groupby(labels.reindex(compounds.index)).sum()


def test_packages_roll_up_equals_compounds(compounds, illegal, gas):
    gres = overlay_gas(compounds, gas, illegal=illegal, as_of_year=2024)
    ires = overlay_illegal(gres.compounds, gres.illegal)
    labels = pd.Series(["P1", "P1", "P2"], index=compounds.index, name="package_id")
    pk = _packages(ires.compounds, labels)
    table = reconcile(gres, ires, packages=pk)
    assert table["ok"].all(), table
    assert {"packages", "packages_difference"} <= set(table.columns)
    assert "gas_total_m" in table.index and "illegal_area_m2" in table.index
    for col in ("illegal_area_m2", "illegal_count", "gas_total_m", "gas_aged_m"):
        assert _rel(pk[col].sum(), ires.compounds[col].sum()) <= RTOL
    # a package frame missing a column fails the check loudly
    with pytest.raises(DataError, match="do not reconcile"):
        ires.check(pk.drop(columns="illegal_area_m2"))


# --------------------------------------------------------------------------------------
# the bundled sample district (when it has landed)
# --------------------------------------------------------------------------------------
def test_sample_district_reconciles():
    if importlib.util.find_spec("spatialreno.sample") is None:
        pytest.skip("spatialreno.sample has not landed yet")
    from spatialreno.sample import sample_district

    d = sample_district(200, seed=0)
    gres = overlay_gas(d.compounds, d.gas, illegal=d.illegal, as_of_year=2024)
    illegal = gres.illegal
    if getattr(d, "roads", None) is not None and "width_m" in d.roads:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpatialRenoWarning)
            illegal = flag_fire_lanes(illegal, d.roads)
    ires = overlay_illegal(gres.compounds, illegal)
    ires.check()
    gres.check()
    # the sample has structures in the lanes and far away, and mains outside compounds
    how = ires.assignments["how"].value_counts()
    assert how.get("nearest_within_distance", 0) > 0
    assert gres.outside["length_m"].sum() > 0
    labels = pd.Series([f"P{i % 7}" for i in range(len(d.compounds))], index=d.compounds.index,
                       name="package_id")
    table = reconcile(gres, ires, packages=_packages(ires.compounds, labels))
    assert table["ok"].all(), table


# --------------------------------------------------------------------------------------
# real data (skipped when ../shared is absent)
# --------------------------------------------------------------------------------------
KH = REAL / "kaohsiung-gas-pipelines"
TP = REAL / "taipei-urban-renewal"


@pytest.mark.skipif(not (KH / "kh_ng_pipelines_wgs84.geojson").exists(), reason="real data absent")
def test_real_kaohsiung_gas_over_villages():
    villages = gpd.read_file(KH / "kh_pplines_aff_villages_wgs84.geojson").to_crs(3826)
    villages = villages.set_index(pd.Index(villages["VILLAGEID"].astype(str), name="compound_id"))
    villages = villages[~villages.index.duplicated()]
    pipes = gpd.read_file(KH / "kh_ng_pipelines_wgs84.geojson").to_crs(3826)
    # contract mapping: the layer has only ID and NAME (欣高 = the city distribution company);
    # no class, material or year → municipal distribution mains of unknown material.
    pipes = pipes.assign(pipe_class="municipal", material="other", owner=pipes["NAME"],
                         install_year=pd.NA)
    pipes.index = pd.Index([f"ng-{i}" for i in range(len(pipes))], name="segment_id")
    res = overlay_gas(villages, pipes, as_of_year=2014)
    t = res.check()
    total = shapely.length(pipes.geometry).sum()
    assert t.loc["gas_total_m", "layer_total"] == pytest.approx(total, rel=1e-12)
    assert 140_000 < total < 170_000  # SOURCE.md: 156 km
    # the villages are those the 2014 blasts affected; most mains run beyond them
    assert 0.2 * total < t.loc["gas_total_m", "compounds"] < 0.8 * total
    assert t.loc["gas_total_m", "remainder"] > 0.2 * total
    assert t.loc["gas_total_m", "rel_error"] <= RTOL
    sums = res.pieces.groupby("segment_id")["length_m"].sum()
    np.testing.assert_allclose(sums[pipes.index], shapely.length(pipes.geometry), rtol=1e-9)
    assert res.compounds["gas_aged_m"].sum() == 0  # no material/year: no rule can fire


def _taipei_polygons(name: str, prefix: str) -> gpd.GeoDataFrame:
    """A Taipei renewal layer in TWD97 with unique ids (case numbers repeat: R091B02 has
    several units) and make_valid geometry, as `spatialreno.repair_layer` would give."""
    gdf = gpd.read_file(TP / f"{name}.geojson").to_crs(3826)
    case = gdf["案件編號"].astype(str)
    ids = prefix + case + "#" + case.groupby(case).cumcount().astype(str)
    gdf = gdf.set_index(pd.Index(ids, name="compound_id"))[["geometry"]]
    return gdf


def _valid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out["geometry"] = shapely.make_valid(out.geometry.values, method="structure")
    return out[out.geom_type.isin(["Polygon", "MultiPolygon"])]


def _structures(gdf: gpd.GeoDataFrame, prefix: str, *, kind: str, status: str, area) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame({"kind": kind, "status": status, "area_m2": area},
                           geometry=gdf.geometry.values, crs=gdf.crs,
                           index=pd.Index([f"{prefix}{i}" for i in range(len(gdf))],
                                          name="structure_id"))
    return out


@pytest.mark.skipif(not (TP / "danger_building.geojson").exists(), reason="real data absent")
def test_real_taipei_points_and_settlements_over_renewal_units():
    # compounds: the renewal units (公劃地區內事業 + 公告自劃單元), 1,411 polygons that overlap
    units = _valid(pd.concat([_taipei_polygons("building_renewunit_12", "U12-"),
                              _taipei_polygons("building_renewunit_20", "U20-")]))
    assert units.index.is_unique and len(units) == 827 + 584
    # structures: approved rebuild plans (points with 面積), 921 danger-tagged buildings
    # (points, no area) and old hillside settlements (MultiPolygons, footprint area)
    cond = gpd.read_file(TP / "condemned_building.geojson").to_crs(3826)
    danger = gpd.read_file(TP / "danger_building.geojson").to_crs(3826)
    settle = gpd.read_file(TP / "patrol_old_settlement.geojson").to_crs(3826)
    ill = pd.concat([
        _structures(cond, "cond-", kind="other", status="deadline", area=cond["面積"].to_numpy()),
        _structures(danger, "danger-", kind="other", status="to_verify", area=np.nan),
        _structures(settle, "settle-", kind="other", status="to_verify", area=np.nan),
    ])
    assert len(ill) == 117 + 47 + 32
    res = overlay_illegal(units, ill, max_distance_m=15.0)
    t = res.check()
    assert t.loc["illegal_count", "layer_total"] == len(ill)
    assert t.loc["illegal_count", "rel_error"] <= RTOL
    assert t.loc["illegal_area_m2", "rel_error"] <= RTOL
    assert t.loc["illegal_area_m2", "layer_total"] == pytest.approx(
        cond["面積"].sum() + shapely.area(settle.geometry.values).sum())
    how = res.assignments["how"].astype(str).value_counts()
    assert how.get("inside", 0) >= 5  # danger points inside units
    assert how.get("nearest_within_distance", 0) >= 10
    reasons = res.unassigned["reason"]
    assert reasons.str.startswith("invalid geometry").sum() == 2  # 2 invalid settlements
    assert reasons.str.startswith("no compound within 15 m").sum() > 100
    assert set(res.assignments["structure_id"]) == set(ill.index)
    assert np.allclose(res.assignments.groupby("structure_id")["share"].sum(), 1.0, atol=1e-12)


@pytest.mark.skipif(not (TP / "building_renewunit_12.geojson").exists(), reason="real data absent")
def test_real_taipei_unit_footprints_over_renewal_areas():
    # compounds: the publicly designated renewal areas (公劃更新地區), overlapping in places;
    # polygon structures: the renewal-unit footprints inside them, 15 of them invalid
    areas = _valid(_taipei_polygons("building_renewarea_10", "A-"))
    units = _taipei_polygons("building_renewunit_12", "U-")
    ill = _structures(units, "unit-", kind="other", status="filed", area=np.nan)
    res = overlay_illegal(areas, ill)
    t = res.check()
    assert t.loc["illegal_count", "rel_error"] <= RTOL
    assert t.loc["illegal_area_m2", "rel_error"] <= RTOL
    how = res.assignments["how"].astype(str).value_counts()
    assert how.get("inside", 0) > 50
    assert how.get("split_by_area", 0) > 0
    assert (res.unassigned["reason"].str.startswith("invalid geometry")).sum() == 15
    assert np.allclose(res.assignments.groupby("structure_id")["share"].sum(), 1.0, atol=1e-12)
    # a plain sjoin counts units on shared walls or in overlapping areas more than once
    plain = gpd.sjoin(ill[ill.is_valid], areas, predicate="intersects")
    assert plain.index.duplicated().sum() > 0  # ... which the overlay never does


# --------------------------------------------------------------------------------------
# as_of_year: explicit, never the clock's year
# --------------------------------------------------------------------------------------
def test_gas_needs_as_of_year_when_a_rule_counts_years(compounds, gas):
    with pytest.raises(ConfigError, match=r"`as_of_year` is not set.*AGE20, RISER20.*--as-of-year"):
        overlay_gas(compounds, gas)
    with pytest.raises(ValueError, match="as_of_year"):  # ConfigError is a ValueError
        overlay_gas(compounds, gas, aged_rules=[AgedRule("OLD", min_age=30)])
    with pytest.raises(ConfigError, match="year such as 2025"):
        overlay_gas(compounds, gas, as_of_year="soon")


def test_gas_without_age_rules_needs_no_year(compounds, gas):
    res = overlay_gas(compounds, gas, aged_rules=[AgedRule("CI", material="grey_cast_iron")])
    assert res.as_of_year is None
    assert res.pieces["age_years"].isna().all() and res.gas["age_years"].isna().all()
    res.check()


def test_gas_result_keeps_the_year_and_ages_count_to_it(compounds, gas):
    a = overlay_gas(compounds, gas, as_of_year=2024)
    b = overlay_gas(compounds, gas, as_of_year=np.int64(2024))
    assert a.as_of_year == b.as_of_year == 2024 and isinstance(b.as_of_year, int)
    pd.testing.assert_frame_equal(a.compounds, b.compounds)
    install = pd.to_numeric(gas["install_year"], errors="coerce")
    expected = (2024 - install).astype("Int64")
    assert a.gas["age_years"].tolist() == expected.tolist()


def test_no_clock_in_the_overlay_package():
    import spatialreno.overlay as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "datetime" not in text and "today()" not in text and "time.time" not in text, path


def _sample_plan(**overlay_cfg):
    from spatialreno.plan import Plan

    return Plan.sample(config={"overlay": overlay_cfg} if overlay_cfg else None)


def test_plan_counts_ages_to_the_first_budget_year_with_a_note():
    plan = _sample_plan(as_of_year=None).with_options(
        phasing={"budgets": {2027: 1.0, 2026: 1.0}}).run(progress=False, until="overlay")
    assert plan.as_of_year == 2026
    assert "overlay: as_of_year not set: pipe ages counted to 2026, the first budget year" \
        in plan.notes


def test_plan_without_year_or_budgets_names_the_config_key_and_the_option():
    plan = _sample_plan(as_of_year=None).with_options(phasing={"budgets": {}})
    with pytest.raises(ConfigError, match=r"\[overlay\] as_of_year.*--as-of-year"):
        plan.run(progress=False, until="overlay")
    # without a gas layer no year is needed
    from spatialreno.plan import Plan

    layers = {k: v for k, v in plan.inputs.items() if k != "gas"}
    Plan(layers, {"overlay": {"as_of_year": None}}).run(progress=False, until="overlay")


def test_plan_sample_sets_the_year_and_the_report_states_it():
    plan = _sample_plan()
    assert plan.config["overlay"]["as_of_year"] == 2025
    ran = plan.run(progress=False)
    assert not [n for n in ran.notes if "as_of_year" in n]
    assert "燃气管道管龄计算至 2025 年" in ran.report()


def test_cli_as_of_year_option():
    from spatialreno.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["plan", "--as-of-year", "2024"]).as_of_year == 2024
    assert parser.parse_args(["demo", "--as-of-year", "2030"]).as_of_year == 2030
    assert parser.parse_args(["plan"]).as_of_year is None


def test_cli_plan_as_of_year(tmp_path, capsys):
    import spatialreno as sr
    from spatialreno.cli import main
    from spatialreno.sample import write_sample

    write_sample(tmp_path / "data", sr.sample_district(60, seed=2))
    gpkg = tmp_path / "data" / "sample_district.gpkg"
    args = ["plan", "--compounds", f"{gpkg}:compounds", "--gas", f"{gpkg}:gas"]
    assert main(args) == 1  # no year and no budgets: refused, naming the option
    assert "--as-of-year" in capsys.readouterr().err
    assert main([*args, "--as-of-year", "2024"]) in (0, 4)
    assert "燃气管道管龄计算至 2024 年" in capsys.readouterr().out
