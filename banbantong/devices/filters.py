"""The device and ticket list filters: one scoped, filtered queryset for the API (and the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from banbantong.devices import queries
from banbantong.devices.models import Device, Ticket, TicketQuerySet

# "open_all": every ticket not yet resolved or closed, whatever its step.
OPEN_ALL = "open_all"


@dataclass(frozen=True)
class DeviceFilter:
    type: str | None = None
    status: str | None = None
    school: int | None = None
    q: str | None = None


def filter_devices(user: Any, f: DeviceFilter) -> QuerySet[Device]:
    qs = Device.objects.for_user(user).select_related("school", "classroom", "supplier", "integrator")
    if f.type:
        qs = qs.filter(type=f.type)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.school:
        qs = qs.filter(school_id=f.school)
    if q := (f.q or "").strip()[:50]:
        qs = qs.filter(Q(school__name__contains=q) | Q(brand__contains=q) | Q(model__contains=q)
                       | Q(serial__contains=q) | Q(asset_tag__contains=q))
    return qs.order_by("school__region_path", "school_id", "id")


@dataclass(frozen=True)
class TicketFilter:
    state: str | None = None
    overdue: bool = False
    school: int | None = None
    fault: str | None = None
    priority: str | None = None
    q: str | None = None  # part of the school's name


def filter_tickets(user: Any, f: TicketFilter) -> TicketQuerySet:
    qs = Ticket.objects.for_user(user).select_related("school", "device", "device__classroom", "assignee",
                                                      "escalated_to")
    if f.state == OPEN_ALL:
        qs = qs.open()
    elif f.state:
        qs = qs.filter(state=f.state)
    if f.overdue:
        qs = qs.filter(queries.overdue_q())
    if f.school:
        qs = qs.filter(school_id=f.school)
    if f.fault:
        qs = qs.filter(fault=f.fault)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if q := (f.q or "").strip()[:50]:
        qs = qs.filter(school__name__contains=q)
    return qs.order_by("-created_at", "-id")
