"""Fund the packages: who pays which share of which cost item, and the tender check.

:class:`FundingShares` says who pays what share of each cost item, within policy caps;
:func:`fund_packages` splits each package's cost across the funding sources (to the last
0.01 万元) and checks it against the tender thresholds and for 化整为零.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import networkx as nx
import numpy as np
import pandas as pd

from .._contracts import require_frame, short_list
from .._toml import load_toml
from ..errors import ConfigError, DataError, SchemaError, SpatialRenoWarning
from ..packages import package_adjacency
from ._config import SHARE_TOLERANCE, _coerce, _Key, _parse_value, _where
from ._money import FEN, FLOOR_SLACK, fen, floor_fen, numeric, wan
from .estimate import COST_ITEMS
from .rates import CostRates
from .results import FundingResult
from .tender import (
    SPLIT_GROUP_COLUMNS,
    TENDER_CATEGORIES,
    TenderThresholds,
    contractors,
    must_tender,
    procurement_split,
    split_groups,
    split_note,
    split_warnings,
)

__all__ = ["FundingShares", "fund_packages", "FUNDING_ITEMS", "FUNDING_SOURCES",
           "CENTRAL_GAS_CAPS"]

STAGE = "fund_packages"

#: the items that :class:`FundingShares` splits (``gas`` is the part of ``cost_gas`` that is
#: eligible for the central gas subsidy; ``gas_utility`` is work on utility-owned mains)
FUNDING_ITEMS: tuple[str, ...] = ("renovation", "gas", "gas_utility", "elevator", "demolition")
#: funding sources, in the order of the ``fund_<source>`` columns
FUNDING_SOURCES: tuple[str, ...] = (
    "central", "provincial", "municipal", "bond", "residents", "social", "utility",
)
#: Central-budget cap on gas-pipe renewal, as a share of the eligible investment, by region
#: (DOMAIN.md §6.3, China Energy News on the NDRC interim measures).
CENTRAL_GAS_CAPS: Mapping[str, float] = MappingProxyType({
    "east": 0.30,
    "central": 0.45,  # 中部, incl. Hubei / Wuhan
    "west": 0.60,
    "northeast": 0.60,
    "tibetan_areas": 0.80,  # Tibetan areas of 4 provinces, 4 prefectures of South Xinjiang
    "tibet": 1.00,
})


def _freeze(table: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in table.items()})


_DEFAULT_SHARES = {
    # Wuhan reply (2019 – June 2022): central 12.56亿, provincial 525万, municipal 20.19亿,
    # utilities 1,675万 → central 38.1 %, provincial 0.16 % of the 32.97亿 total.
    "renovation": {"central": 0.38, "provincial": 0.0016, "residents": 0.05},
    # central gas subsidy at the Hubei cap (Pingdingshan, also central China, got 45.0 %)
    "gas": {"central": 0.45},
    # utilities fund their own network (DOMAIN §4.3)
    "gas_utility": {"utility": 1.0},
    # 50 万元/部 build cost, 15 万元/部 typical subsidy (§9) → owners pay 70 %
    "elevator": {"residents": 0.70},
    # 拆违进小区 is paid by the city (城管执法委): all to the balancing source
    "demolition": {},
}
_DEFAULT_CAPS = {"gas": {"central": CENTRAL_GAS_CAPS["central"]}}
_ASSUMED_SHARES = {("renovation", "residents")}
#: slack allowed when a share is compared with its cap
_CAP_SLACK = 1e-12


def _parse_table(section: str, table) -> dict[str, dict[str, float]]:
    """``{item: {source: share}}`` checked: known items and sources, shares in [0, 1]."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{section}: expected a table of items, got {table!r}")
    out: dict[str, dict[str, float]] = {}
    for item, row in table.items():
        if item not in FUNDING_ITEMS:
            raise ConfigError(
                f"{section}.{item}: unknown cost item; expected one of {', '.join(FUNDING_ITEMS)}"
            )
        if not isinstance(row, Mapping):
            raise ConfigError(f"{section}.{item}: expected a table of sources, got {row!r}")
        out[item] = {}
        for source, value in row.items():
            key = f"{section}.{item}.{source}"
            if source not in FUNDING_SOURCES:
                raise ConfigError(
                    f"{key}: unknown funding source; expected one of {', '.join(FUNDING_SOURCES)}"
                )
            out[item][source] = _parse_value(_Key(key, key, "share"), value, "")
    return out


def _check_item_shares(item: str, row: Mapping[str, float], caps: Mapping[str, float],
                       balance: str) -> None:
    """One item's shares: none for the balancing source, at most 1 in all, within caps."""
    if balance in row:
        raise ConfigError(
            f"shares.{item}.{balance}: {balance!r} is the balancing source and "
            "takes whatever the other shares leave; remove its share (or change `balance`)"
        )
    total = sum(row.values())
    if total > 1 + SHARE_TOLERANCE:
        raise ConfigError(
            f"shares.{item}: the shares add up to {total:g}, more than 1 "
            f"({', '.join(f'{s}={v:g}' for s, v in row.items())})"
        )
    for source, value in row.items():
        cap = caps.get(source)
        if cap is not None and value > cap + _CAP_SLACK:
            raise ConfigError(
                f"shares.{item}.{source}: {value:g} is above its cap caps.{item}.{source} = "
                f"{cap:g} (e.g. the central gas subsidy is capped at 45 % of eligible "
                "investment in Hubei, DOMAIN §6.3)"
            )


@dataclass(frozen=True)
class FundingShares:
    """Who pays what share of each cost item (frozen, validated).

    For every package, each cost item is split across the funding sources by ``shares``;
    whatever the shares leave, plus the 0.01 万元 rounding residue, goes to the ``balance``
    source (default ``"municipal"``, the 市级专项资金 that closes the gap in Wuhan). ``caps``
    are policy limits that ``shares`` may not exceed.

    Items (``FUNDING_ITEMS``): ``renovation`` (``cost_renovation``), ``gas`` (the part of
    ``cost_gas`` on pipes owned by residents or the government, eligible for the central gas
    subsidy), ``gas_utility`` (``cost_gas_utility``: aged municipal mains owned by the gas
    utility, not eligible), ``elevator``, ``demolition``. Sources (``FUNDING_SOURCES``):
    central, provincial, municipal, bond, residents, social, utility.

    Defaults and where they come from:

    ==============  ==========================================  ==================================
    item            shares                                      source
    ==============  ==========================================  ==================================
    renovation      central 0.38, provincial 0.0016,            Wuhan reply 2019–2022.6: central
                    residents 0.05 (*assumption*)               12.56亿, provincial 525万 of 32.97亿
    gas             central 0.45 (cap 0.45, Hubei)              DOMAIN §6.3 (Pingdingshan 45.0 %)
    gas_utility     utility 1.0                                 DOMAIN §4.3 (operators fund own)
    elevator        residents 0.70                              §9: 50 万/部 cost − 15 万/部 subsidy
    demolition      — (all municipal)                           Wuhan 拆违进小区 (城管执法委)
    ==============  ==========================================  ==================================

    Regional caps on the central gas subsidy are in ``CENTRAL_GAS_CAPS`` (east 0.30, central
    0.45, west/northeast 0.60, Tibetan areas 0.80, Tibet 1.00); use
    ``FundingShares.for_region("east")`` or set ``caps`` yourself.

    TOML (``datasets/funding_default.toml``)::

        balance = "municipal"
        [shares.renovation]
        central = 0.38
        residents = { value = 5, unit = "%" }
        [caps.gas]
        central = 0.45

    An item table given in the file replaces that item's default shares entirely (so a
    source can be dropped by leaving it out); items not given keep their defaults.

    Examples
    --------
    >>> from spatialreno.costing import FundingShares
    >>> fs = FundingShares()
    >>> fs.balance, fs.shares["gas"]["central"], fs.caps["gas"]["central"]
    ('municipal', 0.45, 0.45)
    >>> FundingShares.for_region("east").shares["gas"]["central"]
    0.3
    """

    shares: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: _freeze(_DEFAULT_SHARES))
    caps: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: _freeze(_DEFAULT_CAPS))
    balance: str = "municipal"

    def __post_init__(self):
        if self.balance not in FUNDING_SOURCES:
            raise ConfigError(
                f"balance: unknown funding source {self.balance!r}; expected one of "
                f"{', '.join(FUNDING_SOURCES)}"
            )
        shares = {item: {} for item in FUNDING_ITEMS} | _parse_table("shares", self.shares)
        caps = _parse_table("caps", self.caps)
        for item, row in caps.items():
            if self.balance in row:
                raise ConfigError(
                    f"caps.{item}.{self.balance}: {self.balance!r} is the balancing source, which "
                    "takes whatever the other shares leave and so cannot be capped; choose "
                    "another `balance` or remove the cap"
                )
        for item, row in shares.items():
            _check_item_shares(item, row, caps.get(item, {}), self.balance)
        object.__setattr__(self, "shares", _freeze(shares))
        object.__setattr__(self, "caps", _freeze(caps))

    def __hash__(self):
        return hash(repr(self.to_dict()))

    @classmethod
    def for_region(cls, region: str) -> FundingShares:
        """Defaults with the central gas share and cap of a region of ``CENTRAL_GAS_CAPS``."""
        if region not in CENTRAL_GAS_CAPS:
            raise ConfigError(f"region: expected one of {', '.join(CENTRAL_GAS_CAPS)}, got {region!r}")
        cap = CENTRAL_GAS_CAPS[region]
        shares = {k: dict(v) for k, v in _DEFAULT_SHARES.items()}
        shares["gas"]["central"] = cap
        return cls(shares=shares, caps={"gas": {"central": cap}})

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str | None = None) -> FundingShares:
        """Build from ``{"balance": ..., "shares": {item: {source: share}}, "caps": {...}}``.

        Shares are fractions (0.45) or ``{"value": 45, "unit": "%"}``. An item given here
        replaces that item's default shares; ``caps`` replace the default caps per item.
        """
        where = _where(source)
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}expected a table of settings, got {type(data).__name__}")
        extra = set(data) - {"balance", "shares", "caps", "region"}
        if extra:
            raise ConfigError(
                f"{where}unknown key(s) {', '.join(sorted(map(repr, extra)))}; known keys: "
                "balance, region, shares.<item>.<source>, caps.<item>.<source>"
            )
        try:
            base = cls.for_region(data["region"]) if "region" in data else cls()
            shares = {k: dict(v) for k, v in base.shares.items()}
            caps = {k: dict(v) for k, v in base.caps.items()}
            for section, target in (("shares", shares), ("caps", caps)):
                given = data.get(section, {})
                if not isinstance(given, Mapping):
                    raise ConfigError(f"{section}: expected a table of items, got {given!r}")
                for item, row in given.items():
                    target[item] = row
            return cls(shares=shares, caps=caps, balance=data.get("balance", base.balance))
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> FundingShares:
        """Read a TOML file; errors name the key and the file."""
        return cls.from_dict(load_toml(path, what="funding shares"), source=str(path))

    def to_dict(self) -> dict:
        """``{"balance", "shares", "caps"}`` as plain dicts; ``from_dict(x.to_dict()) == x``."""
        return {
            "balance": self.balance,
            "shares": {k: dict(v) for k, v in self.shares.items()},
            "caps": {k: dict(v) for k, v in self.caps.items()},
        }

    @property
    def assumptions(self) -> tuple[str, ...]:
        """Dotted keys still at a default that has no published source."""
        defaults = _DEFAULT_SHARES
        return tuple(
            f"shares.{item}.{source}"
            for item, source in sorted(_ASSUMED_SHARES)
            if self.shares.get(item, {}).get(source) == defaults[item].get(source)
        )

    def share(self, item: str, source: str) -> float:
        """Share of ``item`` paid by ``source`` (the balancing source's is what is left)."""
        row = self.shares.get(item, {})
        if source == self.balance:
            return 1.0 - sum(row.values())
        return row.get(source, 0.0)



# ======================================================================================
# fund_packages
# ======================================================================================
@dataclass
class _Costs:
    """A package frame's money in 0.01 万元: the total, by funding item, and the notes."""

    total: np.ndarray                     # int64, rounded cost_total
    by_item: dict[str, np.ndarray]        # FUNDING_ITEMS → float64 0.01 万元
    notes: list[str] = field(default_factory=list)


def fund_packages(
    packages: pd.DataFrame,
    shares: FundingShares | Mapping | str | os.PathLike | None = None,
    *,
    thresholds: TenderThresholds | Mapping | str | os.PathLike | None = None,
    rates: CostRates | Mapping | str | os.PathLike | None = None,
    adjacency: nx.Graph | Iterable[tuple] | None = None,
    graph: nx.Graph | None = None,
    labels: pd.Series | None = None,
) -> FundingResult:
    """Split each package's cost across funding sources and check the tender thresholds.

    Parameters
    ----------
    packages : GeoDataFrame or DataFrame
        Indexed by ``package_id``, with ``cost_total`` and the summed ``cost_<item>``,
        ``cost_gas_utility``, ``construction_cost``, ``goods_cost`` and ``services_cost``
        columns of :func:`~spatialreno.estimate_costs` (as
        :func:`spatialreno.dissolve_packages` sums them). Optional ``contractor`` (承包单位).
    shares : FundingShares, dict or TOML path, optional
        Defaults to ``FundingShares()``.
    thresholds : TenderThresholds, dict or TOML path, optional
        Defaults to ``TenderThresholds()`` (400 / 200 / 100 万元).
    rates : CostRates, dict or TOML path, optional
        Used only when the procurement split columns are missing, to derive them from the
        ``cost_<item>`` columns.
    adjacency : networkx.Graph or iterable of pairs, optional
        Package adjacency (nodes = package ids), for the 化整为零 check.
    graph, labels : networkx.Graph and Series, optional
        Alternatively, the compound adjacency graph and the compound → package labels; two
        packages are adjacent when a compound edge crosses between them
        (:func:`spatialreno.packages.package_adjacency`).

    Returns
    -------
    FundingResult
        ``.packages``: a copy of ``packages`` (same type) with

        * ``fund_central`` … ``fund_utility`` (万元): ``round(cost_total, 2)`` split by the
          shares. Every source except the balancing one is rounded *down* to 0.01 万元 (so
          no cap is exceeded by rounding); the balancing source takes the rest, so the seven
          columns add up exactly (in decimal) to the rounded ``cost_total``. Any part of
          ``cost_total`` not covered by the ``cost_<item>`` columns also goes to the
          balancing source.
        * ``construction_cost``, ``goods_cost``, ``services_cost`` (万元) and ``must_tender``
          (Int64 0/1: construction ≥ 400, goods ≥ 200 or services ≥ 100 万元, compared at
          0.01 万元).
        * ``split_warning`` (str, "" when none): set when the package belongs to a group of
          adjacent packages with the same contractor that are *each* below a threshold but
          *together* reach it (化整为零, 招标投标法 art. 4). A group is a connected set of such
          packages under one contractor, so three adjacent 150 万元 packages are caught as
          well as two. Without a ``contractor`` column, or where it is empty, packages count
          as the same (unknown) contractor. Without an adjacency, the check is skipped.

        ``.split_groups`` lists the groups (category, contractor, packages, total,
        threshold), ``.notes`` what was assumed or found (the 化整为零 warning too) and
        ``.shares`` the shares used.

    Warns
    -----
    SpatialRenoWarning
        When a 化整为零 group is found; the message lists the groups.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.costing import fund_packages
    >>> pk = pd.DataFrame({"cost_total": [500.0], "cost_renovation": [500.0]},
    ...                   index=pd.Index(["P1"], name="package_id"))
    >>> funded = fund_packages(pk)
    >>> funded
    FundingResult(1 packages, 1 to tender, 0 split group(s), 2 note(s))
    >>> funded.notes[-1]
    'no adjacency given (graph + labels or adjacency): 化整为零 check skipped'
    >>> f = funded.packages
    >>> f[["fund_central", "fund_provincial", "fund_municipal", "fund_residents"]].iloc[0].tolist()
    [190.0, 0.8, 284.2, 25.0]
    >>> int(f["must_tender"].iloc[0]), float(f["construction_cost"].iloc[0])
    (1, 470.0)
    """
    shares = _coerce(FundingShares, shares, "shares")
    thresholds = _coerce(TenderThresholds, thresholds, "thresholds")
    packages = require_frame(packages, "packages", stage=STAGE)
    H = package_adjacency(packages.index, adjacency=adjacency, graph=graph, labels=labels)
    costs = _itemise(packages, shares)
    funds = _split_funds(costs, shares)
    part = _procurement(packages, costs, rates)
    groups = _split_check(packages, part, thresholds, H, costs.notes)
    out = packages.copy()
    for source in FUNDING_SOURCES:
        out[f"fund_{source}"] = wan(funds[source])
    for _, col in TENDER_CATEGORIES:
        out[col] = wan(part[col])
    out["must_tender"] = pd.array(must_tender(part, thresholds).astype("int64"), dtype="Int64")
    out["split_warning"] = split_warnings(out.index, groups)
    note = split_note(groups)
    if note:
        costs.notes.append(note)
        warnings.warn(f"{STAGE}: {note}", SpatialRenoWarning, stacklevel=2)
    return FundingResult(out, groups, tuple(costs.notes), shares)


def _item_columns(packages: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ``cost_<item>`` and ``cost_gas_utility`` columns in 0.01 万元 (0 when absent)."""
    n = len(packages)
    return {c: (np.nan_to_num(numeric(packages, c, STAGE)) * FEN if c in packages.columns
                else np.zeros(n)) for c in (*COST_ITEMS, "cost_gas_utility")}


def _total(packages: pd.DataFrame, item: Mapping[str, np.ndarray], notes: list[str]) -> np.ndarray:
    """``cost_total`` in whole 0.01 万元, or the sum of the items when there is none."""
    if "cost_total" in packages.columns:
        cost = numeric(packages, "cost_total", STAGE)
        nan = np.isnan(cost)
        if nan.any():
            raise DataError(
                f"{STAGE}: cost_total is empty for packages {short_list(packages.index[nan])}; "
                "run estimate_costs on the compounds before dissolve_packages"
            )
        return fen(cost)
    if any(c in packages.columns for c in COST_ITEMS):
        notes.append("no cost_total column: the sum of the cost_<item> columns is funded")
        return fen(sum(item[c] for c in COST_ITEMS) / FEN)
    raise SchemaError(
        f"{STAGE}: `packages` has neither cost_total nor any of {', '.join(COST_ITEMS)}; "
        "run estimate_costs on the compounds and dissolve them into packages first"
    )


def _itemise(packages: pd.DataFrame, shares: FundingShares) -> _Costs:
    """The total and the funding items of every package, checked against each other."""
    notes: list[str] = []
    item = _item_columns(packages)
    total = _total(packages, item, notes)
    if not any(c in packages.columns for c in COST_ITEMS):
        item["cost_renovation"] = total.astype("float64")
        notes.append("no cost_<item> columns: the whole cost_total is funded as renovation")
    elif "cost_gas" in packages.columns and "cost_gas_utility" not in packages.columns:
        notes.append("no cost_gas_utility column: all gas work counted as eligible for the "
                     "central subsidy")
    gas_utility = np.minimum(item["cost_gas_utility"], item["cost_gas"])
    by_item = {
        "renovation": item["cost_renovation"], "gas": item["cost_gas"] - gas_utility,
        "gas_utility": gas_utility, "elevator": item["cost_elevator"],
        "demolition": item["cost_demolition"],
    }
    gap = total - sum(by_item.values())  # in 0.01 万元 units
    over = gap < -1 - FLOOR_SLACK
    if over.any():
        raise DataError(
            f"{STAGE}: the cost_<item> columns add up to more than cost_total in packages "
            f"{short_list(packages.index[over])}; recompute cost_total or the items"
        )
    extra = gap > 1 + FLOOR_SLACK
    if extra.any():
        notes.append(
            f"{gap[extra].sum() / FEN:.2f} 万元 of cost_total in {int(extra.sum())} package(s) "
            f"is not in the cost_<item> columns; funded by the balancing source ({shares.balance})"
        )
    return _Costs(total, by_item, notes)


def _split_funds(costs: _Costs, shares: FundingShares) -> dict[str, np.ndarray]:
    """Source → 0.01 万元: every source but the balancing one rounded down; it takes the rest."""
    funds: dict[str, np.ndarray] = {}
    for source in FUNDING_SOURCES:
        if source != shares.balance:
            exact = sum(shares.share(it, source) * costs.by_item[it] for it in FUNDING_ITEMS)
            funds[source] = floor_fen(exact)
    balance = costs.total - sum(funds.values())
    # rounding noise can only leave the balancing source a few 0.01 万元 short
    for row in np.flatnonzero(balance < 0):
        need = -balance[row]
        for source in sorted(funds, key=lambda s: -funds[s][row]):
            take = min(need, funds[source][row])
            funds[source][row] -= take
            need -= take
            if not need:
                break
        balance[row] = 0
    funds[shares.balance] = balance
    return funds


def _procurement(packages: pd.DataFrame, costs: _Costs, rates) -> dict[str, np.ndarray]:
    """Construction / goods / services in 0.01 万元: the columns, or derived from the items."""
    split_cols = [c for _, c in TENDER_CATEGORIES]
    if all(c in packages.columns for c in split_cols):
        return {c: fen(np.nan_to_num(numeric(packages, c, STAGE))) for c in split_cols}
    rates = _coerce(CostRates, rates, "rates")
    costs.notes.append(
        "no construction_cost/goods_cost/services_cost columns: derived from the cost_<item> "
        "columns with the procurement shares of the rates"
    )
    b = costs.by_item
    return procurement_split(rates, costs.total, {
        "renovation": b["renovation"], "gas": b["gas"] + b["gas_utility"],
        "elevator": b["elevator"], "demolition": b["demolition"],
    })


def _split_check(packages: pd.DataFrame, part: Mapping[str, np.ndarray],
                 thresholds: TenderThresholds, H: nx.Graph | None,
                 notes: list[str]) -> pd.DataFrame:
    """The 化整为零 groups (empty, with a note, when no adjacency is given)."""
    if H is None:
        notes.append("no adjacency given (graph + labels or adjacency): 化整为零 check skipped")
        return pd.DataFrame(columns=list(SPLIT_GROUP_COLUMNS))
    contractor, more = contractors(packages)
    notes += more
    return split_groups(packages.index, part, thresholds, H, contractor)
