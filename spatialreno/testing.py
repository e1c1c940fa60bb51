"""Public assertions for package plans, usable in tests and notebooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import pandas as pd

from spatialreno.partition.limits import check_plan

__all__ = ["assert_packages_valid"]


def assert_packages_valid(
    G: nx.Graph,
    labels: pd.Series,
    limits: Mapping[str, Sequence[float | None]],
    *,
    allow_isolated: bool = True,
) -> None:
    """Assert that ``labels`` is a valid package plan for ``G`` under ``limits``.

    Checks that every node of ``G`` is in exactly one package, every package is
    connected in ``G`` and every package keeps every limit.

    Parameters
    ----------
    G : networkx.Graph
        Adjacency graph.
    labels : pandas.Series
        ``package_id`` per ``compound_id``.
    limits : mapping of str to (min, max)
        As for :func:`spatialreno.partition.partition_packages`.
    allow_isolated : bool, default True
        Accept single-compound packages of isolated compounds (no neighbour in ``G``)
        even when they break a min, as ``partition_packages`` flags them instead.

    Raises
    ------
    AssertionError
        Naming each offending package, compound and limit.

    Examples
    --------
    >>> import networkx as nx
    >>> import pandas as pd
    >>> from spatialreno.testing import assert_packages_valid
    >>> G = nx.path_graph(["a", "b", "c"])
    >>> labels = pd.Series({"a": "P1", "b": "P2", "c": "P1"}, name="package_id")
    >>> assert_packages_valid(G, labels, {"compounds": (1, 2)})
    Traceback (most recent call last):
    ...
    AssertionError: 1 problem(s) in the package plan:
    - package 'P1', compound 'a', contiguity: package is split into 2 pieces: ['a'] | ['c']
    """
    problems = check_plan(G, labels, limits)
    if allow_isolated and len(problems):
        sizes = labels.value_counts()
        single = {pid for pid, k in sizes.items() if k == 1}
        iso = {labels[c] for c in labels.index if c in G and G.degree(c) == 0}
        skip = single & iso
        problems = problems[~problems["package_id"].isin(skip)
                            | problems["limit"].isin(["coverage", "contiguity"])]
    if len(problems):
        lines = [
            f"- package {r.package_id!r}, compound {r.compound_id!r}, {r.limit}: {r.problem}"
            for r in problems.head(20).itertuples()
        ]
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AssertionError(
            f"{len(problems)} problem(s) in the package plan:\n" + "\n".join(lines) + more
        )
