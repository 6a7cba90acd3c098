"""The public page behind a QR label: no login, reveals only classroom and type, rate-limited."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from banbantong.devices import services
from banbantong.devices.models import Device, Ticket
from banbantong.devices.services import tickets as ticket_services


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def _png() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return SimpleUploadedFile("坏了.png", buf.getvalue(), content_type="image/png")


@pytest.mark.django_db
def test_page_reveals_only_classroom_and_type(kit: object, client: Client) -> None:
    device: Device = kit.projector  # type: ignore[attr-defined]
    text = client.get(f"/devices/r/{device.qr_token}/").content.decode()
    assert "301" in text and "投影仪" in text
    for secret in (device.serial, device.asset_tag, device.brand, device.school.name, "赣教科技"):
        assert secret not in text


@pytest.mark.django_db
def test_report_without_login_creates_a_ticket(kit: object, client: Client) -> None:
    device: Device = kit.projector  # type: ignore[attr-defined]
    response = client.post(f"/devices/r/{device.qr_token}/",
                           {"fault": "no_picture", "description": "开机后蓝屏无信号", "phone": "13900001111", "photo": _png()})
    assert "已收到报修" in response.content.decode()
    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.priority, ticket.device_id) == ("qr", "urgent", device.pk)
    assert ticket.comments.get().photo


@pytest.mark.django_db
def test_unknown_and_scrapped(kit: object, client: Client) -> None:
    response = client.get("/devices/r/not-a-token/")
    assert response.status_code == 404 and "二维码无效" in response.content.decode()
    device: Device = kit.old_tv  # type: ignore[attr-defined]
    Device.objects.filter(pk=device.pk).update(status=Device.Status.SCRAPPED)
    response = client.post(f"/devices/r/{device.qr_token}/", {"fault": "power"})
    assert response.status_code == 410 and "已报废" in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_photo_that_is_not_an_image(kit: object, client: Client) -> None:
    device: Device = kit.projector  # type: ignore[attr-defined]
    fake = SimpleUploadedFile("x.jpg", b"MZ\x90\x00 this is an exe", content_type="image/jpeg")
    response = client.post(f"/devices/r/{device.qr_token}/", {"fault": "no_sound", "photo": fake})
    assert "不是图片" in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_photo_too_large(kit: object, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_services, "MAX_PHOTO_BYTES", 10)
    device: Device = kit.projector  # type: ignore[attr-defined]
    response = client.post(f"/devices/r/{device.qr_token}/", {"fault": "no_sound", "photo": _png()})
    assert "照片太大" in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_rate_limited_per_device(kit: object, client: Client) -> None:
    device: Device = kit.projector  # type: ignore[attr-defined]
    for i in range(services.QR_LIMIT_PER_DEVICE):
        client.post(f"/devices/r/{device.qr_token}/", {"fault": "no_sound"}, REMOTE_ADDR=f"10.0.0.{i}")
    response = client.post(f"/devices/r/{device.qr_token}/", {"fault": "no_sound"}, REMOTE_ADDR="10.0.1.1")
    assert "太频繁" in response.content.decode()
    assert Ticket.objects.count() == services.QR_LIMIT_PER_DEVICE


@pytest.mark.django_db
def test_rate_limited_per_ip(world: object, kit: object, client: Client) -> None:
    from banbantong.devices import services as s

    devices = [kit.projector, kit.old_tv]  # type: ignore[attr-defined]
    for i in range(s.QR_LIMIT_PER_IP):
        # Spread over devices so no single device reaches its own limit first.
        devices.append(s.register_device(s.DeviceInput(school=kit.projector.school, type="speakers", brand="惠威",  # type: ignore[attr-defined]
                                                       model="M200", serial=f"IP-{i}"), actor=None))
    for i in range(s.QR_LIMIT_PER_IP):
        client.post(f"/devices/r/{devices[i].qr_token}/", {"fault": "no_sound"}, REMOTE_ADDR="10.9.9.9")
    response = client.post(f"/devices/r/{devices[-1].qr_token}/", {"fault": "no_sound"}, REMOTE_ADDR="10.9.9.9")
    assert "太频繁" in response.content.decode()
    assert Ticket.objects.count() == s.QR_LIMIT_PER_IP
    response = client.post(f"/devices/r/{devices[-1].qr_token}/", {"fault": "no_sound"}, REMOTE_ADDR="10.9.9.10")
    assert "已收到报修" in response.content.decode()
