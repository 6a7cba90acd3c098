"""Repair-desk rules without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from banbantong.devices import rules

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_urgent_faults_and_deadlines() -> None:
    assert rules.default_priority("no_picture") == "urgent"
    assert rules.default_priority("no_sound") == "normal"
    respond, fix = rules.deadlines(T0, "urgent")
    assert (respond - T0, fix - T0) == (dt.timedelta(hours=2), dt.timedelta(hours=24))
    assert rules.deadlines(T0, "low", {"low": (1, 2)})[1] - T0 == dt.timedelta(hours=2)


@pytest.mark.parametrize(("old", "new"), [("open", "assigned"), ("assigned", "in_progress"), ("in_progress", "resolved"),
                                          ("resolved", "closed")])
def test_forward_transitions(old: str, new: str) -> None:
    rules.check_transition(old, new)


def test_bad_transitions_and_reopen_reason() -> None:
    with pytest.raises(rules.TransitionError, match="不能从"):
        rules.check_transition("closed", "resolved")
    with pytest.raises(rules.TransitionError, match="原因"):
        rules.check_transition("closed", "open")
    rules.check_transition("closed", "open", reason="投影又不亮了")


def test_overdue_and_rates() -> None:
    assert rules.is_overdue("open", T0, T0 + dt.timedelta(minutes=1))
    assert not rules.is_overdue("resolved", T0, T0 + dt.timedelta(days=1))
    assert rules.intactness(200, 3) == Decimal("98.5")
    assert rules.intactness(0, 0) == Decimal("100.0")


def test_repair_times() -> None:
    times = rules.repair_times([
        (T0, T0 + dt.timedelta(hours=10), T0 + dt.timedelta(hours=24)),
        (T0, T0 + dt.timedelta(hours=30), T0 + dt.timedelta(hours=24)),
    ])
    assert (times.count, times.mean_hours, times.within_deadline, times.within_percent) == (2, Decimal("20.0"), 1, Decimal("50.0"))
