"""Users, their role and where it applies, and the bearer tokens programs use."""

from __future__ import annotations

import hashlib
import secrets
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banbantong.core.privacy import mask_phone
from banbantong.core.scope import Scope

TOKEN_PREFIX = "bbt_"  # noqa: S105 - a public marker, not a secret


class User(AbstractUser):
    class Role(models.TextChoices):
        BUREAU_ADMIN = "bureau_admin", _("局管理员")
        SCHOOL_ADMIN = "school_admin", _("学校管理员")
        DEVICE_ADMIN = "device_admin", _("电教管理员")
        TEACHER = "teacher", pgettext_lazy("field", "教师")
        REVIEWER = "reviewer", _("资源审核员")
        INTEGRATOR = "integrator", _("集成商")
        AUDITOR = "auditor", _("审计员")

    REGION_ROLES = frozenset({Role.BUREAU_ADMIN, Role.REVIEWER, Role.AUDITOR})
    SCHOOL_ROLES = frozenset({Role.SCHOOL_ADMIN, Role.DEVICE_ADMIN, Role.TEACHER})

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.TEACHER)
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    region = models.ForeignKey(
        "org.Region", verbose_name=_("所属区域"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    school = models.ForeignKey(
        "org.School", verbose_name=_("所属学校"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    assigned_schools = models.ManyToManyField(
        "org.School", verbose_name=_("负责学校"), blank=True, related_name="integrators"
    )

    AUDIT_MASKED = {"phone": mask_phone}

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @cached_property
    def scope(self) -> Scope:
        if self.is_superuser:
            return Scope(everything=True)
        if self.role in self.REGION_ROLES:
            return Scope(region_paths=(self.region.path,)) if self.region is not None else Scope()
        if self.role in self.SCHOOL_ROLES:
            return Scope(school_ids=frozenset({self.school_id})) if self.school_id else Scope()
        if self.role == self.Role.INTEGRATOR:
            return Scope(school_ids=frozenset(self.assigned_schools.values_list("id", flat=True)))
        return Scope()

    @property
    def is_regional(self) -> bool:
        return self.is_superuser or self.role in self.REGION_ROLES

    @property
    def can_read_audit(self) -> bool:
        return self.is_superuser or self.role in {self.Role.AUDITOR, self.Role.BUREAU_ADMIN}

    @property
    def can_import(self) -> bool:
        return self.is_superuser or self.role == self.Role.BUREAU_ADMIN

    @property
    def read_only(self) -> bool:
        return self.role == self.Role.AUDITOR and not self.is_superuser

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path if self.region is not None else "", self.school_id)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def for_user(self, user: Any) -> ApiTokenQuerySet:
        # A token is personal: not even a bureau admin sees another user's tokens.
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user_id=user.pk)


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the raw value is shown once, at creation."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=80)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=12)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def audit_place(self) -> tuple[str, int | None]:
        return self.user.audit_place()

    def touch(self) -> None:
        now = timezone.now()
        # Writing on every call would make each API request a write; once a minute is enough.
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
