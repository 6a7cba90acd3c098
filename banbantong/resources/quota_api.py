"""API of resource-construction tasks and points: tasks with completion, assigning, leaderboards."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region
from banbantong.resources import library_rules as lr
from banbantong.resources import points, quotas
from banbantong.resources.quota_views import chosen_year

router = Router(tags=["资源库 · 建设任务与积分"])


class QuotaOut(Schema):
    id: int
    year: int
    school_id: int
    school_name: str
    subject: str
    kind: str
    target: int
    done: int
    percent: int


class QuotaIn(Schema):
    region_id: int
    year: int
    kind: str
    subject: str
    target: int


class AssignOut(Schema):
    schools: int


class TeacherPointsOut(Schema):
    user_id: int
    name: str
    school: str = Field(..., alias="school__name")
    points: int = Field(..., alias="total")
    approved: int
    downloads: int

    @staticmethod
    def resolve_name(row: dict[str, Any]) -> str:
        return str(row["user__display_name"] or row["user__username"])


class SchoolPointsOut(Schema):
    school_id: int
    school: str = Field(..., alias="school__name")
    points: int = Field(..., alias="total")
    teachers: int
    approved: int
    downloads: int


@router.get("/resources/quotas", response=list[QuotaOut], summary="资源建设任务及完成情况（默认今年）")
@paginate(LimitOffsetPagination)
def list_quotas(request: HttpRequest, year: int | None = None, subject: str = "", kind: str = "") -> list[dict[str, Any]]:
    user = api_user(request)
    qs = list(quotas.quota_queryset(user, {"year": chosen_year({"year": year}), "subject": subject, "kind": kind}))
    done = quotas.completion(qs)
    out = []
    for q in qs:
        n = done.get((q.school_id, q.year, q.kind, q.subject), 0)
        out.append({"id": q.pk, "year": q.year, "school_id": q.school_id, "school_name": q.school.name,
                    "subject": q.subject, "kind": q.kind, "target": q.target, "done": n,
                    "percent": lr.completion_percent(n, q.target)})
    return out


@router.post("/resources/quotas", response=AssignOut, summary="向区域内每所学校下达同一年度任务（已有同类任务则改为新任务数）")
def assign_quotas(request: HttpRequest, payload: QuotaIn) -> dict[str, int]:
    user = api_user(request)
    region = get_for_user(Region.objects.all(), user, pk=payload.region_id)
    data = quotas.QuotaInput(region=region, year=payload.year, kind=payload.kind, subject=payload.subject,
                             target=payload.target)
    return {"schools": quotas.assign_quotas(data, actor=user)}


@router.get("/resources/points/teachers", response=list[TeacherPointsOut], summary="教师积分榜（管辖范围内，默认今年）")
@paginate(LimitOffsetPagination)
def teacher_points(request: HttpRequest, year: int | None = None) -> QuerySet[Any]:
    return points.teacher_board(api_user(request), year=chosen_year({"year": year}))


@router.get("/resources/points/schools", response=list[SchoolPointsOut], summary="学校积分榜（管辖范围内，默认今年）")
@paginate(LimitOffsetPagination)
def school_points(request: HttpRequest, year: int | None = None) -> QuerySet[Any]:
    return points.school_board(api_user(request), year=chosen_year({"year": year}))
