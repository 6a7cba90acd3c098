"""Where resource bytes live: temporary files, hashing, the checks on disk, and the blob store.

Everything goes through Django's storage API (`default_storage`): local disk under MEDIA_ROOT by
default; in production an S3-compatible object store (MinIO, Ceph) selected in STORAGES with
django-storages, e.g.

    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage",
                           "OPTIONS": {"bucket_name": ..., "endpoint_url": ...}}

An upload is first streamed to a temporary file in `temp_dir()` (never held in memory), hashed
while it is written, checked, and only then handed to the storage. On local disk the temporary
directory lies under MEDIA_ROOT, so the hand-over is a rename on the same file system: atomic,
no half file is ever visible under a blob key. An object store makes an object visible only when
its upload has finished, which gives the same guarantee. Blob keys are derived from the SHA-256,
so two writers of the same bytes write the same key with the same content.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from banbantong.resources import rules
from banbantong.resources.models import Blob
from banbantong.resources.rules import UploadRefused

READ_BLOCK = 1024 * 1024
# The end-of-archive record sits in the last 22 bytes plus a comment of at most 64 KB.
ZIP_TAIL = 22 + 65535
MAX_ZIP_DIRECTORY = 32 * 1024 * 1024  # 10,000 entries with long names fit in far less


def max_bytes() -> int:
    return int(getattr(settings, "BBT_RESOURCE_MAX_BYTES", rules.DEFAULT_MAX_BYTES))


def temp_dir() -> Path:
    path = Path(getattr(settings, "BBT_UPLOAD_TEMP_DIR", "") or Path(settings.MEDIA_ROOT) / ".partial")
    path.mkdir(parents=True, exist_ok=True)
    return path


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size: int


class _TempFile(File):  # type: ignore[type-arg]
    """A finished temporary file: FileSystemStorage moves it into place by rename instead of copying."""

    def temporary_file_path(self) -> str:
        return str(self.name)


@contextlib.contextmanager
def spooled(chunks: Iterable[bytes], *, limit: int, too_big: str = "") -> Iterator[Received]:
    """Write chunks to a fresh temporary file, hashing as they arrive; stop as soon as `limit` is passed.

    The file is removed on leaving the block, whatever happened, unless it was moved into storage.
    """
    fd, name = tempfile.mkstemp(dir=temp_dir(), prefix="up-")
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRefused(too_big or rules.too_big_message(limit))
                digest.update(chunk)
                fh.write(chunk)
        yield Received(path=path, sha256=digest.hexdigest(), size=size)
    finally:
        path.unlink(missing_ok=True)


def check_file(received: Received, file_name: str) -> rules.FileType:
    """Every content check, on the temporary file, before anything is stored or unpacked."""
    with received.path.open("rb") as fh:
        head = fh.read(rules.HEAD_BYTES)
    ftype = rules.check_head(file_name, head)
    if ftype.container:
        _check_archive(received, ftype)
    if ftype.ole and _contains(received.path, rules.OLE_VBA_MARKER):
        raise UploadRefused(rules.MACRO_MESSAGE)
    return ftype


def _check_archive(received: Received, ftype: rules.FileType) -> None:
    broken = UploadRefused("文件已损坏或不完整（无法读取压缩包目录），请重新导出或重新上传。")
    # Read the end record first: zipfile would load the whole central directory into memory.
    with received.path.open("rb") as fh:
        fh.seek(max(received.size - ZIP_TAIL, 0))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise broken
    entries, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
        raise UploadRefused(f"压缩包过大或文件数超过 {rules.MAX_ZIP_ENTRIES} 个（ZIP64），已拒收。")
    if entries > rules.MAX_ZIP_ENTRIES or directory_size > MAX_ZIP_DIRECTORY:
        raise UploadRefused(f"压缩包内文件超过 {rules.MAX_ZIP_ENTRIES} 个，疑似恶意文件，已拒收。")
    try:
        with zipfile.ZipFile(received.path) as archive:
            infos = archive.infolist()  # the listing only: nothing is unpacked
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise broken from exc
    rules.check_zip_listing(
        ftype, ((i.filename, i.file_size, i.compress_size) for i in infos), archive_size=received.size
    )


def _contains(path: Path, needle: bytes) -> bool:
    overlap = b""
    with path.open("rb") as fh:
        while block := fh.read(READ_BLOCK):
            if needle in overlap + block:
                return True
            overlap = block[-(len(needle) - 1) :]
    return False


def _move_into_storage(received: Received, key: str) -> None:
    with received.path.open("rb") as fh:
        stored = default_storage.save(key, _TempFile(fh, name=str(received.path)))
    if stored != key:
        # Someone stored the same key in between (same bytes, by construction): keep theirs.
        default_storage.delete(stored)


def store_blob(received: Received, *, content_type: str) -> tuple[Blob, bool]:
    """The blob for these bytes, stored once; (blob, created). Call inside a transaction."""
    existing = Blob.objects.filter(pk=received.sha256).first()
    if existing is not None:
        return existing, False
    key = blob_key(received.sha256)
    if default_storage.exists(key) and default_storage.size(key) != received.size:
        default_storage.delete(key)  # cannot happen with atomic moves; never trust a short file
    if not default_storage.exists(key):
        # A file already there came from a writer that finished its move but not its row:
        # complete by construction, since the move is atomic and the key is the content's hash.
        _move_into_storage(received, key)
    return Blob.objects.get_or_create(
        sha256=received.sha256,
        defaults={"size": received.size, "content_type": content_type, "storage_key": key},
    )


def open_blob(blob: Blob) -> File:  # type: ignore[type-arg]
    return default_storage.open(blob.storage_key, "rb")
