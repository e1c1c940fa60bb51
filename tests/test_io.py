"""Reading layers: formats, encodings, CRS handling, aliases and one-line errors."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import CRS

import spatialreno as sr
from spatialreno.io import detect_dbf_encoding, gauss_kruger_crs

NAMES = ["钟家村三小区", "汉阳造纸厂宿舍", "琴台路12号院"]


def _chinese_layer(crs="EPSG:4547"):
    return gpd.GeoDataFrame(
        {
            "小区编码": ["420105-0001", "420105-0002", "420105-0003"],
            "小区名称": NAMES,
            "户数": [120, 340, 86],
            "街道": ["建桥街道", "鹦鹉街道", "晴川街道"],
        },
        geometry=[shapely.box(525000 + i * 100, 3384000, 525080 + i * 100, 3384080) for i in range(3)],
        crs=crs,
    )


def _write_shp(gdf, path, encoding, *, cpg: bool):
    gdf.to_file(path, engine="pyogrio", encoding=encoding)
    cpg_path = path.with_suffix(".cpg")
    if not cpg:
        cpg_path.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------- CRS
@pytest.mark.parametrize(
    ("lon", "epsg"), [(114.30, 4547), (113.7, 4547), (115.4, 4547), (120.2, 4549), (121.6, 4550), (87.6, 4538)]
)
def test_gauss_kruger_zone_matches_the_epsg_rule(lon, epsg):
    assert gauss_kruger_crs(lon).to_epsg() == epsg
    # the zone's central meridian (named in the CRS) is within 1.5° of the longitude
    cm = 75 + (epsg - 4534) * 3
    assert f"CM {cm}E" in CRS.from_epsg(epsg).name
    assert abs(cm - lon) <= 1.5


def test_gauss_kruger_outside_china_is_an_error():
    with pytest.raises(sr.CRSError, match="to_crs"):
        gauss_kruger_crs(10.0)


def test_lon_lat_layer_is_projected_to_its_gk_zone(tmp_path):
    g = _chinese_layer().to_crs(4490)
    path = tmp_path / "c.gpkg"
    g.to_file(path)
    got = sr.io.read(path, "compounds")
    out = got.frame
    assert out.crs.to_epsg() == 4547
    assert any("reprojected" in n for n in got.notes)
    # within a millimetre of the original projected coordinates
    assert out.geometry.iloc[0].equals_exact(_chinese_layer().geometry.iloc[0], tolerance=1e-3)


def test_to_crs_names_the_target(tmp_path):
    path = tmp_path / "c.gpkg"
    _chinese_layer().to_crs(4326).to_file(path)
    assert sr.read_layer(path, "compounds", to_crs="EPSG:32650").crs.to_epsg() == 32650


def test_layer_without_crs_is_an_error_unless_crs_given(tmp_path):
    path = _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=True)
    path.with_suffix(".prj").unlink()
    with pytest.raises(sr.CRSError, match="no coordinate reference system.*crs="):
        sr.read_layer(path, "compounds")
    out = sr.read_layer(path, "compounds", crs="EPSG:4547")
    assert out.crs.to_epsg() == 4547


def test_crs_that_contradicts_the_file_is_refused(tmp_path):
    path = tmp_path / "c.gpkg"
    _chinese_layer().to_file(path)
    with pytest.raises(sr.CRSError, match="to_crs"):
        sr.read_layer(path, "compounds", crs="EPSG:4326")


# ---------------------------------------------------------------- encodings
@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
def test_gbk_shapefile_without_cpg_reads_back_chinese(tmp_path, engine):
    path = _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=False)
    assert not path.with_suffix(".cpg").exists()
    # GDAL alone returns mojibake here: the reason this reader exists
    raw = pyogrio.read_dataframe(path)
    assert list(raw.iloc[:, 1]) != NAMES
    got = sr.io.read(path, "compounds", engine=engine)
    out = got.frame
    assert list(out["name"]) == NAMES
    assert list(out.index) == ["420105-0001", "420105-0002", "420105-0003"]
    assert got.encoding == "GBK"
    assert any("no .cpg" in n and "GBK" in n for n in got.notes)


def test_utf8_shapefile_without_cpg_is_detected(tmp_path):
    g = _chinese_layer().rename(columns={"小区名称": "cmp_name", "户数": "hh_cnt", "小区编码": "cmp_id",
                                          "街道": "street"})
    path = _write_shp(g, tmp_path / "c.shp", "UTF-8", cpg=False)
    got = sr.io.read(path, "compounds")
    out = got.frame
    assert list(out["name"]) == NAMES
    assert got.encoding == "UTF-8"


@pytest.mark.parametrize("declared", ["936", "ANSI 936", "GBK", "CP936"])
def test_cpg_spellings_of_gbk_are_understood(tmp_path, declared):
    path = _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=False)
    path.with_suffix(".cpg").write_text(declared)
    assert list(sr.read_layer(path, "compounds")["name"]) == NAMES


def test_wrong_cpg_is_overruled_with_a_warning(tmp_path):
    path = _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=False)
    path.with_suffix(".cpg").write_text("UTF-8")
    with pytest.warns(sr.SpatialRenoWarning, match="not UTF-8"):
        out = sr.read_layer(path, "compounds")
    assert list(out["name"]) == NAMES


def test_detect_dbf_encoding_reports_its_reason(tmp_path):
    path = _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=False)
    enc, why = detect_dbf_encoding(path.with_suffix(".dbf"))
    assert enc == "GBK" and "GBK" in why


def test_zipped_shapefile(tmp_path):
    _write_shp(_chinese_layer(), tmp_path / "c.shp", "GBK", cpg=False)
    zpath = tmp_path / "c.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in tmp_path.glob("c.*"):
            if p.suffix != ".zip":
                zf.write(p, f"data/{p.name}")
    out = sr.read_layer(zpath, "compounds")
    assert list(out["name"]) == NAMES and out.crs.to_epsg() == 4547


# ---------------------------------------------------------------- columns
def test_aliases_map_to_canonical_names(tmp_path):
    g = _chinese_layer()
    g["建成年代"] = [1985, 1990, 1998]
    g["gfa_m2"] = [8000.0, 21000.0, 5000.0]
    out = sr.read_layer(g, "compounds")
    assert {"name", "households", "street", "build_year", "floor_area_m2"} <= set(out.columns)
    assert out.index.name == "compound_id"
    assert str(out["households"].dtype) == "Int64"


def test_two_columns_for_one_meaning_is_an_error():
    g = _chinese_layer()
    g["hh_cnt"] = [1, 2, 3]
    with pytest.raises(sr.SchemaError, match="户数.*hh_cnt|hh_cnt.*户数"):
        sr.read_layer(g, "compounds")


def test_coded_values_read_from_chinese_labels():
    gas = gpd.GeoDataFrame(
        {"管段编号": ["g1", "g2", "g3"], "管段类别": ["庭院埋地管", "立管", "市政"],
         "材质": ["灰口铸铁", "PE", "钢管"], "敷设年份": [1990, 2010, 1999]},
        geometry=[shapely.LineString([(525000, 3384000), (525010, 3384000)])] * 3, crs=4547,
    )
    out = sr.read_layer(gas, "gas")
    assert list(out["pipe_class"]) == ["courtyard_buried", "riser", "municipal"]
    assert list(out["material"]) == ["grey_cast_iron", "pe", "steel"]


def test_missing_id_column_makes_ids_and_warns():
    g = _chinese_layer().drop(columns="小区编码")
    with pytest.warns(sr.SpatialRenoWarning, match="no compound_id"):
        out = sr.read_layer(g, "compounds")
    assert list(out.index) == ["C-0001", "C-0002", "C-0003"]


def test_id_column_option():
    g = _chinese_layer().rename(columns={"小区编码": "xq_code"})
    out = sr.read_layer(g, "compounds", id_column="xq_code")
    assert out.index[0] == "420105-0001"
    with pytest.raises(sr.SchemaError, match="nope"):
        sr.read_layer(g, "compounds", id_column="nope")


# ---------------------------------------------------------------- errors
def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(sr.LayerReadError, match="no such file") as err:
        sr.read_layer(tmp_path / "nope.gpkg", "compounds")
    assert "\n" not in str(err.value)


def test_file_gdal_cannot_open(tmp_path):
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"this is not a geopackage")
    with pytest.raises(sr.LayerReadError, match="bad.gpkg: GDAL cannot open") as err:
        sr.read_layer(bad, "compounds")
    assert "\n" not in str(err.value)


def test_multi_layer_file_lists_its_layers(tmp_path):
    path = tmp_path / "d.gpkg"
    _chinese_layer().to_file(path, layer="compounds")
    _chinese_layer().to_file(path, layer="others")
    with pytest.raises(sr.LayerReadError, match="2 layers.*compounds, others"):
        sr.read_layer(path, "compounds")
    assert len(sr.read_layer(path, "compounds", layer="compounds")) == 3
    with pytest.raises(sr.LayerReadError, match="no layer 'x'"):
        sr.read_layer(path, "compounds", layer="x")


def test_read_layers_shares_one_crs(tmp_path):
    path = tmp_path / "d.gpkg"
    _chinese_layer().to_file(path, layer="compounds")
    illegal = gpd.GeoDataFrame({"ill_id": ["w1"], "area_m2": [20.0]},
                               geometry=[shapely.Point(525010, 3384010)], crs=4547).to_crs(4490)
    illegal.to_file(path, layer="illegal")
    layers = sr.read_layers(compounds=f"{path}:compounds", illegal=(path, "illegal"))
    assert layers["illegal"].crs.equals(layers["compounds"].crs)
    assert layers["illegal"].index[0] == "w1"


# ---------------------------------------------------------------- real data
def test_hangzhou_osm_landuse_is_projected_to_epsg_4549(real_data):
    path = real_data / "hangzhou-osm-landuse" / "hangzhou-osm-landuse.gpkg"
    with pytest.raises(sr.LayerReadError, match="landuse, water"):
        sr.read_layer(path, "compounds")
    out = sr.read_layer(path, "compounds", layer="landuse", id_column="osm_id")
    assert out.crs.to_epsg() == 4549
    assert len(out) == 8707
    res = out[out["fclass"] == "residential"]
    assert len(res) == 2112
    assert "朝晖一小区" in set(res["name"])
    # metres: residential parcels are hundreds of metres across, not fractions of a degree
    assert 1_000 < res.area.median() < 1_000_000


def test_taipei_invalid_polygons_reported_by_id_and_repaired(real_data):
    path = real_data / "taipei-urban-renewal" / "building_renewunit_12.geojson"
    with pytest.warns(sr.SpatialRenoWarning, match="no compound_id column"):
        units = sr.read_layer(path, "compounds")
    problems = sr.check_layer(units, "compounds")
    invalid = problems[problems["problem"] == "invalid geometry"]
    assert len(invalid) == 15
    assert set(invalid["id"]) == set(units.index[~units.is_valid])
    assert invalid["detail"].str.contains("Self-intersection").all()
    repaired, audit = sr.repair_layer(units, "compounds")
    assert repaired.is_valid.all() and len(repaired) + (audit["action"] == "dropped").sum() == len(units)
    assert set(audit.loc[audit["action"] == "geometry repaired", "id"]) == set(invalid["id"])
    # repair keeps the area: make_valid does not throw away the parcels
    assert repaired.area.sum() == pytest.approx(units.buffer(0).area.sum(), rel=0.02)


def test_unreadable_wuhan_districts_is_a_one_line_error(real_data):
    path = real_data / "wuhan-communities-hgwr" / "wuhan_districts.geojson"
    with pytest.raises(sr.LayerReadError) as err:
        sr.read_layer(path, "admin")
    msg = str(err.value)
    assert "wuhan_districts.geojson" in msg and "\n" not in msg and "UTF-8" in msg


# ---------------------------------------------------------------- LayerRead
def test_read_returns_a_frozen_layer_read_and_read_layer_its_frame(tmp_path):
    import dataclasses

    path = tmp_path / "c.gpkg"
    _chinese_layer().to_crs(4490).to_file(path)
    got = sr.io.read(path, "compounds")
    assert isinstance(got, sr.io.LayerRead)
    assert got.source == str(path)
    assert isinstance(got.notes, tuple) and any("reprojected" in n for n in got.notes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.notes = ()
    # results do not travel in attrs: only the source label stays there
    assert got.frame.attrs == {"source": str(path)}
    frame = sr.read_layer(path, "compounds")
    assert frame.attrs == {"source": str(path)}
    assert_geodataframe_equal(frame, got.frame)
