"""API: dashboard figures and the audit log."""


from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.models import AuditEntry
from banbantong.org import queries

router = Router(tags=["概况与审计"])


class FiguresOut(Schema):
    schools: int
    classes: int
    built: int
    pupils: int
    coverage_percent: float


class AuditOut(Schema):
    id: int
    at: datetime
    actor_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None
    ip: str
    request_id: str


@router.get("/dashboard", response=FiguresOut, summary="管辖范围内的概况数字")
def dashboard(request: HttpRequest) -> dict[str, Any]:
    return queries.figures(api_user(request)).as_dict()


@router.get("/audit", response=list[AuditOut], summary="审计日志（审计员、局管理员）")
@paginate(LimitOffsetPagination)
def audit(request: HttpRequest, action: str | None = None) -> Any:
    user = api_user(request)
    if not user.can_read_audit:
        raise PermissionDenied("只有审计员和局管理员可以查看审计日志。")
    qs = AuditEntry.objects.for_user(user)
    if action:
        qs = qs.filter(action=action)
    return qs
