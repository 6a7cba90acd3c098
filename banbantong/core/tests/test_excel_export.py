"""Every list exports to .xlsx; formula-like cells are written as literal text."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.excel import is_formula_like
from banbantong.org.models import School


@pytest.mark.parametrize(
    ("text", "expected"),
    [("=1+1", True), ("+86", True), ("-5", True), ("@SUM(A1)", True), ("\tx", True), ("普通", False), ("", False)],
)
def test_formula_like(text: str, expected: bool) -> None:
    assert is_formula_like(text) is expected


def _sheet(response: object) -> list[list[object]]:
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    return [[c.value for c in row] for row in wb.active.iter_rows()]


@pytest.mark.django_db
def test_hostile_school_name_stays_text(world: World, client: Client) -> None:
    School.objects.filter(pk=world.school_a.pk).update(name="=HYPERLINK(\"http://x\",\"点我\")")
    School.objects.filter(pk=world.school_a2.pk).update(name="@cmd\x01|calc")
    client.force_login(world.alice)
    response = client.get("/org/schools/?export=xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = wb.active
    names = [ws.cell(row=r, column=1) for r in range(2, ws.max_row + 1)]
    assert {c.value for c in names} == {"=HYPERLINK(\"http://x\",\"点我\")", "@cmd|calc"}
    assert all(c.data_type == "s" for c in names)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "header"),
    [("/org/schools/", "学校名称"), ("/org/classes/", "学校"), ("/org/teachers/", "姓名"), ("/org/classes/?grade=3", "年级")],
)
def test_lists_export_what_the_user_sees(world: World, client: Client, url: str, header: str) -> None:
    client.force_login(world.alice)
    sep = "&" if "?" in url else "?"
    rows = _sheet(client.get(f"{url}{sep}export=xlsx"))
    assert header in rows[0]
    flat = " ".join(str(v) for row in rows for v in row)
    assert "金川" not in flat and "李老师" not in flat


@pytest.mark.django_db
def test_teacher_export_masks_phone_and_id(world: World, client: Client) -> None:
    client.force_login(world.alice)
    rows = _sheet(client.get("/org/teachers/?export=xlsx"))
    flat = " ".join(str(v) for row in rows for v in row)
    assert "13812345678" not in flat and "138****5678" in flat
    assert "360822198001011234" not in flat and "360***********1234" in flat
