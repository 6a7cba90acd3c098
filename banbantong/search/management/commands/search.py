"""`bbt search reindex [--changed]`: rebuild the full-text index of the resource library."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from banbantong.resources.models import Resource
from banbantong.search import indexing


class Command(BaseCommand):
    help = "资源全文检索：reindex 重建索引（--changed 只处理文字有变化的资源，并清除已删除资源的索引）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["reindex"])
        parser.add_argument("--changed", action="store_true", help="只重建标题、简介、标签或文件有变化的资源")
        parser.add_argument("--quiet", action="store_true", help="不显示进度条")

    def handle(self, *args: Any, **opts: Any) -> None:
        total = Resource.objects.count()
        started = time.monotonic()
        with tqdm(
            total=total, unit="条", desc="重建检索索引", disable=opts["quiet"], file=self.stderr
        ) as bar:
            for done in indexing.reindex_all(force=not opts["changed"]):
                bar.update(done)
        self.stdout.write(f"已处理 {total} 条资源，用时 {time.monotonic() - started:.1f} 秒。")
