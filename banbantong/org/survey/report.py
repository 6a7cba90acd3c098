"""The survey's errors as a clerk sees them: each placed at an Excel row and column, and the
error workbook (错误清单) the page offers for download and `bbt import survey --report` saves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from banbantong.core.excel import write_sheet


@dataclass(frozen=True, slots=True)
class RowError:
    """One thing to fix, placed the way Excel shows it: row 1 is the top row, columns A, B, …"""

    row: int | None
    column: str
    letter: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.letter or self.column:
            where.append(f"{self.letter} 列（{self.column}）" if self.letter else f"“{self.column}”列")
        return f"{' '.join(where)}：{self.message}" if where else self.message


ERROR_HEADERS = ("行号", "列", "列名", "错误说明")


def error_rows(errors: Iterable[RowError]) -> Iterator[tuple[Any, ...]]:
    """One row per error under ERROR_HEADERS; a workbook-wide error has no row number."""
    for e in errors:
        yield (e.row if e.row is not None else "", e.letter, e.column, e.message)


def error_sheet(errors: Iterable[RowError]) -> tuple[str, tuple[str, ...], Iterator[tuple[Any, ...]]]:
    """(title, headers, rows) of the error sheet, as core.excel's writers take it."""
    return "错误", ERROR_HEADERS, error_rows(errors)


def write_error_report(errors: Iterable[RowError], dest: Path) -> None:
    """Save every error to dest, a workbook the bureau can hand back to the schools."""
    wb = Workbook(write_only=True)
    write_sheet(wb, *error_sheet(errors))
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
