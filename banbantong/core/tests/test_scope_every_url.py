"""Scope for every URL: a user in scope gets it, a user out of scope gets 404 or sees nothing.

`CASES` must name every URL the project routes; `test_every_url_has_a_scope_case` fails when a
new page or endpoint arrives without one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from banbantong.accounts import services as account_services
from banbantong.conftest import World
from banbantong.devices.tests.test_api import api_post_case
from banbantong.devices.tests.test_figures import league_case
from banbantong.planning.tests.test_mode_catalogue import delete_mode_scope_case
from banbantong.resources.tests import kit as resources_kit
from banbantong.search.tests import kit as search_kit

Case = Callable[[World, Client], None]


def _names(patterns: list, prefix: str = "") -> set[str]:  # type: ignore[type-arg]
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            names |= _names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(prefix + p.name)
    return names


def object_page(url: Callable[[World], str], inside: str, outside: str) -> Case:
    def check(w: World, client: Client) -> None:
        client.force_login(getattr(w, inside))
        assert client.get(url(w)).status_code == 200
        client.force_login(getattr(w, outside))
        assert client.get(url(w)).status_code == 404

    return check


def list_page(url: str, marker: str, inside: str, outside: str) -> Case:
    def check(w: World, client: Client) -> None:
        client.force_login(getattr(w, inside))
        response = client.get(url)
        assert response.status_code == 200
        assert marker in response.content.decode()
        client.force_login(getattr(w, outside))
        response = client.get(url)
        assert response.status_code in (200, 403)
        assert marker not in response.content.decode()

    return check


def public(status: int = 200, url: str = "") -> Case:
    def check(w: World, client: Client) -> None:
        if url:
            assert client.get(url).status_code == status

    return check


def api_object(url: Callable[[World], str], inside: str, outside: str) -> Case:
    return object_page(url, inside, outside)


def token_revoke_case(api: bool) -> Case:
    def check(w: World, client: Client) -> None:
        token, _ = account_services.create_token(actor=w.alice, name="同步")
        url = f"/api/v1/tokens/{token.pk}" if api else f"/accounts/tokens/{token.pk}/revoke/"
        client.force_login(w.bob)
        response = client.delete(url) if api else client.post(url)
        assert response.status_code == 404
        token.refresh_from_db()
        assert token.is_active
        client.force_login(w.alice)
        response = client.delete(url) if api else client.post(url)
        assert response.status_code in (200, 302)
        token.refresh_from_db()
        assert not token.is_active

    return check


def token_list_case(url: str) -> Case:
    def check(w: World, client: Client) -> None:
        account_services.create_token(actor=w.alice, name="alice-token")
        client.force_login(w.alice)
        assert "alice-token" in client.get(url).content.decode()
        client.force_login(w.bob)
        assert "alice-token" not in client.get(url).content.decode()

    return check


def survey_case(name: str) -> Case:
    def check(w: World, client: Client) -> None:
        # Covered in org/tests/test_survey_import.py (bureau admin in scope vs. school admin and
        # out-of-scope admin); here only that non-importers are refused.
        client.force_login(w.principal_a)
        assert client.get("/org/survey/import/").status_code in (403, 404)

    return check


def region_page(path: str, method: str = "get", payload: dict | None = None) -> Case:
    """A page or endpoint for one region: alice's county answers her, and 404 to bob."""

    def check(w: World, client: Client) -> None:
        url = f"{path}{'&' if '?' in path else '?'}region={w.county_a.pk}"
        send = getattr(client, method)
        kwargs = {"data": payload, "content_type": "application/json"} if payload is not None else {}
        client.force_login(w.alice)
        assert send(url, **kwargs).status_code == 200
        client.force_login(w.bob)
        assert send(url, **kwargs).status_code == 404

    return check


def confirm_modes_case(w: World, client: Client) -> None:
    """Confirming suggested modes for alice's county: 404 to bob and nothing changed; alice may."""
    url, body = "/api/v1/suggested-modes/confirm", {"region": w.county_a.pk}
    client.force_login(w.bob)
    assert client.post(url, body, content_type="application/json").status_code == 404
    w.class_a.refresh_from_db()
    assert w.class_a.mode_id is None
    client.force_login(w.alice)
    assert client.post(url, body, content_type="application/json").json()["confirmed"] == 3


def scenario_case(suffix: str, method: str = "get") -> Case:
    def check(w: World, client: Client) -> None:
        from banbantong.planning import services as planning_services

        spec = planning_services.prepare_plan(w.county_a, targets="50,100", start_year=2026)
        scenario = planning_services.save_scenario(w.alice, spec, name="A 县方案")
        url = suffix.format(id=scenario.pk)
        client.force_login(w.bob)
        assert getattr(client, method)(url).status_code == 404
        scenario.refresh_from_db()
        assert scenario.adopted_at is None
        client.force_login(w.alice)
        assert getattr(client, method)(url).status_code in (200, 302)

    return check


def device_case(url: Callable[[World, object], str], inside: str = "device_admin_a", outside: str = "bob") -> Case:
    def check(w: World, client: Client) -> None:
        kit = _kit(w)
        client.force_login(getattr(w, inside))
        assert client.get(url(w, kit)).status_code == 200
        client.force_login(getattr(w, outside))
        assert client.get(url(w, kit)).status_code == 404

    return check


def device_list_case(path: str, marker: str) -> Case:
    def check(w: World, client: Client) -> None:
        _kit(w)
        list_page(path, marker, "alice", "bob")(w, client)

    return check


def _kit(w: World) -> object:
    from banbantong.devices import services as device_services
    from banbantong.devices.models import Device

    device = Device.objects.filter(school=w.school_a).first() or device_services.register_device(
        device_services.DeviceInput(school=w.school_a, type="projector", brand="爱普生", model="CB-X06", serial="S-A1"),
        actor=w.alice,
    )
    ticket = device.tickets.first() or device_services.report_fault(device, actor=w.teacher_user_a, fault="lamp")
    return {"device": device, "ticket": ticket}


def qr_case(w: World, client: Client) -> None:
    kit = _kit(w)
    # Public by design: anyone with the label's token may report; a wrong token is 404.
    assert client.get(f"/devices/r/{kit['device'].qr_token}/").status_code == 200  # type: ignore[index]
    assert client.get("/devices/r/guess/").status_code == 404


def _term(w: World) -> dict[str, object]:
    import datetime as dt

    from banbantong.usage import services as usage_services
    from banbantong.usage.models import Semester

    semester = Semester.objects.filter(region=w.county_a).first() or usage_services.add_semester(
        w.county_a, actor=w.alice, name="秋季", start=dt.date(2026, 9, 1), end=dt.date(2027, 1, 22))
    record = usage_services.record_lesson(actor=w.teacher_user_a, klass=w.class_a, teacher=w.teacher_a,
                                          date=dt.date(2026, 11, 16), period=1, topic="分数")
    return {"semester": semester, "record": record}


def record_case(method: str, suffix: str) -> Case:
    def check(w: World, client: Client) -> None:
        record = _term(w)["record"]
        url = f"/api/v1/records/{record.pk}{suffix}"  # type: ignore[attr-defined]
        client.force_login(w.bob)
        assert getattr(client, method)(url).status_code == 404
        client.force_login(w.teacher_b.user)
        assert getattr(client, method)(url).status_code == 404
        client.force_login(w.teacher_user_a)
        assert getattr(client, method)(url).status_code == 200

    return check


def usage_list_case(path: str, marker: str, inside: str, outside: str) -> Case:
    def check(w: World, client: Client) -> None:
        _term(w)
        list_page(path, marker, inside, outside)(w, client)

    return check


def flagged_case(w: World, client: Client) -> None:
    import datetime as dt

    from banbantong.usage import services as usage_services

    _term(w)
    usage_services.add_calendar_day(actor=w.alice, region=w.county_a, date=dt.date(2026, 11, 17), kind="holiday")
    usage_services.record_lesson(actor=w.teacher_user_a, klass=w.class_a, teacher=w.teacher_a,
                                 date=dt.date(2026, 11, 17), period=1, topic="节日补课")
    region_page("/usage/flagged/")(w, client)
    client.force_login(w.alice)
    assert "节日补课" in client.get("/usage/flagged/").content.decode()
    client.force_login(w.city_admin)
    assert "节日补课" in client.get(f"/usage/flagged/?region={w.county_a.pk}").content.decode()
    client.force_login(w.bob)
    assert "节日补课" not in client.get("/usage/flagged/").content.decode()


def events_case(w: World, client: Client) -> None:
    from banbantong.org.models import Classroom

    room = Classroom.objects.get(school=w.school_a, name="301")
    body = {"key": "k", "classroom": room.pk, "events": [{"kind": "power_on", "at": "2026-11-16T08:00:00+08:00"}]}
    client.force_login(w.bob)
    assert client.post("/api/v1/events", body, content_type="application/json").status_code == 404
    client.force_login(w.device_admin_a)
    assert client.post("/api/v1/events", body, content_type="application/json").status_code == 200


def create_record_case(w: World, client: Client) -> None:
    _term(w)
    body = {"klass": w.class_a.pk, "date": "2026-11-18", "period": 2, "topic": "小数"}
    client.force_login(w.bob)
    assert client.post("/api/v1/records", body, content_type="application/json").status_code == 404
    client.force_login(w.teacher_user_a)
    assert client.post("/api/v1/records", body, content_type="application/json").status_code == 201


def my_week_case(w: World, client: Client) -> None:
    _term(w)
    client.force_login(w.teacher_user_a)
    assert "分数" in client.get("/usage/my/?week=2026-W47").content.decode()
    client.force_login(w.teacher_b.user)
    assert "分数" not in client.get("/usage/my/?week=2026-W47").content.decode()
    client.force_login(w.alice)
    assert client.get("/usage/my/").status_code == 403


def usage_rule_put_case(w: World, client: Client) -> None:
    from banbantong.usage.models import ComplianceRule

    url = f"/api/v1/usage-rules/{w.county_a.pk}"
    body = {"class_min_per_week": 8, "teacher_min_per_week": 2, "teacher_non_bbt_min_per_semester": 5}
    client.force_login(w.bob)
    assert client.put(url, body, content_type="application/json").status_code == 404
    assert not ComplianceRule.objects.exists()
    client.force_login(w.alice)
    assert client.put(url, body, content_type="application/json").status_code == 200
    assert ComplianceRule.objects.get(region=w.county_a).class_min_per_week == 8


def resource_preview_case(w: World, client: Client) -> None:
    from banbantong.resources.tests.test_previews import preview_page_case

    preview_page_case(w, client)


CASES: dict[str, Case] = {
    # pages
    "core:dashboard": list_page("/", "文峰", "alice", "bob"),
    "core:audit_log": list_page("/audit/", "文峰中心小学", "auditor_a", "auditor_b"),
    "core:healthz": public(200, "/healthz"),
    "core:notifications": public(),  # the caller's own reminders: usage/tests (Notification.for_user)
    "accounts:login": public(200, "/accounts/login/"),
    "accounts:logout": public(),  # ends the caller's own session only
    "accounts:password_change": public(),  # changes the caller's own password only: test_accounts.py
    "accounts:tokens": token_list_case("/accounts/tokens/"),
    "accounts:token_revoke": token_revoke_case(api=False),
    "set_language": public(),  # sets the caller's own language cookie
    "org:region_tree": list_page("/org/regions/", "吉水县", "alice", "bob"),
    "org:region_detail": object_page(lambda w: f"/org/regions/{w.county_a.pk}/", "alice", "bob"),
    "org:school_list": list_page("/org/schools/", "文峰中心小学", "alice", "bob"),
    "org:school_detail": object_page(lambda w: f"/org/schools/{w.school_a.pk}/", "principal_a", "bob"),
    "org:school_edit": object_page(lambda w: f"/org/schools/{w.school_a.pk}/edit/", "principal_a", "bob"),
    "org:class_list": list_page("/org/classes/", "文峰中心小学", "integrator_a", "bob"),
    "org:teacher_list": list_page("/org/teachers/", "王老师", "principal_a", "bob"),
    "org:survey_upload": survey_case("upload"),
    "org:survey_preview": survey_case("preview"),
    "org:survey_errors": survey_case("errors"),
    "planning:overview": region_page("/planning/"),
    "planning:coverage": region_page("/planning/coverage/"),
    "planning:targets": region_page("/planning/targets/"),
    "planning:scenarios": region_page("/planning/scenarios/"),
    "planning:budget": region_page("/planning/budget/"),
    "planning:modes": region_page("/planning/modes/"),
    "planning:briefing": region_page("/planning/briefing.pdf"),
    "planning:bulk_status": region_page("/planning/bulk-status/"),
    "planning:scenario_detail": scenario_case("/planning/scenarios/{id}/"),
    "planning:scenario_compare": scenario_case("/planning/scenarios/compare/?id={id}"),
    "planning:scenario_adopt": scenario_case("/planning/scenarios/{id}/adopt/", "post"),
    "planning:mode_rule": region_page("/planning/mode-rule/"),
    "planning:suggested_modes": region_page("/planning/suggested-modes/"),
    "planning:mode_edit": region_page("/planning/modes/lcd_pc/"),
    "devices:list": device_list_case("/devices/", "CB-X06"),
    "devices:new": public(),  # a form; the school choices and the service are scoped: devices/tests/test_register.py
    "devices:detail": device_case(lambda w, k: f"/devices/{k['device'].pk}/"),  # type: ignore[index]
    "devices:labels": device_case(lambda w, k: f"/devices/labels.pdf?school={w.school_a.pk}"),
    "devices:tickets": device_list_case("/devices/tickets/", "文峰中心小学"),
    "devices:ticket": device_case(lambda w, k: f"/devices/tickets/{k['ticket'].pk}/"),  # type: ignore[index]
    "devices:my_work": device_list_case("/devices/my/", "文峰中心小学"),
    "devices:figures": device_list_case("/devices/figures/", "CB-X06"),
    "devices:league": league_case,
    "devices:companies": public(),  # the contact book of the user's own regions
    "devices:report": qr_case,
    "devices:import": public(),  # a form; the schools named in the file are scoped: devices/tests/test_import.py
    "devices:import_preview": public(),  # the uploader's own session token only: devices/tests/test_import.py
    "devices:import_template": public(),  # an empty template: no data
    "devices:sla": region_page("/devices/sla/"),
    "usage:my_week": my_week_case,
    "usage:dashboard": region_page("/usage/?week=2026-W47"),
    "usage:flagged": flagged_case,
    "usage:calendar": region_page("/usage/calendar/"),
    "usage:timetable": object_page(lambda w: f"/usage/timetable/?school={w.school_a.pk}", "principal_a", "bob"),
    "usage:school": object_page(lambda w: f"/usage/school/{w.school_a.pk}/", "principal_a", "bob"),
    "usage:class": object_page(lambda w: f"/usage/class/{w.class_a.pk}/", "teacher_user_a", "bob"),
    "usage:teacher": object_page(lambda w: f"/usage/teacher/{w.teacher_a.pk}/", "teacher_user_a", "bob"),
    "usage:rules": region_page("/usage/rules/"),
    # API
    "api:post_events": events_case,
    "api:get_compliance": region_page("/api/v1/compliance?week=2026-W47"),
    "api:get_rule": api_object(lambda w: f"/api/v1/usage-rules/{w.county_a.pk}", "alice", "bob"),
    "api:put_rule": usage_rule_put_case,
    "api:list_records": usage_list_case("/api/v1/records", "分数", "teacher_user_a", "bob"),
    "api:create_record": create_record_case,
    "api:confirm_lesson_record": record_case("post", "/confirm"),
    "api:delete_lesson_record": record_case("delete", ""),
    "api:coverage_report": region_page("/api/v1/coverage"),
    "api:plan_budget": region_page("/api/v1/plan/budget"),
    "api:get_targets": region_page("/api/v1/targets"),
    "api:put_targets": region_page("/api/v1/targets", "put", {"targets": "50,60", "start_year": 2026}),
    "api:plan_rollout": public(),  # region in the body: planning/tests/test_planning_api.py
    "api:scenario_detail": scenario_case("/api/v1/scenarios/{id}"),
    "api:get_mode_rule": region_page("/api/v1/mode-rule"),
    "api:put_payment_terms": region_page(
        "/api/v1/plan/payment-terms", "put", {"first_share": "40", "later_share_of_remainder": "50", "later_years": 2}
    ),
    "api:put_mode_rule": region_page(
        "/api/v1/mode-rule", "put", {"lines": [{"kind": "village_primary", "grade_min": 1, "grade_max": 6, "mode": "tv_dvd"}]}
    ),
    "api:delete_mode_rule": region_page("/api/v1/mode-rule", "delete"),
    "api:suggested_modes": region_page("/api/v1/suggested-modes"),
    "api:list_modes": region_page("/api/v1/modes"),
    "api:add_mode": region_page("/api/v1/modes", "post", {"code": "own_panel", "name": "一体机(县)", "unit_cost": 1}),
    "api:put_mode": region_page("/api/v1/modes/lcd_pc", "put", {"unit_cost": 13000}),
    "api:patch_mode": region_page("/api/v1/modes/lcd_pc", "patch", {"unit_cost": 13000}),
    "api:delete_mode": delete_mode_scope_case,
    "api:confirm_modes": confirm_modes_case,
    "api:openapi-json": public(200, "/api/v1/openapi.json"),
    "api:openapi-view": public(200, "/api/v1/docs"),
    "api:api-root": public(),  # the API's index: no data
    "api:create_token": public(),  # creates a token for the caller only: test_api.py
    "api:me": public(),  # the caller's own account
    "api:list_tokens": token_list_case("/api/v1/tokens"),
    "api:revoke_token": token_revoke_case(api=True),
    "api:dashboard": list_page("/api/v1/dashboard", '"schools": 2', "alice", "bob"),
    "api:audit": list_page("/api/v1/audit", "文峰中心小学", "auditor_a", "auditor_b"),
    "api:list_regions": list_page("/api/v1/regions", "吉水县", "alice", "bob"),
    "api:region_detail": api_object(lambda w: f"/api/v1/regions/{w.county_a.pk}", "alice", "bob"),
    "api:list_schools": list_page("/api/v1/schools", "文峰中心小学", "alice", "bob"),
    "api:school_detail": api_object(lambda w: f"/api/v1/schools/{w.school_a.pk}", "integrator_a", "bob"),
    "api:list_classes": list_page("/api/v1/classes", "文峰中心小学", "device_admin_a", "bob"),
    "api:class_detail": api_object(lambda w: f"/api/v1/classes/{w.class_a.pk}", "teacher_user_a", "bob"),
    "api:list_teachers": list_page("/api/v1/teachers", "王老师", "reviewer_a", "bob"),
    "api:list_devices": device_list_case("/api/v1/devices", "CB-X06"),
    "api:device_detail": device_case(lambda w, k: f"/api/v1/devices/{k['device'].pk}"),  # type: ignore[index]
    "api:device_figures": device_list_case("/api/v1/devices/figures", "CB-X06"),
    "api:register_device": api_post_case("register_device"),
    "api:report_fault": api_post_case("report_fault"),
    "api:list_tickets": device_list_case("/api/v1/tickets", "文峰中心小学"),
    "api:my_tickets": device_list_case("/api/v1/tickets/mine", "文峰中心小学"),
    "api:ticket_detail": device_case(lambda w, k: f"/api/v1/tickets/{k['ticket'].pk}"),  # type: ignore[index]
    "api:change_ticket_state": api_post_case("change_ticket_state"),
    "api:escalate_ticket": api_post_case("escalate_ticket"),
    "api:replace_device": api_post_case("replace_device"),
    # resources (helpers in resources/tests/kit.py: they store files under a private MEDIA_ROOT)
    "resources:list": resources_kit.resource_list_case("/resources/"),
    "resources:upload": resources_kit.upload_page_case,
    "resources:detail": resources_kit.resource_url_case(lambda w, r: f"/resources/{r.pk}/"),
    "resources:download": resources_kit.resource_url_case(lambda w, r: f"/resources/{r.pk}/download", "alice"),
    "api:list_resources": resources_kit.resource_list_case("/api/v1/resources", "principal_a"),
    "api:resource_detail": resources_kit.resource_url_case(lambda w, r: f"/api/v1/resources/{r.pk}"),
    "api:create_resource": resources_kit.create_resource_case,
    "api:check_blob": resources_kit.blob_check_case,
    "api:start_upload": resources_kit.start_upload_case,
    "api:upload_status": resources_kit.upload_session_case("get", ""),
    "api:put_chunk": resources_kit.upload_session_case("put", "/chunks/0"),
    "api:complete_upload": resources_kit.upload_session_case("post", "/complete"),
    "api:cancel_upload": resources_kit.upload_session_case("delete", "", ok=(204,)),
    "search:search": search_kit.search_case("/search/?q=fs"),
    "api:search_resources": search_kit.search_case("/api/v1/resources/search?q=%E5%88%86%E6%95%B8"),
    "resources:preview_page": resource_preview_case,
    "resources:catalogue": resources_kit.catalogue_list_case("/resources/catalogue/"),
    "resources:volume": resources_kit.volume_case(lambda w, v: f"/resources/catalogue/{v.pk}/"),
    "resources:catalogue_import": resources_kit.catalogue_import_case(api=False),
    "resources:catalogue_template": public(),  # an empty template: no data
    "api:list_catalogue_volumes": resources_kit.catalogue_list_case("/api/v1/resources/catalogue/volumes"),
    "api:catalogue_volume": resources_kit.volume_case(lambda w, v: f"/api/v1/resources/catalogue/volumes/{v.pk}"),
    "api:import_catalogue": resources_kit.catalogue_import_case(api=True),
    "resources:review_queue": resources_kit.review_list_case("/resources/review/"),
    "resources:review": resources_kit.review_post_case(lambda r: f"/resources/{r.pk}/review", 302, {"action": "approve"}),
    "resources:resubmit": resources_kit.resubmit_case(lambda r: f"/resources/{r.pk}/resubmit", 302),
    "api:list_review_queue": resources_kit.review_list_case("/api/v1/resources/review/queue"),
    "api:approve_resource": resources_kit.review_post_case(lambda r: f"/api/v1/resources/{r.pk}/approve", 200),
    "api:reject_resource": resources_kit.review_post_case(
        lambda r: f"/api/v1/resources/{r.pk}/reject", 200, {"reason": "课件第3页有错字"}, json=True),
    "api:resubmit_resource": resources_kit.resubmit_case(lambda r: f"/api/v1/resources/{r.pk}/resubmit", 200),
    "resources:quotas": resources_kit.quota_list_case("/resources/quotas/"),
    "resources:quota_assign": resources_kit.quota_assign_case("/resources/quotas/assign", 302),
    "resources:leaderboard": resources_kit.points_case("/resources/points/?board=schools"),
    "api:list_quotas": resources_kit.quota_list_case("/api/v1/resources/quotas"),
    "api:assign_quotas": resources_kit.quota_assign_case("/api/v1/resources/quotas", 200, json=True),
    "api:teacher_points": resources_kit.points_case("/api/v1/resources/points/teachers"),
    "api:school_points": resources_kit.points_case("/api/v1/resources/points/schools"),
    "resources:coverage": resources_kit.coverage_case(lambda w, v: f"/resources/coverage/?volume={v.pk}", "teacher_user_a"),
    "resources:coverage_region": resources_kit.coverage_case(
        lambda w, v: f"/resources/coverage/region/?volume={v.pk}&show=all", "alice"),
    "api:school_coverage": resources_kit.coverage_case(
        lambda w, v: f"/api/v1/resources/coverage?volume_id={v.pk}&school_id={w.school_a.pk}", "principal_a"),
    "api:region_coverage": resources_kit.coverage_case(
        lambda w, v: f"/api/v1/resources/coverage/region?volume_id={v.pk}&region_id={w.county_a.pk}", "alice"),
}


def test_every_url_has_a_scope_case() -> None:
    routed = _names(get_resolver().url_patterns)
    missing = sorted(routed - CASES.keys())
    assert not missing, f"URLs without a scope case in CASES: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CASES))
def test_scope_case(name: str, world: World, client: Client) -> None:
    if name in {"core:audit_log", "api:audit"}:
        # Give the audit log something of school A's to show: a change to that school.
        from banbantong.core import audit

        audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice, after={"name": "文峰中心小学"})
    CASES[name](world, client)
