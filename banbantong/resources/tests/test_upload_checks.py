"""Bad files are refused with a clear message and leave nothing: no row, no stored file, no temp file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from banbantong.conftest import World
from banbantong.resources import rules, storage
from banbantong.resources.models import Blob, Resource
from banbantong.resources.tests.kit import PDF, files_under, make_resource, office_zip, sha

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _nothing_left(media: Path) -> None:
    assert Resource.objects.count() == 0
    assert Blob.objects.count() == 0
    assert files_under(media) == [], "a refused upload left files in storage or in the temp folder"


BAD = [
    ("课件.pptx", b"MZ\x90\x00" + b"\x00" * 2000, "可执行程序"),
    ("页面.html", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "不符"),
    ("宏课件.pptm", office_zip(), "含宏"),
    ("宏课件.pptx", office_zip(extra={"ppt/vbaProject.bin": b"vba"}), "含宏"),
    ("宏文档.doc", OLE + rules.OLE_VBA_MARKER + b"\x00" * 100, "含宏"),
    ("穿越.pptx", office_zip(extra={"../../evil.ps1": b"x"}), "不安全的路径"),
    ("绝对.docx", office_zip("word/", extra={"/etc/passwd": b"x"}), "不安全的路径"),
    ("假的.pptx", office_zip("word/"), "不符"),
    ("坏的.xlsx", b"PK\x03\x04" + b"\x00" * 100, "损坏"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_refused_and_leave_nothing(world: World, media: Path, name: str, content: bytes,
                                                 message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_resource(world, name=name, content=content)
    _nothing_left(media)


@pytest.mark.django_db
def test_too_many_entries_checked_before_unpacking(world: World, media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(ValidationError, match="超过 5 个"):
        make_resource(world, name="题库.zip", content=office_zip(names=[f"q{i}.txt" for i in range(10)]))
    _nothing_left(media)


@pytest.mark.django_db
def test_zip_bomb_checked_before_unpacking(world: World, media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = office_zip(extra={"ppt/media/zeros.bin": b"\x00" * (2 * 1024 * 1024)})
    monkeypatch.setattr(rules, "MAX_ZIP_UNCOMPRESSED", 1024 * 1024)
    opened: list[str] = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append("open"))
    assert len(bomb) < 20_000
    with pytest.raises(ValidationError, match="压缩炸弹"):
        make_resource(world, name="炸弹.pptx", content=bomb)
    assert opened == [], "no member may be unpacked to check an archive"
    _nothing_left(media)


@pytest.mark.django_db
def test_too_big_stops_while_streaming(world: World, media: Path, settings: object) -> None:
    settings.BBT_RESOURCE_MAX_BYTES = 5000  # type: ignore[attr-defined]
    sent: list[int] = []

    def endless() -> object:
        for i in range(1000):
            sent.append(i)
            yield PDF[:1000]

    with pytest.raises(ValidationError, match="文件太大"):
        _ingest(world, endless())
    assert len(sent) <= 6, "the upload must stop as soon as the limit is passed"
    _nothing_left(media)


def _ingest(world: World, chunks: object) -> None:
    from banbantong.resources import services

    services.ingest(chunks, file_name="大.pdf", actor=world.teacher_user_a)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_interrupted_upload_leaves_nothing(world: World, media: Path) -> None:
    def broken() -> object:
        yield PDF[:4096]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        _ingest(world, broken())
    _nothing_left(media)


@pytest.mark.django_db
def test_good_file_is_stored_once_under_its_hash(world: World, media: Path) -> None:
    first = make_resource(world, name="分数.pdf")
    second = make_resource(world, title="同一文件", name="分数-副本.pdf")
    assert first.blob_id == second.blob_id == sha(PDF)
    stored = files_under(media)
    assert [p.relative_to(media).as_posix() for p in stored] == [storage.blob_key(sha(PDF))]
    assert stored[0].read_bytes() == PDF
    assert first.blob.content_type == "application/pdf"


@pytest.mark.django_db
def test_office_file_accepted(world: World) -> None:
    resource = make_resource(world, name="第三单元.pptx", content=office_zip())
    assert resource.blob.content_type.endswith("presentationml.presentation")


@pytest.mark.django_db
def test_auditor_and_outsider_cannot_upload(world: World, media: Path) -> None:
    with pytest.raises(PermissionDenied, match="只读"):
        make_resource(world, actor=world.auditor_a)
    with pytest.raises(PermissionDenied, match="管辖范围"):
        make_resource(world, actor=world.bob)
    _nothing_left(media)


# --- The upload page --------------------------------------------------------------------------------


def _form(world: World, name: str, content: bytes) -> dict[str, object]:
    return {"file": SimpleUploadedFile(name, content), "title": "分数的初步认识", "kind": "courseware",
            "school": world.school_a.pk, "subject": "数学", "grade": "三年级"}


@pytest.mark.django_db
def test_upload_page_stores_through_the_service(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    response = client.post("/resources/upload/", _form(world, "分数.pdf", PDF))
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert response["Location"] == f"/resources/{resource.pk}/"
    assert (resource.original_name, resource.author, resource.blob.size) == ("分数.pdf", world.teacher_user_a, len(PDF))
    assert [p.name for p in files_under(media)] == [sha(PDF)]


@pytest.mark.django_db
def test_upload_page_refuses_with_a_message_and_keeps_nothing(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    response = client.post("/resources/upload/", _form(world, "课件.pptx", b"MZ" + b"\x00" * 5000))
    assert response.status_code == 400
    assert "可执行程序" in response.content.decode()
    _nothing_left(media)


@pytest.mark.django_db
def test_upload_page_refuses_other_schools(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    form = _form(world, "分数.pdf", PDF)
    form["school"] = world.school_b.pk
    response = client.post("/resources/upload/", form)
    assert response.status_code == 400
    _nothing_left(media)


@pytest.mark.django_db
def test_upload_page_still_checks_csrf(world: World, media: Path) -> None:
    # The view sets its own upload handlers, so CSRF is checked inside it rather than by the middleware.
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.teacher_user_a)
    assert client.post("/resources/upload/", _form(world, "分数.pdf", PDF)).status_code == 403
    token = client.get("/resources/upload/").context["csrf_token"]
    form = _form(world, "分数.pdf", PDF)
    form["csrfmiddlewaretoken"] = str(token)
    assert client.post("/resources/upload/", form).status_code == 302
    assert Resource.objects.count() == 1
