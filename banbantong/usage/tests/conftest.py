from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from banbantong.conftest import World
from banbantong.org.models import Classroom, TeachingClass
from banbantong.usage import services
from banbantong.usage.models import Semester, TimetableSlot

MONDAY = dt.date(2026, 11, 16)


@dataclass
class Term:
    semester: Semester
    klass: TeachingClass  # built, school A, grade 4
    room: Classroom


@pytest.fixture
def term(world: World) -> Term:
    semester = services.add_semester(world.county_a, actor=world.alice, name="2026秋季学期",
                                     start=dt.date(2026, 9, 1), end=dt.date(2027, 1, 22))
    klass = TeachingClass.objects.get(school=world.school_a, grade=4)
    room = Classroom.objects.create(school=world.school_a, name="401", teaching_class=klass)
    TimetableSlot.objects.bulk_create(
        TimetableSlot(klass=klass, semester=semester, weekday=d, period=p, subject="数学" if p % 2 else "语文",
                      teacher=world.teacher_a)
        for d in range(1, 6) for p in range(1, 7)
    )
    TimetableSlot.objects.bulk_create(
        TimetableSlot(klass=world.class_a, semester=semester, weekday=d, period=p, subject="数学", teacher=world.teacher_a)
        for d in range(1, 6) for p in range(1, 7)
    )
    return Term(semester, klass, room)


def lessons(world: World, term: Term, n: int, monday: dt.date = MONDAY, **kw: object) -> list:
    out = []
    for i in range(n):
        out.append(services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                                          date=monday + dt.timedelta(days=i % 5), period=1 + i // 5,
                                          topic=f"第{i}课", **kw))  # type: ignore[arg-type]
    return out
