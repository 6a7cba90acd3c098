"""API: regions, schools, classes and teachers, all limited to the caller's scope."""


from typing import Any

from django.http import HttpRequest
from ninja import Field, FilterSchema, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user
from banbantong.org import queries
from banbantong.org.filters import ClassFilter, filter_classes
from banbantong.org.models import Region, School, TeachingClass

router = Router(tags=["基础档案"])


class RegionOut(Schema):
    id: int
    name: str
    level: str
    parent_id: int | None
    path: str


class RegionFiguresOut(Schema):
    region: RegionOut
    schools: int
    classes: int
    built: int
    pupils: int
    coverage_percent: float


class RegionDetailOut(RegionFiguresOut):
    children: list[RegionFiguresOut]


class SchoolOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    kind_label: str = Field(..., alias="get_kind_display")
    is_rural: bool
    region_id: int
    has_fibre: bool
    bandwidth_mbps: int
    has_campus_lan: bool
    has_firewall: bool


class ClassOut(Schema):
    id: int
    school_id: int
    school_name: str = Field(..., alias="school.name")
    grade: int
    grade_label: str
    name: str
    pupils: int
    mode_id: int | None
    status: str
    status_label: str = Field(..., alias="get_status_display")
    status_changed_on: Any = None
    built_year: int | None


class TeacherOut(Schema):
    id: int
    school_id: int
    name: str
    subject: str
    title: str
    phone: str = Field(..., alias="phone_masked")
    id_number: str = Field(..., alias="id_number_masked")


class ClassFilterIn(FilterSchema):
    region: int | None = None
    school: int | None = None
    kind: str | None = None
    grade: int | None = None
    mode: int | None = None
    status: str | None = None
    q: str | None = None


def _region_figures(row: queries.RegionRow) -> dict[str, Any]:
    return {"region": row.region, **row.figures.as_dict()}


@router.get("/regions", response=list[RegionOut], summary="管辖范围内的区域")
@paginate(LimitOffsetPagination)
def list_regions(request: HttpRequest, parent: int | None = None) -> Any:
    qs = Region.objects.for_user(api_user(request))
    return qs.filter(parent_id=parent) if parent else qs


@router.get("/regions/{region_id}", response=RegionDetailOut, summary="区域概况及下级")
def region_detail(request: HttpRequest, region_id: int) -> dict[str, Any]:
    user = api_user(request)
    region = get_for_user(Region.objects.all(), user, pk=region_id)
    return {
        "region": region,
        **queries.figures(user, region).as_dict(),
        "children": [_region_figures(r) for r in queries.child_figures(user, region)],
    }


@router.get("/schools", response=list[SchoolOut], summary="学校（q 按名称查找，可用于自动补全）")
@paginate(LimitOffsetPagination)
def list_schools(
    request: HttpRequest, region: int | None = None, kind: str | None = None, q: str | None = None
) -> Any:
    user = api_user(request)
    reg = get_for_user(Region.objects.all(), user, pk=region) if region else None
    qs = queries.schools_for(user, reg)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__contains=q.strip()[:50])
    return qs


@router.get("/schools/{school_id}", response=SchoolOut, summary="学校详情")
def school_detail(request: HttpRequest, school_id: int) -> School:
    return get_for_user(School.objects.all(), api_user(request), pk=school_id)


@router.get("/classes", response=list[ClassOut], summary="教学班（可筛选）")
@paginate(LimitOffsetPagination)
def list_classes(request: HttpRequest, filters: Query[ClassFilterIn]) -> Any:
    user = api_user(request)
    return filter_classes(user, ClassFilter(**filters.dict()))


@router.get("/classes/{class_id}", response=ClassOut, summary="教学班详情")
def class_detail(request: HttpRequest, class_id: int) -> TeachingClass:
    return get_for_user(
        TeachingClass.objects.select_related("school"), api_user(request), pk=class_id
    )


@router.get("/teachers", response=list[TeacherOut], summary="教师（手机号、身份证号已脱敏）")
@paginate(LimitOffsetPagination)
def list_teachers(request: HttpRequest, school: int | None = None) -> Any:
    qs = queries.teachers_for(api_user(request))
    return qs.filter(school_id=school) if school else qs
