"""`bbt import survey FILE.xlsx --region NAME`: load a school survey (调查表) from the command line.

Runs as the system (actor=None). Bad input writes nothing, prints the rows to fix and exits
non-zero; --report saves every error to a workbook the bureau can hand back to schools.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from banbantong.org.models import Region
from banbantong.org.survey.report import write_error_report
from banbantong.org.survey.service import SurveyInvalid, import_survey

KINDS = {"survey": "调查表（学校、年级、教学班）", "devices": "设备登记册（按序列号新增或更新）"}
# Enough to see the pattern of what is wrong; the --report workbook has every row.
ERRORS_SHOWN = 50
LEVELS = {
    "province": Region.Level.PROVINCE, "city": Region.Level.CITY, "county": Region.Level.COUNTY,
    "省": Region.Level.PROVINCE, "市": Region.Level.CITY, "区县": Region.Level.COUNTY, "县": Region.Level.COUNTY,
}


class TqdmProgress:
    """One progress bar per stage (读取, 写入) on stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bar: tqdm[Any] | None = None

    def stage(self, label: str, total: int) -> None:
        self.close()
        self.bar = tqdm(total=total or None, desc=label, unit="行", disable=None, leave=True)

    def advance(self, n: int) -> None:
        if self.bar is not None and n:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = ("导入数据。目前支持：bbt import survey 调查表.xlsx --region 区域名称 [--dry-run] [--report 错误.xlsx]；"
            "bbt import devices 设备表.xlsx [--school 学校名称]")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("kind", help="导入类型：survey（调查表）、devices（设备登记册）")
        parser.add_argument("file", help="Excel 文件（.xlsx）")
        parser.add_argument("--region", help="调查表所属的市或区县名称；不存在时新建为顶级区域")
        parser.add_argument("--level", help="新建区域的级别：province/city/county（默认按名称推断）")
        parser.add_argument("--school", help="devices：整张表所属的学校（表中学校名称可留空）")
        parser.add_argument("--dry-run", action="store_true", help="只检查并统计，不写入")
        parser.add_argument("--report", help="把错误清单写入这个 .xlsx 文件")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind not in KINDS:
            known = "；".join(f"{k}：{v}" for k, v in KINDS.items())
            raise CommandError(f"未知的导入类型“{kind}”。目前支持：{known}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        if kind == "devices":
            from banbantong.devices.management.commands._import_devices import run

            report_path = Path(options["report"]) if options["report"] else None
            return run(self, path, school=options["school"], dry_run=options["dry_run"], report=report_path)
        region = (options["region"] or "").strip()
        if not region:
            raise CommandError("请用 --region 指定调查表所属的市或区县，例如 --region 吉水县")
        level = None
        if options["level"]:
            level = LEVELS.get(options["level"].strip())
            if level is None:
                raise CommandError(f"未知的区域级别“{options['level']}”，请用 province、city 或 county。")
        report = Path(options["report"]) if options["report"] else None

        progress = TqdmProgress()
        try:
            result = import_survey(
                path, region=region, actor=None, level=level, file_name=path.name,
                dry_run=options["dry_run"], progress=progress,
            )
        except SurveyInvalid as exc:
            progress.close()
            for error in exc.row_errors[:ERRORS_SHOWN]:
                self.stderr.write(str(error))
            if len(exc.row_errors) > ERRORS_SHOWN:
                self.stderr.write(f"……另有 {len(exc.row_errors) - ERRORS_SHOWN} 处错误未列出。")
            if report is not None:
                write_error_report(exc.row_errors, report)
                self.stderr.write(f"全部错误已写入：{report}")
            raise CommandError(exc.message) from None
        except (ValidationError, PermissionDenied) as exc:
            progress.close()
            raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from None
        progress.close()
        if report is not None:
            write_error_report([], report)  # an empty report, so an old one is not mistaken for this run's
        heading = "检查通过（试运行，未写入）" if result.dry_run else "导入完成"
        self.stdout.write(self.style.SUCCESS(f"{heading}：{result.region_name} · {result.file_name}"))
        for label, value in result.labelled_counts():
            self.stdout.write(f"  {label}：{value}")
