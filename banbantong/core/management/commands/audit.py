"""`bbt audit purge --older-than DAYS`: remove audit entries past the retention period."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from banbantong.core import audit


class Command(BaseCommand):
    help = "审计日志维护：purge 清理超过保留期的记录（至少保留 180 天）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["purge"])
        parser.add_argument("--older-than", type=int, default=settings.BBT_AUDIT_RETENTION_DAYS, metavar="DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            removed = audit.purge_expired(older_than_days=options["older_than"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已清理 {removed} 条超过 {options['older_than']} 天的审计记录。")
