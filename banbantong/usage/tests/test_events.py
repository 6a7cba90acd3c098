"""Classroom events: idempotent batches, impossible timestamps, counted once, proposals confirmed."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from banbantong.conftest import World
from banbantong.usage.models import ClassWeek, LessonRecord, TerminalEvent
from banbantong.usage.tests.conftest import MONDAY, Term


def _at(day: dt.date, hh: int, mm: int) -> str:
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}:00+08:00"


def _batch(term: Term, key: str, events: list[dict]) -> dict:
    return {"key": key, "classroom": term.room.pk, "events": events}


MORNING = [
    {"kind": "power_on", "at": _at(MONDAY, 7, 58)},
    {"kind": "resource_opened", "at": _at(MONDAY, 8, 5), "resource": "数学/四年级/分数的意义.pptx"},
    {"kind": "power_off", "at": _at(MONDAY, 9, 45)},
]


@pytest.mark.django_db
def test_batch_proposes_records_and_retry_returns_the_same_result(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    first = client.post("/api/v1/events", _batch(term, "room401-0001", MORNING), content_type="application/json").json()
    assert (first["accepted"], first["duplicates"], first["proposed"]) == (3, 0, 2)  # periods 1 and 2
    again = client.post("/api/v1/events", _batch(term, "room401-0001", MORNING), content_type="application/json").json()
    assert again["replayed"] and again["accepted"] == 3
    assert TerminalEvent.objects.count() == 3
    proposals = LessonRecord.objects.filter(status="proposed").order_by("period")
    assert [p.period for p in proposals] == [1, 2]
    assert proposals[0].resources == "分数的意义.pptx" and proposals[0].evidence == "events"
    assert not ClassWeek.objects.exists()  # proposals do not count until confirmed


@pytest.mark.django_db
def test_same_key_different_body_is_refused(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    client.post("/api/v1/events", _batch(term, "k1", MORNING), content_type="application/json")
    response = client.post("/api/v1/events", _batch(term, "k1", MORNING[:1]), content_type="application/json")
    assert response.status_code == 409 and "幂等键" in response.json()["message"]


@pytest.mark.django_db
def test_reordered_and_duplicate_batches_count_each_event_once(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    client.post("/api/v1/events", _batch(term, "a", MORNING), content_type="application/json")
    second = client.post("/api/v1/events", _batch(term, "b", list(reversed(MORNING))), content_type="application/json").json()
    assert (second["accepted"], second["duplicates"]) == (0, 3)
    assert TerminalEvent.objects.count() == 3 and LessonRecord.objects.count() == 2


@pytest.mark.django_db
def test_an_event_repeated_inside_one_batch_counts_once(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    events = [MORNING[0], *MORNING, MORNING[2]]
    result = client.post("/api/v1/events", _batch(term, "dup", events), content_type="application/json").json()
    assert (result["received"], result["accepted"], result["duplicates"], result["proposed"]) == (5, 3, 2, 2)
    assert TerminalEvent.objects.count() == 3


@pytest.mark.django_db
def test_a_later_batch_upgrades_a_typed_record_to_event_evidence(world: World, term: Term, client: Client) -> None:
    from banbantong.usage import services

    typed = services.record_lesson(actor=world.teacher_user_a, klass=term.klass, teacher=world.teacher_a,
                                   date=MONDAY, period=1, topic="分数")
    client.force_login(world.device_admin_a)
    result = client.post("/api/v1/events", _batch(term, "late", MORNING), content_type="application/json").json()
    assert result["proposed"] == 1  # period 2 only: period 1 was typed
    typed.refresh_from_db()
    assert (typed.evidence, typed.status, typed.evidence_minutes) == ("events", "confirmed", 45)


@pytest.mark.django_db
def test_impossible_timestamps_are_rejected_with_a_reason(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    result = client.post("/api/v1/events", _batch(term, "clock", [
        {"kind": "power_on", "at": "1970-01-01T08:00:00+08:00"},
        {"kind": "power_on", "at": "2099-01-01T08:00:00+08:00"},
        {"kind": "teleport", "at": _at(MONDAY, 8, 0)},
        {"kind": "power_on", "at": "not a time"},
    ]), content_type="application/json").json()
    assert result["accepted"] == 0
    reasons = [r["reason"] for r in result["rejected"]]
    assert "2000" in reasons[0] and "未来" in reasons[1] and "未知的事件类型" in reasons[2] and "格式不对" in reasons[3]


@pytest.mark.django_db
def test_teacher_confirms_in_one_click(world: World, term: Term, client: Client) -> None:
    client.force_login(world.device_admin_a)
    client.post("/api/v1/events", _batch(term, "x", MORNING), content_type="application/json")
    proposal = LessonRecord.objects.filter(status="proposed").first()
    assert proposal is not None
    client.force_login(world.teacher_user_a)
    response = client.post(f"/api/v1/records/{proposal.pk}/confirm")
    assert response.json()["status"] == "confirmed"
    assert ClassWeek.objects.get(klass=term.klass, week=MONDAY).lessons == 1
    client.post(f"/api/v1/records/{proposal.pk}/confirm")
    assert ClassWeek.objects.get(klass=term.klass, week=MONDAY).lessons == 1


@pytest.mark.django_db
def test_events_for_a_classroom_out_of_scope(world: World, term: Term, client: Client) -> None:
    client.force_login(world.bob)
    response = client.post("/api/v1/events", _batch(term, "z", MORNING), content_type="application/json")
    assert response.status_code == 404 and not TerminalEvent.objects.exists()


@pytest.mark.django_db
def test_cli_and_api_give_the_same_compliance(world: World, term: Term, client: Client) -> None:
    from banbantong.usage.tests.conftest import lessons

    lessons(world, term, 10)
    out = io.StringIO()
    call_command("report", "compliance", "--region", "吉水县", "--week", "2026-W47", "--json", stdout=out)
    cli = json.loads(out.getvalue())
    client.force_login(world.alice)
    api = client.get(f"/api/v1/compliance?region={world.county_a.pk}&week=2026-W47").json()
    assert cli["classes"] == api["classes"] == {"checked": 1, "compliant": 1, "short": 0, "share_percent": 100.0}
    assert client.get(f"/api/v1/compliance?region={world.county_a.pk}&week=2026-47").status_code == 400
