"""The map's own words, in Chinese and English: titles, legend, search box, notes.

>>> from spatialreno.maps.text import TEXT, check_lang
>>> TEXT["en"]["legend"]
'Legend'
>>> check_lang("fr")
Traceback (most recent call last):
...
spatialreno.errors.ConfigError: `lang` must be one of 'zh', 'en', got 'fr'.
"""

from __future__ import annotations

from ..errors import ConfigError

__all__ = ["LANGS", "TEXT", "check_lang"]

#: Languages the map speaks.
LANGS: tuple[str, ...] = ("zh", "en")

#: The map's words per language (title, legend, layer names, search box, notes).
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "老旧小区改造片区审查图",
        "legend": "图例",
        "packages": "片区",
        "compounds": "小区",
        "illegal": "违法建设",
        "gas": "燃气管网",
        "barriers": "分隔道路与河流",
        "admin": "行政界线",
        "in_package": "所属片区",
        "search": "搜索小区名称或编码",
        "no_match": "无匹配小区",
        "yes": "是",
        "no": "否",
        "n_packages": "片区 {n} 个",
        "package_note": "颜色仅区分相邻片区",
        "compound_outline": "小区边界",
        "unassigned": "未纳入片区",
        "label_note": "放大到 {z} 级显示小区名称",
        "size_note": "圆点大小按违建面积",
        "aged": "老化管段（红色加粗）",
        "no_aged": "未做老化判定",
        "unknown": "未填",
        "tianditu_vec": "天地图矢量",
        "tianditu_cva": "天地图注记",
        "gaode": "高德地图",
        "osm": "OpenStreetMap",
        "custom": "底图",
        "gcj_note": (
            "底图为高德地图（GCJ-02）。叠加图层已由 WGS84/CGCS2000 偏移至 GCJ-02（约 0.5 km），"
            "仅供显示；量算与导出以原始坐标为准。"
        ),
    },
    "en": {
        "title": "Old-compound renovation: package review map",
        "legend": "Legend",
        "packages": "Packages",
        "compounds": "Compounds",
        "illegal": "Illegal structures",
        "gas": "Gas network",
        "barriers": "Barriers (roads, rivers)",
        "admin": "Admin boundaries",
        "in_package": "Package",
        "search": "Search compound name or ID",
        "no_match": "No matching compound",
        "yes": "Yes",
        "no": "No",
        "n_packages": "{n} packages",
        "package_note": "Colours only tell neighbouring packages apart",
        "compound_outline": "Compound boundary",
        "unassigned": "Not in a package",
        "label_note": "Names shown from zoom {z}",
        "size_note": "Circle size by structure area",
        "aged": "Aged pipe (thick red)",
        "no_aged": "Ageing not assessed",
        "unknown": "Not given",
        "tianditu_vec": "Tianditu vector",
        "tianditu_cva": "Tianditu labels",
        "gaode": "Gaode (AMap)",
        "osm": "OpenStreetMap",
        "custom": "Basemap",
        "gcj_note": (
            "Basemap is Gaode (GCJ-02). Overlays are shifted from WGS84/CGCS2000 to GCJ-02 "
            "(about 0.5 km) for display only; measure and export from the original data."
        ),
    },
}


def check_lang(lang: str) -> str:
    """``lang`` when the map speaks it, else a :class:`ConfigError` naming the choices."""
    if lang not in LANGS:
        raise ConfigError(f"`lang` must be one of {', '.join(map(repr, LANGS))}, got {lang!r}.")
    return lang

