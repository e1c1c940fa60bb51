"""check_layer reports, repair_layer fixes with an audit row per change; nothing is lost."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spatialreno as sr

X0, Y0 = 525_000.0, 3_384_000.0


def _box(i, size=50.0):
    return shapely.box(X0 + i * 100, Y0, X0 + i * 100 + size, Y0 + size)


BAD_SHAPES = {
    "box": lambda i: _box(i),
    "bowtie": lambda i: shapely.Polygon([(X0 + i * 100, Y0), (X0 + i * 100 + 40, Y0 + 40),
                                         (X0 + i * 100 + 40, Y0), (X0 + i * 100, Y0 + 40)]),
    "spike": lambda i: shapely.Polygon([(X0 + i * 100, Y0), (X0 + i * 100 + 40, Y0),
                                        (X0 + i * 100 + 40, Y0 + 40), (X0 + i * 100 + 20, Y0 + 40),
                                        (X0 + i * 100 + 20, Y0 + 90), (X0 + i * 100 + 20, Y0 + 40),
                                        (X0 + i * 100, Y0 + 40)]),
    "sliver": lambda i: shapely.Polygon([(X0 + i * 100, Y0), (X0 + i * 100 + 50, Y0),
                                         (X0 + i * 100 + 100, Y0 + 1e-9)]),
    "self_touching_ring": lambda i: shapely.Polygon([
        (X0 + i * 100, Y0), (X0 + i * 100 + 40, Y0), (X0 + i * 100 + 20, Y0 + 20),
        (X0 + i * 100 + 40, Y0 + 40), (X0 + i * 100, Y0 + 40), (X0 + i * 100 + 20, Y0 + 20),
    ]),
    "hole_outside": lambda i: shapely.Polygon(_box(i).exterior.coords,
                                              [shapely.box(X0 + i * 100 + 60, Y0, X0 + i * 100 + 70, Y0 + 10).exterior.coords]),
    "empty": lambda i: shapely.Polygon(),
    "none": lambda i: None,
    "line": lambda i: shapely.LineString([(X0 + i * 100, Y0), (X0 + i * 100 + 30, Y0 + 30)]),
    "point": lambda i: shapely.Point(X0 + i * 100, Y0),
    "collection": lambda i: shapely.GeometryCollection([_box(i), shapely.Point(X0, Y0),
                                                        shapely.box(X0 + i * 100 + 25, Y0, X0 + i * 100 + 75, Y0 + 50)]),
    "multipolygon_overlap": lambda i: shapely.MultiPolygon([_box(i), shapely.box(X0 + i * 100 + 25, Y0, X0 + i * 100 + 75, Y0 + 50)]),
}


def _layer(kinds, ids, households):
    return gpd.GeoDataFrame(
        {"compound_id": ids, "households": households},
        geometry=[BAD_SHAPES[k](i) for i, k in enumerate(kinds)],
        crs="EPSG:4547",
    ).set_index("compound_id")


def test_check_layer_names_each_problem():
    g = _layer(["box", "bowtie", "empty", "line", "box"], ["a", "b", "c", "d", "a"],
               [10, "x", -2, 5, 7])
    problems = sr.check_layer(g, "compounds")
    got = {(r.id, r.problem) for r in problems.itertuples()}
    assert ("b", "invalid geometry") in got
    assert ("c", "empty geometry") in got
    assert ("d", "wrong geometry type") in got
    assert ("a", "duplicate id") in got
    assert ("b", "not a number") in got
    assert ("c", "negative value") in got
    assert "Self-intersection" in problems.loc[problems["problem"] == "invalid geometry", "detail"].iloc[0]
    # nothing changed
    assert g.geometry.iloc[1].equals(BAD_SHAPES["bowtie"](1))


def test_check_layer_clean_layer_is_empty():
    g = _layer(["box", "box"], ["a", "b"], [10, 20])
    assert sr.check_layer(g, "compounds").empty


def test_check_layer_reports_geographic_crs():
    g = _layer(["box"], ["a"], [1]).set_crs(4326, allow_override=True)
    assert "geographic CRS" in set(sr.check_layer(g, "compounds")["problem"])


def test_repair_bowtie_keeps_both_triangles():
    g = _layer(["bowtie"], ["a"], [10])
    out, audit = sr.repair_layer(g, "compounds")
    assert out.geometry.iloc[0].is_valid
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"
    assert out.geometry.iloc[0].area == 800.0
    assert list(audit["action"]) == ["geometry repaired"]
    assert bool(out["repaired"].iloc[0])


def test_repair_renames_duplicates_and_fills_missing_ids():
    g = _layer(["box"] * 4, ["a", "a", None, "a"], [1, 2, 3, 4])
    out, audit = sr.repair_layer(g, "compounds")
    assert list(out.index) == ["a", "a-2", "row-3", "a-3"]
    assert out.index.is_unique
    assert (audit["action"] == "id renamed").sum() == 2
    assert (audit["action"] == "id assigned").sum() == 1


def test_repair_clears_bad_numbers_with_audit():
    g = _layer(["box"] * 3, ["a", "b", "c"], ["12", "很多", -5])
    out, audit = sr.repair_layer(g, "compounds")
    assert out["households"].tolist()[0] == 12
    assert out["households"].isna().tolist() == [False, True, True]
    cleared = audit[audit["action"] == "value cleared"]
    assert list(cleared["id"]) == ["b", "c"]
    assert "很多" in cleared["detail"].iloc[0]


def test_repair_illegal_layer_keeps_points_and_polygons():
    g = gpd.GeoDataFrame({"structure_id": ["p", "q", "r"], "area_m2": [10.0, 20.0, 5.0]},
                         geometry=[shapely.Point(X0, Y0), BAD_SHAPES["bowtie"](1), BAD_SHAPES["line"](2)],
                         crs=4547).set_index("structure_id")
    out, audit = sr.repair_layer(g, "illegal")
    assert list(out.index) == ["p", "q"]
    assert audit.loc[audit["action"] == "dropped", "id"].tolist() == ["r"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(sorted(BAD_SHAPES)), min_size=1, max_size=12),
    id_pool=st.lists(st.sampled_from(["a", "b", "c", None, "", "d-2"]), min_size=12, max_size=12),
    values=st.lists(st.one_of(st.integers(-5, 500), st.just("x"), st.none()), min_size=12, max_size=12),
)
def test_property_nothing_crashes_and_no_row_is_lost(kinds, id_pool, values):
    n = len(kinds)
    g = _layer(kinds, id_pool[:n], values[:n])
    problems = sr.check_layer(g, "compounds")
    assert set(problems.columns) == {"id", "row", "problem", "detail"}
    try:
        out, audit = sr.repair_layer(g, "compounds")
    except sr.DataError as exc:
        # only when no row has anything polygonal to keep: said in one line, not a crash
        assert f"no usable compound polygons: {n} rows" in str(exc)
        assert set(kinds) <= {"empty", "none", "line", "point", "sliver"}
        return
    dropped = audit[audit["action"] == "dropped"]
    # every input row is either in the output or dropped with a reason, exactly once
    assert len(out) + len(dropped) == n
    assert dropped["row"].is_unique
    assert (dropped["detail"].str.len() > 0).all()
    # what comes out meets the contract
    assert out.index.is_unique
    assert not out.index.isna().any()
    assert out.geometry.is_valid.all()
    assert (~out.geometry.is_empty).all()
    assert set(out.geom_type) <= {"Polygon", "MultiPolygon"}
    assert sr.check_layer(out, "compounds").query("problem != 'negative value'").empty
    # every changed row has an audit row
    changed = out.index[out["repaired"].to_numpy()]
    audited_rows = set(audit["row"])
    assert len(changed) <= len(audited_rows)
    # the input is untouched
    assert len(g) == n


def test_repair_is_deterministic():
    g = _layer(["bowtie", "box", "collection", "box"], ["a", "a", "b", None], [1, "x", 3, 4])
    a1 = sr.repair_layer(g, "compounds")
    a2 = sr.repair_layer(g, "compounds")
    pd.testing.assert_frame_equal(a1[1], a2[1])
    assert np.all(a1[0].geometry.values.equals(a2[0].geometry.values))
