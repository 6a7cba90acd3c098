"""PlaceWeek: every write that moves a school's week moves its place's week by the same amount,
and the region dashboards read from it give the answers the schools' own weeks give."""

from __future__ import annotations

import datetime as dt

import pytest

from banbantong.conftest import World, make_school, make_teacher
from banbantong.core.scope import SYSTEM
from banbantong.org.models import Region, School, TeachingClass
from banbantong.org.services import ensure_region, refresh_school_counts
from banbantong.usage import queries, services
from banbantong.usage.models import PlaceWeek, SchoolWeek
from banbantong.usage.tests.conftest import MONDAY, Term, lessons


def _places() -> dict[tuple[str, dt.date], tuple[int, int, int, int]]:
    return {
        (p.region_path, p.week): (p.compliant_classes, p.compliant_teachers, p.lessons, p.flagged)
        for p in PlaceWeek.objects.all()
        if (p.compliant_classes, p.compliant_teachers, p.lessons, p.flagged) != (0, 0, 0, 0)
    }


def _rebuilt() -> dict[tuple[str, dt.date], tuple[int, int, int, int]]:
    services.rebuild_place_weeks()
    return _places()


@pytest.mark.django_db
def test_place_weeks_follow_every_write(world: World, term: Term) -> None:
    records = lessons(world, term, 12)
    kept = _places()
    assert list(kept) == [(world.school_a.region_path, MONDAY)]
    ok_classes, ok_teachers, n, flagged = kept[(world.school_a.region_path, MONDAY)]
    assert (ok_classes, ok_teachers, n) == (1, 1, 12)  # one class, one teacher compliant
    assert _rebuilt() == kept

    # A second lesson of the same teacher at the same time elsewhere flags both records.
    services.record_lesson(actor=world.teacher_user_a, klass=world.class_a, teacher=world.teacher_a,
                           date=MONDAY, period=1, topic="同时")
    services.delete_record(records[-1], actor=world.teacher_user_a)
    kept = _places()
    assert kept[(world.school_a.region_path, MONDAY)][2] == 12
    flagged = kept[(world.school_a.region_path, MONDAY)][3]
    assert _rebuilt() == kept

    # A stricter rule re-checks the week: the class (11 lessons) falls short.
    services.set_compliance_rule(world.county_a, actor=world.alice, class_min_per_week=12, teacher_min_per_week=2,
                                 teacher_non_bbt_min_per_semester=5, today=MONDAY + dt.timedelta(days=2))
    kept = _places()
    assert kept[(world.school_a.region_path, MONDAY)][:2] == (0, 1)
    assert _rebuilt() == kept

    # The school loses its last built class: from that week on it is not checked weekly.
    TeachingClass.objects.filter(school=world.school_a).update(status=TeachingClass.Status.NOT_BUILT)
    refresh_school_counts([world.school_a.pk])
    assert services.sync_banbantong_status([world.school_a.pk], today=MONDAY) == 1
    kept = _places()
    assert kept[(world.school_a.region_path, MONDAY)] == (0, 0, 12, flagged)
    assert _rebuilt() == kept


@pytest.mark.django_db
def test_region_figures_equal_the_sum_of_their_schools(world: World, term: Term) -> None:
    lessons(world, term, 12)
    services.record_lesson(actor=world.teacher_user_a, klass=world.class_a, teacher=world.teacher_a,
                           date=MONDAY + dt.timedelta(days=1), period=3, topic="复习")
    for region in (world.city, world.county_a, world.town_a):
        whole = queries.compliance(SYSTEM, region, MONDAY, with_lists=False)
        schools = School.objects.filter(region_path__startswith=region.path)
        parts = [queries.compliance(SYSTEM, s, MONDAY, with_lists=False) for s in schools]
        assert whole.classes_compliant == sum(p.classes_compliant for p in parts) == 1
        assert whole.teachers_compliant == sum(p.teachers_compliant for p in parts) == 1
        assert whole.lessons == sum(p.lessons for p in parts) == 13
        assert [t[1:] for t in queries.trend(SYSTEM, region, MONDAY, 2)][-1] == (whole.class_share,
                                                                                    whole.teacher_share)
    assert PlaceWeek.objects.filter(week=MONDAY).count() == 1
    assert SchoolWeek.objects.filter(week=MONDAY).count() == 1


@pytest.mark.django_db
def test_short_lists_walk_the_places_in_list_order(world: World, term: Term) -> None:
    # Schools in three places of the county: the county itself, town A and a new town C.
    town_c, _ = ensure_region("醪桥镇", level=Region.Level.TOWN, parent=world.county_a, actor=None)
    at_county = make_school(world.county_a, "县直小学")
    at_c = make_school(town_c, "醪桥中心小学")
    for school in (at_county, at_c):
        TeachingClass.objects.create(school=school, grade=5, name="1班", pupils=40,
                                     status=TeachingClass.Status.BUILT)
        make_teacher(school, f"t{school.pk}", f"教师{school.pk}")
    refresh_school_counts([at_county.pk, at_c.pk])
    lessons(world, term, 3)

    whole = queries.short_classes(SYSTEM, world.county_a, MONDAY, None)
    schools = School.objects.filter(region_path__startswith=world.county_a.path).order_by("region_path", "id")
    one_by_one = [r for s in schools for r in queries.short_classes(SYSTEM, s, MONDAY, None)]
    assert whole == one_by_one
    assert len({r["school_id"] for r in whole}) >= 3
    assert queries.short_classes(SYSTEM, world.county_a, MONDAY, 1) == whole[:1]
    teachers = queries.short_teachers(SYSTEM, world.county_a, MONDAY, None)
    assert teachers == [r for s in schools for r in queries.short_teachers(SYSTEM, s, MONDAY, None)]
    assert {r["teacher"] for r in teachers} >= {f"教师{at_county.pk}", f"教师{at_c.pk}"}


@pytest.mark.django_db
def test_recount_command_repairs_the_place_weeks(world: World, term: Term) -> None:
    import io

    from django.core.management import call_command

    lessons(world, term, 12)
    kept = _places()
    PlaceWeek.objects.update(lessons=999)  # drifted, e.g. by a hand-made bulk load
    out = io.StringIO()
    call_command("usage", "recount", stdout=out)
    assert "1 行" in out.getvalue()
    assert _places() == kept
