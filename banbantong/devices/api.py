"""API: the device register and the repair desk, through the same services and queries as the pages.

Everything starts from the caller's scope: a device, ticket or school outside it answers 404.
A state change names the version it saw; if someone saved in between, the answer is 409 with
the ticket as it now stands, and nothing is overwritten.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.jsonout import plain
from banbantong.core.scope import get_for_user
from banbantong.devices import queries, rules, services
from banbantong.devices.filters import OPEN_ALL, DeviceFilter, TicketFilter, filter_devices, filter_tickets
from banbantong.devices.forms import _regions_above
from banbantong.devices.models import Company, Device, Ticket
from banbantong.org.models import Classroom, School

router = Router(tags=["设备与报修"])


class DeviceOut(Schema):
    id: int
    school_id: int
    school_name: str = Field(..., alias="school.name")
    classroom_id: int | None
    classroom: str
    type: str
    type_label: str = Field(..., alias="get_type_display")
    brand: str
    model: str
    serial: str
    asset_tag: str
    supplier_id: int | None
    integrator_id: int | None
    integrator_name: str
    purchase_date: dt.date | None
    price: float | None
    warranty_end: dt.date | None
    responsible: str
    status: str
    status_label: str = Field(..., alias="get_status_display")
    updated_at: dt.datetime

    @staticmethod
    def resolve_classroom(obj: Device) -> str:
        return str(obj.classroom or "")

    @staticmethod
    def resolve_integrator_name(obj: Device) -> str:
        return str(obj.integrator or "")


class EventOut(Schema):
    at: dt.datetime
    kind: str
    note: str


class DeviceDetailOut(DeviceOut):
    under_warranty: bool
    replaces_id: int | None
    events: list[EventOut]

    @staticmethod
    def resolve_under_warranty(obj: Device) -> bool:
        return obj.under_warranty(timezone.localdate())

    @staticmethod
    def resolve_events(obj: Device) -> list[Any]:
        return list(obj.events.all()[:50])


class DeviceIn(Schema):
    school_id: int
    classroom_id: int | None = None
    type: str
    brand: str
    model: str
    serial: str
    asset_tag: str = ""
    supplier_id: int | None = None
    integrator_id: int | None = None
    purchase_date: dt.date | None = None
    price: Decimal | None = None
    warranty_end: dt.date | None = None
    responsible: str = ""
    status: str = Device.Status.IN_USE


class TicketOut(Schema):
    id: int
    version: int
    device_id: int
    device: str
    school_id: int
    school_name: str = Field(..., alias="school.name")
    fault: str
    fault_label: str = Field(..., alias="get_fault_display")
    description: str
    priority: str
    priority_label: str = Field(..., alias="get_priority_display")
    state: str
    state_label: str = Field(..., alias="get_state_display")
    source: str
    reporter_name: str
    reporter_phone: str = Field(..., alias="reporter_phone_masked")
    assignee_id: int | None
    assignee_name: str
    escalated_to_id: int | None
    escalated_to_name: str
    created_at: dt.datetime
    respond_due: dt.datetime
    fix_due: dt.datetime
    responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str
    overdue: bool

    @staticmethod
    def resolve_device(obj: Ticket) -> str:
        return str(obj.device)

    @staticmethod
    def resolve_assignee_name(obj: Ticket) -> str:
        return str(obj.assignee or "")

    @staticmethod
    def resolve_escalated_to_name(obj: Ticket) -> str:
        return str(obj.escalated_to or "")

    @staticmethod
    def resolve_overdue(obj: Ticket) -> bool:
        return rules.is_overdue(obj.state, obj.fix_due, timezone.now())


class CommentOut(Schema):
    at: dt.datetime
    author_name: str
    text: str
    has_photo: bool

    @staticmethod
    def resolve_has_photo(obj: Any) -> bool:
        return bool(obj.photo)


class TicketDetailOut(TicketOut):
    comments: list[CommentOut]

    @staticmethod
    def resolve_comments(obj: Ticket) -> list[Any]:
        return list(obj.comments.all())


class FaultIn(Schema):
    fault: str
    description: str = ""
    priority: str | None = None


class StateIn(Schema):
    state: str
    expected_version: int
    assignee_id: int | None = None
    outcome: str = ""
    note: str = ""
    reason: str = ""


class EscalateIn(Schema):
    expected_version: int | None = None


class ReplaceIn(Schema):
    expected_version: int | None = None
    type: str
    brand: str
    model: str
    serial: str
    asset_tag: str = ""
    purchase_date: dt.date | None = None
    price: Decimal | None = None
    warranty_end: dt.date | None = None
    supplier_id: int | None = None
    integrator_id: int | None = None


class ReplacedOut(Schema):
    ticket: TicketOut
    device: DeviceDetailOut


class ConflictOut(Schema):
    message: str
    current: TicketOut


def _devices() -> QuerySet[Device]:
    return Device.objects.select_related("school", "classroom", "integrator")


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("device", "device__classroom", "school", "assignee", "escalated_to")


def _choice(value: str | None, choices: list[str], what: str) -> str | None:
    if value and value not in choices:
        raise ValidationError(f"未知的{what}“{value}”，可选：{'、'.join(choices)}。")
    return value or None


def _school(request: HttpRequest, school: int | None) -> int | None:
    # A school outside the caller's scope is 404, as everywhere, rather than an empty list.
    return get_for_user(School.objects.all(), api_user(request), pk=school).pk if school else None


def _company(user: Any, company_id: int | None, *, integrator: bool = False) -> Company | None:
    if company_id is None:
        return None
    companies = Company.objects.filter(region__in=_regions_above(user)).distinct()
    if integrator:
        companies = companies.filter(kind=Company.Kind.INTEGRATOR)
    company = companies.filter(pk=company_id).first()
    if company is None:
        raise ValidationError(f"通讯录中没有编号为 {company_id} 的{'集成商' if integrator else '供货商'}。")
    return company


# --- Devices ---------------------------------------------------------------------------------------


@router.get("/devices", response=list[DeviceOut], summary="设备登记册（可按类型、状态、学校筛选，q 查找）")
@paginate(LimitOffsetPagination)
def list_devices(request: HttpRequest, type: str | None = None, status: str | None = None,
                 school: int | None = None, q: str | None = None) -> Any:
    f = DeviceFilter(type=_choice(type, Device.Type.values, "设备类型"),
                     status=_choice(status, Device.Status.values, "设备状态"), school=_school(request, school), q=q)
    return filter_devices(api_user(request), f)


@router.get("/devices/figures", summary="设备统计：完好率、集成商按时修复排行、型号故障率（start/end 为报修日期）")
def device_figures(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    user = api_user(request)
    intactness = queries.intactness(user)
    total = intactness.total
    summary = queries.repair_summary(user, start, end)
    return plain({
        "start": start, "end": end,
        "intactness": {
            # null where there is nothing to measure (no devices, no repairs), not 100 % or 0 hours
            "total": {"in_service": total.in_service, "faulty": total.faulty, "rate": total.rate},
            "schools": [{"school": r.name, "in_service": r.in_service, "faulty": r.faulty, "rate": r.rate}
                        for r in intactness.schools],
            "regions": [{"region": r.name, "in_service": r.in_service, "faulty": r.faulty, "rate": r.rate}
                        for r in intactness.regions],
        },
        "repair": {"resolved": summary.count, "mean_hours": summary.mean_hours,
                   "within_deadline": summary.within_deadline, "within_percent": summary.within_percent},
        "league": [{"company": r.company, "tickets": r.tickets, "resolved": r.resolved, "within": r.within,
                    "within_percent": r.within_percent, "mean_hours": r.mean_hours}
                   for r in queries.integrator_league(user, start, end)],
        "failures": [{"brand": r.brand, "model": r.model, "devices": r.devices, "failures": r.failures,
                      "per_hundred": r.per_hundred} for r in queries.failures_by_model(user, start, end)],
    })


@router.get("/devices/{int:device_id}", response=DeviceDetailOut, summary="设备详情及履历")
def device_detail(request: HttpRequest, device_id: int) -> Device:
    return get_for_user(_devices(), api_user(request), pk=device_id)


@router.post("/devices", response={201: DeviceDetailOut}, summary="登记设备（电教管理员、学校管理员、局管理员）")
def register_device(request: HttpRequest, payload: DeviceIn) -> Status[Device]:
    user = api_user(request)
    school = get_for_user(School.objects.all(), user, pk=payload.school_id)
    classroom = get_for_user(Classroom.objects.all(), user, pk=payload.classroom_id) if payload.classroom_id else None
    data = services.DeviceInput(
        school=school, classroom=classroom, type=payload.type, brand=payload.brand, model=payload.model,
        serial=payload.serial, asset_tag=payload.asset_tag, supplier=_company(user, payload.supplier_id),
        integrator=_company(user, payload.integrator_id, integrator=True), purchase_date=payload.purchase_date,
        price=payload.price, warranty_end=payload.warranty_end, responsible=payload.responsible, status=payload.status,
    )
    device = services.register_device(data, actor=user)
    return Status(201, _devices().get(pk=device.pk))


@router.post("/devices/{int:device_id}/tickets", response={201: TicketOut}, summary="报修（故障类型、说明、可选优先级）")
def report_fault(request: HttpRequest, device_id: int, payload: FaultIn) -> Status[Ticket]:
    user = api_user(request)
    device = get_for_user(Device.objects.select_related("school"), user, pk=device_id)
    ticket = services.report_fault(device, actor=user, fault=payload.fault, description=payload.description,
                                   priority=payload.priority, source=Ticket.Source.API)
    return Status(201, _tickets().get(pk=ticket.pk))


# --- Tickets ---------------------------------------------------------------------------------------


@router.get("/tickets", response=list[TicketOut],
            summary="报修单（state 可为 open_all；overdue=true 只看超时；可按 school、fault、priority 筛选）")
@paginate(LimitOffsetPagination)
def list_tickets(request: HttpRequest, state: str | None = None, overdue: bool = False,
                 school: int | None = None, fault: str | None = None, priority: str | None = None) -> Any:
    f = TicketFilter(state=_choice(state, [*Ticket.State.values, OPEN_ALL], "状态"), overdue=overdue,
                     school=_school(request, school), fault=_choice(fault, Ticket.Fault.values, "故障类型"),
                     priority=_choice(priority, Ticket.Priority.values, "优先级"))
    return filter_tickets(api_user(request), f)


@router.get("/tickets/mine", response=list[TicketOut], summary="我的待办报修单（按修复时限排序）")
@paginate(LimitOffsetPagination)
def my_tickets(request: HttpRequest) -> Any:
    return queries.my_tickets(api_user(request)).select_related("escalated_to")


@router.get("/tickets/{int:ticket_id}", response=TicketDetailOut, summary="报修单详情及处理记录")
def ticket_detail(request: HttpRequest, ticket_id: int) -> Ticket:
    return get_for_user(_tickets(), api_user(request), pk=ticket_id)


@router.post("/tickets/{int:ticket_id}/state", response={200: TicketOut, 409: ConflictOut},
             summary="改变报修单状态（expected_version 已过期时返回 409 及当前内容）")
def change_ticket_state(request: HttpRequest, ticket_id: int, payload: StateIn) -> Any:
    user = api_user(request)
    ticket = get_for_user(_tickets(), user, pk=ticket_id)
    assignee = services.find_assignee(ticket, payload.assignee_id) if payload.assignee_id is not None else None
    try:
        services.change_ticket(ticket, actor=user, state=payload.state, expected_version=payload.expected_version,
                               assignee=assignee, outcome=payload.outcome, note=payload.note, reason=payload.reason)
    except services.Conflict as exc:
        return Status(409, {"message": exc.messages[0], "current": _tickets().get(pk=ticket.pk)})
    return _tickets().get(pk=ticket.pk)


@router.post("/tickets/{int:ticket_id}/escalate", response={200: TicketOut, 409: ConflictOut},
             summary="转交设备的集成商（仅限保修期内）")
def escalate_ticket(request: HttpRequest, ticket_id: int, payload: EscalateIn) -> Any:
    user = api_user(request)
    ticket = get_for_user(_tickets(), user, pk=ticket_id)
    try:
        services.escalate(ticket, actor=user, expected_version=payload.expected_version)
    except services.Conflict as exc:
        return Status(409, {"message": exc.messages[0], "current": _tickets().get(pk=ticket.pk)})
    return _tickets().get(pk=ticket.pk)


@router.post("/tickets/{int:ticket_id}/replace", response={201: ReplacedOut, 409: ConflictOut},
             summary="更换整机：登记新设备（同一教室），旧设备报废并与之关联，报修单记为已修复")
def replace_device(request: HttpRequest, ticket_id: int, payload: ReplaceIn) -> Any:
    user = api_user(request)
    ticket = get_for_user(_tickets(), user, pk=ticket_id)
    data = services.DeviceInput(
        school=ticket.school, type=payload.type, brand=payload.brand, model=payload.model, serial=payload.serial,
        asset_tag=payload.asset_tag, purchase_date=payload.purchase_date, price=payload.price,
        warranty_end=payload.warranty_end, supplier=_company(user, payload.supplier_id),
        integrator=_company(user, payload.integrator_id, integrator=True),
    )
    try:
        device = services.replace_device(ticket, data, actor=user, expected_version=payload.expected_version)
    except services.Conflict as exc:
        return Status(409, {"message": exc.messages[0], "current": _tickets().get(pk=ticket.pk)})
    return Status(201, {"ticket": _tickets().get(pk=ticket.pk), "device": _devices().get(pk=device.pk)})
