"""Dashboard, audit log and error pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from banbantong.core.charts import bar_chart
from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.models import AuditEntry
from banbantong.devices import queries as device_queries
from banbantong.org import queries


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    user = request.user
    figures = queries.figures(user)
    rows: list[queries.RegionRow] = []
    if user.is_regional:
        tops = list(queries.top_regions(user))
        # One top node: show its children, the level a bureau admin compares.
        rows = queries.child_figures(user, tops[0]) if len(tops) == 1 else queries.child_figures(user, None)
    chart = bar_chart(
        [(r.region.name, float(r.figures.coverage)) for r in rows], unit="%", max_value=100.0
    ) if rows else ""
    tickets = device_queries.open_counts(user)
    return render(request, "core/dashboard.html", {"figures": figures, "rows": rows, "chart": chart, "tickets": tickets})


def _audit_columns() -> list[Col]:
    return [
        Col(_("时间"), lambda e: e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
        Col(_("操作人"), lambda e: e.actor_name),
        Col(_("动作"), lambda e: e.get_action_display()),
        Col(_("对象类型"), lambda e: e.object_type),
        Col(_("对象"), lambda e: e.object_repr),
        Col("IP", lambda e: e.ip),
        Col(_("请求编号"), lambda e: e.request_id),
        Col(_("修改前"), lambda e: _json(e.before)),
        Col(_("修改后"), lambda e: _json(e.after)),
    ]


def _json(value: Any) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@login_required
def audit_log(request: AuthedRequest) -> HttpResponseBase:
    if not request.user.can_read_audit:
        raise PermissionDenied(_("只有审计员和局管理员可以查看审计日志。"))
    qs = AuditEntry.objects.for_user(request.user)
    action = request.GET.get("action", "")
    if action in AuditEntry.Action.values:
        qs = qs.filter(action=action)
    who = request.GET.get("actor", "").strip()
    if who:
        qs = qs.filter(actor_name__icontains=who)
    return render_list(
        request,
        template="core/audit_log.html",
        queryset=qs,
        columns=_audit_columns(),
        title=_("审计日志"),
        export_name="审计日志",
        context={"actions": AuditEntry.Action.choices, "action": action, "actor": who},
    )


@require_GET
def healthz(request: AuthedRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request: AuthedRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"code": 404, "message": _("页面不存在，或不在您的管辖范围内。")}, status=404)


def forbidden(request: AuthedRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else _("您没有执行此操作的权限。")
    return render(request, "core/error.html", {"code": 403, "message": message}, status=403)


@login_required
def notifications(request: AuthedRequest) -> HttpResponse:
    from banbantong.core.models import Notification
    from banbantong.core.notifications import mark_read

    if request.method == "POST":
        mark_read(request.user)
        return redirect("core:notifications")
    items = Notification.objects.for_user(request.user)[:200]
    return render(request, "core/notifications.html", {"items": items})
