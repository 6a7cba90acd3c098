"""Reading a survey workbook: open it with python-calamine, find the header, stream the rows.

Every row is checked with the rules into compact tuples (ParsedSurvey); what is wrong is
collected as RowErrors placed at Excel's row and column, never raised. Nothing here touches
the database: the mode catalogue and the target region come in from the service.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from django.utils import timezone
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError, SheetTypeEnum

from banbantong.core.i18n import chinese
from banbantong.org.models import Region, School, TeachingClass
from banbantong.org.survey.report import RowError
from banbantong.org.survey.rules import (
    COLUMN_TITLES,
    HEADER_SCAN_ROWS,
    HEADER_VARIANTS,
    MIN_HEADER_MATCHES,
    MULTI_COUNTY_LEVELS,
    REQUIRED_COLUMNS,
    TOTAL_ROW_PREFIXES,
    CellError,
    Placement,
    clean_name,
    find_header,
    header_columns,
    is_total_row,
    mode_parser,
    parse_built_year,
    parse_class_name,
    parse_grade_cell,
    parse_kind,
    parse_pupils,
    parse_school_name,
    parse_status,
    placement_of,
)

# Rows between progress reports, while reading and while writing.
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Target:
    """The region the survey covers: an existing one, or a name to create as a top region."""

    name: str
    level: str
    region: Region | None
    ancestor_names: frozenset[str] = frozenset()


@dataclass(slots=True)
class SchoolEntry:
    placement: Placement
    name: str
    kind: str
    row: int


class ClassEntry(NamedTuple):
    row: int
    school: int  # index into ParsedSurvey.schools
    grade: int
    name: str
    pupils: int
    mode_id: int | None  # None: keep what is stored
    status: str | None  # None: keep what is stored
    built_year: int | None


@dataclass
class ParsedSurvey:
    header_row: int = 0
    rows_read: int = 0
    schools: list[SchoolEntry] = field(default_factory=list)
    classes: dict[tuple[int, int, str], ClassEntry] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    status_column: tuple[str, str] = (COLUMN_TITLES["status"], "")  # header as written, letter


class Progress(Protocol):
    """Where a long import reports how far it got: a stage (读取, 写入) and rows done in it."""

    def stage(self, label: str, total: int) -> None: ...

    def advance(self, n: int) -> None: ...


class NullProgress:
    def stage(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


NOT_EXCEL = "文件无法读取：这不是有效的 Excel 工作簿。请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入。"
LOCKED_WORKBOOK = "工作簿设有密码，无法读取。请去掉密码后再导入。"
EMPTY_WORKBOOK = "工作表是空的，没有任何数据。"
NO_HEADER = (
    f"在前 {HEADER_SCAN_ROWS} 行没有找到表头。表头一行应包含：" + "、".join(COLUMN_TITLES[f] for f in COLUMN_TITLES)
    + "（后三列可选）。"
)
NO_DATA = "表头下面没有数据行。"


_UNSEEN = object()


class _Column:
    """One column's reader: bureau sheets repeat a few values thousands of times (the same
    school name on ten rows, "一年级" everywhere), so each distinct raw value is parsed once
    and its value — or its CellError — remembered."""

    __slots__ = ("cache", "index", "letter", "name", "parse", "title")

    def __init__(self, name: str, index: int, title: str, letter: str, parse: Callable[[Any], Any]) -> None:
        self.name, self.index, self.title, self.letter, self.parse = name, index, title, letter, parse
        self.cache: dict[Hashable, Any] = {}

    def learn(self, raw: Any, key: Hashable = _UNSEEN) -> Any:
        if key is _UNSEEN:
            # True == 1 == 1.0 as dict keys, but a TRUE cell is not the number 1 (while 1 and
            # 1.0 read the same everywhere), so only bools are keyed apart.
            key = raw if raw.__class__ is not bool else (bool, raw)
        try:
            value = self.parse(raw)
        except CellError as exc:
            value = exc
        self.cache[key] = value
        return value

    def error(self, row: int, exc: CellError) -> RowError:
        return RowError(row, self.title, self.letter, exc.message)


class _MergeFiller:
    """Gives every cell of a merged range the value of its top-left cell.

    Bureau forms merge the 区县/乡镇/学校 cells down over a school's class rows; calamine
    reports the value only in the first row. Merges are visited in row order, so only the
    few ranges covering the current row are looked at.
    """

    def __init__(self, ranges: Iterable[tuple[tuple[int, int], tuple[int, int]]], first_col: int) -> None:
        self.pending = sorted(
            (r0, r1, c0 - first_col, c1 - first_col) for (r0, c0), (r1, c1) in ranges if (r0, c0) != (r1, c1)
        )
        self.next = 0
        self.active: list[list[Any]] = []  # [r0, r1, c0, c1, value]

    def apply(self, r: int, row: list[Any]) -> None:
        pending = self.pending
        while self.next < len(pending) and pending[self.next][0] <= r:
            r0, r1, c0, c1 = pending[self.next]
            self.next += 1
            if r1 >= r and c0 >= 0:
                self.active.append([r0, r1, c0, c1, row[c0] if r0 == r and c0 < len(row) else ""])
        if not self.active:
            return
        still = []
        for merge in self.active:
            r0, r1, c0, c1, value = merge
            if r1 < r:
                continue
            still.append(merge)
            for c in range(c0 if r > r0 else c0 + 1, min(c1 + 1, len(row))):
                row[c] = value
        self.active = still


_TOTAL = object()


def _locate(raw_county: object, raw_town: object, target: Target) -> Placement | object:
    """Placement for a row's 区县/乡镇 cells, or _TOTAL for a 合计 line."""
    county, town = clean_name(raw_county), clean_name(raw_town)
    if is_total_row("", county, town):
        return _TOTAL
    return placement_of(county, town, target)


@dataclass
class _OpenedSheet:
    sheet: CalamineSheet
    head: list[list[Any]]  # the first rows, read while looking for the header
    rest: Iterator[list[Any]]  # the rows after head, not read yet
    header_index: int
    columns: dict[str, int]


def _open_sheet(workbook: CalamineWorkbook) -> _OpenedSheet | str:
    """The first worksheet with a survey header, or the message saying why there is none.

    Workbooks often open with an instructions sheet (填表说明); it is skipped. Each sheet is
    loaded once: the row iterator that found the header goes on to read the data.
    """
    any_data = False
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.typ != SheetTypeEnum.WorkSheet:
            continue
        sheet = workbook.get_sheet_by_index(index)
        if sheet.start is None:
            continue
        any_data = True
        rows = sheet.iter_rows()
        head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
        found = find_header(head)
        if found is not None:
            return _OpenedSheet(sheet, head, rows, found[0], found[1])
    return NO_HEADER if any_data else EMPTY_WORKBOOK


def parse_survey(
    path: Path, *, target: Target, modes: Mapping[str, int], progress: Progress | None = None
) -> ParsedSurvey:
    """Read and check every row. Nothing touches the database; errors are collected, not raised."""
    parsed = ParsedSurvey()
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            opened = _open_sheet(workbook)
            if isinstance(opened, str):
                parsed.errors.append(RowError(None, "", "", opened))
            else:
                _parse_rows(opened, parsed, target=target, modes=modes, progress=progress or NullProgress())
    except PasswordError:
        parsed.errors.append(RowError(None, "", "", LOCKED_WORKBOOK))
    except (CalamineError, OSError, ValueError):
        # calamine raises ZipError, XmlError or a plain CalamineError ("Cannot detect file format").
        parsed.errors.append(RowError(None, "", "", NOT_EXCEL))
    # Row by row, left to right, the order a clerk fixes them in.
    parsed.errors.sort(key=lambda e: (e.row or 0, len(e.letter), e.letter))
    return parsed


def _parse_rows(
    opened: _OpenedSheet, parsed: ParsedSurvey, *, target: Target, modes: Mapping[str, int], progress: Progress
) -> None:
    sheet, head, header_index, columns = opened.sheet, opened.head, opened.header_index, opened.columns
    # iter_rows() starts at the sheet's first row but at its first used column.
    first_col = sheet.start[1] if sheet.start else 0
    parsed.header_row = header_index + 1
    header_cells = head[header_index]
    col = {name: columns.get(name, -1) for name in COLUMN_TITLES}
    names = {
        name: (clean_name(header_cells[c]) if c >= 0 else COLUMN_TITLES[name]) for name, c in col.items()
    }
    letters = {name: get_column_letter(first_col + c + 1) if c >= 0 else "" for name, c in col.items()}
    status_from = "status" if col["status"] >= 0 else "built_year"
    parsed.status_column = (names[status_from], letters[status_from])

    required = (*REQUIRED_COLUMNS, "county") if target.level in MULTI_COUNTY_LEVELS else REQUIRED_COLUMNS
    missing = [name for name in required if name not in columns]
    for name in missing:
        variants = "、".join(HEADER_VARIANTS[name][:4])
        parsed.errors.append(RowError(
            parsed.header_row, COLUMN_TITLES[name], "",
            f"第 {parsed.header_row} 行的表头缺少“{COLUMN_TITLES[name]}”列（也可写作：{variants}）。",
        ))
    if missing:
        return

    progress.stage("读取", sheet.end[0] + 1 if sheet.end else 0)
    this_year = timezone.localdate().year
    parsers: dict[str, Callable[[Any], Any]] = {
        "school": parse_school_name,
        "kind": parse_kind,
        "grade": parse_grade_cell,
        "klass": parse_class_name,
        "pupils": parse_pupils,
        "mode": mode_parser(modes),
        "status": parse_status,
        "built_year": lambda v: parse_built_year(v, this_year=this_year),
    }
    # Each cell column in a fixed order: school, kind, grade, klass, pupils, then the optional ones.
    columns_read = [
        _Column(name, col[name], names[name], letters[name], parsers[name]) for name in parsers if col[name] >= 0
    ]
    cells = [(c.index, c.cache, c) for c in columns_read]
    position = {column.name: i for i, column in enumerate(columns_read)}
    p_mode, p_status, p_year = position.get("mode"), position.get("status"), position.get("built_year")
    i_county, i_town, i_school = col["county"], col["town"], col["school"]
    i_grade, i_klass, i_pupils = col["grade"], col["klass"], col["pupils"]
    # Placements are numbered, so a school's key is (small int, name) rather than nested tuples.
    place_ids: dict[Placement, int] = {}
    place_list: list[Placement] = []

    def place_id(pair: tuple[object, object]) -> int | object:
        placement = _locate(*pair, target)
        if placement is _TOTAL or not isinstance(placement, tuple):
            return placement
        if placement not in place_ids:
            place_ids[placement] = len(place_list)
            place_list.append(placement)
        return place_ids[placement]

    place_of = _Column("town", -1, names["town"], letters["town"], place_id)
    county_column = _Column("county", i_county, names["county"], letters["county"], clean_name)
    places = place_of.cache
    school_index: dict[tuple[int, str], int] = {}
    schools, classes, errors = parsed.schools, parsed.classes, parsed.errors
    filler = _MergeFiller(sheet.merged_cell_ranges or (), first_col)
    for index, row in enumerate(head[: header_index + 1]):
        filler.apply(index, row)

    data_rows = itertools.chain(
        enumerate(head[header_index + 1 :], start=header_index + 1), enumerate(opened.rest, start=len(head))
    )
    counted = rows_read = 0
    for r, row in data_rows:
        counted += 1
        if counted == PROGRESS_EVERY:
            progress.advance(counted)
            counted = 0
        if filler.pending:
            filler.apply(r, row)
        raw_school = row[i_school]
        # Notes (填表人、说明) and blank lines carry none of the class's own cells.
        if raw_school == "" and row[i_grade] == "" and row[i_klass] == "" and row[i_pupils] == "":
            continue
        if raw_school.__class__ is str and raw_school.lstrip().startswith(TOTAL_ROW_PREFIXES):
            continue
        raw_place = (row[i_county] if i_county >= 0 else "", row[i_town] if i_town >= 0 else "")
        placement = places.get(raw_place, _UNSEEN)
        if placement is _UNSEEN:
            placement = place_of.learn(raw_place, raw_place)
        if placement is _TOTAL:
            continue
        excel_row = r + 1
        rows_read += 1
        first_error = len(errors)
        if placement.__class__ is CellError:
            column = county_column if placement.column == "county" and i_county >= 0 else place_of
            errors.append(column.error(excel_row, placement))
        values = []
        for index, cache, column in cells:
            raw = row[index]
            value = cache.get(raw if raw.__class__ is not bool else (bool, raw), _UNSEEN)
            if value is _UNSEEN:
                value = column.learn(raw)
            if value.__class__ is CellError:
                errors.append(column.error(excel_row, value))
            values.append(value)
        if len(errors) > first_error and len(header_columns(row)) >= MIN_HEADER_MATCHES:
            del errors[first_error:]  # the header again, as on each page of a printed form
            rows_read -= 1
            continue
        name, kind, grade, klass, pupils = values[:5]
        mode_id = values[p_mode] if p_mode else None
        status = values[p_status] if p_status else None
        year = values[p_year] if p_year else None
        if year is not None and year.__class__ is int and status.__class__ is not CellError:
            if status is None:
                status = TeachingClass.Status.BUILT  # a year of completion says the class is built
            elif status not in TeachingClass.BUILT_STATUSES:
                errors.append(RowError(
                    excel_row, names["built_year"], letters["built_year"],
                    f"填写了建成年份 {year}，但建设状态是“{chinese(TeachingClass.Status(status).label)}”；"
                    "未建成的班级请不要填建成年份。",
                ))
        if CellError in (placement.__class__, name.__class__, grade.__class__, klass.__class__):
            continue  # which class this row is cannot be told; its own errors say why
        # A row with other errors still claims its class, so a later duplicate is reported too.
        kind_ok = kind.__class__ is not CellError
        s = school_index.setdefault((placement, name), len(schools))
        if s == len(schools):
            schools.append(SchoolEntry(place_list[placement], name, kind if kind_ok else "", excel_row))
        elif kind_ok and schools[s].kind != kind:
            first = schools[s]
            if first.kind:
                errors.append(RowError(
                    excel_row, names["kind"], letters["kind"],
                    f"同一学校的学校类型前后不一致：第 {first.row} 行是“{chinese(School.Kind(first.kind).label)}”，"
                    f"这里是“{chinese(School.Kind(kind).label)}”。",
                ))
            else:
                first.kind = kind
        class_key = (s, grade, klass)
        earlier = classes.get(class_key)
        if earlier is not None:
            errors.append(RowError(
                excel_row, names["klass"], letters["klass"],
                f"与第 {earlier.row} 行重复：同一学校的同一年级、同一班级只能有一行。",
            ))
            continue
        # Once anything is wrong nothing will be written: keep only what duplicate checks need.
        classes[class_key] = (
            ClassEntry(excel_row, s, grade, klass, pupils, mode_id, status, year)
            if not errors else ClassEntry(excel_row, 0, 0, "", 0, None, None, None)
        )
    progress.advance(counted)
    parsed.rows_read = rows_read
    if rows_read == 0 and not errors:
        errors.append(RowError(parsed.header_row + 1, "", "", NO_DATA))

