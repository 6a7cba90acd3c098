"""Resource pages in English: headers and the kind, library and review-state labels follow the
language switch; the Excel export and the audit text stay Chinese."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.resources import quotas
from banbantong.resources.models import Resource
from banbantong.resources.tests.kit import make_resource, reviewer_b, submitted


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
def test_resource_list_in_chinese_and_in_english(world: World, client: Client, media: Path) -> None:
    submitted(world, title="分数的初步认识")
    make_resource(world, title="认识钟表教案", kind=Resource.Kind.LESSON_PLAN)
    client.force_login(world.alice)
    chinese = client.get("/resources/").content.decode()
    assert "标题" in chinese and "课件" in chinese and "区域资源网" in chinese and "待审核" in chinese

    english = _english(client).get("/resources/").content.decode()
    assert 'lang="en"' in english
    assert "Title" in english and "Review status" in english and "Uploaded by" in english
    assert "Courseware" in english and "Lesson plan" in english
    assert "Regional network" in english and "School library" in english and "Awaiting review" in english
    for word in ("标题", "课件", "区域资源网", "校本资源库", "待审核"):
        assert word not in english.replace("分数的初步认识", "").replace("认识钟表教案", ""), word
    # Titles are data: they stay as written.
    assert "分数的初步认识" in english


@pytest.mark.django_db
def test_resource_export_from_an_english_page_is_chinese(world: World, client: Client, media: Path) -> None:
    submitted(world, title="分数的初步认识")
    client.force_login(world.alice)
    response = _english(client).get("/resources/?export=xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("标题", "类型")
    assert rows[1][0] == "分数的初步认识" and rows[1][1] == "课件"
    assert "区域资源网" in rows[1] and "待审核" in rows[1]


@pytest.mark.django_db
def test_review_queue_in_english(world: World, client: Client, media: Path) -> None:
    submitted(world, title="待审的分数课件")
    client.force_login(world.reviewer_a)
    english = _english(client).get("/resources/review/").content.decode()
    assert "Submitted to" in english and "Courseware" in english and "Lesson" in english
    assert "待审的分数课件" in english and "提交到" not in english
    # County B's reviewer sees none of county A's submissions, in English too.
    client.force_login(reviewer_b(world))
    assert "待审的分数课件" not in _english(client).get("/resources/review/").content.decode()


@pytest.mark.django_db
def test_quota_audit_text_written_during_an_english_request_is_chinese(world: World) -> None:
    with translation.override("en"):
        quotas.assign_quotas(quotas.QuotaInput(region=world.county_a, year=2026, kind="courseware",
                                               subject="数学", target=3), actor=world.alice)
    entry = AuditEntry.objects.get(object_type="resources.Quota")
    assert "课件" in entry.object_repr and "Courseware" not in entry.object_repr
