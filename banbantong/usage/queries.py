"""Compliance reads, from the weekly roll-ups, limited to the user's scope.

Cost depends on the number of schools and classes in scope, never on the length of the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.grades import class_label
from banbantong.org.models import Region, School, Teacher, TeachingClass
from banbantong.planning.rules import coverage_percent
from banbantong.usage.models import (
    ClassWeek,
    LessonRecord,
    PlaceWeek,
    SchoolWeek,
    Semester,
    TeacherSemester,
    TeacherWeek,
)
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
    def classes_short(self) -> int:
        return self.classes_checked - self.classes_compliant

    @property
    def teachers_short(self) -> int:
        return self.teachers_checked - self.teachers_compliant

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


# A dashboard is about a place: a region (with every school under it) or one school.
Place = Region | School


def _schools(user: Any, place: Place) -> Any:
    if isinstance(place, School):
        return School.objects.for_user(user).filter(pk=place.pk)
    return School.objects.for_user(user).filter(subtree_q("region_path", place.path))


def _school_weeks(user: Any, place: Place) -> Any:
    """SchoolWeek rows of the place in the user's scope, by their own region_path: no join to
    School is needed to find them, and (week, region_path, …) is a covering index."""
    rows = (SchoolWeek.objects.filter(school_id=place.pk) if isinstance(place, School)
            else SchoolWeek.objects.filter(subtree_q("region_path", place.path)))
    return scope_of(user).filter(rows, region_path_field="region_path", school_field="school_id")


def _by_place(user: Any, place: Place) -> bool:
    """A region the user sees whole is read from its places' weeks (PlaceWeek, ~10× fewer rows
    than its schools'); a school, or a region seen only in part, from the schools' weeks."""
    return isinstance(place, Region) and scope_of(user).covers_path(place.path)


def _week_rows(user: Any, place: Place, weeks: list[dt.date]) -> Any:
    if isinstance(place, Region) and _by_place(user, place):
        return PlaceWeek.objects.filter(subtree_q("region_path", place.path), week__in=weeks)
    return _school_weeks(user, place).filter(week__in=weeks)


def _week_sums(rows: Any) -> dict[str, Any]:
    """The sums of a week's rows. Only Banbantong schools' classes and teachers are checked weekly,
    so only they count as compliant: SchoolWeek rows carry the flag (bbt), PlaceWeek rows sum
    only those schools already."""
    only = Q(bbt=True) if rows.model is SchoolWeek else None
    return {"c": Sum("compliant_classes", filter=only), "t": Sum("compliant_teachers", filter=only),
            "n": Sum("lessons"), "f": Sum("flagged")}


def _checked(user: Any, region: Place) -> tuple[int, int]:
    """(classes, teachers) checked weekly: those of Banbantong schools, from the schools' roll-ups."""
    agg = _schools(user, region).filter(built_count__gt=0).aggregate(c=Sum("built_count"), t=Sum("teacher_count"))
    return agg["c"] or 0, agg["t"] or 0


def compliance(user: Any, region: Place, week: dt.date, *, with_lists: bool = True,
               limit: int | None = SHORT_LIST_LIMIT) -> Compliance:
    classes_checked, teachers_checked = _checked(user, region)
    rows = _week_rows(user, region, [week])
    agg = rows.aggregate(**_week_sums(rows))
    report = Compliance(region.name, week, classes_checked, agg["c"] or 0, teachers_checked, agg["t"] or 0,
                        agg["n"] or 0, agg["f"] or 0)
    if with_lists:
        report.short_classes = short_classes(user, region, week, limit)
        report.short_teachers = short_teachers(user, region, week, limit)
    return report


def _first_short(totals: Any, done: dict[Any, int], limit: int | None) -> list[Any]:
    """The first keys (in the order of `totals`, pairs of key and total) with someone short —
    total above the compliant count in `done` — just enough of them to fill `limit` rows."""
    chosen, rows = [], 0
    for key, n in totals:
        short = (n or 0) - done.get(key, 0)
        if short > 0:
            chosen.append(key)
            rows += short
            if limit and rows >= limit:
                break
    return chosen


def _short_schools(user: Any, region: Place, week: dt.date, total: str, compliant: str, limit: int | None) -> list[int]:
    """The first schools (in list order) with someone short this week, just enough of them to fill
    a list of `limit` rows — each such school has at least one — so a province's list reads a few
    schools' classes or teachers, not all of them.

    A region seen whole first picks its first places with someone short, from the places' totals
    (one grouped read of the schools' covering index) against their weeks (PlaceWeek), and then
    those places' schools. Each read is index-only; they are joined here, not in the database,
    whose plan for a join changed with the length of the history.
    """
    schools = _schools(user, region).filter(built_count__gt=0)
    weeks = _school_weeks(user, region).filter(week=week, bbt=True)
    if _by_place(user, region):
        places = (schools.order_by("region_path").values("region_path").annotate(n=Sum(total))
                  .values_list("region_path", "n"))
        done_places = dict(_week_rows(user, region, [week]).values_list("region_path", compliant))
        paths = _first_short(places, done_places, limit)
        schools, weeks = schools.filter(region_path__in=paths), weeks.filter(region_path__in=paths)
    done = dict(weeks.values_list("school_id", compliant))
    return _first_short(schools.order_by("region_path", "id").values_list("id", total), done, limit)


def _weeks_of(model: Any, key: str, schools: list[int], week: dt.date) -> dict[int, tuple[int, bool]]:
    """(lessons, compliant) of the week for every class or teacher of these schools that has a
    row, from the (week, school) index: one read instead of a subquery per class or teacher."""
    rows = model.objects.filter(week=week, school_id__in=schools).values_list(key, "lessons", "compliant")
    return {k: (n, ok) for k, n, ok in rows}


def short_classes(user: Any, region: Place, week: dt.date, limit: int | None = SHORT_LIST_LIMIT) -> list[dict[str, Any]]:
    """Banbantong classes below the week's minimum, in school order (at most `limit`)."""
    schools = _short_schools(user, region, week, "built_count", "compliant_classes", limit)
    weeks = _weeks_of(ClassWeek, "klass_id", schools, week)
    classes = (
        TeachingClass.objects.filter(school_id__in=schools, status__in=TeachingClass.BUILT_STATUSES)
        .order_by("school__region_path", "school_id", "grade", "name")
        .values_list("pk", "school_id", "school__name", "grade", "name")
    )
    # Plain tuples, not model instances: a province list is read on every dashboard view.
    out = []
    for pk, sid, school, grade, name in classes:
        n, ok = weeks.get(pk, (0, False))
        if not ok:
            out.append({"id": pk, "school_id": sid, "school": school, "class": class_label(grade, name),
                        "lessons": n})
            if limit and len(out) >= limit:
                break
    return out


def short_teachers(user: Any, region: Place, week: dt.date, limit: int | None = SHORT_LIST_LIMIT) -> list[dict[str, Any]]:
    """Teachers of Banbantong schools below the week's minimum, in school order (at most `limit`)."""
    schools = _short_schools(user, region, week, "teacher_count", "compliant_teachers", limit)
    weeks = _weeks_of(TeacherWeek, "teacher_id", schools, week)
    teachers = (
        Teacher.objects.filter(school_id__in=schools).order_by("school__region_path", "school_id", "name")
        .values_list("pk", "school_id", "school__name", "name")
    )
    out = []
    for pk, sid, school, name in teachers:
        n, ok = weeks.get(pk, (0, False))
        if not ok:
            out.append({"id": pk, "school_id": sid, "school": school, "teacher": name, "lessons": n})
            if limit and len(out) >= limit:
                break
    return out


def trend(user: Any, region: Place, last_week: dt.date, weeks: int = 8) -> list[tuple[dt.date, Decimal, Decimal]]:
    """(week, class share %, teacher share %) for the last few weeks, from the school roll-ups."""
    classes, teachers = _checked(user, region)
    first = last_week - dt.timedelta(weeks=weeks - 1)
    rows = {
        r["week"]: r
        # The weeks as a list, not a range: each is then an exact prefix of the covering index
        # (week, region_path, …), so a county reads its own rows only, whatever the history.
        for rows in [_week_rows(user, region, [first + dt.timedelta(weeks=i) for i in range(weeks)])]
        for r in rows.values("week").annotate(**_week_sums(rows)).order_by()
    }
    out = []
    for i in range(weeks):
        wk = first + dt.timedelta(weeks=i)
        r = rows.get(wk, {"c": 0, "t": 0})
        out.append((wk, coverage_percent(r["c"] or 0, classes), coverage_percent(r["t"] or 0, teachers)))
    return out


def _child_of(children: list[Region]) -> Any:
    """A function from a school's region path to the child region it lies under (or None)."""
    by_path = {c.path: c for c in children}
    depth = len([p for p in children[0].path.split("/") if p])

    def child(path: str) -> Region | None:
        parts = [p for p in path.split("/") if p][:depth]
        return by_path.get("/" + "/".join(parts) + "/")

    return child


def by_region(user: Any, region: Region, week: dt.date) -> list[dict[str, Any]]:
    """Each child region's week (a city's counties, a county's towns), from two reads grouped by
    the schools' region paths — in index order, no sort — added up per child here."""
    children = list(Region.objects.for_user(user).filter(parent=region).order_by("code", "name"))
    if not children:
        return []
    child = _child_of(children)
    sums: dict[int, dict[str, int]] = {c.pk: dict.fromkeys(("c", "t", "ok_c", "ok_t", "n", "f"), 0) for c in children}
    totals = (_schools(user, region).filter(built_count__gt=0).values("region_path").order_by("region_path")
              .annotate(c=Sum("built_count"), t=Sum("teacher_count")))
    for row in totals:
        if (c := child(row["region_path"])) is not None:
            sums[c.pk]["c"] += row["c"] or 0
            sums[c.pk]["t"] += row["t"] or 0
    rows = _week_rows(user, region, [week])
    done = rows.values("region_path").order_by("region_path").annotate(**_week_sums(rows))
    for row in done:
        if (c := child(row["region_path"])) is not None:
            for k, v in (("ok_c", "c"), ("ok_t", "t"), ("n", "n"), ("f", "f")):
                sums[c.pk][k] += row[v] or 0
    return [
        {"region": c, "classes": v["c"], "compliant": v["ok_c"], "share": coverage_percent(v["ok_c"], v["c"]),
         "teachers": v["t"], "teachers_compliant": v["ok_t"], "teacher_share": coverage_percent(v["ok_t"], v["t"]),
         "lessons": v["n"], "flagged": v["f"]}
        for c in children for v in [sums[c.pk]]
    ]


def flagged_records(user: Any, region: Place, week: dt.date | None = None) -> Any:
    qs = LessonRecord.objects.for_user(user).exclude(flags=[])
    qs = qs.filter(school_id=region.pk) if isinstance(region, School) else qs.filter(
        subtree_q("school__region_path", region.path))
    if week is not None:
        qs = qs.filter(week=week)
    return qs.select_related("school", "klass", "teacher").order_by("-date", "school_id")


def by_school(user: Any, region: Place, week: dt.date, limit: int | None = None) -> list[dict[str, Any]]:
    """Each Banbantong school's week, in list order; `limit` bounds the rows read, not just shown."""
    done = SchoolWeek.objects.filter(school_id=OuterRef("pk"), week=week)
    schools = (
        _schools(user, region).filter(built_count__gt=0).order_by("region_path", "name")
        .annotate(ok=Coalesce(Subquery(done.values("compliant_classes")[:1]), 0),
                  lessons=Coalesce(Subquery(done.values("lessons")[:1]), 0),
                  flagged=Coalesce(Subquery(done.values("flagged")[:1]), 0))
    )
    return [
        {"school": s, "classes": s.built_count, "compliant": s.ok, "lessons": s.lessons, "flagged": s.flagged,
         "share": coverage_percent(s.ok, s.built_count)}
        for s in (schools[:limit] if limit else schools)
    ]


# --- Class and teacher details ------------------------------------------------------------------


@dataclass
class WeekRow:
    week: dt.date
    lessons: int
    minimum: int
    compliant: bool


def weekly(rows: Any, first: dt.date, last: dt.date) -> list[WeekRow]:
    """ClassWeek or TeacherWeek rows of one class/teacher as one row per week (0 where none)."""
    found = {r.week: r for r in rows.filter(week__gte=first, week__lte=last)}
    out = []
    wk = first
    while wk <= last:
        r = found.get(wk)
        out.append(WeekRow(wk, r.lessons if r else 0, r.minimum if r else 0, bool(r and r.compliant)))
        wk += dt.timedelta(weeks=1)
    return out


def class_weeks(klass: TeachingClass, first: dt.date, last: dt.date) -> list[WeekRow]:
    return weekly(ClassWeek.objects.filter(klass=klass), first, last)


def teacher_weeks(teacher: Teacher, first: dt.date, last: dt.date) -> list[WeekRow]:
    return weekly(TeacherWeek.objects.filter(teacher=teacher), first, last)


def semester_teachers(user: Any, place: Place, semester: Semester, minimum: int) -> tuple[int, int]:
    """(checked, compliant) teachers of schools WITHOUT Banbantong, by the per-semester rule
    (seed 003: at least five lessons a semester), from the TeacherSemester roll-up."""
    schools = _schools(user, place).filter(built_count=0)
    checked = schools.aggregate(t=Sum("teacher_count"))["t"] or 0
    compliant = TeacherSemester.objects.filter(
        semester=semester, lessons__gte=minimum, school__in=schools.values("pk")
    ).count() if checked else 0
    return checked, compliant
