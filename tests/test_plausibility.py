"""Plausibility before work (issue 12): coordinates that cannot be in the declared CRS,
non-finite numbers, text garbled by a wrong code page, and empty inputs are clear errors
(or, for text, read right with a warning) — never a plan with nonsense and exit code 0."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

import spatialreno as sr
from spatialreno.cli import main as cli_main
from spatialreno.io import check_coordinates

X0, Y0 = 525_000.0, 3_384_000.0  # Wuhan, EPSG:4547
NAMES = ["江汉区民意街小区", "汉阳造纸厂宿舍", "琴台路12号院"]
GIS_DATA = Path(__file__).resolve().parents[1] / "gis_data"


def _compounds(n=3, crs="EPSG:4547", **cols):
    data = {
        "compound_id": [f"420103-{i + 1:04d}" for i in range(n)],
        "name": (NAMES * n)[:n],
        "households": [120 + i for i in range(n)],
        "floor_area_m2": [8000.0 + i for i in range(n)],
        "build_year": [1990] * n,
    }
    data.update(cols)
    return gpd.GeoDataFrame(
        data, geometry=[shapely.box(X0 + i * 100, Y0, X0 + i * 100 + 80, Y0 + 80) for i in range(n)],
        crs=crs,
    )


def _with_coords(gdf, transform):
    out = gdf.copy()
    out["geometry"] = shapely.transform(out.geometry.values, transform)
    return out


#: Shapefile writers' notices on field names longer than 10 characters (geopandas, pyogrio):
#: the tests write such files on purpose.
SHAPEFILE_FIELD_NAMES = [
    pytest.mark.filterwarnings("ignore:Column names longer than 10 characters:UserWarning"),
    pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning"),
]


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` ignoring only the warnings these tests provoke in passing: generated ids
    for a layer without an id column, and the shapefile field-name notices."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*no \w+ column \(or alias", sr.SpatialRenoWarning)
        warnings.filterwarnings("ignore", "Column names longer than 10 characters", UserWarning)
        warnings.filterwarnings("ignore", "Normalized/laundered field name", RuntimeWarning)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- coordinates vs CRS
def _degrees_declared_projected(tmp_path):
    """The reproducer: lon/lat degrees in a file whose CRS says EPSG:4547."""
    lonlat = _compounds().to_crs(4490)
    bad = lonlat.set_crs(4547, allow_override=True)
    path = tmp_path / "小区_degrees.gpkg"
    bad.to_file(path)
    return path


def test_degrees_in_a_file_declared_gauss_kruger_is_an_error(tmp_path):
    path = _degrees_declared_projected(tmp_path)
    with pytest.raises(sr.CRSError) as err:
        sr.read_layer(path, "compounds")
    msg = str(err.value)
    for part in (str(path), "EPSG:4547", "lon/lat degrees", "crs='EPSG:4490'", "--crs"):
        assert part in msg
    assert "\n" not in msg


def test_following_the_degrees_hint_gives_the_real_areas(tmp_path):
    path = _degrees_declared_projected(tmp_path)
    with pytest.warns(sr.SpatialRenoWarning, match="cannot be in it; used crs=EPSG:4490"):
        got = sr.io.read(path, "compounds", crs="EPSG:4490")
        out = got.frame
    assert out.crs.to_epsg() == 4547
    # 80 m × 80 m boxes again, not 1.8e-5 m²
    assert out.geometry.area.to_numpy() == pytest.approx([6400.0] * 3, rel=1e-3)
    assert any("used crs=EPSG:4490" in n for n in got.notes)


def test_plan_with_degrees_declared_as_metres_stops_before_work(tmp_path):
    path = _degrees_declared_projected(tmp_path)
    with pytest.raises(sr.CRSError, match="lon/lat degrees"):
        _quiet(sr.Plan.from_files(compounds=str(path)).run, progress=False)


def test_check_layer_and_cli_check_find_degrees_in_a_projected_layer(tmp_path, capsys):
    bad = _compounds().to_crs(4490).set_crs(4547, allow_override=True).set_index("compound_id")
    problems = sr.check_layer(bad, "compounds")
    row = problems[problems["problem"] == "coordinates outside the CRS"]
    assert len(row) == 1 and "lon/lat degrees" in row["detail"].iloc[0]
    assert cli_main(["check", str(_degrees_declared_projected(tmp_path))]) != 0
    assert "lon/lat degrees" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("shift", "likely"),
    [
        (lambda xy: xy + [38_000_000.0, 0.0], "EPSG:4526"),   # 3-degree GK with zone prefix 38
        (lambda xy: xy, None),                                  # GK without prefix: CM ambiguous
    ],
)
def test_metres_in_a_file_declared_lon_lat_name_the_likely_crs(tmp_path, shift, likely):
    g = _with_coords(_compounds(), shift).set_crs(4490, allow_override=True)
    path = tmp_path / "c.gpkg"
    g.to_file(path)
    with pytest.raises(sr.CRSError) as err:
        sr.read_layer(path, "compounds")
    msg = str(err.value)
    assert str(path) in msg and "EPSG:4490" in msg and "cannot be in it" in msg
    if likely:
        assert f"crs='{likely}'" in msg
        with pytest.warns(sr.SpatialRenoWarning, match=f"cannot be in it; used crs={likely}"):
            out = sr.read_layer(path, "compounds", crs=likely, to_crs="EPSG:4547")
        assert out.geometry.area.to_numpy() == pytest.approx([6400.0] * 3, rel=1e-6)
        assert out.total_bounds[0] == pytest.approx(X0, abs=1e-3)
    else:
        assert "central meridian cannot be told" in msg and "EPSG:4547" in msg
        assert check_coordinates(g).likely is None


def test_web_mercator_declared_as_wgs84_names_epsg_3857(tmp_path):
    merc = _compounds().to_crs(3857)
    assert 1.2e7 < merc.total_bounds[0] < 1.3e7
    path = tmp_path / "c.geojson"
    merc.set_crs(4326, allow_override=True).to_file(path)
    with pytest.raises(sr.CRSError, match="EPSG:3857"):
        sr.read_layer(path, "compounds")
    problem = check_coordinates(merc.set_crs(4326, allow_override=True))
    assert problem.likely == "EPSG:3857" and problem.whole_layer


@pytest.mark.parametrize("crs", ["EPSG:4547", "EPSG:4326"])
def test_coordinates_around_1e15_are_an_error(tmp_path, crs):
    g = _with_coords(_compounds(), lambda xy: xy * 0 + 1e15 + xy).set_crs(crs, allow_override=True)
    path = tmp_path / "c.gpkg"
    g.to_file(path)
    with pytest.raises(sr.CRSError, match="cannot be in it"):
        sr.read_layer(path, "compounds")
    assert "coordinates outside the CRS" in set(sr.check_layer(g.set_index("compound_id"), "compounds")["problem"])


@SHAPEFILE_FIELD_NAMES[0]
@SHAPEFILE_FIELD_NAMES[1]
def test_missing_crs_with_an_implausible_crs_given_is_an_error(tmp_path):
    path = tmp_path / "c.shp"
    _compounds().to_crs(4490).to_file(path, encoding="UTF-8")
    path.with_suffix(".prj").unlink()
    no_id = "no compound_id column"  # the shapefile cut the name to 10 characters
    with pytest.warns(sr.SpatialRenoWarning, match=no_id), \
            pytest.raises(sr.CRSError, match="crs= says EPSG:4547.*lon/lat degrees"):
        sr.read_layer(path, "compounds", crs="EPSG:4547")
    with pytest.warns(sr.SpatialRenoWarning, match=no_id):
        assert sr.read_layer(path, "compounds", crs="EPSG:4490").crs.to_epsg() == 4547


def test_a_stray_row_is_named(tmp_path):
    g = _compounds(4)
    g.loc[2, "geometry"] = shapely.box(1e15, 1e15, 1e15 + 80, 1e15 + 80)
    path = tmp_path / "c.gpkg"
    g.to_file(path)
    with pytest.raises(sr.CRSError, match=r"1 of 4 row\(s\) lie outside.*'420103-0003' \(row 2\)"):
        sr.read_layer(path, "compounds")
    problems = sr.check_layer(g.set_index("compound_id"), "compounds")
    outside = problems[problems["problem"] == "coordinates outside the CRS"]
    assert list(outside["id"]) == ["420103-0003"] and list(outside["row"]) == [2]


@pytest.mark.filterwarnings("ignore:invalid value encountered in linearrings:RuntimeWarning")
def test_non_finite_coordinates_are_named():  # shapely warns building the NaN ring below
    g = _compounds(3).set_index("compound_id")
    geoms = list(g.geometry)
    geoms[1] = shapely.Polygon([(X0, Y0), (math.inf, Y0), (X0, Y0 + 50)])
    geoms[2] = shapely.Polygon([(X0, Y0), (math.nan, Y0), (X0 + 50, Y0 + 50), (X0, Y0 + 50)])
    g = g.set_geometry(gpd.GeoSeries(geoms, index=g.index, crs=g.crs))
    problem = check_coordinates(g, source="c.gpkg")
    assert problem.problem == "non-finite coordinates" and problem.rows == (1, 2)
    assert "'420103-0002' (row 1)" in problem.message
    with pytest.raises(sr.CRSError, match="not finite"):
        sr.read_layer(g, "compounds")
    got = sr.check_layer(g, "compounds")
    assert set(got.loc[got["problem"] == "non-finite coordinates", "row"]) == {1, 2}


def _real_layers(real: Path):
    files = sorted(p for p in list(real.rglob("*")) + list(GIS_DATA.rglob("*"))
                   if p.suffix in (".gpkg", ".geojson", ".shp"))
    assert len(files) > 20
    for path in files:
        for name, _ in pyogrio.list_layers(path):
            yield path, str(name)


def test_no_false_positive_on_any_real_layer(real_data):
    """Every layer of every real file and of gis_data/: its coordinates fit its CRS, and
    reading it (projected to its Gauss-Krüger zone) raises no CRS error."""
    seen = 0
    for path, layer in _real_layers(real_data):
        enc = "latin1" if path.name == "wuhan_districts.geojson" else None  # see the encoding tests
        raw = _quiet(gpd.read_file, path, layer=layer, encoding=enc)
        assert check_coordinates(raw, source=f"{path}:{layer}") is None, f"{path}:{layer}"
        kind = {"Point": "illegal", "MultiPoint": "illegal", "LineString": "roads",
                "MultiLineString": "roads"}.get(str(raw.geom_type.dropna().mode().iloc[0]), "admin")
        if len(raw) > 3000:
            raw = raw.iloc[:3000]
        gdf = _quiet(sr.read_layer, raw, kind)
        problems = sr.check_layer(gdf, kind)
        assert not problems["problem"].isin(
            ["coordinates outside the CRS", "non-finite coordinates", "empty layer", "no usable geometry"]
        ).any(), f"{path}:{layer}"
        seen += 1
    assert seen >= 40


def test_real_files_read_without_a_crs_error(real_data):
    for path, layer in _real_layers(real_data):
        if path.name == "wuhan_districts.geojson":
            continue
        _quiet(sr.read_layer, path, "admin" if "Polygon" in str(pyogrio.read_info(path, layer=layer)["geometry_type"])
               else "roads", layer=layer, id_column=None)


# ---------------------------------------------------------------- non-finite numbers
@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e300])
def test_check_layer_names_non_finite_and_huge_numbers(value):
    g = _compounds(3, floor_area_m2=[8000.0, value, 9000.0]).set_index("compound_id")
    problems = sr.check_layer(g, "compounds")
    bad = problems[problems["row"] == 1]
    assert list(bad["id"]) == ["420103-0002"]
    assert list(bad["problem"]) == ["implausibly large" if value == 1e300 else "not a finite number"]
    assert "floor_area_m2" in bad["detail"].iloc[0]


@pytest.mark.parametrize(
    ("kind", "column", "layer"),
    [
        ("compounds", "households", lambda: _compounds(3, households=[10.0, math.inf, 30.0])),
        ("compounds", "build_year", lambda: _compounds(3, build_year=[1990.0, -math.inf, 1995.0])),
        ("compounds", "floor_area_m2", lambda: _compounds(3, floor_area_m2=[1.0, 1e300, 2.0])),
        ("illegal", "area_m2", lambda: gpd.GeoDataFrame(
            {"structure_id": ["s1", "s2", "s3"], "area_m2": [10.0, math.inf, 5.0]},
            geometry=[shapely.Point(X0 + 10 * i, Y0 + 10) for i in range(3)], crs=4547)),
    ],
)
def test_repair_layer_refuses_non_finite_numbers_naming_rows(kind, column, layer):
    g = sr.read_layer(layer(), kind)
    with pytest.raises(sr.DataError) as err:
        sr.repair_layer(g, kind)
    msg = str(err.value)
    assert column in msg and "(row 1)" in msg and str(g.index[1]) in msg
    assert "\n" not in msg


def test_inf_in_a_file_passes_reading_and_stops_the_plan(tmp_path):
    g = _compounds(3)
    g["floor_area_m2"] = ["8000", "inf", "9000"]
    path = tmp_path / "c.geojson"
    g.to_file(path)
    read = sr.read_layer(path, "compounds")
    assert np.isinf(read["floor_area_m2"].iloc[1])
    assert "not a finite number" in set(sr.check_layer(read, "compounds")["problem"])
    with pytest.raises(sr.DataError, match=r"floor_area_m2 .*'420103-0002' \(row 1\) = inf"):
        _quiet(sr.Plan.from_files(compounds=str(path)).run, progress=False)


def test_nan_stays_missing():
    g = _compounds(3, floor_area_m2=[8000.0, math.nan, 9000.0]).set_index("compound_id")
    assert sr.check_layer(g, "compounds").empty
    out, audit = sr.repair_layer(g, "compounds")
    assert out["floor_area_m2"].isna().tolist() == [False, True, False]
    assert audit.empty


# ---------------------------------------------------------------- encodings
def _gbk_shapefile(tmp_path, cpg: str | None, name="c"):
    g = _compounds().rename(columns={"compound_id": "小区编码", "name": "小区名称", "households": "户数"})
    path = tmp_path / f"{name}.shp"
    _quiet(g.to_file, path, encoding="GBK")
    cpg_path = path.with_suffix(".cpg")
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    else:
        cpg_path.write_text(cpg)
    return path


@pytest.mark.parametrize("cpg", ["1252", "ISO-8859-1", "LATIN1", "8859_1", "ANSI 1252"])
def test_gbk_shapefile_with_a_latin_cpg_reads_chinese_with_a_warning(tmp_path, cpg):
    path = _gbk_shapefile(tmp_path, cpg)
    raw = _quiet(pyogrio.read_dataframe, path)  # what GDAL alone makes of it
    assert "½­ººÇø" in "".join(map(str, raw.iloc[:, 1]))
    with pytest.warns(sr.SpatialRenoWarning, match=f"the .cpg says '{cpg}' but the text is GBK Chinese"):
        got = sr.io.read(path, "compounds")
        out = got.frame
    assert list(out["name"]) == NAMES
    assert list(out.index) == ["420103-0001", "420103-0002", "420103-0003"]
    assert out["households"].tolist() == [120, 121, 122]
    assert got.encoding == "GBK"
    assert any("read as GBK" in n for n in got.notes)
    # what comes out is real Chinese that GBK holds: an export need not suggest GB18030
    for name in out["name"]:
        name.encode("gbk")


@pytest.mark.parametrize("given", ["latin1", "cp1252", "ISO-8859-1"])
def test_explicit_latin_encoding_on_a_gbk_shapefile_is_overruled(tmp_path, given):
    path = _gbk_shapefile(tmp_path, "936")
    with pytest.warns(sr.SpatialRenoWarning, match=f"encoding='{given}' was given but the text is GBK"):
        got = sr.io.read(path, "compounds", encoding=given)
        out = got.frame
    assert list(out["name"]) == NAMES and got.encoding == "GBK"


def test_gbk_shapefile_whose_ldid_says_cp1252_is_read_as_gbk(tmp_path):
    path = _gbk_shapefile(tmp_path, None)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x03  # LDID: Windows ANSI (CP1252)
    dbf.write_bytes(bytes(data))
    assert sr.io.detect_dbf_encoding(dbf)[0] == "GBK"
    assert list(_quiet(sr.read_layer, path, "compounds")["name"]) == NAMES


def test_utf8_shapefile_with_a_gbk_cpg_is_read_as_utf8(tmp_path):
    # the UTF-8 bytes of these names also decode as GBK (to garbage): only the byte
    # structure tells that the .cpg is wrong
    names = ["江汉小区", "汉阳花园", "武昌新村"]
    assert all(n.encode("utf-8").decode("gbk") != n for n in names)
    g = _compounds(3, name=names).rename(columns={"compound_id": "cmp_id", "name": "cmp_name",
                                                   "households": "hh_cnt", "floor_area_m2": "gfa_m2"})
    path = tmp_path / "u.shp"
    _quiet(g.to_file, path, encoding="UTF-8")
    path.with_suffix(".cpg").write_text("GBK")
    with pytest.warns(sr.SpatialRenoWarning, match="the .cpg says 'GBK' but the text is UTF-8"):
        got = sr.io.read(path, "compounds")
        out = got.frame
    assert list(out["name"]) == names and got.encoding == "UTF-8"


def test_latin_text_with_a_latin_cpg_is_left_alone(tmp_path):
    names = ["Müller-Straße", "São Paulo", "Conceição", "Crèche Élysée", "ÇÃO ÀÉ"]
    g = gpd.GeoDataFrame({"cmp_id": list("abcde"), "cmp_name": names},
                         geometry=[shapely.box(X0 + i * 100, Y0, X0 + i * 100 + 50, Y0 + 50) for i in range(5)],
                         crs=4547)
    path = tmp_path / "latin.shp"
    g.to_file(path, encoding="cp1252")
    path.with_suffix(".cpg").write_text("1252")
    with warnings.catch_warnings():
        warnings.simplefilter("error", sr.SpatialRenoWarning)
        got = sr.io.read(path, "compounds")
        out = got.frame
        assert list(out["name"]) == names
        assert list(sr.read_layer(path, "compounds", encoding="latin1")["name"]) == names


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_utf8_file_read_with_latin1_is_not_garbled(tmp_path, suffix):
    path = tmp_path / f"c{suffix}"
    _compounds().rename(columns={"name": "小区名称"}).to_file(path)
    with pytest.warns(sr.SpatialRenoWarning, match="encoding='latin1' was given but the text is UTF-8"):
        got = sr.io.read(path, "compounds", encoding="latin1")
        out = got.frame
    assert list(out["name"]) == NAMES and got.encoding == "UTF-8"


def test_wrong_multibyte_encoding_names_the_right_one(tmp_path):
    path = tmp_path / "c.geojson"
    _compounds().to_file(path)
    with pytest.raises(sr.LayerReadError, match="the text is UTF-8.*encoding='UTF-8'"):
        sr.read_layer(path, "compounds", encoding="GBK")


def test_real_wuhan_districts_following_the_hint_is_not_garbled(real_data):
    path = real_data / "wuhan-communities-hgwr" / "wuhan_districts.geojson"
    with pytest.raises(sr.LayerReadError, match="not valid UTF-8"):
        sr.read_layer(path, "admin")
    with pytest.warns(sr.SpatialRenoWarning, match="encoding='latin1' was given but the text is UTF-8"), \
            pytest.warns(sr.SpatialRenoWarning, match="no admin_code column"):
        got = sr.io.read(path, "admin", encoding="latin1")
        out = got.frame
    districts = set(out["NAME_1"])
    assert {"黄陂区", "新洲区", "江岸区", "武昌区", "洪山区"} <= districts
    assert len(out) == 13 and all(d.endswith("区") for d in districts)
    assert set(out["name"]) == {"武汉市"}
    text = "".join(map(str, out.columns)) + "".join(out["NAME_1"]) + "".join(out["name"])
    assert not any(ch in text for ch in "éæåÃ")  # no tell-tale mojibake
    # the one truly broken key shows U+FFFD, and the note says so
    assert any(c.startswith("FID_\ufffd") for c in out.columns)
    assert any("U+FFFD" in n for n in got.notes)
    assert sr.check_layer(out, "admin").empty


# ---------------------------------------------------------------- empty inputs
def _write(gdf, tmp_path, name="c.gpkg"):
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_empty_layer_is_a_clear_error(tmp_path, capsys):
    path = _write(_compounds().iloc[:0], tmp_path)
    g = _quiet(sr.read_layer, path, "compounds")
    assert list(sr.check_layer(g, "compounds")["problem"]) == ["empty layer"]
    with pytest.raises(sr.DataError, match=r"c\.gpkg: no usable compound polygons: 0 rows"):
        sr.repair_layer(g, "compounds")
    with pytest.raises(sr.DataError, match="no usable compound polygons"):
        _quiet(sr.Plan.from_files(compounds=str(path)).run, progress=False)
    assert _quiet(cli_main, ["check", str(path)]) != 0


def test_points_given_as_compounds_are_a_clear_error(tmp_path):
    g = _compounds()
    g["geometry"] = g.geometry.centroid
    path = _write(g, tmp_path)
    read = sr.read_layer(path, "compounds")
    assert "no usable geometry" in set(sr.check_layer(read, "compounds")["problem"])
    with pytest.raises(sr.DataError, match=r"no usable compound polygons: 3 rows, 3 Point; expected Polygon"):
        _quiet(sr.Plan.from_files(compounds=str(path)).run, progress=False)


def test_all_rows_dropped_by_repair_is_a_clear_error(tmp_path):
    g = _compounds(2)
    g["geometry"] = [shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)]), shapely.Polygon()]
    read = sr.read_layer(_write(g, tmp_path), "compounds")
    with pytest.raises(sr.DataError, match="no usable compound polygons: 2 rows, 2 empty geometry"):
        sr.repair_layer(read, "compounds")


def test_repair_drops_polygons_that_make_valid_empties():
    g = _compounds(3).set_index("compound_id")
    flat = shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)])  # zero area
    assert shapely.make_valid(flat, method="structure", keep_collapsed=False).is_empty
    g = g.set_geometry(gpd.GeoSeries([g.geometry.iloc[0], flat, g.geometry.iloc[2]], index=g.index, crs=g.crs))
    out, audit = sr.repair_layer(g, "compounds")
    assert list(out.index) == ["420103-0001", "420103-0003"]
    assert not out.geometry.is_empty.any()
    dropped = audit[audit["action"] == "dropped"]
    assert list(dropped["id"]) == ["420103-0002"]
    assert dropped["detail"].iloc[0].startswith("empty geometry")
    assert sr.check_layer(out, "compounds").empty


def test_other_layers_may_be_empty_but_not_all_wrong():
    illegal = gpd.GeoDataFrame({"structure_id": [], "area_m2": []}, geometry=[], crs=4547)
    out, audit = sr.repair_layer(sr.read_layer(illegal, "illegal"), "illegal")
    assert len(out) == 0 and audit.empty
    gas = gpd.GeoDataFrame({"segment_id": ["g1", "g2"]},
                           geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 5, Y0)], crs=4547)
    with pytest.raises(sr.DataError, match="no usable gas pipe lines: 2 rows, 2 Point; expected LineString"):
        sr.repair_layer(sr.read_layer(gas, "gas"), "gas")


def test_empty_graph_is_a_clear_error_in_partition():
    # build_adjacency keeps its contract (an empty layer gives an empty graph); packaging
    # nothing is the error, said before the packages stage fails on an empty sequence
    G = sr.build_adjacency(_compounds().iloc[:0].set_index("compound_id"))
    with pytest.raises(sr.DataError, match="no compounds"):
        sr.partition_packages(G, limits={"compounds": (1, 5)})
