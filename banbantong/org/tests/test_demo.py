"""`bbt demo`: the Jishui demo reproduces the plan's figures, every role can log in, a rerun
reuses the data, and the 吉水 admin sees nothing of the neighbouring 新干县."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from banbantong.accounts.models import User
from banbantong.org import demo, queries
from banbantong.org.models import Classroom, ClassStatusChange, Region, School, Teacher, TeachingClass

TODAY = dt.date(2026, 9, 1)
FEW_TEACHERS = 300  # the full 3,000 is built once, in test_full_demo_has_3000_teachers


@pytest.fixture
def built(db: object) -> demo.DemoResult:
    return demo.build_demo(teachers=FEW_TEACHERS, today=TODAY)


def test_demo_reproduces_the_jishui_plan_figures(built: demo.DemoResult) -> None:
    admin = User.objects.get(username="admin")
    figures = queries.figures(admin)
    assert (figures.classes, figures.built) == (1469, 283)
    assert figures.coverage == Decimal("19.3")
    assert 140 <= figures.schools <= 170
    assert built.created and (built.classes, built.built) == (1469, 283)


def test_full_demo_has_3000_teachers_each_with_an_account(db: object) -> None:
    result = demo.build_demo(today=TODAY)
    assert result.teachers == 3000
    jishui = Teacher.objects.filter(school__region__parent=result.county).select_related("user")
    assert jishui.count() == 3000
    assert jishui.filter(user__role=User.Role.TEACHER).count() == 3000
    assert all(t.user.school_id == t.school_id and t.user.display_name == t.name for t in jishui)
    assert jishui.values("user__username").distinct().count() == 3000


def test_schools_have_every_kind_and_rural_flag(built: demo.DemoResult) -> None:
    schools = School.objects.filter(region__parent=built.county)
    kinds = set(schools.values_list("kind", flat=True))
    assert kinds >= {
        School.Kind.TEACHING_POINT, School.Kind.VILLAGE_PRIMARY, School.Kind.CENTRAL_PRIMARY,
        School.Kind.RURAL_JUNIOR, School.Kind.NINE_YEAR, School.Kind.URBAN_PRIMARY,
        School.Kind.URBAN_JUNIOR, School.Kind.URBAN_SENIOR,
    }
    for school in schools:
        assert school.is_rural == (school.kind in School.RURAL_KINDS)
        assert school.region_path == school.region.path


def test_classes_follow_the_plan_rule_and_grades(built: demo.DemoResult) -> None:
    classes = TeachingClass.objects.filter(school__region__parent=built.county).select_related("school", "mode")
    for c in classes:
        assert c.mode is not None and c.mode.code == demo.rule_mode_code(c.school.kind, c.grade)
        first, last, *_ = demo.KIND_SHAPE[c.school.kind]
        assert first <= c.grade <= last
    pupils = {k: classes.filter(school__kind=k).values_list("pupils", flat=True) for k in School.Kind.values}
    assert min(pupils[School.Kind.TEACHING_POINT]) >= 5 and max(pupils[School.Kind.TEACHING_POINT]) <= 20
    assert min(pupils[School.Kind.VILLAGE_PRIMARY]) >= 15 and max(pupils[School.Kind.VILLAGE_PRIMARY]) <= 40
    assert min(pupils[School.Kind.CENTRAL_PRIMARY]) >= 40 and max(pupils[School.Kind.CENTRAL_PRIMARY]) <= 60
    assert Classroom.objects.filter(teaching_class__in=classes).count() == 1469


def test_built_classes_sit_in_town_and_central_schools_with_dated_history(built: demo.DemoResult) -> None:
    classes = TeachingClass.objects.filter(school__region__parent=built.county)
    done = classes.built()
    assert not done.filter(school__kind__in=[School.Kind.TEACHING_POINT, School.Kind.VILLAGE_PRIMARY]).exists()
    town_or_central = done.filter(
        school__kind__in=[School.Kind.URBAN_PRIMARY, School.Kind.URBAN_JUNIOR, School.Kind.URBAN_SENIOR,
                          School.Kind.CENTRAL_PRIMARY]
    ).count()
    assert town_or_central / done.count() > 0.9
    for c in done.prefetch_related("status_changes"):
        history = list(c.status_changes.all())
        assert history[-1].new_status == c.status
        assert history[-1].changed_on == c.status_changed_on
        built_on = next(h.changed_on for h in history if h.new_status == TeachingClass.Status.BUILT)
        assert c.built_year == built_on.year
        assert TODAY - dt.timedelta(days=3 * 366) <= built_on <= TODAY
    assert not classes.exclude(status__in=TeachingClass.BUILT_STATUSES).exclude(built_year=None).exists()
    assert ClassStatusChange.objects.filter(klass__in=classes.filter(status=TeachingClass.Status.NOT_BUILT)).count() == 0


def test_teacher_personal_data_is_well_formed(built: demo.DemoResult) -> None:
    for t in Teacher.objects.all()[:300]:
        assert len(t.phone) == 11 and t.phone.startswith("1") and t.phone.isdigit()
        assert len(t.id_number) == 18 and t.id_number[:17].isdigit()
        assert t.id_number[17] == demo.id_check_digit(t.id_number[:17])
        # The 17th digit is odd for men, even for women.
        assert (int(t.id_number[16]) % 2 == 1) == (t.gender == Teacher.Gender.MALE)


def test_id_check_digit_matches_the_national_standard_example() -> None:
    assert demo.id_check_digit("11010519491231002") == "X"


def test_rule_mode_code() -> None:
    assert demo.rule_mode_code(School.Kind.TEACHING_POINT, 2) == "tv_dvd"
    assert demo.rule_mode_code(School.Kind.VILLAGE_PRIMARY, 5) == "tv_dvd"
    assert demo.rule_mode_code(School.Kind.CENTRAL_PRIMARY, 3) == "lcd_pc"
    assert demo.rule_mode_code(School.Kind.CENTRAL_PRIMARY, 4) == "projector_pc"
    assert demo.rule_mode_code(School.Kind.RURAL_JUNIOR, 8) == "projector_pc"
    assert demo.rule_mode_code(School.Kind.URBAN_PRIMARY, 1) == "projector_pc"


@pytest.mark.parametrize("account", demo.accounts(), ids=lambda a: a.username)
def test_every_role_account_logs_in(built: demo.DemoResult, account: demo.DemoAccount) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": account.username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get("/api/v1/dashboard").json()["classes"] > 0


def test_wrong_password_does_not_log_in(built: demo.DemoResult) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "admin", "password": "Demo@2025"})
    assert response.status_code == 200
    assert client.get("/api/v1/dashboard").status_code == 401


def test_role_accounts_have_their_role_and_place(built: demo.DemoResult) -> None:
    users = {u.username: u for u in User.objects.filter(username__in=[a.username for a in demo.accounts()])}
    assert users["admin"].role == User.Role.BUREAU_ADMIN and users["admin"].region == built.county
    assert users["city_admin"].region.name == "吉安市"
    school = School.objects.get(name=demo.DEMO_SCHOOL)
    for name, role in [("school_admin", User.Role.SCHOOL_ADMIN), ("device_admin", User.Role.DEVICE_ADMIN),
                       ("teacher", User.Role.TEACHER)]:
        assert (users[name].role, users[name].school) == (role, school)
    assert users["teacher"].teacher.school == school
    assert users["reviewer"].role == User.Role.REVIEWER and users["reviewer"].region == built.county
    assert users["auditor"].read_only and users["auditor"].region == built.county
    assert school in users["integrator"].assigned_schools.all()
    assert users["integrator"].assigned_schools.count() == 6
    assert queries.figures(users["integrator"]).schools == 6


def test_rerun_reuses_the_demo(built: demo.DemoResult) -> None:
    counts = (School.objects.count(), TeachingClass.objects.count(), Teacher.objects.count(), User.objects.count(),
              Region.objects.count(), ClassStatusChange.objects.count())
    again = demo.build_demo(teachers=FEW_TEACHERS, today=TODAY)
    assert not again.created
    assert (again.classes, again.built) == (1469, 283)
    assert counts == (School.objects.count(), TeachingClass.objects.count(), Teacher.objects.count(),
                      User.objects.count(), Region.objects.count(), ClassStatusChange.objects.count())


def test_jishui_admin_does_not_see_xingan(built: demo.DemoResult) -> None:
    admin = User.objects.get(username="admin")
    xg_admin = User.objects.get(username="xg_admin")
    city_admin = User.objects.get(username="city_admin")
    xingan = Region.objects.get(name="新干县")
    xg_school = School.objects.filter(region__parent=xingan).first()
    assert xg_school is not None
    assert not queries.schools_for(admin).filter(region__parent=xingan).exists()
    assert not queries.classes_for(admin).filter(school=xg_school).exists()
    assert not Teacher.objects.for_user(admin).filter(school=xg_school).exists()
    # The neighbouring county's admin sees their own county only; the city sees both.
    assert queries.schools_for(xg_admin).filter(region__parent=xingan).count() == queries.schools_for(xg_admin).count()
    assert not queries.schools_for(xg_admin).filter(region__parent=built.county).exists()
    assert queries.figures(city_admin).classes == 1469 + queries.figures(xg_admin).classes
    client = Client()
    client.force_login(admin)
    assert client.get(f"/org/schools/{xg_school.pk}/").status_code == 404
    client.force_login(xg_admin)
    assert client.get(f"/org/schools/{xg_school.pk}/").status_code == 200


def test_demo_is_the_same_for_the_same_seed_and_day(db: object) -> None:
    demo.build_demo(teachers=FEW_TEACHERS, today=TODAY)
    first = list(TeachingClass.objects.order_by("id").values_list("school__name", "grade", "name", "pupils", "status"))
    names = list(Teacher.objects.order_by("id").values_list("name", "id_number")[:50])
    Teacher.objects.all().delete()
    ClassStatusChange.objects.all().delete()
    Classroom.objects.all().delete()
    TeachingClass.objects.all().delete()
    User.objects.all().delete()
    School.objects.all().delete()
    demo.build_demo(teachers=FEW_TEACHERS, today=TODAY)
    assert first == list(
        TeachingClass.objects.order_by("id").values_list("school__name", "grade", "name", "pupils", "status")
    )
    assert names == list(Teacher.objects.order_by("id").values_list("name", "id_number")[:50])


def test_demo_command_prints_accounts_without_serving(db: object) -> None:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--teachers", str(FEW_TEACHERS), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "1469 个教学班" in text and "已建 283 个" in text and "19.3%" in text
    for account in demo.accounts():
        assert account.username in text
    assert demo.DEMO_PASSWORD in text
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out, stderr=io.StringIO())
    assert "已有演示数据" in out.getvalue()
    assert TeachingClass.objects.filter(school__region__name__endswith="镇", school__region__parent__name="吉水县").exists()
