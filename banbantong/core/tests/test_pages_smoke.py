"""Every registry page renders for its user and shows only what is in scope."""

from __future__ import annotations

import pytest
from django.test import Client

from banbantong.conftest import World


@pytest.mark.django_db
def test_dashboard_figures_are_the_users_scope(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.get("/")
    assert response.status_code == 200
    text = response.content.decode()
    # County A: 2 schools, 3 classes, 1 built -> 33.3%
    assert 'data-figure="schools">2<' in text
    assert 'data-figure="classes">3<' in text
    assert 'data-figure="built">1<' in text
    assert "33.3" in text

    client.force_login(world.bob)
    text = client.get("/").content.decode()
    assert 'data-figure="schools">1<' in text
    assert 'data-figure="built">0<' in text


@pytest.mark.django_db
def test_city_admin_sees_both_counties(world: World, client: Client) -> None:
    client.force_login(world.city_admin)
    text = client.get("/").content.decode()
    assert 'data-figure="schools">3<' in text
    assert "吉水县" in text and "新干县" in text


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/org/regions/", "/org/schools/", "/org/classes/", "/org/teachers/"])
def test_lists_render_and_hide_other_counties(world: World, client: Client, url: str) -> None:
    client.force_login(world.alice)
    text = client.get(url).content.decode()
    assert "文峰" in text or "王老师" in text
    assert "金川" not in text and "李老师" not in text


@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert 'lang="zh-CN"' in response.content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/org/classes/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
