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

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from banbantong.search import windows
from banbantong.search.backends import Places, Row
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


# Each row carries its resource's school and whether it is in a network library, kept by the
# database itself: filled when the row is written, followed when the resource moves (whatever
# moves it: a save, a queryset update, SQL). Only `Places`, a superset of a school user's scope,
# is tested on them — together with the term in the index's bitmaps, so that a teacher's search
# reads the matches of one school, not of all. The scope is still applied live to what is found.
PLACE_SQL = [
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS school_id bigint, "
    "ADD COLUMN IF NOT EXISTS network boolean NOT NULL DEFAULT false",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_school ON {TABLE} (school_id, resource_id)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_network ON {TABLE} (resource_id) WHERE network",
    f"CREATE OR REPLACE FUNCTION {TABLE}_place() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
    "SELECT r.school_id, r.library = 'network' INTO NEW.school_id, NEW.network "
    "FROM resources_resource r WHERE r.id = NEW.resource_id; RETURN NEW; END $$",
    f"CREATE OR REPLACE TRIGGER {TABLE}_place BEFORE INSERT ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_place()",
    # The comparison sits in the function, not in the trigger's WHEN or UPDATE OF: columns named
    # there could no longer be altered by the resources app's migrations.
    f"CREATE OR REPLACE FUNCTION {TABLE}_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
    "IF OLD.school_id IS DISTINCT FROM NEW.school_id OR OLD.library IS DISTINCT FROM NEW.library THEN "
    f"UPDATE {TABLE} SET school_id = NEW.school_id, network = NEW.library = 'network' "
    "WHERE resource_id = NEW.id; END IF; RETURN NULL; END $$",
    f"CREATE OR REPLACE TRIGGER {TABLE}_moved AFTER UPDATE ON resources_resource "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_moved()",
    # Rows written before these columns existed (the UPDATE does not fire the insert trigger).
    f"UPDATE {TABLE} d SET school_id = r.school_id, network = r.library = 'network' FROM resources_resource r "  # noqa: S608
    "WHERE r.id = d.resource_id AND (d.school_id IS DISTINCT FROM r.school_id OR d.network <> (r.library = 'network'))",
]


def places_condition(places: Places | None) -> tuple[str, list[Any]]:
    if places is None:
        return "", []
    if places.network:
        return " AND (d.school_id = ANY(%s) OR d.network)", [list(places.school_ids)]
    return " AND d.school_id = ANY(%s)", [list(places.school_ids)]


# How long a process keeps the planner's statistics of the index (ANALYZE renews them in the database).
STATS_SECONDS = 300.0


@dataclass(frozen=True)
class Stats:
    """What ANALYZE found in the index, as the planner sees it: the share of rows holding each
    of the most common lexemes, of the most common schools, of any other school, of network rows."""

    lexemes: dict[str, float] = field(default_factory=dict)
    # Any other lexeme is at most about as common as the least common listed (0: no statistics).
    other_lexeme: float = 0.0
    schools: dict[int, float] = field(default_factory=dict)
    other_school: float = 1.0
    network: float = 1.0


_stats: dict[str, tuple[float, Stats]] = {}


def stats() -> Stats:
    """From pg_stats, kept for STATS_SECONDS per database; before the first ANALYZE, Stats()
    (no common lexeme: every query is one query, as it was before windows)."""
    key = str(connection.settings_dict["NAME"])
    now = time.monotonic()
    cached = _stats.get(key)
    if cached is not None and now - cached[0] < STATS_SECONDS:
        return cached[1]
    with connection.cursor() as cur:
        # The frequencies array ends with three summary numbers: the elements' array is shorter,
        # so unnest pads those with NULL.
        cur.execute(
            "SELECT u.e, u.f FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) "
            "AS u(e, f) WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = 'vector' "
            "AND u.e IS NOT NULL",
            [TABLE],
        )
        lexemes = {str(e): float(f) for e, f in cur.fetchall()}
        other_lexeme = min(lexemes.values(), default=0.0)
        cur.execute(
            "SELECT attname, most_common_vals::text, most_common_freqs, n_distinct, null_frac FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname IN ('school_id', 'network')",
            [TABLE],
        )
        columns = {row[0]: row[1:] for row in cur.fetchall()}
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        rows = max(float(cur.fetchone()[0]), 1.0)
    found = Stats(lexemes=lexemes, other_lexeme=other_lexeme)
    if "school_id" in columns:
        vals, freqs, n_distinct, null_frac = columns["school_id"]
        ids = [int(v) for v in (vals or "{}").strip("{}").split(",") if v]
        schools = dict(zip(ids, [float(f) for f in freqs or []], strict=True))
        distinct = n_distinct if n_distinct > 0 else -n_distinct * rows  # negative: a share of the rows
        others = max(distinct - len(schools), 1)
        rest = max(1.0 - sum(schools.values()) - float(null_frac or 0), 0.0)
        found = Stats(lexemes=lexemes, other_lexeme=other_lexeme, schools=schools, other_school=rest / others,
                      network=found.network)
    if "network" in columns:
        vals, freqs, _n, _null = columns["network"]
        flags = [v == "t" for v in (vals or "{}").strip("{}").split(",") if v]
        shares = dict(zip(flags, [float(f) for f in freqs or []], strict=True))
        found = Stats(lexemes=lexemes, other_lexeme=other_lexeme, schools=found.schools,
                      other_school=found.other_school, network=shares.get(True, 0.0))
    _stats[key] = (now, found)
    return found


def places_share(places: Places | None, known: Stats) -> float:
    """The estimated share of the index's rows that lie in `places` (1 for everywhere)."""
    if places is None:
        return 1.0
    share = sum(known.schools.get(i, known.other_school) for i in places.school_ids)
    return min(share + (known.network if places.network else 0.0), 1.0)


def query_share(query: Query, known: Stats) -> float:
    """An estimate (from above) of the share of rows matching every term: a term matches only rows
    holding each of its lexemes. 0 for Latin prefixes, whose lexemes are many."""
    share = 1.0
    for term in query.terms:
        if not term.cjk:
            return 0.0
        lexemes = term.grams if len(term.text) > 1 else [term.text]
        share = min([share, *(known.lexemes.get(lexeme, known.other_lexeme) for lexeme in lexemes)])
    return share if query.terms else 0.0


class PostgresBackend:
    vendor = "postgresql"

    def create_sql(self) -> list[str]:
        # Every statement can run again: migration 0001 creates the current schema on a new
        # database and 0002 brings an older one to it.
        return [
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            " resource_id bigint PRIMARY KEY REFERENCES resources_resource (id) ON DELETE CASCADE,"
            " vector tsvector NOT NULL, body text NOT NULL DEFAULT '', fingerprint varchar(64) NOT NULL DEFAULT '')",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_vector ON {TABLE} USING gin (vector)",
            *PLACE_SQL,
        ]

    def drop_sql(self) -> list[str]:
        return [
            f"DROP TRIGGER IF EXISTS {TABLE}_moved ON resources_resource",
            f"DROP TABLE IF EXISTS {TABLE}",
            f"DROP FUNCTION IF EXISTS {TABLE}_moved()",
            f"DROP FUNCTION IF EXISTS {TABLE}_place()",
        ]

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
        self,
        query: Query,
        scoped: tuple[str, Any],
        limit: int | None,
        *,
        rank: bool = True,
        places: Places | None = None,
    ) -> tuple[str, list[Any]]:
        # Newest first with a LIMIT: for a common term the planner walks the primary key backwards
        # and stops after `limit` matches in scope; for a rare one it reads the GIN index. The
        # rank sits in the same select list, so it is computed only for the rows returned.
        # (A per-row EXISTS for the scope instead of the join was measured 2–4× slower at
        # 250,000 documents; see docs/benchmarks.md.)
        scoped_sql, scoped_params = scoped
        score = ", ts_rank(d.vector, %s::tsquery) AS score" if rank else ""
        where, where_params = places_condition(places)
        sql = (
            f"SELECT d.resource_id AS id{score} FROM {TABLE} d JOIN ({scoped_sql}) AS scoped "  # noqa: S608
            f"ON scoped.id = d.resource_id WHERE d.vector @@ %s::tsquery{where} ORDER BY d.resource_id DESC"
        )
        literal = query_literal(query)
        params = [*([literal] if rank else []), *scoped_params, literal, *where_params]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return sql, params

    def _window(
        self,
        query: Query,
        scoped: tuple[str, Any],
        limit: int,
        above: int,
        upto: int | None,
        places: Places | None,
        by_rows: bool = False,
    ) -> list[int]:
        """The newest `limit` ids in scope matching the query with `above` < id ≤ `upto`.

        Two statements, so that each gets the plan it needs whatever the planner estimates: the
        window's matches (the GIN bitmap ANDed with the primary key's range and the places' index:
        only those rows are fetched), then which of them are in scope (a primary-key probe each).
        Joined in one statement, the planner walked the whole window row by row or hashed every
        resource of the school (65 ms for one teacher's window at 250,000 documents, ~15 ms apart).
        """
        bounds = "d.resource_id > %s"
        params: list[Any] = [query_literal(query), above]
        if upto is not None:
            bounds += " AND d.resource_id <= %s"
            params.append(upto)
        where, where_params = places_condition(places)
        bounds += where
        params += where_params
        scoped_sql, scoped_params = scoped
        with transaction.atomic(), connection.cursor() as cur:
            # The rows lie in id order, so the planner prefers walking the window through the
            # primary key, testing every row: it prices the match test at next to nothing, and
            # each row is a 700-byte vector. Index scans are off for this one statement, leaving
            # the bitmaps; the setting is put back at once (SET LOCAL alone would last until the
            # end of a caller's transaction; an error rolls it back with the savepoint).
            cur.execute("SELECT current_setting('enable_indexscan')")
            (before,) = cur.fetchone()
            cur.execute("SET LOCAL enable_indexscan = off")
            # ts_match_vq is what @@ calls; written as a function it is no index condition, so the
            # window's rows (of the places) are read through the b-trees and tested one by one.
            match = "ts_match_vq(d.vector, %s::tsquery)" if by_rows else "d.vector @@ %s::tsquery"
            cur.execute(f"SELECT d.resource_id FROM {TABLE} d WHERE {match} AND {bounds}", params)  # noqa: S608
            matches = [int(r[0]) for r in cur.fetchall()]
            cur.execute("SELECT set_config('enable_indexscan', %s, true)", [before])
        with connection.cursor() as cur:
            if not matches:
                return []
            cur.execute(
                f"SELECT scoped.id FROM ({scoped_sql}) AS scoped WHERE scoped.id = ANY(%s) "  # noqa: S608
                "ORDER BY scoped.id DESC LIMIT %s",
                [*scoped_params, matches, limit],
            )
            return [int(r[0]) for r in cur.fetchall()]

    def ranked(
        self, query: Query, scoped: tuple[str, Any], *, limit: int, places: Places | None = None
    ) -> list[tuple[int, float]]:
        with connection.cursor() as cur:
            cur.execute(f"SELECT max(resource_id) FROM {TABLE}")  # noqa: S608
            top = int(cur.fetchone()[0] or 0)
        known = stats()
        share = query_share(query, known)
        size = windows.plan_first(top, share * places_share(places, known), limit)
        by_rows = windows.by_rows(top, share, limit)
        if size is None:
            inner, params = self._candidates(query, scoped, limit, places=places)
            with connection.cursor() as cur:
                cur.execute(f"SELECT id, score FROM ({inner}) c ORDER BY score DESC, id DESC", params)  # noqa: S608
                return [(int(i), float(s)) for i, s in cur.fetchall()]
        # Newest window first; the first has no upper bound, so rows added meanwhile count too.
        found: list[int] = []
        upto: int | None = None
        read = 0
        while True:
            high = top if upto is None else upto
            above = max(high - size, 0)
            found += self._window(query, scoped, limit - len(found), above, upto, places, by_rows)
            read += high - above
            upto = above
            if len(found) >= limit or upto <= 0:
                break
            size = windows.plan_next(read=read, found=len(found), missing=limit - len(found), left=upto)
        if not found:
            return []
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT resource_id, ts_rank(vector, %s::tsquery) AS score FROM {TABLE} "  # noqa: S608
                "WHERE resource_id = ANY(%s) ORDER BY score DESC, resource_id DESC",
                [query_literal(query), found],
            )
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
