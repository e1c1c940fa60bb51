"""Scripts and styles that a saved map inlines, so it requests nothing from the network.

Two sources only:

* Leaflet 1.9.4 (BSD-2), read at run time from the installed ``django-js-lib-leaflet``
  package (importable as ``js_lib_leaflet``); its CSS images (layer-control icon, default
  marker) are turned into ``data:`` URIs and the source-map comment is dropped.
* the map's own runtime, ``static/runtime.js`` and ``static/runtime.css`` in this package
  (shipped as package data, read with :mod:`importlib.resources`): layers from compact
  GeoJSON, tooltips, popups, labels, the search box and the legend. It builds every piece
  of text with ``textContent``, never ``innerHTML``, so attribute values are shown as text.

>>> from spatialreno.maps.assets import runtime_js, runtime_css
>>> runtime_js().startswith("(function () {") and ".sr-legend" in runtime_css()
True
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from importlib import resources

__all__ = ["leaflet_js", "leaflet_css", "icon_default_js", "runtime_js", "runtime_css"]

LEAFLET_VERSION = "1.9.4"


def _leaflet_dir():
    try:
        return resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    except ModuleNotFoundError as exc:  # pragma: no cover - it is a hard dependency
        raise ModuleNotFoundError(
            "spatialreno.maps needs Leaflet from the 'django-js-lib-leaflet' package "
            "(pip install django-js-lib-leaflet); it is listed in spatialreno's dependencies."
        ) from exc


def _png_data_uri(name: str) -> str:
    data = (_leaflet_dir() / "images" / name).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified JS, without its ``sourceMappingURL`` comment."""
    text = (_leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")
    text = re.sub(r"\n?//# sourceMappingURL=\S*\s*$", "\n", text)
    if f'version="{LEAFLET_VERSION}"' not in text:  # pragma: no cover - packaging guard
        raise RuntimeError(f"js_lib_leaflet does not ship Leaflet {LEAFLET_VERSION}")
    if re.search(r"</script|<!--", text, re.I):  # pragma: no cover - would break inlining
        raise RuntimeError("leaflet.js contains a sequence that cannot be inlined")
    return text


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's CSS with its images inlined as ``data:`` URIs and the IE-only VML
    ``behavior: url(#default#VML)`` rule removed."""
    text = (_leaflet_dir() / "leaflet.css").read_text(encoding="utf-8")
    text = re.sub(r"\s*behavior:\s*url\(#default#VML\);", "", text)

    def _inline(match: re.Match) -> str:
        return f'url("{_png_data_uri(match.group(1))}")'

    text = re.sub(r"url\(images/([\w.-]+\.png)\)", _inline, text)
    if re.search(r"url\((?!\"data:)", text):  # pragma: no cover - packaging guard
        raise RuntimeError("leaflet.css still refers to an external url()")
    return text


@lru_cache(maxsize=1)
def icon_default_js() -> str:
    """Point ``L.Icon.Default`` (folium's plain markers) at inlined images, so a marker a
    user adds to the map does not request ``marker-icon.png`` either."""
    return (
        'L.Icon.Default.imagePath="";L.Icon.Default.mergeOptions({'
        f'iconUrl:"{_png_data_uri("marker-icon.png")}",'
        f'iconRetinaUrl:"{_png_data_uri("marker-icon-2x.png")}",'
        f'shadowUrl:"{_png_data_uri("marker-shadow.png")}"}});'
    )


def _static_text(name: str) -> str:
    text = (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")
    if re.search(r"</script|</style|<!--", text, re.I):  # pragma: no cover - packaging guard
        raise RuntimeError(f"static/{name} contains a sequence that cannot be inlined")
    return text


@lru_cache(maxsize=1)
def runtime_js() -> str:
    """The map's own script (``static/runtime.js``)."""
    return _static_text("runtime.js")


@lru_cache(maxsize=1)
def runtime_css() -> str:
    """The map's own styles (``static/runtime.css``)."""
    return _static_text("runtime.css")
