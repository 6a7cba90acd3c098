"""`bbt demo`: the Jishui demo reproduces the plan's figures, every role can log in, a rerun
reuses the data, and the 吉水 admin sees nothing of the neighbouring 新干县. Then the county at
work (demo_activity): targets, funding and scenarios; devices and tickets; a semester with
timetables, records, flags and proposals — built once, through `bbt demo`, for TestActivity.

The clock is moved to TODAY for the whole module: the activity is stamped by the services with
`timezone.now()`, so a fixed `today` alone would not make the build reproducible."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Model
from django.test import Client
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core.models import AuditEntry
from banbantong.core.scope import SYSTEM
from banbantong.devices import queries as device_queries
from banbantong.devices import rules as device_rules
from banbantong.devices.models import Company, Device, DeviceEvent, Ticket, TicketComment
from banbantong.org import demo, demo_activity, queries
from banbantong.org.models import Classroom, ClassStatusChange, Region, School, Teacher, TeachingClass
from banbantong.planning.models import CoverageTarget, FundingSource, Scenario, ScenarioItem
from banbantong.usage import queries as usage_queries
from banbantong.usage import rules as usage_rules
from banbantong.usage.models import (
    CalendarDay,
    ClassWeek,
    EventBatch,
    LessonRecord,
    SchoolWeek,
    Semester,
    TeacherSemester,
    TeacherWeek,
    TerminalEvent,
    TimetableSlot,
)

TODAY = dt.date(2026, 11, 18)  # a Wednesday of the autumn semester, eight weeks after 国庆
FEW_TEACHERS = 300  # the full 3,000 is built once, in test_full_demo_has_3000_teachers
_REAL_NOW = timezone.now
_SHIFT = dt.datetime(2026, 11, 18, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")) - _REAL_NOW()


def _now_on_today() -> dt.datetime:
    return _REAL_NOW() + _SHIFT


@pytest.fixture(autouse=True)
def _clock_on_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", _now_on_today)


@pytest.fixture
def built(db: object) -> demo.DemoResult:
    return demo.build_demo(teachers=FEW_TEACHERS, today=TODAY, activity=False)


def test_demo_reproduces_the_jishui_plan_figures(built: demo.DemoResult) -> None:
    admin = User.objects.get(username="admin")
    figures = queries.figures(admin)
    assert (figures.classes, figures.built) == (1469, 283)
    assert figures.coverage == Decimal("19.3")
    assert 140 <= figures.schools <= 170
    assert built.created and (built.classes, built.built) == (1469, 283)


def test_full_demo_has_3000_teachers_each_with_an_account(db: object) -> None:
    result = demo.build_demo(today=TODAY, activity=False)
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
    demo.build_demo(teachers=FEW_TEACHERS, today=TODAY, activity=False)
    first = list(TeachingClass.objects.order_by("id").values_list("school__name", "grade", "name", "pupils", "status"))
    names = list(Teacher.objects.order_by("id").values_list("name", "id_number")[:50])
    Teacher.objects.all().delete()
    ClassStatusChange.objects.all().delete()
    Classroom.objects.all().delete()
    TeachingClass.objects.all().delete()
    User.objects.all().delete()
    School.objects.all().delete()
    demo.build_demo(teachers=FEW_TEACHERS, today=TODAY, activity=False)
    assert first == list(
        TeachingClass.objects.order_by("id").values_list("school__name", "grade", "name", "pupils", "status")
    )
    assert names == list(Teacher.objects.order_by("id").values_list("name", "id_number")[:50])


def test_the_activity_needs_today_to_be_the_clocks_date(db: object) -> None:
    with pytest.raises(demo.DemoError, match="today"):
        demo.build_demo(teachers=FEW_TEACHERS, today=TODAY - dt.timedelta(days=1))
    assert not School.objects.exists()


@pytest.mark.parametrize(("day", "name"), [
    (dt.date(2026, 11, 18), "2026—2027学年第一学期"),
    (dt.date(2027, 1, 10), "2026—2027学年第一学期"),
    (dt.date(2027, 2, 1), "2026—2027学年第一学期"),  # winter holiday: the semester just ended
    (dt.date(2027, 3, 15), "2026—2027学年第二学期"),
    (dt.date(2027, 8, 1), "2026—2027学年第二学期"),  # summer holiday
])
def test_the_semester_is_the_one_containing_today_or_just_ended(day: dt.date, name: str) -> None:
    start, end, got, holidays, makeups = demo_activity.semester_bounds(day)
    assert got == name and start < end and (start <= day <= end or day > end)
    assert all(start <= d <= end for d, _ in holidays)


def test_national_day_make_up_days() -> None:
    first, last, makeups = demo_activity._national_day(2026)  # as the State Council set them
    assert (first, last, makeups) == (dt.date(2026, 10, 1), dt.date(2026, 10, 7), (dt.date(2026, 9, 20), dt.date(2026, 10, 10)))
    first, last, makeups = demo_activity._national_day(2027)  # not published: Sunday before, Saturday after
    assert [d.isoweekday() for d in makeups] == [7, 6] and makeups[0] < first and makeups[1] > last
    _, _, _, _, rows = demo_activity.semester_bounds(TODAY)
    # The make-up days run the timetables of the last weekdays given off (Tuesday 6th, Wednesday 7th).
    assert [(d, follows) for d, follows, _ in rows] == [(dt.date(2026, 9, 20), 2), (dt.date(2026, 10, 10), 3)]


# --- The county at work ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSite:
    output: str
    county: Region


@pytest.fixture(scope="class")
def site(django_db_setup: None, django_db_blocker: Any) -> Iterator[DemoSite]:
    """One whole `bbt demo` (3,000 teachers, with the activity) for the class; rolled back after.

    Each test still runs in its own savepoint (the `db` fixture), so none sees another's writes.
    """
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", _now_on_today)
        with transaction.atomic():
            out = io.StringIO()
            call_command("demo", "--no-serve", stdout=out, stderr=io.StringIO())
            county = demo.demo_county()
            assert county is not None
            yield DemoSite(out.getvalue(), county)
            transaction.set_rollback(True)


LAST_WEEK = usage_rules.week_start(TODAY) - dt.timedelta(weeks=1)
ACTIVITY_LINES = ("规划：", "设备：", "应用：")


def _activity_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(ACTIVITY_LINES)]


@pytest.mark.usefixtures("db")
class TestActivity:
    def test_command_prints_the_figures_the_accounts_and_a_line_per_part(self, site: DemoSite) -> None:
        text = site.output
        assert "1469 个教学班" in text and "已建 283 个" in text and "19.3%" in text
        for account in demo.accounts():
            assert account.username in text
        assert demo.DEMO_PASSWORD in text
        planning, devices, usage = _activity_lines(text)
        assert "2027 年 40%" in planning and "2030 年 100%" in planning and "规划方案 2 个" in planning
        assert f"设备：{Device.objects.count()} 台" in devices and f"报修单 {Ticket.objects.count()} 张" in devices
        assert f"应用记录 {LessonRecord.objects.count()} 条" in usage and "课表 10 所学校" in usage
        assert text.index(demo.DEMO_PASSWORD) < text.index(planning)  # after the credentials

    def test_targets_funding_and_two_scenarios_none_adopted(self, site: DemoSite) -> None:
        county = site.county
        targets = list(CoverageTarget.objects.filter(region=county).order_by("year").values_list("year", "percent"))
        assert targets == [(TODAY.year + 1 + i, Decimal(p)) for i, p in enumerate(("40", "60", "80", "100"))]
        pupils = sum(TeachingClass.objects.filter(school__region__parent=county).values_list("pupils", flat=True))
        per_pupil = FundingSource.objects.filter(region=county, kind=FundingSource.Kind.PER_PUPIL_FUNDS)
        assert per_pupil.count() == 4
        for source in per_pupil:
            assert source.pupils == pupils and source.per_pupil_amount == Decimal("650") and source.share == Decimal("0.1")
            assert source.amount == (pupils * Decimal("65")).quantize(Decimal("0.01"))
        kinds = set(FundingSource.objects.filter(region=county).values_list("kind", flat=True))
        assert kinds == {FundingSource.Kind.PER_PUPIL_FUNDS, FundingSource.Kind.CENTRAL, FundingSource.Kind.MATCHING}
        scenarios = {s.name: s for s in Scenario.objects.filter(region=county)}
        assert set(scenarios) == {demo_activity.SCENARIO_FREE, demo_activity.SCENARIO_TIGHT}
        assert all(s.adopted_at is None and s.created_by.username == "admin" for s in scenarios.values())
        assert not TeachingClass.objects.filter(status=TeachingClass.Status.PLANNED).exists()
        free, tight = scenarios[demo_activity.SCENARIO_FREE], scenarios[demo_activity.SCENARIO_TIGHT]
        assert not any(y["shortfall"] for y in free.summary["years"])
        assert any(y["shortfall"] for y in tight.summary["years"])
        assert all(y["cost"] <= float(demo_activity.TIGHT_BUDGET) for y in tight.summary["years"])
        assert ScenarioItem.objects.filter(scenario=tight).count() < ScenarioItem.objects.filter(scenario=free).count()
        # Written by the county admin through the services, so the audit log has them.
        assert AuditEntry.objects.filter(actor_name="admin", object_type="planning.CoverageTarget").count() == 1
        assert AuditEntry.objects.filter(actor_name="admin", object_type="planning.FundingSource").count() == \
            FundingSource.objects.count()
        assert AuditEntry.objects.filter(actor_name="admin", object_type="planning.Scenario").count() == 2

    def test_a_terminal_and_a_computer_in_every_built_classroom(self, site: DemoSite) -> None:
        county = site.county
        companies = Company.objects.filter(region=county)
        assert sorted(companies.values_list("kind", flat=True)) == ["integrator", "integrator", "vendor"]
        assert all(c.after_sales_phone and c.contact_person for c in companies)
        integrator = User.objects.get(username="integrator")
        assert list(integrator.companies.values_list("name", flat=True)) == [demo_activity.INTEGRATOR_COMPANY]
        rooms = Classroom.objects.filter(school__region__parent=county,
                                         teaching_class__status__in=TeachingClass.BUILT_STATUSES)
        devices = Device.objects.filter(school__region__parent=county).select_related(
            "classroom__teaching_class__mode", "supplier", "integrator")
        assert devices.count() == 2 * rooms.count() == 2 * 283
        kinds: dict[int, set[str]] = {}
        for d in devices:
            klass = d.classroom.teaching_class
            kinds.setdefault(d.classroom_id, set()).add(d.type)
            screen = Device.Type.PROJECTOR if klass.mode.code == "projector_pc" else Device.Type.LCD_TV
            assert d.type in {screen, Device.Type.COMPUTER}
            assert d.purchase_date.year == klass.built_year
            assert d.warranty_end == d.purchase_date.replace(year=d.purchase_date.year + 3)
            assert d.supplier.kind == Company.Kind.VENDOR and d.integrator.kind == Company.Kind.INTEGRATOR
            assert d.serial and d.asset_tag.startswith("BBT") and d.price > 0
        assert all(len(k) == 2 for k in kinds.values()) and len(kinds) == 283
        assert {"爱普生", "联想"} <= set(devices.values_list("brand", flat=True))
        # Registered through register_device: a history line and an audit entry each.
        assert DeviceEvent.objects.filter(kind="登记").count() == devices.count()
        assert AuditEntry.objects.filter(object_type="devices.Device", action="create").count() == devices.count()

    def test_tickets_in_every_state_with_deadlines_from_their_sla(self, site: DemoSite) -> None:
        tickets = list(Ticket.objects.filter(school__region__parent=site.county))
        now = timezone.now()
        assert 50 <= len(tickets) <= 70
        assert {"open", "in_progress", "resolved", "closed"} <= {t.state for t in tickets}
        for t in tickets:
            respond, fix = device_rules.DEFAULT_SLA_HOURS[t.priority]
            assert t.respond_due - t.created_at == dt.timedelta(hours=respond)
            assert t.fix_due - t.created_at == dt.timedelta(hours=fix)
            assert now - dt.timedelta(days=demo_activity.TICKET_DAYS + 1) < t.created_at < now
            assert t.resolved_at is None or t.created_at < t.resolved_at < now
        resolved = [t for t in tickets if t.resolved_at]
        assert sum(t.resolved_at <= t.fix_due for t in resolved) > len(resolved) / 2
        assert any(t.resolved_at > t.fix_due for t in resolved)
        overdue = [t for t in tickets if device_rules.is_overdue(t.state, t.fix_due, now)]
        assert len(overdue) >= 3 and any(t.state == "open" and t.fix_due > now for t in tickets)
        reopened = set(TicketComment.objects.filter(text__contains="又出现").values_list("ticket_id", flat=True))
        states = {t.pk: t.state for t in tickets}
        assert len(reopened) >= 3 and {states[i] for i in reopened} >= {"open"}
        assert {states[i] for i in reopened} & {"resolved", "closed"}
        # Each ticket's audit entry was written when it was reported, not when the demo was built.
        created = {int(e.object_id): e.at for e in AuditEntry.objects.filter(object_type="devices.Ticket", action="create")}
        assert created == {t.pk: t.created_at for t in tickets}

    def test_the_integrator_works_its_escalations_and_the_league_compares_both(self, site: DemoSite) -> None:
        integrator = User.objects.get(username="integrator")
        mine = list(Ticket.objects.for_user(integrator).select_related("escalated_to"))
        assert mine and all(t.escalated_to.name == demo_activity.INTEGRATOR_COMPANY for t in mine)
        assert any(t.state in {"resolved", "closed"} for t in mine)
        assert AuditEntry.objects.filter(actor_name="integrator", object_type="devices.Ticket",
                                         after__state="resolved").exists()
        league = device_queries.integrator_league(User.objects.get(username="admin"))
        assert {r.company for r in league} == set(
            Company.objects.filter(kind=Company.Kind.INTEGRATOR).values_list("name", flat=True))
        assert league[0].within_percent > league[-1].within_percent
        models = device_queries.failures_by_model(User.objects.get(username="admin"))
        assert sum(r.failures for r in models) == Ticket.objects.count() and models[0].per_hundred > models[-1].per_hundred

    def test_a_semester_with_its_holidays_and_ten_timetables(self, site: DemoSite) -> None:
        semester = Semester.objects.get(region=site.county)
        assert (semester.name, semester.start, semester.end) == (
            "2026—2027学年第一学期", dt.date(2026, 9, 1), dt.date(2027, 1, 22))
        days = {d.date: d for d in CalendarDay.objects.filter(region=site.county)}
        assert all(days[dt.date(2026, 10, i)].kind == CalendarDay.Kind.HOLIDAY for i in range(1, 8))
        assert days[dt.date(2027, 1, 1)].kind == CalendarDay.Kind.HOLIDAY
        makeups = sorted(d for d, x in days.items() if x.kind == CalendarDay.Kind.MAKEUP)
        assert len(makeups) == 2 and all(d.weekday() >= 5 and days[d].follows_weekday for d in makeups)
        slots = TimetableSlot.objects.filter(semester=semester)
        schools = set(slots.values_list("klass__school__name", flat=True))
        assert len(schools) == 10 and demo.DEMO_SCHOOL in schools
        per_class = Counter(slots.values_list("klass_id", flat=True))
        assert len(per_class) == TeachingClass.objects.filter(school__name__in=schools).count()
        assert set(per_class.values()) == {30}  # weekdays 1–5 × periods 1–6
        taught = slots.exclude(teacher=None)
        assert taught.count() > 0.9 * slots.count()
        assert max(Counter(taught.values_list("teacher_id", "weekday", "period")).values()) == 1
        assert not taught.exclude(teacher__school=F("klass__school")).exists()
        teacher = User.objects.get(username="teacher").teacher
        assert taught.filter(teacher=teacher, klass__status__in=TeachingClass.BUILT_STATUSES).count() >= 10
        assert AuditEntry.objects.filter(object_type="usage.TimetableSlot", action="import").count() == 10

    def test_records_of_eight_weeks_with_flags_and_proposals(self, site: DemoSite) -> None:
        records = LessonRecord.objects.filter(school__region__parent=site.county)
        first = usage_rules.week_start(TODAY) - dt.timedelta(weeks=demo_activity.RECORD_WEEKS)
        assert records.count() > 10_000
        assert not records.filter(date__lt=first).exists() and not records.filter(date__gte=TODAY).exists()
        flagged = list(records.exclude(flags=[]))
        flags = Counter(f for r in flagged for f in r.flags)
        assert flags[usage_rules.Flag.HOLIDAY] >= 1 and flags[usage_rules.Flag.LATE_ENTRY] >= 1
        assert flags[usage_rules.Flag.COPIED_WEEK] >= 1
        assert len(flagged) < 50  # a few doubtful records, not a suspicious county
        for r in flagged:
            if usage_rules.Flag.LATE_ENTRY in r.flags:
                assert (timezone.localtime(r.created_at).date() - r.date).days > usage_rules.LATE_ENTRY_DAYS
        # The rest were typed on the day or the evening after, in a timetable slot, by its teacher.
        slots = {(s.klass_id, s.weekday, s.period): s.teacher_id for s in TimetableSlot.objects.all()}
        holidays = set(CalendarDay.objects.filter(kind=CalendarDay.Kind.HOLIDAY).values_list("date", flat=True))
        makeup = dict(CalendarDay.objects.filter(kind=CalendarDay.Kind.MAKEUP).values_list("date", "follows_weekday"))
        for r in records.filter(flags=[], status=LessonRecord.Status.CONFIRMED).order_by("?")[:3000]:
            assert 0 <= (timezone.localtime(r.created_at).date() - r.date).days <= 1
            assert r.date not in holidays
            assert slots[(r.klass_id, makeup.get(r.date, r.date.isoweekday()), r.period)] == r.teacher_id
        proposed = list(records.filter(status=LessonRecord.Status.PROPOSED).select_related("teacher__user"))
        assert proposed and all(r.teacher.user.username == "teacher" and r.week == LAST_WEEK for r in proposed)
        assert all(r.evidence == LessonRecord.Evidence.EVENTS and r.evidence_minutes >= 40 for r in proposed)
        batch = EventBatch.objects.get()
        assert batch.result["proposed"] == len(proposed) and batch.result["accepted"] == TerminalEvent.objects.count()

    def test_the_teacher_has_a_real_week(self, site: DemoSite) -> None:
        client = Client()
        client.force_login(User.objects.get(username="teacher"))
        last = client.get(f"/usage/my/?week={usage_rules.iso_week(LAST_WEEK)}")
        assert last.status_code == 200 and "终端记录，待确认" in last.content.decode()
        this = client.get("/usage/my/")
        assert this.status_code == 200
        assert {r.date for r in this.context["records"]} <= {TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)}
        assert sum(1 for _, cells in this.context["rows"] for c in cells if c["slot"]) >= 10

    def test_rollups_are_what_the_confirmed_records_add_up_to(self, site: DemoSite) -> None:
        confirmed = LessonRecord.objects.filter(status=LessonRecord.Status.CONFIRMED)
        built = set(TeachingClass.objects.built().values_list("id", flat=True))
        class_weeks = list(ClassWeek.objects.all())
        assert {(c.klass_id, c.week): c.lessons for c in class_weeks} == dict(
            Counter(confirmed.values_list("klass_id", "week")))
        assert all(c.compliant == (c.klass_id in built and c.lessons >= c.minimum) for c in class_weeks)
        teacher_weeks = list(TeacherWeek.objects.all())
        assert {(t.teacher_id, t.week): t.lessons for t in teacher_weeks} == dict(
            Counter(confirmed.values_list("teacher_id", "week")))
        assert all(t.compliant == (t.lessons >= t.minimum > 0) for t in teacher_weeks)
        flagged_weeks = Counter((r.school_id, r.week) for r in confirmed.exclude(flags=[]))
        ok_classes = Counter((c.school_id, c.week) for c in class_weeks if c.compliant)
        ok_teachers = Counter((t.school_id, t.week) for t in teacher_weeks if t.compliant)
        lessons = Counter(confirmed.values_list("school_id", "week"))
        assert {(s.school_id, s.week): (s.lessons, s.flagged, s.compliant_classes, s.compliant_teachers)
                for s in SchoolWeek.objects.all()} == {
            key: (n, flagged_weeks[key], ok_classes[key], ok_teachers[key]) for key, n in lessons.items()}
        assert dict(TeacherSemester.objects.values_list("teacher_id", "lessons")) == dict(
            Counter(confirmed.values_list("teacher_id", flat=True)))
        # The minimum is the week's, pro-rated: 国庆 leaves three teaching days (8th, 9th, Saturday 10th).
        assert set(ClassWeek.objects.filter(week=dt.date(2026, 10, 5)).values_list("minimum", flat=True)) == {6}
        assert set(ClassWeek.objects.filter(week=LAST_WEEK).values_list("minimum", flat=True)) == {10}

    def test_compliance_last_week_has_compliant_and_short_classes(self, site: DemoSite) -> None:
        report = usage_queries.compliance(SYSTEM, site.county, LAST_WEEK)
        assert report.classes_checked == 283
        assert 283 * 0.4 < report.classes_compliant < 283
        assert report.short_classes and report.lessons > 1000
        assert 0 < report.teachers_compliant < report.teachers_checked

    def test_a_rerun_adds_nothing(self, site: DemoSite) -> None:
        tables: list[type[Model]] = [
            Region, School, TeachingClass, Classroom, Teacher, User, ClassStatusChange, CoverageTarget,
            FundingSource, Scenario, ScenarioItem, Company, Device, DeviceEvent, Ticket, TicketComment, Semester,
            CalendarDay, TimetableSlot, LessonRecord, ClassWeek, TeacherWeek, SchoolWeek, TeacherSemester,
            EventBatch, TerminalEvent, AuditEntry,
        ]
        before = {m.__name__: m._default_manager.count() for m in tables}
        out = io.StringIO()
        call_command("demo", "--no-serve", stdout=out, stderr=io.StringIO())
        assert "已有演示数据" in out.getvalue()
        assert _activity_lines(out.getvalue()) == _activity_lines(site.output)
        again = demo.build_demo(today=TODAY)
        assert not again.created and again.activity == tuple(_activity_lines(site.output))
        assert before == {m.__name__: m._default_manager.count() for m in tables}
