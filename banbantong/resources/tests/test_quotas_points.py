"""Construction tasks and points: assigning in scope, completion counted from approved resources,
points for approval and for use by other schools (each once), leaderboards in scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.conftest import World, make_user
from banbantong.core.models import AuditEntry
from banbantong.resources import points, quotas, review
from banbantong.resources.models import PointEntry, Quota
from banbantong.resources.tests.kit import make_resource, submitted

YEAR = timezone.localdate().year


def _assign(world: World, **kw: object) -> int:
    data = {"region": world.county_a, "year": YEAR, "kind": "courseware", "subject": "数学", "target": 30, **kw}
    return quotas.assign_quotas(quotas.QuotaInput(**data), actor=kw.pop("actor", world.alice))  # type: ignore[arg-type]


@pytest.mark.django_db
def test_assigning_gives_every_school_of_the_region_one_task(world: World) -> None:
    assert _assign(world) == 2
    assert {q.school for q in Quota.objects.all()} == {world.school_a, world.school_a2}
    assert _assign(world, target=40) == 2  # again: changed, not doubled
    assert set(Quota.objects.values_list("target", flat=True)) == {40}
    assert AuditEntry.objects.filter(object_type="resources.Quota").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "message"), [
    ("year", 1900, "年度应在"), ("target", 0, "任务数应为"), ("kind", "poster", "未知的资源类型"), ("subject", " ", "学科不能为空"),
])
def test_bad_task_is_refused_and_nothing_written(world: World, field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _assign(world, **{field: value})
    assert not Quota.objects.exists()


@pytest.mark.django_db
def test_only_bureau_admins_assign_in_their_scope(world: World) -> None:
    for user in (world.teacher_user_a, world.principal_a, world.reviewer_a, world.auditor_a, world.bob):
        with pytest.raises(PermissionDenied):
            quotas.assign_quotas(quotas.QuotaInput(world.county_a, YEAR, "courseware", "数学", 30), actor=user)
    assert not Quota.objects.exists()


@pytest.mark.django_db
def test_completion_counts_approved_network_resources_of_the_kind_and_subject(world: World, media: Path) -> None:
    _assign(world)
    for title, kw in [("a", {}), ("b", {}), ("rejected", {}), ("语文", {"subject": "语文"}),
                      ("教案", {"kind": "lesson_plan"})]:
        resource = submitted(world, title=title, subject=kw.get("subject", "数学"),
                             **({"kind": kw["kind"]} if "kind" in kw else {}))
        if title == "rejected":
            review.reject_resource(resource, actor=world.reviewer_a, reason="不清晰")
        else:
            review.approve_resource(resource, actor=world.reviewer_a)
    make_resource(world, title="校内草稿", subject="数学")
    submitted(world, title="待审", subject="数学")
    done = quotas.completion(Quota.objects.all())
    assert done == {(world.school_a.pk, YEAR, "courseware", "数学"): 2}


@pytest.mark.django_db
def test_quota_page_shows_completion_and_exports(world: World, client: Client, media: Path) -> None:
    _assign(world, target=4)
    review.approve_resource(submitted(world, subject="数学"), actor=world.reviewer_a)
    client.force_login(world.principal_a)
    page = client.get("/resources/quotas/").content.decode()
    assert "文峰中心小学" in page and "文峰村小" not in page and ">25<" in page  # 1 of 4
    assert client.get("/resources/quotas/?export=xlsx")["Content-Type"].startswith("application/vnd.openxml")
    client.force_login(world.bob)
    assert "文峰中心小学" not in client.get("/resources/quotas/").content.decode()


@pytest.mark.django_db
def test_quota_page_bad_input_says_what_to_fix(world: World, client: Client) -> None:
    client.force_login(world.alice)
    body = {"region": world.county_a.pk, "year": YEAR, "kind": "courseware", "subject": "数学", "target": "三十"}
    page = client.post("/resources/quotas/assign", body, follow=True).content.decode()
    assert "年度和任务数都应填整数" in page
    body["target"] = "0"
    assert "任务数应为" in client.post("/resources/quotas/assign", body, follow=True).content.decode()
    assert not Quota.objects.exists()
    client.force_login(world.bob)
    body["target"] = "30"
    assert client.post("/resources/quotas/assign", body).status_code == 404
    client.force_login(world.teacher_user_a)
    assert client.post("/resources/quotas/assign", body).status_code == 403


@pytest.mark.django_db
def test_downloads_by_other_schools_earn_points_once(world: World, client: Client, media: Path) -> None:
    resource = submitted(world)
    review.approve_resource(resource, actor=world.reviewer_a)
    neighbour = make_user("t_a2", User.Role.TEACHER, school=world.school_a2)
    colleague = make_user("t_a1", User.Role.TEACHER, school=world.school_a)
    url = f"/resources/{resource.pk}/download"
    for user in (world.teacher_user_a, colleague):  # the author and the author's school: no points
        client.force_login(user)
        assert client.get(url).status_code == 200
    client.force_login(neighbour)
    assert client.get(url, headers={"Range": "bytes=100-"}).status_code == 206  # a resumed part: not a download
    assert not PointEntry.objects.filter(reason="downloaded").exists()
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    entry = PointEntry.objects.get(reason="downloaded")
    assert (entry.user, entry.school, entry.points) == (world.teacher_user_a, world.school_a, 2)
    assert sum(PointEntry.objects.values_list("points", flat=True)) == 12


@pytest.mark.django_db
def test_school_library_downloads_earn_nothing(world: World, media: Path) -> None:
    resource = make_resource(world)
    neighbour = make_user("t_a2", User.Role.TEACHER, school=world.school_a2)
    assert points.record_download(resource, actor=neighbour) is None
    assert points.record_download(resource, actor=world.alice) is None


@pytest.mark.django_db
def test_leaderboards_in_scope_and_export(world: World, client: Client, media: Path) -> None:
    review.approve_resource(submitted(world), actor=world.reviewer_a)
    client.force_login(world.alice)
    page = client.get("/resources/points/").content.decode()
    assert "王老师" in page and "文峰中心小学" in page
    schools = client.get("/resources/points/?board=schools").content.decode()
    assert "文峰中心小学" in schools
    assert client.get("/resources/points/?board=schools&export=xlsx").status_code == 200
    assert client.get("/api/v1/resources/points/teachers").json()["items"][0]["points"] == 10
    client.force_login(world.bob)
    assert "王老师" not in client.get("/resources/points/").content.decode()
    assert client.get("/api/v1/resources/points/schools").json()["items"] == []


@pytest.mark.django_db
def test_quota_api(world: World, client: Client, media: Path) -> None:
    client.force_login(world.alice)
    body = {"region_id": world.county_a.pk, "year": YEAR, "kind": "courseware", "subject": "数学", "target": 2}
    assert client.post("/api/v1/resources/quotas", body, content_type="application/json").json() == {"schools": 2}
    review.approve_resource(submitted(world, subject="数学"), actor=world.reviewer_a)
    items = client.get("/api/v1/resources/quotas").json()["items"]
    assert {(i["school_name"], i["done"], i["percent"]) for i in items} == {("文峰中心小学", 1, 50), ("文峰村小", 0, 0)}
    body["target"] = -1
    assert client.post("/api/v1/resources/quotas", body, content_type="application/json").status_code == 400
    assert set(Quota.objects.values_list("target", flat=True)) == {2}


@pytest.mark.django_db
def test_the_year_is_local_time(world: World, media: Path) -> None:
    import datetime as dt

    _assign(world, year=2025)
    _assign(world, year=2026)
    resource = submitted(world, subject="数学")
    review.approve_resource(resource, actor=world.reviewer_a)
    new_year_eve = dt.datetime(2025, 12, 31, 23, 30, tzinfo=timezone.get_current_timezone())  # 15:30 UTC
    type(resource).objects.filter(pk=resource.pk).update(reviewed_at=new_year_eve)
    done = quotas.completion(Quota.objects.all())
    assert done == {(world.school_a.pk, 2025, "courseware", "数学"): 1}
    # One year at a time (the page's usual case takes a shorter path): the same answer.
    assert quotas.completion(Quota.objects.filter(year=2025)) == done
    assert quotas.completion(Quota.objects.filter(year=2026)) == {}
