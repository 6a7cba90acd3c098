"""API: classroom events (idempotent batches), lesson records and the weekly compliance report."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from banbantong.core.http import api_user
from banbantong.core.jsonout import plain
from banbantong.core.scope import get_for_user
from banbantong.org.models import Classroom, Region, School, Teacher, TeachingClass
from banbantong.usage import queries, services
from banbantong.usage.models import LessonRecord
from banbantong.usage.rules import parse_iso_week

router = Router(tags=["应用"])


def _week(text: str) -> dt.date:
    try:
        return parse_iso_week(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class EventIn(Schema):
    kind: str
    at: str
    resource: str = ""


class BatchIn(Schema):
    key: str
    classroom: int
    events: list[EventIn]


class RecordIn(Schema):
    klass: int
    teacher: int | None = None
    date: dt.date
    period: int
    subject: str = ""
    topic: str = ""
    resources: str = ""
    has_plan: bool = False
    used_in_class: bool = True
    recorded: bool = True
    stored: bool = False


def _record_out(r: LessonRecord) -> dict[str, Any]:
    return {"id": r.pk, "class_id": r.klass_id, "teacher_id": r.teacher_id, "date": r.date.isoformat(),
            "period": r.period, "subject": r.subject, "topic": r.topic, "resources": r.resources,
            "four_checks": {"has_plan": r.has_plan, "used_in_class": r.used_in_class, "recorded": r.recorded,
                            "stored": r.stored},
            "evidence": r.evidence, "status": r.status, "flags": r.flags, "evidence_minutes": r.evidence_minutes}


@router.post("/events", summary="上报教室终端事件（按幂等键去重：重试返回原结果，同键不同内容返回 409）")
def post_events(request: HttpRequest, payload: BatchIn) -> Any:
    user = api_user(request)
    classroom = get_for_user(Classroom.objects.select_related("school", "teaching_class"), user, pk=payload.classroom)
    if getattr(user, "read_only", False):
        raise PermissionDenied("审计员账号只读。")
    try:
        return services.ingest_events(actor=user, key=payload.key, classroom=classroom,
                                      events=[e.dict() for e in payload.events])
    except services.BatchConflict as exc:
        raise HttpError(409, "；".join(exc.messages)) from None


@router.get("/compliance", summary="每周应用达标情况（班级、教师、未达标名单）：按区域（region）或学校（school）")
def get_compliance(request: HttpRequest, week: str, region: int | None = None, school: int | None = None) -> Any:
    user = api_user(request)
    place: Region | School
    if school is not None:
        if not (user.is_regional or user.role == "school_admin"):
            raise PermissionDenied("学校的应用达标统计只对局管理员和学校管理员开放。")
        place = get_for_user(School.objects.all(), user, pk=school)
    elif region is not None:
        if not user.is_regional:
            raise PermissionDenied("每周达标统计只对局管理员、审核员和审计员开放。")
        place = get_for_user(Region.objects.all(), user, pk=region)
    else:
        raise ValidationError("请指定区域（region）或学校（school）。")
    return plain(queries.compliance(user, place, _week(week)).as_dict())


class RuleIn(Schema):
    class_min_per_week: int
    teacher_min_per_week: int
    teacher_non_bbt_min_per_semester: int


def _rule_out(region: Region) -> dict[str, Any]:
    c, t, n = services.rule_for(region.path)
    return {"region_id": region.pk, "region": region.name, "class_min_per_week": c, "teacher_min_per_week": t,
            "teacher_non_bbt_min_per_semester": n}


@router.get("/usage-rules/{region_id}", summary="区域的应用要求（未单独设置时沿用上级或默认）")
def get_rule(request: HttpRequest, region_id: int) -> Any:
    return _rule_out(get_for_user(Region.objects.all(), api_user(request), pk=region_id))


@router.put("/usage-rules/{region_id}", summary="设置区域的应用要求（局管理员；本周起按新要求核算）")
def put_rule(request: HttpRequest, region_id: int, payload: RuleIn) -> Any:
    user = api_user(request)
    region = get_for_user(Region.objects.all(), user, pk=region_id)
    services.set_compliance_rule(region, actor=user, **payload.dict())
    return _rule_out(region)


@router.get("/records", summary="应用记录（教师只看到自己的）")
def list_records(request: HttpRequest, week: str | None = None, status: str | None = None) -> Any:
    qs = LessonRecord.objects.for_user(api_user(request))
    if week:
        qs = qs.filter(week=_week(week))
    if status:
        qs = qs.filter(status=status)
    return [_record_out(r) for r in qs[:500]]


@router.post("/records", response={201: dict[str, Any]}, summary="填写应用记录（记录单）")
def create_record(request: HttpRequest, payload: RecordIn) -> Any:
    user = api_user(request)
    klass = get_for_user(TeachingClass.objects.select_related("school"), user, pk=payload.klass)
    if payload.teacher is not None:
        teacher = get_for_user(Teacher.objects.all(), user, pk=payload.teacher)
    elif getattr(user, "teacher", None) is not None:
        teacher = user.teacher
    else:
        raise ValidationError("请指定教师。")
    record = services.record_lesson(
        actor=user, klass=klass, teacher=teacher, date=payload.date, period=payload.period, subject=payload.subject,
        topic=payload.topic, resources=payload.resources, has_plan=payload.has_plan,
        used_in_class=payload.used_in_class, recorded=payload.recorded, stored=payload.stored,
    )
    return Status(201, _record_out(record))


@router.post("/records/{record_id}/confirm", summary="确认终端记录生成的待确认记录")
def confirm_lesson_record(request: HttpRequest, record_id: int) -> Any:
    user = api_user(request)
    record = get_for_user(LessonRecord.objects.all(), user, pk=record_id)
    return _record_out(services.confirm_record(record, actor=user))


@router.delete("/records/{record_id}", summary="删除应用记录")
def delete_lesson_record(request: HttpRequest, record_id: int) -> Any:
    user = api_user(request)
    record = get_for_user(LessonRecord.objects.all(), user, pk=record_id)
    services.delete_record(record, actor=user)
    return {"deleted": record_id}
