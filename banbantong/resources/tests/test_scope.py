"""Who sees which resource: schools in scope, plus approved network resources of regions above."""

from __future__ import annotations

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.resources.models import Resource
from banbantong.resources.tests.kit import make_resource


def _export_titles(client: Client, query: str = "") -> list[str]:
    import io

    from openpyxl import load_workbook

    response = client.get(f"/resources/?export=xlsx{query}")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active  # type: ignore[attr-defined]
    return [str(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True)]  # type: ignore[union-attr]


@pytest.mark.django_db
def test_resource_of_school_a_is_404_to_bob_everywhere(world: World, client: Client) -> None:
    resource = make_resource(world)
    for user in (world.teacher_user_a, world.principal_a, world.alice, world.city_admin):
        client.force_login(user)
        assert client.get(f"/resources/{resource.pk}/").status_code == 200
        assert client.get(f"/resources/{resource.pk}/download").status_code == 200
        assert client.get(f"/api/v1/resources/{resource.pk}").status_code == 200
    for user in (world.bob, world.teacher_b.user):
        client.force_login(user)
        assert client.get(f"/resources/{resource.pk}/").status_code == 404
        assert client.get(f"/resources/{resource.pk}/download").status_code == 404
        assert client.get(f"/api/v1/resources/{resource.pk}").status_code == 404
        assert "分数" not in client.get("/resources/").content.decode()
        assert "分数" not in client.get("/api/v1/resources").content.decode()
        assert "分数的初步认识" not in _export_titles(client)
    assert AuditEntry.objects.filter(action="denied", object_type="resources.Resource").exists()


@pytest.mark.django_db
def test_another_school_in_the_same_town_does_not_see_the_school_library(world: World) -> None:
    resource = make_resource(world)
    from banbantong.conftest import make_user

    teacher_a2 = make_user("t_a2", "teacher", school=world.school_a2)
    assert not Resource.objects.for_user(teacher_a2).filter(pk=resource.pk).exists()


@pytest.mark.django_db
def test_approved_network_resources_reach_every_school_under_the_region(world: World) -> None:
    from banbantong.conftest import make_user

    to_city = make_resource(world, title="市级精品课", network_region=world.city)
    to_county = make_resource(world, title="县级资源", network_region=world.county_a)
    teacher_a2 = make_user("t_a2", "teacher", school=world.school_a2)
    teacher_b = world.teacher_b.user
    assert to_city.status == Resource.Status.SUBMITTED
    # Submitted, not yet approved: only the school's own scope sees them.
    for user in (teacher_a2, teacher_b, world.bob):
        assert not Resource.objects.for_user(user).exists()
    Resource.objects.filter(pk__in=[to_city.pk, to_county.pk]).update(status=Resource.Status.APPROVED)
    assert set(Resource.objects.for_user(teacher_a2)) == {to_city, to_county}
    assert set(Resource.objects.for_user(teacher_b)) == {to_city}
    assert set(Resource.objects.for_user(world.bob)) == {to_city}


@pytest.mark.django_db
def test_network_must_be_above_the_school(world: World) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="上级"):
        make_resource(world, network_region=world.county_b)


@pytest.mark.django_db
def test_list_filters_and_export(world: World, client: Client) -> None:
    make_resource(world, title="分数课件", subject="数学", grade="三年级")
    make_resource(world, title="古诗教案", kind="lesson_plan", subject="语文", grade="四年级")
    client.force_login(world.principal_a)
    page = client.get("/resources/?subject=数学").content.decode()
    assert "分数课件" in page and "古诗教案" not in page
    page = client.get("/resources/?kind=lesson_plan").content.decode()
    assert "古诗教案" in page and "分数课件" not in page
    assert _export_titles(client, "&grade=三年级") == ["分数课件"]
    api = client.get("/api/v1/resources?subject=语文").json()
    assert [r["title"] for r in api["items"]] == ["古诗教案"]
