"""Month-end roll-ups of the status history, so coverage as of a past date reads one row per
school and mode instead of all the history after that date.

`ClassHistoryMonth` holds, for a school, a terminal mode and a month end M, `built_after`: the net
number of those classes that entered 已建/已验收 after M (entered +1, left -1), with the school's
place, kind and rural flag copied as on `ClassStatusChange`. What was built on a date D is today's
count minus `built_after` at the end of D's month minus the changes between D and that month
end: one row per school and mode plus at most a month of history. For a province two years
back that replaces summing ~27,000 history rows.

Rows exist only for the month ends someone asked about (`ClassHistoryMonthKept`), within the
last MONTHS_KEPT months: the first report as of a day in a month writes that month's rows (one
`INSERT … SELECT` over the history after it: the cost of one report without them), every later
one reads them. Bureaus ask about a handful of month ends (last December, the ends of the plan's
years), so the table stays a few rows per school and mode, and a survey import that dates
classes built since 2010 writes none. A date in the current month reads its month of history
directly; a date older than the months kept reads the history after it (correct, and as slow as
before the roll-ups).

Every write that changes a school's history or classes ends in `refresh_history_months` (through
`org.services.refresh_class_rollups`, after the history's fields are copied), which rewrites that
school's rows of the months kept in the same transaction. A month being written and a write
landing at the same time are ordered by a lock (see `_keep` and `_lock_for_writers`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from banbantong.core.bulk import raw_rows
from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.models import ClassHistoryMonth, ClassHistoryMonthKept, ClassStatusChange

# The copied fields a row is keyed by, in the order of the read index and of coverage's groups.
KEY = ("region_path", "mode_id", "kind", "is_rural", "school_id")

# Five years of month ends: a plan's span and the years before it. Older dates read the history.
MONTHS_KEPT = 60


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def oldest_kept(today: dt.date) -> dt.date:
    """The oldest month end with rows: MONTHS_KEPT months before the end of today's month."""
    year, month = divmod(today.year * 12 + today.month - 1 - MONTHS_KEPT, 12)
    return month_end(dt.date(year, month + 1, 1))


def built_after(user: Any, root_path: str, as_of: dt.date, by: Sequence[str] = KEY) -> list[tuple[Any, ...]]:
    """(*by, n) for the schools under root_path the user may see: n classes entered 已建/已验收
    after as_of, net, summed by the fields `by` (some of KEY) — coverage's groups for its tree,
    the school for its school rows. Zeros may be left out; a key may come twice (once from the
    month's rows, once from the days after as_of in that month)."""
    today = timezone.localdate()
    cut = month_end(as_of)
    if cut >= month_end(today) or cut < oldest_kept(today):
        return raw_rows(_changes(user, root_path, as_of, None, by))
    _keep(cut)
    months = scope_of(user).filter(
        ClassHistoryMonth.objects.filter(subtree_q("region_path", root_path), month=cut).order_by(),
        region_path_field="region_path", school_field="school_id",
    ).values(*by).annotate(n=Sum("built_after")).values_list(*by, "n")
    if cut > as_of:  # and the days after as_of in its month: one statement, one round trip
        months = months.union(_changes(user, root_path, as_of, cut, by), all=True)
    return raw_rows(months)


def _changes(user: Any, root_path: str, after: dt.date, until: dt.date | None, by: Sequence[str]) -> QuerySet[Any]:
    """The history in (after, until], summed by `by`, from the date-led covering index."""
    window = {"changed_on__gt": after} | ({"changed_on__lte": until} if until else {})
    return scope_of(user).filter(
        ClassStatusChange.objects.filter(subtree_q("region_path", root_path), **window)
        .exclude(built_delta=0).order_by(),
        region_path_field="region_path", school_field="school_id",
    ).values(*by).annotate(n=Sum("built_delta")).values_list(*by, "n")


def _keep(month: dt.date) -> None:
    """Write the rows of a month end nobody asked about before, once."""
    if ClassHistoryMonthKept.objects.filter(month=month).exists():
        return
    qn = connection.ops.quote_name
    kept, rows, history = (qn(m._meta.db_table) for m in (ClassHistoryMonthKept, ClassHistoryMonth, ClassStatusChange))
    when = connection.ops.adapt_datefield_value(month)
    key = ", ".join(KEY)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Waits for writers already refreshing (ROW EXCLUSIVE, see _lock_for_writers) to commit,
            # and holds new ones until this month is written: its rows then see every change, and
            # every later refresh sees the month. Also one month writer at a time.
            cursor.execute(f"LOCK TABLE {kept} IN SHARE ROW EXCLUSIVE MODE")
        # On SQLite the transaction began IMMEDIATE (settings), holding the single write lock
        # before anything is read: ordered with writers the same way.
        cursor.execute(f"INSERT INTO {kept} (month) VALUES (%s) ON CONFLICT (month) DO NOTHING", [when])  # noqa: S608
        if cursor.rowcount != 1:  # written meanwhile by another request
            return
        cursor.execute(
            f"INSERT INTO {rows} ({key}, month, built_after) "  # noqa: S608 - names and placeholders only
            f"SELECT {key}, %s, SUM(built_delta) FROM {history} "
            f"WHERE changed_on > %s AND built_delta <> 0 GROUP BY {key} HAVING SUM(built_delta) <> 0",
            [when, when],
        )
        # Months that fell out of the window are dropped as the window moves.
        oldest = connection.ops.adapt_datefield_value(oldest_kept(timezone.localdate()))
        cursor.execute(f"DELETE FROM {rows} WHERE month < %s", [oldest])  # noqa: S608
        cursor.execute(f"DELETE FROM {kept} WHERE month < %s", [oldest])  # noqa: S608


def _lock_for_writers() -> None:
    """A writer's side of the lock in _keep: writers do not wait for each other, only for a month
    being written (PostgreSQL; SQLite has one writer at a time anyway)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ClassHistoryMonthKept._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")


@transaction.atomic  # the caller's transaction, or one of its own (the lock needs one)
def refresh_history_months(school_ids: Sequence[int]) -> None:
    """Rewrite these schools' rows of the months kept from their history (whose built steps and
    place are already copied)."""
    if not school_ids:
        return
    _lock_for_writers()
    ClassHistoryMonth.objects.filter(school_id__in=school_ids).delete()
    oldest = oldest_kept(timezone.localdate())
    if not ClassHistoryMonthKept.objects.filter(month__gte=oldest).exists():
        return
    qn = connection.ops.quote_name
    kept, rows, history = (qn(m._meta.db_table) for m in (ClassHistoryMonthKept, ClassHistoryMonth, ClassStatusChange))
    key = ", ".join(KEY)
    ids = ", ".join(["%s"] * len(school_ids))
    # One INSERT … SELECT: each change counts in every month kept before it; the database groups.
    sql = (
        f"INSERT INTO {rows} ({key}, month, built_after) "  # noqa: S608 - names and placeholders only
        f"SELECT {', '.join('h.' + k for k in KEY)}, m.month, SUM(h.built_delta) "
        f"FROM {history} h JOIN {kept} m ON h.changed_on > m.month "
        f"WHERE m.month >= %s AND h.school_id IN ({ids}) AND h.built_delta <> 0 "
        f"GROUP BY {', '.join('h.' + k for k in KEY)}, m.month HAVING SUM(h.built_delta) <> 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datefield_value(oldest), *school_ids])
