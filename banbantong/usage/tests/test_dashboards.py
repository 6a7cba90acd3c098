"""Compliance dashboards: short lists bounded but honest about totals, the per-semester rule for
schools without Banbantong, class/school/teacher pages, and editing a region's requirements."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from openpyxl import load_workbook

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.core.scope import SYSTEM
from banbantong.org.models import TeachingClass
from banbantong.org.services import refresh_school_counts
from banbantong.usage import queries, services
from banbantong.usage.models import ClassWeek, ComplianceRule, SchoolWeek
from banbantong.usage.tests.conftest import MONDAY, Term, lessons

RULE = {"class_min_per_week": 8, "teacher_min_per_week": 2, "teacher_non_bbt_min_per_semester": 5}


def more_built_classes(world: World, n: int) -> list[TeachingClass]:
    made = [TeachingClass.objects.create(school=world.school_a, grade=5, name=f"{i}班", pupils=40,
                                         status=TeachingClass.Status.BUILT) for i in range(1, n + 1)]
    refresh_school_counts([world.school_a.pk])
    return made


@pytest.mark.django_db
def test_short_list_is_bounded_and_the_total_is_not(world: World, term: Term) -> None:
    more_built_classes(world, 3)
    lessons(world, term, 3)
    report = queries.compliance(SYSTEM, world.county_a, MONDAY, limit=2)
    assert (report.classes_checked, report.classes_compliant, report.classes_short) == (4, 0, 4)
    assert len(report.short_classes) == 2
    assert [r["class"] for r in report.short_classes] == ["四年级1班", "五年级1班"]  # list order: grade, name
    everything = queries.compliance(SYSTEM, world.county_a, MONDAY, limit=None)
    assert len(everything.short_classes) == 4


@pytest.mark.django_db
def test_teachers_checked_come_from_the_school_rollup(world: World, term: Term) -> None:
    assert queries.compliance(SYSTEM, world.city, MONDAY).teachers_checked == 1  # school B has no Banbantong
    more_built_classes(world, 1)
    from banbantong.conftest import make_teacher

    make_teacher(world.school_a, "t_zhao", "赵老师")
    refresh_school_counts([world.school_a.pk])
    report = queries.compliance(SYSTEM, world.city, MONDAY)
    assert report.teachers_checked == 2
    assert [r["teacher"] for r in report.short_teachers] == ["王老师", "赵老师"]


@pytest.mark.django_db
def test_teachers_of_schools_without_banbantong_by_semester(world: World, term: Term) -> None:
    services.add_semester(world.county_b, actor=world.bob, name="秋季", start=dt.date(2026, 9, 1),
                          end=dt.date(2027, 1, 22))
    semester_b = services.semester_for(world.school_b, MONDAY)
    assert semester_b is not None
    for i in range(4):
        services.record_lesson(actor=world.teacher_b.user, klass=world.class_b, teacher=world.teacher_b,
                               date=MONDAY + dt.timedelta(days=i), period=1)
    assert queries.semester_teachers(SYSTEM, world.county_b, semester_b, 5) == (1, 0)
    services.record_lesson(actor=world.teacher_b.user, klass=world.class_b, teacher=world.teacher_b,
                           date=MONDAY + dt.timedelta(days=7), period=1)
    assert queries.semester_teachers(SYSTEM, world.county_b, semester_b, 5) == (1, 1)
    assert queries.semester_teachers(world.alice, world.county_b, semester_b, 5) == (0, 0)  # out of scope


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("class_min_per_week", 0), ("class_min_per_week", 41),
                                               ("teacher_min_per_week", -1), ("teacher_non_bbt_min_per_semester", 0)])
def test_bad_rules_are_refused_and_nothing_changes(world: World, field: str, value: int) -> None:
    with pytest.raises(ValidationError) as exc:
        services.set_compliance_rule(world.county_a, actor=world.alice, **{**RULE, field: value})
    assert "之间的整数" in str(exc.value)
    assert not ComplianceRule.objects.exists()


@pytest.mark.django_db
def test_rules_only_by_the_regions_admins(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.set_compliance_rule(world.county_a, actor=world.bob, **RULE)
    with pytest.raises(PermissionDenied):
        services.set_compliance_rule(world.county_a, actor=world.principal_a, **RULE)
    assert not ComplianceRule.objects.exists()


@pytest.mark.django_db
def test_a_new_rule_rechecks_this_week_and_is_inherited(world: World, term: Term) -> None:
    lessons(world, term, 8)
    assert queries.compliance(SYSTEM, world.county_a, MONDAY).classes_compliant == 0
    services.set_compliance_rule(world.city, actor=world.city_admin, **RULE, today=MONDAY + dt.timedelta(days=2))
    cw = ClassWeek.objects.get(klass=term.klass, week=MONDAY)
    assert (cw.minimum, cw.compliant) == (8, True)
    assert SchoolWeek.objects.get(school=world.school_a, week=MONDAY).compliant_classes == 1
    assert queries.compliance(SYSTEM, world.county_a, MONDAY).classes_compliant == 1
    assert services.rule_for(world.town_a.path) == (8, 2, 5)  # the county and its towns inherit the city's
    entry = AuditEntry.objects.filter(object_type="usage.ComplianceRule").get()
    assert entry.after["class_min_per_week"] == 8


@pytest.mark.django_db
def test_rules_page_saves_and_shows_errors(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/usage/rules/?region={world.county_a.pk}"
    page = client.post(url, {**RULE, "class_min_per_week": "abc"}, follow=True).content.decode()
    assert "每项要求都应填写整数" in page
    assert not ComplianceRule.objects.exists()
    client.post(url, RULE)
    assert ComplianceRule.objects.get(region=world.county_a).class_min_per_week == 8
    client.force_login(world.auditor_a)  # sees the rule, cannot change it
    page = client.get(url).content.decode()
    assert 'value="8"' in page and "disabled" in page


@pytest.mark.django_db
def test_school_class_and_teacher_pages(world: World, term: Term, client: Client) -> None:
    lessons(world, term, 3)
    client.force_login(world.principal_a)
    page = client.get(f"/usage/school/{world.school_a.pk}/?week=2026-W47").content.decode()
    assert 'data-figure="class-share"' in page and "四年级1班" in page and "王老师" not in page  # 3 ≥ 2: compliant
    page = client.get(f"/usage/class/{term.klass.pk}/?week=2026-W47").content.decode()
    assert "第0课" in page and "手工填写" in page  # each record shows its evidence
    client.force_login(world.teacher_user_a)
    assert client.get(f"/usage/teacher/{world.teacher_a.pk}/?week=2026-W47").status_code == 200
    assert client.get(f"/usage/school/{world.school_a.pk}/").status_code == 403  # colleagues' figures: admins only
    from banbantong.conftest import make_teacher

    other = make_teacher(world.school_a, "t_zhao", "赵老师")
    client.force_login(other.user)
    assert client.get(f"/usage/teacher/{world.teacher_a.pk}/").status_code == 403
    client.force_login(world.integrator_a)
    assert client.get(f"/usage/class/{term.klass.pk}/").status_code == 403


@pytest.mark.django_db
def test_dashboard_export_has_every_short_class(world: World, term: Term, client: Client) -> None:
    more_built_classes(world, 3)
    client.force_login(world.alice)
    response = client.get(f"/usage/?region={world.county_a.pk}&week=2026-W47&export=xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    rows = list(book["未达标班级"].iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    page = client.get(f"/usage/?region={world.county_a.pk}&week=2026-W47").content.decode()
    assert "班级 4 个" in page


@pytest.mark.django_db
def test_children_of_a_region_add_up_to_it(world: World, term: Term, client: Client) -> None:
    lessons(world, term, 10)
    rows = queries.by_region(SYSTEM, world.city, MONDAY)
    assert [r["region"].name for r in rows] == ["吉水县", "新干县"]
    total = queries.compliance(SYSTEM, world.city, MONDAY, with_lists=False)
    assert sum(r["classes"] for r in rows) == total.classes_checked == 1
    assert sum(r["compliant"] for r in rows) == total.classes_compliant == 1
    assert sum(r["lessons"] for r in rows) == total.lessons == 10
    assert [r["region"].name for r in queries.by_region(world.alice, world.city, MONDAY)] == ["吉水县"]  # scope
    client.force_login(world.city_admin)
    page = client.get(f"/usage/?region={world.city.pk}&week=2026-W47").content.decode()
    assert 'data-list="children"' in page and "新干县" in page


@pytest.mark.django_db
def test_week_view_saves_several_lessons_at_once_or_none(world: World, term: Term, client: Client) -> None:
    from banbantong.usage.models import LessonRecord

    client.force_login(world.teacher_user_a)
    slots = [f"{term.klass.pk}|{(MONDAY + dt.timedelta(days=d)).isoformat()}|1" for d in range(3)]
    good = {"batch": "1", "slot": slots, f"topic|{slots[0]}": "分数", "used_in_class": "on", "recorded": "on"}
    page = client.post("/usage/my/?week=2026-W47", good, follow=True).content.decode()
    assert "已保存 3 节" in page
    assert LessonRecord.objects.filter(teacher=world.teacher_a).count() == 3
    assert LessonRecord.objects.get(date=MONDAY, period=1).topic == "分数"
    bad = {"batch": "1", "slot": [f"{term.klass.pk}|{(MONDAY + dt.timedelta(days=3)).isoformat()}|1",
                                  f"{term.klass.pk}|{MONDAY.isoformat()}|1"]}  # the second is already filled
    page = client.post("/usage/my/?week=2026-W47", bad, follow=True).content.decode()
    assert "没有保存任何记录" in page and "已有记录" in page
    assert LessonRecord.objects.filter(teacher=world.teacher_a).count() == 3  # the good one was not kept either
    assert ClassWeek.objects.get(klass=term.klass, week=MONDAY).lessons == 3


@pytest.mark.django_db
def test_flagged_records_of_one_school_and_detail_exports(world: World, term: Term, client: Client) -> None:
    services.add_calendar_day(actor=world.alice, region=world.county_a, date=MONDAY, kind="holiday")
    services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a, date=MONDAY,
                           period=1, topic="节日补课")
    client.force_login(world.principal_a)
    page = client.get(f"/usage/flagged/?school={world.school_a.pk}").content.decode()
    assert "节日补课" in page
    client.force_login(world.bob)
    assert client.get(f"/usage/flagged/?school={world.school_a.pk}").status_code == 404
    client.force_login(world.principal_a)
    response = client.get(f"/usage/class/{term.klass.pk}/?week=2026-W47&export=xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    records = list(book["记录"].iter_rows(values_only=True))
    assert records[1][5] == "节日补课" and "节假日上课" in records[1][10]


@pytest.mark.django_db
def test_a_school_that_gets_banbantong_counts_from_this_week_on(world: World) -> None:
    from banbantong.org.services import set_class_status

    services.add_semester(world.county_b, actor=world.bob, name="秋季", start=dt.date(2026, 9, 1),
                          end=dt.date(2027, 1, 22))
    earlier, this_week = MONDAY - dt.timedelta(weeks=1), MONDAY
    for monday in (earlier, this_week):
        for i in range(2):
            services.record_lesson(actor=world.teacher_b.user, klass=world.class_b, teacher=world.teacher_b,
                                   date=monday + dt.timedelta(days=i), period=1)
    assert not SchoolWeek.objects.filter(school=world.school_b, bbt=True).exists()
    assert queries.compliance(SYSTEM, world.county_b, this_week).teachers_compliant == 0  # not checked weekly
    with_today = this_week + dt.timedelta(days=2)
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=with_today):
        set_class_status(world.class_b, "built", actor=world.bob, on=with_today)
    assert SchoolWeek.objects.get(school=world.school_b, week=this_week).bbt
    assert not SchoolWeek.objects.get(school=world.school_b, week=earlier).bbt  # history keeps its status
    report = queries.compliance(SYSTEM, world.county_b, this_week)
    assert (report.teachers_checked, report.teachers_compliant) == (1, 1)
