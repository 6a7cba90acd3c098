"""Writes on the registry. Pages, API, import and the demo all go through these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from banbantong.core import audit
from banbantong.org.history_months import refresh_history_months
from banbantong.org.models import ClassRollup, ClassStatusChange, Region, School, Teacher, TeachingClass
from banbantong.org.signals import banbantong_status_changed

# Moving back along 未建 → 已规划 → 在建 → 已建 → 已验收 needs a reason (issue: rollout lifecycle).
STATUS_ORDER = [s.value for s in TeachingClass.Status]


def is_backwards(old: str, new: str) -> bool:
    return STATUS_ORDER.index(new) < STATUS_ORDER.index(old)


def _check_can_write(actor: Any) -> None:
    if actor is not None and getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能修改数据。")


def ensure_region(name: str, *, level: str, parent: Region | None, actor: Any) -> tuple[Region, bool]:
    """The region called name under parent, created (and audited) when missing."""
    _check_can_write(actor)
    name = name.strip()
    if not name:
        raise ValidationError("区域名称不能为空。")
    existing = Region.objects.filter(parent=parent, name=name).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        region = Region.objects.create(name=name, level=level, parent=parent)
        region.path = f"{parent.path if parent else '/'}{region.pk}/"
        region.depth = (parent.depth + 1) if parent else 0
        region.save(update_fields=["path", "depth"])
        audit.record(audit.Action.CREATE, region, actor=actor, after=audit.snapshot(region))
    return region, True


@transaction.atomic
def set_class_status(
    klass: TeachingClass, status: str, *, actor: Any, on: dt.date | None = None, reason: str = ""
) -> TeachingClass:
    """Change a class's Banbantong status, dated and audited; going backwards needs a reason."""
    _check_can_write(actor)
    if status not in TeachingClass.Status.values:
        raise ValidationError({"status": f"未知的建设状态：{status}"})
    locked = TeachingClass.objects.select_for_update(of=("self",)).select_related("school").get(pk=klass.pk)
    if locked.status == status:
        return locked
    if is_backwards(locked.status, status) and not reason.strip():
        raise ValidationError({"reason": "建设状态回退（例如从“已建”改回“在建”）必须填写原因。"})
    on = on or timezone.localdate()
    before = audit.snapshot(locked, ["status", "status_changed_on", "built_year"])
    ClassStatusChange.objects.create(
        klass=locked, old_status=locked.status, new_status=status, changed_on=on,
        actor=actor if getattr(actor, "is_authenticated", False) else None, reason=reason.strip(),
    )
    locked.status = status
    locked.status_changed_on = on
    if status in TeachingClass.BUILT_STATUSES and locked.built_year is None:
        locked.built_year = on.year
    locked.save(update_fields=["status", "status_changed_on", "built_year", "updated_at"])
    refresh_school_counts([locked.school_id])
    audit.record(
        audit.Action.UPDATE, locked, actor=actor, before=before,
        after=audit.snapshot(locked, ["status", "status_changed_on", "built_year"]),
    )
    return locked


def school_is_rural(kind: str) -> bool:
    return kind in School.RURAL_KINDS


def refresh_school_counts(school_ids: Iterable[int]) -> None:
    """Recount the roll-ups of these schools from their classes and teachers.

    Every service that adds or removes classes or teachers, or changes a class's status or mode,
    calls this in its transaction; `bbt recount` recounts everything. It keeps four things:
    the school's own counts, its `ClassRollup` rows (classes per mode by status), the copied
    school/mode/built fields of its classes' `ClassStatusChange` rows (see those models) and its
    month-end history roll-ups (`ClassHistoryMonth`).
    """
    ids = sorted(set(school_ids))
    classes = TeachingClass.objects.filter(school_id=OuterRef("pk")).order_by().values("school_id")
    teachers = Teacher.objects.filter(school_id=OuterRef("pk")).order_by().values("school_id")

    def rollup(aggregate: Any) -> Coalesce:
        return Coalesce(Subquery(classes.annotate(v=aggregate).values("v")), 0)

    flipped: list[int] = []
    for i in range(0, len(ids), 900):  # below SQLite's bound-parameter limit
        chunk = ids[i : i + 900]
        was_bbt = set(School.objects.filter(id__in=chunk, built_count__gt=0).values_list("id", flat=True))
        # One UPDATE with correlated subqueries per chunk; bulk_update's CASE WHEN is far slower.
        School.objects.filter(id__in=chunk).update(
            class_count=rollup(Count("id")),
            built_count=rollup(Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES))),
            pupil_count=rollup(Sum("pupils")),
            teacher_count=Coalesce(Subquery(teachers.annotate(v=Count("id")).values("v")), 0),
        )
        refresh_class_rollups(chunk)
        is_bbt = set(School.objects.filter(id__in=chunk, built_count__gt=0).values_list("id", flat=True))
        flipped += sorted(was_bbt ^ is_bbt)
    if flipped:
        banbantong_status_changed.send(sender=School, school_ids=flipped)


ROLLUP_COLUMNS = ("school_id", "mode_id", "region_path", "kind", "is_rural", "classes", "built", "accepted",
                  "planned", "building")


def refresh_class_rollups(school_ids: Iterable[int]) -> None:
    """Rebuild the `ClassRollup` rows, re-copy the history fields and rewrite the month-end
    history roll-ups (`org.history_months`) of these schools.

    Called by refresh_school_counts; the survey import calls it alone for the schools it
    creates, whose own counts it inserts with them.
    """
    ids = sorted(set(school_ids))
    S = TeachingClass.Status
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        ClassRollup.objects.filter(school_id__in=chunk).delete()
        grouped = (
            TeachingClass.objects.filter(school_id__in=chunk).order_by().values("school_id", "mode_id")
            .annotate(
                r_path=F("school__region_path"), r_kind=F("school__kind"), r_rural=F("school__is_rural"),
                n=Count("id"), n_built=Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES)),
                n_accepted=Count("id", filter=Q(status=S.ACCEPTED)), n_planned=Count("id", filter=Q(status=S.PLANNED)),
                n_building=Count("id", filter=Q(status=S.BUILDING)),
            )
        )
        sql, params = grouped.query.sql_with_params()
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in ROLLUP_COLUMNS)
        # One INSERT … SELECT: the database groups and writes, nothing travels through Python.
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {qn(ClassRollup._meta.db_table)} ({columns}) {sql}", params)  # noqa: S608
        _copy_history_fields(chunk)
        refresh_history_months(chunk)


def _copy_history_fields(school_ids: list[int]) -> None:
    """Copy school, mode, place, kind and the built step onto these schools' history rows.

    One UPDATE … FROM (SQLite ≥ 3.33 and PostgreSQL): a survey import touches every history
    row of a province, and correlated subqueries would look the class up once per column.
    """
    qn = connection.ops.quote_name
    h, c, s = (qn(m._meta.db_table) for m in (ClassStatusChange, TeachingClass, School))
    built = ", ".join(["%s"] * len(TeachingClass.BUILT_STATUSES))
    ids = ", ".join(["%s"] * len(school_ids))
    sql = (
        f"UPDATE {h} SET school_id = {c}.school_id, mode_id = {c}.mode_id, region_path = {s}.region_path, "  # noqa: S608
        f"kind = {s}.kind, is_rural = {s}.is_rural, built_delta = "
        f"(CASE WHEN {h}.new_status IN ({built}) THEN 1 ELSE 0 END) - "
        f"(CASE WHEN {h}.old_status IN ({built}) THEN 1 ELSE 0 END) "
        f"FROM {c} JOIN {s} ON {s}.id = {c}.school_id "
        f"WHERE {h}.klass_id = {c}.id AND {c}.school_id IN ({ids})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*TeachingClass.BUILT_STATUSES, *TeachingClass.BUILT_STATUSES, *school_ids])


SCHOOL_EDITABLE_FIELDS = (
    "code", "address", "principal", "has_fibre", "bandwidth_mbps", "has_campus_lan", "has_firewall",
)
MAX_BANDWIDTH_MBPS = 100_000


def can_edit_school(actor: Any, school: School) -> bool:
    """Bureau admins edit schools in their region; a school admin edits their own school."""
    if actor is None or getattr(actor, "read_only", True):
        return False
    if actor.is_superuser:
        return True
    if actor.role == actor.Role.BUREAU_ADMIN:
        return actor.scope.covers_path(school.region_path)
    return actor.role == actor.Role.SCHOOL_ADMIN and actor.school_id == school.pk


@transaction.atomic
def update_school(school: School, *, actor: Any, expected_updated_at: dt.datetime | None = None, **changes: Any) -> School:
    """Edit a school's own data (code, address, principal, network readiness), audited.

    `expected_updated_at` is the version the editor saw: if someone saved in between, the edit is
    refused with the current values rather than silently overwriting them.
    """
    _check_can_write(actor)
    locked = School.objects.select_for_update(of=("self",)).select_related("region").get(pk=school.pk)
    if not can_edit_school(actor, locked):
        raise PermissionDenied("只有本校管理员或所属区域的局管理员可以修改学校信息。")
    unknown = set(changes) - set(SCHOOL_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"不能修改这些字段：{'、'.join(sorted(unknown))}")
    if expected_updated_at is not None and locked.updated_at != expected_updated_at:
        raise ValidationError(
            f"{locked.name} 的信息已被其他人在 {timezone.localtime(locked.updated_at):%Y-%m-%d %H:%M:%S} 修改，"
            "请查看当前内容后再保存。"
        )
    bandwidth = changes.get("bandwidth_mbps")
    if bandwidth is not None and not (0 <= int(bandwidth) <= MAX_BANDWIDTH_MBPS):
        raise ValidationError({"bandwidth_mbps": f"出口带宽应在 0 到 {MAX_BANDWIDTH_MBPS} Mbps 之间。"})
    before = audit.snapshot(locked, SCHOOL_EDITABLE_FIELDS)
    for name, value in changes.items():
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    locked.save()
    after = audit.snapshot(locked, SCHOOL_EDITABLE_FIELDS)
    if after != before:
        audit.record(audit.Action.UPDATE, locked, actor=actor, before=before, after=after)
    return locked
