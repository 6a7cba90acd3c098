"""Usage at province scale: the compliance dashboard over 1 M / 10 M lesson records, against a
plain GROUP BY and DuckDB, and classroom-event ingest.

Builds a province in a fresh database the way benchmarks/registry_pages.py does — 11 cities,
100 counties, ~1,400 towns, 15,000 schools, 150,000 teaching classes (about a third built) —
plus teachers (60,000 by default: DESIGN §7 says ~400,000 for a province, too slow to set up here;
note that compliance() counts Teacher rows for "teachers checked", so that count is flattered by
the smaller number) and one semester with no holidays, so every week is a full one (minimum 10
lessons a class, 2 a teacher).

Then, for each size in --records (newest week first, so the week measured is the same at every
size and only the history grows):

- lesson records are generated in bulk by INSERT … SELECT in the database (not through
  services.record_lesson, the per-record path): a built class has 4–16 lessons a week in
  distinct (day, period) slots, one non-built class in five has 1–3; about 3 % are left
  proposed (they do not count), about 1 % carry a flag. On PostgreSQL the records table's
  secondary indexes, unique and foreign-key constraints are dropped for the load and re-created
  after it (as pg_restore does), which also re-checks them;
- the roll-ups ClassWeek / TeacherWeek / SchoolWeek / TeacherSemester are built from them with
  INSERT … SELECT … GROUP BY, with the semantics of services._bump (confirmed records only;
  a class complies only if built and ≥ the week's minimum; a teacher ≥ 2);
- `usage.queries.compliance` (figures only, and with the short lists, limit 500) and
  `queries.trend` are timed for a province admin on the province and a county admin on their
  county;                                                            anchor: p95 < 50 ms
- the same weekly figures are computed by a plain GROUP BY over the records (in the database the
  run uses) and in DuckDB (records exported to CSV, loaded into an in-memory DuckDB table — the
  DuckDB sqlite/postgres extensions cannot be downloaded offline), timed, and checked equal;
- classroom events are ingested through `services.ingest_events` in batches (one classroom and
  one idempotency key each, timetable slots present so records are proposed), events/second
  reported;                                                          anchor: ≥ 5,000 events/s
  then proposals and evidence are checked by query, some proposals are confirmed through
  `services.confirm_record` (the per-record roll-up path) and the roll-ups of the schools touched
  are checked against a GROUP BY.

    .venv/bin/python benchmarks/usage.py                                  # SQLite, 1 M records
    .venv/bin/python benchmarks/usage.py --postgres postgresql://postgres@127.0.0.1:5432/postgres \\
        --records 1000000,10000000                                       # PostgreSQL, 1 M then 10 M
    .venv/bin/python benchmarks/usage.py --schools 1500 --classes 15000 --teachers 6000 \\
        --records 100000 --repeat 10                                     # quick look

With --postgres a temporary database is created next to the one in the URL and dropped after.
DuckDB is needed for the DuckDB column (`pip install duckdb`); without it that column is skipped.
"""

# ruff: noqa: S608  -- every SQL string here is built from constants and ints of this file, never from input

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmark, for its province builder
sys.path.insert(0, str(HERE.parent))  # the project

from registry_pages import CITIES, build_world, explain, prepare_environment, replay  # noqa: E402
from registry_pages import machine as registry_machine  # noqa: E402

TARGET_P95_MS = 50.0
TARGET_PAGE_P95_MS = 200.0  # the page anchor of benchmarks/registry_pages.py, for the dashboard page itself
TARGET_EVENTS_PER_S = 5000.0
WARMUP = 3
SEED = 20260103
BUILT = "('built', 'accepted')"
SUBJECTS = ("语文", "数学", "英语", "科学")
SEMESTER_WEEKS = 20
UNUSABLE = "!"  # Django's marker of an unusable password: the generated teachers cannot sign in


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schools", type=int, default=15_000)
    p.add_argument("--classes", type=int, default=150_000)
    p.add_argument("--teachers", type=int, default=60_000)
    p.add_argument("--records", default="1000000",
                   help="lesson records, or several sizes separated by commas, grown in the same database "
                        "(default 1000000)")
    p.add_argument("--repeat", type=int, default=30, help="timed calls per dashboard measurement (default 30)")
    p.add_argument("--plain-repeat", type=int, default=5, help="timed runs of each GROUP BY / DuckDB query (default 5)")
    p.add_argument("--ingest-batches", type=int, default=100, help="event batches per size, one classroom each")
    p.add_argument("--batch-events", type=int, default=960, help="events per batch (default 960)")
    p.add_argument("--confirm", type=int, default=200, help="proposals confirmed through confirm_record per size")
    p.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB comparison")
    p.add_argument("--postgres", metavar="URL", help="run against PostgreSQL (a temporary database is created)")
    p.add_argument("--analyze", action="store_true", help="run ANALYZE after loading on SQLite (always on PostgreSQL)")
    p.add_argument("--explain", action="store_true", help="print the plan of the slowest query of slow measurements")
    p.add_argument("--profile", action="store_true", help="cProfile one province compliance (with lists) and one batch")
    p.add_argument("--keep", action="store_true", help="keep the data directory / database afterwards")
    args = p.parse_args()
    args.sizes = sorted({int(s.replace("_", "")) for s in args.records.split(",") if s.strip()})
    return args


# --- small helpers ---------------------------------------------------------------------------
def vendor() -> str:
    from django.db import connection

    return connection.vendor


def q(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run raw SQL (%s / %(name)s placeholders, %% for a literal %); rows if it returns any."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def dparam(day: dt.date) -> Any:
    # Django stores dates on SQLite as ISO text; PostgreSQL takes the date itself.
    return day.isoformat() if vendor() == "sqlite" else day


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def duckdb_version() -> str:
    try:
        import duckdb
    except ImportError:
        return "DuckDB not installed"
    return f"DuckDB {duckdb.__version__}"


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{registry_machine()}, {duckdb_version()}; load average now {load}"


def analyze(args: argparse.Namespace) -> bool:
    if args.analyze or vendor() == "postgresql":
        q("ANALYZE")
        return True
    return False


# --- data ------------------------------------------------------------------------------------
@dataclass
class Province:
    world: Any
    teachers: int
    semester: Any
    last_monday: dt.date
    weeks_in_semester: int
    per_week: int
    class_min: int
    teacher_min: int
    seconds: float


def add_teachers(n_teachers: int) -> int:
    """Teachers spread over schools by their classes (at least one each), ids consecutive per school."""
    from django.db import transaction

    from banbantong.accounts.models import User
    from banbantong.org.models import School, Teacher

    rng = random.Random(SEED)
    schools = list(School.objects.order_by("id").values_list("id", "class_count"))
    total_classes = sum(c for _, c in schools) or 1
    per_school = {sid: max(1, round(c * n_teachers / total_classes)) for sid, c in schools}
    ids = [sid for sid, _ in schools]
    while (diff := sum(per_school.values()) - n_teachers) != 0:
        sid = rng.choice(ids)
        if diff > 0 and per_school[sid] > 1:
            per_school[sid] -= 1
        elif diff < 0:
            per_school[sid] += 1
    with transaction.atomic():
        users, pairs = [], []
        for sid, _ in schools:
            for _ in range(per_school[sid]):
                i = len(users)
                users.append(User(username=f"t{i:06d}", password=UNUSABLE, role="teacher", school_id=sid,
                                  display_name=f"教师{i}"))
                pairs.append(sid)
        User.objects.bulk_create(users, batch_size=2000)
        if any(u.pk is None for u in users):  # very old SQLite does not return ids
            by_name = dict(User.objects.filter(role="teacher").values_list("username", "id"))
            for u in users:
                u.pk = by_name[u.username]
        Teacher.objects.bulk_create(
            [Teacher(user_id=u.pk, school_id=sid, name=u.display_name, subject=SUBJECTS[u.pk % 4])
             for u, sid in zip(users, pairs, strict=True)], batch_size=2000)
    # Records pick a teacher of their school by arithmetic on this map: first id + (x mod n).
    q("CREATE TABLE bench_tmap (school_id bigint PRIMARY KEY, first_id bigint NOT NULL, n integer NOT NULL)")
    q("INSERT INTO bench_tmap SELECT school_id, MIN(id), COUNT(*) FROM org_teacher GROUP BY school_id")
    gaps = q("SELECT COUNT(*) FROM bench_tmap t WHERE (SELECT MAX(id) FROM org_teacher x WHERE x.school_id = t.school_id)"
             " - t.first_id + 1 <> t.n")[0][0]
    assert gaps == 0, "teacher ids are not consecutive per school"
    # The schools' teacher_count roll-up, as org.services.refresh_school_counts keeps it.
    q("UPDATE org_school SET teacher_count = COALESCE((SELECT n FROM bench_tmap t WHERE t.school_id = org_school.id), 0)")
    return len(users)


def records_select(week_index: int, *, skip_taken: bool = False) -> str:
    """The SELECT that generates one week of lesson records, in a fixed order so LIMIT can split it.

    Integer hashes of (class, week) decide how many lessons a class has that week and in which
    distinct (day, period) slots: slot = (h + 11 k) mod 40 for k < lessons, 11 being prime to 40.
    skip_taken leaves out slots that already hold a record (a week filled in part by an earlier
    size, or records proposed from ingested events).
    """
    w = int(week_index)
    taken = ("WHERE NOT EXISTS (SELECT 1 FROM usage_lessonrecord e WHERE e.klass_id = x.klass_id "
             "AND e.date = dd.day AND e.period = x.slot %% 8 + 1)") if skip_taken else ""
    flags = "CAST({} AS jsonb)" if vendor() == "postgresql" else "{}"
    flag_expr = flags.format("CASE WHEN x.h2 %% 97 = 0 THEN '[\"late_entry\"]' ELSE '[]' END")
    return f"""
        WITH c AS (
            SELECT id, school_id, CASE WHEN status IN {BUILT} THEN 1 ELSE 0 END AS built,
                   (id * 2654435761 + {w} * 97531 + 12345) %% 1000000007 AS h
            FROM org_teachingclass
        ), n AS (
            SELECT id, school_id, h,
                   CASE WHEN built = 1 THEN 4 + h %% 13 WHEN h %% 5 = 0 THEN 1 + (h / 5) %% 3 ELSE 0 END AS lessons
            FROM c
        ), x AS (
            SELECT n.id AS klass_id, n.school_id, k.k, (n.h + k.k * 11) %% 40 AS slot,
                   (n.h / 40 + k.k * 7919) %% 9973 AS h2
            FROM n JOIN bench_k k ON k.k < n.lessons
        )
        SELECT x.klass_id, x.school_id, t.first_id + (x.klass_id * 7 + x.slot) %% t.n, %(semester)s,
               dd.day, dd.monday, x.slot %% 8 + 1,
               CASE x.slot %% 4 WHEN 0 THEN '语文' WHEN 1 THEN '数学' WHEN 2 THEN '英语' ELSE '科学' END,
               '', '', FALSE, TRUE, TRUE, FALSE, 'manual',
               CASE WHEN x.h2 %% 33 = 0 THEN 'proposed' ELSE 'confirmed' END,
               {flag_expr}, 0, %(now)s, NULL
        FROM x
        JOIN bench_tmap t ON t.school_id = x.school_id
        JOIN bench_days dd ON dd.w = {w} AND dd.d = x.slot / 8
        {taken}
        ORDER BY x.klass_id, x.k
    """


RECORD_COLUMNS = ("klass_id, school_id, teacher_id, semester_id, date, week, period, subject, topic, resources, "
                  "has_plan, used_in_class, recorded, stored, evidence, status, flags, evidence_minutes, created_at, "
                  "created_by_id")


def build_province(args: argparse.Namespace) -> Province:
    from banbantong.org.models import School
    from banbantong.usage import services
    from banbantong.usage.models import Semester

    world = build_world(args.schools, args.classes)
    started = time.perf_counter()
    teachers = add_teachers(args.teachers)

    from django.utils import timezone

    today = timezone.localdate()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)  # the last full week
    q("CREATE TABLE bench_k (k integer PRIMARY KEY)")
    q("INSERT INTO bench_k (k) VALUES " + ", ".join(f"({k})" for k in range(40)), ())
    # How many records a week makes, to size the semester for the largest history asked for.
    probe = records_select(0).split("SELECT x.klass_id")[0] + "SELECT COUNT(*) FROM x"
    per_week = q(probe, {"semester": 0, "now": None})[0][0]
    # At least a real semester's 20 weeks, so an ingest batch's backlog (~11 weeks) fits in it.
    weeks = max(SEMESTER_WEEKS, math.ceil(max(args.sizes) / max(per_week, 1) * 1.05) + 1)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    semester = Semester.objects.create(region=world.province, name="基准学期", start=first_monday,
                                       end=last_monday + dt.timedelta(days=4))
    date_type = "date" if vendor() == "postgresql" else "text"
    q(f"CREATE TABLE bench_days (w integer NOT NULL, d integer NOT NULL, monday {date_type} NOT NULL, "
      f"day {date_type} NOT NULL, PRIMARY KEY (w, d))")
    for w in range(weeks):
        monday = last_monday - dt.timedelta(weeks=w)
        for d in range(5):
            q("INSERT INTO bench_days (w, d, monday, day) VALUES (%s, %s, %s, %s)",
              (w, d, dparam(monday), dparam(monday + dt.timedelta(days=d))))
    # The minimums the services would use for a full week of this calendar.
    school = School.objects.filter(built_count__gt=0).first()
    mins = services.week_minimums(school, last_monday)
    assert mins.teaching_days == 5, mins
    return Province(world, teachers, semester, last_monday, weeks, per_week, mins.klass, mins.teacher,
                    time.perf_counter() - started)


@dataclass
class Loaded:
    """How far the generator got: weeks 0..week-1 complete, week `week` partly if `partial`."""

    total: int = 0
    week: int = 0
    partial: bool = False
    touched: set[int] = field(default_factory=set)  # weeks whose roll-ups are to be (re)built
    dirty: set[int] = field(default_factory=set)  # weeks with records from ingested events


def drop_record_indexes() -> list[str]:
    """PostgreSQL: drop the records table's secondary indexes, unique and foreign-key constraints
    for the bulk load, as pg_restore loads before it indexes; returns the DDL that puts them back."""
    table = "'usage_lessonrecord'::regclass"
    constraints = q(f"SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {table} "
                    "AND contype IN ('u', 'f') ORDER BY contype DESC, conname")
    indexes = q("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_lessonrecord' AND indexname NOT IN "
                f"(SELECT conname FROM pg_constraint WHERE conrelid = {table}) ORDER BY indexname")
    for name, _, _ in constraints:
        q(f'ALTER TABLE usage_lessonrecord DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        q(f'DROP INDEX "{name}"')
    # Unique ('u') before foreign keys ('f'), as ordered above.
    return [d for _, d in indexes] + [f'ALTER TABLE usage_lessonrecord ADD CONSTRAINT "{n}" {d}' for n, _, d in constraints]


def restore_record_indexes(ddl: list[str]) -> None:
    q("SET maintenance_work_mem = '256MB'")
    for statement in ddl:
        q(statement)
    q("RESET maintenance_work_mem")


def generate(prov: Province, state: Loaded, target: int) -> tuple[float, float]:
    """Add records up to target; returns (seconds inserting, seconds re-indexing on PostgreSQL)."""
    from django.db import transaction
    from django.utils import timezone

    started = time.perf_counter()
    params = {"semester": prov.semester.pk, "now": timezone.now()}
    ddl = drop_record_indexes() if vendor() == "postgresql" else []
    while state.total < target:
        if state.week >= prov.weeks_in_semester:
            raise SystemExit(f"semester too short for {target:,} records")
        want = target - state.total
        t0 = time.perf_counter()
        with transaction.atomic():
            from django.db import connection

            skip = state.partial or state.week in state.dirty
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO usage_lessonrecord ({RECORD_COLUMNS}) "
                               f"{records_select(state.week, skip_taken=skip)} LIMIT {want}", params)
                added = cursor.rowcount
        state.touched.add(state.week)
        state.total += added
        print(f"  week -{state.week:<2} +{added:,} records ({added / (time.perf_counter() - t0):,.0f}/s), "
              f"{state.total:,} in all", flush=True)
        if added < want:  # the week is complete
            state.week += 1
            state.partial = False
        else:
            state.partial = True
    inserted = time.perf_counter()
    if not ddl:
        return inserted - started, 0.0
    restore_record_indexes(ddl)
    return inserted - started, time.perf_counter() - inserted


def rollup_selects(where_weeks: str, where_school: str = "") -> dict[str, str]:
    """GROUP BY queries giving exactly the rows services._bump keeps, for some weeks (and schools)."""
    rs = f" AND r.school_id IN ({where_school})" if where_school else ""
    ws = f" AND school_id IN ({where_school})" if where_school else ""
    flagged = "r.flags <> '[]'"
    return {
        "usage_classweek (klass_id, school_id, week, lessons, minimum, compliant)": f"""
            SELECT r.klass_id, MIN(r.school_id), r.week, COUNT(*), %(class_min)s,
                   CASE WHEN MIN(c.status) IN {BUILT} AND COUNT(*) >= %(class_min)s THEN TRUE ELSE FALSE END
            FROM usage_lessonrecord r JOIN org_teachingclass c ON c.id = r.klass_id
            WHERE r.status = 'confirmed' AND {where_weeks.format(col="r.week")}{rs}
            GROUP BY r.klass_id, r.week""",
        "usage_teacherweek (teacher_id, school_id, week, lessons, minimum, compliant)": f"""
            SELECT r.teacher_id, MIN(r.school_id), r.week, COUNT(*), %(teacher_min)s,
                   CASE WHEN COUNT(*) >= %(teacher_min)s AND %(teacher_min)s > 0 THEN TRUE ELSE FALSE END
            FROM usage_lessonrecord r
            WHERE r.status = 'confirmed' AND {where_weeks.format(col="r.week")}{rs}
            GROUP BY r.teacher_id, r.week""",
        "usage_schoolweek (school_id, region_path, week, lessons, compliant_classes, compliant_teachers, flagged, bbt)": f"""
            SELECT r.school_id, s.region_path, r.week, r.n, COALESCE(cw.n, 0), COALESCE(tw.n, 0), r.f,
                   CASE WHEN s.built_count > 0 THEN TRUE ELSE FALSE END
            FROM (SELECT r.school_id, r.week, COUNT(*) AS n, SUM(CASE WHEN {flagged} THEN 1 ELSE 0 END) AS f
                  FROM usage_lessonrecord r
                  WHERE r.status = 'confirmed' AND {where_weeks.format(col="r.week")}{rs}
                  GROUP BY r.school_id, r.week) r
            JOIN org_school s ON s.id = r.school_id
            LEFT JOIN (SELECT school_id, week, COUNT(*) AS n FROM usage_classweek
                       WHERE compliant AND {where_weeks.format(col="week")}{ws} GROUP BY school_id, week) cw
                   ON cw.school_id = r.school_id AND cw.week = r.week
            LEFT JOIN (SELECT school_id, week, COUNT(*) AS n FROM usage_teacherweek
                       WHERE compliant AND {where_weeks.format(col="week")}{ws} GROUP BY school_id, week) tw
                   ON tw.school_id = r.school_id AND tw.week = r.week""",
    }


def build_rollups(prov: Province, weeks: Iterable[int]) -> float:
    """Recompute the roll-ups of these weeks (delete, then INSERT … SELECT … GROUP BY)."""
    from django.db import transaction

    from banbantong.usage import services

    started = time.perf_counter()
    mondays = sorted(prov.last_monday - dt.timedelta(weeks=w) for w in weeks)
    params = {"lo": dparam(mondays[0]), "hi": dparam(mondays[-1]), "class_min": prov.class_min,
              "teacher_min": prov.teacher_min, "semester": prov.semester.pk}
    where = "{col} >= %(lo)s AND {col} <= %(hi)s"
    with transaction.atomic():
        for table in ("usage_schoolweek", "usage_teacherweek", "usage_classweek"):
            q(f"DELETE FROM {table} WHERE {where.format(col='week')}", params)
        for target, select in rollup_selects(where).items():  # in order: classes, teachers, schools
            q(f"INSERT INTO {target} {select}", params)
        q("DELETE FROM usage_teachersemester WHERE semester_id = %(semester)s", params)
        q("INSERT INTO usage_teachersemester (teacher_id, school_id, semester_id, lessons)"
          " SELECT teacher_id, MIN(school_id), semester_id, COUNT(*)"
          " FROM usage_lessonrecord WHERE status = 'confirmed' AND semester_id = %(semester)s"
          " GROUP BY teacher_id, semester_id", params)
        # The places' weeks from the schools' weeks, as the services keep them.
        services.rebuild_place_weeks([mondays[0] + dt.timedelta(weeks=i)
                                      for i in range((mondays[-1] - mondays[0]).days // 7 + 1)])
    return time.perf_counter() - started


def verify_rollups(prov: Province, school_ids: list[int]) -> list[str]:
    """Differences between the stored roll-ups of these schools and a GROUP BY of their records."""
    problems = []
    ids = ", ".join(str(int(i)) for i in sorted(set(school_ids))) or "NULL"
    params = {"class_min": prov.class_min, "teacher_min": prov.teacher_min}
    for target, select in rollup_selects("1 = 1", ids).items():
        table, cols = target.split(" ", 1)
        cols = cols.strip("()")
        norm = lambda rows: {tuple(str(int(v)) if isinstance(v, bool) else str(v) for v in r) for r in rows}  # noqa: E731
        expected = norm(q(select, params))
        stored = norm(q(f"SELECT {cols} FROM {table} WHERE school_id IN ({ids}) AND lessons > 0", ()))
        if expected != stored:
            problems.append(f"{table}: {len(expected - stored)} rows expected but not stored, "
                            f"{len(stored - expected)} stored but not expected, e.g. "
                            f"{sorted(expected - stored)[:2]} / {sorted(stored - expected)[:2]}")
    # The places of these schools: each PlaceWeek row is the sum of its schools' weeks.
    place_sums = ("SELECT region_path, week, SUM(lessons), SUM(CASE WHEN bbt THEN compliant_classes ELSE 0 END), "
                  "SUM(CASE WHEN bbt THEN compliant_teachers ELSE 0 END), SUM(flagged) FROM usage_schoolweek "
                  "WHERE region_path IN (SELECT region_path FROM org_school WHERE id IN ({ids})) "
                  "GROUP BY region_path, week")
    expected_places = {tuple(str(v) for v in r) for r in q(place_sums.format(ids=ids))}
    stored_places = {tuple(str(v) for v in r) for r in q(
        "SELECT region_path, week, lessons, compliant_classes, compliant_teachers, flagged FROM usage_placeweek "
        f"WHERE region_path IN (SELECT region_path FROM org_school WHERE id IN ({ids}))")}  # noqa: S608
    if expected_places != stored_places:
        problems.append(f"usage_placeweek: {len(expected_places - stored_places)} rows expected but not stored, "
                        f"{len(stored_places - expected_places)} stored but not expected, e.g. "
                        f"{sorted(expected_places - stored_places)[:2]} / {sorted(stored_places - expected_places)[:2]}")
    return problems


# --- the dashboard and its plain equivalents -------------------------------------------------
@dataclass
class Row:
    size: int
    label: str
    samples: list[float]
    target: str
    ok: bool | None
    queries: int = 0
    slowest_ms: float = 0.0
    slowest_sql: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return p95(self.samples)


def measure(size: int, label: str, fn: Callable[[], Any], repeat: int, *, target_ms: float | None,
            warmup: int = WARMUP, capture: bool = True) -> Row:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    row = Row(size, label, samples, f"p95 < {target_ms:.0f} ms" if target_ms else "—", None)
    if target_ms:
        row.ok = row.p95 < target_ms
    if capture:
        with CaptureQueriesContext(connection) as ctx:
            fn()
        # execute() may return at the first row, so each SELECT is run again and timed to its last row.
        timed = [(replay(x["sql"]), x["sql"]) for x in ctx.captured_queries]
        row.queries = len(timed)
        row.slowest_ms, row.slowest_sql = max(timed, default=(0.0, ""))
    return row


@dataclass(frozen=True)
class Figures:
    classes_checked: int
    classes_compliant: int
    teachers_checked: int
    teachers_compliant: int
    lessons: int
    flagged: int


def plain_sql(flavour: str) -> str:
    """The week's figures straight from the records (and the registry), no roll-up used."""
    p = "?" if flavour == "duckdb" else "%s"
    rec, cls, sch, tch = (("r", "c", "s", "t") if flavour == "duckdb" else
                          ("usage_lessonrecord", "org_teachingclass", "org_school", "org_teacher"))
    flagged = "r.flagged = 1" if flavour == "duckdb" else "r.flags <> '[]'"
    in_region = f"s.region_path >= {p} AND s.region_path < {p}"
    bbt_school = f"EXISTS (SELECT 1 FROM {cls} c2 WHERE c2.school_id = s.id AND c2.status IN {BUILT})"
    week = f"r.week = {p} AND r.status = 'confirmed'"
    return f"""
        SELECT
          (SELECT COUNT(*) FROM {cls} c JOIN {sch} s ON s.id = c.school_id
            WHERE c.status IN {BUILT} AND {in_region}),
          (SELECT COUNT(*) FROM (
             SELECT r.klass_id FROM {rec} r JOIN {cls} c ON c.id = r.klass_id JOIN {sch} s ON s.id = r.school_id
             WHERE {week} AND c.status IN {BUILT} AND {in_region}
             GROUP BY r.klass_id HAVING COUNT(*) >= {p}) q1),
          (SELECT COUNT(*) FROM {tch} t JOIN {sch} s ON s.id = t.school_id WHERE {in_region} AND {bbt_school}),
          (SELECT COUNT(*) FROM (
             SELECT r.teacher_id FROM {rec} r JOIN {sch} s ON s.id = r.school_id
             WHERE {week} AND {in_region} AND {bbt_school}
             GROUP BY r.teacher_id HAVING COUNT(*) >= {p}) q2),
          (SELECT COUNT(*) FROM {rec} r JOIN {sch} s ON s.id = r.school_id WHERE {week} AND {in_region}),
          (SELECT COALESCE(SUM(CASE WHEN {flagged} THEN 1 ELSE 0 END), 0)
             FROM {rec} r JOIN {sch} s ON s.id = r.school_id WHERE {week} AND {in_region})
    """


def plain_params(path: str, week: Any, prov: Province) -> list[Any]:
    lo, hi = path, path[:-1] + "0"
    return [lo, hi, week, lo, hi, prov.class_min, lo, hi, week, lo, hi, prov.teacher_min, week, lo, hi, week, lo, hi]


def figures_of(report: Any) -> Figures:
    return Figures(report.classes_checked, report.classes_compliant, report.teachers_checked,
                   report.teachers_compliant, report.lessons, report.flagged)


class Duck:
    """The records (and the registry columns the figures need) in an in-memory DuckDB."""

    def __init__(self, data_dir: Path) -> None:
        import duckdb

        self.con = duckdb.connect()
        self.dir = data_dir
        self.export_s = self.load_s = 0.0
        self.bytes = 0

    def reload(self) -> None:
        from django.db import connection

        flagged = "CASE WHEN flags <> '[]' THEN 1 ELSE 0 END"
        tables = {
            "r": (f"SELECT klass_id, school_id, teacher_id, week, status, {flagged} FROM usage_lessonrecord",
                  "klass_id BIGINT, school_id BIGINT, teacher_id BIGINT, week DATE, status VARCHAR, flagged INTEGER"),
            "c": ("SELECT id, school_id, status FROM org_teachingclass", "id BIGINT, school_id BIGINT, status VARCHAR"),
            "s": ("SELECT id, region_path FROM org_school", "id BIGINT, region_path VARCHAR"),
            "t": ("SELECT id, school_id FROM org_teacher", "id BIGINT, school_id BIGINT"),
        }
        t0 = time.perf_counter()
        files = {}
        for name, (select, _) in tables.items():
            path = self.dir / f"duck_{name}.csv"
            files[name] = path
            with connection.cursor() as cursor:
                if vendor() == "postgresql":
                    with path.open("wb") as raw, cursor.cursor.copy(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)") as cp:
                        for chunk in cp:
                            raw.write(chunk)
                else:
                    cursor.execute(select)
                    with path.open("w", newline="", encoding="utf-8") as out:
                        writer = csv.writer(out)
                        while rows := cursor.fetchmany(100_000):
                            writer.writerows(rows)
        self.export_s = time.perf_counter() - t0
        self.bytes = sum(p.stat().st_size for p in files.values())
        t0 = time.perf_counter()
        for name, (_, columns) in tables.items():
            spec = "{" + ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in columns.split(", ")) + "}"
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM "
                             f"read_csv('{files[name]}', header = false, columns = {spec})")
        self.load_s = time.perf_counter() - t0
        for path in files.values():
            path.unlink()

    def figures(self, path: str, week: dt.date, prov: Province) -> Figures:
        row = self.con.execute(plain_sql("duckdb"), plain_params(path, week, prov)).fetchone()
        return Figures(*(int(v) for v in row))


# --- event ingest ----------------------------------------------------------------------------
@dataclass
class Ingest:
    size: int
    batches: int
    events: int
    seconds: float
    accepted: int
    proposed: int
    evidence_expected: int
    evidence_found: int
    new_records: int
    per_batch_ms: list[float]
    confirm_ms: list[float]
    rollup_problems: list[str]
    weeks: set[int]  # week indexes (0 = the measured week) the events fell in


def set_up_classrooms(prov: Province, round_no: int, n: int) -> list[Any]:
    """n built classes spread over the province, each with a classroom and a full timetable."""
    from banbantong.org.models import Classroom, TeachingClass
    from banbantong.usage.models import TimetableSlot

    built = list(TeachingClass.objects.built().filter(classroom__isnull=True).order_by("id")
                 .values_list("id", "school_id"))
    stride = max(1, len(built) // max(n, 1))
    chosen = built[round_no % stride::stride][:n]
    tmap = dict(((s, (f, c)) for s, f, c in q("SELECT school_id, first_id, n FROM bench_tmap")))
    rooms = Classroom.objects.bulk_create(
        [Classroom(school_id=sid, name=f"bench-{cid}", building="基准楼", teaching_class_id=cid) for cid, sid in chosen])
    slots = []
    for cid, sid in chosen:
        first, count = tmap[sid]
        for weekday in range(1, 6):
            for period in range(1, 9):
                slot = (weekday - 1) * 8 + period - 1
                slots.append(TimetableSlot(klass_id=cid, semester=prov.semester, weekday=weekday, period=period,
                                           subject=SUBJECTS[slot % 4], teacher_id=first + (cid * 7 + slot) % count))
    TimetableSlot.objects.bulk_create(slots, batch_size=2000)
    return list(Classroom.objects.filter(pk__in=[r.pk for r in rooms]).select_related("school", "teaching_class"))


def events_for(klass_id: int, last_friday: dt.date, first_day: dt.date, n_events: int) -> tuple[list[dict[str, Any]],
                                                                                               set[tuple[int, dt.date, int]]]:
    """A terminal's backlog: on / resource opened / off around most periods of past school days."""
    from banbantong.usage import rules

    events: list[dict[str, Any]] = []
    used: set[tuple[int, dt.date, int]] = set()
    day = last_friday
    while len(events) + 3 <= n_events and day >= first_day:
        if day.weekday() < 5:
            for period, (start, end) in rules.DEFAULT_PERIOD_TIMES.items():
                if (klass_id + day.toordinal() + period) % 4 == 0 or len(events) + 3 > n_events:
                    continue
                on = dt.datetime.combine(day, start) - dt.timedelta(minutes=2)
                off = dt.datetime.combine(day, end) + dt.timedelta(minutes=2)
                events += [
                    {"kind": "power_on", "at": on.isoformat() + "+08:00"},
                    {"kind": "resource_opened", "at": (on + dt.timedelta(minutes=7)).isoformat() + "+08:00",
                     "resource": f"课件/{SUBJECTS[period % 4]}/{klass_id}-{day:%m%d}-{period}.pptx"},
                    {"kind": "power_off", "at": off.isoformat() + "+08:00"},
                ]
                used.add((klass_id, day, period))
        day -= dt.timedelta(days=1)
    return events, used


def run_ingest(prov: Province, args: argparse.Namespace, size: int, round_no: int) -> Ingest:
    from banbantong.usage import rules, services
    from banbantong.usage.models import LessonRecord

    rooms = set_up_classrooms(prov, round_no, args.ingest_batches)
    last_friday = prov.last_monday + dt.timedelta(days=4)
    batches = []
    expected: set[tuple[int, dt.date, int]] = set()
    for room in rooms:
        events, used = events_for(room.teaching_class_id, last_friday, prov.semester.start, args.batch_events)
        batches.append((room, f"bench-{size}-{room.pk}", events))
        expected |= used
    class_ids = [r.teaching_class_id for r in rooms]
    before = LessonRecord.objects.filter(klass_id__in=class_ids).count()

    results, per_batch = [], []
    if args.profile:
        import cProfile
        import pstats

        room, key, events = batches.pop()
        profiler = cProfile.Profile()
        results.append(profiler.runcall(services.ingest_events, actor=None, key=key, classroom=room, events=events))
        print(f"\nprofile of one ingest_events batch ({len(events)} events), top 20 by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)
    started = time.perf_counter()
    for room, key, events in batches:
        t0 = time.perf_counter()
        results.append(services.ingest_events(actor=None, key=key, classroom=room, events=events))
        per_batch.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - started
    n_events = sum(len(e) for _, _, e in batches)

    after = LessonRecord.objects.filter(klass_id__in=class_ids).count()
    evidence = LessonRecord.objects.filter(klass_id__in=class_ids, evidence=LessonRecord.Evidence.EVENTS).count()

    # Confirm some proposals through the per-record path, then check the touched schools' roll-ups.
    proposals = list(LessonRecord.objects.filter(klass_id__in=class_ids, status=LessonRecord.Status.PROPOSED,
                                                 evidence=LessonRecord.Evidence.EVENTS).order_by("id")[: args.confirm])
    confirm_ms = []
    for record in proposals:
        t0 = time.perf_counter()
        services.confirm_record(record, actor=None)
        confirm_ms.append((time.perf_counter() - t0) * 1000)
    problems = verify_rollups(prov, [r.school_id for r in rooms])
    return Ingest(size, len(batches), n_events, seconds, sum(r["accepted"] for r in results),
                  sum(r["proposed"] for r in results), len(expected), evidence, after - before, per_batch,
                  confirm_ms, problems, {(prov.last_monday - rules.week_start(d)).days // 7 for _, d, _ in expected})


# --- the run ---------------------------------------------------------------------------------
def main() -> None:
    args = parse_args()
    data_dir, cleanup = prepare_environment(args)
    try:
        run(args, data_dir)
    finally:
        cleanup()


def run(args: argparse.Namespace, data_dir: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from banbantong.accounts.models import User
    from banbantong.usage import queries
    from banbantong.usage.rules import iso_week

    call_command("migrate", interactive=False, verbosity=0)
    print(f"machine: {machine()}")
    prov = build_province(args)
    world = prov.world
    print(
        f"province: {len(CITIES)} cities, {world.counties} counties, {world.towns:,} towns, {world.schools:,} schools, "
        f"{world.classes:,} classes ({world.built:,} built, {world.built * 100 / world.classes:.1f}%), "
        f"{prov.teachers:,} teachers (DESIGN §7: ~400,000; fewer to keep set-up short); "
        f"registry {world.seconds:.0f} s + teachers/calendar {prov.seconds:.0f} s"
    )
    print(f"semester: {prov.semester.start} – {prov.semester.end} ({prov.weeks_in_semester} full weeks, no holidays); "
          f"~{prov.per_week:,} records a week; minimums {prov.class_min}/class, {prov.teacher_min}/teacher a week")
    print(f"measured week: {prov.last_monday} (the newest; records are generated newest week first)")
    print(f"anchors: compliance/trend p95 < {TARGET_P95_MS:.0f} ms ({args.repeat} timed calls after {WARMUP} warm-up); "
          f"ingest ≥ {TARGET_EVENTS_PER_S:,.0f} events/s; the dashboard page (GET /usage/: compliance with lists, "
          f"trend, by_school) p95 < {TARGET_PAGE_P95_MS:.0f} ms as in registry_pages.py")

    province_admin = User.objects.get(username="province_admin")
    county_admin = User.objects.get(username="county_admin")
    province, county = world.province, world.county
    week = prov.last_monday
    duck = None
    if not args.no_duckdb:
        try:
            duck = Duck(data_dir)
        except ImportError:
            print("DuckDB not installed: DuckDB column skipped")

    rows: list[Row] = []
    ingests: list[Ingest] = []
    mismatches: list[str] = []
    loads: list[str] = []
    state = Loaded()
    for round_no, size in enumerate(args.sizes):
        print(f"\n== {size:,} lesson records == (load average {os.getloadavg()[0]:.1f})", flush=True)
        gen_s, index_s = generate(prov, state, size)
        roll_s = build_rollups(prov, state.touched)
        state.touched = {state.week} if state.partial else set()  # a partly filled week is redone next time
        t0 = time.perf_counter()
        analyzed = analyze(args)
        counts = {t: q(f"SELECT COUNT(*) FROM {t}")[0][0] for t in
                  ("usage_lessonrecord", "usage_classweek", "usage_teacherweek", "usage_schoolweek")}
        weeks_loaded = q("SELECT COUNT(DISTINCT week) FROM usage_lessonrecord")[0][0]
        loads.append(
            f"{size:>11,}: generated in {gen_s:.0f} s ({size / max(gen_s, 1e-9):,.0f} rows/s)"
            f"{f' + indexes/constraints re-created in {index_s:.0f} s' if index_s else ''}, roll-ups built in "
            f"{roll_s:.0f} s{', ANALYZE ' + format(time.perf_counter() - t0, '.0f') + ' s' if analyzed else ', no ANALYZE'}; "
            f"{weeks_loaded} weeks; records {counts['usage_lessonrecord']:,}, ClassWeek {counts['usage_classweek']:,}, "
            f"TeacherWeek {counts['usage_teacherweek']:,}, SchoolWeek {counts['usage_schoolweek']:,}")
        print("  " + loads[-1].strip(), flush=True)

        cases = [("province", province_admin, province), ("county", county_admin, county)]
        answers: dict[str, Figures] = {}
        for name, user, region in cases:
            answers[name] = figures_of(queries.compliance(user, region, week, with_lists=False))
            rows.append(measure(size, f"compliance {name} figures", lambda u=user, r=region: queries.compliance(
                u, r, week, with_lists=False), args.repeat, target_ms=TARGET_P95_MS))
            rows.append(measure(size, f"compliance {name} + lists (500)", lambda u=user, r=region: queries.compliance(
                u, r, week), args.repeat, target_ms=TARGET_P95_MS))
            rows.append(measure(size, f"trend {name} (8 weeks)", lambda u=user, r=region: queries.trend(u, r, week),
                                args.repeat, target_ms=TARGET_P95_MS))
            # Not in the anchor, but on the same page: the per-school table, and the page itself.
            rows.append(measure(size, f"by_school {name} (first 300)", lambda u=user, r=region: queries.by_school(
                u, r, week, limit=300), args.repeat, target_ms=None))
            client = Client()
            client.force_login(user)
            url = f"/usage/?region={region.pk}&week={iso_week(week)}"
            if client.get(url).status_code != 200:
                raise SystemExit(f"GET {url} did not answer 200")
            rows.append(measure(size, f"GET /usage/ {name} (page)", lambda c=client, u=url: c.get(u), args.repeat,
                                target_ms=TARGET_PAGE_P95_MS))
            print(f"  {rows[-5].label}: p95 {rows[-5].p95:.1f} ms, with lists {rows[-4].p95:.1f} ms, "
                  f"trend {rows[-3].p95:.1f} ms, by_school {rows[-2].p95:.1f} ms, page {rows[-1].p95:.1f} ms "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)

        for name, _, region in cases:
            params = plain_params(region.path, dparam(week), prov)
            plain = Figures(*(int(v) for v in q(plain_sql("db"), params)[0]))
            rows.append(measure(size, f"plain GROUP BY {name} ({vendor()})", lambda p=params: q(plain_sql("db"), p),
                                args.plain_repeat, target_ms=None, warmup=1, capture=False))
            got = {"roll-ups": answers[name], f"GROUP BY {vendor()}": plain}
            if duck is not None:
                if name == "province":
                    duck.reload()
                    print(f"  DuckDB: exported {duck.bytes / 1e6:,.0f} MB of CSV in {duck.export_s:.1f} s, "
                          f"loaded in {duck.load_s:.1f} s", flush=True)
                got["DuckDB"] = duck.figures(region.path, week, prov)
                rows.append(measure(size, f"DuckDB GROUP BY {name}", lambda r=region: duck.figures(r.path, week, prov),
                                    args.plain_repeat, target_ms=None, warmup=1, capture=False))
                rows[-1].note = f"+ export {duck.export_s:.1f} s, load {duck.load_s:.1f} s once"
            print(f"  {name} week {week}: " + "; ".join(f"{k} {v}" for k, v in got.items()), flush=True)
            reference = plain
            for source, figures in got.items():
                for fld in Figures.__dataclass_fields__:
                    if getattr(figures, fld) != getattr(reference, fld):
                        mismatches.append(f"{size:,} {name}: {fld} = {getattr(figures, fld):,} from {source}, "
                                          f"{getattr(reference, fld):,} from the records")
                        if fld == "teachers_compliant" and source == "roll-ups":
                            outside = q("SELECT COALESCE(SUM(w.compliant_teachers), 0) FROM usage_schoolweek w "
                                        "JOIN org_school s ON s.id = w.school_id WHERE w.week = %s AND s.built_count = 0 "
                                        "AND s.region_path >= %s AND s.region_path < %s",
                                        (dparam(week), region.path, region.path[:-1] + "0"))[0][0]
                            mismatches.append(
                                f"    of which {outside:,} are teachers of schools without a built class "
                                f"(SchoolWeek.compliant_teachers where built_count = 0): counted as compliant, "
                                f"though not among the {figures.teachers_checked:,} teachers checked")

        if args.ingest_batches <= 0:
            continue
        result = run_ingest(prov, args, size, round_no)
        ingests.append(result)
        state.dirty |= result.weeks
        state.touched |= result.weeks & set(range(state.week))  # confirmed proposals in weeks loaded so far
        print(f"  ingest: {result.events:,} events in {result.batches} batches, {result.seconds:.1f} s, "
              f"{result.events / result.seconds:,.0f} events/s", flush=True)

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(queries.compliance, province_admin, province, week)
        print("\nprofile of compliance(province admin, province, with lists), top 25 by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)

    # --- report ---------------------------------------------------------------------------------
    print(f"\nmachine: {machine()}")
    print(f"province: {world.schools:,} schools, {world.classes:,} classes ({world.built:,} built), "
          f"{prov.teachers:,} teachers; county '{county.name}' has "
          f"{q('SELECT COUNT(*) FROM org_school WHERE region_path >= %s AND region_path < %s', (county.path, county.path[:-1] + '0'))[0][0]} schools")
    print("loads:")
    for line in loads:
        print("  " + line)
    width = max(len(r.label) for r in rows)
    print(f"\n{'records':>11}  {'measurement':<{width}}  {'median ms':>10}  {'p95 ms':>9}  {'target':<14}  "
          f"{'queries':>7}  {'slowest q ms':>12}")
    for r in rows:
        verdict = "" if r.ok is None else ("ok" if r.ok else "SLOW")
        print(f"{r.size:>11,}  {r.label:<{width}}  {r.median:10.1f}  {r.p95:9.1f}  {r.target:<10} {verdict:<4} "
              f"{r.queries or '':>7}  {(format(r.slowest_ms, '.1f') if r.queries else ''):>12}  {r.note}")
    print(f"\n{'records':>11}  ingest (services.ingest_events, one process)")
    for i in ingests:
        rate = i.events / i.seconds
        verdict = "ok" if rate >= TARGET_EVENTS_PER_S else "SLOW"
        print(f"{i.size:>11,}  {i.events:,} events in {i.batches} batches of ~{i.events // max(i.batches, 1)}: "
              f"{i.seconds:.1f} s = {rate:,.0f} events/s (target ≥ {TARGET_EVENTS_PER_S:,.0f}) {verdict}; per batch "
              f"median {statistics.median(i.per_batch_ms):.0f} ms, p95 {p95(i.per_batch_ms):.0f} ms")
        print(f"{'':>11}  accepted {i.accepted:,}; {i.proposed:,} proposed (new records {i.new_records:,}); "
              f"records with event evidence {i.evidence_found:,} of {i.evidence_expected:,} slots used "
              f"{'ok' if i.evidence_found == i.evidence_expected and i.new_records == i.proposed else 'WRONG'}")
        if i.confirm_ms:
            print(f"{'':>11}  confirm_record ×{len(i.confirm_ms)}: median {statistics.median(i.confirm_ms):.1f} ms, "
                  f"p95 {p95(i.confirm_ms):.1f} ms; roll-ups of the touched schools vs GROUP BY: "
                  f"{'equal' if not i.rollup_problems else 'DIFFERENT'}")
        for problem in i.rollup_problems:
            print(f"{'':>13}{problem}")
            mismatches.append(f"{i.size:,} roll-ups after confirm: {problem}")
        if i.evidence_found != i.evidence_expected or i.new_records != i.proposed:
            mismatches.append(f"{i.size:,} ingest: evidence {i.evidence_found} of {i.evidence_expected}, "
                              f"new records {i.new_records} vs proposed {i.proposed}")

    slow = [r for r in rows if r.ok is False]
    if slow:
        print(f"\n{len(slow)} of {sum(r.ok is not None for r in rows)} dashboard measurements above target. Slowest query:")
        for r in slow:
            print(f"  {r.size:,} {r.label}: {r.queries} queries, slowest {r.slowest_ms:.1f} ms  {r.slowest_sql[:400]}")
            if args.explain:
                print(explain(r.slowest_sql))
    else:
        print("\nall dashboard measurements within target")
    if mismatches:
        print("\nFIGURES DISAGREE:")
        for m in mismatches:
            print("  " + m)
    else:
        print("figures agree: roll-ups = plain GROUP BY" + (" = DuckDB" if duck else ""))
    if args.keep:
        print(f"\nkept: BBT_DATA_DIR={os.environ['BBT_DATA_DIR']} {os.environ.get('BBT_DATABASE_URL', '')}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
