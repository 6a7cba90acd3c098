"""Downloads: Range, safe Content-Disposition for any name, attachments only, nginx hand-over."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.resources import rules, storage
from banbantong.resources.tests.kit import PDF, make_resource, sha


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_whole_file_and_range(world: World, client: Client) -> None:
    resource = make_resource(world)
    client.force_login(world.teacher_user_a)
    url = f"/resources/{resource.pk}/download"
    whole = client.get(url)
    assert whole.status_code == 200
    assert _body(whole) == PDF
    assert (whole["Content-Length"], whole["Accept-Ranges"]) == (str(len(PDF)), "bytes")
    part = client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert _body(part) == PDF[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(PDF)}"
    assert part["Content-Length"] == "10"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert _body(tail) == PDF[-5:]
    past = client.get(url, headers={"Range": f"bytes={len(PDF)}-"})
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(PDF)}"
    stale = client.get(url, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
    assert stale.status_code == 200 and _body(stale) == PDF


@pytest.mark.django_db
def test_chinese_name_in_the_header(world: World, client: Client) -> None:
    resource = make_resource(world, name="三年级数学《分数的初步认识》课件.pdf")
    client.force_login(world.teacher_user_a)
    header = client.get(f"/resources/{resource.pk}/download")["Content-Disposition"]
    assert header.startswith('attachment; filename="')
    assert header.isascii()
    assert "filename*=UTF-8''" in header
    assert unquote(header.split("filename*=UTF-8''")[1]) == "三年级数学《分数的初步认识》课件.pdf"


NASTY = [
    'a"; filename="evil.exe.pdf',
    "<script>alert(1)</script>.pdf",
    "报告\r\nSet-Cookie: sid=1.pdf",
    "nul\x00.pdf",
    "CON.pdf",
    "长" * 100 + ".pdf",  # 300 bytes of UTF-8
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", NASTY)
def test_nasty_names_are_stored_by_key_shown_escaped_and_sent_safely(world: World, client: Client,
                                                                      name: str) -> None:
    resource = make_resource(world, name=name)
    assert resource.blob.storage_key == storage.blob_key(sha(PDF))
    client.force_login(world.teacher_user_a)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert "<script>alert" not in page
    response = client.get(f"/resources/{resource.pk}/download")
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert header.isascii() and "\r" not in header and "\n" not in header and "\x00" not in header
    fallback = header.split('filename="')[1].split('"')[0]
    assert set(fallback) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
    assert not fallback.upper().startswith("CON.")
    utf8 = unquote(header.split("filename*=UTF-8''")[1])
    assert utf8 == resource.original_name and len(utf8.encode()) <= rules.MAX_NAME_BYTES


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("图形.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("网页.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
    ],
)
def test_svg_and_html_are_attachments_never_sniffed(world: World, client: Client, name: str, content: bytes) -> None:
    resource = make_resource(world, name=name, content=content)
    client.force_login(world.teacher_user_a)
    response = client.get(f"/resources/{resource.pk}/download")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_nginx_sends_the_file_when_configured(world: World, client: Client, settings: object) -> None:
    settings.BBT_X_ACCEL_PREFIX = "/protected-media/"  # type: ignore[attr-defined]
    resource = make_resource(world)
    client.force_login(world.teacher_user_a)
    response = client.get(f"/resources/{resource.pk}/download", headers={"Range": "bytes=10-19"})
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/{storage.blob_key(sha(PDF))}"
    assert response["Content-Disposition"].startswith("attachment;")
