"""Usage writes: lesson records with their roll-ups and flags, and classroom event batches.

Every count a dashboard shows is moved here, in the same transaction as the record it counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Sum, When
from django.utils import timezone

from banbantong.core import audit
from banbantong.core.bulk import insert_rows
from banbantong.core.scope import SYSTEM, path_ids, subtree_q
from banbantong.org.models import Classroom, Region, School, Teacher, TeachingClass
from banbantong.usage import rules
from banbantong.usage.models import (
    CalendarDay,
    ClassWeek,
    ComplianceRule,
    EventBatch,
    LessonRecord,
    PlaceWeek,
    SchoolWeek,
    Semester,
    TeacherSemester,
    TeacherWeek,
    TerminalEvent,
    TimetableSlot,
)

MAX_EVENTS_PER_BATCH = 5000


# --- Calendar and rules -----------------------------------------------------------------------


def semester_at(region_path: str, day: dt.date) -> Semester | None:
    """The semester the day falls in, set at or above the region (the deepest one wins)."""
    ids = path_ids(region_path)
    candidates = list(Semester.objects.filter(region_id__in=ids, start__lte=day, end__gte=day))
    depth = {rid: i for i, rid in enumerate(ids)}
    return max(candidates, key=lambda s: depth.get(s.region_id, 0)) if candidates else None


def semester_for(school: School, day: dt.date) -> Semester | None:
    return semester_at(school.region_path, day)


def calendar_for(school: School, semester: Semester) -> rules.CalendarFacts:
    days = CalendarDay.objects.filter(date__gte=semester.start, date__lte=semester.end).filter(
        region_id__in=path_ids(school.region_path)
    ) | CalendarDay.objects.filter(school=school, date__gte=semester.start, date__lte=semester.end)
    holidays, makeup = set(), {}
    for d in days:
        if d.kind in (CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.DAY_OFF):
            holidays.add(d.date)
        else:
            makeup[d.date] = d.follows_weekday or d.date.isoweekday()
    return rules.CalendarFacts(semester.start, semester.end, frozenset(holidays), makeup)


def rule_for(region_path: str) -> tuple[int, int, int]:
    ids = path_ids(region_path)
    found = {r.region_id: r for r in ComplianceRule.objects.filter(region_id__in=ids)}
    for rid in reversed(ids):
        if rid in found:
            r = found[rid]
            return r.class_min_per_week, r.teacher_min_per_week, r.teacher_non_bbt_min_per_semester
    return rules.CLASS_MIN_PER_WEEK, rules.TEACHER_MIN_PER_WEEK, rules.TEACHER_NON_BBT_MIN_PER_SEMESTER


@dataclass(frozen=True)
class WeekMinimums:
    teaching_days: int
    klass: int
    teacher: int


def week_minimums(school: School, monday: dt.date) -> WeekMinimums:
    """The pro-rated minimums of one school's week (holidays shorten it, make-up days count)."""
    semester = semester_for(school, monday) or semester_for(school, monday + dt.timedelta(days=4))
    class_min, teacher_min, _ = rule_for(school.region_path)
    if semester is None:
        return WeekMinimums(0, 0, 0)
    days = calendar_for(school, semester).teaching_days_in_week(monday)
    return WeekMinimums(days, rules.prorated(class_min, days), rules.prorated(teacher_min, days))


# --- Roll-ups ---------------------------------------------------------------------------------


# What one SchoolWeek row adds to its place's week (PlaceWeek): compliant classes and teachers
# only while the school is a Banbantong school, lessons and flagged records always.
Sums = tuple[int, int, int, int]
NOTHING: Sums = (0, 0, 0, 0)


def _sums(bbt: bool, compliant_classes: int, compliant_teachers: int, lessons: int, flagged: int) -> Sums:
    return (compliant_classes if bbt else 0, compliant_teachers if bbt else 0, lessons, flagged)


def _move_place(region_path: str, week: dt.date, before: Sums, after: Sums) -> None:
    """Move a place's week by the change of one of its schools' weeks (F() deltas: concurrent
    writers of the same place add up instead of overwriting each other)."""
    d = [a - b for a, b in zip(after, before, strict=True)]
    if not any(d):
        return
    pw, _ = PlaceWeek.objects.get_or_create(region_path=region_path, week=week)
    PlaceWeek.objects.filter(pk=pw.pk).update(
        compliant_classes=F("compliant_classes") + d[0], compliant_teachers=F("compliant_teachers") + d[1],
        lessons=F("lessons") + d[2], flagged=F("flagged") + d[3],
    )


def _bump(record: LessonRecord, delta: int) -> None:
    """Move every roll-up this confirmed record counts in by delta (+1 or -1)."""
    school = record.school
    mins = week_minimums(school, record.week)
    flagged = delta if record.flags else 0
    is_bbt_school = School.objects.filter(pk=school.pk, built_count__gt=0).exists()
    sw, _ = SchoolWeek.objects.get_or_create(school=school, week=record.week,
                                             defaults={"region_path": school.region_path, "bbt": is_bbt_school})
    sw = SchoolWeek.objects.select_for_update().get(pk=sw.pk)
    class_flip = teacher_flip = 0

    cw, _ = ClassWeek.objects.get_or_create(klass_id=record.klass_id, week=record.week,
                                            defaults={"school": school, "minimum": mins.klass})
    cw = ClassWeek.objects.select_for_update().get(pk=cw.pk)
    lessons = cw.lessons + delta
    is_bbt = TeachingClass.objects.filter(pk=record.klass_id, status__in=TeachingClass.BUILT_STATUSES).exists()
    now_ok = is_bbt and rules.compliant(lessons, mins.klass)
    class_flip = int(now_ok) - int(cw.compliant)
    ClassWeek.objects.filter(pk=cw.pk).update(lessons=lessons, minimum=mins.klass, compliant=now_ok)

    tw, _ = TeacherWeek.objects.get_or_create(teacher_id=record.teacher_id, week=record.week,
                                              defaults={"school": school, "minimum": mins.teacher})
    tw = TeacherWeek.objects.select_for_update().get(pk=tw.pk)
    t_lessons = tw.lessons + delta
    t_ok = rules.compliant(t_lessons, mins.teacher) and mins.teacher > 0
    teacher_flip = int(t_ok) - int(tw.compliant)
    TeacherWeek.objects.filter(pk=tw.pk).update(lessons=t_lessons, minimum=mins.teacher, compliant=t_ok)

    SchoolWeek.objects.filter(pk=sw.pk).update(
        bbt=is_bbt_school, lessons=F("lessons") + delta, flagged=F("flagged") + flagged,
        compliant_classes=F("compliant_classes") + class_flip, compliant_teachers=F("compliant_teachers") + teacher_flip,
    )
    _move_place(sw.region_path, sw.week,
                _sums(sw.bbt, sw.compliant_classes, sw.compliant_teachers, sw.lessons, sw.flagged),
                _sums(is_bbt_school, sw.compliant_classes + class_flip, sw.compliant_teachers + teacher_flip,
                      sw.lessons + delta, sw.flagged + flagged))
    ts, _ = TeacherSemester.objects.get_or_create(teacher_id=record.teacher_id, semester_id=record.semester_id,
                                                  defaults={"school_id": record.school_id})
    TeacherSemester.objects.filter(pk=ts.pk).update(lessons=F("lessons") + delta)


def sync_banbantong_status(school_ids: list[int], today: dt.date | None = None) -> int:
    """A school gained its first built class or lost its last: from this week on, its weeks count
    (or stop counting) in the weekly check, and so in their places' weeks. Earlier weeks keep the
    status they had. Returns the number of school weeks that changed."""
    bbt_now = set(School.objects.filter(pk__in=school_ids, built_count__gt=0).values_list("pk", flat=True))
    changed = 0
    with transaction.atomic():
        rows = SchoolWeek.objects.select_for_update().filter(
            school_id__in=school_ids, week__gte=rules.week_start(today or timezone.localdate()))
        for sw in rows:
            now = sw.school_id in bbt_now
            if sw.bbt == now:
                continue
            SchoolWeek.objects.filter(pk=sw.pk).update(bbt=now)
            counts = (sw.compliant_classes, sw.compliant_teachers, sw.lessons, sw.flagged)
            _move_place(sw.region_path, sw.week, _sums(sw.bbt, *counts), _sums(now, *counts))
            changed += 1
    return changed


def rebuild_place_weeks(weeks: list[dt.date] | None = None) -> int:
    """Recompute PlaceWeek from SchoolWeek (for these weeks, or all): after a bulk load that
    wrote SchoolWeek rows directly (the demo, the benchmarks) and by `bbt usage recount`.
    One DELETE and one INSERT … SELECT … GROUP BY; returns the number of place weeks written."""
    with transaction.atomic():
        old = PlaceWeek.objects.all() if weeks is None else PlaceWeek.objects.filter(week__in=weeks)
        old.delete()
        source = SchoolWeek.objects.all() if weeks is None else SchoolWeek.objects.filter(week__in=weeks)
        grouped = source.order_by().values("region_path", "week").annotate(
            n=Sum("lessons"), c=Sum(Case(When(bbt=True, then="compliant_classes"), default=0)),
            t=Sum(Case(When(bbt=True, then="compliant_teachers"), default=0)), f=Sum("flagged"))
        sql, params = grouped.query.sql_with_params()
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in ("region_path", "week", "lessons", "compliant_classes",
                                             "compliant_teachers", "flagged"))
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {qn(PlaceWeek._meta.db_table)} ({columns}) {sql}", params)  # noqa: S608
            return cursor.rowcount


# --- Records ----------------------------------------------------------------------------------


def _may_record(actor: Any, klass: TeachingClass, teacher: Teacher) -> None:
    if actor is None:
        return
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能填写记录。")
    if actor.role == "teacher" and not actor.is_superuser:
        if getattr(actor, "teacher", None) is None or actor.teacher.pk != teacher.pk:
            raise PermissionDenied("教师只能填写自己的应用记录。")
    elif not (actor.is_superuser or actor.role in {"school_admin", "bureau_admin"}):
        raise PermissionDenied("只有教师本人或学校管理员可以填写应用记录。")
    scope = actor.scope
    if not (scope.everything or klass.school_id in scope.school_ids or scope.covers_path(klass.school.region_path)):
        raise PermissionDenied("该班级不在您的管辖范围内。")


def _flags(record: LessonRecord, cal: rules.CalendarFacts, timetable_periods: set[int]) -> list[str]:
    clash = LessonRecord.objects.filter(teacher_id=record.teacher_id, date=record.date, period=record.period).exclude(
        klass_id=record.klass_id
    )
    flags = rules.flags_for(
        rules.Lesson(record.pk or 0, record.date, record.period, record.klass_id, record.teacher_id, record.topic,
                     timezone.localdate()),
        cal, timetable_periods, clash.count(),
    )
    if clash.exists():
        # The other record of the pair is just as doubtful.
        for other in clash:
            if rules.Flag.TWO_PLACES not in other.flags:
                newly_flagged = not other.flags and other.status == LessonRecord.Status.CONFIRMED
                other.flags = [*other.flags, rules.Flag.TWO_PLACES]
                other.save(update_fields=["flags"])
                if newly_flagged:
                    _flag_school_week(other.school_id, other.week)
    if _copied(record):
        flags.append(rules.Flag.COPIED_WEEK)
    return flags


def _copied(record: LessonRecord) -> bool:
    """Has this teacher filled the same week pattern for several weeks running, this one included?"""
    first = record.week - dt.timedelta(weeks=rules.COPIED_WEEKS - 1)
    weeks: dict[dt.date, set[tuple[int, int, int, str]]] = {}
    rows = LessonRecord.objects.filter(teacher_id=record.teacher_id, week__gte=first, week__lte=record.week)
    for wk, day, period, klass, topic in rows.values_list("week", "date", "period", "klass_id", "topic"):
        weeks.setdefault(wk, set()).add((day.isoweekday(), period, klass, topic))
    weeks.setdefault(record.week, set()).add((record.date.isoweekday(), record.period, record.klass_id, record.topic))
    ordered = [frozenset(weeks.get(first + dt.timedelta(weeks=i), set())) for i in range(rules.COPIED_WEEKS)]
    # A pattern only counts as copied if it has content that could have differed (a topic).
    return all(any(t for *_, t in w) for w in ordered) and rules.copied_weeks(ordered) >= rules.COPIED_WEEKS


@transaction.atomic
def record_lesson(
    *, actor: Any, klass: TeachingClass, teacher: Teacher, date: dt.date, period: int, subject: str = "",
    topic: str = "", resources: str = "", has_plan: bool = False, used_in_class: bool = True, recorded: bool = True,
    stored: bool = False,
) -> LessonRecord:
    """A teacher's lesson record (记录单), typed by hand: checked, flagged, counted."""
    klass = TeachingClass.objects.select_related("school").get(pk=klass.pk)
    _may_record(actor, klass, teacher)
    if teacher.school_id != klass.school_id:
        raise ValidationError("教师和班级不在同一所学校。")
    semester = semester_for(klass.school, date)
    if semester is None:
        raise ValidationError(f"{date:%Y-%m-%d} 不在任何学期内，请先在校历中设置学期。")
    if date > timezone.localdate():
        raise ValidationError("不能填写未来日期的记录。")
    cal = calendar_for(klass.school, semester)
    slots = {s.period: s for s in TimetableSlot.objects.filter(klass=klass, semester=semester,
                                                                 weekday=cal.timetable_weekday(date))}
    if slots and period not in slots:
        raise ValidationError(f"课表中 {date:%m月%d日} 没有第 {period} 节。")
    if not (1 <= period <= 12):
        raise ValidationError("节次应在 1–12 之间。")
    slot = slots.get(period)
    record = LessonRecord(
        klass=klass, school=klass.school, teacher=teacher, semester=semester, date=date,
        week=rules.week_start(date), period=period, subject=(subject or (slot.subject if slot else ""))[:20],
        topic=topic.strip()[:100], resources=resources.strip()[:300], has_plan=has_plan, used_in_class=used_in_class,
        recorded=recorded, stored=stored, evidence=LessonRecord.Evidence.MANUAL, status=LessonRecord.Status.CONFIRMED,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.flags = _flags(record, cal, set(slots) or set(rules.DEFAULT_PERIOD_TIMES))
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        raise ValidationError(f"{klass} {date:%m月%d日} 第 {period} 节已有记录。") from None
    _bump(record, +1)
    audit.record(audit.Action.CREATE, record, actor=actor, after=audit.snapshot(
        record, ["klass_id", "teacher_id", "date", "period", "subject", "topic", "flags"]))
    return record


@dataclass(frozen=True)
class SlotEntry:
    """One lesson of a week filled in one go: the class, the day, the period and its topic."""

    klass: TeachingClass
    date: dt.date
    period: int
    topic: str = ""


@transaction.atomic
def record_week(*, actor: Any, teacher: Teacher, entries: list[SlotEntry], confirm: list[LessonRecord],
                has_plan: bool = False, used_in_class: bool = True, recorded: bool = True,
                stored: bool = False) -> tuple[int, int]:
    """A teacher's week filled at once: new records for the ticked slots (the same four checks for
    all) and the ticked proposals confirmed. All or nothing: one bad slot and nothing is saved,
    with every problem named by its day and period."""
    problems: list[str] = []
    made = confirmed = 0
    for e in entries:
        try:
            with transaction.atomic():
                record_lesson(actor=actor, klass=e.klass, teacher=teacher, date=e.date, period=e.period,
                              topic=e.topic, has_plan=has_plan, used_in_class=used_in_class, recorded=recorded,
                              stored=stored)
            made += 1
        except (ValidationError, PermissionDenied) as exc:
            text = "；".join(getattr(exc, "messages", [str(exc)]))
            problems.append(f"{e.date:%m月%d日} 第 {e.period} 节：{text}")
    for record in confirm:
        try:
            confirm_record(record, actor=actor)
            confirmed += 1
        except PermissionDenied as exc:
            problems.append(f"{record.date:%m月%d日} 第 {record.period} 节：{exc}")
    if problems:
        raise ValidationError(["没有保存任何记录，请修改后重试：", *problems])
    return made, confirmed


@transaction.atomic
def confirm_record(record: LessonRecord, *, actor: Any, topic: str = "") -> LessonRecord:
    """The teacher confirms a record proposed from terminal events: one click, then it counts."""
    locked = LessonRecord.objects.select_for_update(of=("self",)).select_related("school", "klass", "teacher").get(pk=record.pk)
    _may_record(actor, locked.klass, locked.teacher)
    if locked.status == LessonRecord.Status.CONFIRMED:
        return locked
    locked.status = LessonRecord.Status.CONFIRMED
    if topic:
        locked.topic = topic.strip()[:100]
    locked.save(update_fields=["status", "topic"])
    _bump(locked, +1)
    audit.record(audit.Action.UPDATE, locked, actor=actor, before={"status": "proposed"}, after={"status": "confirmed"})
    return locked


@transaction.atomic
def delete_record(record: LessonRecord, *, actor: Any) -> None:
    locked = LessonRecord.objects.select_for_update(of=("self",)).select_related("school", "klass", "teacher").get(pk=record.pk)
    _may_record(actor, locked.klass, locked.teacher)
    if locked.status == LessonRecord.Status.CONFIRMED:
        _bump(locked, -1)
    audit.record(audit.Action.DELETE, locked, actor=actor, before=audit.snapshot(
        locked, ["klass_id", "teacher_id", "date", "period", "topic"]))
    locked.delete()


# --- Events -----------------------------------------------------------------------------------


class BatchConflict(ValidationError):
    pass


def body_hash(events: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(events, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _parse_at(raw: Any) -> dt.datetime:
    at = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return at if at.tzinfo else timezone.make_aware(at)


@transaction.atomic
def ingest_events(*, actor: Any, key: str, classroom: Classroom, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Store a batch of terminal events once, whatever the retries, and propose lesson records.

    The same key with the same body returns the stored result; with a different body it is
    refused. Events already stored (by an earlier batch) are counted as duplicates, not again.
    """
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise ValidationError("每批事件需要一个 1–80 个字符的幂等键（key）。")
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise ValidationError(f"每批最多 {MAX_EVENTS_PER_BATCH} 条事件。")
    digest = body_hash(events)
    existing = EventBatch.objects.filter(key=key).first()
    if existing is not None:
        if existing.body_sha256 != digest or existing.classroom_id != classroom.pk:
            raise BatchConflict("这个幂等键已用于另一批不同的事件，请换一个新键。")
        return {**existing.result, "replayed": True}
    batch = EventBatch.objects.create(key=key, body_sha256=digest, classroom=classroom)
    now = timezone.now()
    rejected, rows = [], []
    for i, e in enumerate(events):
        kind = e.get("kind")
        if kind not in TerminalEvent.Kind.values:
            rejected.append({"index": i, "reason": f"未知的事件类型“{kind}”"})
            continue
        try:
            at = _parse_at(e.get("at"))
        except (TypeError, ValueError):
            rejected.append({"index": i, "reason": f"时间“{e.get('at')}”格式不对"})
            continue
        problem = rules.event_time_problem(at, now)
        if problem:
            rejected.append({"index": i, "reason": problem})
            continue
        rows.append((classroom.pk, kind, at, str(e.get("resource") or "")[:300], batch.pk))
    # One multi-row INSERT; events stored before (by an earlier batch) hit the unique constraint,
    # are skipped and not counted, so a retry with a new key never counts an event twice.
    accepted = insert_rows(TerminalEvent, ["classroom", "kind", "at", "resource", "batch"], rows,
                           ignore_conflicts=True)
    days = sorted({timezone.localtime(r[2]).date() for r in rows})
    proposed = propose_records(classroom, days) if accepted else 0
    result = {"key": key, "received": len(events), "accepted": accepted, "duplicates": len(rows) - accepted,
              "rejected": rejected, "proposed": proposed}
    batch.result = result
    batch.save(update_fields=["result"])
    return result


def _semesters_by_day(school: School, days: list[dt.date]) -> dict[dt.date, Semester]:
    """The semester of each day, from one query (the deepest region's semester wins, as in semester_for)."""
    ids = path_ids(school.region_path)
    depth = {rid: i for i, rid in enumerate(ids)}
    candidates = list(Semester.objects.filter(region_id__in=ids, start__lte=days[-1], end__gte=days[0]))
    out = {}
    for day in days:
        found = [s for s in candidates if s.start <= day <= s.end]
        if found:
            out[day] = max(found, key=lambda s: depth.get(s.region_id, 0))
    return out


# A proposal's columns, in the order propose_records builds its rows (defaults spelled out: the
# raw insert fills nothing in).
PROPOSAL_COLUMNS = [
    "klass", "school", "teacher", "semester", "date", "week", "period", "subject", "topic", "resources", "has_plan",
    "used_in_class", "recorded", "stored", "evidence", "status", "flags", "evidence_minutes", "created_at",
    "created_by",
]


def propose_records(classroom: Classroom, days: list[dt.date]) -> int:
    """Turn terminal use inside timetable slots into records for the teacher to confirm.

    Works on the whole batch at once — one query each for semesters, calendars, events, slots and
    existing records, one bulk insert — because a terminal's backlog spans weeks and a query per
    day and slot held ingest to a few hundred events a second.
    """
    klass = classroom.teaching_class
    if klass is None or not days:
        return 0
    days = sorted(set(days))
    school = classroom.school
    tz = timezone.get_current_timezone()
    semesters = _semesters_by_day(school, days)
    calendars = {s.pk: calendar_for(school, s) for s in {s.pk: s for s in semesters.values()}.values()}
    teaching = [d for d in days if d in semesters and calendars[semesters[d].pk].is_teaching_day(d)]
    if not teaching:
        return 0
    first = dt.datetime.combine(teaching[0], dt.time.min, tz)
    last = dt.datetime.combine(teaching[-1], dt.time.min, tz) + dt.timedelta(days=1)
    events: dict[dt.date, list[tuple[str, dt.datetime, str]]] = {}
    for kind, at, res in TerminalEvent.objects.filter(classroom=classroom, at__gte=first, at__lt=last).values_list(
        "kind", "at", "resource"
    ):
        events.setdefault(timezone.localtime(at, tz).date(), []).append((kind, at, res))
    slots: dict[tuple[int, int], list[TimetableSlot]] = {}
    for slot in TimetableSlot.objects.filter(klass=klass, semester_id__in={s.pk for s in semesters.values()},
                                             teacher__isnull=False):
        slots.setdefault((slot.semester_id, slot.weekday), []).append(slot)
    existing = {
        (d, p): (pk, ev)
        for pk, d, p, ev in LessonRecord.objects.filter(klass=klass, date__gte=teaching[0], date__lte=teaching[-1])
        .values_list("pk", "date", "period", "evidence")
    }
    new: list[tuple[Any, ...]] = []
    upgrades: dict[int, int] = {}
    now = timezone.now()
    for day in teaching:
        evs = events.get(day, [])
        if not evs:
            continue
        semester = semesters[day]
        end = dt.datetime.combine(day, dt.time.min, tz) + dt.timedelta(days=1)
        intervals = rules.power_intervals([(k, a) for k, a, _ in evs if k != "resource_opened"], day_end=end)
        opened = [(a, r) for k, a, r in evs if k == "resource_opened"]
        for slot in slots.get((semester.pk, calendars[semester.pk].timetable_weekday(day)), []):
            times = rules.DEFAULT_PERIOD_TIMES.get(slot.period)
            if times is None or slot.teacher_id is None:
                continue
            s, e = dt.datetime.combine(day, times[0], tz), dt.datetime.combine(day, times[1], tz)
            minutes = rules.overlap_minutes(intervals, s, e)
            used = [r for a, r in opened if s <= a < e]
            if minutes < rules.MIN_EVIDENCE_MINUTES and not used:
                continue
            found = existing.get((day, slot.period))
            if found is not None:
                if found[1] != LessonRecord.Evidence.EVENTS:
                    upgrades[found[0]] = minutes
                continue
            new.append((
                klass.pk, school.pk, slot.teacher_id, semester.pk, day, rules.week_start(day), slot.period,
                slot.subject, "", "、".join(sorted({r.rsplit("/", 1)[-1] for r in used}))[:300], False, True, True,
                bool(used), LessonRecord.Evidence.EVENTS, LessonRecord.Status.PROPOSED, [], minutes, now, None,
            ))
    for pk, minutes in upgrades.items():  # a typed record that the terminal now backs: rare, one by one
        LessonRecord.objects.filter(pk=pk).update(evidence=LessonRecord.Evidence.EVENTS, evidence_minutes=minutes)
    # A record typed for the same slot while this batch ran makes the insert fail and the whole
    # batch roll back; the terminal's retry (same key) then proposes around it.
    return insert_rows(LessonRecord, PROPOSAL_COLUMNS, new)


# --- Calendar and rule settings ---------------------------------------------------------------


def _check_admin(actor: Any) -> None:
    if actor is not None and (getattr(actor, "read_only", False) or not (actor.is_superuser or actor.role == "bureau_admin")):
        raise PermissionDenied("只有局管理员可以设置校历和应用要求。")


@transaction.atomic
def add_semester(region: Region, *, actor: Any, name: str, start: dt.date, end: dt.date) -> Semester:
    _check_admin(actor)
    if end <= start:
        raise ValidationError("学期结束日期必须晚于开学日期。")
    if Semester.objects.filter(region=region, start__lte=end, end__gte=start).exists():
        raise ValidationError("与本区域已有学期的日期重叠。")
    semester = Semester.objects.create(region=region, name=name.strip()[:40] or f"{start:%Y}学期", start=start, end=end)
    audit.record(audit.Action.CREATE, semester, actor=actor, after={"name": semester.name, "start": str(start), "end": str(end)})
    return semester


@transaction.atomic
def add_calendar_day(*, actor: Any, date: dt.date, kind: str, region: Region | None = None, school: School | None = None,
                     follows_weekday: int | None = None, note: str = "") -> CalendarDay:
    if school is not None:
        if actor is not None and not (actor.is_superuser or actor.role in {"school_admin", "bureau_admin"}):
            raise PermissionDenied("只有学校管理员或局管理员可以设置学校停课日。")
        if kind != CalendarDay.Kind.DAY_OFF:
            raise ValidationError("学校只能添加停课日；放假和调休由区域统一设置。")
    else:
        _check_admin(actor)
    if kind not in CalendarDay.Kind.values:
        raise ValidationError("未知的校历类型。")
    if kind == CalendarDay.Kind.MAKEUP and follows_weekday is not None and not 1 <= follows_weekday <= 5:
        raise ValidationError("调休日按星期一至星期五中的某天课表上课。")
    day = CalendarDay.objects.create(region=region, school=school, date=date, kind=kind,
                                     follows_weekday=follows_weekday, note=note.strip()[:60])
    audit.record(audit.Action.CREATE, school or region, actor=actor, object_type="usage.CalendarDay",
                 after={"date": str(date), "kind": kind, "note": day.note})
    return day


MAX_LESSONS_PER_WEEK = 40  # 8 periods a day, 5 days: a higher minimum could never be met


@transaction.atomic
def set_compliance_rule(region: Region, *, actor: Any, class_min_per_week: int, teacher_min_per_week: int,
                        teacher_non_bbt_min_per_semester: int, today: dt.date | None = None) -> ComplianceRule:
    """A region's usage requirements (inherited by every region and school below it), audited.

    The new minimums apply from the current week: its roll-ups are re-checked here, so this
    week's figures are never half old rule, half new. Earlier weeks keep the rule they ran under.
    """
    _check_admin(actor)
    if actor is not None and not getattr(actor, "is_superuser", False) and not actor.scope.covers_path(region.path):
        raise PermissionDenied("该区域不在您的管辖范围内。")
    values = {"class_min_per_week": class_min_per_week, "teacher_min_per_week": teacher_min_per_week,
              "teacher_non_bbt_min_per_semester": teacher_non_bbt_min_per_semester}
    labels = {"class_min_per_week": "班级每周至少节数", "teacher_min_per_week": "教师每周至少节数",
              "teacher_non_bbt_min_per_semester": "未实施学校教师每学期至少节数"}
    errors = {}
    for name, value in values.items():
        top = MAX_LESSONS_PER_WEEK * 25 if name.endswith("semester") else MAX_LESSONS_PER_WEEK
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
            errors[name] = f"{labels[name]}应为 1–{top} 之间的整数。"
    if errors:
        raise ValidationError(errors)
    rule = ComplianceRule.objects.filter(region=region).first()
    before = audit.snapshot(rule, list(values)) if rule else None
    rule, _ = ComplianceRule.objects.update_or_create(region=region, defaults=values)
    audit.record(audit.Action.UPDATE if before else audit.Action.CREATE, region, actor=actor,
                 object_type="usage.ComplianceRule", before=before, after=values)
    week = rules.week_start(today or timezone.localdate())
    schools = School.objects.filter(subtree_q("region_path", region.path))
    for school in schools.filter(pk__in=SchoolWeek.objects.filter(week=week).values("school_id")):
        recheck_week(school, week)
    return rule


def _flag_school_week(school_id: int, week: dt.date) -> None:
    """One more flagged record in a school's week (and its place's), if it has one."""
    sw = SchoolWeek.objects.select_for_update().filter(school_id=school_id, week=week).first()
    if sw is None:
        return
    SchoolWeek.objects.filter(pk=sw.pk).update(flagged=F("flagged") + 1)
    _move_place(sw.region_path, week, NOTHING, (0, 0, 0, 1))


def recheck_week(school: School, week: dt.date) -> None:
    """Re-derive one school's week from its class and teacher counts under the rule in force now:
    minimums, compliant flags and the school's compliant totals (lesson counts are untouched)."""
    mins = week_minimums(school, week)
    classes = ClassWeek.objects.filter(school=school, week=week)
    built = TeachingClass.objects.filter(school=school, status__in=TeachingClass.BUILT_STATUSES).values("pk")
    classes.update(minimum=mins.klass, compliant=False)
    classes.filter(lessons__gte=mins.klass, klass_id__in=built).update(compliant=True)
    teachers = TeacherWeek.objects.filter(school=school, week=week)
    teachers.update(minimum=mins.teacher, compliant=False)
    if mins.teacher > 0:
        teachers.filter(lessons__gte=mins.teacher).update(compliant=True)
    sw = SchoolWeek.objects.select_for_update().filter(school=school, week=week).first()
    if sw is None:
        return
    ok_c, ok_t = classes.filter(compliant=True).count(), teachers.filter(compliant=True).count()
    SchoolWeek.objects.filter(pk=sw.pk).update(compliant_classes=ok_c, compliant_teachers=ok_t)
    _move_place(sw.region_path, week,
                _sums(sw.bbt, sw.compliant_classes, sw.compliant_teachers, sw.lessons, sw.flagged),
                _sums(sw.bbt, ok_c, ok_t, sw.lessons, sw.flagged))


def send_reminders(report: Any, *, week: dt.date, actor: Any = None) -> int:
    """Remind the teachers who fell short, and the school admins of schools with short classes, once a week."""
    from banbantong.accounts.models import User
    from banbantong.core.notifications import notify

    if actor is not None and not (actor.is_superuser or getattr(actor, "role", "") == "bureau_admin" or actor is SYSTEM):
        raise PermissionDenied("只有局管理员可以发送应用提醒。")
    label = rules.iso_week(week)
    key = f"usage-short:{week.isoformat()}"
    sent = 0
    teacher_ids = [r["id"] for r in report.short_teachers]
    for teacher in Teacher.objects.filter(pk__in=teacher_ids).select_related("user"):
        lessons = next(r["lessons"] for r in report.short_teachers if r["id"] == teacher.pk)
        sent += notify([teacher.user], kind="usage", key=key,
                       text=f"{label} 您用班班通资源上课 {lessons} 节，未达到每周要求，请补填或加强应用。",
                       url=f"/usage/my/?week={label}")
    by_school: dict[int, int] = {}
    for r in report.short_classes:
        by_school[r["school_id"]] = by_school.get(r["school_id"], 0) + 1
    admins = User.objects.filter(role="school_admin", school_id__in=list(by_school), is_active=True)
    for admin in admins:
        n = by_school.get(admin.school_id or 0, 0)
        sent += notify([admin], kind="usage", key=key, text=f"{label} 本校有 {n} 个班班通班级应用节数未达标。",
                       url=f"/usage/?week={label}")
    return sent
