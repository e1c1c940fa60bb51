"""Money in whole 0.01 万元, and numeric columns read with a clear error.

Money is handled as integer counts of 0.01 万元 (100 元) so that every total is the exact
sum of its parts; :func:`fen` converts 万元 to those counts, :func:`wan` back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._contracts import short_list
from ..errors import DataError

#: 0.01 万元 units per 万元: money is handled as integer counts of 0.01 万元
FEN = 100
#: slack before flooring amounts computed in floating point (in 0.01 万元)
FLOOR_SLACK = 1e-6
#: 元 per 万元
YUAN_PER_WAN = 1e4


def numeric(frame: pd.DataFrame, col: str, stage: str) -> np.ndarray:
    """A column as float64 (NaN where missing); DataError on text or negative values."""
    raw = frame[col]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        raise DataError(
            f"{stage}: column {col!r} has non-numeric values in rows "
            f"{short_list(frame.index[bad.to_numpy()])} (e.g. {raw[bad].iloc[0]!r}); fix them "
            "or drop the rows"
        )
    arr = values.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    neg = arr < 0
    if neg.any():
        raise DataError(
            f"{stage}: column {col!r} is negative in rows {short_list(frame.index[neg])}; "
            "lengths, areas and counts must be ≥ 0"
        )
    return arr


def fen(values) -> np.ndarray:
    """万元 → integer count of 0.01 万元 (rounded half to even)."""
    return np.rint(np.asarray(values, dtype="float64") * FEN).astype("int64")


def floor_fen(values) -> np.ndarray:
    """Amounts already in 0.01 万元 units, floored (with a little slack for float noise)."""
    return np.floor(np.asarray(values, dtype="float64") + FLOOR_SLACK).astype("int64")


def wan(counts: np.ndarray) -> np.ndarray:
    """Integer counts of 0.01 万元 → 万元 (float64)."""
    return np.asarray(counts, dtype="int64") / FEN
