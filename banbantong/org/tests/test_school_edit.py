"""Editing a school's own data: who may, the audit entry, and concurrent edits detected."""

from __future__ import annotations

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.org.models import School


def _form(school: School, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": school.code, "address": school.address, "principal": school.principal,
        "bandwidth_mbps": school.bandwidth_mbps, "version": school.updated_at.isoformat(),
    }
    for flag in ("has_fibre", "has_campus_lan", "has_firewall"):
        if getattr(school, flag):
            data[flag] = "on"
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_school_admin_edits_own_school_and_it_is_audited(world: World, client: Client) -> None:
    client.force_login(world.principal_a)
    response = client.post(
        f"/org/schools/{world.school_a.pk}/edit/", _form(world.school_a, bandwidth_mbps=100, has_fibre="on")
    )
    assert response.status_code == 302
    world.school_a.refresh_from_db()
    assert world.school_a.bandwidth_mbps == 100 and world.school_a.has_fibre
    entry = AuditEntry.objects.filter(object_type="org.School", action="update").latest("id")
    assert entry.before["bandwidth_mbps"] == 0 and entry.after["bandwidth_mbps"] == 100


@pytest.mark.django_db
def test_out_of_scope_is_404_and_other_roles_403(world: World, client: Client) -> None:
    client.force_login(world.bob)
    assert client.get(f"/org/schools/{world.school_a.pk}/edit/").status_code == 404
    client.force_login(world.teacher_user_a)
    assert client.get(f"/org/schools/{world.school_a.pk}/edit/").status_code == 403
    client.force_login(world.auditor_a)
    assert client.post(f"/org/schools/{world.school_a.pk}/edit/", _form(world.school_a)).status_code == 403
    client.force_login(world.alice)
    assert client.get(f"/org/schools/{world.school_a.pk}/edit/").status_code == 200


@pytest.mark.django_db
def test_concurrent_edit_is_detected_not_overwritten(world: World, client: Client) -> None:
    stale = _form(world.school_a, principal="张校长")
    other = Client()
    other.force_login(world.alice)
    assert other.post(f"/org/schools/{world.school_a.pk}/edit/", _form(world.school_a, principal="李校长")).status_code == 302
    client.force_login(world.principal_a)
    response = client.post(f"/org/schools/{world.school_a.pk}/edit/", stale)
    assert response.status_code == 200
    text = response.content.decode()
    assert "已被其他人" in text and "李校长" in text
    world.school_a.refresh_from_db()
    assert world.school_a.principal == "李校长"


@pytest.mark.django_db
def test_bad_bandwidth_is_a_chinese_error(world: World, client: Client) -> None:
    client.force_login(world.principal_a)
    response = client.post(f"/org/schools/{world.school_a.pk}/edit/", _form(world.school_a, bandwidth_mbps=10**7))
    assert response.status_code == 200
    assert "出口带宽" in response.content.decode()
