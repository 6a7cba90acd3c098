"""`bbt report coverage --region NAME [--as-of DATE] [--json] [--schools]`"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from banbantong.core.jsonout import dumps
from banbantong.core.scope import SYSTEM
from banbantong.planning import coverage, services


class Command(BaseCommand):
    help = "报表：coverage 覆盖率（各级区域、按模式、学校类型、城乡；可按历史日期）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["coverage"])
        parser.add_argument("--region", required=True, help="区域名称，重名时写成 上级/名称")
        parser.add_argument("--as-of", dest="as_of", help="历史日期 YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="输出 JSON")
        parser.add_argument("--schools", action="store_true", help="包含每所学校")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            region = services.find_region(opts["region"])
            as_of = dt.date.fromisoformat(opts["as_of"]) if opts["as_of"] else None
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        except ValueError as exc:
            raise CommandError(f"日期“{opts['as_of']}”格式不对，应为 YYYY-MM-DD。") from exc
        report = coverage.coverage(SYSTEM, region, as_of=as_of)
        if opts["json"]:
            self.stdout.write(dumps(report.as_dict(with_schools=opts["schools"])))
            return
        when = f"（截至 {as_of}）" if as_of else ""
        c = report.root.counts
        self.stdout.write(f"{region.full_name}{when}：教学班 {c.classes}，已建 {c.built}，覆盖率 {c.coverage}%")
        for level, nodes in report.levels().items():
            if level == region.level:
                continue
            self.stdout.write(f"\n[{dict(region.Level.choices).get(level, level)}]")
            for node in nodes:
                n = node.counts
                self.stdout.write(f"  {node.name:<12} {n.built:>7} / {n.classes:<7} {n.coverage:>6}%")
