"""The rollout planner (pure: plain data in, plain data out, no ORM).

Which classes to equip in each year so that the end-of-year totals meet the targets, within an
optional yearly budget cap. Equity first (the programme exists for 均衡): rural schools before
urban ones, then the schools with the lowest coverage, smaller kinds of school first. Whole
schools go together — installers work school by school — and a school split by the year's
limit is finished first the next year. If the money cannot meet a target, the year says how many
classes it falls short by, and the shortfall is carried into the next year's need.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from banbantong.planning.rules import classes_needed, coverage_percent

# Smaller, poorer kinds of school come first among equals.
KIND_PRIORITY = {
    "teaching_point": 0, "village_primary": 1, "central_primary": 2, "rural_junior": 3, "nine_year": 4,
    "urban_primary": 5, "urban_junior": 6, "urban_senior": 7, "city_direct": 8,
}


@dataclass(frozen=True)
class SchoolInfo:
    id: int
    name: str
    kind: str
    is_rural: bool
    classes: int
    built: int


@dataclass(frozen=True)
class Candidate:
    class_id: int
    school_id: int
    grade: int
    mode_code: str
    cost: Decimal | None = None  # the class's own price (its region's catalogue); None: unit_costs


@dataclass
class YearPlan:
    year: int
    target_percent: Decimal
    target_classes: int
    need: int
    equipped: int = 0
    cost: Decimal = Decimal(0)
    shortfall: int = 0
    built_at_end: int = 0
    total_classes: int = 0
    schools: int = 0

    @property
    def coverage_at_end(self) -> Decimal:
        return coverage_percent(self.built_at_end, self.total_classes)

    def as_dict(self) -> dict[str, object]:
        return {
            "year": self.year, "target_percent": float(self.target_percent), "target_classes": self.target_classes,
            "need": self.need, "equipped": self.equipped, "cost": float(self.cost), "shortfall": self.shortfall,
            "built_at_end": self.built_at_end, "coverage_at_end": float(self.coverage_at_end),
            "schools": self.schools,
        }


@dataclass(frozen=True)
class Assignment:
    class_id: int
    school_id: int
    year: int
    mode_code: str
    cost: Decimal


@dataclass
class PlanResult:
    total_classes: int
    built_now: int
    years: list[YearPlan]
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def total_cost(self) -> Decimal:
        return sum((y.cost for y in self.years), Decimal(0))

    @property
    def shortfalls(self) -> list[YearPlan]:
        return [y for y in self.years if y.shortfall]

    def as_dict(self) -> dict[str, object]:
        return {
            "total_classes": self.total_classes, "built_now": self.built_now,
            "coverage_now": float(coverage_percent(self.built_now, self.total_classes)),
            "total_cost": float(self.total_cost),
            "years": [y.as_dict() for y in self.years],
            "shortfalls": [{"year": y.year, "classes": y.shortfall} for y in self.shortfalls],
        }


def school_priority(school: SchoolInfo) -> tuple[int, Decimal, int, int]:
    return (
        0 if school.is_rural else 1,
        coverage_percent(school.built, school.classes),
        KIND_PRIORITY.get(school.kind, 9),
        school.id,
    )


def plan_rollout(
    *,
    schools: Iterable[SchoolInfo],
    candidates: Iterable[Candidate],
    built_now: int,
    total_classes: int,
    targets: Sequence[Decimal],
    start_year: int,
    unit_costs: Mapping[str, Decimal],
    budget_per_year: Decimal | None = None,
) -> PlanResult:
    by_school: dict[int, list[Candidate]] = {}
    for c in candidates:
        by_school.setdefault(c.school_id, []).append(c)
    for classes in by_school.values():
        classes.sort(key=lambda c: (c.grade, c.class_id))
    order = deque(
        deque(by_school[s.id]) for s in sorted(schools, key=school_priority) if s.id in by_school
    )
    result = PlanResult(total_classes=total_classes, built_now=built_now, years=[])
    reached = built_now
    for offset, target in enumerate(targets):
        year = start_year + offset
        goal = classes_needed(target, total_classes)
        plan = YearPlan(
            year=year, target_percent=target, target_classes=goal, need=max(0, goal - reached),
            total_classes=total_classes,
        )
        touched: set[int] = set()
        while plan.equipped < plan.need and order:
            queue = order[0]
            nxt = queue[0]
            cost = nxt.cost if nxt.cost is not None else unit_costs.get(nxt.mode_code, Decimal(0))
            if budget_per_year is not None and plan.cost + cost > budget_per_year:
                break
            queue.popleft()
            if not queue:
                order.popleft()
            plan.equipped += 1
            plan.cost += cost
            touched.add(nxt.school_id)
            result.assignments.append(Assignment(nxt.class_id, nxt.school_id, year, nxt.mode_code, cost))
        reached += plan.equipped
        plan.built_at_end = reached
        plan.shortfall = plan.need - plan.equipped
        plan.schools = len(touched)
        result.years.append(plan)
    return result
