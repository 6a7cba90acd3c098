"""Terminal modes (the equipment a class gets) and their unit costs.

The catalogue is per region; rows with no region are the platform defaults from the seeds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from banbantong.core.scope import scope_of
from banbantong.org.models import School


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


class ModeRule(models.Model):
    """One line of a region's default-mode rule: schools of a kind, grades a–b → a mode.

    A region without lines inherits its parent's rule; with none anywhere, the seeds' rule
    (`planning.rules.default_mode_code`) applies.
    """

    region = models.ForeignKey("org.Region", verbose_name="区域", on_delete=models.CASCADE, related_name="mode_rules")
    kind = models.CharField("学校类型", max_length=20, choices=School.Kind.choices)
    grade_min = models.PositiveSmallIntegerField("起始年级", default=1)
    grade_max = models.PositiveSmallIntegerField("结束年级", default=12)
    mode_code = models.SlugField("模式代码", max_length=30)

    class Meta:
        verbose_name = "默认模式规则"
        ordering = ["region_id", "kind", "grade_min"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.grade_min}–{self.grade_max} → {self.mode_code}"


class CoverageTarget(models.Model):
    """A region's coverage target (%) at the end of a year."""

    region = models.ForeignKey("org.Region", verbose_name="区域", on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField("年份")
    percent = models.DecimalField("覆盖率目标(%)", max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = "覆盖率目标"
        ordering = ["region_id", "year"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="target_unique_year")]

    def __str__(self) -> str:
        return f"{self.year}: {self.percent}%"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class PaymentTerms(models.Model):
    """How a year's installation contracts are paid (seeds: 40%, then 50% of the rest twice)."""

    region = models.OneToOneField("org.Region", on_delete=models.CASCADE, related_name="payment_terms")
    first_share = models.DecimalField("安装当年支付比例", max_digits=5, decimal_places=4, default=Decimal("0.40"))
    later_share_of_remainder = models.DecimalField(
        "其后每年支付余款比例", max_digits=5, decimal_places=4, default=Decimal("0.50")
    )
    later_years = models.PositiveSmallIntegerField("其后付款年数", default=2)

    class Meta:
        verbose_name = "付款方式"

    def __str__(self) -> str:
        return f"{self.first_share:.0%} + {self.later_years}×{self.later_share_of_remainder:.0%}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class FundingSource(models.Model):
    class Kind(models.TextChoices):
        PER_PUPIL_FUNDS = "per_pupil", "生均公用经费(统筹部分)"
        MATCHING = "matching", "局校配套资金"
        CENTRAL = "central", "中央专项资金"
        PROVINCIAL = "provincial", "省市专项资金"
        LOCAL = "local", "县乡村财政支持"
        DONATION = "donation", "社会捐助"
        OTHER = "other", "其他"

    region = models.ForeignKey("org.Region", verbose_name="区域", on_delete=models.CASCADE, related_name="funding")
    year = models.PositiveSmallIntegerField("年份")
    kind = models.CharField("来源", max_length=20, choices=Kind.choices)
    amount = models.DecimalField("金额(元)", max_digits=14, decimal_places=2)
    # For 生均公用经费: pupils × per-pupil amount × share; kept so the figure can be checked.
    pupils = models.PositiveIntegerField("学生数", null=True, blank=True)
    per_pupil_amount = models.DecimalField("生均标准(元)", max_digits=10, decimal_places=2, null=True, blank=True)
    share = models.DecimalField("统筹比例", max_digits=5, decimal_places=4, null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "经费来源"
        ordering = ["region_id", "year", "kind"]

    def __str__(self) -> str:
        return f"{self.year} {self.get_kind_display()} {self.amount}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class ScenarioQuerySet(models.QuerySet["Scenario"]):
    def for_user(self, user: Any) -> ScenarioQuerySet:
        return scope_of(user).filter(self, region_path_field="region__path", school_field=None)


class Scenario(models.Model):
    """A saved rollout plan: targets, caps and costs in, classes per year out."""

    region = models.ForeignKey("org.Region", verbose_name="区域", on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField("方案名称", max_length=80)
    start_year = models.PositiveSmallIntegerField("起始年份")
    targets = models.JSONField("年度目标(%)")
    budget_per_year = models.DecimalField("每年预算上限(元)", max_digits=14, decimal_places=2, null=True, blank=True)
    unit_cost = models.DecimalField("统一单价(元)", max_digits=10, decimal_places=2, null=True, blank=True)
    summary = models.JSONField("结果摘要", default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    adopted_at = models.DateTimeField("采用时间", null=True, blank=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        verbose_name = "规划方案"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class ScenarioItem(models.Model):
    """One class equipped in one year of a scenario."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="items")
    # No database constraint on the class and school: a province plan writes ~90,000 rows at
    # once and PostgreSQL would check both keys row by row at commit (seconds). Rows are written
    # only from classes just read in the same transaction, and Django still cascades deletes.
    klass = models.ForeignKey("org.TeachingClass", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    year = models.PositiveSmallIntegerField("年份")
    mode_code = models.SlugField("模式", max_length=30)
    cost = models.DecimalField("费用(元)", max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = "方案明细"
        indexes = [models.Index(fields=["scenario", "year"], name="scenario_item_year")]

    def __str__(self) -> str:
        return f"{self.year} {self.klass_id}"
