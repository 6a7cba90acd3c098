"""Reads for the repair desk, always from the user's scope: lists and the procurement figures."""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, FloatField, Func, Q, QuerySet, Sum
from django.utils import timezone

from banbantong.core.scope import path_ids, scope_of
from banbantong.devices import rules
from banbantong.devices.models import OPEN_STATES, Company, Device, Ticket
from banbantong.org.models import Region, School


def open_counts(user: Any) -> dict[str, int]:
    now = timezone.now()
    agg = Ticket.objects.for_user(user).open().aggregate(open=Count("id"), overdue=Count("id", filter=Q(fix_due__lt=now)))
    return {"open": agg["open"], "overdue": agg["overdue"]}


def my_tickets(user: Any) -> QuerySet[Ticket]:
    """A device admin's tickets: their school's open ones; an integrator's: those escalated to it."""
    qs = Ticket.objects.for_user(user).open().select_related("device", "school", "device__classroom", "assignee")
    if user.role in {"device_admin", "school_admin"} or user.role == "integrator":
        return qs.order_by("fix_due", "id")
    return qs.filter(Q(assignee=user) | Q(assignee__isnull=True)).order_by("fix_due", "id")


@dataclass(frozen=True)
class IntactRow:
    name: str
    in_service: int
    faulty: int

    @property
    def rate(self) -> Decimal | None:
        """None with no device in service: nothing to be intact is not "100 %"."""
        return rules.intactness(self.in_service, self.faulty) if self.in_service else None


def _intactness_per_school(user: Any) -> dict[int, tuple[int, int]]:
    """school id -> (devices in service, of them with an open ticket), in two grouped counts."""
    devices = Device.objects.for_user(user).exclude(status=Device.Status.SCRAPPED).order_by()
    counts = dict(devices.values_list("school_id").annotate(n=Count("id")).values_list("school_id", "n"))
    faulty = dict(devices.filter(tickets__state__in=OPEN_STATES).values_list("school_id")
                  .annotate(n=Count("id", distinct=True)).values_list("school_id", "n"))
    return {school: (n, faulty.get(school, 0)) for school, n in counts.items()}


@dataclass(frozen=True)
class Intactness:
    schools: list[IntactRow]  # by place, then name
    regions: list[IntactRow]  # one level below the user's own region
    total: IntactRow


def intactness(user: Any) -> Intactness:
    """完好率 per school, per region one level below the user's own (a province's cities, a
    county's towns; none for users placed on schools) and in total: devices not scrapped, and
    those with an open ticket. One count of a province's 600,000 devices serves all three."""
    per_school = _intactness_per_school(user)
    schools: list[IntactRow] = []
    paths: dict[int, str] = {}
    for sid, name, path in School.objects.for_user(user).order_by("region_path", "name").values_list(
        "id", "name", "region_path"
    ):
        if sid in per_school:
            schools.append(IntactRow(name, *per_school[sid]))
            paths[sid] = path
    return Intactness(
        schools=schools,
        regions=_intactness_by_region(user, per_school, paths),
        total=IntactRow("合计", sum(n for n, _ in per_school.values()), sum(f for _, f in per_school.values())),
    )


def _intactness_by_region(user: Any, per_school: dict[int, tuple[int, int]], paths: dict[int, str]) -> list[IntactRow]:
    scope = scope_of(user)
    if scope.everything:
        roots = Region.objects.filter(parent__isnull=True)
    elif scope.region_paths:
        roots = Region.objects.filter(path__in=scope.region_paths)
    else:
        return []
    children = {r.pk: r.name for r in Region.objects.filter(parent__in=roots).order_by("path")}
    totals = {pk: [0, 0] for pk in children}
    for sid, path in paths.items():
        if (child := next((r for r in path_ids(path) if r in children), None)) is not None:
            totals[child][0] += per_school[sid][0]
            totals[child][1] += per_school[sid][1]
    return [IntactRow(children[pk], n, faulty) for pk, (n, faulty) in totals.items() if n]


def least_intact(rows: list[IntactRow], limit: int) -> list[IntactRow]:
    """The `limit` schools with the lowest 完好率 (most faulty devices first among equals), in the
    order given: what a page shows of a province's 15,000 schools."""
    if len(rows) <= limit:
        return rows
    worst = set(map(id, heapq.nsmallest(limit, rows, key=lambda r: ((r.in_service - r.faulty) / r.in_service, -r.faulty))))
    return [r for r in rows if id(r) in worst]


@dataclass(frozen=True)
class LeagueRow:
    company: str
    tickets: int
    resolved: int
    within: int
    mean_hours: Decimal | None  # None until a ticket is resolved: no time to average

    @property
    def within_percent(self) -> Decimal | None:
        """None until a ticket is resolved: nothing fixed is not "100 % in time"."""
        return rules.rate(self.within, self.resolved) if self.resolved else None


def _period(qs: QuerySet[Ticket], start: dt.date | None, end: dt.date | None) -> QuerySet[Ticket]:
    """Tickets reported on local dates start..end (inclusive).

    A range on created_at itself, not created_at__date: the index on created_at serves it, where
    the date of every row would have to be computed first (a Python function per row on SQLite).
    """
    if start:
        qs = qs.filter(created_at__gte=_midnight(start))
    if end:
        qs = qs.filter(created_at__lt=_midnight(end + dt.timedelta(days=1)))
    return qs


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class Seconds(Func):
    """end - start in seconds, computed by the database (no per-row Python on SQLite)."""

    output_field = FloatField()

    def __init__(self, end: str, start: str) -> None:
        super().__init__(F(end), F(start))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - ",
                           **extra)


def _repair_figures(qs: QuerySet[Ticket]) -> dict[str, Any]:
    """Count, resolved, resolved inside the deadline and summed repair seconds, in the database."""
    resolved = Q(resolved_at__isnull=False)
    return {
        "n": Count("id"),
        "resolved": Count("id", filter=resolved),
        "within": Count("id", filter=resolved & Q(resolved_at__lte=F("fix_due"))),
        "seconds": Sum(Seconds("resolved_at", "created_at"), filter=resolved),
    }


def integrator_league(user: Any, start: dt.date | None = None, end: dt.date | None = None) -> list[LeagueRow]:
    """Share of escalated tickets fixed inside the deadline, per integrator, best first.

    One GROUP BY in the database (counts and summed repair time per company), then the rules'
    rounding: a province's year of tickets never travels to Python row by row.
    """
    qs = _period(Ticket.objects.for_user(user).filter(escalated_to__isnull=False), start, end)
    grouped: list[dict[str, Any]] = [
        dict(g) for g in qs.order_by().values("escalated_to").annotate(**_repair_figures(qs))  # type: ignore[misc]
    ]
    names = dict(Company.objects.filter(pk__in=[g["escalated_to"] for g in grouped]).values_list("id", "name"))
    rows = [
        LeagueRow(names.get(g["escalated_to"], "?"), g["n"], g["resolved"], g["within"],
                  rules.mean_hours(g["seconds"] or 0.0, g["resolved"]))
        for g in grouped
    ]
    # Companies that have fixed nothing yet rank last, not first on an empty 100 %.
    return sorted(rows, key=lambda r: (r.within_percent is None, -(r.within_percent or 0), r.mean_hours or 0, r.company))


@dataclass(frozen=True)
class ModelRow:
    brand: str
    model: str
    devices: int
    failures: int

    @property
    def per_hundred(self) -> Decimal:
        return (Decimal(self.failures) * 100 / Decimal(self.devices)).quantize(Decimal("0.1")) if self.devices else Decimal(0)


def failures_by_model(user: Any, start: dt.date | None = None, end: dt.date | None = None) -> list[ModelRow]:
    """Failures per 100 devices of each brand and model over the period — for the next purchase."""
    devices = dict(
        ((r["brand"], r["model"]), r["n"])
        for r in Device.objects.for_user(user).values("brand", "model").annotate(n=Count("id"))
    )
    tickets = _period(Ticket.objects.for_user(user), start, end)
    failures = {
        (r["device__brand"], r["device__model"]): r["n"]
        for r in tickets.values("device__brand", "device__model").annotate(n=Count("id"))
    }
    rows = [ModelRow(b, m, n, failures.get((b, m), 0)) for (b, m), n in devices.items()]
    return sorted(rows, key=lambda r: (-r.per_hundred, r.brand, r.model))


def repair_summary(user: Any, start: dt.date | None = None, end: dt.date | None = None) -> rules.RepairTimes:
    qs = _period(Ticket.objects.for_user(user).filter(resolved_at__isnull=False), start, end)
    agg = qs.aggregate(**_repair_figures(qs))
    return rules.RepairTimes(agg["resolved"], rules.mean_hours(agg["seconds"] or 0.0, agg["resolved"]), agg["within"])


def overdue_q(now: dt.datetime | None = None) -> Q:
    # Open states named, so (state, fix_due) serves it: IN plus a range, not "not closed".
    return Q(state__in=OPEN_STATES, fix_due__lt=now or timezone.now())


