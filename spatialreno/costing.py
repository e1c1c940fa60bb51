"""Cost the compounds, fund the packages and check them against the tender thresholds.

Three steps, each a function that returns a new frame::

    rates = sr.CostRates.from_toml("rates.toml")        # or CostRates() for the defaults
    compounds = sr.estimate_costs(compounds, rates)      # cost_<item>, cost_total (万元)
    packages = sr.dissolve_packages(compounds, labels)   # sums the additive columns
    packages = sr.fund_packages(packages, graph=G, labels=labels)

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
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from . import schema
from .errors import ConfigError, DataError, SchemaError, SpatialRenoWarning
from .packages import package_adjacency

__all__ = [
    "CostRates",
    "FundingShares",
    "TenderThresholds",
    "estimate_costs",
    "fund_packages",
    "package_adjacency",
    "COST_ITEMS",
    "FUNDING_ITEMS",
    "FUNDING_SOURCES",
    "CENTRAL_GAS_CAPS",
]

#: cost columns that :func:`estimate_costs` writes, in order (万元)
COST_ITEMS: tuple[str, ...] = ("cost_renovation", "cost_gas", "cost_elevator", "cost_demolition")
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

_FEN = 100  # 0.01 万元 per unit: money is handled as integer counts of 0.01 万元
_EPS = 1e-6  # slack before flooring amounts computed in floating point


# ======================================================================================
# units and the config machinery shared by CostRates, TenderThresholds (and PriorityWeights)
# ======================================================================================
_MONEY_UNITS = {"元": 1.0, "yuan": 1.0, "cny": 1.0, "rmb": 1.0,
                "万元": 1e4, "万": 1e4, "10kyuan": 1e4, "10kcny": 1e4}
_PER_UNITS = {
    "m2": "m2", "平方米": "m2", "平米": "m2", "sqm": "m2",
    "m": "m", "米": "m", "延米": "m", "metre": "m", "meter": "m",
    "户": "household", "household": "household", "hh": "household",
    "部": "elevator", "台": "elevator", "elevator": "elevator", "unit": "elevator",
}
_PER_LABEL = {"m2": "floor area (㎡)", "m": "pipe length (m)", "household": "household (户)",
              "elevator": "elevator (部)", None: "nothing (a sum of money)"}
_SHARE_UNITS = {"share": 1.0, "fraction": 1.0, "": 1.0, "%": 0.01, "percent": 0.01}


def _norm_unit(unit: str) -> str:
    return unicodedata.normalize("NFKC", unit).replace(" ", "").lower()


def _parse_money_unit(unit: str) -> tuple[float, str | None] | None:
    """``"元/㎡"`` → ``(1.0, "m2")``; ``"万元"`` → ``(1e4, None)``; None when not understood."""
    text = _norm_unit(unit)
    num, _, per = text.partition("/")
    if num not in _MONEY_UNITS:
        return None
    if not per:
        return _MONEY_UNITS[num], None
    if per not in _PER_UNITS:
        return None
    return _MONEY_UNITS[num], _PER_UNITS[per]


@dataclass(frozen=True)
class _Key:
    """One configurable value: dataclass field, dotted TOML key, canonical unit, source."""

    field: str
    path: str
    unit: str  # a money unit ("元/㎡", "万元/户", ...), "share", "weight" or "choice"
    source: str = ""
    assumed: bool = False
    choices: tuple[str, ...] = ()


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _read_toml(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_value(spec: _Key, raw: Any, where: str) -> Any:
    """Turn a TOML value into the field's canonical unit; ConfigError names the key."""
    key = spec.path
    if spec.unit == "choice":
        if not isinstance(raw, str) or raw not in spec.choices:
            raise ConfigError(
                f"{where}{key}: expected one of {', '.join(map(repr, spec.choices))}, got {raw!r}"
            )
        return raw
    unit = None
    value = raw
    if isinstance(raw, Mapping):
        extra = set(raw) - {"value", "unit", "source", "note"}
        if extra:
            raise ConfigError(
                f"{where}{key}: unknown field(s) {', '.join(sorted(map(repr, extra)))}; a value "
                'table holds value, unit and optionally source/note, e.g. { value = 200, unit = "元/㎡" }'
            )
        if "value" not in raw:
            raise ConfigError(f"{where}{key}: the table has no 'value'")
        value, unit = raw["value"], raw.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise ConfigError(f"{where}{key}: unit must be a string, got {unit!r}")
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{where}{key}: expected a number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}{key}: must be ≥ 0, got {value!r}")
    if spec.unit == "weight":
        if unit is not None:
            raise ConfigError(f"{where}{key}: a weight has no unit; write {key.split('.')[-1]} = {value}")
        return float(value)
    if spec.unit == "share":
        scale = _SHARE_UNITS.get(_norm_unit(unit)) if unit is not None else 1.0
        if scale is None:
            raise ConfigError(
                f"{where}{key}: unit {unit!r} is not a share; give a fraction (0.06) or "
                '{ value = 6, unit = "%" }'
            )
        share = float(value) * scale
        if share > 1:
            raise ConfigError(f"{where}{key}: a share must be between 0 and 1, got {share:g}")
        return share
    # money rate: the unit is required
    want = _parse_money_unit(spec.unit)
    assert want is not None, spec.unit
    if unit is None:
        raise ConfigError(
            f"{where}{key}: needs an explicit unit; write {key.split('.')[-1]} = "
            f'{{ value = {value}, unit = "{spec.unit}" }}'
        )
    got = _parse_money_unit(unit)
    if got is None or got[1] != want[1]:
        raise ConfigError(
            f"{where}{key}: wrong unit {unit!r}; this rate is money per {_PER_LABEL[want[1]]}, "
            f'e.g. unit = "{spec.unit}"'
        )
    return float(value) * got[0] / want[0]


def _flatten(data: Mapping, known: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables → {dotted key: leaf}; a known key, or a table with ``value``, is a leaf."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in known and "value" not in value:
            out.update(_flatten(value, known, dotted + "."))
        else:
            out[dotted] = value
    return out


class _Config:
    """Mixin: ``from_dict`` / ``from_toml`` / ``to_dict`` / ``assumptions`` from ``_KEYS``."""

    _KEYS: ClassVar[tuple[_Key, ...]] = ()

    @classmethod
    def _by_path(cls) -> dict[str, _Key]:
        return {k.path: k for k in cls._KEYS}

    def _check_fields(self) -> None:
        """Validate the field values (the constructor path): plain numbers in the stored unit."""
        for spec in self._KEYS:
            kind = spec.unit if spec.unit in ("choice", "share") else "weight"
            value = _parse_value(dataclasses.replace(spec, unit=kind), getattr(self, spec.field), "")
            object.__setattr__(self, spec.field, value)

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str | None = None):
        """Build from nested tables as in the TOML file; missing keys keep their default.

        Parameters
        ----------
        data : mapping
            ``{"section": {"key": value}}``; money rates as ``{"value": v, "unit": "元/㎡"}``.
        source : str, optional
            Where the data came from (a file name), for error messages.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{_where(source)}expected a table of settings, got {type(data).__name__}")
        where = _where(source)
        known = cls._by_path()
        kwargs: dict[str, Any] = {}
        for dotted, raw in _flatten(data, known).items():
            spec = known.get(dotted)
            if spec is None:
                section = dotted.rpartition(".")[0]
                near = sorted(p for p in known if p.rpartition(".")[0] == section) or sorted(known)
                raise ConfigError(
                    f"{where}unknown key {dotted!r}; known keys: {', '.join(near)}"
                )
            kwargs[spec.field] = _parse_value(spec, raw, where)
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike):
        """Read a TOML file (see ``spatialreno/datasets/``); errors name the key and the file."""
        return cls.from_dict(_read_toml(path), source=str(path))

    def to_dict(self) -> dict:
        """Nested tables with explicit units; ``from_dict(x.to_dict()) == x``."""
        out: dict[str, Any] = {}
        for spec in self._KEYS:
            section, _, key = spec.path.rpartition(".")
            table = out
            for part in filter(None, section.split(".")):
                table = table.setdefault(part, {})
            value = getattr(self, spec.field)
            if spec.unit in ("share", "weight", "choice"):
                table[key] = value
            else:
                table[key] = {"value": value, "unit": spec.unit}
        return out

    @property
    def assumptions(self) -> tuple[str, ...]:
        """Dotted keys still at a default that has no published source (an assumption)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return tuple(
            k.path for k in self._KEYS if k.assumed and getattr(self, k.field) == defaults[k.field]
        )

    def describe(self) -> pd.DataFrame:
        """One row per key: value, unit, whether it is an assumption, and the default's source."""
        rows = []
        assumed = set(self.assumptions)
        for spec in self._KEYS:
            rows.append({
                "key": spec.path,
                "value": getattr(self, spec.field),
                "unit": "" if spec.unit in ("weight", "choice") else spec.unit,
                "assumption": spec.path in assumed,
                "source": spec.source,
            })
        return pd.DataFrame(rows).set_index("key")


def _coerce(cls, value, name: str):
    """None → defaults; instance → itself; mapping → from_dict; path → from_toml."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return cls.from_dict(value)
    if isinstance(value, str | os.PathLike):
        return cls.from_toml(value)
    raise ConfigError(
        f"`{name}` must be a {cls.__name__}, a dict or a TOML path, got {type(value).__name__}"
    )


# ======================================================================================
# CostRates
# ======================================================================================
_RENOVATION_CLASSES = ("basic", "improve", "upgrade")
_GAS_METHODS = ("metre", "household")


@dataclass(frozen=True)
class CostRates(_Config):
    """Unit rates for :func:`estimate_costs` (frozen, validated; defaults from DOMAIN.md §9).

    Rates are stored in the unit shown; a TOML file may use any money unit of the same kind
    (``元/户`` for a ``万元/户`` rate is converted). Keys marked *assumption* have no published
    figure behind them: :attr:`assumptions` lists those still at their default, and
    :func:`estimate_costs` says so in ``.attrs["cost_notes"]``. Replace them with your own
    figures before using the totals for anything but screening.

    Attributes
    ----------
    renovation_basic : float, default 200 (元/㎡ floor area; TOML ``renovation.basic``)
        Class ``basic`` (基础类). §9 "light, mostly 基础": Huaibei 2024 192 元/㎡, Kunming
        Xishan 158–255 元/㎡.
    renovation_improve : float, default 450 (元/㎡; ``renovation.improve``)
        Class ``improve`` (完善类, i.e. 基础 + some 完善). §9 "comprehensive renovation,
        central China": Wuhan Hanyang 2023 452, Caidian 2022 455, Xiantao 2024 400 元/㎡.
    renovation_upgrade : float, default 700 (元/㎡; ``renovation.upgrade``)
        Class ``upgrade`` (提升类). §9 "heavy": Taiyuan 南寨片区 lots 570–813 元/㎡. No
        central-China 提升类 figure was found; the heavy row is the nearest published scope.
    renovation_default_class : {"basic", "improve", "upgrade"}, default "improve"
        Class used for compounds without a ``renovation_class`` (450 元/㎡ is §9's default row).
    gas_method : {"metre", "household"}, default "metre"
        ``"metre"``: aged pipe metres × the per-metre rates below, plus
        ``gas_user_side_per_household`` for every household of a compound with eligible aged
        pipe. ``"household"``: ``gas_per_household`` for every household of such a compound
        (the pipes' lengths only decide *whether* there is gas work). Aged municipal mains are
        priced per metre in both methods.
    gas_per_household : float, default 0.72 (万元/户; ``gas.per_household``)
        Riser + courtyard + hose, 临澧 county: 74 compounds, 16,666 households, over 1.2亿
        (§6.5).
    gas_user_side_per_household : float, default 0.066 (万元/户)
        Hose, valve, alarm and some courtyard work, Pingdingshan 2023: 13,081万 / 19.8万
        households (§6.3).
    gas_courtyard_buried_per_m : float, default 1000 (元/m), *assumption*
        Aged courtyard buried pipe (庭院埋地管), incl. trenching and re-paving.
    gas_overhead_per_m : float, default 400 (元/m), *assumption*
        Aged overhead pipe (架空管).
    gas_riser_per_m : float, default 500 (元/m), *assumption*
        Aged risers (立管), and service pipes (引入管) and horizontal mains (水平干管), which the
        gas plan counts with risers (§6.1).
    gas_other_per_m : float, default 500 (元/m), *assumption*
        Aged indoor and other pipe, and aged metres not in any class column.
    gas_municipal_per_m : float, default 1500 (元/m), *assumption*
        Aged municipal mains (市政管道), owned by the gas utility: their cost goes to
        ``cost_gas_utility`` and is funded by the utility, not by the central subsidy.
        No per-metre price was published (§6.5). With about 4 m of courtyard pipe and 1.5 m
        of riser per household, the metre method gives about 0.54 万元/户, the same order as
        临澧's 0.72 万元/户.
    elevator_per_unit : float, default 50 (万元/部; ``elevator.per_unit``)
        Build cost of one elevator on a 6-storey building, "全款大约需要50万元左右" (weak
        source, §4.5).
    demolition_per_m2 : float, default 150 (元/㎡ of illegal-structure area), *assumption*
        Demolition and debris removal. No published figure (§9, §10 item 3).
    services_share : float, default 0.06 (share; ``procurement.services_share``), *assumption*
        Survey, design and supervision (勘察设计监理) as a share of every cost item; tested
        against the 100 万元 services threshold.
    goods_share_renovation, goods_share_gas, goods_share_demolition : float, default 0
        Share of each item bought as goods (important equipment and materials) in a separate
        purchase. Materials that the builder buys are part of construction.
    goods_share_elevator : float, default 0.45, *assumption*
        Share of an elevator retrofit that is the lift equipment (goods); the shaft,
        foundation and installation are construction.

    The rest of every item (1 − services − goods) is construction, tested against 400 万元.

    Examples
    --------
    >>> from spatialreno.costing import CostRates
    >>> rates = CostRates()
    >>> rates.renovation_improve, rates.gas_per_household, rates.elevator_per_unit
    (450.0, 0.72, 50.0)
    >>> "demolition.per_m2" in rates.assumptions
    True
    >>> CostRates.from_dict({"gas": {"per_household": {"value": 7200, "unit": "元/户"}}}).gas_per_household
    0.72
    """

    renovation_basic: float = 200.0
    renovation_improve: float = 450.0
    renovation_upgrade: float = 700.0
    renovation_default_class: str = "improve"
    gas_method: str = "metre"
    gas_per_household: float = 0.72
    gas_user_side_per_household: float = 0.066
    gas_courtyard_buried_per_m: float = 1000.0
    gas_overhead_per_m: float = 400.0
    gas_riser_per_m: float = 500.0
    gas_other_per_m: float = 500.0
    gas_municipal_per_m: float = 1500.0
    elevator_per_unit: float = 50.0
    demolition_per_m2: float = 150.0
    services_share: float = 0.06
    goods_share_renovation: float = 0.0
    goods_share_gas: float = 0.0
    goods_share_elevator: float = 0.45
    goods_share_demolition: float = 0.0

    _KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("renovation_basic", "renovation.basic", "元/㎡",
             "DOMAIN §9 light, mostly 基础: Huaibei 2024 192, Kunming Xishan 158–255 元/㎡"),
        _Key("renovation_improve", "renovation.improve", "元/㎡",
             "DOMAIN §9 基础+some 完善: Hanyang 2023 452, Caidian 2022 455, Xiantao 2024 400 元/㎡"),
        _Key("renovation_upgrade", "renovation.upgrade", "元/㎡",
             "DOMAIN §9 heavy: Taiyuan 南寨片区 lots 570–813 元/㎡"),
        _Key("renovation_default_class", "renovation.default_class", "choice",
             "DOMAIN §9 default row (comprehensive)", choices=_RENOVATION_CLASSES),
        _Key("gas_method", "gas.method", "choice", "", choices=_GAS_METHODS),
        _Key("gas_per_household", "gas.per_household", "万元/户",
             "DOMAIN §6.5 临澧: riser+courtyard+hose, 1.2亿 / 16,666 households"),
        _Key("gas_user_side_per_household", "gas.user_side_per_household", "万元/户",
             "DOMAIN §6.3 Pingdingshan 2023: 13,081万 / 19.8万 households"),
        _Key("gas_courtyard_buried_per_m", "gas.courtyard_buried_per_m", "元/m",
             "assumption: no per-metre price published (DOMAIN §6.5)", assumed=True),
        _Key("gas_overhead_per_m", "gas.overhead_per_m", "元/m",
             "assumption: no per-metre price published (DOMAIN §6.5)", assumed=True),
        _Key("gas_riser_per_m", "gas.riser_per_m", "元/m",
             "assumption: no per-metre price published (DOMAIN §6.5)", assumed=True),
        _Key("gas_other_per_m", "gas.other_per_m", "元/m",
             "assumption: no per-metre price published (DOMAIN §6.5)", assumed=True),
        _Key("gas_municipal_per_m", "gas.municipal_per_m", "元/m",
             "assumption: no per-metre price published (DOMAIN §6.5)", assumed=True),
        _Key("elevator_per_unit", "elevator.per_unit", "万元/部",
             "DOMAIN §4.5 '六层楼装一部电梯全款大约需要50万元左右' (weak source)"),
        _Key("demolition_per_m2", "demolition.per_m2", "元/㎡",
             "assumption: no published figure (DOMAIN §9, §10 item 3)", assumed=True),
        _Key("services_share", "procurement.services_share", "share",
             "assumption: survey, design, supervision ≈ 6 % of investment", assumed=True),
        _Key("goods_share_renovation", "procurement.goods_share_renovation", "share",
             "materials bought by the builder are construction"),
        _Key("goods_share_gas", "procurement.goods_share_gas", "share",
             "materials bought by the builder are construction"),
        _Key("goods_share_elevator", "procurement.goods_share_elevator", "share",
             "assumption: lift equipment ≈ 45 % of a 50 万元 retrofit", assumed=True),
        _Key("goods_share_demolition", "procurement.goods_share_demolition", "share",
             "demolition is construction"),
    )

    def __post_init__(self):
        self._check_fields()
        for item in ("renovation", "gas", "elevator", "demolition"):
            goods = getattr(self, f"goods_share_{item}")
            if goods + self.services_share > 1 + 1e-12:
                raise ConfigError(
                    f"procurement.goods_share_{item} ({goods:g}) + procurement.services_share "
                    f"({self.services_share:g}) exceed 1; lower one of them"
                )

    def renovation_rate(self, renovation_class: str) -> float:
        """元/㎡ of a renovation class code (``basic`` / ``improve`` / ``upgrade``)."""
        return getattr(self, f"renovation_{renovation_class}")


# ======================================================================================
# TenderThresholds
# ======================================================================================
@dataclass(frozen=True)
class TenderThresholds(_Config):
    """Thresholds above which a contract must be tendered (令第16号 art. 5, DOMAIN.md §5.1).

    A package must be tendered when its construction estimate is ≥ ``construction``, its
    goods ≥ ``goods`` or its services ≥ ``services`` (all 万元; TOML ``construction = {
    value = 400, unit = "万元" }``). Local rules may set lower ones.

    Examples
    --------
    >>> from spatialreno.costing import TenderThresholds
    >>> TenderThresholds()
    TenderThresholds(construction=400.0, goods=200.0, services=100.0)
    """

    construction: float = 400.0
    goods: float = 200.0
    services: float = 100.0

    _KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("construction", "construction", "万元", "令第16号 art. 5: 施工单项合同估算价 ≥ 400万元"),
        _Key("goods", "goods", "万元", "令第16号 art. 5: 重要设备、材料等货物 ≥ 200万元"),
        _Key("services", "services", "万元", "令第16号 art. 5: 勘察、设计、监理等服务 ≥ 100万元"),
    )

    def __post_init__(self):
        self._check_fields()


# ======================================================================================
# FundingShares
# ======================================================================================
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
        shares: dict[str, dict[str, float]] = {item: {} for item in FUNDING_ITEMS}
        caps: dict[str, dict[str, float]] = {}
        for section, table, target in (("shares", self.shares, shares), ("caps", self.caps, caps)):
            if not isinstance(table, Mapping):
                raise ConfigError(f"{section}: expected a table of items, got {table!r}")
            for item, row in table.items():
                if item not in FUNDING_ITEMS:
                    raise ConfigError(
                        f"{section}.{item}: unknown cost item; expected one of {', '.join(FUNDING_ITEMS)}"
                    )
                if not isinstance(row, Mapping):
                    raise ConfigError(f"{section}.{item}: expected a table of sources, got {row!r}")
                target.setdefault(item, {})
                for source, value in row.items():
                    key = f"{section}.{item}.{source}"
                    if source not in FUNDING_SOURCES:
                        raise ConfigError(
                            f"{key}: unknown funding source; expected one of {', '.join(FUNDING_SOURCES)}"
                        )
                    target[item][source] = _parse_value(_Key(key, key, "share"), value, "")
        for item, row in caps.items():
            if self.balance in row:
                raise ConfigError(
                    f"caps.{item}.{self.balance}: {self.balance!r} is the balancing source, which "
                    "takes whatever the other shares leave and so cannot be capped; choose "
                    "another `balance` or remove the cap"
                )
        for item, row in shares.items():
            if self.balance in row:
                raise ConfigError(
                    f"shares.{item}.{self.balance}: {self.balance!r} is the balancing source and "
                    "takes whatever the other shares leave; remove its share (or change `balance`)"
                )
            total = sum(row.values())
            if total > 1 + 1e-9:
                raise ConfigError(
                    f"shares.{item}: the shares add up to {total:g}, more than 1 "
                    f"({', '.join(f'{s}={v:g}' for s, v in row.items())})"
                )
            for source, value in row.items():
                cap = caps.get(item, {}).get(source)
                if cap is not None and value > cap + 1e-12:
                    raise ConfigError(
                        f"shares.{item}.{source}: {value:g} is above its cap caps.{item}.{source} = "
                        f"{cap:g} (e.g. the central gas subsidy is capped at 45 % of eligible "
                        "investment in Hubei, DOMAIN §6.3)"
                    )
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
        return cls.from_dict(_read_toml(path), source=str(path))

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
# helpers on frames
# ======================================================================================
def _ids(index: Iterable, limit: int = 10) -> str:
    ids = list(index)
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f", … ({len(ids)} in all)" if len(ids) > limit else "")


def _check_frame(frame, stage: str, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{stage}: `{what}` must be a DataFrame or GeoDataFrame, got {type(frame).__name__}")
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()].unique()
        raise DataError(f"{stage}: `{what}` has duplicated index values: {_ids(dup)}")


def _numeric(frame: pd.DataFrame, col: str, stage: str) -> np.ndarray:
    """A column as float64 (NaN where missing); DataError on text or negative values."""
    raw = frame[col]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        raise DataError(
            f"{stage}: column {col!r} has non-numeric values in rows {_ids(frame.index[bad.to_numpy()])} "
            f"(e.g. {raw[bad].iloc[0]!r}); fix them or drop the rows"
        )
    arr = values.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    neg = arr < 0
    if neg.any():
        raise DataError(
            f"{stage}: column {col!r} is negative in rows {_ids(frame.index[neg])}; "
            "lengths, areas and counts must be ≥ 0"
        )
    return arr


def _fen(values) -> np.ndarray:
    """万元 → integer count of 0.01 万元 (rounded half to even)."""
    return np.rint(np.asarray(values, dtype="float64") * _FEN).astype("int64")


def _floor_fen(values) -> np.ndarray:
    """Amounts already in 0.01 万元 units, floored (with a little slack for float noise)."""
    return np.floor(np.asarray(values, dtype="float64") + _EPS).astype("int64")


def _wan(fen: np.ndarray) -> np.ndarray:
    return np.asarray(fen, dtype="int64") / _FEN


# ======================================================================================
# estimate_costs
# ======================================================================================
_GAS_CLASSES = {  # aged-metre column → (rate field, eligible for the central gas subsidy)
    "gas_aged_courtyard_buried_m": ("gas_courtyard_buried_per_m", True),
    "gas_aged_overhead_m": ("gas_overhead_per_m", True),
    "gas_aged_riser_m": ("gas_riser_per_m", True),
    "gas_aged_service_m": ("gas_riser_per_m", True),
    "gas_aged_horizontal_main_m": ("gas_riser_per_m", True),
    "gas_aged_indoor_m": ("gas_other_per_m", True),
    "gas_aged_other_m": ("gas_other_per_m", True),
    "gas_aged_municipal_m": ("gas_municipal_per_m", False),
}


def estimate_costs(compounds: pd.DataFrame, rates: CostRates | Mapping | str | os.PathLike | None = None):
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
    same type as ``compounds``
        A copy with, per compound (万元, rounded to 0.01):

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
        class columns) are priced at ``gas_other_per_m``. ``.attrs["cost_notes"]`` lists
        what was assumed (missing columns, default classes, rates with no published source)
        and ``.attrs["cost_rates"]`` the rates used.

    Raises
    ------
    SchemaError
        If ``floor_area_m2`` is missing.
    DataError
        On non-numeric or negative figures, or an unknown renovation class.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.costing import estimate_costs
    >>> compounds = pd.DataFrame(
    ...     {"floor_area_m2": [10_000.0, 20_000.0], "renovation_class": ["improve", "基础"],
    ...      "households": [100, 200], "elevators_planned": [2, 0],
    ...      "illegal_area_m2": [200.0, 0.0], "gas_aged_m": [0.0, 0.0]},
    ...     index=pd.Index(["a", "b"], name="compound_id"))
    >>> costs = estimate_costs(compounds)
    >>> costs.loc["a", ["cost_renovation", "cost_elevator", "cost_demolition", "cost_total"]].tolist()
    [450.0, 100.0, 3.0, 553.0]
    >>> costs["cost_total"].tolist()
    [553.0, 400.0]
    """
    stage = "estimate_costs"
    rates = _coerce(CostRates, rates, "rates")
    _check_frame(compounds, stage, "compounds")
    out = compounds.copy()
    n = len(out)
    notes: list[str] = []
    missing: list[str] = []

    def column(name: str, *, required: bool = False) -> np.ndarray:
        if name not in out.columns:
            if required:
                raise SchemaError(
                    f"{stage}: `compounds` has no column {name!r} (floor area, ㎡); read it with "
                    "an alias such as 建筑面积 or add it before costing"
                )
            missing.append(name)
            return np.zeros(n)
        arr = _numeric(out, name, stage)
        nan = np.isnan(arr)
        if nan.any():
            notes.append(f"{name} is empty for {int(nan.sum())} compound(s) ({_ids(out.index[nan])}); counted as 0")
        return np.where(nan, 0.0, arr)

    # --- renovation -------------------------------------------------------------------
    gfa = column("floor_area_m2", required=True)
    default = rates.renovation_default_class
    if "renovation_class" in out.columns:
        raw = out["renovation_class"]
        classes = schema.canonical_values("renovation_class", raw.astype("object"))
        unknown = raw.notna() & ~classes.isin(_RENOVATION_CLASSES)
        if unknown.any():
            bad = out.index[unknown.to_numpy()]
            raise DataError(
                f"{stage}: unknown renovation_class {raw[unknown].iloc[0]!r} in rows {_ids(bad)}; "
                "expected basic/improve/upgrade (基础/完善/提升)"
            )
        empty = classes.isna().to_numpy()
        if empty.any():
            notes.append(
                f"renovation_class is empty for {int(empty.sum())} compound(s); costed as {default!r}"
            )
        classes = classes.where(~empty, default).to_numpy()
    else:
        missing.append("renovation_class")
        classes = np.full(n, default, dtype=object)
    class_rate = np.array([rates.renovation_rate(c) for c in _RENOVATION_CLASSES])
    class_pos = pd.Index(_RENOVATION_CLASSES).get_indexer(classes)
    renovation = gfa * class_rate[class_pos] / 1e4

    # --- gas --------------------------------------------------------------------------
    households = column("households")
    eligible_m = np.zeros(n)
    eligible_yuan = np.zeros(n)
    utility_yuan = np.zeros(n)
    class_sum = np.zeros(n)
    present = [c for c in _GAS_CLASSES if c in out.columns]
    used_rates: set[str] = set()
    for col in present:
        metres = column(col)
        rate_field, eligible = _GAS_CLASSES[col]
        class_sum += metres
        if metres.any():
            used_rates.add(rate_field)
        if eligible:
            eligible_m += metres
            eligible_yuan += metres * getattr(rates, rate_field)
        else:
            utility_yuan += metres * rates.gas_municipal_per_m
    if "gas_aged_m" in out.columns:
        total_m = column("gas_aged_m")
        rest = total_m - class_sum
        over = rest < -0.05
        if over.any():
            warnings.warn(
                f"{stage}: the gas_aged_<class>_m columns add up to more than gas_aged_m in "
                f"{_ids(out.index[over])}; the class columns are used",
                SpatialRenoWarning, stacklevel=2,
            )
        rest = np.clip(rest, 0.0, None)
        if rest.sum() > 0.05:
            used_rates.add("gas_other_per_m")
            notes.append(
                f"{rest.sum():.1f} m of aged gas pipe in no class column priced at "
                f"gas.other_per_m = {rates.gas_other_per_m:g} 元/m (eligible for the central subsidy)"
            )
        eligible_m += rest
        eligible_yuan += rest * rates.gas_other_per_m
    elif not present:
        missing.append("gas_aged_m")
    has_gas_work = eligible_m > 0
    if rates.gas_method == "household":
        gas_eligible = np.where(has_gas_work, households * rates.gas_per_household, 0.0)
        used_rates = {r for r in used_rates if r == "gas_municipal_per_m"}
    else:
        gas_eligible = eligible_yuan / 1e4 + np.where(
            has_gas_work, households * rates.gas_user_side_per_household, 0.0
        )
    gas_utility = utility_yuan / 1e4
    if "gas_aged_municipal_m" not in out.columns and ("gas_aged_m" in out.columns or present):
        notes.append(
            "no gas_aged_municipal_m column: no gas work is put on the utility (cost_gas_utility = 0)"
        )

    # --- elevators, demolition ---------------------------------------------------------
    elevators = column("elevators_planned")
    elevator = elevators * rates.elevator_per_unit
    illegal = column("illegal_area_m2")
    demolition = illegal * rates.demolition_per_m2 / 1e4
    if illegal.any():
        used_rates.add("demolition_per_m2")

    # --- money in 0.01 万元 units, exact sums ------------------------------------------
    fen = {
        "cost_renovation": _fen(renovation),
        "cost_gas_utility": _fen(gas_utility),
        "cost_elevator": _fen(elevator),
        "cost_demolition": _fen(demolition),
    }
    fen["cost_gas"] = _fen(gas_eligible) + fen["cost_gas_utility"]
    total = fen["cost_renovation"] + fen["cost_gas"] + fen["cost_elevator"] + fen["cost_demolition"]
    services = _floor_fen(rates.services_share * total)
    goods = _floor_fen(
        rates.goods_share_renovation * fen["cost_renovation"]
        + rates.goods_share_gas * fen["cost_gas"]
        + rates.goods_share_elevator * fen["cost_elevator"]
        + rates.goods_share_demolition * fen["cost_demolition"]
    )
    for name in ("cost_renovation", "cost_gas", "cost_gas_utility", "cost_elevator", "cost_demolition"):
        out[name] = _wan(fen[name])
    out["cost_total"] = _wan(total)
    out["construction_cost"] = _wan(total - goods - services)
    out["goods_cost"] = _wan(goods)
    out["services_cost"] = _wan(services)

    # --- notes --------------------------------------------------------------------------
    if missing:
        msg = f"no column {', '.join(map(repr, missing))} in `compounds`: counted as 0"
        if "renovation_class" in missing:
            msg += f" (renovation_class: every compound costed as {default!r})"
        warnings.warn(f"{stage}: {msg}. Run the overlays first or add the columns.",
                      SpatialRenoWarning, stacklevel=2)
        notes.insert(0, msg)
    assumed = set(rates.assumptions)
    by_field = {k.field: k for k in CostRates._KEYS}
    used_rates |= {"services_share"} | ({"goods_share_elevator"} if elevators.any() else set())
    shown = [by_field[f] for f in sorted(used_rates) if by_field[f].path in assumed]
    if shown and total.any():
        parts = [
            f"{k.path} = {getattr(rates, k.field):g}{'' if k.unit == 'share' else ' ' + k.unit}"
            for k in shown
        ]
        notes.append(
            "assumed rates (no published figure; set your own in a rates file): " + ", ".join(parts)
        )
    out.attrs["cost_notes"] = notes
    out.attrs["cost_rates"] = rates.to_dict()
    return out




# ======================================================================================
# fund_packages
# ======================================================================================
_TENDER = (("construction", "construction_cost"), ("goods", "goods_cost"), ("services", "services_cost"))


def fund_packages(
    packages: pd.DataFrame,
    shares: FundingShares | Mapping | str | os.PathLike | None = None,
    *,
    thresholds: TenderThresholds | Mapping | str | os.PathLike | None = None,
    rates: CostRates | Mapping | str | os.PathLike | None = None,
    adjacency: nx.Graph | Iterable[tuple] | None = None,
    graph: nx.Graph | None = None,
    labels: pd.Series | None = None,
):
    """Split each package's cost across funding sources and check the tender thresholds.

    Parameters
    ----------
    packages : GeoDataFrame or DataFrame
        Indexed by ``package_id``, with ``cost_total`` and the summed ``cost_<item>``,
        ``cost_gas_utility``, ``construction_cost``, ``goods_cost`` and ``services_cost``
        columns of :func:`estimate_costs` (as :func:`spatialreno.dissolve_packages` sums
        them). Optional ``contractor`` (承包单位).
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
        packages are adjacent when a compound edge crosses between them.

    Returns
    -------
    same type as ``packages``
        A copy with

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

        ``.attrs["split_groups"]`` lists the groups (category, contractor, packages,
        total, threshold) and ``.attrs["funding_notes"]`` what was assumed.

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
    >>> f = fund_packages(pk)
    >>> f[["fund_central", "fund_provincial", "fund_municipal", "fund_residents"]].iloc[0].tolist()
    [190.0, 0.8, 284.2, 25.0]
    >>> int(f["must_tender"].iloc[0]), float(f["construction_cost"].iloc[0])
    (1, 470.0)
    """
    stage = "fund_packages"
    shares = _coerce(FundingShares, shares, "shares")
    thresholds = _coerce(TenderThresholds, thresholds, "thresholds")
    _check_frame(packages, stage, "packages")
    out = packages.copy()
    n = len(out)
    notes: list[str] = []

    items_present = [c for c in COST_ITEMS if c in out.columns]
    item = {c: (np.nan_to_num(_numeric(out, c, stage)) * _FEN if c in out.columns else np.zeros(n))
            for c in (*COST_ITEMS, "cost_gas_utility")}
    if "cost_total" in out.columns:
        cost = _numeric(out, "cost_total", stage)
        nan = np.isnan(cost)
        if nan.any():
            raise DataError(
                f"{stage}: cost_total is empty for packages {_ids(out.index[nan])}; run "
                "estimate_costs on the compounds before dissolve_packages"
            )
    elif items_present:
        cost = sum(item[c] for c in COST_ITEMS) / _FEN
        notes.append("no cost_total column: the sum of the cost_<item> columns is funded")
    else:
        raise SchemaError(
            f"{stage}: `packages` has neither cost_total nor any of {', '.join(COST_ITEMS)}; "
            "run estimate_costs on the compounds and dissolve them into packages first"
        )
    total = _fen(cost)
    if not items_present:
        item["cost_renovation"] = total.astype("float64")
        notes.append("no cost_<item> columns: the whole cost_total is funded as renovation")
    elif "cost_gas" in out.columns and "cost_gas_utility" not in out.columns:
        notes.append("no cost_gas_utility column: all gas work counted as eligible for the central subsidy")
    gas_utility = np.minimum(item["cost_gas_utility"], item["cost_gas"])
    by_item = {
        "renovation": item["cost_renovation"],
        "gas": item["cost_gas"] - gas_utility,
        "gas_utility": gas_utility,
        "elevator": item["cost_elevator"],
        "demolition": item["cost_demolition"],
    }
    itemised = sum(by_item.values())
    gap = total - itemised  # in 0.01 万元 units
    over = gap < -1 - _EPS
    if over.any():
        raise DataError(
            f"{stage}: the cost_<item> columns add up to more than cost_total in packages "
            f"{_ids(out.index[over])}; recompute cost_total or the items"
        )
    extra = gap > 1 + _EPS
    if extra.any():
        notes.append(
            f"{gap[extra].sum() / _FEN:.2f} 万元 of cost_total in {int(extra.sum())} package(s) "
            "is not in the cost_<item> columns; "
            f"funded by the balancing source ({shares.balance})"
        )

    funds: dict[str, np.ndarray] = {}
    for source in FUNDING_SOURCES:
        if source == shares.balance:
            continue
        exact = sum(shares.share(it, source) * by_item[it] for it in FUNDING_ITEMS)
        funds[source] = _floor_fen(exact)
    balance = total - sum(funds.values())
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
    for source in FUNDING_SOURCES:
        out[f"fund_{source}"] = _wan(funds[source])

    # --- tender check --------------------------------------------------------------------
    split_cols = [c for _, c in _TENDER]
    if all(c in out.columns for c in split_cols):
        part = {c: _fen(np.nan_to_num(_numeric(out, c, stage))) for c in split_cols}
    else:
        rates = _coerce(CostRates, rates, "rates")
        notes.append(
            "no construction_cost/goods_cost/services_cost columns: derived from the cost_<item> "
            "columns with the procurement shares of the rates"
        )
        services = _floor_fen(rates.services_share * total)
        goods = _floor_fen(
            rates.goods_share_renovation * by_item["renovation"]
            + rates.goods_share_gas * (by_item["gas"] + by_item["gas_utility"])
            + rates.goods_share_elevator * by_item["elevator"]
            + rates.goods_share_demolition * by_item["demolition"]
        )
        part = {"construction_cost": total - goods - services, "goods_cost": goods,
                "services_cost": services}
    limits = {cat: int(round(getattr(thresholds, cat) * _FEN)) for cat, _ in _TENDER}
    must = np.zeros(n, dtype=bool)
    for cat, col in _TENDER:
        out[col] = _wan(part[col])
        must |= part[col] >= limits[cat]
    out["must_tender"] = pd.array(must.astype("int64"), dtype="Int64")

    H = package_adjacency(out.index, adjacency=adjacency, graph=graph, labels=labels)
    groups: list[dict] = []
    text = {pid: [] for pid in out.index}
    if H is None:
        notes.append("no adjacency given (graph + labels or adjacency): 化整为零 check skipped")
    else:
        if "contractor" in out.columns:  # empty cells: one unknown contractor (None)
            contractor = {p: (v if pd.notna(v) else None) for p, v in out["contractor"].items()}
        else:
            contractor = dict.fromkeys(out.index)
            notes.append("no contractor column: adjacent packages are checked as one contractor's")
        pos = {pid: i for i, pid in enumerate(out.index)}
        for cat, col in _TENDER:
            below = [pid for pid in out.index if part[col][pos[pid]] < limits[cat]]
            sub = nx.Graph()
            sub.add_nodes_from(below)
            sub.add_edges_from(
                (u, v) for u, v in H.subgraph(below).edges() if contractor[u] == contractor[v]
            )
            for comp in nx.connected_components(sub):
                if len(comp) < 2:
                    continue
                members = sorted(comp, key=pos.__getitem__)
                amount = int(sum(part[col][pos[p]] for p in members))
                if amount < limits[cat]:
                    continue
                who = contractor[members[0]]
                groups.append({
                    "category": cat, "contractor": who, "packages": members,
                    "total": amount / _FEN, "threshold": limits[cat] / _FEN,
                })
                label = (
                    f"{cat} {'+'.join(map(str, members))} = {amount / _FEN:.2f} ≥ "
                    f"{limits[cat] / _FEN:g} 万元" + (f" (contractor {who!r})" if who is not None else "")
                )
                for p in members:
                    text[p].append(label)
    out["split_warning"] = pd.Series({p: "; ".join(t) for p, t in text.items()}, dtype="object")
    if groups:
        listing = "; ".join(
            f"{g['category']} {'+'.join(map(str, g['packages']))} = {g['total']:.2f} ≥ "
            f"{g['threshold']:g} 万元" for g in groups[:10]
        )
        warnings.warn(
            f"{stage}: {len(groups)} group(s) of adjacent packages under one contractor are each "
            f"below a tender threshold but reach it together (化整为零, 招标投标法 art. 4): "
            f"{listing}. Tender them as one contract, or record why they are separate projects.",
            SpatialRenoWarning, stacklevel=2,
        )
    out.attrs["split_groups"] = groups
    out.attrs["funding_notes"] = notes
    out.attrs["funding_shares"] = shares.to_dict()
    return out
