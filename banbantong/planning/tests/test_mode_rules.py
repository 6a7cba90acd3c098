"""The default-mode rule per region (edit, inherit, validate, audit) and suggested modes (建议),
shown in the class list and confirmed in bulk — pages and API."""

from __future__ import annotations

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.org.models import ClassRollup, School, TeachingClass
from banbantong.planning import rules
from banbantong.planning.coverage import coverage
from banbantong.planning.models import ModeRule

KINDS = dict(School.Kind.choices)
MODES = {"tv_dvd": "电视", "lcd_pc": "液晶", "projector_pc": "投影", "flat_panel": "一体机"}


def test_seeds_rule_as_lines_gives_the_seeds_modes() -> None:
    for kind in School.Kind.values:
        for grade in range(1, 13):
            assert rules.mode_for(kind, grade, rules.DEFAULT_RULE_LINES) == rules.default_mode_code(kind, grade)
    assert rules.check_rule_lines(rules.DEFAULT_RULE_LINES, kinds=KINDS, modes=MODES) == []


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "至少要有一行"),
        ([rules.RuleLine("castle", 1, 6, "tv_dvd")], "请选择学校类型"),
        ([rules.RuleLine("village_primary", 0, 6, "tv_dvd")], "1–12"),
        ([rules.RuleLine("village_primary", 5, 2, "tv_dvd")], "大于结束年级"),
        ([rules.RuleLine("village_primary", 1, 6, "hologram")], "不在模式目录"),
        ([rules.RuleLine("central_primary", 1, 4, "lcd_pc"), rules.RuleLine("central_primary", 4, 6, "projector_pc")],
         "第 2 行与第 1 行重叠"),
    ],
)
def test_bad_rules_are_refused_with_the_line(lines: list[rules.RuleLine], message: str) -> None:
    assert any(message in e for e in rules.check_rule_lines(lines, kinds=KINDS, modes=MODES))


def _post_rule(client: Client, region_id: int, rows: list[tuple[str, str, str, str]], **extra: str) -> str:
    data: dict[str, object] = {"region": region_id, "kind": [r[0] for r in rows], "grade_min": [r[1] for r in rows],
                               "grade_max": [r[2] for r in rows], "mode": [r[3] for r in rows], **extra}
    return client.post(f"/planning/mode-rule/?region={region_id}", data, follow=True).content.decode()


@pytest.mark.django_db
def test_county_admin_edits_the_rule_and_can_go_back_to_the_parents(world: World, client: Client) -> None:
    client.force_login(world.alice)
    page = client.get(f"/planning/mode-rule/?region={world.county_a.pk}").content.decode()
    assert "沿用建设方案的默认规则" in page and "尚未确定模式" in page
    # Overlapping bands: a Chinese error naming the lines, nothing stored.
    page = _post_rule(client, world.county_a.pk, [("central_primary", "1", "4", "lcd_pc"),
                                                   ("central_primary", "3", "6", "projector_pc")])
    assert "第 2 行与第 1 行重叠" in page
    assert not ModeRule.objects.exists()
    # Interactive flat panels for every central primary grade; blank rows are skipped.
    _post_rule(client, world.county_a.pk, [("central_primary", "1", "6", "flat_panel"), ("", "", "", "")])
    assert list(ModeRule.objects.values_list("region_id", "kind", "grade_min", "grade_max", "mode_code")) == [
        (world.county_a.pk, "central_primary", 1, 6, "flat_panel")]
    entry = AuditEntry.objects.get(object_type="planning.ModeRule")
    assert entry.actor == world.alice and "flat_panel" in str(entry.after)
    # The suggestion for alice's class without a mode follows the new rule.
    listing = client.get(f"/org/classes/?region={world.county_a.pk}&grade=3").content.decode()
    assert "交互式一体机（建议）" in listing or "一体机（建议）" in listing
    # Reviewers and auditors read the rule but cannot change it.
    client.force_login(world.auditor_a)
    assert client.get(f"/planning/mode-rule/?region={world.county_a.pk}").status_code == 200
    response = client.post(f"/planning/mode-rule/?region={world.county_a.pk}",
                           {"region": world.county_a.pk, "action": "inherit"})
    assert response.status_code == 403 and ModeRule.objects.count() == 1
    client.force_login(world.alice)
    _post_rule(client, world.county_a.pk, [], action="inherit")
    assert not ModeRule.objects.exists()


@pytest.mark.django_db
def test_a_county_without_lines_follows_its_city(world: World, client: Client) -> None:
    client.force_login(world.city_admin)
    _post_rule(client, world.city.pk, [("village_primary", "1", "6", "lcd_pc")])
    client.force_login(world.alice)
    page = client.get(f"/planning/mode-rule/?region={world.county_a.pk}").content.decode()
    assert "沿用上级“吉安市”的规则" in page
    data = client.get(f"/api/v1/mode-rule?region={world.county_a.pk}").json()
    assert (data["own"], data["source"], data["lines"][0]["mode"]) == (False, "吉安市", "lcd_pc")
    # alice's own county cannot edit the city's rule: the city is outside her scope.
    assert client.get(f"/planning/mode-rule/?region={world.city.pk}").status_code == 404


@pytest.mark.django_db
def test_mode_rule_api_put_validates_and_delete_inherits(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/api/v1/mode-rule?region={world.county_a.pk}"
    bad = client.put(url, {"lines": [{"kind": "village_primary", "grade_min": 3, "grade_max": 1, "mode": "tv_dvd"}]},
                     content_type="application/json")
    assert bad.status_code in (400, 422) and "大于结束年级" in bad.json()["message"]
    assert not ModeRule.objects.exists()
    good = client.put(url, {"lines": [{"kind": "village_primary", "grade_min": 1, "grade_max": 6, "mode": "lcd_pc"}]},
                      content_type="application/json").json()
    assert good["own"] and good["lines"][0]["mode_name"]
    assert client.delete(url).json()["own"] is False
    assert not ModeRule.objects.exists()


@pytest.mark.django_db
def test_confirm_suggested_modes_on_a_filtered_list(world: World, client: Client) -> None:
    assert not TeachingClass.objects.exclude(mode=None).exists()
    client.force_login(world.alice)
    listing = client.get(f"/org/classes/?region={world.county_a.pk}&mode=0").content.decode()
    assert "（建议）" in listing and "金川" not in listing  # bob's school is not in alice's list
    query = f"region={world.county_a.pk}&grade=3"
    page = client.get(f"/planning/suggested-modes/?{query}").content.decode()
    assert "<strong>1</strong>" in page  # one class of grade 3 in county A
    client.post("/planning/suggested-modes/", {"region": world.county_a.pk, "grade": 3, "confirm": "1",
                                               "query": query})
    world.class_a.refresh_from_db()
    assert world.class_a.mode is not None and world.class_a.mode.code == "lcd_pc"  # central primary, grade 3
    assert TeachingClass.objects.filter(mode=None).count() == 3  # the others are left alone
    entry = AuditEntry.objects.get(object_type="org.TeachingClass", object_id=str(world.class_a.pk))
    assert entry.actor == world.alice and entry.after["mode"] == "lcd_pc"
    # The roll-ups follow: coverage by mode names the confirmed mode.
    assert ClassRollup.objects.filter(school=world.school_a, mode=world.class_a.mode).exists()
    assert world.class_a.mode.name in coverage(world.alice, world.county_a).by_mode
    # Confirmed classes show their mode without the mark.
    listing = client.get(f"/org/classes/?{query}").content.decode()
    assert "（建议）" not in listing
    # API: bob cannot reach county A; alice confirms the rest of her county.
    client.force_login(world.bob)
    assert client.get(f"/api/v1/suggested-modes?region={world.county_a.pk}").status_code == 404
    client.force_login(world.alice)
    assert client.get(f"/api/v1/suggested-modes?region={world.county_a.pk}").json()["pending"] == 2
    assert client.post("/api/v1/suggested-modes/confirm", {"region": world.county_a.pk},
                       content_type="application/json").json() == {"confirmed": 2}
    assert TeachingClass.objects.filter(mode=None).get() == world.class_b  # bob's class untouched


@pytest.mark.django_db
def test_school_admins_and_auditors_cannot_confirm(world: World, client: Client) -> None:
    client.force_login(world.principal_a)
    assert client.get("/planning/suggested-modes/").status_code == 403
    client.force_login(world.auditor_a)
    response = client.post("/api/v1/suggested-modes/confirm", {"region": world.county_a.pk},
                           content_type="application/json")
    assert response.status_code == 403
    assert not TeachingClass.objects.exclude(mode=None).exists()


@pytest.mark.django_db
def test_planner_uses_each_countys_own_rule(world: World) -> None:
    from banbantong.planning import mode_rules, services

    mode_rules.set_mode_rule(world.county_a, [rules.RuleLine("central_primary", 1, 12, "flat_panel")],
                             actor=world.alice)
    result = services.run_planner(world.city_admin, services.prepare_plan(world.city, targets="100",
                                                                          start_year=2026))
    modes = {a.class_id: a.mode_code for a in result.assignments}
    assert modes[world.class_a.pk] == "flat_panel"  # county A's own rule
    assert modes[world.class_b.pk] == "lcd_pc"  # county B follows the seeds: central primary grade 3
