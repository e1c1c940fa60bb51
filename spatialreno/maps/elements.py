"""The folium/branca elements of a review map, each writing its script verbatim.

folium's ``MacroElement`` renders its macro and then wraps the result in a new
``Element``, which branca parses as a Jinja2 template once more, so any ``{{ }}`` or
``{% %}`` in embedded data would run. The elements here (setup and note, legend, data
layers, the initial fit, tile layers) never go through a template: they write their
script in Python and add it to the page as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
from branca.element import Element, Figure
from folium.utilities import camelize

from ..errors import DataError
from . import assets
from .escape import html_text, js_options, script_json
from .options import check_map_options
from .text import TEXT, check_lang

__all__ = ["MapState", "state", "ReviewMap", "DataLayer", "TileLayer", "Fit", "Setup",
           "register"]

#: order of the legend's sections (layer kinds)
LEGEND_ORDER = ("packages", "compounds", "illegal", "gas", "barriers", "admin")
#: the view a new ReviewMap allows: zoom up to street level, fit the data closely (labels
#: still switch at whole zooms)
_DEFAULT_OPTIONS = {"tiles": None, "maxZoom": 20, "zoomSnap": 0.25}
#: the initial fit: padding in px and the closest zoom
_FIT_PADDING_PX = 16
_FIT_MAX_ZOOM = 18


@dataclass
class MapState:
    """spatialreno's bookkeeping on a map (works on plain folium maps as well)."""

    lang: str = "zh"
    datum: str = "wgs84"
    legend: dict = field(default_factory=dict)
    bounds: list | None = None
    n_layers: int = 0
    note: str | None = None
    legend_added: bool = False


def state(m: folium.Map) -> MapState:
    """The :class:`MapState` of ``m``, created on first use."""
    st = getattr(m, "_spatialreno", None)
    if st is None:
        st = MapState()
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


def _figure(element: Element) -> Figure:
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise DataError("a spatialreno layer can only be rendered inside a folium Map/Figure")
    return figure


def add_script(element: Element, text: str) -> None:
    """Add ``text`` to the page's script verbatim, keyed by ``element`` (rendering twice
    replaces it)."""
    _figure(element).script.add_child(_Raw(text), name=element.get_name())


def add_runtime(element: Element) -> None:
    """Put the map's own CSS and JS in the page header, once."""
    figure = _figure(element)
    if "spatialreno_runtime" not in figure.header._children:
        figure.header.add_child(
            _Raw(f"<style>\n{assets.runtime_css()}</style>\n"
                 f"<script>\n{assets.runtime_js()}</script>\n"),
            name="spatialreno_runtime",
        )


def _add_leaflet(figure: Figure) -> None:
    figure.header.add_child(
        _Raw(
            f"<style>{assets.leaflet_css()}</style>\n"
            f"<script>{assets.leaflet_js()}</script>\n"
            f"<script>{assets.icon_default_js()}</script>\n"
        ),
        name="spatialreno_leaflet",
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

    Further keywords are map options (size, zoom limits, interaction switches), checked
    against :data:`spatialreno.maps.options.MAP_OPTIONS`: an unknown key or a value of the
    wrong kind is a :class:`~spatialreno.errors.ConfigError`, never passed to folium's
    template. Any :class:`folium.LayerControl` is rendered after all layers whatever the
    order they were added in.
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
        **map_kwds,
    ):
        check_lang(lang)
        options = check_map_options(map_kwds)
        given = {camelize(k) for k in options}
        options.update({k: v for k, v in _DEFAULT_OPTIONS.items() if camelize(k) not in given})
        super().__init__(location=location, zoom_start=zoom_start, **options)
        state(self).lang = lang
        # the Figure's template inserts the title as a value (never parsed again)
        self.get_root().title = html_text(title if title is not None else TEXT[lang]["title"])
        self.add_child(Setup(scale=scale), name="spatialreno_setup")

    def render(self, **kwargs):
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise DataError("a ReviewMap can only be rendered inside a branca Figure")
        _add_leaflet(figure)
        add_runtime(figure)
        for key in [k for k, c in self._children.items() if isinstance(c, folium.LayerControl)]:
            self._children.move_to_end(key)
        super().render(**kwargs)


class _ScriptElement(Element):
    """An element whose script spatialreno writes in Python and adds verbatim."""

    def script(self) -> str:  # pragma: no cover - overridden
        return ""

    def render(self, **kwargs):
        add_runtime(self)
        text = self.script()
        if text:
            add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class Setup(_ScriptElement):
    """Scale bar, the 'no basemap' background and the datum note."""

    def __init__(self, scale: bool = True):
        super().__init__()
        self._name = "SpatialRenoSetup"
        self.scale = scale

    def options(self) -> str:
        tiles = any(isinstance(c, folium.TileLayer) for c in self._parent._children.values())
        return script_json({"scale": self.scale, "nobasemap": not tiles})

    def note(self) -> str:
        text = state(self._parent).note
        return script_json(text) if text else ""

    def script(self) -> str:
        parent = self._parent.get_name()
        out = f"spatialreno.setup({parent}, {self.options()});\n"
        if self.note():
            out += f'spatialreno.note({parent}, {self.note()}, "bottomleft");\n'
        return out


class _Legend(_ScriptElement):
    def __init__(self):
        super().__init__()
        self._name = "SpatialRenoLegend"

    def payload(self) -> str:
        st = state(self._parent)
        sections = [st.legend[k] for k in LEGEND_ORDER if k in st.legend]
        if not sections:
            return ""
        return script_json({"title": TEXT[st.lang]["legend"], "sections": sections})

    def script(self) -> str:
        payload = self.payload()
        if not payload:
            return ""
        return f"spatialreno.legend({self._parent.get_name()}, {payload});\n"


class DataLayer(folium.map.Layer):
    """One spatialreno layer: compact GeoJSON plus display spec, drawn by the runtime.

    A folium ``Layer`` (so ``LayerControl`` and ``get_bounds`` see it) whose script is
    written verbatim instead of through a template."""

    def __init__(self, payload: str, *, kind: str, name: str, show: bool, bounds, n: int):
        super().__init__(name=html_text(name), overlay=True, control=True, show=show)
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
        add_runtime(self)
        name, parent = self.get_name(), self._parent.get_name()
        text = f"var {name} = spatialreno.layer({parent}, {self.payload});\n"
        if self.show:
            text += f"{name}.addTo({parent});\n"
        add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class TileLayer(folium.TileLayer):
    """A :class:`folium.TileLayer` whose script is written verbatim (the URL and the
    attribution never reach a template). ``attr`` is the user's text and is shown
    literally (Leaflet inserts attributions as HTML, so it is escaped); ``html_attr`` is
    our own or xyzservices' attribution markup, used as is."""

    def __init__(self, tiles, *, attr: str | None = None, html_attr: str | None = None,
                 **kwargs):
        if attr is not None:
            attr = html_text(attr)
        super().__init__(tiles, attr=attr or html_attr, **kwargs)
        self.layer_name = html_text(self.tile_name)

    def render(self, **kwargs):
        name, parent = self.get_name(), self._parent.get_name()
        text = (f"var {name} = L.tileLayer(\n{script_json(self.tiles)},\n"
                f"{js_options(self.options)}\n);\n")
        if self.show:
            text += f"{name}.addTo({parent});\n"
        add_script(self, text)
        for child in self._children.values():
            child.render(**kwargs)


class Fit(_ScriptElement):
    """Fit the view to the data at once (no zoom animation on opening)."""

    def __init__(self, bounds):
        super().__init__()
        self._name = "SpatialRenoFit"
        self.bounds = [[float(v) for v in corner] for corner in bounds]

    def script(self) -> str:
        pad = _FIT_PADDING_PX
        return (f"{self._parent.get_name()}.fitBounds({json.dumps(self.bounds, allow_nan=False)},"
                f"\n    {{padding: [{pad}, {pad}], maxZoom: {_FIT_MAX_ZOOM}, animate: false}});\n")


def _union(a: list | None, b: list) -> list:
    if a is None:
        return [list(b[0]), list(b[1])]
    (s0, w0), (n0, e0) = a
    (s, w), (n, e) = b
    return [[min(s, s0), min(w, w0)], [max(n, n0), max(e, e0)]]


def register(m: folium.Map, layer: DataLayer, legend: dict | None) -> None:
    """Add ``layer`` to ``m`` with its legend section, and grow the map's data bounds."""
    st = state(m)
    if not st.legend_added:
        m.add_child(_Legend(), name="spatialreno_legend")
        st.legend_added = True
    m.add_child(layer)
    st.n_layers += 1
    if legend is not None:
        st.legend[layer.kind] = legend
    if layer.bounds is not None:
        st.bounds = _union(st.bounds, layer.bounds)
