"""The index follows every committed create, update, status change and delete of a resource.

Connected in SearchConfig.ready. The work waits for the transaction to commit (a rolled-back
upload leaves no index row) and is `robust`: if extraction or indexing fails, the resource is
saved anyway, the failure is logged, and `bbt search reindex` repairs the index.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from banbantong.resources.models import Resource

UID_SAVE = "banbantong.search.index_on_save"
UID_DELETE = "banbantong.search.remove_on_delete"


def _index(resource_id: int) -> None:
    from banbantong.search import indexing

    resource = Resource.objects.select_related("blob").filter(pk=resource_id).first()
    if resource is not None:
        indexing.index_resource(resource)


def _remove(resource_id: int) -> None:
    from banbantong.search import indexing

    indexing.remove_resource(resource_id)


def on_save(sender: Any, instance: Resource, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loading fixtures: `bbt search reindex` afterwards
        return
    transaction.on_commit(partial(_index, instance.pk), robust=True)


def on_delete(sender: Any, instance: Resource, **kwargs: Any) -> None:
    transaction.on_commit(partial(_remove, instance.pk), robust=True)


def connect() -> None:
    post_save.connect(on_save, sender=Resource, dispatch_uid=UID_SAVE)
    post_delete.connect(on_delete, sender=Resource, dispatch_uid=UID_DELETE)
