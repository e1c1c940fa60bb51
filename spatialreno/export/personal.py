"""Personal data on export: which columns hold it, and how a value is masked."""

from __future__ import annotations

import re

import pandas as pd

from .. import schema
from .fields import as_text

__all__ = ["personal_columns", "mask_text"]


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
    text = as_text(value)
    return text[:1] + "*" * (len(text) - 1)
