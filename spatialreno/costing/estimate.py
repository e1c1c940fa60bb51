"""Estimate the investment per compound, by cost item, in 万元."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import schema
from .._contracts import require_frame, short_list
from ..errors import DataError, SpatialRenoWarning
from ._config import _coerce
from ._money import YUAN_PER_WAN, fen, numeric, wan
from .rates import RENOVATION_CLASSES, CostRates
from .results import CostEstimate
from .tender import procurement_split

__all__ = ["estimate_costs", "COST_ITEMS"]

STAGE = "estimate_costs"

#: cost columns that :func:`estimate_costs` writes, in order (万元)
COST_ITEMS: tuple[str, ...] = ("cost_renovation", "cost_gas", "cost_elevator", "cost_demolition")

#: aged-metre column → (rate field, eligible for the central gas subsidy)
_GAS_CLASSES: Mapping[str, tuple[str, bool]] = {
    "gas_aged_courtyard_buried_m": ("gas_courtyard_buried_per_m", True),
    "gas_aged_overhead_m": ("gas_overhead_per_m", True),
    "gas_aged_riser_m": ("gas_riser_per_m", True),
    "gas_aged_service_m": ("gas_riser_per_m", True),
    "gas_aged_horizontal_main_m": ("gas_riser_per_m", True),
    "gas_aged_indoor_m": ("gas_other_per_m", True),
    "gas_aged_other_m": ("gas_other_per_m", True),
    "gas_aged_municipal_m": ("gas_municipal_per_m", False),
}
#: metres by which the class columns may differ from ``gas_aged_m`` (rounding of the overlay)
_METRE_SLACK = 0.05


@dataclass
class _Columns:
    """Reads the numeric columns of the compounds and remembers what was missing or empty."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def get(self, name: str) -> np.ndarray:
        """The column as float64, 0 where empty; zeros (and remembered) when absent."""
        if not self.has(name):
            self.missing.append(name)
            return np.zeros(len(self.frame))
        arr = numeric(self.frame, name, STAGE)
        nan = np.isnan(arr)
        if nan.any():
            self.notes.append(f"{name} is empty for {int(nan.sum())} compound(s) "
                              f"({short_list(self.frame.index[nan])}); counted as 0")
        return np.where(nan, 0.0, arr)


@dataclass
class _Gas:
    """Gas work of every compound, in 万元, and the rate fields that priced it."""

    eligible: np.ndarray  # eligible for the central gas subsidy
    utility: np.ndarray   # aged municipal mains, owned by the gas utility
    rates_used: set[str]


def estimate_costs(compounds: pd.DataFrame,
                   rates: CostRates | Mapping | str | os.PathLike | None = None) -> CostEstimate:
    """Estimate the investment per compound, by cost item, in 万元.

    Parameters
    ----------
    compounds : GeoDataFrame or DataFrame
        Indexed by ``compound_id``. Uses ``floor_area_m2`` (required), ``renovation_class``
        (codes ``basic/improve/upgrade`` or 基础/完善/提升; missing → ``rates.renovation_default_class``),
        ``households``, ``elevators_planned``, ``illegal_area_m2`` and the aged gas metres
        ``gas_aged_m`` and ``gas_aged_<class>_m`` from the overlays. Missing columns count
        as 0; a :class:`SpatialRenoWarning` and a note say which.
    rates : CostRates, dict or path to a TOML file, optional
        Unit rates; defaults to ``CostRates()``.

    Returns
    -------
    CostEstimate
        ``.compounds``: a copy of ``compounds`` (same type) with, per compound (万元,
        rounded to 0.01):

        * ``cost_renovation`` = floor_area_m2 × rate of the renovation class;
        * ``cost_gas`` = aged metres × per-metre rate by class + user-side work per
          household (method ``"metre"``), or households × ``gas_per_household`` (method
          ``"household"``) for compounds with eligible aged pipe; aged municipal mains are
          always priced per metre, and that part is also in ``cost_gas_utility``;
        * ``cost_elevator`` = elevators_planned × ``elevator_per_unit``;
        * ``cost_demolition`` = illegal_area_m2 × ``demolition_per_m2``;
        * ``cost_total``, the exact sum of the four;
        * ``construction_cost``, ``goods_cost``, ``services_cost``: the procurement split
          used by the tender check, summing exactly to ``cost_total``.

        Aged metres not in any ``gas_aged_<class>_m`` column (``gas_aged_m`` minus the
        class columns) are priced at ``gas_other_per_m``. ``.notes`` lists what was assumed
        (missing columns, default classes, rates with no published source; every warning
        is a note too) and ``.rates`` holds the rates used.

    Raises
    ------
    SchemaError
        If ``floor_area_m2`` is missing.
    DataError
        If ``compounds`` is not a DataFrame or has repeated ids; on non-numeric or negative
        figures, or an unknown renovation class.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.costing import estimate_costs
    >>> compounds = pd.DataFrame(
    ...     {"floor_area_m2": [10_000.0, 20_000.0], "renovation_class": ["improve", "基础"],
    ...      "households": [100, 200], "elevators_planned": [2, 0],
    ...      "illegal_area_m2": [200.0, 0.0], "gas_aged_m": [0.0, 0.0]},
    ...     index=pd.Index(["a", "b"], name="compound_id"))
    >>> est = estimate_costs(compounds)
    >>> est
    CostEstimate(2 compounds, cost_total 953.00 万元, 2 note(s))
    >>> est.compounds.loc["a", ["cost_renovation", "cost_elevator", "cost_demolition",
    ...                         "cost_total"]].tolist()
    [450.0, 100.0, 3.0, 553.0]
    >>> est.compounds["cost_total"].tolist()
    [553.0, 400.0]
    """
    rates = _coerce(CostRates, rates, "rates")
    compounds = require_frame(compounds, "compounds", stage=STAGE, columns=("floor_area_m2",))
    cols = _Columns(compounds)
    renovation = _renovation_cost(cols, rates)
    gas = _gas_cost(cols, rates)
    elevators = cols.get("elevators_planned")
    illegal = cols.get("illegal_area_m2")
    items = {
        "cost_renovation": fen(renovation),
        "cost_gas_utility": fen(gas.utility),
        "cost_elevator": fen(elevators * rates.elevator_per_unit),
        "cost_demolition": fen(illegal * rates.demolition_per_m2 / YUAN_PER_WAN),
    }
    items["cost_gas"] = fen(gas.eligible) + items["cost_gas_utility"]
    out = _costed_frame(compounds, items, rates)
    used = gas.rates_used | {"services_share"}
    used |= {"goods_share_elevator"} if elevators.any() else set()
    used |= {"demolition_per_m2"} if illegal.any() else set()
    notes = _missing_note(cols, rates) + cols.notes
    notes += _assumed_rates_note(rates, used, any_cost=bool(out["cost_total"].any()))
    return CostEstimate(out, tuple(notes), rates)


def _renovation_cost(cols: _Columns, rates: CostRates) -> np.ndarray:
    """floor_area_m2 × the rate of each compound's renovation class (万元)."""
    gfa = cols.get("floor_area_m2")
    frame, default = cols.frame, rates.renovation_default_class
    if not cols.has("renovation_class"):
        cols.missing.append("renovation_class")
        classes = np.full(len(frame), default, dtype=object)
    else:
        raw = frame["renovation_class"]
        canon = schema.canonical_values("renovation_class", raw.astype("object"))
        unknown = raw.notna() & ~canon.isin(RENOVATION_CLASSES)
        if unknown.any():
            raise DataError(
                f"{STAGE}: unknown renovation_class {raw[unknown].iloc[0]!r} in rows "
                f"{short_list(frame.index[unknown.to_numpy()])}; expected basic/improve/upgrade "
                "(基础/完善/提升)"
            )
        empty = canon.isna().to_numpy()
        if empty.any():
            cols.notes.append(f"renovation_class is empty for {int(empty.sum())} compound(s); "
                              f"costed as {default!r}")
        classes = canon.where(~empty, default).to_numpy()
    class_rate = np.array([rates.renovation_rate(c) for c in RENOVATION_CLASSES])
    return gfa * class_rate[pd.Index(RENOVATION_CLASSES).get_indexer(classes)] / YUAN_PER_WAN


def _gas_cost(cols: _Columns, rates: CostRates) -> _Gas:
    """Aged gas pipe priced by class (or per household), split eligible / utility-owned."""
    households = cols.get("households")
    n = len(cols.frame)
    eligible_m, eligible_yuan, utility_yuan, class_sum = (np.zeros(n) for _ in range(4))
    present = [c for c in _GAS_CLASSES if cols.has(c)]
    used: set[str] = set()
    for col in present:
        metres = cols.get(col)
        rate_field, eligible = _GAS_CLASSES[col]
        class_sum += metres
        if metres.any():
            used.add(rate_field)
        if eligible:
            eligible_m += metres
            eligible_yuan += metres * getattr(rates, rate_field)
        else:
            utility_yuan += metres * rates.gas_municipal_per_m
    if cols.has("gas_aged_m"):
        rest = _unclassed_metres(cols, class_sum, rates, used)
        eligible_m += rest
        eligible_yuan += rest * rates.gas_other_per_m
    elif not present:
        cols.missing.append("gas_aged_m")
    has_gas_work = eligible_m > 0
    if rates.gas_method == "household":
        eligible = np.where(has_gas_work, households * rates.gas_per_household, 0.0)
        used = {r for r in used if r == "gas_municipal_per_m"}
    else:
        eligible = eligible_yuan / YUAN_PER_WAN + np.where(
            has_gas_work, households * rates.gas_user_side_per_household, 0.0)
    if not cols.has("gas_aged_municipal_m") and (cols.has("gas_aged_m") or present):
        cols.notes.append("no gas_aged_municipal_m column: no gas work is put on the utility "
                          "(cost_gas_utility = 0)")
    return _Gas(eligible, utility_yuan / YUAN_PER_WAN, used)


def _unclassed_metres(cols: _Columns, class_sum: np.ndarray, rates: CostRates,
                      used: set[str]) -> np.ndarray:
    """``gas_aged_m`` minus the class columns (≥ 0), priced later at ``gas_other_per_m``."""
    rest = cols.get("gas_aged_m") - class_sum
    over = rest < -_METRE_SLACK
    if over.any():
        note = (f"the gas_aged_<class>_m columns add up to more than gas_aged_m in "
                f"{short_list(cols.frame.index[over])}; the class columns are used")
        cols.notes.append(note)
        warnings.warn(f"{STAGE}: {note}", SpatialRenoWarning, stacklevel=4)
    rest = np.clip(rest, 0.0, None)
    if rest.sum() > _METRE_SLACK:
        used.add("gas_other_per_m")
        cols.notes.append(
            f"{rest.sum():.1f} m of aged gas pipe in no class column priced at "
            f"gas.other_per_m = {rates.gas_other_per_m:g} 元/m (eligible for the central subsidy)"
        )
    return rest


def _costed_frame(compounds: pd.DataFrame, items: Mapping[str, np.ndarray],
                  rates: CostRates) -> pd.DataFrame:
    """A copy of the compounds with the cost columns; every total the exact sum of its parts."""
    total = sum(items[c] for c in COST_ITEMS)
    part = procurement_split(rates, total, {
        "renovation": items["cost_renovation"], "gas": items["cost_gas"],
        "elevator": items["cost_elevator"], "demolition": items["cost_demolition"],
    })
    out = compounds.copy()
    for name in ("cost_renovation", "cost_gas", "cost_gas_utility", "cost_elevator",
                 "cost_demolition"):
        out[name] = wan(items[name])
    out["cost_total"] = wan(total)
    for name, value in part.items():
        out[name] = wan(value)
    return out


def _missing_note(cols: _Columns, rates: CostRates) -> list[str]:
    """The note (and warning) on the columns that were absent and counted as 0."""
    if not cols.missing:
        return []
    msg = f"no column {', '.join(map(repr, cols.missing))} in `compounds`: counted as 0"
    if "renovation_class" in cols.missing:
        msg += f" (renovation_class: every compound costed as {rates.renovation_default_class!r})"
    warnings.warn(f"{STAGE}: {msg}. Run the overlays first or add the columns.",
                  SpatialRenoWarning, stacklevel=3)
    return [msg]


def _assumed_rates_note(rates: CostRates, used: set[str], *, any_cost: bool) -> list[str]:
    """The note listing the rates used that are still at a default without a source."""
    assumed = set(rates.assumptions)
    by_field = {k.field: k for k in CostRates._KEYS}
    shown = [by_field[f] for f in sorted(used) if by_field[f].path in assumed]
    if not (shown and any_cost):
        return []
    parts = [f"{k.path} = {getattr(rates, k.field):g}{'' if k.unit == 'share' else ' ' + k.unit}"
             for k in shown]
    return ["assumed rates (no published figure; set your own in a rates file): "
            + ", ".join(parts)]

