"""Writes on devices and tickets. Pages, the public QR page and the API all call these."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core import audit
from banbantong.core.scope import path_ids
from banbantong.devices import rules
from banbantong.devices.models import Company, Device, DeviceEvent, Sla, Ticket, TicketComment
from banbantong.org.models import Classroom, Region, School

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
# Public QR reports: enough for a class to report a real fault, too few to flood the desk.
QR_LIMIT_PER_DEVICE = 5
QR_LIMIT_PER_IP = 20
QR_WINDOW_SECONDS = 3600

DEVICE_ADMIN_ROLES = {"device_admin", "school_admin", "bureau_admin"}
# Rows per query when registering many devices at once (well under SQLite's variable limit).
BATCH = 500
# Who may be named to work on a ticket: the school's own people (integrators get escalations).
ASSIGNEE_ROLES = ("device_admin", "school_admin")


class Conflict(ValidationError):
    """Someone saved the ticket in between: nothing was overwritten; the current values are attached."""

    def __init__(self, ticket: Ticket) -> None:
        self.current = ticket
        super().__init__(
            f"报修单已被 {timezone.localtime(ticket_updated(ticket)):%H:%M:%S} 的另一次修改更新"
            f"（当前状态：{ticket.get_state_display()}，处理人：{ticket.assignee or '无'}）。请查看最新内容后再操作。"
        )


def ticket_updated(ticket: Ticket) -> dt.datetime:
    return ticket.closed_at or ticket.resolved_at or ticket.responded_at or ticket.created_at


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
    DeviceEvent.objects.create(device=locked, kind=f"状态：{locked.get_status_display()}", note=note,
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.UPDATE, locked, actor=actor, before={"status": before}, after={"status": status})
    return locked


# --- Tickets -----------------------------------------------------------------------------------


def _sla(school: School) -> dict[str, tuple[int, int]]:
    return sla_hours(school.region_path)


def validate_photo(photo: UploadedFile | None) -> None:
    if photo is None:
        return
    if photo.size is not None and photo.size > MAX_PHOTO_BYTES:
        raise ValidationError(f"照片太大（{photo.size // 1024 // 1024} MB），请小于 {MAX_PHOTO_BYTES // 1024 // 1024} MB。")
    from PIL import Image, UnidentifiedImageError

    try:
        photo.seek(0)
        with Image.open(photo) as img:
            fmt = img.format
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError):
        raise ValidationError("上传的文件不是图片，请拍照或选择 JPG/PNG 图片。") from None
    finally:
        photo.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise ValidationError(f"不支持 {fmt} 格式的图片，请使用 JPG 或 PNG。")


def _open_ticket(device: Device, *, fault: str, description: str, priority: str | None, source: str,
                 reporter: Any = None, reporter_name: str = "", reporter_phone: str = "",
                 photo: UploadedFile | None = None) -> Ticket:
    if fault not in Ticket.Fault.values:
        raise ValidationError("请选择故障类型。")
    if device.status == Device.Status.SCRAPPED:
        raise ValidationError("该设备已报废，不能报修。如教室里仍在使用，请联系学校电教管理员重新登记。")
    priority = priority or rules.default_priority(fault)
    if priority not in Ticket.Priority.values:
        raise ValidationError("未知的优先级。")
    validate_photo(photo)
    now = timezone.now()
    respond_due, fix_due = rules.deadlines(now, priority, _sla(device.school))
    ticket = Ticket.objects.create(
        device=device, school=device.school, fault=fault, description=description.strip()[:1000],
        priority=priority, source=source, reporter=reporter if getattr(reporter, "is_authenticated", False) else None,
        reporter_name=reporter_name.strip()[:50], reporter_phone=reporter_phone.strip()[:20],
        respond_due=respond_due, fix_due=fix_due,
    )
    if photo is not None or description.strip():
        TicketComment.objects.create(ticket=ticket, author=ticket.reporter, author_name=reporter_name.strip()[:50] or "报修人",
                                     text=description.strip()[:2000], photo=photo)
    audit.record(audit.Action.CREATE, ticket, actor=reporter, after=audit.snapshot(
        ticket, ["device_id", "fault", "priority", "source", "reporter_name", "reporter_phone"]))
    return ticket


@transaction.atomic
def report_fault(device: Device, *, actor: Any, fault: str, description: str = "", priority: str | None = None,
                 photo: UploadedFile | None = None, source: str = Ticket.Source.WEB) -> Ticket:
    """A logged-in user in scope (teacher, admins) reports a fault."""
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能报修。")
    return _open_ticket(device, fault=fault, description=description, priority=priority, source=source,
                        reporter=actor, reporter_name=str(actor), photo=photo)


def qr_rate_limited(device: Device, ip: str) -> bool:
    """Count this report against the device's and the IP's hourly allowance; True when over."""
    over = False
    for key, limit in ((f"bbt:qr:dev:{device.pk}", QR_LIMIT_PER_DEVICE), (f"bbt:qr:ip:{ip}", QR_LIMIT_PER_IP)):
        cache.add(key, 0, QR_WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, QR_WINDOW_SECONDS)
            count = 1
        over = over or count > limit
    return over


@transaction.atomic
def report_fault_by_qr(token: str, *, ip: str, fault: str, description: str = "", name: str = "", phone: str = "",
                       photo: UploadedFile | None = None) -> Ticket:
    """The public page behind a device's QR label: no login; rate-limited per device and per IP."""
    device = Device.objects.select_related("school").filter(qr_token=token).first()
    if device is None:
        raise ValidationError("二维码无效：找不到这台设备。请联系学校电教管理员。")
    if qr_rate_limited(device, ip):
        raise ValidationError("报修太频繁了，请稍后再试；紧急情况请直接联系学校电教管理员。")
    return _open_ticket(device, fault=fault, description=description, priority=None, source=Ticket.Source.QR,
                        reporter_name=name, reporter_phone=phone, photo=photo)


def _locked(ticket: Ticket, expected_version: int | None) -> Ticket:
    locked = Ticket.objects.select_for_update(of=("self",)).select_related("device", "school", "assignee").get(pk=ticket.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(locked)
    return locked


def _may_work(actor: Any, ticket: Ticket) -> None:
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能修改报修单。")
    if actor.is_superuser or actor.role in DEVICE_ADMIN_ROLES:
        return
    company = ticket.escalated_to
    if actor.role == "integrator" and company is not None and company.members.filter(pk=actor.pk).exists():
        return
    raise PermissionDenied("只有电教管理员、学校管理员、局管理员或受托的集成商可以处理报修单。")


def _save(ticket: Ticket, *, actor: Any, before: dict[str, Any], fields: list[str]) -> Ticket:
    ticket.version += 1
    ticket.save(update_fields=[*fields, "version"])
    audit.record(audit.Action.UPDATE, ticket, actor=actor, before=before,
                 after=audit.snapshot(ticket, [f for f in fields if f != "version"]))
    return ticket


@transaction.atomic
def change_ticket(
    ticket: Ticket, *, actor: Any, state: str, expected_version: int | None = None, assignee: Any = None,
    outcome: str = "", note: str = "", reason: str = "",
) -> Ticket:
    """Move a ticket along open → assigned → in progress → resolved → closed (or reopen)."""
    locked = _locked(ticket, expected_version)
    _may_work(actor, locked)
    if state == locked.state == Ticket.State.CLOSED:
        raise ValidationError("报修单已经关闭。")
    try:
        rules.check_transition(locked.state, state, reason=reason)
    except rules.TransitionError as exc:
        raise ValidationError(str(exc)) from None
    before = audit.snapshot(locked, ["state", "assignee_id", "outcome"])
    now = timezone.now()
    fields = ["state"]
    if state == Ticket.State.ASSIGNED:
        if assignee is None:
            raise ValidationError("请选择处理人。")
        locked.assignee = assignee
        fields.append("assignee")
    if state in {Ticket.State.ASSIGNED, Ticket.State.IN_PROGRESS} and locked.responded_at is None:
        locked.responded_at = now
        fields.append("responded_at")
    if state == Ticket.State.RESOLVED:
        if outcome not in Ticket.Outcome.values:
            raise ValidationError("请填写处理结果（已修好、更换配件、更换整机或无法修复）。")
        locked.outcome = outcome
        locked.resolved_at = now
        fields += ["outcome", "resolved_at"]
        if locked.responded_at is None:
            locked.responded_at = now
            fields.append("responded_at")
    if state == Ticket.State.CLOSED:
        locked.closed_at = now
        fields.append("closed_at")
    if state == Ticket.State.OPEN:
        locked.resolved_at = None
        locked.closed_at = None
        locked.outcome = ""
        fields += ["resolved_at", "closed_at", "outcome"]
    locked.state = state
    _save(locked, actor=actor, before=before, fields=fields)
    text = note or reason
    if text:
        TicketComment.objects.create(ticket=locked, author=actor, author_name=str(actor), text=text[:2000])
    device_status: str | None = {"in_progress": Device.Status.REPAIR, "resolved": Device.Status.IN_USE}.get(state)
    if outcome == Ticket.Outcome.NOT_REPAIRABLE:
        device_status = Device.Status.SCRAPPED
    if device_status and locked.device.status != device_status and locked.device.status != Device.Status.SCRAPPED:
        Device.objects.filter(pk=locked.device_id).update(status=device_status)
        DeviceEvent.objects.create(device=locked.device, kind=f"报修单 {locked.pk}：{locked.get_state_display()}",
                                   note=locked.get_outcome_display() if outcome else "", actor=actor)
    return locked


@transaction.atomic
def escalate(ticket: Ticket, *, actor: Any, expected_version: int | None = None) -> Ticket:
    """Hand the ticket to the device's integrator; only while the device is under warranty."""
    locked = _locked(ticket, expected_version)
    _may_work(actor, locked)
    device = locked.device
    if device.integrator_id is None:
        raise ValidationError("这台设备没有登记集成商，不能转交。")
    if not device.under_warranty(timezone.localdate()):
        raise ValidationError("这台设备已过保修期（或未登记保修期），不能转交集成商免费维修。")
    if locked.state in {Ticket.State.RESOLVED, Ticket.State.CLOSED}:
        raise ValidationError("已修复或已关闭的报修单不能转交。")
    before = {"escalated_to": locked.escalated_to_id}
    locked.escalated_to_id = device.integrator_id
    return _save(locked, actor=actor, before=before, fields=["escalated_to"])


@transaction.atomic
def add_comment(ticket: Ticket, *, actor: Any, text: str, photo: UploadedFile | None = None) -> TicketComment:
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读。")
    if not text.strip() and photo is None:
        raise ValidationError("请填写内容或上传照片。")
    validate_photo(photo)
    comment = TicketComment.objects.create(ticket=ticket, author=actor, author_name=str(actor), text=text.strip()[:2000],
                                           photo=photo)
    audit.record(audit.Action.CREATE, ticket, actor=actor, object_type="devices.TicketComment",
                 after={"text": comment.text[:200], "photo": bool(photo)})
    return comment


@transaction.atomic
def replace_device(ticket: Ticket, new: DeviceInput, *, actor: Any, expected_version: int | None = None) -> Device:
    """Resolve the ticket by replacing the whole device: the new one is registered and linked."""
    locked = _locked(ticket, expected_version)
    old = locked.device
    new.school, new.classroom = old.school, old.classroom
    device = register_device(new, actor=actor)
    device.replaces = old
    device.save(update_fields=["replaces"])
    Device.objects.filter(pk=old.pk).update(status=Device.Status.SCRAPPED)
    DeviceEvent.objects.create(device=old, kind="更换整机", note=f"由 {device.asset_tag} 替换", actor=actor)
    change_ticket(locked, actor=actor, state=Ticket.State.RESOLVED, outcome=Ticket.Outcome.DEVICE_REPLACED,
                  note=f"更换为新设备 {device.asset_tag}（序列号 {device.serial}）")
    return device


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
    labels = "、".join(str(getattr(Device._meta.get_field(name.removesuffix("_id")), "verbose_name", name))
                      for name in changes)
    DeviceEvent.objects.create(device=locked, kind="更新", note=f"{note}{labels}"[:300],
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.UPDATE, locked, actor=actor, before=before, after=audit.snapshot(locked, changes))
    return locked


def find_assignee(ticket: Ticket, user_id: int) -> User:
    """Whom a ticket may be assigned to: an active device admin or school admin of its school."""
    user = User.objects.filter(pk=user_id, school_id=ticket.school_id, role__in=ASSIGNEE_ROLES, is_active=True).first()
    if user is None:
        raise ValidationError("处理人必须是本校的电教管理员或学校管理员。")
    return user


# --- Deadlines (SLA) per region ------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    priority: str
    label: str
    respond_hours: int
    fix_hours: int
    source: str  # where the figures come from: 平台默认, or the region that set them
    own: bool  # set on the region itself (not inherited)


def _sla_settings(region_path: str) -> list[Sla]:
    """The Sla rows on the region and its ancestors, the top region first (deeper ones win)."""
    ancestry = path_ids(region_path)
    depth = {rid: i for i, rid in enumerate(ancestry)}
    rows = Sla.objects.filter(region_id__in=ancestry).select_related("region")
    return sorted(rows, key=lambda s: depth[s.region_id])


def sla_hours(region_path: str) -> dict[str, tuple[int, int]]:
    """(respond, fix) hours per priority for tickets of a school at region_path."""
    table = dict(rules.DEFAULT_SLA_HOURS)
    for row in _sla_settings(region_path):
        table[row.priority] = (row.respond_hours, row.fix_hours)
    return table


def sla_rows(region: Region) -> list[SlaRow]:
    """The deadlines in force in region, per priority, with where each comes from."""
    found = {row.priority: row for row in _sla_settings(region.path)}
    rows = []
    for priority in Ticket.Priority.values:
        row = found.get(priority)
        respond, fix = (row.respond_hours, row.fix_hours) if row else rules.DEFAULT_SLA_HOURS[priority]
        rows.append(SlaRow(priority, Ticket.Priority(priority).label, respond, fix,
                           row.region.name if row else "平台默认", row is not None and row.region_id == region.pk))
    return rows


def may_set_sla(actor: Any, region: Region) -> bool:
    return actor is None or (
        not getattr(actor, "read_only", False)
        and (actor.is_superuser or actor.role == "bureau_admin")
        and actor.scope.covers_path(region.path)
    )


@transaction.atomic
def set_sla(region: Region, priority: str, respond_hours: int, fix_hours: int, *, actor: Any) -> Sla:
    """Set a region's deadlines for one priority (its schools and the regions below inherit them)."""
    if not may_set_sla(actor, region):
        raise PermissionDenied("只有本区域的局管理员可以设定维修时限。")
    if priority not in Ticket.Priority.values:
        raise ValidationError(f"未知的优先级“{priority}”。")
    problems = rules.sla_problems(respond_hours, fix_hours)
    if problems:
        raise ValidationError(problems)
    sla = Sla.objects.select_for_update().filter(region=region, priority=priority).first()
    if sla is not None and (sla.respond_hours, sla.fix_hours) == (respond_hours, fix_hours):
        return sla
    before = audit.snapshot(sla, ["respond_hours", "fix_hours"]) if sla is not None else None
    if sla is None:
        sla = Sla(region=region, priority=priority)
    sla.respond_hours, sla.fix_hours = respond_hours, fix_hours
    sla.save()
    audit.record(audit.Action.UPDATE if before else audit.Action.CREATE, sla, actor=actor, before=before,
                 after={"priority": priority, "respond_hours": respond_hours, "fix_hours": fix_hours},
                 object_repr=f"{region.name} {Ticket.Priority(priority).label}优先级维修时限", place=(region.path, None))
    return sla
