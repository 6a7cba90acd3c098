"""Searching: Chinese words, traditional script, pinyin initials, filters, ranking, and scope.

Each test pairs a user who may see a resource with one who may not (bob, the other county).
"""

from __future__ import annotations

import random

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.resources.models import Resource
from banbantong.search import queries, text
from banbantong.search.tests.kit import indexed

pytestmark = pytest.mark.django_db


def found(user: object, q: str, **filters: str) -> list[str]:
    results = queries.search(user, {"q": q, **filters})
    return [r.title for r in results[0:50]]


def test_two_characters_traditional_script_and_pinyin_initials_find_a_simplified_title(world: World) -> None:
    indexed(world, title="分数的初步认识", description="三年级上册第八单元")
    for q in ("分数", "分數", "fs", "FS", "初步认识", "認識", "分数的初步认识", "初步认识分数", "八单元"):
        assert found(world.alice, q) == ["分数的初步认识"], q


def test_out_of_scope_resources_are_never_returned(world: World) -> None:
    indexed(world, title="分数的初步认识")
    indexed(world, title="分数的意义", school=world.school_b, actor=world.teacher_b.user)
    assert found(world.alice, "分数") == ["分数的初步认识"]
    assert found(world.bob, "分数") == ["分数的意义"]
    assert found(world.teacher_b.user, "fs") == ["分数的意义"]
    # Naming the other county's school in the filter does not widen the scope.
    assert found(world.alice, "分数", school=str(world.school_b.pk)) == []
    assert queries.search(world.alice, {"q": "分数"}).ids() == {  # type: ignore[union-attr]
        r.pk for r in Resource.objects.filter(school=world.school_a)
    }


def test_approved_network_resources_reach_other_schools_of_the_region(world: World) -> None:
    shared = indexed(world, title="分数的大小比较", network_region=world.county_a)
    teacher_a2 = world.teacher_user_a.__class__.objects.create_user(
        username="t_a2", password="x-Long-pass1", role="teacher", school=world.school_a2
    )
    assert found(teacher_a2, "分数") == []  # submitted, not yet approved
    # update() sends no signal: scope and status are read live, not from the index.
    Resource.objects.filter(pk=shared.pk).update(status=Resource.Status.APPROVED)
    assert found(teacher_a2, "分数") == ["分数的大小比较"]
    assert found(world.bob, "分数") == []


def test_words_jieba_splits_differently_are_still_found(world: World) -> None:
    indexed(world, title="部分数据的整理")  # jieba: 部分 / 数据
    indexed(world, title="中华人民共和国国旗")
    assert found(world.alice, "分数") == ["部分数据的整理"]
    assert found(world.alice, "华人") == ["中华人民共和国国旗"]
    assert found(world.alice, "民共和") == ["中华人民共和国国旗"]
    assert found(world.alice, "分数据") == ["部分数据的整理"]
    assert found(world.alice, "据的整") == ["部分数据的整理"]
    assert found(world.alice, "数的整") == []
    assert found(world.alice, "分整") == []


def test_recall_equals_a_brute_force_substring_scan(world: World) -> None:
    rng = random.Random(7)
    alphabet = "分数学的认识初步小加减法乘除图形面积长方体正"
    docs = {}
    for n in range(40):
        title = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9)))
        description = "".join(rng.choice(alphabet + "，") for _ in range(rng.randint(0, 20)))
        docs[indexed(world, title=title, description=description, name=f"{n}.pdf").pk] = (title, description)
    queries_seen = set()
    for _ in range(150):
        source = rng.choice(list(docs.values()))[rng.randint(0, 1)].replace("，", "")
        if len(source) < 1:
            continue
        length = rng.randint(1, min(4, len(source)))
        start = rng.randint(0, len(source) - length)
        queries_seen.add(source[start : start + length])
    for q in sorted(queries_seen):
        expected = {pk for pk, (t, d) in docs.items() if q in t or q in d}
        assert queries.search(world.alice, {"q": q}).ids() == expected, q  # type: ignore[union-attr]


def test_title_hits_rank_above_description_hits(world: World) -> None:
    indexed(world, title="单元练习", description="关于分数的练习", name="a.pdf")
    indexed(world, title="分数加减法", name="b.pdf")
    assert found(world.alice, "分数") == ["分数加减法", "单元练习"]


def test_every_metadata_filter(world: World) -> None:
    indexed(
        world,
        title="分数一",
        subject="数学",
        grade="三年级",
        stage="小学",
        edition="人教版",
        volume="上册",
        unit="第八单元",
        lesson="第1课时",
        name="1.pdf",
    )
    indexed(
        world,
        title="分数二",
        subject="语文",
        kind=Resource.Kind.LESSON_PLAN,
        school=world.school_a2,
        name="2.pdf",
        actor=world.alice,
    )
    for field, value in [
        ("subject", "数学"),
        ("grade", "三年级"),
        ("stage", "小学"),
        ("edition", "人教版"),
        ("volume", "上册"),
        ("unit", "第八单元"),
        ("lesson", "第1课时"),
        ("kind", "courseware"),
        ("school", str(world.school_a.pk)),
    ]:
        assert found(world.alice, "分数", **{field: value}) == ["分数一"], field
    assert found(world.alice, "分数", kind="lesson_plan") == ["分数二"]
    assert found(world.alice, "分数", library="network") == []
    assert found(world.alice, "分数", status="approved") == []
    assert len(found(world.alice, "分数", library="school", status="draft")) == 2
    assert sorted(found(world.alice, "分数", kind="nonsense")) == ["分数一", "分数二"]  # unknown: ignored


def test_index_follows_updates_and_deletes(world: World, django_capture_on_commit_callbacks: object) -> None:
    resource = indexed(world, title="分数的初步认识")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        resource.title = "小数的初步认识"
        resource.save()
    assert found(world.alice, "分数") == []
    assert found(world.alice, "小数") == ["小数的初步认识"]
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        Resource.objects.filter(pk=resource.pk).delete()
    assert found(world.alice, "小数") == []
    assert queries.search(world.alice, {"q": "小数"}).count() == 0  # type: ignore[call-arg]


def test_file_text_is_searched_and_snippets_are_escaped(world: World, client: Client) -> None:
    from banbantong.search.tests.kit import pptx

    indexed(
        world,
        title="第十四章",
        name="勾股.pptx",
        content=pptx("勾股定理的证明", "<b>赵爽弦图</b>"),
        description="<script>alert(1)</script>分数",
    )
    assert found(world.alice, "勾股") == ["第十四章"]
    assert found(world.alice, "弦图") == ["第十四章"]
    client.force_login(world.alice)
    page = client.get("/search/", {"q": "分数"}).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>分数</mark>" in page
    page = client.get("/search/", {"q": "弦图"}).content.decode()
    assert "&lt;b&gt;赵爽<mark>弦图</mark>&lt;/b&gt;" in page
    client.force_login(world.bob)
    assert "第十四章" not in client.get("/search/", {"q": "勾股"}).content.decode()


def test_page_export_is_an_excel_file_of_the_ranked_results(world: World, client: Client) -> None:
    import io

    from openpyxl import load_workbook

    indexed(world, title="分数的初步认识")
    indexed(world, title="小数的意义", name="x.pdf")
    client.force_login(world.alice)
    response = client.get("/search/", {"q": "分数", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert rows[0][0] == "标题"
    assert [r[0] for r in rows[1:]] == ["分数的初步认识"]


def test_bad_queries_get_a_chinese_message(world: World, client: Client) -> None:
    indexed(world, title="分数的初步认识")
    client.force_login(world.alice)
    page = client.get("/search/", {"q": "，。！"}).content.decode()
    assert "搜索词里没有可查找的文字" in page
    page = client.get("/search/", {"q": "分数" * 60}).content.decode()
    assert "搜索词最长 100 个字" in page
    response = client.get("/api/v1/resources/search", {"q": "分" * 101})
    assert response.status_code == 400
    assert "搜索词最长" in response.json()["message"]
    assert client.get("/api/v1/resources/search", {"q": "分数", "limit": 1000}).status_code == 422


def test_api_results_and_scope(world: World, client: Client) -> None:
    indexed(world, title="分数的初步认识", subject="数学")
    client.force_login(world.alice)
    body = client.get("/api/v1/resources/search", {"q": "fs", "subject": "数学"}).json()
    assert body["count"] == 1
    assert body["items"][0]["title"] == "分数的初步认识"
    assert body["items"][0]["score"] > 0
    client.force_login(world.bob)
    assert client.get("/api/v1/resources/search", {"q": "分数"}).json() == {
        "count": 0,
        "capped": False,
        "items": [],
    }


def test_reindex_command_rebuilds_the_index(world: World) -> None:
    from django.core.management import call_command

    from banbantong.search.backends import backend

    resource = indexed(world, title="分数的初步认识")
    backend().clear()
    assert found(world.alice, "分数") == []
    call_command("search", "reindex", "--quiet")
    assert found(world.alice, "分数") == ["分数的初步认识"]
    backend().delete([resource.pk])
    call_command("search", "reindex", "--changed", "--quiet")
    assert found(world.alice, "分数") == ["分数的初步认识"]


def test_query_text_matches_what_was_indexed() -> None:
    # The same normalisation on both sides: a query in traditional script meets simplified text.
    assert text.parse_query("數學").terms[0].text == text.document(title="数学").title.words[0]


def test_page_in_english_and_its_export_in_chinese(world: World, client: Client) -> None:
    import io

    from django.conf import settings
    from openpyxl import load_workbook

    indexed(world, title="分数的初步认识")
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/search/", {"q": "分数"}).content.decode()
    assert "Resource search" in page and "School library" in page and "校本资源库" not in page
    assert "的初步认识" in page  # titles are data, as written (the match is marked)
    assert "Nothing in the search can be looked up" in client.get("/search/", {"q": "，。！"}).content.decode()
    response = client.get("/search/", {"q": "分数", "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert rows[0][0] == "标题"  # filed documents stay Chinese
