"""Registering devices: bad input is a clear message and nothing is written; scope is enforced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from banbantong.conftest import World
from banbantong.devices import services
from banbantong.devices.models import Device


def _input(world: World, **kw: object) -> services.DeviceInput:
    base: dict[str, object] = {"school": world.school_a, "type": "projector", "brand": "明基", "model": "MX", "serial": "NEW-1"}
    base.update(kw)
    return services.DeviceInput(**base)  # type: ignore[arg-type]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"serial": "EPX06-0001"}, "已登记过"),
        ({"type": "hologram"}, "未知的设备类型"),
        ({"purchase_date": dt.date(2025, 5, 1), "warranty_end": dt.date(2024, 5, 1)}, "保修截止日期早于购置日期"),
        ({"price": -3}, "负数"),
    ],
)
def test_bad_input(world: World, kit: object, kw: dict, message: str) -> None:
    before = Device.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.register_device(_input(world, **kw), actor=world.alice)
    assert Device.objects.count() == before


@pytest.mark.django_db
def test_classroom_of_another_school(world: World, kit: object) -> None:
    from banbantong.org.models import Classroom

    room_b = Classroom.objects.create(school=world.school_b, name="101")
    with pytest.raises(ValidationError, match="不属于该学校"):
        services.register_device(_input(world, classroom=room_b), actor=world.alice)


@pytest.mark.django_db
def test_out_of_scope_school_and_wrong_role(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.register_device(_input(world), actor=world.bob)
    with pytest.raises(PermissionDenied):
        services.register_device(_input(world), actor=world.teacher_user_a)


@pytest.mark.django_db
def test_asset_tag_generated_and_history(world: World, kit: object) -> None:
    device = services.register_device(_input(world), actor=world.device_admin_a)
    assert device.asset_tag == f"BBT{device.pk:08d}"
    assert device.events.get().kind == "登记"


@pytest.mark.django_db
def test_register_page(world: World, client: Client) -> None:
    client.force_login(world.device_admin_a)
    response = client.post("/devices/new/", {"school": world.school_a.pk, "type": "computer", "brand": "联想",
                                             "model": "M720", "serial": "LX-1"})
    assert response.status_code == 302
    client.force_login(world.bob)
    response = client.post("/devices/new/", {"school": world.school_a.pk, "type": "computer", "brand": "联想",
                                             "model": "M720", "serial": "LX-2"})
    assert response.status_code == 200 and not Device.objects.filter(serial="LX-2").exists()


@pytest.mark.django_db
def test_device_list_export_in_scope(world: World, kit: object, client: Client) -> None:
    import io

    import openpyxl

    client.force_login(world.alice)
    response = client.get("/devices/?export=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    serials = [r[6].value for r in wb.active.iter_rows(min_row=2)]
    assert sorted(serials) == ["EPX06-0001", "HX55-0001"]


@pytest.mark.django_db
def test_labels_pdf(world: World, kit: object, client: Client) -> None:
    client.force_login(world.device_admin_a)
    response = client.get(f"/devices/labels.pdf?school={world.school_a.pk}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    client.force_login(world.bob)
    assert client.get(f"/devices/labels.pdf?school={world.school_a.pk}").status_code == 404
