"""Cost the compounds, fund the packages and check them against the tender thresholds.

Three steps, each a function that returns a plain result object::

    rates = sr.CostRates.from_toml("rates.toml")            # or CostRates() for the defaults
    est = sr.estimate_costs(compounds, rates)                # est.compounds: cost_<item>, cost_total (万元)
    packages = sr.dissolve_packages(est.compounds, labels)   # sums the additive columns
    funded = sr.fund_packages(packages, graph=G, labels=labels)  # funded.packages, .split_groups

Money is in 万元 (10,000 CNY) and rounded to 0.01 万元 (100 元). Rounding is done in whole
units of 0.01 万元 so that every total is the exact sum of its parts: a compound's
``cost_total`` is the sum of its ``cost_<item>`` columns and of ``construction_cost +
goods_cost + services_cost``; a package's ``fund_<source>`` columns add up to its
``cost_total`` to the last 0.01 万元.

Configuration is three frozen, validated dataclasses, each loadable from TOML with
``from_toml`` (or ``from_dict``) and written back with ``to_dict``:

* :class:`CostRates`: unit rates, with the source of every default (DOMAIN.md §9);
* :class:`FundingShares`: who pays which share of which cost item, with policy caps;
* :class:`TenderThresholds`: the 令第16号 thresholds (400 / 200 / 100 万元).

A wrong key, a negative rate or a wrong unit raises :class:`~spatialreno.ConfigError` that
names the key and the file. The bundled ``datasets/rates_default.toml`` and
``datasets/funding_default.toml`` are commented copies of the defaults to start from.

Modules: ``rates`` (CostRates), ``estimate`` (estimate_costs), ``funding`` (FundingShares,
fund_packages), ``tender`` (TenderThresholds and the 化整为零 check), ``results``
(CostEstimate, FundingResult); ``_config`` holds the TOML/unit machinery shared with
:class:`spatialreno.PriorityWeights` and ``_money`` the 0.01 万元 arithmetic.
"""

from __future__ import annotations

from ..packages import package_adjacency
from .estimate import COST_ITEMS, estimate_costs
from .funding import (
    CENTRAL_GAS_CAPS,
    FUNDING_ITEMS,
    FUNDING_SOURCES,
    FundingShares,
    fund_packages,
)
from .rates import CostRates
from .results import CostEstimate, FundingResult
from .tender import TenderThresholds

__all__ = [
    "CostRates",
    "FundingShares",
    "TenderThresholds",
    "estimate_costs",
    "fund_packages",
    "package_adjacency",
    "CostEstimate",
    "FundingResult",
    "COST_ITEMS",
    "FUNDING_ITEMS",
    "FUNDING_SOURCES",
    "CENTRAL_GAS_CAPS",
]
