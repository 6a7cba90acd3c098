"""Terminal modes (the equipment a class gets) and their unit costs.

The catalogue is per region; rows with no region are the platform defaults from the seeds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from banbantong.core.i18n import gettext_lazy_str as _
from banbantong.core.scope import scope_of
from banbantong.org.models import School


class TerminalMode(models.Model):
    region = models.ForeignKey(
        "org.Region", verbose_name=pgettext_lazy("field", "区域"), null=True, blank=True, on_delete=models.CASCADE, related_name="modes"
    )
    code = models.SlugField(_("代码"), max_length=30)
    name = models.CharField(_("名称"), max_length=60)
    components = models.CharField(_("设备组成"), max_length=200, blank=True)
    unit_cost = models.DecimalField(_("每班单价(元)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    aliases = models.CharField(_("别名(逗号分隔)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("班班通模式")
        verbose_name_plural = _("班班通模式")
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

    region = models.ForeignKey("org.Region", verbose_name=pgettext_lazy("field", "区域"), on_delete=models.CASCADE, related_name="mode_rules")
    kind = models.CharField(_("学校类型"), max_length=20, choices=School.Kind.choices)
    grade_min = models.PositiveSmallIntegerField(_("起始年级"), default=1)
    grade_max = models.PositiveSmallIntegerField(_("结束年级"), default=12)
    mode_code = models.SlugField(_("模式代码"), max_length=30)

    class Meta:
        verbose_name = _("默认模式规则")
        ordering = ["region_id", "kind", "grade_min"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.grade_min}–{self.grade_max} → {self.mode_code}"


class CoverageTarget(models.Model):
    """A region's coverage target (%) at the end of a year."""

    region = models.ForeignKey("org.Region", verbose_name=pgettext_lazy("field", "区域"), on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("年份"))
    percent = models.DecimalField(_("覆盖率目标(%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("覆盖率目标")
        ordering = ["region_id", "year"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="target_unique_year")]

    def __str__(self) -> str:
        return f"{self.year}: {self.percent}%"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class PaymentTerms(models.Model):
    """How a year's installation contracts are paid (seeds: 40%, then 50% of the rest twice)."""

    region = models.OneToOneField("org.Region", on_delete=models.CASCADE, related_name="payment_terms")
    first_share = models.DecimalField(_("安装当年支付比例"), max_digits=5, decimal_places=4, default=Decimal("0.40"))
    later_share_of_remainder = models.DecimalField(
        _("其后每年支付余款比例"), max_digits=5, decimal_places=4, default=Decimal("0.50")
    )
    later_years = models.PositiveSmallIntegerField(_("其后付款年数"), default=2)

    class Meta:
        verbose_name = _("付款方式")

    def __str__(self) -> str:
        return f"{self.first_share:.0%} + {self.later_years}×{self.later_share_of_remainder:.0%}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class FundingSource(models.Model):
    class Kind(models.TextChoices):
        PER_PUPIL_FUNDS = "per_pupil", _("生均公用经费(统筹部分)")
        MATCHING = "matching", _("局校配套资金")
        CENTRAL = "central", _("中央专项资金")
        PROVINCIAL = "provincial", _("省市专项资金")
        LOCAL = "local", _("县乡村财政支持")
        DONATION = "donation", _("社会捐助")
        OTHER = "other", _("其他")

    region = models.ForeignKey("org.Region", verbose_name=pgettext_lazy("field", "区域"), on_delete=models.CASCADE, related_name="funding")
    year = models.PositiveSmallIntegerField(_("年份"))
    kind = models.CharField(_("来源"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("金额(元)"), max_digits=14, decimal_places=2)
    # For 生均公用经费: pupils × per-pupil amount × share; kept so the figure can be checked.
    pupils = models.PositiveIntegerField(_("学生数"), null=True, blank=True)
    per_pupil_amount = models.DecimalField(_("生均标准(元)"), max_digits=10, decimal_places=2, null=True, blank=True)
    share = models.DecimalField(_("统筹比例"), max_digits=5, decimal_places=4, null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("经费来源")
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

    region = models.ForeignKey("org.Region", verbose_name=pgettext_lazy("field", "区域"), on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("方案名称"), max_length=80)
    start_year = models.PositiveSmallIntegerField(_("起始年份"))
    targets = models.JSONField(_("年度目标(%)"))
    budget_per_year = models.DecimalField(_("每年预算上限(元)"), max_digits=14, decimal_places=2, null=True, blank=True)
    unit_cost = models.DecimalField(_("统一单价(元)"), max_digits=10, decimal_places=2, null=True, blank=True)
    summary = models.JSONField(_("结果摘要"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    adopted_at = models.DateTimeField(_("采用时间"), null=True, blank=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        verbose_name = _("规划方案")
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
    year = models.PositiveSmallIntegerField(_("年份"))
    mode_code = models.SlugField(_("模式"), max_length=30)
    cost = models.DecimalField(_("费用(元)"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("方案明细")
        indexes = [models.Index(fields=["scenario", "year"], name="scenario_item_year")]

    def __str__(self) -> str:
        return f"{self.year} {self.klass_id}"
