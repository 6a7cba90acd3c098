"""The newest matches in scope, read window by window (PostgreSQL) or in id order (SQLite): the
same set as a brute-force scan, for a common character in a teacher's school, a rare one, and
both in one query; the index's own note of each resource's school follows every move.

On PostgreSQL the planner's statistics are replaced by ones that call the character common, so
that the windows are taken with the few rows of a test database; on SQLite the same assertions
check the FTS5 path, so both backends must return the very same sets.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection

from banbantong.accounts.models import User
from banbantong.conftest import World
from banbantong.resources.models import Resource
from banbantong.search import queries, windows
from banbantong.search.backends import backend
from banbantong.search.tests.kit import indexed
from banbantong.search.text import parse_query

pytestmark = pytest.mark.django_db

LIMIT = 5
COMMON = "的"
RARE = "疟"


@pytest.fixture
def common_in_stats(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """PostgreSQL: statistics that call COMMON common and the school's share large, and a record
    of every window read. Nothing to replace on SQLite."""
    seen: list[tuple[Any, ...]] = []
    if connection.vendor != "postgresql":
        return seen
    from banbantong.search.backends import postgres

    monkeypatch.setattr(postgres, "stats", lambda: postgres.Stats(lexemes={COMMON: 0.9, "认识": 0.9},
                                                                  other_school=0.5, network=0.2))
    monkeypatch.setattr(windows, "ONE_QUERY_MATCHES", 0)
    real = postgres.PostgresBackend._window

    def spy(self: Any, query: Any, scoped: Any, limit: int, above: int, upto: int | None, places: Any,
            by_rows: bool = False) -> list[int]:
        seen.append((above, upto, places, by_rows))
        return real(self, query, scoped, limit, above, upto, places, by_rows)

    monkeypatch.setattr(postgres.PostgresBackend, "_window", spy)
    return seen


def library(world: World) -> dict[int, tuple[str, int]]:
    """40 resources in two schools of county A (and 4 of county B): COMMON in about two thirds,
    RARE in two; returns {id: (text, school id)}."""
    rng = random.Random(11)
    filler = "分数加减法乘除图形面积长方体正"
    made: dict[int, tuple[str, int]] = {}
    for n in range(44):
        school, actor = (world.school_a, world.teacher_user_a) if n % 2 else (world.school_a2, world.alice)
        if n >= 40:
            school, actor = world.school_b, world.teacher_b.user
        words = [rng.choice(filler) for _ in range(6)]
        if n % 3:
            words.insert(rng.randint(0, 6), COMMON)
        if n in (7, 30):
            words.insert(2, RARE)
        title = "".join(words)
        made[indexed(world, title=title, description="认识" if n % 4 == 0 else "", school=school,
                     actor=actor, name=f"{n}.pdf").pk] = (title + "\n" + ("认识" if n % 4 == 0 else ""), school.pk)
    return made


def expected(made: dict[int, tuple[str, int]], user: User, q: str, limit: int) -> set[int]:
    """Brute force: the newest `limit` resources in the user's scope containing every term."""
    in_scope = set(Resource.objects.for_user(user).values_list("pk", flat=True))
    terms = q.split()
    hits = sorted((pk for pk, (body, _s) in made.items() if pk in in_scope and all(t in body for t in terms)),
                  reverse=True)
    return set(hits[:limit])


def ranked(user: User, q: str, limit: int = LIMIT, **params: str) -> list[tuple[int, float]]:
    filters = queries.Filters.from_params(params)
    return backend().ranked(parse_query(q), queries._scoped_sql(user, filters), limit=limit,
                            places=queries.places_of(user, filters))


def assert_ranked(found: list[tuple[int, float]]) -> None:
    assert found == sorted(found, key=lambda r: (-r[1], -r[0])), "best score first, then newest"


def test_common_character_in_a_teachers_school(world: World, common_in_stats: list[Any]) -> None:
    made = library(world)
    found = ranked(world.teacher_user_a, COMMON)
    assert {i for i, _s in found} == expected(made, world.teacher_user_a, COMMON, LIMIT)
    assert all(made[i][1] == world.school_a.pk for i, _s in found)
    assert_ranked(found)
    if connection.vendor == "postgresql":
        assert len(common_in_stats) > 1, "read in more than one window"
        assert common_in_stats[0][1] is None, "the newest window has no upper bound"
    # Every match, unranked and uncapped, as the search page counts them.
    in_school = {pk for pk, (body, school) in made.items() if school == world.school_a.pk and COMMON in body}
    assert queries.search(world.teacher_user_a, {"q": COMMON}).ids() == in_school  # type: ignore[union-attr]
    # The other county's admin sees none of school A's.
    assert {i for i, _s in ranked(world.bob, COMMON, limit=50)} == expected(made, world.bob, COMMON, 50)
    assert not {i for i, _s in ranked(world.bob, COMMON, limit=50)} & in_school


def test_common_character_for_the_county_and_with_a_school_filter(world: World, common_in_stats: list[Any]) -> None:
    made = library(world)
    assert {i for i, _s in ranked(world.alice, COMMON)} == expected(made, world.alice, COMMON, LIMIT)
    a2 = ranked(world.alice, COMMON, school=str(world.school_a2.pk))
    assert {i for i, _s in a2} == set(sorted(
        (pk for pk, (body, school) in made.items() if school == world.school_a2.pk and COMMON in body), reverse=True
    )[:LIMIT])
    # Asking for more than there are: every match in scope, the windows run down to the first id.
    assert {i for i, _s in ranked(world.teacher_user_a, COMMON, limit=500)} == expected(
        made, world.teacher_user_a, COMMON, 500
    )


@pytest.mark.parametrize("row_by_row", [True, False])
def test_windows_tested_row_by_row_or_from_the_index_agree(
    world: World, common_in_stats: list[Any], monkeypatch: pytest.MonkeyPatch, row_by_row: bool
) -> None:
    monkeypatch.setattr(windows, "by_rows", lambda top, share, limit: row_by_row)
    made = library(world)
    for user in (world.teacher_user_a, world.alice):
        for q in (COMMON, f"{COMMON} 认识"):
            assert {i for i, _s in ranked(user, q)} == expected(made, user, q, LIMIT), (user, q)
    if connection.vendor == "postgresql":
        assert common_in_stats and all(seen[3] is row_by_row for seen in common_in_stats)


def test_rare_character(world: World, common_in_stats: list[Any]) -> None:
    made = library(world)
    for user in (world.teacher_user_a, world.alice, world.bob):
        assert {i for i, _s in ranked(user, RARE)} == expected(made, user, RARE, LIMIT)
    assert len(expected(made, world.alice, RARE, LIMIT)) == 2
    assert len(expected(made, world.teacher_user_a, RARE, LIMIT)) == 1  # resource 7 is school A's


def test_common_and_rare_terms_in_one_query(world: World, common_in_stats: list[Any]) -> None:
    made = library(world)
    for q in (f"{COMMON} 认识", f"{COMMON} {RARE}", f"认识 {RARE}"):
        for user in (world.teacher_user_a, world.alice):
            found = ranked(user, q)
            assert {i for i, _s in found} == expected(made, user, q, LIMIT), (q, user)
            assert_ranked(found)


def test_network_resources_and_moves_reach_the_teacher(world: World, common_in_stats: list[Any]) -> None:
    made = library(world)
    teacher_a2 = User.objects.create_user(username="t_a2", password="x-Long-pass1", role="teacher",
                                          school=world.school_a2)
    shared = indexed(world, title=f"分数{COMMON}意义", network_region=world.county_a)  # school A's
    assert shared.pk not in {i for i, _s in ranked(teacher_a2, COMMON)}  # submitted, not approved
    Resource.objects.filter(pk=shared.pk).update(status=Resource.Status.APPROVED)  # no signal
    assert shared.pk in {i for i, _s in ranked(teacher_a2, COMMON)}
    # A queryset update sends no signal either: the index's note of the school follows anyway.
    moved = max(pk for pk, (body, school) in made.items() if school == world.school_a.pk and COMMON in body)
    assert moved not in {i for i, _s in ranked(teacher_a2, COMMON, limit=50)}
    Resource.objects.filter(pk=moved).update(school=world.school_a2)
    assert moved in {i for i, _s in ranked(teacher_a2, COMMON, limit=50)}
    assert moved not in {i for i, _s in ranked(world.teacher_user_a, COMMON, limit=50)}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_statistics_are_read_from_the_planner(world: World) -> None:
    from banbantong.search.backends import postgres

    library(world)
    with connection.cursor() as cur:
        cur.execute("ANALYZE search_document")
    postgres._stats.clear()
    known = postgres.stats()
    postgres._stats.clear()
    assert known.lexemes[COMMON] > 0.5
    assert set(known.schools) == {world.school_a.pk, world.school_a2.pk, world.school_b.pk}
    assert known.network == 0.0
    assert postgres.places_share(queries.places_of(world.teacher_user_a, queries.Filters()), known) == pytest.approx(
        known.schools[world.school_a.pk]
    )
    assert postgres.query_share(parse_query(f"{COMMON}认识"), known) <= known.lexemes[COMMON]
    assert postgres.query_share(parse_query("fs"), known) == 0.0
    assert 0 < known.other_lexeme <= min(known.lexemes.values())


def test_places_are_never_narrower_than_the_scope(world: World) -> None:
    assert queries.places_of(world.alice, queries.Filters()) is None  # a county: no school list
    places = queries.places_of(world.teacher_user_a, queries.Filters())
    assert places is not None and places.school_ids == (world.school_a.pk,) and places.network
    filtered = queries.places_of(world.alice, queries.Filters(school=world.school_a2.pk))
    assert filtered is not None and filtered.school_ids == (world.school_a2.pk,) and not filtered.network


def test_window_sizes() -> None:
    # Rare, unknown or small: one query.
    assert windows.plan_first(1_000_000, 0.0, 500) is None
    assert windows.plan_first(1_000_000, 0.0009, 500) is None  # 900 matches
    assert windows.plan_first(0, 0.5, 500) is None
    # Common: a window expected to hold 1.5 times the candidates wanted.
    assert windows.plan_first(1_000_000, 0.05, 500) == 15_000
    # A window that would cover three quarters of the ids is the whole index: one query.
    assert windows.plan_first(20_000, 0.05, 500) is None
    # The next window follows the rate seen: 100 in 20,000 ids, 400 missing -> 1.5 x 80,000.
    assert windows.plan_next(read=20_000, found=100, missing=400, left=900_000) == 120_000
    # Nothing found yet: eight times what was read; the rest once that is most of what is left.
    assert windows.plan_next(read=20_000, found=0, missing=500, left=900_000) == 160_000
    assert windows.plan_next(read=20_000, found=10, missing=490, left=900_000) == 900_000


def test_commonest_terms_are_tested_row_by_row() -> None:
    assert windows.by_rows(1_000_000, 0.2, 500)  # 了, 的: 200,000 postings against 3,750 rows
    assert not windows.by_rows(1_000_000, 0.05, 500)
    assert not windows.by_rows(250_000, 0.1, 500)
