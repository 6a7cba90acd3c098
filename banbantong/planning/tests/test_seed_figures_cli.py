"""The seeds' figures through the command line, the same path a bureau uses (issue: acceptance).

Xinyu (新余) city-direct schools: 18 schools, 880 classes, 233 built; Jishui (吉水): 1,469 classes,
283 built, targets 40/60/80/100%.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from banbantong.org import services as org_services
from banbantong.org.models import ClassStatusChange, Region, School, TeachingClass


def _build(region_name: str, level: str, parent: Region | None, n_schools: int, n_classes: int, n_built: int,
           kind: str, built_on: dt.date) -> Region:
    region, _ = org_services.ensure_region(region_name, level=level, parent=parent, actor=None)
    schools = [
        School.objects.create(region=region, name=f"{region_name}第{i + 1}校", kind=kind,
                              is_rural=org_services.school_is_rural(kind))
        for i in range(n_schools)
    ]
    classes = []
    for i in range(n_classes):
        school = schools[i % n_schools]
        built = i < n_built
        classes.append(TeachingClass(
            school=school, grade=1 + (i // n_schools) % 6, name=f"{i}班", pupils=45,
            status=TeachingClass.Status.BUILT if built else TeachingClass.Status.NOT_BUILT,
            built_year=built_on.year if built else None,
        ))
    TeachingClass.objects.bulk_create(classes)
    ClassStatusChange.objects.bulk_create(
        ClassStatusChange(klass=c, old_status="not_built", new_status="built", changed_on=built_on)
        for c in TeachingClass.objects.filter(school__region=region, status="built")
    )
    # Loading in bulk bypasses the write services, which keep the roll-ups current.
    org_services.refresh_school_counts(s.pk for s in schools)
    return region


def _json(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def xinyu(db: object) -> Region:
    city, _ = org_services.ensure_region("新余市", level=Region.Level.CITY, parent=None, actor=None)
    return _build("市直", Region.Level.COUNTY, city, 18, 880, 233, School.Kind.CITY_DIRECT, dt.date(2022, 12, 20))


@pytest.fixture
def jishui(db: object) -> Region:
    return _build("吉水县", Region.Level.COUNTY, None, 113, 1469, 283, School.Kind.CENTRAL_PRIMARY, dt.date(2022, 9, 1))


def test_xinyu_coverage(xinyu: Region) -> None:
    data = _json("report", "coverage", "--region", "新余市/市直")
    assert (data["classes"], data["built"], data["coverage_percent"]) == (880, 233, 26.5)


def test_xinyu_budget_and_payments(xinyu: Region) -> None:
    data = _json("plan", "budget", "--region", "市直", "--unit-cost", "14000", "--install-year", "2024")
    assert data["total"] == 12_320_000
    assert data["remaining"] == 9_058_000
    assert data["remaining_classes"] == 647
    payments = {row["year"]: row["payments"] for row in data["cash_flow"]}
    assert payments == {2024: 3_623_200, 2025: 2_717_400, 2026: 2_717_400}


def test_jishui_rollout(jishui: Region) -> None:
    data = _json("report", "coverage", "--region", "吉水县")
    assert data["coverage_percent"] == 19.3
    plan = _json("plan", "rollout", "--region", "吉水县", "--targets", "40,60,80,100", "--start-year", "2024")
    assert [y["target_classes"] for y in plan["years"]] == [588, 882, 1176, 1469]
    assert [y["equipped"] for y in plan["years"]] == [305, 294, 294, 293]
    assert plan["shortfalls"] == []


def test_jishui_rollout_under_a_budget_cap_says_which_year_falls_short(jishui: Region) -> None:
    plan = _json("plan", "rollout", "--region", "吉水县", "--targets", "40,60", "--start-year", "2024",
                 "--unit-cost", "14000", "--budget-per-year", "3000000")
    assert plan["years"][0]["equipped"] == 214  # 3,000,000 // 14,000
    assert plan["shortfalls"][0] == {"year": 2024, "classes": 305 - 214}


def test_coverage_as_of_a_past_date(jishui: Region) -> None:
    assert _json("report", "coverage", "--region", "吉水县", "--as-of", "2022-08-31")["built"] == 0
    assert _json("report", "coverage", "--region", "吉水县", "--as-of", "2022-09-01")["built"] == 283


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--targets", "40,30", "--start-year", "2024"], "逐年上升"),
        (["--targets", "40,120", "--start-year", "2024"], "0–100%"),
        (["--targets", "abc", "--start-year", "2024"], "不是数字"),
        (["--targets", "40", "--start-year", "2019"], "早于"),
        (["--targets", "40", "--start-year", "2024", "--unit-cost", "-5"], "负数"),
    ],
)
def test_bad_input_is_a_chinese_error_and_changes_nothing(jishui: Region, args: list[str], message: str) -> None:
    from banbantong.planning.models import Scenario

    with pytest.raises(CommandError, match=message):
        call_command("plan", "rollout", "--region", "吉水县", *args, "--save", "x", stdout=io.StringIO())
    assert not Scenario.objects.exists()


def test_region_without_classes(db: object) -> None:
    org_services.ensure_region("空县", level=Region.Level.COUNTY, parent=None, actor=None)
    with pytest.raises(CommandError, match="没有教学班"):
        call_command("plan", "rollout", "--region", "空县", "--targets", "50", "--start-year", "2026",
                     stdout=io.StringIO())
