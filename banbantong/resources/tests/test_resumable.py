"""Hash first (秒传) and resumable chunked uploads through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.resources import chunked, services, storage
from banbantong.resources.models import Blob, Resource, UploadSession
from banbantong.resources.tests.kit import PDF, files_under, make_resource, pdf, sha

CHUNK = 64 * 1024
JSON = "application/json"


def stored(media: Path) -> list[Path]:
    """Files in the store, the upload temporary folder left out."""
    return [p for p in files_under(media) if storage.temp_dir() not in p.parents]


def _start(client: Client, data: bytes, name: str = "第三单元 分数.pdf") -> dict[str, Any]:
    response = client.post("/api/v1/resources/uploads",
                           {"file_name": name, "sha256": sha(data), "size": len(data), "chunk_size": CHUNK},
                           content_type=JSON)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def _put(client: Client, session: dict[str, Any], data: bytes, index: int, digest: str | None = None) -> Any:
    part = data[index * CHUNK : (index + 1) * CHUNK]
    return client.put(f"/api/v1/resources/uploads/{session['id']}/chunks/{index}", part,
                      content_type="application/octet-stream",
                      headers={"X-Chunk-SHA256": digest if digest is not None else sha(part)})


@pytest.mark.django_db
def test_hash_first_attaches_the_existing_blob_without_bytes(world: World, client: Client, media: Path) -> None:
    make_resource(world)
    client.force_login(world.principal_a)
    check = client.post("/api/v1/resources/blobs/check", {"sha256": sha(PDF), "size": len(PDF)}, content_type=JSON)
    assert check.json() == {"exists": True}
    wrong_size = {"sha256": sha(PDF), "size": 1}
    assert client.post("/api/v1/resources/blobs/check", wrong_size, content_type=JSON).json() == {"exists": False}
    response = client.post("/api/v1/resources", {
        "title": "分数（校本改编）", "kind": "lesson_plan", "file_name": "分数教案.pdf", "sha256": sha(PDF),
        "subject": "数学", "grade": "三年级",
    }, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sha256"], body["size"], body["school_id"]) == (sha(PDF), len(PDF), world.school_a.pk)
    assert Blob.objects.count() == 1 and Resource.objects.count() == 2
    assert len(files_under(media)) == 1
    assert AuditEntry.objects.filter(object_type="resources.Resource", action="create").count() == 2


@pytest.mark.django_db
def test_hash_first_with_unknown_hash_or_other_type(world: World, client: Client) -> None:
    make_resource(world)
    client.force_login(world.teacher_user_a)
    body = {"title": "x", "kind": "courseware", "file_name": "x.pdf", "sha256": "a" * 64}
    response = client.post("/api/v1/resources", body, content_type=JSON)
    assert response.status_code == 400
    assert "请先上传" in response.json()["message"]
    body.update(sha256=sha(PDF), file_name="x.html")
    response = client.post("/api/v1/resources", body, content_type=JSON)
    assert response.status_code == 400
    assert "不符" in response.json()["message"]


@pytest.mark.django_db
def test_resume_after_a_broken_connection(world: World, client: Client, media: Path) -> None:
    data = pdf(3 * CHUNK - 1000)
    client.force_login(world.teacher_user_a)
    session = _start(client, data)
    assert (session["chunk_count"], session["received"], session["missing"]) == (3, [], [0, 1, 2])
    assert _put(client, session, data, 0).status_code == 200
    assert _put(client, session, data, 2).status_code == 200
    # The connection broke; later the client asks what arrived and sends only what is missing.
    status = client.get(f"/api/v1/resources/uploads/{session['id']}").json()
    assert (status["received"], status["missing"]) == ([0, 2], [1])
    early = client.post(f"/api/v1/resources/uploads/{session['id']}/complete")
    assert early.status_code == 400 and "还缺 1 个分片" in early.json()["message"]
    assert _put(client, session, data, 1).json()["missing"] == []
    done = client.post(f"/api/v1/resources/uploads/{session['id']}/complete")
    assert done.status_code == 200, done.content
    assert done.json() == {"sha256": sha(data), "size": len(data), "content_type": "application/pdf"}
    assert not UploadSession.objects.exists()
    assert [p.relative_to(media).as_posix() for p in files_under(media)] == [storage.blob_key(sha(data))]
    assert files_under(media)[0].read_bytes() == data


@pytest.mark.django_db
def test_a_chunk_with_the_wrong_hash_is_refused_and_not_stored(world: World, client: Client, media: Path) -> None:
    data = pdf(2 * CHUNK)
    client.force_login(world.teacher_user_a)
    session = _start(client, data)
    response = _put(client, session, data, 0, digest="0" * 64)
    assert response.status_code == 400
    assert "SHA-256 不符" in response.json()["message"]
    missing_header = _put(client, session, data, 0, digest="")
    assert missing_header.status_code == 400 and "X-Chunk-SHA256" in missing_header.json()["message"]
    short = client.put(f"/api/v1/resources/uploads/{session['id']}/chunks/0", data[:100],
                       content_type="application/octet-stream", headers={"X-Chunk-SHA256": sha(data[:100])})
    assert short.status_code == 400 and "字节" in short.json()["message"]
    assert client.get(f"/api/v1/resources/uploads/{session['id']}").json()["received"] == []
    # Nothing was written: the session file still holds only the zeros it was reserved with.
    assert chunked.session_path(session["id"]).read_bytes() == bytes(len(data))
    assert stored(media) == []
    assert client.delete(f"/api/v1/resources/uploads/{session['id']}").status_code == 204
    assert files_under(media) == []


@pytest.mark.django_db
def test_whole_file_checked_at_completion_and_a_refusal_leaves_nothing(world: World, client: Client,
                                                                      media: Path) -> None:
    data = b"MZ" + pdf(CHUNK + 10)[2:]
    client.force_login(world.teacher_user_a)
    session = _start(client, data, name="课件.pptx")
    assert _put(client, session, data, 0).status_code == 200
    assert _put(client, session, data, 1).status_code == 200
    response = client.post(f"/api/v1/resources/uploads/{session['id']}/complete")
    assert response.status_code == 400 and "可执行程序" in response.json()["message"]
    assert not UploadSession.objects.exists() and not Blob.objects.exists()
    assert files_under(media) == []


@pytest.mark.django_db
def test_declared_hash_must_match_the_assembled_file(world: World, client: Client, media: Path) -> None:
    data = pdf(CHUNK + 10)
    client.force_login(world.teacher_user_a)
    session = client.post("/api/v1/resources/uploads", {"file_name": "a.pdf", "sha256": "b" * 64, "size": len(data),
                                                         "chunk_size": CHUNK}, content_type=JSON).json()
    _put(client, session, data, 0)
    _put(client, session, data, 1)
    response = client.post(f"/api/v1/resources/uploads/{session['id']}/complete")
    assert response.status_code == 400 and "不符" in response.json()["message"]
    assert files_under(media) == [] and not Blob.objects.exists()


@pytest.mark.django_db
def test_two_sessions_with_the_same_bytes_make_one_blob(world: World, media: Path) -> None:
    data = pdf(CHUNK + 5)
    sessions = [services.start_upload(actor=u, file_name="a.pdf", sha256=sha(data), size=len(data), chunk_size=CHUNK)
                for u in (world.teacher_user_a, world.principal_a)]
    for s in sessions:
        services.receive_chunk(s, 0, [data[:CHUNK]], chunk_sha256=sha(data[:CHUNK]), actor=s.owner)
        services.receive_chunk(s, 1, [data[CHUNK:]], chunk_sha256=sha(data[CHUNK:]), actor=s.owner)
    blobs = {services.complete_upload(s, actor=s.owner).pk for s in sessions}
    assert blobs == {sha(data)}
    assert Blob.objects.count() == 1
    assert len(files_under(media)) == 1


@pytest.mark.django_db
def test_refused_names_never_start_and_cancel_cleans_up(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    for name, message in (("宏.docm", "含宏"), ("setup.exe", "可执行程序")):
        response = client.post("/api/v1/resources/uploads", {"file_name": name, "sha256": "c" * 64, "size": 10},
                               content_type=JSON)
        assert response.status_code == 400 and message in response.json()["message"]
    data = pdf(CHUNK + 5)
    session = _start(client, data)
    _put(client, session, data, 0)
    assert files_under(media) != []
    assert client.delete(f"/api/v1/resources/uploads/{session['id']}").status_code == 204
    assert files_under(media) == [] and not UploadSession.objects.exists()


@pytest.mark.django_db
def test_expired_sessions_are_swept(world: World, media: Path) -> None:
    import datetime as dt

    data = pdf(CHUNK + 5)
    old = services.start_upload(actor=world.teacher_user_a, file_name="a.pdf", sha256=sha(data), size=len(data),
                                chunk_size=CHUNK)
    services.receive_chunk(old, 0, [data[:CHUNK]], chunk_sha256=sha(data[:CHUNK]), actor=world.teacher_user_a)
    UploadSession.objects.filter(pk=old.pk).update(expires_at=old.created_at - dt.timedelta(seconds=1))
    live = services.start_upload(actor=world.teacher_user_a, file_name="b.pdf", sha256=sha(PDF), size=len(PDF))
    assert list(UploadSession.objects.values_list("file_name", flat=True)) == ["b.pdf"]
    assert files_under(media) == [chunked.session_path(live.pk)]


@pytest.mark.django_db
def test_a_file_left_by_a_racing_writer_is_reused_not_duplicated(world: World, media: Path) -> None:
    data = pdf(CHUNK + 5)
    key = media / storage.blob_key(sha(data))
    key.parent.mkdir(parents=True)
    key.write_bytes(data)  # another process moved its copy into place but has not written the row yet
    blob = services.ingest([data], file_name="a.pdf", actor=world.teacher_user_a)
    assert blob.storage_key == storage.blob_key(sha(data))
    assert files_under(media) == [key]
