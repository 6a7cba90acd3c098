"""Review of resources submitted to a regional network (资源网): approve, or reject with a reason.

A reviewer decides for the networks at or under their region. The decision is taken on a locked
row, so two reviewers (or a double click) change the state once; approval earns the author and
the school points; the author is told the outcome inside the platform once the decision commits.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from banbantong.core import audit, notifications
from banbantong.core.i18n import chinese
from banbantong.resources import library_rules as lr
from banbantong.resources import points
from banbantong.resources.models import Resource, ResourceQuerySet

REVIEW_FIELDS = ("status", "reviewed_by_id", "reviewed_at", "review_reason")


def may_review(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and not user.read_only
                and (user.is_superuser or user.role == "reviewer"))


def review_queue(user: Any) -> ResourceQuerySet:
    """Submissions waiting for this reviewer, oldest first (first come, first reviewed)."""
    return (Resource.objects.reviewable_by(user).filter(status=Resource.Status.SUBMITTED)
            .select_related("school", "author", "network_region", "blob").order_by("created_at", "id"))


def get_reviewable(user: Any, resource_id: int) -> Resource:
    """A resource this reviewer may decide, or 404 (audited) — also for a resource the reviewer
    can read but that was sent to a network above their region."""
    if not may_review(user):
        raise PermissionDenied("只有资源审核员可以审核资源。")
    found = Resource.objects.reviewable_by(user).filter(pk=resource_id).first()
    if found is None:
        if Resource.objects.filter(pk=resource_id).exists():
            audit.record_denied(user, Resource, {"pk": resource_id})
        raise Http404("对象不存在或不在您的管辖范围内")
    return found


def approve_resource(resource: Resource, *, actor: Any) -> Resource:
    return _decide(resource, actor=actor, approve=True, reason="")


def reject_resource(resource: Resource, *, actor: Any, reason: str) -> Resource:
    return _decide(resource, actor=actor, approve=False, reason=reason)


def _decide(resource: Resource, *, actor: Any, approve: bool, reason: str) -> Resource:
    if not may_review(actor):
        raise PermissionDenied("只有资源审核员可以审核资源。")
    reason = reason.strip()
    with transaction.atomic():
        # The row lock makes a second decision wait, then see the first one's status.
        locked = Resource.objects.reviewable_by(actor).select_for_update().filter(pk=resource.pk).first()
        if locked is None:
            raise Http404("对象不存在或不在您的管辖范围内")
        problem = lr.review_problem(approve=approve, reason=reason, status=locked.status,
                                    status_label=chinese(Resource.Status(locked.status).label), reviewer_id=actor.pk,
                                    author_id=locked.author_id)
        if problem:
            raise ValidationError(problem)
        before = audit.snapshot(locked, REVIEW_FIELDS)
        now = timezone.now()
        status = Resource.Status.APPROVED if approve else Resource.Status.REJECTED
        # Conditional on the status it had, so that on SQLite (no row locks) too only one wins.
        changed = Resource.objects.filter(pk=locked.pk, status=Resource.Status.SUBMITTED).update(
            status=status, reviewed_by=actor, reviewed_at=now, review_reason=reason, updated_at=now)
        if not changed:
            raise ValidationError(lr.NOT_WAITING.format(status="已审核"))
        locked.status, locked.reviewed_by, locked.reviewed_at, locked.review_reason = status, actor, now, reason
        # Saved once more through the model so post_save listeners (the search index) see the decision.
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason", "updated_at"])
        audit.record(audit.Action.UPDATE, locked, actor=actor, before=before,
                     after=audit.snapshot(locked, REVIEW_FIELDS))
        if approve:
            points.award_approval(locked)
        transaction.on_commit(lambda: _tell_author(locked))
    return locked


def _tell_author(resource: Resource) -> None:
    if resource.status == Resource.Status.APPROVED:
        text = f"您的资源“{resource.title}”已通过审核，全区域学校都能看到。"
    else:
        text = f"您的资源“{resource.title}”被退回：{resource.review_reason}"
    stamp = resource.reviewed_at.strftime("%Y%m%d%H%M%S%f") if resource.reviewed_at else ""
    notifications.notify([resource.author], kind="resource-review", key=f"resource-review:{resource.pk}:{stamp}",
                         text=text, url=reverse("resources:detail", args=[resource.pk]))


def resubmit_resource(resource: Resource, *, actor: Any) -> Resource:
    """The author sends a rejected resource back for review (after fixing what the reason said)."""
    with transaction.atomic():
        locked = Resource.objects.select_for_update().get(pk=resource.pk)
        if locked.author_id != getattr(actor, "pk", None):
            raise PermissionDenied("只有上传人可以重新提交。")
        if locked.status != Resource.Status.REJECTED:
            raise ValidationError(f"该资源当前状态为“{chinese(Resource.Status(locked.status).label)}”，只有被退回的资源可以重新提交。")
        before = audit.snapshot(locked, REVIEW_FIELDS)
        locked.status = Resource.Status.SUBMITTED
        locked.save(update_fields=["status", "updated_at"])
        audit.record(audit.Action.UPDATE, locked, actor=actor, before=before,
                     after=audit.snapshot(locked, REVIEW_FIELDS))
    return locked
