"""Housekeeping: unregistered files go after the grace period, used ones never, temporaries too."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.resources import storage, sweep
from banbantong.resources.models import Blob, Resource
from banbantong.resources.tests.kit import files_under, make_resource, pdf


def orphan(world: World, seed: int, age: dt.timedelta) -> Blob:
    resource = make_resource(world, content=pdf(5000, seed=seed), name=f"文件{seed}.pdf")
    blob = resource.blob
    Resource.objects.filter(pk=resource.pk).delete()
    Blob.objects.filter(pk=blob.pk).update(created_at=timezone.now() - age)
    return blob


@pytest.mark.django_db
def test_sweep_removes_old_orphans_only(world: World, media: Path, django_capture_on_commit_callbacks: Any) -> None:
    old = orphan(world, 1, dt.timedelta(days=3))
    young = orphan(world, 2, dt.timedelta(hours=1))
    used = make_resource(world, content=pdf(5000, seed=3), name="在用.pdf").blob
    Blob.objects.filter(pk=used.pk).update(created_at=timezone.now() - dt.timedelta(days=30))

    dry = sweep.sweep(dry_run=True)
    assert (dry.blobs, dry.bytes) == (1, 5000)
    assert Blob.objects.count() == 3

    with django_capture_on_commit_callbacks(execute=True):  # the bytes go once the row's deletion commits
        result = sweep.sweep()
    assert result.blobs == 1
    assert set(Blob.objects.values_list("pk", flat=True)) == {young.pk, used.pk}
    names = {p.name for p in files_under(media)}
    assert old.sha256 not in names and young.sha256 in names and used.sha256 in names
    assert AuditEntry.objects.filter(action="delete", object_type__icontains="blob").exists()


@pytest.mark.django_db
def test_stray_temporary_files_go_and_the_command_reports(world: World, media: Path) -> None:
    stray = storage.temp_dir() / "tmp-crashed"
    stray.write_bytes(b"half an upload")
    day_old = time.time() - 2 * 86400
    os.utime(stray, (day_old, day_old))
    fresh = storage.temp_dir() / "tmp-now"
    fresh.write_bytes(b"being written")
    out = io.StringIO()
    call_command("resources", "sweep", stdout=out)
    assert "残留临时文件 1 个" in out.getvalue()
    assert not stray.exists() and fresh.exists()
