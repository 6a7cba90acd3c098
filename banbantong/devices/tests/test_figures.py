"""Figures: the league table (page, Excel, numbers), the figures workbook, the dashboard counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from banbantong.conftest import World
from banbantong.devices import queries, rules, services
from banbantong.devices.models import Company, Ticket
from banbantong.devices.tests.conftest import Kit


def _escalated(kit: Kit, world: World, *, hours: float, late: bool) -> Ticket:
    """A ticket escalated to kit.company and resolved `hours` after it was reported, late or in time."""
    t = services.report_fault(kit.projector, actor=world.teacher_user_a, fault="lamp")
    services.escalate(t, actor=world.device_admin_a)
    t = services.change_ticket(t, actor=world.integrator_a, state="resolved", outcome="repaired")
    created = t.resolved_at - dt.timedelta(hours=hours)  # type: ignore[operator]
    due = t.resolved_at - dt.timedelta(hours=1) if late else t.resolved_at + dt.timedelta(hours=1)  # type: ignore[operator]
    Ticket.objects.filter(pk=t.pk).update(created_at=created, fix_due=due)
    t.refresh_from_db()
    return t


@pytest.mark.django_db
def test_league_counts_and_mean_match_the_rules(world: World, kit: Kit) -> None:
    tickets = [_escalated(kit, world, hours=h, late=late) for h, late in ((2, False), (10, True), (30, False))]
    services.escalate(services.report_fault(kit.projector, actor=world.teacher_user_a, fault="power"),
                      actor=world.device_admin_a)  # escalated, not yet resolved
    (row,) = queries.integrator_league(world.alice)
    expected = rules.repair_times((t.created_at, t.resolved_at, t.fix_due) for t in tickets)  # type: ignore[misc]
    assert (row.company, row.tickets, row.resolved, row.within) == ("赣教科技", 4, 3, 2)
    assert row.mean_hours == expected.mean_hours == rules.mean_hours(42 * 3600, 3)
    assert row.within_percent == expected.within_percent
    summary = queries.repair_summary(world.alice)
    assert (summary.count, summary.within_deadline, summary.mean_hours) == (3, 2, expected.mean_hours)
    assert queries.integrator_league(world.bob) == []


@pytest.mark.django_db
def test_league_period_is_by_local_report_date(world: World, kit: Kit) -> None:
    t = _escalated(kit, world, hours=5, late=False)
    day = timezone.localtime(t.created_at).date()
    assert len(queries.integrator_league(world.alice, day, day)) == 1
    assert queries.integrator_league(world.alice, day + dt.timedelta(days=1), None) == []
    assert queries.integrator_league(world.alice, None, day - dt.timedelta(days=1)) == []
    assert queries.repair_summary(world.alice, day + dt.timedelta(days=1)).count == 0


@pytest.mark.django_db
def test_league_page_and_excel(world: World, kit: Kit, client: Client) -> None:
    _escalated(kit, world, hours=3, late=False)
    client.force_login(world.alice)
    page = client.get("/devices/figures/league/").content.decode()
    assert "赣教科技" in page and "100.0%" in page
    response = client.get("/devices/figures/league/?export=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:3] == ("名次", "集成商", "转交单数") and rows[1][:5] == (1, "赣教科技", 1, 1, 1)
    client.force_login(world.integrator_a)
    assert "赣教科技" in client.get("/devices/figures/league/").content.decode()
    client.force_login(world.bob)
    assert "赣教科技" not in client.get("/devices/figures/league/").content.decode()


@pytest.mark.django_db
def test_figures_export_to_excel(world: World, kit: Kit, client: Client) -> None:
    _escalated(kit, world, hours=3, late=True)
    client.force_login(world.alice)
    response = client.get("/devices/figures/?export=xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["完好率", "集成商排行", "型号故障率", "区域完好率"]
    assert [r[:3] for r in book["区域完好率"].iter_rows(min_row=2, values_only=True)] == [("文峰镇", 2, 0)]
    assert [r[0] for r in book["完好率"].iter_rows(min_row=2, values_only=True)] == ["文峰中心小学"]
    assert list(book["集成商排行"].iter_rows(min_row=2, values_only=True))[0][:5] == ("赣教科技", 1, 1, 0, 0.0)
    models = {(r[0], r[1]): r[3] for r in book["型号故障率"].iter_rows(min_row=2, values_only=True)}
    assert models[("爱普生", "CB-X06")] == 1


@pytest.mark.django_db
def test_intactness_per_school_region_and_total(world: World, kit: Kit) -> None:
    services.report_fault(kit.projector, actor=world.teacher_user_a, fault="lamp")
    services.report_fault(kit.projector, actor=world.teacher_user_a, fault="power")  # the same device twice
    spare = services.register_device(services.DeviceInput(school=world.school_a2, type="dvd", brand="步步高", model="D1",
                                                          serial="SPARE-1"), actor=world.alice)
    services.set_device_status(kit.old_tv, "scrapped", actor=world.alice)  # no longer counted
    alice = queries.intactness(world.alice)
    assert [(r.name, r.in_service, r.faulty) for r in alice.schools] == [("文峰中心小学", 1, 1), ("文峰村小", 1, 0)]
    assert [(r.name, r.in_service, r.faulty, r.rate) for r in alice.regions] == [
        ("文峰镇", 2, 1, rules.intactness(2, 1))]
    assert (alice.total.in_service, alice.total.faulty, str(alice.total.rate)) == (2, 1, "50.0")
    assert [(r.name, r.in_service) for r in queries.intactness(world.bob).regions] == [("金川镇", 1)]
    assert queries.intactness(world.device_admin_a).regions == []  # placed on a school: per school only
    assert spare.status == "in_use"


@pytest.mark.django_db
def test_dashboard_shows_open_and_overdue_counts_in_scope(world: World, kit: Kit, client: Client) -> None:
    late = services.report_fault(kit.projector, actor=world.teacher_user_a, fault="lamp")
    services.report_fault(kit.old_tv, actor=world.teacher_user_a, fault="no_sound")
    Ticket.objects.filter(pk=late.pk).update(fix_due=timezone.now() - dt.timedelta(hours=1))
    services.report_fault(kit.device_b, actor=world.bob, fault="lamp")
    assert queries.open_counts(world.alice) == {"open": 2, "overdue": 1}
    client.force_login(world.alice)
    page = client.get("/").content.decode()
    assert 'data-figure="open-tickets">2' in page and "超时 1" in page
    client.force_login(world.bob)
    page = client.get("/").content.decode()
    assert 'data-figure="open-tickets">1' in page and "超时" not in page.split('data-figure="open-tickets"')[1][:80]


# --- for core/tests/test_scope_every_url.py --------------------------------------------------------


def league_case(w: World, client: Client) -> None:
    """The league page: an escalation in county A shows for alice, not for bob."""
    company = Company.objects.create(region=w.county_a, name="赣教科技", kind=Company.Kind.INTEGRATOR)
    today = timezone.localdate()
    device = services.register_device(services.DeviceInput(
        school=w.school_a, type="projector", brand="爱普生", model="CB-X06", serial="LEAGUE-1", integrator=company,
        purchase_date=today, warranty_end=today + dt.timedelta(days=365)), actor=w.alice)
    services.escalate(services.report_fault(device, actor=w.teacher_user_a, fault="lamp"), actor=w.device_admin_a)
    client.force_login(w.alice)
    assert "赣教科技" in client.get("/devices/figures/league/").content.decode()
    client.force_login(w.bob)
    response = client.get("/devices/figures/league/")
    assert response.status_code == 200 and "赣教科技" not in response.content.decode()



@pytest.mark.django_db
def test_figures_page_lists_the_least_intact_schools_when_there_are_many(
    world: World, kit: Kit, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    figures_view = importlib.import_module("banbantong.devices.views.figures")  # the module, not its view
    services.register_device(services.DeviceInput(school=world.school_a2, type="dvd", brand="步步高", model="D1",
                                                  serial="SPARE-2"), actor=world.alice)
    services.report_fault(kit.projector, actor=world.teacher_user_a, fault="lamp")  # 文峰中心小学: 0% intact
    monkeypatch.setattr(figures_view, "SCHOOLS_ON_PAGE", 1)
    client.force_login(world.alice)
    page = client.get("/devices/figures/").content.decode()
    schools = page[page.index("各校完好率"):]
    assert "共 2 所学校，这里列出完好率最低的 1 所" in schools
    assert world.school_a.name in schools and world.school_a2.name not in schools
    # The export still has every school; bob's county is in neither.
    response = client.get("/devices/figures/?export=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["完好率"]  # type: ignore[attr-defined]
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == [world.school_a.name, world.school_a2.name]
    assert world.school_b.name not in page
    # Few enough schools: all of them, no note.
    monkeypatch.setattr(figures_view, "SCHOOLS_ON_PAGE", 300)
    page = client.get("/devices/figures/").content.decode()
    assert "这里列出完好率最低" not in page and world.school_a2.name in page[page.index("各校完好率"):]


def test_least_intact_keeps_the_order_given() -> None:
    rows = [queries.IntactRow(name, n, f) for name, n, f in (("甲", 10, 1), ("乙", 4, 4), ("丙", 10, 0), ("丁", 5, 2))]
    assert [r.name for r in queries.least_intact(rows, 2)] == ["乙", "丁"]
    assert [r.name for r in queries.least_intact(rows, 3)] == ["甲", "乙", "丁"]
    assert queries.least_intact(rows, 4) == rows


@pytest.mark.django_db
def test_a_company_that_fixed_nothing_ranks_last_with_no_rate(world: World, kit: Kit, client: Client) -> None:
    from decimal import Decimal

    _escalated(kit, world, hours=3, late=True)  # 赣教科技: one fixed, late: 0 %
    idle = Company.objects.create(region=world.county_a, name="拖延科技", kind=Company.Kind.INTEGRATOR)
    waiting = services.report_fault(kit.projector, actor=world.teacher_user_a, fault="power")
    Ticket.objects.filter(pk=waiting.pk).update(escalated_to=idle)
    assert [(r.company, r.resolved, r.within_percent, r.mean_hours) for r in queries.integrator_league(world.alice)] == [
        ("赣教科技", 1, Decimal("0.0"), rules.mean_hours(3 * 3600, 1)), ("拖延科技", 0, None, None)]
    client.force_login(world.alice)
    page = client.get("/devices/figures/league/").content.decode()
    idle_row = page[page.index("拖延科技"):].split("</tr>")[0]
    assert idle_row.count("—") == 2 and "100.0%" not in page
    sheet = load_workbook(io.BytesIO(b"".join(
        client.get("/devices/figures/league/?export=xlsx").streaming_content))).active  # type: ignore[attr-defined]
    assert list(sheet.iter_rows(values_only=True))[2] == (2, "拖延科技", 1, 0, 0, None, None)  # type: ignore[union-attr]
    client.force_login(world.bob)  # out of scope: neither company
    assert "拖延科技" not in client.get("/devices/figures/league/").content.decode()
