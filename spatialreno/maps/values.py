"""What a popup, tooltip or legend shows of a layer's rows: fields, labels, display text.

>>> from spatialreno.maps.values import format_value
>>> format_value(1234.5, "cost_total", "packages", "zh"), format_value(1, "must_tender", "packages", "en")
('1,234.50', 'Yes')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema
from .text import TEXT

__all__ = ["FIELDS", "TIPS", "FLAG_COLUMNS", "Fields", "fields", "format_value", "is_missing",
           "id_text", "codes", "column_values"]

#: columns shown in popups, in order (those present are shown)
FIELDS: dict[str, tuple[str, ...]] = {
    "packages": (
        "n_compounds", "streets", "households", "floor_area_m2", "cost_total",
        "construction_cost", "illegal_area_m2", "gas_aged_m", "must_tender", "plan_year",
    ),
    "package_summary": (
        "n_compounds", "households", "cost_total", "illegal_area_m2", "gas_aged_m",
        "must_tender", "plan_year",
    ),
    "compounds": (
        "street", "district", "community", "households", "floor_area_m2", "build_year",
        "illegal_area_m2", "gas_aged_m", "cost_total",
    ),
    "illegal": ("kind", "area_m2", "status", "compound_id", "blocks_fire_lane", "blocks_gas"),
    "gas": ("pipe_class", "material", "diameter_mm", "install_year", "length_m", "aged",
            "aged_rule"),
    "barriers": ("barrier_type", "width_m"),
    "admin": ("level", "district"),
}
#: columns shown in tooltips (those present)
TIPS: dict[str, tuple[str, ...]] = {
    "packages": ("n_compounds", "households", "cost_total"),
    "compounds": (),
    "illegal": ("area_m2", "status"),
    "gas": ("material", "aged"),
    "barriers": ("barrier_type",),
    "admin": ("level",),
}
#: yes/no columns (a "yes" is highlighted in popups)
FLAG_COLUMNS = frozenset({"must_tender", "aged", "blocks_fire_lane", "blocks_gas", "occupied"})
_TRUTHY = ("true", "yes", "是")
_DEFAULT_DECIMALS = 1
_YEAR_UNIT = "年"


def is_missing(value) -> bool:
    """None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def id_text(value) -> str:
    """An id as text ('' when missing)."""
    return "" if is_missing(value) else str(value)


def _column(kind: str, name: str) -> schema.Column | None:
    return (
        schema.find_column(kind, name)
        or schema.find_column("compounds", name)
        or schema.find_column("packages", name)
    )


def _yes_no(value, text: dict) -> str:
    try:
        return text["yes"] if bool(int(value)) else text["no"]
    except (TypeError, ValueError):
        truthy = str(value).strip().lower() in _TRUTHY
        return text["yes"] if truthy else text["no"]


def _number_text(value, col: schema.Column | None) -> str:
    try:
        number = int(round(float(value)))
    except (TypeError, ValueError):
        return str(value)
    return str(number) if (col is not None and col.unit == _YEAR_UNIT) else f"{number:,}"


def format_value(value, name: str, kind: str, lang: str) -> str | None:
    """A value as display text (None when missing or blank)."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    text = TEXT[lang]
    col = _column(kind, name)
    if name in FLAG_COLUMNS:
        return _yes_no(value, text)
    if col is not None and col.vocab:
        return schema.value_label(col.vocab, schema.canonical_value(col.vocab, value) or value,
                                  lang)
    if isinstance(value, (bool, np.bool_)):
        return text["yes"] if value else text["no"]
    if isinstance(value, (int, np.integer)) or (col is not None and col.dtype == "int"):
        return _number_text(value, col)
    if isinstance(value, (float, np.floating)):
        decimals = col.decimals if col is not None and col.decimals else _DEFAULT_DECIMALS
        return f"{float(value):,.{decimals}f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


@dataclass(frozen=True)
class Fields:
    """The popup columns of a layer: names, labels, flag markers and per-row text."""

    names: list[str]
    labels: list[str]
    flags: list[str | None]
    values: list[list[str | None]]  # per row


def fields(frame: pd.DataFrame, kind: str, names: Sequence[str], lang: str, rows: np.ndarray,
           extra: dict[str, Sequence] | None = None) -> Fields:
    """Labels, per-row display strings and tender-style flags of the columns present."""
    extra = extra or {}
    present = [n for n in names if n in frame.columns or n in extra]
    labels = [schema.label(kind, n, lang) for n in present]
    flags = [TEXT[lang]["yes"] if n in FLAG_COLUMNS else None for n in present]
    columns = []
    for n in present:
        values = extra[n] if n in extra else frame[n].to_numpy()[rows]
        columns.append([format_value(v, n, kind, lang) for v in values])
    per_row = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(rows))]
    return Fields(present, labels, flags, per_row)


def column_values(frame: pd.DataFrame, column: str, rows: np.ndarray) -> list:
    """The values of ``column`` at ``rows`` (None each when the column is absent)."""
    if column not in frame.columns:
        return [None] * len(rows)
    return list(frame[column].to_numpy()[rows])


def codes(frame: pd.DataFrame, column: str, vocab: str, rows: np.ndarray) -> list:
    """Canonical codes of a coded column (unknown values kept as text, missing as None)."""
    return [None if is_missing(v) else (schema.canonical_value(vocab, v) or str(v))
            for v in column_values(frame, column, rows)]
