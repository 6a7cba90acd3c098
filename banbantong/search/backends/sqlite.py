"""SQLite: an FTS5 table over pre-segmented text, ranked by bm25.

The tokens are made in Python (search.text) and joined with spaces, so FTS5's unicode61
tokenizer only splits on those spaces: every bigram, character, word and initials suffix is one
FTS5 token. A term's bigrams are matched as an FTS5 phrase, i.e. at consecutive positions of
one column, which is exactly "the term is a substring of that field".
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from banbantong.search.backends import Places, Row
from banbantong.search.text import Query, Term

TABLE = "search_fts"
COLUMNS = (
    "title_grams",
    "meta_grams",
    "body_grams",
    "title_words",
    "words",
    "title_chars",
    "chars",
    "initials",
)
# bm25 weights in column order: a hit in the title counts most, a whole jieba word more than a
# substring of a longer word, the file's text least.
WEIGHTS = (10.0, 4.0, 1.0, 12.0, 3.0, 8.0, 1.0, 6.0)
GRAMS = "{title_grams meta_grams body_grams}"
WORDS = "{title_words words}"
CHARS = "{title_chars chars}"
LATIN = "{title_words words initials}"
_RANK = f"bm25({TABLE}, {', '.join(str(w) for w in WEIGHTS)})"


def _phrase(tokens: list[str]) -> str:
    # Tokens are CJK characters or [a-z0-9]: nothing to escape inside FTS5's double quotes.
    return '"' + " ".join(tokens) + '"'


def term_expression(term: Term) -> str:
    if not term.cjk:
        return f"{LATIN} : {_phrase([term.text])} *"
    if len(term.text) == 1:
        return f"{CHARS} : {_phrase([term.text])}"
    return f"({GRAMS} : {_phrase(term.grams)} OR {WORDS} : {_phrase([term.text])})"


def match_expression(query: Query) -> str:
    return " AND ".join(f"({term_expression(t)})" for t in query.terms)


class SQLiteBackend:
    vendor = "sqlite"

    def create_sql(self) -> list[str]:
        cols = ", ".join(COLUMNS)
        return [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({cols}, body UNINDEXED, fingerprint UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        ]

    def drop_sql(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {TABLE}"]

    def fingerprints(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("%s" for _ in ids)
        with connection.cursor() as cur:
            cur.execute(f"SELECT rowid, fingerprint FROM {TABLE} WHERE rowid IN ({marks})", ids)  # noqa: S608 - placeholders only
            return {int(i): str(f) for i, f in cur.fetchall()}

    def upsert(self, rows: list[Row]) -> None:
        self.delete([r.resource_id for r in rows])
        self.insert(rows)

    def insert(self, rows: list[Row]) -> None:
        if not rows:
            return
        values = []
        for r in rows:
            d = r.document
            values.append(
                (
                    r.resource_id,
                    " ".join(d.title.grams),
                    " ".join(d.meta.grams),
                    " ".join(d.body.grams),
                    " ".join(d.title.words),
                    " ".join(d.meta.words + d.body.words),
                    " ".join(d.title.chars),
                    " ".join(d.meta.chars + d.body.chars),
                    " ".join(d.initials),
                    r.body,
                    r.fingerprint,
                )
            )
        marks = ", ".join(["%s"] * (len(COLUMNS) + 3))
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}, body, fingerprint) VALUES ({marks})",  # noqa: S608
                values,
            )

    def delete(self, ids: list[int]) -> None:
        if ids:
            with connection.cursor() as cur:
                cur.executemany(f"DELETE FROM {TABLE} WHERE rowid = %s", [(i,) for i in ids])  # noqa: S608

    def clear(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE}")  # noqa: S608

    def remove_orphans(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE} WHERE rowid NOT IN (SELECT id FROM resources_resource)")  # noqa: S608

    def _candidates(self, query: Query, scoped: tuple[str, Any], limit: int) -> tuple[str, list[Any]]:
        # The FTS table drives the join and hands rows over newest first, so LIMIT stops the
        # scan early; the scope subquery is flattened into a primary-key lookup per match.
        # CROSS JOIN makes SQLite keep that order: left to itself it starts from a small
        # school's rows by index and probes the FTS table once per row.
        scoped_sql, scoped_params = scoped
        sql = (
            f"SELECT {TABLE}.rowid AS id, {_RANK} AS score FROM {TABLE} "  # noqa: S608
            f"CROSS JOIN ({scoped_sql}) AS scoped ON scoped.id = {TABLE}.rowid "
            f"WHERE {TABLE} MATCH %s ORDER BY {TABLE}.rowid DESC LIMIT %s"
        )
        return sql, [*scoped_params, match_expression(query), limit]

    def ranked(
        self, query: Query, scoped: tuple[str, Any], *, limit: int, places: Places | None = None
    ) -> list[tuple[int, float]]:
        # `places` is of no use here: FTS5 hands matches over in id order, the scope is probed
        # for each, and the scan stops at `limit`.
        inner, params = self._candidates(query, scoped, limit)
        with connection.cursor() as cur:
            cur.execute(f"SELECT id, score FROM ({inner}) ORDER BY score, id DESC", params)  # noqa: S608
            return [(int(i), -float(s)) for i, s in cur.fetchall()]

    def matching_ids(self, query: Query, scoped: tuple[str, Any]) -> set[int]:
        inner, params = self._candidates(query, scoped, -1)  # LIMIT -1: no limit in SQLite
        with connection.cursor() as cur:
            cur.execute(f"SELECT id FROM ({inner})", params)  # noqa: S608
            return {int(r[0]) for r in cur.fetchall()}

    def bodies(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("%s" for _ in ids)
        with connection.cursor() as cur:
            cur.execute(f"SELECT rowid, body FROM {TABLE} WHERE rowid IN ({marks})", ids)  # noqa: S608
            return {int(i): str(b or "") for i, b in cur.fetchall()}
