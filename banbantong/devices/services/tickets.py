"""Writes on tickets: report (logged in or by QR), move along the states, escalate, comment, replace."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.devices import rules
from banbantong.devices.models import Device, DeviceEvent, Ticket, TicketComment
from banbantong.devices.services.register import DEVICE_ADMIN_ROLES, DeviceInput, register_device
from banbantong.devices.services.sla import sla_hours
from banbantong.org.models import School

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
# Public QR reports: enough for a class to report a real fault, too few to flood the desk.
QR_LIMIT_PER_DEVICE = 5
QR_LIMIT_PER_IP = 20
QR_WINDOW_SECONDS = 3600
# Who may be named to work on a ticket: the school's own people (integrators get escalations).
ASSIGNEE_ROLES = ("device_admin", "school_admin")


class Conflict(ValidationError):
    """Someone saved the ticket in between: nothing was overwritten; the current values are attached."""

    def __init__(self, ticket: Ticket) -> None:
        self.current = ticket
        super().__init__(
            f"报修单已被 {timezone.localtime(ticket_updated(ticket)):%H:%M:%S} 的另一次修改更新"
            f"（当前状态：{chinese(Ticket.State(ticket.state).label)}，处理人：{ticket.assignee or '无'}）。请查看最新内容后再操作。"
        )


def ticket_updated(ticket: Ticket) -> dt.datetime:
    return ticket.closed_at or ticket.resolved_at or ticket.responded_at or ticket.created_at


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
        _set_status(locked.device, device_status, actor=actor, kind=f"报修单 {locked.pk}：{chinese(Ticket.State(locked.state).label)}",
                    note=chinese(Ticket.Outcome(outcome).label) if outcome else "")
    return locked


def _set_status(device: Device, status: str, *, actor: Any, kind: str, note: str) -> None:
    """A ticket moved the device's status: written, put in its history and audited like any change."""
    before = device.status
    Device.objects.filter(pk=device.pk).update(status=status, updated_at=timezone.now())
    device.status = status
    DeviceEvent.objects.create(device=device, kind=kind, note=note[:300],
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(audit.Action.UPDATE, device, actor=actor, before={"status": before}, after={"status": status})


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
    _may_work(actor, locked)
    if locked.state in {Ticket.State.RESOLVED, Ticket.State.CLOSED}:
        raise ValidationError("已修复或已关闭的报修单不能再更换整机；如设备又坏了，请先重新打开报修单。")
    old = locked.device
    new.school, new.classroom = old.school, old.classroom
    # A replacement usually comes through the old device's supplier and integrator unless others are named.
    new.supplier = new.supplier or old.supplier
    new.integrator = new.integrator or old.integrator
    device = register_device(new, actor=actor)
    device.replaces = old
    device.save(update_fields=["replaces"])
    DeviceEvent.objects.create(device=device, kind="替换旧设备", note=f"替换 {old.asset_tag}（序列号 {old.serial}）",
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    _set_status(old, Device.Status.SCRAPPED, actor=actor, kind="更换整机", note=f"由 {device.asset_tag} 替换")
    change_ticket(locked, actor=actor, state=Ticket.State.RESOLVED, outcome=Ticket.Outcome.DEVICE_REPLACED,
                  note=f"更换为新设备 {device.asset_tag}（序列号 {device.serial}）")
    return device


def find_assignee(ticket: Ticket, user_id: int) -> User:
    """Whom a ticket may be assigned to: an active device admin or school admin of its school."""
    user = User.objects.filter(pk=user_id, school_id=ticket.school_id, role__in=ASSIGNEE_ROLES, is_active=True).first()
    if user is None:
        raise ValidationError("处理人必须是本校的电教管理员或学校管理员。")
    return user

