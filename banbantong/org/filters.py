"""The class-list filter, shared by the page, its export and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import QuerySet

from banbantong.core.scope import get_for_user, subtree_q
from banbantong.org.models import Region, School, TeachingClass


@dataclass(frozen=True)
class ClassFilter:
    region: int | None = None
    school: int | None = None
    kind: str | None = None
    grade: int | None = None
    mode: int | None = None
    status: str | None = None
    q: str | None = None

    @classmethod
    def from_query(cls, data: Any) -> ClassFilter:
        def as_int(name: str) -> int | None:
            raw = (data.get(name) or "").strip()
            return int(raw) if raw.isdigit() else None

        def as_choice(name: str, choices: list[str]) -> str | None:
            raw = (data.get(name) or "").strip()
            return raw if raw in choices else None

        return cls(
            region=as_int("region"),
            school=as_int("school"),
            kind=as_choice("kind", School.Kind.values),
            grade=as_int("grade"),
            mode=as_int("mode"),
            status=as_choice("status", TeachingClass.Status.values),
            q=(data.get("q") or "").strip()[:50] or None,
        )


def filter_params(f: ClassFilter) -> dict[str, str]:
    """The filter as query parameters (for a form that carries it to another page)."""
    return {k: str(v) for k, v in f.__dict__.items() if v is not None}


def filter_classes(user: Any, f: ClassFilter) -> QuerySet[TeachingClass]:
    qs = TeachingClass.objects.for_user(user).select_related("school", "mode")
    if f.region:
        region = get_for_user(Region.objects.all(), user, pk=f.region)
        qs = qs.filter(subtree_q("school__region_path", region.path))
    if f.school:
        qs = qs.filter(school_id=f.school)
    if f.kind:
        qs = qs.filter(school__kind=f.kind)
    if f.grade:
        qs = qs.filter(grade=f.grade)
    if f.mode is not None:
        # mode=0: classes with no mode yet (their list shows the rule's suggestion, 建议).
        # Otherwise the mode by its code: a region's own price or name for a platform mode is
        # another catalogue row with the same code, and still the same mode.
        if f.mode == 0:
            qs = qs.filter(mode__isnull=True)
        else:
            modes = apps.get_model("planning", "TerminalMode")._default_manager
            code = modes.filter(pk=f.mode).values_list("code", flat=True).first()
            qs = qs.filter(mode__code=code) if code else qs.none()
    if f.status:
        qs = qs.filter(status=f.status)
    if f.q:
        qs = qs.filter(school__name__contains=f.q)
    # Walking schools by region path and then each school's unique (school, grade, name) index
    # yields this order without sorting the whole filtered set before LIMIT.
    return qs.order_by("school__region_path", "school_id", "grade", "name")
