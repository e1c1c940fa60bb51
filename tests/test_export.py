"""The city-GIS bundle: GeoPackage, shapefiles (GBK / GB18030 / UTF-8), workbook, atomicity.

Every shapefile is read back three ways — pyogrio (GDAL 3.12), fiona (its own GDAL) and GDAL's
``ogrinfo`` command — and compared with the layer it came from after the field-code map.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from shapely import LineString, Point, box

import spatialreno as sr
from spatialreno import export, schema
from spatialreno.export import (
    display_width,
    export_bundle,
    field_table,
    mask_text,
    read_bundle,
    read_manifest,
)

pytestmark = pytest.mark.filterwarnings("error")

X0, Y0 = 520_000.0, 3_378_000.0  # Hanyang, EPSG:4547
LONG_ADDRESS = "武汉市汉阳区" + "钟家村龟山北路琴台大道" * 7  # 83 characters: 166 bytes GBK, 249 UTF-8
NAMES = ["钢花村小区", "建设新村", "喆园", "琴台路12号院", "镕盛里", "龟山北路3号院"]


def _sq(i: int, j: int) -> shapely.Polygon:
    return box(X0 + 100 * i, Y0 + 100 * j, X0 + 100 * i + 100, Y0 + 100 * j + 100)


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    """A small district with every layer, all kinds of values.

    Compounds (100 m squares) and packages::

        d e f        P1 = a b d
        a b c        P2 = c e f
    """
    ids = pd.Index(list("abcdef"), name="compound_id")
    compounds = gpd.GeoDataFrame(
        {
            "name": NAMES,
            "adcode": ["420105"] * 6,
            "street": ["建桥街道", "建桥街道", "鹦鹉街道", "建桥街道", "鹦鹉街道", "鹦鹉街道"],
            "address": [LONG_ADDRESS, "江汉路1号", None, "琴台路12号", "钟家村", "龟山北路3号"],
            "build_year": pd.array([1985, 1990, None, 1978, 1999, 2000], dtype="Int64"),
            "households": pd.array([320, 210, 96, None, 150, 88], dtype="Int64"),
            "floor_area_m2": [21000.5, 13500.25, 6100.0, 8800.75, 9900.0, 5600.1],
            "renovation_class": ["basic", "improve", "upgrade", None, "basic", "improve"],
            "illegal_area_m2": [42.0, 12.5, 0.0, 7.25, 0.0, 3.0],
            "gas_aged_m": [120.0, 0.0, 35.5, 10.0, 0.0, 60.0],
            "cost_total": [980.12, 640.5, 300.0, 410.33, 470.0, 260.05],
            "package_id": ["P1", "P1", "P2", "P1", "P2", "P2"],
            # outside the schema: a breakdown, a Chinese-named note, a flag
            "gas_aged_pe_m": [10.0, 0.0, 5.5, 0.0, 0.0, 1.0],
            "备注": ["试点", None, "", "老旧", "—", "含「商铺」"],
            "is_pilot": [True, False, False, True, False, False],
        },
        geometry=[_sq(0, 0), _sq(1, 0), _sq(2, 0), _sq(0, 1), _sq(1, 1), _sq(2, 1)],
        index=ids,
        crs="EPSG:4547",
    )
    illegal = gpd.GeoDataFrame(
        {
            "compound_id": ["a", "a", "d", "f"],
            "kind": ["rooftop", "tin_shed", "balcony_cage", "other"],
            "area_m2": [30.0, 12.0, 7.25, 3.0],
            "status": ["filed", "demolished", "to_verify", "deadline"],
            "found_date": pd.to_datetime(["2023-05-01", "2021-11-30", None, "2024-02-29"]),
            "address": ["钢花村小区3栋楼顶", "钢花村小区南门", "琴台路12号院", "龟山北路3号院内"],
            "party": ["张三", "欧阳娜娜", "刘䶮", None],
            "contact_phone": ["13812345678", None, "027-84561234", "13900001111"],
        },
        geometry=[box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), Point(X0 + 50, Y0 + 50),
                  box(X0 + 30, Y0 + 130, X0 + 35, Y0 + 140), Point(X0 + 250, Y0 + 150)],
        index=pd.Index(["WJ-1", "WJ-2", "WJ-3", "WJ-4"], name="structure_id"),
        crs="EPSG:4547",
    )
    gas = gpd.GeoDataFrame(
        {
            "compound_id": ["a", "c", "f"],
            "pipe_class": ["courtyard_buried", "riser", "overhead"],
            "material": ["grey_cast_iron", "steel", "pe"],
            "diameter_mm": pd.array([100, 25, None], dtype="Int64"),
            "install_year": pd.array([1988, 1995, 2010], dtype="Int64"),
            "length_m": [120.0, 35.5, 60.0],
            "aged": pd.array([True, False, None], dtype="boolean"),
        },
        geometry=[LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)]),
                  LineString([(X0 + 250, Y0 + 50), (X0 + 250, Y0 + 60)]),
                  LineString([(X0 + 210, Y0 + 150), (X0 + 290, Y0 + 150)])],
        index=pd.Index(["GS-1", "GS-2", "GS-3"], name="segment_id"),
        crs="EPSG:4547",
    )
    barriers = gpd.GeoDataFrame(
        {"barrier_type": ["arterial"], "name": ["琴台大道"], "width_m": [40.0]},
        geometry=[LineString([(X0 - 50, Y0 - 20), (X0 + 350, Y0 - 20)])],
        index=pd.Index(["BR-1"], name="barrier_id"),
        crs="EPSG:4547",
    )
    admin = gpd.GeoDataFrame(
        {"name": ["建桥街道", "鹦鹉街道"], "level": ["street", "street"], "parent": ["420105"] * 2},
        geometry=[box(X0, Y0, X0 + 150, Y0 + 200), box(X0 + 150, Y0, X0 + 300, Y0 + 200)],
        index=pd.Index(["420105001", "420105002"], name="admin_code"),
        crs="EPSG:4547",
    )
    roads = gpd.GeoDataFrame(
        {"name": ["钢花村路", "鹦鹉大道"], "road_class": ["宅间路", "市政道路"],
         "is_fire_lane": pd.array([1, 0], dtype="Int64"), "width_m": [4.5, 24.0]},
        geometry=[LineString([(X0, Y0 + 100), (X0 + 300, Y0 + 100)]),
                  LineString([(X0 + 150, Y0), (X0 + 150, Y0 + 200)])],
        index=pd.Index(["RD-1", "RD-2"], name="road_id"),
        crs="EPSG:4547",
    ).to_crs("EPSG:4326")  # reprojected back on export
    sums = compounds.groupby("package_id")[
        ["households", "floor_area_m2", "illegal_area_m2", "gas_aged_m", "cost_total"]
    ].sum()
    packages = gpd.GeoDataFrame(
        sums.assign(
            n_compounds=compounds.groupby("package_id").size().astype("Int64"),
            streets=["建桥街道", "建桥街道;鹦鹉街道"],
            must_tender=pd.array([1, 1], dtype="Int64"),
        ),
        geometry=compounds.dissolve("package_id").geometry,
        crs="EPSG:4547",
    )
    return {"compounds": compounds, "illegal": illegal, "gas": gas, "barriers": barriers,
            "admin": admin, "roads": roads, "packages": packages}


def _expected(layers, kind, *, mask=True, crs="EPSG:4547", shp=False) -> gpd.GeoDataFrame:
    """The layer as a bundle should give it back. A DBF cannot tell an empty text from a
    missing one: GDAL reads both as null, so ``shp=True`` expects None for ""."""
    gdf = layers[kind].to_crs(crs)
    if mask:
        for col in export.personal_columns(kind, gdf.columns):
            gdf[col] = gdf[col].map(mask_text, na_action="ignore")
    if shp:
        for col in gdf.columns:
            if pd.api.types.is_object_dtype(gdf[col].dtype) or pd.api.types.is_string_dtype(
                gdf[col].dtype
            ):
                gdf[col] = gdf[col].astype(object).where(gdf[col] != "", None)
    return gdf


def assert_same_layer(got: pd.DataFrame, exp: gpd.GeoDataFrame, *, where: str = "") -> None:
    """Same ids, columns and values (numbers to 1e-9, text exactly, NA where NA)."""
    assert sorted(got.index) == sorted(exp.index), where
    got = got.loc[exp.index]
    assert [c for c in got.columns if c != "geometry"] == [
        c for c in exp.columns if c != "geometry"], where
    for col in exp.columns:
        e, g = exp[col], got[col]
        if col == "geometry":
            g = gpd.GeoSeries(g.values, index=exp.index, crs=exp.crs)
            assert g.geom_equals_exact(e, tolerance=1e-6).all() or g.geom_equals(e).all(), where
            continue
        e_na, g_na = e.isna().to_numpy(), pd.isna(g).to_numpy()
        assert (e_na == g_na).all(), f"{where} {col}: NA differ {e.tolist()} vs {g.tolist()}"
        ev, gv = e[~e_na], g[~g_na]
        if pd.api.types.is_datetime64_any_dtype(e.dtype):
            assert (pd.to_datetime(gv).dt.normalize().to_numpy() == ev.dt.normalize().to_numpy()).all(), col
        elif pd.api.types.is_bool_dtype(e.dtype) or pd.api.types.is_numeric_dtype(e.dtype):
            np.testing.assert_allclose(gv.astype(float).to_numpy(), ev.astype(float).to_numpy(),
                                       rtol=1e-12, atol=1e-9, err_msg=f"{where} {col}")
        else:
            assert [str(v) for v in gv] == [str(v) for v in ev], f"{where} {col}"


def _dbf_fields(dbf: Path) -> dict[str, tuple[str, int, int]]:
    """Field name → (DBF type, width, decimals), straight from the header."""
    raw = dbf.read_bytes()
    header_len = struct.unpack("<H", raw[8:10])[0]
    cpg = dbf.with_suffix(".cpg").read_text()
    codec = {"936": "gbk"}.get(cpg, cpg)
    out = {}
    for off in range(32, header_len - 1, 32):
        d = raw[off:off + 32]
        out[d[:11].split(b"\0")[0].decode(codec)] = (chr(d[11]), d[16], d[17])
    return out


def _shp_files(out: Path, kind: str) -> list[Path]:
    return [out / f["path"] for f in read_manifest(out)["files"]
            if f["format"] == "shp" and f["layer"] == kind]


def _field_map(out: Path, kind: str) -> dict[str, str]:
    return {c["field"]: c["name"] for c in read_manifest(out)["layers"][kind]["columns"]}


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# ---------------------------------------------------------------- GeoPackage
def test_geopackage_holds_every_layer_with_canonical_columns(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("gpkg",))
    gpkg = out / "spatialreno.gpkg"
    names = {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}
    assert names == set(schema.LAYERS) | {"data_dictionary", "vocabulary"}
    for kind in schema.LAYERS:
        got = gpd.read_file(gpkg, layer=kind).set_index(schema.ID_COLUMNS[kind])
        assert got.crs.equals(CRS("EPSG:4547")), kind
        assert_same_layer(got, _expected(layers, kind), where=kind)
    dictionary = gpd.read_file(gpkg, layer="data_dictionary")
    assert {"layer", "field", "column", "zh", "en", "unit"} <= set(dictionary.columns)
    assert len(dictionary) == sum(len(g.columns) for g in layers.values())


def test_read_bundle_gives_the_layers_back_from_either_copy(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle")
    for source in ("gpkg", "shp"):
        back = read_bundle(out, source=source)
        assert list(back) == ["packages", "compounds", "illegal", "gas", "barriers", "admin", "roads"]
        for kind, got in back.items():
            assert got.index.name == schema.ID_COLUMNS[kind]
            exp = _expected(layers, kind, shp=source == "shp")
            assert_same_layer(got, exp, where=f"{source}:{kind}")
        assert back["compounds"]["households"].dtype == "Int64"
        assert back["gas"]["aged"].dtype == "boolean"


# ---------------------------------------------------------------- shapefiles
@pytest.mark.parametrize(("encoding", "cpg", "ldid"),
                         [("GBK", "936", 0x4D), ("GB18030", "GB18030", 0), ("UTF-8", "UTF-8", 0)])
def test_shapefiles_round_trip_with_pyogrio(layers, tmp_path, encoding, cpg, ldid):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), encoding=encoding)
    for kind in schema.LAYERS:
        files = _shp_files(out, kind)
        assert files, kind
        frames = []
        for shp in files:
            assert shp.with_suffix(".cpg").read_text() == cpg
            assert shp.with_suffix(".dbf").read_bytes()[29] == ldid
            assert shp.with_suffix(".prj").exists()
            gdf = pyogrio.read_dataframe(shp)
            assert gdf.crs.equals(CRS("EPSG:4547"))
            assert all(len(f.encode("ascii")) <= 10 for f in gdf.columns if f != "geometry")
            frames.append(gdf)
        gdf = pd.concat(frames).rename(columns=_field_map(out, kind))
        got = gdf.set_index(schema.ID_COLUMNS[kind])
        assert_same_layer(got, _expected(layers, kind, shp=True), where=f"{encoding}:{kind}")
    # the schema's own codes, so spatialreno.io (and any alias-aware reader) maps them back
    fields = pyogrio.read_info(out / "shp" / "compounds.shp")["fields"]
    assert {"cmp_id", "cmp_name", "hh_cnt", "gfa_m2", "cost_est", "pkg_id"} <= set(fields)
    assert all(schema.canonical_name("compounds", f) for f in fields[:12])


@pytest.mark.parametrize("encoding", ["GBK", "GB18030", "UTF-8"])
def test_shapefiles_round_trip_with_fiona(layers, tmp_path, encoding):
    fiona = pytest.importorskip("fiona")
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), encoding=encoding)
    for kind in schema.LAYERS:
        rows, geoms = [], []
        for shp in _shp_files(out, kind):
            cpg = shp.with_suffix(".cpg").read_text()
            with fiona.open(shp, encoding=cpg) as src:
                assert CRS(src.crs).equals(CRS("EPSG:4547"))
                for feat in src:
                    rows.append(dict(feat.properties))
                    geoms.append(shapely.geometry.shape(feat.geometry) if feat.geometry else None)
        got = pd.DataFrame(rows).rename(columns=_field_map(out, kind))
        got["geometry"] = geoms
        got = got.set_index(schema.ID_COLUMNS[kind])
        exp = _expected(layers, kind, shp=True)
        for col in exp.columns:  # fiona gives dates as text and 0/1 for booleans
            if pd.api.types.is_datetime64_any_dtype(exp[col].dtype):
                got[col] = pd.to_datetime(got[col])
        assert_same_layer(got, exp, where=f"fiona {encoding}:{kind}")


@pytest.mark.parametrize(("encoding", "field_names"),
                         [("GBK", "code"), ("UTF-8", "code"), ("GBK", "chinese")])
def test_ogrinfo_lists_fields_and_chinese_values(layers, tmp_path, encoding, field_names):
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("GDAL's ogrinfo is not installed (apt-get install gdal-bin; `make test` does)")
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), encoding=encoding,
                        field_names=field_names)
    shp = out / "shp" / "compounds.shp"
    summary = subprocess.run([ogrinfo, "-so", "-al", str(shp)], capture_output=True, text=True,
                             check=True).stdout
    assert "Layer name: compounds" in summary
    assert "Feature Count: 6" in summary
    if field_names == "code":
        assert "cmp_name: String" in summary and "hh_cnt: Integer" in summary
    else:
        assert "小区名称: String" in summary and "户数: Integer" in summary
    full = subprocess.run([ogrinfo, "-al", "-q", str(shp)], capture_output=True, text=True,
                          check=True).stdout
    name_field = "cmp_name" if field_names == "code" else "小区名称"
    assert f"{name_field} (String) = 钢花村小区" in full
    assert f"(String) = {LONG_ADDRESS}" in full  # 83 characters, not cut


def test_gbk_shapefile_that_lost_its_cpg_still_reads(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), field_names="chinese")
    shp = out / "shp" / "compounds.shp"
    shp.with_suffix(".cpg").unlink()  # e.g. copied without its side-car: the LDID 0x4D decides
    gdf = pyogrio.read_dataframe(shp)
    assert "小区名称" in gdf.columns and gdf["小区名称"].iloc[0] == "钢花村小区"
    fiona = pytest.importorskip("fiona")
    with fiona.open(shp) as src:
        assert next(iter(src)).properties["小区名称"] == "钢花村小区"


def test_sample_shapefiles_carry_the_gbk_ldid_and_a_cpg(tmp_path):
    """write_sample goes through the export's shapefile writer: every part has a .cpg, the
    DBF language-driver id of GBK (0x4D at byte 29), and reads back without its .cpg."""
    from spatialreno.export.shapefile import LDID_OFFSET
    from spatialreno.sample import sample_district, write_sample

    district = sample_district(30, seed=1)
    written = write_sample(tmp_path / "sample", district)
    shps = [p for name, p in written.items() if name != "gpkg"]
    assert {p.stem for p in shps} >= {"compounds", "illegal_point", "illegal_polygon"}
    for shp in shps:
        assert shp.with_suffix(".cpg").read_text(encoding="ascii").strip() != ""
        assert shp.with_suffix(".dbf").read_bytes()[LDID_OFFSET] == 0x4D, shp.name
    shp = tmp_path / "sample" / "shp" / "compounds.shp"
    shp.with_suffix(".cpg").unlink()
    assert list(pyogrio.read_dataframe(shp)["cmp_name"]) == list(district.compounds["name"])


def test_write_shapefile_refuses_text_gbk_cannot_hold(tmp_path):
    c = gpd.GeoDataFrame({"name": ["王䶮小区"]}, geometry=[_sq(0, 0)],
                         index=pd.Index(["C1"], name="compound_id"), crs="EPSG:4547")
    with pytest.raises(sr.EncodingError, match="GB18030"):
        export.write_shapefile(tmp_path, "compounds", c)
    assert list(tmp_path.iterdir()) == []


def test_chinese_field_names_round_trip_in_gbk(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), field_names="chinese")
    fields = _dbf_fields(out / "shp" / "compounds.dbf")
    assert {"小区编码", "小区名称", "户数", "建筑面积", "估算投资", "片区编码"} <= set(fields)
    assert all(len(f.encode("gbk")) <= 10 for f in fields)
    back = read_bundle(out, source="shp")
    for kind in schema.LAYERS:
        assert_same_layer(back[kind], _expected(layers, kind, shp=True), where=kind)


@pytest.mark.parametrize("field_names", ["code", "chinese"])
def test_spatialreno_io_reads_the_bundle_shapefiles(layers, tmp_path, field_names):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), field_names=field_names)
    got = sr.read_layer(out / "shp" / "compounds.shp", "compounds")
    assert {"name", "households", "floor_area_m2", "cost_total"} <= set(got.columns)
    assert got.loc["a", "name"] == "钢花村小区"


def test_spatialreno_io_reads_bundle_shapefiles_with_short_texts(layers, tmp_path):
    layers["compounds"].loc["a", "address"] = "钢花村"
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",), field_names="chinese")
    got = sr.read_layer(out / "shp" / "compounds.shp", "compounds")
    assert {"name", "households", "floor_area_m2", "cost_total"} <= set(got.columns)
    assert got.loc["a", "name"] == "钢花村小区"
    assert got["households"].dtype == "Int64"


def test_chinese_field_names_need_a_two_byte_encoding(layers, tmp_path):
    with pytest.raises(sr.EncodingError, match="encoding='GBK' or encoding='GB18030'"):
        export_bundle(layers, tmp_path / "bundle", encoding="UTF-8", field_names="chinese")
    assert list(tmp_path.iterdir()) == []


def test_dbf_field_types_dates_bools_and_integers(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",))
    ill = _dbf_fields(out / "shp" / "illegal_polygon.dbf")
    assert ill["found_dt"][0] == "D"
    gas = _dbf_fields(out / "shp" / "gas.dbf")
    assert gas["aged"][0] == "N" and gas["aged"][2] == 0  # 0/1 integer, not a DBF logical
    assert gas["dn_mm"][0] == "N" and gas["dn_mm"][2] == 0
    cmp_ = _dbf_fields(out / "shp" / "compounds.dbf")
    assert cmp_["is_pilot"][0] == "N"
    assert cmp_["address"][1] >= len(LONG_ADDRESS.encode("gbk"))  # widened beyond GDAL's 80
    raw = pyogrio.read_dataframe(out / "shp" / "gas.shp")
    assert sorted(raw["aged"].dropna().astype(int)) == [0, 1]


def test_mixed_point_and_polygon_layer_is_split(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp",))
    files = {f["path"]: f["rows"] for f in read_manifest(out)["files"] if f.get("layer") == "illegal"}
    assert files == {"shp/illegal_polygon.shp": 2, "shp/illegal_point.shp": 2}


def test_layers_are_reprojected_to_the_requested_crs(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("shp", "gpkg"), crs="EPSG:4490")
    for path in (out / "shp" / "roads.shp", out / "shp" / "compounds.shp"):
        assert pyogrio.read_info(path)["crs"] == "EPSG:4490"
    roads = read_bundle(out)["roads"]
    assert roads.crs.equals(CRS("EPSG:4490"))
    assert_same_layer(roads, _expected(layers, "roads", crs="EPSG:4490"))
    assert read_manifest(out)["crs"] == "EPSG:4490"


# ---------------------------------------------------------------- encoding errors
def test_character_outside_gbk_is_refused_before_gdal_drops_it(layers, tmp_path):
    layers["compounds"].loc["c", "name"] = "䶮园"  # U+4DAE: in GB18030, not in GBK
    with pytest.raises(sr.EncodingError) as err:
        export_bundle(layers, tmp_path / "bundle")
    message = str(err.value)
    for part in ("compounds", "compound_id 'c'", "column 'name'", "U+4DAE", "GB18030", "UTF-8"):
        assert part in message
    assert list(tmp_path.iterdir()) == []
    # GB18030 and UTF-8 keep it
    for encoding in ("GB18030", "UTF-8"):
        out = export_bundle(layers, tmp_path / encoding, formats=("shp",), encoding=encoding)
        assert read_bundle(out)["compounds"].loc["c", "name"] == "䶮园"


def test_ext_b_character_in_the_last_layer_keeps_the_existing_bundle(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    layers["roads"].loc["RD-2", "name"] = "𠀀湾路"  # U+20000, CJK Ext-B
    with pytest.raises(sr.EncodingError, match=r"roads: road_id 'RD-2', column 'name'.*U\+20000"):
        export_bundle(layers, out, overwrite=True)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert _leftovers(tmp_path) == []


def test_text_over_254_bytes_is_refused(layers, tmp_path):
    layers["illegal"].loc["WJ-1", "address"] = "汉阳区" * 30  # 90 characters: 180 GBK, 270 UTF-8
    with pytest.raises(sr.EncodingError, match=r"illegal: structure_id 'WJ-1'.*270 bytes.*254"):
        export_bundle(layers, tmp_path / "u", encoding="UTF-8")
    out = export_bundle(layers, tmp_path / "g", formats=("shp",), encoding="GBK")
    assert read_bundle(out)["illegal"].loc["WJ-1", "address"] == "汉阳区" * 30
    # GeoPackage and workbook alone have no such limit
    export_bundle(layers, tmp_path / "x", formats=("gpkg", "xlsx"), encoding="UTF-8")


# ---------------------------------------------------------------- workbook
def test_workbook_sheets_headers_formats_and_totals(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle")
    wb = openpyxl.load_workbook(out / "spatialreno.xlsx")
    assert wb.sheetnames == ["片区汇总", "小区明细", "违建明细", "燃气管段", "字段说明"]
    ws = wb["小区明细"]
    headers = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    assert headers[0] == "小区编码"
    assert {"户数(户)", "总建筑面积(㎡)", "估算投资(万元)", "改造类别", "老化燃气管长-PE(m)",
            "备注"} <= set(headers)
    assert ws.freeze_panes == "B2" and wb["片区汇总"].freeze_panes == "B2"
    assert ws.cell(2, col["小区名称"]).value == "钢花村小区"
    assert ws.cell(3, col["改造类别"]).value == "完善"  # label, not the code "improve"
    assert ws.cell(2, col["估算投资(万元)"]).number_format == "0.00"
    assert ws.cell(2, col["总建筑面积(㎡)"]).number_format == "0.0"
    assert ws.cell(2, col["户数(户)"]).number_format == "0"
    assert ws.cell(5, col["户数(户)"]).value is None  # Int64 NA → empty cell
    # widths fit the longest cell, CJK counting double
    width = ws.column_dimensions[openpyxl.utils.get_column_letter(col["地址"])].width
    assert width >= display_width(LONG_ADDRESS) or width == 60
    assert ws.column_dimensions["B"].width >= display_width("龟山北路3号院")
    # totals rows equal the layers' sums
    compounds, packages = layers["compounds"], layers["packages"]
    for sheet, gdf in (("小区明细", compounds), ("片区汇总", packages)):
        ws = wb[sheet]
        headers = [c.value for c in ws[1]]
        total = [c.value for c in ws[ws.max_row]]
        assert total[0] == "合计"
        assert ws.max_row == len(gdf) + 2
        assert total[headers.index("户数(户)")] == int(gdf["households"].sum())
        assert total[headers.index("估算投资(万元)")] == pytest.approx(gdf["cost_total"].sum())
        assert total[headers.index("违建面积(㎡)")] == pytest.approx(gdf["illegal_area_m2"].sum())
    assert wb["小区明细"].cell(wb["小区明细"].max_row, col["小区名称"]).value is None
    ill = wb["违建明细"]
    assert [c.value for c in ill[1]][:3] == ["违建编号", "所属小区", "违建类型"]
    assert ill.max_row == len(layers["illegal"]) + 1  # no totals on detail lists
    assert ill.cell(2, 3).value == "楼顶加建"
    dd = [[c.value for c in row] for row in wb["字段说明"].iter_rows()]
    assert dd[0][:6] == ["图层", "文件", "字段名", "中文名称", "英文名称", "单位"]
    assert ["小区 (compounds)", "compounds.shp", "hh_cnt", "户数", "Households", "户"] in [
        r[:6] for r in dd]


def test_workbook_in_english(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("xlsx",), lang="en")
    wb = openpyxl.load_workbook(out / "spatialreno.xlsx")
    assert wb.sheetnames == ["Packages", "Compounds", "Illegal structures", "Gas segments",
                             "Data dictionary"]
    ws = wb["Compounds"]
    headers = [c.value for c in ws[1]]
    assert "Households (households)" in headers
    assert ws.cell(3, headers.index("Renovation class") + 1).value == "Improvement"
    assert ws.cell(ws.max_row, 1).value == "Total"


# ---------------------------------------------------------------- personal data
def test_personal_data_is_masked_everywhere_by_default(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle")
    assert read_manifest(out)["layers"]["illegal"]["masked"] == ["party", "contact_phone"]
    for source in ("gpkg", "shp"):
        ill = read_bundle(out, source=source)["illegal"].loc[["WJ-1", "WJ-2", "WJ-3", "WJ-4"]]
        assert ill["party"].tolist() == ["张*", "欧***", "刘*", None]
        assert ill.loc["WJ-1", "contact_phone"] == "1**********"
    ws = openpyxl.load_workbook(out / "spatialreno.xlsx")["违建明细"]
    values = {c.value for row in ws.iter_rows() for c in row}
    assert "张*" in values and "张三" not in values and "13812345678" not in values


def test_mask_personal_false_keeps_them(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", encoding="GB18030", mask_personal=False)
    ill = read_bundle(out, source="shp")["illegal"].loc[["WJ-1", "WJ-2", "WJ-3", "WJ-4"]]
    assert ill["party"].tolist() == ["张三", "欧阳娜娜", "刘䶮", None]
    assert read_manifest(out)["layers"]["illegal"]["masked"] == []


# ---------------------------------------------------------------- atomicity
def test_existing_bundle_is_refused_without_overwrite(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle", formats=("gpkg",))
    with pytest.raises(sr.ExportError, match="earlier run.*overwrite=True"):
        export_bundle(layers, out, formats=("gpkg",))
    out2 = export_bundle(layers, out, formats=("shp",), encoding="GB18030", overwrite=True)
    assert out2 == out
    assert read_manifest(out)["encoding"] == "GB18030"
    assert not (out / "spatialreno.gpkg").exists()
    assert _leftovers(tmp_path) == []


def test_a_folder_that_is_not_a_bundle_is_never_replaced(layers, tmp_path):
    folder = tmp_path / "my_documents"
    folder.mkdir()
    (folder / "keep.txt").write_text("important")
    with pytest.raises(sr.ExportError, match="not written by spatialreno"):
        export_bundle(layers, folder, overwrite=True)
    assert (folder / "keep.txt").read_text() == "important"


def test_failure_during_the_workbook_leaves_nothing_and_keeps_the_old_bundle(
    layers, tmp_path, monkeypatch
):
    out = export_bundle(layers, tmp_path / "bundle")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    from spatialreno.export import bundle

    monkeypatch.setattr(bundle, "write_workbook", boom)
    with pytest.raises(sr.ExportError, match="disk full"):
        export_bundle(layers, out, overwrite=True, encoding="GB18030")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    with pytest.raises(sr.ExportError, match="disk full"):
        export_bundle(layers, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    assert _leftovers(tmp_path) == []


def test_gdal_failure_midway_leaves_nothing(layers, tmp_path, monkeypatch):
    from pyogrio import raw

    calls = {"n": 0}
    real_write = raw.write

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise pyogrio.errors.DataSourceError("simulated GDAL failure")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(raw, "write", flaky)
    with pytest.raises(sr.ExportError, match="simulated GDAL failure"):
        export_bundle(layers, tmp_path / "bundle")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- options, inputs
def test_duck_typed_district_or_plan(layers, tmp_path):
    given = layers

    class District:
        def layers(self):
            return {k: given[k] for k in ("compounds", "gas")}

    class Plan:
        def __init__(self):
            self.layers = {"compounds": given["compounds"]}  # inputs: not what is exported

        def export_layers(self):
            return {"compounds": given["compounds"], "packages": given["packages"]}

    out = export_bundle(District(), tmp_path / "d", formats=("gpkg",))
    assert set(read_manifest(out)["layers"]) == {"compounds", "gas"}
    out = export_bundle(Plan(), tmp_path / "p", formats=("gpkg",))
    assert set(read_manifest(out)["layers"]) == {"compounds", "packages"}
    with pytest.raises(TypeError, match="layers"):
        export_bundle([layers["compounds"]], tmp_path / "x")
    with pytest.raises(sr.SchemaError, match="unknown layer kind"):
        export_bundle({"parcels": layers["compounds"]}, tmp_path / "x")


def test_bad_options_are_refused(layers, tmp_path):
    with pytest.raises(ValueError, match="encoding must be one of GBK, GB18030, UTF-8"):
        export_bundle(layers, tmp_path / "x", encoding="latin-1")
    with pytest.raises(ValueError, match="formats"):
        export_bundle(layers, tmp_path / "x", formats=("kml",))
    with pytest.raises(sr.CRSError, match="no CRS"):
        export_bundle({"compounds": layers["compounds"].set_crs(None, allow_override=True)},
                      tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_columns_outside_the_schema_get_stable_codes_and_names(layers, tmp_path):
    compounds = layers["compounds"].assign(
        gas_aged_pe_metres=1.0, gas_aged_pe_meter=2.0, my_very_long_column_name="x")
    table = field_table({"compounds": compounds})
    extra = table[~table["in_schema"]].set_index("column")
    assert extra.loc["gas_aged_pe_m", "zh"] == "老化燃气管长-PE"
    assert extra.loc["gas_aged_pe_m", "unit"] == "m"
    assert extra.loc["备注", "zh"] == "备注"
    codes = table["field"].tolist()
    assert all(len(c.encode("ascii")) <= 10 for c in codes)
    assert len({c.lower() for c in codes}) == len(codes)
    assert field_table({"compounds": compounds})["field"].tolist() == codes  # deterministic
    out = export_bundle({"compounds": compounds}, tmp_path / "b", formats=("shp",))
    csv = pd.read_csv(out / "shp" / "字段说明.csv", encoding="utf-8-sig", dtype=str)
    assert list(csv.columns[:6]) == ["图层", "文件", "字段名", "中文名称", "英文名称", "单位"]
    assert set(csv["字段名"]) == set(codes)
    assert_same_layer(read_bundle(out)["compounds"],
                      _expected({"compounds": compounds}, "compounds", shp=True))


def test_manifest_lists_files_and_row_counts(layers, tmp_path):
    out = export_bundle(layers, tmp_path / "bundle")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    paths = [f["path"] for f in manifest["files"]]
    assert paths[0] == "spatialreno.gpkg" and "spatialreno.xlsx" in paths
    assert "shp/字段说明.csv" in paths and "shp/代码表.csv" in paths
    for f in manifest["files"]:
        assert (out / f["path"]).exists()
    assert manifest["files"][0]["layers"] == {k: len(v) for k, v in layers.items()}
    for kind, gdf in layers.items():
        rows = sum(f["rows"] for f in manifest["files"] if f.get("layer") == kind)
        assert rows == len(gdf) == manifest["layers"][kind]["rows"]
    assert manifest["encoding"] == "GBK" and manifest["cpg"] == "936"


def test_sample_district_exports_and_reads_back(tmp_path):
    sample = pytest.importorskip("spatialreno.sample")
    district = sample.sample_district(60, seed=3)
    out = export_bundle(district, tmp_path / "bundle")
    manifest = read_manifest(out)
    for kind, gdf in district.layers().items():
        assert manifest["layers"][kind]["rows"] == len(gdf)
    gpkg, shp = read_bundle(out, source="gpkg"), read_bundle(out, source="shp")
    for kind in manifest["layers"]:
        assert_same_layer(shp[kind], gpkg[kind], where=kind)


# ---------------------------------------------------------------- formulas, generated text
PAYLOADS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1",
            "=cmd|' /C calc'!A0"]


def _formula_layers(layers):
    """The fixture with a formula payload in compound ids, names, streets, a user column
    (values and name) and an illegal structure's address; negative numbers and NaN beside."""
    c = layers["compounds"]
    ids = PAYLOADS[:6]
    c = c.assign(
        name=PAYLOADS[:6], street=PAYLOADS[2:8],
        备注=PAYLOADS[-6:], package_id=["=P1", "=P1", "-P2", "=P1", "-P2", "-P2"],
        delta=[-1.5, np.nan, -3.0, 0.0, 2.25, -0.01],
        change=pd.array([-4, None, 0, 5, -1, 2], dtype="Int64"),
    ).rename(columns={"备注": "=note"})
    c.index = pd.Index(ids, name="compound_id")
    ill = layers["illegal"].assign(
        compound_id=ids[:4], address=PAYLOADS[4:8], party=["=HYPERLINK(1)", "张三", "-x", None])
    return {"compounds": c, "illegal": ill, "gas": layers["gas"]}


def _sheet_xml(path: Path) -> dict[str, str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist()
                if n.startswith("xl/worksheets/") and n.endswith(".xml")}


def test_formula_payloads_never_become_formulas_in_the_workbook(layers, tmp_path):
    given = _formula_layers(layers)
    out = export_bundle(given, tmp_path / "bundle")
    xml = _sheet_xml(out / "spatialreno.xlsx")
    assert len(xml) == 4  # 小区明细, 违建明细, 燃气管段, 字段说明
    for name, text in xml.items():
        assert "<f>" not in text and "<f " not in text, name
        assert 't="e"' not in text, name
    wb = openpyxl.load_workbook(out / "spatialreno.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type in ("s", "n", "d") or cell.value is None, (
                    ws.title, cell.coordinate, cell.data_type, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), (
                        ws.title, cell.coordinate, cell.value)
    ws = wb["小区明细"]
    headers = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    assert "'=note" in col  # a user's column name is a header: neutralised too
    shown = lambda v: "'" + v.replace("\r", "\n")  # noqa: E731 (XML reads CR as LF)
    for r, cid in enumerate(given["compounds"].index, start=2):
        row = given["compounds"].loc[cid]
        assert ws.cell(r, col["小区编码"]).value == shown(cid)
        assert ws.cell(r, col["小区名称"]).value == shown(row["name"])
        assert ws.cell(r, col["街道"]).value == shown(row["street"])
        assert ws.cell(r, col["'=note"]).value == shown(row["=note"])
        assert ws.cell(r, col["所属片区"]).value == shown(row["package_id"])
    # numbers stay numbers, negative ones too; NaN and NA are empty cells
    deltas = [ws.cell(r, col["delta"]) for r in range(2, 8)]
    assert [c.value for c in deltas] == [-1.5, None, -3.0, 0.0, 2.25, -0.01]
    assert all(c.data_type == "n" for c in deltas)
    changes = [ws.cell(r, col["change"]).value for r in range(2, 8)]
    assert changes == [-4, None, 0, 5, -1, 2]
    assert ws.cell(2, col["户数(户)"]).value == 320 and ws.cell(2, col["户数(户)"]).data_type == "n"
    ill = wb["违建明细"]
    values = [c.value for row in ill.iter_rows(min_row=2) for c in row]
    assert "'=" + "*" * 12 in values and "'-*" in values  # masked, then neutralised
    assert "'@SUM(A1)" in values and "'=cmd|' /C calc'!A0" in values


def test_formula_payloads_stay_exact_in_the_gis_layers(layers, tmp_path):
    given = _formula_layers(layers)
    out = export_bundle(given, tmp_path / "bundle", mask_personal=False)
    for source in ("gpkg", "shp"):
        back = read_bundle(out, source=source)
        c = back["compounds"]
        assert sorted(c.index) == sorted(given["compounds"].index), source
        for col in ("name", "street", "=note", "package_id"):
            assert c.loc[given["compounds"].index, col].tolist() == \
                given["compounds"][col].tolist(), (source, col)
        np.testing.assert_allclose(c.loc[given["compounds"].index, "delta"].to_numpy(float),
                                   given["compounds"]["delta"].to_numpy(float))
        ill = back["illegal"].loc[given["illegal"].index]
        assert ill["address"].tolist() == PAYLOADS[4:8], source
        assert ill["compound_id"].tolist() == PAYLOADS[:4], source
        assert ill.loc["WJ-1", "party"] == "=HYPERLINK(1)", source


def test_bundle_csv_files_are_neutralised(layers, tmp_path):
    import csv

    out = export_bundle(_formula_layers(layers), tmp_path / "bundle", formats=("shp",))
    with open(out / "shp" / "字段说明.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [v for row in rows for v in row]
    assert "'=note" in cells and "=note" not in cells
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in cells)


# the sample district with a cost cap of 2,000 万元: its 化整为零 warnings list so many
# packages that some pass 254 bytes (issue 12: the export used to refuse them)
CAPPED = {"compounds": [2, 8], "cost_total": [None, 2000]}


@pytest.fixture(scope="module")
def capped_plan():
    from spatialreno.plan import Plan

    return Plan.sample(config={"packages": {"limits": CAPPED}}).run(progress=False)


@pytest.mark.parametrize(("encoding", "lang", "note"), [
    ("GBK", "zh", "…（全文见工作簿 片区汇总/化整为零提示）"),
    ("UTF-8", "en", "… (full text: workbook, sheet Packages, column Tender-split warning)"),
])
def test_long_generated_warning_is_shortened_in_the_shapefile_only(
    capped_plan, tmp_path, encoding, lang, note
):
    full = capped_plan.packages["split_warning"]
    long = full[full.map(lambda s: len(s.encode(encoding)) > 254)]
    assert len(long) >= 1  # the case of the issue
    out = capped_plan.export(tmp_path / "bundle", encoding=encoding, lang=lang)
    shp = read_bundle(out, source="shp")["packages"]["split_warning"]
    gpkg = read_bundle(out, source="gpkg")["packages"]["split_warning"]
    for pid, text in full.items():
        if pid in long.index:
            short = shp[pid]
            assert short.endswith(note)
            assert text.startswith(short[: -len(note)])
            assert len(short[: -len(note)]) > 60  # most of it kept
            assert len(short.encode(encoding)) <= 254
        else:
            assert (shp[pid] or "") == text  # a DBF reads "" back as null
        assert (gpkg[pid] or "") == text
    entries = [f for f in read_manifest(out)["files"]
               if f["format"] == "shp" and f["layer"] == "packages"]
    assert [e.get("shortened") for e in entries] == [{"split_warning": len(long)}]
    ws = openpyxl.load_workbook(out / "spatialreno.xlsx")["片区汇总" if lang == "zh" else "Packages"]
    headers = [c.value for c in ws[1]]
    j = headers.index("化整为零提示" if lang == "zh" else "Tender-split warning") + 1
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row)]
    in_book = {pid: ws.cell(r, j).value for r, pid in enumerate(ids, start=2)}
    for pid in long.index:
        assert in_book[pid] == long[pid]  # in full


def test_shortened_text_note_names_where_the_full_text_is(capped_plan, tmp_path):
    out = capped_plan.export(tmp_path / "g", formats=("gpkg", "shp"))
    shp = read_bundle(out, source="shp")["packages"]["split_warning"].dropna()
    assert shp.str.endswith("…（全文见 spatialreno.gpkg 图层 packages 列 split_warning）").any()
    out = capped_plan.export(tmp_path / "s", formats=("shp",), lang="en")
    shp = read_bundle(out, source="shp")["packages"]["split_warning"].dropna()
    assert shp.str.endswith("… (cut; export xlsx or gpkg for the full text)").any()


@pytest.mark.parametrize("encoding", ["GBK", "GB18030", "UTF-8"])
def test_shortening_cuts_between_characters(encoding):
    codec = export.resolve_encoding(encoding).python
    note = "…（全文见工作簿）"
    for text in ("汉阳区钟家村" * 40, "a" + "汉阳区钟家村" * 40, "ab" + "琴台" * 150):
        short = export.shortened(text, codec, note)
        raw = short.encode(codec)
        assert len(raw) <= 254 and raw.decode(codec) == short
        assert short.endswith(note) and text.startswith(short[: -len(note)])
        assert len(raw) > 254 - 4  # nothing more could have been kept
    assert export.shortened("短文本", codec, note) == "短文本"


def test_user_text_over_254_bytes_is_still_refused_in_a_generated_looking_column(layers, tmp_path):
    # split_warning is spatialreno's own only in the packages layer
    layers["compounds"]["split_warning"] = "汉阳区" * 50  # 300 bytes in GBK
    with pytest.raises(sr.EncodingError, match=r"compounds: compound_id 'a'.*300 bytes.*254"):
        export_bundle(layers, tmp_path / "x")


def test_control_character_in_text_names_the_row_for_the_workbook(layers, tmp_path):
    layers["compounds"].loc["b", "name"] = "建设\x01新村"
    with pytest.raises(sr.EncodingError,
                       match=r"compounds: compound_id 'b', column 'name' \(小区名称\).*U\+0001"):
        export_bundle(layers, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    out = export_bundle(layers, tmp_path / "gis", formats=("gpkg", "shp"))
    for source in ("gpkg", "shp"):
        assert read_bundle(out, source=source)["compounds"].loc["b", "name"] == "建设\x01新村"
