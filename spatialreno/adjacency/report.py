"""A summary of an adjacency graph: components, isolated compounds, dropped edges."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .options import _short_list


@dataclass(frozen=True)
class AdjacencyReport:
    """Summary of an adjacency graph (see :func:`adjacency_report`).

    ``to_dict()``, ``to_series()`` and ``to_frame()`` give plain, DataFrame-friendly views;
    ``components()`` lists the components with their sizes.
    """

    n_compounds: int
    n_edges: int
    n_components: int
    component_sizes: tuple[int, ...]
    isolates: tuple[Hashable, ...]
    degree_min: int
    degree_mean: float
    degree_median: float
    degree_max: int
    longest_gap_edge: tuple[Hashable, Hashable] | None
    longest_gap_m: float
    dropped_by_barriers: int | None
    dropped_by_boundary: int | None
    crosses_boundary: int | None
    tolerance_m: float | None
    rule: str | None
    boundary: str | None
    boundary_policy: str | None

    @property
    def n_isolates(self) -> int:
        """Number of compounds without any neighbour."""
        return len(self.isolates)

    @property
    def largest_component(self) -> int:
        """Size of the largest component (0 for an empty graph)."""
        return self.component_sizes[0] if self.component_sizes else 0

    def to_dict(self) -> dict:
        """All fields as a plain dict (ids kept as tuples)."""
        out = asdict(self)
        out["n_isolates"] = self.n_isolates
        return out

    def to_series(self) -> pd.Series:
        """One value per metric; long fields are shortened for display."""
        d = self.to_dict()
        sizes = d.pop("component_sizes")
        isolates = d.pop("isolates")
        d["largest_component"] = self.largest_component
        d["component_sizes"] = _short_list(sizes)
        d["isolates"] = _short_list(isolates)
        return pd.Series(d, name="value", dtype=object).rename_axis("metric")

    def to_frame(self) -> pd.DataFrame:
        """A two-column table ``metric, value`` (for notebooks and Excel)."""
        return self.to_series().reset_index()

    def components(self) -> pd.DataFrame:
        """Component sizes as a DataFrame (``component``, ``size``), largest first."""
        return pd.DataFrame(
            {"component": range(len(self.component_sizes)), "size": list(self.component_sizes)}
        )

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    def __str__(self) -> str:
        return self.to_series().to_string()


def adjacency_report(G: nx.Graph) -> AdjacencyReport:
    """Summarise an adjacency graph: components, isolates, degrees, gaps, dropped edges.

    Parameters
    ----------
    G : networkx.Graph
        Usually the output of :func:`build_adjacency`; other graphs work too, with the
        ``G.graph`` fields reported as None when absent.

    Returns
    -------
    AdjacencyReport
        ``n_compounds``, ``n_edges``, ``n_components`` and ``component_sizes`` (largest
        first), ``isolates`` (ids), degree min/mean/median/max, ``longest_gap_edge`` and
        ``longest_gap_m`` (the widest gap an edge bridges), the edges dropped by barriers
        and by the boundary policy (from ``G.graph``), the number of edges marked
        ``crosses_boundary``, and the build options. ``.to_frame()`` gives a table.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.adjacency import adjacency_report, build_adjacency
    >>> compounds = gpd.GeoDataFrame(
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(23, 0, 30, 10), box(99, 0, 120, 9)],
    ...     index=pd.Index(list("abcz"), name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):  # 'z' has no neighbour
    ...     warnings.simplefilter("always")
    ...     G = build_adjacency(compounds, tolerance_m=5)
    >>> r = adjacency_report(G)
    >>> r.n_components, r.component_sizes, r.isolates
    (2, (3, 1), ('z',))
    >>> r.longest_gap_edge, r.longest_gap_m
    (('b', 'c'), 3.0)
    """
    nodes = list(G.nodes)
    sizes = sorted((len(c) for c in nx.connected_components(G)), reverse=True)
    degrees = np.fromiter((d for _, d in G.degree()), dtype=float, count=len(nodes))
    isolates = tuple(v for v in nodes if G.degree(v) == 0)
    longest_edge, longest = None, 0.0
    marked = 0
    has_mark = False
    for u, v, d in G.edges(data=True):
        g = d.get("gap_m")
        if g is not None and (longest_edge is None or g > longest):
            longest_edge, longest = (u, v), float(g)
        if "crosses_boundary" in d:
            has_mark = True
            marked += bool(d["crosses_boundary"])
    return AdjacencyReport(
        n_compounds=len(nodes),
        n_edges=G.number_of_edges(),
        n_components=len(sizes),
        component_sizes=tuple(sizes),
        isolates=isolates,
        degree_min=int(degrees.min()) if len(degrees) else 0,
        degree_mean=float(degrees.mean()) if len(degrees) else 0.0,
        degree_median=float(np.median(degrees)) if len(degrees) else 0.0,
        degree_max=int(degrees.max()) if len(degrees) else 0,
        longest_gap_edge=longest_edge,
        longest_gap_m=longest,
        dropped_by_barriers=G.graph.get("dropped_by_barriers"),
        dropped_by_boundary=G.graph.get("dropped_by_boundary"),
        crosses_boundary=marked if has_mark else None,
        tolerance_m=G.graph.get("tolerance_m"),
        rule=G.graph.get("rule"),
        boundary=G.graph.get("boundary"),
        boundary_policy=G.graph.get("boundary_policy"),
    )


