from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from banbantong.conftest import World
from banbantong.devices import services
from banbantong.devices.models import Company, Device
from banbantong.org.models import Classroom


@dataclass
class Kit:
    company: Company
    other_company: Company
    projector: Device  # school A, room 301, under warranty, integrator = company
    old_tv: Device  # school A, warranty over
    device_b: Device  # bob's county


@pytest.fixture
def kit(world: World) -> Kit:
    company = Company.objects.create(region=world.county_a, name="赣教科技", kind=Company.Kind.INTEGRATOR,
                                     after_sales_phone="0796-1234567")
    company.members.add(world.integrator_a)
    other = Company.objects.create(region=world.county_b, name="新干电子", kind=Company.Kind.INTEGRATOR)
    room = Classroom.objects.get(school=world.school_a, name="301")
    today = timezone.localdate()
    projector = services.register_device(services.DeviceInput(
        school=world.school_a, classroom=room, type="projector", brand="爱普生", model="CB-X06", serial="EPX06-0001",
        integrator=company, purchase_date=today - dt.timedelta(days=100), warranty_end=today + dt.timedelta(days=265),
    ), actor=world.alice)
    old_tv = services.register_device(services.DeviceInput(
        school=world.school_a, type="lcd_tv", brand="海信", model="HZ55", serial="HX55-0001", integrator=company,
        purchase_date=today - dt.timedelta(days=2000), warranty_end=today - dt.timedelta(days=900),
    ), actor=world.device_admin_a)
    device_b = services.register_device(services.DeviceInput(
        school=world.school_b, type="projector", brand="爱普生", model="CB-X06", serial="EPX06-0002", integrator=other,
    ), actor=world.bob)
    return Kit(company, other, projector, old_tv, device_b)
