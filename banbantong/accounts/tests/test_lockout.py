"""Lockout is keyed on username + IP: a locked teacher does not lock the whole school's IP."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from banbantong.conftest import PASSWORD, World


def _login(client: Client, username: str, password: str, ip: str = "10.1.2.3") -> int:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )
    return response.status_code


@pytest.mark.django_db
def test_one_user_locked_another_from_same_ip_unaffected(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "alice", "wrong-password")
    # Even the right password is refused now, with the Chinese lockout page.
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 429
    assert "暂时锁定" in response.content.decode()

    other = Client()
    assert _login(other, "bob", PASSWORD) == 302  # same school IP, different teacher


@pytest.mark.django_db
def test_same_user_from_another_ip_is_not_locked(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "alice", "wrong-password", ip="10.9.9.9")
    assert _login(Client(), "alice", PASSWORD, ip="10.1.2.3") == 302


@pytest.mark.django_db
def test_failures_below_limit_then_success_resets(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "alice", "wrong-password") == 200
    assert _login(client, "alice", PASSWORD) == 302


@pytest.mark.django_db
def test_failed_login_is_audited_with_ip(world: World) -> None:
    from banbantong.core.models import AuditEntry

    _login(Client(), "alice", "wrong-password", ip="10.7.7.7")
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED).latest("id")
    assert entry.object_repr == "alice"
    assert entry.ip == "10.7.7.7"
