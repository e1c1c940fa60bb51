"""Export a plan to the city GIS and the tender workbook: GeoPackage, shapefiles, Excel.

:func:`export_bundle` writes one folder::

    out_dir/
      manifest.json            files, row counts, CRS, encoding, field map (read by read_bundle)
      spatialreno.gpkg         every layer, canonical column names, plus the tables
                               ``data_dictionary`` and ``vocabulary``
      shp/compounds.shp ...    one shapefile per layer (.shp .shx .dbf .prj .cpg); a layer
                               holding points and polygons is split: illegal_point.shp,
                               illegal_polygon.shp
      shp/字段说明.csv          data dictionary: field, Chinese name, English name, unit, layer
      shp/代码表.csv            coded values: code, Chinese label, English label
      spatialreno.xlsx         片区汇总, 小区明细, 违建明细, 燃气管段, 字段说明

Shapefile rules (measured with GDAL 3.12 via pyogrio, 3.9 via fiona, 3.6 ogrinfo; see
../shared/DOMAIN.md §3):

* field names are the schema's ASCII codes (``hh_cnt``), at most 10 bytes, or with
  ``field_names="chinese"`` the ≤5-character Chinese short names (``户数``), which fit
  10 bytes only in GBK/GB18030 (a UTF-8 Han character takes 3 bytes);
* the ``.cpg`` says ``936`` for GBK (the Windows code page number Esri writes; GDAL, QGIS
  and ArcGIS decode it; ``ANSI 936`` is *not* understood by GDAL), ``GB18030`` for GB18030
  (``54936`` is not understood by GDAL) and ``UTF-8`` for UTF-8; GBK files also carry the
  DBF language-driver id 0x4D, so a copy that loses its ``.cpg`` still reads correctly;
* every text value is checked in Python before GDAL sees it: a character the encoding
  cannot hold (GDAL's CP936 drops it silently) or a text longer than 254 bytes (GDAL cuts
  it) raises :class:`~spatialreno.errors.EncodingError` naming layer, id and column;
  spatialreno's own texts (:data:`GENERATED_TEXT`: the 化整为零 warning, the phasing note,
  the aged-pipe rule) are not refused but shortened to 254 bytes, cut between characters
  and ending with where the full text is (``…（全文见工作簿 片区汇总/化整为零提示）``); the
  GeoPackage and the workbook hold them in full, and the manifest counts them under
  ``shortened``;
* dates are DBF Date fields, booleans 0/1 integers, integers with gaps stay integers with
  empty cells.

Text from data never runs in a spreadsheet: every text cell of the workbook is a string
cell (never a formula or an error value), and every text that starts with ``=``, ``+``,
``-``, ``@``, a tab or a CR gets a leading apostrophe in the workbook and the CSV files
(``=1+1`` → ``'=1+1``, OWASP's advice; see :mod:`spatialreno._cells`); numbers stay
numbers. The GeoPackage and the shapefiles keep the exact text.

Personal data (the illegal-structure ``party``, and any column that looks like an ID
card, phone or person's name) is masked by default: the first character is kept and every
other character becomes ``*`` (``张三`` → ``张*``, ``13812345678`` → ``1**********``).

The bundle is written into a hidden temporary folder beside ``out_dir`` and renamed into
place at the end, so an error leaves no partial bundle and an existing bundle survives.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from . import schema
from ._cells import neutralise, write_csv
from ._outdir import Interface, OutputFolder
from .errors import CRSError, EncodingError, ExportError, SchemaError, SpatialRenoError

__all__ = [
    "export_bundle",
    "read_bundle",
    "read_manifest",
    "field_table",
    "mask_text",
    "personal_columns",
    "ENCODINGS",
    "GPKG_NAME",
    "XLSX_NAME",
    "SHP_DIR",
    "DICTIONARY_CSV",
    "VOCABULARY_CSV",
    "MANIFEST_NAME",
]

Format = Literal["gpkg", "shp", "xlsx"]
FieldNames = Literal["code", "chinese"]
Lang = Literal["zh", "en"]
_FORMATS = ("gpkg", "shp", "xlsx")

GPKG_NAME = "spatialreno.gpkg"
XLSX_NAME = "spatialreno.xlsx"
SHP_DIR = "shp"
DICTIONARY_CSV = "字段说明.csv"
VOCABULARY_CSV = "代码表.csv"
MANIFEST_NAME = "manifest.json"
_BUNDLE_FORMAT = "spatialreno-bundle"

#: Chinese and English name of each layer (GeoPackage identifiers, dictionary).
LAYER_NAMES: dict[str, tuple[str, str]] = {
    "packages": ("片区", "Packages"),
    "compounds": ("小区", "Compounds"),
    "illegal": ("违法建设", "Illegal structures"),
    "gas": ("燃气管段", "Gas segments"),
    "barriers": ("障碍", "Barriers"),
    "admin": ("行政区划", "Admin areas"),
    "roads": ("道路", "Roads"),
}
#: workbook sheets, in order: layer → (Chinese title, English title)
_SHEETS: dict[str, tuple[str, str]] = {
    "packages": ("片区汇总", "Packages"),
    "compounds": ("小区明细", "Compounds"),
    "illegal": ("违建明细", "Illegal structures"),
    "gas": ("燃气管段", "Gas segments"),
}
_DICT_SHEET = ("字段说明", "Data dictionary")
_TOTALS_ON = ("packages", "compounds")
_TOTAL_LABEL = {"zh": "合计", "en": "Total"}
_BOOL_LABEL = {"zh": ("否", "是"), "en": ("No", "Yes")}
_LAYER_ORDER = ("packages", "compounds", "illegal", "gas", "barriers", "admin", "roads")
_SHP_MAX_BYTES = 254  # dBASE/Esri text width; GDAL cuts longer values silently
#: Text columns that spatialreno writes itself (warnings, notes), not user data. The
#: GeoPackage and the workbook get them in full; a shapefile gets them shortened to
#: 254 bytes (cut on a character boundary) with a note saying where the full text is.
#: A user's text over 254 bytes is refused instead (the planner decides how to shorten it).
GENERATED_TEXT: dict[str, frozenset[str]] = {
    "packages": frozenset({"split_warning", "phase_reason"}),
    "gas": frozenset({"aged_rule"}),
}


# --------------------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Encoding:
    name: str  # what the user passes and the manifest records
    python: str  # Python codec used for the checks
    gdal: str  # what GDAL recodes to
    cpg: str  # what the .cpg says
    ldid: int  # DBF language-driver id written at byte 29 (0 = none)
    two_byte_han: bool  # a Han character is 2 bytes (BMP), so 5 fit a field name


#: Supported shapefile encodings (keys are what ``encoding=`` accepts, case-insensitive).
ENCODINGS: dict[str, _Encoding] = {
    "GBK": _Encoding("GBK", "gbk", "CP936", "936", 0x4D, True),
    "GB18030": _Encoding("GB18030", "gb18030", "GB18030", "GB18030", 0, True),
    "UTF-8": _Encoding("UTF-8", "utf-8", "UTF-8", "UTF-8", 0, False),
}
_ENCODING_ALIASES = {
    "gbk": "GBK", "cp936": "GBK", "936": "GBK", "ms936": "GBK", "windows936": "GBK",
    "gb18030": "GB18030", "54936": "GB18030",
    "utf8": "UTF-8", "65001": "UTF-8",
}


def _resolve_encoding(encoding: str) -> _Encoding:
    key = re.sub(r"[\s_\-]", "", str(encoding)).lower()
    name = _ENCODING_ALIASES.get(key)
    if name is None:
        raise ValueError(
            f"encoding must be one of {', '.join(ENCODINGS)} (GBK is what Chinese city GIS "
            f"offices and ArcGIS on Chinese Windows expect), got {encoding!r}"
        )
    return ENCODINGS[name]


# --------------------------------------------------------------------------------------
# personal data
# --------------------------------------------------------------------------------------
_PERSONAL_NAME = re.compile(
    r"(?:^|_)(?:id_?card|id_?no|sfzh?|phone|tel|telephone|mobile|lxdh|contact|party|"
    r"owner_name|person_name|resident_name)(?:_|$)"
)
_PERSONAL_ZH = ("身份证", "电话", "手机", "联系方式", "当事人", "姓名", "业主")


def personal_columns(kind: str, columns) -> list[str]:
    """Columns of a layer that hold personal data and are masked on export.

    Schema columns flagged ``personal`` (the illegal-structure ``party``) and any column
    whose name looks like an ID card, phone or person's name (``id_card``, ``phone``,
    ``身份证号``, ``联系电话``, ``业主姓名``, ...).

    Examples
    --------
    >>> from spatialreno.export import personal_columns
    >>> personal_columns("illegal", ["structure_id", "party", "owner_phone", "address"])
    ['party', 'owner_phone']
    """
    out = []
    for name in columns:
        col = schema.find_column(kind, str(name))
        text = str(name).lower()
        if (col is not None and col.personal) or _PERSONAL_NAME.search(text) or any(
            z in text for z in _PERSONAL_ZH
        ):
            out.append(name)
    return out


def mask_text(value) -> str | None:
    """Keep the first character and replace every other one with ``*``.

    Examples
    --------
    >>> from spatialreno.export import mask_text
    >>> mask_text("张三"), mask_text("欧阳娜娜"), mask_text("13812345678"), mask_text(None)
    ('张*', '欧***', '1**********', None)
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = _as_text(value)
    return text[:1] + "*" * (len(text) - 1)


# --------------------------------------------------------------------------------------
# columns: dtype, Chinese name, shapefile field name
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    name: str  # column name in the layer (canonical when in the schema)
    field: str  # shapefile field name
    dtype: str  # "str" | "int" | "float" | "bool" | "date" | "datetime"
    col: schema.Column  # schema column, or a described one for columns outside the schema
    in_schema: bool


def _as_text(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def _infer_dtype(s: pd.Series, want: str | None) -> str:
    """The export dtype of a column: the schema's when the data fits it, else the data's."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if want == "str":
        return "str"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "float" if want == "float" else ("bool" if want == "bool" else "int")
    if pd.api.types.is_float_dtype(s.dtype):
        if want == "int":
            vals = s.dropna()
            if bool((vals % 1 == 0).all()):
                return "int"
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _date_or_datetime(s, want)
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred == "empty":
        return want or "str"
    if inferred == "date":
        return "date"
    if inferred in ("datetime", "datetime64"):
        return _date_or_datetime(pd.to_datetime(s, errors="coerce"), want)
    if inferred == "boolean":
        return "bool"
    if inferred == "integer":
        return "float" if want == "float" else "int"
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "float"
    return "str"


def _date_or_datetime(s: pd.Series, want: str | None) -> str:
    if want == "date":
        return "date"
    vals = s.dropna()
    if getattr(s.dt, "tz", None) is not None:
        vals = vals.dt.tz_convert(None)
    return "date" if bool((vals == vals.dt.normalize()).all()) else "datetime"


def _normalise(s: pd.Series, dtype: str) -> pd.Series:
    """The column as the dtype the writers expect (object str / Int64 / float64 / boolean /
    datetime64)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if dtype == "str":
        obj = s.astype(object)
        return obj.where(s.notna(), None).map(lambda v: None if v is None else _as_text(v))
    if dtype == "int":
        return pd.to_numeric(s).astype("Int64")
    if dtype == "float":
        return pd.to_numeric(s).astype("float64")
    if dtype == "bool":
        return s.astype("boolean")
    out = pd.to_datetime(s, errors="raise")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out.dt.normalize() if dtype == "date" else out


_UNIT_SUFFIXES = (("_km2", "km²"), ("_m2", "㎡"), ("_mm", "mm"), ("_pct", "%"), ("_m", "m"),
                  ("_wan", "万元"))
#: tokens that say "broken down by ..." and are dropped before looking up the base column
_BREAKDOWN_TOKENS = {"mat", "material", "cls", "class", "kind", "type", "by", "status", "st"}
#: vocabulary preferred when a code such as "other" occurs in several
_VOCAB_HINTS = (({"mat", "material"}, "pipe_material"), ({"cls", "class", "gas"}, "pipe_class"),
                ({"status", "st"}, "illegal_status"), ({"illegal", "ill"}, "illegal_kind"),
                ({"barrier", "bar"}, "barrier_type"))


def _describe_extra(kind: str, name: str, dtype: str) -> schema.Column:
    """A Column describing a column outside the schema, e.g. ``illegal_m2_rooftop`` →
    违建面积-楼顶加建 (㎡), ``gas_mat_steel_m`` → 燃气管长-钢 (m); the English name when no
    Chinese one can be derived."""
    text = str(name)
    tokens = text.lower().split("_")
    hinted = [v for hint, v in _VOCAB_HINTS if hint & set(tokens)]
    best = None  # (score, vocab, code, start, length)
    for vocab, entries in schema.VOCABULARIES.items():
        for code in entries:
            ct = code.split("_")
            for i in range(1, len(tokens) - len(ct) + 1):  # a base must come first
                if tokens[i:i + len(ct)] == ct:
                    score = (len(ct), vocab in hinted, -list(schema.VOCABULARIES).index(vocab))
                    if best is None or score > best[0]:
                        best = (score, vocab, code, i, len(ct))
    base_tokens, label = tokens, None
    if best is not None:
        _, vocab, code, i, n = best
        base_tokens = tokens[:i] + tokens[i + n:]
        label = schema.VOCABULARIES[vocab][code][:2]
    base = None
    for candidate in ("_".join(base_tokens),
                      "_".join(t for t in base_tokens if t not in _BREAKDOWN_TOKENS)):
        for layer in dict.fromkeys((kind, "compounds")):
            canon = schema.canonical_name(layer, candidate)
            if canon is not None:
                base = schema.column(layer, canon)
                break
        if base is not None:
            break
    unit = next((u for suffix, u in _UNIT_SUFFIXES if text.lower().endswith(suffix)), "")
    decimals = 2 if dtype == "float" else 0
    additive = dtype in ("int", "float") and unit in ("m", "㎡", "万元")
    if base is not None:
        unit, decimals, additive = base.unit, base.decimals, base.additive
        zh, en = base.zh, base.en or base.name
    elif label is not None:
        zh, en = "", ""
    else:
        zh, en = (text, text) if not text.isascii() else ("", text)
    if label is not None:
        zh = f"{zh}-{label[0]}" if zh else label[0]
        en = f"{en} – {label[1]}" if en else label[1]
    return schema.Column(
        name=text, layer=kind, dtype="date" if dtype == "datetime" else dtype,  # type: ignore[arg-type]
        zh=zh or text, code="", zh_short="", unit=unit, en=en or text, decimals=decimals,
        additive=additive,
    )


def _ascii_code(name: str) -> str:
    """A readable ≤10-byte ASCII abbreviation of a column name (before de-duplication):
    vowels go first from the longest words, then their last letters down to three, then
    the underscores, then the tail (``illegal_m2_rooftop`` → ``ill_m2_rft``)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", text) if t] or ["fld"]
    while len("_".join(tokens)) > 10:
        # the longest word (the last of equals) that still has a vowel after its first letter
        cands = [i for i, t in enumerate(tokens) if len(t) > 3 and re.search("[aeiou]", t[1:])]
        if not cands:
            break
        i = max(cands, key=lambda k: (len(tokens[k]), k))
        tok = tokens[i]
        j = max(k for k in range(1, len(tok)) if tok[k] in "aeiou")
        tokens[i] = tok[:j] + tok[j + 1:]
    while len("_".join(tokens)) > 10 and any(len(t) > 3 for t in tokens):
        i = max(range(len(tokens)), key=lambda k: (len(tokens[k]), k))
        tokens[i] = tokens[i][:-1]
    code = "_".join(tokens)
    if len(code) > 10:
        code = "".join(tokens)[:10]
    return code if code[0].isalpha() else ("f" + code)[:10]


def _unique_code(code: str, used: set[str]) -> str:
    """``code`` itself if free, else ``code[:8]_1`` ... ``code[:7]_10`` ... (GDAL's style)."""
    if code.lower() not in used and schema._norm(code) not in used:
        return code
    for n in range(1, 1000):
        suffix = f"_{n}"
        candidate = code[: 10 - len(suffix)].rstrip("_") + suffix
        if candidate.lower() not in used and schema._norm(candidate) not in used:
            return candidate
    raise ExportError(f"cannot make a unique shapefile field name from {code!r}")


def _plan_fields(kind: str, df: pd.DataFrame, field_names: str) -> list[_Field]:
    """Decide dtype, description and shapefile field name of every column of a layer."""
    cols = schema.columns(kind)
    names = [c for c in df.columns if c != "geometry"]
    fields: list[_Field] = []
    # reserve the schema's names and aliases, so a generated code never reads back as
    # another column (spatialreno.io maps codes, Chinese names and aliases)
    used = {k for k in schema.alias_map(kind)}
    for name in names:
        col = cols.get(name)
        if col is None:
            continue
        dtype = _infer_dtype(df[name], col.dtype)
        field = col.zh_short if field_names == "chinese" else col.code
        fields.append(_Field(name, field, dtype, col, True))
        used.add(field.lower())
    extras: dict[str, _Field] = {}
    for name in names:
        if name in cols:
            continue
        dtype = _infer_dtype(df[name], None)
        code = _unique_code(_ascii_code(name), used)
        used.add(code.lower())
        short = ""
        if not str(name).isascii() and len(str(name)) <= 5 and _unique_code(name, used) == name:
            short = str(name)  # a Chinese column name is its own short name
            used.add(short.lower())
        col = replace(_describe_extra(kind, name, dtype), code=code, zh_short=short)
        field = short if field_names == "chinese" and short else code
        extras[name] = _Field(name, field, dtype, col, False)
    by_name = {f.name: f for f in fields} | extras
    return [by_name[n] for n in names]


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
    for kind, gdf in _collect_layers(layers_or_plan).items():
        df = _with_id_column(gdf, kind)
        rows.extend(_dictionary_rows(kind, _plan_fields(kind, df, field_names), lang))
    return pd.DataFrame(rows, columns=["layer", "field", "column", "zh", "zh_short", "en",
                                       "unit", "dtype", "vocabulary", "in_schema"])


def _dictionary_rows(kind: str, fields: list[_Field], lang: str) -> list[dict]:
    return [
        {
            "layer": kind, "field": f.field, "column": f.name, "zh": f.col.zh,
            "zh_short": f.col.zh_short, "en": f.col.en or f.name,
            "unit": f.col.unit if lang == "zh" or not f.col.unit else f.col.unit_en,
            "dtype": f.dtype, "vocabulary": f.col.vocab or "", "in_schema": f.in_schema,
        }
        for f in fields
    ]


# --------------------------------------------------------------------------------------
# layers in
# --------------------------------------------------------------------------------------
def _collect_layers(layers_or_plan) -> dict[str, gpd.GeoDataFrame]:
    """``{kind: GeoDataFrame}`` from a dict, or from an object's ``export_layers()`` (a
    Plan) or ``layers()`` (a District) method."""
    if isinstance(layers_or_plan, Mapping):
        layers = layers_or_plan
    else:
        method = next((m for m in (getattr(layers_or_plan, name, None)
                                   for name in ("export_layers", "layers")) if callable(m)), None)
        if method is None:
            raise TypeError(
                "export_bundle needs a dict {kind: GeoDataFrame} or an object with an "
                "export_layers() or layers() method (a Plan or a District), got "
                f"{type(layers_or_plan).__name__}"
            )
        layers = method()
    if not isinstance(layers, Mapping):
        raise TypeError(f".layers() must return a dict of GeoDataFrames, got {type(layers).__name__}")
    unknown = [k for k in layers if k not in schema.LAYERS]
    if unknown:
        raise SchemaError(
            f"unknown layer kind(s) {', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(schema.LAYERS)}"
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind in _LAYER_ORDER:
        gdf = layers.get(kind)
        if gdf is None:
            continue
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise SchemaError(f"{kind}: expected a GeoDataFrame, got {type(gdf).__name__}")
        out[kind] = gdf
    if not out:
        raise SchemaError(f"nothing to export: no layer among {', '.join(schema.LAYERS)}")
    return out


def _with_id_column(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """The layer with its id as the first column and the geometry named ``geometry`` last."""
    id_col = schema.ID_COLUMNS[kind]
    df = gdf
    if df.geometry.name != "geometry":
        df = df.rename_geometry("geometry")
    if id_col not in df.columns:
        df = df.rename_axis(id_col).reset_index()
    else:
        df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    order = [id_col] + [c for c in df.columns if c not in (id_col, "geometry")] + ["geometry"]
    return df[order]


def _prepare(gdf: gpd.GeoDataFrame, kind: str, crs: CRS | None, mask: bool):
    """Reprojected, id-as-column copy of a layer with personal data masked, and the names of
    the masked columns."""
    if gdf.crs is None:
        raise CRSError(
            f"{kind}: the layer has no CRS; set it first, e.g. gdf.set_crs('EPSG:4547')"
        )
    df = _with_id_column(gdf, kind)
    if crs is not None and not df.crs.equals(crs):
        df = df.to_crs(crs)
    masked = personal_columns(kind, df.columns) if mask else []
    for name in masked:
        df[name] = df[name].map(mask_text, na_action="ignore").astype(object)
    return df, masked


def _check_text(kind: str, df: pd.DataFrame, fields: list[_Field], enc: _Encoding,
                field_names: str) -> None:
    """Raise EncodingError for text a shapefile in ``enc`` would lose or cut."""
    id_col = schema.ID_COLUMNS[kind]
    for f in fields:
        if field_names == "chinese":
            try:
                size = len(f.field.encode(enc.python))
            except UnicodeEncodeError:
                size = 99
            if size > 10:
                raise EncodingError(
                    f"{kind}: the field name {f.field!r} of column {f.name!r} is {size} bytes in "
                    f"{enc.name}; a shapefile field name holds 10. Use field_names='code'."
                )
        if f.dtype != "str":
            continue
        s = df[f.name]
        bad: list[tuple[str, UnicodeEncodeError]] = []
        long: list[tuple[str, int]] = []
        for value in s.dropna().unique():
            try:
                size = len(value.encode(enc.python))
            except UnicodeEncodeError as exc:
                bad.append((value, exc))
                continue
            if size > _SHP_MAX_BYTES and f.name not in GENERATED_TEXT.get(kind, ()):
                long.append((value, size))
        if bad:
            value, exc = bad[0]
            rows = s.isin([v for v, _ in bad])
            first_id = df.loc[s == value, id_col].iloc[0]
            char = value[exc.start:exc.end]
            more = int(rows.sum()) - 1
            raise EncodingError(
                f"{kind}: {id_col} {first_id!r}, column {f.name!r} ({f.col.zh}): the character "
                f"{char!r} (U+{ord(char[0]):04X}) in {value!r} cannot be written in {enc.name}; "
                f"GDAL would drop it silently. Export with encoding='GB18030' (holds every "
                f"Chinese character, 2 bytes for common ones) or encoding='UTF-8'"
                + (f". {more} more cell(s) of this column have such characters." if more else ".")
            )
        if long:
            value, size = long[0]
            first_id = df.loc[s == value, id_col].iloc[0]
            fix = (" Or use encoding='GBK' (2 bytes per Chinese character instead of 3)."
                   if enc.name == "UTF-8" else "")
            raise EncodingError(
                f"{kind}: {id_col} {first_id!r}, column {f.name!r} ({f.col.zh}): the text is "
                f"{size} bytes in {enc.name}; a shapefile text field holds {_SHP_MAX_BYTES} and "
                f"GDAL would cut it. Shorten it, or leave shapefiles out with "
                f"formats=('gpkg', 'xlsx').{fix}"
            )


# --------------------------------------------------------------------------------------
# GDAL writing (pyogrio)
# --------------------------------------------------------------------------------------
_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line",
           "MultiLineString": "line", "LinearRing": "line", "Polygon": "polygon",
           "MultiPolygon": "polygon"}
_FAMILY_ORDER = ("polygon", "line", "point")
_SHP_TYPE = {"polygon": "Polygon", "line": "LineString", "point": "Point"}
_SINGLE_TO_MULTI = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}


def _geometry_for_ogr(geoms: np.ndarray, *, shapefile: bool,
                      default: str = "Unknown") -> tuple[np.ndarray, str]:
    """WKB and the layer geometry type; single parts promoted when mixed with multis."""
    types = shapely.get_type_id(geoms)
    present = set(types[types >= 0].tolist())
    geoms = geoms.copy()
    for single, multi in ((0, 4), (1, 5), (3, 6)):
        if single in present and multi in present and not (shapefile and single != 0):
            mask = types == single
            geoms[mask] = _SINGLE_TO_MULTI[single](np.atleast_2d(geoms[mask]), axis=0)
            present.discard(single)
    names = {0: "Point", 1: "LineString", 2: "LineString", 3: "Polygon", 4: "MultiPoint",
             5: "MultiLineString", 6: "MultiPolygon"}
    kinds = {names.get(t, "Unknown") for t in present}
    if shapefile:
        kinds = {"Polygon" if k == "MultiPolygon" else "LineString" if k == "MultiLineString"
                 else k for k in kinds}
    geometry_type = kinds.pop() if len(kinds) == 1 else ("Unknown" if kinds else default)
    return shapely.to_wkb(geoms), geometry_type


def _ogr_array(s: pd.Series, dtype: str, *, shapefile: bool):
    """(values, mask) for pyogrio.raw.write."""
    mask = s.isna().to_numpy()
    if dtype == "str":
        return s.to_numpy(dtype=object), None
    if dtype in ("int", "bool"):
        data = s.astype("Int64").to_numpy(dtype="int64", na_value=0)
        if dtype == "bool" and not shapefile:
            return data.astype(bool), mask
        if shapefile and (len(data) == 0 or np.abs(data).max() < 2**31 - 1):
            data = data.astype("int32")  # N(10) integer rather than N(18) Integer64
        return data, mask
    if dtype == "float":
        return s.to_numpy(dtype="float64", na_value=np.nan), None
    if dtype == "date":
        return s.to_numpy().astype("datetime64[D]"), None
    if shapefile:  # DBF has no date-time type: keep the time as ISO text
        text = s.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return text.astype(object).where(s.notna(), None).to_numpy(dtype=object), None
    return s.to_numpy().astype("datetime64[ms]"), None


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _write_ogr(path: Path, df: pd.DataFrame, fields: list[_Field], *, layer: str, driver: str,
               crs, encoding: _Encoding | None = None, layer_options=None, spatial=True,
               default_type: str = "Unknown") -> None:
    from pyogrio.raw import write

    shapefile = driver == "ESRI Shapefile"
    data, masks = [], []
    for f in fields:
        values, mask = _ogr_array(df[f.name], f.dtype, shapefile=shapefile)
        data.append(values)
        masks.append(mask)
    if spatial:
        wkb, geometry_type = _geometry_for_ogr(np.asarray(df.geometry.values, dtype=object),
                                               shapefile=shapefile, default=default_type)
    else:
        wkb, geometry_type = None, None
    kwargs = {"encoding": encoding.gdal} if encoding is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write(str(path), wkb, data, [f.field if shapefile else f.name for f in fields],
              field_mask=masks, layer=layer, driver=driver, geometry_type=geometry_type,
              crs=_crs_text(crs) if spatial else None, layer_options=layer_options, **kwargs)
    for w in caught:
        message = str(w.message)
        if "converted correctly" in message:  # GDAL's iconv dropped characters
            raise EncodingError(f"{path.name}: GDAL could not convert some text to "
                                f"{encoding.name if encoding else 'UTF-8'}: {message}")
        warnings.warn(f"{path.name}: {message}", w.category, stacklevel=3)


def _write_gpkg(path: Path, prepared, plans) -> dict[str, int]:
    counts = {}
    for kind, (df, _) in prepared.items():
        zh, en = LAYER_NAMES[kind]
        _write_ogr(path, df, plans[kind], layer=kind, driver="GPKG", crs=df.crs,
                   layer_options={"IDENTIFIER": f"{zh} {kind}", "DESCRIPTION": en})
        counts[kind] = len(df)
    return counts


def _families(geoms: np.ndarray) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    names = np.array(["point", "line", "line", "polygon", "point", "line", "polygon", ""],
                     dtype=object)
    return np.where(types >= 0, names[np.clip(types, 0, 7)], "")


def _shortened(text: str, codec: str, note: str, limit: int = _SHP_MAX_BYTES) -> str:
    """``text`` itself when it fits ``limit`` bytes in ``codec``, else its longest start
    (cut between characters) followed by ``note``, together at most ``limit`` bytes."""
    if len(text.encode(codec)) <= limit:
        return text
    room = limit - len(note.encode(codec))
    kept, used = [], 0
    for ch in text:
        size = len(ch.encode(codec))
        if used + size > room:
            break
        kept.append(ch)
        used += size
    return "".join(kept).rstrip(" ;,；，") + note


def _full_text_note(kind: str, f: _Field, formats, lang: str) -> str:
    """What a shortened shapefile text ends with: where its full text is."""
    if "xlsx" in formats and kind in _SHEETS:
        sheet = _SHEETS[kind][0 if lang == "zh" else 1]
        header = f.col.header_for(lang)
        return (f"…（全文见工作簿 {sheet}/{header}）" if lang == "zh"
                else f"… (full text: workbook, sheet {sheet}, column {header})")
    if "gpkg" in formats:
        return (f"…（全文见 {GPKG_NAME} 图层 {kind} 列 {f.name}）" if lang == "zh"
                else f"… (full text: {GPKG_NAME}, layer {kind}, column {f.name})")
    return ("…（已截断；导出 xlsx 或 gpkg 可得全文）" if lang == "zh"
            else "… (cut; export xlsx or gpkg for the full text)")


def _shapefile_text(kind: str, df: pd.DataFrame, fields: list[_Field], enc: _Encoding,
                    formats, lang: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The layer with spatialreno's own long texts (:data:`GENERATED_TEXT`) shortened to
    fit a shapefile, and how many cells of each column were shortened."""
    generated = GENERATED_TEXT.get(kind, frozenset())
    counts: dict[str, int] = {}
    out = df
    for f in fields:
        if f.name not in generated or f.dtype != "str":
            continue
        note = _full_text_note(kind, f, formats, lang)
        short = df[f.name].map(functools.partial(_shortened, codec=enc.python, note=note),
                               na_action="ignore")
        changed = int((short.notna() & (short != df[f.name])).sum())
        if changed:
            if out is df:
                out = df.copy()
            out[f.name] = short.astype(object)
            counts[f.name] = changed
    return out, counts


def _write_shapefiles(shp_dir: Path, kind: str, df: pd.DataFrame, fields: list[_Field],
                      enc: _Encoding, *, formats=("shp",), lang: str = "zh") -> list[dict]:
    """One shapefile per geometry family present (normally one); returns manifest entries.
    Generated text over 254 bytes is shortened (the entries count it under ``shortened``)."""
    df, shortened = _shapefile_text(kind, df, fields, enc, formats, lang)
    fam = _families(np.asarray(df.geometry.values, dtype=object))
    present = [f for f in _FAMILY_ORDER if (fam == f).any()]
    if not present:
        present = [_FAMILY[schema.GEOMETRY_TYPES[kind][0]]]
    fam = np.where(fam == "", present[0], fam)  # null geometries go with the main family
    entries = []
    for family in present:
        stem = kind if len(present) == 1 else f"{kind}_{family}"
        part = df[fam == family]
        path = shp_dir / f"{stem}.shp"
        _write_ogr(path, part, fields, layer=stem, driver="ESRI Shapefile", crs=df.crs,
                   encoding=enc, default_type=_SHP_TYPE[family])
        path.with_suffix(".cpg").write_text(enc.cpg, encoding="ascii")
        if enc.ldid:
            with open(path.with_suffix(".dbf"), "r+b") as fh:
                fh.seek(29)
                fh.write(bytes([enc.ldid]))
        entries.append({
            "path": f"{SHP_DIR}/{stem}.shp", "format": "shp", "layer": kind, "rows": len(part),
            "geometry": family,
            "bytes": sum(p.stat().st_size for p in shp_dir.glob(f"{stem}.*")),
        })
        if shortened:
            entries[-1]["shortened"] = dict(shortened)
    return entries


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------
def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _number_format(f: _Field) -> str | None:
    if f.dtype == "date":
        return "yyyy-mm-dd"
    if f.dtype == "datetime":
        return "yyyy-mm-dd hh:mm"
    if f.dtype == "int":
        return "0"
    if f.dtype != "float":
        return None
    if f.col.unit.startswith("万元"):
        return "0.00"
    if f.col.unit in ("㎡", "m"):
        return "0.0"
    return "0" if f.col.decimals == 0 else "0." + "0" * f.col.decimals


def _cell_values(s: pd.Series, f: _Field, lang: str) -> list:
    """Python values for openpyxl: labels for coded values, 是/否 for booleans, None for NA."""
    if f.col.vocab:
        return [None if v is None else schema.value_label(f.col.vocab, v, lang) for v in s]
    if f.dtype == "bool":
        no, yes = _BOOL_LABEL[lang]
        return [None if pd.isna(v) else (yes if v else no) for v in s]
    if f.dtype == "int":
        return [None if pd.isna(v) else int(v) for v in s]
    if f.dtype == "float":
        return [None if pd.isna(v) else float(v) for v in s]
    if f.dtype == "date":
        return [None if pd.isna(v) else v.date() for v in s]
    if f.dtype == "datetime":
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    return list(s)


def _shown(value, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and number_format and number_format.startswith("0"):
        decimals = len(number_format.split(".")[1]) if "." in number_format else 0
        return f"{value:.{decimals}f}"
    if isinstance(value, dt.date):
        return value.isoformat()[:16]
    return str(value)


class _IllegalText(Exception):
    """A text holds a control character that XML, hence a workbook, cannot store."""

    def __init__(self, position: int, value: str):
        super().__init__(position, value)
        self.position, self.value = position, value


def _illegal_text_error(kind: str, title: str, df: pd.DataFrame, fields: list[_Field],
                        row_no: int, exc: _IllegalText) -> EncodingError:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    found = ILLEGAL_CHARACTERS_RE.search(exc.value)
    char = f"U+{ord(found.group()):04X}" if found else "a control character"
    f = fields[exc.position]
    if row_no == 0:
        where = f"{kind or title}: the column name {f.name!r}"
    elif kind:
        id_col = schema.ID_COLUMNS[kind]
        where = f"{kind}: {id_col} {df[id_col].iloc[row_no - 1]!r}, column {f.name!r} ({f.col.zh})"
    else:
        where = f"sheet {title!r}, row {row_no + 1}, column {f.name!r}"
    return EncodingError(
        f"{where}: the control character {char} in {exc.value!r} cannot be stored in an Excel "
        "workbook (XML forbids it). Remove it from the data, or leave the workbook out with "
        "formats=('gpkg', 'shp')."
    )


def _xl_row(ws, values) -> list:
    """A row for ``ws.append``: every text a string cell (openpyxl would make ``=...`` a
    formula and ``#N/A`` an error), neutralised (``=1+1`` → ``'=1+1``); numbers, dates and
    empty cells as they are. Raises :class:`_IllegalText` for a text XML cannot hold."""
    from openpyxl.cell.cell import Cell
    from openpyxl.utils.exceptions import IllegalCharacterError

    row = []
    for position, value in enumerate(values):
        if isinstance(value, str):
            try:
                cell = Cell(ws, value=neutralise(value))
            except IllegalCharacterError:
                raise _IllegalText(position, value) from None
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row


def _write_sheet(wb, title: str, kind: str, df: pd.DataFrame, fields: list[_Field], lang: str,
                 *, totals: bool) -> int:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    headers = [f.col.header_for(lang) for f in fields]
    columns = [_cell_values(df[f.name], f, lang) for f in fields]
    formats = [_number_format(f) for f in fields]
    row_no = 0  # 0: the header row
    try:
        ws.append(_xl_row(ws, headers))
        for row_no, row in enumerate(zip(*columns, strict=True), start=1):  # noqa: B007
            ws.append(_xl_row(ws, row))
    except _IllegalText as exc:
        raise _illegal_text_error(kind, title, df, fields, row_no, exc) from None
    n = len(df)
    total_row = None
    if totals:
        total_row = [None] * len(fields)
        total_row[0] = _TOTAL_LABEL[lang]
        for j, f in enumerate(fields):
            if j and f.col.additive and f.dtype in ("int", "float"):
                value = df[f.name].sum(skipna=True)
                total_row[j] = int(value) if f.dtype == "int" else float(value)
        ws.append(_xl_row(ws, total_row))
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="808080")
    for cell in ws[1]:
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
    last_row = ws.max_row
    for j, fmt in enumerate(formats, start=1):
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=2, max_row=last_row, min_col=j, max_col=j):
            cell.number_format = fmt
    if total_row is not None:
        for cell in ws[last_row]:
            cell.font = head_font
            cell.border = Border(top=thin)
    for j, (header, values, fmt) in enumerate(zip(headers, columns, formats, strict=True), 1):
        longest = max([_display_width(header)]
                      + [_display_width(_shown(v, fmt)) for v in values]
                      + ([_display_width(_shown(total_row[j - 1], fmt))] if total_row else []))
        ws.column_dimensions[get_column_letter(j)].width = min(max(longest + 2, 6), 60)
    ws.freeze_panes = "B2"
    if fields:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(fields))}{n + 1}"
    return n


def _write_xlsx(path: Path, prepared, plans, dictionary: pd.DataFrame, lang: str) -> dict:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    sheets: dict[str, int] = {}
    idx = 0 if lang == "zh" else 1
    for kind, titles in _SHEETS.items():
        if kind in prepared:
            df, _ = prepared[kind]
            sheets[titles[idx]] = _write_sheet(wb, titles[idx], kind, df, plans[kind], lang,
                                               totals=kind in _TOTALS_ON)
    dict_fields = [
        _Field(name, name, "str", schema.Column(name, "", "str", zh, "", "", en=en), False)
        for name, zh, en in _DICTIONARY_HEADERS
    ]
    sheets[_DICT_SHEET[idx]] = _write_sheet(wb, _DICT_SHEET[idx], "", dictionary, dict_fields,
                                            lang, totals=False)
    wb.save(path)
    return sheets


# --------------------------------------------------------------------------------------
# dictionary, manifest
# --------------------------------------------------------------------------------------
#: (dictionary column, Chinese header, English header) of 字段说明.csv and the 字段说明 sheet
_DICTIONARY_HEADERS = (
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


def _dictionary(plans, shp_files: dict[str, list[str]], formats, lang: str) -> pd.DataFrame:
    rows = []
    for kind, fields in plans.items():
        zh, en = LAYER_NAMES[kind]
        for row in _dictionary_rows(kind, fields, lang):
            row["layer"] = f"{zh} ({kind})" if lang == "zh" else f"{en} ({kind})"
            row["file"] = "; ".join(shp_files.get(kind, [])) or (
                GPKG_NAME if "gpkg" in formats else "")
            rows.append(row)
    return pd.DataFrame(rows, columns=[c for c, _, _ in _DICTIONARY_HEADERS])


def _vocabulary_table(lang: str) -> pd.DataFrame:
    rows = [(vocab, code, zh, en) for vocab, entries in schema.VOCABULARIES.items()
            for code, (zh, en, _) in entries.items()]
    headers = (["代码表", "代码", "中文", "英文"] if lang == "zh"
               else ["Vocabulary", "Code", "Chinese", "English"])
    return pd.DataFrame(rows, columns=headers)


def _localised(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    idx = 1 if lang == "zh" else 2
    return df.rename(columns={h[0]: h[idx] for h in _DICTIONARY_HEADERS})


def _write_tables_gpkg(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, table in tables.items():
        fields = [_Field(c, c, "str", schema.Column(c, "", "str", c, "", ""), False)
                  for c in table.columns]
        _write_ogr(path, table.astype(object).where(table.notna(), None), fields, layer=name,
                   driver="GPKG", crs=None, spatial=False)


def read_manifest(path: str | os.PathLike) -> dict:
    """The ``manifest.json`` of a bundle folder (files, row counts, CRS, encoding, fields)."""
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: not a spatialreno bundle (no {MANIFEST_NAME})") from None
    if data.get("format") != _BUNDLE_FORMAT:
        raise ExportError(f"{manifest}: not a spatialreno bundle manifest")
    return data


# --------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------
def export_bundle(
    layers_or_plan,
    out_dir: str | os.PathLike,
    *,
    formats: tuple[Format, ...] | list[Format] = ("gpkg", "shp", "xlsx"),
    encoding: str = "GBK",
    crs="EPSG:4547",
    field_names: FieldNames = "code",
    overwrite: bool = False,
    mask_personal: bool = True,
    lang: Lang = "zh",
    inputs=(),
    interface: Interface = "python",
) -> Path:
    """Write the GIS and tender bundle of a plan: GeoPackage, shapefiles, Excel workbook.

    Parameters
    ----------
    layers_or_plan : dict, or an object with ``export_layers()`` or ``layers()``
        ``{kind: GeoDataFrame}`` with kinds among ``packages``, ``compounds``, ``illegal``,
        ``gas``, ``barriers``, ``admin``, ``roads`` (absent or ``None`` layers are skipped).
        Duck typing: any object whose ``export_layers()`` method (a
        :class:`~spatialreno.plan.Plan`: compounds with overlays and costs, packages, ...)
        or else ``layers()`` method (a :class:`~spatialreno.sample.District`) returns such a
        dict. Each layer is indexed by its id (``schema.ID_COLUMNS``; a column of that name
        is used instead when present) and has a CRS. Columns outside the schema are
        exported too, with a generated ≤10-byte code recorded in the data dictionary.
    out_dir : path
        The bundle folder to create. Its parent is created if needed.
    formats : tuple of {"gpkg", "shp", "xlsx"}, default ("gpkg", "shp", "xlsx")
        What to write. The manifest is always written.
    encoding : {"GBK", "GB18030", "UTF-8"}, default "GBK"
        Shapefile text encoding (``.cpg`` ``936`` / ``GB18030`` / ``UTF-8``). GBK is what
        Chinese city GIS offices and ArcGIS/SuperMap on Chinese Windows expect; GB18030 also
        holds rare characters (䶮, 𠀀) that GBK lacks; UTF-8 is the ArcGIS Pro default but
        takes 3 bytes per Chinese character. The GeoPackage and workbook are always UTF-8.
    crs : CRS or None, default "EPSG:4547"
        Every layer is reprojected to it (None keeps each layer's own CRS).
    field_names : {"code", "chinese"}, default "code"
        Shapefile field names: the schema's ≤10-byte ASCII codes (``hh_cnt``), or the
        ≤5-character Chinese short names (``户数``; GBK/GB18030 only).
    overwrite : bool, default False
        Replace an existing bundle at ``out_dir``: only the entries its ``manifest.json``
        lists (files spatialreno wrote) are replaced, any other file there is kept. The old
        entries are renamed away, the new ones renamed in, and only then the old ones
        deleted (put back if a rename fails).
    mask_personal : bool, default True
        Mask personal data (``party`` and columns like ID card / phone / person's name):
        ``张三`` → ``张*``. False writes them as they are (for the enforcement office only).
    lang : {"zh", "en"}, default "zh"
        Language of the workbook (sheet names, headers, coded values) and the dictionary.
    inputs : iterable of paths, optional
        Files the bundle is made from; ``out_dir`` may not be one of them, nor contain one
        in an entry it would replace.
    interface : {"python", "cli"}, default "python"
        Whether refusal messages name Python arguments or command-line options.

    Returns
    -------
    Path
        ``out_dir``. Its ``manifest.json`` (:func:`read_manifest`) lists every file with
        its row count, the CRS, the encoding and the field map.

    Raises
    ------
    EncodingError
        A text the shapefile encoding cannot hold or a text of the data that is over 254
        bytes (names layer, id and column, and the encoding to use), or Chinese field
        names with UTF-8. spatialreno's own long texts are shortened instead.
    OutputFolderError (an ExportError)
        ``out_dir`` holds a bundle and ``overwrite`` is False, or holds files spatialreno
        did not write, or is an input; raised before anything is written.
    ExportError
        Writing failed; nothing partial is left and an existing bundle is kept.
    CRSError, SchemaError
        A layer without CRS, an unknown layer kind, or a layer that is not a GeoDataFrame.

    See Also
    --------
    read_bundle : read a bundle back to canonical layers.
    field_table : the data dictionary without writing anything.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.export import export_bundle, read_bundle
    >>> compounds = gpd.GeoDataFrame(
    ...     {"name": ["钢花村小区", "建设新村"], "households": [320, 210]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...     index=pd.Index(["C1", "C2"], name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> out = export_bundle({"compounds": compounds}, Path(tempfile.mkdtemp()) / "bundle")
    >>> sorted(p.name for p in (out / "shp").iterdir())[:5]
    ['compounds.cpg', 'compounds.dbf', 'compounds.prj', 'compounds.shp', 'compounds.shx']
    >>> (out / "shp" / "compounds.cpg").read_text()
    '936'
    >>> back = read_bundle(out, source="shp")["compounds"]
    >>> back.loc["C1", "name"], int(back.loc["C2", "households"])
    ('钢花村小区', 210)
    """
    formats = tuple(formats)
    bad = [f for f in formats if f not in _FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {_FORMATS}, got {formats!r}")
    if field_names not in ("code", "chinese"):
        raise ValueError(f"field_names must be 'code' or 'chinese', got {field_names!r}")
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    enc = _resolve_encoding(encoding)
    if field_names == "chinese" and "shp" in formats and not enc.two_byte_han:
        raise EncodingError(
            f"field_names='chinese' needs a 2-byte encoding: in {enc.name} a Chinese character "
            "takes 3 bytes, so a 5-character name (10 bytes in GBK) is cut mid-character and "
            "the shapefile cannot be read back. Use encoding='GBK' or encoding='GB18030', or "
            "field_names='code'."
        )
    target_crs = CRS.from_user_input(crs) if crs is not None else None
    expected = [name for fmt, name in (("gpkg", GPKG_NAME), ("shp", SHP_DIR), ("xlsx", XLSX_NAME))
                if fmt in formats]
    folder = OutputFolder(out_dir, overwrite=overwrite, kind="bundle", expected=expected,
                          inputs=inputs, interface=interface).check()

    # everything that can be refused is refused before a byte is written
    layers = _collect_layers(layers_or_plan)
    prepared = {kind: _prepare(gdf, kind, target_crs, mask_personal) for kind, gdf in layers.items()}
    plans = {}
    for kind, (df, _) in prepared.items():
        plans[kind] = _plan_fields(kind, df, field_names)
        for f in plans[kind]:
            df[f.name] = _normalise(df[f.name], f.dtype)
        if "shp" in formats:
            if len(plans[kind]) > 255:
                raise ExportError(f"{kind}: {len(plans[kind])} columns; a shapefile holds 255")
            _check_text(kind, df, plans[kind], enc, field_names)

    with folder as tmp:
        folder.manifest = _write_all(tmp, prepared, plans, formats=formats, enc=enc,
                                     crs=target_crs, field_names=field_names,
                                     mask_personal=mask_personal, lang=lang)
    return Path(out_dir)


def _write_all(tmp: Path, prepared, plans, *, formats, enc: _Encoding, crs, field_names: str,
               mask_personal: bool, lang: str) -> dict:
    import pyogrio

    from . import __version__

    files: list[dict] = []
    shp_files: dict[str, list[str]] = {}
    try:
        if "shp" in formats:
            shp_dir = tmp / SHP_DIR
            shp_dir.mkdir()
            for kind, (df, _) in prepared.items():
                entries = _write_shapefiles(shp_dir, kind, df, plans[kind], enc,
                                            formats=formats, lang=lang)
                shp_files[kind] = [Path(e["path"]).name for e in entries]
                files.extend(entries)
        dictionary = _dictionary(plans, shp_files, formats, lang)
        vocabulary = _vocabulary_table(lang)
        if "shp" in formats:
            for name, table in ((DICTIONARY_CSV, _localised(dictionary, lang)),
                                (VOCABULARY_CSV, vocabulary)):
                write_csv(table, tmp / SHP_DIR / name)  # neutralised for spreadsheets
                files.append({"path": f"{SHP_DIR}/{name}", "format": "csv", "rows": len(table),
                              "bytes": (tmp / SHP_DIR / name).stat().st_size})
        if "gpkg" in formats:
            counts = _write_gpkg(tmp / GPKG_NAME, prepared, plans)
            _write_tables_gpkg(tmp / GPKG_NAME, {"data_dictionary": dictionary,
                                                 "vocabulary": vocabulary})
            files.insert(0, {"path": GPKG_NAME, "format": "gpkg", "layers": counts,
                             "tables": ["data_dictionary", "vocabulary"],
                             "bytes": (tmp / GPKG_NAME).stat().st_size})
        if "xlsx" in formats:
            sheets = _write_xlsx(tmp / XLSX_NAME, prepared, plans, dictionary, lang)
            files.append({"path": XLSX_NAME, "format": "xlsx", "sheets": sheets,
                          "bytes": (tmp / XLSX_NAME).stat().st_size})
    except SpatialRenoError:
        raise
    except Exception as exc:
        raise ExportError(f"writing the bundle failed: {type(exc).__name__}: {exc}") from exc
    gdal = pyogrio.__gdal_version__
    return {
        "format": _BUNDLE_FORMAT,
        "version": 1,
        "spatialreno": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gdal": pyogrio.__gdal_version_string__,
        "crs": _crs_text(crs) if crs is not None else None,
        "encoding": enc.name,
        "cpg": enc.cpg,
        "field_names": field_names,
        "mask_personal": mask_personal,
        "lang": lang,
        "shapefile_aliases": (
            "not written: pyogrio cannot set field aliases" if gdal >= (3, 13, 0)
            else f"not written: GDAL {pyogrio.__gdal_version_string__} < 3.13 has no .shp.xml aliases"
        ),
        "layers": {
            kind: {
                "rows": len(df),
                "id": schema.ID_COLUMNS[kind],
                "crs": _crs_text(df.crs),
                "masked": masked,
                "columns": [{"name": f.name, "field": f.field, "dtype": f.dtype}
                            for f in plans[kind]],
            }
            for kind, (df, masked) in prepared.items()
        },
        "files": files,
    }


def read_bundle(
    path: str | os.PathLike,
    *,
    source: Literal["gpkg", "shp"] | None = None,
    engine: Literal["pyogrio", "fiona"] = "pyogrio",
) -> dict[str, gpd.GeoDataFrame]:
    """Read a bundle written by :func:`export_bundle` back into canonical layers.

    Parameters
    ----------
    path : path
        The bundle folder (holding ``manifest.json``).
    source : {"gpkg", "shp"} or None
        Which copy to read; default the GeoPackage when present, else the shapefiles.
        Shapefile fields are mapped back to canonical names through the manifest (so
        generated codes and Chinese field names round-trip), split layers are joined.
    engine : {"pyogrio", "fiona"}, default "pyogrio"

    Returns
    -------
    dict
        ``{kind: GeoDataFrame}`` indexed by each layer's id, columns in export order,
        integers as ``Int64``, booleans as ``boolean``, dates as ``datetime64``.
    """
    path = Path(path)
    manifest = read_manifest(path)
    formats = {f["format"] for f in manifest["files"]}
    source = source or ("gpkg" if "gpkg" in formats else "shp")
    if source not in formats:
        raise ExportError(f"{path}: the bundle has no {source} files (it has {sorted(formats)})")
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind, info in manifest["layers"].items():
        columns = info["columns"]
        if source == "gpkg":
            frames = [gpd.read_file(path / GPKG_NAME, layer=kind, engine=engine)]
        else:
            frames = [gpd.read_file(path / f["path"], engine=engine) for f in manifest["files"]
                      if f["format"] == "shp" and f["layer"] == kind]
            rename = {c["field"]: c["name"] for c in columns}
            frames = [fr.rename(columns=rename) for fr in frames]
        gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=frames[0].crs)
        for c in columns:
            gdf[c["name"]] = _restore(gdf[c["name"]], c["dtype"])
        id_col = info["id"]
        gdf = gdf.set_index(id_col)[[c["name"] for c in columns if c["name"] != id_col]
                                    + ["geometry"]]
        out[kind] = gdf
    return out


def _restore(s: pd.Series, dtype: str) -> pd.Series:
    if dtype in ("int", "bool"):
        s = pd.to_numeric(s).astype("Int64")
        return s.astype("boolean") if dtype == "bool" else s
    if dtype == "float":
        return pd.to_numeric(s).astype("float64")
    if dtype in ("date", "datetime"):
        return pd.to_datetime(s)
    return s.astype(object).where(s.notna(), None)
