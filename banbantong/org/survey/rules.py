"""The survey's rules: how a header or a cell is read, and what a row does to a class.

Pure decisions, no ORM: each parser returns the value to store or raises CellError with
the Chinese message a bureau clerk needs to fix the sheet. Tested without a database
(tests/test_survey_grades.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from banbantong.core.i18n import chinese
from banbantong.org.grades import parse_grade
from banbantong.org.models import Region, School, TeachingClass

if TYPE_CHECKING:
    from banbantong.org.survey.parse import ClassEntry, Target

# Bureau sheets put titles, dates and merged banners above the header; 30 rows is far more
# than any real form uses, and scanning stops there so a headerless sheet fails fast.
HEADER_SCAN_ROWS = 30
# Fewer matches than this is a table of something else, not a survey.
MIN_HEADER_MATCHES = 3
# No real teaching class has more; a bigger number is a typo or a school total in the wrong column.
MAX_PUPILS = 200
MIN_BUILT_YEAR = 1990
MAX_SCHOOL_NAME = School._meta.get_field("name").max_length or 100
MAX_REGION_NAME = Region._meta.get_field("name").max_length or 60
MAX_CLASS_NAME = TeachingClass._meta.get_field("name").max_length or 40
# Region chain under the target: ((name, level), ...), e.g. (("吉水县", "county"), ("八都镇", "town")).
Placement = tuple[tuple[str, str], ...]

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


def is_total_row(school: str, county: str = "", town: str = "") -> bool:
    """A 合计/小计 line: marked in the school cell, or in 区县/乡镇 when the school is blank."""
    if school:
        return school.startswith(TOTAL_ROW_PREFIXES)
    return county.startswith(TOTAL_ROW_PREFIXES) or town.startswith(TOTAL_ROW_PREFIXES)


def _choice_lookup(labels: Mapping[str, str], choices: Iterable[tuple[str, object]]) -> dict[str, str]:
    lookup = {_label_key(k): v for k, v in labels.items()}
    for value, label in choices:
        lookup.setdefault(_label_key(value), value)
        lookup.setdefault(_label_key(chinese(label)), value)  # a survey is written in Chinese
    return lookup


_KIND_LOOKUP = _choice_lookup(KIND_LABELS, School.Kind.choices)
_STATUS_LOOKUP = _choice_lookup(STATUS_LABELS, TeachingClass.Status.choices)


def parse_school_name(value: object) -> str:
    name = clean_name(value)
    if not name:
        raise CellError("学校名称不能为空。")
    if len(name) > MAX_SCHOOL_NAME:
        raise CellError(f"学校名称太长（最多 {MAX_SCHOOL_NAME} 个字）。")
    return name


def parse_kind(value: object) -> str:
    """'村级小学' -> 'village_primary'; the School.Kind value or CellError."""
    key = _label_key(value)
    if not key:
        raise CellError("学校类型不能为空。")
    kind = _KIND_LOOKUP.get(key)
    if kind is None:
        allowed = "、".join(chinese(label) for _, label in School.Kind.choices)
        raise CellError(f"无法识别的学校类型“{_nfkc(value)}”，请填写：{allowed}。")
    return kind


def parse_status(value: object) -> str | None:
    """'已建成' -> 'built'; blank -> None (keep what is stored); else CellError."""
    key = _label_key(value)
    if not key:
        return None
    status = _STATUS_LOOKUP.get(key)
    if status is None:
        allowed = "、".join(chinese(label) for _, label in TeachingClass.Status.choices)
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


def mode_parser(modes: Mapping[str, int]) -> Callable[[object], int | None]:
    """The parser of the 班班通模式 column, for the modes (mode_key -> id) of the target region."""

    def parse(value: object) -> int | None:
        key = mode_key(_nfkc(value))
        if not key:
            return None
        mode_id = modes.get(key)
        if mode_id is None:
            raise CellError(f"未知的班班通模式“{_nfkc(value)}”，请使用本区域模式目录中的名称或代码。")
        return mode_id

    return parse


def guess_region_level(name: str) -> str:
    """The level a new top region most likely has, from how Chinese place names end."""
    if name.endswith(("省", "自治区")):
        return Region.Level.PROVINCE
    if name.endswith(("县", "区", "旗", "市辖区", "自治县", "县级市")):
        return Region.Level.COUNTY
    return Region.Level.CITY


def placement_of(county: str, town: str, target: Target) -> Placement:
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
    old_status: str | None  # None: the status does not change
    changed: bool


def status_change_date(status: str, built_year: int | None, *, today: dt.date) -> dt.date:
    """When a class first imported as built reached that status: its year's end, never the future."""
    if built_year is not None and status in TeachingClass.BUILT_STATUSES:
        return min(dt.date(built_year, 12, 31), today)
    return today


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
