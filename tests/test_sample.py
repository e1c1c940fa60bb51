"""Tests of the synthetic sample district (spatialreno.sample) and the bundled datasets."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import spatialreno as sr
from spatialreno import datasets, schema
from spatialreno.sample import (
    KINDS,
    District,
    load_sample,
    main,
    read_district,
    sample_district,
    write_sample,
)


@pytest.fixture(scope="module")
def d200() -> District:
    return sample_district()


@pytest.fixture(scope="module")
def d20k() -> District:
    return sample_district(20_000, seed=3)


def _neighbour_pairs(geoms: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of geometries within ``distance`` of each other."""
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    keep = i < j
    return i[keep], j[keep]


def _corridors(barriers: gpd.GeoDataFrame) -> np.ndarray:
    geoms = barriers.geometry.to_numpy()
    lines = shapely.get_type_id(geoms) != 3
    return np.where(lines, shapely.buffer(geoms, barriers["width_m"].to_numpy() / 2), geoms)


# --------------------------------------------------------------------------------------
# API, determinism, exact size
# --------------------------------------------------------------------------------------
def test_lazy_api_and_layers(d200):
    assert sr.sample_district is sample_district
    assert sr.load_sample is load_sample
    layers = d200.layers()
    assert list(layers) == ["compounds", "illegal", "gas", "barriers", "admin", "roads"] == list(KINDS)
    assert d200.n_compounds == 200
    assert "compounds=200" in repr(d200)
    with pytest.raises(AttributeError):
        d200.compounds = None  # frozen


def test_deterministic():
    a = sample_district(300, seed=5)
    b = sample_district(300, seed=5)
    c = sample_district(300, seed=6)
    for kind in KINDS:
        assert_geodataframe_equal(a.layers()[kind], b.layers()[kind])
    assert not a.compounds.geometry.geom_equals(c.compounds.geometry.reindex(a.compounds.index)).all()
    assert a.compounds["households"].sum() != c.compounds["households"].sum()


@pytest.mark.parametrize("n", [1, 7, 60, 200, 1234])
def test_exact_n_and_unique_ids(n):
    d = sample_district(n, seed=n)
    assert len(d.compounds) == n
    for kind, gdf in d.layers().items():
        assert gdf.index.name == schema.ID_COLUMNS[kind]
        assert gdf.index.is_unique, kind
        assert len(gdf) > 0, kind


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "200"])
def test_bad_n(bad):
    with pytest.raises(ValueError, match="n_compounds"):
        sample_district(bad)


# --------------------------------------------------------------------------------------
# schema and geometry
# --------------------------------------------------------------------------------------
def test_crs_geometry_and_schema(d200):
    for kind, gdf in d200.layers().items():
        assert gdf.crs.to_epsg() == 4547, kind
        geoms = gdf.geometry.to_numpy()
        assert not shapely.is_empty(geoms).any(), kind
        assert shapely.is_valid(geoms).all(), kind
        assert set(gdf.geom_type) <= set(schema.GEOMETRY_TYPES[kind]), kind
        cols = schema.columns(kind)
        for name in gdf.columns.drop(gdf.geometry.name):
            assert name in cols, f"{kind}.{name} not in schema"
            col = cols[name]
            if col.dtype == "int":
                assert gdf[name].dtype == "Int64", f"{kind}.{name}"
            elif col.dtype == "float":
                assert gdf[name].dtype == np.float64, f"{kind}.{name}"
            if col.vocab:
                codes = set(schema.VOCABULARIES[col.vocab])
                assert set(gdf[name].dropna()) <= codes, f"{kind}.{name}"


def test_ids_format(d200):
    c = d200.compounds
    assert c.index.str.fullmatch(r"42010[35]-\d{4,}").all()
    assert (c.index.str[:6] == c["adcode"]).all()
    assert set(c["adcode"]) == {"420105", "420103"}
    assert set(c["district"]) == {"汉阳区", "江汉区"}
    assert d200.illegal.index.str.fullmatch(r"WJ-\d{6,}").all()
    assert d200.gas.index.str.fullmatch(r"GS-\d{6,}").all()
    assert d200.barriers.index.str.fullmatch(r"BR-\d{3,}").all()
    assert d200.roads.index.str.fullmatch(r"RD-\d{4,}").all()
    streets = d200.admin[d200.admin["level"] == "street"]
    assert streets.index.str.fullmatch(r"42010[35]\d{3}000").all()
    assert (streets.index.str[:6] == streets["parent"]).all()


# --------------------------------------------------------------------------------------
# compound attributes
# --------------------------------------------------------------------------------------
def test_compound_attributes(d20k):
    c = d20k.compounds
    site = c.area.to_numpy()
    gfa = c["floor_area_m2"].to_numpy()
    hh = c["households"].to_numpy(dtype=float)
    bld = c["buildings"].to_numpy(dtype=float)
    assert (hh > 0).all() and (bld >= 1).all()
    far = gfa / site
    assert far.min() >= 1.2 - 1e-3 and far.max() <= 2.5 + 1e-3
    assert ((hh >= np.floor(gfa / 75) - 1) & (hh <= np.ceil(gfa / 60) + 1)).all()
    assert ((bld <= np.ceil(gfa / 3000) + 1) & (bld >= np.floor(gfa / 6000))).all()
    year = c["build_year"]
    assert year.between(1975, 2005).all()
    assert (year <= 2000).mean() > 0.9
    assert (year > 2000).any()
    assert c["renovation_status"].isin(["planned", "reserve"]).mean() > 0.7
    assert (c["contract_type"] == "EPC").mean() > 0.6
    assert set(c["has_pipe_gas"].unique()) == {0, 1}
    assert (c["elevators"] >= 0).all() and (c["elevators_planned"] >= 0).all()
    assert c["name"].notna().all() and c["name"].is_unique


def test_district_totals(d200):
    c = d200.compounds
    assert 30_000 <= c["households"].sum() <= 45_000
    assert 4 <= c["street"].nunique() <= 8
    assert c["community"].nunique() >= 4
    assert c["address"].str.startswith("武汉市").all()


# --------------------------------------------------------------------------------------
# spatial structure
# --------------------------------------------------------------------------------------
def test_shared_walls_lanes_and_no_overlap(d20k):
    g = d20k.compounds.geometry.to_numpy()
    i, j = _neighbour_pairs(g, 15.0)
    dist = shapely.distance(g[i], g[j])
    touching = dist == 0
    assert touching.sum() > 0.3 * len(g)
    # touching compounds share a wall, they do not overlap
    assert not shapely.overlaps(g[i[touching]], g[j[touching]]).any()
    shared = shapely.length(shapely.intersection(shapely.boundary(g[i[touching]]), shapely.boundary(g[j[touching]])))
    walls = shared > 1e-6
    assert (shared[walls] > 10).all()
    assert walls.mean() > 0.7
    assert (~walls).any()  # corner-only (queen) contacts inside 2 × 2 blocks
    # lanes: nothing closer than 3 m unless touching, many pairs 3–15 m apart
    assert not ((dist > 1e-9) & (dist < 3.0 - 1e-6)).any()
    assert ((dist >= 3) & (dist <= 15)).sum() > 0.3 * len(g)


def test_t_junctions_exist(d200):
    """Some touching compounds share a wall but no vertex (T-junctions), exactly."""
    g = d200.compounds.geometry.to_numpy()
    i, j = _neighbour_pairs(g, 0.0)
    t_junctions = 0
    for a, b in zip(i, j):
        va = {tuple(p) for p in shapely.get_coordinates(g[a])}
        vb = {tuple(p) for p in shapely.get_coordinates(g[b])}
        shared = shapely.intersection(g[a].boundary, g[b].boundary).length
        assert g[a].touches(g[b])
        if shared > 1 and len(va & vb) < 2:
            t_junctions += 1
    assert t_junctions > 0


def test_isolated_compounds(d20k):
    g = d20k.compounds.geometry.to_numpy()
    i, j = _neighbour_pairs(g, 60.0)
    has_neighbour = np.zeros(len(g), bool)
    has_neighbour[i] = True
    has_neighbour[j] = True
    share = (~has_neighbour).mean()
    assert 0.015 <= share <= 0.04


def test_barriers(d20k):
    b = d20k.barriers
    assert set(b["barrier_type"]) == {"arterial", "river", "railway"}
    assert b["name"].notna().all() and b["name"].is_unique
    art = b[b["barrier_type"] == "arterial"]
    assert art["width_m"].between(30, 50).all()
    g = d20k.compounds.geometry.to_numpy()
    hits = shapely.STRtree(_corridors(b)).query(g, predicate="intersects")
    assert hits.size == 0
    dist = shapely.STRtree(art.geometry.to_numpy()).query_nearest(g, return_distance=True)[1]
    assert dist.min() >= 20.0


def test_compounds_within_their_street_and_district(d20k):
    c, admin = d20k.compounds, d20k.admin
    streets = admin[admin["level"] == "street"]
    districts = admin[admin["level"] == "district"]
    assert set(districts.index) == {"420105", "420103"}
    assert streets["name"].is_unique
    by_name = streets.reset_index().set_index("name")
    street_geom = by_name.loc[c["street"], "geometry"].to_numpy()
    assert shapely.within(c.geometry.to_numpy(), street_geom).all()
    assert (by_name.loc[c["street"], "parent"].to_numpy() == c["adcode"].to_numpy()).all()
    assert shapely.within(c.geometry.to_numpy(), districts.geometry.loc[c["adcode"]].to_numpy()).all()
    # streets tile each district
    for code, poly in districts.geometry.items():
        mine = streets[streets["parent"] == code].geometry
        assert abs(mine.area.sum() - poly.area) < 1e-6 * poly.area
        assert abs(shapely.union_all(mine.to_numpy()).area - poly.area) < 1e-6 * poly.area


# --------------------------------------------------------------------------------------
# illegal structures, gas, roads
# --------------------------------------------------------------------------------------
def test_illegal_structures(d20k):
    il = d20k.illegal
    n = d20k.n_compounds
    assert 4.5 * n <= len(il) <= 5.5 * n
    types = il.geom_type.value_counts(normalize=True)
    assert 0.3 < types["Point"] < 0.5 and 0.5 < types["Polygon"] < 0.7
    assert il["area_m2"].between(10, 300).all()
    assert set(il["structure"]) <= {"砖混", "钢结构", "彩钢板", "木竹"}
    assert set(il["stock"]) == {"存量", "新增"}
    assert il["party"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    polys = il[il.geom_type == "Polygon"]
    fp = polys.area * polys["floors"].astype(float)
    assert np.allclose(fp.clip(10, 300), polys["area_m2"], atol=0.06)
    g = d20k.compounds.geometry.to_numpy()
    tree = shapely.STRtree(g)
    geoms = il.geometry.to_numpy()
    a, _ = tree.query(geoms, predicate="intersects")
    n_hits = np.bincount(a, minlength=len(geoms))
    inside = n_hits > 0
    assert 0.88 <= inside.mean() <= 0.95
    assert (n_hits >= 2).sum() > 0  # astride a shared wall
    near, _ = tree.query(geoms, predicate="dwithin", distance=15.0)
    near_any = np.zeros(len(geoms), bool)
    near_any[near] = True
    in_lane = near_any & ~inside
    assert 0.05 <= in_lane.mean() <= 0.09
    far = ~near_any
    assert 0.005 <= far.mean() <= 0.02


def test_gas_network(d20k):
    gas, c = d20k.gas, d20k.compounds
    assert set(gas.geom_type) == {"LineString"}
    assert set(gas["pipe_class"]) == {"municipal", "courtyard_buried", "overhead", "riser"}
    assert gas["install_year"].between(1985, 2020).all()
    assert set(gas["pressure"]) <= {"低压", "中压B", "中压A"}
    owner = gas.groupby("pipe_class")["owner"].agg(set)
    assert owner["municipal"] == {"专营单位"} and owner["riser"] == {"居民共有"}
    risers = gas[gas["pipe_class"] == "riser"]
    assert risers.length.between(1.9, 6.1).all()
    g = c.geometry.to_numpy()
    tree = shapely.STRtree(g)
    courtyard = gas[gas["pipe_class"] == "courtyard_buried"].geometry.to_numpy()
    crossing = np.unique(tree.query(courtyard, predicate="crosses")[0])
    assert len(crossing) >= 0.8 * (c["has_pipe_gas"] == 1).sum()
    mains = gas[gas["pipe_class"] == "municipal"].geometry.to_numpy()
    assert tree.query(mains, predicate="intersects").size == 0
    cy = gas[(gas["pipe_class"] == "courtyard_buried") & (gas["install_year"] < 1995)]
    assert (cy["material"] == "grey_cast_iron").mean() > 0.3


def test_roads(d20k):
    roads = d20k.roads
    assert roads["width_m"].between(2.5, 12).all()
    assert set(roads["is_fire_lane"].unique()) == {0, 1}
    assert set(roads["road_class"]) == {"宅间路", "小区主路", "市政道路"}
    assert (roads.loc[roads["is_fire_lane"] == 1, "width_m"] >= 4).all()
    g = d20k.compounds.geometry.to_numpy()
    lines = roads.geometry.to_numpy()
    a, b = shapely.STRtree(g).query(lines, predicate="intersects")
    # a road either stays clear of compounds (a lane) or lies inside one (a compound road)
    assert shapely.within(lines[a], g[b]).all()
    lanes = np.setdiff1d(np.arange(len(lines)), a)
    assert len(lanes) > 0.3 * len(lines)


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------
def test_bundled_geopackage_equals_generator(d200):
    path = datasets.get_path("sample_district")
    assert path.name == "sample_district.gpkg" and path.exists()
    assert datasets.get_path("sample") == path
    bundled = load_sample()
    assert isinstance(bundled, District)
    for kind in KINDS:
        assert_geodataframe_equal(bundled.layers()[kind], d200.layers()[kind], check_less_precise=True)


def test_get_path_unknown():
    with pytest.raises(ValueError, match="sample_district"):
        datasets.get_path("nope")


def test_write_sample_gpkg_and_gbk_shapefiles(tmp_path):
    d = sample_district(60, seed=2)
    written = write_sample(tmp_path, d)
    assert written["gpkg"] == tmp_path / "sample_district.gpkg"
    back = read_district(written["gpkg"])
    for kind in KINDS:
        assert_geodataframe_equal(back.layers()[kind], d.layers()[kind], check_less_precise=True)
    shp = sorted(p.stem for p in (tmp_path / "shp").glob("*.shp"))
    assert shp == sorted(["admin", "barriers_linestring", "barriers_polygon", "compounds", "gas",
                          "illegal_point", "illegal_polygon", "roads"])
    for stem in shp:
        base = tmp_path / "shp" / stem
        assert base.with_suffix(".cpg").read_text().strip().upper() == "GBK"
        assert "China_Geodetic_Coordinate_System_2000" in base.with_suffix(".prj").read_text()
    # Chinese text and schema field codes read back through the .cpg
    df = pyogrio.read_dataframe(tmp_path / "shp" / "compounds.shp")
    codes = {name: col.code for name, col in schema.columns("compounds").items()}
    expected = [codes[c] for c in ["compound_id", *d.compounds.columns.drop("geometry")]]
    assert list(df.columns.drop("geometry")) == expected
    assert list(df["cmp_name"]) == list(d.compounds["name"])
    assert list(df["street"]) == list(d.compounds["street"])
    assert re.fullmatch(r"[\u4e00-\u9fff]+区", df["district"].iloc[0])
    raw = (tmp_path / "shp" / "compounds.dbf").read_bytes()
    assert d.compounds["name"].iloc[0].encode("gbk") in raw
    ill = pyogrio.read_dataframe(tmp_path / "shp" / "illegal_polygon.shp")
    assert set(ill["struct"]) <= {"砖混", "钢结构", "彩钢板", "木竹"}


def test_main_writes(tmp_path, capsys):
    assert main([str(tmp_path / "out"), "--n", "30", "--seed", "1"]) == 0
    assert (tmp_path / "out" / "sample_district.gpkg").exists()
    assert (tmp_path / "out" / "shp" / "compounds.cpg").exists()
    assert "gpkg" in capsys.readouterr().out


def test_read_district_errors(tmp_path):
    with pytest.raises(sr.LayerReadError, match="no such file"):
        read_district(tmp_path / "missing.gpkg")
    path = tmp_path / "partial.gpkg"
    pyogrio.write_dataframe(sample_district(5).compounds.reset_index(), path, layer="compounds")
    with pytest.raises(sr.LayerReadError, match="missing"):
        read_district(path)


def test_compounds_frame_is_pandas_friendly(d200):
    c = d200.compounds
    summary = c.groupby("street")["households"].sum()
    assert isinstance(summary, pd.Series) and summary.sum() == c["households"].sum()
