"""The one place that decides what a user may see.

A user's scope is a set of region subtrees, or a set of schools, or everything (superuser).
Every model that users read exposes `QuerySet.for_user(user)`, built from `Scope.filter`;
detail pages and API calls use `get_for_user`, which answers 404 for anything outside —
and records the refused access in the audit log, as DESIGN §8 asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.http import Http404

M = TypeVar("M", bound=models.Model)
QS = TypeVar("QS", bound="models.QuerySet[Any]")


def path_ids(path: str) -> list[int]:
    """'/1/4/17/' -> [1, 4, 17]: a region's ancestry, root first (the region itself last)."""
    return [int(p) for p in path.strip("/").split("/") if p]


def subtree_q(field: str, root_path: str) -> Q:
    """Rows whose materialized path lies under root_path.

    A range on the path uses the plain b-tree index on SQLite and PostgreSQL alike, where
    LIKE 'x%' would need collation tricks. Paths end with '/', and '0' sorts right after '/'.
    """
    upper = root_path[:-1] + "0"
    return Q(**{f"{field}__gte": root_path, f"{field}__lt": upper})


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    region_paths: tuple[str, ...] = ()
    school_ids: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.region_paths or self.school_ids)

    def q(self, *, region_path_field: str | None, school_field: str | None) -> Q | None:
        """A filter for rows placed by a region path and/or a school id; None means no limit."""
        if self.everything:
            return None
        q = Q(pk__in=[])
        if region_path_field:
            for path in self.region_paths:
                q |= subtree_q(region_path_field, path)
        if school_field and self.school_ids:
            q |= Q(**{f"{school_field}__in": sorted(self.school_ids)})
        return q

    def filter(self, qs: QS, *, region_path_field: str | None, school_field: str | None) -> QS:
        q = self.q(region_path_field=region_path_field, school_field=school_field)
        return qs if q is None else qs.filter(q)

    def covers_path(self, path: str) -> bool:
        return self.everything or any(path.startswith(root) for root in self.region_paths)


class _System:
    """The command line reading as the system: it sees everything. Never a web user."""

    scope = Scope(everything=True)
    is_authenticated = False
    is_active = True
    is_superuser = True
    is_regional = True
    read_only = False

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def scope_of(user: Any) -> Scope:
    if user is SYSTEM:
        return SYSTEM.scope
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    return user.scope  # type: ignore[no-any-return]


def get_for_user(qs: models.QuerySet[M], user: Any, **lookup: Any) -> M:
    """One object the user may see, or 404. `qs` is the model's unrestricted queryset."""
    scoped = qs.for_user(user)  # type: ignore[attr-defined]
    try:
        return scoped.get(**lookup)  # type: ignore[no-any-return]
    except (ObjectDoesNotExist, ValueError, TypeError):
        pass
    if qs.model._default_manager.filter(**lookup).exists():
        from banbantong.core import audit

        audit.record_denied(user, qs.model, lookup)
    raise Http404("对象不存在或不在您的管辖范围内")
