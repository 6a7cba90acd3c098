"""Excel out: every list exports to .xlsx through here, with formula-safe cells.

A cell that starts with = + - @ or a control character could be run as a formula when the
workbook is opened (CSV/formula injection); such values are written as typed text, and
characters that XML cannot hold are dropped.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse
from django.utils import translation
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@")


def is_formula_like(text: str) -> bool:
    return bool(text) and (text.startswith(FORMULA_TRIGGERS) or ord(text[0]) < 0x20)


def safe_cell(ws: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    if isinstance(value, Promise):  # a lazy label
        value = str(value)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(ws, value=value)
        # openpyxl would turn "=..." into a formula; forcing the string type keeps it literal.
        cell.data_type = "s"
        return cell
    return WriteOnlyCell(ws, value=value)


def write_sheet(
    wb: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    ws = wb.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header_cells = []
    for h in headers:
        c = safe_cell(ws, h)
        c.font = bold
        header_cells.append(c)
    ws.append(header_cells)
    for row in rows:
        ws.append([safe_cell(ws, v) for v in row])


def workbook_response(
    filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> FileResponse:
    """Stream a workbook built row by row to a temporary file (bounded memory for big lists).

    The workbook is Chinese whatever the page's language: exports are filed documents, and lazy
    headers and labels are read here.
    """
    wb = Workbook(write_only=True)
    with translation.override(settings.LANGUAGE_CODE):
        for title, headers, rows in sheets:
            write_sheet(wb, str(title), headers, rows)
    # FileResponse closes the file when the response is done.
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    wb.save(tmp)
    tmp.seek(0)
    response = FileResponse(
        tmp, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    # RFC 6266: an ASCII fallback plus the UTF-8 Chinese name.
    response["Content-Disposition"] = (
        f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


Column = tuple[str, Callable[[Any], Any]]
