"""Timetable import (long table and grid), all or nothing, and copying a semester."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from banbantong.conftest import World
from banbantong.usage import services, timetables
from banbantong.usage.models import Semester, TimetableSlot


@pytest.fixture
def autumn(world: World) -> Semester:
    return services.add_semester(world.county_a, actor=world.alice, name="2026秋", start=dt.date(2026, 9, 1),
                                 end=dt.date(2027, 1, 22))


def _long(tmp_path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["文峰中心小学 2026 秋季课表"])
    ws.append(["年级", "班级", "星期", "节次", "学科", "教师"])
    for r in rows:
        ws.append(r)
    path = tmp_path / "课表.xlsx"
    wb.save(path)
    return path


@pytest.mark.django_db
def test_long_table_import(world: World, autumn: Semester, tmp_path: Path) -> None:
    path = _long(tmp_path, [["三年级", "1班", "星期一", "第1节", "数学", "王老师"], ["3", "１", "二", 2, "语文", ""]])
    result = timetables.import_timetable(path, actor=world.principal_a, school=world.school_a, semester=autumn)
    assert (result.errors, result.slots) == ([], 2)
    slot = TimetableSlot.objects.get(weekday=1, period=1)
    assert (slot.klass, slot.teacher, slot.subject) == (world.class_a, world.teacher_a, "数学")


@pytest.mark.django_db
def test_bad_rows_write_nothing(world: World, autumn: Semester, tmp_path: Path) -> None:
    path = _long(tmp_path, [
        ["三年级", "1班", "星期一", 1, "数学", "王老师"],
        ["三年级", "9班", "星期八", 15, "", "张三"],
        ["三年级", "1班", "星期一", 1, "美术", ""],
    ])
    result = timetables.import_timetable(path, actor=world.principal_a, school=world.school_a, semester=autumn)
    text = "\n".join(result.errors)
    assert "第 4 行" in text and "没有“三年级9班”" in text and "星期“星期八”" in text and "节次“15”" in text
    assert "学科不能为空" in text and "重复" in text
    assert not TimetableSlot.objects.exists()


@pytest.mark.django_db
def test_grid_sheet_per_class(world: World, autumn: Semester, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "三年级1班"
    ws.append(["节次", "星期一", "星期二", "星期三", "星期四", "星期五"])
    ws.append([1, "数学 王老师", "语文", None, "数学/王老师", "科学"])
    path = tmp_path / "grid.xlsx"
    wb.save(path)
    result = timetables.import_timetable(path, actor=world.alice, school=world.school_a, semester=autumn)
    assert result.errors == [] and result.slots == 4


@pytest.mark.django_db
def test_not_excel_and_scope(world: World, autumn: Semester, tmp_path: Path) -> None:
    from django.core.exceptions import ValidationError

    fake = tmp_path / "课表.xlsx"
    fake.write_bytes(b"MZ not a workbook")
    with pytest.raises(ValidationError, match="不是有效的 Excel"):
        timetables.import_timetable(fake, actor=world.principal_a, school=world.school_a, semester=autumn)
    with pytest.raises(PermissionDenied):
        timetables.import_timetable(fake, actor=world.bob, school=world.school_a, semester=autumn)
    with pytest.raises(PermissionDenied):
        timetables.import_timetable(fake, actor=world.teacher_user_a, school=world.school_a, semester=autumn)


@pytest.mark.django_db
def test_copy_from_last_semester(world: World, autumn: Semester, tmp_path: Path) -> None:
    path = _long(tmp_path, [["三年级", "1班", "星期一", 1, "数学", "王老师"]])
    timetables.import_timetable(path, actor=world.principal_a, school=world.school_a, semester=autumn)
    spring = services.add_semester(world.county_a, actor=world.alice, name="2027春", start=dt.date(2027, 2, 20),
                                   end=dt.date(2027, 7, 10))
    assert timetables.copy_timetable(actor=world.principal_a, school=world.school_a, source=autumn, target=spring) == 1
    assert TimetableSlot.objects.filter(semester=spring).count() == 1


@pytest.mark.django_db
def test_timetable_page_upload_preview_confirm(world: World, autumn: Semester, tmp_path: Path, client: Client) -> None:
    path = _long(tmp_path, [["三年级", "1班", "星期一", 1, "数学", "王老师"]])
    client.force_login(world.principal_a)
    with path.open("rb") as fh:
        page = client.post("/usage/timetable/", {"school": world.school_a.pk, "file": fh}).content.decode()
    assert "检查通过" in page and not TimetableSlot.objects.exists()
    import re

    token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/usage/timetable/", {"school": world.school_a.pk, "action": "confirm", "token": token, "suffix": ".xlsx"})
    assert TimetableSlot.objects.count() == 1
    client.force_login(world.bob)
    assert client.get(f"/usage/timetable/?school={world.school_a.pk}").status_code == 404
