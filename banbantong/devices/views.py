"""Devices and the repair desk: register, labels, the public QR page, tickets, my work, figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from banbantong.accounts.models import User
from banbantong.core import uploads
from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.middleware import client_ip
from banbantong.core.scope import get_for_user
from banbantong.devices import importer, queries, services
from banbantong.devices.forms import CompanyForm, DeviceForm, FaultForm, PublicFaultForm
from banbantong.devices.labels import labels_pdf
from banbantong.devices.models import Company, Device, Ticket
from banbantong.org.models import Region, School


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for m in exc.messages:
        messages.error(request, m)


@login_required
def device_list(request: AuthedRequest) -> HttpResponseBase:
    qs = Device.objects.for_user(request.user).select_related("school", "classroom", "integrator")
    g = request.GET
    if g.get("type") in Device.Type.values:
        qs = qs.filter(type=g["type"])
    if g.get("status") in Device.Status.values:
        qs = qs.filter(status=g["status"])
    if (school := g.get("school", "")).isdigit():
        qs = qs.filter(school_id=int(school))
    if q := g.get("q", "").strip()[:50]:
        qs = qs.filter(Q(school__name__contains=q) | Q(brand__contains=q) | Q(model__contains=q)
                       | Q(serial__contains=q) | Q(asset_tag__contains=q))
    columns = [
        Col("资产编号", lambda d: d.asset_tag, link=lambda d: reverse("devices:detail", args=[d.pk])),
        Col("学校", lambda d: d.school.name),
        Col("教室", lambda d: str(d.classroom or "")),
        Col("类型", lambda d: d.get_type_display()),
        Col("品牌", lambda d: d.brand),
        Col("型号", lambda d: d.model),
        Col("序列号", lambda d: d.serial),
        Col("集成商", lambda d: str(d.integrator or "")),
        Col("保修截止", lambda d: d.warranty_end.isoformat() if d.warranty_end else ""),
        Col("状态", lambda d: d.get_status_display()),
    ]
    return render_list(request, template="devices/device_list.html", queryset=qs.order_by("school__region_path", "school_id", "id"),
                       columns=columns, title="设备", export_name="设备登记册",
                       context={"types": Device.Type.choices, "statuses": Device.Status.choices, "g": g})


@login_required
def device_detail(request: AuthedRequest, device_id: int) -> HttpResponse:
    device = get_for_user(Device.objects.select_related("school", "classroom", "supplier", "integrator", "replaces"),
                          request.user, pk=device_id)
    form = FaultForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.report_fault(device, actor=request.user, fault=form.cleaned_data["fault"],
                                           description=form.cleaned_data["description"], photo=form.cleaned_data["photo"])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, f"已报修，单号 {ticket.pk}。")
            return redirect("devices:ticket", ticket_id=ticket.pk)
    return render(request, "devices/device_detail.html", {
        "device": device, "events": device.events.all()[:50], "tickets": device.tickets.all()[:50], "form": form,
        "qr_url": request.build_absolute_uri(reverse("devices:report", args=[device.qr_token])),
        "under_warranty": device.under_warranty(timezone.localdate()),
    })


@login_required
def device_new(request: AuthedRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = services.DeviceInput(**{k: v for k, v in form.cleaned_data.items() if v is not None and k != "asset_tag"},
                                    asset_tag=form.cleaned_data.get("asset_tag") or "")
        try:
            device = services.register_device(data, actor=request.user)
        except ValidationError as exc:
            for m in exc.messages:
                form.add_error(None, m)
        else:
            messages.success(request, f"已登记 {device}。")
            return redirect("devices:detail", device_id=device.pk)
    return render(request, "devices/device_new.html", {"form": form})


@login_required
def labels(request: AuthedRequest) -> HttpResponse:
    school_id = request.GET.get("school", "")
    if not school_id.isdigit():
        raise PermissionDenied("请指定学校。")
    school = get_for_user(School.objects.all(), request.user, pk=int(school_id))
    devices = Device.objects.filter(school=school).exclude(status=Device.Status.SCRAPPED).select_related("classroom")
    if (room := request.GET.get("classroom", "")).isdigit():
        devices = devices.filter(classroom_id=int(room))
    pdf = labels_pdf(school, list(devices.order_by("classroom__name", "type")),
                     base_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="labels.pdf"'
    return response


@csrf_protect
def report(request: HttpRequest, token: str) -> HttpResponse:
    """The page a QR label opens: no login, nothing shown but the classroom and the device type."""
    device = Device.objects.select_related("classroom").filter(qr_token=token).first()
    if device is None:
        return render(request, "devices/report_public.html", {"invalid": True}, status=404)
    if device.status == Device.Status.SCRAPPED:
        return render(request, "devices/report_public.html", {"scrapped": True}, status=410)
    form = PublicFaultForm(request.POST or None, request.FILES or None)
    done = None
    if request.method == "POST" and form.is_valid():
        try:
            done = services.report_fault_by_qr(
                token, ip=client_ip(request), fault=form.cleaned_data["fault"],
                description=form.cleaned_data["description"], name=form.cleaned_data["name"],
                phone=form.cleaned_data["phone"], photo=form.cleaned_data["photo"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
    return render(request, "devices/report_public.html", {
        "room": str(device.classroom or ""), "type": device.get_type_display(), "form": form, "done": done,
    })


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


def _dates(request: HttpRequest) -> tuple[dt.date | None, dt.date | None]:
    def parse(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    return parse("start"), parse("end")


@login_required
def figures(request: AuthedRequest) -> HttpResponseBase:
    start, end = _dates(request)
    user = request.user
    intact = queries.intactness_by_school(user)
    total = queries.intactness_total(user)
    league = queries.integrator_league(user, start, end)
    models = queries.failures_by_model(user, start, end)
    summary = queries.repair_summary(user, start, end)
    if request.GET.get("export") == "xlsx":
        return workbook_response("设备统计.xlsx", [
            ("完好率", ["学校", "在用设备", "故障未修", "完好率(%)"], [[r.name, r.in_service, r.faulty, float(r.rate)] for r in intact]),
            ("集成商排行", ["集成商", "转交单数", "已修复", "按时修复", "按时率(%)", "平均修复(小时)"],
             [[r.company, r.tickets, r.resolved, r.within, float(r.within_percent), float(r.mean_hours)] for r in league]),
            ("型号故障率", ["品牌", "型号", "设备数", "故障次数", "每百台故障"],
             [[r.brand, r.model, r.devices, r.failures, float(r.per_hundred)] for r in models]),
        ])
    return render(request, "devices/figures.html", {
        "intact": intact, "total": total, "league": league, "models": models, "summary": summary,
        "start": request.GET.get("start", ""), "end": request.GET.get("end", ""),
    })


@login_required
def companies(request: AuthedRequest) -> HttpResponse:
    user = request.user
    from banbantong.devices.forms import _regions_above
    from banbantong.org import queries as org_queries

    form = CompanyForm(request.POST or None)
    if request.method == "POST":
        if not (user.is_superuser or user.role == "bureau_admin"):
            raise PermissionDenied("只有局管理员可以维护厂家和集成商通讯录。")
        region = org_queries.top_regions(user).first()
        if form.is_valid() and region is not None:
            company = form.save(commit=False)
            company.region = region
            try:
                company.full_clean()
                company.save()
            except ValidationError as exc:
                _errors(request, exc)
            else:
                from banbantong.core import audit

                audit.record(audit.Action.CREATE, company, actor=user, after=audit.snapshot(company))
                messages.success(request, f"已添加 {company.name}。")
                return redirect("devices:companies")
    items = Company.objects.filter(region__in=_regions_above(user)).distinct()
    return render(request, "devices/companies.html", {"companies": items, "form": form})


# --- Excel import of the register: upload, preview with every error, confirm ---------------------

IMPORT_SESSION_KEY = "device_imports"
IMPORT_KIND = "devices"  # the pending uploads' folder under MEDIA_ROOT/imports/
# The page lists this many errors; each names its row and column.
IMPORT_ERRORS_ON_PAGE = 200


@login_required
def device_import_template(request: AuthedRequest) -> HttpResponseBase:
    return workbook_response("设备导入模板.xlsx", importer.template_sheets())


@login_required
@require_http_methods(["GET", "POST"])
def device_import(request: AuthedRequest) -> HttpResponse:
    importer.check_can_import(request.user)
    error = ""
    typed = request.POST.get("school", "").strip()
    school_name = typed or (request.user.school.name if request.user.school else "")
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None or not upload.size:
                raise ValidationError("请选择要上传的设备表文件（不能是空文件）。")
            suffix = uploads.spreadsheet_suffix(upload)
            school = importer.find_school(typed, actor=request.user) if typed else None
        except ValidationError as exc:
            error = "；".join(exc.messages)
        else:
            token = uploads.store_pending(IMPORT_KIND, upload, suffix)
            pending = request.session.get(IMPORT_SESSION_KEY, {})
            pending[token] = {"name": Path(upload.name or "").name[:200], "suffix": suffix, "user": request.user.pk,
                              "school": school.pk if school is not None else None}
            request.session[IMPORT_SESSION_KEY] = pending
            return redirect("devices:import_preview", token=token)
    return render(request, "devices/import.html", {
        "error": error, "school_name": school_name, "headers": list(importer.HEADERS.values()),
        "max_mb": max(1, settings.BBT_IMPORT_MAX_BYTES // (1024 * 1024)),
    })


@login_required
@require_http_methods(["GET", "POST"])
def device_import_preview(request: AuthedRequest, token: str) -> HttpResponseBase:
    importer.check_can_import(request.user)
    pending = request.session.get(IMPORT_SESSION_KEY, {})
    entry = pending.get(token) if isinstance(pending.get(token), dict) else None
    owned = entry is not None and entry.get("user") == request.user.pk
    path = uploads.pending_file(IMPORT_KIND, token, entry["suffix"]) if entry is not None and owned else None
    if entry is None or path is None:
        raise Http404("导入记录不存在或已过期，请重新上传。")
    school = get_for_user(School.objects.all(), request.user, pk=entry["school"]) if entry.get("school") else None
    result, errors = None, []
    try:
        result = importer.import_devices(path, actor=request.user, school=school, file_name=entry["name"],
                                         dry_run=request.method != "POST")
    except importer.DevicesInvalid as exc:
        errors = exc.row_errors
    if result is not None and not result.dry_run:
        path.unlink(missing_ok=True)
        pending.pop(token, None)
        request.session[IMPORT_SESSION_KEY] = pending
        messages.success(request, f"设备表“{entry['name']}”已导入：新登记 {result.created} 台，更新 {result.updated} 台，"
                                  f"无变化 {result.unchanged} 台。")
        return redirect("devices:list")
    return render(request, "devices/import_preview.html", {
        "token": token, "file_name": entry["name"], "school": school, "result": result,
        "errors": errors[:IMPORT_ERRORS_ON_PAGE], "error_count": len(errors),
        "more_errors": len(errors) > IMPORT_ERRORS_ON_PAGE,
    })


# --- Repair deadlines (SLA) per region ---------------------------------------------------------------


def _sla_region(request: AuthedRequest) -> Region:
    """The region asked for (in scope, else 404), or the one the user's own tickets are timed by."""
    user = request.user
    if (raw := request.GET.get("region", "")).isdigit():
        return get_for_user(Region.objects.all(), user, pk=int(raw))
    region = user.region or (user.school.region if user.school else None)
    if region is None:
        school = School.objects.for_user(user).select_related("region").first()
        region = school.region if school else Region.objects.filter(parent__isnull=True).order_by("pk").first()
    if region is None:
        raise Http404("还没有任何区域。")
    return region


def _whole_hours(raw: str) -> int:
    # Anything but a whole number becomes 0, which the rule reports as "须为正整数小时".
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() and len(raw) < 10 else 0


@login_required
@require_http_methods(["GET", "POST"])
def sla_settings(request: AuthedRequest) -> HttpResponse:
    user = request.user
    region = _sla_region(request)
    can_edit = services.may_set_sla(user, region)
    rows = services.sla_rows(region)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("只有本区域的局管理员可以修改维修时限。")
        wanted = {r.priority: (_whole_hours(request.POST.get(f"{r.priority}_respond", "")),
                               _whole_hours(request.POST.get(f"{r.priority}_fix", ""))) for r in rows}
        try:
            with transaction.atomic():
                for r in rows:
                    if wanted[r.priority] != (r.respond_hours, r.fix_hours):
                        try:
                            services.set_sla(region, r.priority, *wanted[r.priority], actor=user)
                        except ValidationError as exc:
                            errors[r.priority] = exc.messages
                if errors:
                    raise ValidationError("有错误，未保存。")  # undo the rows that were fine
        except ValidationError:
            messages.error(request, "维修时限有错误，没有保存任何修改。请按提示改正。")
        else:
            messages.success(request, f"已保存{region.name}的维修时限；之后的新报修单按新时限计算。")
            return redirect(f"{reverse('devices:sla')}?region={region.pk}")
    regions = Region.objects.for_user(user).exclude(level=Region.Level.TOWN).order_by("path") if user.is_regional else []
    table = [{"row": r, "errors": errors.get(r.priority, []),
              "respond": request.POST.get(f"{r.priority}_respond", r.respond_hours),
              "fix": request.POST.get(f"{r.priority}_fix", r.fix_hours)} for r in rows]
    return render(request, "devices/sla.html", {"region": region, "table": table, "can_edit": can_edit,
                                                "regions": regions})
