"""Package compactness: the sum of member distances to the package medoid, in metres."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["package_compactness", "medoid_table", "node_xy"]


def node_xy(G: nx.Graph, nodes: list) -> np.ndarray:
    """Return ``(len(nodes), 2)`` node positions from the ``x`` / ``y`` attributes (NaN if absent)."""
    attrs = G.nodes
    x = np.fromiter((float(attrs[v].get("x", np.nan)) for v in nodes), float, len(nodes))
    y = np.fromiter((float(attrs[v].get("y", np.nan)) for v in nodes), float, len(nodes))
    return np.column_stack([x, y])


def medoid_table(xy: np.ndarray, ids: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """Medoid and distance sums per group.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` positions in metres.
    ids : numpy.ndarray
        ``(n,)`` compound ids.
    codes : numpy.ndarray
        ``(n,)`` integer group codes ``0..k-1``.

    Returns
    -------
    pandas.DataFrame
        Indexed by code: ``n_compounds``, ``medoid``, ``compactness_m``, ``mean_distance_m``.
    """
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    ends = np.r_[starts[1:], len(sc)]
    k = len(starts)
    medoid = np.empty(k, dtype=object)
    total = np.zeros(k)
    size = ends - starts
    for g, (a, b) in enumerate(zip(starts, ends, strict=True)):
        members = order[a:b]
        pts = xy[members]
        d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=-1)).sum(axis=1)
        best = int(np.argmin(d))
        medoid[g] = ids[members[best]]
        total[g] = d[best]
    return pd.DataFrame(
        {
            "n_compounds": size,
            "medoid": medoid,
            "compactness_m": total,
            "mean_distance_m": total / size,
        },
        index=sc[starts],
    )


def package_compactness(G: nx.Graph, labels: pd.Series) -> pd.DataFrame:
    """Compactness of every package.

    Compactness is the sum, over a package's members, of the straight-line distance
    (metres, from node ``x`` / ``y``) between the member and the package *medoid*:
    the member that minimises that sum. Lower is more compact; a single-compound
    package scores 0. ``mean_distance_m`` divides by the member count.

    Parameters
    ----------
    G : networkx.Graph
        Graph whose nodes carry ``x`` and ``y``.
    labels : pandas.Series
        ``package_id`` per ``compound_id``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``package_id``: ``n_compounds``, ``medoid``, ``compactness_m``,
        ``mean_distance_m``.

    Examples
    --------
    >>> import networkx as nx
    >>> import pandas as pd
    >>> from spatialreno.partition import package_compactness
    >>> G = nx.Graph()
    >>> G.add_nodes_from([("a", {"x": 0, "y": 0}), ("b", {"x": 100, "y": 0}),
    ...                   ("c", {"x": 200, "y": 0})])
    >>> labels = pd.Series({"a": "P1", "b": "P1", "c": "P1"}, name="package_id")
    >>> package_compactness(G, labels)["compactness_m"].tolist()
    [200.0]
    """
    nodes = list(labels.index)
    xy = node_xy(G, nodes)
    codes, uniques = pd.factorize(labels)
    table = medoid_table(xy, np.asarray(nodes, dtype=object), codes)
    table.index = pd.Index(np.asarray(uniques, dtype=object)[table.index], name="package_id")
    return table
