"""Writes on the device register: register (one or many), change status, update in place."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.devices.models import Company, Device, DeviceEvent
from banbantong.org.models import Classroom, School

DEVICE_ADMIN_ROLES = {"device_admin", "school_admin", "bureau_admin"}
# Rows per query when registering many devices at once (well under SQLite's variable limit).
BATCH = 500


def _may_manage(actor: Any, school: School) -> None:
    if actor is None:
        return
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能修改数据。")
    if not (actor.is_superuser or actor.role in DEVICE_ADMIN_ROLES):
        raise PermissionDenied("只有电教管理员、学校管理员或局管理员可以登记和管理设备。")
    if not actor.scope.everything and not (
        school.pk in actor.scope.school_ids or actor.scope.covers_path(school.region_path)
    ):
        raise PermissionDenied("该学校不在您的管辖范围内。")


# --- Devices -----------------------------------------------------------------------------------


@dataclass
class DeviceInput:
    school: School
    type: str
    brand: str
    model: str
    serial: str
    classroom: Classroom | None = None
    supplier: Company | None = None
    integrator: Company | None = None
    purchase_date: dt.date | None = None
    price: Any = None
    warranty_end: dt.date | None = None
    responsible: str = ""
    status: str = Device.Status.IN_USE
    asset_tag: str = ""


def device_problems(
    data: DeviceInput, *, existing: Device | None = None, unique_checked: bool = False
) -> list[tuple[str, str]]:
    """Every problem with the input as (field, message in Chinese); empty when fine.

    The one home of the register's rules: the form, the API and the Excel import (which names
    the field's column) all come here. A caller that has already checked serial and asset tag
    against the register in bulk passes unique_checked to spare a query per row.
    """
    problems: list[tuple[str, str]] = []
    if data.type not in Device.Type.values:
        problems.append(("type", f"未知的设备类型“{data.type}”。"))
    if data.status not in Device.Status.values:
        problems.append(("status", f"未知的设备状态“{data.status}”。"))
    serial, tag = data.serial.strip(), data.asset_tag.strip()
    others = Device.objects.exclude(pk=existing.pk if existing else -1)
    if not serial:
        problems.append(("serial", "序列号不能为空。"))
    elif not unique_checked and others.filter(serial=serial).exists():
        problems.append(("serial", f"序列号 {serial} 已登记过，不能重复。"))
    if tag and not unique_checked and others.filter(asset_tag=tag).exists():
        problems.append(("asset_tag", f"资产编号 {tag} 已被其他设备使用。"))
    if not data.brand.strip():
        problems.append(("brand", "品牌不能为空。"))
    if not data.model.strip():
        problems.append(("model", "型号不能为空。"))
    if data.classroom is not None and data.classroom.school_id != data.school.pk:
        problems.append(("classroom", "所选教室不属于该学校。"))
    if data.purchase_date and data.warranty_end and data.warranty_end < data.purchase_date:
        problems.append(("warranty_end", "保修截止日期早于购置日期。"))
    if data.price is not None and data.price != "" and float(data.price) < 0:
        problems.append(("price", "价格不能为负数。"))
    return problems


def validate_device(data: DeviceInput, *, existing: Device | None = None) -> list[str]:
    """Every problem with the input, in Chinese (empty when fine)."""
    return [message for _, message in device_problems(data, existing=existing)]


def _new_device(data: DeviceInput) -> Device:
    return Device(
        school=data.school, classroom=data.classroom, type=data.type, brand=data.brand.strip(),
        model=data.model.strip(), serial=data.serial.strip(), supplier=data.supplier, integrator=data.integrator,
        purchase_date=data.purchase_date, price=_money(data.price), warranty_end=data.warranty_end,
        responsible=data.responsible.strip(), status=data.status,
        # Unique until the row has its id and the real tag (BBT + id) can be written.
        asset_tag=data.asset_tag.strip() or f"TMP-{secrets.token_hex(8)}",
    )


@transaction.atomic
def register_device(data: DeviceInput, *, actor: Any) -> Device:
    _may_manage(actor, data.school)
    problems = validate_device(data)
    if problems:
        raise ValidationError(problems)
    device = _new_device(data)
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        raise ValidationError("序列号或资产编号已存在。") from None
    if not data.asset_tag.strip():
        device.asset_tag = f"BBT{device.pk:08d}"
        device.save(update_fields=["asset_tag"])
    DeviceEvent.objects.create(device=device, kind="登记", note=str(data.classroom or ""),
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.CREATE, device, actor=actor, after=audit.snapshot(device))
    return device


@transaction.atomic
def register_devices(items: Sequence[DeviceInput], *, actor: Any, note: str = "") -> list[Device]:
    """Register many devices at once (the Excel import): register_device's checks, a few queries per batch."""
    for school in {data.school.pk: data.school for data in items}.values():
        _may_manage(actor, school)
    problems = [message for data in items for _, message in device_problems(data, unique_checked=True)]
    serials = [data.serial.strip() for data in items]
    tags = [tag for data in items if (tag := data.asset_tag.strip())]
    if len(set(serials)) < len(serials) or len(set(tags)) < len(tags):
        problems.append("同一批设备中有重复的序列号或资产编号。")
    for start in range(0, max(len(serials), len(tags)), BATCH):
        taken = Device.objects.filter(Q(serial__in=serials[start:start + BATCH]) | Q(asset_tag__in=tags[start:start + BATCH]))
        problems += [f"序列号 {serial} 或资产编号 {tag} 已登记过，不能重复。"
                     for serial, tag in taken.values_list("serial", "asset_tag")[:20]]
    if problems:
        raise ValidationError(problems)
    devices = [_new_device(data) for data in items]
    try:
        with transaction.atomic():
            Device.objects.bulk_create(devices, batch_size=BATCH)
    except IntegrityError:
        raise ValidationError("序列号或资产编号已存在。") from None
    if any(device.pk is None for device in devices):  # a database that does not return ids from bulk inserts
        ids: dict[str, int] = {}
        for start in range(0, len(serials), BATCH):
            ids.update(Device.objects.filter(serial__in=serials[start:start + BATCH]).values_list("serial", "pk"))
        for device in devices:
            device.pk = ids[device.serial]
    untagged = [device for device, data in zip(devices, items, strict=True) if not data.asset_tag.strip()]
    for device in untagged:
        device.asset_tag = f"BBT{device.pk:08d}"
    Device.objects.bulk_update(untagged, ["asset_tag"], batch_size=BATCH)
    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    DeviceEvent.objects.bulk_create([DeviceEvent(device=device, kind="登记", note=f"{note}{data.classroom or ''}"[:300],
                                                 actor=real_actor) for device, data in zip(devices, items, strict=True)],
                                    batch_size=BATCH)
    for device in devices:
        audit.record(audit.Action.CREATE, device, actor=actor, after=audit.snapshot(device))
    return devices


@transaction.atomic
def set_device_status(device: Device, status: str, *, actor: Any, note: str = "") -> Device:
    _may_manage(actor, device.school)
    if status not in Device.Status.values:
        raise ValidationError(f"未知的设备状态“{status}”。")
    locked = Device.objects.select_for_update(of=("self",)).select_related("school").get(pk=device.pk)
    if locked.status == status:
        return locked
    before = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    DeviceEvent.objects.create(device=locked, kind=f"状态：{chinese(Device.Status(status).label)}", note=note,
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.UPDATE, locked, actor=actor, before={"status": before}, after={"status": status})
    return locked



# --- Updating a registered device (the Excel import's re-import) --------------------------------


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def device_changes(device: Device, data: DeviceInput) -> dict[str, Any]:
    """The stored fields data would change, as {attname: new value}; empty when none would."""
    wanted: dict[str, Any] = {
        "school_id": data.school.pk,
        "classroom_id": data.classroom.pk if data.classroom is not None else None,
        "type": data.type,
        "brand": data.brand.strip(),
        "model": data.model.strip(),
        "serial": data.serial.strip(),
        "asset_tag": data.asset_tag.strip() or device.asset_tag,  # blank keeps the tag on the label
        "supplier_id": data.supplier.pk if data.supplier is not None else None,
        "integrator_id": data.integrator.pk if data.integrator is not None else None,
        "purchase_date": data.purchase_date,
        "price": _money(data.price),
        "warranty_end": data.warranty_end,
        "responsible": data.responsible.strip(),
        "status": data.status,
    }
    return {name: value for name, value in wanted.items() if getattr(device, name) != value}


@transaction.atomic
def update_device(device: Device, data: DeviceInput, *, actor: Any, note: str = "") -> Device:
    """Change a registered device in place; its school, and the one it moves to, must be the actor's."""
    locked = Device.objects.select_for_update(of=("self",)).select_related("school").get(pk=device.pk)
    _may_manage(actor, locked.school)
    _may_manage(actor, data.school)
    problems = validate_device(data, existing=locked)
    if problems:
        raise ValidationError(problems)
    changes = device_changes(locked, data)
    if not changes:
        return locked
    before = audit.snapshot(locked, changes)
    for name, value in changes.items():
        setattr(locked, name, value)
    try:
        with transaction.atomic():
            locked.save(update_fields=[*changes, "updated_at"])
    except IntegrityError:
        raise ValidationError("序列号或资产编号已存在。") from None
    labels = "、".join(chinese(getattr(Device._meta.get_field(name.removesuffix("_id")), "verbose_name", name))
                      for name in changes)
    DeviceEvent.objects.create(device=locked, kind="更新", note=f"{note}{labels}"[:300],
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.UPDATE, locked, actor=actor, before=before, after=audit.snapshot(locked, changes))
    return locked

