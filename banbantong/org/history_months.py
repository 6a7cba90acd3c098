"""Month-end roll-ups of the status history, so coverage as of a past date reads one row per
school and mode instead of all the history after that date.

`ClassHistoryMonth` holds, for a school, a terminal mode and a month end M, `built_after`: the net
number of those classes that entered 已建/已验收 after M (entered +1, left -1), with the school's
place, kind and rural flag copied as on `ClassStatusChange`. What was built on a date D is today's
count minus `built_after` at the end of D's month minus the changes between D and that month
end: one row per school and mode plus at most a month of history. For a province two years
back that replaces summing ~27,000 history rows.

Rows are kept for every month end from the epoch (`ClassHistoryEpoch`: the month end before the
earliest dated change) on, but for the last MONTHS_KEPT months only, and only where the figure is
not zero; a missing row is zero. A date before the epoch reads the epoch's rows (nothing happened
between them); a date older than the months kept reads the history after it directly (correct,
and as slow as before the roll-ups). The bound keeps the table at most MONTHS_KEPT rows per school
and mode whatever the history's span: a survey dates classes built in 2010 at the end of 2010,
and dense month rows from then on would be ~190 per school and mode. The rows are written only by
`refresh_history_months`, which `org.services.refresh_class_rollups` calls for the schools a
write touched, in its transaction — after copying the history's fields, which every writer of
history already has it do.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Max, Min, Sum
from django.utils import timezone

from banbantong.core.bulk import raw_rows
from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.models import ClassHistoryEpoch, ClassHistoryMonth, ClassStatusChange

# The copied fields a row is keyed by, in the order of the read index and of coverage's groups.
KEY = ("region_path", "mode_id", "kind", "is_rural", "school_id")


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


# Five years of month ends: a plan's span and the years before it (a bureau prints last December's
# figure, or the one of the year the programme started).
MONTHS_KEPT = 60


def oldest_kept(today: dt.date) -> dt.date:
    """The oldest month end with rows: MONTHS_KEPT months before the end of today's month."""
    year, month = divmod(today.year * 12 + today.month - 1 - MONTHS_KEPT, 12)
    return month_end(dt.date(year, month + 1, 1))


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The month ends from first's month to last's month, both included."""
    out: list[dt.date] = []
    m = month_end(first)
    while m <= last:
        out.append(m)
        m = month_end(m + dt.timedelta(days=1))
    return out


def built_after_rows(changes: Sequence[tuple[dt.date, int]], lowest: dt.date) -> list[tuple[dt.date, int]]:
    """The (month end, built_after) rows of one school and mode from its dated built steps
    (date, +1/-1), from the month end `lowest` on (the epoch, or the oldest kept), the zero ones
    left out. The rule the SQL of `refresh_history_months` implements (tests hold the two
    equal); the migration fills existing data with it."""
    if not changes:
        return []
    steps = sorted(changes)
    after = sum(delta for _, delta in steps)
    out: list[tuple[dt.date, int]] = []
    i = 0
    for m in month_ends(lowest, previous_month_end(steps[-1][0])):
        while i < len(steps) and steps[i][0] <= m:
            after -= steps[i][1]
            i += 1
        if after:
            out.append((m, after))
    return out


def refresh_history_months(school_ids: Sequence[int]) -> None:
    """Rewrite these schools' month rows from their history (whose built steps and place are
    already copied), moving the epoch back first when the history now starts earlier."""
    if not school_ids:
        return
    ClassHistoryMonth.objects.filter(school_id__in=school_ids).delete()
    first = ClassStatusChange.objects.aggregate(m=Min("changed_on"))["m"]
    if first is None:  # no history anywhere: nothing to take back
        return
    epoch = _move_epoch(previous_month_end(first))
    lowest = max(epoch, oldest_kept(timezone.localdate()))
    last = (
        ClassStatusChange.objects.filter(school_id__in=school_ids).exclude(built_delta=0)
        .aggregate(m=Max("changed_on"))["m"]
    )
    months = month_ends(lowest, previous_month_end(last)) if last is not None else []
    if not months:
        return
    qn = connection.ops.quote_name
    t_month, t_change = qn(ClassHistoryMonth._meta.db_table), qn(ClassStatusChange._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    key = ", ".join(KEY)
    values = ", ".join(["(%s)"] * len(months))
    ids = ", ".join(["%s"] * len(school_ids))
    # One INSERT … SELECT: each change counts in every month end before it; the database groups.
    sql = (
        f"WITH m(month) AS (VALUES {values}) "  # noqa: S608 - table names and placeholders only
        f"INSERT INTO {t_month} ({key}, month, built_after) "
        f"SELECT {', '.join('h.' + k for k in KEY)}, m.month, SUM(h.built_delta) "
        f"FROM {t_change} h JOIN m ON h.changed_on > m.month "
        f"WHERE h.school_id IN ({ids}) AND h.built_delta <> 0 "
        f"GROUP BY {', '.join('h.' + k for k in KEY)}, m.month HAVING SUM(h.built_delta) <> 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(adapt(m) for m in months), *school_ids])


def _move_epoch(wanted: dt.date) -> dt.date:
    """The epoch, created or moved back to `wanted`. The months gained copy the rows at the old
    epoch: no change of another school lies between (the old epoch preceded them all)."""
    # Read unlocked: nearly every write leaves the epoch where it is, and a lock here would queue
    # every concurrent writer behind one row. Only a move locks, and looks again.
    current = ClassHistoryEpoch.objects.filter(pk=1).values_list("month", flat=True).first()
    if current is not None and current <= wanted:
        return current
    _, created = ClassHistoryEpoch.objects.get_or_create(pk=1, defaults={"month": wanted})
    if created:
        return wanted
    row = ClassHistoryEpoch.objects.select_for_update().get(pk=1)
    if row.month <= wanted:
        return row.month
    table = connection.ops.quote_name(ClassHistoryMonth._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    key = ", ".join(KEY)
    with connection.cursor() as cursor:
        for m in month_ends(max(wanted, oldest_kept(timezone.localdate())), previous_month_end(row.month)):
            cursor.execute(
                f"INSERT INTO {table} ({key}, month, built_after) "  # noqa: S608 - names only
                f"SELECT {key}, %s, built_after FROM {table} WHERE month = %s",
                [adapt(m), adapt(row.month)],
            )
    row.month = wanted
    row.save(update_fields=["month"])
    return wanted


def built_after(user: Any, root_path: str, as_of: dt.date) -> list[tuple[Any, ...]]:
    """(region_path, mode_id, kind, is_rural, school_id, n) for the schools under root_path the
    user may see: n classes of that mode entered 已建/已验收 after as_of, net (zeros may be left
    out; a school and mode may come twice)."""
    epoch = ClassHistoryEpoch.objects.filter(pk=1).values_list("month", flat=True).first()
    if epoch is None:  # no history kept: whatever there is (nothing, normally) is read directly
        return _changes(user, root_path, as_of, None)
    cut = max(month_end(as_of), epoch)
    if cut < oldest_kept(timezone.localdate()):  # older than the rows kept: the history itself
        return _changes(user, root_path, as_of, None)
    rows = raw_rows(
        scope_of(user).filter(
            ClassHistoryMonth.objects.filter(subtree_q("region_path", root_path), month=cut).order_by(),
            region_path_field="region_path", school_field="school_id",
        ).values_list(*KEY, "built_after")
    )
    if cut > as_of:
        rows += _changes(user, root_path, as_of, cut)
    return rows


def _changes(user: Any, root_path: str, after: dt.date, until: dt.date | None) -> list[tuple[Any, ...]]:
    """The history in (after, until], summed by KEY, from the date-led covering index."""
    window = {"changed_on__gt": after} | ({"changed_on__lte": until} if until else {})
    return raw_rows(
        scope_of(user).filter(
            ClassStatusChange.objects.filter(subtree_q("region_path", root_path), **window)
            .exclude(built_delta=0).order_by(),
            region_path_field="region_path", school_field="school_id",
        ).values(*KEY).annotate(n=Sum("built_delta")).values_list(*KEY, "n")
    )
