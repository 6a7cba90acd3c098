"""The device register: list, detail (with a fault form), new, QR labels, the public QR page, contacts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_protect

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.middleware import client_ip
from banbantong.core.scope import get_for_user
from banbantong.devices import services
from banbantong.devices.forms import CompanyForm, DeviceForm, FaultForm, PublicFaultForm
from banbantong.devices.labels import labels_pdf
from banbantong.devices.models import Company, Device
from banbantong.devices.views._common import _errors
from banbantong.org.models import School


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
        Col(_("资产编号"), lambda d: d.asset_tag, link=lambda d: reverse("devices:detail", args=[d.pk])),
        Col(pgettext("field", "学校"), lambda d: d.school.name),
        Col(pgettext("field", "教室"), lambda d: str(d.classroom or "")),
        Col(_("类型"), lambda d: d.get_type_display()),
        Col(_("品牌"), lambda d: d.brand),
        Col(_("型号"), lambda d: d.model),
        Col(_("序列号"), lambda d: d.serial),
        Col(_("集成商"), lambda d: str(d.integrator or "")),
        Col(_("保修截止"), lambda d: d.warranty_end.isoformat() if d.warranty_end else ""),
        Col(_("状态"), lambda d: d.get_status_display()),
    ]
    return render_list(request, template="devices/device_list.html", queryset=qs.order_by("school__region_path", "school_id", "id"),
                       columns=columns, title=_("设备"), export_name="设备登记册",
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
            messages.success(request, _("已报修，单号 %(id)s。") % {"id": ticket.pk})
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
            messages.success(request, _("已登记 %(device)s。") % {"device": device})
            return redirect("devices:detail", device_id=device.pk)
    return render(request, "devices/device_new.html", {"form": form})


@login_required
def labels(request: AuthedRequest) -> HttpResponse:
    school_id = request.GET.get("school", "")
    if not school_id.isdigit():
        raise PermissionDenied(_("请指定学校。"))
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


@login_required
def companies(request: AuthedRequest) -> HttpResponse:
    user = request.user
    from banbantong.devices.forms import _regions_above
    from banbantong.org import queries as org_queries

    form = CompanyForm(request.POST or None)
    if request.method == "POST":
        if not (user.is_superuser or user.role == "bureau_admin"):
            raise PermissionDenied(_("只有局管理员可以维护厂家和集成商通讯录。"))
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
                messages.success(request, _("已添加 %(name)s。") % {"name": company.name})
                return redirect("devices:companies")
    items = Company.objects.filter(region__in=_regions_above(user)).distinct()
    return render(request, "devices/companies.html", {"companies": items, "form": form})
