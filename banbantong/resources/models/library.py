"""The resource library (资源库): stored files (blobs), the resources that name them, uploads in progress.

A file is stored once, under a key derived from its SHA-256 (content-addressed); any number of
resources may point at the same blob. A resource belongs to a school's library and may also be
submitted to a regional network (资源网), where, once approved, every school under that region
sees it. Resumable uploads keep their state in `UploadSession` so that any app process can take
the next chunk.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import pgettext_lazy

from banbantong.core.i18n import gettext_lazy_str as _
from banbantong.core.scope import Scope, scope_of, subtree_q


class Blob(models.Model):
    """File bytes, once. Written only by `storage.store_blob`, after every check has passed."""

    sha256 = models.CharField("SHA-256", max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField(_("大小(字节)"))
    content_type = models.CharField(_("内容类型"), max_length=100)
    storage_key = models.CharField(_("存储键"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("存入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("文件")
        verbose_name_plural = _("文件")

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.size} 字节)"


def ancestor_paths(path: str) -> list[str]:
    """'/1/4/17/' -> ['/1/', '/1/4/', '/1/4/17/']: the region itself and every region above it."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def paths_above(scope: Scope) -> list[str]:
    """Every region path at or above the places of a scope (its regions and its schools' regions):
    what reaches the user from above — network resources and textbook catalogues."""
    places: set[str] = set(scope.region_paths)
    if scope.school_ids:
        from banbantong.org.models import School

        places |= set(School.objects.filter(pk__in=scope.school_ids).values_list("region_path", flat=True))
    return sorted({a for p in places for a in ancestor_paths(p)})


class ResourceQuerySet(models.QuerySet["Resource"]):
    def for_user(self, user: Any) -> ResourceQuerySet:
        """Resources of the schools in the user's scope, plus approved network resources of any
        region at or above the user's places (a county network reaches all its schools)."""
        scope = scope_of(user)
        own = scope.q(region_path_field="school__region_path", school_field="school_id")
        if own is None:
            return self
        above = paths_above(scope)
        if above:
            own |= Q(library=Resource.Library.NETWORK, status=Resource.Status.APPROVED, network_path__in=above)
        return self.filter(own)

    def reviewable_by(self, user: Any) -> ResourceQuerySet:
        """Network submissions a reviewer may decide: those sent to a network at or under the
        reviewer's region. A county reviewer does not decide for the city's network."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        network = self.filter(library=Resource.Library.NETWORK)
        if user.is_superuser:
            return network
        if user.role != "reviewer" or user.region is None:
            return self.none()
        return network.filter(subtree_q("network_path", user.region.path))


class Resource(models.Model):
    class Kind(models.TextChoices):
        COURSEWARE = "courseware", _("课件")
        LESSON_PLAN = "lesson_plan", _("教案")
        UNIT_TEST = "unit_test", _("单元测试")
        MIDTERM = "midterm", _("期中试卷")
        FINAL = "final", _("期末试卷")
        VIDEO = "video", _("视频")
        QUESTION_BANK = "question_bank", _("题库")
        MORAL = "moral", _("德育资源")
        OTHER = "other", _("其他")

    class Library(models.TextChoices):
        SCHOOL = "school", _("校本资源库")
        NETWORK = "network", _("区域资源网")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已退回")

    title = models.CharField(_("标题"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    # The lesson of the region's catalogue it belongs to; the plain-text fields below are copied
    # from it (and stay free text for resources that no catalogue lists) for display and search.
    catalogue_lesson = models.ForeignKey(
        "resources.Lesson", verbose_name=_("目录课时"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="resources",
    )
    stage = models.CharField(_("学段"), max_length=20, blank=True)
    subject = models.CharField(_("学科"), max_length=20, blank=True, db_index=True)
    grade = models.CharField(_("年级"), max_length=20, blank=True)
    edition = models.CharField(_("教材版本"), max_length=40, blank=True)
    volume = models.CharField(_("册次"), max_length=20, blank=True)
    unit = models.CharField(_("单元"), max_length=60, blank=True)
    lesson = models.CharField(pgettext_lazy("field", "课时"), max_length=60, blank=True)
    description = models.TextField(_("简介"), blank=True)
    tags = models.CharField(_("标签"), max_length=200, blank=True, help_text=_("用逗号分隔"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="resources"
    )
    school = models.ForeignKey("org.School", verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="resources")
    library = models.CharField(_("所在资源库"), max_length=10, choices=Library.choices, default=Library.SCHOOL)
    network_region = models.ForeignKey(
        "org.Region", verbose_name=_("提交到的区域资源网"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="network_resources",
    )
    # A copy of the network region's path, so that scope filters one indexed column.
    network_path = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    status = models.CharField(_("审核状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="reviewed_resources",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True, db_index=True)
    review_reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    original_name = models.CharField(_("原文件名"), max_length=255)
    blob = models.ForeignKey(Blob, verbose_name=_("文件"), on_delete=models.PROTECT, related_name="resources")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("资源")
        verbose_name_plural = _("资源")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(library="school", network_region__isnull=True)
                | Q(library="network", network_region__isnull=False),
                name="resource_network_region_iff_network",
            ),
        ]
        indexes = [
            models.Index(fields=["library", "status", "network_path"], name="resource_network_scope"),
            # The coverage matrix groups a volume's resources by lesson and kind: a region's (all
            # lessons), one school's, and the networks' above a school (each led by its own place).
            models.Index(fields=["catalogue_lesson", "kind"], name="resource_lesson_kind"),
            models.Index(fields=["school", "catalogue_lesson", "kind"], name="resource_school_lesson_kind"),
            models.Index(fields=["library", "status", "network_path", "catalogue_lesson", "kind"],
                         name="resource_network_lesson_kind"),
            # Quota completion: approved resources of a subject and kind reviewed within a year.
            models.Index(fields=["status", "subject", "kind", "reviewed_at"], name="resource_quota_completion"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.network_path = self.network_region.path if self.network_region is not None else ""
        super().save(*args, **kwargs)

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)


class UploadSessionQuerySet(models.QuerySet["UploadSession"]):
    def for_user(self, user: Any) -> UploadSessionQuerySet:
        # An upload in progress is its uploader's alone.
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner_id=user.pk)


class UploadSession(models.Model):
    """A resumable upload: the file's declared hash and size, and which chunks have arrived."""

    id = models.CharField(primary_key=True, max_length=48, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_sessions")
    file_name = models.CharField(_("原文件名"), max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField(_("大小(字节)"))
    chunk_size = models.PositiveIntegerField(_("分片大小(字节)"))
    received = models.JSONField(_("已收到的分片"), default=list)
    # Counted before each chunk is written into the session file: a process's running hash of
    # the whole file (resources.chunked) is trusted at completion only if it saw every write.
    chunk_writes = models.PositiveIntegerField(_("分片写入次数"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), db_index=True)

    objects = UploadSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("上传会话")
        verbose_name_plural = _("上传会话")

    def __str__(self) -> str:
        return f"{self.file_name} ({len(self.received)} 片)"

    def audit_place(self) -> tuple[str, int | None]:
        return self.owner.audit_place()  # type: ignore[attr-defined,no-any-return]
