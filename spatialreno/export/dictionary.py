"""The data dictionary of an export (字段说明) and its table of coded values (代码表).

:func:`field_table` gives the dictionary without writing anything; the bundle writes it as
``shp/字段说明.csv``, a workbook sheet and the GeoPackage table ``data_dictionary``.
"""

from __future__ import annotations

import pandas as pd

from .. import schema
from .fields import Field, plan_fields
from .layers import collect_layers, with_id_column
from .layout import GPKG_NAME, LAYER_NAMES, FieldNames, Lang

__all__ = ["field_table", "dictionary_rows", "data_dictionary", "vocabulary_table",
           "localised", "DICTIONARY_HEADERS", "FIELD_TABLE_COLUMNS"]

#: the columns of :func:`field_table`
FIELD_TABLE_COLUMNS = ("layer", "field", "column", "zh", "zh_short", "en", "unit", "dtype",
                       "vocabulary", "in_schema")


def field_table(
    layers_or_plan,
    *,
    field_names: FieldNames = "code",
    lang: Lang = "zh",
) -> pd.DataFrame:
    """The data dictionary of an export: one row per column of every layer present.

    Columns: ``layer``, ``field`` (shapefile field name), ``column`` (canonical name, as in
    the GeoPackage), ``zh``, ``zh_short``, ``en``, ``unit``, ``dtype``, ``vocabulary``,
    ``in_schema``. Columns outside the schema get a generated ASCII code (abbreviation plus
    a collision counter ``_1``, ``_2``, ...) and a Chinese name when one can be derived
    (``illegal_m2_rooftop`` → 违建面积-楼顶加建), else their own name.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.export import field_table
    >>> c = gpd.GeoDataFrame(
    ...     {"households": [120], "gas_aged_pe_m": [35.0]},
    ...     geometry=[box(0, 0, 100, 100)],
    ...     index=pd.Index(["C1"], name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> table = field_table({"compounds": c})
    >>> [tuple(r) for r in table[["field", "column", "zh", "unit"]].itertuples(index=False)]
    [('cmp_id', 'compound_id', '小区编码', ''), ('hh_cnt', 'households', '户数', '户'), ('gasagdpem', 'gas_aged_pe_m', '老化燃气管长-PE', 'm')]
    """
    rows = []
    for kind, gdf in collect_layers(layers_or_plan).items():
        df = with_id_column(gdf, kind)
        rows.extend(dictionary_rows(kind, plan_fields(kind, df, field_names), lang))
    return pd.DataFrame(rows, columns=list(FIELD_TABLE_COLUMNS))


def dictionary_rows(kind: str, fields: list[Field], lang: str) -> list[dict]:
    """One dictionary row per field of a layer."""
    return [
        {
            "layer": kind, "field": f.field, "column": f.name, "zh": f.col.zh,
            "zh_short": f.col.zh_short, "en": f.col.en or f.name,
            "unit": f.col.unit if lang == "zh" or not f.col.unit else f.col.unit_en,
            "dtype": f.dtype, "vocabulary": f.col.vocab or "", "in_schema": f.in_schema,
        }
        for f in fields
    ]


#: (dictionary column, Chinese header, English header) of 字段说明.csv and the 字段说明 sheet
DICTIONARY_HEADERS = (
    ("layer", "图层", "Layer"),
    ("file", "文件", "File"),
    ("field", "字段名", "Field"),
    ("zh", "中文名称", "Chinese name"),
    ("en", "英文名称", "English name"),
    ("unit", "单位", "Unit"),
    ("dtype", "类型", "Type"),
    ("column", "规范列名(GeoPackage)", "Column (GeoPackage)"),
    ("zh_short", "中文短名", "Chinese short name"),
    ("vocabulary", "代码表", "Coded values"),
)


def data_dictionary(plans, shp_files: dict[str, list[str]], formats, lang: str) -> pd.DataFrame:
    """The bundle's dictionary: every field of every layer, with the file that holds it."""
    rows = []
    for kind, fields in plans.items():
        zh, en = LAYER_NAMES[kind]
        for row in dictionary_rows(kind, fields, lang):
            row["layer"] = f"{zh} ({kind})" if lang == "zh" else f"{en} ({kind})"
            row["file"] = "; ".join(shp_files.get(kind, [])) or (
                GPKG_NAME if "gpkg" in formats else "")
            rows.append(row)
    return pd.DataFrame(rows, columns=[c for c, _, _ in DICTIONARY_HEADERS])


def vocabulary_table(lang: str) -> pd.DataFrame:
    """Every coded value: vocabulary, code, Chinese and English label."""
    rows = [(vocab, code, zh, en) for vocab, entries in schema.VOCABULARIES.items()
            for code, (zh, en, _) in entries.items()]
    headers = (["代码表", "代码", "中文", "英文"] if lang == "zh"
               else ["Vocabulary", "Code", "Chinese", "English"])
    return pd.DataFrame(rows, columns=headers)


def localised(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The dictionary with its headers in ``lang`` (for 字段说明.csv)."""
    idx = 1 if lang == "zh" else 2
    return df.rename(columns={h[0]: h[idx] for h in DICTIONARY_HEADERS})
