"""Shapefile text encodings, and the checks that text fits one before GDAL sees it.

A shapefile's text is written in one encoding that its ``.cpg`` names (and, for GBK, the
DBF language-driver byte). GDAL drops a character the encoding cannot hold and cuts a
text longer than 254 bytes, both silently, so :func:`check_text` refuses such text first,
naming layer, id and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .. import schema
from ..errors import EncodingError
from .fields import Field
from .layout import FIELD_NAME_MAX_BYTES, SHP_MAX_BYTES

__all__ = ["ShapefileEncoding", "ENCODINGS", "GENERATED_TEXT", "resolve_encoding",
           "check_text"]

#: Text columns that spatialreno writes itself (warnings, notes), not user data. The
#: GeoPackage and the workbook get them in full; a shapefile gets them shortened to
#: 254 bytes (cut on a character boundary) with a note saying where the full text is.
#: A user's text over 254 bytes is refused instead (the planner decides how to shorten it).
GENERATED_TEXT: dict[str, frozenset[str]] = {
    "packages": frozenset({"split_warning", "phase_reason"}),
    "gas": frozenset({"aged_rule"}),
}
_ENCODING_ALIASES = {
    "gbk": "GBK", "cp936": "GBK", "936": "GBK", "ms936": "GBK", "windows936": "GBK",
    "gb18030": "GB18030", "54936": "GB18030",
    "utf8": "UTF-8", "65001": "UTF-8",
}


@dataclass(frozen=True)
class ShapefileEncoding:
    """How a shapefile's text is encoded, and how each program is told."""

    name: str  # what the user passes and the manifest records
    python: str  # Python codec used for the checks
    gdal: str  # what GDAL recodes to
    cpg: str  # what the .cpg says
    ldid: int  # DBF language-driver id written at byte 29 (0 = none)
    two_byte_han: bool  # a Han character is 2 bytes (BMP), so 5 fit a field name


#: Supported shapefile encodings (keys are what ``encoding=`` accepts, case-insensitive).
ENCODINGS: dict[str, ShapefileEncoding] = {
    "GBK": ShapefileEncoding("GBK", "gbk", "CP936", "936", 0x4D, True),
    "GB18030": ShapefileEncoding("GB18030", "gb18030", "GB18030", "GB18030", 0, True),
    "UTF-8": ShapefileEncoding("UTF-8", "utf-8", "UTF-8", "UTF-8", 0, False),
}


def resolve_encoding(encoding: str | ShapefileEncoding) -> ShapefileEncoding:
    """The supported encoding ``encoding`` names (``"gbk"``, ``"cp936"``, ``"936"`` → GBK).

    Examples
    --------
    >>> from spatialreno.export.encoding import resolve_encoding
    >>> resolve_encoding("cp936").cpg, resolve_encoding("utf8").name
    ('936', 'UTF-8')
    """
    if isinstance(encoding, ShapefileEncoding):
        return encoding
    key = re.sub(r"[\s_\-]", "", str(encoding)).lower()
    name = _ENCODING_ALIASES.get(key)
    if name is None:
        raise ValueError(
            f"encoding must be one of {', '.join(ENCODINGS)} (GBK is what Chinese city GIS "
            f"offices and ArcGIS on Chinese Windows expect), got {encoding!r}"
        )
    return ENCODINGS[name]


def check_text(kind: str, df: pd.DataFrame, fields: list[Field], enc: ShapefileEncoding,
               field_names: str) -> None:
    """Raise EncodingError for text a shapefile in ``enc`` would lose or cut: a Chinese
    field name over 10 bytes, a character ``enc`` cannot hold, or a text of the data over
    254 bytes (spatialreno's own texts, :data:`GENERATED_TEXT`, are shortened instead)."""
    for f in fields:
        if field_names == "chinese":
            _check_field_name(kind, f, enc)
        if f.dtype == "str":
            _check_values(kind, df, f, enc)


def _check_field_name(kind: str, f: Field, enc: ShapefileEncoding) -> None:
    try:
        size: int | None = len(f.field.encode(enc.python))
    except UnicodeEncodeError:
        size = None
    if size is None or size > FIELD_NAME_MAX_BYTES:
        what = "not encodable" if size is None else f"{size} bytes"
        raise EncodingError(
            f"{kind}: the field name {f.field!r} of column {f.name!r} is {what} in {enc.name}; "
            f"a shapefile field name holds {FIELD_NAME_MAX_BYTES}. Use field_names='code'."
        )


def _check_values(kind: str, df: pd.DataFrame, f: Field, enc: ShapefileEncoding) -> None:
    """Every distinct text of one column: encodable in ``enc``, and at most 254 bytes unless
    spatialreno wrote it."""
    s = df[f.name]
    bad: list[tuple[str, UnicodeEncodeError]] = []
    long: list[tuple[str, int]] = []
    generated = GENERATED_TEXT.get(kind, frozenset())
    for value in s.dropna().unique():
        try:
            size = len(value.encode(enc.python))
        except UnicodeEncodeError as exc:
            bad.append((value, exc))
            continue
        if size > SHP_MAX_BYTES and f.name not in generated:
            long.append((value, size))
    if bad:
        raise _unencodable_error(kind, df, f, enc, bad)
    if long:
        raise _too_long_error(kind, df, f, enc, *long[0])


def _first_id(kind: str, df: pd.DataFrame, f: Field, value: str):
    return df.loc[df[f.name] == value, schema.ID_COLUMNS[kind]].iloc[0]


def _unencodable_error(kind: str, df: pd.DataFrame, f: Field, enc: ShapefileEncoding,
                       bad: list[tuple[str, UnicodeEncodeError]]) -> EncodingError:
    value, exc = bad[0]
    id_col = schema.ID_COLUMNS[kind]
    more = int(df[f.name].isin([v for v, _ in bad]).sum()) - 1
    char = value[exc.start:exc.end]
    return EncodingError(
        f"{kind}: {id_col} {_first_id(kind, df, f, value)!r}, column {f.name!r} ({f.col.zh}): "
        f"the character {char!r} (U+{ord(char[0]):04X}) in {value!r} cannot be written in "
        f"{enc.name}; GDAL would drop it silently. Export with encoding='GB18030' (holds every "
        f"Chinese character, 2 bytes for common ones) or encoding='UTF-8'"
        + (f". {more} more cell(s) of this column have such characters." if more else ".")
    )


def _too_long_error(kind: str, df: pd.DataFrame, f: Field, enc: ShapefileEncoding,
                    value: str, size: int) -> EncodingError:
    id_col = schema.ID_COLUMNS[kind]
    fix = (" Or use encoding='GBK' (2 bytes per Chinese character instead of 3)."
           if enc.name == "UTF-8" else "")
    return EncodingError(
        f"{kind}: {id_col} {_first_id(kind, df, f, value)!r}, column {f.name!r} ({f.col.zh}): "
        f"the text is {size} bytes in {enc.name}; a shapefile text field holds {SHP_MAX_BYTES} "
        f"and GDAL would cut it. Shorten it, or leave shapefiles out with "
        f"formats=('gpkg', 'xlsx').{fix}"
    )
