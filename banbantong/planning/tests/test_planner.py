"""The planner on plain data: Jishui's yearly counts, equity order, whole schools, budget caps."""

from __future__ import annotations

from decimal import Decimal

from banbantong.planning.planner import Candidate, SchoolInfo, plan_rollout
from banbantong.planning.rules import parse_targets


def _county(n_schools: int, per_school: int, built_per_school: int, rural: bool = True) -> tuple[list, list]:
    schools, candidates = [], []
    cid = 0
    for s in range(n_schools):
        schools.append(SchoolInfo(s, f"学校{s}", "village_primary" if rural else "urban_primary", rural, per_school, built_per_school))
        for g in range(per_school - built_per_school):
            cid += 1
            candidates.append(Candidate(cid, s, 1 + g % 6, "tv_dvd" if rural else "projector_pc"))
    return schools, candidates


def test_jishui_yearly_counts() -> None:
    # 1,469 classes of which 283 built, as in the seed; spread over schools of 13 classes.
    schools, candidates = [], []
    total, built, cid = 0, 0, 0
    for s in range(113):
        size = 13
        b = 3 if s < 95 else 0
        b = b if built + b <= 283 else 283 - built
        schools.append(SchoolInfo(s, f"校{s}", "central_primary", True, size, b))
        for g in range(size - b):
            cid += 1
            candidates.append(Candidate(cid, s, g % 6 + 1, "projector_pc"))
        total += size
        built += b
    assert total == 1469 and built == 283
    result = plan_rollout(
        schools=schools, candidates=candidates, built_now=built, total_classes=total,
        targets=parse_targets("40,60,80,100"), start_year=2024, unit_costs={"projector_pc": Decimal(14000)},
    )
    assert [y.equipped for y in result.years] == [305, 294, 294, 293]
    assert [y.built_at_end for y in result.years] == [588, 882, 1176, 1469]
    assert not result.shortfalls
    assert result.total_cost == Decimal(14000) * (1469 - 283)


def test_rural_and_low_coverage_first_whole_schools_together() -> None:
    urban, urban_c = _county(2, 10, 0, rural=False)
    rural = [SchoolInfo(10, "村小甲", "village_primary", True, 6, 3), SchoolInfo(11, "教学点乙", "teaching_point", True, 4, 0)]
    rural_c = [Candidate(100 + i, 10, i + 1, "tv_dvd") for i in range(3)] + [
        Candidate(200 + i, 11, i + 1, "tv_dvd") for i in range(4)
    ]
    result = plan_rollout(
        schools=urban + rural, candidates=urban_c + rural_c, built_now=3, total_classes=30,
        targets=[Decimal(40)], start_year=2025, unit_costs={"tv_dvd": Decimal(5000), "projector_pc": Decimal(14000)},
    )
    order = [a.school_id for a in result.assignments]
    # 教学点乙 has 0% coverage, 村小甲 50%: both rural, before any urban school; each school whole.
    assert order[:7] == [11, 11, 11, 11, 10, 10, 10]
    assert result.years[0].equipped == 12 - 3


def test_budget_cap_reports_the_shortfall_and_carries_it() -> None:
    schools, candidates = _county(10, 10, 0)
    result = plan_rollout(
        schools=schools, candidates=candidates, built_now=0, total_classes=100,
        targets=parse_targets("50,100"), start_year=2025,
        unit_costs={"tv_dvd": Decimal(5000)}, budget_per_year=Decimal(200_000),
    )
    first, second = result.years
    assert (first.need, first.equipped, first.shortfall) == (50, 40, 10)
    assert (second.need, second.equipped, second.shortfall) == (60, 40, 20)
    assert first.cost <= Decimal(200_000)
    assert [s.year for s in result.shortfalls] == [2025, 2026]


def test_target_already_met_equips_nothing() -> None:
    schools, candidates = _county(2, 10, 5)
    result = plan_rollout(
        schools=schools, candidates=candidates, built_now=10, total_classes=20,
        targets=[Decimal(40), Decimal(100)], start_year=2025, unit_costs={"tv_dvd": Decimal(1)},
    )
    assert [y.equipped for y in result.years] == [0, 10]
