"""Offline, script-safe HTML review maps of packages, compounds and their overlays.

:func:`explore_packages` draws one self-contained map for a district review (片区审查):
packages filled so that neighbouring packages never share a colour, compound outlines with
names at close zoom, illegal structures by status and area, gas pipes by class with aged
pipes in thick red, barriers and administrative lines, each a layer in a layer control,
with a legend (Chinese by default), tooltips and popups with each compound's and its
package's figures, a search box for compound names and a scale bar::

    m = explore_packages(compounds, packages, labels=labels, illegal=illegal, gas=gas)
    save_map(m, "片区审查图.html")          # atomic; opens from a USB stick, no internet

The lower-level helpers compose on any map (``add_packages_layer(m, packages)``,
``add_compounds_layer``, ``add_illegal_layer``, ``add_gas_layer``,
``add_barriers_layer``, ``add_admin_layer``, ``add_basemap``), and :func:`review_map`
makes the empty offline map they start from.

What "offline" and "safe" mean here:

* :class:`ReviewMap` is a :class:`folium.Map` that emits none of folium's CDN assets
  (Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers). Leaflet 1.9.4 is read from
  the installed ``django-js-lib-leaflet`` package and inlined with its images as
  ``data:`` URIs; the rest is our own small runtime (:mod:`spatialreno._mapassets`). With
  ``basemap="none"`` (the default) the saved HTML requests nothing at all.
* No template engine ever sees data. folium/branca render an element's Jinja2 macro and
  then parse the *result* as a template once more, so a ``{{ ... }}`` or ``{% ... %}``
  inside embedded text would run as Python (or break the render). spatialreno's elements
  (setup and note, legend, data layers, the initial fit, tile layers) therefore write
  their script in plain Python and add it to the page verbatim. The one piece of our text
  that folium's :class:`folium.LayerControl` template receives is a layer name, and it is
  given as HTML with ``<``, ``>``, ``&``, quotes, ``{`` and ``}`` as entities: it holds no
  template syntax and no markup, and the control shows it literally.
* Attribute values (names, streets, ids, codes, package ids, statuses, types, levels, any
  value a popup, tooltip, label, legend or the search box shows) reach the page only as
  JSON inside a ``<script>``, with ``<``, ``>``, ``&`` and U+2028/U+2029 escaped as
  ``\\u003c``..., so ``</script>`` in a name cannot end the script; the runtime builds
  every piece of text with ``textContent``, never ``innerHTML``.
* Options are text too: ``title=``, layer names (``name=``) and ``attr=`` (the
  attribution of a custom tile service, which Leaflet inserts as HTML) are written as HTML
  text with the same entities, so each is shown as the literal text given. The only
  attribution markup passed on is our own (the 天地图 link) and xyzservices' for its named
  providers (``"osm"``, ``"gaode"``, a ``TileProvider`` without ``attr=``).
* Not covered: folium elements that a caller adds to the map (a ``folium.Marker`` with a
  ``folium.Popup``, a ``folium.TileLayer``) are rendered by folium as usual; what the caller
  puts in them is the caller's own template.
* Geometry is simplified in metres (``simplify_m``, topology-preserving) and coordinates
  are rounded to 6 decimals (≈0.1 m) for display only; properties are trimmed to what is
  shown.

Basemaps (``basemap=``): ``"none"``; ``"tianditu"`` (天地图 vec_w + cva_w Web-Mercator
tiles, needs ``tianditu_key``); ``"gaode"`` (高德, GCJ-02: the overlays are shifted from
WGS84/CGCS2000 to GCJ-02 for display, with a note on the map); ``"osm"``; or an XYZ URL
template with ``{z}``, ``{x}``, ``{y}`` (an intranet tile service) plus ``attr=``.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import json
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import xyzservices
from branca.element import Element, Figure
from folium.utilities import camelize

from . import _mapassets, schema
from .errors import ConfigError, CRSError, DataError, ExportError, SpatialRenoWarning

__all__ = [
    "PALETTE",
    "BASEMAPS",
    "ReviewMap",
    "review_map",
    "explore_packages",
    "add_basemap",
    "add_packages_layer",
    "add_compounds_layer",
    "add_illegal_layer",
    "add_gas_layer",
    "add_barriers_layer",
    "add_admin_layer",
    "package_colors",
    "package_graph",
    "wgs84_to_gcj02",
    "save_map",
]

log = logging.getLogger(__name__)

#: Fill colours for packages (Tableau 10): adjacent packages get different entries.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)

#: Named basemaps; any XYZ URL template with {z}, {x} and {y} is accepted as well.
BASEMAPS: tuple[str, ...] = ("none", "tianditu", "gaode", "osm")

_LANGS = ("zh", "en")
_DECIMALS = 6  # ≈ 0.1 m in latitude; display only
_TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/DataServer?T={layer}_w&x={{x}}&y={{y}}&l={{z}}&tk={key}"
)
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "老旧小区改造片区审查图",
        "legend": "图例",
        "packages": "片区",
        "compounds": "小区",
        "illegal": "违法建设",
        "gas": "燃气管网",
        "barriers": "分隔道路与河流",
        "admin": "行政界线",
        "in_package": "所属片区",
        "search": "搜索小区名称或编码",
        "no_match": "无匹配小区",
        "yes": "是",
        "no": "否",
        "n_packages": "片区 {n} 个",
        "package_note": "颜色仅区分相邻片区",
        "compound_outline": "小区边界",
        "unassigned": "未纳入片区",
        "label_note": "放大到 {z} 级显示小区名称",
        "size_note": "圆点大小按违建面积",
        "aged": "老化管段（红色加粗）",
        "no_aged": "未做老化判定",
        "unknown": "未填",
        "tianditu_vec": "天地图矢量",
        "tianditu_cva": "天地图注记",
        "gaode": "高德地图",
        "osm": "OpenStreetMap",
        "custom": "底图",
        "gcj_note": (
            "底图为高德地图（GCJ-02）。叠加图层已由 WGS84/CGCS2000 偏移至 GCJ-02（约 0.5 km），"
            "仅供显示；量算与导出以原始坐标为准。"
        ),
    },
    "en": {
        "title": "Old-compound renovation: package review map",
        "legend": "Legend",
        "packages": "Packages",
        "compounds": "Compounds",
        "illegal": "Illegal structures",
        "gas": "Gas network",
        "barriers": "Barriers (roads, rivers)",
        "admin": "Admin boundaries",
        "in_package": "Package",
        "search": "Search compound name or ID",
        "no_match": "No matching compound",
        "yes": "Yes",
        "no": "No",
        "n_packages": "{n} packages",
        "package_note": "Colours only tell neighbouring packages apart",
        "compound_outline": "Compound boundary",
        "unassigned": "Not in a package",
        "label_note": "Names shown from zoom {z}",
        "size_note": "Circle size by structure area",
        "aged": "Aged pipe (thick red)",
        "no_aged": "Ageing not assessed",
        "unknown": "Not given",
        "tianditu_vec": "Tianditu vector",
        "tianditu_cva": "Tianditu labels",
        "gaode": "Gaode (AMap)",
        "osm": "OpenStreetMap",
        "custom": "Basemap",
        "gcj_note": (
            "Basemap is Gaode (GCJ-02). Overlays are shifted from WGS84/CGCS2000 to GCJ-02 "
            "(about 0.5 km) for display only; measure and export from the original data."
        ),
    },
}

# layer kind → (pane, z-index); packages lowest, point symbols on top
_PANES = {
    "packages": ("srPackages", 410),
    "compounds": ("srCompounds", 420),
    "admin": ("srAdmin", 425),
    "barriers": ("srBarriers", 430),
    "gas": ("srGas", 440),
    "illegal": ("srIllegal", 450),
}

# columns shown in popups, in order (those present are shown)
_FIELDS: dict[str, tuple[str, ...]] = {
    "packages": (
        "n_compounds", "streets", "households", "floor_area_m2", "cost_total",
        "construction_cost", "illegal_area_m2", "gas_aged_m", "must_tender", "plan_year",
    ),
    "package_summary": (
        "n_compounds", "households", "cost_total", "illegal_area_m2", "gas_aged_m",
        "must_tender", "plan_year",
    ),
    "compounds": (
        "street", "district", "community", "households", "floor_area_m2", "build_year",
        "illegal_area_m2", "gas_aged_m", "cost_total",
    ),
    "illegal": ("kind", "area_m2", "status", "compound_id", "blocks_fire_lane", "blocks_gas"),
    "gas": ("pipe_class", "material", "diameter_mm", "install_year", "length_m", "aged",
            "aged_rule"),
    "barriers": ("barrier_type", "width_m"),
    "admin": ("level", "district"),
}
_TIPS: dict[str, tuple[str, ...]] = {
    "packages": ("n_compounds", "households", "cost_total"),
    "compounds": (),
    "illegal": ("area_m2", "status"),
    "gas": ("material", "aged"),
    "barriers": ("barrier_type",),
    "admin": ("level",),
}
_FLAG_COLUMNS = frozenset({"must_tender", "aged", "blocks_fire_lane", "blocks_gas", "occupied"})

_STATUS_COLORS = {
    "to_verify": "#9e9e9e", "filed": "#ff9800", "stop_order": "#f4511e",
    "deadline": "#e53935", "forced": "#8e0000", "demolished": "#43a047",
    "deferred": "#8e24aa", "retained": "#1e88e5",
}
_PIPE_COLORS = {
    "municipal": "#6a1b9a", "courtyard_buried": "#1565c0", "overhead": "#00838f",
    "riser": "#2e7d32", "service": "#558b2f", "horizontal_main": "#0277bd",
    "indoor": "#8d6e63", "other": "#757575",
}
_AGED_COLOR = "#d50000"
_BARRIER_STYLES = {
    "arterial": {"color": "#424242", "weight": 4, "opacity": 0.85},
    "river": {"color": "#0288d1", "weight": 3, "opacity": 0.9, "fillColor": "#81d4fa"},
    "railway": {"color": "#212121", "weight": 2.5, "opacity": 0.9, "dashArray": "8 4"},
    "wall": {"color": "#795548", "weight": 1.5, "opacity": 0.9},
    "other": {"color": "#9e9e9e", "weight": 2, "opacity": 0.9},
}
_ADMIN_WEIGHT = {"city": 4, "district": 3, "street": 2, "community": 1.2}
_OTHER = "#616161"


# --------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------
def _check_lang(lang: str) -> str:
    if lang not in _LANGS:
        raise ConfigError(f"`lang` must be one of {', '.join(map(repr, _LANGS))}, got {lang!r}.")
    return lang


def _script_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: ``<``, ``>``, ``&`` and the JS line separators are
    escaped, so no string value can close the script or open a comment."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _escape_script_text(text)


def _escape_script_text(text: str) -> str:
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _require_layer(gdf, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataError(
            f"`{what}` must be a GeoDataFrame, got {type(gdf).__name__}; read it with "
            "spatialreno.read_layer(...) or geopandas.read_file(...)."
        )
    if gdf.crs is None:
        raise CRSError(
            f"`{what}` has no CRS; set the survey CRS first, e.g. `{what}.set_crs(4547)` "
            "(CGCS2000 / 3-degree GK CM 114E for Wuhan)."
        )
    return gdf


def _metric(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """The geometries in a projected CRS in metres (themselves when already projected)."""
    if geoms.crs.is_projected:
        return geoms
    return geoms.to_crs(geoms.estimate_utm_crs())


# --------------------------------------------------------------------------------------
# GCJ-02
# --------------------------------------------------------------------------------------
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 (or CGCS2000) longitude/latitude to GCJ-02, vectorised.

    The public forward formula (Krasovsky ellipsoid, polynomial plus sine series) as in
    eviltransform and coordTransform; points outside the published China box are returned
    unchanged. Around Wuhan the shift is 566–590 m. Use it for display on GCJ-02 tiles
    (Gaode/AMap) only: it is not a survey transformation and has no exact inverse.

    Parameters
    ----------
    lon, lat : array-like of float
        Degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([114.27], [30.60])
    >>> round(float(lon[0] - 114.27), 4), round(float(lat[0] - 30.60), 4)
    (0.0054, -0.0024)
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * pi)
    inside = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return wgs84_to_gcj02(x, y)


# --------------------------------------------------------------------------------------
# map state, elements
# --------------------------------------------------------------------------------------
def _state(m: folium.Map) -> dict:
    """spatialreno's bookkeeping on a map (works on plain folium maps as well)."""
    st = getattr(m, "_spatialreno", None)
    if st is None:
        st = {"lang": "zh", "datum": "wgs84", "legend": {}, "bounds": None, "n_layers": 0,
              "note": None, "legend_added": False}
        m._spatialreno = st
    return st


class _Raw(Element):
    """Text rendered verbatim: no template engine parses it (Leaflet's source, our runtime,
    and every script spatialreno writes)."""

    def __init__(self, text: str):
        super().__init__()
        self._name = "SpatialRenoRaw"
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


def _html_text(text) -> str:
    """``text`` as HTML that shows it literally: ``<``, ``>``, ``&`` and quotes become
    entities, and so do ``{`` and ``}`` (no Jinja2 syntax is possible without them) and
    U+2028/U+2029. For the page title, the tile attribution and layer names: Leaflet
    inserts attributions and layer-control names as HTML, and folium's ``LayerControl``
    script is parsed as a Jinja2 template once more."""
    return (
        html.escape(str(text), quote=True)
        .replace("{", "&#123;")
        .replace("}", "&#125;")
        .replace("\u2028", "&#8232;")
        .replace("\u2029", "&#8233;")
    )


def _js_options(options: dict) -> str:
    """A Leaflet options object as script text (JSON values, escaped for ``<script>``)."""
    items = "".join(
        f"  {json.dumps(camelize(k))}: {_escape_script_text(json.dumps(v, allow_nan=False))},\n"
        for k, v in options.items()
    )
    return "{\n" + items + "}"


def _add_script(element: Element, text: str) -> None:
    """Add ``text`` to the page's script verbatim, keyed by ``element`` (rendering twice
    replaces it)."""
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise DataError("a spatialreno layer can only be rendered inside a folium Map/Figure")
    figure.script.add_child(_Raw(text), name=element.get_name())


def _add_runtime(figure) -> None:
    if not isinstance(figure, Figure):
        raise DataError("a spatialreno layer can only be rendered inside a folium Map/Figure")
    if "spatialreno_runtime" not in figure.header._children:
        figure.header.add_child(
            _Raw(
                f"<style>{_mapassets.RUNTIME_CSS}</style>\n"
                f"<script>{_mapassets.RUNTIME_JS}</script>\n"
            ),
            name="spatialreno_runtime",
        )


class ReviewMap(folium.Map):
    """A :class:`folium.Map` whose HTML is self-contained.

    folium's ``default_js``/``default_css`` (Leaflet from jsDelivr, jQuery, Bootstrap,
    Font Awesome, awesome-markers, glyphicons) are not emitted; Leaflet 1.9.4 is inlined
    from the ``js_lib_leaflet`` package instead, with its images as ``data:`` URIs, and
    spatialreno's runtime is inlined after it. Everything else is a folium Map: layers,
    ``LayerControl``, ``fit_bounds``, ``save`` and ``_repr_html_`` (the notebook iframe is
    just as offline). folium features that need jQuery or Bootstrap (``folium.Popup``
    with HTML, awesome-marker ``Icon``) do not work on it; use the ``add_*_layer`` helpers.

    Any :class:`folium.LayerControl` is rendered after all layers whatever the order they
    were added in.
    """

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def __init__(
        self,
        location: Sequence[float] | None = None,
        *,
        zoom_start: int = 13,
        lang: str = "zh",
        title: str | None = None,
        scale: bool = True,
        **kwargs,
    ):
        _check_lang(lang)
        kwargs.setdefault("tiles", None)
        kwargs.setdefault("maxZoom", 20)
        kwargs.setdefault("zoomSnap", 0.25)  # fit the data closely; labels switch at whole zooms
        super().__init__(location=location, zoom_start=zoom_start, **kwargs)
        st = _state(self)
        st["lang"] = lang
        # the Figure's template inserts the title as a value (never parsed again)
        self.get_root().title = _html_text(title if title is not None else _TEXT[lang]["title"])
        self.add_child(_Setup(scale=scale), name="spatialreno_setup")

    def render(self, **kwargs):
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise DataError("a ReviewMap can only be rendered inside a branca Figure")
        figure.header.add_child(
            _Raw(
                f"<style>{_mapassets.leaflet_css()}</style>\n"
                f"<script>{_mapassets.leaflet_js()}</script>\n"
                f"<script>{_mapassets.icon_default_js()}</script>\n"
            ),
            name="spatialreno_leaflet",
        )
        _add_runtime(figure)
        for key in [k for k, c in self._children.items() if isinstance(c, folium.LayerControl)]:
            self._children.move_to_end(key)
        super().render(**kwargs)


class _ScriptElement(Element):
    """An element whose script spatialreno writes in Python and adds verbatim.

    folium's ``MacroElement`` renders its macro and then wraps the result in a new
    ``Element``, which branca parses as a Jinja2 template once more, so any ``{{ }}`` or
    ``{% %}`` in embedded data would run. These elements never go through a template.
    """

    def script(self) -> str:  # pragma: no cover - overridden
        return ""

    def render(self, **kwargs):
        _add_runtime(self.get_root())
        text = self.script()
        if text:
            _add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class _Setup(_ScriptElement):
    """Scale bar, the 'no basemap' background and the datum note."""

    def __init__(self, scale: bool = True):
        super().__init__()
        self._name = "SpatialRenoSetup"
        self.scale = scale

    def options(self) -> str:
        tiles = any(isinstance(c, folium.TileLayer) for c in self._parent._children.values())
        return _script_json({"scale": self.scale, "nobasemap": not tiles})

    def note(self) -> str:
        text = _state(self._parent)["note"]
        return _script_json(text) if text else ""

    def script(self) -> str:
        parent = self._parent.get_name()
        out = f"spatialreno.setup({parent}, {self.options()});\n"
        if self.note():
            out += f'spatialreno.note({parent}, {self.note()}, "bottomleft");\n'
        return out


class _Legend(_ScriptElement):
    _ORDER = ("packages", "compounds", "illegal", "gas", "barriers", "admin")

    def __init__(self):
        super().__init__()
        self._name = "SpatialRenoLegend"

    def payload(self) -> str:
        st = _state(self._parent)
        sections = [st["legend"][k] for k in self._ORDER if k in st["legend"]]
        if not sections:
            return ""
        text = _TEXT[st["lang"]]
        return _script_json({"title": text["legend"], "sections": sections})

    def script(self) -> str:
        payload = self.payload()
        if not payload:
            return ""
        return f"spatialreno.legend({self._parent.get_name()}, {payload});\n"


class _DataLayer(folium.map.Layer):
    """One spatialreno layer: compact GeoJSON plus display spec, drawn by the runtime.

    A folium ``Layer`` (so ``LayerControl`` and ``get_bounds`` see it) whose script is
    written verbatim instead of through a template (see :class:`_ScriptElement`)."""

    def __init__(self, payload: str, *, kind: str, name: str, show: bool, bounds, n: int):
        super().__init__(name=_html_text(name), overlay=True, control=True, show=show)
        self._name = "SpatialRenoLayer"
        self.kind = kind
        self.payload = payload
        self.bounds = bounds
        self.n_features = n

    def _get_self_bounds(self):
        if self.bounds is None:
            return [[None, None], [None, None]]
        return self.bounds

    def render(self, **kwargs):
        _add_runtime(self.get_root())
        name, parent = self.get_name(), self._parent.get_name()
        text = f"var {name} = spatialreno.layer({parent}, {self.payload});\n"
        if self.show:
            text += f"{name}.addTo({parent});\n"
        _add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class _TileLayer(folium.TileLayer):
    """A :class:`folium.TileLayer` whose script is written verbatim (the URL and the
    attribution never reach a template). ``attr`` is the user's text and is shown
    literally (Leaflet inserts attributions as HTML, so it is escaped); ``html_attr`` is
    our own or xyzservices' attribution markup, used as is."""

    def __init__(self, tiles, *, attr: str | None = None, html_attr: str | None = None,
                 **kwargs):
        if attr is not None:
            attr = _html_text(attr)
        super().__init__(tiles, attr=attr or html_attr, **kwargs)
        self.layer_name = _html_text(self.tile_name)

    def render(self, **kwargs):
        name, parent = self.get_name(), self._parent.get_name()
        text = (f"var {name} = L.tileLayer(\n{_script_json(self.tiles)},\n"
                f"{_js_options(self.options)}\n);\n")
        if self.show:
            text += f"{name}.addTo({parent});\n"
        _add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class _Fit(_ScriptElement):
    """Fit the view to the data at once (no zoom animation on opening)."""

    def __init__(self, bounds):
        super().__init__()
        self._name = "SpatialRenoFit"
        self.bounds = [[float(v) for v in corner] for corner in bounds]

    def script(self) -> str:
        return (f"{self._parent.get_name()}.fitBounds({json.dumps(self.bounds, allow_nan=False)},"
                "\n    {padding: [16, 16], maxZoom: 18, animate: false});\n")


def _register(m: folium.Map, layer: _DataLayer, legend: dict | None) -> None:
    st = _state(m)
    if not st["legend_added"]:
        m.add_child(_Legend(), name="spatialreno_legend")
        st["legend_added"] = True
    m.add_child(layer)
    st["n_layers"] += 1
    if legend is not None:
        st["legend"][layer.kind] = legend
    if layer.bounds is not None:
        (s, w), (n, e) = layer.bounds
        if st["bounds"] is None:
            st["bounds"] = [[s, w], [n, e]]
        else:
            (s0, w0), (n0, e0) = st["bounds"]
            st["bounds"] = [[min(s, s0), min(w, w0)], [max(n, n0), max(e, e0)]]


# --------------------------------------------------------------------------------------
# geometry and values for display
# --------------------------------------------------------------------------------------
# A layer's data is a list of features ``[geometry, id, values, style, extras]``:
# geometry is ``[type, coordinates]`` with type 1 Point, 2 LineString, 3 Polygon,
# 4 MultiPoint, 5 MultiLineString, 6 MultiPolygon, 7 GeometryCollection, and coordinates
# in integer micro-degrees (6 decimals, ≈0.1 m), the first vertex of each ring or line
# relative to the layer's ``origin`` and each further vertex relative to the one before
# (polygon rings without their closing vertex). ``values`` are display strings aligned
# with the layer's ``fields``; ``extras`` holds ``n`` (title), ``k`` (package), ``r``
# (circle radius in px) and ``p`` (label point) when present. The runtime decodes it to
# GeoJSON for ``L.geoJSON``. This is about a third of the size of GeoJSON features.
_SCALE = 10**_DECIMALS


@dataclass
class _Display:
    rows: np.ndarray  # positions (iloc) of the rows kept
    geoms: list  # encoded geometries
    points: list | None  # encoded label points
    bounds: list[list[float]] | None
    metric: gpd.GeoSeries  # kept geometries in metres, before simplification
    origin: tuple[int, int]


def _to_display(arr: np.ndarray, crs, datum: str) -> np.ndarray:
    out = np.asarray(gpd.GeoSeries(arr, crs=crs).to_crs(4326).values)
    if datum == "gcj02":
        out = shapely.transform(out, _gcj_xy, interleaved=False)
    return out


def _line(coords, origin: tuple[int, int], *, ring: bool = False) -> list[int]:
    q = np.rint(np.asarray(coords, dtype=float)[:, :2] * _SCALE).astype(np.int64)
    if ring and len(q) > 1 and (q[0] == q[-1]).all():
        q = q[:-1]
    if not len(q):
        return []
    d = np.empty_like(q)
    d[0] = q[0] - np.asarray(origin, dtype=np.int64)
    d[1:] = q[1:] - q[:-1]
    return d.ravel().tolist()


def _rings(polygon, origin) -> list[list[int]]:
    return [_line(r.coords, origin, ring=True) for r in (polygon.exterior, *polygon.interiors)]


def _encode(geom, origin: tuple[int, int]) -> list:
    kind = geom.geom_type
    if kind == "Point":
        return [1, _line(geom.coords, origin)]
    if kind in ("LineString", "LinearRing"):
        return [2, _line(geom.coords, origin)]
    if kind == "Polygon":
        return [3, _rings(geom, origin)]
    if kind == "MultiPoint":
        return [4, _line(shapely.get_coordinates(geom), origin)]
    if kind == "MultiLineString":
        return [5, [_line(part.coords, origin) for part in geom.geoms]]
    if kind == "MultiPolygon":
        return [6, [_rings(part, origin) for part in geom.geoms]]
    return [7, [_encode(part, origin) for part in geom.geoms if not part.is_empty]]


def _display(gdf: gpd.GeoDataFrame, *, datum: str, simplify_m: float,
             label_points: bool = False) -> _Display:
    geoms = gdf.geometry
    keep = (~(geoms.isna() | geoms.is_empty)).to_numpy()
    if not keep.all():
        log.info("map: %d row(s) without geometry not drawn", int((~keep).sum()))
    rows = np.flatnonzero(keep)
    metric = _metric(geoms[keep])
    arr = np.asarray(metric.values)
    if simplify_m and simplify_m > 0:
        arr = shapely.simplify(arr, simplify_m, preserve_topology=True)
    shown = _to_display(arr, metric.crs, datum)
    bounds, origin = None, (0, 0)
    if len(shown):
        w, s, e, n = shapely.total_bounds(shown)
        if np.all(np.isfinite([w, s, e, n])):
            bounds = [[round(float(s), _DECIMALS), round(float(w), _DECIMALS)],
                      [round(float(n), _DECIMALS), round(float(e), _DECIMALS)]]
            origin = (int(math.floor(w * _SCALE)), int(math.floor(s * _SCALE)))
    if len(shown) and (shapely.get_type_id(shown) == 0).all():  # points: vectorised
        q = np.rint(shapely.get_coordinates(shown) * _SCALE).astype(np.int64)
        encoded = [[1, pair] for pair in (q - np.asarray(origin)).tolist()]
    else:
        encoded = [_encode(g, origin) for g in shown]
    points = None
    if label_points:
        pts = _to_display(np.asarray(shapely.point_on_surface(np.asarray(metric.values))),
                          metric.crs, datum)
        q = np.rint(shapely.get_coordinates(pts) * _SCALE).astype(np.int64)
        points = (q - np.asarray(origin)).tolist()
    return _Display(rows, encoded, points, bounds, metric, origin)


def _column(kind: str, name: str) -> schema.Column | None:
    return (
        schema.find_column(kind, name)
        or schema.find_column("compounds", name)
        or schema.find_column("packages", name)
    )


def _format(value, name: str, kind: str, lang: str) -> str | None:
    """A value as display text (None when missing or blank)."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    text = _TEXT[lang]
    col = _column(kind, name)
    if name in _FLAG_COLUMNS:
        try:
            return text["yes"] if bool(int(value)) else text["no"]
        except (TypeError, ValueError):
            truthy = str(value).strip().lower() in ("true", "yes", "是")
            return text["yes"] if truthy else text["no"]
    if col is not None and col.vocab:
        return schema.value_label(col.vocab, schema.canonical_value(col.vocab, value) or value,
                                  lang)
    if isinstance(value, (bool, np.bool_)):
        return text["yes"] if value else text["no"]
    if isinstance(value, (int, np.integer)) or (col is not None and col.dtype == "int"):
        try:
            number = int(round(float(value)))
        except (TypeError, ValueError):
            return str(value)
        return str(number) if (col is not None and col.unit == "年") else f"{number:,}"
    if isinstance(value, (float, np.floating)):
        decimals = col.decimals if col is not None and col.decimals else 1
        return f"{float(value):,.{decimals}f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


@dataclass
class _Fields:
    names: list[str]
    labels: list[str]
    flags: list[str | None]
    values: list[list[str | None]]  # per row

    def index(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None


def _fields(gdf: pd.DataFrame, kind: str, names: Sequence[str], lang: str, rows: np.ndarray,
            extra: dict[str, Sequence] | None = None) -> _Fields:
    """Labels, per-row display strings and tender-style flags of the columns present."""
    extra = extra or {}
    present = [n for n in names if n in gdf.columns or n in extra]
    labels = [schema.label(kind, n, lang) for n in present]
    flags = [_TEXT[lang]["yes"] if n in _FLAG_COLUMNS else None for n in present]
    columns = []
    for n in present:
        values = extra[n] if n in extra else gdf[n].to_numpy()[rows]
        columns.append([_format(v, n, kind, lang) for v in values])
    per_row = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(rows))]
    return _Fields(present, labels, flags, per_row)


def _spec(kind: str, lang: str, fields: _Fields, disp: _Display, *, styles: list[dict],
          hover: dict, id_label: str | None, title: str | None = None) -> dict:
    spec = {
        "kind": kind, "label": _TEXT[lang][kind],
        "pane": _PANES[kind][0], "z": _PANES[kind][1],
        "origin": list(disp.origin), "scale": _SCALE,
        "fields": fields.labels, "flags": fields.flags,
        "tip": [fields.names.index(n) for n in _TIPS.get(kind, ()) if n in fields.names],
        "styles": styles, "hover": hover,
    }
    if id_label:
        spec["idLabel"] = id_label
    if title is not None and title in fields.names:
        spec["title"] = fields.names.index(title)
    return spec


def _features(disp: _Display, ids: list[str], fields: _Fields, styles: Sequence[int],
              extras: Sequence[dict] | None = None) -> list[list]:
    out = []
    for k, (geom, fid, values, style) in enumerate(zip(disp.geoms, ids, fields.values, styles)):
        extra = {key: v for key, v in (extras[k] if extras else {}).items() if v is not None}
        feature = [geom, fid, values, int(style)]
        if extra:
            feature.append(extra)
        out.append(feature)
    return out


def _id_text(value) -> str:
    return "" if _is_missing(value) else str(value)


def _lang(m: folium.Map, lang: str | None) -> str:
    return _check_lang(lang) if lang is not None else _state(m)["lang"]


def _add(m, spec: dict, features: list, *, name, show, disp, legend) -> folium.Map:
    spec = {**spec, "data": features}
    layer = _DataLayer(_script_json(spec), kind=spec["kind"], name=name, show=show,
                       bounds=disp.bounds, n=len(features))
    _register(m, layer, legend)
    return m


# --------------------------------------------------------------------------------------
# package colours
# --------------------------------------------------------------------------------------
def package_graph(packages: gpd.GeoDataFrame, *, gap_m: float = 10.0) -> nx.Graph:
    """Graph of packages (nodes: ``package_id``) whose geometries touch or lie within
    ``gap_m`` metres of each other: the graph the map colours."""
    packages = _require_layer(packages, "packages")
    geoms = np.asarray(_metric(packages.geometry).values)
    ids = list(packages.index)
    G = nx.Graph(gap_m=gap_m)
    G.add_nodes_from(ids)
    if len(ids) > 1:
        tree = shapely.STRtree(geoms)
        if gap_m > 0:
            left, right = tree.query(geoms, predicate="dwithin", distance=gap_m)
        else:
            left, right = tree.query(geoms, predicate="intersects")
        G.add_edges_from((ids[a], ids[b]) for a, b in zip(left.tolist(), right.tolist()) if a < b)
    return G


def _extend_palette(palette: Sequence[str], n: int) -> list[str]:
    colours = list(palette)
    k = 0
    while len(colours) < n:  # golden-angle hues, kept apart from the palette
        hue = (k * 137.508 + 17.0) % 360.0
        colours.append(_hsl_hex(hue, 0.55, 0.6))
        k += 1
    return colours


def _hsl_hex(h: float, s: float, lightness: float) -> str:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(h / 360.0, lightness, s)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def package_colors(
    packages: gpd.GeoDataFrame,
    *,
    gap_m: float = 10.0,
    palette: Sequence[str] = PALETTE,
    strategy: str = "DSATUR",
    balance: bool = True,
) -> pd.Series:
    """A fill colour per package such that adjacent packages never share one.

    Packages are adjacent when their geometries touch or lie within ``gap_m`` metres (a
    lane between two packages still makes them neighbours on the map). The adjacency
    graph is coloured greedily (networkx ``greedy_color``, DSATUR by default;
    ``"largest_first"`` also works) and colour numbers index ``palette``. With
    ``balance=True`` the nodes are then recoloured in the same order, each taking the
    least-used palette colour none of its neighbours has, so the whole palette is used
    evenly instead of two or three colours (still a proper colouring). Should the graph
    need more colours than the palette has, further distinct colours are generated and a
    :class:`SpatialRenoWarning` says so.

    Returns
    -------
    pandas.Series
        Hex colours indexed like ``packages``, named ``color``.
    """
    if len(palette) < 2:
        raise ConfigError("`palette` needs at least two colours.")
    G = package_graph(packages, gap_m=gap_m)
    numbers = nx.greedy_color(G, strategy=strategy)  # dict in colouring order
    needed = max(numbers.values(), default=-1) + 1
    colours = list(palette)
    if needed > len(colours):
        warnings.warn(
            f"package_colors: the package adjacency graph needs {needed} colours but the "
            f"palette has {len(colours)}; extra colours were generated.",
            SpatialRenoWarning,
            stacklevel=2,
        )
        colours = _extend_palette(colours, needed)
    elif balance:
        balanced = _balanced(G, list(numbers), len(colours))
        if balanced is not None:
            numbers = balanced
    return pd.Series([colours[numbers[i]] for i in packages.index], index=packages.index,
                     name="color")


def _balanced(G: nx.Graph, order: list, k: int) -> dict | None:
    """Recolour in ``order`` with the least-used of ``k`` colours free at each node; None
    when some node finds all ``k`` taken by its neighbours."""
    out: dict = {}
    used = [0] * k
    for u in order:
        taken = {out[v] for v in G[u] if v in out}
        free = [c for c in range(k) if c not in taken]
        if not free:
            return None
        c = min(free, key=lambda c: (used[c], c))
        out[u] = c
        used[c] += 1
    return out


# --------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------
def add_packages_layer(
    m: folium.Map,
    packages: gpd.GeoDataFrame,
    *,
    colors: pd.Series | None = None,
    gap_m: float = 10.0,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    label_max_zoom: int | None = 15,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Add the packages as filled polygons, neighbours in different colours.

    Tooltips show the package id, compound count, households and cost; popups every
    package figure present (``n_compounds``, ``streets``, ``households``,
    ``floor_area_m2``, ``cost_total``, ``construction_cost``, ``illegal_area_m2``,
    ``gas_aged_m``, ``must_tender``, ``plan_year``). Package ids are written on the map
    up to zoom ``label_max_zoom`` (None: never). ``colors`` overrides
    :func:`package_colors`. Returns ``m``.
    """
    packages = _require_layer(packages, "packages")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    if colors is None:
        colors = (package_colors(packages, gap_m=gap_m) if len(packages)
                  else pd.Series([], dtype=object))
    colors = pd.Series(colors).reindex(packages.index).fillna(PALETTE[0])
    disp = _display(packages, datum=_state(m)["datum"], simplify_m=simplify_m,
                    label_points=label_max_zoom is not None)
    fields = _fields(packages, "packages", _FIELDS["packages"], lang, disp.rows)
    palette = list(dict.fromkeys(colors.tolist()))
    style_of = {c: i for i, c in enumerate(palette)}
    styles = [{"color": "#3c3c3c", "weight": 1.4, "opacity": 0.9, "fillColor": c,
               "fillOpacity": 0.5} for c in palette]
    ids = [_id_text(v) for v in packages.index[disp.rows]]
    row_styles = [style_of[c] for c in colors.to_numpy()[disp.rows]]
    points = disp.points or [None] * len(ids)
    features = _features(disp, ids, fields, row_styles, [{"p": p} for p in points])
    spec = _spec("packages", lang, fields, disp, styles=styles, id_label=None,
                 hover={"weight": 3, "color": "#111111"})
    if label_max_zoom is not None:
        # shown through zoom label_max_zoom.99 (fractional zooms), up to the compound names
        spec["labels"] = {"min": 0, "below": label_max_zoom + 1, "cls": "sr-label-pkg"}
    legend = {
        "title": text["packages"],
        "items": [{"shape": "fill", "fill": palette[0] if palette else PALETTE[0],
                   "color": "#3c3c3c", "label": text["n_packages"].format(n=len(ids))}],
        "note": text["package_note"],
    }
    return _add(m, spec, features, name=name or text["packages"], show=show, disp=disp,
                legend=legend)


def _compound_labels(compounds, labels, packages) -> pd.Series | None:
    """Package id per compound: ``labels``, else a ``package_id`` column, else the package
    whose polygon holds the compound's representative point."""
    if labels is not None:
        if not isinstance(labels, pd.Series):
            raise DataError("`labels` must be a pandas Series of package_id indexed by "
                            "compound_id.")
        out = labels.reindex(compounds.index)
        if len(labels) and len(compounds) and out.isna().all():
            raise DataError(
                "`labels` shares no index value with `compounds`; it must be indexed by "
                f"compound_id (e.g. {compounds.index[0]!r}), got e.g. {labels.index[0]!r}."
            )
        return out
    if schema.PACKAGE_ID in compounds.columns:
        return compounds[schema.PACKAGE_ID]
    if packages is not None and len(packages) and len(compounds):
        pk = _metric(packages.geometry)
        pts = shapely.point_on_surface(np.asarray(compounds.geometry.to_crs(pk.crs).values))
        tree = shapely.STRtree(np.asarray(pk.values))
        src, dst = tree.query(pts, predicate="within")
        out = pd.Series(pd.NA, index=compounds.index, dtype=object, name=schema.PACKAGE_ID)
        out.iloc[src] = np.asarray(packages.index, dtype=object)[dst]
        return out
    return None


def add_compounds_layer(
    m: folium.Map,
    compounds: gpd.GeoDataFrame,
    *,
    labels: pd.Series | None = None,
    packages: gpd.GeoDataFrame | None = None,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    label_zoom: int | None = 16,
    search: bool = True,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Add compound outlines with names from zoom ``label_zoom`` and a search box.

    Tooltips show the name and package; popups the compound's figures (``street``,
    ``district``, ``community``, ``households``, ``floor_area_m2``, ``build_year``,
    ``illegal_area_m2``, ``gas_aged_m``, ``cost_total``, those present) and, when
    ``packages`` is given, its package's (``n_compounds``, ``households``,
    ``cost_total``, ``illegal_area_m2``, ``gas_aged_m``, ``must_tender``, ``plan_year``).
    The package of each compound comes from ``labels``, a ``package_id`` column, or the
    package polygon it lies in; compounds in no package are drawn dashed grey. The search
    box (``search=True``) finds a compound by name or id, zooms to it and opens its popup.
    Returns ``m``.
    """
    compounds = _require_layer(compounds, "compounds")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    if packages is not None:
        packages = _require_layer(packages, "packages")
    pkg_of = _compound_labels(compounds, labels, packages)
    disp = _display(compounds, datum=_state(m)["datum"], simplify_m=simplify_m,
                    label_points=label_zoom is not None)
    rows = disp.rows
    ids = [_id_text(v) for v in compounds.index[rows]]
    names = (compounds["name"].to_numpy()[rows] if "name" in compounds.columns
             else [None] * len(ids))
    fields = _fields(compounds, "compounds", _FIELDS["compounds"], lang, rows)
    keys = [None] * len(ids)
    if pkg_of is not None:
        keys = [None if _is_missing(k) else str(k) for k in pkg_of.to_numpy()[rows]]
    unassigned = [pkg_of is not None and k is None for k in keys]
    styles = [
        {"color": "#263238", "weight": 0.9, "opacity": 0.9, "fill": True,
         "fillColor": "#000000", "fillOpacity": 0},
        {"color": "#616161", "weight": 1.2, "opacity": 0.9, "dashArray": "4 3", "fill": True,
         "fillColor": "#9e9e9e", "fillOpacity": 0.3},
    ]
    points = disp.points or [None] * len(ids)
    extras = [{"n": _id_text(nm) or None, "k": k, "p": p}
              for nm, k, p in zip(names, keys, points)]
    features = _features(disp, ids, fields, [int(u) for u in unassigned], extras)
    spec = _spec("compounds", lang, fields, disp, styles=styles,
                 id_label=schema.label("compounds", schema.COMPOUND_ID, lang),
                 hover={"weight": 2.5, "color": "#000000", "fillOpacity": 0.08})
    if label_zoom is not None:
        spec["labels"] = {"min": label_zoom, "cls": "sr-label-cmp"}
    if search:
        spec["search"] = {"placeholder": text["search"], "empty": text["no_match"]}
    if pkg_of is not None:
        related = {"label": text["in_package"], "fields": [], "flags": [], "rows": []}
        if packages is not None:
            used = {k for k in keys if k is not None}
            pk_ids = [_id_text(v) for v in packages.index]
            sel = np.array([i for i, pid in enumerate(pk_ids) if pid in used], dtype=int)
            pf = _fields(packages, "packages", _FIELDS["package_summary"], lang, sel)
            related.update(fields=pf.labels, flags=pf.flags,
                           rows=[[pk_ids[i], v] for i, v in zip(sel.tolist(), pf.values)])
        spec["related"] = related
    items = [{"shape": "fill", "fill": "transparent", "color": "#263238",
              "label": text["compound_outline"]}]
    if any(unassigned):
        items.append({"shape": "fill", "fill": "#9e9e9e", "color": "#616161", "dash": True,
                      "label": f"{text['unassigned']} ({sum(unassigned)})"})
    legend = {"title": text["compounds"], "items": items}
    if label_zoom is not None:
        legend["note"] = text["label_note"].format(z=label_zoom)
    return _add(m, spec, features, name=name or text["compounds"], show=show, disp=disp,
                legend=legend)


def _radius(area) -> float:
    if _is_missing(area):
        return 3.5
    return round(float(np.clip(2.0 + math.sqrt(max(float(area), 0.0)) / 3.0, 2.5, 12.0)), 1)


def _codes(frame: pd.DataFrame, column: str, vocab: str, rows: np.ndarray) -> list:
    """Canonical codes of a coded column (unknown values kept as text, missing as None)."""
    if column not in frame.columns:
        return [None] * len(rows)
    return [None if _is_missing(v) else (schema.canonical_value(vocab, v) or str(v))
            for v in frame[column].to_numpy()[rows]]


def add_illegal_layer(
    m: folium.Map,
    illegal: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
) -> folium.Map:
    """Add illegal structures (违法建设) as circles coloured by ``status`` and sized by
    ``area_m2`` (polygons are drawn at a point inside their footprint). Popups show the
    structure id, kind, area, status and compound; nothing else (no ``party``, no case
    number) is written into the map. Returns ``m``."""
    illegal = _require_layer(illegal, "illegal")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    points = illegal
    polygonal = illegal.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polygonal.any():
        metric = _metric(illegal.geometry)
        reps = gpd.GeoSeries(shapely.point_on_surface(np.asarray(metric.values)),
                             index=illegal.index, crs=metric.crs).to_crs(illegal.crs)
        geometry = illegal.geometry.where(~polygonal, reps)
        points = gpd.GeoDataFrame(illegal.drop(columns=illegal.geometry.name),
                                  geometry=geometry, crs=illegal.crs)
    disp = _display(points, datum=_state(m)["datum"], simplify_m=0)
    rows = disp.rows
    ids = [_id_text(v) for v in illegal.index[rows]]
    fields = _fields(illegal, "illegal", _FIELDS["illegal"], lang, rows)
    statuses = _codes(illegal, "status", "illegal_status", rows)
    areas = (illegal["area_m2"].to_numpy()[rows] if "area_m2" in illegal.columns
             else [None] * len(ids))
    order = list(_STATUS_COLORS) + sorted({s for s in statuses if s and s not in _STATUS_COLORS})
    present = set(statuses)
    used = [s for s in order if s in present] + ([None] if None in present else [])
    style_of = {s: i for i, s in enumerate(used)}
    styles = [{"color": "#ffffff", "weight": 1, "opacity": 1,
               "fillColor": _STATUS_COLORS.get(s, _OTHER), "fillOpacity": 0.9, "radius": 5}
              for s in used]
    features = _features(disp, ids, fields, [style_of[s] for s in statuses],
                         [{"r": _radius(a)} for a in areas])
    spec = _spec("illegal", lang, fields, disp, styles=styles, title="kind",
                 id_label=schema.label("illegal", "structure_id", lang),
                 hover={"weight": 2, "color": "#000000"})
    legend = {
        "title": text["illegal"],
        "items": [
            {"shape": "circle", "fill": _STATUS_COLORS.get(s, _OTHER), "radius": 5,
             "label": (schema.value_label("illegal_status", s, lang) if s else text["unknown"])
             + f" ({statuses.count(s):,})"}
            for s in used
        ],
        "note": text["size_note"],
    }
    return _add(m, spec, features, name=name or text["illegal"], show=show, disp=disp,
                legend=legend)


def add_gas_layer(
    m: folium.Map,
    gas: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Add gas pipes coloured by ``pipe_class``; aged pipes (``aged`` true, from the
    overlay's ageing rules) are drawn thick and red on top. Returns ``m``."""
    gas = _require_layer(gas, "gas")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    has_aged = "aged" in gas.columns
    aged_all = (
        np.array([False if _is_missing(v) else bool(v) for v in gas["aged"]], dtype=bool)
        if has_aged else np.zeros(len(gas), dtype=bool)
    )
    order = np.argsort(aged_all, kind="stable")  # aged last, so drawn on top
    gas = gas.iloc[order]
    aged_all = aged_all[order]
    disp = _display(gas, datum=_state(m)["datum"], simplify_m=simplify_m)
    rows = disp.rows
    extra = {}
    if "length_m" not in gas.columns:
        extra["length_m"] = np.asarray(disp.metric.length.to_numpy(), dtype=float)
    ids = [_id_text(v) for v in gas.index[rows]]
    fields = _fields(gas, "gas", _FIELDS["gas"], lang, rows, extra)
    classes = _codes(gas, "pipe_class", "pipe_class", rows)
    aged = aged_all[rows]
    keys = list(zip(classes, aged.tolist()))
    class_order = list(_PIPE_COLORS) + sorted({c for c in classes if c and c not in _PIPE_COLORS})

    def _rank(key):
        cls, is_aged = key
        return is_aged, class_order.index(cls) if cls in class_order else len(class_order)

    used_keys = sorted(set(keys), key=_rank)
    style_of = {k: i for i, k in enumerate(used_keys)}
    styles = []
    for cls, is_aged in used_keys:
        style = {"color": _AGED_COLOR if is_aged else _PIPE_COLORS.get(cls, _OTHER),
                 "weight": 3.5 if is_aged else 1.5, "opacity": 0.95 if is_aged else 0.85}
        if cls == "overhead":
            style["dashArray"] = "6 3"
        styles.append(style)
    features = _features(disp, ids, fields, [style_of[k] for k in keys])
    spec = _spec("gas", lang, fields, disp, styles=styles, title="pipe_class",
                 id_label=schema.label("gas", "segment_id", lang), hover={"weight": 6})
    seen = set(classes)
    items = [
        {"shape": "line", "color": _PIPE_COLORS.get(c, _OTHER), "weight": 1.5,
         "dash": c == "overhead",
         "label": schema.value_label("pipe_class", c, lang) if c else text["unknown"]}
        for c in [c for c in class_order if c in seen] + ([None] if None in seen else [])
    ]
    if aged.any():
        items.append({"shape": "line", "color": _AGED_COLOR, "weight": 3.5,
                      "label": f"{text['aged']} ({int(aged.sum()):,})"})
    legend = {"title": text["gas"], "items": items}
    if not has_aged:
        legend["note"] = text["no_aged"]
    return _add(m, spec, features, name=name or text["gas"], show=show, disp=disp,
                legend=legend)


def add_barriers_layer(
    m: folium.Map,
    barriers: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Add barriers (arterial roads, rivers, railways, walls) styled by ``barrier_type``,
    with their ``name``. Returns ``m``."""
    barriers = _require_layer(barriers, "barriers")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    disp = _display(barriers, datum=_state(m)["datum"], simplify_m=simplify_m)
    rows = disp.rows
    ids = [_id_text(v) for v in barriers.index[rows]]
    fields = _fields(barriers, "barriers", _FIELDS["barriers"], lang, rows)
    types = [t or "other" for t in _codes(barriers, "barrier_type", "barrier_type", rows)]
    names = ([_id_text(n) or None for n in barriers["name"].to_numpy()[rows]]
             if "name" in barriers.columns else [None] * len(ids))
    polygonal = [t in ("Polygon", "MultiPolygon") for t in barriers.geom_type.to_numpy()[rows]]
    keys = list(zip(types, polygonal))
    known = list(_BARRIER_STYLES)
    used = sorted(set(keys), key=lambda k: (known.index(k[0]) if k[0] in known else 99, k[1]))
    style_of = {k: i for i, k in enumerate(used)}
    styles = []
    for t, poly in used:
        style = dict(_BARRIER_STYLES.get(t, _BARRIER_STYLES["other"]))
        fill = style.pop("fillColor", style["color"])
        if poly:
            style.update(fill=True, fillColor=fill, fillOpacity=0.35, weight=1.5)
        else:
            style["fill"] = False
        styles.append(style)
    features = _features(disp, ids, fields, [style_of[k] for k in keys],
                         [{"n": nm} for nm in names])
    spec = _spec("barriers", lang, fields, disp, styles=styles, title="barrier_type",
                 id_label=None, hover={"opacity": 1, "weight": 5})
    items = []
    for t in dict.fromkeys(t for t, _ in used):
        style = _BARRIER_STYLES.get(t, _BARRIER_STYLES["other"])
        items.append({"shape": "line", "color": style["color"], "weight": style["weight"],
                      "dash": "dashArray" in style,
                      "label": schema.value_label("barrier_type", t, lang)})
    legend = {"title": text["barriers"], "items": items}
    return _add(m, spec, features, name=name or text["barriers"], show=show, disp=disp,
                legend=legend)


def add_admin_layer(
    m: folium.Map,
    admin: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = 1.0,
) -> folium.Map:
    """Add administrative boundaries (区, 街道, 社区) as dashed lines (no fill, so they do
    not cover the packages), weighted by ``level``. Returns ``m``."""
    admin = _require_layer(admin, "admin")
    lang = _lang(m, lang)
    text = _TEXT[lang]
    disp = _display(admin, datum=_state(m)["datum"], simplify_m=simplify_m)
    rows = disp.rows
    ids = [_id_text(v) for v in admin.index[rows]]
    fields = _fields(admin, "admin", _FIELDS["admin"], lang, rows)
    levels = _codes(admin, "level", "admin_level", rows)
    names = ([_id_text(n) or None for n in admin["name"].to_numpy()[rows]]
             if "name" in admin.columns else [None] * len(ids))
    known = list(_ADMIN_WEIGHT)
    used = sorted(set(levels), key=lambda lv: known.index(lv) if lv in known else 99)
    style_of = {lv: i for i, lv in enumerate(used)}
    styles = [{"color": "#6a1b9a", "weight": _ADMIN_WEIGHT.get(lv, 1.5), "opacity": 0.8,
               "dashArray": "8 5", "fill": False} for lv in used]
    features = _features(disp, ids, fields, [style_of[lv] for lv in levels],
                         [{"n": nm} for nm in names])
    spec = _spec("admin", lang, fields, disp, styles=styles, hover={"opacity": 1},
                 id_label=schema.label("admin", "admin_code", lang))
    legend = {
        "title": text["admin"],
        "items": [{"shape": "line", "color": "#6a1b9a", "weight": _ADMIN_WEIGHT.get(lv, 1.5),
                   "dash": True,
                   "label": schema.value_label("admin_level", lv, lang) if lv else text["admin"]}
                  for lv in used],
    }
    return _add(m, spec, features, name=name or text["admin"], show=show, disp=disp,
                legend=legend)


# --------------------------------------------------------------------------------------
# basemaps
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Basemap:
    datum: str
    layers: tuple[Callable[[], _TileLayer], ...]
    note: str | None = None


def _resolve_basemap(basemap, *, tianditu_key, attr, lang) -> _Basemap:
    text = _TEXT[lang]
    if basemap is None or basemap == "none":
        return _Basemap("wgs84", ())
    if isinstance(basemap, xyzservices.TileProvider):
        provider = basemap
        return _Basemap("wgs84", (lambda: _TileLayer(provider, attr=attr),))
    if not isinstance(basemap, str):
        raise ConfigError(
            f"`basemap` must be one of {', '.join(map(repr, BASEMAPS))}, an XYZ URL template "
            f"or an xyzservices.TileProvider, got {type(basemap).__name__}."
        )
    if basemap == "tianditu":
        key = (tianditu_key or "").strip()
        if not key:
            raise ConfigError(
                "basemap='tianditu' needs `tianditu_key`: a browser-side key (浏览器端 Key) "
                "from the Tianditu developer console, https://console.tianditu.gov.cn/ "
                "(注册 → 应用管理 → 创建新应用). The key is written into the HTML."
            )
        if not key.isascii() or not key.isalnum() or len(key) > 64:
            raise ConfigError(
                f"`tianditu_key` should be the 32-character key from the Tianditu console, "
                f"got {len(key)} characters with non-alphanumeric ones."
            )

        def _vec():
            return _TileLayer(
                _TIANDITU_URL.format(layer="vec", key=key), html_attr=_TIANDITU_ATTR,
                name=text["tianditu_vec"], subdomains="01234567", max_zoom=20,
                max_native_zoom=18, overlay=False)

        def _cva():
            return _TileLayer(
                _TIANDITU_URL.format(layer="cva", key=key), html_attr=_TIANDITU_ATTR,
                name=text["tianditu_cva"], subdomains="01234567", max_zoom=20,
                max_native_zoom=18, overlay=True)

        return _Basemap("wgs84", (_vec, _cva))
    if basemap == "gaode":
        return _Basemap(
            "gcj02",
            (lambda: _TileLayer(xyzservices.providers.Gaode.Normal, name=text["gaode"],
                                max_zoom=20, max_native_zoom=19),),
            note=text["gcj_note"],
        )
    if basemap == "osm":
        return _Basemap(
            "wgs84",
            (lambda: _TileLayer("OpenStreetMap", name=text["osm"], max_zoom=20,
                                max_native_zoom=19),),
        )
    if all(token in basemap for token in ("{z}", "{x}", "{y}")):
        if not attr:
            raise ConfigError(
                "a custom tile URL needs `attr=`: the attribution shown on the map, e.g. "
                "attr='市规划院内网底图'."
            )
        url = basemap
        return _Basemap("wgs84", (lambda: _TileLayer(url, attr=attr, name=text["custom"],
                                                     max_zoom=20),))
    raise ConfigError(
        f"`basemap` must be one of {', '.join(map(repr, BASEMAPS))} or an XYZ URL template "
        f"containing {{z}}, {{x}} and {{y}} (with `attr=`), got {basemap!r}."
    )


def _set_datum(m: folium.Map, datum: str) -> None:
    st = _state(m)
    if st["datum"] != datum and st["n_layers"]:
        raise ConfigError(
            f"this map already has {st['n_layers']} spatialreno layer(s) drawn in "
            f"{st['datum'].upper()}; add a {datum.upper()} basemap (basemap='gaode') before "
            "adding layers, or start a new map."
        )
    st["datum"] = datum


def _add_tiles(m: folium.Map, bm: _Basemap) -> None:
    for make in bm.layers:
        make().add_to(m)
    if bm.note:
        _state(m)["note"] = bm.note
        if "spatialreno_setup" not in m._children:  # a plain folium.Map: show the note too
            m.add_child(_Setup(scale=False), name="spatialreno_setup")


def add_basemap(
    m: folium.Map,
    basemap: str = "none",
    *,
    tianditu_key: str | None = None,
    attr: str | None = None,
    lang: str | None = None,
) -> folium.Map:
    """Add a basemap to ``m``; see :func:`explore_packages` for ``basemap``. For
    ``"gaode"`` call it before adding layers: later layers are then shifted to GCJ-02.
    Returns ``m``."""
    lang = _lang(m, lang)
    bm = _resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    _set_datum(m, bm.datum)
    _add_tiles(m, bm)
    return m


# --------------------------------------------------------------------------------------
# the map
# --------------------------------------------------------------------------------------
def _view(bounds) -> tuple[list[float], int]:
    (s, w), (n, e) = bounds
    centre = [(s + n) / 2.0, (w + e) / 2.0]
    lat = math.radians(centre[0])
    span = max(e - w, (n - s) / max(math.cos(lat), 0.1), 1e-6)
    zoom = int(math.floor(math.log2(800.0 * 360.0 / (256.0 * span))))
    return centre, max(3, min(zoom, 18))


def review_map(
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    attr: str | None = None,
    lang: str = "zh",
    title: str | None = None,
    location: Sequence[float] | None = None,
    zoom_start: int = 13,
    **map_kwds,
) -> ReviewMap:
    """An empty offline :class:`ReviewMap` with a scale bar and, optionally, a basemap.

    Add layers with the ``add_*_layer`` helpers, then ``folium.LayerControl().add_to(m)``
    (it is rendered last in any case) and ``m.fit_bounds(m.get_bounds())``.
    """
    _check_lang(lang)
    bm = _resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    m = ReviewMap(location=location, zoom_start=zoom_start, lang=lang, title=title, **map_kwds)
    _set_datum(m, bm.datum)
    _add_tiles(m, bm)
    return m


def _packages_from_labels(compounds: gpd.GeoDataFrame, labels: pd.Series) -> gpd.GeoDataFrame:
    """Package polygons and totals for the labelled compounds (the unlabelled ones are
    drawn on the map as 'not in a package')."""
    if not isinstance(labels, pd.Series):
        raise DataError("`labels` must be a pandas Series of package_id indexed by "
                        "compound_id.")
    lab = labels.reindex(compounds.index)
    if len(labels) and len(compounds) and lab.isna().all():
        raise DataError(
            "`labels` shares no index value with `compounds`; it must be indexed by "
            f"compound_id (e.g. {compounds.index[0]!r}), got e.g. {labels.index[0]!r}."
        )
    if importlib.util.find_spec(f"{__package__}.packages") is not None:
        from .packages import dissolve_packages

        keep = lab.notna().to_numpy()
        return dissolve_packages(compounds.loc[keep], lab[keep])
    # the packages stage is not installed: a plain dissolve with the additive sums
    frame = compounds.loc[lab.notna()].copy()
    frame[schema.PACKAGE_ID] = lab[lab.notna()]
    sums = [c for c in schema.additive_columns("compounds")
            if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])]
    out = frame[[schema.PACKAGE_ID, *sums, frame.geometry.name]].dissolve(
        by=schema.PACKAGE_ID, aggfunc="sum")
    out.insert(0, "n_compounds", frame.groupby(schema.PACKAGE_ID).size())
    return out


def explore_packages(
    compounds: gpd.GeoDataFrame,
    packages: gpd.GeoDataFrame | None = None,
    *,
    labels: pd.Series | None = None,
    illegal: gpd.GeoDataFrame | None = None,
    gas: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    admin: gpd.GeoDataFrame | None = None,
    basemap: str = "none",
    tianditu_key: str | None = None,
    attr: str | None = None,
    lang: str = "zh",
    title: str | None = None,
    simplify_m: float = 0.5,
    gap_m: float = 10.0,
    m: folium.Map | None = None,
) -> folium.Map:
    """One offline review map of a package plan and its overlays.

    Parameters
    ----------
    compounds : GeoDataFrame
        Indexed by ``compound_id``, any CRS (projected in metres is expected).
    packages : GeoDataFrame, optional
        Indexed by ``package_id``; dissolved from ``labels`` (or a ``package_id`` column)
        with :func:`spatialreno.dissolve_packages` when omitted.
    labels : Series, optional
        ``package_id`` per ``compound_id``.
    illegal, gas, barriers, admin : GeoDataFrame, optional
        Overlay layers; each becomes a toggled layer with its legend section.
    basemap : {"none", "tianditu", "gaode", "osm"} or str, default "none"
        ``"none"``: no tiles, the HTML requests nothing. ``"tianditu"``: 天地图 vector and
        Chinese labels (``vec_w`` + ``cva_w``, subdomains 0–7), needs ``tianditu_key``.
        ``"gaode"``: 高德 tiles (GCJ-02); every layer is shifted to GCJ-02 for display and
        the map says so. ``"osm"``: OpenStreetMap. An XYZ URL template with ``{z}``,
        ``{x}``, ``{y}`` (an intranet tile service) needs ``attr``. An
        ``xyzservices.TileProvider`` is accepted as well.
    tianditu_key : str, optional
        Browser-side Tianditu key; it ends up in the HTML.
    attr : str, optional
        Attribution for a custom tile URL, shown as the literal text given (it is not
        HTML: ``<a>`` or ``&copy;`` appear as typed).
    lang : {"zh", "en"}, default "zh"
        Language of labels, legend, popups and the search box.
    title : str, optional
        Page title (default 老旧小区改造片区审查图), literal text.
    simplify_m : float, default 0.5
        Display simplification tolerance in metres (0: none).
    gap_m : float, default 10.0
        Packages closer than this count as neighbours for colouring.
    m : folium.Map, optional
        Add to this map instead of a new :class:`ReviewMap`.

    Returns
    -------
    folium.Map
        A :class:`ReviewMap` unless ``m`` was given; save it with :func:`save_map`.

    Raises
    ------
    ConfigError
        Unknown ``basemap`` or ``lang``; ``"tianditu"`` without ``tianditu_key``; a
        custom URL without ``attr``.
    CRSError, DataError
        A layer without CRS or not a GeoDataFrame; ``labels`` not indexed by compound_id.
    """
    _check_lang(lang)
    bm = _resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    compounds = _require_layer(compounds, "compounds")
    if labels is None and packages is None and schema.PACKAGE_ID in compounds.columns:
        labels = compounds[schema.PACKAGE_ID]
    if packages is None and labels is not None:
        packages = _packages_from_labels(compounds, labels)
    new_map = m is None
    if m is None:
        location, zoom = None, 13
        if len(compounds):
            w, s, e, n = compounds.geometry.to_crs(4326).total_bounds
            if np.all(np.isfinite([w, s, e, n])):
                if bm.datum == "gcj02":
                    (w, e), (s, n) = wgs84_to_gcj02([w, e], [s, n])
                location, zoom = _view([[s, w], [n, e]])
        m = ReviewMap(location=location, zoom_start=zoom, lang=lang, title=title)
    _set_datum(m, bm.datum)

    if packages is not None:
        add_packages_layer(m, packages, gap_m=gap_m, lang=lang, simplify_m=simplify_m)
    add_compounds_layer(m, compounds, labels=labels, packages=packages, lang=lang,
                        simplify_m=simplify_m)
    if illegal is not None:
        add_illegal_layer(m, illegal, lang=lang)
    if gas is not None:
        add_gas_layer(m, gas, lang=lang, simplify_m=simplify_m)
    if barriers is not None:
        add_barriers_layer(m, barriers, lang=lang, simplify_m=simplify_m)
    if admin is not None:
        add_admin_layer(m, admin, lang=lang, simplify_m=max(simplify_m, 1.0))

    bounds = _state(m)["bounds"]
    if bounds is not None:
        m.add_child(_Fit(bounds), name="spatialreno_fit")
    _add_tiles(m, bm)  # after the fit, so tiles load once, at the final view
    if new_map or not any(isinstance(c, folium.LayerControl) for c in m._children.values()):
        folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------
def save_map(m: folium.Map | Figure, path: str | os.PathLike) -> Path:
    """Write the map's HTML (UTF-8) atomically: to a temporary file in the same folder,
    then ``os.replace`` onto ``path``, so a reader never sees half a file.

    Returns the path written.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"cannot write the map to {str(path)!r}: folder {str(parent)!r} does "
                          "not exist; create it first.")
    data = m.get_root().render().encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    log.info("map: wrote %s (%d bytes)", path, len(data))
    return path
