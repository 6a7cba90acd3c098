"""Usage rules (pure, no ORM): teaching days, pro-rated weekly thresholds, anomaly checks.

Defaults from the Jishui plan (seed 003, 应用要求): a Banbantong class uses resources in at least
ten lessons a week; each teacher at least two a week; a teacher at a school without Banbantong
at least five a semester.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_noop

CLASS_MIN_PER_WEEK = 10
TEACHER_MIN_PER_WEEK = 2
TEACHER_NON_BBT_MIN_PER_SEMESTER = 5
WORKDAYS_PER_WEEK = 5

# A record typed this many days after its lesson is flagged "补录" (typed long after the fact).
LATE_ENTRY_DAYS = 14
# The same week pattern (day, period, class, topic) repeated this many weeks running is flagged.
COPIED_WEEKS = 3
# Events in a period count as evidence when the terminal was on at least this long in it.
MIN_EVIDENCE_MINUTES = 10


class Flag:
    HOLIDAY = "holiday"
    NOT_TEACHING_DAY = "not_teaching_day"
    OUTSIDE_HOURS = "outside_hours"
    TWO_PLACES = "two_places"
    COPIED_WEEK = "copied_week"
    LATE_ENTRY = "late_entry"

    LABELS = {
        HOLIDAY: gettext_noop("节假日上课"),
        NOT_TEACHING_DAY: gettext_noop("非教学日"),
        OUTSIDE_HOURS: gettext_noop("课表外节次"),
        TWO_PLACES: gettext_noop("同一教师同时在两个班"),
        COPIED_WEEK: gettext_noop("多周内容雷同"),
        LATE_ENTRY: gettext_noop("事后补录"),
    }


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def parse_iso_week(text: str) -> dt.date:
    """'2026-W11' -> the Monday of that ISO week."""
    try:
        year_s, week_s = text.strip().upper().split("-W")
        return dt.date.fromisocalendar(int(year_s), int(week_s), 1)
    except (ValueError, TypeError):
        raise ValueError(f"周次“{text}”格式不对，应为 YYYY-Www，例如 2026-W11。") from None


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class CalendarFacts:
    """What the calendar says about days: semester bounds, holidays, make-up workdays (调休)."""

    semester_start: dt.date
    semester_end: dt.date
    holidays: frozenset[dt.date] = frozenset()
    makeup_days: Mapping[dt.date, int] = None  # type: ignore[assignment]  # date -> weekday whose timetable it follows

    def __post_init__(self) -> None:
        if self.makeup_days is None:
            object.__setattr__(self, "makeup_days", {})

    def in_semester(self, day: dt.date) -> bool:
        return self.semester_start <= day <= self.semester_end

    def is_teaching_day(self, day: dt.date) -> bool:
        if not self.in_semester(day) or day in self.holidays:
            return False
        return day in self.makeup_days or day.weekday() < WORKDAYS_PER_WEEK

    def timetable_weekday(self, day: dt.date) -> int:
        """Which weekday's timetable runs on this day (1 = Monday): a make-up day follows its own."""
        return self.makeup_days.get(day, day.isoweekday())

    def teaching_days_in_week(self, monday: dt.date) -> int:
        return sum(self.is_teaching_day(monday + dt.timedelta(days=i)) for i in range(7))


def prorated(minimum: int, teaching_days: int) -> int:
    """A weekly minimum scaled to a short week, rounded up: 10 a week, 3 teaching days -> 6."""
    if teaching_days <= 0:
        return 0
    return math.ceil(minimum * min(teaching_days, WORKDAYS_PER_WEEK) / WORKDAYS_PER_WEEK)


def compliant(count: int, minimum: int) -> bool:
    return count >= minimum


@dataclass(frozen=True)
class Lesson:
    """A record as the anomaly checks see it."""

    id: int
    date: dt.date
    period: int
    class_id: int
    teacher_id: int
    topic: str
    created: dt.date


def flags_for(
    lesson: Lesson,
    calendar: CalendarFacts | None,
    periods_in_timetable: Iterable[int],
    same_slot_other_classes: int,
) -> list[str]:
    """The anomaly flags of one record, from facts the caller looked up."""
    flags = []
    if calendar is not None:
        if lesson.date in calendar.holidays:
            flags.append(Flag.HOLIDAY)
        elif not calendar.is_teaching_day(lesson.date):
            flags.append(Flag.NOT_TEACHING_DAY)
    if lesson.period not in set(periods_in_timetable):
        flags.append(Flag.OUTSIDE_HOURS)
    if same_slot_other_classes > 0:
        flags.append(Flag.TWO_PLACES)
    if (lesson.created - lesson.date).days > LATE_ENTRY_DAYS:
        flags.append(Flag.LATE_ENTRY)
    return flags


def copied_weeks(weeks: Sequence[frozenset[tuple[int, int, int, str]]]) -> int:
    """The longest run of consecutive weeks whose (weekday, period, class, topic) sets are identical
    and non-empty — a log filled by copy-paste rather than by teaching."""
    best = run = 0
    previous: frozenset[tuple[int, int, int, str]] | None = None
    for pattern in weeks:
        if pattern and pattern == previous:
            run += 1
        else:
            run = 1 if pattern else 0
        best = max(best, run)
        previous = pattern
    return best


# Default bell schedule (period -> start, end), used to place terminal events in timetable slots.
DEFAULT_PERIOD_TIMES: dict[int, tuple[dt.time, dt.time]] = {
    1: (dt.time(8, 0), dt.time(8, 45)),
    2: (dt.time(8, 55), dt.time(9, 40)),
    3: (dt.time(10, 0), dt.time(10, 45)),
    4: (dt.time(10, 55), dt.time(11, 40)),
    5: (dt.time(14, 0), dt.time(14, 45)),
    6: (dt.time(14, 55), dt.time(15, 40)),
    7: (dt.time(15, 50), dt.time(16, 35)),
    8: (dt.time(16, 45), dt.time(17, 30)),
}
EARLIEST_EVENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_CLOCK_SKEW = dt.timedelta(hours=24)


def event_time_problem(at: dt.datetime, now: dt.datetime) -> str | None:
    """Why an event's timestamp cannot be real (a terminal with a dead clock battery says 1970)."""
    if at < EARLIEST_EVENT:
        return f"时间 {at:%Y-%m-%d} 早于 2000 年，终端时钟可能未校准"
    if at > now + MAX_CLOCK_SKEW:
        return f"时间 {at:%Y-%m-%d %H:%M} 在未来，终端时钟可能未校准"
    return None


def overlap_minutes(intervals: Iterable[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> int:
    total = dt.timedelta()
    for a, b in intervals:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return int(total.total_seconds() // 60)


def power_intervals(events: Sequence[tuple[str, dt.datetime]], *, day_end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """On/off events in time order -> intervals the terminal was on; an unmatched 'on' runs to day_end."""
    intervals = []
    on: dt.datetime | None = None
    for kind, at in sorted(events, key=lambda e: e[1]):
        if kind == "power_on" and on is None:
            on = at
        elif kind == "power_off" and on is not None:
            intervals.append((on, at))
            on = None
    if on is not None:
        intervals.append((on, max(on, day_end)))
    return intervals
