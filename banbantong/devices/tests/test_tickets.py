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
