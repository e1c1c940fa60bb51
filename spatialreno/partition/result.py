"""PartitionResult: what :func:`~spatialreno.partition.partition_packages` returns.

A plain, immutable object (never ``Series.attrs``): the labels, the violations table, the
per-component solver report and the options that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from spatialreno.partition.limits import violations_frame

__all__ = ["SOLVER_COLUMNS", "PartitionResult", "violations", "solver_report"]

#: Columns of :attr:`PartitionResult.solver_report`, in order.
SOLVER_COLUMNS: tuple[str, ...] = (
    "component", "n_compounds", "method", "status", "n_packages", "lower_bound", "gap",
    "objective_gap", "seconds",
)


def solver_frame(rows: list[Mapping[str, object]] | tuple = ()) -> pd.DataFrame:
    """A solver-report DataFrame with the standard columns from row dicts."""
    return pd.DataFrame(list(rows), columns=list(SOLVER_COLUMNS))


@dataclass(frozen=True, eq=False)
class PartitionResult:
    """A package plan with its problems and how it was found.

    Attributes
    ----------
    labels : pandas.Series
        ``package_id`` per ``compound_id`` (name ``"package_id"``, index ``compound_id``),
        in the graph's node order.
    violations : pandas.DataFrame
        Columns ``package_id, compound_id, limit, value, bound, problem, fix``: one row per
        broken limit, broken contiguity, isolated compound or infeasibility reason; empty
        for a plan that keeps every limit.
    solver_report : pandas.DataFrame
        One row per connected component (see :func:`solver_report`).
    limits : mapping
        The parsed limits, ``{name: (min, max)}`` with ``None`` for an open side.
    objective : str
        ``"fewest"`` or ``"balanced"``.
    seed : int
        The seed the plan was found with.
    edits : tuple of dict
        Checked edits applied since partitioning (``compound_id``, ``from``, ``to``), in
        order; see :func:`spatialreno.packages.move_compound`.

    Examples
    --------
    >>> import networkx as nx
    >>> from spatialreno.partition import partition_packages
    >>> G = nx.path_graph(["a", "b", "c"])
    >>> nx.set_node_attributes(G, 0.0, "x"); nx.set_node_attributes(G, 0.0, "y")
    >>> res = partition_packages(G, limits={"compounds": (1, 3)})
    >>> res.labels.tolist(), res.n_packages, res.violations.empty
    (['PK-a', 'PK-a', 'PK-a'], 1, True)
    """

    labels: pd.Series
    violations: pd.DataFrame
    solver_report: pd.DataFrame
    limits: Mapping[str, tuple[float | None, float | None]]
    objective: str = "fewest"
    seed: int = 0
    edits: tuple[Mapping[str, object], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))
        object.__setattr__(self, "edits", tuple(MappingProxyType(dict(e)) for e in self.edits))

    @property
    def n_packages(self) -> int:
        """Number of packages in the plan."""
        return int(self.labels.nunique())

    def __repr__(self) -> str:
        return (f"PartitionResult({len(self.labels)} compounds, {self.n_packages} packages, "
                f"{len(self.violations)} violation row(s), objective={self.objective!r}, "
                f"seed={self.seed})")


def _require_result(value: object, what: str) -> PartitionResult:
    if isinstance(value, PartitionResult):
        return value
    if isinstance(value, pd.Series):
        raise TypeError(
            f"{what}() takes the PartitionResult that partition_packages returned, not its "
            "labels Series: pass `res` from `res = partition_packages(...)` (a bare Series "
            "carries no violations or solver report).")
    raise TypeError(f"{what}() takes a PartitionResult, got {type(value).__name__}.")


def violations(result: PartitionResult) -> pd.DataFrame:
    """The violations table of a plan (a copy of ``result.violations``).

    Parameters
    ----------
    result : PartitionResult
        What :func:`~spatialreno.partition.partition_packages` (or
        :func:`~spatialreno.packages.move_compound`) returned.

    Returns
    -------
    pandas.DataFrame
        Columns ``package_id, compound_id, limit, value, bound, problem, fix``; empty for
        a plan that keeps every limit.

    Raises
    ------
    TypeError
        For a bare labels Series (it has no violations to report) or any other object.

    Examples
    --------
    >>> import networkx as nx
    >>> from spatialreno.partition import partition_packages, violations
    >>> G = nx.path_graph(["a", "b"])
    >>> nx.set_node_attributes(G, 0.0, "x"); nx.set_node_attributes(G, 0.0, "y")
    >>> res = partition_packages(G, limits={"compounds": (1, 2)})
    >>> violations(res).columns.tolist()
    ['package_id', 'compound_id', 'limit', 'value', 'bound', 'problem', 'fix']
    """
    res = _require_result(result, "violations")
    return violations_frame(res.violations.to_dict("records"))


def solver_report(result: PartitionResult) -> pd.DataFrame:
    """The per-component solver report of a plan (a copy of ``result.solver_report``).

    Columns: ``component`` (smallest compound id), ``n_compounds``, ``method``,
    ``status`` (``optimal`` = proven by the MILP, ``node_limit`` with ``gap`` = the MILP
    used its node budget, ``time_limit`` with ``gap`` = a wall-clock limit stopped it
    (only with ``time_limit_s`` or ``method="exact"``), ``heuristic``, ``locked``,
    ``isolated``, ``infeasible``), ``n_packages``, ``lower_bound``, ``gap`` (relative gap on
    the package count; 0 = proven), ``objective_gap`` (gap of the compactness / balance
    stage of the exact solver, which has the same node budget, and under a time limit at
    most 10 s) and ``seconds`` (wall time, for information; nothing depends on it).

    Raises
    ------
    TypeError
        For a bare labels Series or any other object than a PartitionResult.

    Examples
    --------
    >>> import networkx as nx
    >>> from spatialreno.partition import partition_packages, solver_report
    >>> G = nx.path_graph(["a", "b"])
    >>> nx.set_node_attributes(G, 0.0, "x"); nx.set_node_attributes(G, 0.0, "y")
    >>> res = partition_packages(G, limits={"compounds": (1, 2)})
    >>> solver_report(res)[["component", "n_packages"]].values.tolist()
    [['a', 1]]
    """
    return _require_result(result, "solver_report").solver_report.copy()
