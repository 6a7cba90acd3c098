"""Writes of the resource library: resources, stored files and resumable uploads.

The upload page and the API call these same functions. File work (streaming, hashing, checks)
happens outside database transactions; each database write is one transaction with its audit
entry. Chunks of a resumable upload are not audited one by one: the start, the completion and a
cancellation are. A resumable upload's bytes go into one session file (chunked.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from banbantong.core import audit
from banbantong.org.models import Region, School
from banbantong.resources import chunked, rules, storage
from banbantong.resources.models import Blob, Lesson, Resource, UploadSession, ancestor_paths
from banbantong.resources.rules import UploadRefused

UPLOADER_ROLES = frozenset({"teacher", "school_admin", "device_admin", "bureau_admin", "reviewer"})
SESSION_LIFETIME = dt.timedelta(hours=24)
SWEEP_BATCH = 50


def may_upload(actor: Any) -> bool:
    return bool(actor.is_superuser or (actor.role in UPLOADER_ROLES and not actor.read_only))


def _check_uploader(actor: Any) -> None:
    if getattr(actor, "read_only", False):
        raise PermissionDenied("审计员账号只读，不能上传资源。")
    if not may_upload(actor):
        raise PermissionDenied("只有教师、学校管理员、电教管理员、资源审核员或局管理员可以上传资源。")


def _check_school(actor: Any, school: School) -> None:
    scope = actor.scope
    if not (scope.everything or school.pk in scope.school_ids or scope.covers_path(school.region_path)):
        raise PermissionDenied("该学校不在您的管辖范围内。")


def _actor_place(actor: Any) -> tuple[str, int | None]:
    return actor.audit_place() if hasattr(actor, "audit_place") else ("", None)  # type: ignore[no-any-return]


# --- Resources -------------------------------------------------------------------------------------


@dataclass
class ResourceInput:
    title: str
    kind: str
    school: School
    file_name: str
    stage: str = ""
    subject: str = ""
    grade: str = ""
    edition: str = ""
    volume: str = ""
    unit: str = ""
    lesson: str = ""
    description: str = ""
    tags: str = ""
    network_region: Region | None = None
    catalogue_lesson: Lesson | None = None


def lesson_fields(lesson: Lesson) -> dict[str, str]:
    """The plain-text catalogue fields a resource shows, copied from its lesson."""
    unit = lesson.unit
    volume = unit.volume
    edition = volume.edition
    return {"stage": edition.stage, "subject": edition.subject, "grade": volume.grade_label,
            "edition": edition.name, "volume": volume.term, "unit": unit.name[:60], "lesson": lesson.name[:60]}


def resource_problems(data: ResourceInput) -> list[tuple[str, str]]:
    """Every problem with the metadata as (field, message); the form, the API and tests share it."""
    problems: list[tuple[str, str]] = []
    if not data.title.strip():
        problems.append(("title", "标题不能为空。"))
    if data.kind not in Resource.Kind.values:
        problems.append(("kind", f"未知的资源类型“{data.kind}”。"))
    if data.network_region is not None and not data.school.region_path.startswith(data.network_region.path):
        problems.append(("network_region", "只能提交到本校所在区域（或其上级）的资源网。"))
    if data.catalogue_lesson is not None:
        region_path = data.catalogue_lesson.unit.volume.edition.region_path
        if region_path not in ancestor_paths(data.school.region_path):
            problems.append(("catalogue_lesson", "该课时所属的教材目录不适用于本校（不是本校所在区域或其上级导入的）。"))
    return problems


def create_resource(
    data: ResourceInput, *, actor: Any, sha256: str = "", content: Iterable[bytes] | None = None
) -> Resource:
    """A new resource: either with its bytes (`content`, streamed and checked here) or, when the
    server already holds the file, by its SHA-256 alone (秒传: nothing is sent again)."""
    _check_uploader(actor)
    _check_school(actor, data.school)
    if problems := resource_problems(data):
        raise ValidationError({field: [message] for field, message in problems})
    if data.catalogue_lesson is not None:
        for key, value in lesson_fields(data.catalogue_lesson).items():
            setattr(data, key, value)
    name = rules.clean_display_name(data.file_name)
    ftype = rules.file_type_for(name)
    if content is not None:
        blob = ingest(content, file_name=name, actor=actor)
    else:
        blob = Blob.objects.filter(pk=rules.normal_sha256(sha256)).first()  # type: ignore[assignment]
        if blob is None:
            raise ValidationError("服务器上还没有这个文件，请先上传文件内容。")
    if ftype.content_type != blob.content_type:
        raise UploadRefused(f"文件扩展名“{rules.extension(name)}”与已存文件的内容类型不符，请使用原来的文件名。")
    with transaction.atomic():
        resource = Resource.objects.create(
            title=data.title.strip(), kind=data.kind, school=data.school, author=actor,
            stage=data.stage.strip(), subject=data.subject.strip(), grade=data.grade.strip(),
            edition=data.edition.strip(), volume=data.volume.strip(), unit=data.unit.strip(),
            lesson=data.lesson.strip(), description=data.description.strip(), tags=data.tags.strip(),
            library=Resource.Library.NETWORK if data.network_region else Resource.Library.SCHOOL,
            network_region=data.network_region,
            status=Resource.Status.SUBMITTED if data.network_region else Resource.Status.DRAFT,
            original_name=name, blob=blob, catalogue_lesson=data.catalogue_lesson,
        )
        audit.record(audit.Action.CREATE, resource, actor=actor, after=audit.snapshot(resource))
    return resource


# --- Stored files ----------------------------------------------------------------------------------


def ingest(content: Iterable[bytes], *, file_name: str, actor: Any) -> Blob:
    """Stream bytes to a temporary file, check them, and store them once. Refused bytes leave nothing."""
    _check_uploader(actor)
    with storage.spooled(content, limit=storage.max_bytes()) as received:
        ftype = storage.check_file(received, file_name)
        return _store(received, ftype, actor=actor)


def _store(received: storage.Received, ftype: rules.FileType, *, actor: Any) -> Blob:
    with transaction.atomic():
        blob, created = storage.store_blob(received, content_type=ftype.content_type)
        if created:
            audit.record(audit.Action.CREATE, blob, actor=actor, after=audit.snapshot(blob), place=_actor_place(actor))
    return blob


def blob_exists(sha256: str, size: int) -> bool:
    return Blob.objects.filter(pk=rules.normal_sha256(sha256), size=size).exists()


# --- Resumable uploads -----------------------------------------------------------------------------


def start_upload(*, actor: Any, file_name: str, sha256: str = "", size: int,
                 chunk_size: int | None = None) -> UploadSession:
    """A resumable upload. The file's SHA-256 may be declared now or at completion: a client
    sending a large file may hash it while the chunks are on their way instead of before."""
    _check_uploader(actor)
    name = rules.clean_display_name(file_name)
    rules.file_type_for(name)  # refuse an .exe or a .pptm before a single byte is sent
    digest = rules.normal_sha256(sha256) if sha256 else ""
    chunk, _count = rules.chunk_plan(size, chunk_size, max_bytes=storage.max_bytes())
    sweep_expired()
    session_id = secrets.token_urlsafe(24)
    chunked.create(session_id, size)  # the whole size reserved now: a full disk is said before any byte
    try:
        with transaction.atomic():
            session = UploadSession.objects.create(
                id=session_id, owner=actor, file_name=name, sha256=digest, size=size,
                chunk_size=chunk, expires_at=timezone.now() + SESSION_LIFETIME,
            )
            audit.record(audit.Action.CREATE, session, actor=actor,
                         after={"file_name": name, "sha256": digest, "size": size, "chunk_size": chunk})
    except BaseException:
        chunked.delete(session_id)
        raise
    return session


def chunk_count(session: UploadSession) -> int:
    return -(-session.size // session.chunk_size)


def missing_chunks(session: UploadSession) -> list[int]:
    return sorted(set(range(chunk_count(session))) - set(session.received))


def _check_live(session: UploadSession) -> None:
    if session.expires_at <= timezone.now():
        raise ValidationError("此次上传已过期，请重新开始上传。")


def _read_chunk(body: Iterable[bytes], expected: int, wrong_size: str) -> bytes:
    # One chunk (at most rules.MAX_CHUNK) is held in memory until its hash is checked, so that a
    # damaged chunk never touches the session file.
    blocks: list[bytes] = []
    size = 0
    for block in body:
        blocks.append(block)
        size += len(block)
        if size > expected:
            raise ValidationError(wrong_size)
    if size != expected:
        raise ValidationError(wrong_size)
    return blocks[0] if len(blocks) == 1 else b"".join(blocks)  # the API reads a chunk in one block


def _chunk_check(index: int, data: bytes, chunk_sha256: str, chunk_crc32: str) -> str:
    """Check a chunk against the checksum its client sent; returns it as 'sha256:…' or 'crc32:…'.

    A chunk's checksum only guards its trip over the network (the whole file's SHA-256 is checked
    at completion, before anything is stored): CRC-32 does that at a fraction of SHA-256's cost,
    which on a 1 GB upload is most of the server's work; SHA-256 stays accepted.
    """
    if chunk_sha256:
        digest = rules.normal_sha256(chunk_sha256)
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValidationError(f"分片 {index} 的 SHA-256 不符，数据在传输中损坏，未保存。请重发该分片。")
        return f"sha256:{digest}"
    if chunk_crc32:
        crc = rules.normal_crc32(chunk_crc32)
        if f"{zlib.crc32(data):08x}" != crc:
            raise ValidationError(f"分片 {index} 的 CRC-32 不符，数据在传输中损坏，未保存。请重发该分片。")
        return f"crc32:{crc}"
    raise ValidationError("请在 X-Chunk-SHA256（或 X-Chunk-CRC32）请求头中给出本分片的校验值。")


def receive_chunk(
    session: UploadSession, index: int, body: Iterable[bytes], *, chunk_sha256: str = "", chunk_crc32: str = "",
    actor: Any,
) -> UploadSession:
    """Write one chunk at its offset after checking its length and its own checksum (SHA-256 or
    CRC-32); a bad chunk is not written. A resent chunk overwrites the earlier copy."""
    _check_live(session)
    expected = rules.chunk_length(index, size=session.size, chunk_size=session.chunk_size)
    if not (chunk_sha256 or chunk_crc32):
        raise ValidationError("请在 X-Chunk-SHA256（或 X-Chunk-CRC32）请求头中给出本分片的校验值。")
    wrong_size = f"分片 {index} 应为 {expected} 字节，收到的不符。连接可能中断，请重发该分片。"
    data = _read_chunk(body, expected, wrong_size)
    digest = _chunk_check(index, data, chunk_sha256, chunk_crc32)
    # Counted before the write, so that completion, reading the count after sealing the file,
    # knows of every write that reached it (see chunked).
    if not UploadSession.objects.filter(pk=session.pk).update(chunk_writes=F("chunk_writes") + 1):
        raise Http404("上传会话不存在")
    try:
        chunked.write_chunk(session.pk, index, index * session.chunk_size, data, digest)
    except chunked.SessionGone as exc:
        raise ValidationError(str(exc)) from exc
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().filter(pk=session.pk).first()
        if locked is None:  # cancelled meanwhile; cancelling removed the file
            raise Http404("上传会话不存在")
        if index not in locked.received:
            locked.received = sorted([*locked.received, index])
            locked.save(update_fields=["received"])
    return locked


def complete_upload(session: UploadSession, *, actor: Any, sha256: str = "") -> Blob:
    """Seal the session file, verify the whole file's SHA-256, check it, store it once.

    The SHA-256 is the one declared at the start, or given now (the same one if both). Success
    and refusal both end the session and remove its file; other errors (a full disk, an object
    store out of reach) give the file back to the session so the client may try again.
    """
    session.refresh_from_db(fields=["received", "expires_at"])  # chunks may have arrived through other processes
    _check_live(session)
    given = rules.normal_sha256(sha256) if sha256 else ""
    if session.sha256 and given and given != session.sha256:
        raise ValidationError("完成时给出的 SHA-256 与开始上传时声明的不同，请检查后重试。")
    if not (session.sha256 or given):
        raise ValidationError("请给出整个文件的 SHA-256（开始上传时未声明）。")
    if not session.sha256:
        session.sha256 = given
        UploadSession.objects.filter(pk=session.pk).update(sha256=given)
    if missing := missing_chunks(session):
        shown = "、".join(str(i) for i in missing[:10]) + ("…" if len(missing) > 10 else "")
        raise ValidationError(f"还缺 {len(missing)} 个分片（{shown}），请先上传这些分片。")
    try:
        sealed = chunked.seal(session.pk)
    except chunked.SessionGone as exc:
        raise ValidationError("此次上传正在完成或已经结束，请查看上传进度后再试。") from exc
    try:
        session.refresh_from_db(fields=["chunk_writes"])
        blob = Blob.objects.filter(pk=session.sha256, size=session.size).first()
        if blob is None:
            whole = chunked.whole_sha256(session.pk, sealed, chunk_size=session.chunk_size,
                                         writes=session.chunk_writes)
            if whole.sha256 != session.sha256:
                raise UploadRefused("合并后的文件与声明的 SHA-256 不符，请重新上传整个文件。")
            received = storage.Received(path=sealed, sha256=whole.sha256, size=session.size)
            ftype = storage.check_file(received, session.file_name)
            blob = _store(received, ftype, actor=actor)
    except ValidationError as exc:
        _end(session, actor=actor, reason="；".join(exc.messages))
        raise
    except BaseException:
        chunked.unseal(session.pk)
        raise
    _end(session, actor=actor, reason="完成")
    return blob


def cancel_upload(session: UploadSession, *, actor: Any) -> None:
    _end(session, actor=actor, reason="取消")


def _end(session: UploadSession, *, actor: Any, reason: str) -> None:
    chunked.delete(session.pk)
    with transaction.atomic():
        audit.record(audit.Action.DELETE, session, actor=actor, after={"reason": reason[:200]})
        UploadSession.objects.filter(pk=session.pk).delete()


def sweep_expired() -> int:
    """Remove a batch of expired sessions and their files; each new upload does a little of it."""
    expired = list(UploadSession.objects.filter(expires_at__lte=timezone.now())[:SWEEP_BATCH])
    for session in expired:
        chunked.delete(session.pk)
    UploadSession.objects.filter(pk__in=[s.pk for s in expired]).delete()
    return len(expired)
