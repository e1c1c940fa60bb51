"""Tests of spatialreno.maps: offline HTML, escaping, package colours, basemaps, GCJ-02,
size, and (when Chromium is installed) the saved map in a real headless browser."""

from __future__ import annotations

import contextlib
import html
import json
import re
import struct
import threading
from html.parser import HTMLParser

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import Chromium, find_chromium  # tests/browser.py
from pyproj import Geod
from shapely import LineString, Point, box

from spatialreno import maps
from spatialreno.errors import ConfigError, CRSError, DataError, ExportError, SpatialRenoWarning

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (/usr/bin/chromium or $SPATIALRENO_CHROMIUM); "
    "`make test` installs it",
)

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_STREET = "<script>window.__xss=2</script>\"'"
XSS_PACKAGE = 'P"><img src=y onerror="window.__xss=3">'
XSS_BARRIER = "</script><b>汉江</b>"
READY = "window.spatialreno && window.spatialreno.layers.length > 0"
_THREAD_JOIN_S = 5.0


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
def make_district(nx_: int = 6, ny: int = 4, size: float = 100.0, gap: float = 6.0,
                  x0: float = 525000.0, y0: float = 3384000.0):
    """A grid of box compounds in EPSG:4547 near Wuhan, 2x2 compounds per package, with
    hostile strings in a name, a street, a package id and a barrier name."""
    rows = []
    for i in range(nx_):
        for j in range(ny):
            x, y = x0 + i * (size + gap), y0 + j * (size + gap)
            rows.append({
                "compound_id": f"C{i:02d}{j:02d}", "name": f"小区{i}-{j}", "street": "汉兴街道",
                "district": "江汉区", "households": 100 + 10 * i + j,
                "floor_area_m2": 8000.0 + i, "build_year": 1990 + j,
                "illegal_area_m2": 12.5 * j, "gas_aged_m": 30.0 * i, "cost_total": 350.25 + i,
                "geometry": box(x, y, x + size, y + size),
            })
    compounds = gpd.GeoDataFrame(rows, crs=4547).set_index("compound_id")
    labels = pd.Series(
        [f"P{int(c[1:3]) // 2}{int(c[3:5]) // 2}" for c in compounds.index],
        index=compounds.index, name="package_id",
    )
    compounds.loc["C0000", "name"] = XSS_NAME
    compounds.loc["C0001", "street"] = XSS_STREET
    labels.loc[["C0000", "C0001", "C0100", "C0101"]] = XSS_PACKAGE
    illegal = gpd.GeoDataFrame(
        {"kind": ["rooftop", "tin_shed", "违建"], "area_m2": [20.0, 150.0, None],
         "status": ["filed", "demolished", "已立案"], "party": ["张三", "李四", "王五"],
         "case_no": ["武江城罚〔2024〕1号", None, None],
         "geometry": [Point(x0 + 50, y0 + 50), box(x0 + 200, y0 + 20, x0 + 215, y0 + 35),
                      Point(x0 + 300, y0 + 300)]},
        index=pd.Index(["S1", "S2", "S3"], name="structure_id"), crs=4547,
    )
    gas = gpd.GeoDataFrame(
        {"pipe_class": ["courtyard_buried", "riser", "overhead"],
         "material": ["steel", "pe", "灰口铸铁"], "aged": [True, False, None],
         "geometry": [LineString([(x0, y0 + 103), (x0 + 600, y0 + 103)]),
                      LineString([(x0 + 103, y0), (x0 + 103, y0 + 400)]),
                      LineString([(x0 + 10, y0 + 10), (x0 + 90, y0 + 90)])]},
        index=pd.Index(["G1", "G2", "G3"], name="segment_id"), crs=4547,
    )
    barriers = gpd.GeoDataFrame(
        {"barrier_type": ["arterial", "river"], "name": ["解放大道", XSS_BARRIER],
         "geometry": [LineString([(x0 + 212, y0 - 50), (x0 + 212, y0 + 500)]),
                      box(x0 - 80, y0, x0 - 40, y0 + 400)]},
        index=pd.Index(["B1", "B2"], name="barrier_id"), crs=4547,
    )
    admin = gpd.GeoDataFrame(
        {"name": ["汉兴街道"], "level": ["street"],
         "geometry": [box(x0 - 10, y0 - 10, x0 + 650, y0 + 430)]},
        index=pd.Index(["420103001"], name="admin_code"), crs=4547,
    )
    return compounds, labels, illegal, gas, barriers, admin


def packages_of(compounds, labels):
    """Fixture packages (dissolve + sums), as the packages stage would give them."""
    frame = compounds.assign(package_id=labels)
    out = frame[["package_id", "households", "cost_total", "illegal_area_m2", "gas_aged_m",
                 "geometry"]].dissolve(by="package_id", aggfunc="sum")
    out.insert(0, "n_compounds", frame.groupby("package_id").size())
    out["must_tender"] = (out["cost_total"] >= 400).astype(int)
    out["plan_year"] = 2025
    return out


@pytest.fixture(scope="module")
def district():
    return make_district()


@pytest.fixture(scope="module")
def full_map(district):
    compounds, labels, illegal, gas, barriers, admin = district
    packages = packages_of(compounds, labels)
    return maps.explore_packages(
        compounds, packages, labels=labels, illegal=illegal, gas=gas, barriers=barriers,
        admin=admin,
    ), packages


@pytest.fixture(scope="module")
def saved(full_map, tmp_path_factory):
    m, packages = full_map
    path = maps.save_map(m, tmp_path_factory.mktemp("map") / "review.html")
    return path, packages


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
class _Collect(HTMLParser):
    """Every start tag with its attributes, the text of <style> and <script> blocks, and
    the document text outside scripts and styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "script":
            self.scripts.append(data)
        else:
            self.text.append(data)


def parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    p.close()
    return p


_URL_ATTRS = {"src", "href", "data", "poster", "srcset", "background", "action", "formaction"}


def external_references(text: str) -> list[str]:
    """URLs the page would load: element attributes, CSS url()/@import, <meta refresh>."""
    doc = parse(text)
    found = []
    for tag, attrs in doc.tags:
        for name, value in attrs.items():
            if value is None:
                continue
            if name in _URL_ATTRS and tag != "a":
                found.append(f"<{tag} {name}={value}>")
            if name == "style" and "url(" in value:
                found.append(f"<{tag} style={value}>")
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            found.append("<meta refresh>")
    for css in doc.styles:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            if not url.startswith("data:"):
                found.append(f"url({url})")
        found += [f"@import {x}" for x in re.findall(r"@import[^;]*", css)]
        found += ["@font-face" for _ in re.findall(r"@font-face", css)]
    return found


def payloads(text: str) -> list[dict]:
    """The JSON specs passed to spatialreno.layer(...) in the page."""
    out = []
    for match in re.finditer(r"spatialreno\.layer\(\s*map_\w+,\s*(\{.*?\})\);\n", text, re.S):
        out.append(json.loads(match.group(1)))
    return out


def overlay_names(text: str) -> list[str]:
    """The overlay names given to L.control.layers, decoded."""
    block = re.search(r"overlays :\s*\{(.*?)\},", text, re.S).group(1)
    return [json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', block, re.M)]


def _line(a, ox, oy, scale, ring=False):
    xy = np.cumsum(np.asarray(a, dtype=np.int64).reshape(-1, 2), axis=0) + [ox, oy]
    out = (xy / scale).tolist()
    return out + out[:1] if ring else out


def _geometry(g, ox, oy, s) -> dict:
    """Python twin of the runtime's decodeGeometry."""
    t, c = g
    if t == 1:
        return {"type": "Point", "coordinates": _line(c, ox, oy, s)[0]}
    if t == 2:
        return {"type": "LineString", "coordinates": _line(c, ox, oy, s)}
    if t == 3:
        return {"type": "Polygon", "coordinates": [_line(r, ox, oy, s, True) for r in c]}
    if t == 4:
        return {"type": "MultiPoint", "coordinates": _line(c, ox, oy, s)}
    if t == 5:
        return {"type": "MultiLineString", "coordinates": [_line(x, ox, oy, s) for x in c]}
    if t == 6:
        return {"type": "MultiPolygon",
                "coordinates": [[_line(r, ox, oy, s, True) for r in p] for p in c]}
    return {"type": "GeometryCollection", "geometries": [_geometry(x, ox, oy, s) for x in c]}


def features(spec: dict) -> list[dict]:
    """A layer's compact features as GeoJSON-like dicts (as the runtime decodes them)."""
    (ox, oy), s = spec["origin"], spec["scale"]
    out = []
    for f in spec["data"]:
        extra = f[4] if len(f) > 4 else {}
        props = {"i": f[1], "v": f[2], "s": f[3], **extra}
        out.append({"geometry": _geometry(f[0], ox, oy, s), "properties": props})
    return out


def layer(text: str, kind: str) -> dict:
    return next(p for p in payloads(text) if p["kind"] == kind)


# --------------------------------------------------------------------------------------
# offline
# --------------------------------------------------------------------------------------
def test_saved_map_requests_nothing(saved):
    path, _ = saved
    text = path.read_text(encoding="utf-8")
    assert external_references(text) == []
    lowered = text.lower()
    for cdn in ("cdn.jsdelivr", "code.jquery", "cdnjs", "bootstrapcdn", "bootstrap.min",
                "fontawesome", "font-awesome", "awesome-markers", "glyphicons", "unpkg"):
        assert cdn not in lowered, cdn
    assert "L.tileLayer(" not in text  # basemap="none": no tile URL at all
    for host in ("tianditu", "autonavi", "openstreetmap"):
        assert host not in lowered
    assert "sourceMappingURL" not in text


def test_leaflet_is_inlined_from_js_lib_leaflet(saved):
    text = saved[0].read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in text
    assert 'url("data:image/png;base64,' in text  # layers.png inlined
    assert "L.Icon.Default.imagePath" in text
    doc = parse(text)
    assert not [a for t, a in doc.tags if t == "script" and "src" in a]
    assert not [a for t, a in doc.tags if t == "link"]


def test_plain_folium_map_still_works(district):
    """The helpers compose on a plain folium.Map (which loads Leaflet from its CDN)."""
    compounds, labels, *_ = district
    m = folium.Map(tiles=None)
    maps.add_compounds_layer(m, compounds, labels=labels)
    text = m.get_root().render()
    assert "spatialreno.layer(" in text and "leaflet" in text.lower()
    assert text.index("leaflet.js") < text.index("spatialreno.layer")


def test_repr_html_is_an_offline_iframe(full_map):
    m, _ = full_map
    out = m._repr_html_()
    assert out.count("<iframe") == 1
    inner = html.unescape(re.search(r'srcdoc="(.*?)"', out, re.S).group(1))
    assert "spatialreno.layer(" in inner
    assert external_references(inner) == []


# --------------------------------------------------------------------------------------
# escaping
# --------------------------------------------------------------------------------------
def test_hostile_values_are_text_not_markup(saved):
    text = saved[0].read_text(encoding="utf-8")
    for raw in (XSS_NAME, XSS_STREET, XSS_PACKAGE, XSS_BARRIER, "<img", "</script><b>",
                "window.__xss=2</script>"):
        assert raw not in text, raw
    doc = parse(text)
    tags = [t for t, _ in doc.tags]
    assert "img" not in tags and "b" not in tags
    # every <script> element is one we wrote: Leaflet, icon fix, runtime, Map switches, main
    assert tags.count("script") == 5
    # the values survive, escaped for <script>, and decode back to the original text
    compounds = layer(text, "compounds")
    names = [f["properties"]["n"] for f in features(compounds)]
    assert XSS_NAME in names
    streets = [v for f in features(compounds) for v in f["properties"]["v"]]
    assert XSS_STREET in streets
    assert XSS_PACKAGE in {f["properties"].get("k") for f in features(compounds)}
    barriers = layer(text, "barriers")
    assert XSS_BARRIER in [f["properties"]["n"] for f in features(barriers)]


def test_layer_control_names_and_title_are_escaped(district):
    compounds, *_ = district
    m = maps.review_map(title="<script>alert(1)</script>")
    maps.add_compounds_layer(m, compounds, name="<b>小区</b>")
    folium.LayerControl().add_to(m)
    text = m.get_root().render()
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in text
    assert "<b>小区</b>" not in text
    assert overlay_names(text) == ["&lt;b&gt;小区&lt;/b&gt;"]


def test_script_json_escapes_closing_tags():
    out = maps._script_json({"a": "</script><!--&\u2028"})
    assert "<" not in out and ">" not in out and "&" not in out and "\u2028" not in out
    assert json.loads(out) == {"a": "</script><!--&\u2028"}


def test_personal_data_and_unshown_columns_are_not_embedded(saved):
    text = saved[0].read_text(encoding="utf-8")
    for value in ("张三", "李四", "王五", "武江城罚"):
        assert value not in text


# --------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------
def test_layers_legend_search_scale(saved):
    path, packages = saved
    text = path.read_text(encoding="utf-8")
    kinds = [p["kind"] for p in payloads(text)]
    assert kinds == ["packages", "compounds", "illegal", "gas", "barriers", "admin"]
    assert overlay_names(text) == ["片区", "小区", "违法建设", "燃气管网", "分隔道路与河流",
                                   "行政界线"]
    assert text.index("spatialreno.layer(") < text.index("L.control.layers(")
    assert '"scale":true' in text
    legend = json.loads(re.search(r"spatialreno\.legend\(map_\w+, (\{.*?\})\);", text).group(1))
    assert legend["title"] == "图例"
    assert [s["title"] for s in legend["sections"]][:2] == ["片区", "小区"]
    assert layer(text, "compounds")["search"]["placeholder"] == "搜索小区名称或编码"
    assert len(features(layer(text, "packages"))) == len(packages)
    assert re.search(r"\.fitBounds\(\[\[30\.\d+, 114\.\d+\], \[30\.\d+, 114\.\d+\]\],"
                     r"\s*\{padding: \[16, 16\], maxZoom: 18, animate: false\}\);", text)


def test_popups_carry_compound_and_package_figures(saved):
    text = saved[0].read_text(encoding="utf-8")
    spec = layer(text, "compounds")
    assert spec["idLabel"] == "小区编码"
    assert spec["fields"][:3] == ["街道", "所属区", "户数(户)"]
    assert "估算投资(万元)" in spec["fields"]
    feature = next(f for f in features(spec) if f["properties"]["i"] == "C0203")
    props = feature["properties"]
    assert props["n"] == "小区2-3" and props["k"] == "P11"
    assert props["v"][spec["fields"].index("户数(户)")] == "123"
    assert props["v"][spec["fields"].index("建成年份(年)")] == "1993"
    related = spec["related"]
    assert related["label"] == "所属片区"
    assert related["fields"] == ["小区数(个)", "户数(户)", "估算投资(万元)", "违建面积(㎡)",
                                 "老化燃气管长(m)", "依法必须招标", "计划年度(年)"]
    rows = dict(related["rows"])
    # P11 = compounds C0202, C0203, C0302, C0303
    assert rows["P11"][:2] == ["4", f"{122 + 123 + 132 + 133:,}"]
    assert rows["P11"][5] == "是"
    gas = layer(text, "gas")
    aged = gas["fields"].index("是否老化")
    assert sorted(f["properties"]["v"][aged] or "" for f in features(gas)) == [
        "", "否", "是"]


def test_english_labels(district):
    compounds, labels, illegal, *_ = district
    text = maps.explore_packages(compounds, labels=labels, illegal=illegal,
                                 lang="en").get_root().render()
    assert layer(text, "compounds")["fields"][2] == "Households (households)"
    assert layer(text, "illegal")["label"] == "Illegal structures"
    assert '"title":"Legend"' in text
    with pytest.raises(ConfigError, match="lang"):
        maps.explore_packages(compounds, lang="fr")


def test_packages_dissolved_from_labels_or_column(district):
    compounds, labels, *_ = district
    m = maps.explore_packages(compounds.assign(package_id=labels))
    spec = layer(m.get_root().render(), "packages")
    assert len(features(spec)) == labels.nunique()
    assert "小区数(个)" in spec["fields"]


def test_unlabelled_compounds_are_drawn_apart(district):
    compounds, labels, *_ = district
    partial = labels.drop(["C0500", "C0501"])
    text = maps.explore_packages(compounds, labels=partial).get_root().render()
    spec = layer(text, "compounds")
    style = {f["properties"]["i"]: f["properties"]["s"] for f in features(spec)}
    assert style["C0500"] == style["C0501"] == 1 and style["C0000"] == 0
    assert spec["styles"][1]["dashArray"]
    assert len(features(layer(text, "packages"))) == labels.nunique()


def test_missing_columns_show_what_exists():
    compounds = gpd.GeoDataFrame(
        geometry=[box(525000, 3384000, 525100, 3384100)],
        index=pd.Index(["A"], name="compound_id"), crs=4547)
    packages = gpd.GeoDataFrame(geometry=[box(525000, 3384000, 525100, 3384100)],
                                index=pd.Index(["P1"], name="package_id"), crs=4547)
    text = maps.explore_packages(compounds, packages).get_root().render()
    spec = layer(text, "compounds")
    assert spec["fields"] == [] and spec["idLabel"] == "小区编码"
    assert features(spec)[0]["properties"]["k"] == "P1"  # found by location
    assert layer(text, "packages")["fields"] == []


def test_bad_inputs_raise_clear_errors(district):
    compounds, labels, *_ = district
    with pytest.raises(CRSError, match="set_crs"):
        maps.explore_packages(compounds.set_crs(None, allow_override=True))
    with pytest.raises(DataError, match="GeoDataFrame"):
        maps.explore_packages(pd.DataFrame(compounds))
    with pytest.raises(DataError, match="compound_id"):
        maps.explore_packages(compounds, labels=labels.set_axis(range(len(labels))))


def test_geometry_simplified_and_rounded():
    ring = shapely.get_coordinates(shapely.segmentize(box(525000, 3384000, 525200, 3384150), 1.0))
    ring = ring[:-1] + np.random.default_rng(0).normal(0, 0.05, ring[:-1].shape)
    noisy = shapely.Polygon(ring)
    assert noisy.is_valid
    compounds = gpd.GeoDataFrame({"name": ["a"]}, geometry=[noisy],
                                 index=pd.Index(["A"], name="compound_id"), crs=4547)
    text = maps.explore_packages(compounds).get_root().render()
    geom = features(layer(text, "compounds"))[0]["geometry"]
    assert len(geom["coordinates"][0]) < 20 < shapely.get_num_coordinates(noisy)
    data = json.dumps(geom)
    assert not re.search(r"\d+\.\d{7,}", data)
    display = shapely.geometry.shape(geom)
    original = gpd.GeoSeries([noisy], crs=4547).to_crs(4326).iloc[0]
    assert display.symmetric_difference(original).area / original.area < 0.01


# --------------------------------------------------------------------------------------
# package colours
# --------------------------------------------------------------------------------------
def _grid_packages(n: int, size: float = 100.0, gap: float = 0.0) -> gpd.GeoDataFrame:
    cells = [box(i * (size + gap), j * (size + gap), i * (size + gap) + size,
                 j * (size + gap) + size) for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame(geometry=cells, crs=4547,
                            index=pd.Index([f"P{k:03d}" for k in range(len(cells))],
                                           name="package_id"))


def test_palette_has_eight_distinct_colours():
    assert len(set(maps.PALETTE)) == len(maps.PALETTE) >= 8
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in maps.PALETTE)


@pytest.mark.parametrize("balance", [True, False])
@pytest.mark.parametrize("strategy", ["DSATUR", "largest_first"])
@pytest.mark.parametrize("gap", [0.0, 6.0])
def test_adjacent_packages_never_share_a_colour(strategy, gap, balance):
    packages = _grid_packages(7, gap=gap)
    colours = maps.package_colors(packages, gap_m=10.0, strategy=strategy, balance=balance)
    G = maps.package_graph(packages, gap_m=10.0)
    # queen contiguity on a grid (corners touch, or lie within 10 m): 8 neighbours inside
    assert G.degree("P024") == 8
    assert G.number_of_edges() > 0
    for u, v in G.edges:
        assert colours[u] != colours[v], (u, v)
    assert set(colours) <= set(maps.PALETTE)
    counts = colours.value_counts()
    if balance:  # the palette is used evenly
        assert len(counts) == len(maps.PALETTE) and counts.max() - counts.min() <= 2
    else:  # plain greedy colouring of a king's graph needs 4 colours
        assert len(counts) == 4


def test_colouring_is_deterministic():
    packages = _grid_packages(6, gap=3.0)
    assert maps.package_colors(packages).equals(maps.package_colors(packages.copy()))


def test_gap_decides_adjacency():
    packages = _grid_packages(2, gap=6.0)
    assert maps.package_graph(packages, gap_m=10.0).number_of_edges() == 6
    assert maps.package_graph(packages, gap_m=2.0).number_of_edges() == 0


def test_more_colours_than_palette_warns_and_stays_distinct():
    # 12 packages that all meet at one point: a complete graph needs 12 colours
    angles = np.linspace(0, 2 * np.pi, 13)
    wedges = [shapely.Polygon([(0, 0), (100 * np.cos(a), 100 * np.sin(a)),
                               (100 * np.cos(b), 100 * np.sin(b))])
              for a, b in zip(angles[:-1], angles[1:])]
    packages = gpd.GeoDataFrame(geometry=wedges, crs=4547)
    assert nx.density(maps.package_graph(packages, gap_m=1.0)) == 1.0
    with pytest.warns(SpatialRenoWarning, match="12 colours"):
        colours = maps.package_colors(packages, gap_m=1.0)
    assert colours.nunique() == 12


def test_map_uses_the_colouring(full_map):
    m, packages = full_map
    spec = layer(m.get_root().render(), "packages")
    fill = {f["properties"]["i"]: spec["styles"][f["properties"]["s"]]["fillColor"]
            for f in features(spec)}
    G = maps.package_graph(packages, gap_m=10.0)
    assert G.number_of_edges() >= 7
    for u, v in G.edges:
        assert fill[str(u)] != fill[str(v)]


# --------------------------------------------------------------------------------------
# basemaps and GCJ-02
# --------------------------------------------------------------------------------------
_GEOD = Geod(ellps="WGS84")


def test_gcj02_shift_in_wuhan():
    # 江汉, 汉阳, 武昌, 洪山, 青山, 硚口, 江岸
    lon = np.array([114.27, 114.22, 114.31, 114.35, 114.38, 114.21, 114.30])
    lat = np.array([30.60, 30.55, 30.55, 30.50, 30.63, 30.58, 30.62])
    glon, glat = maps.wgs84_to_gcj02(lon, lat)
    _, _, dist = _GEOD.inv(lon, lat, glon, glat)
    assert np.all((dist > 560) & (dist < 595)), dist  # DOMAIN.md §1.4: 566–590 m
    assert abs(dist[0] - 586) < 1.0  # "586 m at Jianghan (114.27, 30.60)"
    # the published reference value of the public formula (coordTransform)
    ref_lon, ref_lat = maps.wgs84_to_gcj02(116.404, 39.915)
    assert abs(ref_lon - 116.41024449916938) < 1e-9 and abs(ref_lat - 39.91640428150164) < 1e-9
    assert np.allclose(glon - lon, 0.0054, atol=0.0003)
    assert np.allclose(glat - lat, -0.0024, atol=0.0003)
    out_lon, out_lat = maps.wgs84_to_gcj02([2.35, 139.9], [48.85, 35.7])  # Paris, Tokyo
    assert np.array_equal(out_lon, [2.35, 139.9]) and np.array_equal(out_lat, [48.85, 35.7])


def test_gaode_shifts_display_data_only(district):
    compounds, labels, *_ = district
    plain = layer(maps.explore_packages(compounds).get_root().render(), "compounds")
    text = maps.explore_packages(compounds, basemap="gaode").get_root().render()
    shifted = layer(text, "compounds")
    a = np.array(features(plain)[5]["geometry"]["coordinates"][0])
    b = np.array(features(shifted)[5]["geometry"]["coordinates"][0])
    _, _, dist = _GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert np.all((dist > 566) & (dist < 590))
    assert "webrd01.is.autonavi.com" in text
    assert "GCJ-02" in text and "spatialreno.note(" in text
    assert compounds.crs.to_epsg() == 4547  # input untouched
    with pytest.raises(ConfigError, match="before"):
        m = maps.review_map()
        maps.add_compounds_layer(m, compounds)
        maps.add_basemap(m, "gaode")


def test_tianditu_needs_a_key(district):
    compounds, *_ = district
    with pytest.raises(ConfigError, match=r"tianditu_key.*console\.tianditu\.gov\.cn"):
        maps.explore_packages(compounds, basemap="tianditu")
    with pytest.raises(ConfigError, match="tianditu_key"):
        maps.explore_packages(compounds, basemap="tianditu", tianditu_key="abc');alert(1)//")
    key = "0123456789abcdef0123456789abcdef"
    text = maps.explore_packages(compounds, basemap="tianditu",
                                 tianditu_key=key).get_root().render()
    url = f"https://t{{s}}.tianditu.gov.cn/DataServer?T=vec_w&x={{x}}&y={{y}}&l={{z}}&tk={key}"
    assert json.dumps(url).replace("&", "\\u0026") in text
    assert "T=cva_w" in text and f"tk={key}" in text
    assert '"subdomains": "01234567"' in text
    # tiles come after the fit, so they load once, at the final view
    assert text.index(".fitBounds(") < text.index("L.tileLayer(")


def test_osm_custom_and_unknown_basemaps(district):
    compounds, *_ = district
    assert "tile.openstreetmap.org" in maps.explore_packages(
        compounds, basemap="osm").get_root().render()
    url = "http://10.1.2.3/tiles/{z}/{x}/{y}.png"
    with pytest.raises(ConfigError, match="attr"):
        maps.explore_packages(compounds, basemap=url)
    text = maps.explore_packages(compounds, basemap=url, attr="区规划院内网底图").get_root().render()
    assert url in text and f'"attribution": {json.dumps("区规划院内网底图")}' in text
    with pytest.raises(ConfigError, match="'none', 'tianditu', 'gaode', 'osm'"):
        maps.explore_packages(compounds, basemap="baidu")


# --------------------------------------------------------------------------------------
# composition and saving
# --------------------------------------------------------------------------------------
def test_helpers_compose_and_layer_control_goes_last(district):
    compounds, labels, illegal, gas, barriers, admin = district
    m = maps.review_map(lang="zh")
    folium.LayerControl().add_to(m)  # added first on purpose
    packages = packages_of(compounds, labels)
    out = maps.add_packages_layer(m, packages)
    assert out is m
    maps.add_compounds_layer(m, compounds, labels=labels, packages=packages)
    maps.add_gas_layer(m, gas)
    m.fit_bounds(m.get_bounds())
    text = m.get_root().render()
    assert text.rindex("spatialreno.layer(") < text.index("L.control.layers(")
    assert [p["kind"] for p in payloads(text)] == ["packages", "compounds", "gas"]
    (s, w), (n, e) = m.get_bounds()
    assert 30.5 < s < n < 30.7 and 114.1 < w < e < 114.4


def test_save_map_is_atomic(tmp_path, full_map, monkeypatch):
    m, _ = full_map
    target = tmp_path / "map.html"
    target.write_text("old", encoding="utf-8")
    assert maps.save_map(m, target) == target
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and (target.stat().st_mode & 0o777) == 0o644

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(type(m.get_root()), "render", boom)
    with pytest.raises(RuntimeError):
        maps.save_map(m, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == first
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    with pytest.raises(ExportError, match="does not exist"):
        maps.save_map(m, tmp_path / "nope" / "map.html")


def test_lazy_top_level_names():
    import spatialreno

    assert spatialreno.explore_packages is maps.explore_packages
    assert spatialreno.save_map is maps.save_map


def test_map_options_are_checked_before_folium_sees_them():
    m = maps.review_map(height="600px", min_zoom=10, scroll_wheel_zoom=False)
    assert "600.0px" in m.get_root().render()
    with pytest.raises(ConfigError, match="unknown map option 'onload'.*Accepted map options"):
        maps.review_map(onload="alert(1)")
    with pytest.raises(ConfigError, match="'tiles' is not accepted.*basemap="):
        maps.review_map(tiles="https://evil/{z}/{x}/{y}.png")
    with pytest.raises(ConfigError, match=r"2 map option problems:\n.*'width'.*\n.*'zoom_control'"):
        maps.ReviewMap(width="{{ 7*7 }}", zoom_control="</script>")


def test_layer_inputs_go_through_the_contract(district):
    compounds, *_ = district
    broken = compounds.set_crs(None, allow_override=True)
    broken.index = ["A"] * len(broken)
    with pytest.raises(DataError, match=r"explore_packages: `compounds` has 2 problems") as err:
        maps.explore_packages(broken)
    assert "no CRS" in str(err.value) and "must be unique" in str(err.value)
    with pytest.raises(DataError, match="add_gas_layer: `gas` must hold LineString"):
        maps.add_gas_layer(maps.review_map(), compounds)


def test_colours_use_the_one_package_adjacency(district):
    """Packages that the compound graph joins (the 化整为零 definition) differ in colour
    even when they lie far apart on the map."""
    from spatialreno.packages import package_adjacency

    packages = _grid_packages(3, gap=50.0)
    assert maps.package_graph(packages).number_of_edges() == 0
    labels = pd.Series(packages.index, index=[f"C{k}" for k in range(len(packages))],
                       name="package_id")
    compound_graph = nx.path_graph(list(labels.index))
    G = maps.package_graph(packages, graph=compound_graph, labels=labels)
    expected = package_adjacency(packages.index, graph=compound_graph, labels=labels)
    assert set(map(frozenset, G.edges())) == set(map(frozenset, expected.edges()))
    colours = maps.package_colors(packages, graph=compound_graph, labels=labels)
    assert all(colours[u] != colours[v] for u, v in G.edges())


def test_same_input_same_bytes(district, tmp_path):
    """Two maps of the same input save to the same bytes: folium's random element ids are
    renamed in tree order, and map data, styles and legend are built in a fixed order. A
    name that looks like an element id is data and stays exactly as it was."""
    compounds, labels, illegal, gas, barriers, admin = district
    compounds = compounds.copy()
    hexname = "0123456789abcdef0123456789abcdef"
    compounds.loc[compounds.index[0], "name"] = hexname
    saved_bytes = []
    for k in range(2):
        m = maps.explore_packages(compounds.sample(frac=1.0, random_state=0), labels=labels,
                                  illegal=illegal, gas=gas, barriers=barriers, admin=admin,
                                  basemap="gaode")
        saved_bytes.append(maps.save_map(m, tmp_path / f"m{k}.html").read_bytes())
    assert saved_bytes[0] == saved_bytes[1]
    text = saved_bytes[0].decode("utf-8")
    assert hexname in text
    ids = set(re.findall(r"map_([0-9a-f]{32})", text))
    assert ids == {f"{2:032x}"}, ids  # the figure is element 1, the map element 2


def test_runtime_is_shipped_as_static_files(saved):
    from importlib import resources

    static = resources.files("spatialreno.maps") / "static"
    js = (static / "runtime.js").read_text(encoding="utf-8")
    css = (static / "runtime.css").read_text(encoding="utf-8")
    text = saved[0].read_text(encoding="utf-8")
    assert js in text and css in text


# --------------------------------------------------------------------------------------
# size
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "budget"), [(200, 2_000_000), (2073, 6_000_000)])
def test_sample_district_map_is_small(tmp_path, n, budget):
    """DESIGN budget: the 200-compound sample under 2 MB, 2,073 compounds under 6 MB, with
    every overlay (``benchmarks/map_size.py`` compares with geopandas .explore())."""
    sample = pytest.importorskip("spatialreno.sample")
    d = sample.sample_district(n, seed=0)
    labels = pd.Series(
        [f"P{k // 5:03d}" for k in range(len(d.compounds))], index=d.compounds.index,
        name="package_id",
    )
    m = maps.explore_packages(d.compounds, labels=labels, illegal=d.illegal, gas=d.gas,
                              barriers=d.barriers, admin=d.admin)
    size = maps.save_map(m, tmp_path / "sample.html").stat().st_size
    assert size < budget, size


# --------------------------------------------------------------------------------------
# real browser
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def chromium_session():
    """A headless Chromium, closed with the pipe it reads Chromium's stderr from.

    ``tests/browser.py``'s ``Chromium.close`` waits for the process but leaves
    ``proc.stderr`` open, which is a ResourceWarning (an error here) when the process object
    is collected. Until that is fixed there, the pipe is closed here once the threads the
    session started (the stderr reader among them) have seen the end of it.
    """
    threads = set(threading.enumerate())
    with Chromium(CHROMIUM) as browser:
        proc = browser._proc
        yield browser
    for thread in set(threading.enumerate()) - threads:
        thread.join(timeout=_THREAD_JOIN_S)
    if proc is not None and proc.stderr is not None:
        proc.stderr.close()


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found")
    with chromium_session() as browser:
        yield browser


_COUNT_JS = """(() => {
  const out = {};
  for (const l of spatialreno.layers) {
    out[l.kind] = document.querySelectorAll('.leaflet-' + l.pane + '-pane path.leaflet-interactive').length;
  }
  return out;
})()"""


@needs_chromium
def test_browser_renders_offline_without_errors(chromium, saved, tmp_path):
    path, packages = saved
    page = chromium.open(path, wait=READY)
    assert page.console_errors == []
    assert page.external_requests == []
    assert page.requests == [path.resolve().as_uri()]
    assert not page.evaluate("spatialreno.layers[0].map._animatingZoom")  # fitted at once
    counts = page.evaluate(_COUNT_JS)
    assert counts["packages"] == len(packages) == 6
    assert counts == {"packages": 6, "compounds": 24, "illegal": 3, "gas": 3, "barriers": 2,
                      "admin": 1}
    assert page.evaluate("document.querySelectorAll('.leaflet-control-scale').length") == 1
    assert page.evaluate("document.querySelector('.sr-legend-title').textContent") == "图例"
    overlays = page.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(l => l.textContent.trim())")
    assert overlays == ["片区", "小区", "违法建设", "燃气管网", "分隔道路与河流", "行政界线"]
    png = page.screenshot(tmp_path / "review_map.png")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1280, 800)


@needs_chromium
def test_browser_xss_payloads_do_not_run(chromium, saved):
    path, _ = saved
    page = chromium.open(path, wait=READY)
    title = page.evaluate("document.title")
    # search for the hostile name through the search box, as a planner would
    hits = page.evaluate(f"""(() => {{
      const input = document.querySelector('.sr-search input');
      input.value = {json.dumps('<img')};
      input.dispatchEvent(new Event('input'));
      return [...document.querySelectorAll('.sr-search li')].map(li => li.textContent);
    }})()""")
    assert hits == [XSS_NAME + "C0000"]
    popup = page.evaluate("""(() => {
      document.querySelector('.sr-search li').click();
      const p = document.querySelector('.leaflet-popup-content');
      return {text: p.textContent, imgs: p.querySelectorAll('img,script,b').length};
    })()""")
    assert XSS_NAME in popup["text"] and XSS_PACKAGE in popup["text"]
    assert popup["imgs"] == 0
    # the street with </script> in the neighbouring compound, and every tooltip
    texts = page.evaluate("""(() => {
      const out = [];
      for (const l of spatialreno.layers) for (const it of l.items) {
        // closed popups fade out, so read each overlay's own element
        it.layer.openPopup(); out.push(it.layer.getPopup().getElement().textContent);
        it.layer.openTooltip(); out.push(it.layer.getTooltip().getElement().textContent);
        it.layer.closeTooltip();
        if (it.layer.getPopup().getElement().querySelector('img,script,b')) out.push('MARKUP');
      }
      return out;
    })()""")
    joined = "\n".join(texts)
    assert XSS_STREET in joined and XSS_BARRIER in joined and XSS_PACKAGE in joined
    assert "MARKUP" not in texts
    # zoom in: compound names become labels, as text
    labels = page.evaluate("""(() => {
      const map = spatialreno.layers[0].map;
      map.closePopup(); map.setZoom(17, {animate: false});
      return [...document.querySelectorAll('.sr-label-cmp span')].map(s => s.textContent);
    })()""")
    assert XSS_NAME in labels
    assert page.evaluate("document.querySelectorAll('.leaflet-container img').length") == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.evaluate("document.title") == title
    assert page.external_requests == []
    assert not [u for u in page.requests if u.endswith(("/x", "/y"))]
    assert page.console_errors == []


@needs_chromium
def test_browser_labels_follow_zoom(chromium, saved):
    page = chromium.open(saved[0], wait=READY)
    counts = page.evaluate("""(() => {
      const map = spatialreno.layers[0].map, out = {};
      for (const z of [14, 15, 16, 17]) {
        map.setZoom(z, {animate: false});
        out[z] = [document.querySelectorAll('.sr-label-pkg').length,
                  document.querySelectorAll('.sr-label-cmp').length];
      }
      return out;
    })()""")
    assert counts == {"14": [6, 0], "15": [6, 0], "16": [0, 24], "17": [0, 24]}
    # switching the compounds layer off removes its labels too
    off = page.evaluate("""(() => {
      const c = spatialreno.layers.find(l => l.kind === 'compounds');
      c.map.removeLayer(c.layer);
      return document.querySelectorAll('.sr-label-cmp').length;
    })()""")
    assert off == 0


@needs_chromium
def test_browser_notebook_iframe_renders_offline(chromium, full_map, tmp_path):
    m, packages = full_map
    page_file = tmp_path / "notebook.html"
    page_file.write_text(f"<!DOCTYPE html><html><body>{m._repr_html_()}</body></html>",
                         encoding="utf-8")
    page = chromium.open(page_file)
    count = page.wait_for(
        "(() => { const w = document.querySelector('iframe').contentWindow;"
        " return w.spatialreno && w.document.querySelectorAll("
        "'.leaflet-srPackages-pane path.leaflet-interactive').length; })()")
    assert count == len(packages)
    assert page.external_requests == [] and page.console_errors == []


@needs_chromium
def test_browser_sample_district(chromium, tmp_path):
    sample = pytest.importorskip("spatialreno.sample")
    d = sample.sample_district(200, seed=0)
    labels = pd.Series([f"P{k // 5:03d}" for k in range(len(d.compounds))],
                       index=d.compounds.index, name="package_id")
    m = maps.explore_packages(d.compounds, labels=labels, illegal=d.illegal, gas=d.gas,
                              barriers=d.barriers, admin=d.admin)
    page = chromium.open(maps.save_map(m, tmp_path / "sample.html"), wait=READY)
    counts = page.evaluate(_COUNT_JS)
    assert counts["packages"] == labels.nunique()
    assert counts["compounds"] == len(d.compounds)
    assert counts["illegal"] == len(d.illegal) and counts["gas"] == len(d.gas)
    assert page.console_errors == [] and page.external_requests == []
