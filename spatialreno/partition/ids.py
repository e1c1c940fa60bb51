"""Stable package ids.

Rule: ``PK-<smallest member compound_id>`` when that id already starts with the member's
district code (``PK-420105-0012``), else ``PK-<adcode or district>-<smallest member>``
(``PK-420105-12``), or ``PK-<smallest member>`` when the member carries neither. The
smallest member is the minimum of the members' ``compound_id`` strings.
A package whose member set does not change keeps its id whatever happens elsewhere,
so re-running after a small data change keeps the ids of unchanged packages.
Locked packages keep the label they were locked with.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import networkx as nx
import pandas as pd

__all__ = ["DEFAULT_PREFIX", "package_id_for", "stable_package_ids"]

DEFAULT_PREFIX = "PK"


def _prefix(attrs: dict) -> str:
    for key in ("adcode", "district"):
        value = attrs.get(key)
        if value is None or (isinstance(value, float) and value != value):
            continue
        text = str(value).strip()
        if text.endswith(".0") and text[:-2].isdigit():
            text = text[:-2]
        if text:
            return text
    return DEFAULT_PREFIX


def package_id_for(G: nx.Graph, members: Iterable[Hashable]) -> str:
    """Return the stable id of a package made of ``members``.

    Examples
    --------
    >>> import networkx as nx
    >>> from spatialreno.partition import package_id_for
    >>> G = nx.Graph()
    >>> G.add_nodes_from(["420105-0012", "420105-0031"])
    >>> package_id_for(G, ["420105-0031", "420105-0012"])
    'PK-420105-0012'
    """
    first = min(members, key=str)
    attrs = G.nodes[first] if first in G else {}
    prefix = _prefix(attrs)
    if prefix == DEFAULT_PREFIX or str(first).startswith(prefix):
        return f"{DEFAULT_PREFIX}-{first}"
    return f"{DEFAULT_PREFIX}-{prefix}-{first}"


def stable_package_ids(G: nx.Graph, labels: pd.Series) -> pd.Series:
    """Rename the packages of ``labels`` to their stable ids (see the module rule)."""
    groups = labels.groupby(labels, sort=False).groups
    mapping = {pid: package_id_for(G, list(idx)) for pid, idx in groups.items()}
    out = labels.map(mapping)
    out.name = "package_id"
    return out
