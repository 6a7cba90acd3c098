"""Reads of the registry, always starting from the user's scope."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from banbantong.core.scope import subtree_q
from banbantong.org.models import Region, School, Teacher, TeachingClass
from banbantong.planning.rules import coverage_percent


@dataclass(frozen=True)
class Figures:
    schools: int
    classes: int
    built: int
    pupils: int

    @property
    def coverage(self) -> Decimal:
        return coverage_percent(self.built, self.classes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schools": self.schools, "classes": self.classes, "built": self.built,
            "pupils": self.pupils, "coverage_percent": float(self.coverage),
        }


def classes_for(user: Any, region: Region | None = None) -> QuerySet[TeachingClass]:
    qs = TeachingClass.objects.for_user(user)
    if region is not None:
        qs = qs.filter(subtree_q("school__region_path", region.path))
    return qs


def schools_for(user: Any, region: Region | None = None) -> QuerySet[School]:
    qs = School.objects.for_user(user)
    if region is not None:
        qs = qs.filter(subtree_q("region_path", region.path))
    return qs


def figures(user: Any, region: Region | None = None) -> Figures:
    """Headline figures for what the user may see, optionally within one region."""
    agg = classes_for(user, region).aggregate(
        classes=Count("id"),
        built=Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES)),
        pupils=Sum("pupils"),
    )
    return Figures(
        schools=schools_for(user, region).count(),
        classes=agg["classes"],
        built=agg["built"],
        pupils=agg["pupils"] or 0,
    )


@dataclass(frozen=True)
class RegionRow:
    region: Region
    figures: Figures


def child_figures(user: Any, parent: Region | None) -> list[RegionRow]:
    """Figures for each child of parent (or each top region in scope), in one query per measure."""
    if parent is None:
        children = list(top_regions(user))
    else:
        children = list(Region.objects.for_user(user).filter(parent=parent).order_by("name"))
    if not children:
        return []
    by_path: dict[str, dict[str, int]] = {r.path: {"classes": 0, "built": 0, "pupils": 0, "schools": 0} for r in children}
    paths = sorted(by_path, key=len, reverse=True)

    def owner(path: str) -> str | None:
        for p in paths:
            if path.startswith(p):
                return p
        return None

    base = Q()
    for p in by_path:
        base |= subtree_q("school__region_path", p)
    rows = (
        TeachingClass.objects.for_user(user)
        .filter(base)
        .values("school__region_path")
        .annotate(
            classes=Count("id"),
            built=Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES)),
            pupils=Sum("pupils"),
        )
    )
    for row in rows:
        key = owner(row["school__region_path"])
        if key:
            for k in ("classes", "built", "pupils"):
                by_path[key][k] += row[k] or 0
    school_base = Q()
    for p in by_path:
        school_base |= subtree_q("region_path", p)
    school_rows = School.objects.for_user(user).filter(school_base).values("region_path").annotate(n=Count("id"))
    for srow in school_rows:
        key = owner(srow["region_path"])
        if key:
            by_path[key]["schools"] += srow["n"]
    return [RegionRow(region=r, figures=Figures(**by_path[r.path])) for r in children]


def top_regions(user: Any) -> QuerySet[Region]:
    """The highest region nodes the user can see: the roots of their subtrees."""
    scope = user.scope
    qs = Region.objects.for_user(user)
    if scope.everything:
        return qs.filter(parent__isnull=True).order_by("name")
    return qs.filter(path__in=list(scope.region_paths)).order_by("name")


def teachers_for(user: Any) -> QuerySet[Teacher]:
    return Teacher.objects.for_user(user).select_related("school")
