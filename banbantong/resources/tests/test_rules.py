"""Pure rules, no database: accepted files, archive listings, names and ranges."""

from __future__ import annotations

import pytest

from banbantong.resources import rules
from banbantong.resources.rules import UploadRefused


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        ("课件.pptx", b"MZ\x90\x00\x03", "可执行程序"),
        ("page.html", b"\x89PNG\r\n\x1a\n<html></html>", "不符"),
        ("photo.png", b"<html><script>alert(1)</script>", "不符"),
        ("paper.pdf", b"PK\x03\x04....", "不符"),
        ("宏.pptm", b"PK\x03\x04", "含宏"),
        ("setup.exe", b"MZ", "可执行程序"),
        ("notes", b"hello", "不支持的文件类型"),
        ("empty.pdf", b"", "空的"),
    ],
)
def test_refused_heads(name: str, head: bytes, message: str) -> None:
    with pytest.raises(UploadRefused, match=message):
        rules.check_head(name, head)


@pytest.mark.parametrize(
    ("name", "head", "content_type"),
    [
        ("a.PDF", b"%PDF-1.7\n", "application/pdf"),
        ("a.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        ("a.txt", "第一课 分数".encode("gb18030"), "text/plain"),
        ("a.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        ("a.html", b"\xef\xbb\xbf<!DOCTYPE html><html>", "text/html"),
    ],
)
def test_accepted_heads(name: str, head: bytes, content_type: str) -> None:
    assert rules.check_head(name, head).content_type == content_type


def _listing(*names: str, size: int = 10) -> list[tuple[str, int, int]]:
    return [(n, size, size) for n in names]


OFFICE = ("[Content_Types].xml", "ppt/presentation.xml")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (_listing(*OFFICE, "../../evil.ps1"), "不安全的路径"),
        (_listing(*OFFICE, "/etc/cron.d/x"), "不安全的路径"),
        (_listing(*OFFICE, "C:\\Windows\\x.dll"), "不安全的路径"),
        (_listing(*OFFICE, "ppt/vbaProject.bin"), "含宏"),
        (_listing(*(f"ppt/s{i}.xml" for i in range(rules.MAX_ZIP_ENTRIES + 1))), "超过"),
        ([*_listing(*OFFICE), ("ppt/media/big.bin", rules.MAX_ZIP_UNCOMPRESSED, 1000)], "压缩炸弹"),
        ([*_listing(*OFFICE), ("ppt/media/zeros.bin", 500 * 1024 * 1024, 500_000)], "压缩炸弹"),
        (_listing("readme.txt", "data.csv"), "不符"),
    ],
)
def test_refused_archives(entries: list[tuple[str, int, int]], message: str) -> None:
    with pytest.raises(UploadRefused, match=message):
        rules.check_zip_listing(rules.FILE_TYPES[".pptx"], entries, archive_size=1_000_000)


def test_plain_zip_needs_no_office_parts() -> None:
    rules.check_zip_listing(rules.FILE_TYPES[".zip"], _listing("题库/第一单元.docx"), archive_size=100)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\王\\分数.pptx", "分数.pptx"),
        ("a\r\nSet-Cookie: x=1.pdf", "aSet-Cookie: x=1.pdf"),
        ("nul\x00byte.pdf", "nulbyte.pdf"),
        ("../../etc/passwd", "passwd"),
        ("...", "未命名"),
    ],
)
def test_display_names(raw: str, shown: str) -> None:
    assert rules.clean_display_name(raw) == shown


def test_long_names_are_cut_to_fit_a_file_system_keeping_the_extension() -> None:
    name = rules.clean_display_name("长" * 100 + ".pptx")  # 300 bytes of UTF-8 before the extension
    assert len(name.encode()) <= rules.MAX_NAME_BYTES
    assert name.endswith(".pptx")


def test_content_disposition_has_ascii_fallback_and_utf8_name() -> None:
    header = rules.content_disposition("第三单元 \"分数\" <script>.pptx")
    assert header.startswith('attachment; filename="')
    assert header.isascii()
    assert "<" not in header and '"分' not in header
    assert "filename*=UTF-8''%E7%AC%AC%E4%B8%89" in header


def test_windows_device_names_are_defused() -> None:
    assert rules.ascii_fallback_name("CON.txt") == "_CON.txt"
    assert rules.ascii_fallback_name("lpt1") == "_lpt1"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=10-19", (10, 19)),
        ("bytes=10-", (10, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=0-1,5-6", None),
        ("items=1-2", None),
        ("", None),
    ],
)
def test_ranges(header: str, expected: tuple[int, int] | None) -> None:
    assert rules.parse_range(header, 100) == expected


def test_range_past_the_end() -> None:
    with pytest.raises(rules.RangeNotSatisfiable):
        rules.parse_range("bytes=100-", 100)


def test_chunk_plan() -> None:
    assert rules.chunk_plan(200_000, 65536, max_bytes=10**9) == (65536, 4)
    assert rules.chunk_length(3, size=200_000, chunk_size=65536) == 200_000 - 3 * 65536
    with pytest.raises(UploadRefused, match="文件太大"):
        rules.chunk_plan(10**9 + 1, None, max_bytes=10**9)
    with pytest.raises(Exception, match="分片大小"):
        rules.chunk_plan(1000, 10, max_bytes=10**9)
