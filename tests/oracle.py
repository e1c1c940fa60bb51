"""An independent validity oracle for package plans.

The tests check spatialreno's plans with this module instead of the package's own
``check_plan`` / ``assert_packages_valid``, so a bug in the implementation's checker cannot
hide a bug in the solver. It uses only networkx (``nx.is_connected`` on each package's
induced subgraph) and plain pandas sums (``groupby`` over the compound values); it imports
nothing from spatialreno.

The contract it checks (README "packages" and ``partition_packages``'s docstring):

* every compound is in exactly one package, and no unknown compound is labelled;
* every package induces a connected subgraph of the adjacency graph;
* every package keeps every limit: ``"compounds"`` bounds the member count, any other key
  bounds the sum of that compound value; a single isolated compound (no neighbour) may
  stay below a minimum when ``allow_isolated`` (``partition_packages`` flags it instead);
* a package table from the implementation (``packages``) has the same member counts and
  sums as the compounds, and its totals equal the compound totals;
* ``locked`` groups are exactly their package and keep their label; ``must_link`` pairs
  share a package; ``cannot_link`` pairs do not.

>>> import networkx as nx
>>> import pandas as pd
>>> G = nx.path_graph(["a", "b", "c"])
>>> labels = pd.Series({"a": "P1", "b": "P2", "c": "P1"})
>>> plan_problems(G, labels, {"compounds": (1, 2)})
["package 'P1' is not connected: 2 pieces ['a'] | ['c']"]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import pandas as pd

COUNT = "compounds"
"""Limit key that bounds the number of member compounds."""

REL_TOL = 1e-9
"""Relative slack on bounds and sums: float sums of the same numbers in another order."""

ABS_TOL = 1e-9
"""Absolute slack on bounds and sums near zero."""

SHOW = 20
"""How many problems an assertion message lists."""

Limits = Mapping[str, Sequence[float | None]]


def assert_valid_plan(
    graph: nx.Graph,
    labels: pd.Series,
    limits: Limits,
    **kwargs,
) -> None:
    """Raise AssertionError listing every problem :func:`plan_problems` finds."""
    problems = plan_problems(graph, labels, limits, **kwargs)
    if problems:
        more = f"\n... and {len(problems) - SHOW} more" if len(problems) > SHOW else ""
        listed = "\n".join(f"- {p}" for p in problems[:SHOW])
        raise AssertionError(f"{len(problems)} problem(s) in the plan:\n{listed}{more}")


def plan_problems(
    graph: nx.Graph,
    labels: pd.Series,
    limits: Limits,
    *,
    compounds: pd.DataFrame | None = None,
    packages: pd.DataFrame | None = None,
    sum_columns: Iterable[str] = (),
    locked: Mapping[Hashable, Hashable] | None = None,
    must_link: Iterable[tuple[Hashable, Hashable]] = (),
    cannot_link: Iterable[tuple[Hashable, Hashable]] = (),
    allow_isolated: bool = True,
) -> list[str]:
    """List every way ``labels`` breaks the packaging contract (empty when valid).

    Parameters
    ----------
    graph : networkx.Graph
        Adjacency graph; its nodes are the compounds.
    labels : pandas.Series
        ``package_id`` per ``compound_id``.
    limits : mapping of str to (min, max)
        As for ``partition_packages``; ``None`` for an open side.
    compounds : pandas.DataFrame, optional
        Compound values (index ``compound_id``); default the graph's node attributes.
    packages : pandas.DataFrame, optional
        The implementation's package table (index ``package_id``), reconciled with the
        compounds on ``n_compounds`` (when present), the limited columns it has and
        ``sum_columns``.
    sum_columns : iterable of str
        More compound columns whose package sums and totals must reconcile.
    locked, must_link, cannot_link
        As for ``partition_packages``.
    allow_isolated : bool, default True
        Let a single isolated compound's package stay below a minimum.
    """
    coverage = _coverage_problems(graph, labels, compounds)
    if coverage:
        return coverage  # sums and pieces mean nothing without a clean labelling
    values = _compound_values(graph, compounds)
    problems = _connectivity_problems(graph, labels)
    problems += _limit_problems(graph, labels, limits, values, allow_isolated)
    if packages is not None:
        columns = [c for c in limits if c != COUNT and c in packages.columns]
        columns += [c for c in sum_columns if c not in columns]
        problems += _reconcile_problems(labels, values, packages, columns)
    problems += _rule_problems(labels, locked or {}, must_link, cannot_link)
    return problems


def _coverage_problems(
    graph: nx.Graph, labels: pd.Series, compounds: pd.DataFrame | None
) -> list[str]:
    """Every compound exactly once, with a label, and nothing unknown."""
    problems = []
    duplicated = labels.index[labels.index.duplicated()].unique().tolist()
    if duplicated:
        problems.append(f"compound(s) in more than one package: {duplicated}")
    unlabelled = labels.index[labels.isna()].tolist()
    if unlabelled:
        problems.append(f"compound(s) with an empty package id: {unlabelled}")
    expected = set(graph.nodes)
    if compounds is not None and set(compounds.index) != expected:
        problems.append("the compounds and the graph's nodes differ: "
                        f"{sorted(map(str, set(compounds.index) ^ expected))}")
    missing = sorted(map(str, expected - set(labels.index)))
    if missing:
        problems.append(f"compound(s) in no package: {missing}")
    unknown = sorted(map(str, set(labels.index) - expected))
    if unknown:
        problems.append(f"labelled compound(s) not in the graph: {unknown}")
    return problems


def _compound_values(graph: nx.Graph, compounds: pd.DataFrame | None) -> pd.DataFrame:
    """One row per compound: the given table, else the graph's node attributes."""
    if compounds is not None:
        return pd.DataFrame(compounds)
    return pd.DataFrame.from_dict(dict(graph.nodes(data=True)), orient="index")


def _members(labels: pd.Series) -> dict[Hashable, list[Hashable]]:
    return {pid: list(ids) for pid, ids in labels.groupby(labels, sort=True).groups.items()}


def _connectivity_problems(graph: nx.Graph, labels: pd.Series) -> list[str]:
    """Each package induces one connected subgraph."""
    problems = []
    for pid, members in _members(labels).items():
        sub = graph.subgraph(members)
        if not nx.is_connected(sub):
            pieces = sorted(sorted(map(str, c)) for c in nx.connected_components(sub))
            shown = " | ".join(str(p) for p in pieces)
            problems.append(f"package {pid!r} is not connected: {len(pieces)} pieces {shown}")
    return problems


def _close_enough(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _package_totals(labels: pd.Series, values: pd.DataFrame, name: str) -> pd.Series:
    """Member count or the sum of one compound column per package."""
    if name == COUNT:
        return labels.groupby(labels).size().astype(float)
    if name not in values.columns:
        raise KeyError(f"oracle: no compound value {name!r} to check the limit on")
    column = pd.to_numeric(values[name].reindex(labels.index), errors="raise")
    return column.groupby(labels).sum(min_count=1).astype(float)


def _isolated_singles(graph: nx.Graph, labels: pd.Series) -> set[Hashable]:
    sizes = labels.value_counts()
    return {labels[c] for c in labels.index
            if graph.degree(c) == 0 and sizes[labels[c]] == 1}


def _limit_problems(
    graph: nx.Graph, labels: pd.Series, limits: Limits, values: pd.DataFrame,
    allow_isolated: bool,
) -> list[str]:
    """Every package sum within its (min, max)."""
    exempt = _isolated_singles(graph, labels) if allow_isolated else set()
    problems = []
    for name, (lo, hi) in limits.items():
        totals = _package_totals(labels, values, name)
        for pid, total in totals.items():
            if math.isnan(total):
                problems.append(f"package {pid!r}: {name} is missing")
            elif hi is not None and total > hi and not _close_enough(total, hi):
                problems.append(f"package {pid!r}: {name} = {total:g} above max {hi:g}")
            elif (lo is not None and total < lo and not _close_enough(total, lo)
                  and pid not in exempt):
                problems.append(f"package {pid!r}: {name} = {total:g} below min {lo:g}")
    return problems


def _reconcile_problems(
    labels: pd.Series, values: pd.DataFrame, packages: pd.DataFrame, columns: list[str]
) -> list[str]:
    """The implementation's package table agrees with sums over its compounds."""
    problems = []
    if set(packages.index) != set(labels):
        problems.append("package table and labels name different packages: "
                        f"{sorted(map(str, set(packages.index) ^ set(labels)))}")
        return problems
    if "n_compounds" in packages.columns:
        columns = [COUNT, *columns]
    for name in columns:
        mine = _package_totals(labels, values, name)
        theirs = packages["n_compounds" if name == COUNT else name].reindex(mine.index)
        bad = [pid for pid in mine.index if not _close_enough(mine[pid], float(theirs[pid]))]
        if bad:
            problems.append(f"package table {name} differs from the compound sums for {bad}")
        if name != COUNT:
            total = float(pd.to_numeric(values[name]).sum())
            if not _close_enough(float(theirs.sum()), total):
                problems.append(f"package {name} total {theirs.sum():g} is not the compound "
                                f"total {total:g}")
    return problems


def _rule_problems(
    labels: pd.Series,
    locked: Mapping[Hashable, Hashable],
    must_link: Iterable[tuple[Hashable, Hashable]],
    cannot_link: Iterable[tuple[Hashable, Hashable]],
) -> list[str]:
    """Locked groups are exactly their package; linked pairs together or apart."""
    problems = []
    wanted = pd.Series(locked, dtype=object)
    for label, group in wanted.groupby(wanted):
        package = set(labels.index[labels == label])
        if package != set(group.index):
            problems.append(f"locked package {label!r} is {sorted(map(str, package))}, "
                            f"not {sorted(map(str, group.index))}")
    problems += [f"must_link ({u!r}, {v!r}) split into {labels[u]!r} and {labels[v]!r}"
                 for u, v in must_link if labels[u] != labels[v]]
    problems += [f"cannot_link ({u!r}, {v!r}) both in {labels[u]!r}"
                 for u, v in cannot_link if labels[u] == labels[v]]
    return problems
