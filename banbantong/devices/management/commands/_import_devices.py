"""`bbt import devices FILE.xlsx [--school NAME]`: the device register from Excel, on the command line.

Called by the one `bbt import` command (org/management/commands/import.py); the leading
underscore keeps Django from listing this module as a command of its own. Runs as the system:
every school is in scope. Bad input writes nothing, prints the cells to fix and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from banbantong.devices.importer import DevicesInvalid, find_school, import_devices
from banbantong.org.survey.report import write_error_report

# Enough to see the pattern of what is wrong; --report has every cell.
ERRORS_SHOWN = 50


def run(command: BaseCommand, path: Path, *, school: str | None, dry_run: bool, report: Path | None) -> None:
    try:
        target = find_school(school, actor=None) if school and school.strip() else None
        result = import_devices(path, actor=None, school=target, file_name=path.name, dry_run=dry_run)
    except DevicesInvalid as exc:
        for error in exc.row_errors[:ERRORS_SHOWN]:
            command.stderr.write(str(error))
        if len(exc.row_errors) > ERRORS_SHOWN:
            command.stderr.write(f"……另有 {len(exc.row_errors) - ERRORS_SHOWN} 处错误未列出。")
        if report is not None:
            write_error_report(exc.row_errors, report)
            command.stderr.write(f"全部错误已写入：{report}")
        raise CommandError(exc.message) from None
    except (ValidationError, PermissionDenied) as exc:
        raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from None
    if report is not None:
        write_error_report([], report)  # an empty report, so an old one is not mistaken for this run's
    heading = "检查通过（试运行，未写入）" if result.dry_run else "导入完成"
    command.stdout.write(command.style.SUCCESS(f"{heading}：{result.file_name}"))
    for label, value in result.labelled_counts():
        command.stdout.write(f"  {label}：{value}")
