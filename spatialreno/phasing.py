"""Phase packages into years under yearly budgets, and report progress like the Wuhan reply.

::

    packages = sr.fund_packages(packages, graph=G, labels=labels)
    phased = sr.assign_phases(packages, budgets={2025: 30_000, 2026: 30_000})
    table = sr.progress_summary(compounds, phased)
    print("\\n".join(format_report(table)))

:func:`assign_phases` gives every package a ``plan_year`` (or NA with the reason) so that no
year's budget is exceeded: year by year, the set of packages with the highest total priority
that the year's budget can pay for (an exact 0/1 knapsack solved with HiGHS through
``scipy.optimize.milp``), or optionally one programme over all years.
:func:`progress_summary` counts compounds and households in the project library (项目库),
planned, started and completed, with money by source, by year; :func:`format_report` turns it
into the sentences of a progress report (共纳入项目库小区 … 个).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from . import schema
from ._highs import quiet_stdout
from .costing import (
    _FEN,
    FUNDING_SOURCES,
    _check_frame,
    _coerce,
    _Config,
    _fen,
    _ids,
    _Key,
    _numeric,
)
from .errors import ConfigError, DataError, SchemaError, SpatialRenoWarning

__all__ = [
    "PriorityWeights",
    "priority_scores",
    "assign_phases",
    "progress_summary",
    "format_report",
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
        x = _numeric(packages, col, stage)
        empty = np.isnan(x)
        if empty.any():
            notes.append(f"{col} is empty for {_ids(packages.index[empty])}: scored 0 on it")
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
    _check_frame(packages, "priority_scores", "packages")
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
    return [y for y, _ in items], [int(round(float(v) * _FEN)) for _, v in items], notes


#: Branch-and-bound node budget per phasing MILP (a count, so the plan does not depend on
#: how busy the machine is). The yearly knapsacks close in a few nodes; the global programme
#: on a few hundred packages may reach it, and then keeps the best plan found, with a warning.
NODE_LIMIT = 20_000


def _solve(values: np.ndarray, A, ub: np.ndarray, time_limit: float | None,
           node_limit: int | None = NODE_LIMIT) -> tuple[np.ndarray, bool]:
    """Maximise values·x, A x ≤ ub, x binary. Returns (x as bool, proven optimal)."""
    nvar = len(values)
    if nvar == 0:
        return np.zeros(0, dtype=bool), True
    options: dict[str, object] = {"mip_rel_gap": 0.0, "presolve": True}
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    if time_limit is not None:  # only when the caller asked for a wall clock
        options["time_limit"] = float(time_limit)
    with quiet_stdout():
        res = milp(
            c=-values,
            constraints=LinearConstraint(A, -np.inf, ub),
            integrality=np.ones(nvar),
            bounds=Bounds(0, 1),
            options=options,
        )
    if res.x is None:
        return np.zeros(nvar, dtype=bool), False
    return res.x > 0.5, res.status == 0


def _knapsack(values, costs, budget, time_limit, node_limit=NODE_LIMIT) -> tuple[np.ndarray, bool]:
    if costs.sum() <= budget:
        return np.ones(len(costs), dtype=bool), True
    A = sparse.csr_array(costs.astype("float64")[None, :])
    return _solve(values, A, np.array([budget], dtype="float64"), time_limit, node_limit)


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
):
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
    same type as ``packages``
        A copy with ``priority`` (0–100), ``plan_year`` (Int64, NA when not phased) and
        ``phase_reason`` ("" when phased; else why: no money figure, above every year's
        budget, or budgets exhausted). The unphased table is
        ``out.loc[out["plan_year"].isna(), [budget_column, "priority", "phase_reason"]]``.
        ``.attrs["phasing"]`` holds the method, budget column, discount, whether the plan is
        proven optimal, and the budget and money used per year.

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
    >>> out = assign_phases(pk, budgets={2025: 100, 2026: 50}, priority="priority")
    >>> out["plan_year"].tolist()
    [2025, 2026, 2025]
    >>> assign_phases(pk, budgets=[100, 50], start_year=2025, priority="priority",
    ...               method="global")["plan_year"].tolist()
    [2025, 2026, 2025]
    """
    stage = "assign_phases"
    _check_frame(packages, stage, "packages")
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
    years, budget_fen, notes = _budgets(budgets, start_year)
    out = packages.copy()
    n = len(out)

    if budget_column is None:
        budget_column = "fund_municipal" if "fund_municipal" in out.columns else "cost_total"
    if budget_column not in out.columns:
        raise SchemaError(
            f"{stage}: `packages` has no column {budget_column!r} to count against the budgets; "
            "run fund_packages (fund_municipal) or estimate_costs (cost_total) first, or pass "
            "budget_column="
        )
    money = _numeric(out, budget_column, stage)
    known = ~np.isnan(money)
    cost = np.where(known, _fen(np.nan_to_num(money)), 0)

    if isinstance(priority, str):
        if priority not in out.columns:
            raise SchemaError(f"{stage}: no priority column {priority!r} in `packages`")
        score = pd.Series(np.nan_to_num(_numeric(out, priority, stage)), index=out.index)
    elif isinstance(priority, pd.Series):
        score = pd.to_numeric(priority.reindex(out.index), errors="coerce").fillna(0.0)
    else:
        weights = _coerce(PriorityWeights, priority, "priority")
        score, more = _priority(out, weights, stage)
        notes += more
    value = score.to_numpy(dtype="float64") + TIE_VALUE

    plan = np.full(n, -1)  # index into years, -1 = not phased
    optimal = True
    nyears = len(years)
    B = np.array(budget_fen, dtype="int64")
    if method == "global":
        pk, yr = np.nonzero(known[:, None] & (cost[:, None] <= B[None, :]))
        if len(pk):
            gap = np.asarray(years)[yr] - years[0]
            v = value[pk] * float(discount) ** gap
            nvar = len(pk)
            rows = np.concatenate([pk, n + yr])
            data = np.concatenate([np.ones(nvar), cost[pk].astype("float64")])
            cols = np.concatenate([np.arange(nvar), np.arange(nvar)])
            A = sparse.csr_array((data, (rows, cols)), shape=(n + nyears, nvar))
            ub = np.concatenate([np.ones(n), B.astype("float64")])
            x, optimal = _solve(v, A, ub, time_limit, node_limit)
            plan[pk[x]] = yr[x]
    else:
        left = known.copy()
        for t in range(nyears):
            cand = np.flatnonzero(left & (cost <= B[t]))
            if not len(cand):
                continue
            x, ok = _knapsack(value[cand], cost[cand], B[t], time_limit, node_limit)
            optimal &= ok
            plan[cand[x]] = t
            left[cand[x]] = False

    # never exceed a budget, whatever the solver's tolerances did
    for t in range(nyears):
        members = np.flatnonzero(plan == t)
        while cost[members].sum() > B[t]:
            drop = members[np.argmin(value[members] / np.maximum(cost[members], 1))]
            plan[drop] = -1
            members = members[members != drop]
            optimal = False
    used = np.array([cost[plan == t].sum() for t in range(nyears)], dtype="int64")
    left_money = B - used

    reasons = np.full(n, "", dtype=object)
    for i in np.flatnonzero(plan < 0):
        if not known[i]:
            reasons[i] = f"no {budget_column}: cannot be phased"
        elif nyears == 0:
            reasons[i] = "no budget years given"
        elif cost[i] > B.max():
            t = int(np.argmax(B))
            reasons[i] = (
                f"{budget_column} {cost[i] / _FEN:.2f} 万元 is above every year's budget "
                f"(largest {B[t] / _FEN:.2f} 万元 in {years[t]})"
            )
        elif cost[i] > left_money.max():
            t = int(np.argmax(left_money))
            reasons[i] = (
                f"budgets exhausted: {budget_column} {cost[i] / _FEN:.2f} 万元 is more than is "
                f"left in any year (most left: {left_money[t] / _FEN:.2f} 万元 in {years[t]}); "
                "higher-priority packages used the money"
            )
        else:
            reasons[i] = "not selected: the solver stopped before proving the plan optimal"

    out["priority"] = score.round(2).to_numpy()
    out["plan_year"] = pd.array([years[t] if t >= 0 else pd.NA for t in plan], dtype="Int64")
    out["phase_reason"] = pd.Series(reasons, index=out.index, dtype="object")
    out.attrs["phasing"] = {
        "method": method,
        "budget_column": budget_column,
        "discount": float(discount),
        "optimal": bool(optimal),
        "budgets": {y: b / _FEN for y, b in zip(years, budget_fen, strict=True)},
        "used": {y: int(u) / _FEN for y, u in zip(years, used, strict=True)},
        "notes": notes,
    }
    if not optimal:
        warnings.warn(
            f"{stage}: the plan is feasible but not proven optimal (node_limit={node_limit}"
            + (f", time_limit={time_limit} s)" if time_limit is not None else ")"),
            SpatialRenoWarning, stacklevel=2,
        )
    unphased = out.index[plan < 0]
    if len(unphased):
        warnings.warn(
            f"{stage}: {len(unphased)} package(s) not phased: {_ids(unphased)}; see the "
            "phase_reason column (raise the budgets, add years or split the packages)",
            SpatialRenoWarning, stacklevel=2,
        )
    return out


# ======================================================================================
# progress_summary / format_report
# ======================================================================================
_COUNTS = ("n_compounds", "households", "n_planned", "households_planned", "n_started",
           "households_started", "n_completed", "households_completed")
UNSCHEDULED = "unscheduled"
TOTAL = "total"


def progress_summary(
    compounds: pd.DataFrame,
    packages: pd.DataFrame | None = None,
    *,
    by: str = "plan_year",
) -> pd.DataFrame:
    """Compounds, households and money by year (or another column), as in a progress report.

    Parameters
    ----------
    compounds : DataFrame
        Indexed by ``compound_id``, with ``households``, ``renovation_status`` (codes or
        Chinese labels: not_listed/未纳入, reserve/储备, planned/计划, started/在建,
        completed/完工), and ``plan_year`` or a ``package_id`` column that links to
        ``packages``.
    packages : DataFrame, optional
        Phased and funded packages: their ``plan_year`` fills compounds without one, and
        their ``cost_total`` and ``fund_<source>`` columns give the money.
    by : str, default "plan_year"
        Column to group by: ``plan_year``, or any compound column (``district``,
        ``street``, ``package_id``) or package column.

    Returns
    -------
    DataFrame
        One row per group value (ascending), then ``"unscheduled"`` for compounds without a
        value, then ``"total"``. Columns:

        * ``n_compounds``, ``households``: compounds in the project library (项目库): every
          compound whose status is not ``not_listed``;
        * ``n_planned``, ``households_planned``: those with a plan year;
        * ``n_started``, ``households_started``: status started or completed (开工, counted
          cumulatively as in the Wuhan reply: 累计开工 1452, 已完工 1056);
        * ``n_completed``, ``households_completed``: status completed;
        * ``cost_total`` and ``fund_<source>`` (万元): summed over packages by their ``by``
          value when ``packages`` has it, else ``cost_total`` of the compounds.

        ``.attrs["notes"]`` carries what was assumed (including the cost notes of
        :func:`~spatialreno.estimate_costs` when ``compounds`` carries them).

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.phasing import progress_summary
    >>> c = pd.DataFrame({"households": [100, 200, 50],
    ...                   "renovation_status": ["completed", "planned", "reserve"],
    ...                   "plan_year": [2024, 2025, None]},
    ...                  index=pd.Index(["a", "b", "c"], name="compound_id"))
    >>> progress_summary(c)[["n_compounds", "households", "n_started", "n_completed"]]  # doctest: +NORMALIZE_WHITESPACE
                 n_compounds  households  n_started  n_completed
    plan_year
    2024                   1         100          1            1
    2025                   1         200          0            0
    unscheduled            1          50          0            0
    total                  3         350          1            1
    """
    stage = "progress_summary"
    _check_frame(compounds, stage, "compounds")
    if packages is not None:
        _check_frame(packages, stage, "packages")
    notes: list[str] = []
    idx = compounds.index
    n = len(compounds)

    if "households" in compounds.columns:
        hh = np.nan_to_num(_numeric(compounds, "households", stage)).astype("int64")
    else:
        hh = np.zeros(n, dtype="int64")
        notes.append("no households column: households counted as 0")
    if "renovation_status" in compounds.columns:
        raw = compounds["renovation_status"].astype("object")
        status = schema.canonical_values("renovation_status", raw)
        codes = schema.VOCABULARIES["renovation_status"]
        bad = raw.notna() & ~status.isin(list(codes))
        if bad.any():
            raise DataError(
                f"{stage}: unknown renovation_status {raw[bad].iloc[0]!r} in rows "
                f"{_ids(idx[bad.to_numpy()])}; expected one of "
                + ", ".join(f"{k} ({v[0]})" for k, v in codes.items())
            )
        status = status.to_numpy(dtype=object)
    else:
        status = np.full(n, None, dtype=object)
        notes.append("no renovation_status column: every compound counted in the library, none started")

    pkg_of = compounds["package_id"] if "package_id" in compounds.columns else None

    def from_packages(col: str) -> pd.Series | None:
        if packages is None or pkg_of is None or col not in packages.columns:
            return None
        return pd.Series(packages[col].reindex(pkg_of.to_numpy()).to_numpy(), index=idx)

    if "plan_year" in compounds.columns:
        year = pd.Series(pd.to_numeric(compounds["plan_year"], errors="coerce"), index=idx)
        via = from_packages("plan_year")
        if via is not None:
            year = year.fillna(pd.to_numeric(via, errors="coerce"))
    else:
        via = from_packages("plan_year")
        year = pd.to_numeric(via, errors="coerce") if via is not None else pd.Series(np.nan, index=idx)
        if via is None:
            notes.append("no plan_year (in compounds, or in packages through package_id): nothing planned")
    year = year.astype("Float64").round().astype("Int64")

    if by == "plan_year":
        key = year
    elif by in compounds.columns:
        key = compounds[by]
    else:
        key = from_packages(by)
        if key is None:
            raise ConfigError(
                f"{stage}: by={by!r} is neither a compound column nor a package column reachable "
                "through compounds.package_id"
            )
    library = status != "not_listed"
    started = np.isin(status, ["started", "completed"])
    completed = status == "completed"
    planned = year.notna().to_numpy()
    frame = pd.DataFrame({
        "key": key.to_numpy(dtype=object),
        "n_compounds": 1, "households": hh,
        "n_planned": planned.astype(int), "households_planned": np.where(planned, hh, 0),
        "n_started": started.astype(int), "households_started": np.where(started, hh, 0),
        "n_completed": completed.astype(int), "households_completed": np.where(completed, hh, 0),
    }, index=idx)[library]
    frame["key"] = frame["key"].where(pd.notna(frame["key"]), UNSCHEDULED)
    counts = frame.groupby("key", sort=False)[list(_COUNTS)].sum()

    money = None
    fund_cols = [f"fund_{s}" for s in FUNDING_SOURCES]
    if packages is not None and by in packages.columns:
        cols = [c for c in ("cost_total", *fund_cols) if c in packages.columns]
        if cols:
            pk_key = packages[by].astype("object").where(packages[by].notna(), UNSCHEDULED)
            if by == "plan_year":
                pk_key = pk_key.map(lambda v: v if v == UNSCHEDULED else int(v))
            money = packages[cols].apply(pd.to_numeric, errors="coerce").groupby(pk_key.to_numpy()).sum()
    elif "cost_total" in compounds.columns:
        cost = pd.Series(np.nan_to_num(_numeric(compounds, "cost_total", stage)), index=idx)[library]
        money = cost.groupby(frame["key"].to_numpy()).sum().to_frame("cost_total")
        if packages is not None:
            notes.append(f"packages have no {by!r} column: money from the compounds' cost_total only")

    table = counts if money is None else counts.join(money, how="outer")
    table[list(_COUNTS)] = table[list(_COUNTS)].fillna(0).astype("int64")
    if money is not None:
        table[list(money.columns)] = table[list(money.columns)].fillna(0.0).round(2)
    groups = [k for k in table.index if k != UNSCHEDULED]
    try:
        groups = sorted(groups)
    except TypeError:
        groups = sorted(groups, key=str)
    order = groups + ([UNSCHEDULED] if UNSCHEDULED in table.index else [])
    table = table.loc[order]
    total = table.sum(numeric_only=True)
    if money is not None:
        total[list(money.columns)] = total[list(money.columns)].round(2)
    table.loc[TOTAL] = total
    table[list(_COUNTS)] = table[list(_COUNTS)].astype("int64")
    table.index = pd.Index(list(table.index), dtype=object, name=by)
    table.attrs["notes"] = list(compounds.attrs.get("cost_notes", [])) + notes
    table.attrs["by"] = by
    return table


def _money(x: float, lang: str) -> str:
    return f"{x:,.2f}" if lang == "en" else f"{x:.2f}"


def _count(x: int, lang: str) -> str:
    return f"{int(x):,}" if lang == "en" else str(int(x))


def format_report(
    summary: pd.DataFrame,
    packages: pd.DataFrame | None = None,
    *,
    by: str = "plan_year",
    lang: Literal["zh", "en"] = "zh",
) -> list[str]:
    """Progress-report sentences from :func:`progress_summary` (or from compounds directly).

    Parameters
    ----------
    summary : DataFrame
        The output of :func:`progress_summary`; a compounds frame is summarised first
        (with ``packages`` and ``by``).
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    list of str
        The library line (共纳入项目库小区 N 个、户数 H 户 …), one line per group, the
        unscheduled line, the funding line (资金来源：中央补助 X 万元 …，合计 T 万元) and
        one 注 line per note.

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
    if not (isinstance(summary, pd.DataFrame) and TOTAL in summary.index
            and set(_COUNTS) <= set(summary.columns)):
        summary = progress_summary(summary, packages, by=by)
    by = summary.attrs.get("by", summary.index.name or by)
    zh = lang == "zh"
    c = lambda v: _count(v, lang)  # noqa: E731
    m = lambda v: _money(v, lang)  # noqa: E731
    t = summary.loc[TOTAL]
    lines: list[str] = []
    if zh:
        lines.append(
            f"共纳入项目库小区 {c(t.n_compounds)} 个、户数 {c(t.households)} 户；"
            f"已列入年度计划 {c(t.n_planned)} 个、{c(t.households_planned)} 户；"
            f"已开工 {c(t.n_started)} 个、{c(t.households_started)} 户（含已完工）；"
            f"已完工 {c(t.n_completed)} 个、{c(t.households_completed)} 户。"
        )
    else:
        lines.append(
            f"Project library: {c(t.n_compounds)} compounds, {c(t.households)} households; "
            f"in a yearly plan: {c(t.n_planned)} compounds, {c(t.households_planned)} households; "
            f"started: {c(t.n_started)} compounds, {c(t.households_started)} households "
            f"(incl. completed); completed: {c(t.n_completed)} compounds, "
            f"{c(t.households_completed)} households."
        )
    has_cost = "cost_total" in summary.columns
    for key, row in summary.drop(index=TOTAL).iterrows():
        cost = f"，估算投资 {m(row.cost_total)} 万元" if has_cost and zh else (
            f"; estimated investment {m(row.cost_total)} (10k CNY)" if has_cost else "")
        if key == UNSCHEDULED:
            lines.append(
                f"未排期：小区 {c(row.n_compounds)} 个、{c(row.households)} 户{cost}。" if zh else
                f"Unscheduled: {c(row.n_compounds)} compounds, {c(row.households)} households{cost}."
            )
            continue
        name = (f"{key}年" if by == "plan_year" else f"{key}") if zh else f"{key}"
        lines.append(
            f"{name}：小区 {c(row.n_compounds)} 个、{c(row.households)} 户，已开工 "
            f"{c(row.n_started)} 个，已完工 {c(row.n_completed)} 个{cost}。" if zh else
            f"{name}: {c(row.n_compounds)} compounds, {c(row.households)} households; started "
            f"{c(row.n_started)}; completed {c(row.n_completed)}{cost}."
        )
    funds = [f"fund_{s}" for s in FUNDING_SOURCES if f"fund_{s}" in summary.columns]
    if funds:
        parts = [
            (schema.label("packages", f, unit=False, lang=lang), t[f]) for f in funds if t[f] != 0
        ]
        total = round(sum(t[f] for f in funds), 2)
        if zh:
            body = "、".join(f"{name} {m(v)} 万元" for name, v in parts) or "无"
            lines.append(f"资金来源：{body}，合计 {m(total)} 万元。")
        else:
            body = ", ".join(f"{name.lower()} {m(v)}" for name, v in parts) or "none"
            lines.append(f"Funding (10k CNY): {body}; total {m(total)}.")
    for note in summary.attrs.get("notes", []):
        lines.append(f"注：{note}" if zh else f"Note: {note}")
    return lines
