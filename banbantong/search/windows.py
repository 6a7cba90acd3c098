"""Reading a common term's newest matches window by window (PostgreSQL), as pure arithmetic.

A GIN index hands over every row holding a lexeme, in no useful order: for a character in 5 %
of a million documents that is 50,000 rows fetched to keep the newest 500 in a teacher's school.
Walking the primary key backwards instead reads every row, matching or not, until 500 matches
in scope are found — 100,000 rows for the same teacher. So a common term is read in id windows,
newest first: each window asks the index for its matches between two ids (the GIN bitmap ANDed
with the primary key's range, or a short backward walk: the planner's choice, both bounded by the
window), and the next window is sized from how many matches in scope the windows so far held.
Stopping as soon as `limit` matches are found gives exactly the newest `limit` matches in scope,
the same set as one query over everything (and as SQLite, whose FTS5 reads in id order anyway).

Terms the planner's statistics do not list as common (and Latin prefixes) keep the one query;
for the commonest (by_rows) each window's rows are tested one by one instead of reading the
term's every posting from the GIN index.
"""

from __future__ import annotations

import math

# A term expected to match fewer rows than this is read in one query: fetching them all costs less
# than the windows' extra round trips.
ONE_QUERY_MATCHES = 1000
# The first window expects this many times `limit` matches (a bureau admin sees every row; a
# school's teacher a tenth of a county's, and the next window adapts to that).
FIRST_WINDOW_MARGIN = 1.5
# Later windows aim at this many times the matches still missing, at the rate seen so far.
NEXT_WINDOW_MARGIN = 1.5
# When a window found nothing in scope, the next one is this much larger than all read so far.
EMPTY_GROWTH = 8
# Once the windows would cover more than this share of the ids left, the last one takes them all.
LAST_WINDOW_SHARE = 0.75


# A row tested in the heap costs about this many times a posting read from the GIN index.
ROW_PER_POSTING = 10


def by_rows(top: int, share: float, limit: int) -> bool:
    """Whether a window's rows should be tested one by one rather than read from the GIN index.

    The index reads every posting of the term's lexeme, wherever it lies (share × top of them),
    to keep the window's; testing the window's rows reads about FIRST_WINDOW_MARGIN × limit /
    share of them (of the places'). For a character in a fifth of a million rows the postings
    cost ~30 ms, the 3,750 rows ~5 ms; the two meet where share² × top ≈ 15 × limit (8.7 %).
    """
    return share * share * top >= ROW_PER_POSTING * FIRST_WINDOW_MARGIN * limit


def plan_first(top: int, share: float, limit: int) -> int | None:
    """The first window's size in ids below `top` (the highest id), or None for one query.

    `share`: the planner's estimate of the fraction of rows matching the query (0 if unknown).
    """
    if top <= 0 or share <= 0 or share * top < ONE_QUERY_MATCHES:
        return None
    size = math.ceil(FIRST_WINDOW_MARGIN * limit / share)
    return size if size < LAST_WINDOW_SHARE * top else None


def plan_next(*, read: int, found: int, missing: int, left: int) -> int:
    """The next window's size after `read` ids held `found` matches in scope and `missing` are
    still wanted; `left`: ids below the windows read. A size ≥ `left` means: read the rest."""
    size = EMPTY_GROWTH * read if found == 0 else math.ceil(NEXT_WINDOW_MARGIN * missing * read / found)
    return left if size >= LAST_WINDOW_SHARE * left else max(size, 1)
