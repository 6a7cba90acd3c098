"""Coverage from the roll-ups equals coverage counted class by class, today and as of any date.

The reference below replays each class's dated history on its own (no roll-up, no copied field),
so a roll-up that a write forgot to keep current shows up as a difference.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from banbantong.conftest import World
from banbantong.org import services as org_services
from banbantong.org.models import ClassRollup, ClassStatusChange, Region, School, TeachingClass
from banbantong.org.survey.service import import_survey
from banbantong.org.tests.test_survey_import import make_survey
from banbantong.planning.coverage import coverage
from banbantong.planning.services import bulk_set_status
from banbantong.planning.suggestions import confirm_suggested_modes

BUILT = set(TeachingClass.BUILT_STATUSES)


def _status_on(klass: TeachingClass, day: dt.date | None) -> str:
    if day is None:
        return klass.status
    changes = sorted(klass.status_changes.all(), key=lambda c: (c.changed_on, c.id))
    before = [c for c in changes if c.changed_on <= day]
    if before:
        return before[-1].new_status
    return changes[0].old_status if changes else klass.status


def _reference(region: Region, day: dt.date | None) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(classes by region path prefix, built by prefix, built by mode name) counted per class."""
    classes, built, by_mode = Counter[str](), Counter[str](), Counter[str]()
    for k in TeachingClass.objects.filter(school__region_path__startswith=region.path).select_related("school", "mode"):
        path = k.school.region_path
        is_built = _status_on(k, day) in BUILT
        for end in range(len(region.path), len(path) + 1):
            if path[end - 1] == "/":
                classes[path[:end]] += 1
                built[path[:end]] += is_built
        by_mode[k.mode.name if k.mode else "未定模式"] += is_built
    return classes, built, by_mode


def _check(user: object, region: Region, day: dt.date | None) -> None:
    report = coverage(user, region, as_of=day)
    classes, built, by_mode = _reference(region, day)
    for nodes in report.levels().values():
        for node in nodes:
            assert (node.counts.classes, node.counts.built) == (classes[node.path], built[node.path]), (node.name, day)
    assert {k: v.built for k, v in report.by_mode.items()} == {k: v for k, v in by_mode.items() if k in report.by_mode}
    report.load_schools()
    # Built with its school rows, the report sums its places from them instead: the same figures.
    with_schools = coverage(user, region, as_of=day, with_schools=True)
    assert [(n.path, n.counts) for ns in with_schools.levels().values() for n in ns] == \
        [(n.path, n.counts) for ns in report.levels().values() for n in ns]
    for table in ("by_mode", "by_kind", "by_area"):
        assert getattr(with_schools, table) == getattr(report, table), (table, day)
    for r in (report, with_schools):
        for school in School.objects.filter(region_path__startswith=region.path):
            truth = [k for k in school.classes.all()]
            row = next(s for n in r.levels()["town"] for s in n.schools if s[0] == school.pk)
            assert (row[3], row[4]) == (len(truth), sum(_status_on(k, day) in BUILT for k in truth))


@pytest.mark.django_db
def test_rollups_follow_status_and_mode_changes_today_and_in_the_past(world: World) -> None:
    today = timezone.localdate()
    d1, d2, d3 = today - dt.timedelta(days=400), today - dt.timedelta(days=200), today - dt.timedelta(days=10)
    org_services.set_class_status(world.class_a, TeachingClass.Status.BUILT, actor=world.alice, on=d1)
    org_services.set_class_status(world.class_a, TeachingClass.Status.BUILDING, actor=world.alice, on=d2,
                                  reason="返工")
    org_services.set_class_status(world.class_a, TeachingClass.Status.ACCEPTED, actor=world.alice, on=d3)
    bulk_set_status(TeachingClass.objects.filter(school=world.school_a2), TeachingClass.Status.BUILT,
                    actor=world.alice, on=d2)
    # The village school's class gets its suggested mode: its history moves to that mode too.
    confirm_suggested_modes(TeachingClass.objects.filter(school=world.school_a2), actor=world.alice)
    assert ClassStatusChange.objects.filter(klass__school=world.school_a2).exclude(mode=None).exists()
    for day in (None, d1 - dt.timedelta(days=1), d1, d2 - dt.timedelta(days=1), d2, d3, today):
        _check(world.alice, world.county_a, day)
        _check(world.city_admin, world.city, day)


@pytest.mark.django_db
def test_survey_import_of_new_schools_fills_the_rollups(tmp_path: Path) -> None:
    county, _ = org_services.ensure_region("吉水县", level=Region.Level.COUNTY, parent=None, actor=None)
    import_survey(make_survey(tmp_path / "s.xlsx"), region="吉水县", actor=None)
    assert ClassRollup.objects.count() > 0
    assert not ClassStatusChange.objects.filter(school=None).exists()
    from banbantong.core.scope import SYSTEM

    for day in (None, dt.date(2015, 12, 30), dt.date(2016, 1, 1), dt.date(2018, 12, 31)):
        _check(SYSTEM, county, day)
    report = coverage(SYSTEM, county, as_of=dt.date(2016, 1, 1))
    assert (report.root.counts.classes, report.root.counts.built) == (5, 1)


@pytest.mark.django_db
def test_recount_rebuilds_rollups(world: World) -> None:
    ClassRollup.objects.all().delete()
    ClassStatusChange.objects.update(school=None, built_delta=0)
    org_services.refresh_school_counts(School.objects.values_list("id", flat=True))
    _check(world.city_admin, world.city, None)
    assert coverage(world.city_admin, world.city).root.counts.classes == 4


@pytest.mark.django_db
def test_yearly_built_equals_each_year_end_counted_class_by_class(world: World) -> None:
    from banbantong.planning.coverage import yearly_built

    today = timezone.localdate()
    years = list(range(today.year - 4, today.year + 1))
    klasses = list(TeachingClass.objects.order_by("id"))
    # Built, taken down and built again across year ends, dated in different years.
    for i, days in enumerate((1400, 1000, 700, 380, 30)):
        klass = klasses[i % len(klasses)]
        klass.refresh_from_db()
        status = TeachingClass.Status.BUILT if klass.status not in BUILT else TeachingClass.Status.BUILDING
        org_services.set_class_status(klass, status, actor=world.city_admin, on=today - dt.timedelta(days=days),
                                      reason="测试")
    for user, region in ((world.city_admin, world.city), (world.alice, world.county_a), (world.bob, world.county_b)):
        got = yearly_built(user, region, years)
        for year in years:
            day = None if year == today.year else dt.date(year, 12, 31)
            _, built, _ = _reference(region, day)
            assert got[year] == built[region.path], (region.name, year)
