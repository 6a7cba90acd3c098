"""API for devices and the repair desk: each endpoint with a user in scope and one out of it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from banbantong.conftest import World
from banbantong.devices import services
from banbantong.devices.models import Company, Device, Ticket
from banbantong.devices.tests.conftest import Kit

API = "/api/v1"


def _get(client: Client, user: Any, url: str) -> tuple[int, Any]:
    client.force_login(user)
    response = client.get(url)
    return response.status_code, response.json()


def _post(client: Client, user: Any, url: str, payload: dict[str, Any]) -> tuple[int, Any]:
    client.force_login(user)
    response = client.post(url, json.dumps(payload), content_type="application/json")
    return response.status_code, response.json()


def _ticket(kit: Kit, world: World, device: str = "projector") -> Ticket:
    return services.report_fault(getattr(kit, device), actor=world.teacher_user_a, fault="lamp", description="灯泡闪")


NOT_FOUND = {"message": "对象不存在或不在您的管辖范围内"}


# --- devices --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_devices_in_scope_with_filters(world: World, kit: Kit, client: Client) -> None:
    status, body = _get(client, world.alice, f"{API}/devices")
    assert status == 200 and body["count"] == 2
    assert sorted(d["serial"] for d in body["items"]) == ["EPX06-0001", "HX55-0001"]
    status, body = _get(client, world.bob, f"{API}/devices")
    assert [d["serial"] for d in body["items"]] == ["EPX06-0002"]

    def serials(query: str) -> list[str]:
        return [d["serial"] for d in _get(client, world.alice, f"{API}/devices?{query}")[1]["items"]]

    assert serials("type=lcd_tv") == ["HX55-0001"]
    assert serials("q=爱普生") == ["EPX06-0001"]
    assert serials(f"school={world.school_a.pk}&status=in_use") == ["EPX06-0001", "HX55-0001"]
    assert serials("limit=1&offset=1") == ["HX55-0001"]
    assert _get(client, world.alice, f"{API}/devices?school={world.school_b.pk}") == (404, NOT_FOUND)
    status, body = _get(client, world.alice, f"{API}/devices?type=hologram")
    assert status == 400 and body["message"].startswith("未知的设备类型“hologram”")


@pytest.mark.django_db
def test_device_detail(world: World, kit: Kit, client: Client) -> None:
    status, body = _get(client, world.device_admin_a, f"{API}/devices/{kit.projector.pk}")
    assert status == 200
    assert (body["serial"], body["type_label"], body["classroom"], body["integrator_name"]) == (
        "EPX06-0001", "投影仪", "301", "赣教科技")
    assert body["under_warranty"] is True and body["events"][0]["kind"] == "登记"
    assert _get(client, world.bob, f"{API}/devices/{kit.projector.pk}") == (404, NOT_FOUND)
    assert _get(client, world.integrator_a, f"{API}/devices/{kit.device_b.pk}")[0] == 404


@pytest.mark.django_db
def test_register_device(world: World, kit: Kit, client: Client) -> None:
    payload = {"school_id": world.school_a.pk, "type": "computer", "brand": "联想", "model": "M720", "serial": "API-1",
               "price": "4200.00", "purchase_date": "2025-09-01", "warranty_end": "2028-09-01",
               "integrator_id": kit.company.pk}
    status, body = _post(client, world.device_admin_a, f"{API}/devices", payload)
    assert status == 201 and body["asset_tag"].startswith("BBT") and body["price"] == 4200.0
    assert body["integrator_name"] == "赣教科技"
    # bob's county does not hold school A: 404, and nothing is written.
    assert _post(client, world.bob, f"{API}/devices", {**payload, "serial": "API-2"}) == (404, NOT_FOUND)
    status, body = _post(client, world.teacher_user_a, f"{API}/devices", {**payload, "serial": "API-3"})
    assert status == 403 and "电教管理员" in body["message"]
    status, body = _post(client, world.alice, f"{API}/devices", {**payload, "serial": "API-1"})
    assert status == 400 and "已登记过" in body["message"]
    status, body = _post(client, world.alice, f"{API}/devices",
                         {**payload, "serial": "API-4", "warranty_end": "2020-01-01"})
    assert (status, body["message"]) == (400, "保修截止日期早于购置日期。")
    status, body = _post(client, world.alice, f"{API}/devices",
                         {**payload, "serial": "API-5", "integrator_id": kit.other_company.pk})
    assert status == 400 and "通讯录中没有" in body["message"]
    assert set(Device.objects.filter(serial__startswith="API").values_list("serial", flat=True)) == {"API-1"}


@pytest.mark.django_db
def test_figures(world: World, kit: Kit, client: Client) -> None:
    _ticket(kit, world)
    status, body = _get(client, world.alice, f"{API}/devices/figures?start=2020-01-01&end=2099-12-31")
    assert status == 200
    assert body["intactness"]["total"] == {"in_service": 2, "faulty": 1, "rate": 50}
    assert [(r["model"], r["failures"]) for r in body["failures"]] == [("CB-X06", 1), ("HZ55", 0)]
    assert body["start"] == "2020-01-01" and body["league"] == []
    status, body = _get(client, world.bob, f"{API}/devices/figures")
    assert body["intactness"]["schools"] == [{"school": "金川中心小学", "in_service": 1, "faulty": 0, "rate": 100}]
    assert "CB-X06" not in json.dumps(body["intactness"]) and body["failures"][0]["failures"] == 0
    # Nothing repaired yet in bob's county: no made-up 100 % or 0 hours.
    assert body["repair"] == {"resolved": 0, "mean_hours": None, "within_deadline": 0, "within_percent": None}


@pytest.mark.django_db
def test_figures_with_no_devices_say_so(world: World, client: Client) -> None:
    status, body = _get(client, world.alice, f"{API}/devices/figures")
    assert status == 200 and body["intactness"]["total"] == {"in_service": 0, "faulty": 0, "rate": None}
    client.force_login(world.alice)
    page = client.get("/devices/figures/").content.decode()
    assert "100.0<small>%" not in page and page.count("<div class=\"value\">—</div>") == 3


# --- tickets --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_report_fault(world: World, kit: Kit, client: Client) -> None:
    url = f"{API}/devices/{kit.projector.pk}/tickets"
    status, body = _post(client, world.teacher_user_a, url, {"fault": "no_picture", "description": "投影不亮"})
    assert status == 201 and (body["source"], body["priority"], body["state"]) == ("api", "urgent", "open")
    assert _post(client, world.bob, url, {"fault": "lamp"}) == (404, NOT_FOUND)
    status, body = _post(client, world.teacher_user_a, url, {"fault": "smoke"})
    assert (status, body["message"]) == (400, "请选择故障类型。")
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_list_tickets_and_detail(world: World, kit: Kit, client: Client) -> None:
    late = _ticket(kit, world)
    Ticket.objects.filter(pk=late.pk).update(fix_due=timezone.now() - dt.timedelta(hours=1))
    fine = _ticket(kit, world, "old_tv")
    services.report_fault(kit.device_b, actor=world.bob, fault="lamp")

    def ids(user: Any, query: str = "") -> list[int]:
        return [t["id"] for t in _get(client, user, f"{API}/tickets?{query}")[1]["items"]]

    assert ids(world.alice) == [fine.pk, late.pk]
    assert ids(world.alice, "overdue=true") == [late.pk]
    assert ids(world.alice, "state=open_all") == [fine.pk, late.pk]
    assert ids(world.alice, "state=closed") == []
    assert ids(world.alice, f"school={world.school_a.pk}") == [fine.pk, late.pk]
    assert len(ids(world.bob)) == 1 and late.pk not in ids(world.bob)
    assert _get(client, world.alice, f"{API}/tickets?school={world.school_b.pk}") == (404, NOT_FOUND)

    status, body = _get(client, world.principal_a, f"{API}/tickets/{late.pk}")
    assert status == 200 and body["overdue"] is True and body["comments"][0]["text"] == "灯泡闪"
    assert body["reporter_name"] == "王老师"
    assert _get(client, world.bob, f"{API}/tickets/{late.pk}") == (404, NOT_FOUND)
    # The integrator sees a ticket only once it is escalated to its company.
    assert _get(client, world.integrator_a, f"{API}/tickets/{late.pk}")[0] == 404


@pytest.mark.django_db
def test_change_state_and_stale_version(world: World, kit: Kit, client: Client) -> None:
    t = _ticket(kit, world)
    url = f"{API}/tickets/{t.pk}/state"
    seen = t.version
    status, body = _post(client, world.device_admin_a, url,
                         {"state": "assigned", "expected_version": seen, "assignee_id": world.principal_a.pk})
    assert status == 200 and (body["state"], body["assignee_id"], body["version"]) == (
        "assigned", world.principal_a.pk, seen + 1)
    # A second client still holding the old version: 409 with what the ticket is now; nothing overwritten.
    status, body = _post(client, world.principal_a, url, {"state": "resolved", "expected_version": seen,
                                                          "outcome": "repaired"})
    assert status == 409 and "另一次修改" in body["message"]
    assert (body["current"]["state"], body["current"]["version"]) == ("assigned", seen + 1)
    assert _post(client, world.bob, url, {"state": "closed", "expected_version": seen + 1}) == (404, NOT_FOUND)
    status, body = _post(client, world.teacher_user_a, url, {"state": "closed", "expected_version": seen + 1})
    assert status == 403
    status, body = _post(client, world.device_admin_a, url,
                         {"state": "assigned", "expected_version": seen + 1, "assignee_id": world.bob.pk})
    assert (status, body["message"]) == (400, "处理人必须是本校的电教管理员或学校管理员。")
    status, body = _post(client, world.device_admin_a, url, {"state": "resolved", "expected_version": seen + 1})
    assert status == 400 and "处理结果" in body["message"]
    status, body = _post(client, world.device_admin_a, url, {"state": "resolved", "expected_version": seen + 1,
                                                             "outcome": "part_replaced", "note": "换灯泡"})
    assert status == 200 and body["outcome"] == "part_replaced"
    t.refresh_from_db()
    assert (t.state, t.version) == ("resolved", seen + 2)


@pytest.mark.django_db
def test_escalate(world: World, kit: Kit, client: Client) -> None:
    t = _ticket(kit, world)
    expired = _ticket(kit, world, "old_tv")
    assert _post(client, world.bob, f"{API}/tickets/{t.pk}/escalate", {}) == (404, NOT_FOUND)
    status, body = _post(client, world.device_admin_a, f"{API}/tickets/{expired.pk}/escalate", {})
    assert status == 400 and "保修期" in body["message"]
    status, body = _post(client, world.device_admin_a, f"{API}/tickets/{t.pk}/escalate", {"expected_version": 99})
    assert status == 409 and body["current"]["escalated_to_id"] is None
    status, body = _post(client, world.device_admin_a, f"{API}/tickets/{t.pk}/escalate",
                         {"expected_version": t.version})
    assert status == 200 and body["escalated_to_name"] == "赣教科技"
    assert _get(client, world.integrator_a, f"{API}/tickets/{t.pk}")[0] == 200


@pytest.mark.django_db
def test_my_tickets(world: World, kit: Kit, client: Client) -> None:
    t = _ticket(kit, world)
    assert [x["id"] for x in _get(client, world.device_admin_a, f"{API}/tickets/mine")[1]["items"]] == [t.pk]
    assert _get(client, world.bob, f"{API}/tickets/mine")[1]["items"] == []
    assert _get(client, world.integrator_a, f"{API}/tickets/mine")[1]["items"] == []


@pytest.mark.django_db
def test_anonymous_is_401(world: World, kit: Kit, client: Client) -> None:
    response = client.get(f"{API}/devices")
    assert response.status_code == 401 and response.json() == {"message": "未登录或令牌无效"}


# --- for core/tests/test_scope_every_url.py --------------------------------------------------------


def api_post_case(name: str) -> Callable[[World, Client], None]:
    """A POST endpoint: a user out of scope gets 404 and changes nothing; one in scope succeeds."""

    def check(w: World, client: Client) -> None:
        company = Company.objects.create(region=w.county_a, name="赣教科技", kind=Company.Kind.INTEGRATOR)
        today = timezone.localdate()
        device = services.register_device(services.DeviceInput(
            school=w.school_a, type="projector", brand="爱普生", model="CB-X06", serial="SCOPE-1", integrator=company,
            purchase_date=today, warranty_end=today + dt.timedelta(days=365)), actor=w.alice)
        ticket = services.report_fault(device, actor=w.teacher_user_a, fault="lamp")
        cases: dict[str, tuple[str, dict[str, Any], Any]] = {
            "register_device": (f"{API}/devices", {"school_id": w.school_a.pk, "type": "dvd", "brand": "步步高",
                                                    "model": "D1", "serial": "SCOPE-2"}, w.device_admin_a),
            "report_fault": (f"{API}/devices/{device.pk}/tickets", {"fault": "lamp"}, w.teacher_user_a),
            "change_ticket_state": (f"{API}/tickets/{ticket.pk}/state",
                                    {"state": "in_progress", "expected_version": ticket.version}, w.device_admin_a),
            "escalate_ticket": (f"{API}/tickets/{ticket.pk}/escalate", {}, w.device_admin_a),
            "replace_device": (f"{API}/tickets/{ticket.pk}/replace", {"type": "projector", "brand": "爱普生",
                               "model": "CB-X50", "serial": "SCOPE-3", "expected_version": ticket.version},
                               w.device_admin_a),
        }
        url, payload, inside = cases[name]
        before = (Device.objects.count(), Ticket.objects.count(), Ticket.objects.get(pk=ticket.pk).version)
        assert _post(client, w.bob, url, payload) == (404, NOT_FOUND)
        assert (Device.objects.count(), Ticket.objects.count(), Ticket.objects.get(pk=ticket.pk).version) == before
        assert _post(client, inside, url, payload)[0] in (200, 201)

    return check
