"""Compliance pages: the region dashboard, a school's, a class's and a teacher's weeks, flagged
records and the region's usage requirements. Every figure comes from usage.queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banbantong.core.charts import line_chart
from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest, url_of_each
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user, path_ids
from banbantong.org import queries as org_queries
from banbantong.org.models import Region, School, Teacher, TeachingClass
from banbantong.usage import queries, rules, services
from banbantong.usage.models import LessonRecord
from banbantong.usage.views.common import region_of, week_of

# The dashboard shows this many names per short list; the Excel export has all of them.
SHORT_SHOWN = 100
SCHOOLS_SHOWN = 300
TREND_WEEKS = 8
DETAIL_WEEKS = 12


def _may_see_figures(user: Any) -> None:
    """Compliance figures of a school are for the bureau and the school's admins; a teacher sees
    their own weeks and their classes', an integrator none."""
    if not (user.is_regional or user.role in {"school_admin", "device_admin"}):
        raise PermissionDenied(_("学校的应用达标统计只对局管理员和学校管理员开放。"))


def _trend_chart(points: list[tuple[dt.date, Any, Any]]) -> Any:
    return line_chart(
        [f"{w:%m-%d}" for w, _, _ in points],
        [(_("班级达标率"), [float(c) for _, c, _ in points]), (_("教师达标率"), [float(t) for _, _, t in points])],
        unit="%", max_value=100.0,
    )


def _export(place: Any, week: dt.date, user: Any) -> HttpResponseBase:
    full = queries.compliance(user, place, week, limit=None)
    return workbook_response(f"{place.name}应用达标-{rules.iso_week(week)}.xlsx", [
        ("未达标班级", ["学校", "班级", "本周应用节数"], [[r["school"], r["class"], r["lessons"]] for r in full.short_classes]),
        ("未达标教师", ["学校", "教师", "本周应用节数"],
         [[r["school"], r["teacher"], r["lessons"]] for r in full.short_teachers]),
        ("下级区域", ["区域", "班班通班级", "达标班级", "班级达标率(%)", "教师", "达标教师", "教师达标率(%)", "应用节数",
                  "疑点记录"],
         [[r["region"].name, r["classes"], r["compliant"], float(r["share"]), r["teachers"], r["teachers_compliant"],
           float(r["teacher_share"]), r["lessons"], r["flagged"]]
          for r in (queries.by_region(user, place, week) if isinstance(place, Region) else [])]),
        ("各校", ["学校", "班班通班级", "达标班级", "达标率(%)", "应用节数", "疑点记录"],
         [[r["school"].name, r["classes"], r["compliant"], float(r["share"]), r["lessons"], r["flagged"]]
          for r in queries.by_school(user, place, week)]),
    ])


def _place_context(request: AuthedRequest, place: Any, path: str, monday: dt.date) -> dict[str, Any]:
    """What the region and the school dashboards share: figures, short lists, trend, the rule."""
    report = queries.compliance(request.user, place, monday, limit=SHORT_SHOWN)
    class_url, teacher_url = url_of_each("usage:class"), url_of_each("usage:teacher")
    for r in report.short_classes:
        r["url"] = class_url(r["id"])
    for r in report.short_teachers:
        r["url"] = teacher_url(r["id"])
    class_min, teacher_min, non_bbt_min = services.rule_for(path)
    semester = services.semester_at(path, monday + dt.timedelta(days=2))
    non_bbt = queries.semester_teachers(request.user, place, semester, non_bbt_min) if semester else (0, 0)
    return {
        "report": report, "week": rules.iso_week(monday), "monday": monday,
        "prev": rules.iso_week(monday - dt.timedelta(weeks=1)), "next": rules.iso_week(monday + dt.timedelta(weeks=1)),
        "chart": _trend_chart(queries.trend(request.user, place, monday, TREND_WEEKS)),
        "class_min": class_min, "teacher_min": teacher_min, "non_bbt_min": non_bbt_min, "semester": semester,
        "non_bbt_checked": non_bbt[0], "non_bbt_compliant": non_bbt[1], "shown": SHORT_SHOWN,
    }


def _with_urls(schools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    school_url = url_of_each("usage:school")
    for r in schools:
        r["url"] = school_url(r["school"].pk)
    return schools


@login_required
def dashboard(request: AuthedRequest) -> HttpResponseBase:
    region = region_of(request)
    # Default: last week, the one a bureau checks on Monday morning.
    monday = week_of(request, timezone.localdate() - dt.timedelta(weeks=1))
    if request.GET.get("export") == "xlsx":
        return _export(region, monday, request.user)
    context = _place_context(request, region, region.path, monday)
    context.update(region=region, regions=org_queries.region_choices(request.user, region),
                   children=queries.by_region(request.user, region, monday),
                   schools=_with_urls(queries.by_school(request.user, region, monday, limit=SCHOOLS_SHOWN)),
                   schools_shown=SCHOOLS_SHOWN)
    return render(request, "usage/dashboard.html", context)


@login_required
def school_dashboard(request: AuthedRequest, school_id: int) -> HttpResponseBase:
    _may_see_figures(request.user)
    school = get_for_user(School.objects.select_related("region"), request.user, pk=school_id)
    monday = week_of(request, timezone.localdate() - dt.timedelta(weeks=1))
    if request.GET.get("export") == "xlsx":
        return _export(school, monday, request.user)
    context = _place_context(request, school, school.region_path, monday)
    context.update(school=school, region=school.region)
    return render(request, "usage/school.html", context)


def _detail(request: AuthedRequest, subject: Any, rows: list[queries.WeekRow], records: Any,
            kind: str) -> HttpResponseBase:
    records = records.select_related("klass", "teacher").order_by("-date", "period")
    if request.GET.get("export") == "xlsx":
        name = f"{subject.school.name}{subject.label}" if kind == "class" else subject.name
        return workbook_response(f"{name}应用情况.xlsx", [
            ("各周", ["周一", "应用节数", "要求", "达标"],
             [[r.week.isoformat(), r.lessons, r.minimum, "是" if r.compliant else "否"] for r in rows]),
            ("记录", ["日期", "节次", "班级", "教师", "学科", "课题", "使用资源", "佐证", "终端开机分钟", "状态", "疑点"],
             [[r.date.isoformat(), r.period, r.klass.label, r.teacher.name, r.subject,
               r.topic, r.resources, r.get_evidence_display(), r.evidence_minutes, r.get_status_display(),
               "、".join(r.flag_labels)] for r in records.iterator()]),
        ])
    chart = line_chart(
        [f"{r.week:%m-%d}" for r in rows],
        [(_("应用节数"), [float(r.lessons) for r in rows]), (_("每周要求"), [float(r.minimum) for r in rows])],
        unit=pgettext("chart unit", "节"), dashed=[False, True],
    )
    return render(request, "usage/detail.html", {
        "subject": subject, "kind": kind, "rows": rows, "chart": chart,
        "records": records[:200],
        "monday": rows[-1].week if rows else None, "week": rules.iso_week(rows[-1].week) if rows else "",
    })


def _last_weeks(request: AuthedRequest) -> tuple[dt.date, dt.date]:
    last = week_of(request, timezone.localdate() - dt.timedelta(weeks=1))
    return last - dt.timedelta(weeks=DETAIL_WEEKS - 1), last


@login_required
def class_detail(request: AuthedRequest, class_id: int) -> HttpResponseBase:
    if request.user.role == "integrator":
        raise PermissionDenied(_("集成商账号不查看应用记录。"))
    klass = get_for_user(TeachingClass.objects.select_related("school"), request.user, pk=class_id)
    first, last = _last_weeks(request)
    records = LessonRecord.objects.filter(klass=klass, week__gte=first, week__lte=last)
    return _detail(request, klass, queries.class_weeks(klass, first, last), records, "class")


@login_required
def teacher_detail(request: AuthedRequest, teacher_id: int) -> HttpResponseBase:
    teacher = get_for_user(Teacher.objects.select_related("school"), request.user, pk=teacher_id)
    if not (request.user.is_regional or request.user.role == "school_admin" or teacher.user_id == request.user.pk):
        raise PermissionDenied(_("教师只能查看自己的应用情况。"))
    first, last = _last_weeks(request)
    records = LessonRecord.objects.filter(teacher=teacher, week__gte=first, week__lte=last)
    return _detail(request, teacher, queries.teacher_weeks(teacher, first, last), records, "teacher")


@login_required
def flagged(request: AuthedRequest) -> HttpResponseBase:
    """Flagged records of a region, or of one school (?school=ID) for its admins and the bureau."""
    raw = request.GET.get("school", "")
    school = None
    if raw.isdigit():
        _may_see_figures(request.user)
        school = get_for_user(School.objects.select_related("region"), request.user, pk=int(raw))
        region = school.region
    else:
        region = region_of(request)
    qs = queries.flagged_records(request.user, school or region)
    columns = [
        Col(_("日期"), lambda r: r.date.isoformat()),
        Col(_("节次"), lambda r: r.period, numeric=True),
        Col(pgettext("field", "学校"), lambda r: r.school.name),
        Col(_("班级"), lambda r: r.klass.label),
        Col(pgettext("field", "教师"), lambda r: r.teacher.name),
        Col(_("课题"), lambda r: r.topic),
        Col(_("佐证"), lambda r: r.get_evidence_display()),
        Col(_("疑点"), lambda r: "、".join(r.flag_labels)),
        Col(_("填写时间"), lambda r: timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M")),
    ]
    return render_list(request, template="usage/flagged.html", queryset=qs, columns=columns, title=_("疑点记录"),
                       export_name=f"{(school or region).name}疑点记录", context={"region": region, "school": school})


RULE_FIELDS = ("class_min_per_week", "teacher_min_per_week", "teacher_non_bbt_min_per_semester")


@login_required
def compliance_rules(request: AuthedRequest) -> HttpResponse:
    """The region's usage requirements: shown to everyone who sees the dashboard, set by its admins."""
    region = region_of(request)
    can_edit = request.user.is_superuser or (request.user.role == "bureau_admin" and not request.user.read_only)
    if request.method == "POST":
        try:
            services.set_compliance_rule(
                region, actor=request.user,
                class_min_per_week=int(request.POST.get("class_min_per_week", "")),
                teacher_min_per_week=int(request.POST.get("teacher_min_per_week", "")),
                teacher_non_bbt_min_per_semester=int(request.POST.get("teacher_non_bbt_min_per_semester", "")),
            )
        except ValueError:
            messages.error(request, _("每项要求都应填写整数。"))
        except ValidationError as exc:
            for m in exc.messages:
                messages.error(request, m)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("应用要求已保存，本周的达标情况已按新要求重新核算。"))
            return redirect(f"{reverse('usage:rules')}?region={region.pk}")
    current = services.rule_for(region.path)
    ids = path_ids(region.path)
    owner = (Region.objects.filter(pk__in=ids, compliance_rule__isnull=False)
             .order_by("-path").values_list("name", flat=True).first())
    return render(request, "usage/rules.html", {
        "region": region, "regions": org_queries.region_choices(request.user, region),
        "current": dict(zip(RULE_FIELDS, current, strict=True)), "owner": owner, "can_edit": can_edit,
        "defaults": (rules.CLASS_MIN_PER_WEEK, rules.TEACHER_MIN_PER_WEEK, rules.TEACHER_NON_BBT_MIN_PER_SEMESTER),
    })
