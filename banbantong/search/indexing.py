"""Keeping the search index current: one resource at a time, or all of them.

`index_resource` runs after every committed save of a resource and `remove_resource` after a
delete (signals.py); `bbt search reindex` rebuilds everything. What is indexed is the text
alone (title, description, tags, the file's text): scope, status and the metadata filters are
read live from the resource table at query time, so a review decision or a move to another
library needs no reindexing, and a save that changed no text costs one fingerprint lookup.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction

from banbantong.resources.models import Resource
from banbantong.search import extract, text
from banbantong.search.backends import Row, backend

log = logging.getLogger(__name__)

MAX_META_CHARS = 3000  # description and tags; with the file's 12,000 the positions stay in range
BATCH = 500


def fingerprint(resource: Resource) -> str:
    return fingerprint_of(resource.title, resource.description, resource.tags, resource.blob_id)


def fingerprint_of(title: str, description: str, tags: str, blob_id: str) -> str:
    parts = [title, description[:MAX_META_CHARS], tags, blob_id, str(extract.MAX_TEXT_CHARS)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _file_text(resource: Resource) -> str:
    from banbantong.resources import storage

    blob = resource.blob
    try:
        with storage.open_blob(blob) as fh:
            return extract.extract_text(fh, content_type=blob.content_type, size=blob.size)
    except OSError:
        log.warning("file of resource %s is missing; indexed without its text", resource.pk)
        return ""


def row_for(resource: Resource, *, body: str | None = None) -> Row:
    body = _file_text(resource) if body is None else body
    doc = text.document(
        title=resource.title, description=resource.description[:MAX_META_CHARS], tags=resource.tags, body=body
    )
    return Row(resource_id=resource.pk, document=doc, body=body, fingerprint=fingerprint(resource))


def rows_for(resources: list[Resource], *, bodies: dict[int, str] | None = None) -> list[Row]:
    """row_for() of many resources at once, with the same result (tested); `bodies` gives the file
    text of resources whose text is known, the others' files are read."""
    texts = [bodies[r.pk] if bodies is not None and r.pk in bodies else _file_text(r) for r in resources]
    docs = text.documents([(r.title, r.description[:MAX_META_CHARS], r.tags, body)
                           for r, body in zip(resources, texts, strict=True)])
    return [Row(resource_id=r.pk, document=d, body=body, fingerprint=fingerprint(r))
            for r, d, body in zip(resources, docs, texts, strict=True)]


def index_resource(resource: Resource, *, force: bool = False) -> bool:
    """Index one resource; False when its text had not changed since the last time."""
    be = backend()
    stamp = fingerprint(resource)
    if not force and be.fingerprints([resource.pk]).get(resource.pk) == stamp:
        return False
    row = row_for(resource)
    with transaction.atomic():
        if Resource.objects.filter(pk=resource.pk).exists():  # deleted while its file was read
            be.upsert([row])
    return True


def remove_resource(resource_id: int) -> None:
    with transaction.atomic():
        backend().delete([resource_id])


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def reindex_all(*, force: bool = True) -> Iterator[int]:
    """Rebuild the index from the resource table, yielding the number done after each batch.

    Rows of resources that no longer exist are removed first; with force=False only resources
    whose text changed are extracted again.
    """
    be = backend()
    with transaction.atomic():
        if force:
            be.clear()
        else:
            be.remove_orphans()
    qs = Resource.objects.select_related("blob").order_by("pk")
    for batch in _batches(qs.iterator(chunk_size=BATCH), BATCH):
        known = {} if force else be.fingerprints([r.pk for r in batch])
        rows = rows_for([r for r in batch if known.get(r.pk) != fingerprint(r)])
        with transaction.atomic():
            # After clearing, nothing is there to replace — unless a resource saved meanwhile was
            # indexed by its signal, which upsert() replaces: insert only what is still missing.
            if force:
                present = be.fingerprints([row.resource_id for row in rows])
                be.insert([row for row in rows if row.resource_id not in present])
                be.upsert([row for row in rows if row.resource_id in present])
            else:
                be.upsert(rows)
        yield len(batch)
