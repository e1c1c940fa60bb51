"""Every column name of spatialreno, once: dtype, unit, Chinese label, shapefile code, aliases.

The five input layers (compounds, illegal structures, gas network, barriers, admin areas)
and the derived layers (packages, roads for the fire-lane check) are described here as
tables of :class:`Column`. Reading maps any alias (a Chinese name such as ``户数``, a short
code such as ``hh_cnt``, a common English variant) to the canonical name
(``households``); exporting maps canonical names to the ≤10-byte ASCII shapefile code
(``hh_cnt``) or the ≤5-character Chinese short name (``户数``, 10 bytes in GBK).

Coded values (pipe class, material, illegal-structure kind and status, barrier type, ...)
are stored as English codes (``courtyard_buried``) and read from their Chinese labels
(``庭院埋地``); :func:`value_label` gives the label to show a planner.

The names and codes follow ../shared/DOMAIN.md §8 (proposed data model).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from .errors import SchemaError

__all__ = [
    "Column",
    "LAYERS",
    "LayerKind",
    "COMPOUND_ID",
    "PACKAGE_ID",
    "ID_COLUMNS",
    "columns",
    "column",
    "find_column",
    "alias_map",
    "canonical_name",
    "VOCABULARIES",
    "value_label",
    "canonical_value",
    "label",
    "shapefile_code",
    "data_dictionary",
    "GEOMETRY_TYPES",
]

LayerKind = Literal["compounds", "illegal", "gas", "barriers", "admin", "roads", "packages"]
LAYERS: tuple[str, ...] = ("compounds", "illegal", "gas", "barriers", "admin", "roads", "packages")
INPUT_LAYERS: tuple[str, ...] = ("compounds", "illegal", "gas", "barriers", "admin")

COMPOUND_ID = "compound_id"
PACKAGE_ID = "package_id"

#: Index name of each layer.
ID_COLUMNS: dict[str, str] = {
    "compounds": "compound_id",
    "illegal": "structure_id",
    "gas": "segment_id",
    "barriers": "barrier_id",
    "admin": "admin_code",
    "roads": "road_id",
    "packages": "package_id",
}

#: Geometry families each layer accepts.
GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "compounds": ("Polygon", "MultiPolygon"),
    "illegal": ("Point", "MultiPoint", "Polygon", "MultiPolygon"),
    "gas": ("LineString", "MultiLineString"),
    "barriers": ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    "admin": ("Polygon", "MultiPolygon"),
    "roads": ("LineString", "MultiLineString"),
    "packages": ("Polygon", "MultiPolygon"),
}

Dtype = Literal["str", "int", "float", "bool", "date"]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes
    ----------
    name : canonical snake_case name with its unit (``floor_area_m2``).
    layer : the layer it belongs to.
    dtype : ``"str" | "int" | "float" | "bool" | "date"``; ints are pandas ``Int64``.
    zh : Chinese label for maps, Excel headers and the data dictionary.
    code : ASCII shapefile field name, at most 10 bytes.
    zh_short : Chinese short name of at most 5 characters (10 bytes in GBK).
    unit : unit shown in headers (``户``, ``㎡``, ``万元``, ``m``) or ``""``.
    en : English label for ``lang="en"``.
    aliases : further names that reading accepts.
    width : text width in characters for the shapefile (bytes are checked on export).
    decimals : decimals for floats (shapefile precision, Excel number format).
    additive : whether package roll-ups sum the column.
    derived : computed by spatialreno rather than read.
    vocab : name of the coded-value vocabulary, if any.
    required : the layer cannot be used without it.
    personal : personal data (a person's name, ID card, phone); masked on export.
    """

    name: str
    layer: str
    dtype: Dtype
    zh: str
    code: str
    zh_short: str
    unit: str = ""
    en: str = ""
    aliases: tuple[str, ...] = ()
    width: int = 0
    decimals: int = 0
    additive: bool = False
    derived: bool = False
    vocab: str | None = None
    required: bool = False
    personal: bool = False

    def __post_init__(self):
        if len(self.code.encode("ascii")) > 10:
            raise ValueError(f"shapefile code {self.code!r} of {self.name} is over 10 bytes")
        if len(self.zh_short) > 5:
            raise ValueError(f"Chinese short name {self.zh_short!r} of {self.name} is over 5 chars")

    @property
    def header(self) -> str:
        """Chinese header with unit, e.g. ``户数(户)``."""
        return f"{self.zh}({self.unit})" if self.unit else self.zh

    def header_for(self, lang: str = "zh") -> str:
        if lang == "en":
            base = self.en or self.name.replace("_", " ")
            return f"{base} ({self.unit_en})" if self.unit else base
        return self.header

    @property
    def unit_en(self) -> str:
        return _UNIT_EN.get(self.unit, self.unit)


_UNIT_EN = {
    "户": "households", "㎡": "m²", "万元": "10k CNY", "m": "m", "个": "count", "栋": "buildings",
    "处": "count", "部": "units", "年": "year", "%": "%", "mm": "mm", "层": "floors",
    "km²": "km²", "元/㎡": "CNY/m²", "万元/户": "10k CNY/household", "日历天": "days",
    "次": "times",
}


def _c(layer, name, dtype, zh, code, zh_short=None, unit="", en="", aliases=(), **kw) -> Column:
    return Column(
        name=name, layer=layer, dtype=dtype, zh=zh, code=code, zh_short=zh_short or zh[:5],
        unit=unit, en=en, aliases=tuple(aliases), **kw,
    )


# --------------------------------------------------------------------------------------
# compounds (小区)
# --------------------------------------------------------------------------------------
_COMPOUNDS = [
    _c("compounds", "compound_id", "str", "小区编码", "cmp_id", unit="", en="Compound ID",
       aliases=("id", "cid", "小区代码", "小区id", "编号", "objectid_str"), width=20, required=True),
    _c("compounds", "name", "str", "小区名称", "cmp_name", en="Name",
       aliases=("小区名", "名称", "compound_name", "xqmc"), width=80),
    _c("compounds", "adcode", "str", "区县代码", "adcode", en="District code",
       aliases=("区划代码", "xzqdm", "district_code"), width=6),
    _c("compounds", "district", "str", "所属区", "district", en="District",
       aliases=("区", "区县", "行政区", "区名", "xzqmc", "district_name"), width=20),
    _c("compounds", "street", "str", "街道", "street", en="Street (街道)",
       aliases=("所属街道", "街道办", "jd", "street_name"), width=40),
    _c("compounds", "community", "str", "社区", "community", en="Community",
       aliases=("所属社区", "sq"), width=40),
    _c("compounds", "address", "str", "地址", "address", en="Address", aliases=("小区地址",), width=120),
    _c("compounds", "build_year", "int", "建成年份", "build_yr", unit="年", en="Year built",
       aliases=("建成年代", "建成时间", "竣工年份", "year_built", "jcnf")),
    _c("compounds", "buildings", "int", "楼栋数", "bld_cnt", unit="栋", en="Buildings",
       aliases=("栋数", "楼栋", "building_count", "n_buildings"), additive=True),
    _c("compounds", "units", "int", "单元数", "unit_cnt", unit="个", en="Stairwell units",
       aliases=("单元",), additive=True),
    _c("compounds", "households", "int", "户数", "hh_cnt", unit="户", en="Households",
       aliases=("总户数", "住户数", "户", "hh", "n_households", "household"), additive=True),
    _c("compounds", "floor_area_m2", "float", "总建筑面积", "gfa_m2", "建筑面积", unit="㎡",
       en="Floor area", aliases=("建筑面积", "gfa", "floor_area", "jzmj"), decimals=1, additive=True),
    _c("compounds", "site_area_m2", "float", "占地面积", "site_m2", unit="㎡", en="Site area",
       aliases=("用地面积", "site_area", "zdmj"), decimals=1, additive=True, derived=True),
    _c("compounds", "max_floors", "int", "最高层数", "max_flr", unit="层", en="Max floors",
       aliases=("层数", "楼层数")),
    _c("compounds", "elevators", "int", "现有电梯数", "elev_cnt", "电梯数", unit="部",
       en="Elevators", aliases=("电梯数",), additive=True),
    _c("compounds", "elevators_planned", "int", "拟加装电梯数", "elev_add", "加装电梯", unit="部",
       en="Elevators to add", aliases=("加装电梯", "加装电梯数", "elev_new"), additive=True),
    _c("compounds", "property_type", "str", "房屋性质", "prop_type", en="Property type", width=20),
    _c("compounds", "management", "str", "物业管理", "mgmt", en="Management", width=20),
    _c("compounds", "has_pipe_gas", "int", "通管道燃气", "gas_pipe", "通燃气", en="Piped gas (0/1)"),
    _c("compounds", "renovation_class", "str", "改造类别", "renov_cls", en="Renovation class",
       aliases=("改造内容", "renov_class"), width=10, vocab="renovation_class"),
    _c("compounds", "renovation_status", "str", "改造状态", "renov_st", en="Renovation status",
       aliases=("状态", "renov_status"), width=10, vocab="renovation_status"),
    _c("compounds", "plan_year", "int", "计划年度", "plan_yr", unit="年", en="Plan year",
       aliases=("改造年度", "年度")),
    _c("compounds", "contract_type", "str", "承包模式", "contract", en="Contract type",
       aliases=("合同类型",), width=10),
    _c("compounds", "consent_pct", "float", "居民同意率", "consent", "同意率", unit="%",
       en="Residents' consent", aliases=("同意率",), decimals=1),
    _c("compounds", "source", "str", "数据来源", "src", en="Source", width=40),
    # derived by overlay / costing / packaging
    _c("compounds", "package_id", "str", "所属片区", "pkg_id", "片区编码", en="Package",
       aliases=("片区编码", "片区"), width=24, derived=True),
    _c("compounds", "illegal_count", "float", "违建处数", "ill_cnt", unit="处", en="Illegal structures",
       aliases=("illegal_n",), decimals=2, additive=True, derived=True),
    _c("compounds", "illegal_area_m2", "float", "违建面积", "ill_m2", unit="㎡",
       en="Illegal-structure area", aliases=("illegal_m2",), decimals=1, additive=True, derived=True),
    _c("compounds", "gas_total_m", "float", "燃气管长", "gas_m", unit="m", en="Gas pipe length",
       decimals=1, additive=True, derived=True),
    _c("compounds", "gas_aged_m", "float", "老化燃气管长", "gas_old_m", "老化管长", unit="m",
       en="Aged gas pipe", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_courtyard_buried_m", "float", "庭院埋地管长", "gas_cy_m", "庭院管长",
       unit="m", en="Courtyard buried pipe", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_overhead_m", "float", "架空管长", "gas_oh_m", unit="m",
       en="Overhead pipe", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_riser_m", "float", "立管长", "gas_rs_m", unit="m", en="Riser",
       decimals=1, additive=True, derived=True),
    _c("compounds", "gas_municipal_m", "float", "市政管长", "gas_mu_m", unit="m",
       en="Municipal main", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_aged_courtyard_buried_m", "float", "老化庭院管长", "ag_cy_m", "老化庭院",
       unit="m", en="Aged courtyard buried", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_aged_overhead_m", "float", "老化架空管长", "ag_oh_m", "老化架空", unit="m",
       en="Aged overhead", decimals=1, additive=True, derived=True),
    _c("compounds", "gas_aged_riser_m", "float", "老化立管长", "ag_rs_m", "老化立管", unit="m",
       en="Aged riser", decimals=1, additive=True, derived=True),
    _c("compounds", "fire_lane_blocked", "int", "占消防通道违建数", "blk_fire", "占消防道", unit="处",
       en="Structures blocking fire lanes", additive=True, derived=True),
    # breakdowns added by spatialreno.overlay (illegal area by kind, count by status,
    # pipe length by class / aged class / material, occupation)
    _c("compounds", "illegal_over_gas", "int", "占压燃气管违建数", "ill_gas", "占压违建", unit="处",
       en="Structures over gas pipes", additive=True, derived=True),
    *[
        _c("compounds", f"illegal_m2_{k}", "float", zh, code, short, unit="㎡", en=f"{en} area",
           decimals=1, additive=True, derived=True)
        for k, zh, code, short, en in [
            ("rooftop", "楼顶加建面积", "im2_roof", "楼顶面积", "Rooftop addition"),
            ("ground_enclosure", "底层圈占扩建面积", "im2_grnd", "圈占面积", "Ground-floor enclosure"),
            ("common_space_shed", "公共部位搭建面积", "im2_comm", "公共搭建", "Shed in common space"),
            ("tin_shed", "铁皮板房棚面积", "im2_tin", "铁皮棚", "Tin or board shed"),
            ("balcony_cage", "外挑阳台笼面积", "im2_cage", "阳台笼", "Projecting cage"),
            ("wall_gate", "围墙门楼面积", "im2_wall", "围墙门楼", "Wall or gate"),
            ("business_use", "占用经营面积", "im2_biz", "占用经营", "Business use"),
            ("other", "其他违建面积", "im2_oth", "其他违建", "Other illegal"),
        ]
    ],
    *[
        _c("compounds", f"illegal_n_{k}", "float", zh, code, short, unit="处", en=f"Illegal: {en}",
           decimals=2, additive=True, derived=True)
        for k, zh, code, short, en in [
            ("to_verify", "待核查违建数", "in_verify", "待核查", "to verify"),
            ("filed", "已立案违建数", "in_filed", "已立案", "case filed"),
            ("stop_order", "责令停止违建数", "in_stop", "责令停止", "stop order"),
            ("deadline", "限期拆除违建数", "in_dline", "限期拆除", "deadline"),
            ("forced", "强制拆除违建数", "in_forced", "强制拆除", "forced demolition"),
            ("demolished", "已拆除违建数", "in_demol", "已拆除", "demolished"),
            ("deferred", "暂缓违建数", "in_defer", "暂缓", "deferred"),
            ("retained", "保留违建数", "in_retain", "保留", "retained"),
        ]
    ],
    *[
        _c("compounds", name, "float", zh, code, short, unit="m", en=en, decimals=1,
           additive=True, derived=True)
        for name, zh, code, short, en in [
            ("gas_service_m", "引入管长", "gas_sv_m", "引入管长", "Service pipe"),
            ("gas_horizontal_main_m", "水平干管长", "gas_hm_m", "水平干管", "Horizontal main"),
            ("gas_indoor_m", "户内管长", "gas_in_m", "户内管长", "Indoor pipe"),
            ("gas_other_m", "其他燃气管长", "gas_ot_m", "其他管长", "Other pipe"),
            ("gas_aged_municipal_m", "老化市政管长", "ag_mu_m", "老化市政", "Aged municipal main"),
            ("gas_aged_service_m", "老化引入管长", "ag_sv_m", "老化引入", "Aged service pipe"),
            ("gas_aged_horizontal_main_m", "老化水平干管长", "ag_hm_m", "老化水平", "Aged horizontal main"),
            ("gas_aged_indoor_m", "老化户内管长", "ag_in_m", "老化户内", "Aged indoor pipe"),
            ("gas_aged_other_m", "老化其他管长", "ag_ot_m", "老化其他", "Aged other pipe"),
            ("gas_mat_grey_cast_iron_m", "灰口铸铁管长", "gm_ci_m", "铸铁管长", "Grey cast iron pipe"),
            ("gas_mat_ductile_iron_m", "球墨铸铁管长", "gm_di_m", "球铁管长", "Ductile iron pipe"),
            ("gas_mat_steel_m", "钢管长", "gm_st_m", "钢管长", "Steel pipe"),
            ("gas_mat_galvanized_steel_m", "镀锌钢管长", "gm_gs_m", "镀锌管长", "Galvanised steel pipe"),
            ("gas_mat_pe_m", "PE管长", "gm_pe_m", "PE管长", "PE pipe"),
            ("gas_mat_aluminium_plastic_m", "铝塑复合管长", "gm_ap_m", "铝塑管长", "Aluminium-plastic pipe"),
            ("gas_mat_other_m", "其他材质管长", "gm_ot_m", "其他材质", "Other-material pipe"),
            ("gas_occupied_m", "被占压燃气管长", "gas_occ_m", "占压管长", "Pipe built over"),
        ]
    ],
    _c("compounds", "cost_renovation", "float", "综合改造投资", "cost_ren", "改造投资", unit="万元",
       en="Renovation cost", decimals=2, additive=True, derived=True),
    _c("compounds", "cost_gas", "float", "燃气改造投资", "cost_gas", "燃气投资", unit="万元",
       en="Gas renewal cost", decimals=2, additive=True, derived=True),
    _c("compounds", "cost_elevator", "float", "加装电梯投资", "cost_elev", "电梯投资", unit="万元",
       en="Elevator cost", decimals=2, additive=True, derived=True),
    _c("compounds", "cost_demolition", "float", "拆违投资", "cost_dem", unit="万元",
       en="Demolition cost", decimals=2, additive=True, derived=True),
    _c("compounds", "cost_total", "float", "估算投资", "cost_est", unit="万元", en="Total cost",
       aliases=("总投资", "投资估算", "cost"), decimals=2, additive=True, derived=True),
    # costing: the gas work on utility-owned mains, and the procurement split (tender check)
    _c("compounds", "cost_gas_utility", "float", "专营管网燃气投资", "cost_gutl", "专营燃气",
       unit="万元", en="Gas work on utility mains", decimals=2, additive=True, derived=True),
    _c("compounds", "construction_cost", "float", "施工估算", "cost_con", unit="万元",
       en="Construction estimate", decimals=2, additive=True, derived=True),
    _c("compounds", "goods_cost", "float", "货物估算", "cost_gds", unit="万元",
       en="Goods estimate", decimals=2, additive=True, derived=True),
    _c("compounds", "services_cost", "float", "服务估算", "cost_svc", unit="万元",
       en="Services estimate (survey, design, supervision)", decimals=2, additive=True,
       derived=True),
]

# --------------------------------------------------------------------------------------
# illegal structures (违法建设)
# --------------------------------------------------------------------------------------
_ILLEGAL = [
    _c("illegal", "structure_id", "str", "违建编号", "ill_id", en="Structure ID",
       aliases=("id", "编号", "违建id"), width=24, required=True),
    _c("illegal", "compound_id", "str", "所属小区", "cmp_id", "小区编码", en="Compound",
       aliases=("小区编码",), width=20, derived=True),
    _c("illegal", "address", "str", "违建地址", "address", en="Address", aliases=("地址",), width=120),
    _c("illegal", "kind", "str", "违建类型", "ill_type", en="Kind",
       aliases=("类型", "type", "ill_kind"), width=20, vocab="illegal_kind"),
    _c("illegal", "structure", "str", "结构类型", "struct", en="Structure", aliases=("结构",), width=10),
    _c("illegal", "floors", "int", "层数", "floors", unit="层", en="Floors"),
    _c("illegal", "area_m2", "float", "违建面积", "area_m2", unit="㎡", en="Area",
       aliases=("面积", "建筑面积", "area"), decimals=1, additive=True),
    _c("illegal", "land_area_m2", "float", "占地面积", "land_m2", unit="㎡", en="Footprint",
       decimals=1, additive=True, derived=True),
    _c("illegal", "use", "str", "用途", "use", en="Use", width=10),
    _c("illegal", "stock", "str", "存量新增", "stock", en="Stock or new", width=4),
    _c("illegal", "built_date", "date", "建成时间", "built_dt", en="Built"),
    _c("illegal", "found_date", "date", "发现日期", "found_dt", en="Found"),
    _c("illegal", "case_source", "str", "案件来源", "source", en="Case source", width=10),
    _c("illegal", "status", "str", "处置状态", "status", en="Status",
       aliases=("状态", "案件状态"), width=10, vocab="illegal_status"),
    _c("illegal", "demolished_date", "date", "拆除日期", "dem_dt", en="Demolished"),
    _c("illegal", "blocks_fire_lane", "int", "占用消防通道", "blk_fire", "占消防道",
       en="Blocks a fire lane (0/1)", derived=True),
    _c("illegal", "blocks_gas", "int", "占压燃气管", "blk_gas", "占压燃气", en="Over a gas pipe (0/1)",
       derived=True),
    _c("illegal", "fire_lane_road_id", "str", "占用消防车道编号", "fl_road", "消防道编号",
       en="Fire lane blocked", width=24, derived=True),
    _c("illegal", "fire_lane_clear_m", "float", "消防车道剩余净宽", "fl_clr_m", "剩余净宽", unit="m",
       en="Clear width left", decimals=2, derived=True),
    _c("illegal", "demolition_cost", "float", "拆除费用", "dem_cost", unit="万元",
       en="Demolition cost", decimals=2, additive=True),
    _c("illegal", "case_no", "str", "执法文书号", "case_no", "文书号", en="Case number", width=40),
    _c("illegal", "party", "str", "当事人", "party", en="Party (personal data)",
       aliases=("业主", "当事人姓名", "owner_name"), width=40, personal=True),
]

# --------------------------------------------------------------------------------------
# gas network (燃气管网)
# --------------------------------------------------------------------------------------
_GAS = [
    _c("gas", "segment_id", "str", "管段编号", "seg_id", en="Segment ID",
       aliases=("id", "编号", "管段id"), width=24, required=True),
    _c("gas", "compound_id", "str", "所属小区", "cmp_id", "小区编码", en="Compound",
       aliases=("小区编码",), width=20, derived=True),
    _c("gas", "pipe_class", "str", "管段类别", "seg_cls", en="Pipe class",
       aliases=("类别", "管道类别", "class", "seg_class"), width=10, vocab="pipe_class"),
    _c("gas", "pressure", "str", "压力级制", "press", en="Pressure", aliases=("压力",), width=8),
    _c("gas", "material", "str", "材质", "material", en="Material", aliases=("管材",), width=10,
       vocab="pipe_material"),
    _c("gas", "diameter_mm", "int", "管径", "dn_mm", unit="mm", en="Diameter",
       aliases=("dn", "管径mm", "diameter")),
    _c("gas", "length_m", "float", "长度", "len_m", unit="m", en="Length", decimals=2,
       additive=True, derived=True),
    _c("gas", "install_year", "int", "敷设年份", "inst_yr", unit="年", en="Installed",
       aliases=("建设年份", "年份", "install_yr")),
    _c("gas", "age_years", "int", "运行年限", "age_yr", unit="年", en="Age", derived=True),
    _c("gas", "owner", "str", "产权归属", "owner", "产权", en="Owner", width=10),
    _c("gas", "occupied", "int", "是否占压", "occupied", "占压", en="Built over (0/1)"),
    _c("gas", "aged", "bool", "是否老化", "aged", "老化", en="Aged", derived=True),
    _c("gas", "aged_rule", "str", "命中规则", "rule", en="Aged rule", width=30, derived=True),
    _c("gas", "households_served", "int", "服务户数", "hh_srv", unit="户", en="Households served"),
]

# --------------------------------------------------------------------------------------
# barriers, roads, admin
# --------------------------------------------------------------------------------------
_BARRIERS = [
    _c("barriers", "barrier_id", "str", "障碍编号", "bar_id", en="Barrier ID",
       aliases=("id", "编号"), width=24, required=True),
    _c("barriers", "barrier_type", "str", "障碍类型", "bar_type", en="Barrier type",
       aliases=("类型", "type", "kind"), width=10, vocab="barrier_type"),
    _c("barriers", "name", "str", "名称", "name", en="Name", aliases=("道路名称",), width=60),
    _c("barriers", "width_m", "float", "宽度", "width_m", unit="m", en="Width", decimals=1),
]
_ROADS = [
    _c("roads", "road_id", "str", "道路编号", "road_id", en="Road ID", aliases=("id",), width=24,
       required=True),
    _c("roads", "name", "str", "道路名称", "name", en="Name", width=60),
    _c("roads", "road_class", "str", "道路等级", "r_cls", en="Road class", width=10),
    _c("roads", "is_fire_lane", "int", "消防车道", "is_fire", en="Fire lane (0/1)"),
    _c("roads", "width_m", "float", "净宽", "width_m", unit="m", en="Clear width", decimals=2,
       aliases=("宽度", "width")),
]
_ADMIN = [
    _c("admin", "admin_code", "str", "区划代码", "code", en="Admin code",
       aliases=("code", "id", "adcode"), width=12, required=True),
    _c("admin", "name", "str", "区划名称", "name", en="Name", aliases=("名称",), width=40),
    _c("admin", "level", "str", "层级", "level", en="Level", width=4, vocab="admin_level"),
    _c("admin", "parent", "str", "上级代码", "parent", en="Parent code", width=12),
    _c("admin", "district", "str", "所属区", "district", en="District", width=20),
]

# --------------------------------------------------------------------------------------
# packages (片区)
# --------------------------------------------------------------------------------------
_PACKAGES = [
    _c("packages", "package_id", "str", "片区编码", "pkg_id", en="Package ID", width=24, required=True),
    _c("packages", "n_compounds", "int", "小区数", "cmp_cnt", unit="个", en="Compounds"),
    _c("packages", "streets", "str", "涉及街道", "streets", en="Streets", width=120),
    _c("packages", "compactness_m", "float", "紧凑度", "compact_m", unit="m",
       en="Compactness (mean distance to medoid)", decimals=1),
    _c("packages", "construction_cost", "float", "施工估算", "cost_con", unit="万元",
       en="Construction estimate", decimals=2),
    _c("packages", "must_tender", "int", "依法必须招标", "must_tend", "必须招标", en="Must tender (0/1)"),
    _c("packages", "plan_year", "int", "计划年度", "plan_yr", unit="年", en="Plan year"),
    _c("packages", "priority", "float", "优先级分", "prio", "优先级", en="Priority score", decimals=2),
    _c("packages", "cost_per_m2", "float", "单方造价", "cost_m2", unit="元/㎡", en="Cost per m²",
       decimals=1),
    _c("packages", "cost_per_household", "float", "户均投资", "cost_hh", unit="万元/户",
       en="Cost per household", decimals=2),
    _c("packages", "fund_central", "float", "中央补助", "f_central", unit="万元", en="Central subsidy",
       decimals=2, additive=True),
    _c("packages", "fund_provincial", "float", "省级奖补", "f_prov", unit="万元", en="Provincial award",
       decimals=2, additive=True),
    _c("packages", "fund_municipal", "float", "市级专项资金", "f_local", "市级资金", unit="万元",
       en="Municipal funds", decimals=2, additive=True),
    _c("packages", "fund_bond", "float", "专项债", "f_bond", unit="万元", en="Special bonds",
       decimals=2, additive=True),
    _c("packages", "fund_residents", "float", "居民出资", "f_resid", unit="万元", en="Residents",
       decimals=2, additive=True),
    _c("packages", "fund_social", "float", "社会资本", "f_social", unit="万元", en="Social capital",
       decimals=2, additive=True),
    _c("packages", "fund_utility", "float", "专营单位出资", "f_utility", "专营出资", unit="万元",
       en="Utilities", decimals=2, additive=True),
    _c("packages", "contractor", "str", "承包单位", "contractor", en="Contractor",
       aliases=("施工单位", "总承包单位"), width=60),
    _c("packages", "split_warning", "str", "化整为零提示", "split_warn", "化整为零",
       en="Tender-split warning", width=120, derived=True),
    _c("packages", "phase_reason", "str", "排期说明", "phase_rsn", en="Phasing note", width=120,
       derived=True),
]

_ALL: list[Column] = _COMPOUNDS + _ILLEGAL + _GAS + _BARRIERS + _ROADS + _ADMIN + _PACKAGES

_BY_LAYER: dict[str, dict[str, Column]] = {k: {} for k in LAYERS}
for _col in _ALL:
    _BY_LAYER[_col.layer][_col.name] = _col
# packages carry every additive compound column (sums) as well
for _col in _COMPOUNDS:
    if _col.additive and _col.name not in _BY_LAYER["packages"]:
        _BY_LAYER["packages"][_col.name] = Column(**{**_col.__dict__, "layer": "packages"})


def _check_unique_codes() -> None:
    for layer, cols in _BY_LAYER.items():
        seen: dict[str, str] = {}
        for col in cols.values():
            for key in (col.code, col.zh_short):
                if key in seen and seen[key] != col.name:
                    raise RuntimeError(f"{layer}: {key!r} used by {seen[key]} and {col.name}")
                seen[key] = col.name


_check_unique_codes()


def _check_layer(kind: str) -> None:
    if kind not in _BY_LAYER:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {', '.join(LAYERS)}")


def columns(kind: str) -> dict[str, Column]:
    """The canonical columns of a layer, by name, in schema order."""
    _check_layer(kind)
    return dict(_BY_LAYER[kind])


def column(kind: str, name: str) -> Column:
    """One canonical column; raises :class:`SchemaError` naming the layer when unknown."""
    cols = columns(kind)
    if name not in cols:
        raise SchemaError(f"{kind}: no column {name!r} in the schema")
    return cols[name]


def find_column(kind: str, name: str) -> Column | None:
    """The column named ``name`` (canonical) in ``kind``, or None."""
    return _BY_LAYER.get(kind, {}).get(name)


def _norm(text: str) -> str:
    """Normalise a column name for alias matching: NFKC, lower case, no spaces/underscores."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    text = re.sub(r"[\s_\-()（）\[\]【】:：]+", "", text)
    return text


def alias_map(kind: str) -> dict[str, str]:
    """Normalised alias → canonical name for one layer (canonical names, codes, Chinese names)."""
    out: dict[str, str] = {}
    # weakest first so stronger keys overwrite: aliases < zh short < zh < code < canonical
    cols = columns(kind).values()
    for col in cols:
        for a in col.aliases:
            out.setdefault(_norm(a), col.name)
    for col in cols:
        for key in (col.zh_short, col.zh, col.header, col.en):
            if key:
                out[_norm(key)] = col.name
    for col in cols:
        out[_norm(col.code)] = col.name
    for col in cols:
        out[_norm(col.name)] = col.name
    return out


def canonical_name(kind: str, name: str) -> str | None:
    """The canonical name that ``name`` stands for in ``kind``, or None."""
    return alias_map(kind).get(_norm(name))


# --------------------------------------------------------------------------------------
# coded values
# --------------------------------------------------------------------------------------
#: vocabulary → {code: (Chinese label, English label, extra aliases)}
VOCABULARIES: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "pipe_class": {
        "municipal": ("市政", "Municipal main", ("市政管道", "市政管", "main")),
        "courtyard_buried": ("庭院埋地", "Courtyard buried", ("庭院埋地管", "庭院管", "庭院", "buried", "courtyard")),
        "overhead": ("架空", "Overhead", ("架空管",)),
        "riser": ("立管", "Riser", ()),
        "service": ("引入管", "Service pipe", ()),
        "horizontal_main": ("水平干管", "Horizontal main", ()),
        "indoor": ("户内", "Indoor", ("户内管",)),
        "other": ("其他", "Other", ()),
    },
    "pipe_material": {
        "grey_cast_iron": ("灰口铸铁", "Grey cast iron", ("灰铸铁", "铸铁", "cast_iron", "ci", "gray_cast_iron")),
        "ductile_iron": ("球墨铸铁", "Ductile iron", ("球铁", "di")),
        "steel": ("钢", "Steel", ("钢管", "无缝钢管", "焊接钢管")),
        "galvanized_steel": ("镀锌钢", "Galvanised steel", ("镀锌钢管", "镀锌管", "galvanised_steel")),
        "pe": ("PE", "PE", ("聚乙烯", "pe管", "polyethylene")),
        "aluminium_plastic": ("铝塑复合", "Aluminium-plastic", ("铝塑管", "铝塑")),
        "other": ("其他", "Other", ()),
    },
    "illegal_kind": {
        "rooftop": ("楼顶加建", "Rooftop addition", ("楼顶违建", "屋顶加建")),
        "ground_enclosure": ("底层圈占扩建", "Ground-floor enclosure", ("圈占", "底层扩建")),
        "common_space_shed": ("公共部位搭建", "Shed in common space", ("公共部位",)),
        "tin_shed": ("铁皮板房棚", "Tin or board shed", ("铁皮棚", "板房", "杂物棚")),
        "balcony_cage": ("外挑阳台笼", "Projecting cage", ("防盗笼", "阳台笼")),
        "wall_gate": ("围墙门楼", "Wall or gate", ("围墙",)),
        "business_use": ("占用经营", "Business use", ("经营",)),
        "other": ("其他", "Other", ()),
    },
    "illegal_status": {
        "to_verify": ("待核查", "To verify", ()),
        "filed": ("已立案", "Case filed", ("立案",)),
        "stop_order": ("责令停止", "Stop order", ()),
        "deadline": ("限期拆除", "Deadline to demolish", ()),
        "forced": ("强制拆除", "Forced demolition", ()),
        "demolished": ("已拆除", "Demolished", ("已拆",)),
        "deferred": ("暂缓", "Deferred", ()),
        "retained": ("保留", "Retained", ()),
    },
    "barrier_type": {
        "arterial": ("主干道", "Arterial road", ("主干路", "城市道路", "干道", "trunk", "primary")),
        "river": ("河流", "River", ("河道", "水系", "湖", "water")),
        "railway": ("铁路", "Railway", ("轨道", "rail")),
        "wall": ("围墙", "Wall", ()),
        "other": ("其他", "Other", ()),
    },
    "renovation_class": {
        "basic": ("基础", "Basic", ("基础类",)),
        "improve": ("完善", "Improvement", ("完善类",)),
        "upgrade": ("提升", "Upgrade", ("提升类",)),
    },
    "renovation_status": {
        "not_listed": ("未纳入", "Not listed", ()),
        "reserve": ("储备", "Reserve", ()),
        "planned": ("计划", "Planned", ()),
        "started": ("在建", "Started", ("开工",)),
        "completed": ("完工", "Completed", ("竣工", "已完工")),
    },
    "admin_level": {
        "city": ("市", "City", ()),
        "district": ("区", "District", ()),
        "street": ("街道", "Street", ()),
        "community": ("社区", "Community", ()),
    },
}


def _vocab_lookup(vocab: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, (zh, en, aliases) in VOCABULARIES[vocab].items():
        for key in (code, zh, en, *aliases):
            out[_norm(key)] = code
    return out


_VOCAB_LOOKUP = {v: _vocab_lookup(v) for v in VOCABULARIES}


def canonical_value(vocab: str, value) -> str | None:
    """The English code of a coded value given as code, Chinese or English label, or None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return _VOCAB_LOOKUP[vocab].get(_norm(value))


def canonical_values(vocab: str, values: pd.Series) -> pd.Series:
    """Vectorised :func:`canonical_value` over a Series (unknown values stay as they are)."""
    lookup = _VOCAB_LOOKUP[vocab]
    uniq = pd.unique(values.dropna())
    mapping = {u: lookup.get(_norm(u), u) for u in uniq}
    return values.map(mapping).where(values.notna(), None)


def value_label(vocab: str, code, lang: str = "zh") -> str:
    """Label of a coded value for display (``courtyard_buried`` → ``庭院埋地``)."""
    entry = VOCABULARIES.get(vocab, {}).get(code)
    if entry is None:
        return "" if code is None else str(code)
    return entry[1] if lang == "en" else entry[0]


def label(kind: str, name: str, lang: str = "zh", *, unit: bool = True) -> str:
    """Display label of a column (Chinese by default), with its unit."""
    col = find_column(kind, name) or find_column("compounds", name) or find_column("packages", name)
    if col is None:
        return name
    if unit:
        return col.header_for(lang)
    return (col.en or name) if lang == "en" else col.zh


def shapefile_code(kind: str, name: str) -> str:
    """The ≤10-byte ASCII shapefile field name of a canonical column."""
    col = find_column(kind, name)
    if col is None:
        raise SchemaError(f"{kind}: no shapefile code for column {name!r}")
    return col.code


def data_dictionary(kinds=LAYERS) -> pd.DataFrame:
    """One row per column: layer, canonical name, shapefile code, Chinese name and short name,
    English name, unit, dtype."""
    rows = []
    for kind in kinds:
        for col in columns(kind).values():
            rows.append(
                {
                    "layer": kind,
                    "column": col.name,
                    "code": col.code,
                    "zh": col.zh,
                    "zh_short": col.zh_short,
                    "en": col.en or col.name,
                    "unit": col.unit,
                    "dtype": col.dtype,
                    "vocabulary": col.vocab or "",
                }
            )
    return pd.DataFrame(rows)


def additive_columns(kind: str = "compounds") -> list[str]:
    """Columns that package roll-ups sum."""
    return [c.name for c in columns(kind).values() if c.additive]
