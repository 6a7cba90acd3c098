"""Planning pages and API: targets, scenarios (save, compare, adopt), budget, bulk status, PDF."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.org.models import TeachingClass
from banbantong.planning.models import CoverageTarget, FundingSource, Scenario


@pytest.mark.django_db
def test_targets_form_saves_and_refuses_falling_targets(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/planning/targets/?region={world.county_a.pk}"
    response = client.post(url, {"region": world.county_a.pk, "targets": "50,40", "start_year": 2026}, follow=True)
    assert "逐年上升" in response.content.decode()
    assert not CoverageTarget.objects.exists()
    client.post(url, {"region": world.county_a.pk, "targets": "50,100", "start_year": 2026})
    assert list(CoverageTarget.objects.values_list("year", "percent")) == [(2026, 50), (2027, 100)]
    # Reviewers and auditors read; only bureau admins write.
    client.force_login(world.auditor_a)
    assert client.get(url).status_code == 200
    client.post(url, {"region": world.county_a.pk, "targets": "60", "start_year": 2026})
    assert CoverageTarget.objects.get(year=2026).percent == 50


@pytest.mark.django_db
def test_scenario_save_export_compare_and_adopt(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.post(
        f"/planning/scenarios/?region={world.county_a.pk}",
        {"region": world.county_a.pk, "name": "两年建完", "targets": "60,100", "start_year": "2026"},
    )
    scenario = Scenario.objects.get(name="两年建完")
    assert response.status_code == 302
    assert [y["equipped"] for y in scenario.summary["years"]] == [1, 1]
    # The rural village school (0%) comes before the central school (50%).
    first = scenario.items.get(year=2026)
    assert first.school_id == world.school_a2.pk

    export = client.get(f"/planning/scenarios/{scenario.pk}/?export=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    assert wb.sheetnames == ["年度", "学校明细"]

    other = Scenario.objects.create(region=world.county_a, name="空", start_year=2026, targets=["50"], summary={"years": []})
    compare = client.get(f"/planning/scenarios/compare/?id={scenario.pk}&id={other.pk}")
    assert "两年建完" in compare.content.decode() and compare.status_code == 200

    client.post(f"/planning/scenarios/{scenario.pk}/adopt/")
    planned = TeachingClass.objects.filter(status=TeachingClass.Status.PLANNED)
    assert sorted(planned.values_list("planned_year", flat=True)) == [2026, 2027]
    assert AuditEntry.objects.filter(object_type="org.TeachingClass", after__status="planned").count() == 2
    # Adopting twice changes nothing more.
    response = client.post(f"/planning/scenarios/{scenario.pk}/adopt/", follow=True)
    assert "已于" in response.content.decode()


@pytest.mark.django_db
def test_budget_page_and_funding(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/planning/budget/?region={world.county_a.pk}"
    client.post(url, {"region": world.county_a.pk, "year": 2026, "kind": "per_pupil", "pupils": 1000,
                      "per_pupil_amount": "650", "share": "10"})
    source = FundingSource.objects.get()
    assert source.amount == 65_000
    response = client.post(url, {"region": world.county_a.pk, "year": 2026, "kind": "donation", "amount": "-1"}, follow=True)
    assert "负数" in response.content.decode()
    page = client.get(url + "&unit_cost=10000&install_year=2026").content.decode()
    assert "30,000" in page  # 3 classes × 10,000 total
    assert "20,000" in page  # 2 to build


@pytest.mark.django_db
def test_bulk_status_change_on_filtered_list(world: World, client: Client) -> None:
    client.force_login(world.alice)
    query = f"region={world.county_a.pk}&grade=3"
    page = client.get(f"/planning/bulk-status/?{query}")
    assert "<strong>1</strong>" in page.content.decode()
    client.post("/planning/bulk-status/", {"region": world.county_a.pk, "grade": 3, "confirm": "1",
                                           "new_status": "building", "query": query})
    world.class_a.refresh_from_db()
    assert world.class_a.status == "building"
    assert world.class_b.status == "not_built"  # bob's grade 3 class untouched
    # Backwards without a reason is refused.
    response = client.post("/planning/bulk-status/", {"region": world.county_a.pk, "grade": 3, "confirm": "1",
                                                      "new_status": "not_built", "query": query}, follow=True)
    assert "原因" in response.content.decode()
    world.class_a.refresh_from_db()
    assert world.class_a.status == "building"
    client.force_login(world.principal_a)
    assert client.get(f"/planning/bulk-status/?{query}").status_code == 403


@pytest.mark.django_db
def test_briefing_pdf(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.get(f"/planning/briefing.pdf?region={world.county_a.pk}")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_school_users_have_no_planning(world: World, client: Client) -> None:
    client.force_login(world.principal_a)
    assert client.get("/planning/").status_code == 403


@pytest.mark.django_db
def test_api_rollout_in_and_out_of_scope(world: World, client: Client) -> None:
    body = {"region": world.county_a.pk, "targets": "60,100", "start_year": 2026}
    client.force_login(world.bob)
    assert client.post("/api/v1/plan/rollout", body, content_type="application/json").status_code == 404
    client.force_login(world.alice)
    data = client.post("/api/v1/plan/rollout", body, content_type="application/json").json()
    assert [y["equipped"] for y in data["years"]] == [1, 1]
    bad = client.post("/api/v1/plan/rollout", {**body, "targets": "60,50"}, content_type="application/json")
    assert bad.status_code == 400 and "逐年上升" in bad.json()["message"]
    saved = client.post("/api/v1/plan/rollout", {**body, "save_as": "API 方案"}, content_type="application/json")
    assert Scenario.objects.get(pk=saved.json()["scenario_id"]).name == "API 方案"


@pytest.mark.django_db
def test_api_coverage_matches_the_page(world: World, client: Client) -> None:
    client.force_login(world.city_admin)
    data = client.get(f"/api/v1/coverage?region={world.city.pk}").json()
    assert (data["classes"], data["built"], data["coverage_percent"]) == (4, 1, 25.0)
    assert {c["name"]: c["built"] for c in data["tree"]["children"]} == {"吉水县": 1, "新干县": 0}


def _schools_in(node: dict[str, object]) -> list[dict[str, object]]:
    rows = list(node["schools"])  # type: ignore[call-overload]
    for child in node["children"]:  # type: ignore[attr-defined]
        rows += _schools_in(child)
    return rows


@pytest.mark.django_db
def test_school_rows_in_the_api_and_the_export_as_of_a_date(world: World, client: Client) -> None:
    import datetime as dt

    from django.utils import timezone

    from banbantong.org import services as org_services

    today = timezone.localdate()
    # Built today: as of yesterday school B had none, today it has one.
    org_services.set_class_status(world.class_b, TeachingClass.Status.BUILT, actor=world.city_admin, on=today)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    client.force_login(world.city_admin)
    for as_of, built_b in (("", 1), (f"&as_of={yesterday}", 0)):
        data = client.get(f"/api/v1/coverage?region={world.city.pk}&schools=true{as_of}").json()
        rows = {r["name"]: r for r in _schools_in(data["tree"])}
        assert rows[world.school_b.name] == {"id": world.school_b.pk, "name": world.school_b.name, "classes": 1,
                                             "built": built_b, "coverage_percent": 100.0 * built_b}
        assert rows[world.school_a.name]["built"] == 1 and set(rows) == {world.school_a.name, world.school_a2.name,
                                                                         world.school_b.name}
        response = client.get(f"/planning/coverage/?region={world.city.pk}{as_of}&export=xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
        sheet = {row[0]: row[1:] for row in wb["学校"].iter_rows(min_row=2, values_only=True)}
        assert sheet == {r["name"]: (r["classes"], r["built"], r["coverage_percent"]) for r in rows.values()}
    # Out of scope: county B's admin gets no rows of county A's schools.
    client.force_login(world.bob)
    data = client.get(f"/api/v1/coverage?region={world.county_b.pk}&schools=true").json()
    assert {r["name"] for r in _schools_in(data["tree"])} == {world.school_b.name}
    assert client.get(f"/api/v1/coverage?region={world.county_a.pk}&schools=true").status_code == 404
