"""In-platform reminders: sent once per key, read by their user only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from banbantong.core.models import Notification


def notify(users: Iterable[Any], *, kind: str, key: str, text: str, url: str = "") -> int:
    """Send the same reminder to each user once; returns how many were new."""
    rows = [Notification(user_id=u.pk, kind=kind, dedupe_key=key[:80], text=text[:300], url=url[:300]) for u in users]
    before = Notification.objects.filter(dedupe_key=key[:80]).count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return Notification.objects.filter(dedupe_key=key[:80]).count() - before


def mark_read(user: Any, ids: Iterable[int] | None = None) -> int:
    qs = Notification.objects.for_user(user).unread()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
