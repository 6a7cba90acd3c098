"""Test helpers: sample Office and PDF files with Chinese text, indexed resources, scope cases."""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Callable
from typing import Any

from django.test import Client, TestCase

from banbantong.conftest import World
from banbantong.resources.models import Resource
from banbantong.resources.tests import kit as resources_kit


def pptx(*slides: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        for n, body in enumerate(slides, start=1):
            runs = "".join(
                f"<a:p><a:r><a:t>{html.escape(line)}</a:t></a:r></a:p>" for line in body.split("\n")
            )
            archive.writestr(
                f"ppt/slides/slide{n}.xml", f'<p:sld xmlns:a="a"><p:txBody>{runs}</p:txBody></p:sld>'
            )
    return buffer.getvalue()


def docx(*paragraphs: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paragraphs)
        archive.writestr("word/document.xml", f"<w:document><w:body>{body}</w:body></w:document>")
    return buffer.getvalue()


def pdf_with_text(*lines: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont("STSong-Light", 14)
    for n, line in enumerate(lines):
        page.drawString(72, 700 - 20 * n, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


def indexed(world: World, **kw: Any) -> Resource:
    """A resource created through the service, with its index entry written as after a commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return resources_kit.make_resource(world, **kw)


Case = Callable[[World, Client], None]


def search_case(url: str, marker: str = "分数的初步认识") -> Case:
    """School A's resource: found by alice (its county) and never shown to bob (the other county)."""

    def check(w: World, client: Client) -> None:
        with resources_kit.isolated_media():
            indexed(w, title="分数的初步认识")
            client.force_login(w.alice)
            response = client.get(url)
            assert response.status_code == 200
            assert marker in response.content.decode()
            client.force_login(w.bob)
            response = client.get(url)
            assert response.status_code == 200
            assert marker not in response.content.decode()

    return check
