"""`bbt demo`: prepare the database, fill the demo county (吉水县) once, print the accounts, serve.

Running it again reuses what is there; `--reset` starts from an empty embedded database.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from tqdm import tqdm

from banbantong.core.management.commands.serve import DEFAULT_ADDR, DEFAULT_THREADS
from banbantong.org import demo


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def account_table(accounts: tuple[demo.DemoAccount, ...], password: str) -> str:
    """The role / username / password / scope table, aligned for CJK terminals."""
    head = ("角色", "用户名", "密码", "管辖范围")
    rows = [head] + [(a.role, a.username, password, a.where) for a in accounts]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "建立演示数据（吉安市吉水县，1469 个教学班、已建 283 个），打印各角色账号，然后启动网页服务。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动网页服务")
        parser.add_argument("--addr", default=DEFAULT_ADDR, help=f"监听地址，默认 {DEFAULT_ADDR}")
        parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="网页服务线程数")
        parser.add_argument("--reset", action="store_true", help="删除内置 SQLite 数据库后重建（会丢失其中全部数据）")
        parser.add_argument("--teachers", type=int, default=demo.JISHUI_TEACHERS, help="吉水县教师人数，默认 3000")
        parser.add_argument("--seed", type=int, default=demo.DEMO_SEED, help="随机数种子（同一天同一种子结果相同）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reset"]:
            self._reset()
        self.stdout.write("正在准备数据库……")
        call_command("migrate", interactive=False, verbosity=0)
        if options["teachers"] < 1:
            raise CommandError("--teachers 至少为 1。")
        existing = demo.demo_county()
        if existing is not None:
            self.stdout.write(f"数据库中已有演示数据（{existing.name}），直接使用。需要重建请加 --reset。")
            result = demo.describe(existing, created=False)
        else:
            with tqdm(total=len(demo.STAGES), desc="生成演示数据", unit="步", leave=True) as bar:

                def progress(stage: str) -> None:
                    bar.set_postfix_str(stage)
                    bar.update(1)

                try:
                    result = demo.build_demo(seed=options["seed"], teachers=options["teachers"], progress=progress)
                except demo.DemoError as exc:
                    raise CommandError(str(exc)) from exc
        coverage = result.built * 100 / result.classes if result.classes else 0
        self.stdout.write(
            f"{result.county.name}：{result.schools} 所学校，{result.classes} 个教学班，"
            f"已建 {result.built} 个（覆盖率 {coverage:.1f}%），教师 {result.teachers} 人。"
        )
        self.stdout.write("")
        self.stdout.write(account_table(result.accounts, demo.DEMO_PASSWORD))
        self.stdout.write(
            f"\n其余教师账号为 js00001 起（新干县为 xg00001 起），密码同为 {demo.DEMO_PASSWORD}。"
            "演示密码人人皆知，切勿在正式环境使用。\n"
        )
        for line in result.activity:
            self.stdout.write(line)
        if result.activity:
            self.stdout.write("")
        if not options["no_serve"]:
            call_command("serve", addr=options["addr"], threads=options["threads"])

    def _reset(self) -> None:
        db = settings.DATABASES["default"]
        if db["ENGINE"] != "django.db.backends.sqlite3":
            raise CommandError("--reset 只用于内置 SQLite 数据库；PostgreSQL 请由管理员删除并重建数据库。")
        path = Path(str(db["NAME"]))
        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.stdout.write(f"已删除数据库 {path}，将重新建立。")
