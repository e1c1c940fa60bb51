"""Issue 12: no template engine ever sees map data.

folium/branca render an element's Jinja2 macro and then parse the result as a template
once more, so text embedded by a naive element runs as Python (``{{ lipsum... }}``),
writes raw markup through a filter (``|format``) or breaks the render (``老{{街坊``).
Every payload below goes into every text field of every layer and every option, and the
map must render (Python), create no file, embed the text only as escaped JSON or HTML
text, and (headless Chromium) run no script and show the text literally.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from browser import find_chromium  # tests/browser.py
from shapely import LineString, Point, box
from test_maps import chromium_session, features, overlay_names, parse, payloads

from spatialreno import maps

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found (/usr/bin/chromium or "
    "$SPATIALRENO_CHROMIUM); `make test` installs it")
READY = "window.spatialreno && window.spatialreno.layers.length > 0"

# a 1x1 transparent PNG as the tile of a custom XYZ service: the map asks for nothing
# outside the page (the fragment carries the {z}/{x}/{y} a custom URL needs)
_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)).decode()
TILES = f"data:image/png;base64,{_PNG}#{{z}}/{{x}}/{{y}}"


def make_payloads(canary: Path) -> list[str]:
    """The probe's payloads; the first two would create files in ``canary``."""
    return [
        f"{{{{lipsum.__globals__.os.popen('touch {canary}/PWNED').read()}}}}",
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {canary}/PWNED2').read() }}}}",
        # renders to a raw </script><script>...</script> if ever evaluated
        "{{ '%c/script%c%cscript%cwindow.__xss=1%c/script%c'|format(60,62,60,62,60,62) }}",
        "老{{街坊",
        "{% raw %}",
        "{#",
        "</script><script>window.__xss=1</script>",
        '<img src=x onerror="window.__xss=1">',
        "行\u2028分\u2029段",
        "${window.__xss=1}",
        "'\";window.__xss=1;//",
    ]


def _escaped(text: str) -> str:
    """``text`` as it appears inside a JSON string of the page."""
    return maps._script_json(text)[1:-1]


def _raw_markup(p: str) -> bool:
    return any(ch in p for ch in '<>&"\u2028\u2029')


def hostile_layers(P: list[str]) -> dict:
    """Every text field of every layer holds the payloads, rotated so that each field sees
    each one: 2 compounds per package (package ids are payloads), one structure, pipe,
    barrier and admin unit per payload (their ids are payloads)."""
    n = len(P)
    x0, y0 = 525000.0, 3384000.0
    rows = []
    for k in range(2 * n):
        i, j = divmod(k, 2)
        x, y = x0 + i * 106.0, y0 + j * 106.0
        rows.append({
            "compound_id": P[k % n] + ("" if k < n else "·2"),
            "name": P[(k + 1) % n], "street": P[(k + 2) % n], "district": P[(k + 3) % n],
            "adcode": P[(k + 4) % n], "community": P[(k + 5) % n],
            "households": 100 + k, "floor_area_m2": 8000.0, "build_year": 1990,
            "geometry": box(x, y, x + 100.0, y + 100.0),
        })
    compounds = gpd.GeoDataFrame(rows, crs=4547).set_index("compound_id")
    labels = pd.Series([P[k // 2] for k in range(2 * n)], index=compounds.index,
                       name="package_id")

    def idx(name):
        return pd.Index(P, name=name)

    illegal = gpd.GeoDataFrame(
        {"kind": P[1:] + P[:1], "status": P[2:] + P[:2], "compound_id": P[3:] + P[:3],
         "area_m2": [10.0 + k for k in range(n)],
         "geometry": [Point(x0 + 106.0 * k + 50.0, y0 + 50.0) for k in range(n)]},
        index=idx("structure_id"), crs=4547)
    gas = gpd.GeoDataFrame(
        {"pipe_class": P[1:] + P[:1], "material": P[2:] + P[:2], "aged": [k % 2 for k in range(n)],
         "geometry": [LineString([(x0 + 106.0 * k + 10, y0 + 103), (x0 + 106.0 * k + 90, y0 + 103)])
                      for k in range(n)]},
        index=idx("segment_id"), crs=4547)
    barriers = gpd.GeoDataFrame(
        {"name": P[1:] + P[:1], "barrier_type": P[2:] + P[:2],
         "geometry": [LineString([(x0 + 106.0 * k + 103, y0 - 20), (x0 + 106.0 * k + 103, y0 + 230)])
                      for k in range(n)]},
        index=idx("barrier_id"), crs=4547)
    admin = gpd.GeoDataFrame(
        {"name": P[1:] + P[:1], "level": P[2:] + P[:2], "district": P[3:] + P[:3],
         "geometry": [box(x0 + 106.0 * k - 2, y0 - 2, x0 + 106.0 * k + 102, y0 + 210)
                      for k in range(n)]},
        index=idx("admin_code"), crs=4547)
    return {"compounds": compounds, "labels": labels, "illegal": illegal, "gas": gas,
            "barriers": barriers, "admin": admin}


def full_map(layers: dict, **options) -> folium.Map:
    return maps.explore_packages(
        layers["compounds"], labels=layers["labels"], illegal=layers["illegal"],
        gas=layers["gas"], barriers=layers["barriers"], admin=layers["admin"], **options)


def strings(obj) -> set[str]:
    """Every string inside a decoded JSON value."""
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return set().union(*(strings(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(strings(v) for v in obj)) if obj else set()
    return set()


def legend_of(text: str) -> dict:
    match = re.search(r"spatialreno\.legend\(map_\w+, (\{.*?\})\);\n", text)
    return json.loads(match.group(1))


def title_of(text: str) -> str:
    """The page title as the browser reads it; its HTML holds no markup or braces."""
    raw = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
    assert not set(raw) & set("<>{}\u2028\u2029"), raw
    return html.unescape(raw)


def attribution(text: str) -> str:
    return json.loads(re.search(r'"attribution": ("(?:[^"\\]|\\.)*")', text).group(1))


def assert_no_markup_escaped(text: str, P: list[str], benign: str) -> None:
    """No element, script or attribute came out of the data: the same tags and the same
    number of <script> blocks as a map of plain text; the markup payloads only escaped."""
    for p in P:
        if _raw_markup(p):
            assert p not in text, p
    lowered = text.lower()
    for raw in ("<img", "</script><script>", "<script>window", "onerror=\"window"):
        assert raw not in lowered, raw
    assert lowered.count("<script") == benign.lower().count("<script")
    assert lowered.count("</script") == benign.lower().count("</script")
    assert sorted({t for t, _ in parse(text).tags}) == sorted({t for t, _ in parse(benign).tags})


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def canary(tmp_path_factory) -> Path:
    """The folder the payloads would `touch` files in; it must stay empty."""
    return tmp_path_factory.mktemp("canary")


@pytest.fixture(scope="module")
def P(canary) -> list[str]:
    return make_payloads(canary)


@pytest.fixture(scope="module")
def hostile(P) -> dict:
    return hostile_layers(P)


@pytest.fixture(scope="module")
def benign_text() -> str:
    plain = [f"plain{k}" for k in range(11)]
    return full_map(hostile_layers(plain), title="t", attr="a", basemap=TILES).get_root().render()


@pytest.fixture(scope="module")
def saved(hostile, P, tmp_path_factory):
    """The full map with every layer, a payload title and attribution, saved."""
    m = full_map(hostile, title=P[6], attr=P[7], basemap=TILES)
    return maps.save_map(m, tmp_path_factory.mktemp("hostile") / "review_map.html")


# --------------------------------------------------------------------------------------
# Python side
# --------------------------------------------------------------------------------------
def test_payloads_in_every_field_are_data(saved, hostile, P, canary, benign_text):
    text = saved.read_text(encoding="utf-8")
    assert list(canary.iterdir()) == []  # no code ran
    assert_no_markup_escaped(text, P, benign_text)
    specs = {s["kind"]: s for s in payloads(text)}
    assert list(specs) == ["packages", "compounds", "illegal", "gas", "barriers", "admin"]
    every = set(P)

    def props(kind):
        return [f["properties"] for f in features(specs[kind])]

    compounds = props("compounds")
    assert {p["i"] for p in compounds} == set(hostile["compounds"].index)
    assert {p["n"] for p in compounds} == every  # name
    assert {p["k"] for p in compounds} == every  # package id
    cfields = specs["compounds"]["fields"]
    for column in ("street", "district", "community"):
        label = maps.schema.label("compounds", column, "zh")
        assert {p["v"][cfields.index(label)] for p in compounds} == every, column
    assert {row[0] for row in specs["compounds"]["related"]["rows"]} == every
    assert {p["i"] for p in props("packages")} == every
    for kind in ("illegal", "gas", "barriers", "admin"):
        rows = props(kind)
        assert {p["i"] for p in rows} == every, kind
        values = strings([p["v"] for p in rows]) | {p.get("n") for p in rows}
        assert every <= values, (kind, every - values)
    # the legend lists the coded values (status, pipe class, barrier type, admin level)
    legend = strings(legend_of(text))
    for p in P:
        assert any(p in label for label in legend), p
    # each payload is in the page, and only in its escaped JSON form
    for p in P:
        assert _escaped(p) in text, p
    # title and attribution: HTML text, shown literally
    assert title_of(text) == P[6]
    assert html.unescape(attribution(text)) == P[7]
    assert not set(attribution(text)) & set("<>{}")


def test_adcode_goes_into_package_ids_safely(hostile, canary):
    """Package ids built from adcode (PK-<adcode>-<compound>, the stable-id rule) carry
    the payloads too, through the ``package_id`` column."""
    compounds = hostile["compounds"]
    pkg = [f"PK-{a}-{c}" for a, c in zip(compounds["adcode"], compounds.index)]
    text = maps.explore_packages(compounds.assign(package_id=pkg)).get_root().render()
    assert list(canary.iterdir()) == []
    spec = next(s for s in payloads(text) if s["kind"] == "packages")
    assert {f["properties"]["i"] for f in features(spec)} == set(pkg)
    for p in pkg:
        assert _escaped(p) in text


@pytest.mark.parametrize("k", range(11))
def test_each_payload_alone(k, P, canary, benign_text):
    """One payload at a time in every field and every option (``title``, ``attr`` with
    custom tiles, layer names with folium's LayerControl), on a ReviewMap and on a plain
    folium.Map: no other payload can mask it (an unclosed ``{#`` would swallow the rest)."""
    p = P[k]
    layers = hostile_layers([p] + [f"plain{i}" for i in range(len(P) - 1)])
    text = full_map(layers, title=p, attr=p, basemap=TILES).get_root().render()
    assert list(canary.iterdir()) == []
    assert_no_markup_escaped(text, [p], benign_text)
    assert title_of(text) == p
    assert html.unescape(attribution(text)) == p
    specs = {s["kind"]: s for s in payloads(text)}
    for kind in ("packages", "compounds", "illegal", "gas", "barriers", "admin"):
        assert p in strings(specs[kind]["data"]), kind
    assert any(p in label for label in strings(legend_of(text)))
    compounds, labels = layers["compounds"], layers["labels"]
    for base in (maps.review_map(title=p, basemap=TILES, attr=p), folium.Map(tiles=None)):
        m = base
        if isinstance(m, maps.ReviewMap):
            maps.add_packages_layer(m, maps._packages_from_labels(compounds, labels), name=p)
        else:
            maps.add_basemap(m, TILES, attr=p)
        maps.add_compounds_layer(m, compounds, labels=labels, name=p + "·c")
        maps.add_illegal_layer(m, layers["illegal"], name=p + "·i")
        folium.LayerControl().add_to(m)
        m.fit_bounds(m.get_bounds())
        out = m.get_root().render()
        names = overlay_names(out)
        assert [html.unescape(n) for n in names][-2:] == [p + "·c", p + "·i"]
        for name in names:  # no markup and no template syntax reach the layer control
            assert not set(name) & set("<>\"'{}\u2028\u2029"), name
        assert html.unescape(attribution(out)) == p
        for raw in ("<img", "</script><script>", "onerror=\"window"):
            assert raw not in out.lower()
    assert list(canary.iterdir()) == []


def test_template_syntax_errors_cannot_happen(hostile):
    """Names that are broken Jinja2 (an unclosed ``{{``, ``{% raw %}``, ``{#``) used to
    raise TemplateSyntaxError and write nothing."""
    compounds = hostile["compounds"].copy()
    for bad in ("老{{街坊", "{% raw %}", "{#", "{% endmacro %}", "}}{{", "{%- if x %}"):
        compounds["name"] = bad
        text = maps.explore_packages(compounds, title=bad, attr=bad,
                                     basemap=TILES).get_root().render()
        assert _escaped(bad) in text


def test_locked_package_labels(hostile, P, canary):
    """A `locked` label from the config becomes a package id on the map."""
    from spatialreno.plan import Plan

    compounds = hostile["compounds"].drop(columns=["adcode"]).assign(
        street="汉兴街道", district="江汉区").reset_index()
    ids = compounds["compound_id"].tolist()
    locked = {ids[2 * i + j]: P[i] for i in range(len(P)) for j in (0, 1)}
    plan = Plan.from_files(compounds=compounds, packages={"locked": locked}).run(progress=False)
    assert set(plan.packages.index) == set(P)
    text = plan.explore().get_root().render()
    assert list(canary.iterdir()) == []
    spec = next(s for s in payloads(text) if s["kind"] == "packages")
    assert {f["properties"]["i"] for f in features(spec)} == set(P)
    for p in P:
        if _raw_markup(p):
            assert p not in text


@pytest.mark.parametrize("which", ["rce", "all"])
def test_cli_plan_on_a_gbk_shapefile_runs_no_code(which, tmp_path, canary, P):
    """The probe's reproducer: a GBK shapefile whose 小区名称 is the code payload (the
    other fields plain, so nothing else stops the template), then every payload GBK can
    hold in every text field, through ``spatialreno plan --compounds 小区.shp --out DIR``."""
    from spatialreno import cli

    if which == "rce":
        names, others = P[:2], ["汉兴街道", "江汉区", "前进社区"]
    else:
        names = others = [p for p in P if "\u2028" not in p]  # U+2028 has no GBK code
    rows = []
    for k in range(20):
        i, j = divmod(k, 2)
        x, y = 525000.0 + i * 106.0, 3384000.0 + j * 106.0
        rows.append({"小区编码": f"C{k:02d}", "小区名称": names[k % len(names)],
                     "街道": others[3 % len(others)], "所属区": others[4 % len(others)],
                     "社区": others[(k + 1) % len(others)], "户数": 100 + k,
                     "建筑面积": 8000.0, "建成年份": 1990,
                     "geometry": box(x, y, x + 100.0, y + 100.0)})
    src = tmp_path / "in"
    src.mkdir()
    shp = src / "小区.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame(rows, crs=4547), shp, driver="ESRI Shapefile",
                            encoding="GBK")
    assert shp.with_suffix(".cpg").read_text(encoding="ascii").strip().upper() == "GBK"
    out = tmp_path / "out"
    assert cli.main(["plan", "--compounds", str(shp), "--out", str(out)]) == 0
    assert list(canary.iterdir()) == []
    assert not list(tmp_path.rglob("PWNED*"))
    text = (out / "review_map.html").read_text(encoding="utf-8")
    compounds = next(s for s in payloads(text) if s["kind"] == "compounds")
    assert {f["properties"]["n"] for f in features(compounds)} == set(names)
    for p in set(names) | set(others):
        assert _escaped(p) in text
        if _raw_markup(p):
            assert p not in text
    assert "<img" not in text and "</script><script>" not in text


def test_elements_render_without_a_template(hostile, monkeypatch):
    """The guarantee itself: with Jinja2 parsing of strings made to fail, spatialreno's
    own elements still render (only folium's map frame and LayerControl use templates)."""
    import branca.element

    seen: list[str] = []
    real = branca.element.Element.__init__

    def spy(self, template=None, template_name=None):
        if template is not None:
            seen.append(template)
        real(self, template, template_name)

    monkeypatch.setattr(branca.element.Element, "__init__", spy)
    text = full_map(hostile, title="t", attr="a", basemap=TILES).get_root().render()
    assert "spatialreno.layer(" in text and "spatialreno.legend(" in text
    reparsed = "\n".join(seen)
    assert "spatialreno." not in reparsed and "L.tileLayer(" not in reparsed
    assert ".fitBounds(" not in reparsed
    assert all(_escaped(p) not in reparsed for p in hostile["compounds"]["name"])


# --------------------------------------------------------------------------------------
# headless Chromium
# --------------------------------------------------------------------------------------
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

_TEXTS_JS = """(() => {
  const out = [];
  let markup = 0;
  for (const l of spatialreno.layers) for (const it of l.items) {
    it.layer.openPopup();
    const pop = it.layer.getPopup().getElement();
    out.push(pop.textContent);
    markup += pop.querySelectorAll('img,script,iframe,svg').length;
    it.layer.openTooltip(); out.push(it.layer.getTooltip().getElement().textContent);
    it.layer.closeTooltip();
  }
  spatialreno.layers[0].map.closePopup();
  return {texts: out, markup: markup};
})()"""


def _assert_clean(page):
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.console_errors == []
    assert page.external_requests == []


@needs_chromium
def test_browser_runs_no_payload_and_shows_text(chromium, saved, hostile, P):
    page = chromium.open(saved, wait=READY)
    _assert_clean(page)
    n = len(P)
    assert page.evaluate(_COUNT_JS) == {"packages": n, "compounds": 2 * n, "illegal": n,
                                        "gas": n, "barriers": n, "admin": n}
    # only our own scripts are in the document
    doc_scripts = page.evaluate("document.scripts.length")
    tags = [t for t, _ in parse(saved.read_text(encoding="utf-8")).tags]
    assert doc_scripts == tags.count("script") == 5
    assert page.evaluate("document.title") == P[6]
    attribution = page.evaluate(
        "document.querySelector('.leaflet-control-attribution').textContent")
    assert P[7] in attribution
    assert page.evaluate("document.querySelectorAll('img:not(.leaflet-tile)').length") == 0
    # the search box finds the <img ...> name and lists it as text
    hits = page.evaluate(f"""(() => {{
      const input = document.querySelector('.sr-search input');
      input.value = {json.dumps('<img')};
      input.dispatchEvent(new Event('input'));
      return [...document.querySelectorAll('.sr-search li')].map(li => li.firstChild.textContent);
    }})()""")
    assert P[7] in hits
    # every popup and tooltip, as text
    got = page.evaluate(_TEXTS_JS)
    joined = "\n".join(got["texts"])
    for p in P:
        assert p in joined, p
    assert got["markup"] == 0
    for street in hostile["compounds"]["street"]:
        assert street in joined
    # compound names as map labels, legend entries as text
    labels = page.evaluate("""(() => {
      const map = spatialreno.layers[0].map;
      map.setZoom(17, {animate: false});
      return [...document.querySelectorAll('.sr-label-cmp span')].map(s => s.textContent);
    })()""")
    assert set(P) <= set(labels)
    legend = page.evaluate("document.querySelector('.sr-legend').textContent")
    for p in P:
        assert p in legend, p
    _assert_clean(page)
    assert page.evaluate("document.scripts.length") == doc_scripts


@needs_chromium
def test_browser_option_payloads_are_literal(chromium, hostile, P, tmp_path):
    compounds, labels = hostile["compounds"], hostile["labels"]
    for k, p in enumerate(P):
        m = maps.review_map(title=p, basemap=TILES, attr=p)
        maps.add_compounds_layer(m, compounds, labels=labels, name=p)
        folium.LayerControl(collapsed=False).add_to(m)
        m.fit_bounds(m.get_bounds())
        page = chromium.open(maps.save_map(m, tmp_path / f"options{k}.html"), wait=READY)
        _assert_clean(page)
        assert page.evaluate("document.title") == p
        overlays = page.evaluate(
            "[...document.querySelectorAll('.leaflet-control-layers-overlays label span span')]"
            ".map(s => s.textContent)")
        assert overlays == [" " + p]
        attribution = page.evaluate(
            "document.querySelector('.leaflet-control-attribution').textContent")
        assert attribution.endswith(p)
        assert page.evaluate("document.querySelectorAll('img:not(.leaflet-tile)').length") == 0
        assert page.evaluate(_COUNT_JS) == {"compounds": len(compounds)}
