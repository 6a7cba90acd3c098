"""Tickets: the list with its filters, one ticket and its actions, my work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banbantong.accounts.models import User
from banbantong.core.http import AuthedRequest
from banbantong.core.listing import PAGE_SIZE, Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.devices import queries, services
from banbantong.devices.filters import OPEN_ALL, TicketFilter, filter_tickets
from banbantong.devices.models import Device, Ticket
from banbantong.devices.views._common import _errors
from banbantong.org.models import School

# The ticket list counts up to this many rows (more show as "2000+").
LIST_COUNT_LIMIT = 2000


def _ticket_columns() -> list[Col]:
    now = timezone.now()
    return [
        Col(_("单号"), lambda t: t.pk, link=lambda t: reverse("devices:ticket", args=[t.pk])),
        Col(pgettext("field", "学校"), lambda t: t.school.name),
        Col(pgettext("field", "教室"), lambda t: str(t.device.classroom or "")),
        Col(pgettext("field", "设备"), lambda t: f"{t.device.get_type_display()} {t.device.brand}"),
        Col(_("故障"), lambda t: t.get_fault_display()),
        Col(_("优先级"), lambda t: t.get_priority_display()),
        Col(_("状态"), lambda t: t.get_state_display()),
        Col(_("报修时间"), lambda t: timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M")),
        Col(_("修复时限"), lambda t: timezone.localtime(t.fix_due).strftime("%Y-%m-%d %H:%M")
            + (_(" 已超时") if t.state not in ("resolved", "closed") and t.fix_due < now else "")),
        Col(_("处理人"), lambda t: str(t.assignee or "")),
        Col(_("集成商"), lambda t: str(t.escalated_to or "")),
    ]


@login_required
def ticket_list(request: AuthedRequest) -> HttpResponseBase:
    g = request.GET
    school = None
    if (raw := g.get("school", "")).isdigit():
        # A school outside the user's scope is 404, as on the API, rather than an empty list.
        school = get_for_user(School.objects.all(), request.user, pk=int(raw))
    state = g.get("state", "")
    f = TicketFilter(
        state=state if state == OPEN_ALL or state in Ticket.State.values else None,
        overdue=g.get("overdue") == "1",
        school=school.pk if school else None,
        fault=g.get("fault") if g.get("fault") in Ticket.Fault.values else None,
        priority=g.get("priority") if g.get("priority") in Ticket.Priority.values else None,
        q=g.get("q", ""),
    )
    # Count no further than the page asked for plus a margin: the page then says "2000+ 条" and
    # still offers the next page, without counting a province's year of tickets on every view.
    page = int(raw_page) if (raw_page := g.get("page", "")).isdigit() else 1
    limit = max(LIST_COUNT_LIMIT, min(page, 10**6) * PAGE_SIZE + PAGE_SIZE)
    return render_list(request, template="devices/ticket_list.html",
                       queryset=filter_tickets(request.user, f).count_at_most(limit),
                       columns=_ticket_columns(), title=_("报修单"), export_name="报修单",
                       context={"states": Ticket.State.choices, "faults": Ticket.Fault.choices,
                                "priorities": Ticket.Priority.choices, "g": g, "school": school,
                                "count_limit": limit})


@login_required
def my_work(request: AuthedRequest) -> HttpResponse:
    tickets = list(queries.my_tickets(request.user)[:200])
    return render(request, "devices/my_work.html", {"tickets": tickets, "now": timezone.now(),
                                                    "counts": queries.open_counts(request.user)})


@login_required
def ticket_detail(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = get_for_user(Ticket.objects.select_related("device", "school", "assignee", "escalated_to", "device__classroom",
                                                        "device__integrator"), request.user, pk=ticket_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        version = int(request.POST.get("version") or 0) or None
        try:
            if action == "comment":
                services.add_comment(ticket, actor=request.user, text=request.POST.get("text", ""),
                                     photo=request.FILES.get("photo"))
            elif action == "escalate":
                services.escalate(ticket, actor=request.user, expected_version=version)
            elif action == "replace":
                new = services.replace_device(ticket, _replacement(request, ticket), actor=request.user,
                                              expected_version=version)
                messages.success(request, _("已登记新设备 %(tag)s，旧设备已报废并与之关联。") % {"tag": new.asset_tag})
            elif action in Ticket.State.values:
                assignee = None
                if action == Ticket.State.ASSIGNED:
                    raw = request.POST.get("assignee", "")
                    assignee = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
                    if assignee is not None and not _can_assign(request.user, ticket, assignee):
                        raise ValidationError(_("处理人必须是本校的电教管理员或学校管理员。"))
                services.change_ticket(ticket, actor=request.user, state=action, expected_version=version,
                                       assignee=assignee, outcome=request.POST.get("outcome", ""),
                                       note=request.POST.get("note", ""), reason=request.POST.get("reason", ""))
            else:
                raise ValidationError(_("未知的操作。"))
        except services.Conflict as exc:
            _errors(request, exc)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已保存。"))
        return redirect("devices:ticket", ticket_id=ticket.pk)
    helpers = User.objects.filter(school=ticket.school, role__in=["device_admin", "school_admin"], is_active=True)
    return render(request, "devices/ticket_detail.html", {
        "ticket": ticket, "comments": ticket.comments.select_related("author"), "helpers": helpers,
        "outcomes": Ticket.Outcome.choices, "now": timezone.now(), "types": Device.Type.choices,
        "today": timezone.localdate(),
        "can_escalate": ticket.device.integrator_id is not None and ticket.device.under_warranty(timezone.localdate()),
    })


def _replacement(request: AuthedRequest, ticket: Ticket) -> services.DeviceInput:
    """The new device of a whole-device replacement, from the ticket page's form."""
    p = request.POST

    def day(name: str) -> dt.date | None:
        raw = p.get(name, "").strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(_("日期“%(value)s”格式不对，请写成 2026-09-01。") % {"value": raw[:20]}) from None

    price = p.get("price", "").strip()
    try:
        amount = Decimal(price) if price else None
    except InvalidOperation:
        raise ValidationError(_("价格“%(value)s”不是数字。") % {"value": price[:20]}) from None
    return services.DeviceInput(
        school=ticket.school, type=p.get("type", ""), brand=p.get("brand", ""), model=p.get("model", ""),
        serial=p.get("serial", ""), asset_tag=p.get("asset_tag", ""), purchase_date=day("purchase_date"),
        warranty_end=day("warranty_end"), price=amount,
    )


def _can_assign(actor: Any, ticket: Ticket, assignee: Any) -> bool:
    return assignee.school_id == ticket.school_id and assignee.role in {"device_admin", "school_admin"}
