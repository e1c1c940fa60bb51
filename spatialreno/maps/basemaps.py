"""Basemaps: 天地图 Tianditu, 高德 Gaode (GCJ-02), OpenStreetMap, an intranet XYZ service.

A basemap decides the datum the overlays are drawn in: Gaode's tiles are in GCJ-02, so
with ``basemap="gaode"`` every later layer is shifted from WGS84/CGCS2000 to GCJ-02 for
display, and the map carries a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import folium
import xyzservices

from ..errors import ConfigError
from .elements import Setup, TileLayer, state
from .text import TEXT, check_lang

__all__ = ["BASEMAPS", "Basemap", "resolve_basemap", "set_datum", "add_tiles", "add_basemap"]

#: Named basemaps; any XYZ URL template with {z}, {x} and {y} is accepted as well.
BASEMAPS: tuple[str, ...] = ("none", "tianditu", "gaode", "osm")

_TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/DataServer?T={layer}_w&x={{x}}&y={{y}}&l={{z}}&tk={key}"
)
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'
_TIANDITU_SUBDOMAINS = "01234567"
_TIANDITU_NATIVE_ZOOM = 18
_MAX_KEY_CHARS = 64
#: the deepest zoom the map offers over any basemap; tiles are scaled up past their own
_MAX_ZOOM = 20
_OSM_NATIVE_ZOOM = _GAODE_NATIVE_ZOOM = 19
_XYZ_TOKENS = ("{z}", "{x}", "{y}")


@dataclass(frozen=True)
class Basemap:
    """The datum overlays are drawn in, the tile layers (made when added) and a note."""

    datum: str
    layers: tuple[Callable[[], TileLayer], ...] = ()
    note: str | None = None


def _tianditu_key(tianditu_key: str | None) -> str:
    key = (tianditu_key or "").strip()
    if not key:
        raise ConfigError(
            "basemap='tianditu' needs `tianditu_key`: a browser-side key (浏览器端 Key) "
            "from the Tianditu developer console, https://console.tianditu.gov.cn/ "
            "(注册 → 应用管理 → 创建新应用). The key is written into the HTML."
        )
    if not key.isascii() or not key.isalnum() or len(key) > _MAX_KEY_CHARS:
        raise ConfigError(
            f"`tianditu_key` should be the 32-character key from the Tianditu console, "
            f"got {len(key)} characters with non-alphanumeric ones."
        )
    return key


def _tianditu(tianditu_key: str | None, text: dict) -> Basemap:
    key = _tianditu_key(tianditu_key)

    def layer(kind: str, *, overlay: bool) -> Callable[[], TileLayer]:
        return lambda: TileLayer(
            _TIANDITU_URL.format(layer=kind, key=key), html_attr=_TIANDITU_ATTR,
            name=text[f"tianditu_{kind}"], subdomains=_TIANDITU_SUBDOMAINS, max_zoom=_MAX_ZOOM,
            max_native_zoom=_TIANDITU_NATIVE_ZOOM, overlay=overlay)

    return Basemap("wgs84", (layer("vec", overlay=False), layer("cva", overlay=True)))


def _gaode(text: dict) -> Basemap:
    return Basemap(
        "gcj02",
        (lambda: TileLayer(xyzservices.providers.Gaode.Normal, name=text["gaode"],
                           max_zoom=_MAX_ZOOM, max_native_zoom=_GAODE_NATIVE_ZOOM),),
        note=text["gcj_note"],
    )


def _osm(text: dict) -> Basemap:
    return Basemap("wgs84", (lambda: TileLayer("OpenStreetMap", name=text["osm"],
                                               max_zoom=_MAX_ZOOM,
                                               max_native_zoom=_OSM_NATIVE_ZOOM),))


def _custom(url: str, attr: str | None, text: dict) -> Basemap:
    if not attr:
        raise ConfigError(
            "a custom tile URL needs `attr=`: the attribution shown on the map, e.g. "
            "attr='市规划院内网底图'."
        )
    return Basemap("wgs84", (lambda: TileLayer(url, attr=attr, name=text["custom"],
                                               max_zoom=_MAX_ZOOM),))


def _choices() -> str:
    return ", ".join(map(repr, BASEMAPS))


def resolve_basemap(basemap, *, tianditu_key=None, attr=None, lang="zh") -> Basemap:
    """The :class:`Basemap` that ``basemap`` names (see :func:`explore_packages`)."""
    text = TEXT[check_lang(lang)]
    if basemap is None or basemap == "none":
        return Basemap("wgs84")
    if isinstance(basemap, xyzservices.TileProvider):
        return Basemap("wgs84", (lambda: TileLayer(basemap, attr=attr),))
    if not isinstance(basemap, str):
        raise ConfigError(
            f"`basemap` must be one of {_choices()}, an XYZ URL template "
            f"or an xyzservices.TileProvider, got {type(basemap).__name__}."
        )
    named = {"tianditu": lambda: _tianditu(tianditu_key, text), "gaode": lambda: _gaode(text),
             "osm": lambda: _osm(text)}
    if basemap in named:
        return named[basemap]()
    if all(token in basemap for token in _XYZ_TOKENS):
        return _custom(basemap, attr, text)
    raise ConfigError(
        f"`basemap` must be one of {_choices()} or an XYZ URL template "
        f"containing {{z}}, {{x}} and {{y}} (with `attr=`), got {basemap!r}."
    )


def set_datum(m: folium.Map, datum: str) -> None:
    """Draw ``m``'s later layers in ``datum``; refused once layers are drawn in another."""
    st = state(m)
    if st.datum != datum and st.n_layers:
        raise ConfigError(
            f"this map already has {st.n_layers} spatialreno layer(s) drawn in "
            f"{st.datum.upper()}; add a {datum.upper()} basemap (basemap='gaode') before "
            "adding layers, or start a new map."
        )
    st.datum = datum


def add_tiles(m: folium.Map, basemap: Basemap) -> None:
    """Add the basemap's tile layers and its note to ``m``."""
    for make in basemap.layers:
        make().add_to(m)
    if basemap.note:
        state(m).note = basemap.note
        if "spatialreno_setup" not in m._children:  # a plain folium.Map: show the note too
            m.add_child(Setup(scale=False), name="spatialreno_setup")


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
    lang = check_lang(lang) if lang is not None else state(m).lang
    bm = resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    set_datum(m, bm.datum)
    add_tiles(m, bm)
    return m
