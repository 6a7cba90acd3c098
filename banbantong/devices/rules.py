"""Repair-desk rules (pure): deadlines, the ticket state machine, and the figures.

Named here, tested in devices/tests/test_rules.py without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Default deadlines in hours (respond, fix) by priority; a region may set its own (devices.Sla).
DEFAULT_SLA_HOURS: dict[str, tuple[int, int]] = {
    "urgent": (2, 24),
    "high": (4, 48),
    "normal": (24, 72),
    "low": (48, 168),
}
# A fault that stops the class from using the terminal at all is urgent by default.
URGENT_FAULTS = frozenset({"no_picture", "power"})

# open → assigned → in_progress → resolved → closed; resolved or closed may be reopened.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"assigned", "in_progress", "resolved", "closed"}),
    "assigned": frozenset({"assigned", "in_progress", "resolved", "closed"}),
    "in_progress": frozenset({"assigned", "resolved", "closed"}),
    "resolved": frozenset({"closed", "open"}),
    "closed": frozenset({"open"}),
}
STATE_LABELS = {"open": "待受理", "assigned": "已指派", "in_progress": "维修中", "resolved": "已修复", "closed": "已关闭"}


class TransitionError(ValueError):
    pass


def check_transition(old: str, new: str, *, reason: str = "") -> None:
    if new not in TRANSITIONS.get(old, frozenset()):
        raise TransitionError(f"报修单不能从“{STATE_LABELS.get(old, old)}”改为“{STATE_LABELS.get(new, new)}”。")
    if new == "open" and old in {"resolved", "closed"} and not reason.strip():
        raise TransitionError("重新打开报修单必须填写原因。")


def default_priority(fault: str) -> str:
    return "urgent" if fault in URGENT_FAULTS else "normal"


def deadlines(created: dt.datetime, priority: str, sla: dict[str, tuple[int, int]] | None = None) -> tuple[dt.datetime, dt.datetime]:
    respond, fix = (sla or DEFAULT_SLA_HOURS).get(priority, DEFAULT_SLA_HOURS["normal"])
    return created + dt.timedelta(hours=respond), created + dt.timedelta(hours=fix)


def is_overdue(state: str, fix_due: dt.datetime, now: dt.datetime) -> bool:
    return state not in {"resolved", "closed"} and now > fix_due


def rate(part: int, whole: int) -> Decimal:
    """A percentage with one decimal; 0 of 0 is 100% (nothing to fail)."""
    if whole <= 0:
        return Decimal("100.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def intactness(devices_in_service: int, devices_faulty: int) -> Decimal:
    """完好率: devices in service without an open fault ÷ devices in service (scrapped excluded)."""
    return rate(devices_in_service - devices_faulty, devices_in_service)


@dataclass(frozen=True)
class RepairTimes:
    count: int
    mean_hours: Decimal | None  # None with nothing repaired: no time to average
    within_deadline: int

    @property
    def within_percent(self) -> Decimal | None:
        """None with nothing repaired: nothing fixed is not "100 % in time"."""
        return rate(self.within_deadline, self.count) if self.count else None


def repair_times(tickets: Iterable[tuple[dt.datetime, dt.datetime, dt.datetime]]) -> RepairTimes:
    """From (created, resolved, fix_due) of resolved tickets: mean time to repair and share in time."""
    total = dt.timedelta()
    n = within = 0
    for created, resolved, due in tickets:
        n += 1
        total += resolved - created
        within += resolved <= due
    return RepairTimes(n, mean_hours(total.total_seconds(), n), within)


def mean_hours(total_seconds: float, n: int) -> Decimal | None:
    """Mean time to repair in hours, one decimal, from the summed repair time of n tickets; None
    for no tickets (no time to average, not 0 hours)."""
    return Decimal(total_seconds / 3600 / n).quantize(Decimal("0.1")) if n else None


# A deadline past a term is a typing slip (720 for 72), not a policy.
MAX_SLA_HOURS = 24 * 90


def sla_problems(respond: object, fix: object) -> list[str]:
    """What is wrong with a priority's deadlines (whole hours, fix ≥ respond), in Chinese."""
    problems = []
    for label, hours in (("响应时限", respond), ("修复时限", fix)):
        if not isinstance(hours, int) or isinstance(hours, bool) or hours < 1:
            problems.append(f"{label}须为正整数小时（如 4、24、72）。")
        elif hours > MAX_SLA_HOURS:
            problems.append(f"{label}不能超过 {MAX_SLA_HOURS} 小时（90 天）。")
    if not problems and isinstance(fix, int) and isinstance(respond, int) and fix < respond:
        problems.append(f"修复时限（{fix} 小时）不能短于响应时限（{respond} 小时）。")
    return problems
