"""Month-end roll-ups of the status history (org.history_months) equal the history they sum.

The reference sums the history rows after a date directly; the month rows must give the same
for every date — month ends, the days around them, before the first change, this month — after
every kind of write, including a backdated one that moves the epoch back.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest
from django.utils import timezone

from banbantong.conftest import World
from banbantong.core.scope import SYSTEM
from banbantong.org import history_months, services
from banbantong.org.history_months import KEY, built_after, month_end, oldest_kept
from banbantong.org.models import (
    ClassHistoryMonth,
    ClassHistoryMonthKept,
    ClassStatusChange,
    School,
    TeachingClass,
)
from banbantong.planning.services import bulk_set_status

S = TeachingClass.Status
d = dt.date


def test_month_helpers() -> None:
    assert month_end(d(2024, 2, 3)) == d(2024, 2, 29)
    assert month_end(d(2025, 12, 31)) == d(2025, 12, 31)
    assert oldest_kept(d(2026, 12, 2)) == d(2021, 12, 31)
    assert oldest_kept(d(2026, 1, 31)) == d(2021, 1, 31)


def _nonzero(counts: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """Zeros dropped, negatives kept (Counter's unary + would drop them)."""
    return Counter({k: v for k, v in counts.items() if v})


def _truth(user: Any, root_path: str, as_of: dt.date) -> Counter[tuple[Any, ...]]:
    """Classes built after as_of by (place, mode, kind, rural, school), from the history itself."""
    out: Counter[tuple[Any, ...]] = Counter()
    for c in ClassStatusChange.objects.filter(changed_on__gt=as_of).select_related("klass__school"):
        school = c.klass.school
        if not school.region_path.startswith(root_path):
            continue
        delta = (c.new_status in TeachingClass.BUILT_STATUSES) - (c.old_status in TeachingClass.BUILT_STATUSES)
        out[(school.region_path, c.klass.mode_id, school.kind, school.is_rural, school.pk)] += delta
    return _nonzero(out)


def _read(user: Any, root_path: str, as_of: dt.date) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for *key, n in built_after(user, root_path, as_of):
        out[tuple(key)] += n
    return _nonzero(out)


def _stored_equal_truth() -> None:
    """The rows of every month kept equal the history after that month end, key by key."""
    months = list(ClassHistoryMonthKept.objects.values_list("month", flat=True))
    for month in months:
        stored: Counter[tuple[Any, ...]] = Counter()
        for *key, n in ClassHistoryMonth.objects.filter(month=month).values_list(*KEY, "built_after"):
            stored[tuple(key)] += n
        assert _nonzero(stored) == _truth(SYSTEM, "/", month), month
    assert not ClassHistoryMonth.objects.exclude(month__in=months).exists()


def _dates(today: dt.date) -> list[dt.date]:
    first = ClassStatusChange.objects.order_by("changed_on").values_list("changed_on", flat=True).first()
    assert first is not None
    out = {first - dt.timedelta(days=400), first - dt.timedelta(days=1), first, today, today - dt.timedelta(days=1)}
    m = month_end(first - dt.timedelta(days=40))
    while m <= month_end(today):
        out |= {m, m - dt.timedelta(days=1), m + dt.timedelta(days=1)}
        m = month_end(m + dt.timedelta(days=1))
    return sorted(out)


def _check_all(world: World) -> None:
    for as_of in _dates(timezone.localdate()):
        for user, root in ((SYSTEM, "/"), (world.city_admin, world.city.path), (world.alice, world.county_a.path),
                           (world.bob, world.county_a.path), (world.principal_a, world.county_a.path)):
            got = _read(user, root, as_of)
            want = _truth(user, root, as_of)
            if user is world.bob:  # out of scope: nothing of county A
                want = Counter()
            elif user is world.principal_a:
                want = Counter({k: v for k, v in want.items() if k[-1] == world.school_a.pk})
            assert got == want, (user, root, as_of)
    _stored_equal_truth()


# 60: every date of the test has rows; 6: most dates are older than the months kept and read the
# history itself.
@pytest.mark.parametrize("months_kept", [60, 6])
@pytest.mark.django_db
def test_month_rows_follow_every_write_and_equal_the_history(
    world: World, months_kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_months, "MONTHS_KEPT", months_kept)
    rng = random.Random(7)
    today = timezone.localdate()
    for i in range(6):
        TeachingClass.objects.create(school=world.school_a2, grade=2 + i % 4, name=f"{i + 2}班", pupils=30)
        TeachingClass.objects.create(school=world.school_b, grade=2 + i % 4, name=f"{i + 2}班", pupils=30)
    services.refresh_school_counts([world.school_a2.pk, world.school_b.pk])
    classes = list(TeachingClass.objects.order_by("id"))

    def random_changes(n: int) -> None:  # forward and backward moves on past dates, one class at a time
        for _ in range(n):
            klass = rng.choice(classes)
            klass.refresh_from_db()
            status = rng.choice([s for s in S.values if s != klass.status])
            on = today - dt.timedelta(days=rng.randint(0, 700))
            services.set_class_status(klass, status, actor=world.city_admin, on=on, reason="测试")

    random_changes(40)
    assert not ClassHistoryMonth.objects.exists()  # nobody asked yet
    _check_all(world)  # asks every month of the history: each is kept as it is asked
    asked = {month_end(x) for x in _dates(today) if oldest_kept(today) <= month_end(x) < month_end(today)}
    assert set(ClassHistoryMonthKept.objects.values_list("month", flat=True)) == asked
    # Both directions are exercised: classes that left 已建 after some month end, and ones that entered.
    assert ClassHistoryMonth.objects.filter(built_after__lt=0).exists()
    assert ClassHistoryMonth.objects.filter(built_after__gt=0).exists()
    # Writes after the months were kept rewrite them: more changes, one older than all history,
    # a bulk change and a mode change (the history moves to the mode). Checked before asking again.
    random_changes(20)
    services.set_class_status(world.class_b, S.BUILT if world.class_b.status != S.BUILT else S.BUILDING,
                              actor=world.city_admin, on=today - dt.timedelta(days=1500), reason="补录")
    bulk_set_status(TeachingClass.objects.filter(school=world.school_a2), S.ACCEPTED, actor=world.city_admin,
                    on=today - dt.timedelta(days=45))
    from banbantong.planning.suggestions import confirm_suggested_modes

    confirm_suggested_modes(TeachingClass.objects.filter(school=world.school_a2), actor=world.city_admin)
    _stored_equal_truth()
    _check_all(world)
    # A recount rewrites rows lost or damaged.
    ClassHistoryMonth.objects.filter(school=world.school_b).delete()
    ClassHistoryMonth.objects.filter(school=world.school_a).update(built_after=99)
    services.refresh_school_counts(School.objects.values_list("id", flat=True))
    _stored_equal_truth()


@pytest.mark.django_db
def test_a_month_is_written_once_and_old_months_drop_out(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    today = timezone.localdate()
    for i, klass in enumerate(TeachingClass.objects.order_by("id")):
        services.set_class_status(klass, S.BUILT if klass.status != S.BUILT else S.BUILDING, actor=world.city_admin,
                                  on=today - dt.timedelta(days=70 * (i + 1)), reason="补录")
    assert built_after(SYSTEM, "/", today) == []  # this month: nothing kept, nothing after today
    assert not ClassHistoryMonthKept.objects.exists()
    year_ago = today - dt.timedelta(days=365)
    first = _read(SYSTEM, "/", year_ago)
    assert first == _truth(SYSTEM, "/", year_ago) and first
    rows = sorted(ClassHistoryMonth.objects.values_list(*KEY, "month", "built_after"))
    assert list(ClassHistoryMonthKept.objects.values_list("month", flat=True)) == [month_end(year_ago)]
    next_day = year_ago.replace(day=1 if year_ago.day != 1 else 2)  # another day of the same month
    assert _read(SYSTEM, "/", next_day) == _truth(SYSTEM, "/", next_day)
    assert sorted(ClassHistoryMonth.objects.values_list(*KEY, "month", "built_after")) == rows  # not rewritten
    # The window moves on: keeping a newer month drops the months that fell out of it.
    monkeypatch.setattr(history_months, "MONTHS_KEPT", 3)
    last_month = month_end(today.replace(day=1) - dt.timedelta(days=1))
    assert _read(SYSTEM, "/", last_month) == _truth(SYSTEM, "/", last_month)
    assert list(ClassHistoryMonthKept.objects.values_list("month", flat=True)) == [last_month]
    assert set(ClassHistoryMonth.objects.values_list("month", flat=True)) <= {last_month}
    # Older than the window: read from the history itself, nothing kept.
    assert _read(SYSTEM, "/", year_ago) == _truth(SYSTEM, "/", year_ago)
    assert list(ClassHistoryMonthKept.objects.values_list("month", flat=True)) == [last_month]


@pytest.mark.django_db
def test_out_of_scope_rows_are_never_read(world: World) -> None:
    today = timezone.localdate()
    services.set_class_status(world.class_b, S.BUILT, actor=world.bob, on=today - dt.timedelta(days=200))
    services.set_class_status(world.class_a, S.BUILT, actor=world.alice, on=today - dt.timedelta(days=200))
    as_of = today - dt.timedelta(days=300)
    assert {k[-1] for k in _read(world.alice, world.city.path, as_of)} == {world.school_a.pk}
    assert {k[-1] for k in _read(world.bob, world.city.path, as_of)} == {world.school_b.pk}
    assert {k[-1] for k in _read(world.principal_a, world.city.path, as_of)} == {world.school_a.pk}
    assert _read(world.bob, world.county_a.path, as_of) == Counter()
