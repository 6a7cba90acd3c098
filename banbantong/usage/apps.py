from typing import Any

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "banbantong.usage"
    label = "usage"
    verbose_name = "应用"

    def ready(self) -> None:
        from banbantong.org.signals import banbantong_status_changed

        banbantong_status_changed.connect(_status_changed, dispatch_uid="usage-bbt-status")


def _status_changed(sender: Any, school_ids: list[int], **kwargs: Any) -> None:
    from banbantong.usage.services import sync_banbantong_status

    sync_banbantong_status(school_ids)
