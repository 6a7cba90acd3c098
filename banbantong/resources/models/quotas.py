"""Resource-construction tasks (资源建设任务) of schools, and the points ledger (积分).

A quota asks a school for a number of approved resources of one kind and subject in a year; its
completion is counted from the resources, never stored. Points are a ledger: one row per event
that earned them (an approval, a download by someone else), so totals are sums and an event is
counted once by its unique key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from banbantong.core.i18n import gettext_lazy_str as _
from banbantong.core.scope import scope_of


class QuotaQuerySet(models.QuerySet["Quota"]):
    def for_user(self, user: Any) -> QuotaQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")


class Quota(models.Model):
    school = models.ForeignKey("org.School", verbose_name=pgettext_lazy("field", "学校"), on_delete=models.CASCADE, related_name="quotas")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("资源类型"), max_length=20)
    subject = models.CharField(_("学科"), max_length=20)
    target = models.PositiveIntegerField(_("任务数"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("下达人"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("下达时间"), auto_now=True)

    objects = QuotaQuerySet.as_manager()

    class Meta:
        verbose_name = _("资源建设任务")
        verbose_name_plural = _("资源建设任务")
        ordering = ["-year", "school__region_path", "school__name", "subject", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["school", "year", "kind", "subject"], name="quota_once_per_school_year"),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.year} {self.subject} {self.target}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)


class PointEntryQuerySet(models.QuerySet["PointEntry"]):
    def for_user(self, user: Any) -> PointEntryQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")


class PointEntry(models.Model):
    class Reason(models.TextChoices):
        APPROVED = "approved", _("资源通过审核")
        DOWNLOADED = "downloaded", _("资源被下载使用")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=pgettext_lazy("field", "教师"), on_delete=models.CASCADE,
                             related_name="point_entries")
    school = models.ForeignKey("org.School", verbose_name=pgettext_lazy("field", "学校"), on_delete=models.CASCADE,
                               related_name="point_entries")
    resource = models.ForeignKey("resources.Resource", verbose_name=_("资源"), on_delete=models.CASCADE,
                                 related_name="point_entries")
    reason = models.CharField(_("原因"), max_length=12, choices=Reason.choices)
    points = models.IntegerField(_("积分"))
    # "approved:<resource>" or "downloaded:<resource>:<user>": the same event never counts twice.
    key = models.CharField(max_length=80, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    objects = PointEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分记录")
        verbose_name_plural = _("积分记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["year", "school"], name="points_year_school")]

    def __str__(self) -> str:
        return f"{self.user} +{self.points}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)
