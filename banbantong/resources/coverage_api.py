"""API of the coverage matrix (按课时配齐): a school's lessons, a region's lessons and gaps."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema

from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region, School
from banbantong.resources import coverage
from banbantong.resources.models import Volume

router = Router(tags=["资源库 · 按课时配齐"])


class LessonCoverageOut(Schema):
    lesson_id: int
    unit: str
    lesson: str
    counts: dict[str, dict[str, int]]
    missing: list[str]
    schools: int
    uncovered: bool


class CoverageOut(Schema):
    volume_id: int
    place: str
    lessons: list[LessonCoverageOut]


def _out(volume: Volume, rows: list[coverage.LessonCoverage], place: str, name: str) -> dict[str, Any]:
    return {"volume_id": volume.pk, "place": name, "lessons": [
        {"lesson_id": r.lesson.pk, "unit": str(r.lesson.unit), "lesson": r.lesson.name, "counts": r.counts,
         "missing": r.missing(place), "schools": r.schools, "uncovered": r.uncovered} for r in rows]}


@router.get("/resources/coverage", response=CoverageOut,
            summary="一所学校某册每个课时的课件、教案、测试数（counts.school 本校，counts.network 资源网）")
def school_coverage(request: HttpRequest, volume_id: int, school_id: int | None = None) -> dict[str, Any]:
    user = api_user(request)
    volume = get_for_user(Volume.objects.all(), user, pk=volume_id)
    sid = school_id or user.school_id
    if sid is None:
        raise ValidationError({"school_id": ["请指定学校。"]})
    school = get_for_user(School.objects.all(), user, pk=sid)
    return _out(volume, coverage.school_matrix(volume, school), "school", school.name)


@router.get("/resources/coverage/region", response=CoverageOut,
            summary="区域某册每个课时的资源数与缺口（uncovered 为无人覆盖）")
def region_coverage(request: HttpRequest, volume_id: int, region_id: int | None = None) -> dict[str, Any]:
    user = api_user(request)
    if not user.is_regional:
        raise PermissionDenied("区域缺口只对区域用户开放。")
    volume = get_for_user(Volume.objects.all(), user, pk=volume_id)
    rid = region_id or user.region_id
    if rid is None:
        raise ValidationError({"region_id": ["请指定区域。"]})
    region = get_for_user(Region.objects.all(), user, pk=rid)
    return _out(volume, coverage.region_matrix(volume, region), "region", region.name)
