"""The search index for the database in use: SQLite FTS5 or PostgreSQL tsvector + GIN.

Both store the tokens of `search.text.Document` and answer the same `Query`; the choice follows
`connection.vendor`, so a deployment moves from SQLite to PostgreSQL without a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from banbantong.search.text import Document, Query

# A query matching more documents than this is ranked among its newest CANDIDATES matches in the
# user's scope: ranking a million rows for a one-character query would cost seconds, and nobody
# pages past the first 25 screens. Counts stop there too ("超过 500 条", add a filter).
CANDIDATES = 500


@dataclass(frozen=True)
class Row:
    """What the index keeps for one resource."""

    resource_id: int
    document: Document
    body: str  # the file's text, for snippets
    fingerprint: str  # of the inputs: an unchanged resource is not extracted again


@dataclass(frozen=True)
class Places:
    """Where every resource of a scope lies, in terms the index can test on its own rows: these
    schools' resources, and (with `network`) network resources of any school. Always at least the
    scope (queries.places_of): it only spares reading rows the scope then refuses, and the scope
    itself is still applied, live, to every row returned."""

    school_ids: tuple[int, ...]
    network: bool


class Backend(Protocol):
    vendor: str

    def create_sql(self) -> list[str]: ...

    def drop_sql(self) -> list[str]: ...

    def fingerprints(self, ids: list[int]) -> dict[int, str]: ...

    def upsert(self, rows: list[Row]) -> None: ...

    def insert(self, rows: list[Row]) -> None:
        """Rows of resources not in the index yet (a cleared index, new resources): no lookups."""
        ...

    def delete(self, ids: list[int]) -> None: ...

    def clear(self) -> None: ...

    def remove_orphans(self) -> None: ...

    def ranked(
        self, query: Query, scoped: tuple[str, Any], *, limit: int, places: Places | None = None
    ) -> list[tuple[int, float]]:
        """The newest `limit` matches in scope as (id, score), best first."""
        ...

    def matching_ids(self, query: Query, scoped: tuple[str, Any]) -> set[int]: ...

    def bodies(self, ids: list[int]) -> dict[int, str]: ...


def backend(vendor: str | None = None) -> Backend:
    vendor = vendor or connection.vendor
    if vendor == "sqlite":
        from banbantong.search.backends.sqlite import SQLiteBackend

        return SQLiteBackend()
    if vendor == "postgresql":
        from banbantong.search.backends.postgres import PostgresBackend

        return PostgresBackend()
    raise ImproperlyConfigured(f"全文检索只支持 SQLite 和 PostgreSQL，当前数据库为 {vendor}。")
