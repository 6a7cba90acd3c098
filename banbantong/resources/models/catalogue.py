"""The curriculum catalogue (教材目录): textbook edition → volume (册) → unit → lesson (课时).

A region loads the tables of contents of the textbooks its schools use; every school and region
below it sees them (a city's catalogue serves all its counties), and a region may add its own.
Resources attach to lessons, and the coverage matrix counts them per lesson.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import pgettext_lazy

from banbantong.core.i18n import gettext_lazy_str as _
from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.grades import GRADE_LABELS
from banbantong.resources.models.library import paths_above


class EditionQuerySet(models.QuerySet["Edition"]):
    def for_user(self, user: Any) -> EditionQuerySet:
        """Catalogues of regions at or above the user's places, and (for a bureau) those its
        subtree loaded for itself."""
        scope = scope_of(user)
        if scope.everything:
            return self
        q = Q(region_path__in=paths_above(scope)) if not scope.is_empty else Q(pk__in=[])
        for path in scope.region_paths:
            q |= subtree_q("region_path", path)
        return self.filter(q)


class Edition(models.Model):
    """One textbook series of one subject and stage, e.g. 人教版 小学 数学."""

    region = models.ForeignKey("org.Region", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                               related_name="editions")
    region_path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    stage = models.CharField(_("学段"), max_length=10)
    subject = models.CharField(_("学科"), max_length=20)
    name = models.CharField(_("教材版本"), max_length=40)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = EditionQuerySet.as_manager()

    class Meta:
        verbose_name = _("教材版本")
        verbose_name_plural = _("教材版本")
        ordering = ["stage", "subject", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "stage", "subject", "name"], name="edition_once_per_region"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.stage}{self.subject}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region_path, None)


class VolumeQuerySet(models.QuerySet["Volume"]):
    def for_user(self, user: Any) -> VolumeQuerySet:
        return self.filter(edition__in=Edition.objects.for_user(user))


class Volume(models.Model):
    """One book of an edition: a grade and a term, e.g. 三年级 上册."""

    edition = models.ForeignKey(Edition, verbose_name=_("教材版本"), on_delete=models.CASCADE, related_name="volumes")
    grade = models.PositiveSmallIntegerField(_("年级"))
    term = models.CharField(_("册次"), max_length=20)
    order = models.PositiveIntegerField(_("顺序"), default=0)

    objects = VolumeQuerySet.as_manager()

    class Meta:
        verbose_name = _("册")
        verbose_name_plural = _("册")
        ordering = ["edition_id", "grade", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["edition", "grade", "term"], name="volume_once_per_edition")]

    def __str__(self) -> str:
        return f"{self.edition} {self.label}"

    @property
    def grade_label(self) -> str:
        return GRADE_LABELS.get(self.grade, str(self.grade))

    @property
    def label(self) -> str:
        return f"{self.grade_label}{self.term}"


class Unit(models.Model):
    volume = models.ForeignKey(Volume, verbose_name=_("册"), on_delete=models.CASCADE, related_name="units")
    number = models.PositiveSmallIntegerField(_("单元序号"))
    name = models.CharField(_("单元名称"), max_length=60)

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["volume_id", "number"]
        constraints = [models.UniqueConstraint(fields=["volume", "number"], name="unit_number_once")]

    def __str__(self) -> str:
        return f"第{self.number}单元 {self.name}"


class LessonQuerySet(models.QuerySet["Lesson"]):
    def for_user(self, user: Any) -> LessonQuerySet:
        return self.filter(unit__volume__edition__in=Edition.objects.for_user(user))


class Lesson(models.Model):
    """A lesson (课时) or section of a unit: what resources attach to."""

    unit = models.ForeignKey(Unit, verbose_name=_("单元"), on_delete=models.CASCADE, related_name="lessons")
    number = models.PositiveSmallIntegerField(_("课时序号"))
    name = models.CharField(_("课时名称"), max_length=60)

    objects = LessonQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("field", "课时")
        verbose_name_plural = _("课时")
        ordering = ["unit_id", "number"]
        constraints = [models.UniqueConstraint(fields=["unit", "number"], name="lesson_number_once")]

    def __str__(self) -> str:
        return self.name
