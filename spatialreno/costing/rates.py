"""Unit rates: :class:`CostRates`, with the source of every default (DOMAIN.md §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import ConfigError
from ._config import _Config, _Key

__all__ = ["CostRates", "RENOVATION_CLASSES", "GAS_METHODS"]

#: renovation class codes (基础 / 完善 / 提升), cheapest first
RENOVATION_CLASSES: tuple[str, ...] = ("basic", "improve", "upgrade")
#: how gas work is priced: per aged metre, or per household of a compound with aged pipe
GAS_METHODS: tuple[str, ...] = ("metre", "household")
#: slack allowed when goods + services shares are compared with 1
_SHARE_SUM_SLACK = 1e-12


@dataclass(frozen=True)
class CostRates(_Config):
    """Unit rates for :func:`~spatialreno.estimate_costs` (frozen, validated; DOMAIN.md §9).

    Rates are stored in the unit shown; a TOML file may use any money unit of the same kind
    (``元/户`` for a ``万元/户`` rate is converted). Keys marked *assumption* have no published
    figure behind them: :attr:`assumptions` lists those still at their default, and
    :func:`~spatialreno.estimate_costs` says so in the notes of its result. Replace them with
    your own figures before using the totals for anything but screening.

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
             "DOMAIN §9 default row (comprehensive)", choices=RENOVATION_CLASSES),
        _Key("gas_method", "gas.method", "choice", "", choices=GAS_METHODS),
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

    _WHAT: ClassVar[str] = "rates"

    def __post_init__(self):
        self._check_fields()
        for item in ("renovation", "gas", "elevator", "demolition"):
            goods = getattr(self, f"goods_share_{item}")
            if goods + self.services_share > 1 + _SHARE_SUM_SLACK:
                raise ConfigError(
                    f"procurement.goods_share_{item} ({goods:g}) + procurement.services_share "
                    f"({self.services_share:g}) exceed 1; lower one of them"
                )

    def renovation_rate(self, renovation_class: str) -> float:
        """元/㎡ of a renovation class code (``basic`` / ``improve`` / ``upgrade``)."""
        return getattr(self, f"renovation_{renovation_class}")
