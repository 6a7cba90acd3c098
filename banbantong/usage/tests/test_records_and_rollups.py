"""Lesson records: validation, flags, and the weekly roll-ups that the compliance report reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from banbantong.conftest import World
from banbantong.core.scope import SYSTEM
from banbantong.usage import queries, services
from banbantong.usage.models import CalendarDay, ClassWeek, LessonRecord, SchoolWeek, TeacherWeek
from banbantong.usage.rules import Flag
from banbantong.usage.tests.conftest import MONDAY, Term, lessons


@pytest.mark.django_db
def test_ten_lessons_make_the_class_compliant(world: World, term: Term) -> None:
    lessons(world, term, 9)
    cw = ClassWeek.objects.get(klass=term.klass, week=MONDAY)
    assert (cw.lessons, cw.minimum, cw.compliant) == (9, 10, False)
    services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a, date=MONDAY, period=6,
                           topic="复习")
    cw.refresh_from_db()
    assert (cw.lessons, cw.compliant) == (10, True)
    assert SchoolWeek.objects.get(school=world.school_a, week=MONDAY).compliant_classes == 1
    assert TeacherWeek.objects.get(teacher=world.teacher_a, week=MONDAY).compliant
    report = queries.compliance(SYSTEM, world.county_a, MONDAY)
    assert (report.classes_checked, report.classes_compliant) == (1, 1)
    assert (report.teachers_checked, report.teachers_compliant) == (1, 1)


@pytest.mark.django_db
def test_deleting_moves_the_rollups_back(world: World, term: Term) -> None:
    records = lessons(world, term, 10)
    services.delete_record(records[0], actor=world.teacher_user_a)
    cw = ClassWeek.objects.get(klass=term.klass, week=MONDAY)
    assert (cw.lessons, cw.compliant) == (9, False)
    assert SchoolWeek.objects.get(school=world.school_a, week=MONDAY).compliant_classes == 0


@pytest.mark.django_db
def test_short_weeks_are_prorated_and_makeup_days_count(world: World, term: Term) -> None:
    for d in (2, 3, 4):  # Wed–Fri off
        services.add_calendar_day(actor=world.alice, region=world.county_a, date=MONDAY + dt.timedelta(days=d), kind="holiday")
    assert services.week_minimums(world.school_a, MONDAY).klass == 4  # ceil(10 × 2/5)
    services.add_calendar_day(actor=world.alice, region=world.county_a, date=MONDAY + dt.timedelta(days=6), kind="makeup",
                              follows_weekday=5)
    assert services.week_minimums(world.school_a, MONDAY).teaching_days == 3
    assert services.week_minimums(world.school_a, MONDAY).klass == 6
    services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                           date=MONDAY + dt.timedelta(days=6), period=1, topic="调休日")
    record = LessonRecord.objects.get(date=MONDAY + dt.timedelta(days=6))
    assert record.flags == []


@pytest.mark.django_db
def test_flags_holiday_two_places_and_late_entry(world: World, term: Term) -> None:
    services.add_calendar_day(actor=world.alice, region=world.county_a, date=MONDAY, kind="holiday")
    on_holiday = services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                                        date=MONDAY, period=1)
    assert Flag.HOLIDAY in on_holiday.flags
    a = services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                               date=MONDAY + dt.timedelta(days=1), period=2)
    b = services.record_lesson(actor=world.teacher_user_a, klass=world.class_a, teacher=world.teacher_a,
                               date=MONDAY + dt.timedelta(days=1), period=2)
    a.refresh_from_db()
    assert Flag.TWO_PLACES in a.flags and Flag.TWO_PLACES in b.flags
    late = services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                                  date=dt.date(2026, 10, 12), period=3)
    assert Flag.LATE_ENTRY in late.flags
    # The holiday record and both halves of the clash; the late one is in another week.
    assert SchoolWeek.objects.get(school=world.school_a, week=MONDAY).flagged == 3


@pytest.mark.django_db
def test_copied_weeks_are_flagged(world: World, term: Term) -> None:
    for w in range(3):
        monday = MONDAY - dt.timedelta(weeks=2 - w)
        last = [services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                                       date=monday + dt.timedelta(days=d), period=1, topic="认识分数") for d in range(3)]
    assert Flag.COPIED_WEEK in last[-1].flags


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"date": dt.date(2026, 8, 20)}, "不在任何学期内"),
        ({"period": 8}, "没有第 8 节"),
        ({"date": dt.date(2026, 12, 30)}, "未来日期"),
    ],
)
def test_bad_records_are_refused(world: World, term: Term, kw: dict, message: str) -> None:
    args = {"actor": world.teacher_user_a, "klass": term.klass, "teacher": world.teacher_a, "date": MONDAY, "period": 1}
    args.update(kw)
    with pytest.raises(ValidationError, match=message):
        services.record_lesson(**args)  # type: ignore[arg-type]
    assert not LessonRecord.objects.exists() and not ClassWeek.objects.exists()


@pytest.mark.django_db
def test_scope_of_records(world: World, term: Term) -> None:
    with pytest.raises(PermissionDenied):
        services.record_lesson(actor=world.bob, klass=term.klass, teacher=world.teacher_a, date=MONDAY, period=1)
    with pytest.raises(PermissionDenied):  # a teacher writes only their own records
        services.record_lesson(actor=world.teacher_b.user, klass=term.klass, teacher=world.teacher_a, date=MONDAY, period=1)
    services.record_lesson(actor=world.principal_a, klass=term.klass, teacher=world.teacher_a, date=MONDAY, period=1)
    assert LessonRecord.objects.for_user(world.bob).count() == 0
    assert LessonRecord.objects.for_user(world.teacher_b.user).count() == 0
    assert LessonRecord.objects.for_user(world.teacher_user_a).count() == 1


@pytest.mark.django_db
def test_short_lists(world: World, term: Term) -> None:
    lessons(world, term, 3)
    report = queries.compliance(SYSTEM, world.county_a, MONDAY)
    assert report.short_classes == [{"id": term.klass.pk, "school_id": world.school_a.pk, "school": "文峰中心小学",
                                     "class": "四年级1班", "lessons": 3}]
    assert report.short_teachers == []  # 3 ≥ 2 a week
    assert CalendarDay.objects.count() == 0


@pytest.mark.django_db
def test_reminders_once_per_week(world: World, term: Term, client: object) -> None:
    import io

    from django.core.management import call_command

    from banbantong.core.models import Notification

    services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a, date=MONDAY, period=1)
    out = io.StringIO()
    call_command("usage", "remind", "--region", "吉水县", "--week", "2026-W47", stdout=out)
    notes = Notification.objects.all()
    assert {n.user for n in notes} == {world.teacher_user_a, world.principal_a}
    assert "1 节" in Notification.objects.get(user=world.teacher_user_a).text
    call_command("usage", "remind", "--region", "吉水县", "--week", "2026-W47", stdout=io.StringIO())
    assert Notification.objects.count() == 2
    assert not Notification.objects.for_user(world.bob).exists()
