"""Writes on accounts: tokens and passwords. Pages and API both call these."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from banbantong.accounts.models import ApiToken, User, hash_token
from banbantong.core import audit

MAX_ACTIVE_TOKENS = 10


@transaction.atomic
def create_token(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the actor; the raw value is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写令牌用途，例如“班级终端同步”。"})
    if len(name) > 80:
        raise ValidationError({"name": "令牌用途不能超过 80 个字。"})
    if ApiToken.objects.active().filter(user=actor).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError({"name": f"每个账号最多同时有 {MAX_ACTIVE_TOKENS} 个有效令牌，请先吊销不用的令牌。"})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=actor, name=name, key_hash=hash_token(raw), prefix=raw[:10])
    audit.record(audit.Action.TOKEN, token, actor=actor, after={"name": name, "prefix": token.prefix})
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, actor: User) -> ApiToken:
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.user_id != actor.pk:
        raise ValidationError("只能吊销自己的令牌。")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(audit.Action.TOKEN, locked, actor=actor, before={"active": True}, after={"active": False})
    return locked


@transaction.atomic
def change_password(user: User, *, actor: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationError({"old_password": "原密码不正确。"})
    password_validation.validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(audit.Action.UPDATE, user, actor=actor, after={"password": "已修改"})


def authenticate_token(raw: str) -> User | None:
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(key_hash=hash_token(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    token.touch()
    return token.user
