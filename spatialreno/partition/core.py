"""partition_packages: contiguous area packages (片区) under hard min/max limits.

The public function reads as a sequence of named steps over one accumulator, :class:`_Run`:
check the options → index the graph → locked packages → must/cannot-link groups →
connected components (with the checks that prove a component infeasible) → solve each
component (heuristic, then the MILP where it pays) → meet ``target_packages`` → name the
packages → a :class:`~spatialreno.partition.result.PartitionResult`.
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import networkx as nx
import numpy as np
import pandas as pd

from spatialreno.errors import ConfigError, DataError, InfeasiblePackagingError, SpatialRenoWarning
from spatialreno.partition.compactness import node_xy
from spatialreno.partition.exact import solve_exact
from spatialreno.partition.heuristic import lower_bound, solve_heuristic
from spatialreno.partition.ids import package_id_for
from spatialreno.partition.limits import (
    Limits,
    LimitSpec,
    _fmt,
    _row,
    check_plan,
    node_values,
    parse_limits,
    violations_frame,
)
from spatialreno.partition.result import PartitionResult, solver_frame, solver_report, violations

__all__ = ["partition_packages", "violations", "solver_report", "EXACT_MAX_NODES",
           "AUTO_EXACT_MAX_NODES", "AUTO_MAX_CANDIDATES", "AUTO_NODE_LIMIT",
           "EXACT_TIME_LIMIT_S", "Objective", "Method", "OnInfeasible"]

Objective = Literal["fewest", "balanced"]
Method = Literal["auto", "exact", "heuristic"]
OnInfeasible = Literal["raise", "report"]

EXACT_MAX_NODES = 40
#: ``method="auto"`` runs the MILP only on components up to this size, and skips it when the
#: heuristic already meets the package-count lower bound (the count is then proven optimal).
#: Measured: a 30-compound component takes HiGHS 13–30 s, a 20-compound one under 2 s.
AUTO_EXACT_MAX_NODES = 24
#: ... and only when the component has at most this many connected candidate packages;
#: beyond it the heuristic's plan stands.
AUTO_MAX_CANDIDATES = 5_000
#: ... with at most this many branch-and-bound nodes per MILP stage (HiGHS presolve off,
#: which on these small dense models costs more than it saves). Every budget of "auto" is
#: a count, never a wall clock, so the same input and seed give the same packages on an
#: idle or a busy machine; a component that reaches the node budget keeps the best plan
#: found, with status ``node_limit`` and its gap in :func:`solver_report`.
AUTO_NODE_LIMIT = 200
#: ``method="exact"`` without ``time_limit_s``: wall-clock limit per component in seconds
#: (the exact method proves optima on components of up to 40 compounds, where a single
#: HiGHS root node can take minutes, so it keeps a clock; status ``time_limit`` says when
#: it stopped one).
EXACT_TIME_LIMIT_S = 30.0
#: Tolerance on package sums when comparing them with a min or a max.
SUM_TOL = 1e-9
#: With ``time_limit_s``: the smallest share of the clock a component is given (s).
MIN_COMPONENT_BUDGET_S = 0.2
#: Ids shown in a message before "...".
SHOW_IDS = 5
#: Blocking problems listed in an InfeasiblePackagingError message.
SHOW_PROBLEMS = 6
#: Isolated compounds named in the warning.
SHOW_ISOLATED = 10


def _check_choice(name: str, value: object, options: tuple[str, ...]) -> None:
    if value not in options:
        choices = ", ".join(repr(o) for o in options)
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}.")


def _component_seed(seed: int, first_id: Hashable) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(str(first_id).encode("utf-8"))) % (2**32)


def _ids(order: list[Hashable], members: Iterable[int], limit: int = SHOW_IDS) -> str:
    mem = sorted(members)
    text = ", ".join(repr(order[i]) for i in mem[:limit])
    return f"[{text}{', ...' if len(mem) > limit else ''}]"


def _pairs(name: str, pairs: object, node_set: set) -> list[tuple[Hashable, Hashable]]:
    if pairs is None:
        return []
    out = []
    for p in pairs:  # type: ignore[attr-defined]
        if isinstance(p, str | bytes) or len(p) != 2:
            raise ConfigError(f"`{name}` must be a list of (compound_id, compound_id) pairs, "
                              f"got item {p!r}.")
        a, b = p
        for c in (a, b):
            if c not in node_set:
                raise ConfigError(f"`{name}` names compound {c!r}, which is not in the graph.")
        out.append((a, b))
    return out


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.p = list(range(n))

    def find(self, a: int) -> int:
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


def _parts(nbrs: list[list[int]], members: list[int]) -> list[list[int]]:
    """Connected pieces of ``members`` in the graph ``nbrs``."""
    mem = set(members)
    seen: set[int] = set()
    parts = []
    for s in sorted(members):
        if s in seen:
            continue
        seen.add(s)
        stack = [s]
        piece = [s]
        while stack:
            x = stack.pop()
            for u in nbrs[x]:
                if u in mem and u not in seen:
                    seen.add(u)
                    stack.append(u)
                    piece.append(u)
        parts.append(sorted(piece))
    return parts


def _bfs_path(nbrs: list[list[int]], allowed: set[int], src: set[int], dst: set[int]) -> list[int]:
    prev = {s: -1 for s in src}
    queue = sorted(src)
    i = 0
    while i < len(queue):
        x = queue[i]
        i += 1
        if x in dst:
            path = []
            while x != -1:
                path.append(x)
                x = prev[x]
            return path
        for u in nbrs[x]:
            if u in allowed and u not in prev:
                prev[u] = x
                queue.append(u)
    return []


@dataclass(frozen=True)
class _Options:
    objective: str
    method: str
    time_limit_s: float | None
    seed: int
    on_infeasible: str
    t_start: float


@dataclass
class _Run:
    """Everything one partition_packages call accumulates (compounds by position in
    ``order``, the compound ids sorted as text)."""

    G: nx.Graph
    spec: LimitSpec
    opts: _Options
    out_nodes: list[Hashable]
    order: list[Hashable]
    index: dict[Hashable, int]
    W: np.ndarray
    xy: np.ndarray
    nbrs: list[list[int]]
    problems: list[dict[str, object]] = field(default_factory=list)
    solver: list[dict[str, object]] = field(default_factory=list)
    #: (members, locked label or None) of every package found
    packages: list[tuple[list[int], Hashable | None]] = field(default_factory=list)
    lock_of: dict[int, Hashable] = field(default_factory=dict)
    #: must-link groups by union-find root
    group_members: dict[int, list[int]] = field(default_factory=dict)
    cannot: list[tuple[Hashable, Hashable]] = field(default_factory=list)
    comps: list[list[int]] = field(default_factory=list)
    comp_of: np.ndarray | None = None
    free_nbrs: list[list[int]] = field(default_factory=list)
    bad_comp: set[int] = field(default_factory=set)
    isolated: list[Hashable] = field(default_factory=list)
    #: components left to solve: (component number, members)
    work: list[tuple[int, list[int]]] = field(default_factory=list)
    #: solved components: local labels and package count
    results: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def node_set(self) -> set[Hashable]:
        return set(self.index)

    def add_problem(self, *args: object, flag: bool = False) -> None:
        row = _row(*args)  # type: ignore[arg-type]
        if flag:
            row["_flag"] = True
        self.problems.append(row)

    def budget(self, size: int) -> float | None:
        """Share of ``time_limit_s`` left for a component of ``size`` compounds."""
        limit = self.opts.time_limit_s
        if limit is None:
            return None
        n_work = sum(len(m) for _, m in self.work) or 1
        left = limit - (time.perf_counter() - self.opts.t_start)
        return max(MIN_COMPONENT_BUDGET_S, min(left, limit * size / n_work))


def partition_packages(
    G: nx.Graph,
    *,
    limits: Limits,
    objective: Objective = "fewest",
    target_packages: int | None = None,
    locked: Mapping[Hashable, Hashable] | None = None,
    must_link: Iterable[tuple[Hashable, Hashable]] | None = None,
    cannot_link: Iterable[tuple[Hashable, Hashable]] | None = None,
    method: Method = "auto",
    time_limit_s: float | None = None,
    seed: int = 0,
    on_infeasible: OnInfeasible = "raise",
) -> PartitionResult:
    """Partition the adjacency graph into contiguous packages under hard limits.

    Every package is connected in ``G`` and every package sum lies within ``limits``.
    Connected components are solved independently; isolated compounds (no neighbour)
    become their own flagged packages.

    Parameters
    ----------
    G : networkx.Graph
        Adjacency graph: nodes are ``compound_id`` with ``x``, ``y`` (metres) and the
        limited numeric attributes.
    limits : mapping of str to (min, max)
        Hard bounds per package, ``None`` for an open side. ``"compounds"`` bounds the
        member count; any other key sums that node attribute, e.g.
        ``{"compounds": (2, 8), "households": (1500, 6000), "cost_total": (None, 4000)}``.
    objective : {"fewest", "balanced"}, default "fewest"
        ``"fewest"``: fewest packages, ties broken by compactness (see
        :func:`package_compactness`). ``"balanced"``: the fewest (or ``target_packages``)
        packages with totals of the first capped attribute other than ``compounds`` as
        even as possible (sum of absolute deviations from the mean, per component).
    target_packages : int, optional
        Exactly this many packages in total (locked and isolated packages included);
        extra packages go to the components with the most compounds per package.
    locked : mapping of compound_id to label, optional
        Existing or contracted packages: compounds sharing a label form exactly that
        package, which keeps the label as its ``package_id``; no other compound joins.
    must_link, cannot_link : list of (compound_id, compound_id), optional
        Pairs that must share / must not share a package. The heuristic joins
        must-linked compounds that do not touch through the shortest chain between them.
    method : {"auto", "exact", "heuristic"}, default "auto"
        ``"exact"``: set-partitioning MILP on scipy's HiGHS, proving the optimum (or
        reporting the gap at the time limit). ``"heuristic"``: seeded growth plus local
        search, any size. ``"exact"`` takes components of up to ``EXACT_MAX_NODES`` (40)
        compounds. ``"auto"``: the heuristic everywhere, then the MILP on components of at
        most ``AUTO_EXACT_MAX_NODES`` (24) compounds whose heuristic plan does not already
        meet the package-count lower bound (ceil of each capped total over its max), with
        at most ``AUTO_MAX_CANDIDATES`` (5,000) candidate packages and
        ``AUTO_NODE_LIMIT`` (200) branch-and-bound nodes per stage each;
        :func:`solver_report` says per component which method decided and the remaining
        gap. ``"auto"`` and ``"heuristic"`` use counted budgets only (no wall clock).
    time_limit_s : float, optional
        Opt-in wall-clock limit for the run, shared among components (the results may then
        depend on the machine's load; a component stopped by it has status
        ``time_limit``). Default none: ``"auto"`` and ``"heuristic"`` stop on their counted
        budgets and are reproducible; ``"exact"`` uses ``EXACT_TIME_LIMIT_S`` (30 s) per
        component.
    seed : int, default 0
        Same input, options and seed give the same packages, on an idle or a busy machine
        (unless ``time_limit_s`` is set).
    on_infeasible : {"raise", "report"}, default "raise"
        ``"raise"``: raise :class:`~spatialreno.errors.InfeasiblePackagingError` naming
        the compound or component, the limit, the value and what to relax.
        ``"report"``: return the best plan found; its problems are in
        ``.violations``.

    Returns
    -------
    PartitionResult
        ``.labels``: ``package_id`` per ``compound_id`` in ``G``'s node order (ids are
        stable: ``<adcode|district|PK>-<smallest member id>``); ``.violations`` (see
        :func:`violations`); ``.solver_report`` (see :func:`solver_report`); ``.limits``,
        ``.objective`` and ``.seed``.

    Raises
    ------
    ConfigError
        Unknown limited attribute, ``min > max``, unknown compound in an option.
    ValueError
        An option outside its closed set.
    InfeasiblePackagingError
        With ``on_infeasible="raise"`` when no plan keeps every limit.

    See Also
    --------
    spatialreno.testing.assert_packages_valid, violations, solver_report

    Examples
    --------
    >>> import networkx as nx
    >>> from spatialreno.partition import partition_packages
    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> nx.set_node_attributes(G, 0.0, "x")
    >>> nx.set_node_attributes(G, 0.0, "y")
    >>> res = partition_packages(G, limits={"compounds": (2, 2)})
    >>> res.labels.tolist()
    ['PK-a', 'PK-a', 'PK-c', 'PK-c']
    >>> res.violations.empty
    True
    """
    opts = _check_options(G, objective, method, on_infeasible, target_packages, time_limit_s,
                          seed)
    run = _index_graph(G, parse_limits(G, limits), opts)
    _add_locks(run, locked)
    _add_links(run, must_link, cannot_link)
    _split_components(run)
    counts = _solve_components(run)
    if target_packages is not None and not (_blocks(run.problems)
                                            and on_infeasible == "raise"):
        _meet_target(run, counts, target_packages)
    _collect_packages(run)
    return _result(run)


# -- steps -------------------------------------------------------------------------------

def _check_options(G, objective, method, on_infeasible, target_packages, time_limit_s,
                   seed) -> _Options:
    t_start = time.perf_counter()
    _check_choice("objective", objective, get_args(Objective))
    _check_choice("method", method, get_args(Method))
    _check_choice("on_infeasible", on_infeasible, get_args(OnInfeasible))
    if not isinstance(G, nx.Graph) or G.is_directed() or G.is_multigraph():
        raise TypeError(f"`G` must be an undirected networkx.Graph, got {type(G).__name__}.")
    if G.number_of_nodes() == 0:  # empty-input guard (issue 12)
        raise DataError("partition_packages: the graph has no compounds; nothing to package")
    if target_packages is not None and (
        isinstance(target_packages, bool) or not isinstance(target_packages, int)
        or target_packages < 1
    ):
        raise ValueError(f"`target_packages` must be a positive int or None, got "
                         f"{target_packages!r}.")
    if time_limit_s is not None and not time_limit_s > 0:
        raise ValueError(f"`time_limit_s` must be positive or None, got {time_limit_s!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"`seed` must be an int, got {seed!r}.")
    return _Options(objective, method, time_limit_s, int(seed), on_infeasible, t_start)


def _index_graph(G: nx.Graph, spec: LimitSpec, opts: _Options) -> _Run:
    """Compounds by position (ids sorted as text), their limited values, x/y, neighbours."""
    out_nodes = list(G.nodes)
    order = sorted(out_nodes, key=str)
    index = {v: i for i, v in enumerate(order)}
    xy = node_xy(G, order)
    if np.isnan(xy).any():
        bad = [order[i] for i in np.flatnonzero(np.isnan(xy).any(axis=1))[:SHOW_IDS]]
        warnings.warn(f"{int(np.isnan(xy).any(axis=1).sum())} compound(s) lack numeric x/y, "
                      f"e.g. {bad}; compactness treats them as (0, 0).",
                      SpatialRenoWarning, stacklevel=3)
        xy = np.nan_to_num(xy)
    nbrs = [sorted(index[u] for u in G.adj[v] if u != v) for v in order]
    return _Run(G=G, spec=spec, opts=opts, out_nodes=out_nodes, order=order, index=index,
                W=node_values(G, order, spec), xy=xy, nbrs=nbrs)


def _add_locks(run: _Run, locked: Mapping[Hashable, Hashable] | None) -> None:
    """Locked packages: fixed as given, checked for contiguity and every limit."""
    order, spec = run.order, run.spec
    for cid, lab in dict(locked or {}).items():
        if cid not in run.index:
            raise ConfigError(f"`locked` names compound {cid!r}, which is not in the graph.")
        run.lock_of[run.index[cid]] = lab
    lock_groups: dict[Hashable, list[int]] = {}
    for i in sorted(run.lock_of):
        lock_groups.setdefault(run.lock_of[i], []).append(i)
    for lab in sorted(lock_groups, key=str):
        mem = lock_groups[lab]
        pieces = _parts(run.nbrs, mem)
        if len(pieces) > 1:
            desc = " and ".join(_ids(order, p, 3) for p in pieces[:3])
            run.add_problem(
                lab, order[pieces[1][0]], "contiguity", len(pieces), 1,
                f"locked package {lab!r} is not connected: its compounds form {len(pieces)} "
                f"separate groups, {desc}",
                "lock the groups under different labels, or also lock the compounds that "
                "join them")
        sums = run.W[mem].sum(axis=0)
        for j, name in enumerate(spec.names):
            for which, bad, bound in (("max", sums[j] > spec.hi[j] + SUM_TOL, spec.hi[j]),
                                      ("min", sums[j] < spec.lo[j] - SUM_TOL, spec.lo[j])):
                if bad:
                    run.add_problem(
                        lab, order[mem[0]], f"{name} {which}", float(sums[j]), float(bound),
                        f"locked package {lab!r} {_ids(order, mem, 3)} has {name}="
                        f"{_fmt(sums[j])}, {'above' if which == 'max' else 'below'} "
                        f"{which} {_fmt(bound)}",
                        f"relax the {name} {which} or change the lock")
        run.packages.append((mem, lab))
        run.solver.append({"component": order[mem[0]], "n_compounds": len(mem),
                           "method": "locked", "status": "locked", "n_packages": 1,
                           "lower_bound": 1, "gap": 0.0, "seconds": 0.0})


def _add_links(run: _Run, must_link, cannot_link) -> None:
    """Must-link groups (union-find) and cannot-link pairs, with their direct conflicts."""
    order, index, lock_of = run.order, run.index, run.lock_of
    node_set = run.node_set
    ml = _pairs("must_link", must_link, node_set)
    run.cannot = _pairs("cannot_link", cannot_link, node_set)
    uf = _UnionFind(run.n)
    for a, b in ml:
        uf.union(index[a], index[b])
    for a, b in ml:
        for c in (index[a], index[b]):
            run.group_members.setdefault(uf.find(c), [])
    for i in range(run.n):
        r = uf.find(i)
        if r in run.group_members:
            run.group_members[r].append(i)
    for mem in run.group_members.values():
        labs = {lock_of.get(i) for i in mem}
        if len(labs) > 1:
            desc = ", ".join(f"{order[i]!r}->{lock_of.get(i)!r}" for i in mem[:6])
            run.add_problem(
                None, order[mem[0]], "must_link", None, None,
                f"must_link joins compounds with different locks ({desc}; None = unlocked); "
                "locked packages take no other compound",
                "drop the must_link pair or lock all of them under one label")
    for a, b in run.cannot:
        ia, ib = index[a], index[b]
        if ia == ib or uf.find(ia) == uf.find(ib) and uf.find(ia) in run.group_members:
            run.add_problem(None, a, "cannot_link", None, None,
                            f"cannot_link pair ({a!r}, {b!r}) is also must-linked",
                            "drop one of the two constraints")
        elif ia in lock_of and ib in lock_of and lock_of[ia] == lock_of[ib]:
            run.add_problem(lock_of[ia], a, "cannot_link", None, None,
                            f"cannot_link pair ({a!r}, {b!r}) is locked in the same "
                            f"package {lock_of[ia]!r}",
                            "drop the pair or change the lock")


def _split_components(run: _Run) -> None:
    """Connected components of the free (unlocked) compounds; isolated compounds become
    flagged packages, and a component no plan can satisfy is marked bad."""
    order, lock_of = run.order, run.lock_of
    free = [i for i in range(run.n) if i not in lock_of]
    free_set = set(free)
    run.free_nbrs = [[u for u in run.nbrs[i] if u in free_set] if i in free_set else []
                     for i in range(run.n)]
    run.comps = _parts(run.free_nbrs, free)
    run.comp_of = np.full(run.n, -1)
    for c, mem in enumerate(run.comps):
        run.comp_of[mem] = c
    for mem in run.group_members.values():
        cs = sorted({int(run.comp_of[i]) for i in mem if run.comp_of[i] >= 0})
        if len(cs) > 1:
            desc = " and ".join(_ids(order, run.comps[c], 3) for c in cs[:3])
            run.add_problem(
                None, order[mem[0]], "must_link", None, None,
                f"must_link compounds {_ids(order, mem, 4)} lie in different connected "
                f"components {desc}; no connected package can hold them"
                + (" (locked packages cut them apart)" if lock_of else ""),
                "drop the pair, or connect the components (adjacency tolerance, barriers)")
            run.bad_comp.update(cs)
    for c, mem in enumerate(run.comps):
        if len(mem) == 1 and not run.nbrs[mem[0]]:
            _add_isolated(run, mem[0])
            continue
        before = len(run.problems)
        _check_component(run, c, mem)
        if len(run.problems) > before:
            run.bad_comp.add(c)
        run.work.append((c, mem))


def _add_isolated(run: _Run, i: int) -> None:
    cid = run.order[i]
    run.isolated.append(cid)
    run.packages.append(([i], None))
    run.add_problem(
        None, cid, "isolated", None, None,
        f"compound {cid!r} has no neighbour in the graph; it forms its own package",
        "check the adjacency tolerance or barriers, or accept the single-compound package",
        flag=True)
    run.solver.append({"component": cid, "n_compounds": 1, "method": "none",
                       "status": "isolated", "n_packages": 1, "lower_bound": 1,
                       "gap": 0.0, "seconds": 0.0})


def _check_component(run: _Run, c: int, mem: list[int]) -> None:
    """Problems that make a component infeasible before any search: a compound above a
    max, a component total below a min, must-linked compounds above a max together."""
    order, spec, W, lock_of = run.order, run.spec, run.W, run.lock_of
    sub = W[mem]
    for j, name in enumerate(spec.names):
        for k in np.flatnonzero(sub[:, j] > spec.hi[j] + SUM_TOL):
            i = mem[k]
            run.add_problem(
                None, order[i], f"{name} max", float(W[i, j]), float(spec.hi[j]),
                f"compound {order[i]!r} has {name}={_fmt(W[i, j])}, above max "
                f"{_fmt(spec.hi[j])}; no package can hold it",
                f"raise the {name} max to at least {_fmt(W[i, j])} or split the compound")
        tot = float(sub[:, j].sum())
        if tot < spec.lo[j] - SUM_TOL:
            near = sorted({lock_of[u] for i in mem for u in run.nbrs[i] if u in lock_of},
                          key=str)
            cut = f" (cut off by locked packages {near[:4]})" if near else ""
            run.add_problem(
                None, order[mem[0]], f"{name} min", tot, float(spec.lo[j]),
                f"connected component of {len(mem)} compound(s) {_ids(order, mem)} has "
                f"{name} total {_fmt(tot)}, below min {_fmt(spec.lo[j])}{cut}; no package "
                "inside it can reach the min",
                f"lower the {name} min to {_fmt(tot)} or connect this component to its "
                "neighbours (adjacency tolerance, barriers)")
    for g in run.group_members.values():
        if run.comp_of[g[0]] == c and all(run.comp_of[i] == c for i in g):
            s = W[g].sum(axis=0)
            for j, name in enumerate(spec.names):
                if s[j] > spec.hi[j] + SUM_TOL:
                    run.add_problem(
                        None, order[g[0]], f"{name} max", float(s[j]), float(spec.hi[j]),
                        f"must-linked compounds {_ids(order, g)} have {name}="
                        f"{_fmt(s[j])} together, above max {_fmt(spec.hi[j])}",
                        f"drop a must_link pair or raise the {name} max")


def _solve_components(run: _Run) -> dict[int, int]:
    """Solve every component (bad ones only in report mode); package count per component."""
    counts: dict[int, int] = {}
    for c, mem in run.work:
        if c in run.bad_comp and run.opts.on_infeasible == "raise":
            continue
        counts[c] = _solve_component(run, c, mem, None, c in run.bad_comp)
    return counts


@dataclass
class _Component:
    """One component in local numbering, with its must-link units for the heuristic."""

    c: int
    mem: list[int]
    nbrs: list[list[int]]
    W: np.ndarray
    xy: np.ndarray
    groups: list[list[int]]
    pairs: list[tuple[int, int]]
    seed: int
    unit_of: list[int]
    units: list[list[int]]
    conflicts: list[set[int]] | None = None

    def heuristic(self, run: _Run, k_target: int | None):
        uW = np.array([self.W[u].sum(axis=0) for u in self.units])
        uxy = np.array([self.xy[u].mean(axis=0) for u in self.units])
        unbrs = [sorted({self.unit_of[y] for x in u for y in self.nbrs[x]} - {k})
                 for k, u in enumerate(self.units)]
        return solve_heuristic(unbrs, uW, uxy, run.spec, conflicts=self.conflicts,
                               objective=run.opts.objective, k_target=k_target,
                               seed=self.seed, time_budget_s=run.budget(len(self.mem)))


def _local(run: _Run, c: int, mem: list[int], use_exact: bool) -> _Component:
    loc = {g: i for i, g in enumerate(mem)}
    lnbrs = [[loc[u] for u in run.free_nbrs[g]] for g in mem]
    groups = [[loc[i] for i in g] for g in run.group_members.values()
              if all(run.comp_of[i] == c for i in g)]
    pairs = [(loc[run.index[a]], loc[run.index[b]]) for a, b in run.cannot
             if run.comp_of[run.index[a]] == c and run.comp_of[run.index[b]] == c]
    unit_of, units = _units(lnbrs, groups)
    comp = _Component(c, mem, lnbrs, run.W[mem], run.xy[mem], groups, pairs,
                      _component_seed(run.opts.seed, run.order[mem[0]]), unit_of, units)
    if pairs:
        comp.conflicts = [set() for _ in units]
        for a, b in pairs:
            ua, ub = unit_of[a], unit_of[b]
            if ua == ub and not use_exact:
                run.add_problem(
                    None, run.order[mem[a]], "cannot_link", None, None,
                    f"cannot_link pair ({run.order[mem[a]]!r}, {run.order[mem[b]]!r}) lies "
                    "on the chain that joins must-linked compounds",
                    "drop one constraint or use method='exact' on a small component")
                run.bad_comp.add(c)
            elif ua != ub:
                comp.conflicts[ua].add(ub)
                comp.conflicts[ub].add(ua)
    return comp


def _solve_component(run: _Run, c: int, mem: list[int], k_target: int | None,
                     report_only: bool) -> int:
    """Heuristic first; the MILP where the method asks for it and the bound is not met."""
    t0 = time.perf_counter()
    method = run.opts.method
    use_exact = not report_only and (
        method == "exact" or (method == "auto" and len(mem) <= AUTO_EXACT_MAX_NODES))
    comp = _local(run, c, mem, use_exact)
    row: dict[str, object] = {"component": run.order[mem[0]], "n_compounds": len(mem),
                              "lower_bound": lower_bound(comp.W, run.spec), "gap": None}
    res_h = comp.heuristic(run, k_target)
    if (use_exact and method == "auto" and run.opts.objective == "fewest" and not k_target
            and res_h.violation <= SUM_TOL and res_h.n_packages == res_h.lower_bound):
        use_exact = False  # the count is proven optimal by the bound; no MILP needed
    if use_exact:
        decided = _try_exact(run, comp, res_h, k_target, row, t0)
        if decided is not None:
            return decided
        res_h = comp.heuristic(run, k_target)
    return _take_heuristic(run, comp, res_h, k_target, row, t0)


def _try_exact(run: _Run, comp: _Component, res_h, k_target: int | None,
               row: dict[str, object], t0: float) -> int | None:
    """Run the MILP; the package count when it decided the component, else None (the
    heuristic's plan stands)."""
    method, order, mem = run.opts.method, run.order, comp.mem
    inc = res_h.labels[np.asarray(comp.unit_of)] if res_h.violation <= SUM_TOL else None
    t = run.budget(len(mem))
    if method == "auto":
        # counted budgets only; a wall clock only when the user set time_limit_s
        extra: dict[str, object] = {
            "max_candidates": AUTO_MAX_CANDIDATES, "node_limit": AUTO_NODE_LIMIT,
            "stage2_node_limit": AUTO_NODE_LIMIT, "presolve": False}
        t_exact = t
    else:
        extra = {}
        t_exact = EXACT_TIME_LIMIT_S if t is None else t
    res = solve_exact(comp.nbrs, comp.W, comp.xy, run.spec, groups=comp.groups,
                      cannot_pairs=comp.pairs, objective=run.opts.objective,
                      k_target=k_target, time_limit_s=t_exact, incumbent=inc, **extra)
    if res.labels is not None:
        run.results[comp.c] = (res.labels, res.n_packages or 0)
        row.update(method="exact", status=res.status, n_packages=res.n_packages,
                   gap=res.gap, objective_gap=res.objective_gap,
                   seconds=time.perf_counter() - t0)
        if res.bound is not None and np.isfinite(res.bound):
            row["lower_bound"] = int(np.ceil(res.bound - 1e-6))
        run.solver.append(row)
        return res.n_packages or 0
    if res.status == "infeasible":
        _add_exact_infeasible(run, comp, res, k_target)
        run.bad_comp.add(comp.c)
        if run.opts.on_infeasible == "raise":
            row.update(method="exact", status="infeasible", n_packages=None,
                       seconds=time.perf_counter() - t0)
            run.solver.append(row)
            return 0
    elif method == "exact":
        warnings.warn(
            f"exact solver gave up on the component of {len(mem)} compounds "
            f"{_ids(order, mem, 3)} ({res.status}); using the heuristic.",
            SpatialRenoWarning, stacklevel=5)
    return None


def _add_exact_infeasible(run: _Run, comp: _Component, res, k_target: int | None) -> None:
    order, mem = run.order, comp.mem
    if res.uncovered:
        for i in res.uncovered[:10]:
            run.add_problem(
                None, order[mem[i]], "all limits", None, None,
                f"compound {order[mem[i]]!r} fits in no connected package that "
                f"keeps every limit ({_limits_text(run.spec)}"
                f"{', must_link, cannot_link' if comp.groups or comp.pairs else ''}); "
                "its neighbours are too small to reach a min or too big to stay "
                "under a max",
                "lower a min or raise a max around this compound")
    else:
        what = f"exactly {k_target} packages" if k_target else "a plan"
        run.add_problem(
            None, order[mem[0]], "all limits", None, None,
            f"connected component of {len(mem)} compound(s) {_ids(order, mem)} "
            f"has no partition into {what} that keeps every limit (proven by "
            "the exact solver)",
            "relax a min or a max" + (" or change target_packages" if k_target else ""))


def _take_heuristic(run: _Run, comp: _Component, res_h, k_target: int | None,
                    row: dict[str, object], t0: float) -> int:
    order, mem, c = run.order, comp.mem, comp.c
    run.results[c] = (res_h.labels[np.asarray(comp.unit_of)], res_h.n_packages)
    ok = res_h.violation <= SUM_TOL
    status = "heuristic" if ok else "violations"
    if ok and res_h.n_packages == res_h.lower_bound and not k_target:
        status = "optimal"
    row.update(method="heuristic", status=status, n_packages=res_h.n_packages,
               seconds=time.perf_counter() - t0)
    if not ok and c not in run.bad_comp:
        run.bad_comp.add(c)
        run.add_problem(
            None, order[mem[0]], "all limits", None, None,
            f"the heuristic found no plan keeping every limit for the component of "
            f"{len(mem)} compounds {_ids(order, mem)} (not a proof of infeasibility); "
            "see the package rows",
            "relax the tightest limits, or try method='exact' / another seed")
    run.solver.append(row)
    return res_h.n_packages


def _meet_target(run: _Run, counts: dict[int, int], target: int) -> None:
    """Re-solve components with more packages until the plan has ``target`` in total, or
    report why the target cannot be met."""
    spec, W = run.spec, run.W
    fixed = len(run.packages)
    have = fixed + sum(counts.values())
    caps = {}
    for c, mem in run.work:
        cap = len(mem)
        for j in range(len(spec.names)):
            if np.isfinite(spec.lo[j]) and spec.lo[j] > 0:
                cap = min(cap, int(W[mem, j].sum() // spec.lo[j]))
        caps[c] = max(cap, counts.get(c, 0))
    most = fixed + sum(caps[c] for c, _ in run.work if c in counts)
    if target < have or target > most:
        side = "fewest" if target < have else "most"
        run.add_problem(
            None, None, "target_packages", float(target),
            float(have if target < have else most),
            f"target_packages={target} but the plan needs at least {have} "
            f"packages ({fixed} locked/isolated)" if target < have else
            f"target_packages={target} but the mins allow at most {most} packages",
            f"set target_packages to the {side} feasible count or relax the limits")
        return
    want = dict(counts)
    extra = target - have
    while extra > 0:
        c = max((c for c in want if want[c] < caps[c]),
                key=lambda c: (len(run.comps[c]) / (want[c] + 1), -c))
        want[c] += 1
        extra -= 1
    for c, mem in run.work:
        if c in want and want[c] != counts[c]:
            first = run.order[mem[0]]
            run.solver[:] = [r for r in run.solver if r["component"] != first]
            counts[c] = _solve_component(run, c, mem, want[c], c in run.bad_comp)


def _collect_packages(run: _Run) -> None:
    for c, mem in run.work:
        if c in run.results:
            lab, _ = run.results[c]
            for p in range(int(lab.max()) + 1):
                members = [mem[i] for i in np.flatnonzero(lab == p)]
                if members:
                    run.packages.append((members, None))
        elif run.opts.on_infeasible == "report":
            run.packages.append((mem, None))


def _package_ids(run: _Run) -> np.ndarray:
    """Stable ids: a locked label stays; others ``<prefix>-<smallest member>`` (``~2``...)."""
    pid = np.empty(run.n, dtype=object)
    pid[:] = None
    taken: set[str] = {str(lab) for _, lab in run.packages if lab is not None}
    for members, lab in run.packages:
        if lab is not None:
            name = lab
        else:
            name = package_id_for(run.G, [run.order[i] for i in members])
            base, k = name, 2
            while name in taken:
                name = f"{base}~{k}"
                k += 1
            taken.add(name)
        pid[members] = name
    return pid


def _result(run: _Run) -> PartitionResult:
    """Ids, the isolated warning, the error in raise mode, else the PartitionResult."""
    pid = _package_ids(run)
    flagged = [p for p in run.problems if p.pop("_flag", False)]
    blocking = [p for p in run.problems if p not in flagged]
    if run.isolated:
        warnings.warn(f"{len(run.isolated)} isolated compound(s) form their own packages: "
                      f"{run.isolated[:SHOW_ISOLATED]}", SpatialRenoWarning, stacklevel=3)
    if blocking and run.opts.on_infeasible == "raise":
        frame = violations_frame(blocking)
        lines = "\n".join(f"- {r['problem']}. Fix: {r['fix']}."
                          for r in blocking[:SHOW_PROBLEMS])
        more = (f"\n... and {len(blocking) - SHOW_PROBLEMS} more (see .violations)"
                if len(blocking) > SHOW_PROBLEMS else "")
        raise InfeasiblePackagingError(
            f"partition_packages: no plan keeps every limit ({len(blocking)} problem(s)):\n"
            f"{lines}{more}", violations=frame)
    by_index = pd.Series(pid, index=pd.Index(run.order, name="compound_id"))
    labels = by_index.reindex(pd.Index(run.out_nodes, name="compound_id")).astype(object)
    labels.name = "package_id"
    final = check_plan(run.G, labels, run.spec)
    for p in blocking:
        p["package_id"] = p["package_id"] if p["package_id"] is not None else (
            labels.get(p["compound_id"]) if p["compound_id"] in run.index else None)
    for p in flagged:
        p["package_id"] = labels.get(p["compound_id"])
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in [*flagged, *blocking, *final.to_dict("records")]]
    return PartitionResult(labels=labels, violations=violations_frame(records),
                           solver_report=solver_frame(run.solver), limits=run.spec.as_dict(),
                           objective=run.opts.objective, seed=run.opts.seed)


def _blocks(problems: list[dict[str, object]]) -> bool:
    """Whether any problem row (other than an isolated-compound flag) exists."""
    return any(not p.get("_flag") for p in problems)


def _limits_text(spec: LimitSpec) -> str:
    parts = []
    for j, name in enumerate(spec.names):
        lo = spec.lo[j]
        hi = spec.hi[j]
        if np.isfinite(lo) or np.isfinite(hi):
            parts.append(f"{name} {_fmt(lo) if np.isfinite(lo) else '-'}.."
                         f"{_fmt(hi) if np.isfinite(hi) else '-'}")
    return ", ".join(parts)


def _units(nbrs: list[list[int]], groups: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Join must-link groups (through shortest chains when they do not touch) into units."""
    n = len(nbrs)
    uf = _UnionFind(n)
    allowed = set(range(n))
    for g in groups:
        pieces = _parts(nbrs, g)
        joined = set(pieces[0])
        for piece in pieces[1:]:
            path = _bfs_path(nbrs, allowed, joined, set(piece))
            joined |= set(path) | set(piece)
        members = sorted(joined)
        for x in members[1:]:
            uf.union(members[0], x)
    roots: dict[int, int] = {}
    unit_of = [0] * n
    units: list[list[int]] = []
    for i in range(n):
        r = uf.find(i)
        if r not in roots:
            roots[r] = len(units)
            units.append([])
        unit_of[i] = roots[r]
        units[roots[r]].append(i)
    return unit_of, units
