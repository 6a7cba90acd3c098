"""Month-end roll-ups of the status history (org.history_months) equal the history they sum.

The reference sums the history rows after a date directly; the month rows must give the same
for every date — month ends, the days around them, before the first change, this month — after
every kind of write, including a backdated one that moves the epoch back.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from banbantong.conftest import World
from banbantong.core.scope import SYSTEM
from banbantong.org import history_months, services
from banbantong.org.history_months import (
    KEY,
    built_after,
    built_after_rows,
    month_end,
    month_ends,
    oldest_kept,
    previous_month_end,
)
from banbantong.org.models import (
    ClassHistoryEpoch,
    ClassHistoryMonth,
    ClassStatusChange,
    School,
    TeachingClass,
)
from banbantong.planning.services import bulk_set_status

S = TeachingClass.Status
d = dt.date


def test_month_helpers() -> None:
    assert month_end(d(2024, 2, 3)) == d(2024, 2, 29)
    assert previous_month_end(d(2024, 3, 1)) == d(2024, 2, 29)
    assert previous_month_end(d(2025, 1, 31)) == d(2024, 12, 31)
    assert month_ends(d(2024, 11, 15), d(2025, 2, 28)) == [d(2024, 11, 30), d(2024, 12, 31), d(2025, 1, 31),
                                                           d(2025, 2, 28)]
    assert month_ends(d(2025, 3, 1), d(2025, 2, 28)) == []


def test_built_after_rows_by_hand() -> None:
    # Built 2024-02-10, taken down 2024-04-30 (a month end: counts in April), built again 2024-06-01.
    steps = [(d(2024, 2, 10), 1), (d(2024, 4, 30), -1), (d(2024, 6, 1), 1)]
    # February and March: +1 -1 after them, net zero, left out; April 30 does not count after itself.
    assert built_after_rows(steps, d(2024, 1, 31)) == [(d(2024, 1, 31), 1), (d(2024, 4, 30), 1), (d(2024, 5, 31), 1)]
    assert built_after_rows([], d(2024, 1, 31)) == []


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


def _stored_equal_rule() -> None:
    """Every stored row equals the rule applied to its school and mode's history, and no row is missing."""
    lowest = max(ClassHistoryEpoch.objects.get(pk=1).month, oldest_kept(timezone.localdate()))
    steps: dict[tuple[Any, ...], list[tuple[dt.date, int]]] = defaultdict(list)
    for *key, on, delta in ClassStatusChange.objects.exclude(built_delta=0).values_list(*KEY, "changed_on", "built_delta"):
        steps[tuple(key)].append((on, delta))
    expected = {(*key, m): n for key, s in steps.items() for m, n in built_after_rows(s, lowest)}
    stored: Counter[tuple[Any, ...]] = Counter()
    for *key, m, n in ClassHistoryMonth.objects.values_list(*KEY, "month", "built_after"):
        stored[(*key, m)] += n
    assert {k: v for k, v in stored.items() if v} == expected


def _dates(today: dt.date) -> list[dt.date]:
    first = ClassStatusChange.objects.order_by("changed_on").values_list("changed_on", flat=True).first()
    assert first is not None
    out = {first - dt.timedelta(days=400), first - dt.timedelta(days=1), first, today, today - dt.timedelta(days=1)}
    for m in month_ends(first - dt.timedelta(days=40), today):
        out |= {m, m - dt.timedelta(days=1), m + dt.timedelta(days=1)}
    return sorted(out)


def _check_all(world: World) -> None:
    _stored_equal_rule()
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


def test_oldest_kept_is_months_kept_before_this_month() -> None:
    assert oldest_kept(d(2026, 12, 2)) == d(2021, 12, 31)
    assert oldest_kept(d(2026, 1, 31)) == d(2021, 1, 31)


# 60: every date of the test has rows; 6: most dates are older than the rows kept and read the
# history itself, and the epoch moves below the rows kept.
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
    # Forward and backward moves on random past dates, one class at a time.
    for _ in range(40):
        klass = rng.choice(classes)
        klass.refresh_from_db()
        status = rng.choice([s for s in S.values if s != klass.status])
        on = today - dt.timedelta(days=rng.randint(0, 700))
        services.set_class_status(klass, status, actor=world.city_admin, on=on, reason="测试")
    assert ClassHistoryEpoch.objects.filter(pk=1).exists()
    # Both directions are exercised: classes that left 已建 after some month end, and ones that entered.
    assert ClassHistoryMonth.objects.filter(built_after__lt=0).exists()
    assert ClassHistoryMonth.objects.filter(built_after__gt=0).exists()
    _check_all(world)
    # A backdated change older than all the history moves the epoch back: the other schools' rows
    # for the months gained are written too.
    epoch_before = ClassHistoryEpoch.objects.get(pk=1).month
    services.set_class_status(world.class_b, S.BUILT if world.class_b.status != S.BUILT else S.BUILDING,
                              actor=world.city_admin, on=epoch_before - dt.timedelta(days=100), reason="补录")
    assert ClassHistoryEpoch.objects.get(pk=1).month < epoch_before
    _check_all(world)
    # A bulk change today, a mode change (the history moves to the mode) and a recount.
    bulk_set_status(TeachingClass.objects.filter(school=world.school_a2), S.ACCEPTED, actor=world.city_admin,
                    on=today - dt.timedelta(days=45))
    from banbantong.planning.suggestions import confirm_suggested_modes

    confirm_suggested_modes(TeachingClass.objects.filter(school=world.school_a2), actor=world.city_admin)
    _check_all(world)
    ClassHistoryMonth.objects.all().delete()
    services.refresh_school_counts(School.objects.values_list("id", flat=True))
    _check_all(world)


@pytest.mark.django_db
def test_no_history_no_rows(world: World) -> None:
    assert not ClassHistoryEpoch.objects.exists()
    assert built_after(SYSTEM, "/", d(2020, 1, 1)) == []
    services.set_class_status(world.class_a, S.BUILT, actor=world.alice)
    # The first change ever sets the epoch at the month end before it: one row there.
    epoch = previous_month_end(timezone.localdate())
    assert ClassHistoryEpoch.objects.get(pk=1).month == epoch
    assert list(ClassHistoryMonth.objects.values_list("month", "built_after")) == [(epoch, 1)]
    assert _read(SYSTEM, "/", timezone.localdate() - dt.timedelta(days=1)) == _truth(
        SYSTEM, "/", timezone.localdate() - dt.timedelta(days=1))


@pytest.mark.django_db
def test_migration_fill_equals_the_refresh(world: World) -> None:
    today = timezone.localdate()
    for i, klass in enumerate(TeachingClass.objects.order_by("id")):
        services.set_class_status(klass, S.BUILT if klass.status != S.BUILT else S.BUILDING, actor=world.city_admin,
                                  on=today - dt.timedelta(days=90 * (i + 1)), reason="补录")
    refreshed = sorted(ClassHistoryMonth.objects.values_list(*KEY, "month", "built_after"))
    epoch = ClassHistoryEpoch.objects.get(pk=1).month
    assert refreshed
    ClassHistoryMonth.objects.all().delete()
    ClassHistoryEpoch.objects.all().delete()
    migration = __import__("banbantong.org.migrations.0013_history_months", fromlist=["fill"])
    migration.fill(apps, connection.schema_editor())
    assert ClassHistoryEpoch.objects.get(pk=1).month == epoch
    assert sorted(ClassHistoryMonth.objects.values_list(*KEY, "month", "built_after")) == refreshed
