"""The field model of an export: each column's dtype, Chinese and English names, shapefile
field name (≤10 bytes), and each column converted to the dtype the writers expect.

Columns in the schema take its names (``households`` → ``hh_cnt`` / 户数); columns outside
it get a generated ASCII code and, where one can be derived, a Chinese name
(``illegal_m2_rooftop`` → ``ill_m2_rft``, 违建面积-楼顶加建).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace

import pandas as pd

from .. import schema
from ..errors import ExportError
from .layout import FIELD_NAME_MAX_BYTES

__all__ = ["Field", "as_text", "infer_dtype", "normalise", "plan_fields", "text_field"]

#: the longest generated shapefile field code, in bytes (dBASE's field-name width)
_CODE_MAX = FIELD_NAME_MAX_BYTES


@dataclass(frozen=True)
class Field:
    name: str  # column name in the layer (canonical when in the schema)
    field: str  # shapefile field name
    dtype: str  # "str" | "int" | "float" | "bool" | "date" | "datetime"
    col: schema.Column  # schema column, or a described one for columns outside the schema
    in_schema: bool


def text_field(name: str, zh: str | None = None, en: str = "") -> Field:
    """A text column outside any layer (a table of the GeoPackage, the dictionary sheet)."""
    column = schema.Column(name, "", "str", name if zh is None else zh, "", "", en=en)
    return Field(name, name, "str", column, False)


def as_text(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def infer_dtype(s: pd.Series, want: str | None) -> str:
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


def normalise(s: pd.Series, dtype: str) -> pd.Series:
    """The column as the dtype the writers expect (object str / Int64 / float64 / boolean /
    datetime64)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if dtype == "str":
        obj = s.astype(object)
        return obj.where(s.notna(), None).map(lambda v: None if v is None else as_text(v))
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


def _vocabulary_match(tokens: list[str]) -> tuple[str, str, int, int] | None:
    """The coded value named inside a column name's tokens, as ``(vocabulary, code, start,
    length)``: the longest code, then one of the hinted vocabulary, then the first
    vocabulary; a base must come before it (``gas_mat_steel_m`` → pipe_material/steel)."""
    hinted = [v for hint, v in _VOCAB_HINTS if hint & set(tokens)]
    order = list(schema.VOCABULARIES)
    best = None  # (score, vocab, code, start, length)
    for vocab, entries in schema.VOCABULARIES.items():
        for code in entries:
            ct = code.split("_")
            for i in range(1, len(tokens) - len(ct) + 1):
                if tokens[i:i + len(ct)] == ct:
                    score = (len(ct), vocab in hinted, -order.index(vocab))
                    if best is None or score > best[0]:
                        best = (score, vocab, code, i, len(ct))
    return None if best is None else best[1:]


def _base_column(kind: str, base_tokens: list[str]) -> schema.Column | None:
    """The schema column a column name is a breakdown of (of this layer, else compounds)."""
    for candidate in ("_".join(base_tokens),
                      "_".join(t for t in base_tokens if t not in _BREAKDOWN_TOKENS)):
        for layer in dict.fromkeys((kind, "compounds")):
            canon = schema.canonical_name(layer, candidate)
            if canon is not None:
                return schema.column(layer, canon)
    return None


def _describe_extra(kind: str, name: str, dtype: str) -> schema.Column:
    """A Column describing a column outside the schema, e.g. ``illegal_m2_rooftop`` →
    违建面积-楼顶加建 (㎡), ``gas_mat_steel_m`` → 燃气管长-钢 (m); the English name when no
    Chinese one can be derived."""
    text = str(name)
    tokens = text.lower().split("_")
    match = _vocabulary_match(tokens)
    base_tokens, label = tokens, None
    if match is not None:
        vocab, code, i, n = match
        base_tokens = tokens[:i] + tokens[i + n:]
        label = schema.VOCABULARIES[vocab][code][:2]
    base = _base_column(kind, base_tokens)
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
    while len("_".join(tokens)) > _CODE_MAX:
        # the longest word (the last of equals) that still has a vowel after its first letter
        cands = [i for i, t in enumerate(tokens) if len(t) > 3 and re.search("[aeiou]", t[1:])]
        if not cands:
            break
        i = max(cands, key=lambda k: (len(tokens[k]), k))
        tok = tokens[i]
        j = max(k for k in range(1, len(tok)) if tok[k] in "aeiou")
        tokens[i] = tok[:j] + tok[j + 1:]
    while len("_".join(tokens)) > _CODE_MAX and any(len(t) > 3 for t in tokens):
        i = max(range(len(tokens)), key=lambda k: (len(tokens[k]), k))
        tokens[i] = tokens[i][:-1]
    code = "_".join(tokens)
    if len(code) > _CODE_MAX:
        code = "".join(tokens)[:_CODE_MAX]
    return code if code[0].isalpha() else ("f" + code)[:_CODE_MAX]


def _unique_code(code: str, used: set[str]) -> str:
    """``code`` itself if free, else ``code[:8]_1`` ... ``code[:7]_10`` ... (GDAL's style)."""
    if code.lower() not in used and schema._norm(code) not in used:
        return code
    for n in range(1, 1000):
        suffix = f"_{n}"
        candidate = code[: _CODE_MAX - len(suffix)].rstrip("_") + suffix
        if candidate.lower() not in used and schema._norm(candidate) not in used:
            return candidate
    raise ExportError(f"cannot make a unique shapefile field name from {code!r}")


def plan_fields(kind: str, df: pd.DataFrame, field_names: str) -> list[Field]:
    """Decide dtype, description and shapefile field name of every column of a layer.

    Schema columns take the schema's code (or Chinese short name); the others get a
    generated code that collides neither with them nor with any name or alias reading
    accepts (so a generated code never reads back as another column).
    """
    names = [c for c in df.columns if c != "geometry"]
    used = set(schema.alias_map(kind))
    fields = _schema_fields(kind, df, names, field_names, used)
    extras = _extra_fields(kind, df, names, field_names, used)
    by_name = {f.name: f for f in fields} | {f.name: f for f in extras}
    return [by_name[n] for n in names]


def _schema_fields(kind: str, df: pd.DataFrame, names: list[str], field_names: str,
                   used: set[str]) -> list[Field]:
    """The fields of the schema's columns; their field names are added to ``used``."""
    cols = schema.columns(kind)
    fields = []
    for name in names:
        col = cols.get(name)
        if col is None:
            continue
        field = col.zh_short if field_names == "chinese" else col.code
        fields.append(Field(name, field, infer_dtype(df[name], col.dtype), col, True))
        used.add(field.lower())
    return fields


def _extra_fields(kind: str, df: pd.DataFrame, names: list[str], field_names: str,
                  used: set[str]) -> list[Field]:
    """The fields of columns outside the schema, with generated unique codes (and a Chinese
    column name of ≤5 characters as its own short name); their names are added to ``used``."""
    cols = schema.columns(kind)
    fields = []
    for name in names:
        if name in cols:
            continue
        dtype = infer_dtype(df[name], None)
        code = _unique_code(_ascii_code(name), used)
        used.add(code.lower())
        short = ""
        if not str(name).isascii() and len(str(name)) <= 5 and _unique_code(name, used) == name:
            short = str(name)
            used.add(short.lower())
        col = replace(_describe_extra(kind, name, dtype), code=code, zh_short=short)
        field = short if field_names == "chinese" and short else code
        fields.append(Field(name, field, dtype, col, False))
    return fields
