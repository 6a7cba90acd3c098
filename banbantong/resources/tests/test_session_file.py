"""Resumable uploads write every chunk at its offset into one session file (resources.chunked)."""

from __future__ import annotations

import errno
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.test import Client

from banbantong.conftest import World
from banbantong.resources import chunked, services, storage
from banbantong.resources.models import Blob, UploadSession
from banbantong.resources.rules import UploadRefused
from banbantong.resources.tests.kit import files_under, pdf, sha

CHUNK = 64 * 1024
JSON = "application/json"


def part(data: bytes, index: int) -> bytes:
    return data[index * CHUNK : (index + 1) * CHUNK]


def start(world: World, data: bytes, name: str = "分数.pdf") -> UploadSession:
    return services.start_upload(actor=world.teacher_user_a, file_name=name, sha256=sha(data), size=len(data),
                                 chunk_size=CHUNK)


def send(session: UploadSession, data: bytes, index: int, *, actor: Any = None) -> UploadSession:
    chunk = part(data, index)
    return services.receive_chunk(session, index, [chunk], chunk_sha256=sha(chunk), actor=actor or session.owner)


def stored(media: Path) -> list[Path]:
    return [p for p in files_under(media) if storage.temp_dir() not in p.parents]


@pytest.mark.django_db
def test_the_session_file_is_reserved_whole_outside_the_store(world: World, media: Path) -> None:
    data = pdf(3 * CHUNK - 7)
    session = start(world, data)
    path = chunked.session_path(session.pk)
    assert path.stat().st_size == len(data)
    assert storage.temp_dir() in path.parents and stored(media) == []


@pytest.mark.django_db
def test_a_full_disk_is_refused_at_the_start_in_chinese_and_leaves_nothing(world: World, media: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(chunked.os, "posix_fallocate", no_space)
    with pytest.raises(UploadRefused, match="存储空间不足"):
        start(world, pdf(3 * CHUNK))
    assert not UploadSession.objects.exists() and files_under(media) == []


@pytest.mark.django_db
def test_out_of_order_chunks_make_the_right_file(world: World, media: Path) -> None:
    data = pdf(4 * CHUNK - 100)
    session = start(world, data)
    for index in (3, 1, 0, 2):
        send(session, data, index)
    blob = services.complete_upload(session, actor=world.teacher_user_a)
    assert blob.sha256 == sha(data)
    assert stored(media) == [media / storage.blob_key(sha(data))]
    assert stored(media)[0].read_bytes() == data
    assert files_under(storage.temp_dir()) == []


@pytest.mark.django_db
def test_the_running_hash_covers_what_came_in_order_and_the_rest_is_read_back(world: World) -> None:
    data = pdf(4 * CHUNK - 100)
    in_order = start(world, data)
    for index in range(4):
        send(in_order, data, index)
    in_order.refresh_from_db()
    sealed = chunked.seal(in_order.pk)
    whole = chunked.whole_sha256(in_order.pk, sealed, chunk_size=CHUNK, writes=in_order.chunk_writes)
    assert (whole.sha256, whole.reread) == (sha(data), 0)

    shuffled = start(world, data)
    for index in (1, 0, 3, 2):  # two connections: each chunk early waits for the one before it
        send(shuffled, data, index)
    shuffled.refresh_from_db()
    sealed = chunked.seal(shuffled.pk)
    whole = chunked.whole_sha256(shuffled.pk, sealed, chunk_size=CHUNK, writes=shuffled.chunk_writes)
    assert (whole.sha256, whole.reread) == (sha(data), 0)

    far = start(world, pdf(8 * CHUNK))
    far_data = pdf(8 * CHUNK)
    for index in (0, *range(2, 8), 1):  # more than MAX_AHEAD early: the hash stops, the rest is read back
        send(far, far_data, index)
    far.refresh_from_db()
    sealed = chunked.seal(far.pk)
    whole = chunked.whole_sha256(far.pk, sealed, chunk_size=CHUNK, writes=far.chunk_writes)
    assert chunked.MAX_AHEAD < 6
    assert (whole.sha256, whole.reread) == (sha(far_data), 8 * CHUNK - (2 + chunked.MAX_AHEAD) * CHUNK)


@pytest.mark.django_db
def test_a_resent_chunk_overwrites_and_changed_bytes_are_caught(world: World, media: Path) -> None:
    data = pdf(2 * CHUNK + 10)
    session = start(world, data)
    send(session, data, 0)
    send(session, data, 0)  # the same bytes again (the answer to the first was lost): harmless
    send(session, data, 1)
    other = pdf(CHUNK, seed=9)
    services.receive_chunk(session, 1, [other], chunk_sha256=sha(other), actor=world.teacher_user_a)
    send(session, data, 2)
    # The running hash saw the first chunk 1; the file holds the second one. Completion must not
    # trust the hash: the file no longer matches the declared SHA-256.
    with pytest.raises(UploadRefused, match="SHA-256 不符"):
        services.complete_upload(session, actor=world.teacher_user_a)
    assert not Blob.objects.exists() and files_under(media) == []


@pytest.mark.django_db
def test_a_chunk_resent_with_the_right_bytes_repairs_the_file(world: World, media: Path) -> None:
    data = pdf(2 * CHUNK + 10)
    session = start(world, data)
    other = pdf(CHUNK, seed=9)
    services.receive_chunk(session, 0, [other], chunk_sha256=sha(other), actor=world.teacher_user_a)
    send(session, data, 1)
    send(session, data, 2)
    send(session, data, 0)
    assert services.complete_upload(session, actor=world.teacher_user_a).sha256 == sha(data)
    assert stored(media)[0].read_bytes() == data


@pytest.mark.django_db
def test_a_write_by_another_process_makes_completion_read_the_file(world: World, media: Path) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)
    send(session, data, 0)
    send(session, data, 1)
    # Another app process took a resent chunk 1 with other bytes: it counted its write in the
    # session row, and this process's running hash never saw it.
    mine = chunked._running.pop(session.pk)
    other = pdf(CHUNK, seed=5)
    UploadSession.objects.filter(pk=session.pk).update(chunk_writes=session.chunk_writes + 3)
    chunked.write_chunk(session.pk, 1, CHUNK, other, sha(other))
    chunked._running[session.pk] = mine
    with pytest.raises(UploadRefused, match="SHA-256 不符"):
        services.complete_upload(session, actor=world.teacher_user_a)
    assert files_under(media) == []


@pytest.mark.django_db
def test_a_wrong_chunk_is_not_written_over_a_good_one(world: World) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)
    send(session, data, 0)
    with pytest.raises(ValidationError, match="SHA-256 不符"):
        services.receive_chunk(session, 0, [pdf(CHUNK, seed=3)], chunk_sha256=sha(part(data, 0)),
                               actor=world.teacher_user_a)
    with pytest.raises(ValidationError, match="字节"):
        services.receive_chunk(session, 0, [part(data, 0), b"x"], chunk_sha256=sha(part(data, 0)),
                               actor=world.teacher_user_a)
    assert chunked.session_path(session.pk).read_bytes()[:CHUNK] == part(data, 0)


@pytest.mark.django_db
def test_resume_sends_only_the_missing_chunks_and_complete_names_them(world: World, client: Client,
                                                                      media: Path) -> None:
    data = pdf(5 * CHUNK - 3)
    client.force_login(world.teacher_user_a)
    session = start(world, data)
    for index in (0, 1, 3):
        send(session, data, index)
    # The connection broke during chunk 2: half of it arrived.
    cut = client.put(f"/api/v1/resources/uploads/{session.pk}/chunks/2", part(data, 2)[: CHUNK // 2],
                     content_type="application/octet-stream", headers={"X-Chunk-SHA256": sha(part(data, 2))})
    assert cut.status_code == 400 and "请重发该分片" in cut.json()["message"]
    status = client.get(f"/api/v1/resources/uploads/{session.pk}").json()
    assert (status["received"], status["missing"]) == ([0, 1, 3], [2, 4])
    early = client.post(f"/api/v1/resources/uploads/{session.pk}/complete")
    assert early.status_code == 400
    assert early.json()["message"] == "还缺 2 个分片（2、4），请先上传这些分片。"
    assert UploadSession.objects.filter(pk=session.pk).exists()  # nothing ended: the client goes on
    writes_before = UploadSession.objects.get(pk=session.pk).chunk_writes
    for index in status["missing"]:
        send(session, data, index)
    assert UploadSession.objects.get(pk=session.pk).chunk_writes == writes_before + 2  # finished ones not resent
    done = client.post(f"/api/v1/resources/uploads/{session.pk}/complete")
    assert done.status_code == 200 and done.json()["sha256"] == sha(data)
    assert stored(media)[0].read_bytes() == data and files_under(storage.temp_dir()) == []


@pytest.mark.django_db
def test_no_chunk_is_written_after_completion_sealed_the_file(world: World, media: Path) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)
    send(session, data, 0)
    send(session, data, 1)
    services.complete_upload(session, actor=world.teacher_user_a)
    with pytest.raises(chunked.SessionGone):
        chunked.write_chunk(session.pk, 0, 0, part(data, 0), sha(part(data, 0)))
    assert stored(media)[0].read_bytes() == data


@pytest.mark.django_db
def test_sealing_waits_for_a_writer_that_is_writing(world: World) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)
    sealed: list[Path] = []
    with chunked._writer(session.pk):
        sealer = threading.Thread(target=lambda: sealed.append(chunked.seal(session.pk)))
        sealer.start()
        sealer.join(0.3)
        assert sealer.is_alive() and sealed == []  # renamed, but waiting for this writer's lock
        with pytest.raises(chunked.SessionGone):  # a writer arriving now finds nothing to write into
            chunked.write_chunk(session.pk, 1, CHUNK, part(data, 1), sha(part(data, 1)))
    sealer.join()
    assert sealed == [chunked.sealed_path(session.pk)]


@pytest.mark.django_db
def test_a_failed_store_gives_the_file_back_for_another_try(world: World, media: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)
    send(session, data, 0)
    send(session, data, 1)

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise OSError("object store out of reach")

    monkeypatch.setattr(storage, "_move_into_storage", unreachable)
    with pytest.raises(OSError, match="out of reach"):
        services.complete_upload(session, actor=world.teacher_user_a)
    assert chunked.session_path(session.pk).exists() and UploadSession.objects.filter(pk=session.pk).exists()
    monkeypatch.undo()
    assert services.complete_upload(session, actor=world.teacher_user_a).sha256 == sha(data)


@pytest.mark.django_db
def test_an_object_store_receives_the_file_streamed(world: World, media: Path, settings: Any) -> None:
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    data = pdf(3 * CHUNK + 1)
    session = start(world, data)
    for index in range(4):
        send(session, data, index)
    blob = services.complete_upload(session, actor=world.teacher_user_a)
    with default_storage.open(blob.storage_key, "rb") as fh:
        assert fh.read() == data
    assert files_under(media) == []  # the session file went once streamed


@pytest.mark.django_db
def test_a_failed_write_is_not_trusted_by_the_running_hash(world: World, media: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf(2 * CHUNK)
    session = start(world, data)

    def disk_error(*args: Any) -> int:
        raise OSError(errno.EIO, "I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(chunked.os, "pwrite", disk_error)
        with pytest.raises(OSError):
            send(session, data, 0)
    assert chunked._running[session.pk].broken
    send(session, data, 0)
    send(session, data, 1)
    assert services.complete_upload(session, actor=world.teacher_user_a).sha256 == sha(data)
    assert stored(media)[0].read_bytes() == data
