"""Text cells that a spreadsheet can never run: formula neutralising and safe CSV writing.

A spreadsheet (Excel, WPS, LibreOffice) opening a CSV treats a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and a leading tab or carriage return can hide such a
start. Attribute text comes from anyone's files, so every text cell that spatialreno writes
for a spreadsheet goes through :func:`neutralise`, which follows the OWASP "CSV injection"
recommendation: a text that starts with one of those characters gets a leading apostrophe
(``=1+1`` → ``'=1+1``), so it is shown as text and never evaluated.

The rule is about *text*: numbers stay numbers (``-5`` as an int or float is written as
``-5``), but a text ``"-5"`` in a text column is neutralised (``'-5``) like any other text,
because the spreadsheet cannot tell it from the start of ``-5+cmd|...``.

Only the copies meant for spreadsheets are neutralised (``audit.csv``, ``violations.csv``,
the bundle's ``字段说明.csv`` / ``代码表.csv`` and the workbook). The GIS layers (GeoPackage,
shapefiles) keep the exact text.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import numbers
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._outdir import atomic_file
from .errors import EncodingError, ExportError

__all__ = ["FORMULA_PREFIXES", "neutralise", "neutralise_frame", "write_csv"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP: ``=``, ``+``,
#: ``-``, ``@``, tab 0x09, carriage return 0x0D).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet shows as text and never evaluates.

    A ``str`` starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe; every other value (other text, numbers, including negative ones,
    None, NaN, dates) is returned unchanged.

    Examples
    --------
    >>> from spatialreno._cells import neutralise
    >>> neutralise("=1+1"), neutralise("@SUM(A1)"), neutralise("-5"), neutralise("钢花村")
    ("'=1+1", "'@SUM(A1)", "'-5", '钢花村')
    >>> neutralise(-5), neutralise(-1.5), neutralise(None)
    (-5, -1.5, None)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_plain(value) -> bool:
    """Numbers, booleans, dates and missing values: written as they are."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, bool | np.bool_ | numbers.Number | decimal.Decimal):
        return True
    return isinstance(value, dt.date | dt.time | dt.timedelta | np.datetime64 | np.timedelta64)


def _cell(value):
    if isinstance(value, str):
        return neutralise(value)
    if _is_plain(value):
        return value
    return neutralise(str(value))  # lists, dicts, geometries ...: written as their text


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and every column name neutralised.

    Numeric, boolean and date columns are kept as they are; in text (object, string,
    categorical) columns ``str`` values go through :func:`neutralise`, numbers and missing
    values stay, any other object is replaced by its neutralised ``str()``.
    """
    out = df.copy()
    for j in range(out.shape[1]):
        s = out.iloc[:, j]
        if (
            pd.api.types.is_bool_dtype(s.dtype)
            or pd.api.types.is_numeric_dtype(s.dtype)
            or pd.api.types.is_datetime64_any_dtype(s.dtype)
            or pd.api.types.is_timedelta64_dtype(s.dtype)
        ):
            continue
        values = s.astype(object).where(s.notna(), None)
        out.isetitem(j, pd.Series([_cell(v) for v in values], index=s.index, dtype=object))
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, encoding: str = "utf-8-sig",
              index: bool = False) -> Path:
    """Write a table as a CSV that Excel, WPS and LibreOffice open without running anything.

    Every text cell and column name is neutralised (:func:`neutralise`: a leading ``=``,
    ``+``, ``-``, ``@``, tab or CR gets an apostrophe) and quoted; numbers (negative ones
    too), booleans and empty cells are written unquoted, as numbers. The file is written to
    a temporary file in the same folder and renamed over ``path`` at the end, so a failure
    leaves ``path`` as it was and no temporary file behind; the file gets the usual
    permissions (``0o666`` less the umask).

    Parameters
    ----------
    df : DataFrame
        The table; it is not changed.
    path : path
        The CSV file to write (its folder must exist); an existing file is replaced.
    encoding : str, default "utf-8-sig"
        UTF-8 with a byte-order mark, so that Excel on Chinese Windows shows Chinese text.
    index : bool, default False
        Write the index as the first column(s) (neutralised like the other cells).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        The file could not be written (folder missing, no permission, disk full, ``path``
        is a folder); ``path`` is left as it was.
    EncodingError
        A text cannot be written in ``encoding``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from spatialreno._cells import write_csv
    >>> p = write_csv(pd.DataFrame({"名称": ["=1+1", "老街坊"], "n": [-1, 2]}),
    ...               Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text(encoding="utf-8-sig").splitlines()
    ['"名称","n"', '"\\'=1+1",-1', '"老街坊",2']
    """
    path = Path(path)
    table = df.reset_index() if index else df
    out = neutralise_frame(table)
    try:
        with atomic_file(path, "w", encoding=encoding, newline="") as fh:
            out.to_csv(fh, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise EncodingError(
            f"{path}: the character {bad!r} cannot be written in {encoding}; use "
            "encoding='utf-8-sig'"
        ) from exc
    except OSError as exc:
        what = "writing the CSV failed" if path.parent.is_dir() else "cannot write the CSV there"
        raise ExportError(f"{path}: {what}: {exc.strerror or exc}") from exc
    return path
