"""Timetables (课表): import from Excel, all or nothing, and copy from last semester.

Two layouts are read: one long table (年级, 班级, 星期, 节次, 学科, 教师 — a row per lesson), or a
grid per class (one sheet per class named like 三年级2班, periods down, 星期一…星期五 across, each
cell “数学 王老师”). Importing replaces the school's timetable for that semester.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from banbantong.core import audit
from banbantong.core.spreadsheet import EMPTY, column_letter, find_header, nfkc, norm, sheets
from banbantong.org.grades import parse_grade
from banbantong.org.models import School, Teacher, TeachingClass
from banbantong.usage.models import Semester, TimetableSlot

LONG_ALIASES = {
    "grade": ("年级",),
    "klass": ("班级", "班级名称", "班名"),
    "weekday": ("星期", "周次", "星期几"),
    "period": ("节次", "节", "第几节"),
    "subject": ("学科", "科目", "课程"),
    "teacher": ("教师", "任课教师", "老师", "教师姓名"),
}
WEEKDAY_NAMES = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_WEEKDAY = re.compile(r"^(?:星期|周|礼拜)?([一二三四五六日天1-7])$")
_PERIOD = re.compile(r"^第?(\d{1,2})节?$")
_CLASS_SHEET = re.compile(r"^(?P<grade>.+?级|初[一二三]|高[一二三])(?P<klass>\d{1,3}班?)$")
MAX_PERIOD = 12


@dataclass
class TimetableResult:
    classes: int = 0
    slots: int = 0
    errors: list[str] = field(default_factory=list)


def _weekday(value: Any) -> int | None:
    m = _WEEKDAY.match(norm(value))
    if not m:
        return None
    text = m.group(1)
    return int(text) if text.isdigit() else WEEKDAY_NAMES[text]


def _period(value: Any) -> int | None:
    m = _PERIOD.match(norm(value))
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= MAX_PERIOD else None


def _class_name(value: Any) -> str:
    text = norm(value)
    return text if text.endswith("班") else f"{text}班"


def check_can_edit(actor: Any, school: School) -> None:
    if actor is None:
        return
    if getattr(actor, "read_only", False) or not (actor.is_superuser or actor.role in {"school_admin", "bureau_admin"}):
        raise PermissionDenied("只有学校管理员或局管理员可以导入和修改课表。")
    scope = actor.scope
    if not (scope.everything or school.pk in scope.school_ids or scope.covers_path(school.region_path)):
        raise PermissionDenied("该学校不在您的管辖范围内。")


def _parse(path: Path, school: School) -> tuple[list[tuple[int, int, int, str, int | None]], list[str]]:
    """(class id, weekday, period, subject, teacher id) per slot, and every error by sheet/row/column."""
    classes = {(c.grade, c.name): c.pk for c in TeachingClass.objects.filter(school=school)}
    teachers: dict[str, list[int]] = {}
    for t in Teacher.objects.filter(school=school):
        teachers.setdefault(norm(t.name), []).append(t.pk)
    slots: list[tuple[int, int, int, str, int | None]] = []
    errors: list[str] = []
    seen: dict[tuple[int, int, int], str] = {}
    any_rows = False

    def teacher_id(name: str, where: str) -> int | None:
        if not name:
            return None
        ids = teachers.get(norm(name), [])
        if len(ids) != 1:
            errors.append(f"{where}：{'本校没有' if not ids else '本校有多位'}名叫“{name}”的教师。")
            return None
        return ids[0]

    def add(klass: int, weekday: int, period: int, subject: str, teacher: int | None, where: str) -> None:
        key = (klass, weekday, period)
        if key in seen:
            errors.append(f"{where}：与{seen[key]}重复（同一班级同一节）。")
            return
        seen[key] = where
        slots.append((klass, weekday, period, subject[:20], teacher))

    for sheet_name, rows_iter in sheets(path):
        rows = [list(r) for r in rows_iter]
        if not any(any(norm(c) for c in r) for r in rows):
            continue
        any_rows = True
        header = find_header(rows, LONG_ALIASES, required=("grade", "klass", "weekday", "period", "subject"))
        if header is not None:
            start, cols = header
            for i, row in enumerate(rows[start + 1 :], start=start + 2):
                def cell(name: str, row: list[Any] = row, cols: dict[str, int] = cols) -> Any:
                    j = cols.get(name)
                    return row[j] if j is not None and j < len(row) else None

                if not any(norm(c) for c in row):
                    continue
                where = f"“{sheet_name}”第 {i} 行"
                grade = parse_grade(cell("grade"))
                klass = classes.get((grade, _class_name(cell("klass")))) if grade else None
                weekday, period, subject = _weekday(cell("weekday")), _period(cell("period")), norm(cell("subject"))
                if klass is None:
                    errors.append(f"{where} {column_letter(cols['grade'])}–{column_letter(cols['klass'])} 列：本校没有"
                                  f"“{norm(cell('grade'))}{norm(cell('klass'))}”这个班级。")
                if weekday is None:
                    errors.append(f"{where} {column_letter(cols['weekday'])} 列：星期“{norm(cell('weekday'))}”看不懂。")
                if period is None:
                    errors.append(f"{where} {column_letter(cols['period'])} 列：节次“{norm(cell('period'))}”应为 1–{MAX_PERIOD}。")
                if not subject:
                    errors.append(f"{where} {column_letter(cols['subject'])} 列：学科不能为空。")
                teacher = teacher_id(norm(cell("teacher")), where) if "teacher" in cols else None
                if klass and weekday and period and subject:
                    add(klass, weekday, period, subject, teacher, where)
            continue
        # Grid layout: the sheet is one class.
        m = _CLASS_SHEET.match(norm(sheet_name))
        grade = parse_grade(m.group("grade")) if m else None
        klass = classes.get((grade, _class_name(m.group("klass")))) if m and grade else None
        if klass is None:
            errors.append(f"工作表“{sheet_name}”：既不是课表长表（缺少 年级/班级/星期/节次/学科 表头），"
                          "工作表名也不是本校的班级（例如“三年级2班”）。")
            continue
        day_cols: dict[int, int] = {}
        head_row = 0
        for i, row in enumerate(rows[:10]):
            found = {j: d for j, c in enumerate(row) if (d := _weekday(c))}
            if len(found) >= 3:
                day_cols, head_row = {d: j for j, d in found.items()}, i
                break
        if not day_cols:
            errors.append(f"工作表“{sheet_name}”：找不到“星期一…星期五”表头。")
            continue
        for i, row in enumerate(rows[head_row + 1 :], start=head_row + 2):
            period = _period(row[0]) if row else None
            if period is None:
                if row and norm(row[0]):
                    errors.append(f"“{sheet_name}”第 {i} 行 A 列：节次“{norm(row[0])}”应为 1–{MAX_PERIOD}。")
                continue
            for weekday, j in day_cols.items():
                text = str(row[j]).strip() if j < len(row) and row[j] is not None else ""
                if not text:
                    continue
                parts = re.split(r"[\s/、,]+", nfkc(text), maxsplit=1)
                where = f"“{sheet_name}”第 {i} 行 {column_letter(j)} 列"
                teacher = teacher_id(parts[1], where) if len(parts) > 1 else None
                add(klass, weekday, period, norm(parts[0]), teacher, where)
    if not any_rows:
        errors.append(EMPTY)
    return slots, errors


@transaction.atomic
def import_timetable(path: Path, *, actor: Any, school: School, semester: Semester, dry_run: bool = False) -> TimetableResult:
    """Replace the school's timetable for the semester from a workbook; any error writes nothing."""
    check_can_edit(actor, school)
    slots, errors = _parse(path, school)
    result = TimetableResult(classes=len({s[0] for s in slots}), slots=len(slots), errors=errors)
    if errors or dry_run:
        return result
    classes = {s[0] for s in slots}
    TimetableSlot.objects.filter(semester=semester, klass_id__in=classes).delete()
    TimetableSlot.objects.bulk_create(
        TimetableSlot(klass_id=k, semester=semester, weekday=w, period=p, subject=s, teacher_id=t)
        for k, w, p, s, t in slots
    )
    audit.record(audit.Action.IMPORT, school, actor=actor, object_type="usage.TimetableSlot",
                 after={"semester": semester.name, "classes": result.classes, "slots": result.slots})
    return result


@transaction.atomic
def copy_timetable(*, actor: Any, school: School, source: Semester, target: Semester) -> int:
    """Start a new semester from last semester's timetable (classes and teachers as they were)."""
    check_can_edit(actor, school)
    if source.pk == target.pk:
        raise ValidationError("源学期和目标学期相同。")
    if TimetableSlot.objects.filter(semester=target, klass__school=school).exists():
        raise ValidationError(f"{school.name} 在“{target.name}”已有课表；如需覆盖，请先导入新课表。")
    rows = list(TimetableSlot.objects.filter(semester=source, klass__school=school))
    TimetableSlot.objects.bulk_create(
        TimetableSlot(klass_id=r.klass_id, semester=target, weekday=r.weekday, period=r.period, subject=r.subject,
                      teacher_id=r.teacher_id)
        for r in rows
    )
    audit.record(audit.Action.CREATE, school, actor=actor, object_type="usage.TimetableSlot",
                 after={"copied_from": source.name, "to": target.name, "slots": len(rows)})
    return len(rows)
