"""Writing the audit log. Services call `record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import models

from banbantong.core import context
from banbantong.core.i18n import chinese
from banbantong.core.models import AuditEntry

Action = AuditEntry.Action


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited fields of obj, JSON-ready, with personal fields masked (DESIGN §8)."""
    masked: Mapping[str, Callable[[str], str]] = getattr(obj, "AUDIT_MASKED", {})
    names = list(fields) if fields is not None else [
        f.attname for f in obj._meta.concrete_fields if f.name not in {"password"}
    ]
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        key = name[:-3] if name.endswith("_id") and name[:-3] in masked else name
        out[name] = masked[key](value) if key in masked and value else _jsonable(value)
    return out


def _place(obj: models.Model | None) -> tuple[str, int | None]:
    placer = getattr(obj, "audit_place", None)
    if placer is None:
        return "", None
    path, school_id = placer()
    return path or "", school_id


def record(
    action: str,
    obj: models.Model | None,
    *,
    actor: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_type: str | None = None,
    object_repr: str | None = None,
    place: tuple[str, int | None] | None = None,
) -> AuditEntry:
    ctx = context.current()
    region_path, school_id = place if place is not None else _place(obj)
    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=real_actor,
        actor_name=getattr(real_actor, "username", "") or ("系统" if ctx.request_id == "cli" else "匿名"),
        action=action,
        object_type=object_type or (obj._meta.label if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        # Stored text reads the same in every language: labels in it are taken in Chinese.
        object_repr=chinese(object_repr if object_repr is not None else obj if obj is not None else "")[:200],
        region_path=region_path,
        school_id=school_id,
        before=before,
        after=after,
        ip=ctx.ip,
        request_id=ctx.request_id,
    )


def record_denied(user: Any, model: type[models.Model], lookup: Mapping[str, Any]) -> None:
    """An in-scope nobody asked for something outside their scope: keep a trace for the auditor."""
    obj = model._default_manager.filter(**lookup).first()
    record(
        Action.DENIED,
        obj,
        actor=user,
        after={"lookup": {k: str(v) for k, v in lookup.items()}},
        # The entry belongs to the user's own place so their auditor sees it.
        place=_user_place(user),
    )


def _user_place(user: Any) -> tuple[str, int | None]:
    region = getattr(user, "region", None)
    return (region.path if region is not None else "", getattr(user, "school_id", None))


def purge_expired(*, older_than_days: int) -> int:
    """Delete entries older than the given age, never younger than the retention period.

    The model and queryset refuse deletes; this is the one sanctioned path, for disk space.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    minimum = settings.BBT_AUDIT_RETENTION_DAYS
    if older_than_days < minimum:
        raise ValueError(f"审计日志至少保留 {minimum} 天（网络安全法），不能清理 {older_than_days} 天内的记录。")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    qs = AuditEntry.objects.filter(at__lt=cutoff)
    return int(qs._raw_delete(qs.db))  # type: ignore[attr-defined]
