"""The fast writes of a survey import: multi-row INSERTs and executemany UPDATEs of tuples.

The service decides what to write; these helpers only write it, inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from banbantong.org.models import ClassStatusChange, TeachingClass
from banbantong.org.survey.parse import ClassEntry
from banbantong.org.survey.rules import ClassDecision, first_status

# Rows per INSERT/UPDATE round: big enough to be fast, small enough that model instances
# never pile up in memory.
BATCH_SIZE = 2000


class TableWriter:
    """Multi-row INSERTs and executemany UPDATEs of plain tuples.

    bulk_create compiles every value of every row in Python — about 100 µs a class here, so
    150,000 classes took half a minute. The survey must import within a few times the time
    it takes to read the file (benchmarks/survey_import.py), so the big tables are written
    from tuples, many rows per statement (on SQLite that halves the time executemany takes).
    Fields the import does not set get their model default, adapted by the same Field
    methods the ORM uses, so SQLite and PostgreSQL both receive what they expect.
    """

    # More rows per statement stops paying off well before any database's parameter limit.
    MAX_ROWS_PER_STATEMENT = 500

    def __init__(self, model: type[models.Model], fields: Sequence[str], *, now: dt.datetime) -> None:
        opts = model._meta
        qn = connection.ops.quote_name
        by_name = {f.name: f for f in opts.concrete_fields}
        given = [by_name[name] for name in fields]
        template = model()
        rest = [f for f in opts.concrete_fields if not f.primary_key and f.name not in fields]
        self.constants = tuple(
            f.get_db_prep_save(now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                               else getattr(template, f.attname), connection)
            for f in rest
        )
        self.width = len(given) + len(rest)
        columns = ", ".join(qn(f.get_attname_column()[1] or f.attname) for f in (*given, *rest))
        # Identifiers come from model metadata, values travel as parameters.
        self.insert_into = f"INSERT INTO {qn(opts.db_table)} ({columns})"
        self.insert_head = f"{self.insert_into} VALUES "
        # Django's SQLite cursor rewrites every %s to ? with a regex on each statement, a
        # third of the insert time for long multi-row statements; ? needs no rewriting.
        self.mark = "?" if connection.vendor == "sqlite" else "%s"
        self.row_marks = "(" + ", ".join([self.mark] * self.width) + ")"
        max_params = connection.features.max_query_params or self.MAX_ROWS_PER_STATEMENT * self.width
        self.per_statement = max(1, min(self.MAX_ROWS_PER_STATEMENT, max_params // self.width))
        self._sql: dict[int, str] = {}
        self.table = opts.db_table

    def _insert_sql(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            sql = self._sql[rows] = self.insert_head + ", ".join([self.row_marks] * rows)
        return sql

    def insert(self, rows: Iterable[tuple[Any, ...]]) -> None:
        constants = self.constants
        batch = [(*row, *constants) for row in rows]
        step = self.per_statement
        with connection.cursor() as cursor:
            for start in range(0, len(batch), step):
                chunk = batch[start : start + step]
                cursor.execute(self._insert_sql(len(chunk)), list(itertools.chain.from_iterable(chunk)))

    def update(self, fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """rows: the new values of fields, then the primary key."""
        if not rows:
            return
        qn = connection.ops.quote_name
        sets = ", ".join(f"{qn(name)} = %s" for name in fields)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {qn(self.table)} SET {sets} WHERE {qn('id')} = %s", rows)  # noqa: S608


class ClassWriter:
    """Writes classes and their status history in batches of BATCH_SIZE rows."""

    CREATE_FIELDS = ("school", "grade", "name", "pupils", "mode", "status", "built_year", "status_changed_on")
    UPDATE_COLUMNS = ("pupils", "mode_id", "status", "built_year", "status_changed_on", "updated_at")
    CHANGE_FIELDS = ("klass", "old_status", "new_status", "changed_on", "actor", "reason")

    def __init__(self, *, actor_id: int | None, reason: str, now: dt.datetime, db_now: Any, today: dt.date) -> None:
        self.actor_id = actor_id
        self.reason = reason
        self.db_now = db_now
        self.today = today
        self.classes = TableWriter(TeachingClass, self.CREATE_FIELDS, now=now)
        self.history = TableWriter(ClassStatusChange, self.CHANGE_FIELDS, now=now)
        self.to_create: list[tuple[Any, ...]] = []
        self.to_update: list[tuple[Any, ...]] = []
        self.changes: list[tuple[Any, ...]] = []
        # Every class this writer creates gets a larger id than any before it.
        self.last_id_before = TeachingClass.objects.aggregate(last=models.Max("id"))["last"] or 0
        self.created_with_history = False
        # first_status by (status, built year): a survey has only a handful of combinations.
        self._first: dict[tuple[str | None, int | None], tuple[str, int | None, Any, bool]] = {}
        self._dates: dict[dt.date | None, Any] = {None: None}

    def _date(self, value: dt.date | None) -> Any:
        prepared = self._dates.get(value)
        if prepared is None and value is not None:
            prepared = self._dates[value] = connection.ops.adapt_datefield_value(value)
        return prepared

    def create(self, school_id: int, entry: ClassEntry) -> None:
        first = self._first.get((entry.status, entry.built_year))
        if first is None:
            status, built_year, on = first_status(entry.status, entry.built_year, today=self.today)
            first = self._first[(entry.status, entry.built_year)] = (status, built_year, self._date(on), on is not None)
        status, built_year, db_on, has_history = first
        self.to_create.append(
            (school_id, entry.grade, entry.name, entry.pupils, entry.mode_id, status, built_year, db_on)
        )
        self.created_with_history |= has_history
        if len(self.to_create) >= BATCH_SIZE:
            self.classes.insert(self.to_create)
            self.to_create = []

    def update(self, class_id: int, d: ClassDecision) -> None:
        db_on = self._date(d.status_changed_on)
        self.to_update.append((d.pupils, d.mode_id, d.status, d.built_year, db_on, self.db_now, class_id))
        if d.old_status is not None:
            self.changes.append((class_id, d.old_status, d.status, db_on, self.actor_id, self.reason))
        if len(self.to_update) >= BATCH_SIZE:
            self.classes.update(self.UPDATE_COLUMNS, self.to_update)
            self.history.insert(self.changes)
            self.to_update, self.changes = [], []

    def finish(self) -> None:
        self.classes.insert(self.to_create)
        self.classes.update(self.UPDATE_COLUMNS, self.to_update)
        self.history.insert(self.changes)
        self.to_create, self.to_update, self.changes = [], [], []
        if self.created_with_history:
            self._history_of_new_classes()

    def _history_of_new_classes(self) -> None:
        """The first history row of each new class not created 未建, in one statement.

        A new class's status and its date are already on the class row, so the database
        copies them, instead of Python reading ids back. The classes are this import's: ids
        above those that existed before, stamped with this import's update time.
        """
        qn = connection.ops.quote_name
        column = {f.name: qn(f.get_attname_column()[1] or f.attname) for f in TeachingClass._meta.concrete_fields}
        m = self.history.mark
        constants = "".join(f", {m}" for _ in self.history.constants)
        select = f"{column['id']}, {m}, {column['status']}, {column['status_changed_on']}, {m}, {m}{constants}"
        where = f"{column['id']} > {m} AND {column['updated_at']} = {m} AND {column['status']} <> {m}"
        table = qn(TeachingClass._meta.db_table)
        # Identifiers come from model metadata, values travel as parameters.
        sql = f"{self.history.insert_into} SELECT {select} FROM {table} WHERE {where}"  # noqa: S608
        params = [
            "", self.actor_id, self.reason, *self.history.constants,
            self.last_id_before, self.db_now, TeachingClass.Status.NOT_BUILT.value,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
