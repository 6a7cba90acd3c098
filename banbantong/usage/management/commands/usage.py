"""`bbt usage remind --region NAME [--week YYYY-Www]`: remind who fell short (once per week)."""

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
    help = "应用：remind 给上周（或指定周）未达标的教师和学校管理员发站内提醒；重复运行不会重复提醒。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["remind"])
        parser.add_argument("--region", required=True)
        parser.add_argument("--week", help="YYYY-Www，默认上周")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            region = find_region(opts["region"])
            week = rules.parse_iso_week(opts["week"]) if opts["week"] else rules.week_start(
                timezone.localdate() - dt.timedelta(weeks=1))
        except (ValidationError, ValueError) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from exc
        report = queries.compliance(SYSTEM, region, week, limit=None)
        sent = services.send_reminders(report, week=week, actor=SYSTEM)
        self.stdout.write(f"{region.name} {rules.iso_week(week)}：发出 {sent} 条站内提醒。")
