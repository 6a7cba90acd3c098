"""Catalogue pages: the textbooks a user's schools use, one book's units and lessons, the import."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.core.uploads import spreadsheet_suffix
from banbantong.org.grades import parse_grade
from banbantong.org.models import Region
from banbantong.resources import catalogue, services
from banbantong.resources.models import Lesson, Resource, Volume


def may_load(user: Any) -> bool:
    return bool(user.is_superuser or (user.role == "bureau_admin" and not user.read_only))


def volume_queryset(user: Any, params: Any) -> QuerySet[Volume]:
    qs = Volume.objects.for_user(user).select_related("edition__region")
    if stage := (params.get("stage") or "").strip()[:10]:
        qs = qs.filter(edition__stage=stage)
    if subject := (params.get("subject") or "").strip()[:20]:
        qs = qs.filter(edition__subject=subject)
    if (grade := parse_grade(params.get("grade") or "")) is not None:
        qs = qs.filter(grade=grade)
    return qs.annotate(unit_count=Count("units", distinct=True), lesson_count=Count("units__lessons")).order_by(
        "edition__stage", "edition__subject", "edition__name", "grade", "order", "id"
    )


@login_required
@require_safe
def catalogue_list(request: AuthedRequest) -> HttpResponseBase:
    columns = [
        Col(_("学段"), lambda v: v.edition.stage),
        Col(_("学科"), lambda v: v.edition.subject),
        Col(_("教材版本"), lambda v: v.edition.name, link=lambda v: reverse("resources:volume", args=[v.pk])),
        Col(_("册"), lambda v: v.label, link=lambda v: reverse("resources:volume", args=[v.pk])),
        Col(_("单元数"), lambda v: v.unit_count, numeric=True),
        Col(_("课时数"), lambda v: v.lesson_count, numeric=True),
        Col(_("导入区域"), lambda v: v.edition.region.name),
    ]
    return render_list(
        request, template="resources/catalogue_list.html", queryset=volume_queryset(request.user, request.GET),
        columns=columns, title=_("教材目录"), export_name="教材目录",
        context={"g": request.GET, "may_load": may_load(request.user), "may_upload": services.may_upload(request.user)},
    )


def lesson_rows(volume: Volume, user: Any) -> list[dict[str, Any]]:
    """The book's lessons in order, each with the count of resources the user sees (one grouped query)."""
    lessons = list(Lesson.objects.filter(unit__volume=volume).select_related("unit").order_by("unit__number", "number"))
    counts = dict(
        Resource.objects.for_user(user).filter(catalogue_lesson__unit__volume=volume)
        .values_list("catalogue_lesson").annotate(n=Count("id")).values_list("catalogue_lesson", "n")
    )
    return [{"lesson": lesson, "unit": lesson.unit, "resources": counts.get(lesson.pk, 0)} for lesson in lessons]


@login_required
@require_safe
def volume_detail(request: AuthedRequest, volume_id: int) -> HttpResponseBase:
    volume = get_for_user(Volume.objects.select_related("edition__region"), request.user, pk=volume_id)
    rows = lesson_rows(volume, request.user)
    if request.GET.get("export") == "xlsx":
        e = volume.edition
        table = [[e.stage, e.subject, e.name, volume.grade_label, volume.term, r["unit"].number, r["unit"].name,
                  r["lesson"].number, r["lesson"].name, r["resources"]] for r in rows]
        return workbook_response(f"教材目录-{e.name}{e.subject}{volume.label}.xlsx",
                                 [(volume.label, [*catalogue.HEADERS, "资源数"], table)])
    units: list[dict[str, Any]] = []
    for r in rows:
        if not units or units[-1]["unit"].pk != r["unit"].pk:
            units.append({"unit": r["unit"], "lessons": []})
        units[-1]["lessons"].append(r)
    return render(request, "resources/volume_detail.html", {
        "volume": volume, "units": units, "lesson_total": len(rows),
        "may_upload": services.may_upload(request.user),
    })


@login_required
@require_safe
def catalogue_template(request: AuthedRequest) -> HttpResponseBase:
    return workbook_response("教材目录导入模板.xlsx", catalogue.template_sheets())


@login_required
@require_http_methods(["GET", "POST"])
def catalogue_import(request: AuthedRequest) -> HttpResponse:
    if not may_load(request.user):
        raise PermissionDenied(_("只有局管理员可以导入教材目录。"))
    regions = Region.objects.for_user(request.user).order_by("path")
    context: dict[str, Any] = {"regions": regions, "chosen": request.POST.get("region", "")}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if not request.POST.get("region", "").isdigit():
                raise ValidationError(_("请选择教材目录所属的区域。"))
            region = get_for_user(Region.objects.all(), request.user, pk=int(request.POST["region"]))
            if upload is None or not upload.size:
                raise ValidationError(_("请选择要导入的教材目录文件（不能是空文件）。"))
            suffix = spreadsheet_suffix(upload)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"catalogue{suffix}"
                with path.open("wb") as fh:
                    for chunk in upload.chunks():
                        fh.write(chunk)
                result = catalogue.load_catalogue(path, region=region, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            context["error"] = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return render(request, "resources/catalogue_import.html", context, status=400)
        if not result.ok:
            context.update(result=result, errors=result.errors[:500])
            return render(request, "resources/catalogue_import.html", context, status=400)
        messages.success(request, _("已导入 %(editions)s 个版本、%(volumes)s 册、%(units)s 个单元、"
                                    "%(lessons)s 个课时（其中新增 %(created)s 个）。") % {
            "editions": result.editions, "volumes": result.volumes, "units": result.units,
            "lessons": result.lessons, "created": result.created_lessons})
        return redirect("resources:catalogue")
    return render(request, "resources/catalogue_import.html", context)
