"""Compliance reads, from the weekly roll-ups, limited to the user's scope.

Cost depends on the number of schools and classes in scope, never on the length of the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, Sum

from banbantong.core.scope import subtree_q
from banbantong.org.models import Region, School, Teacher, TeachingClass
from banbantong.planning.rules import coverage_percent
from banbantong.usage.models import ClassWeek, LessonRecord, SchoolWeek, TeacherWeek
from banbantong.usage.rules import iso_week

SHORT_LIST_LIMIT = 500


@dataclass
class Compliance:
    region: str
    week: dt.date
    classes_checked: int
    classes_compliant: int
    teachers_checked: int
    teachers_compliant: int
    lessons: int
    flagged: int
    short_classes: list[dict[str, Any]] = field(default_factory=list)
    short_teachers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def class_share(self) -> Decimal:
        return coverage_percent(self.classes_compliant, self.classes_checked)

    @property
    def teacher_share(self) -> Decimal:
        return coverage_percent(self.teachers_compliant, self.teachers_checked)

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region, "week": iso_week(self.week), "week_start": self.week.isoformat(),
            "classes": {"checked": self.classes_checked, "compliant": self.classes_compliant,
                        "short": self.classes_checked - self.classes_compliant, "share_percent": float(self.class_share)},
            "teachers": {"checked": self.teachers_checked, "compliant": self.teachers_compliant,
                         "short": self.teachers_checked - self.teachers_compliant,
                         "share_percent": float(self.teacher_share)},
            "lessons": self.lessons, "flagged": self.flagged,
            "short_classes": self.short_classes, "short_teachers": self.short_teachers,
        }


def _schools(user: Any, region: Region) -> Any:
    return School.objects.for_user(user).filter(subtree_q("region_path", region.path))


def compliance(user: Any, region: Region, week: dt.date, *, with_lists: bool = True,
               limit: int | None = SHORT_LIST_LIMIT) -> Compliance:
    schools = _schools(user, region)
    bbt_schools = schools.filter(built_count__gt=0)
    classes_checked = bbt_schools.aggregate(n=Sum("built_count"))["n"] or 0
    teachers = Teacher.objects.filter(school__in=bbt_schools)
    teachers_checked = teachers.count()
    weeks = SchoolWeek.objects.filter(week=week, school__in=schools)
    # Only teachers at Banbantong schools are checked weekly, so only they count as compliant.
    bbt = Q(school__built_count__gt=0)
    agg = weeks.aggregate(c=Sum("compliant_classes", filter=bbt), t=Sum("compliant_teachers", filter=bbt),
                          n=Sum("lessons"), f=Sum("flagged"))
    report = Compliance(region.name, week, classes_checked, agg["c"] or 0, teachers_checked, agg["t"] or 0,
                        agg["n"] or 0, agg["f"] or 0)
    if with_lists:
        ok_class = ClassWeek.objects.filter(klass=OuterRef("pk"), week=week, compliant=True)
        short = (
            TeachingClass.objects.filter(school__in=bbt_schools, status__in=TeachingClass.BUILT_STATUSES)
            .filter(~Exists(ok_class)).select_related("school").order_by("school__region_path", "school_id", "grade", "name")
        )
        counts = dict(ClassWeek.objects.filter(week=week, school__in=bbt_schools).values_list("klass_id", "lessons"))
        report.short_classes = [
            {"id": c.pk, "school_id": c.school_id, "school": c.school.name, "class": f"{c.grade_label}{c.name}",
             "lessons": counts.get(c.pk, 0)}
            for c in (short[:limit] if limit else short)
        ]
        ok_teacher = TeacherWeek.objects.filter(teacher=OuterRef("pk"), week=week, compliant=True)
        t_counts = dict(TeacherWeek.objects.filter(week=week, school__in=bbt_schools).values_list("teacher_id", "lessons"))
        short_t = teachers.filter(~Exists(ok_teacher)).select_related("school").order_by("school__region_path", "school_id", "name")
        report.short_teachers = [
            {"id": t.pk, "school": t.school.name, "teacher": t.name, "lessons": t_counts.get(t.pk, 0)}
            for t in (short_t[:limit] if limit else short_t)
        ]
    return report


def trend(user: Any, region: Region, last_week: dt.date, weeks: int = 8) -> list[tuple[dt.date, Decimal, Decimal]]:
    """(week, class share %, teacher share %) for the last few weeks, from the school roll-ups."""
    schools = _schools(user, region)
    bbt = schools.filter(built_count__gt=0)
    classes = bbt.aggregate(n=Sum("built_count"))["n"] or 0
    teachers = Teacher.objects.filter(school__in=bbt).count()
    first = last_week - dt.timedelta(weeks=weeks - 1)
    rows = {
        r["week"]: r
        for r in SchoolWeek.objects.filter(week__gte=first, week__lte=last_week, school__in=schools)
        .values("week").annotate(c=Sum("compliant_classes", filter=Q(school__built_count__gt=0)),
                                 t=Sum("compliant_teachers", filter=Q(school__built_count__gt=0)))
    }
    out = []
    for i in range(weeks):
        wk = first + dt.timedelta(weeks=i)
        r = rows.get(wk, {"c": 0, "t": 0})
        out.append((wk, coverage_percent(r["c"] or 0, classes), coverage_percent(r["t"] or 0, teachers)))
    return out


def flagged_records(user: Any, region: Region, week: dt.date | None = None) -> Any:
    qs = LessonRecord.objects.for_user(user).filter(subtree_q("school__region_path", region.path)).exclude(flags=[])
    if week is not None:
        qs = qs.filter(week=week)
    return qs.select_related("school", "klass", "teacher").order_by("-date", "school_id")


def by_school(user: Any, region: Region, week: dt.date) -> list[dict[str, Any]]:
    schools = _schools(user, region).filter(Q(built_count__gt=0))
    rows = {r.school_id: r for r in SchoolWeek.objects.filter(week=week, school__in=schools)}
    out = []
    for s in schools.order_by("region_path", "name").annotate():
        r = rows.get(s.pk)
        out.append({"school": s, "classes": s.built_count, "compliant": r.compliant_classes if r else 0,
                    "lessons": r.lessons if r else 0, "flagged": r.flagged if r else 0,
                    "share": coverage_percent(r.compliant_classes if r else 0, s.built_count)})
    return out
