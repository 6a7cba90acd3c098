"""Previews: PDF pages as images, Office files as text without LibreOffice (as images with it),
video and images as themselves; made once and kept; an interrupted attempt is redone cleanly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from banbantong.conftest import World
from banbantong.resources import previews
from banbantong.resources.tests.kit import make_resource


def real_pdf(pages: int = 4) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    for n in range(pages):
        c.drawString(72, 720, f"Page {n + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def docx(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f'<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>{text}</w:t></w:r>'
                                              "</w:p></w:body></w:document>")
    return buffer.getvalue()


@pytest.mark.django_db
def test_pdf_first_pages_become_images_once(world: World, media: Path) -> None:
    resource = make_resource(world, content=real_pdf(4))
    preview = previews.preview_of(resource.blob)
    assert (preview.kind, preview.pages) == ("pages", previews.PREVIEW_PAGES)
    with default_storage.open(previews.page_key(resource.blob, 1), "rb") as fh:
        image = Image.open(fh)
        assert image.format == "PNG" and image.width == previews.PAGE_WIDTH
    again = previews.preview_of(resource.blob)  # from the manifest: nothing made twice
    assert again == preview
    assert len(list((media / "previews" / resource.blob.sha256).iterdir())) == previews.PREVIEW_PAGES + 1


@pytest.mark.django_db
def test_an_interrupted_preview_is_made_again_from_scratch(world: World, media: Path) -> None:
    resource = make_resource(world, content=real_pdf(1))
    folder = media / "previews" / resource.blob.sha256
    folder.mkdir(parents=True)
    (folder / "page-1.png").write_bytes(b"\x89PNG half")  # a crash after part of a page, before the manifest
    preview = previews.preview_of(resource.blob)
    assert preview.pages == 1
    assert sorted(p.name for p in folder.iterdir()) == ["page-1.png", "preview.json"]
    with default_storage.open(previews.page_key(resource.blob, 1), "rb") as fh:
        Image.open(fh).verify()


@pytest.mark.django_db
def test_office_without_libreoffice_shows_its_text(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(previews, "office_converter", lambda: None)  # this machine's answer, made certain
    resource = make_resource(world, name="教案.docx", content=docx("分数的意义教学设计"), kind="lesson_plan")
    preview = previews.preview_of(resource.blob)
    assert preview.kind == "text" and "分数的意义教学设计" in preview.text
    assert "LibreOffice" in preview.note


@pytest.mark.django_db
@pytest.mark.skipif(previews.office_converter() is None, reason="LibreOffice is not installed on this machine")
def test_office_with_libreoffice_becomes_images(world: World) -> None:
    resource = make_resource(world, name="教案.docx", content=docx("分数的意义"), kind="lesson_plan")
    assert previews.preview_of(resource.blob).kind in {"pages", "text"}


@pytest.mark.django_db
def test_a_broken_pdf_has_no_pages_but_no_error(world: World) -> None:
    resource = make_resource(world)  # the kit's PDF: a header and noise
    assert previews.preview_of(resource.blob).kind in {"none", "text"}


def preview_page_case(w: World, client: object) -> None:
    """Scope case (core/tests/test_scope_every_url.py): the page image of a PDF of school A."""
    from django.test import Client

    from banbantong.resources.tests.kit import isolated_media

    assert isinstance(client, Client)
    with isolated_media():
        resource = make_resource(w, content=real_pdf(2), name="课件.pdf")
        url = f"/resources/{resource.pk}/preview/1.png"
        client.force_login(w.teacher_user_a)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        client.force_login(w.bob)
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_detail_page_shows_the_preview(world: World, client: object) -> None:
    from django.test import Client

    assert isinstance(client, Client)
    resource = make_resource(world, content=real_pdf(2), name="课件.pdf")
    client.force_login(world.teacher_user_a)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert 'data-preview="pages"' in page and f"/resources/{resource.pk}/preview/2.png" in page
    assert client.get(f"/resources/{resource.pk}/preview/3.png").status_code == 404  # only two pages
    video = make_resource(world, title="微课", name="微课.mp4", kind="video",
                          content=b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2000)
    page = client.get(f"/resources/{video.pk}/").content.decode()
    assert "<video" in page and f"/resources/{video.pk}/download" in page
