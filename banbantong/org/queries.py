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
    """Headline figures for what the user may see, optionally within one region.

    Summed from the schools' class roll-ups (see School.class_count), not from the classes.
    """
    agg = schools_for(user, region).aggregate(
        schools=Count("id"), classes=Sum("class_count"), built=Sum("built_count"), pupils=Sum("pupil_count")
    )
    return Figures(
        schools=agg["schools"], classes=agg["classes"] or 0, built=agg["built"] or 0, pupils=agg["pupils"] or 0
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
        # Administrative codes put the county seat first, as bureaus list them.
        children = list(Region.objects.for_user(user).filter(parent=parent).order_by("code", "name"))
    if not children:
        return []
    by_path: dict[str, dict[str, int]] = {r.path: {"classes": 0, "built": 0, "pupils": 0, "schools": 0} for r in children}
    paths = sorted(by_path, key=len, reverse=True)

    def owner(path: str) -> str | None:
        for p in paths:
            if path.startswith(p):
                return p
        return None

    school_base = Q()
    for p in by_path:
        school_base |= subtree_q("region_path", p)
    rows = (
        School.objects.for_user(user)
        .filter(school_base)
        .values("region_path")
        .annotate(n=Count("id"), n_classes=Sum("class_count"), n_built=Sum("built_count"), n_pupils=Sum("pupil_count"))
    )
    for row in rows:
        key = owner(row["region_path"])
        if key:
            totals = by_path[key]
            totals["schools"] += row["n"]
            totals["classes"] += row["n_classes"] or 0
            totals["built"] += row["n_built"] or 0
            totals["pupils"] += row["n_pupils"] or 0
    return [RegionRow(region=r, figures=Figures(**by_path[r.path])) for r in children]


def top_regions(user: Any) -> QuerySet[Region]:
    """The highest region nodes the user can see: the roots of their subtrees."""
    scope = user.scope
    qs = Region.objects.for_user(user)
    if scope.everything:
        return qs.filter(parent__isnull=True).order_by("code", "name")
    return qs.filter(path__in=list(scope.region_paths)).order_by("code", "name")


def teachers_for(user: Any) -> QuerySet[Teacher]:
    return Teacher.objects.for_user(user).select_related("school")


def region_choices(user: Any, selected: Region | None) -> list[tuple[Region, int]]:
    """Options for a region filter: cities and counties in scope, plus the towns of the chosen
    county only — a province has ~1,500 towns, too many for one dropdown."""
    upper = list(Region.objects.for_user(user).exclude(level=Region.Level.TOWN).order_by("path"))
    anchor: Region | None = None
    if selected is not None and selected.level == Region.Level.TOWN:
        anchor = selected.parent
    elif selected is not None:
        anchor = selected
    elif len(upper) == 1:
        anchor = upper[0]
    towns = list(Region.objects.for_user(user).filter(parent=anchor, level=Region.Level.TOWN).order_by("name")) if anchor else []
    base = min((r.depth for r in upper), default=0)
    out: list[tuple[Region, int]] = []
    for r in upper:
        out.append((r, r.depth - base))
        if anchor is not None and r.pk == anchor.pk:
            out.extend((t, t.depth - base) for t in towns)
    if not upper:  # a user scoped below county level (not a region role today) still gets towns
        out = [(t, 0) for t in towns]
    return out
