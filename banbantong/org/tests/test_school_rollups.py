"""School roll-ups (class_count, built_count, pupil_count) follow every write that changes classes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from banbantong.conftest import World
from banbantong.org import services
from banbantong.org.models import School, TeachingClass
from banbantong.planning.services import bulk_set_status


def _truth(school: School) -> tuple[int, int, int]:
    agg = TeachingClass.objects.filter(school=school).aggregate(
        n=Count("id"), built=Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES)), pupils=Sum("pupils")
    )
    return agg["n"], agg["built"], agg["pupils"] or 0


def _stored(school: School) -> tuple[int, int, int]:
    school.refresh_from_db()
    return school.class_count, school.built_count, school.pupil_count


@pytest.mark.django_db
def test_status_changes_keep_rollups(world: World) -> None:
    services.set_class_status(world.class_a, TeachingClass.Status.BUILT, actor=world.alice)
    assert _stored(world.school_a) == _truth(world.school_a) == (2, 2, 89)
    bulk_set_status(TeachingClass.objects.filter(school=world.school_a), TeachingClass.Status.BUILDING,
                    actor=world.alice, reason="返工")
    assert _stored(world.school_a) == _truth(world.school_a) == (2, 0, 89)


@pytest.mark.django_db
def test_recount_repairs_drift(world: World) -> None:
    School.objects.filter(pk=world.school_b.pk).update(class_count=99, built_count=42)
    call_command("recount", stdout=io.StringIO(), verbosity=0)
    assert _stored(world.school_b) == _truth(world.school_b)
