from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from banbantong.core.models import Notification

    # Lazy: the query runs only when a page's header renders the count.
    return {"unread_notifications": lambda: Notification.objects.for_user(user).unread().count()}
