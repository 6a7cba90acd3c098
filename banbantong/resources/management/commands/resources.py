"""`bbt resources sweep`: remove expired upload sessions, unregistered files and stray temporaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from banbantong.resources import sweep


class Command(BaseCommand):
    help = "资源库维护：sweep 清理过期的上传、无人登记的文件和残留的临时文件。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sweep"])
        parser.add_argument("--grace-hours", type=int, default=int(sweep.ORPHAN_GRACE.total_seconds() // 3600),
                            help="未登记的文件保留多少小时后清理（默认 48）")
        parser.add_argument("--dry-run", action="store_true", help="只统计，不删除")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["grace_hours"] < 1:
            raise CommandError("--grace-hours 至少为 1。")
        result = sweep.sweep(grace=dt.timedelta(hours=opts["grace_hours"]), dry_run=opts["dry_run"])
        verb = "可清理" if opts["dry_run"] else "已清理"
        self.stdout.write(
            f"{verb}：过期上传 {result.sessions} 个，未登记文件 {result.blobs} 个（{result.bytes / 1024 / 1024:.1f} MB），"
            f"残留临时文件 {result.temp_files} 个。"
        )
