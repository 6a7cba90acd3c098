"""API of the curriculum catalogue: the books a user sees, one book's units and lessons, the import."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user
from banbantong.core.uploads import spreadsheet_suffix
from banbantong.org.models import Region
from banbantong.resources import catalogue
from banbantong.resources.catalogue_views import lesson_rows, may_load, volume_queryset
from banbantong.resources.models import Volume

router = Router(tags=["资源库 · 教材目录"])


class VolumeOut(Schema):
    id: int
    stage: str
    subject: str
    edition: str
    grade: int
    grade_label: str
    term: str
    region_id: int
    units: int
    lessons: int

    @staticmethod
    def resolve_stage(obj: Volume) -> str:
        return obj.edition.stage

    @staticmethod
    def resolve_subject(obj: Volume) -> str:
        return obj.edition.subject

    @staticmethod
    def resolve_edition(obj: Volume) -> str:
        return obj.edition.name

    @staticmethod
    def resolve_region_id(obj: Volume) -> int:
        return obj.edition.region_id

    @staticmethod
    def resolve_units(obj: Any) -> int:
        return int(getattr(obj, "unit_count", 0))

    @staticmethod
    def resolve_lessons(obj: Any) -> int:
        return int(getattr(obj, "lesson_count", 0))


class LessonOut(Schema):
    id: int
    number: int
    name: str
    resources: int


class UnitOut(Schema):
    id: int
    number: int
    name: str
    lessons: list[LessonOut]


class VolumeDetailOut(Schema):
    id: int
    label: str
    units: list[UnitOut]


class ImportOut(Schema):
    ok: bool
    rows: int
    editions: int
    volumes: int
    units: int
    lessons: int
    created_lessons: int
    errors: list[dict[str, Any]]


@router.get("/resources/catalogue/volumes", response=list[VolumeOut], summary="我可见的教材目录（各册），可按学段、学科、年级筛选")
@paginate(LimitOffsetPagination)
def list_catalogue_volumes(request: HttpRequest, stage: str = "", subject: str = "", grade: str = "") -> QuerySet[Volume]:
    return volume_queryset(api_user(request), {"stage": stage, "subject": subject, "grade": grade})


@router.get("/resources/catalogue/volumes/{int:volume_id}", response=VolumeDetailOut, summary="一册的单元与课时（含我可见的资源数）")
def catalogue_volume(request: HttpRequest, volume_id: int) -> dict[str, Any]:
    user = api_user(request)
    volume = get_for_user(Volume.objects.select_related("edition"), user, pk=volume_id)
    units: list[dict[str, Any]] = []
    for r in lesson_rows(volume, user):
        if not units or units[-1]["id"] != r["unit"].pk:
            units.append({"id": r["unit"].pk, "number": r["unit"].number, "name": r["unit"].name, "lessons": []})
        units[-1]["lessons"].append({"id": r["lesson"].pk, "number": r["lesson"].number, "name": r["lesson"].name,
                                     "resources": r["resources"]})
    return {"id": volume.pk, "label": volume.label, "units": units}


@router.post("/resources/catalogue/import", response={200: ImportOut, 400: ImportOut},
             summary="导入教材目录（Excel 模板；全部正确才写入，否则返回每个错误的行和列）")
def import_catalogue(request: HttpRequest, region_id: Form[int], file: File[UploadedFile],
                     dry_run: Form[bool] = False) -> Status[dict[str, Any]]:
    user = api_user(request)
    if not may_load(user):
        raise PermissionDenied("只有局管理员可以导入教材目录。")
    region = get_for_user(Region.objects.all(), user, pk=region_id)
    if not file.size:
        raise ValidationError("文件是空的。")
    suffix = spreadsheet_suffix(file)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"catalogue{suffix}"
        with path.open("wb") as fh:
            for chunk in file.chunks():
                fh.write(chunk)
        result = catalogue.load_catalogue(path, region=region, actor=user, dry_run=dry_run)
    body = {
        "ok": result.ok, "rows": result.rows, "editions": result.editions, "volumes": result.volumes,
        "units": result.units, "lessons": result.lessons, "created_lessons": result.created_lessons,
        "errors": [{"row": line, "column": column, "message": message} for line, column, message in result.errors],
    }
    return Status(200 if result.ok else 400, body)
