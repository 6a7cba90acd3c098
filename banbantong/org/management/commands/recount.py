"""`bbt recount`: recount every school's class roll-ups from the classes themselves."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from banbantong.org.models import School
from banbantong.org.services import refresh_school_counts

CHUNK = 900


class Command(BaseCommand):
    help = "重新统计每所学校的教学班数、已建班数和学生数（数据修复后使用）。"

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(School.objects.values_list("id", flat=True).order_by("id"))
        with tqdm(total=len(ids), desc="重新统计", unit="校", disable=options["verbosity"] == 0) as bar:
            for i in range(0, len(ids), CHUNK):
                with transaction.atomic():
                    refresh_school_counts(ids[i : i + CHUNK])
                bar.update(len(ids[i : i + CHUNK]))
        self.stdout.write(f"已重新统计 {len(ids)} 所学校。")
