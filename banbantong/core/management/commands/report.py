"""`bbt report coverage …` and `bbt report compliance …`: the same numbers as the pages and API.

    bbt report coverage --region NAME [--as-of DATE] [--json] [--schools]
    bbt report compliance --region NAME --week YYYY-Www [--json]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from banbantong.core.jsonout import dumps
from banbantong.core.scope import SYSTEM
from banbantong.org.models import Region
from banbantong.planning import coverage, services
from banbantong.usage import queries as usage_queries
from banbantong.usage.rules import parse_iso_week


class Command(BaseCommand):
    help = "报表：coverage 覆盖率（各级区域、按模式、学校类型、城乡；可按历史日期）；compliance 每周应用达标情况。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["coverage", "compliance"])
        parser.add_argument("--region", required=True, help="区域名称，重名时写成 上级/名称")
        parser.add_argument("--as-of", dest="as_of", help="历史日期 YYYY-MM-DD（coverage）")
        parser.add_argument("--week", help="周次 YYYY-Www，例如 2026-W11（compliance）")
        parser.add_argument("--json", action="store_true", help="输出 JSON")
        parser.add_argument("--schools", action="store_true", help="包含每所学校（coverage）")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            region = services.find_region(opts["region"])
            if opts["kind"] == "compliance":
                self._compliance(region, opts)
            else:
                self._coverage(region, opts)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _coverage(self, region: Region, opts: dict[str, Any]) -> None:
        try:
            as_of = dt.date.fromisoformat(opts["as_of"]) if opts["as_of"] else None
        except ValueError:
            raise ValueError(f"日期“{opts['as_of']}”格式不对，应为 YYYY-MM-DD。") from None
        report = coverage.coverage(SYSTEM, region, as_of=as_of, with_schools=opts["schools"])
        if opts["json"]:
            self.stdout.write(dumps(report.as_dict(with_schools=opts["schools"])))
            return
        when = f"（截至 {as_of}）" if as_of else ""
        c = report.root.counts
        self.stdout.write(f"{region.full_name}{when}：教学班 {c.classes}，已建 {c.built}，覆盖率 {c.coverage}%")
        for level, nodes in report.levels().items():
            if level == region.level:
                continue
            self.stdout.write(f"\n[{dict(Region.Level.choices).get(level, level)}]")
            for node in nodes:
                n = node.counts
                self.stdout.write(f"  {node.name:<12} {n.built:>7} / {n.classes:<7} {n.coverage:>6}%")

    def _compliance(self, region: Region, opts: dict[str, Any]) -> None:
        if not opts["week"]:
            raise ValueError("compliance 需要 --week，例如 --week 2026-W11。")
        week = parse_iso_week(opts["week"])
        report = usage_queries.compliance(SYSTEM, region, week, limit=None)
        if opts["json"]:
            self.stdout.write(dumps(report.as_dict()))
            return
        d = report.as_dict()
        self.stdout.write(
            f"{region.full_name} {d['week']}：班级 {d['classes']['compliant']}/{d['classes']['checked']} 达标"
            f"（{d['classes']['share_percent']}%），教师 {d['teachers']['compliant']}/{d['teachers']['checked']} 达标"
            f"（{d['teachers']['share_percent']}%），疑点记录 {d['flagged']} 条"
        )
        for row in d["short_classes"][:50]:
            self.stdout.write(f"  未达标班级 {row['school']} {row['class']}：{row['lessons']} 节")
