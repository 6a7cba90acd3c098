"""Tickets: the list with its filters, one ticket and its actions, my work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.devices import queries, services
from banbantong.devices.models import Ticket
from banbantong.devices.views._common import _errors


def _ticket_columns() -> list[Col]:
    now = timezone.now()
    return [
        Col("单号", lambda t: t.pk, link=lambda t: reverse("devices:ticket", args=[t.pk])),
        Col("学校", lambda t: t.school.name),
        Col("教室", lambda t: str(t.device.classroom or "")),
        Col("设备", lambda t: f"{t.device.get_type_display()} {t.device.brand}"),
        Col("故障", lambda t: t.get_fault_display()),
        Col("优先级", lambda t: t.get_priority_display()),
        Col("状态", lambda t: t.get_state_display()),
        Col("报修时间", lambda t: timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M")),
        Col("修复时限", lambda t: timezone.localtime(t.fix_due).strftime("%Y-%m-%d %H:%M")
            + (" 已超时" if t.state not in ("resolved", "closed") and t.fix_due < now else "")),
        Col("处理人", lambda t: str(t.assignee or "")),
        Col("集成商", lambda t: str(t.escalated_to or "")),
    ]


@login_required
def ticket_list(request: AuthedRequest) -> HttpResponseBase:
    qs = Ticket.objects.for_user(request.user).select_related("school", "device", "device__classroom", "assignee", "escalated_to")
    g = request.GET
    if g.get("state") == "open_all":
        qs = qs.open()
    elif g.get("state") in Ticket.State.values:
        qs = qs.filter(state=g["state"])
    if g.get("overdue") == "1":
        qs = qs.filter(queries.overdue_q())
    if g.get("fault") in Ticket.Fault.values:
        qs = qs.filter(fault=g["fault"])
    if g.get("priority") in Ticket.Priority.values:
        qs = qs.filter(priority=g["priority"])
    if q := g.get("q", "").strip()[:50]:
        qs = qs.filter(school__name__contains=q)
    return render_list(request, template="devices/ticket_list.html", queryset=qs.order_by("-created_at", "-id"),
                       columns=_ticket_columns(), title="报修单", export_name="报修单",
                       context={"states": Ticket.State.choices, "faults": Ticket.Fault.choices,
                                "priorities": Ticket.Priority.choices, "g": g})


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
            elif action in Ticket.State.values:
                assignee = None
                if action == Ticket.State.ASSIGNED:
                    raw = request.POST.get("assignee", "")
                    assignee = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
                    if assignee is not None and not _can_assign(request.user, ticket, assignee):
                        raise ValidationError("处理人必须是本校的电教管理员或学校管理员。")
                services.change_ticket(ticket, actor=request.user, state=action, expected_version=version,
                                       assignee=assignee, outcome=request.POST.get("outcome", ""),
                                       note=request.POST.get("note", ""), reason=request.POST.get("reason", ""))
            else:
                raise ValidationError("未知的操作。")
        except services.Conflict as exc:
            _errors(request, exc)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, "已保存。")
        return redirect("devices:ticket", ticket_id=ticket.pk)
    helpers = User.objects.filter(school=ticket.school, role__in=["device_admin", "school_admin"], is_active=True)
    return render(request, "devices/ticket_detail.html", {
        "ticket": ticket, "comments": ticket.comments.select_related("author"), "helpers": helpers,
        "outcomes": Ticket.Outcome.choices, "now": timezone.now(),
        "can_escalate": ticket.device.integrator_id is not None and ticket.device.under_warranty(timezone.localdate()),
    })


def _can_assign(actor: Any, ticket: Ticket, assignee: Any) -> bool:
    return assignee.school_id == ticket.school_id and assignee.role in {"device_admin", "school_admin"}
