"""Text that reaches the page: JSON safe inside ``<script>``, HTML text safe from templates.

No template engine ever sees data (see :mod:`spatialreno.maps`): values travel as JSON in
a script, with the characters that could end the script or open a comment escaped, and
the few strings folium inserts as HTML (title, layer names, attributions) are entities.

>>> from spatialreno.maps.escape import html_text, script_json
>>> script_json({"a": "</script>"})
'{"a":"\\\\u003c/script\\\\u003e"}'
>>> html_text("{{ 7*7 }}<b>")
'&#123;&#123; 7*7 &#125;&#125;&lt;b&gt;'
"""

from __future__ import annotations

import html
import json
from typing import Any

from folium.utilities import camelize

__all__ = ["script_json", "escape_script_text", "html_text", "js_options"]

# characters that could close a <script>, open a comment or break a JS string literal
_SCRIPT_ESCAPES = (
    ("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
    ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
)
# after html.escape: Jinja2 delimiters and the JS line separators as entities
_HTML_ESCAPES = (("{", "&#123;"), ("}", "&#125;"), ("\u2028", "&#8232;"), ("\u2029", "&#8233;"))


def escape_script_text(text: str) -> str:
    """``text`` with ``<``, ``>``, ``&`` and U+2028/U+2029 as ``\\u`` escapes."""
    for char, escaped in _SCRIPT_ESCAPES:
        text = text.replace(char, escaped)
    return text


def script_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: ``<``, ``>``, ``&`` and the JS line separators are
    escaped, so no string value can close the script or open a comment."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return escape_script_text(text)


def html_text(text) -> str:
    """``text`` as HTML that shows it literally: ``<``, ``>``, ``&`` and quotes become
    entities, and so do ``{`` and ``}`` (no Jinja2 syntax is possible without them) and
    U+2028/U+2029. For the page title, the tile attribution and layer names: Leaflet
    inserts attributions and layer-control names as HTML, and folium's ``LayerControl``
    script is parsed as a Jinja2 template once more."""
    out = html.escape(str(text), quote=True)
    for char, entity in _HTML_ESCAPES:
        out = out.replace(char, entity)
    return out


def js_options(options: dict) -> str:
    """A Leaflet options object as script text (JSON values, escaped for ``<script>``)."""
    items = "".join(
        f"  {json.dumps(camelize(k))}: {escape_script_text(json.dumps(v, allow_nan=False))},\n"
        for k, v in options.items()
    )
    return "{\n" + items + "}"
