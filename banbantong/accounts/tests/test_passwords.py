"""Password policy (等保 level 2 defaults) and the change-password page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from banbantong.accounts.passwords import character_classes
from banbantong.conftest import PASSWORD, World


def test_character_classes() -> None:
    assert character_classes("abcdefgh") == 1
    assert character_classes("abcDEF12") == 3
    assert character_classes("aB1!") == 4


@pytest.mark.parametrize("password", ["short1A", "alllowercaseletters", "12345678901", "abcdefg123"])
def test_weak_passwords_are_refused_in_chinese(password: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_password(password)
    assert any("密码" in m or "字符" in m for m in exc.value.messages) or exc.value.messages


def test_strong_password_passes() -> None:
    validate_password("Banban@2026x")


def test_policy_defaults() -> None:
    assert settings.BBT_PASSWORD_MIN_LENGTH >= 8
    assert settings.BBT_PASSWORD_MIN_CLASSES >= 3
    # Idle expiry: the session is pushed forward on each request and ends when idle.
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 60 * 60


@pytest.mark.django_db
def test_change_password_page(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": "simple", "new_password2": "simple"},
    )
    assert response.status_code == 200
    assert "至少" in response.content.decode()
    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password": "New@Pass2027", "new_password2": "New@Pass2027"},
    )
    assert "原密码不正确" in response.content.decode()
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": "New@Pass2027", "new_password2": "New@Pass2027"},
    )
    assert response.status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.check_password("New@Pass2027")
    # The session survives the change; another user's password is untouched.
    assert client.get("/").status_code == 200
    world.bob.refresh_from_db()
    assert world.bob.check_password(PASSWORD)


@pytest.mark.django_db
def test_language_switch_to_english(world: World, client: Client) -> None:
    client.force_login(world.alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = client.get("/").content.decode()
    assert 'lang="en"' in text
    assert "Dashboard" in text
