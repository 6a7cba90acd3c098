"""API: resource uploads (hash-first, resumable), metadata and the user's resources.

Uploading a file: ask `POST /resources/blobs/check` whether the server already holds its SHA-256
(秒传); if not, start an upload session, `PUT` each chunk with its own SHA-256 in the
`X-Chunk-SHA256` header or its CRC-32 in `X-Chunk-CRC32` (in any order, again after a broken
connection: the session lists what arrived), then `complete`. A client may also start without the
file's SHA-256 and give it to `complete`, hashing the file while its chunks travel. The server writes each chunk at its place in one file per session. Finally `POST /resources` with the metadata and the file's SHA-256.
Downloads are the page URL in `download_url` (Range supported).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region, School
from banbantong.resources import review, rules, services
from banbantong.resources.catalogue_api import router as catalogue_router
from banbantong.resources.coverage_api import router as coverage_router
from banbantong.resources.models import Blob, Lesson, Resource, UploadSession
from banbantong.resources.quota_api import router as quota_router
from banbantong.resources.views import resource_queryset

router = Router(tags=["资源库"])
router.add_router("", catalogue_router)
router.add_router("", quota_router)
router.add_router("", coverage_router)
BODY_BLOCK = rules.MAX_CHUNK + 1  # a chunk in one read: no copying block by block


class BlobCheckIn(Schema):
    sha256: str
    size: int


class BlobCheckOut(Schema):
    exists: bool


class BlobOut(Schema):
    sha256: str
    size: int
    content_type: str


class UploadStartIn(Schema):
    file_name: str
    sha256: str = ""  # or given at completion, hashed while the chunks travel
    size: int
    chunk_size: int | None = None



class UploadOut(Schema):
    id: str
    file_name: str
    sha256: str
    size: int
    chunk_size: int
    chunk_count: int
    received: list[int]
    missing: list[int]
    expires_at: dt.datetime

    @staticmethod
    def resolve_chunk_count(obj: UploadSession) -> int:
        return services.chunk_count(obj)

    @staticmethod
    def resolve_missing(obj: UploadSession) -> list[int]:
        return services.missing_chunks(obj)


class ResourceIn(Schema):
    title: str
    kind: str
    file_name: str
    sha256: str
    school_id: int | None = Field(None, description="默认为上传人所在学校")
    network_region_id: int | None = Field(None, description="提交到区域资源网（本校所在区域或其上级）")
    stage: str = ""
    subject: str = ""
    grade: str = ""
    edition: str = ""
    volume: str = ""
    unit: str = ""
    lesson: str = ""
    description: str = ""
    tags: str = ""
    lesson_id: int | None = Field(None, description="教材目录中的课时；给出时学段、学科、年级、版本、册次、单元、课时按目录填写")


class ResourceOut(Schema):
    id: int
    title: str
    kind: str
    kind_label: str = Field(..., alias="get_kind_display")
    stage: str
    subject: str
    grade: str
    edition: str
    volume: str
    unit: str
    lesson: str
    description: str
    tags: str
    school_id: int
    school_name: str = Field(..., alias="school.name")
    author: str
    library: str
    status: str
    status_label: str = Field(..., alias="get_status_display")
    network_region_id: int | None
    catalogue_lesson_id: int | None
    review_reason: str
    reviewed_at: dt.datetime | None
    original_name: str
    sha256: str = Field(..., alias="blob.sha256")
    size: int = Field(..., alias="blob.size")
    content_type: str = Field(..., alias="blob.content_type")
    download_url: str
    created_at: dt.datetime

    @staticmethod
    def resolve_author(obj: Resource) -> str:
        return str(obj.author)

    @staticmethod
    def resolve_download_url(obj: Resource) -> str:
        return reverse("resources:download", args=[obj.pk])


def _session(request: HttpRequest, session_id: str) -> UploadSession:
    return get_for_user(UploadSession.objects.all(), api_user(request), pk=session_id)


@router.post("/resources/blobs/check", response=BlobCheckOut, summary="秒传：服务器是否已有此文件（按 SHA-256 与大小）")
def check_blob(request: HttpRequest, payload: BlobCheckIn) -> dict[str, bool]:
    return {"exists": services.blob_exists(payload.sha256, payload.size)}


@router.post("/resources/uploads", response={201: UploadOut}, summary="开始分片上传（断点续传）")
def start_upload(request: HttpRequest, payload: UploadStartIn) -> Status[UploadSession]:
    session = services.start_upload(actor=api_user(request), file_name=payload.file_name, sha256=payload.sha256,
                                    size=payload.size, chunk_size=payload.chunk_size)
    return Status(201, session)


@router.get("/resources/uploads/{session_id}", response=UploadOut, summary="上传进度：已收到与缺少的分片")
def upload_status(request: HttpRequest, session_id: str) -> UploadSession:
    return _session(request, session_id)


@router.put("/resources/uploads/{session_id}/chunks/{int:index}", response=UploadOut,
            summary="上传第 index 片（请求体为原始字节；X-Chunk-SHA256 头为本片的 SHA-256，或 X-Chunk-CRC32 头为本片的 CRC-32）")
def put_chunk(request: HttpRequest, session_id: str, index: int) -> UploadSession:
    session = _session(request, session_id)
    # The service keeps one chunk (at most 32 MB; waitress already holds it in memory up to 8 MB)
    # until its checksum is checked, then writes it into the session file.
    body = iter(lambda: request.read(BODY_BLOCK), b"")
    return services.receive_chunk(session, index, body, chunk_sha256=request.headers.get("X-Chunk-SHA256", ""),
                                  chunk_crc32=request.headers.get("X-Chunk-CRC32", ""), actor=api_user(request))


@router.post("/resources/uploads/{session_id}/complete", response=BlobOut,
             summary="合并分片、校验整个文件并存储（开始时未声明 SHA-256 的，在此给出）")
def complete_upload(request: HttpRequest, session_id: str) -> Blob:
    # The body is optional ({"sha256": "…"} when the start did not declare it): read by hand,
    # since the API's schema parsing refuses an empty body, which clients that declared it send.
    session = _session(request, session_id)
    try:
        given = json.loads(request.body or b"{}") if request.content_type == "application/json" else {}
    except ValueError as exc:
        raise ValidationError("请求体应为 JSON，例如 {\"sha256\": \"…\"}，或留空。") from exc
    sha256 = given.get("sha256") if isinstance(given, dict) else None
    return services.complete_upload(session, actor=api_user(request), sha256=sha256 if isinstance(sha256, str) else "")


@router.delete("/resources/uploads/{session_id}", response={204: None}, summary="取消上传并删除已收到的分片")
def cancel_upload(request: HttpRequest, session_id: str) -> Status[None]:
    services.cancel_upload(_session(request, session_id), actor=api_user(request))
    return Status(204, None)


@router.get("/resources", response=list[ResourceOut], summary="我可见的资源（kind、subject、grade、lesson_id、status 筛选，mine 只看我上传的，q 查找）")
@paginate(LimitOffsetPagination)
def list_resources(
    request: HttpRequest, kind: str = "", subject: str = "", grade: str = "", q: str = "",
    lesson_id: int | None = None, status: str = "", mine: bool = False,
) -> QuerySet[Resource]:
    params = {"kind": kind, "subject": subject, "grade": grade, "q": q, "lesson": lesson_id or "", "status": status,
              "mine": "1" if mine else ""}
    return resource_queryset(api_user(request), params)  # type: ignore[no-any-return]


@router.get("/resources/{int:resource_id}", response=ResourceOut, summary="资源详情")
def resource_detail(request: HttpRequest, resource_id: int) -> Resource:
    return get_for_user(Resource.objects.select_related("school", "author", "blob"), api_user(request), pk=resource_id)


@router.post("/resources", response={201: ResourceOut}, summary="登记资源：用已上传（或已存在）文件的 SHA-256，不再传文件")
def create_resource(request: HttpRequest, payload: ResourceIn) -> Status[Resource]:
    user = api_user(request)
    school_id = payload.school_id or user.school_id
    if school_id is None:
        raise ValidationError({"school_id": ["请指定学校。"]})
    school = get_for_user(School.objects.all(), user, pk=school_id)
    region: Any = None
    if payload.network_region_id is not None:
        region = Region.objects.filter(pk=payload.network_region_id).first()
        if region is None:
            raise ValidationError({"network_region_id": ["区域不存在。"]})
    lesson: Any = None
    if payload.lesson_id is not None:
        lesson = Lesson.objects.for_user(user).select_related("unit__volume__edition").filter(pk=payload.lesson_id).first()
        if lesson is None:
            raise ValidationError({"lesson_id": ["课时不存在或不在您可用的教材目录中。"]})
    data = services.ResourceInput(
        title=payload.title, kind=payload.kind, school=school, file_name=payload.file_name, network_region=region,
        stage=payload.stage, subject=payload.subject, grade=payload.grade, edition=payload.edition,
        volume=payload.volume, unit=payload.unit, lesson=payload.lesson, description=payload.description,
        tags=payload.tags, catalogue_lesson=lesson,
    )
    resource = services.create_resource(data, actor=user, sha256=payload.sha256)
    return Status(201, Resource.objects.select_related("school", "author", "blob").get(pk=resource.pk))


# --- Review ------------------------------------------------------------------------------------------


class RejectIn(Schema):
    reason: str


def _reviewed(resource: Resource) -> Resource:
    return Resource.objects.select_related("school", "author", "blob").get(pk=resource.pk)


@router.get("/resources/review/queue", response=list[ResourceOut], summary="待我审核的资源（提交到我所在区域及下级资源网）")
@paginate(LimitOffsetPagination)
def list_review_queue(request: HttpRequest) -> QuerySet[Resource]:
    user = api_user(request)
    if not review.may_review(user):
        raise PermissionDenied("只有资源审核员可以查看待审核队列。")
    return review.review_queue(user)


@router.post("/resources/{int:resource_id}/approve", response=ResourceOut, summary="审核通过（全区域学校可见，作者得积分）")
def approve_resource(request: HttpRequest, resource_id: int) -> Resource:
    user = api_user(request)
    return _reviewed(review.approve_resource(review.get_reviewable(user, resource_id), actor=user))


@router.post("/resources/{int:resource_id}/reject", response=ResourceOut, summary="退回（必须写理由，作者会收到站内提醒）")
def reject_resource(request: HttpRequest, resource_id: int, payload: RejectIn) -> Resource:
    user = api_user(request)
    return _reviewed(review.reject_resource(review.get_reviewable(user, resource_id), actor=user, reason=payload.reason))


@router.post("/resources/{int:resource_id}/resubmit", response=ResourceOut, summary="作者把被退回的资源重新提交审核")
def resubmit_resource(request: HttpRequest, resource_id: int) -> Resource:
    user = api_user(request)
    resource = get_for_user(Resource.objects.all(), user, pk=resource_id)
    return _reviewed(review.resubmit_resource(resource, actor=user))
