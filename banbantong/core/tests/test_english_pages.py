"""The language switch: pages in English say their column headers and choice labels in English;
Chinese stays the default, and exports, the API and stored text stay Chinese."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from banbantong.conftest import World
from banbantong.core import audit
from banbantong.core.models import AuditEntry


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
def test_school_list_in_english_and_in_chinese(world: World, client: Client) -> None:
    client.force_login(world.alice)
    chinese = client.get("/org/schools/").content.decode()
    assert "<th>学校名称</th>" in chinese.replace(' class="num"', "")
    assert "中心小学" in chinese and "村小" in chinese

    english = _english(client).get("/org/schools/").content.decode()
    assert 'lang="en"' in english
    assert "School name" in english and "School kind" in english and "Coverage (%)" in english
    assert "Central primary school" in english and "Village primary school" in english
    assert "学校名称" not in english and "学校类型" not in english
    # Names entered by people are data, not interface: they stay as written.
    assert "文峰中心小学" in english


@pytest.mark.django_db
def test_class_and_teacher_lists_in_english(world: World, client: Client) -> None:
    client.force_login(world.alice)
    _english(client)
    classes = client.get("/org/classes/").content.decode()
    assert "Grade 3" in classes and "Not built" in classes and "Built" in classes
    assert "三年级" not in classes and "未建" not in classes
    teachers = client.get("/org/teachers/").content.decode()
    assert "Subject taught" in teachers and "ID number" in teachers


@pytest.mark.django_db
def test_audit_log_in_english_keeps_stored_text(world: World, client: Client) -> None:
    client.force_login(world.auditor_a)
    with translation.override("en"):
        entry = audit.record(audit.Action.UPDATE, world.class_a, actor=world.alice)
    # Stored text does not depend on the language of whoever wrote it.
    assert entry.object_repr == "文峰中心小学 三年级1班"
    english = _english(client).get("/audit/").content.decode()
    assert "Object type" in english and "Request ID" in english
    assert ">Update<" in english
    assert "文峰中心小学 三年级1班" in english


@pytest.mark.django_db
def test_export_from_an_english_page_is_chinese(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = _english(client).get("/org/schools/?export=xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert ws.title == "学校"
    assert rows[0][:3] == ("学校名称", "所属区域", "学校类型")
    assert {r[2] for r in rows[1:]} == {"中心小学", "村小"}


@pytest.mark.django_db
def test_api_stays_chinese_with_the_english_cookie(world: World, client: Client) -> None:
    client.force_login(world.alice)
    me = _english(client).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role_label"] == "局管理员"
    assert me["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_out_of_scope_school_is_404_in_english_too(world: World, client: Client) -> None:
    client.force_login(world.bob)
    response = _english(client).get(f"/org/schools/{world.school_a.pk}/")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DENIED).exists()


@pytest.mark.django_db
def test_an_english_request_leaves_the_thread_in_chinese(world: World, client: Client) -> None:
    from banbantong.org.grades import grade_label

    client.force_login(world.alice)
    assert _english(client).get("/org/schools/").status_code == 200
    # What runs next on this thread (a job, the next test) gets the default language back.
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert str(grade_label(4)) == "四年级"


@pytest.mark.django_db
def test_password_rule_in_the_page_language(world: World, client: Client) -> None:
    client.force_login(world.alice)
    assert "密码至少要包含小写字母、大写字母、数字、符号中的 3 类字符。" in client.get("/accounts/password/").content.decode()
    english = _english(client).get("/accounts/password/").content.decode()
    assert ("A password must contain characters of at least 3 of these kinds: lower-case letters, "
            "upper-case letters, digits, symbols.") in english
    assert "类字符" not in english
