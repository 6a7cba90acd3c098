"""Repair deadlines (SLA) per region: the rule, set_sla, inheritance, and the settings page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.devices import rules, services
from banbantong.devices.models import Sla
from banbantong.devices.tests.conftest import Kit

# --- the rule (pure) -------------------------------------------------------------------------------


def test_good_deadlines() -> None:
    assert rules.sla_problems(4, 48) == []
    assert rules.sla_problems(24, 24) == []


@pytest.mark.parametrize(
    ("respond", "fix", "message"),
    [
        (0, 24, "响应时限须为正整数小时"),
        (4, -1, "修复时限须为正整数小时"),
        (2.5, 24, "响应时限须为正整数小时"),
        ("4", 24, "响应时限须为正整数小时"),
        (True, 24, "响应时限须为正整数小时"),
        (4, rules.MAX_SLA_HOURS + 1, "修复时限不能超过 2160 小时"),
        (48, 24, "修复时限（24 小时）不能短于响应时限（48 小时）"),
    ],
)
def test_bad_deadlines(respond: object, fix: object, message: str) -> None:
    problems = rules.sla_problems(respond, fix)
    assert len(problems) == 1 and problems[0].startswith(message)


def _hours(delta: dt.timedelta) -> int:
    return round(delta.total_seconds() / 3600)


# --- set_sla -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bureau_admin_sets_and_new_tickets_use_it(world: World, kit: Kit) -> None:
    services.set_sla(world.county_a, "normal", 8, 36, actor=world.alice)

    ticket = services.report_fault(kit.projector, actor=world.teacher_user_a, fault="lamp")  # normal priority
    assert _hours(ticket.respond_due - ticket.created_at) == 8
    assert _hours(ticket.fix_due - ticket.created_at) == 36
    entry = AuditEntry.objects.get(object_type="devices.Sla")
    assert (entry.action, entry.actor, entry.region_path) == ("create", world.alice, world.county_a.path)
    assert entry.after == {"priority": "normal", "respond_hours": 8, "fix_hours": 36}
    # bob's tickets keep the defaults.
    other = services.report_fault(kit.device_b, actor=world.bob, fault="lamp")
    assert _hours(other.fix_due - other.created_at) == rules.DEFAULT_SLA_HOURS["normal"][1]


@pytest.mark.django_db
def test_unchanged_is_not_audited_and_change_records_before(world: World) -> None:
    services.set_sla(world.county_a, "high", 4, 48, actor=world.alice)
    services.set_sla(world.county_a, "high", 4, 48, actor=world.alice)
    assert AuditEntry.objects.filter(object_type="devices.Sla").count() == 1
    services.set_sla(world.county_a, "high", 6, 48, actor=world.alice)
    entry = AuditEntry.objects.filter(object_type="devices.Sla").latest("id")
    assert (entry.action, entry.before) == ("update", {"respond_hours": 4, "fix_hours": 48})
    assert Sla.objects.get(region=world.county_a, priority="high").respond_hours == 6


@pytest.mark.django_db
def test_who_may_set(world: World) -> None:
    for user in (world.bob, world.device_admin_a, world.principal_a, world.auditor_a, world.teacher_user_a):
        with pytest.raises(PermissionDenied):
            services.set_sla(world.county_a, "urgent", 1, 8, actor=user)
    with pytest.raises(PermissionDenied):  # the county admin may not change the city's deadlines
        services.set_sla(world.city, "urgent", 1, 8, actor=world.alice)
    services.set_sla(world.county_a, "urgent", 1, 8, actor=world.city_admin)
    assert not Sla.objects.exclude(region=world.county_a).exists()


@pytest.mark.django_db
def test_invalid_values_write_nothing(world: World) -> None:
    with pytest.raises(ValidationError, match="不能短于响应时限"):
        services.set_sla(world.county_a, "low", 48, 24, actor=world.alice)
    with pytest.raises(ValidationError, match="未知的优先级"):
        services.set_sla(world.county_a, "whenever", 48, 96, actor=world.alice)
    assert not Sla.objects.exists() and not AuditEntry.objects.filter(object_type="devices.Sla").exists()


@pytest.mark.django_db
def test_regions_inherit_from_above(world: World) -> None:
    services.set_sla(world.city, "urgent", 1, 12, actor=world.city_admin)
    services.set_sla(world.county_a, "urgent", 2, 10, actor=world.alice)
    rows = {r.priority: r for r in services.sla_rows(world.county_b)}
    assert (rows["urgent"].respond_hours, rows["urgent"].fix_hours, rows["urgent"].source) == (1, 12, "吉安市")
    assert (rows["low"].fix_hours, rows["low"].source, rows["low"].own) == (168, "平台默认", False)
    mine = {r.priority: r for r in services.sla_rows(world.county_a)}["urgent"]
    assert (mine.respond_hours, mine.fix_hours, mine.own) == (2, 10, True)
    assert services.sla_hours(world.school_a.region_path)["urgent"] == (2, 10)


# --- the page ----------------------------------------------------------------------------------------


def _form(**hours: tuple[object, object]) -> dict[str, object]:
    values: dict[str, tuple[object, object]] = {**rules.DEFAULT_SLA_HOURS, **hours}
    return {f"{p}_{k}": v for p, (r, f) in values.items() for k, v in (("respond", r), ("fix", f))}


@pytest.mark.django_db
def test_page_edit(world: World, client: Client) -> None:
    client.force_login(world.alice)
    page = client.get("/devices/sla/").content.decode()
    assert "维修时限 · 吉水县" in page and 'name="urgent_respond"' in page
    response = client.post(f"/devices/sla/?region={world.county_a.pk}", _form(urgent=(1, 12)), follow=True)
    assert "已保存吉水县的维修时限" in response.content.decode()
    assert [(s.priority, s.respond_hours, s.fix_hours) for s in Sla.objects.all()] == [("urgent", 1, 12)]


@pytest.mark.django_db
def test_page_errors_save_nothing(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post("/devices/sla/", _form(urgent=(1, 12), high=(48, 24), low=("abc", 168)))
    page = response.content.decode()
    assert response.status_code == 200
    assert "高：修复时限（24 小时）不能短于响应时限（48 小时）。" in page
    assert "低：响应时限须为正整数小时" in page and "没有保存任何修改" in page
    assert 'value="abc"' in page  # what was typed stays in the form
    assert not Sla.objects.exists()


@pytest.mark.django_db
def test_page_read_only_and_scope(world: World, client: Client) -> None:
    services.set_sla(world.county_a, "urgent", 1, 12, actor=world.alice)
    client.force_login(world.device_admin_a)
    page = client.get("/devices/sla/").content.decode()
    assert "文峰镇" in page and 'name="urgent_respond"' not in page and "<td class=\"num\">12</td>" in page
    assert client.post("/devices/sla/", _form(urgent=(2, 12))).status_code == 403
    client.force_login(world.auditor_a)
    assert client.post("/devices/sla/", _form(urgent=(2, 12))).status_code == 403
    client.force_login(world.bob)
    assert client.get(f"/devices/sla/?region={world.county_a.pk}").status_code == 404
    assert client.post(f"/devices/sla/?region={world.county_a.pk}", _form(urgent=(2, 12))).status_code == 404
    assert Sla.objects.get().respond_hours == 1
