"""Searching the resource library: always within `Resource.objects.for_user(user)`.

`search()` returns a `Results` that behaves like the queryset that `core.listing.render_list`
pages and exports: slicing asks the index for that page only (ranked), `count()` stops at
`CANDIDATES`, and each resource carries `search_score` and a highlighted `snippet`. Without
query text the same filters list the user's resources newest first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from banbantong.core.scope import scope_of
from banbantong.resources.models import Resource
from banbantong.search import snippets
from banbantong.search.backends import CANDIDATES, Places, backend
from banbantong.search.text import Query, parse_query

# Metadata filters: the form field, the resource field, and how long a value may be.
TEXT_FILTERS = ("stage", "subject", "grade", "edition", "volume", "unit", "lesson")
MAX_FILTER_CHARS = 60


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    library: str = ""
    status: str = ""
    school: int | None = None
    stage: str = ""
    subject: str = ""
    grade: str = ""
    edition: str = ""
    volume: str = ""
    unit: str = ""
    lesson: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Filters:
        """Unknown choices and malformed numbers are ignored, as every list page of the platform does."""

        def text(name: str) -> str:
            return str(params.get(name) or "").strip()[:MAX_FILTER_CHARS]

        school = text("school")
        return cls(
            kind=text("kind") if text("kind") in Resource.Kind.values else "",
            library=text("library") if text("library") in Resource.Library.values else "",
            status=text("status") if text("status") in Resource.Status.values else "",
            school=int(school) if school.isdigit() and len(school) < 12 else None,
            **{name: text(name) for name in TEXT_FILTERS},
        )

    def apply(self, qs: QuerySet[Resource]) -> QuerySet[Resource]:
        wanted: dict[str, Any] = {
            name: getattr(self, name) for name in ("kind", "library", "status", *TEXT_FILTERS)
        }
        qs = qs.filter(**{k: v for k, v in wanted.items() if v})
        if self.school is not None:
            qs = qs.filter(school_id=self.school)
        return qs


def scoped(user: Any, filters: Filters) -> QuerySet[Resource]:
    """The one starting point: what the user may see, narrowed by the filters."""
    return filters.apply(Resource.objects.for_user(user))


def places_of(user: Any, filters: Filters) -> Places | None:
    """Where `scoped(user, filters)` can hold resources, for the index to skip the rest early:
    a school filter's school, or a school user's schools plus network resources (which reach
    them from any school of their region). None for regional and wider scopes: their schools
    are many and their share of the index large."""
    if filters.school is not None:
        return Places(school_ids=(filters.school,), network=False)
    scope = scope_of(user)
    if scope.everything or scope.region_paths:
        return None
    return Places(school_ids=tuple(sorted(scope.school_ids)), network=True)


def _scoped_sql(user: Any, filters: Filters) -> tuple[str, Any]:
    qs = scoped(user, filters).order_by().values("id")
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


class Results:
    """Ranked search results in the shape Paginator and render_list expect.

    One index query per request: the candidates (at most CANDIDATES, with their scores) are
    fetched once, then counted, paged and exported from memory.
    """

    ordered = True

    def __init__(self, user: Any, query: Query, filters: Filters) -> None:
        self.user, self.query, self.filters = user, query, filters
        self._ranked: list[tuple[int, float]] | None = None

    def ranked(self) -> list[tuple[int, float]]:
        if self._ranked is None:
            self._ranked = backend().ranked(
                self.query,
                _scoped_sql(self.user, self.filters),
                limit=CANDIDATES,
                places=places_of(self.user, self.filters),
            )
        return self._ranked

    def count(self) -> int:
        return len(self.ranked())

    def __len__(self) -> int:
        return self.count()

    @property
    def capped(self) -> bool:
        return self.count() >= CANDIDATES

    def page(self, offset: int, limit: int) -> list[Resource]:
        ranked = self.ranked()[offset : offset + limit]
        ids = [i for i, _s in ranked]
        found = Resource.objects.select_related("school", "author", "blob").in_bulk(ids)
        bodies = backend().bodies(ids)
        out: list[Resource] = []
        for rid, score in ranked:
            resource = found.get(rid)
            if resource is None:  # deleted since
                continue
            resource.search_score = score  # type: ignore[attr-defined]
            resource.snippet = snippets.snippet(resource, bodies.get(rid, ""), self.query.highlight)  # type: ignore[attr-defined]
            resource.title_marked = snippets.mark(resource.title, self.query.highlight)  # type: ignore[attr-defined]
            out.append(resource)
        return out

    def __getitem__(self, key: slice) -> list[Resource]:
        start = key.start or 0
        stop = key.stop if key.stop is not None else CANDIDATES
        return self.page(start, max(stop - start, 0))

    def iterator(self, chunk_size: int = 500) -> Iterator[Resource]:
        for offset in range(0, self.count(), chunk_size):
            yield from self.page(offset, chunk_size)

    def ids(self) -> set[int]:
        """Every match in scope, unranked and uncapped (tests and the benchmark's recall check)."""
        return backend().matching_ids(self.query, _scoped_sql(self.user, self.filters))


def search(user: Any, params: Mapping[str, Any]) -> Results | QuerySet[Resource]:
    query = parse_query(str(params.get("q") or ""))
    filters = Filters.from_params(params)
    if not query:
        return scoped(user, filters).select_related("school", "author", "blob").order_by("-created_at", "-id")
    return Results(user, query, filters)
