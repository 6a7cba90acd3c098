"""Pure rules of the resource library: which files are accepted, file names, chunks and ranges.

Nothing here touches the database or the disk; `storage` feeds these functions the first bytes of
a file and the listing of a zip archive (its central directory, read without unpacking).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from django.core.exceptions import ValidationError

DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024  # a lesson video rarely passes 2 GB
HEAD_BYTES = 8192  # how much of a file the signature checks look at
# Office and zip archives are inspected before anything is unpacked.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED = 4 * 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200  # a zip bomb expands thousands of times; real courseware a few times
# Names are shown and downloaded, never used as storage keys; 240 bytes fits every file system.
MAX_NAME_BYTES = 240
# Resumable uploads.
MIN_CHUNK = 64 * 1024
DEFAULT_CHUNK = 8 * 1024 * 1024
MAX_CHUNK = 32 * 1024 * 1024
MAX_CHUNKS = 10_000

MACRO_MESSAGE = (
    "不接受含宏的 Office 文件（.pptm、.docm、.xlsm 或内含 VBA 宏）：宏可能携带病毒。"
    "请在 Office 中“另存为”不含宏的 .pptx、.docx 或 .xlsx 后再上传。"
)
MISMATCH_MESSAGE = "文件内容与扩展名“{ext}”不符（实际像是{actual}）。请上传真实的 {ext} 文件，不要修改扩展名。"
EXECUTABLE_MESSAGE = "这是一个可执行程序，资源库不接受程序文件。"

MACRO_EXTENSIONS = frozenset({".pptm", ".potm", ".ppsm", ".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".ppam"})


class UploadRefused(ValidationError):
    """A file the library will not take; the message says what to do instead."""


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    matches: Callable[[bytes], bool]
    container: str = ""  # "ooxml" or "zip": the archive listing is checked too
    ooxml_folder: str = ""  # the part every genuine file of this type has (word/, ppt/, xl/)
    ole: bool = False  # legacy binary Office: scanned for a VBA project


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _iso_media(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").lower()


def _is_text(head: bytes) -> bool:
    if b"\x00" in head or _sniff_binary(head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text; GB18030 files too.
        if exc.start < len(head) - 4:
            try:
                head.decode("gb18030")
            except UnicodeDecodeError:
                return False
    return True


def _is_html(head: bytes) -> bool:
    return _is_text(head) and _text_start(head).startswith((b"<!doctype", b"<html", b"<!--", b"<head", b"<body"))


def _is_svg(head: bytes) -> bool:
    start = _text_start(head)
    return _is_text(head) and start.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in start


_ZIP = _starts(b"PK\x03\x04")
_OLE = _starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FILE_TYPES: dict[str, FileType] = {
    ".docx": FileType("Word 文档", _DOCX, _ZIP, "ooxml", "word/"),
    ".pptx": FileType("PowerPoint 演示文稿", _PPTX, _ZIP, "ooxml", "ppt/"),
    ".ppsx": FileType("PowerPoint 放映文件",
                      "application/vnd.openxmlformats-officedocument.presentationml.slideshow", _ZIP, "ooxml", "ppt/"),
    ".xlsx": FileType("Excel 工作簿", _XLSX, _ZIP, "ooxml", "xl/"),
    ".doc": FileType("Word 97-2003 文档", "application/msword", _OLE, ole=True),
    ".ppt": FileType("PowerPoint 97-2003 演示文稿", "application/vnd.ms-powerpoint", _OLE, ole=True),
    ".xls": FileType("Excel 97-2003 工作簿", "application/vnd.ms-excel", _OLE, ole=True),
    ".pdf": FileType("PDF 文档", "application/pdf", _starts(b"%PDF-")),
    ".png": FileType("PNG 图片", "image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    ".jpg": FileType("JPEG 图片", "image/jpeg", _starts(b"\xff\xd8\xff")),
    ".jpeg": FileType("JPEG 图片", "image/jpeg", _starts(b"\xff\xd8\xff")),
    ".gif": FileType("GIF 图片", "image/gif", _starts(b"GIF87a", b"GIF89a")),
    ".webp": FileType("WebP 图片", "image/webp", _riff(b"WEBP")),
    ".svg": FileType("SVG 图片", "image/svg+xml", _is_svg),
    ".mp4": FileType("MP4 视频", "video/mp4", _iso_media),
    ".m4v": FileType("MP4 视频", "video/mp4", _iso_media),
    ".mov": FileType("QuickTime 视频", "video/quicktime", _iso_media),
    ".m4a": FileType("M4A 音频", "audio/mp4", _iso_media),
    ".webm": FileType("WebM 视频", "video/webm", _starts(b"\x1a\x45\xdf\xa3")),
    ".mkv": FileType("MKV 视频", "video/x-matroska", _starts(b"\x1a\x45\xdf\xa3")),
    ".avi": FileType("AVI 视频", "video/x-msvideo", _riff(b"AVI ")),
    ".wmv": FileType("WMV 视频", "video/x-ms-wmv", _starts(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")),
    ".flv": FileType("FLV 视频", "video/x-flv", _starts(b"FLV\x01")),
    ".mp3": FileType("MP3 音频", "audio/mpeg", _starts(b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
    ".wav": FileType("WAV 音频", "audio/wav", _riff(b"WAVE")),
    ".zip": FileType("ZIP 压缩包", "application/zip", _ZIP, "zip"),
    ".txt": FileType("文本文件", "text/plain", _is_text),
    ".html": FileType("网页", "text/html", _is_html),
    ".htm": FileType("网页", "text/html", _is_html),
}

# What a file's first bytes say it is, for the refusal message.
_SNIFF: list[tuple[Callable[[bytes], bool], str]] = [
    (_starts(b"MZ"), "Windows 可执行程序"),
    (_starts(b"\x7fELF"), "Linux 可执行程序"),
    (_starts(b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe"), "macOS 可执行程序"),
    (_starts(b"#!"), "脚本程序"),
    (_starts(b"\x89PNG"), "PNG 图片"),
    (_starts(b"\xff\xd8\xff"), "JPEG 图片"),
    (_starts(b"GIF8"), "GIF 图片"),
    (_starts(b"%PDF-"), "PDF 文档"),
    (_ZIP, "ZIP 压缩包或 Office 文档"),
    (_OLE, "Office 97-2003 文档"),
    (_starts(b"Rar!"), "RAR 压缩包"),
    (_starts(b"7z\xbc\xaf"), "7z 压缩包"),
]


def _sniff_binary(head: bytes) -> str:
    for test, label in _SNIFF:
        if test(head):
            return label
    return ""


def sniff_label(head: bytes) -> str:
    return _sniff_binary(head) or ("网页" if _is_html(head) else "文本" if _is_text(head) else "未知格式")


def extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def accepted_extensions() -> list[str]:
    return sorted(FILE_TYPES)


def file_type_for(name: str) -> FileType:
    """The accepted type a file name claims, or a refusal that lists what is accepted."""
    ext = extension(name)
    if ext in MACRO_EXTENSIONS:
        raise UploadRefused(MACRO_MESSAGE)
    if ext in {".exe", ".msi", ".bat", ".cmd", ".com", ".scr", ".js", ".vbs", ".ps1", ".sh", ".jar", ".apk"}:
        raise UploadRefused(EXECUTABLE_MESSAGE)
    if ext not in FILE_TYPES:
        shown = ext or "（无扩展名）"
        raise UploadRefused(f"不支持的文件类型 {shown}。可以上传：{'、'.join(accepted_extensions())}。")
    return FILE_TYPES[ext]


def check_head(name: str, head: bytes) -> FileType:
    """The file's first bytes must be what its extension says; the content type comes from here."""
    ftype = file_type_for(name)
    sniffed = _sniff_binary(head)
    if sniffed.endswith("程序"):
        raise UploadRefused(EXECUTABLE_MESSAGE)
    if not head:
        raise UploadRefused("文件是空的，请检查后重新上传。")
    if not ftype.matches(head):
        raise UploadRefused(MISMATCH_MESSAGE.format(ext=extension(name), actual=sniff_label(head)))
    return ftype


def check_zip_listing(ftype: FileType, entries: Iterable[tuple[str, int, int]], *, archive_size: int) -> None:
    """Check an archive from its central directory: (name, uncompressed size, compressed size) rows.

    Refuses zip bombs (too many entries, too large or too compressible), names that would escape
    the folder they are unpacked into, and Office files that carry a VBA project (macros).
    """
    total = 0
    names: set[str] = set()
    for count, (name, size, _compressed) in enumerate(entries, start=1):
        total += size
        if count > MAX_ZIP_ENTRIES:
            raise UploadRefused(f"压缩包内文件超过 {MAX_ZIP_ENTRIES} 个，疑似恶意文件，已拒收。")
        if unsafe_member_name(name):
            raise UploadRefused(f"压缩包内有不安全的路径“{clean_display_name(name)[:80]}”（../ 或绝对路径），已拒收。")
        lowered = name.lower()
        if ftype.container == "ooxml" and lowered.rsplit("/", 1)[-1] in {"vbaproject.bin", "vbadata.xml"}:
            raise UploadRefused(MACRO_MESSAGE)
        names.add(lowered)
    if total > MAX_ZIP_UNCOMPRESSED or (total > 100 * 1024 * 1024 and total > MAX_ZIP_RATIO * max(archive_size, 1)):
        raise UploadRefused("压缩包解压后体积异常巨大（疑似“压缩炸弹”），已拒收。")
    if ftype.container == "ooxml" and (
        "[content_types].xml" not in names or not any(n.startswith(ftype.ooxml_folder) for n in names)
    ):
        raise UploadRefused(MISMATCH_MESSAGE.format(ext=".docx/.pptx/.xlsx", actual="普通 ZIP 压缩包"))


def unsafe_member_name(name: str) -> bool:
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized) or "\x00" in normalized:
        return True
    return ".." in normalized.split("/")


# Legacy binary Office keeps macros in an OLE storage named _VBA_PROJECT (UTF-16 in the directory).
OLE_VBA_MARKER = "_VBA_PROJECT".encode("utf-16-le")


# --- File names ------------------------------------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def clean_display_name(name: str) -> str:
    """The uploader's file name, fit to show and to offer as a download name.

    Path parts, control characters (CR, LF, NUL …) and surrounding dots and spaces go; the name is
    cut to MAX_NAME_BYTES of UTF-8, keeping its extension. It is never used to build a path.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".").strip()
    if not base:
        return "未命名"
    ext = extension(base)
    if len(ext.encode("utf-8")) > 20:
        ext = ""
    stem = base[: len(base) - len(ext)] if ext else base
    while len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem.rstrip() or "未命名") + ext


def ascii_fallback_name(name: str) -> str:
    """An ASCII name for old clients: unsafe characters become '_', device names are defused."""
    ext = extension(name)
    ext = re.sub(r"[^a-z0-9.]", "", ext)
    stem = name[: len(name) - len(extension(name))]
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:100] or "download"
    if _WINDOWS_RESERVED.match(ascii_stem):
        ascii_stem = "_" + ascii_stem
    return ascii_stem + ext


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback and the real (Chinese) name as filename*=UTF-8''…"""
    shown = clean_display_name(name)
    return f"attachment; filename=\"{ascii_fallback_name(shown)}\"; filename*=UTF-8''{quote(shown, safe='')}"


# --- Chunks and ranges -----------------------------------------------------------------------------

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def normal_sha256(value: str) -> str:
    value = (value or "").strip().lower()
    if not _SHA256.match(value):
        raise ValidationError("SHA-256 应为 64 位十六进制字符串。")
    return value


_CRC32 = re.compile(r"^[0-9a-f]{8}$")


def normal_crc32(value: str) -> str:
    """A chunk's CRC-32 as 8 hex digits (zlib.crc32, big-endian), lower case."""
    value = (value or "").strip().lower()
    if not _CRC32.match(value):
        raise ValidationError("CRC-32 应为 8 位十六进制字符串。")
    return value


def chunk_plan(size: int, chunk_size: int | None, *, max_bytes: int) -> tuple[int, int]:
    """(chunk size, chunk count) for a resumable upload, or a refusal."""
    if size <= 0:
        raise UploadRefused("文件是空的，请检查后重新上传。")
    if size > max_bytes:
        raise UploadRefused(too_big_message(max_bytes))
    chunk = chunk_size or DEFAULT_CHUNK
    if not MIN_CHUNK <= chunk <= MAX_CHUNK:
        raise ValidationError(f"分片大小应在 {MIN_CHUNK // 1024} KB 到 {MAX_CHUNK // 1024 // 1024} MB 之间。")
    count = -(-size // chunk)
    if count > MAX_CHUNKS:
        raise ValidationError(f"分片过多（{count} 片），请加大分片大小，最多 {MAX_CHUNKS} 片。")
    return chunk, count


def chunk_length(index: int, *, size: int, chunk_size: int) -> int:
    """How many bytes chunk `index` must have; the last one may be short."""
    count = -(-size // chunk_size)
    if not 0 <= index < count:
        raise ValidationError(f"分片序号 {index} 超出范围（0 至 {count - 1}）。")
    return min(chunk_size, size - index * chunk_size)


def too_big_message(max_bytes: int) -> str:
    return f"文件太大，最大 {max_bytes // 1024 // 1024} MB。视频请先压缩，或分成几段上传。"


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range (first, last inclusive) from a Range header, or None to send the whole file.

    Several ranges, other units and malformed headers are answered with the whole file, which
    RFC 9110 allows; a well-formed range past the end raises RangeNotSatisfiable (416).
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if not m or (not m[1] and not m[2]):
        return None
    if not m[1]:  # the last N bytes
        suffix = int(m[2])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    first = int(m[1])
    last = int(m[2]) if m[2] else size - 1
    if first >= size:
        raise RangeNotSatisfiable
    if last < first:
        return None
    return first, min(last, size - 1)


def starts_file(range_header: str) -> bool:
    """Whether a download request begins at the first byte (a new download, not a resumed part)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-.*", range_header or "")
    # No (or an unparsable) Range means the whole file; "bytes=-500" is a tail, "bytes=0-" a start.
    return m is None or (m[1] != "" and int(m[1]) == 0)
