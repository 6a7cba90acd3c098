"""Uploaded spreadsheets waiting for the user to confirm a preview (survey, devices, timetables).

The file is written to a temporary name and moved into place atomically, so a broken upload
never leaves a half file under a valid token; a token is random and known only to the uploader's
session; files older than a day are swept on the next upload.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
STALE_AFTER = dt.timedelta(days=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def pending_dir(kind: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / kind


def spreadsheet_suffix(upload: UploadedFile) -> str:
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        raise ValidationError("请上传 Excel 文件（.xlsx、.xls 或 .ods）。")
    if upload.size is not None and upload.size > settings.BBT_IMPORT_MAX_BYTES:
        raise ValidationError(f"文件太大，最大 {settings.BBT_IMPORT_MAX_BYTES // 1024 // 1024} MB。")
    return suffix


def store_pending(kind: str, upload: UploadedFile, suffix: str) -> str:
    directory = pending_dir(kind)
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = (timezone.now() - STALE_AFTER).timestamp()
    for old in directory.iterdir():
        if old.is_file() and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        os.replace(tmp, directory / f"{token}{suffix}")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return token


def pending_file(kind: str, token: str, suffix: str) -> Path | None:
    if not _TOKEN.match(token) or suffix not in SPREADSHEET_SUFFIXES:
        return None
    path = pending_dir(kind) / f"{token}{suffix}"
    return path if path.is_file() else None
