"""The audit log: who, when, what, before and after, IP and request id; append-only; scoped."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from banbantong.conftest import World
from banbantong.core import audit
from banbantong.core.models import AuditEntry
from banbantong.org import services
from banbantong.org.models import TeachingClass


@pytest.mark.django_db
def test_status_change_records_before_after_ip_and_request_id(world: World, client: Client) -> None:
    from banbantong.core import context

    token = context.bind("10.0.0.8", "req-12345678")
    try:
        services.set_class_status(world.class_a, TeachingClass.Status.BUILT, actor=world.alice)
    finally:
        context.unbind(token)
    entry = AuditEntry.objects.filter(object_type="org.TeachingClass").latest("id")
    assert entry.actor == world.alice
    assert entry.before["status"] == "not_built"
    assert entry.after["status"] == "built"
    assert entry.ip == "10.0.0.8"
    assert entry.request_id == "req-12345678"
    assert entry.school_id == world.school_a.pk


@pytest.mark.django_db
def test_backwards_status_needs_a_reason(world: World) -> None:
    from django.core.exceptions import ValidationError

    services.set_class_status(world.class_a, TeachingClass.Status.BUILT, actor=world.alice)
    with pytest.raises(ValidationError) as exc:
        services.set_class_status(world.class_a, TeachingClass.Status.BUILDING, actor=world.alice)
    assert "原因" in str(exc.value)
    services.set_class_status(world.class_a, TeachingClass.Status.BUILDING, actor=world.alice, reason="设备退货")
    assert world.class_a.status_changes.count() == 2


@pytest.mark.django_db
def test_auditor_cannot_write(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_class_status(world.class_a, TeachingClass.Status.BUILT, actor=world.auditor_a)


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted(world: World) -> None:
    entry = audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice, after={"x": 1})
    entry.object_repr = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db
def test_database_refuses_tampering_on_postgresql(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    from django.db import DatabaseError, transaction

    entry = audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr = 'x' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])


@pytest.mark.django_db
def test_personal_data_is_masked_in_the_log(world: World) -> None:
    teacher = world.teacher_a
    entry = audit.record(audit.Action.CREATE, teacher, actor=world.alice, after=audit.snapshot(teacher))
    assert entry.after["phone"] == "138****5678"
    assert entry.after["id_number"] == "360***********1234"


@pytest.mark.django_db
def test_refused_access_is_recorded(world: World, client: Client) -> None:
    client.force_login(world.bob)
    assert client.get(f"/org/schools/{world.school_a.pk}/").status_code == 404
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.DENIED).latest("id")
    assert entry.actor == world.bob
    assert entry.object_repr == "文峰中心小学"
    # Bob's own auditor sees the refusal; county A's auditor does not see Bob's actions.
    assert AuditEntry.objects.for_user(world.auditor_b).filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_log_is_read_within_scope_only(world: World, client: Client) -> None:
    a = audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice)
    b = audit.record(audit.Action.UPDATE, world.school_b, actor=world.bob)
    visible_a = set(AuditEntry.objects.for_user(world.auditor_a).values_list("id", flat=True))
    assert a.pk in visible_a and b.pk not in visible_a
    assert not AuditEntry.objects.for_user(world.principal_a).exists()
    assert not AuditEntry.objects.for_user(world.teacher_user_a).exists()
    client.force_login(world.teacher_user_a)
    assert client.get("/audit/").status_code == 403


@pytest.mark.django_db
def test_audit_export_is_xlsx(world: World, client: Client) -> None:
    audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice, after={"note": "=HYPERLINK(1)"})
    client.force_login(world.auditor_a)
    response = client.get("/audit/?export=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


@pytest.mark.django_db
def test_purge_keeps_the_retention_period(world: World) -> None:
    from datetime import timedelta

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    old = audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice)
    recent = audit.record(audit.Action.UPDATE, world.school_a, actor=world.alice)
    if connection.vendor == "postgresql":
        pytest.skip("the trigger forbids back-dating an entry, which this test needs")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET at = %s WHERE id = %s", [timezone.now() - timedelta(days=200), old.pk]
        )
    with pytest.raises(CommandError, match="至少保留 180 天"):
        call_command("audit", "purge", "--older-than", "30")
    call_command("audit", "purge", "--older-than", "190")
    remaining = set(AuditEntry.objects.values_list("id", flat=True))
    assert old.pk not in remaining and recent.pk in remaining
