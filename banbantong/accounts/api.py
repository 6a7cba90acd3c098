"""API: who am I, and my bearer tokens."""


from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import APIKeyCookie, HttpBearer

from banbantong.accounts import services
from banbantong.accounts.models import ApiToken, User
from banbantong.core.http import api_user
from banbantong.core.scope import get_for_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.authenticate_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The page session, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


auth_methods = [BearerToken(), SessionAuth(csrf=True)]

router = Router(tags=["账号"])


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    region_id: int | None
    school_id: int | None


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str


@router.get("/me", response=MeOut, summary="当前用户")
def me(request: HttpRequest) -> dict[str, Any]:
    user: User = api_user(request)
    return {
        "id": user.pk, "username": user.username, "display_name": user.display_name, "role": user.role,
        "role_label": user.get_role_display(), "region_id": user.region_id, "school_id": user.school_id,
    }


@router.get("/tokens", response=list[TokenOut], summary="我的令牌")
def list_tokens(request: HttpRequest) -> Any:
    return ApiToken.objects.filter(user=api_user(request))


@router.post("/tokens", response={201: TokenCreatedOut}, summary="创建令牌（明文只返回这一次）")
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    token, raw = services.create_token(actor=api_user(request), name=payload.name)
    data = TokenOut.model_validate(token).model_dump()
    return Status(201, {**data, "token": raw})


@router.delete("/tokens/{token_id}", response=TokenOut, summary="吊销令牌")
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    token = get_for_user(ApiToken.objects.all(), api_user(request), pk=token_id)
    return services.revoke_token(token, actor=api_user(request))
