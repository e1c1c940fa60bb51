"""The map options a caller may pass on (``review_map(**map_kwds)``, ``ReviewMap(...)``).

folium writes map options into its page template, so nothing the caller passes reaches it
unchecked: only the keys in :data:`MAP_OPTIONS` are accepted, each with a value of the
kind it names (a number, a switch, a CSS size, one of a few words). Anything else is a
:class:`~spatialreno.errors.ConfigError` that lists the problems and the accepted keys.

>>> from spatialreno.maps.options import check_map_options
>>> check_map_options({"height": "600px", "min_zoom": 10})
{'height': '600px', 'min_zoom': 10}
>>> check_map_options({"tiles": "https://x/{z}/{x}/{y}.png"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spatialreno.errors.ConfigError: map option 'tiles' is not accepted: add tiles with `basemap=` ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from numbers import Real

from ..errors import ConfigError

__all__ = ["MAP_OPTIONS", "check_map_options"]

_CSS_SIZE = re.compile(r"\d+(\.\d+)?(px|%)")
_FONT_SIZE = re.compile(r"\d+(\.\d+)?(px|em|rem|%)")
#: deepest zoom Leaflet tile services offer
_ZOOM_LIMIT = 24
_POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")


def _switch(value) -> bool:
    return isinstance(value, bool)


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _zoom(value) -> bool:
    return value is None or (_number(value) and 0 <= value <= _ZOOM_LIMIT)


def _size(value) -> bool:
    return _number(value) or (isinstance(value, str) and _CSS_SIZE.fullmatch(value) is not None)


def _one_of(*words) -> Callable[[object], bool]:
    def check(value) -> bool:
        return isinstance(value, str) and value in words

    return check


def _zoom_control(value) -> bool:
    return _switch(value) or (isinstance(value, str) and value in _POSITIONS)


def _font_size(value) -> bool:
    return isinstance(value, str) and _FONT_SIZE.fullmatch(value) is not None


#: accepted map option → (check of its value, what the value must be)
MAP_OPTIONS: dict[str, tuple[Callable[[object], bool], str]] = {
    "width": (_size, "a number of px or a CSS size like '100%' or '600px'"),
    "height": (_size, "a number of px or a CSS size like '100%' or '600px'"),
    "left": (_size, "a CSS size like '0%'"),
    "top": (_size, "a CSS size like '0%'"),
    "position": (_one_of("relative", "absolute"), "'relative' or 'absolute'"),
    "min_zoom": (_zoom, f"a zoom level 0-{_ZOOM_LIMIT}"),
    "max_zoom": (_zoom, f"a zoom level 0-{_ZOOM_LIMIT}"),
    "zoom_snap": (_number, "a number"),
    "zoom_delta": (_number, "a number"),
    "min_lat": (_number, "a latitude"),
    "max_lat": (_number, "a latitude"),
    "min_lon": (_number, "a longitude"),
    "max_lon": (_number, "a longitude"),
    "max_bounds": (_switch, "True or False"),
    "crs": (_one_of("EPSG3857", "EPSG4326", "EPSG3395", "Simple"),
            "'EPSG3857', 'EPSG4326', 'EPSG3395' or 'Simple'"),
    "control_scale": (_switch, "True or False"),
    "prefer_canvas": (_switch, "True or False"),
    "no_touch": (_switch, "True or False"),
    "disable_3d": (_switch, "True or False"),
    "png_enabled": (_switch, "True or False"),
    "zoom_control": (_zoom_control, f"True, False or one of {', '.join(_POSITIONS)}"),
    "font_size": (_font_size, "a CSS font size like '1rem' or '13px'"),
    "scroll_wheel_zoom": (_switch, "True or False"),
    "double_click_zoom": (_switch, "True or False"),
    "box_zoom": (_switch, "True or False"),
    "touch_zoom": (_switch, "True or False"),
    "keyboard": (_switch, "True or False"),
    "dragging": (_switch, "True or False"),
    "world_copy_jump": (_switch, "True or False"),
    "attribution_control": (_switch, "True or False"),
}

#: options with a spatialreno way to set them instead
_ELSEWHERE = {
    "tiles": "add tiles with `basemap=` (and `attr=`)",
    "attr": "give the attribution of a custom basemap as `attr=`",
    "location": "give `location=` (it is an argument of its own)",
}


def _problem(key: str, value) -> str | None:
    if key in _ELSEWHERE:
        return f"map option {key!r} is not accepted: {_ELSEWHERE[key]}."
    if key not in MAP_OPTIONS:
        return f"unknown map option {key!r}."
    check, want = MAP_OPTIONS[key]
    if not check(value):
        return f"map option {key!r} must be {want}, got {value!r}."
    return None


def check_map_options(options: Mapping[str, object] | None) -> dict:
    """A copy of ``options`` when every key is accepted and every value of its kind;
    else one :class:`ConfigError` listing every problem."""
    options = dict(options or {})
    problems = [p for p in (_problem(k, v) for k, v in options.items()) if p]
    if not problems:
        return options
    accepted = f"Accepted map options: {', '.join(MAP_OPTIONS)}."
    if len(problems) == 1:
        raise ConfigError(f"{problems[0]} {accepted}")
    lines = "\n".join(f"  - {p}" for p in problems)
    raise ConfigError(f"{len(problems)} map option problems:\n{lines}\n{accepted}")
