"""Housekeeping of the file store: expired upload sessions, files nobody registered, stray
temporary files. Run daily (`bbt resources sweep`); safe to run while people upload.

A blob is an orphan when no resource names it — the client completed an upload but never
registered the resource, or every resource using it was deleted. It is kept for a grace period
(a client registers right after completing), then removed: the row first, under a lock and only
if still unused (Resource.blob is PROTECT, so the database refuses otherwise), the bytes and the
preview after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from banbantong.core import audit
from banbantong.resources import services, storage
from banbantong.resources.models import Blob, Resource

ORPHAN_GRACE = dt.timedelta(days=2)
STRAY_TEMP_AGE = dt.timedelta(days=1)
BATCH = 200


@dataclass
class Swept:
    sessions: int = 0
    blobs: int = 0
    bytes: int = 0
    temp_files: int = 0


def _delete_files(blob_key: str, sha256: str) -> None:
    default_storage.delete(blob_key)
    folder = f"previews/{sha256}"
    if default_storage.exists(folder):
        for name in default_storage.listdir(folder)[1]:
            default_storage.delete(f"{folder}/{name}")


def orphan_blobs(*, now: dt.datetime | None = None, grace: dt.timedelta = ORPHAN_GRACE) -> list[Blob]:
    used = Resource.objects.filter(blob_id=OuterRef("pk"))
    return list(Blob.objects.filter(created_at__lt=(now or timezone.now()) - grace).filter(~Exists(used))
                .order_by("created_at")[:BATCH])


def sweep(*, now: dt.datetime | None = None, grace: dt.timedelta = ORPHAN_GRACE, dry_run: bool = False) -> Swept:
    out = Swept()
    if not dry_run:
        while (n := services.sweep_expired()) > 0:
            out.sessions += n
    while batch := orphan_blobs(now=now, grace=grace):
        for blob in batch:
            if dry_run:
                out.blobs += 1
                out.bytes += blob.size
                continue
            with transaction.atomic():
                locked = Blob.objects.select_for_update().filter(pk=blob.pk).first()
                if locked is None or Resource.objects.filter(blob_id=blob.pk).exists():
                    continue
                audit.record(audit.Action.DELETE, locked, actor=None, before=audit.snapshot(locked),
                             place=("", None))
                locked.delete()
                key, digest = locked.storage_key, locked.sha256
                transaction.on_commit(lambda k=key, d=digest: _delete_files(k, d))  # type: ignore[misc]
            out.blobs += 1
            out.bytes += blob.size
        if dry_run:
            break
    cutoff = time.time() - STRAY_TEMP_AGE.total_seconds()
    for path in storage.temp_dir().rglob("*"):
        # Temporary files live for one request; a day-old one is from a process that died.
        if path.is_file() and path.stat().st_mtime < cutoff:
            out.temp_files += 1
            if not dry_run:
                path.unlink(missing_ok=True)
    return out
