"""Phase packages into years under yearly budgets, and report progress like the Wuhan reply.

::

    funded = sr.fund_packages(packages, graph=G, labels=labels)
    phased = sr.assign_phases(funded.packages, budgets={2025: 30_000, 2026: 30_000})
    summary = sr.progress_summary(compounds, phased.packages)
    print("\\n".join(sr.format_report(summary)))

:func:`assign_phases` gives every package a ``plan_year`` (or NA with the reason) so that no
year's budget is exceeded: year by year, the set of packages with the highest total priority
that the year's budget can pay for (an exact 0/1 knapsack solved with HiGHS through
``scipy.optimize.milp``), or optionally one programme over all years. The solver's budget is
a count of branch-and-bound nodes (``node_limit``), never a wall clock unless asked for.
:func:`progress_summary` counts compounds and households in the project library (项目库),
planned, started and completed, with money by source, by year; :func:`format_report` turns it
into the sentences of a progress report (共纳入项目库小区 … 个).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from . import schema
from ._contracts import require_frame, short_list
from ._highs import HIGHS_QUIET
from .costing import FUNDING_SOURCES
from .costing._config import _coerce, _Config, _Key
from .costing._money import FEN, fen, numeric
from .errors import ConfigError, DataError, SchemaError, SpatialRenoWarning

__all__ = [
    "PriorityWeights",
    "priority_scores",
    "assign_phases",
    "progress_summary",
    "format_report",
    "PhasingResult",
    "ProgressSummary",
    "TIE_VALUE",
    "NODE_LIMIT",
]

#: Value added to every package's priority in the phasing objective, so that a package
#: scored 0 is still funded when money is left, and between equal priority totals the plan
#: that funds more packages wins. It is the resolution of the 0–100 score (2 decimals).
TIE_VALUE = 0.01

_BUILD_YEAR_COLUMNS = ("build_year", "build_year_mean", "build_year_min")


# ======================================================================================
# priority
# ======================================================================================
@dataclass(frozen=True)
class PriorityWeights(_Config):
    """Weights of the package priority score (0–100); frozen, loadable from TOML.

    The score is a planner's default, not an official method (DOMAIN.md §6.6 lists the
    risk inputs it draws on). Each factor is normalised across the packages being phased:

    * ``gas_aged_m``: aged gas pipe metres ÷ the largest package's (safety first: the gas
      renewal plan of 2022 is the most urgent programme);
    * ``illegal_area_m2``: illegal-structure area ÷ the largest (拆违 opens fire lanes and
      unblocks pipes);
    * ``households``: households ÷ the largest (more people served);
    * ``build_year``: (newest − year) ÷ (newest − oldest), so the oldest package scores 1
      (the ``build_year`` column, else ``build_year_mean``, else ``build_year_min``).

    ``score = 100 × Σ wₖ·factorₖ / Σ wₖ`` over the factors whose column is present.
    Weights need not add up to 1.

    Examples
    --------
    >>> from spatialreno.phasing import PriorityWeights
    >>> PriorityWeights()
    PriorityWeights(gas_aged_m=0.35, illegal_area_m2=0.2, households=0.25, build_year=0.2)
    >>> PriorityWeights.from_dict({"households": 1.0}).households
    1.0
    """

    gas_aged_m: float = 0.35
    illegal_area_m2: float = 0.20
    households: float = 0.25
    build_year: float = 0.20

    _KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("gas_aged_m", "gas_aged_m", "weight", "planner's default (DOMAIN §6.6)"),
        _Key("illegal_area_m2", "illegal_area_m2", "weight", "planner's default"),
        _Key("households", "households", "weight", "planner's default"),
        _Key("build_year", "build_year", "weight", "planner's default"),
    )

    _WHAT: ClassVar[str] = "weights"

    def __post_init__(self):
        self._check_fields()
        if sum(getattr(self, k.field) for k in self._KEYS) <= 0:
            raise ConfigError("priority weights: at least one weight must be > 0")


def _priority(packages: pd.DataFrame, weights: PriorityWeights, stage: str) -> tuple[pd.Series, list[str]]:
    """The score and the notes on the factors left out or empty."""
    notes: list[str] = []
    parts: dict[str, np.ndarray] = {}
    year_col = next((c for c in _BUILD_YEAR_COLUMNS if c in packages.columns), None)
    for name in ("gas_aged_m", "illegal_area_m2", "households", "build_year"):
        col = year_col if name == "build_year" else name
        if getattr(weights, name) == 0:
            continue
        if col not in packages.columns:
            notes.append(f"no {name!r} column: left out of the priority score")
            continue
        x = numeric(packages, col, stage)
        empty = np.isnan(x)
        if empty.any():
            notes.append(f"{col} is empty for {short_list(packages.index[empty])}: scored 0 on it")
        if empty.all():
            parts[name] = np.zeros(len(x))
            continue
        lo, hi = np.nanmin(x), np.nanmax(x)
        if name == "build_year":  # older first: the oldest scores 1, the newest 0
            factor = (hi - x) / (hi - lo) if hi > lo else np.zeros(len(x))
        else:
            factor = x / hi if hi > 0 else np.zeros(len(x))
        parts[name] = np.nan_to_num(factor)
    wsum = sum(getattr(weights, k) for k in parts)
    if wsum == 0:
        score = np.zeros(len(packages))
    else:
        score = 100 * sum(getattr(weights, k) * v for k, v in parts.items()) / wsum
    return pd.Series(np.round(score, 2), index=packages.index, name="priority"), notes


def priority_scores(
    packages: pd.DataFrame, weights: PriorityWeights | Mapping | str | os.PathLike | None = None
) -> pd.Series:
    """Priority score 0–100 of every package (see :class:`PriorityWeights`).

    Parameters
    ----------
    packages : DataFrame
        With ``gas_aged_m``, ``illegal_area_m2``, ``households`` and a build-year column;
        a missing column leaves its factor out (with a :class:`SpatialRenoWarning`).
    weights : PriorityWeights, dict or TOML path, optional

    Returns
    -------
    Series named ``priority`` aligned to ``packages``, rounded to 0.01.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.phasing import priority_scores
    >>> pk = pd.DataFrame({"gas_aged_m": [100.0, 0.0], "illegal_area_m2": [0.0, 50.0],
    ...                    "households": [200, 100], "build_year": [1985, 1995]},
    ...                   index=pd.Index(["P1", "P2"], name="package_id"))
    >>> priority_scores(pk).tolist()
    [80.0, 32.5]
    """
    weights = _coerce(PriorityWeights, weights, "weights")
    packages = require_frame(packages, "packages", stage="priority_scores")
    score, notes = _priority(packages, weights, "priority_scores")
    if notes:
        warnings.warn("priority_scores: " + "; ".join(notes), SpatialRenoWarning, stacklevel=2)
    return score


# ======================================================================================
# assign_phases
# ======================================================================================
def _budgets(budgets, start_year) -> tuple[list[int], list[int], list[str]]:
    """→ (years ascending, budgets in 0.01 万元, notes)."""
    notes: list[str] = []
    if isinstance(budgets, Mapping):
        items = []
        for key, value in budgets.items():
            try:
                year = int(key)
            except (TypeError, ValueError):
                raise ConfigError(f"budgets: year {key!r} is not a year") from None
            if isinstance(key, float) and key != year:
                raise ConfigError(f"budgets: year {key!r} is not a whole year")
            items.append((year, value))
        if start_year is not None:
            dropped = [y for y, _ in items if y < start_year]
            items = [(y, v) for y, v in items if y >= start_year]
            if dropped:
                notes.append(f"budgets before start_year {start_year} ignored: {dropped}")
    elif isinstance(budgets, Sequence) and not isinstance(budgets, str):
        if start_year is None:
            raise ConfigError("budgets given as a list need start_year (the year of the first budget)")
        items = [(int(start_year) + i, v) for i, v in enumerate(budgets)]
    else:
        raise ConfigError(
            f"budgets: expected {{year: 万元}} or a list with start_year, got {type(budgets).__name__}"
        )
    if len({y for y, _ in items}) != len(items):
        raise ConfigError("budgets: a year is given twice")
    for year, value in items:
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
                or not math.isfinite(value):
            raise ConfigError(f"budgets[{year}]: expected an amount in 万元, got {value!r}")
        if value < 0:
            raise ConfigError(f"budgets[{year}]: must be ≥ 0, got {value!r}")
    items.sort()
    return [y for y, _ in items], [int(round(float(v) * FEN)) for _, v in items], notes


#: Branch-and-bound node budget per phasing MILP (a count, so the plan does not depend on
#: how busy the machine is). The yearly knapsacks close in a few nodes; the global programme
#: on a few hundred packages may reach it, and then keeps the best plan found, with a warning.
NODE_LIMIT = 20_000


@dataclass(frozen=True, eq=False)
class PhasingResult:
    """What :func:`assign_phases` returns.

    Attributes
    ----------
    packages : DataFrame or GeoDataFrame
        A copy of the packages with ``priority``, ``plan_year`` and ``phase_reason``.
    method : {"yearly", "global"}
        The method used.
    optimal : bool
        Whether every MILP was proven optimal (False when ``node_limit`` or ``time_limit``
        stopped one, or a budget had to be enforced after the solver).
    notes : tuple of str
        What was assumed or ignored (budgets before ``start_year``, priority factors left
        out), and what the warnings said (not proven optimal, packages not phased).
    info : dict
        ``budget_column``, ``discount``, ``node_limit``, ``time_limit``, and ``budgets`` and
        ``used`` ({year: 万元}).
    """

    packages: pd.DataFrame
    method: str
    optimal: bool
    notes: tuple[str, ...]
    info: dict[str, Any]

    @property
    def unphased(self) -> pd.DataFrame:
        """The packages without a plan year: money, priority and the reason."""
        p = self.packages
        return p.loc[p["plan_year"].isna(), [self.info["budget_column"], "priority", "phase_reason"]]

    def __repr__(self) -> str:
        n = len(self.packages)
        phased = int(self.packages["plan_year"].notna().sum()) if n else 0
        return (f"PhasingResult({phased} of {n} packages phased, method={self.method!r}, "
                f"optimal={self.optimal}, {len(self.notes)} note(s))")


def _solve(values: np.ndarray, A, ub: np.ndarray, time_limit: float | None,
           node_limit: int | None = NODE_LIMIT) -> tuple[np.ndarray, bool]:
    """Maximise values·x, A x ≤ ub, x binary. Returns (x as bool, proven optimal)."""
    nvar = len(values)
    if nvar == 0:
        return np.zeros(0, dtype=bool), True
    options: dict[str, object] = {**HIGHS_QUIET, "mip_rel_gap": 0.0, "presolve": True}
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    if time_limit is not None:  # only when the caller asked for a wall clock
        options["time_limit"] = float(time_limit)
    res = milp(c=-values, constraints=LinearConstraint(A, -np.inf, ub),
               integrality=np.ones(nvar), bounds=Bounds(0, 1), options=options)
    if res.x is None:
        return np.zeros(nvar, dtype=bool), False
    return res.x > 0.5, res.status == 0


def _knapsack(values, costs, budget, time_limit, node_limit=NODE_LIMIT) -> tuple[np.ndarray, bool]:
    if costs.sum() <= budget:
        return np.ones(len(costs), dtype=bool), True
    A = sparse.csr_array(costs.astype("float64")[None, :])
    return _solve(values, A, np.array([budget], dtype="float64"), time_limit, node_limit)


def _check_options(method, discount, time_limit, node_limit) -> None:
    if method not in ("global", "yearly"):
        raise ConfigError(f"method: expected 'global' or 'yearly', got {method!r}")
    if isinstance(node_limit, bool) or not isinstance(node_limit, int | np.integer) or node_limit < 1:
        raise ConfigError(f"node_limit: expected a whole number ≥ 1, got {node_limit!r}")
    if time_limit is not None and (isinstance(time_limit, bool)
                                   or not isinstance(time_limit, int | float)
                                   or not math.isfinite(time_limit) or time_limit <= 0):
        raise ConfigError(f"time_limit: expected seconds > 0 or None, got {time_limit!r}")
    if not (isinstance(discount, int | float) and 0 < discount <= 1):
        raise ConfigError(f"discount: expected a number in (0, 1], got {discount!r}")


def _budget_money(packages: pd.DataFrame, budget_column: str | None, stage: str
                  ) -> tuple[str, np.ndarray, np.ndarray]:
    """(the money column, its amounts in 0.01 万元 (0 where empty), where it is known)."""
    if budget_column is None:
        budget_column = "fund_municipal" if "fund_municipal" in packages.columns else "cost_total"
    if budget_column not in packages.columns:
        raise SchemaError(
            f"{stage}: `packages` has no column {budget_column!r} to count against the budgets; "
            "run fund_packages (fund_municipal) or estimate_costs (cost_total) first, or pass "
            "budget_column="
        )
    money = numeric(packages, budget_column, stage)
    known = ~np.isnan(money)
    return budget_column, np.where(known, fen(np.nan_to_num(money)), 0), known


def _scores(packages: pd.DataFrame, priority, stage: str) -> tuple[pd.Series, list[str]]:
    """The priority of every package: a column, a Series, or :func:`priority_scores`."""
    if isinstance(priority, str):
        if priority not in packages.columns:
            raise SchemaError(f"{stage}: no priority column {priority!r} in `packages`")
        return pd.Series(np.nan_to_num(numeric(packages, priority, stage)), index=packages.index), []
    if isinstance(priority, pd.Series):
        return pd.to_numeric(priority.reindex(packages.index), errors="coerce").fillna(0.0), []
    return _priority(packages, _coerce(PriorityWeights, priority, "priority"), stage)


def _plan_global(value, cost, known, B, years, discount, time_limit, node_limit):
    """One 0/1 programme over package × year (plan: year index per package, -1 = none)."""
    n, nyears = len(value), len(B)
    plan = np.full(n, -1)
    pk, yr = np.nonzero(known[:, None] & (cost[:, None] <= B[None, :]))
    if not len(pk):
        return plan, True
    v = value[pk] * float(discount) ** (np.asarray(years)[yr] - years[0])
    nvar = len(pk)
    rows = np.concatenate([pk, n + yr])  # one year per package; each year within its budget
    data = np.concatenate([np.ones(nvar), cost[pk].astype("float64")])
    cols = np.concatenate([np.arange(nvar), np.arange(nvar)])
    A = sparse.csr_array((data, (rows, cols)), shape=(n + nyears, nvar))
    ub = np.concatenate([np.ones(n), B.astype("float64")])
    x, optimal = _solve(v, A, ub, time_limit, node_limit)
    plan[pk[x]] = yr[x]
    return plan, optimal


def _plan_yearly(value, cost, known, B, time_limit, node_limit):
    """Year by year, the best knapsack among the packages not yet phased."""
    plan = np.full(len(value), -1)
    optimal = True
    left = known.copy()
    for t in range(len(B)):
        cand = np.flatnonzero(left & (cost <= B[t]))
        if not len(cand):
            continue
        x, ok = _knapsack(value[cand], cost[cand], B[t], time_limit, node_limit)
        optimal &= ok
        plan[cand[x]] = t
        left[cand[x]] = False
    return plan, optimal


def _within_budgets(plan, cost, value, B) -> tuple[np.ndarray, bool]:
    """Never exceed a budget, whatever the solver's tolerances did: (plan, nothing dropped)."""
    plan = plan.copy()
    kept = True
    for t in range(len(B)):
        members = np.flatnonzero(plan == t)
        while cost[members].sum() > B[t]:
            drop = members[np.argmin(value[members] / np.maximum(cost[members], 1))]
            plan[drop] = -1
            members = members[members != drop]
            kept = False
    return plan, kept


def _reasons(plan, cost, known, B, years, budget_column) -> np.ndarray:
    """Why each package without a year has none ("" for the phased ones)."""
    used = np.array([cost[plan == t].sum() for t in range(len(B))], dtype="int64")
    left_money = B - used
    reasons = np.full(len(plan), "", dtype=object)
    for i in np.flatnonzero(plan < 0):
        if not known[i]:
            reasons[i] = f"no {budget_column}: cannot be phased"
        elif not len(B):
            reasons[i] = "no budget years given"
        elif cost[i] > B.max():
            t = int(np.argmax(B))
            reasons[i] = (
                f"{budget_column} {cost[i] / FEN:.2f} 万元 is above every year's budget "
                f"(largest {B[t] / FEN:.2f} 万元 in {years[t]})"
            )
        elif cost[i] > left_money.max():
            t = int(np.argmax(left_money))
            reasons[i] = (
                f"budgets exhausted: {budget_column} {cost[i] / FEN:.2f} 万元 is more than is "
                f"left in any year (most left: {left_money[t] / FEN:.2f} 万元 in {years[t]}); "
                "higher-priority packages used the money"
            )
        else:
            reasons[i] = "not selected: the solver stopped before proving the plan optimal"
    return reasons


def _solver_notes(unphased: pd.Index, optimal: bool, node_limit, time_limit) -> list[str]:
    """What the warnings say: a plan not proven optimal, packages left without a year."""
    notes = []
    if not optimal:
        notes.append(f"the plan is feasible but not proven optimal (node_limit={node_limit}"
                     + (f", time_limit={time_limit} s)" if time_limit is not None else ")"))
    if len(unphased):
        notes.append(f"{len(unphased)} package(s) not phased: {short_list(unphased)}; see the "
                     "phase_reason column (raise the budgets, add years or split the packages)")
    return notes


def assign_phases(
    packages: pd.DataFrame,
    *,
    budgets: Mapping[int, float] | Sequence[float],
    priority: str | pd.Series | PriorityWeights | Mapping | None = None,
    start_year: int | None = None,
    budget_column: str | None = None,
    method: Literal["yearly", "global"] = "yearly",
    discount: float = 0.9,
    time_limit: float | None = None,
    node_limit: int = NODE_LIMIT,
) -> PhasingResult:
    """Give every package a plan year under yearly budgets, by priority.

    A package is funded whole in one year. Two exact methods (HiGHS through
    ``scipy.optimize.milp`` with ``mip_rel_gap=0``; money compared in whole 0.01 万元, so no
    budget is exceeded by rounding):

    * ``"yearly"`` (default): year by year, pick among the packages not yet phased the set
      that maximises ``Σ (priority + TIE_VALUE)`` within that year's budget (a 0/1
      knapsack). Optimal for each year given the years before; fast (1,000 packages × 10
      years in about 7 s on 2 cores). It can spend a year's money on several smaller
      packages and leave out an expensive one that no later year can hold.
    * ``"global"``: one 0/1 programme over package × year that maximises
      ``Σ (priority + TIE_VALUE) × discount**(year − first year)``, so urgent packages go
      early and the whole horizon is used. Optimal over all years, but proving it is slow
      beyond a few dozen packages (50 packages × 5 years took 5–12 s, 200 × 5 hit a 60 s
      limit); when ``node_limit`` (or an explicit ``time_limit``) is reached the best plan
      found is used, with a warning.

    Parameters
    ----------
    packages : DataFrame
        Indexed by ``package_id``, with the money column (see ``budget_column``) and the
        columns of the priority score.
    budgets : {year: 万元} or list of 万元
        Money available per year; a list needs ``start_year``.
    priority : str, Series, PriorityWeights or dict, optional
        A column name or Series (0–100) to use as is; or weights for
        :func:`priority_scores`. Default: :func:`priority_scores` with ``PriorityWeights()``.
    start_year : int, optional
        First year: the year of ``budgets[0]`` for a list; for a mapping, earlier years are
        ignored.
    budget_column : str, optional
        The money that counts against the budgets. Default ``fund_municipal`` (the
        municipal share from :func:`~spatialreno.fund_packages`) when present, else
        ``cost_total``.
    method : {"yearly", "global"}, default "yearly"
    discount : float, default 0.9
        Weight of a year relative to the year before (global method only), in (0, 1].
    time_limit : float, optional
        Opt-in wall-clock limit in seconds per MILP (the plan may then depend on the
        machine's load). Default none.
    node_limit : int, default ``NODE_LIMIT`` (20,000)
        Branch-and-bound nodes per MILP, a count: the same input gives the same plan on an
        idle or a busy machine. When a limit is reached, the best plan found is used and a
        warning says it is not proven optimal.

    Returns
    -------
    PhasingResult
        ``.packages``: a copy of ``packages`` (same type) with ``priority`` (0–100),
        ``plan_year`` (Int64, NA when not phased) and ``phase_reason`` ("" when phased;
        else why: no money figure, above every year's budget, or budgets exhausted);
        ``.unphased`` is the table of packages without a year. ``.method``, ``.optimal``
        (proven optimal), ``.notes`` and ``.info`` (budget column, discount, limits, and
        the budget and money used per year).

    Warns
    -----
    SpatialRenoWarning
        When some packages cannot be phased (the message lists them).

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.phasing import assign_phases
    >>> pk = pd.DataFrame({"cost_total": [60.0, 50.0, 40.0], "priority": [90.0, 50.0, 40.0]},
    ...                   index=pd.Index(["P1", "P2", "P3"], name="package_id"))
    >>> res = assign_phases(pk, budgets={2025: 100, 2026: 50}, priority="priority")
    >>> res
    PhasingResult(3 of 3 packages phased, method='yearly', optimal=True, 0 note(s))
    >>> res.packages["plan_year"].tolist()
    [2025, 2026, 2025]
    >>> res.info["used"]
    {2025: 100.0, 2026: 50.0}
    >>> assign_phases(pk, budgets=[100, 50], start_year=2025, priority="priority",
    ...               method="global").packages["plan_year"].tolist()
    [2025, 2026, 2025]
    """
    stage = "assign_phases"
    packages = require_frame(packages, "packages", stage=stage)
    _check_options(method, discount, time_limit, node_limit)
    years, budget_fen, notes = _budgets(budgets, start_year)
    budget_column, cost, known = _budget_money(packages, budget_column, stage)
    score, more = _scores(packages, priority, stage)
    value = score.to_numpy(dtype="float64") + TIE_VALUE
    B = np.array(budget_fen, dtype="int64")
    if method == "global":
        plan, optimal = _plan_global(value, cost, known, B, years, discount, time_limit, node_limit)
    else:
        plan, optimal = _plan_yearly(value, cost, known, B, time_limit, node_limit)
    plan, kept = _within_budgets(plan, cost, value, B)
    optimal = bool(optimal and kept)

    out = packages.copy()
    out["priority"] = score.round(2).to_numpy()
    out["plan_year"] = pd.array([years[t] if t >= 0 else pd.NA for t in plan], dtype="Int64")
    out["phase_reason"] = pd.Series(_reasons(plan, cost, known, B, years, budget_column),
                                    index=out.index, dtype="object")
    info = {
        "budget_column": budget_column,
        "discount": float(discount),
        "node_limit": int(node_limit),
        "time_limit": time_limit,
        "budgets": {y: b / FEN for y, b in zip(years, budget_fen, strict=True)},
        "used": {y: int(cost[plan == t].sum()) / FEN for t, y in enumerate(years)},
    }
    found = _solver_notes(out.index[plan < 0], optimal, node_limit, time_limit)
    for note in found:
        warnings.warn(f"{stage}: {note}", SpatialRenoWarning, stacklevel=2)
    return PhasingResult(out, method, optimal, tuple(notes + more + found), info)


# ======================================================================================
# progress_summary / format_report
# ======================================================================================
_COUNTS = ("n_compounds", "households", "n_planned", "households_planned", "n_started",
           "households_started", "n_completed", "households_completed")
UNSCHEDULED = "unscheduled"
TOTAL = "total"


@dataclass(frozen=True, eq=False)
class ProgressSummary:
    """What :func:`progress_summary` returns, and what :func:`format_report` reads.

    Attributes
    ----------
    table : DataFrame
        One row per group value (ascending), then ``"unscheduled"``, then ``"total"``;
        the count and money columns described in :func:`progress_summary`.
    notes : tuple of str
        What was assumed, after the notes passed in (e.g. the cost notes).
    by : str
        The column the table is grouped by.
    """

    table: pd.DataFrame
    notes: tuple[str, ...]
    by: str

    def __repr__(self) -> str:
        t = self.table.loc[TOTAL]
        return (f"ProgressSummary(by={self.by!r}, {len(self.table) - 1} group(s), "
                f"{int(t.n_compounds)} compounds, {int(t.households)} households, "
                f"{len(self.notes)} note(s))")


def progress_summary(
    compounds: pd.DataFrame,
    packages: pd.DataFrame | None = None,
    *,
    by: str = "plan_year",
    notes: Iterable[str] = (),
) -> ProgressSummary:
    """Compounds, households and money by year (or another column), as in a progress report.

    Parameters
    ----------
    compounds : DataFrame
        Indexed by ``compound_id``, with ``households``, ``renovation_status`` (codes or
        Chinese labels: not_listed/未纳入, reserve/储备, planned/计划, started/在建,
        completed/完工), and ``plan_year`` or a ``package_id`` column that links to
        ``packages``.
    packages : DataFrame, optional
        Phased and funded packages (``assign_phases(...).packages``): their ``plan_year``
        fills compounds without one, and their ``cost_total`` and ``fund_<source>`` columns
        give the money.
    by : str, default "plan_year"
        Column to group by: ``plan_year``, or any compound column (``district``,
        ``street``, ``package_id``) or package column.
    notes : iterable of str, optional
        Notes to carry into the report first, e.g. ``estimate_costs(...).notes``.

    Returns
    -------
    ProgressSummary
        ``.table`` has one row per group value (ascending), then ``"unscheduled"`` for
        compounds without a value, then ``"total"``. Columns:

        * ``n_compounds``, ``households``: compounds in the project library (项目库): every
          compound whose status is not ``not_listed``;
        * ``n_planned``, ``households_planned``: those with a plan year;
        * ``n_started``, ``households_started``: status started or completed (开工, counted
          cumulatively as in the Wuhan reply: 累计开工 1452, 已完工 1056);
        * ``n_completed``, ``households_completed``: status completed;
        * ``cost_total`` and ``fund_<source>`` (万元): summed over packages by their ``by``
          value when ``packages`` has it, else ``cost_total`` of the compounds.

        ``.notes`` carries the notes passed in and what was assumed; ``.by`` the grouping.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.phasing import progress_summary
    >>> c = pd.DataFrame({"households": [100, 200, 50],
    ...                   "renovation_status": ["completed", "planned", "reserve"],
    ...                   "plan_year": [2024, 2025, None]},
    ...                  index=pd.Index(["a", "b", "c"], name="compound_id"))
    >>> s = progress_summary(c)
    >>> s
    ProgressSummary(by='plan_year', 3 group(s), 3 compounds, 350 households, 0 note(s))
    >>> s.table[["n_compounds", "households", "n_started", "n_completed"]]  # doctest: +NORMALIZE_WHITESPACE
                 n_compounds  households  n_started  n_completed
    plan_year
    2024                   1         100          1            1
    2025                   1         200          0            0
    unscheduled            1          50          0            0
    total                  3         350          1            1
    """
    stage = "progress_summary"
    compounds = require_frame(compounds, "compounds", stage=stage)
    if packages is not None:
        packages = require_frame(packages, "packages", stage=stage)
    found: list[str] = []
    hh = _households(compounds, stage, found)
    status = _status(compounds, stage, found)
    year = _plan_year(compounds, packages, found)
    key = year if by == "plan_year" else _group_key(compounds, packages, by, stage)
    library = status != "not_listed"
    frame = _count_frame(key, hh, status, year.notna().to_numpy())[library]
    frame["key"] = frame["key"].where(pd.notna(frame["key"]), UNSCHEDULED)
    counts = frame.groupby("key", sort=False)[list(_COUNTS)].sum()
    money = _money_table(compounds, packages, by, frame["key"], library, stage, found)
    return ProgressSummary(_ordered_with_total(counts, money, by), (*notes, *found), by)


def _households(compounds: pd.DataFrame, stage: str, notes: list[str]) -> np.ndarray:
    if "households" in compounds.columns:
        return np.nan_to_num(numeric(compounds, "households", stage)).astype("int64")
    notes.append("no households column: households counted as 0")
    return np.zeros(len(compounds), dtype="int64")


def _status(compounds: pd.DataFrame, stage: str, notes: list[str]) -> np.ndarray:
    """Canonical renovation_status codes (None where there is no column)."""
    if "renovation_status" not in compounds.columns:
        notes.append("no renovation_status column: every compound counted in the library, "
                     "none started")
        return np.full(len(compounds), None, dtype=object)
    raw = compounds["renovation_status"].astype("object")
    status = schema.canonical_values("renovation_status", raw)
    codes = schema.VOCABULARIES["renovation_status"]
    bad = raw.notna() & ~status.isin(list(codes))
    if bad.any():
        raise DataError(
            f"{stage}: unknown renovation_status {raw[bad].iloc[0]!r} in rows "
            f"{short_list(compounds.index[bad.to_numpy()])}; expected one of "
            + ", ".join(f"{k} ({v[0]})" for k, v in codes.items())
        )
    return status.to_numpy(dtype=object)


def _via_packages(compounds: pd.DataFrame, packages: pd.DataFrame | None,
                  col: str) -> pd.Series | None:
    """A package column seen from each compound through ``compounds.package_id``."""
    if packages is None or "package_id" not in compounds.columns or col not in packages.columns:
        return None
    return pd.Series(packages[col].reindex(compounds["package_id"].to_numpy()).to_numpy(),
                     index=compounds.index)


def _plan_year(compounds: pd.DataFrame, packages: pd.DataFrame | None,
               notes: list[str]) -> pd.Series:
    """The compound's own plan_year, else its package's (Int64, NA when none)."""
    via = _via_packages(compounds, packages, "plan_year")
    if "plan_year" in compounds.columns:
        year = pd.Series(pd.to_numeric(compounds["plan_year"], errors="coerce"),
                         index=compounds.index)
        if via is not None:
            year = year.fillna(pd.to_numeric(via, errors="coerce"))
    elif via is not None:
        year = pd.to_numeric(via, errors="coerce")
    else:
        notes.append("no plan_year (in compounds, or in packages through package_id): "
                     "nothing planned")
        year = pd.Series(np.nan, index=compounds.index)
    return year.astype("Float64").round().astype("Int64")


def _group_key(compounds: pd.DataFrame, packages: pd.DataFrame | None, by: str,
               stage: str) -> pd.Series:
    if by in compounds.columns:
        return compounds[by]
    key = _via_packages(compounds, packages, by)
    if key is None:
        raise ConfigError(
            f"{stage}: by={by!r} is neither a compound column nor a package column reachable "
            "through compounds.package_id"
        )
    return key


def _count_frame(key: pd.Series, hh: np.ndarray, status: np.ndarray,
                 planned: np.ndarray) -> pd.DataFrame:
    started = np.isin(status, ["started", "completed"])
    completed = status == "completed"
    return pd.DataFrame({
        "key": key.to_numpy(dtype=object),
        "n_compounds": 1, "households": hh,
        "n_planned": planned.astype(int), "households_planned": np.where(planned, hh, 0),
        "n_started": started.astype(int), "households_started": np.where(started, hh, 0),
        "n_completed": completed.astype(int), "households_completed": np.where(completed, hh, 0),
    }, index=key.index)


def _money_table(compounds: pd.DataFrame, packages: pd.DataFrame | None, by: str,
                 key: pd.Series, library: np.ndarray, stage: str,
                 notes: list[str]) -> pd.DataFrame | None:
    """cost_total and fund_<source> by group: from the packages, else the compounds' cost."""
    if packages is not None and by in packages.columns:
        fund_cols = [f"fund_{s}" for s in FUNDING_SOURCES]
        cols = [c for c in ("cost_total", *fund_cols) if c in packages.columns]
        if not cols:
            return None
        pk_key = packages[by].astype("object").where(packages[by].notna(), UNSCHEDULED)
        if by == "plan_year":
            pk_key = pk_key.map(lambda v: v if v == UNSCHEDULED else int(v))
        return packages[cols].apply(pd.to_numeric, errors="coerce").groupby(pk_key.to_numpy()).sum()
    if "cost_total" not in compounds.columns:
        return None
    cost = pd.Series(np.nan_to_num(numeric(compounds, "cost_total", stage)),
                     index=compounds.index)[library]
    if packages is not None:
        notes.append(f"packages have no {by!r} column: money from the compounds' cost_total only")
    return cost.groupby(key.to_numpy()).sum().to_frame("cost_total")


def _ordered_with_total(counts: pd.DataFrame, money: pd.DataFrame | None, by: str) -> pd.DataFrame:
    """Groups ascending, then unscheduled, then the total row; money rounded to 0.01 万元."""
    table = counts if money is None else counts.join(money, how="outer")
    table[list(_COUNTS)] = table[list(_COUNTS)].fillna(0).astype("int64")
    if money is not None:
        table[list(money.columns)] = table[list(money.columns)].fillna(0.0).round(2)
    groups = [k for k in table.index if k != UNSCHEDULED]
    try:
        groups = sorted(groups)
    except TypeError:
        groups = sorted(groups, key=str)
    table = table.loc[groups + ([UNSCHEDULED] if UNSCHEDULED in table.index else [])]
    total = table.sum(numeric_only=True)
    if money is not None:
        total[list(money.columns)] = total[list(money.columns)].round(2)
    table.loc[TOTAL] = total
    table[list(_COUNTS)] = table[list(_COUNTS)].astype("int64")
    table.index = pd.Index(list(table.index), dtype=object, name=by)
    return table


def _money(x: float, lang: str) -> str:
    return f"{x:,.2f}" if lang == "en" else f"{x:.2f}"


def _count(x: int, lang: str) -> str:
    return f"{int(x):,}" if lang == "en" else str(int(x))


def format_report(summary: ProgressSummary, *, lang: Literal["zh", "en"] = "zh") -> list[str]:
    """Progress-report sentences from :func:`progress_summary`.

    Parameters
    ----------
    summary : ProgressSummary
        The result of :func:`progress_summary`.
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    list of str
        The library line (共纳入项目库小区 N 个、户数 H 户 …), one line per group, the
        unscheduled line, the funding line (资金来源：中央补助 X 万元 …，合计 T 万元) and
        one 注 line per note.

    Raises
    ------
    TypeError
        If ``summary`` is not a :class:`ProgressSummary` (a bare table has lost its notes).

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.phasing import format_report, progress_summary
    >>> c = pd.DataFrame({"households": [100, 200], "renovation_status": ["completed", "planned"],
    ...                   "plan_year": [2024, 2025]},
    ...                  index=pd.Index(["a", "b"], name="compound_id"))
    >>> format_report(progress_summary(c))[0]
    '共纳入项目库小区 2 个、户数 300 户；已列入年度计划 2 个、300 户；已开工 1 个、100 户（含已完工）；已完工 1 个、100 户。'
    """
    if lang not in ("zh", "en"):
        raise ConfigError(f"lang: expected 'zh' or 'en', got {lang!r}")
    if not isinstance(summary, ProgressSummary):
        raise TypeError(
            f"format_report: expected the ProgressSummary that progress_summary(compounds, "
            f"packages) returns, got {type(summary).__name__}; pass that result, not its table"
        )
    table, zh = summary.table, lang == "zh"
    lines = [_library_line(table.loc[TOTAL], lang)]
    lines += _group_lines(table, summary.by, lang)
    lines += _funding_line(table, lang)
    lines += [f"注：{note}" if zh else f"Note: {note}" for note in summary.notes]
    return lines


def _library_line(t: pd.Series, lang: str) -> str:
    def c(v):
        return _count(v, lang)

    if lang == "zh":
        return (f"共纳入项目库小区 {c(t.n_compounds)} 个、户数 {c(t.households)} 户；"
                f"已列入年度计划 {c(t.n_planned)} 个、{c(t.households_planned)} 户；"
                f"已开工 {c(t.n_started)} 个、{c(t.households_started)} 户（含已完工）；"
                f"已完工 {c(t.n_completed)} 个、{c(t.households_completed)} 户。")
    return (f"Project library: {c(t.n_compounds)} compounds, {c(t.households)} households; "
            f"in a yearly plan: {c(t.n_planned)} compounds, {c(t.households_planned)} households; "
            f"started: {c(t.n_started)} compounds, {c(t.households_started)} households "
            f"(incl. completed); completed: {c(t.n_completed)} compounds, "
            f"{c(t.households_completed)} households.")


def _group_lines(table: pd.DataFrame, by: str, lang: str) -> list[str]:
    zh = lang == "zh"

    def c(v):
        return _count(v, lang)

    has_cost = "cost_total" in table.columns
    lines = []
    for key, row in table.drop(index=TOTAL).iterrows():
        cost = ""
        if has_cost:
            cost = (f"，估算投资 {_money(row.cost_total, lang)} 万元" if zh else
                    f"; estimated investment {_money(row.cost_total, lang)} (10k CNY)")
        if key == UNSCHEDULED:
            lines.append(
                f"未排期：小区 {c(row.n_compounds)} 个、{c(row.households)} 户{cost}。" if zh else
                f"Unscheduled: {c(row.n_compounds)} compounds, {c(row.households)} households{cost}.")
            continue
        name = f"{key}年" if zh and by == "plan_year" else f"{key}"
        lines.append(
            f"{name}：小区 {c(row.n_compounds)} 个、{c(row.households)} 户，已开工 "
            f"{c(row.n_started)} 个，已完工 {c(row.n_completed)} 个{cost}。" if zh else
            f"{name}: {c(row.n_compounds)} compounds, {c(row.households)} households; started "
            f"{c(row.n_started)}; completed {c(row.n_completed)}{cost}.")
    return lines


def _funding_line(table: pd.DataFrame, lang: str) -> list[str]:
    funds = [f"fund_{s}" for s in FUNDING_SOURCES if f"fund_{s}" in table.columns]
    if not funds:
        return []
    t = table.loc[TOTAL]
    parts = [(schema.label("packages", f, unit=False, lang=lang), t[f]) for f in funds if t[f] != 0]
    total = round(sum(t[f] for f in funds), 2)
    if lang == "zh":
        body = "、".join(f"{name} {_money(v, lang)} 万元" for name, v in parts) or "无"
        return [f"资金来源：{body}，合计 {_money(total, lang)} 万元。"]
    body = ", ".join(f"{name.lower()} {_money(v, lang)}" for name, v in parts) or "none"
    return [f"Funding (10k CNY): {body}; total {_money(total, lang)}."]
