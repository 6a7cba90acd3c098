"""`bbt usage remind --region NAME [--week YYYY-Www]`: remind who fell short (once per week).
`bbt usage recount`: rebuild the places' weekly sums (PlaceWeek) from the schools' weeks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from banbantong.core.scope import SYSTEM
from banbantong.planning.services import find_region
from banbantong.usage import queries, rules, services


class Command(BaseCommand):
    help = ("应用：remind 给上周（或指定周）未达标的教师和学校管理员发站内提醒，重复运行不会重复提醒；"
            "recount 由各校周汇总重算各区域周汇总（批量导入后或核对时用）。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["remind", "recount"])
        parser.add_argument("--region", help="remind 必填：区域名称")
        parser.add_argument("--week", help="YYYY-Www，默认上周")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "recount":
            n = services.rebuild_place_weeks()
            self.stdout.write(f"已重算区域周汇总 {n} 行。")
            return
        if not opts["region"]:
            raise CommandError("remind 需要 --region 区域名称。")
        try:
            region = find_region(opts["region"])
            week = rules.parse_iso_week(opts["week"]) if opts["week"] else rules.week_start(
                timezone.localdate() - dt.timedelta(weeks=1))
        except (ValidationError, ValueError) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from exc
        report = queries.compliance(SYSTEM, region, week, limit=None)
        sent = services.send_reminders(report, week=week, actor=SYSTEM)
        self.stdout.write(f"{region.name} {rules.iso_week(week)}：发出 {sent} 条站内提醒。")
