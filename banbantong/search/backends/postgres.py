"""PostgreSQL: a tsvector per resource with a GIN index, ranked by ts_rank.

The vector is written as a tsvector literal with explicit positions and weights rather than
through to_tsvector(): the tokens are already made in Python (search.text), and the literal
keeps them exactly, whatever the database's parser and locale would do with Chinese (the
'simple' configuration's behaviour, without its parser). Queries are tsquery literals too.

Positions: the bigrams of title (weight A), description and tags (B) and file text (D) come
first, in order, with one position left empty between runs and sections, so `'分数' <-> '数线'`
is a substring match within one run. Words, characters and initials follow at every second
position so that no two of them form a phrase. PostgreSQL keeps positions up to 16383, which is
why extraction stops at 12,000 characters (search.extract) and descriptions are cut (indexing).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection

from banbantong.search.backends import Row
from banbantong.search.text import GAP, Document, Query, Term

TABLE = "search_document"
MAX_POSITION = 16383
MAX_POSITIONS_PER_LEXEME = 256


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def vector_literal(d: Document) -> str:
    positions: dict[str, list[str]] = defaultdict(list)
    pos = 1

    def put(token: str, weight: str) -> None:
        plist = positions[token]
        if len(plist) < MAX_POSITIONS_PER_LEXEME:
            plist.append(f"{min(pos, MAX_POSITION)}{weight}")

    for section, weight in ((d.title, "A"), (d.meta, "B"), (d.body, "D")):
        for gram in section.grams:
            if gram != GAP:
                put(gram, weight)
            pos += 1
        pos += 1
    for tokens, weight in (
        (d.title.words, "A"),
        (d.meta.words, "B"),
        (d.body.words, "D"),
        (d.title.chars, "A"),
        (d.meta.chars, "B"),
        (d.body.chars, "D"),
        (d.initials, "A"),
    ):
        for token in tokens:
            put(token, weight)
            pos += 2
    return " ".join(f"{_quote(t)}:{','.join(p)}" for t, p in positions.items())


def term_expression(term: Term) -> str:
    if not term.cjk:
        return f"{_quote(term.text)}:*"
    if len(term.text) <= 2:
        return _quote(term.text)
    phrase = " <-> ".join(_quote(g) for g in term.grams)
    return f"( {phrase} | {_quote(term.text)} )"


def query_literal(query: Query) -> str:
    return " & ".join(term_expression(t) for t in query.terms)


class PostgresBackend:
    vendor = "postgresql"

    def create_sql(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            " resource_id bigint PRIMARY KEY REFERENCES resources_resource (id) ON DELETE CASCADE,"
            " vector tsvector NOT NULL, body text NOT NULL DEFAULT '', fingerprint varchar(64) NOT NULL DEFAULT '')",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_vector ON {TABLE} USING gin (vector)",
        ]

    def drop_sql(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {TABLE}"]

    def fingerprints(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        with connection.cursor() as cur:
            cur.execute(f"SELECT resource_id, fingerprint FROM {TABLE} WHERE resource_id = ANY(%s)", [ids])  # noqa: S608
            return {int(i): str(f) for i, f in cur.fetchall()}

    def upsert(self, rows: list[Row]) -> None:
        if not rows:
            return
        values = [(r.resource_id, vector_literal(r.document), r.body, r.fingerprint) for r in rows]
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {TABLE} (resource_id, vector, body, fingerprint) VALUES (%s, %s::tsvector, %s, %s) "  # noqa: S608
                "ON CONFLICT (resource_id) DO UPDATE SET vector = EXCLUDED.vector, body = EXCLUDED.body, "
                "fingerprint = EXCLUDED.fingerprint",
                values,
            )

    def insert(self, rows: list[Row]) -> None:
        if not rows:
            return
        # COPY parses each vector literal as the ::tsvector cast of upsert() does.
        sql = f"COPY {TABLE} (resource_id, vector, body, fingerprint) FROM STDIN"
        with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
            for r in rows:
                copy.write_row((r.resource_id, vector_literal(r.document), r.body, r.fingerprint))

    def delete(self, ids: list[int]) -> None:
        if ids:
            with connection.cursor() as cur:
                cur.execute(f"DELETE FROM {TABLE} WHERE resource_id = ANY(%s)", [ids])  # noqa: S608

    def clear(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - TRUNCATE would not wait for open transactions' rows

    def remove_orphans(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE} WHERE resource_id NOT IN (SELECT id FROM resources_resource)")  # noqa: S608

    def _candidates(
        self, query: Query, scoped: tuple[str, Any], limit: int | None, *, rank: bool = True
    ) -> tuple[str, list[Any]]:
        # Newest first with a LIMIT: for a common term the planner walks the primary key backwards
        # and stops after `limit` matches in scope; for a rare one it reads the GIN index. The
        # rank sits in the same select list, so it is computed only for the rows returned.
        # (A per-row EXISTS for the scope instead of the join was measured 2–4× slower at
        # 250,000 documents; see docs/benchmarks.md.)
        scoped_sql, scoped_params = scoped
        score = ", ts_rank(d.vector, %s::tsquery) AS score" if rank else ""
        sql = (
            f"SELECT d.resource_id AS id{score} FROM {TABLE} d JOIN ({scoped_sql}) AS scoped "  # noqa: S608
            "ON scoped.id = d.resource_id WHERE d.vector @@ %s::tsquery ORDER BY d.resource_id DESC"
        )
        literal = query_literal(query)
        params = [*([literal] if rank else []), *scoped_params, literal]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return sql, params

    def ranked(self, query: Query, scoped: tuple[str, Any], *, limit: int) -> list[tuple[int, float]]:
        inner, params = self._candidates(query, scoped, limit)
        with connection.cursor() as cur:
            cur.execute(f"SELECT id, score FROM ({inner}) c ORDER BY score DESC, id DESC", params)  # noqa: S608
            return [(int(i), float(s)) for i, s in cur.fetchall()]

    def matching_ids(self, query: Query, scoped: tuple[str, Any]) -> set[int]:
        inner, params = self._candidates(query, scoped, None, rank=False)
        with connection.cursor() as cur:
            cur.execute(inner, params)
            return {int(r[0]) for r in cur.fetchall()}

    def bodies(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        with connection.cursor() as cur:
            cur.execute(f"SELECT resource_id, body FROM {TABLE} WHERE resource_id = ANY(%s)", [ids])  # noqa: S608
            return {int(i): str(b) for i, b in cur.fetchall()}
