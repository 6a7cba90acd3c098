"""Terminal modes (the equipment a class gets) and their unit costs.

The catalogue is per region; rows with no region are the platform defaults from the seeds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class TerminalMode(models.Model):
    region = models.ForeignKey(
        "org.Region", verbose_name="区域", null=True, blank=True, on_delete=models.CASCADE, related_name="modes"
    )
    code = models.SlugField("代码", max_length=30)
    name = models.CharField("名称", max_length=60)
    components = models.CharField("设备组成", max_length=200, blank=True)
    unit_cost = models.DecimalField("每班单价(元)", max_digits=10, decimal_places=2, default=Decimal("0"))
    aliases = models.CharField("别名(逗号分隔)", max_length=200, blank=True)

    class Meta:
        verbose_name = "班班通模式"
        verbose_name_plural = "班班通模式"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["region", "code"], name="mode_unique_code_in_region")]

    def __str__(self) -> str:
        return self.name

    def names(self) -> list[str]:
        return [self.name, self.code, *[a.strip() for a in self.aliases.split(",") if a.strip()]]
