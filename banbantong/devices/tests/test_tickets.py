"""Tickets: lifecycle, deadlines, concurrency, escalation to the integrator, who sees what."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from banbantong.conftest import World
from banbantong.devices import services
from banbantong.devices.models import Device, Ticket


def _ticket(kit: object, world: World, device: str = "projector") -> Ticket:
    return services.report_fault(getattr(kit, device), actor=world.teacher_user_a, fault="lamp", description="灯泡闪")


@pytest.mark.django_db
def test_lifecycle_and_device_status(world: World, kit: object) -> None:
    t = _ticket(kit, world)
    t = services.change_ticket(t, actor=world.device_admin_a, state="assigned", assignee=world.device_admin_a)
    assert t.responded_at is not None
    t = services.change_ticket(t, actor=world.device_admin_a, state="in_progress")
    assert Device.objects.get(pk=t.device_id).status == "repair"
    with pytest.raises(ValidationError, match="处理结果"):
        services.change_ticket(t, actor=world.device_admin_a, state="resolved")
    t = services.change_ticket(t, actor=world.device_admin_a, state="resolved", outcome="part_replaced", note="换灯泡")
    assert Device.objects.get(pk=t.device_id).status == "in_use"
    t = services.change_ticket(t, actor=world.device_admin_a, state="closed")
    with pytest.raises(ValidationError, match="原因"):
        services.change_ticket(t, actor=world.device_admin_a, state="open")
    t = services.change_ticket(t, actor=world.device_admin_a, state="open", reason="又坏了")
    assert t.state == "open" and t.outcome == ""


@pytest.mark.django_db
def test_stale_save_is_a_conflict_and_nothing_is_overwritten(world: World, kit: object) -> None:
    t = _ticket(kit, world)
    seen = t.version
    services.change_ticket(t, actor=world.principal_a, state="assigned", assignee=world.device_admin_a,
                           expected_version=seen)
    with pytest.raises(services.Conflict) as exc:
        services.change_ticket(t, actor=world.device_admin_a, state="assigned", assignee=world.principal_a,
                               expected_version=seen)
    assert "device_a" in str(exc.value) or "已指派" in str(exc.value)
    assert Ticket.objects.get(pk=t.pk).assignee == world.device_admin_a


@pytest.mark.django_db
def test_closing_twice_changes_state_once(world: World, kit: object) -> None:
    t = services.change_ticket(_ticket(kit, world), actor=world.device_admin_a, state="resolved", outcome="repaired")
    version = t.version
    services.change_ticket(t, actor=world.device_admin_a, state="closed", expected_version=version)
    with pytest.raises(ValidationError):
        services.change_ticket(t, actor=world.principal_a, state="closed", expected_version=version)
    t.refresh_from_db()
    assert t.version == version + 1


@pytest.mark.django_db
def test_escalation_only_under_warranty_and_integrator_scope(world: World, kit: object, client: Client) -> None:
    under = _ticket(kit, world)
    expired = _ticket(kit, world, "old_tv")
    with pytest.raises(ValidationError, match="保修期"):
        services.escalate(expired, actor=world.device_admin_a)
    services.escalate(under, actor=world.device_admin_a)
    visible = set(Ticket.objects.for_user(world.integrator_a).values_list("id", flat=True))
    assert visible == {under.pk}
    client.force_login(world.integrator_a)
    assert client.get(f"/devices/tickets/{expired.pk}/").status_code == 404
    assert client.get(f"/devices/tickets/{under.pk}/").status_code == 200
    services.change_ticket(under, actor=world.integrator_a, state="resolved", outcome="repaired")


@pytest.mark.django_db
def test_replacement_registers_and_links_the_new_device(world: World, kit: object) -> None:
    t = _ticket(kit, world)
    new = services.replace_device(t, services.DeviceInput(school=world.school_a, type="projector", brand="爱普生",
                                                          model="CB-X50", serial="EPX50-1"), actor=world.device_admin_a)
    old = Device.objects.get(pk=kit.projector.pk)  # type: ignore[attr-defined]
    assert old.status == "scrapped" and new.replaces == old and new.classroom == old.classroom
    t.refresh_from_db()
    assert (t.state, t.outcome) == ("resolved", "device_replaced")


@pytest.mark.django_db
def test_ticket_page_actions_and_conflict_message(world: World, kit: object, client: Client) -> None:
    t = _ticket(kit, world)
    client.force_login(world.device_admin_a)
    client.post(f"/devices/tickets/{t.pk}/", {"action": "in_progress", "version": t.version})
    response = client.post(f"/devices/tickets/{t.pk}/", {"action": "resolved", "outcome": "repaired",
                                                         "version": t.version}, follow=True)
    assert "另一次修改" in response.content.decode()
    t.refresh_from_db()
    assert t.state == "in_progress"
    client.force_login(world.teacher_user_a)
    client.post(f"/devices/tickets/{t.pk}/", {"action": "closed", "version": t.version})
    t.refresh_from_db()
    assert t.state == "in_progress"


@pytest.mark.django_db
def test_my_work_and_figures(world: World, kit: object, client: Client) -> None:
    t = _ticket(kit, world)
    client.force_login(world.device_admin_a)
    assert f"#{t.pk}" in client.get("/devices/my/").content.decode()
    services.escalate(t, actor=world.device_admin_a)
    services.change_ticket(t, actor=world.integrator_a, state="resolved", outcome="repaired")
    client.force_login(world.alice)
    page = client.get("/devices/figures/").content.decode()
    assert "赣教科技" in page and "CB-X06" in page
    client.force_login(world.bob)
    page = client.get("/devices/figures/").content.decode()
    assert "赣教科技" not in page


@pytest.mark.django_db
def test_ticket_list_filters(world: World, kit: object, client: Client) -> None:
    lamp = _ticket(kit, world)
    power = services.report_fault(kit.old_tv, actor=world.teacher_user_a, fault="power")  # type: ignore[attr-defined]
    services.report_fault(kit.device_b, actor=world.bob, fault="lamp")  # type: ignore[attr-defined]
    client.force_login(world.alice)

    def shown(query: str) -> set[int]:
        response = client.get(f"/devices/tickets/?{query}")
        assert response.status_code == 200
        return {row[0][0] for row in response.context["table"]}

    assert shown("") == {lamp.pk, power.pk}
    assert shown("fault=power") == {power.pk}
    assert shown("priority=urgent") == {power.pk}
    assert shown(f"school={world.school_a.pk}&state=open_all") == {lamp.pk, power.pk}
    assert shown(f"school={world.school_a2.pk}") == set()
    assert shown("q=文峰") == {lamp.pk, power.pk}
    assert shown("fault=hologram") == {lamp.pk, power.pk}  # an unknown value filters nothing
    assert client.get(f"/devices/tickets/?school={world.school_b.pk}").status_code == 404


@pytest.mark.django_db
def test_replace_from_the_ticket_page(world: World, kit: object, client: Client) -> None:
    from banbantong.core.models import AuditEntry

    t = _ticket(kit, world)
    old: Device = kit.projector  # type: ignore[attr-defined]
    client.force_login(world.device_admin_a)
    form = {"action": "replace", "version": t.version, "type": "flat_panel", "brand": "希沃", "model": "F86EA",
            "serial": "CVTE-1", "purchase_date": "2026-09-01", "warranty_end": "2029-08-31", "price": "12800"}
    page = client.post(f"/devices/tickets/{t.pk}/", form, follow=True).content.decode()
    assert "旧设备已报废" in page
    new = Device.objects.get(serial="CVTE-1")
    assert (new.replaces_id, new.classroom_id, new.integrator_id, new.type) == (
        old.pk, old.classroom_id, old.integrator_id, "flat_panel")
    assert Device.objects.get(pk=old.pk).status == "scrapped"
    t.refresh_from_db()
    assert (t.state, t.outcome) == ("resolved", "device_replaced")
    assert AuditEntry.objects.filter(object_type="devices.Device", object_id=str(old.pk), action="update").exists()
    assert old.events.filter(kind="更换整机").exists() and new.events.filter(kind="替换旧设备").exists()


@pytest.mark.django_db
def test_replace_with_bad_input_changes_nothing(world: World, kit: object, client: Client) -> None:
    t = _ticket(kit, world)
    old: Device = kit.projector  # type: ignore[attr-defined]
    client.force_login(world.device_admin_a)
    devices = Device.objects.count()
    for bad, message in (({"serial": "HX55-0001"}, "已登记过"), ({"warranty_end": "2020-01-01"}, "早于购置日期"),
                         ({"type": "hologram"}, "未知的设备类型"), ({"price": "很贵"}, "不是数字"),
                         ({"purchase_date": "2026/13/01"}, "格式不对")):
        form = {"action": "replace", "version": t.version, "type": "projector", "brand": "爱普生", "model": "CB-X50",
                "serial": "NEW-1", "purchase_date": "2026-09-01", **bad}
        page = client.post(f"/devices/tickets/{t.pk}/", form, follow=True).content.decode()
        assert message in page, bad
    assert Device.objects.count() == devices
    assert Device.objects.get(pk=old.pk).status == "in_use"
    t.refresh_from_db()
    assert (t.state, t.version) == ("open", 1)
    closed = services.change_ticket(t, actor=world.device_admin_a, state="resolved", outcome="repaired")
    with pytest.raises(ValidationError, match="重新打开"):
        services.replace_device(closed, services.DeviceInput(school=world.school_a, type="projector", brand="爱普生",
                                                             model="X", serial="NEW-2"), actor=world.device_admin_a)
    assert not Device.objects.filter(serial="NEW-2").exists()


@pytest.mark.django_db
def test_reopen_with_reason_from_the_page_and_closing_twice(world: World, kit: object, client: Client) -> None:
    t = services.change_ticket(_ticket(kit, world), actor=world.device_admin_a, state="resolved", outcome="repaired")
    client.force_login(world.device_admin_a)
    page = client.post(f"/devices/tickets/{t.pk}/", {"action": "open", "version": t.version, "reason": " "},
                       follow=True).content.decode()
    assert "必须填写原因" in page
    t.refresh_from_db()
    assert t.state == "resolved"
    client.post(f"/devices/tickets/{t.pk}/", {"action": "open", "version": t.version, "reason": "又不亮了"})
    t.refresh_from_db()
    assert t.state == "open" and t.comments.filter(text="又不亮了").exists()
    t = services.change_ticket(t, actor=world.device_admin_a, state="resolved", outcome="repaired")
    # Two people press 关闭 on the same page: the second finds it changed; the state moves once.
    for _ in range(2):
        client.post(f"/devices/tickets/{t.pk}/", {"action": "closed", "version": t.version})
    after = Ticket.objects.get(pk=t.pk)
    assert (after.state, after.version) == ("closed", t.version + 1)


@pytest.mark.django_db
def test_ticket_list_count_stops_at_the_limit(world: World, kit: object, client: Client,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from banbantong.devices.views import tickets as ticket_views

    made = [_ticket(kit, world) for _ in range(3)]
    assert Ticket.objects.all().count_at_most(1).count() == 2  # stops after limit + 1 rows
    assert Ticket.objects.all().count_at_most(5).count() == 3
    assert Ticket.objects.all().count_at_most(1)[:10].count() == 3  # a slice counts as before
    from banbantong.core import listing

    # One row a page, and a count that stops at a page beyond the one asked for.
    monkeypatch.setattr(ticket_views, "LIST_COUNT_LIMIT", 1)
    monkeypatch.setattr(ticket_views, "PAGE_SIZE", 1)
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    client.force_login(world.alice)
    page = client.get("/devices/tickets/").content.decode()
    assert "超过 2 条" in page and f">{made[-1].pk}</a>" in page and "page=2" in page and "末页" not in page
    page = client.get("/devices/tickets/?page=2").content.decode()
    assert "共 3 条" in page and f">{made[1].pk}</a>" in page and "第 2 / 3 页" in page


@pytest.mark.django_db
def test_scope_is_the_same_whichever_index_serves_it(world: World, kit: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from banbantong.devices import models as device_models

    a = _ticket(kit, world)
    services.escalate(a, actor=world.device_admin_a)
    _ticket(kit, world, "old_tv")
    services.report_fault(kit.device_b, actor=world.bob, fault="lamp")  # type: ignore[attr-defined]
    users = (world.alice, world.bob, world.device_admin_a, world.integrator_a, world.teacher_user_a)

    def seen() -> list[set[int]]:
        return [set(Ticket.objects.for_user(u).values_list("id", flat=True)) for u in users]

    by_school_index = seen()
    monkeypatch.setattr(device_models, "FEW_SCHOOLS", 0)  # every scope takes the school_id + 0 way
    assert seen() == by_school_index
    assert by_school_index[0] == set(Ticket.objects.filter(school__in=[world.school_a, world.school_a2])
                                     .values_list("id", flat=True))
    assert by_school_index[3] == {a.pk}
