"""Payment terms are a region's setting (page and API, validated, audited, inherited), and
已规划 always carries its year (bulk page and service)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.org.models import TeachingClass
from banbantong.planning import services
from banbantong.planning.models import PaymentTerms


def _payments(client: Client, region_id: int) -> dict[int, float]:
    data = client.get(f"/api/v1/plan/budget?region={region_id}&unit_cost=10000&install_year=2026").json()
    return {row["year"]: row["payments"] for row in data["cash_flow"]}


@pytest.mark.django_db
def test_budget_page_sets_payment_terms(world: World, client: Client) -> None:
    client.force_login(world.alice)
    assert _payments(client, world.county_a.pk) == {2026: 8000, 2027: 6000, 2028: 6000}  # seeds: 40/30/30
    url = f"/planning/budget/?region={world.county_a.pk}"
    client.post(url, {"region": world.county_a.pk, "action": "terms", "first_share": "30",
                      "later_share_of_remainder": "50", "later_years": "2"})
    assert _payments(client, world.county_a.pk) == {2026: 6000, 2027: 7000, 2028: 7000}
    entry = AuditEntry.objects.get(object_type="planning.PaymentTerms")
    assert entry.actor == world.alice and entry.after["first_share"] == "0.3000"
    # The city's other county keeps the seeds' terms.
    client.force_login(world.bob)
    assert _payments(client, world.county_b.pk) == {2026: 4000, 2027: 3000, 2028: 3000}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "later", "years", "message"),
    [("120", "50", "2", "0–100%"), ("40", "abc", "2", "不是数字"), ("40", "50", "11", "0–10"),
     ("40", "50", "0", "付清"), ("40", "50", "x", "不是整数")],
)
def test_bad_terms_change_nothing(world: World, client: Client, first: str, later: str, years: str,
                                  message: str) -> None:
    client.force_login(world.alice)
    page = client.post(f"/planning/budget/?region={world.county_a.pk}", {
        "region": world.county_a.pk, "action": "terms", "first_share": first, "later_share_of_remainder": later,
        "later_years": years}, follow=True).content.decode()
    assert message in page
    assert not PaymentTerms.objects.exists()


@pytest.mark.django_db
def test_payment_terms_api_and_who_may(world: World, client: Client) -> None:
    client.force_login(world.auditor_a)
    body = {"first_share": "0.5", "later_share_of_remainder": "100", "later_years": 1}
    url = f"/api/v1/plan/payment-terms?region={world.county_a.pk}"
    assert client.put(url, body, content_type="application/json").status_code == 403
    client.force_login(world.alice)
    assert client.put(url, body, content_type="application/json").json() == {
        "first_share": 0.5, "later_share_of_remainder": 1.0, "later_years": 1}
    assert services.payment_terms(world.town_a).first_share == Decimal("0.5")  # a town follows its county


@pytest.mark.django_db
def test_planned_needs_a_year(world: World, client: Client) -> None:
    client.force_login(world.alice)
    query = f"region={world.county_a.pk}&grade=3"
    form = {"region": world.county_a.pk, "grade": 3, "confirm": "1", "new_status": "planned", "query": query}
    page = client.post("/planning/bulk-status/", form, follow=True).content.decode()
    assert "计划建设年份" in page
    world.class_a.refresh_from_db()
    assert world.class_a.status == "not_built"
    client.post("/planning/bulk-status/", {**form, "planned_year": "2027"})
    world.class_a.refresh_from_db()
    assert (world.class_a.status, world.class_a.planned_year) == ("planned", 2027)
    with pytest.raises(Exception, match="不合理"):
        services.bulk_set_status(TeachingClass.objects.filter(pk=world.class_b.pk), "planned", actor=None,
                                 planned_year=1900)


@pytest.mark.django_db
def test_bulk_change_is_dated_as_given_never_in_the_future(world: World, client: Client) -> None:
    client.force_login(world.alice)
    query = f"region={world.county_a.pk}&grade=3"
    form = {"region": world.county_a.pk, "grade": 3, "confirm": "1", "new_status": "built", "query": query}
    page = client.post("/planning/bulk-status/", {**form, "changed_on": "2999-01-01"}, follow=True).content.decode()
    assert "晚于今天" in page
    assert client.post("/planning/bulk-status/", {**form, "changed_on": "1.5.2025"}, follow=True).status_code == 200
    world.class_a.refresh_from_db()
    assert world.class_a.status == "not_built"
    client.post("/planning/bulk-status/", {**form, "changed_on": "2025-05-01"})
    world.class_a.refresh_from_db()
    assert (world.class_a.status, str(world.class_a.status_changed_on), world.class_a.built_year) == (
        "built", "2025-05-01", 2025)
    assert world.class_a.status_changes.get().changed_on.isoformat() == "2025-05-01"
