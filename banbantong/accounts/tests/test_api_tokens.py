"""Bearer tokens: created once, used by programs, revoked; scope follows the token's user."""

from __future__ import annotations

import pytest
from django.test import Client

from banbantong.accounts.models import ApiToken
from banbantong.conftest import World


@pytest.mark.django_db
def test_token_lifecycle_via_api(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post("/api/v1/tokens", {"name": "终端同步"}, content_type="application/json")
    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("bbt_")
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=raw).exists()

    bearer = Client()
    me = bearer.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    schools = bearer.get("/api/v1/schools", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert {s["name"] for s in schools["items"]} == {"文峰中心小学", "文峰村小"}

    token_id = response.json()["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    refused = bearer.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert refused.status_code == 401
    assert refused.json()["message"] == "未登录或令牌无效"


@pytest.mark.django_db
def test_token_page_shows_raw_value_once(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post("/accounts/tokens/", {"name": "数据对接"})
    text = response.content.decode()
    assert "只显示这一次" in text
    token = ApiToken.objects.get(user=world.alice)
    assert text.count("bbt_") >= 1
    again = client.get("/accounts/tokens/").content.decode()
    assert token.prefix in again
    assert "只显示这一次" not in again


@pytest.mark.django_db
def test_empty_token_name_is_a_chinese_error(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post("/api/v1/tokens", {"name": "  "}, content_type="application/json")
    assert response.status_code == 400
    assert "令牌用途" in response.json()["message"]


def test_api_errors_are_json_with_a_message(client: Client) -> None:
    response = client.get("/api/v1/schools")
    assert response.status_code == 401
    assert response.json() == {"message": "未登录或令牌无效"}


@pytest.mark.django_db
def test_out_of_scope_api_object_is_404_json(world: World, client: Client) -> None:
    client.force_login(world.bob)
    response = client.get(f"/api/v1/schools/{world.school_a.pk}")
    assert response.status_code == 404
    assert "管辖范围" in response.json()["message"]


@pytest.mark.django_db
def test_session_writes_need_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code in (401, 403)


def test_openapi_document(client: Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["info"]["version"] == "1"
    assert "/api/v1/classes" in doc["paths"]
    assert "BearerToken" in doc["components"]["securitySchemes"]


@pytest.mark.django_db
def test_school_autocomplete_stays_in_scope(world: World, client: Client) -> None:
    client.force_login(world.alice)
    names = {s["name"] for s in client.get("/api/v1/schools?q=中心").json()["items"]}
    assert names == {"文峰中心小学"}  # 金川中心小学 is bob's
