"""Exact packaging of a small component: set partitioning on scipy's HiGHS MILP.

Every connected set of compounds that keeps every limit is a candidate package
(enumerated once each with Wernicke's ESU scheme, pruned by the caps since all
limited values are non-negative). The MILP picks candidates that cover every compound
exactly once:

* stage 1 minimises the number of packages (or fixes it to ``k_target``) and proves
  the optimum, or reports the dual bound and gap at the time limit;
* stage 2 fixes that count and minimises the total compactness (sum of member
  distances to the package medoid, metres) or, for ``objective="balanced"``, the
  sum of absolute deviations of the balanced total from its mean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from spatialreno._highs import HIGHS_QUIET, milp_stop
from spatialreno.partition.limits import LimitSpec

__all__ = ["ExactResult", "enumerate_candidates", "solve_exact", "medoid_sums"]

_EPS = 1e-9


@dataclass
class ExactResult:
    """Outcome of :func:`solve_exact` on one component.

    ``status`` is ``"optimal"``, ``"time_limit"`` or ``"node_limit"`` (feasible plan,
    ``gap`` open; the wall clock or the node budget stopped the MILP),
    ``"infeasible"`` (proven: no plan exists). ``gap`` is the relative gap on the
    package count (0 when proven); ``objective_gap`` the relative gap of the second
    stage (compactness or balance) at its time limit, ``"no_plan_found"`` (time limit
    without a plan) or ``"too_many_candidates"`` (enumeration budget exceeded).
    """

    labels: np.ndarray | None
    status: str
    n_packages: int | None = None
    bound: float | None = None
    gap: float | None = None
    n_candidates: int = 0
    seconds: float = 0.0
    uncovered: list[int] = field(default_factory=list)
    objective_gap: float | None = None


def enumerate_candidates(
    nbrs: list[list[int]], W: np.ndarray, hi: np.ndarray, max_candidates: int,
    deadline: float | None = None,
) -> list[tuple[int, ...]] | None:
    """All connected node sets whose sums stay within ``hi``; ``None`` past the budget
    (``max_candidates`` sets, or the ``time.perf_counter()`` ``deadline``)."""
    n = len(nbrs)
    rows = [tuple(float(x) for x in r) for r in W]
    cap = tuple(float(h) + _EPS for h in hi)
    m = len(cap)
    nbr_sets = [set(x) for x in nbrs]
    out: list[tuple[int, ...]] = []

    class _Budget(Exception):
        pass

    def fits(s: tuple[float, ...]) -> bool:
        return all(s[j] <= cap[j] for j in range(m))

    def extend(v: int, sub: list[int], s: tuple[float, ...], ext: list[int],
               closed: set[int]) -> None:
        out.append(tuple(sub))
        if len(out) > max_candidates or (
                deadline is not None and not len(out) % 1024 and time.perf_counter() > deadline):
            raise _Budget
        ext = list(ext)
        while ext:
            w = ext.pop()
            rw = rows[w]
            s2 = tuple(s[j] + rw[j] for j in range(m))
            if not fits(s2):
                continue
            new_ext = ext + [u for u in nbrs[w] if u > v and u not in closed]
            extend(v, [*sub, w], s2, new_ext, closed | nbr_sets[w])

    try:
        for v in range(n):
            if not fits(rows[v]):
                continue
            extend(v, [v], rows[v], [u for u in nbrs[v] if u > v], nbr_sets[v] | {v})
    except _Budget:
        return None
    return out


def medoid_sums(xy: np.ndarray, sets: list[tuple[int, ...]]) -> np.ndarray:
    """Sum of member distances to the medoid for each node set (metres), vectorised by size."""
    out = np.zeros(len(sets))
    sizes = np.fromiter((len(s) for s in sets), int, len(sets))
    for size in np.unique(sizes):
        if size < 2:
            continue
        pick = np.flatnonzero(sizes == size)
        for chunk in np.array_split(pick, max(1, len(pick) * size * size // 2_000_000 + 1)):
            idx = np.array([sets[i] for i in chunk], dtype=np.int64)
            pts = xy[idx]  # (c, s, 2)
            d = np.sqrt(((pts[:, :, None, :] - pts[:, None, :, :]) ** 2).sum(axis=-1))
            out[chunk] = d.sum(axis=2).min(axis=1)
    return out


def _run(c: np.ndarray, cons: list[LinearConstraint], time_limit: float | None,
         node_limit: int | None = None, presolve: bool | None = None):
    """One MILP on HiGHS. ``node_limit`` (branch-and-bound nodes) is a count, so the result
    does not depend on how busy the machine is; ``time_limit`` (seconds) is only passed when
    the caller asked for a wall clock."""
    options: dict[str, object] = {
        **HIGHS_QUIET, "presolve": len(c) <= 30_000 if presolve is None else bool(presolve)}
    if time_limit is not None:
        options["time_limit"] = max(0.1, float(time_limit))
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    return milp(c, integrality=np.ones_like(c), bounds=Bounds(0, 1), constraints=cons,
                options=options)


def solve_exact(
    nbrs: list[list[int]],
    W: np.ndarray,
    xy: np.ndarray,
    spec: LimitSpec,
    *,
    groups: list[list[int]] | None = None,
    cannot_pairs: list[tuple[int, int]] | None = None,
    objective: str = "fewest",
    k_target: int | None = None,
    time_limit_s: float | None = None,
    max_candidates: int = 300_000,
    incumbent: np.ndarray | None = None,
    stage2_limit_s: float = 10.0,
    node_limit: int | None = None,
    stage2_node_limit: int | None = None,
    presolve: bool | None = None,
) -> ExactResult:
    """Solve one connected component to proven optimality (or report the gap).

    Parameters
    ----------
    nbrs, W, xy, spec
        Adjacency lists, limited values ``(n, m)``, positions ``(n, 2)``, limits.
    groups : list of list of int, optional
        must-link groups: a package holds all or none of each group.
    cannot_pairs : list of (int, int), optional
        Pairs that may not share a package.
    objective : {"fewest", "balanced"}
    k_target : int, optional
        Exact number of packages.
    time_limit_s : float, optional
        Wall-clock limit for the enumeration and the two MILP stages together; default
        none (then the result depends only on the input and the counted budgets below).
    max_candidates : int
        Enumeration budget; beyond it the result is ``"too_many_candidates"``.
    node_limit, stage2_node_limit : int, optional
        Branch-and-bound node budget of stage 1 / stage 2 (counted, reproducible); when
        stage 1 reaches it the status is ``"node_limit"`` with the gap.
    presolve : bool, optional
        HiGHS presolve; default on up to 30,000 candidates. On the small, dense set
        partitioning models of ``method="auto"`` it costs more than it saves (off: 0.7 s
        instead of 6 s on a 19-compound component with 4,000 candidates).
    incumbent : numpy.ndarray, optional
        A known feasible plan (package label per node, e.g. from the heuristic). Its
        value is the upper bound of LP reduced-cost fixing, which drops every candidate
        that cannot be part of a better plan; the MILP then proves the optimum on the
        remaining columns.
    stage2_limit_s : float
        Cap in seconds on the compactness / balance stage when ``time_limit_s`` is set;
        its gap is ``objective_gap``.

    Returns
    -------
    ExactResult
    """
    clock = _Clock(time.perf_counter(), time_limit_s)
    model = _candidate_model(nbrs, W, spec, groups, cannot_pairs, max_candidates, clock)
    if isinstance(model, ExactResult):
        return model
    inc = model.incumbent_columns(incumbent)
    if k_target is None:
        first = _fewest_packages(model, inc, clock, node_limit, presolve)
        if isinstance(first, ExactResult):
            return first
    else:
        k = int(k_target)
        first = _StageOne(k, None, None, None, "optimal")
        if inc is not None and int(inc.sum()) != k:
            inc = None
    second = _best_layout(model, first, inc, xy, W, spec, objective, k_target is not None, clock,
                          stage2_limit_s, stage2_node_limit, presolve)
    if isinstance(second, ExactResult):
        return second
    x, status, objective_gap = second
    if x is None:
        return model.failed("no_plan_found", clock)
    chosen = sorted(np.flatnonzero(x > 0.5), key=lambda i: min(model.cands[i]))
    labels = np.full(model.n, -1, dtype=np.int64)
    for p, i in enumerate(chosen):
        labels[list(model.cands[i])] = p
    return ExactResult(labels, status, n_packages=len(chosen), bound=first.bound, gap=first.gap,
                       n_candidates=model.C, seconds=clock.elapsed(),
                       objective_gap=objective_gap)


#: a numerical slack on LP objective values and reduced costs
_LP_TOL = 1e-7
#: the second stage runs only when at least this many seconds of a time limit are left
_STAGE2_MIN_S = 0.2


@dataclass(frozen=True)
class _Clock:
    """The optional wall-clock limit of one :func:`solve_exact` call."""

    t0: float
    limit_s: float | None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        return None if self.limit_s is None else self.limit_s - self.elapsed()

    @property
    def deadline(self) -> float | None:
        return None if self.limit_s is None else self.t0 + self.limit_s


@dataclass
class _Model:
    """The candidate packages that keep every limit, as a set-partitioning matrix:
    ``A`` (candidates × compounds), ``At`` its transpose, ``sums`` the limited totals."""

    n: int
    cands: list[tuple[int, ...]]
    A: sp.csr_matrix
    At: sp.csr_matrix
    sums: np.ndarray

    @property
    def C(self) -> int:
        return len(self.cands)

    def failed(self, status: str, clock: _Clock, **kw) -> ExactResult:
        return ExactResult(None, status, n_candidates=self.C, seconds=clock.elapsed(), **kw)

    def incumbent_columns(self, incumbent: np.ndarray | None) -> np.ndarray | None:
        """The candidate indicator vector of a known plan, when every one of its packages
        is a candidate."""
        if incumbent is None:
            return None
        lookup = {tuple(sorted(c)): i for i, c in enumerate(self.cands)}
        cols = [lookup.get(tuple(np.flatnonzero(incumbent == p).tolist()))
                for p in np.unique(incumbent)]
        if any(c is None for c in cols):
            return None
        inc = np.zeros(self.C)
        inc[cols] = 1.0
        return inc


def _candidate_model(nbrs, W, spec, groups, cannot_pairs, max_candidates,
                     clock: _Clock) -> _Model | ExactResult:
    """Enumerate the candidates, keep those within the limits, must-link and cannot-link."""
    n = len(nbrs)
    cands = enumerate_candidates(nbrs, W, spec.hi, max_candidates, clock.deadline)
    if cands is None:
        out_of_time = clock.deadline is not None and time.perf_counter() > clock.deadline
        return ExactResult(None, "time_limit" if out_of_time else "too_many_candidates",
                           n_candidates=max_candidates, seconds=clock.elapsed())
    lens = np.fromiter((len(c) for c in cands), int, len(cands))
    rows = np.repeat(np.arange(len(cands)), lens)
    cols = np.fromiter((v for c in cands for v in c), int, int(lens.sum()))
    A = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(cands), n))
    sums = A @ W
    keep = ((sums >= spec.lo - _EPS) & (sums <= spec.hi + _EPS)).all(axis=1)
    for g in groups or []:
        inside = np.asarray(A[:, g].sum(axis=1)).ravel()
        keep &= (inside == 0) | (inside == len(g))
    for a, b in cannot_pairs or []:
        keep &= np.asarray(A[:, [a, b]].sum(axis=1)).ravel() < 2
    idx = np.flatnonzero(keep)
    A = A[idx]
    model = _Model(n, [cands[i] for i in idx], A, A.T.tocsr(), sums[idx])
    covered = np.asarray(A.sum(axis=0)).ravel() > 0
    if not covered.all():
        return model.failed("infeasible", clock,
                            uncovered=[int(i) for i in np.flatnonzero(~covered)])
    return model


@dataclass(frozen=True)
class _StageOne:
    """Stage 1's outcome: the package count ``k``, a plan ``x`` with it (or None), the
    bound and gap on the count, and the status."""

    k: int
    x: np.ndarray | None
    bound: float | None
    gap: float | None
    status: str


def _fewest_packages(model: _Model, inc, clock: _Clock, node_limit,
                     presolve) -> _StageOne | ExactResult:
    """Stage 1: the fewest packages, proven by the LP bound and the MILP (with reduced-cost
    fixing against the incumbent's count)."""
    ones = np.ones(model.C)
    lp = linprog(ones, A_eq=model.At, b_eq=np.ones(model.n), bounds=(0, None), method="highs")
    if lp.status == 2:
        return model.failed("infeasible", clock)
    z = float(lp.fun)
    lb = int(np.ceil(z - 1e-6))
    ub = int(inc.sum()) if inc is not None else None
    if ub is not None and ub == lb:
        return _StageOne(ub, inc, float(lb), 0.0, "optimal")
    rc = ones - model.A @ lp.eqlin.marginals
    goal = (ub - 1) if ub is not None else model.n
    sel = np.flatnonzero(rc <= goal - z + _LP_TOL)
    res = _run(ones[sel], [LinearConstraint(model.At[:, sel], 1, 1),
                           LinearConstraint(np.ones((1, len(sel))), 0, goal)], clock.left(),
               node_limit, presolve)
    limit_status = "node_limit" if milp_stop(res) == "node_limit" else "time_limit"
    bound, status = float(lb), "optimal"
    if res.x is not None:
        x = np.zeros(model.C)
        x[sel] = res.x
        k = round(res.fun)
        if res.status != 0:
            status = limit_status
            bound = max(float(lb), float(getattr(res, "mip_dual_bound", lb)))
    elif res.status == 2 and ub is not None:
        k, x, bound = ub, inc, float(ub)
    elif res.status == 2:
        return model.failed("infeasible", clock)
    elif ub is not None:
        k, x, status = ub, inc, limit_status
    else:
        return model.failed("no_plan_found", clock)
    gap = 0.0 if status == "optimal" else (k - bound) / k
    return _StageOne(k, x, float(k) if status == "optimal" else bound, gap, status)


def _layout_cost(model: _Model, xy, W, spec, objective: str, k: int) -> np.ndarray:
    """Stage 2's cost per candidate: compactness, or the deviation from the mean total."""
    comp = medoid_sums(xy, model.cands)
    if objective != "balanced":
        return comp
    mean = float(W[:, spec.balance_col].sum()) / k
    return np.abs(model.sums[:, spec.balance_col] - mean) + 1e-6 * comp / max(1.0, comp.max())


def _best_layout(model: _Model, first: _StageOne, inc, xy, W, spec, objective, fixed_k: bool,
                 clock: _Clock, stage2_limit_s, stage2_node_limit, presolve):
    """Stage 2: with the count fixed, the most compact (or balanced) plan. Returns
    ``(x, status, objective_gap)`` or a failed :class:`ExactResult`."""
    x, status, k = first.x, first.status, first.k
    t_left = clock.left()
    if not (t_left is None or t_left > _STAGE2_MIN_S or x is None):
        return x, status, None
    cost = _layout_cost(model, xy, W, spec, objective, k)
    if x is None and inc is not None:
        x = inc
    ones = np.ones(model.C)
    A_eq = sp.vstack([model.At, sp.csr_matrix(ones[None, :])]).tocsr()
    lp2 = linprog(cost, A_eq=A_eq, b_eq=np.r_[np.ones(model.n), k], bounds=(0, None),
                  method="highs")
    if lp2.status == 2:
        return model.failed("infeasible", clock) if fixed_k else (x, status, None)
    z2 = float(lp2.fun)
    ub2 = float(cost @ x) if x is not None else np.inf
    slack = _LP_TOL * max(1.0, abs(z2))
    if ub2 <= z2 + slack:
        return x, status, 0.0
    rc2 = cost - A_eq.T @ lp2.eqlin.marginals
    sel = np.flatnonzero(rc2 <= ub2 - z2 + slack)
    t2 = clock.left()
    t2 = None if t2 is None else min(t2, stage2_limit_s)
    res2 = _run(cost[sel], [LinearConstraint(model.At[:, sel], 1, 1),
                            LinearConstraint(np.ones((1, len(sel))), k, k)],
                t2, stage2_node_limit, presolve)
    objective_gap = 0.0
    if res2.status != 0 and (res2.x is not None or x is not None):
        best = min(float(res2.fun) if res2.x is not None else np.inf, ub2)
        dual = float(getattr(res2, "mip_dual_bound", z2) or z2)
        objective_gap = max(0.0, (best - max(z2, dual)) / max(abs(best), 1e-9))
    if res2.x is not None and (x is None or res2.fun < ub2):
        x = np.zeros(model.C)
        x[sel] = res2.x
    if res2.status not in (0, 2) and fixed_k:
        status = "node_limit" if milp_stop(res2) == "node_limit" else "time_limit"
    if x is None and fixed_k and res2.status == 2:
        return model.failed("infeasible", clock)
    return x, status, objective_gap
