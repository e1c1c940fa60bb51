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
  ``data:`` URIs; the rest is our own small runtime (``maps/static/runtime.js`` and
  ``runtime.css``, :mod:`spatialreno.maps.assets`). With
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

The package, by responsibility: :mod:`~spatialreno.maps.explore` (the one-liner and the
empty map), :mod:`~spatialreno.maps.layers` (one generic layer builder and a spec per
layer kind), :mod:`~spatialreno.maps.colours` (package colours from
:func:`spatialreno.packages.package_adjacency`), :mod:`~spatialreno.maps.basemaps`,
:mod:`~spatialreno.maps.elements` (the folium/branca elements),
:mod:`~spatialreno.maps.encode` (geometry to compact GeoJSON),
:mod:`~spatialreno.maps.values` (popup fields), :mod:`~spatialreno.maps.text` (zh/en
words), :mod:`~spatialreno.maps.escape`, :mod:`~spatialreno.maps.options` (the map options
accepted), :mod:`~spatialreno.maps.gcj02`, :mod:`~spatialreno.maps.assets` and
:mod:`~spatialreno.maps.save`.
"""

from __future__ import annotations

from .. import schema  # noqa: F401  (maps.schema, as before)
from .basemaps import BASEMAPS, add_basemap
from .colours import PALETTE, package_colors, package_graph
from .elements import ReviewMap
from .escape import script_json as _script_json  # noqa: F401  (used by tests)
from .explore import _packages_from_labels, explore_packages, review_map  # noqa: F401
from .gcj02 import wgs84_to_gcj02
from .layers import (
    add_admin_layer,
    add_barriers_layer,
    add_compounds_layer,
    add_gas_layer,
    add_illegal_layer,
    add_packages_layer,
)
from .save import save_map

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
