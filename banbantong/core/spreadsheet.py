"""Reading bureau spreadsheets: rows via python-calamine, a header found by its names wherever
it sits, cell text normalised (full-width to half-width, spaces trimmed), Chinese errors."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from python_calamine import CalamineError, CalamineWorkbook

HEADER_SCAN_ROWS = 30
NOT_EXCEL = "文件无法读取：这不是有效的 Excel 工作簿。请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入。"
EMPTY = "工作表是空的，没有任何数据。"


def nfkc(text: str) -> str:
    """Full-width letters, digits and punctuation to half-width; inner spaces kept."""
    return unicodedata.normalize("NFKC", text).strip()


def norm(value: Any) -> str:
    """Cell text as people meant it: NFKC (全角→半角), no surrounding or inner spaces."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "").replace("\u3000", "")


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheets(path: Path) -> Iterator[tuple[str, Iterator[list[Any]]]]:
    """(name, rows) of every sheet; a file that is not a workbook is a clear error."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise ValidationError(NOT_EXCEL) from exc
    for name in workbook.sheet_names:
        try:
            sheet = workbook.get_sheet_by_name(name)
            yield name, iter(sheet.iter_rows())
        except (CalamineError, ValueError) as exc:
            raise ValidationError(NOT_EXCEL) from exc


def find_header(
    rows: Sequence[Sequence[Any]], aliases: Mapping[str, Sequence[str]], *, required: Sequence[str]
) -> tuple[int, dict[str, int]] | None:
    """The row (within the first rows) naming the most known columns; None if the required are missing."""
    lookup = {norm(name): field for field, names in aliases.items() for name in names}
    best: tuple[int, dict[str, int]] | None = None
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for j, cell in enumerate(row):
            field = lookup.get(norm(cell))
            if field and field not in columns:
                columns[field] = j
        if all(f in columns for f in required) and (best is None or len(columns) > len(best[1])):
            best = (i, columns)
    return best
