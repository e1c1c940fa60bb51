"""The tender workbook (Excel): one sheet per layer, totals, number formats, a data
dictionary sheet; every text a string cell that a spreadsheet never runs."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pandas as pd

from .. import schema
from .._cells import neutralise
from ..errors import EncodingError
from .dictionary import DICTIONARY_HEADERS
from .fields import Field, text_field
from .layout import DICT_SHEET, SHEETS

__all__ = ["write_workbook", "display_width"]

_TOTALS_ON = ("packages", "compounds")
_TOTAL_LABEL = {"zh": "合计", "en": "Total"}
_BOOL_LABEL = {"zh": ("否", "是"), "en": ("No", "Yes")}
#: column widths in characters (a Han character counts 2)
_MIN_WIDTH, _MAX_WIDTH, _WIDTH_PAD = 6, 60, 2
_HEADER_FILL = "DDEBF7"
_RULE_COLOR = "808080"


def display_width(text: str) -> int:
    """Width of a text in a spreadsheet column, a wide (Han) character counting 2.

    Examples
    --------
    >>> from spatialreno.export.workbook import display_width
    >>> display_width("钢花村12号")
    10
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _number_format(f: Field) -> str | None:
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


def _cell_values(s: pd.Series, f: Field, lang: str) -> list:
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


def _illegal_text_error(kind: str, title: str, df: pd.DataFrame, fields: list[Field],
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


def _write_sheet(wb, title: str, kind: str, df: pd.DataFrame, fields: list[Field], lang: str,
                 *, totals: bool) -> int:
    """One sheet: a header row, a row per record, a 合计 row of the additive columns when
    ``totals``; styled, number-formatted, sized and filterable. Returns the record count."""
    ws = wb.create_sheet(title)
    headers = [f.col.header_for(lang) for f in fields]
    columns = [_cell_values(df[f.name], f, lang) for f in fields]
    formats = [_number_format(f) for f in fields]
    _append_rows(ws, kind, title, df, fields, headers, columns)
    total_row = _totals_row(df, fields, lang) if totals else None
    if total_row is not None:
        ws.append(_xl_row(ws, total_row))
    _style(ws, formats, has_totals=total_row is not None)
    _set_widths(ws, headers, columns, formats, total_row)
    _freeze_and_filter(ws, len(fields), len(df))
    return len(df)


def _append_rows(ws, kind: str, title: str, df: pd.DataFrame, fields: list[Field],
                 headers: list[str], columns: list[list]) -> None:
    """The header row and one row per record; a text XML cannot hold is an EncodingError
    naming the layer, id and column."""
    row_no = 0  # 0: the header row
    try:
        ws.append(_xl_row(ws, headers))
        for row_no, row in enumerate(zip(*columns, strict=True), start=1):  # noqa: B007
            ws.append(_xl_row(ws, row))
    except _IllegalText as exc:
        raise _illegal_text_error(kind, title, df, fields, row_no, exc) from None


def _totals_row(df: pd.DataFrame, fields: list[Field], lang: str) -> list:
    """合计 in the first cell, the sum of every additive number column after it."""
    row = [None] * len(fields)
    row[0] = _TOTAL_LABEL[lang]
    for j, f in enumerate(fields):
        if j and f.col.additive and f.dtype in ("int", "float"):
            value = df[f.name].sum(skipna=True)
            row[j] = int(value) if f.dtype == "int" else float(value)
    return row


def _style(ws, formats: list[str | None], *, has_totals: bool) -> None:
    """Bold shaded header, number formats below it, a bold ruled totals row."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor=_HEADER_FILL)
    thin = Side(style="thin", color=_RULE_COLOR)
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
    if has_totals:
        for cell in ws[last_row]:
            cell.font = head_font
            cell.border = Border(top=thin)


def _set_widths(ws, headers: list[str], columns: list[list], formats: list[str | None],
                total_row: list | None) -> None:
    """Each column as wide as its widest shown value (Han characters count 2), within
    :data:`_MIN_WIDTH` and :data:`_MAX_WIDTH`."""
    from openpyxl.utils import get_column_letter

    for j, (header, values, fmt) in enumerate(zip(headers, columns, formats, strict=True), 1):
        longest = max([display_width(header)]
                      + [display_width(_shown(v, fmt)) for v in values]
                      + ([display_width(_shown(total_row[j - 1], fmt))] if total_row else []))
        width = min(max(longest + _WIDTH_PAD, _MIN_WIDTH), _MAX_WIDTH)
        ws.column_dimensions[get_column_letter(j)].width = width


def _freeze_and_filter(ws, n_fields: int, n_rows: int) -> None:
    """Header row and id column frozen; an auto-filter over the records (not the totals)."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "B2"
    if n_fields:
        ws.auto_filter.ref = f"A1:{get_column_letter(n_fields)}{n_rows + 1}"


def write_workbook(path: Path, prepared, plans, dictionary: pd.DataFrame, lang: str) -> dict:
    """The tender workbook: a sheet per layer of :data:`SHEETS` present (totals on
    片区汇总 and 小区明细) and the 字段说明 sheet; returns the record count per sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    sheets: dict[str, int] = {}
    idx = 0 if lang == "zh" else 1
    for kind, titles in SHEETS.items():
        if kind in prepared:
            df, _ = prepared[kind]
            sheets[titles[idx]] = _write_sheet(wb, titles[idx], kind, df, plans[kind], lang,
                                               totals=kind in _TOTALS_ON)
    dict_fields = [text_field(name, zh, en) for name, zh, en in DICTIONARY_HEADERS]
    sheets[DICT_SHEET[idx]] = _write_sheet(wb, DICT_SHEET[idx], "", dictionary, dict_fields,
                                           lang, totals=False)
    wb.save(path)
    return sheets
