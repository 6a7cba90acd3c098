"""Planning's rule and service errors follow the page's language: English on an English page,
the same Chinese as before everywhere else; the API answers Chinese whatever the switch says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from banbantong.conftest import World
from banbantong.org.models import School
from banbantong.planning import rules, services
from banbantong.planning.models import CoverageTarget

FALLING = "40,30,80"
FALLING_EN = "Targets must rise year by year: target 2, 30%, is not above the previous year’s 40%."
FALLING_ZH = "目标必须逐年上升：第 2 个目标 30% 不高于上一年的 40%。"


def _rule_error(call: object, *args: object) -> str:
    with pytest.raises(rules.RuleError) as caught:
        call(*args)  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "english", "chinese"),
    [
        (FALLING, FALLING_EN, FALLING_ZH),
        ("40,abc", "Target 2, “abc”, is not a number.", "第 2 个目标“abc”不是数字。"),
        ("40,120", "Target 2, 120%, is outside the range 0–100%.", "第 2 个目标 120% 超出 0–100% 的范围。"),
        ("", "Please enter at least one yearly coverage target, such as 40,60,80,100.",
         "请填写至少一个年度覆盖率目标，例如 40,60,80,100。"),
    ],
)
def test_bad_targets_in_english_and_in_chinese(raw: str, english: str, chinese: str) -> None:
    with translation.override("en"):
        assert _rule_error(rules.parse_targets, raw) == english
    with translation.override(settings.LANGUAGE_CODE):
        assert _rule_error(rules.parse_targets, raw) == chinese
    # Outside any request (the command line) the message stays Chinese.
    assert _rule_error(rules.parse_targets, raw) == chinese


def test_negative_unit_cost_in_english_and_in_chinese() -> None:
    with translation.override("en"):
        assert _rule_error(rules.budget, 10, 0, Decimal(-1)) == "The price per class cannot be negative."
    with translation.override(settings.LANGUAGE_CODE):
        assert _rule_error(rules.budget, 10, 0, Decimal(-1)) == "每班单价不能为负数。"


def test_overlapping_rule_lines_name_the_school_kind_in_the_page_language() -> None:
    lines = [rules.RuleLine("village_primary", 1, 6, "tv_dvd"), rules.RuleLine("village_primary", 4, 9, "lcd_pc")]
    modes = {"tv_dvd": "液晶电视+DVD+光盘", "lcd_pc": "液晶电视+电脑+网络"}
    with translation.override("en"):
        errors = rules.check_rule_lines(lines, kinds=dict(School.Kind.choices), modes=modes)
    assert errors == ["Line 2 overlaps line 1: Village primary school, grades 4–6, are in both lines."]
    with translation.override(settings.LANGUAGE_CODE):
        errors = rules.check_rule_lines(lines, kinds=dict(School.Kind.choices), modes=modes)
    assert errors == ["第 2 行与第 1 行重叠：村小 4–6 年级同时出现在两行中。"]


@pytest.mark.django_db
def test_unknown_region_and_negative_price_from_the_services(world: World) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.find_region("火星县")
    assert caught.value.messages == ["There is no region called “火星县”."]
    with pytest.raises(ValidationError) as caught:
        services.find_region("火星县")
    assert caught.value.messages == ["找不到区域“火星县”。"]

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.prepare_plan(world.county_a, targets="40", start_year=2030, unit_cost="-5")
    assert caught.value.messages == ["Price per class cannot be negative."]
    with pytest.raises(ValidationError) as caught:
        services.prepare_plan(world.county_a, targets="40", start_year=2030, unit_cost="-5")
    assert caught.value.messages == ["每班单价不能为负数。"]


def _post_falling_targets(client: Client, world: World) -> str:
    response = client.post(f"/planning/targets/?region={world.county_a.pk}",
                           {"region": world.county_a.pk, "targets": FALLING, "start_year": "2030"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_targets_page_shows_the_error_in_the_page_language(world: World, client: Client) -> None:
    client.force_login(world.alice)
    chinese = _post_falling_targets(client, world)
    assert FALLING_ZH in chinese

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _post_falling_targets(client, world)
    assert FALLING_EN in english and "目标必须逐年上升" not in english
    assert not CoverageTarget.objects.exists()


@pytest.mark.django_db
def test_api_answers_chinese_even_for_an_english_user(world: World, client: Client) -> None:
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.put(f"/api/v1/targets?region={world.county_a.pk}",
                          {"targets": FALLING, "start_year": 2030}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == FALLING_ZH
    # The auditor's refusal too: the API's PermissionDenied texts stay Chinese.
    client.force_login(world.auditor_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    refused = client.put(f"/api/v1/targets?region={world.county_a.pk}",
                         {"targets": "40", "start_year": 2030}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["message"] == "只有局管理员可以修改规划、目标和经费。"
    assert not CoverageTarget.objects.exists()
