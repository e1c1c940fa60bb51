"""The results of costing and funding: plain, immutable objects (never ``DataFrame.attrs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # annotations only: funding.py and estimate.py import this module
    from .funding import FundingShares
    from .rates import CostRates

__all__ = ["CostEstimate", "FundingResult"]


@dataclass(frozen=True, eq=False)
class CostEstimate:
    """What :func:`~spatialreno.estimate_costs` returns.

    Attributes
    ----------
    compounds : DataFrame or GeoDataFrame
        A copy of the compounds with the ``cost_<item>``, ``cost_total`` and procurement
        columns (万元).
    notes : tuple of str
        What was assumed: missing columns counted as 0, default classes, rates with no
        published source.
    rates : CostRates
        The rates used.
    """

    compounds: pd.DataFrame
    notes: tuple[str, ...]
    rates: CostRates

    def __repr__(self) -> str:
        total = float(self.compounds["cost_total"].sum()) if len(self.compounds) else 0.0
        return (f"CostEstimate({len(self.compounds)} compounds, cost_total {total:,.2f} 万元, "
                f"{len(self.notes)} note(s))")


@dataclass(frozen=True, eq=False)
class FundingResult:
    """What :func:`~spatialreno.fund_packages` returns.

    Attributes
    ----------
    packages : DataFrame or GeoDataFrame
        A copy of the packages with ``fund_<source>``, the procurement split,
        ``must_tender`` and ``split_warning``.
    split_groups : DataFrame
        One row per 化整为零 group: ``category``, ``contractor``, ``packages`` (a tuple of
        package ids), ``total`` and ``threshold`` (万元). Empty when none.
    notes : tuple of str
        What was assumed or skipped.
    shares : FundingShares
        The shares used.
    """

    packages: pd.DataFrame
    split_groups: pd.DataFrame
    notes: tuple[str, ...]
    shares: FundingShares

    def __repr__(self) -> str:
        tender = int(self.packages["must_tender"].sum()) if len(self.packages) else 0
        return (f"FundingResult({len(self.packages)} packages, {tender} to tender, "
                f"{len(self.split_groups)} split group(s), {len(self.notes)} note(s))")
