"""Plain multi-row inserts for the hot write paths (event ingest), where Django's bulk_create spends
most of its time compiling one SQL value at a time; and plain reads of a values_list query
(`raw_rows`) for the large read paths.

Only for rows the caller has already validated: no model `save()`, no signals, no auto fields
filled in (pass every column you need, defaults included). Works on SQLite and PostgreSQL alike;
`ON CONFLICT DO NOTHING` is understood by both (SQLite since 3.24).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models

# Rows per INSERT statement: well under SQLite's 32,766 bound-parameter limit for our widths.
ROWS_PER_STATEMENT = 500


def raw_rows(qs: models.QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list query as the driver returns them: the thousands of rows of a
    province's roll-ups need none of the ORM's per-row conversion (a third of the time in
    profiles). Only for columns whose driver values are already what the caller wants."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        return lambda v: field.get_db_prep_value(v, connection) if connection.vendor != "sqlite" else json.dumps(v)
    return lambda v: v


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                ignore_conflicts: bool = False) -> int:
    """INSERT the rows (values in `columns` order, foreign keys by id) and return how many were
    stored — with ignore_conflicts, rows that hit a unique constraint are skipped and not counted."""
    fields: list[models.Field[Any, Any]] = []
    for c in columns:
        f = model._meta.get_field(c)
        if not isinstance(f, models.Field) or not f.column:
            raise ValueError(f"{model.__name__}.{c} is not a column")
        fields.append(f)
    adapt = [_adapter(f) for f in fields]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields if f.column)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = connection.ops.quote_name(model._meta.db_table)
    suffix = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if connection.vendor == "postgresql":
        # psycopg converts a query's placeholders on every call and caches only short queries;
        # one short statement sent with executemany (pipelined) is cheaper than a long one.
        # Its rowcount is the total over all rows, conflicts skipped.
        params = [[a(v) for a, v in zip(adapt, row, strict=True)] for row in rows]
        if not params:
            return 0
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES {one}{suffix}", params)  # noqa: S608 - names from the model
            return max(cursor.rowcount, 0)
    stored = 0
    batch: list[Any] = []
    n = 0

    def flush() -> int:
        if not n:
            return 0
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * n)}{suffix}"  # noqa: S608 - names from the model
        with connection.cursor() as cursor:
            cursor.execute(sql, batch)
            return max(cursor.rowcount, 0)

    for row in rows:
        batch.extend(a(v) for a, v in zip(adapt, row, strict=True))
        n += 1
        if n == ROWS_PER_STATEMENT:
            stored += flush()
            batch, n = [], 0
    stored += flush()
    return stored
