"""The one-liner review map (:func:`explore_packages`) and the empty map (:func:`review_map`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from .. import schema
from .basemaps import Basemap, add_tiles, resolve_basemap, set_datum
from .colours import GAP_M, package_colors
from .elements import Fit, ReviewMap, state
from .gcj02 import wgs84_to_gcj02
from .layers import (
    ADMIN_SIMPLIFY_M,
    SIMPLIFY_M,
    add_admin_layer,
    add_barriers_layer,
    add_compounds_layer,
    add_gas_layer,
    add_illegal_layer,
    add_packages_layer,
    check_layer_input,
    labels_for,
)
from .options import check_map_options
from .text import check_lang

__all__ = ["review_map", "explore_packages"]

#: the view of a new map before the fit: zoom when there is no data, the zoom range, the
#: size of the view in px it assumes and the smallest span (degrees) it zooms to
_DEFAULT_ZOOM = 13
_MIN_ZOOM, _MAX_FIT_ZOOM = 3, 18
_VIEW_PX, _TILE_PX = 800.0, 256.0
_MIN_SPAN_DEG = 1e-6
_MIN_COS_LAT = 0.1


def _view(bounds) -> tuple[list[float], int]:
    (s, w), (n, e) = bounds
    centre = [(s + n) / 2.0, (w + e) / 2.0]
    lat = math.radians(centre[0])
    span = max(e - w, (n - s) / max(math.cos(lat), _MIN_COS_LAT), _MIN_SPAN_DEG)
    zoom = int(math.floor(math.log2(_VIEW_PX * 360.0 / (_TILE_PX * span))))
    return centre, max(_MIN_ZOOM, min(zoom, _MAX_FIT_ZOOM))


def review_map(
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    attr: str | None = None,
    lang: str = "zh",
    title: str | None = None,
    location: Sequence[float] | None = None,
    zoom_start: int = _DEFAULT_ZOOM,
    **map_kwds,
) -> ReviewMap:
    """An empty offline :class:`ReviewMap` with a scale bar and, optionally, a basemap.

    ``map_kwds`` are map options (``width``, ``height``, ``min_zoom``, ``max_zoom``,
    interaction switches such as ``scroll_wheel_zoom``; see
    :data:`spatialreno.maps.options.MAP_OPTIONS`); any other key is a ConfigError.
    Add layers with the ``add_*_layer`` helpers, then ``folium.LayerControl().add_to(m)``
    (it is rendered last in any case) and ``m.fit_bounds(m.get_bounds())``.
    """
    check_lang(lang)
    map_kwds = check_map_options(map_kwds)
    bm = resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    m = ReviewMap(location=location, zoom_start=zoom_start, lang=lang, title=title, **map_kwds)
    set_datum(m, bm.datum)
    add_tiles(m, bm)
    return m


def _packages_from_labels(compounds: gpd.GeoDataFrame, labels: pd.Series) -> gpd.GeoDataFrame:
    """Package polygons and totals for the labelled compounds (the unlabelled ones are
    drawn on the map as 'not in a package')."""
    from ..packages import dissolve_packages

    lab = labels_for(compounds, labels)
    keep = lab.notna().to_numpy()
    return dissolve_packages(compounds.loc[keep], lab[keep])


def _new_map(compounds: gpd.GeoDataFrame, bm: Basemap, *, lang: str,
             title: str | None) -> ReviewMap:
    """A ReviewMap centred on the compounds (in the basemap's datum)."""
    location, zoom = None, _DEFAULT_ZOOM
    if len(compounds):
        w, s, e, n = compounds.geometry.to_crs(4326).total_bounds
        if np.all(np.isfinite([w, s, e, n])):
            if bm.datum == "gcj02":
                (w, e), (s, n) = wgs84_to_gcj02([w, e], [s, n])
            location, zoom = _view([[s, w], [n, e]])
    return ReviewMap(location=location, zoom_start=zoom, lang=lang, title=title)


def _add_overlays(m: folium.Map, overlays: dict, *, lang: str, simplify_m: float) -> None:
    """The overlay layers given, in drawing order."""
    if overlays.get("illegal") is not None:
        add_illegal_layer(m, overlays["illegal"], lang=lang)
    if overlays.get("gas") is not None:
        add_gas_layer(m, overlays["gas"], lang=lang, simplify_m=simplify_m)
    if overlays.get("barriers") is not None:
        add_barriers_layer(m, overlays["barriers"], lang=lang, simplify_m=simplify_m)
    if overlays.get("admin") is not None:
        add_admin_layer(m, overlays["admin"], lang=lang,
                        simplify_m=max(simplify_m, ADMIN_SIMPLIFY_M))


def _finish(m: folium.Map, bm: Basemap, *, new_map: bool) -> None:
    """Fit the view to the data, then add the tiles (so they load once, at the final view)
    and a layer control."""
    bounds = state(m).bounds
    if bounds is not None:
        m.add_child(Fit(bounds), name="spatialreno_fit")
    add_tiles(m, bm)
    if new_map or not any(isinstance(c, folium.LayerControl) for c in m._children.values()):
        folium.LayerControl(position="topright", collapsed=False).add_to(m)


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
    simplify_m: float = SIMPLIFY_M,
    gap_m: float = GAP_M,
    graph: nx.Graph | None = None,
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
    graph : networkx.Graph, optional
        The compound adjacency graph; packages it joins (with ``labels``) are coloured
        apart as well (:func:`spatialreno.packages.package_adjacency`).
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
    check_lang(lang)
    bm = resolve_basemap(basemap, tianditu_key=tianditu_key, attr=attr, lang=lang)
    compounds = check_layer_input(compounds, "compounds", stage="explore_packages")
    if labels is None and packages is None and schema.PACKAGE_ID in compounds.columns:
        labels = compounds[schema.PACKAGE_ID]
    if packages is None and labels is not None:
        packages = _packages_from_labels(compounds, labels)
    new_map = m is None
    if m is None:
        m = _new_map(compounds, bm, lang=lang, title=title)
    set_datum(m, bm.datum)
    if packages is not None:
        colors = None
        if graph is not None and labels is not None:
            colors = package_colors(packages, gap_m=gap_m, graph=graph,
                                    labels=labels_for(compounds, labels))
        add_packages_layer(m, packages, colors=colors, gap_m=gap_m, lang=lang,
                           simplify_m=simplify_m)
    add_compounds_layer(m, compounds, labels=labels, packages=packages, lang=lang,
                        simplify_m=simplify_m)
    _add_overlays(m, {"illegal": illegal, "gas": gas, "barriers": barriers, "admin": admin},
                  lang=lang, simplify_m=simplify_m)
    _finish(m, bm, new_map=new_map)
    return m
