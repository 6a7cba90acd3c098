"""Registry pages: region tree, schools, classes and teachers. Every read starts from scope."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.org import queries, services
from banbantong.org.filters import ClassFilter, filter_classes
from banbantong.org.forms import SchoolForm
from banbantong.org.grades import GRADE_CHOICES
from banbantong.org.models import Region, School, TeachingClass
from banbantong.planning.mode_catalogue import Catalogue
from banbantong.planning.models import TerminalMode
from banbantong.planning.rules import coverage_percent
from banbantong.planning.suggestions import RuleBook


def _yes(value: bool) -> str:
    return _("是") if value else _("否")


@login_required
def region_tree(request: AuthedRequest) -> HttpResponse:
    regions = list(Region.objects.for_user(request.user).order_by("path"))
    rows = queries.child_figures(request.user, None)
    return render(request, "org/region_tree.html", {"regions": regions, "rows": rows})


@login_required
def region_detail(request: AuthedRequest, region_id: int) -> HttpResponse:
    region = get_for_user(Region.objects.all(), request.user, pk=region_id)
    return render(
        request,
        "org/region_detail.html",
        {
            "region": region,
            "ancestors": [r for r in region.ancestors() if r.pk != region.pk and request.user.scope.covers_path(r.path)],
            "figures": queries.figures(request.user, region),
            "rows": queries.child_figures(request.user, region),
        },
    )


@login_required
def school_list(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    region_id = request.GET.get("region", "")
    region = get_for_user(Region.objects.all(), user, pk=int(region_id)) if region_id.isdigit() else None
    qs = queries.schools_for(user, region).select_related("region")
    kind = request.GET.get("kind", "")
    if kind in School.Kind.values:
        qs = qs.filter(kind=kind)
    q = request.GET.get("q", "").strip()[:50]
    if q:
        qs = qs.filter(name__contains=q)
    columns = [
        Col(_("学校名称"), lambda s: s.name, link=lambda s: reverse("org:school_detail", args=[s.pk])),
        Col(_("所属区域"), lambda s: s.region.name),
        Col(_("学校类型"), lambda s: s.get_kind_display()),
        Col(_("城乡"), lambda s: _("农村") if s.is_rural else _("城镇")),
        Col(_("教学班"), lambda s: s.class_count, numeric=True),
        Col(_("已建"), lambda s: s.built_count, numeric=True),
        Col(_("覆盖率(%)"), lambda s: float(coverage_percent(s.built_count, s.class_count)), numeric=True),
        Col(_("学生数"), lambda s: s.pupil_count, numeric=True),
        Col(_("光纤"), lambda s: _yes(s.has_fibre)),
        Col(_("带宽(Mbps)"), lambda s: s.bandwidth_mbps, numeric=True),
        Col(_("校园网"), lambda s: _yes(s.has_campus_lan)),
    ]
    return render_list(
        request,
        template="org/school_list.html",
        queryset=qs.order_by("region_path", "name"),
        columns=columns,
        title=_("学校"),
        export_name="学校名单",
        context={
            "kinds": School.Kind.choices, "kind": kind, "q": q, "region": region,
            "regions": queries.region_choices(user, region),
        },
    )


@login_required
def school_detail(request: AuthedRequest, school_id: int) -> HttpResponse:
    school = get_for_user(School.objects.select_related("region"), request.user, pk=school_id)
    classes = school.classes.select_related("mode").order_by("grade", "name")
    built = sum(1 for c in classes if c.is_built)
    return render(
        request,
        "org/school_detail.html",
        {
            "school": school,
            "classes": classes,
            "built": built,
            "coverage": coverage_percent(built, len(classes)),
            "pupils": sum(c.pupils for c in classes),
            "teachers": school.teachers.count(),
            "classrooms": school.classrooms.count(),
            "can_edit": services.can_edit_school(request.user, school),
        },
    )


@login_required
def school_edit(request: AuthedRequest, school_id: int) -> HttpResponse:
    school = get_for_user(School.objects.select_related("region"), request.user, pk=school_id)
    if not services.can_edit_school(request.user, school):
        raise PermissionDenied(_("只有本校管理员或所属区域的局管理员可以修改学校信息。"))
    if request.method == "POST":
        form = SchoolForm(request.POST, instance=School.objects.get(pk=school.pk))
        if form.is_valid():
            changes = {f: form.cleaned_data[f] for f in services.SCHOOL_EDITABLE_FIELDS}
            try:
                services.update_school(
                    school, actor=request.user,
                    expected_updated_at=parse_datetime(form.cleaned_data.get("version") or ""), **changes,
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                school.refresh_from_db()
                # Show the newer version so a second save is a deliberate overwrite of what they saw.
                data = request.POST.copy()
                data["version"] = school.updated_at.isoformat()
                form.data = data
            else:
                messages.success(request, _("已保存 %(school)s 的信息。") % {"school": school.name})
                return redirect("org:school_detail", school_id=school.pk)
    else:
        form = SchoolForm(instance=school, initial={"version": school.updated_at.isoformat()})
    return render(request, "org/school_edit.html", {"school": school, "form": form, "current": school})


@login_required
def class_list(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    f = ClassFilter.from_query(request.GET)
    qs = filter_classes(user, f)
    selected = get_for_user(Region.objects.all(), user, pk=f.region) if f.region else None
    book = RuleBook()  # a class with no mode shows its region's rule's mode, marked 建议
    columns = [
        Col(pgettext("field", "学校"), lambda c: c.school.name, link=lambda c: reverse("org:school_detail", args=[c.school_id])),
        Col(_("年级"), lambda c: c.grade_label),
        Col(_("班级"), lambda c: c.name),
        Col(_("学生数"), lambda c: c.pupils, numeric=True),
        Col(_("班班通模式"), book.label),
        Col(_("建设状态"), lambda c: c.get_status_display()),
        Col(_("状态日期"), lambda c: c.status_changed_on.isoformat() if c.status_changed_on else ""),
        Col(_("建成年份"), lambda c: c.built_year or ""),
    ]
    return render_list(
        request,
        template="org/class_list.html",
        queryset=qs,
        columns=columns,
        title=_("教学班"),
        export_name="教学班",
        context={
            "f": f,
            "regions": queries.region_choices(user, selected) if user.is_regional else [],
            "kinds": School.Kind.choices,
            "grades": GRADE_CHOICES,
            "modes": _mode_choices(user, selected),
            "statuses": TeachingClass.Status.choices,
        },
    )


def _mode_choices(user: Any, selected: Region | None) -> list[TerminalMode]:
    """The mode filter's options: the catalogue in force at the chosen region (or the user's own
    top region), with the region's own modes and names; the platform's for the whole country."""
    region = selected or (queries.top_regions(user).first() if user.is_regional else None)
    if region is None and getattr(user, "school", None) is not None:
        region = user.school.region
    if region is None:
        return list(TerminalMode.objects.filter(region__isnull=True).order_by("id"))
    return sorted(Catalogue.for_region(region).modes_at(region.path).values(), key=lambda m: m.pk)


@login_required
def teacher_list(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    qs = queries.teachers_for(user)
    school = request.GET.get("school", "")
    if school.isdigit():
        qs = qs.filter(school_id=int(school))
    q = request.GET.get("q", "").strip()[:50]
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(subject__contains=q))
    school_q = request.GET.get("school_q", "").strip()[:50]
    if school_q:
        qs = qs.filter(school__name__contains=school_q)
    columns = [
        Col(_("姓名"), lambda t: t.name),
        Col(pgettext("field", "学校"), lambda t: t.school.name, link=lambda t: reverse("org:school_detail", args=[t.school_id])),
        Col(_("性别"), lambda t: t.get_gender_display()),
        Col(_("任教学科"), lambda t: t.subject),
        Col(_("职称"), lambda t: t.title),
        # Personal data is masked in every list and export (DESIGN §8).
        Col(_("手机"), lambda t: t.phone_masked),
        Col(_("身份证号"), lambda t: t.id_number_masked),
    ]
    return render_list(
        request,
        template="org/teacher_list.html",
        queryset=qs.order_by("school__region_path", "school__name", "name"),
        columns=columns,
        title=_("教师"),
        export_name="教师名单",
        context={"q": q, "school_q": school_q},
    )
