"""Typing help for views behind @login_required: request.user is a real User there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from banbantong.accounts.models import User


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]


def api_user(request: HttpRequest) -> User:
    """The user the API authenticated (session or bearer token); set by django-ninja as request.auth."""
    return request.auth  # type: ignore[attr-defined,no-any-return]
