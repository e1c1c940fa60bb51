"""Package fill colours: a graph colouring in which adjacent packages never share a colour.

Which packages are adjacent is decided once, by :func:`spatialreno.packages.package_adjacency`
(the 化整为零 check uses the same function): from the compound adjacency graph and the
labels when the map is given them, and always from the packages' own geometry (touching or
within ``gap_m`` metres), so packages that look adjacent on the map differ too.
"""

from __future__ import annotations

import colorsys
import warnings
from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .._contracts import require_layer
from ..errors import ConfigError, SpatialRenoWarning
from ..packages import package_adjacency
from .encode import metric

__all__ = ["PALETTE", "package_graph", "package_colors"]

#: Fill colours for packages (Tableau 10): adjacent packages get different entries.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)
#: packages this close (metres) count as neighbours on the map
GAP_M = 10.0
# colours beyond the palette: golden-angle hues, offset from the palette's, mid saturation
_GOLDEN_ANGLE = 137.508
_HUE_OFFSET = 17.0
_SATURATION = 0.55
_LIGHTNESS = 0.6


def _near_pairs(packages: gpd.GeoDataFrame, gap_m: float) -> list[tuple]:
    """Pairs of package ids whose geometries touch or lie within ``gap_m`` metres."""
    ids = list(packages.index)
    if len(ids) < 2:
        return []
    geoms = np.asarray(metric(packages.geometry).values)
    tree = shapely.STRtree(geoms)
    if gap_m > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=gap_m)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    return [(ids[a], ids[b]) for a, b in zip(left.tolist(), right.tolist()) if a < b]


def package_graph(packages: gpd.GeoDataFrame, *, gap_m: float = GAP_M,
                  graph: nx.Graph | None = None, labels: pd.Series | None = None) -> nx.Graph:
    """Graph of packages (nodes: ``package_id``) that the map colours apart.

    Two packages are joined when their geometries touch or lie within ``gap_m`` metres and,
    when the compound adjacency ``graph`` and the ``labels`` (``package_id`` per
    ``compound_id``) are given, when a compound edge joins them; both through
    :func:`spatialreno.packages.package_adjacency`.
    """
    packages = require_layer(packages, "packages", stage="package_graph", metric=False,
                             valid=False, allow_missing=True)
    G = package_adjacency(packages.index, adjacency=_near_pairs(packages, gap_m))
    if graph is not None:
        G = nx.compose(G, package_adjacency(packages.index, graph=graph, labels=labels))
    G.graph["gap_m"] = gap_m
    return G


def _hsl_hex(h: float, s: float, lightness: float) -> str:
    r, g, b = colorsys.hls_to_rgb(h / 360.0, lightness, s)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _extend_palette(palette: Sequence[str], n: int) -> list[str]:
    colours = list(palette)
    k = 0
    while len(colours) < n:
        hue = (k * _GOLDEN_ANGLE + _HUE_OFFSET) % 360.0
        colours.append(_hsl_hex(hue, _SATURATION, _LIGHTNESS))
        k += 1
    return colours


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


def _numbers(G: nx.Graph, palette: Sequence[str], strategy: str,
             balance: bool) -> tuple[dict, list[str]]:
    """Colour number per package and the colours they index (extended when needed)."""
    numbers = nx.greedy_color(G, strategy=strategy)  # dict in colouring order
    needed = max(numbers.values(), default=-1) + 1
    if needed > len(palette):
        warnings.warn(
            f"package_colors: the package adjacency graph needs {needed} colours but the "
            f"palette has {len(palette)}; extra colours were generated.",
            SpatialRenoWarning,
            stacklevel=3,
        )
        return numbers, _extend_palette(palette, needed)
    if balance:
        numbers = _balanced(G, list(numbers), len(palette)) or numbers
    return numbers, list(palette)


def package_colors(
    packages: gpd.GeoDataFrame,
    *,
    gap_m: float = GAP_M,
    palette: Sequence[str] = PALETTE,
    strategy: str = "DSATUR",
    balance: bool = True,
    graph: nx.Graph | None = None,
    labels: pd.Series | None = None,
) -> pd.Series:
    """A fill colour per package such that adjacent packages never share one.

    Packages are adjacent as :func:`package_graph` says: their geometries touch or lie
    within ``gap_m`` metres (a lane between two packages still makes them neighbours on
    the map), or, given the compound adjacency ``graph`` and ``labels``, a compound edge
    joins them. The graph is coloured greedily (networkx ``greedy_color``, DSATUR by
    default; ``"largest_first"`` also works) and colour numbers index ``palette``. With
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
    G = package_graph(packages, gap_m=gap_m, graph=graph, labels=labels)
    numbers, colours = _numbers(G, palette, strategy, balance)
    return pd.Series([colours[numbers[i]] for i in packages.index], index=packages.index,
                     name="color")
