"""Device pages in English: column headers, device types, statuses and ticket states."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from banbantong.conftest import World
from banbantong.devices import services
from banbantong.devices.models import DeviceEvent, Ticket
from banbantong.devices.tests.conftest import Kit


@pytest.mark.django_db
def test_device_register_in_english_and_in_chinese(world: World, kit: Kit, client: Client) -> None:
    client.force_login(world.alice)
    chinese = client.get("/devices/").content.decode()
    assert "资产编号" in chinese and "投影仪" in chinese and "在用" in chinese

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/devices/").content.decode()
    assert "Asset tag" in english and "Warranty until" in english
    assert "Projector" in english and "LCD TV" in english and "In use" in english
    assert "资产编号" not in english and "投影仪" not in english
    # bob's county's device is not listed in either language.
    assert kit.device_b.asset_tag not in english


@pytest.mark.django_db
def test_ticket_list_in_english(world: World, kit: Kit, client: Client) -> None:
    ticket = services.report_fault(kit.projector, fault=Ticket.Fault.NO_PICTURE, actor=world.device_admin_a)
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/devices/tickets/").content.decode()
    assert "Ticket no." in english and "Priority" in english
    assert "No picture / projector dark" in english and "Open" in english
    assert f">{ticket.pk}<" in english


@pytest.mark.django_db
def test_history_written_during_an_english_request_is_chinese(world: World, kit: Kit) -> None:
    with translation.override("en"):
        services.set_device_status(kit.projector, "spare", actor=world.alice)
    assert DeviceEvent.objects.filter(device=kit.projector, kind="状态：备用").exists()
    assert not DeviceEvent.objects.filter(kind__contains="Spare").exists()


@pytest.mark.django_db
def test_sla_page_names_the_platform_default_in_the_page_language(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/devices/sla/?region={world.county_a.pk}"
    assert "平台默认" in client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert "platform default" in english and "平台默认" not in english
    # Out of scope in either language.
    assert client.get(f"/devices/sla/?region={world.county_b.pk}").status_code == 404
