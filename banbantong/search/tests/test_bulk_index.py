"""The bulk path (text.documents, indexing.rows_for, backend insert) makes exactly the rows that
indexing one resource after its save makes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from banbantong.conftest import World
from banbantong.resources.models import Resource
from banbantong.search import indexing, text
from banbantong.search.backends import backend
from banbantong.search.tests.kit import docx, indexed, pptx

pytestmark = pytest.mark.django_db

TRICKY = [
    ("分数的初步认识", "三年级上册第八单元\n第二课时", "数学,分数，公开课", ""),
    ("分數的意義（繁體）", "ＰＰＴ课件 Ａ４ 打印", "", "第一张 分数线\n第二张"),
    ("Σ 希腊字母 ΑΣ", "ΑΣ\u0301", "ΟΔΟΣ", "café"),
    ("含\ue000私用区字符", "a\ue000b", "\ue000", "\ue000\ue000"),
    ("", "", "", ""),
    ("ｆｓ拼音", "部分数据", "tag1,tag2", "x" * 50),
]


def test_documents_in_bulk_equal_one_by_one() -> None:
    one_by_one = [text.document(title=t, description=d, tags=g, body=b) for t, d, g, b in TRICKY]
    assert text.documents(TRICKY) == one_by_one
    assert text.documents(TRICKY[:3]) == one_by_one[:3]  # no joining character: the single-pass path
    assert text.documents([]) == []


def index_dump() -> list[tuple[Any, ...]]:
    """Every stored row of the index, as the database keeps it."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT rowid, * FROM search_fts ORDER BY rowid")
        else:
            cur.execute("SELECT resource_id, vector::text, body, fingerprint FROM search_document ORDER BY resource_id")
        return [tuple(row) for row in cur.fetchall()]


def make_library(world: World) -> list[Resource]:
    made = [indexed(world, title=t or "无题", description=d, tags=g, name=f"资源{i}.pdf",
                    content=b"%PDF-1.4\n" + str(i).encode() * 100)
            for i, (t, d, g, _b) in enumerate(TRICKY)]
    made.append(indexed(world, title="课件", name="课件.pptx", content=pptx("分数的初步认识", "幻灯片第二页")))
    made.append(indexed(world, title="教案", name="教案.docx", content=docx("教学目标：认识分数")))
    return made


def test_rows_for_many_equal_row_for_each(world: World) -> None:
    made = make_library(world)
    resources = list(Resource.objects.select_related("blob").filter(pk__in=[r.pk for r in made]).order_by("pk"))
    assert indexing.rows_for(resources) == [indexing.row_for(r) for r in resources]
    bodies = {resources[0].pk: "给定的文字"}
    assert indexing.rows_for(resources[:1], bodies=bodies) == [indexing.row_for(resources[0], body="给定的文字")]


def test_reindex_in_bulk_stores_what_the_signal_stored(world: World) -> None:
    make_library(world)
    by_signal = index_dump()
    assert len(by_signal) == len(TRICKY) + 2
    backend().clear()
    assert index_dump() == []
    call_command("search", "reindex", "--quiet")
    assert index_dump() == by_signal
    # A rebuild over rows still there (a resource indexed meanwhile) replaces them alike.
    call_command("search", "reindex", "--quiet")
    assert index_dump() == by_signal


def test_insert_equals_upsert(world: World) -> None:
    make_library(world)
    by_signal = index_dump()
    rows = indexing.rows_for(list(Resource.objects.select_related("blob").order_by("pk")))
    backend().clear()
    backend().insert(rows)
    assert index_dump() == by_signal
