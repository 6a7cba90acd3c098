"""Loading textbook tables of contents (教材目录) from the Excel template.

One row per lesson: 学段, 学科, 教材版本, 年级, 册次, 单元序号, 单元名称, 课时序号, 课时名称. The header
may sit below a title row; cells are normalised (全角→半角). A check pass collects every row and
column error in Chinese; only a clean file is written, in one transaction (all or nothing).
Loading again updates names in place (units and lessons are matched by their numbers) and adds
what is new; nothing is deleted, because resources may already hang on a lesson.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from banbantong.core import audit
from banbantong.core.spreadsheet import EMPTY, column_letter, find_header, norm, sheets
from banbantong.org.grades import GRADE_LABELS, parse_grade
from banbantong.org.models import Region
from banbantong.resources import library_rules as lr
from banbantong.resources.models import Edition, Lesson, Unit, Volume

COLUMNS: dict[str, tuple[str, ...]] = {
    "stage": ("学段",),
    "subject": ("学科",),
    "edition": ("教材版本", "版本", "教材"),
    "grade": ("年级",),
    "term": ("册次", "册", "上下册"),
    "unit_no": ("单元序号", "单元号"),
    "unit": ("单元名称", "单元"),
    "lesson_no": ("课时序号", "课号", "课时号"),
    "lesson": ("课时名称", "课时", "课题", "课文"),
}
REQUIRED = tuple(COLUMNS)
HEADERS = [names[0] for names in COLUMNS.values()]
NO_HEADER = "找不到表头：第一张工作表需要这些列：" + "、".join(HEADERS) + "。请从页面下载模板填写。"
MAX_ROWS = 20_000
NAME_FIELDS = frozenset({"edition", "unit", "lesson"})


@dataclass(frozen=True)
class Row:
    line: int
    stage: str
    subject: str
    edition: str
    grade: int
    term: str
    unit_no: int
    unit: str
    lesson_no: int
    lesson: str


@dataclass
class CatalogueResult:
    rows: int = 0
    editions: int = 0
    volumes: int = 0
    units: int = 0
    lessons: int = 0
    created_lessons: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_can_load(actor: Any, region: Region) -> None:
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能导入教材目录。")
    if not (actor.is_superuser or actor.role == "bureau_admin"):
        raise PermissionDenied("只有局管理员可以导入教材目录。")
    if not actor.scope.covers_path(region.path):
        raise PermissionDenied("该区域不在您的管辖范围内。")


def read_rows(path: Path) -> tuple[list[list[Any]], int, dict[str, int]]:
    """The first sheet's rows, the index of its header row and the column of each field."""
    for _name, rows_iter in sheets(path):
        rows = [list(r) for _, r in zip(range(MAX_ROWS + 40), rows_iter, strict=False)]
        if not any(norm(c) for r in rows for c in r):
            raise ValidationError(EMPTY)
        found = find_header(rows, COLUMNS, required=REQUIRED)
        if found is None:
            raise ValidationError(NO_HEADER)
        return rows, found[0], found[1]
    raise ValidationError(EMPTY)


def check_rows(raw: list[list[Any]], header: int, cols: dict[str, int]) -> tuple[list[Row], list[tuple[int, str, str]]]:
    """Every row checked; errors as (Excel row number, column 'B 学科', message)."""
    errors: list[tuple[int, str, str]] = []
    rows: list[Row] = []
    seen_lessons: dict[tuple[Any, ...], int] = {}
    unit_names: dict[tuple[Any, ...], tuple[str, int]] = {}
    data = raw[header + 1 :]
    if len(data) > MAX_ROWS:
        errors.append((header + 2 + MAX_ROWS, "", f"一次最多导入 {MAX_ROWS} 行，请分成几个文件。"))
        data = data[:MAX_ROWS]
    for offset, cells in enumerate(data):
        line = header + 2 + offset

        def cell(name: str, cells: list[Any] = cells) -> str:
            j = cols[name]
            if j >= len(cells):
                return ""
            # Names keep the book's own punctuation (全角括号); codes and numbers are normalised.
            return _text(cells[j]) if name in NAME_FIELDS else norm(cells[j])

        def where(name: str) -> str:
            return f"{column_letter(cols[name])} {HEADERS[list(COLUMNS).index(name)]}"

        values = {name: cell(name) for name in COLUMNS}
        if not any(values.values()):
            continue  # blank rows between books are fine
        row_errors: list[tuple[int, str, str]] = []

        def bad(name: str, message: str, line: int = line, row_errors: list[tuple[int, str, str]] = row_errors) -> None:
            if message:
                row_errors.append((line, where(name), message))

        bad("stage", lr.stage_problem(values["stage"]))
        bad("subject", lr.length_problem(values["subject"], "学科", lr.MAX_SUBJECT))
        bad("edition", lr.length_problem(values["edition"], "教材版本", lr.MAX_EDITION))
        grade = parse_grade(values["grade"]) if values["grade"] else None
        bad("grade", lr.grade_problem(values["stage"], grade, values["grade"]) if values["grade"] else "年级不能为空。")
        bad("term", lr.length_problem(values["term"], "册次", lr.MAX_TERM))
        unit_no, msg = lr.number_problem(values["unit_no"], "单元序号")
        bad("unit_no", msg)
        bad("unit", lr.length_problem(values["unit"], "单元名称", lr.MAX_NAME))
        lesson_no, msg = lr.number_problem(values["lesson_no"], "课时序号")
        bad("lesson_no", msg)
        bad("lesson", lr.length_problem(values["lesson"], "课时名称", lr.MAX_NAME))
        if row_errors or grade is None or unit_no is None or lesson_no is None:
            errors.extend(row_errors)
            continue
        book = (values["stage"], values["subject"], values["edition"], grade, values["term"])
        if (first := seen_lessons.get((*book, unit_no, lesson_no))) is not None:
            bad("lesson_no", f"与第 {first} 行重复：同一册同一单元的课时序号 {lesson_no} 出现了两次。")
        else:
            seen_lessons[(*book, unit_no, lesson_no)] = line
        named = unit_names.setdefault((*book, unit_no), (values["unit"], line))
        if named[0] != values["unit"]:
            bad("unit", f"第 {unit_no} 单元在第 {named[1]} 行叫“{named[0]}”，这里却叫“{values['unit']}”。")
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(Row(line, values["stage"], values["subject"], values["edition"], grade, values["term"],
                        unit_no, values["unit"], lesson_no, values["lesson"]))
    if not rows and not errors:
        errors.append((header + 2, "", EMPTY))
    return rows, errors


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).replace("\u3000", " ").split())


def load_catalogue(path: Path, *, region: Region, actor: Any, dry_run: bool = False) -> CatalogueResult:
    """Check a filled template and, when every row is good and not `dry_run`, write it all."""
    check_can_load(actor, region)
    raw, header, cols = read_rows(path)
    rows, errors = check_rows(raw, header, cols)
    return load_rows(rows, region=region, actor=actor, errors=errors, dry_run=dry_run, file_name=path.name)


def load_rows(rows: list[Row], *, region: Region, actor: Any, errors: list[tuple[int, str, str]] | None = None,
              dry_run: bool = False, file_name: str = "") -> CatalogueResult:
    check_can_load(actor, region)
    result = CatalogueResult(rows=len(rows), errors=list(errors or []))
    books = {(r.stage, r.subject, r.edition) for r in rows}
    result.editions = len(books)
    result.volumes = len({(r.stage, r.subject, r.edition, r.grade, r.term) for r in rows})
    result.units = len({(r.stage, r.subject, r.edition, r.grade, r.term, r.unit_no) for r in rows})
    result.lessons = len(rows)
    if result.errors or dry_run:
        return result
    with transaction.atomic():
        result.created_lessons = _write(rows, region)
        audit.record(audit.Action.IMPORT, region, actor=actor, object_type="resources.Edition",
                     object_repr=f"教材目录 {file_name}".strip(),
                     after={"rows": result.rows, "editions": result.editions, "volumes": result.volumes,
                            "units": result.units, "lessons": result.lessons, "new_lessons": result.created_lessons})
    return result


def _write(rows: list[Row], region: Region) -> int:
    created = 0
    editions: dict[tuple[str, str, str], Edition] = {}
    volumes: dict[tuple[Any, ...], Volume] = {}
    units: dict[tuple[Any, ...], Unit] = {}
    for r in rows:
        ekey = (r.stage, r.subject, r.edition)
        if (edition := editions.get(ekey)) is None:
            edition, _ = Edition.objects.get_or_create(region=region, stage=r.stage, subject=r.subject, name=r.edition)
            editions[ekey] = edition
        vkey = (*ekey, r.grade, r.term)
        if (volume := volumes.get(vkey)) is None:
            volume, _ = Volume.objects.get_or_create(edition=edition, grade=r.grade, term=r.term,
                                                     defaults={"order": len(volumes)})
            volumes[vkey] = volume
        ukey = (*vkey, r.unit_no)
        if (unit := units.get(ukey)) is None:
            unit, made = Unit.objects.get_or_create(volume=volume, number=r.unit_no, defaults={"name": r.unit})
            if not made and unit.name != r.unit:
                Unit.objects.filter(pk=unit.pk).update(name=r.unit)
            units[ukey] = unit
        lesson, made = Lesson.objects.get_or_create(unit=unit, number=r.lesson_no, defaults={"name": r.lesson})
        created += made
        if not made and lesson.name != r.lesson:
            Lesson.objects.filter(pk=lesson.pk).update(name=r.lesson)
            # Resources keep the lesson name they display in step with the catalogue.
            lesson.resources.update(lesson=r.lesson)
    return created


def template_sheets() -> list[tuple[str, list[str], list[list[Any]]]]:
    """The template: the header and two example rows, and a sheet that explains the columns."""
    examples: list[list[Any]] = [
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 1, "秒的认识"],
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 2, "时间的计算"],
    ]
    notes = [
        ["学段", "小学、初中或高中"],
        ["学科", "如 语文、数学、英语"],
        ["教材版本", "如 人教版、北师大版、统编版"],
        ["年级", "如 三年级、七年级（初一）、高一"],
        ["册次", "如 上册、下册、全一册"],
        ["单元序号 / 单元名称", "同一册中同一单元序号的名称必须相同"],
        ["课时序号 / 课时名称", "每行一个课时；同一单元中课时序号不能重复"],
        ["再次导入", "按序号更新名称并补充新课时；不会删除已有课时（可能已有资源挂在上面）"],
    ]
    return [("教材目录", HEADERS, examples), ("填写说明", ["列", "说明"], notes)]


def row_of(volume: Volume, unit: Unit, lesson: Lesson) -> Row:
    """The template row of a lesson (for exports of the catalogue)."""
    e = volume.edition
    return Row(0, e.stage, e.subject, e.name, volume.grade, volume.term, unit.number, unit.name,
               lesson.number, lesson.name)


def grade_label(grade: int) -> str:
    return GRADE_LABELS.get(grade, str(grade))
