"""Review of network submissions: who decides, what a decision changes (once), what the author sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client

from banbantong.accounts.models import User
from banbantong.conftest import World, make_user
from banbantong.core.models import AuditEntry, Notification
from banbantong.resources import review
from banbantong.resources.models import PointEntry, Resource
from banbantong.resources.tests.kit import make_resource, reviewer_b, submitted


def _updates(resource: Resource) -> int:
    return AuditEntry.objects.filter(action="update", object_type="resources.Resource", object_id=str(resource.pk)).count()


@pytest.mark.django_db
def test_approval_opens_it_to_every_school_tells_the_author_and_awards_points(
    world: World, media: Path, django_capture_on_commit_callbacks: object
) -> None:
    resource = submitted(world)
    neighbour = make_user("t_a2", User.Role.TEACHER, school=world.school_a2)
    assert resource not in Resource.objects.for_user(neighbour)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        review.approve_resource(resource, actor=world.reviewer_a)
    resource.refresh_from_db()
    assert (resource.status, resource.reviewed_by) == (Resource.Status.APPROVED, world.reviewer_a)
    assert resource in Resource.objects.for_user(neighbour)
    assert resource not in Resource.objects.for_user(world.bob)
    note = Notification.objects.get(user=world.teacher_user_a)
    assert "已通过审核" in note.text and note.url == f"/resources/{resource.pk}/"
    entry = PointEntry.objects.get()
    assert (entry.user, entry.school, entry.points) == (world.teacher_user_a, world.school_a, 10)
    assert _updates(resource) == 1


@pytest.mark.django_db
def test_double_approval_changes_the_state_once(world: World, media: Path,
                                                django_capture_on_commit_callbacks: object) -> None:
    resource = submitted(world)
    stale = Resource.objects.get(pk=resource.pk)  # a second reviewer's page, opened before the first decided
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        review.approve_resource(resource, actor=world.reviewer_a)
        with pytest.raises(ValidationError, match="不在待审核中"):
            review.approve_resource(stale, actor=world.reviewer_a)
        with pytest.raises(ValidationError, match="不在待审核中"):
            review.reject_resource(stale, actor=world.reviewer_a, reason="重复")
    resource.refresh_from_db()
    assert resource.status == Resource.Status.APPROVED
    assert _updates(resource) == 1
    assert PointEntry.objects.count() == 1
    assert Notification.objects.filter(user=world.teacher_user_a).count() == 1


@pytest.mark.django_db
def test_rejecting_needs_a_reason_and_the_author_reads_it(world: World, media: Path,
                                                         django_capture_on_commit_callbacks: object) -> None:
    resource = submitted(world)
    with pytest.raises(ValidationError, match="必须写明理由"):
        review.reject_resource(resource, actor=world.reviewer_a, reason="   ")
    resource.refresh_from_db()
    assert resource.status == Resource.Status.SUBMITTED and _updates(resource) == 0
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        review.reject_resource(resource, actor=world.reviewer_a, reason="第3页的例题答案有误")
    resource.refresh_from_db()
    assert (resource.status, resource.review_reason) == (Resource.Status.REJECTED, "第3页的例题答案有误")
    assert "第3页的例题答案有误" in Notification.objects.get(user=world.teacher_user_a).text
    assert not PointEntry.objects.exists()
    neighbour = make_user("t_a2", User.Role.TEACHER, school=world.school_a2)
    assert resource not in Resource.objects.for_user(neighbour)


@pytest.mark.django_db
def test_out_of_scope_reviewer_gets_404_and_others_may_not_review(world: World, media: Path) -> None:
    resource = submitted(world)
    with pytest.raises(Http404):
        review.get_reviewable(reviewer_b(world), resource.pk)
    with pytest.raises(Http404):
        review.approve_resource(resource, actor=reviewer_b(world))
    assert AuditEntry.objects.filter(action="denied", object_id=str(resource.pk)).exists()
    for user in (world.alice, world.principal_a, world.teacher_user_a, world.auditor_a):
        with pytest.raises(PermissionDenied):
            review.approve_resource(resource, actor=user)
    resource.refresh_from_db()
    assert resource.status == Resource.Status.SUBMITTED


@pytest.mark.django_db
def test_a_county_reviewer_does_not_decide_for_the_city_network(world: World, media: Path) -> None:
    resource = submitted(world, network_region=world.city)
    assert resource in Resource.objects.for_user(world.reviewer_a)  # readable: a school of the county
    with pytest.raises(Http404):
        review.get_reviewable(world.reviewer_a, resource.pk)
    city_reviewer = make_user("reviewer_city", User.Role.REVIEWER, region=world.city)
    review.approve_resource(review.get_reviewable(city_reviewer, resource.pk), actor=city_reviewer)


@pytest.mark.django_db
def test_no_one_reviews_their_own_resource(world: World, media: Path) -> None:
    resource = make_resource(world, actor=world.reviewer_a, network_region=world.county_a)
    with pytest.raises(ValidationError, match="不能审核自己"):
        review.approve_resource(resource, actor=world.reviewer_a)


@pytest.mark.django_db
def test_school_library_resources_are_not_in_the_queue(world: World, media: Path) -> None:
    make_resource(world, title="校内草稿")
    queued = submitted(world, title="提交的")
    assert list(review.review_queue(world.reviewer_a)) == [queued]
    assert list(review.review_queue(reviewer_b(world))) == []


@pytest.mark.django_db
def test_author_resubmits_after_rejection(world: World, media: Path) -> None:
    resource = submitted(world)
    with pytest.raises(ValidationError, match="只有被退回"):
        review.resubmit_resource(resource, actor=world.teacher_user_a)
    review.reject_resource(resource, actor=world.reviewer_a, reason="请补充教学目标")
    with pytest.raises(PermissionDenied):
        review.resubmit_resource(resource, actor=world.principal_a)
    review.resubmit_resource(resource, actor=world.teacher_user_a)
    resource.refresh_from_db()
    assert resource.status == Resource.Status.SUBMITTED
    review.approve_resource(resource, actor=world.reviewer_a)


@pytest.mark.django_db
def test_review_page_rejects_without_reason_with_a_message(world: World, client: Client, media: Path) -> None:
    resource = submitted(world)
    client.force_login(world.reviewer_a)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert "退回" in page and 'value="approve"' in page
    response = client.post(f"/resources/{resource.pk}/review", {"action": "reject", "reason": ""})
    assert response.status_code == 400 and "必须写明理由" in response.content.decode()
    resource.refresh_from_db()
    assert resource.status == Resource.Status.SUBMITTED
    response = client.post(f"/resources/{resource.pk}/review", {"action": "approve"})
    assert response.status_code == 302
    response = client.post(f"/resources/{resource.pk}/review", {"action": "approve"})
    assert response.status_code == 400 and "不在待审核中" in response.content.decode()


@pytest.mark.django_db
def test_api_reject_needs_reason_and_double_approve_is_400(world: World, client: Client, media: Path) -> None:
    resource = submitted(world)
    client.force_login(world.reviewer_a)
    url = f"/api/v1/resources/{resource.pk}"
    response = client.post(f"{url}/reject", {"reason": ""}, content_type="application/json")
    assert response.status_code == 400 and "理由" in response.json()["message"]
    response = client.post(f"{url}/approve")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    response = client.post(f"{url}/approve")
    assert response.status_code == 400 and "不在待审核中" in response.json()["message"]
    assert PointEntry.objects.count() == 1
    client.force_login(world.alice)
    assert client.get("/api/v1/resources/review/queue").status_code == 403


@pytest.mark.django_db
def test_author_finds_the_outcome_in_the_list(world: World, client: Client, media: Path) -> None:
    resource = submitted(world, title="退回的课件")
    make_resource(world, title="别人的", actor=world.principal_a)
    review.reject_resource(resource, actor=world.reviewer_a, reason="请补充教学目标")
    client.force_login(world.teacher_user_a)
    page = client.get("/resources/?mine=1&status=rejected").content.decode()
    assert "退回的课件" in page and "别人的" not in page
    items = client.get("/api/v1/resources?mine=true&status=rejected").json()["items"]
    assert [(i["title"], i["review_reason"]) for i in items] == [("退回的课件", "请补充教学目标")]
    assert "请补充教学目标" in client.get(f"/resources/{resource.pk}/").content.decode()
