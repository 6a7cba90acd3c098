"""Deadlines (SLA) per region: hours to respond and to fix by priority, inherited down the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.core.scope import path_ids
from banbantong.devices import rules
from banbantong.devices.models import Sla, Ticket
from banbantong.org.models import Region


@dataclass(frozen=True)
class SlaRow:
    priority: str
    label: str
    respond_hours: int
    fix_hours: int
    source: str  # where the figures come from: 平台默认, or the region that set them
    own: bool  # set on the region itself (not inherited)


def _sla_settings(region_path: str) -> list[Sla]:
    """The Sla rows on the region and its ancestors, the top region first (deeper ones win)."""
    ancestry = path_ids(region_path)
    depth = {rid: i for i, rid in enumerate(ancestry)}
    rows = Sla.objects.filter(region_id__in=ancestry).select_related("region")
    return sorted(rows, key=lambda s: depth[s.region_id])


def sla_hours(region_path: str) -> dict[str, tuple[int, int]]:
    """(respond, fix) hours per priority for tickets of a school at region_path."""
    table = dict(rules.DEFAULT_SLA_HOURS)
    for row in _sla_settings(region_path):
        table[row.priority] = (row.respond_hours, row.fix_hours)
    return table


def sla_rows(region: Region) -> list[SlaRow]:
    """The deadlines in force in region, per priority, with where each comes from."""
    found = {row.priority: row for row in _sla_settings(region.path)}
    rows = []
    for priority in Ticket.Priority.values:
        row = found.get(priority)
        respond, fix = (row.respond_hours, row.fix_hours) if row else rules.DEFAULT_SLA_HOURS[priority]
        rows.append(SlaRow(priority, str(Ticket.Priority(priority).label), respond, fix,
                           # "platform default" is the interface's word, a region's name is data
                           row.region.name if row else gettext("平台默认"), row is not None and row.region_id == region.pk))
    return rows


def may_set_sla(actor: Any, region: Region) -> bool:
    return actor is None or (
        not getattr(actor, "read_only", False)
        and (actor.is_superuser or actor.role == "bureau_admin")
        and actor.scope.covers_path(region.path)
    )


@transaction.atomic
def set_sla(region: Region, priority: str, respond_hours: int, fix_hours: int, *, actor: Any) -> Sla:
    """Set a region's deadlines for one priority (its schools and the regions below inherit them)."""
    if not may_set_sla(actor, region):
        raise PermissionDenied("只有本区域的局管理员可以设定维修时限。")
    if priority not in Ticket.Priority.values:
        raise ValidationError(f"未知的优先级“{priority}”。")
    problems = rules.sla_problems(respond_hours, fix_hours)
    if problems:
        raise ValidationError(problems)
    sla = Sla.objects.select_for_update().filter(region=region, priority=priority).first()
    if sla is not None and (sla.respond_hours, sla.fix_hours) == (respond_hours, fix_hours):
        return sla
    before = audit.snapshot(sla, ["respond_hours", "fix_hours"]) if sla is not None else None
    if sla is None:
        sla = Sla(region=region, priority=priority)
    sla.respond_hours, sla.fix_hours = respond_hours, fix_hours
    sla.save()
    audit.record(audit.Action.UPDATE if before else audit.Action.CREATE, sla, actor=actor, before=before,
                 after={"priority": priority, "respond_hours": respond_hours, "fix_hours": fix_hours},
                 object_repr=f"{region.name} {chinese(Ticket.Priority(priority).label)}优先级维修时限", place=(region.path, None))
    return sla
