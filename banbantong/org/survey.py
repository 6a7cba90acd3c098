"""The school survey (调查表) import: one spreadsheet row per teaching class.

It creates and updates the regions, schools and teaching classes of the city or county the
survey covers, all or nothing. Three steps, one section each below:

1. rules — pure decisions about a header or a cell, with the Chinese message a bureau clerk
   needs to fix the sheet (tested without a database);
2. parse — stream the sheet's rows with python-calamine into compact validated tuples;
3. import_survey — compare with what is stored and write in batches, audited once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError, SheetTypeEnum

from banbantong.core import audit
from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.grades import parse_grade
from banbantong.org.models import ClassStatusChange, Region, School, TeachingClass
from banbantong.org.services import ensure_region, is_backwards, school_is_rural
from banbantong.planning.models import TerminalMode

# ============================================================================================
# 1. Rules
# ============================================================================================

# Bureau sheets put titles, dates and merged banners above the header; 30 rows is far more
# than any real form uses, and scanning stops there so a headerless sheet fails fast.
HEADER_SCAN_ROWS = 30
# Fewer matches than this is a table of something else, not a survey.
MIN_HEADER_MATCHES = 3
# No real teaching class has more; a bigger number is a typo or a school total in the wrong column.
MAX_PUPILS = 200
MIN_BUILT_YEAR = 1990
# Rows per INSERT/UPDATE round: big enough to be fast, small enough that model instances
# never pile up in memory.
BATCH_SIZE = 2000
PROGRESS_EVERY = 1000
# Schools per roll-up UPDATE: below SQLite's old limit of 999 bound parameters.
RECOUNT_CHUNK = 900
MAX_SCHOOL_NAME = School._meta.get_field("name").max_length or 100
MAX_REGION_NAME = Region._meta.get_field("name").max_length or 60
MAX_CLASS_NAME = TeachingClass._meta.get_field("name").max_length or 40

COLUMN_TITLES: dict[str, str] = {
    "county": "区县",
    "town": "乡镇",
    "school": "学校名称",
    "kind": "学校类型",
    "grade": "年级",
    "klass": "班级",
    "pupils": "学生数",
    "mode": "班班通模式",
    "status": "建设状态",
    "built_year": "建成年份",
}
# The names bureaus actually write; matched after NFKC, without spaces and "*" markers.
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "county": ("县区", "县(区)", "区(县)", "区/县", "县/区", "县市区", "县(市、区)", "县(市区)", "所属区县", "所在区县", "县", "区"),
    "town": ("乡镇(街道)", "乡镇街道", "乡镇/街道", "乡(镇)", "乡镇名称", "所属乡镇", "所在乡镇", "街道", "乡", "镇"),
    "school": ("学校", "校名", "学校全称", "单位名称", "学校(单位)名称"),
    "kind": ("学校类别", "学校性质", "办学类型", "类型", "类别"),
    "grade": ("所在年级", "年级名称"),
    "klass": ("班级名称", "班名", "班别", "班级号", "班号", "班"),
    "pupils": ("学生人数", "班级人数", "在校学生数", "人数", "班额"),
    "mode": ("模式", "建设模式", "终端模式", "设备模式", "班班通建设模式", "配备模式"),
    "status": ("状态", "班班通建设状态", "是否建成", "是否已建", "建设情况"),
    "built_year": ("建成时间", "建成年度", "建设年份", "建设年度", "建成日期"),
}
# 区县 is only needed when the survey covers more than one county (a city's or province's).
REQUIRED_COLUMNS = ("town", "school", "kind", "grade", "klass", "pupils")
MULTI_COUNTY_LEVELS = frozenset({Region.Level.PROVINCE, Region.Level.CITY})

_K = School.Kind
KIND_LABELS: dict[str, str] = {
    "教学点": _K.TEACHING_POINT, "村教学点": _K.TEACHING_POINT, "小学教学点": _K.TEACHING_POINT,
    "村小": _K.VILLAGE_PRIMARY, "村级小学": _K.VILLAGE_PRIMARY, "村小学": _K.VILLAGE_PRIMARY,
    "村完小": _K.VILLAGE_PRIMARY, "村级完小": _K.VILLAGE_PRIMARY, "村完全小学": _K.VILLAGE_PRIMARY,
    "中心小学": _K.CENTRAL_PRIMARY, "中心校": _K.CENTRAL_PRIMARY, "乡镇中心小学": _K.CENTRAL_PRIMARY,
    "乡中心小学": _K.CENTRAL_PRIMARY, "镇中心小学": _K.CENTRAL_PRIMARY, "中心完小": _K.CENTRAL_PRIMARY,
    "农村初中": _K.RURAL_JUNIOR, "乡镇初中": _K.RURAL_JUNIOR, "乡镇中学": _K.RURAL_JUNIOR,
    "农村中学": _K.RURAL_JUNIOR, "乡村初中": _K.RURAL_JUNIOR,
    "九年一贯制": _K.NINE_YEAR, "九年一贯制学校": _K.NINE_YEAR, "九年制学校": _K.NINE_YEAR,
    "一贯制学校": _K.NINE_YEAR,
    "城区小学": _K.URBAN_PRIMARY, "县城小学": _K.URBAN_PRIMARY, "城镇小学": _K.URBAN_PRIMARY,
    "城市小学": _K.URBAN_PRIMARY,
    "城区初中": _K.URBAN_JUNIOR, "县城初中": _K.URBAN_JUNIOR, "城镇初中": _K.URBAN_JUNIOR,
    "城市初中": _K.URBAN_JUNIOR,
    "城区高中": _K.URBAN_SENIOR, "县城高中": _K.URBAN_SENIOR, "城镇高中": _K.URBAN_SENIOR,
    "普通高中": _K.URBAN_SENIOR, "高中": _K.URBAN_SENIOR,
    "市直学校": _K.CITY_DIRECT, "市直": _K.CITY_DIRECT, "市直属学校": _K.CITY_DIRECT,
    "市直中小学": _K.CITY_DIRECT,
}
_S = TeachingClass.Status
STATUS_LABELS: dict[str, str] = {
    "未建": _S.NOT_BUILT, "未建设": _S.NOT_BUILT, "未建成": _S.NOT_BUILT, "否": _S.NOT_BUILT,
    "无": _S.NOT_BUILT, "没有": _S.NOT_BUILT,
    "已规划": _S.PLANNED, "规划": _S.PLANNED, "计划": _S.PLANNED, "拟建": _S.PLANNED,
    "在建": _S.BUILDING, "建设中": _S.BUILDING, "正在建设": _S.BUILDING, "施工中": _S.BUILDING,
    "已建": _S.BUILT, "已建成": _S.BUILT, "建成": _S.BUILT, "已安装": _S.BUILT, "是": _S.BUILT,
    "有": _S.BUILT,
    "已验收": _S.ACCEPTED, "验收": _S.ACCEPTED, "验收合格": _S.ACCEPTED, "已验收合格": _S.ACCEPTED,
}
# A 合计/小计 row sums the rows above it; importing it would invent a school.
TOTAL_ROW_PREFIXES = ("合计", "小计", "总计", "共计", "总数")
_PARENTHESES = re.compile(r"\([^)]*\)")
_CLASS_NUMBER = re.compile(r"^\(?(\d{1,3})\)?班?$")
_YEAR = re.compile(r"^(\d{4})(?:年|[-./]\d{1,2}(?:[-./]\d{1,2})?|年\d{1,2}月(?:\d{1,2}日)?)?$")


class CellError(ValueError):
    """A cell that cannot be read; the message says, in Chinese, what to write instead."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def _nfkc(value: object) -> str:
    """Cell text the way a clerk means it: full-width digits and brackets folded, trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows it
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.strip()


def clean_name(value: object) -> str:
    """A region or school name: NFKC, trimmed, inner runs of spaces made one."""
    return " ".join(_nfkc(value).split())


def _label_key(value: object) -> str:
    return "".join(_nfkc(value).split()).casefold()


def normalize_header(value: object) -> str:
    return _label_key(value).strip("*:").strip()


_HEADER_LOOKUP: dict[str, str] = {
    normalize_header(name): field_name
    for field_name, variants in HEADER_VARIANTS.items()
    for name in (COLUMN_TITLES[field_name], *variants)
}


def match_header(value: object) -> str | None:
    """The survey column a header cell names: '学生人数' -> 'pupils', '学生数(人)' -> 'pupils'."""
    key = normalize_header(value)
    if not key:
        return None
    found = _HEADER_LOOKUP.get(key)
    if found is None and "(" in key:
        # Units and notes in brackets ("学生数(人)", "班级名称(如1班)") do not change the column.
        found = _HEADER_LOOKUP.get(_PARENTHESES.sub("", key))
    return found


def header_columns(row: Sequence[object]) -> dict[str, int]:
    """Column index of each survey field named in row; the first column wins a repeat."""
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        name = match_header(cell) if isinstance(cell, str) else None
        if name is not None and name not in found:
            found[name] = index
    return found


def find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[str, int]] | None:
    """The row (index into rows) that names the most survey columns, if any names enough."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns = header_columns(row)
        if len(columns) >= MIN_HEADER_MATCHES and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return best


def _choice_lookup(labels: Mapping[str, str], choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    lookup = {_label_key(k): v for k, v in labels.items()}
    for value, label in choices:
        lookup.setdefault(_label_key(value), value)
        lookup.setdefault(_label_key(label), value)
    return lookup


_KIND_LOOKUP = _choice_lookup(KIND_LABELS, School.Kind.choices)
_STATUS_LOOKUP = _choice_lookup(STATUS_LABELS, TeachingClass.Status.choices)


def parse_kind(value: object) -> str:
    """'村级小学' -> 'village_primary'; the School.Kind value or CellError."""
    key = _label_key(value)
    if not key:
        raise CellError("学校类型不能为空。")
    kind = _KIND_LOOKUP.get(key)
    if kind is None:
        allowed = "、".join(label for _, label in School.Kind.choices)
        raise CellError(f"无法识别的学校类型“{_nfkc(value)}”，请填写：{allowed}。")
    return kind


def parse_status(value: object) -> str | None:
    """'已建成' -> 'built'; blank -> None (keep what is stored); else CellError."""
    key = _label_key(value)
    if not key:
        return None
    status = _STATUS_LOOKUP.get(key)
    if status is None:
        allowed = "、".join(label for _, label in TeachingClass.Status.choices)
        raise CellError(f"无法识别的建设状态“{_nfkc(value)}”，请填写：{allowed}。")
    return status


def parse_grade_cell(value: object) -> int:
    if not _nfkc(value):
        raise CellError("年级不能为空。")
    grade = None if isinstance(value, bool) else parse_grade(value)
    if grade is None:
        raise CellError(
            f"无法识别的年级“{_nfkc(value)}”，请写成“一年级”“初一”“七年级”“高二”或数字 1–12。"
        )
    return grade


def parse_pupils(value: object) -> int:
    """A non-negative whole number of pupils, at most MAX_PUPILS."""
    if isinstance(value, bool):
        raise CellError(f"学生数应为整数，而不是“{_nfkc(value)}”。")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _nfkc(value).removesuffix("人").strip()
        if not text:
            raise CellError("学生数不能为空。")
        try:
            number = float(text)
        except ValueError:
            raise CellError(f"学生数“{_nfkc(value)}”不是数字，请填写整数，例如 45。") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise CellError(f"学生数“{_nfkc(value)}”不是数字，请填写整数，例如 45。")
    if number < 0:
        raise CellError(f"学生数不能是负数（填的是 {_nfkc(value)}）。")
    if not number.is_integer():
        raise CellError(f"学生数必须是整数（填的是 {_nfkc(value)}）。")
    if number > MAX_PUPILS:
        raise CellError(f"学生数 {int(number)} 超过 {MAX_PUPILS}，不像一个教学班的人数，请核对。")
    return int(number)


def parse_class_name(value: object) -> str:
    """'1', 1.0, '１班' and '(1)班' are all '1班': re-imports must find the same class again."""
    text = clean_name(value)
    if not text:
        raise CellError("班级不能为空。")
    number = _CLASS_NUMBER.match(text)
    if number:
        text = f"{int(number.group(1))}班"
    if len(text) > MAX_CLASS_NAME:
        raise CellError(f"班级名称太长（最多 {MAX_CLASS_NAME} 个字）。")
    return text


def parse_built_year(value: object, *, this_year: int) -> int | None:
    """2015, '2015', '2015年', '2015-09' or a date -> 2015; blank -> None."""
    if isinstance(value, dt.date):
        year = value.year
    elif isinstance(value, bool):
        raise CellError(f"建成年份应为四位年份，而不是“{_nfkc(value)}”。")
    else:
        text = "".join(_nfkc(value).split())
        if not text:
            return None
        found = _YEAR.match(text)
        if not found:
            raise CellError(f"建成年份“{_nfkc(value)}”无法识别，请填写四位年份，例如 2015。")
        year = int(found.group(1))
    if not MIN_BUILT_YEAR <= year <= this_year:
        raise CellError(f"建成年份 {year} 不合理，应在 {MIN_BUILT_YEAR}–{this_year} 之间。")
    return year


def mode_key(name: str) -> str:
    return _label_key(name)


def guess_region_level(name: str) -> str:
    """The level a new top region most likely has, from how Chinese place names end."""
    if name.endswith(("省", "自治区")):
        return Region.Level.PROVINCE
    if name.endswith(("县", "区", "旗", "市辖区", "自治县", "县级市")):
        return Region.Level.COUNTY
    return Region.Level.CITY


def is_total_row(school: str, county: str = "", town: str = "") -> bool:
    """A 合计/小计 line: marked in the school cell, or in 区县/乡镇 when the school is blank."""
    if school:
        return school.startswith(TOTAL_ROW_PREFIXES)
    return county.startswith(TOTAL_ROW_PREFIXES) or town.startswith(TOTAL_ROW_PREFIXES)


def status_change_date(status: str, built_year: int | None, *, today: dt.date) -> dt.date:
    """When a class first imported as built reached that status: its year's end, never the future."""
    if built_year is not None and status in TeachingClass.BUILT_STATUSES:
        return min(dt.date(built_year, 12, 31), today)
    return today


# ============================================================================================
# 2. Parse
# ============================================================================================


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
    for e in errors:
        yield (e.row if e.row is not None else "", e.letter, e.column, e.message)


@dataclass(frozen=True)
class Target:
    """The region the survey covers: an existing one, or a name to create as a top region."""

    name: str
    level: str
    region: Region | None
    ancestor_names: frozenset[str] = frozenset()


# Region chain under the target: ((name, level), ...), e.g. (("吉水县", "county"), ("八都镇", "town")).
Placement = tuple[tuple[str, str], ...]


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
    sheet: str = ""
    header_row: int = 0
    rows_read: int = 0
    schools: list[SchoolEntry] = field(default_factory=list)
    classes: dict[tuple[int, int, str], ClassEntry] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    status_column: tuple[str, str] = (COLUMN_TITLES["status"], "")  # header as written, letter


class Progress(Protocol):
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

    def read(self, raw: Any) -> Any:
        value = self.cache.get(raw if raw.__class__ is not bool else (bool, raw), _UNSEEN)
        return self.learn(raw) if value is _UNSEEN else value

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


def _placement(county: str, town: str, target: Target) -> Placement:
    """Where a school hangs under the target, from its 区县 and 乡镇 cells."""
    same = {target.name} | target.ancestor_names
    parts: list[tuple[str, str]] = []
    if county and county not in same:
        if target.level not in MULTI_COUNTY_LEVELS:
            raise CellError(
                f"区县“{county}”不属于导入区域“{target.name}”；本区县的调查表此列请留空或填“{target.name}”。",
                "county",
            )
        if len(county) > MAX_REGION_NAME:
            raise CellError(f"区县名称太长（最多 {MAX_REGION_NAME} 个字）。", "county")
        parts.append((county, Region.Level.COUNTY))
    if town and town not in same:
        if target.level == Region.Level.TOWN:
            raise CellError(f"乡镇“{town}”不是导入区域“{target.name}”。", "town")
        if len(town) > MAX_REGION_NAME:
            raise CellError(f"乡镇名称太长（最多 {MAX_REGION_NAME} 个字）。", "town")
        parts.append((town, Region.Level.TOWN))
    return tuple(parts)


_TOTAL = object()


def _locate(raw_county: object, raw_town: object, target: Target) -> Placement | object:
    """Placement for a row's 区县/乡镇 cells, or _TOTAL for a 合计 line."""
    county, town = clean_name(raw_county), clean_name(raw_town)
    if is_total_row("", county, town):
        return _TOTAL
    return _placement(county, town, target)


def _school_name(value: object) -> str:
    name = clean_name(value)
    if not name:
        raise CellError("学校名称不能为空。")
    if len(name) > MAX_SCHOOL_NAME:
        raise CellError(f"学校名称太长（最多 {MAX_SCHOOL_NAME} 个字）。")
    return name


def _mode_parser(modes: Mapping[str, int]) -> Callable[[object], int | None]:
    def parse(value: object) -> int | None:
        key = mode_key(_nfkc(value))
        if not key:
            return None
        mode_id = modes.get(key)
        if mode_id is None:
            raise CellError(f"未知的班班通模式“{_nfkc(value)}”，请使用本区域模式目录中的名称或代码。")
        return mode_id

    return parse


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
    parsed.sheet = sheet.name
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
        "school": _school_name,
        "kind": parse_kind,
        "grade": parse_grade_cell,
        "klass": parse_class_name,
        "pupils": parse_pupils,
        "mode": _mode_parser(modes),
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
                    f"填写了建成年份 {year}，但建设状态是“{TeachingClass.Status(status).label}”；"
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
                    f"同一学校的学校类型前后不一致：第 {first.row} 行是“{School.Kind(first.kind).label}”，"
                    f"这里是“{School.Kind(kind).label}”。",
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


# ============================================================================================
# 3. Import
# ============================================================================================


class SurveyInvalid(ValidationError):
    """The survey has errors; nothing was written. `row_errors` names each one."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(
            f"调查表有 {len(errors)} 处错误，没有导入任何数据。请按错误报告逐条修改后重新导入。",
            code="survey_invalid",
        )
        self.row_errors = errors


@dataclass
class SurveyResult:
    region_name: str
    file_name: str
    sha256: str
    rows: int = 0
    regions_created: int = 0
    schools_created: int = 0
    schools_updated: int = 0
    schools_unchanged: int = 0
    classes_created: int = 0
    classes_updated: int = 0
    classes_unchanged: int = 0
    status_changes: int = 0
    classes_not_in_file: int = 0
    dry_run: bool = False
    region: Region | None = None

    COUNT_LABELS = (
        ("rows", "数据行"),
        ("regions_created", "新建区域"),
        ("schools_created", "新建学校"),
        ("schools_updated", "更新学校"),
        ("schools_unchanged", "学校无变化"),
        ("classes_created", "新建教学班"),
        ("classes_updated", "更新教学班"),
        ("classes_unchanged", "教学班无变化"),
        ("status_changes", "建设状态变更"),
        ("classes_not_in_file", "库中有而表中没有的教学班（不删除）"),
    )

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _ in self.COUNT_LABELS}

    def labelled_counts(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, key)) for key, label in self.COUNT_LABELS]


def _check_can_import(actor: Any) -> None:
    if actor is None:
        return  # the command line runs as the system
    if not getattr(actor, "can_import", False) or getattr(actor, "read_only", False):
        raise PermissionDenied("只有局管理员可以导入调查表。")


def survey_target(region: Region | str, *, actor: Any, level: str | None = None) -> Target:
    """Resolve the region a survey covers, checking it lies within the actor's scope."""
    _check_can_import(actor)
    if isinstance(region, str):
        name = clean_name(region)
        if not name:
            raise ValidationError("请指定调查表所属的区域名称（市或区县）。")
        found = _find_region(name, actor)
        if found is None:
            if actor is not None and not scope_of(actor).everything:
                raise PermissionDenied(f"区域“{name}”不存在或不在您的管辖范围内。")
            if len(name) > MAX_REGION_NAME:
                raise ValidationError(f"区域名称太长（最多 {MAX_REGION_NAME} 个字）。")
            new_level = level or guess_region_level(name)
            if new_level == Region.Level.TOWN:
                raise ValidationError("调查表须导入到市或区县，不能新建为乡镇。")
            return Target(name=name, level=new_level, region=None)
        if level and found.level != level:
            raise ValidationError(
                f"区域“{name}”已存在，级别是“{found.get_level_display()}”，"
                f"与指定的“{Region.Level(level).label}”不符。"
            )
        region = found
    elif actor is not None and not scope_of(actor).covers_path(region.path):
        raise PermissionDenied(f"区域“{region.name}”不在您的管辖范围内。")
    ancestors = frozenset(r.name for r in region.ancestors() if r.pk != region.pk)
    return Target(name=region.name, level=region.level, region=region, ancestor_names=ancestors)


def _find_region(name: str, actor: Any) -> Region | None:
    """A top-level region called name, else the shallowest one in scope; ambiguity is an error."""
    qs = Region.objects.filter(name=name)
    if actor is not None:
        qs = qs.for_user(actor)
    candidates = sorted(qs, key=lambda r: (r.depth, r.pk))
    if not candidates:
        return None
    shallowest = [r for r in candidates if r.depth == candidates[0].depth]
    if len(shallowest) > 1:
        paths = "、".join(r.full_name for r in shallowest[:5])
        raise ValidationError(f"有 {len(shallowest)} 个区域都叫“{name}”（{paths}），请在网页上选定区域后导入。")
    return shallowest[0]


def mode_lookup(target: Target) -> dict[str, int]:
    """Mode name/code/alias -> id: platform defaults, overridden by the region's own catalogue."""
    region_ids: list[int] = []
    if target.region is not None:
        region_ids = [int(p) for p in target.region.path.strip("/").split("/") if p]
    depth = {rid: i for i, rid in enumerate(region_ids)}
    modes = sorted(
        TerminalMode.objects.filter(Q(region__isnull=True) | Q(region_id__in=region_ids)),
        key=lambda m: (-1 if m.region_id is None else depth.get(m.region_id, 0), m.pk),
    )
    lookup: dict[str, int] = {}
    for mode in modes:  # later (deeper) catalogues win
        for name in mode.names():
            if mode_key(name):
                lookup[mode_key(name)] = mode.pk
    return lookup


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class StoredClass(NamedTuple):
    id: int
    pupils: int
    mode_id: int | None
    status: str
    built_year: int | None
    status_changed_on: dt.date | None


class ClassDecision(NamedTuple):
    pupils: int
    mode_id: int | None
    status: str
    built_year: int | None
    status_changed_on: dt.date | None
    old_status: str | None  # None: no status change; "" for a class that did not exist
    changed: bool


def first_status(
    status: str | None, built_year: int | None, *, today: dt.date
) -> tuple[str, int | None, dt.date | None]:
    """A new class's (status, built year, date of that status) (pure): 未建 unless the row says
    otherwise; a built class without a year was built this year."""
    status = status or TeachingClass.Status.NOT_BUILT
    if status == TeachingClass.Status.NOT_BUILT:
        return status, built_year, None
    on = status_change_date(status, built_year, today=today)
    if status in TeachingClass.BUILT_STATUSES and built_year is None:
        built_year = on.year
    return status, built_year, on


def updated_class(entry: ClassEntry, stored: StoredClass, *, today: dt.date) -> ClassDecision:
    """A stored class after the survey (pure). A blank mode or status keeps the stored one."""
    status = entry.status or stored.status
    if status == TeachingClass.Status.BUILT and stored.status == TeachingClass.Status.ACCEPTED:
        # Schools fill the survey and write 已建; acceptance is the acceptance team's record,
        # and a survey does not undo it.
        status = stored.status
    built_year = entry.built_year if entry.built_year is not None else stored.built_year
    on = stored.status_changed_on
    old = None
    if status != stored.status:
        old, on = stored.status, today
        if status in TeachingClass.BUILT_STATUSES and built_year is None:
            built_year = today.year
    mode_id = entry.mode_id if entry.mode_id is not None else stored.mode_id
    changed = (entry.pupils, mode_id, status, built_year) != (
        stored.pupils, stored.mode_id, stored.status, stored.built_year
    )
    return ClassDecision(entry.pupils, mode_id, status, built_year, on, old, changed)


@dataclass
class _RegionNode:
    name: str
    level: str
    parent: _RegionNode | None
    id: int | None = None  # None until written
    path: str = ""

    @property
    def written_id(self) -> int:
        if self.id is None:
            raise RuntimeError(f"区域“{self.name}”尚未写入")  # parents are written before children
        return self.id


@dataclass
class _Plan:
    top: _RegionNode
    nodes: dict[Placement, _RegionNode]  # includes the top, under ()
    school_ids: list[int | None]  # by school index; None: to create
    school_updates: list[int]  # school indexes whose stored kind differs
    stored_classes: dict[tuple[int, int, str], StoredClass]
    # Stored classes the survey changes, with what they become; filled by _count.
    class_updates: list[tuple[int, int, ClassDecision]] = field(default_factory=list)  # class, school


def _make_plan(parsed: ParsedSurvey, target: Target) -> _Plan:
    """Match the survey's regions, schools and classes with those stored, fetched once each."""
    top = _RegionNode(target.name, target.level, None)
    children: dict[tuple[int, str], tuple[int, str]] = {}
    counties: dict[str, list[tuple[int, str]]] = {}
    if target.region is not None:
        top.id, top.path = target.region.pk, target.region.path
        for rid, name, parent_id, level, path in Region.objects.filter(
            subtree_q("path", target.region.path)
        ).values_list("id", "name", "parent_id", "level", "path"):
            children[(parent_id, name)] = (rid, path)
            if level == Region.Level.COUNTY:
                counties.setdefault(name, []).append((rid, path))

    nodes: dict[Placement, _RegionNode] = {(): top}

    def node_for(placement: Placement) -> _RegionNode:
        node = nodes.get(placement)
        if node is not None:
            return node
        parent = node_for(placement[:-1])
        name, level = placement[-1]
        node = _RegionNode(name, level, parent)
        if parent.id is not None:
            found = children.get((parent.id, name))
            if found is None and level == Region.Level.COUNTY and len(counties.get(name, ())) == 1:
                # A province's survey names counties that already sit under their city.
                found = counties[name][0]
            if found is not None:
                node.id, node.path = found
        nodes[placement] = node
        return node

    for school in parsed.schools:
        node_for(school.placement)

    stored_schools: dict[tuple[int, str], tuple[int, str]] = {}
    stored_classes: dict[tuple[int, int, str], StoredClass] = {}
    if target.region is not None:
        for sid, region_id, name, kind in School.objects.filter(
            subtree_q("region_path", target.region.path)
        ).values_list("id", "region_id", "name", "kind").iterator(chunk_size=BATCH_SIZE):
            stored_schools[(region_id, name)] = (sid, kind)
    school_ids: list[int | None] = []
    school_updates: list[int] = []
    for index, school in enumerate(parsed.schools):
        node = nodes[school.placement]
        stored = stored_schools.get((node.id, school.name)) if node.id is not None else None
        school_ids.append(stored[0] if stored else None)
        if stored and stored[1] != school.kind:
            school_updates.append(index)
    touched = {sid for sid in school_ids if sid is not None}
    if touched and target.region is not None:
        for cid, school_id, grade, name, pupils, mode_id, status, built_year, changed_on in (
            TeachingClass.objects.filter(subtree_q("school__region_path", target.region.path))
            .values_list(
                "id", "school_id", "grade", "name", "pupils", "mode_id", "status", "built_year", "status_changed_on"
            )
            .iterator(chunk_size=BATCH_SIZE)
        ):
            if school_id in touched:
                stored_classes[(school_id, grade, name)] = StoredClass(
                    cid, pupils, mode_id, status, built_year, changed_on
                )
    return _Plan(top, nodes, school_ids, school_updates, stored_classes)


def _count(parsed: ParsedSurvey, plan: _Plan, result: SurveyResult, *, today: dt.date) -> list[RowError]:
    """Fill result with what the import will do; return the changes an import may not make."""
    result.rows = parsed.rows_read
    result.regions_created = sum(1 for n in plan.nodes.values() if n.id is None)
    result.schools_created = sum(1 for i in plan.school_ids if i is None)
    result.schools_updated = len(plan.school_updates)
    result.schools_unchanged = len(plan.school_ids) - result.schools_created - result.schools_updated
    if not plan.stored_classes:  # nothing stored for these schools yet: every class is new
        result.classes_created = len(parsed.classes)
        result.status_changes = sum(
            1 for e in parsed.classes.values() if e.status not in (None, TeachingClass.Status.NOT_BUILT)
        )
        return []
    title, letter = parsed.status_column
    errors: list[RowError] = []
    seen = 0
    for entry in parsed.classes.values():
        school_id = plan.school_ids[entry.school]
        stored = plan.stored_classes.get((school_id, entry.grade, entry.name)) if school_id is not None else None
        if school_id is None or stored is None:
            result.classes_created += 1
            result.status_changes += entry.status not in (None, TeachingClass.Status.NOT_BUILT)
            continue
        seen += 1
        decision = updated_class(entry, stored, today=today)
        if decision.old_status is not None and is_backwards(stored.status, decision.status):
            errors.append(RowError(
                entry.row, title, letter,
                f"建设状态不能由导入从“{TeachingClass.Status(stored.status).label}”退回"
                f"“{TeachingClass.Status(decision.status).label}”；确需回退请在班级页面修改并填写原因。",
            ))
            continue
        if decision.changed:
            plan.class_updates.append((stored.id, school_id, decision))
        result.classes_updated += decision.changed
        result.classes_unchanged += not decision.changed
        result.status_changes += decision.old_status is not None
    result.classes_not_in_file = len(plan.stored_classes) - seen
    return errors


def import_survey(
    path: Path,
    *,
    region: Region | str,
    actor: Any,
    level: str | None = None,
    file_name: str = "",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SurveyResult:
    """Import a survey workbook into region (or the region so named), all or nothing.

    Raises SurveyInvalid (a ValidationError) naming every bad row, PermissionDenied when the
    actor may not import there. With dry_run, only counts what an import would do.
    """
    progress = progress or NullProgress()
    target = survey_target(region, actor=actor, level=level)
    parsed = parse_survey(path, target=target, modes=mode_lookup(target), progress=progress)
    if parsed.errors:
        raise SurveyInvalid(parsed.errors)
    result = SurveyResult(
        region_name=target.name, file_name=file_name or path.name, sha256=file_sha256(path),
        dry_run=dry_run, region=target.region,
    )
    today = timezone.localdate()
    # A dry run only reads; it must not hold SQLite's write lock while the preview page renders.
    with nullcontext() if dry_run else transaction.atomic():
        plan = _make_plan(parsed, target)
        errors = _count(parsed, plan, result, today=today)
        if errors:
            raise SurveyInvalid(errors)
        if not dry_run:
            _write(parsed, plan, result, actor=actor, today=today, progress=progress)
    return result


class _TableWriter:
    """Multi-row INSERTs and executemany UPDATEs of plain tuples.

    bulk_create compiles every value of every row in Python — about 100 µs a class here, so
    150,000 classes took half a minute. The survey must import within a few times the time
    it takes to read the file (benchmarks/survey_import.py), so the big tables are written
    from tuples, many rows per statement (on SQLite that halves the time executemany takes).
    Fields the import does not set get their model default, adapted by the same Field
    methods the ORM uses, so SQLite and PostgreSQL both receive what they expect.
    """

    # More rows per statement stops paying off well before any database's parameter limit.
    MAX_ROWS_PER_STATEMENT = 500

    def __init__(self, model: type[models.Model], fields: Sequence[str], *, now: dt.datetime) -> None:
        opts = model._meta
        qn = connection.ops.quote_name
        by_name = {f.name: f for f in opts.concrete_fields}
        given = [by_name[name] for name in fields]
        template = model()
        rest = [f for f in opts.concrete_fields if not f.primary_key and f.name not in fields]
        self.constants = tuple(
            f.get_db_prep_save(now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                               else getattr(template, f.attname), connection)
            for f in rest
        )
        self.width = len(given) + len(rest)
        columns = ", ".join(qn(f.get_attname_column()[1] or f.attname) for f in (*given, *rest))
        # Identifiers come from model metadata, values travel as parameters.
        self.insert_into = f"INSERT INTO {qn(opts.db_table)} ({columns})"
        self.insert_head = f"{self.insert_into} VALUES "
        # Django's SQLite cursor rewrites every %s to ? with a regex on each statement, a
        # third of the insert time for long multi-row statements; ? needs no rewriting.
        self.mark = "?" if connection.vendor == "sqlite" else "%s"
        self.row_marks = "(" + ", ".join([self.mark] * self.width) + ")"
        max_params = connection.features.max_query_params or self.MAX_ROWS_PER_STATEMENT * self.width
        self.per_statement = max(1, min(self.MAX_ROWS_PER_STATEMENT, max_params // self.width))
        self._sql: dict[int, str] = {}
        self.table = opts.db_table

    def _insert_sql(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            sql = self._sql[rows] = self.insert_head + ", ".join([self.row_marks] * rows)
        return sql

    def insert(self, rows: Iterable[tuple[Any, ...]]) -> None:
        constants = self.constants
        batch = [(*row, *constants) for row in rows]
        step = self.per_statement
        with connection.cursor() as cursor:
            for start in range(0, len(batch), step):
                chunk = batch[start : start + step]
                cursor.execute(self._insert_sql(len(chunk)), list(itertools.chain.from_iterable(chunk)))

    def update(self, fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """rows: the new values of fields, then the primary key."""
        if not rows:
            return
        qn = connection.ops.quote_name
        sets = ", ".join(f"{qn(name)} = %s" for name in fields)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {qn(self.table)} SET {sets} WHERE {qn('id')} = %s", rows)  # noqa: S608


def _write(
    parsed: ParsedSurvey, plan: _Plan, result: SurveyResult, *, actor: Any, today: dt.date, progress: Progress
) -> None:
    # Regions first, parents before children, through the one service that creates them.
    regions: dict[int, Region] = {}

    def region_of(node: _RegionNode) -> Region:
        if node.written_id not in regions:
            regions[node.written_id] = Region.objects.get(pk=node.written_id)
        return regions[node.written_id]

    for placement in sorted(plan.nodes, key=len):
        node = plan.nodes[placement]
        if node.id is None:
            parent = region_of(node.parent) if node.parent is not None else None
            region, _ = ensure_region(node.name, level=node.level, parent=parent, actor=actor)
            node.id, node.path = region.pk, region.path
            regions[region.pk] = region
    top = region_of(plan.top)
    result.region = top
    now = timezone.now()
    db_now = TeachingClass._meta.get_field("updated_at").get_db_prep_save(now, connection)
    school_ids = _write_schools(parsed, plan, top, now=now, db_now=db_now)

    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    writer = _ClassWriter(
        actor_id=real_actor.pk if real_actor is not None else None,
        reason=f"调查表导入：{result.file_name}"[:200], now=now, db_now=db_now, today=today,
    )
    progress.stage("写入", len(parsed.classes))
    recount = {school_id for _, school_id, _ in plan.class_updates}
    for class_id, _, decision in plan.class_updates:
        writer.update(class_id, decision)
    done = len(plan.class_updates)
    stored = plan.stored_classes
    for entry in parsed.classes.values():
        school_id = school_ids[entry.school]
        if not stored or (school_id, entry.grade, entry.name) not in stored:
            writer.create(school_id, entry)
            done += 1
            if done >= PROGRESS_EVERY:
                progress.advance(done)
                done = 0
            if plan.school_ids[entry.school] is not None:
                recount.add(school_id)  # a stored school with a new class
    writer.finish()
    _recount_schools(recount)
    progress.advance(done)

    audit.record(
        audit.Action.IMPORT, top, actor=actor,
        object_repr=f"调查表 {result.file_name}",
        after={**result.counts(), "file": result.file_name, "sha256": result.sha256},
    )


def _write_schools(
    parsed: ParsedSurvey, plan: _Plan, top: Region, *, now: dt.datetime, db_now: Any
) -> list[int]:
    """Create and update the schools; return every school's id, by school index.

    A new school's classes are exactly its rows in the survey, so its roll-ups (教学班数,
    已建班数, 学生数, see School) are counted here and inserted with it.
    """
    rollups = _new_school_rollups(parsed, plan)
    table = _TableWriter(
        School,
        ("region", "region_path", "name", "kind", "is_rural", "class_count", "built_count", "pupil_count"),
        now=now,
    )
    for start in range(0, len(parsed.schools), BATCH_SIZE):
        table.insert(
            (plan.nodes[s.placement].id, plan.nodes[s.placement].path, s.name, s.kind, school_is_rural(s.kind),
             *rollups.get(index, (0, 0, 0)))
            for index, s in enumerate(parsed.schools[start : start + BATCH_SIZE], start=start)
            if plan.school_ids[index] is None
        )
    table.update(
        ("kind", "is_rural", "updated_at"),
        [
            (parsed.schools[i].kind, school_is_rural(parsed.schools[i].kind), db_now, plan.school_ids[i])
            for i in plan.school_updates
        ],
    )
    if all(sid is not None for sid in plan.school_ids):
        return [sid for sid in plan.school_ids if sid is not None]
    # The new schools' ids, read back in one pass: executemany does not return them.
    ids = {
        (region_id, name): sid
        for sid, region_id, name in School.objects.filter(subtree_q("region_path", top.path))
        .values_list("id", "region_id", "name").iterator(chunk_size=BATCH_SIZE)
    }
    return [ids[(plan.nodes[s.placement].written_id, s.name)] for s in parsed.schools]


def _new_school_rollups(parsed: ParsedSurvey, plan: _Plan) -> dict[int, list[int]]:
    """[classes, built classes, pupils] of each new school, by school index."""
    built = TeachingClass.BUILT_STATUSES
    rollups: dict[int, list[int]] = {}
    for entry in parsed.classes.values():
        if plan.school_ids[entry.school] is None:
            counts = rollups.get(entry.school)
            if counts is None:
                counts = rollups[entry.school] = [0, 0, 0]
            counts[0] += 1
            counts[1] += entry.status in built
            counts[2] += entry.pupils
    return rollups


def _recount_schools(school_ids: Iterable[int]) -> None:
    """Recount the roll-ups of stored schools whose classes the import changed.

    The same counts as org.services.refresh_school_counts, in one UPDATE per chunk: that
    function saves each school through bulk_update, which takes seconds per thousand.
    """

    def per_school(aggregate: Any) -> Coalesce:
        counted = (
            TeachingClass.objects.filter(school_id=OuterRef("pk")).order_by().values("school_id")
            .annotate(value=aggregate).values("value")
        )
        return Coalesce(Subquery(counted, output_field=models.IntegerField()), Value(0))

    ids = sorted(set(school_ids))
    for start in range(0, len(ids), RECOUNT_CHUNK):
        School.objects.filter(id__in=ids[start : start + RECOUNT_CHUNK]).update(
            class_count=per_school(Count("id")),
            built_count=per_school(Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES))),
            pupil_count=per_school(Sum("pupils")),
        )


class _ClassWriter:
    """Writes classes and their status history in batches of BATCH_SIZE rows."""

    CREATE_FIELDS = ("school", "grade", "name", "pupils", "mode", "status", "built_year", "status_changed_on")
    UPDATE_COLUMNS = ("pupils", "mode_id", "status", "built_year", "status_changed_on", "updated_at")
    CHANGE_FIELDS = ("klass", "old_status", "new_status", "changed_on", "actor", "reason")

    def __init__(self, *, actor_id: int | None, reason: str, now: dt.datetime, db_now: Any, today: dt.date) -> None:
        self.actor_id = actor_id
        self.reason = reason
        self.db_now = db_now
        self.today = today
        self.classes = _TableWriter(TeachingClass, self.CREATE_FIELDS, now=now)
        self.history = _TableWriter(ClassStatusChange, self.CHANGE_FIELDS, now=now)
        self.to_create: list[tuple[Any, ...]] = []
        self.to_update: list[tuple[Any, ...]] = []
        self.changes: list[tuple[Any, ...]] = []
        # Every class this writer creates gets a larger id than any before it.
        self.last_id_before = TeachingClass.objects.aggregate(last=models.Max("id"))["last"] or 0
        self.created_with_history = False
        # first_status by (status, built year): a survey has only a handful of combinations.
        self._first: dict[tuple[str | None, int | None], tuple[str, int | None, Any, bool]] = {}
        self._dates: dict[dt.date | None, Any] = {None: None}

    def _date(self, value: dt.date | None) -> Any:
        prepared = self._dates.get(value)
        if prepared is None and value is not None:
            prepared = self._dates[value] = connection.ops.adapt_datefield_value(value)
        return prepared

    def create(self, school_id: int, entry: ClassEntry) -> None:
        first = self._first.get((entry.status, entry.built_year))
        if first is None:
            status, built_year, on = first_status(entry.status, entry.built_year, today=self.today)
            first = self._first[(entry.status, entry.built_year)] = (status, built_year, self._date(on), on is not None)
        status, built_year, db_on, has_history = first
        self.to_create.append(
            (school_id, entry.grade, entry.name, entry.pupils, entry.mode_id, status, built_year, db_on)
        )
        self.created_with_history |= has_history
        if len(self.to_create) >= BATCH_SIZE:
            self.classes.insert(self.to_create)
            self.to_create = []

    def update(self, class_id: int, d: ClassDecision) -> None:
        db_on = self._date(d.status_changed_on)
        self.to_update.append((d.pupils, d.mode_id, d.status, d.built_year, db_on, self.db_now, class_id))
        if d.old_status is not None:
            self.changes.append((class_id, d.old_status, d.status, db_on, self.actor_id, self.reason))
        if len(self.to_update) >= BATCH_SIZE:
            self.classes.update(self.UPDATE_COLUMNS, self.to_update)
            self.history.insert(self.changes)
            self.to_update, self.changes = [], []

    def finish(self) -> None:
        self.classes.insert(self.to_create)
        self.classes.update(self.UPDATE_COLUMNS, self.to_update)
        self.history.insert(self.changes)
        self.to_create, self.to_update, self.changes = [], [], []
        if self.created_with_history:
            self._history_of_new_classes()

    def _history_of_new_classes(self) -> None:
        """The first history row of each new class not created 未建, in one statement.

        A new class's status and its date are already on the class row, so the database
        copies them, instead of Python reading ids back. The classes are this import's: ids
        above those that existed before, stamped with this import's update time.
        """
        qn = connection.ops.quote_name
        column = {f.name: qn(f.get_attname_column()[1] or f.attname) for f in TeachingClass._meta.concrete_fields}
        m = self.history.mark
        constants = "".join(f", {m}" for _ in self.history.constants)
        select = f"{column['id']}, {m}, {column['status']}, {column['status_changed_on']}, {m}, {m}{constants}"
        where = f"{column['id']} > {m} AND {column['updated_at']} = {m} AND {column['status']} <> {m}"
        table = qn(TeachingClass._meta.db_table)
        # Identifiers come from model metadata, values travel as parameters.
        sql = f"{self.history.insert_into} SELECT {select} FROM {table} WHERE {where}"  # noqa: S608
        params = [
            "", self.actor_id, self.reason, *self.history.constants,
            self.last_id_before, self.db_now, TeachingClass.Status.NOT_BUILT.value,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
