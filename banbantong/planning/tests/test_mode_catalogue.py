"""A region's mode catalogue: inheritance (nearest wins), add / edit (override) / delete, the
checks and their Chinese errors, audit, scope — service, page, API and Excel — and the budget,
planner, rule and suggestions resolving a class's mode and price through it.

World (conftest): county A has class_a (central primary, grade 3: lcd_pc by the seeds' rule), a
built grade-4 class (projector_pc) and a village class (tv_dvd); county B has class_b (lcd_pc).
"""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.org.models import ClassRollup, TeachingClass
from banbantong.planning import mode_catalogue, mode_rules, rules, services
from banbantong.planning.mode_catalogue import add_mode, delete_mode, edit_mode, entries
from banbantong.planning.models import TerminalMode
from banbantong.planning.suggestions import confirm_suggested_modes

SEED_COUNTY_A = Decimal(12000 + 14000 + 5000)  # lcd_pc + projector_pc + tv_dvd


def _catalogue(region: object) -> dict[str, mode_catalogue.Entry]:
    return {e.mode.code: e for e in entries(region)}  # type: ignore[arg-type]


def _add_panel(world: World) -> TerminalMode:
    return add_mode(world.county_a, actor=world.alice, code="jishui_panel", name="吉水一体机",
                    components="86 寸交互式一体机", unit_cost="18000", aliases="吉水平板，一体机(吉水)")


@pytest.mark.django_db
def test_catalogue_inherits_platform_then_ancestors_nearest_wins(world: World) -> None:
    edit_mode(world.city, "projector_pc", unit_cost="15000", actor=world.city_admin)
    edit_mode(world.county_a, "projector_pc", name="投影仪+电脑（吉水）", actor=world.alice)
    county_a, county_b, town_a = _catalogue(world.county_a), _catalogue(world.county_b), _catalogue(world.town_a)
    # County A's override keeps the city's price and its own name; the city's row is not touched.
    assert (county_a["projector_pc"].mode.name, county_a["projector_pc"].mode.unit_cost) == (
        "投影仪+电脑（吉水）", Decimal(15000))
    assert county_a["projector_pc"].source_label == "本区域（覆盖吉安市）"
    assert TerminalMode.objects.get(region=world.city, code="projector_pc").name == "投影仪+电脑+网络"
    assert TerminalMode.objects.get(region=None, code="projector_pc").unit_cost == Decimal(14000)
    # County B follows the city; a town of county A follows county A.
    assert county_b["projector_pc"].source_label == "继承自吉安市"
    assert county_b["projector_pc"].mode.unit_cost == Decimal(15000)
    assert town_a["projector_pc"].source_label == "继承自吉水县"
    assert county_a["tv_dvd"].source_label == "继承自平台默认"
    # A mode county A adds is seen below it, not by its sibling.
    _add_panel(world)
    assert _catalogue(world.town_a)["jishui_panel"].source_label == "继承自吉水县"
    assert "jishui_panel" not in _catalogue(world.county_b)
    assert _catalogue(world.county_a)["jishui_panel"].source_label == "本区域新增"
    assert TerminalMode.objects.get(code="jishui_panel").aliases == "吉水平板,一体机(吉水)"
    # Classes counted per code from the roll-ups: 3 classes in county A, one per mode they store.
    assert services.unit_costs(world.town_a)["projector_pc"] == Decimal(15000)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"unit_cost": "-1"}, "每班单价不能为负数"),
        ({"unit_cost": "abc"}, "不是数字"),
        ({"unit_cost": ""}, "请填写每班单价"),
        ({"name": "  "}, "请填写模式名称"),
        ({"code": "projector_pc"}, "已在本区域的模式目录中（投影仪+电脑+网络，继承自平台默认）"),
        ({"code": "吉水"}, "只能用小写字母、数字、下划线或短横线"),
        ({"code": ""}, "请填写模式代码"),
        ({"name": "交互式一体机"}, "已被本区域目录中的模式“flat_panel”使用"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_refused_in_chinese_and_nothing_changes(world: World, fields: dict[str, str], message: str) -> None:
    data = {"code": "jishui_panel", "name": "吉水一体机", "unit_cost": "18000", **fields}
    before = TerminalMode.objects.count()
    with pytest.raises(ValidationError) as exc:
        add_mode(world.county_a, actor=world.alice, **data)
    assert any(message in m for m in exc.value.messages), exc.value.messages
    assert TerminalMode.objects.count() == before
    assert not AuditEntry.objects.filter(object_type="planning.TerminalMode").exists()


@pytest.mark.django_db
def test_codes_are_unique_within_a_region_and_below_it(world: World) -> None:
    _add_panel(world)
    with pytest.raises(ValidationError, match="本区域"):
        _add_panel(world)
    # The city cannot add a code a county under it already uses (it would silently become an override).
    with pytest.raises(ValidationError, match="下级区域“吉水县”已有代码"):
        add_mode(world.city, actor=world.city_admin, code="jishui_panel", name="市级一体机", unit_cost="1")
    # County B may use the same code for its own mode: codes are unique within a region.
    add_mode(world.county_b, actor=world.bob, code="jishui_panel", name="新干一体机", unit_cost="1")
    with pytest.raises(ValidationError, match="不能为负数"):
        edit_mode(world.county_a, "lcd_pc", unit_cost="-5", actor=world.alice)
    assert not TerminalMode.objects.filter(region=world.county_a, code="lcd_pc").exists()


@pytest.mark.django_db
def test_only_bureau_admins_write_and_every_write_is_audited(world: World) -> None:
    for user in (world.auditor_a, world.reviewer_a, world.principal_a):
        with pytest.raises(PermissionDenied):
            add_mode(world.county_a, actor=user, code="x1", name="X", unit_cost="1")
        with pytest.raises(PermissionDenied):
            edit_mode(world.county_a, "lcd_pc", unit_cost="1", actor=user)
    assert not TerminalMode.objects.filter(region__isnull=False).exists()
    mode = _add_panel(world)
    edit_mode(world.county_a, "jishui_panel", unit_cost="17500", actor=world.alice)
    edit_mode(world.county_a, "lcd_pc", unit_cost="13000", actor=world.alice)
    delete_mode(world.county_a, "jishui_panel", actor=world.alice)
    log = list(AuditEntry.objects.filter(object_type="planning.TerminalMode").order_by("id")
               .values_list("action", "object_id", "region_path", "before", "after"))
    assert [(a, p) for a, _, p, _, _ in log] == [("create", world.county_a.path), ("update", world.county_a.path),
                                                 ("create", world.county_a.path), ("delete", world.county_a.path)]
    assert log[0][1] == str(mode.pk) and log[0][4]["unit_cost"] == "18000.00"
    assert log[1][3]["unit_cost"] == "18000.00" and log[1][4]["unit_cost"] == "17500.00"
    assert log[2][3]["inherited_from"] == "平台默认" and log[2][4]["unit_cost"] == "13000.00"
    assert all(e.actor == world.alice for e in AuditEntry.objects.filter(object_type="planning.TerminalMode"))


@pytest.mark.django_db
def test_budget_and_planner_use_each_schools_region_price(world: World) -> None:
    assert services.budget_report(world.alice, world.county_a)["total"] == SEED_COUNTY_A
    edit_mode(world.county_a, "lcd_pc", unit_cost="13000", actor=world.alice)
    assert services.budget_report(world.alice, world.county_a)["total"] == SEED_COUNTY_A + 1000
    # The city's budget prices county A's class at county A's price, county B's at the default.
    assert services.budget_report(world.city_admin, world.city)["total"] == SEED_COUNTY_A + 1000 + 12000
    spec = services.prepare_plan(world.city, targets="100", start_year=2026)
    costs = {a.class_id: a.cost for a in services.run_planner(world.city_admin, spec).assignments}
    assert costs[world.class_a.pk] == Decimal(13000) and costs[world.class_b.pk] == Decimal(12000)
    # A uniform price asked for still overrides every catalogue.
    uniform = services.prepare_plan(world.city, targets="100", start_year=2026, unit_cost="10000")
    assert services.run_planner(world.city_admin, uniform).total_cost == Decimal(30000)


@pytest.mark.django_db
def test_a_regions_own_mode_in_its_rule_budget_and_suggestions(world: World) -> None:
    _add_panel(world)
    line = rules.RuleLine("central_primary", 1, 6, "jishui_panel")
    mode_rules.set_mode_rule(world.county_a, [line], actor=world.alice)
    # County B's catalogue has no such mode: its rule may not name it.
    with pytest.raises(ValidationError, match="不在模式目录"):
        mode_rules.set_mode_rule(world.county_b, [line], actor=world.bob)
    report = services.budget_report(world.alice, world.county_a)
    assert report["total"] == Decimal(18000 * 2 + 5000)  # both central-primary classes, the village one
    # Deleting a mode a rule line uses is refused, naming the lines.
    with pytest.raises(ValidationError, match="默认模式规则中有 1 行使用模式“吉水一体机”（吉水县）"):
        delete_mode(world.county_a, "jishui_panel", actor=world.alice)
    # Confirming the suggestion stores the county's own mode on the class; deleting is refused, with the count.
    confirm_suggested_modes(TeachingClass.objects.filter(school=world.school_a), actor=world.alice)
    world.class_a.refresh_from_db()
    assert world.class_a.mode is not None and world.class_a.mode.code == "jishui_panel"
    mode_rules.clear_mode_rule(world.county_a, actor=world.alice)
    with pytest.raises(ValidationError) as exc:
        delete_mode(world.county_a, "jishui_panel", actor=world.alice)
    assert exc.value.messages == ["有 2 个教学班使用模式“吉水一体机”，不能删除；请先把这些班改为其他模式。"]
    assert TerminalMode.objects.filter(code="jishui_panel").exists()
    assert _catalogue(world.county_a)["jishui_panel"].classes == 2


@pytest.mark.django_db
def test_deleting_an_override_goes_back_to_the_inherited_mode(world: World) -> None:
    edit_mode(world.county_a, "lcd_pc", name="液晶电视+电脑（吉水）", unit_cost="13000", actor=world.alice)
    confirm_suggested_modes(TeachingClass.objects.filter(pk=world.class_a.pk), actor=world.alice)
    override = TerminalMode.objects.get(region=world.county_a, code="lcd_pc")
    assert TeachingClass.objects.get(pk=world.class_a.pk).mode_id == override.pk
    # Inherited modes have nothing of the region's own to delete.
    with pytest.raises(ValidationError, match="继承自平台默认，本区域没有自己的设置可删除"):
        delete_mode(world.county_a, "tv_dvd", actor=world.alice)
    now = delete_mode(world.county_a, "lcd_pc", actor=world.alice)
    platform = TerminalMode.objects.get(region=None, code="lcd_pc")
    assert now == platform and not TerminalMode.objects.filter(pk=override.pk).exists()
    assert TeachingClass.objects.get(pk=world.class_a.pk).mode_id == platform.pk
    assert ClassRollup.objects.filter(school=world.school_a, mode=platform).exists()
    assert services.budget_report(world.alice, world.county_a)["total"] == SEED_COUNTY_A


@pytest.mark.django_db
def test_renamed_mode_shows_in_the_class_list_and_coverage(world: World, client: Client) -> None:
    edit_mode(world.county_a, "lcd_pc", name="液晶电视+电脑（吉水）", actor=world.alice)
    client.force_login(world.alice)
    listing = client.get(f"/org/classes/?region={world.county_a.pk}&grade=3").content.decode()
    assert "液晶电视+电脑（吉水）（建议）" in listing
    confirm_suggested_modes(TeachingClass.objects.filter(school__region=world.town_a), actor=world.alice)
    report = client.get(f"/api/v1/coverage?region={world.county_a.pk}").json()
    assert "液晶电视+电脑（吉水）" in str(report)


# --- Page ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_modes_page_lists_adds_edits_and_deletes(world: World, client: Client) -> None:
    url = f"/planning/modes/?region={world.county_a.pk}"
    client.force_login(world.alice)
    page = client.get(url).content.decode()
    assert "继承自平台默认" in page and "新增本区域的模式" in page and "投影仪+电脑+网络" in page
    # Bad input: the Chinese error on the page, the values kept, nothing stored.
    page = client.post(url, {"region": world.county_a.pk, "code": "jishui_panel", "name": "吉水一体机",
                             "unit_cost": "-3"}, follow=True).content.decode()
    assert "每班单价不能为负数" in page and "吉水一体机" in page
    assert not TerminalMode.objects.filter(code="jishui_panel").exists()
    response = client.post(url, {"region": world.county_a.pk, "code": "jishui_panel", "name": "吉水一体机",
                                 "components": "一体机", "unit_cost": "18,000", "aliases": "吉水平板"})
    assert response.status_code == 302
    assert TerminalMode.objects.get(region=world.county_a, code="jishui_panel").unit_cost == Decimal(18000)
    assert "本区域新增" in client.get(url).content.decode()
    # Edit an inherited mode for county A only.
    edit = f"/planning/modes/lcd_pc/?region={world.county_a.pk}"
    assert "保存后，本区域及下级改用这里的设置" in client.get(edit).content.decode()
    client.post(edit, {"region": world.county_a.pk, "name": "液晶电视+电脑+网络", "components": "液晶电视、电脑、网络",
                       "unit_cost": "12500", "aliases": ""})
    assert TerminalMode.objects.get(region=world.county_a, code="lcd_pc").unit_cost == Decimal(12500)
    assert "本区域（覆盖平台默认）" in client.get(url).content.decode()
    page = client.post(edit, {"region": world.county_a.pk, "name": "", "unit_cost": "1"}, follow=True).content.decode()
    assert "请填写模式名称" in page
    # Delete: the override goes back to the platform's; the own mode goes.
    client.post(edit, {"region": world.county_a.pk, "action": "delete"})
    assert not TerminalMode.objects.filter(region=world.county_a, code="lcd_pc").exists()
    client.post(f"/planning/modes/jishui_panel/?region={world.county_a.pk}", {"region": world.county_a.pk,
                                                                              "action": "delete"})
    assert not TerminalMode.objects.filter(code="jishui_panel").exists()


@pytest.mark.django_db
def test_modes_page_scope_and_read_only_users(world: World, client: Client) -> None:
    add_mode(world.county_b, actor=world.bob, code="xingan_panel", name="新干一体机", unit_cost="1")
    client.force_login(world.alice)
    # Another county's catalogue and its own mode answer 404, from either region.
    assert client.get(f"/planning/modes/?region={world.county_b.pk}").status_code == 404
    assert client.get(f"/planning/modes/xingan_panel/?region={world.county_b.pk}").status_code == 404
    assert client.get(f"/planning/modes/xingan_panel/?region={world.county_a.pk}").status_code == 404
    assert "新干一体机" not in client.get(f"/planning/modes/?region={world.county_a.pk}").content.decode()
    response = client.post(f"/planning/modes/?region={world.county_b.pk}",
                           {"region": world.county_b.pk, "code": "x2", "name": "X", "unit_cost": "1"})
    assert response.status_code == 404 and not TerminalMode.objects.filter(code="x2").exists()
    # The auditor reads the catalogue, with no forms, and cannot write.
    client.force_login(world.auditor_a)
    page = client.get(f"/planning/modes/?region={world.county_a.pk}").content.decode()
    assert "投影仪+电脑+网络" in page and "新增本区域的模式" not in page
    response = client.post(f"/planning/modes/?region={world.county_a.pk}",
                           {"region": world.county_a.pk, "code": "x3", "name": "X", "unit_cost": "1"})
    assert response.status_code == 403 and not TerminalMode.objects.filter(code="x3").exists()
    response = client.post(f"/planning/modes/lcd_pc/?region={world.county_a.pk}",
                           {"region": world.county_a.pk, "name": "改名", "unit_cost": "1"})
    assert response.status_code == 403 and not TerminalMode.objects.filter(region=world.county_a).exists()


@pytest.mark.django_db
def test_modes_export_to_excel(world: World, client: Client) -> None:
    add_mode(world.county_a, actor=world.alice, code="jishui_panel", name="=HYPERLINK(\"x\")", unit_cost="18000")
    confirm_suggested_modes(TeachingClass.objects.filter(school__region=world.town_a), actor=world.alice)
    client.force_login(world.alice)
    response = client.get(f"/planning/modes/?region={world.county_a.pk}&export=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb["模式目录"].iter_rows(values_only=True))
    assert rows[0] == ("代码", "名称", "设备组成", "每班单价(元)", "别名", "来源", "使用班数")
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["tv_dvd"][5] == "继承自平台默认" and by_code["tv_dvd"][6] == 1
    assert by_code["jishui_panel"][5] == "本区域新增"
    cells = {r[0].value: r for r in wb["模式目录"].iter_rows()}
    assert cells["jishui_panel"][1].data_type == "s"  # a literal text, not a formula
    client.force_login(world.bob)
    assert client.get(f"/planning/modes/?region={world.county_a.pk}&export=xlsx").status_code == 404


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_lists_adds_edits_and_deletes(world: World, client: Client) -> None:
    client.force_login(world.alice)
    base = f"/api/v1/modes?region={world.county_a.pk}"
    listing = client.get(base).json()
    assert listing["region"] == "吉水县"
    assert {m["code"]: m["source"] for m in listing["modes"]}["lcd_pc"] == "继承自平台默认"
    created = client.post(base, {"code": "jishui_panel", "name": "吉水一体机", "unit_cost": 18000,
                                 "aliases": ["吉水平板"]}, content_type="application/json")
    assert created.status_code == 200
    assert created.json()["own"] is True and created.json()["unit_cost"] == 18000
    bad = client.post(base, {"code": "jishui_panel", "name": "", "unit_cost": -1}, content_type="application/json")
    assert bad.status_code == 400
    assert "请填写模式名称" in bad.json()["message"] and "不能为负数" in bad.json()["message"]
    one = f"/api/v1/modes/lcd_pc?region={world.county_a.pk}"
    patched = client.patch(one, {"unit_cost": "13000"}, content_type="application/json").json()
    assert patched["overrides"] is True and patched["name"] == "液晶电视+电脑+网络" and patched["unit_cost"] == 13000
    put = client.put(one, {"name": "液晶电视+电脑（吉水）", "unit_cost": 13500}, content_type="application/json").json()
    assert put["name"] == "液晶电视+电脑（吉水）" and put["source"] == "本区域（覆盖平台默认）"
    assert TerminalMode.objects.get(region=None, code="lcd_pc").unit_cost == Decimal(12000)
    budget = client.get(f"/api/v1/plan/budget?region={world.county_a.pk}").json()
    assert Decimal(str(budget["total"])) == SEED_COUNTY_A + 1500
    reverted = client.delete(one).json()
    assert reverted["now"]["source"] == "继承自平台默认" and reverted["now"]["unit_cost"] == 12000
    refused = client.delete(f"/api/v1/modes/tv_dvd?region={world.county_a.pk}")
    assert refused.status_code == 400 and "没有自己的设置可删除" in refused.json()["message"]
    assert client.delete(f"/api/v1/modes/jishui_panel?region={world.county_a.pk}").json()["now"] is None
    assert client.get(f"/api/v1/modes/nope?region={world.county_a.pk}").status_code in (404, 405)
    assert client.patch(f"/api/v1/modes/nope?region={world.county_a.pk}", {"unit_cost": 1},
                        content_type="application/json").status_code == 404


@pytest.mark.django_db
def test_api_scope_and_read_only(world: World, client: Client) -> None:
    add_mode(world.county_b, actor=world.bob, code="xingan_panel", name="新干一体机", unit_cost="1")
    client.force_login(world.alice)
    assert client.get(f"/api/v1/modes?region={world.county_b.pk}").status_code == 404
    assert client.patch(f"/api/v1/modes/xingan_panel?region={world.county_b.pk}", {"unit_cost": 2},
                        content_type="application/json").status_code == 404
    assert client.patch(f"/api/v1/modes/xingan_panel?region={world.county_a.pk}", {"unit_cost": 2},
                        content_type="application/json").status_code == 404
    assert client.delete(f"/api/v1/modes/xingan_panel?region={world.county_b.pk}").status_code == 404
    assert TerminalMode.objects.get(code="xingan_panel").unit_cost == Decimal(1)
    client.force_login(world.auditor_a)
    assert client.get(f"/api/v1/modes?region={world.county_a.pk}").status_code == 200
    response = client.post(f"/api/v1/modes?region={world.county_a.pk}", {"code": "x1", "name": "X", "unit_cost": 1},
                           content_type="application/json")
    assert response.status_code == 403 and not TerminalMode.objects.filter(code="x1").exists()


def delete_mode_scope_case(w: World, client: Client) -> None:
    """Deleting county A's override: 404 to bob and nothing changed; alice may."""
    edit_mode(w.county_a, "lcd_pc", unit_cost="13000", actor=w.alice)
    url = f"/api/v1/modes/lcd_pc?region={w.county_a.pk}"
    client.force_login(w.bob)
    assert client.delete(url).status_code == 404
    assert TerminalMode.objects.filter(region=w.county_a, code="lcd_pc").exists()
    client.force_login(w.alice)
    assert client.delete(url).status_code == 200
    assert not TerminalMode.objects.filter(region=w.county_a, code="lcd_pc").exists()


@pytest.mark.django_db
def test_survey_import_reads_mode_names_from_the_regions_catalogue(world: World) -> None:
    """The survey's 班班通模式 column resolves names and aliases through the same catalogue."""
    from banbantong.org.survey.rules import mode_key
    from banbantong.org.survey.service import mode_lookup, survey_target

    panel = _add_panel(world)
    renamed = edit_mode(world.county_a, "lcd_pc", name="液晶电视+电脑（吉水）", actor=world.alice)
    county_a = mode_lookup(survey_target(world.county_a, actor=world.alice))
    county_b = mode_lookup(survey_target(world.county_b, actor=world.bob))
    assert county_a[mode_key("吉水平板")] == panel.pk and mode_key("吉水平板") not in county_b
    assert county_a[mode_key("液晶电视+电脑（吉水）")] == renamed.pk
    assert county_a[mode_key("lcd_pc")] == renamed.pk
    assert county_b[mode_key("lcd_pc")] == TerminalMode.objects.get(region=None, code="lcd_pc").pk


@pytest.mark.django_db
def test_class_list_filters_by_the_regions_catalogue(world: World, client: Client) -> None:
    panel = _add_panel(world)
    override = edit_mode(world.county_a, "projector_pc", name="投影仪+电脑（吉水）", actor=world.alice)
    TeachingClass.objects.filter(pk=world.class_a.pk).update(mode=panel)
    built = TeachingClass.objects.get(school=world.school_a, grade=4)
    TeachingClass.objects.filter(pk=built.pk).update(mode=override)
    client.force_login(world.alice)
    page = client.get(f"/org/classes/?region={world.county_a.pk}").content.decode()
    # The menu offers the county's own mode and its name for the platform's projector mode.
    assert f'<option value="{panel.pk}"' in page and "吉水一体机" in page
    assert f'<option value="{override.pk}"' in page and "投影仪+电脑（吉水）" in page

    def listed(mode: int) -> set[int]:
        rows = client.get(f"/api/v1/classes?region={world.county_a.pk}&mode={mode}").json()["items"]
        return {r["id"] for r in rows}

    platform = TerminalMode.objects.get(region=None, code="projector_pc")
    # The same mode whichever catalogue row names it: the county's override or the platform's.
    assert listed(override.pk) == listed(platform.pk) == {built.pk}
    assert listed(panel.pk) == {world.class_a.pk}
    assert listed(999999) == set()
    # County B's admin cannot see county A's classes through a mode of county A's.
    client.force_login(world.bob)
    assert client.get(f"/api/v1/classes?mode={panel.pk}").json()["items"] == []
