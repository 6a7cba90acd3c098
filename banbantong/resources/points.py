"""Points (积分) for building and sharing resources: a ledger written by the review and downloads.

Every entry names its event by a unique key (the approval of resource 12; the download of 12 by
user 7), so a retried request, a double click or a second download by the same person earns
nothing more. The amounts are the named rules in `library_rules`.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from banbantong.core import audit
from banbantong.resources import library_rules as lr
from banbantong.resources.models import PointEntry, Resource

APPROVED_Q = Q(reason=PointEntry.Reason.APPROVED)
DOWNLOADED_Q = Q(reason=PointEntry.Reason.DOWNLOADED)


def _credit(resource: Resource, *, reason: str, points: int, key: str, actor: Any) -> PointEntry | None:
    """One ledger entry for the resource's author and school; None when the event was counted already."""
    if PointEntry.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a racing twin's unique key must not spoil the caller
            entry = PointEntry.objects.create(
                user_id=resource.author_id, school_id=resource.school_id, resource=resource, reason=reason,
                points=points, key=key, year=timezone.localdate().year,
            )
            audit.record(audit.Action.CREATE, entry, actor=actor, object_repr=f"{resource.title} +{points}",
                         after={"user": resource.author_id, "school": resource.school_id, "resource": resource.pk,
                                "reason": reason, "points": points})
    except IntegrityError:
        return None
    return entry


def award_approval(resource: Resource, *, actor: Any = None) -> PointEntry | None:
    """Called by the review, inside its transaction."""
    return _credit(resource, reason=PointEntry.Reason.APPROVED, points=lr.points_for_approval(resource.kind),
                   key=lr.approval_key(resource.pk), actor=actor or resource.reviewed_by)


def record_download(resource: Resource, *, actor: Any) -> PointEntry | None:
    """A download of an approved network resource by a teacher of another school is use: points."""
    earns = lr.download_earns(
        approved=resource.library == Resource.Library.NETWORK and resource.status == Resource.Status.APPROVED,
        downloader_id=actor.pk, downloader_school_id=getattr(actor, "school_id", None),
        author_id=resource.author_id, resource_school_id=resource.school_id,
    )
    if not earns:
        return None
    return _credit(resource, reason=PointEntry.Reason.DOWNLOADED, points=lr.DOWNLOAD_POINTS,
                   key=lr.download_key(resource.pk, actor.pk), actor=actor)


def teacher_board(user: Any, *, year: int) -> QuerySet[Any]:
    """Teachers of the user's scope by points earned in the year (one grouped query)."""
    return (PointEntry.objects.for_user(user).filter(year=year)
            .values("user_id", "user__display_name", "user__username", "school__name")
            .annotate(total=Sum("points"), approved=Count("id", filter=APPROVED_Q),
                      downloads=Count("id", filter=DOWNLOADED_Q))
            .order_by("-total", "user__username"))


def school_board(user: Any, *, year: int) -> QuerySet[Any]:
    return (PointEntry.objects.for_user(user).filter(year=year)
            .values("school_id", "school__name")
            .annotate(total=Sum("points"), approved=Count("id", filter=APPROVED_Q),
                      downloads=Count("id", filter=DOWNLOADED_Q), teachers=Count("user_id", distinct=True))
            .order_by("-total", "school__name"))
