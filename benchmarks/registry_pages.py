"""Registry pages at province scale: the class list, the dashboard and the dashboard API.

Builds a province in a fresh database — 11 cities, 100 counties, ~1,400 towns, 15,000 schools,
150,000 teaching classes (DESIGN §7, "province") — then times GET requests through Django's
test client for a province-level and a county-level bureau admin.

Anchor: every page answers with p95 < 200 ms (the target is printed beside each figure).

    .venv/bin/python benchmarks/registry_pages.py                 # embedded SQLite
    .venv/bin/python benchmarks/registry_pages.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/registry_pages.py --schools 1500 --classes 15000 --repeat 10   # quick look

With --postgres a temporary database is created next to the one in the URL and dropped after.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_P95_MS = 200.0
WARMUP = 3
SEED = 20260101

# Jiangxi's 11 cities and how many counties/districts each has (100 in all).
CITIES = [
    ("南昌市", 9), ("景德镇市", 4), ("萍乡市", 5), ("九江市", 13), ("新余市", 2), ("鹰潭市", 3),
    ("赣州市", 18), ("吉安市", 13), ("宜春市", 10), ("抚州市", 11), ("上饶市", 12),
]
TOWNS_PER_COUNTY = (10, 18)
# Kind of school, share of schools, (first grade, last grade, classes per grade low/high), built share.
KINDS = [
    ("teaching_point", 0.20, (1, 3, 1, 1), 0.02),
    ("village_primary", 0.45, (1, 6, 1, 1), 0.08),
    ("central_primary", 0.10, (1, 6, 2, 4), 0.35),
    ("rural_junior", 0.10, (7, 9, 2, 5), 0.30),
    ("nine_year", 0.04, (1, 9, 1, 2), 0.25),
    ("urban_primary", 0.06, (1, 6, 5, 9), 0.60),
    ("urban_junior", 0.03, (7, 9, 8, 14), 0.65),
    ("urban_senior", 0.02, (10, 12, 10, 18), 0.70),
]
URBAN = {"urban_primary", "urban_junior", "urban_senior"}
RURAL = {"teaching_point", "village_primary", "central_primary", "rural_junior"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schools", type=int, default=15_000)
    p.add_argument("--classes", type=int, default=150_000)
    p.add_argument("--repeat", type=int, default=30, help="timed requests per URL and user (default 30)")
    p.add_argument("--postgres", metavar="URL", help="run against PostgreSQL (a temporary database is created)")
    p.add_argument("--analyze", action="store_true", help="run ANALYZE after loading on SQLite (always on PostgreSQL)")
    p.add_argument("--explain", action="store_true", help="print the query plan of the slowest query of slow URLs")
    p.add_argument("--keep", action="store_true", help="keep the data directory / database afterwards")
    p.add_argument("--profile", metavar="URL", help="also profile one GET of URL as the province admin (cProfile)")
    return p.parse_args()


# --- environment: must be set before Django reads settings ---------------------------------
def prepare_environment(args: argparse.Namespace) -> tuple[Path, Callable[[], None]]:
    data_dir = Path(tempfile.mkdtemp(prefix="bbt-bench-"))
    os.environ["BBT_DATA_DIR"] = str(data_dir)
    os.environ["BBT_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "banbantong.settings"
    os.environ.pop("BBT_REDIS_URL", None)
    cleanups: list[Callable[[], None]] = []
    if not args.keep:
        cleanups.append(lambda: shutil.rmtree(data_dir, ignore_errors=True))
    if args.postgres:
        import psycopg

        base = args.postgres.rstrip("/")
        name = f"bbt_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["BBT_DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

        if not args.keep:
            cleanups.insert(0, drop)
        print(f"PostgreSQL database {name} (temporary)")
    else:
        os.environ.pop("BBT_DATABASE_URL", None)

    def cleanup() -> None:
        for fn in cleanups:
            fn()

    return data_dir, cleanup


# --- data ------------------------------------------------------------------------------------
@dataclass
class World:
    province: Any
    county: Any
    counties: int
    towns: int
    schools: int
    classes: int
    built: int
    seconds: float


def build_world(n_schools: int, n_classes: int) -> World:
    from django.db import transaction

    from banbantong.accounts.models import User
    from banbantong.org.models import Region, School, TeachingClass
    from banbantong.org.services import refresh_school_counts
    from banbantong.planning.models import TerminalMode

    rng = random.Random(SEED)
    started = time.perf_counter()
    modes = {m.code: m.pk for m in TerminalMode.objects.filter(region=None)}

    def regions(specs: list[tuple[str, str, Any]]) -> list[Any]:
        objs = [Region(name=name, level=level, parent=parent) for name, level, parent in specs]
        Region.objects.bulk_create(objs, batch_size=2000)
        for r in objs:
            r.path = f"{r.parent.path if r.parent else '/'}{r.pk}/"
            r.depth = r.parent.depth + 1 if r.parent else 0
        Region.objects.bulk_update(objs, ["path", "depth"], batch_size=2000)
        return objs

    with transaction.atomic():
        (province,) = regions([("江西省", "province", None)])
        cities = regions([(name, "city", province) for name, _ in CITIES])
        counties = regions([
            (f"{city.name[:-1]}第{i + 1}县", "county", city)
            for city, (_, n) in zip(cities, CITIES, strict=True) for i in range(n)
        ])
        towns = regions([
            (f"{county.name}第{j + 1}镇", "town", county)
            for county in counties for j in range(rng.randint(*TOWNS_PER_COUNTY))
        ])
        seats = {t.parent_id: t for t in reversed(towns)}  # each county's first town is its seat

        # Schools: the same share of kinds in every county, county-town schools in the seat.
        kinds = rng.choices([k[0] for k in KINDS], weights=[k[1] for k in KINDS], k=n_schools)
        shapes = {k[0]: k[2] for k in KINDS}
        built_share = {k[0]: k[3] for k in KINDS}
        schools = []
        for i, kind in enumerate(kinds):
            town = seats[counties[i % len(counties)].pk] if kind in URBAN else rng.choice(towns)
            schools.append(School(
                region=town, region_path=town.path, name=f"{town.name}第{i + 1}学校", code=f"{i:010d}",
                kind=kind, is_rural=kind in RURAL, has_fibre=rng.random() < 0.7,
                bandwidth_mbps=rng.choice((0, 4, 10, 20, 50, 100)),
            ))
        School.objects.bulk_create(schools, batch_size=2000)

        # Classes per school and grade, then nudged to exactly n_classes.
        plan: list[list[int]] = []  # per school: classes per grade, index 0 = first grade
        for s in schools:
            first, last, low, high = shapes[s.kind]
            plan.append([rng.randint(low, high) for _ in range(first, last + 1)])
        total = sum(map(sum, plan))
        big = [i for i, s in enumerate(schools) if s.kind in URBAN | {"central_primary", "rural_junior"}]
        while total != n_classes:
            i = rng.choice(big)
            g = rng.randrange(len(plan[i]))
            if total > n_classes and plan[i][g] > 1:
                plan[i][g] -= 1
                total -= 1
            elif total < n_classes and plan[i][g] < 20:
                plan[i][g] += 1
                total += 1

        built_statuses = ("built", "accepted")
        batch: list[Any] = []
        built = 0
        for s, grades in zip(schools, plan, strict=True):
            first = shapes[s.kind][0]
            for offset, count in enumerate(grades):
                grade = first + offset
                mode = ("tv_dvd" if s.kind in {"teaching_point", "village_primary"}
                        else "lcd_pc" if s.kind in {"central_primary", "nine_year"} and grade <= 3
                        else "projector_pc")
                for n in range(1, count + 1):
                    is_built = rng.random() < built_share[s.kind]
                    built += is_built
                    batch.append(TeachingClass(
                        school_id=s.pk, grade=grade, name=f"{n}班", pupils=rng.randint(15, 60),
                        mode_id=modes[mode], status=rng.choice(built_statuses) if is_built else "not_built",
                        built_year=rng.randint(2021, 2025) if is_built else None,
                    ))
                    if len(batch) >= 10_000:
                        TeachingClass.objects.bulk_create(batch, batch_size=2000)
                        batch = []
        TeachingClass.objects.bulk_create(batch, batch_size=2000)
        # The write services keep the schools' class roll-ups current; bulk loading does not.
        refresh_school_counts(s.pk for s in schools)

        county = max(counties, key=lambda c: sum(1 for s in schools if s.region.parent_id == c.pk))
        User.objects.create(username="province_admin", role="bureau_admin", region=province, display_name="省电教馆")
        User.objects.create(username="county_admin", role="bureau_admin", region=county, display_name="县电教站")
    return World(province, county, len(counties), len(towns), len(schools), total, built,
                 time.perf_counter() - started)


# --- timing ----------------------------------------------------------------------------------
@dataclass
class Row:
    user: str
    url: str
    median: float
    p95: float
    queries: int
    sql_ms: float
    slowest_sql: str
    slowest_ms: float


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def measure(client: Any, label: str, url: str, repeat: int) -> Row:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{label} GET {url} answered {response.status_code}")
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    # The driver's execute() can return at the first row and leave the rest of the work to the
    # fetch, so each SELECT is run again here and timed to its last row.
    timed = [(replay(q["sql"]), q["sql"]) for q in ctx.captured_queries]
    slowest_ms, slowest_sql = max(timed, default=(0.0, ""))
    return Row(label, url, statistics.median(samples), p95(samples), len(timed), sum(t for t, _ in timed),
               slowest_sql, slowest_ms)


def replay(sql: str) -> float:
    """Run a SELECT again and time it to its last row (execute() may return at the first)."""
    from django.db import connection

    if not sql.lstrip().lstrip("(").upper().startswith("SELECT"):  # "(SELECT …) UNION ALL (…)" too
        return 0.0
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        return (time.perf_counter() - t0) * 1000


def explain(sql: str) -> str:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return "\n".join("      " + " ".join(str(c) for c in row) for row in cursor.fetchall())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(rows: list[Row], *, explain_slow: bool = False) -> None:
    """The table of timed pages against the target, then the slowest query of each slow one
    (devices.py prints its pages the same way)."""
    width = max(len(r.url) for r in rows)
    print(f"{'user':<15} {'url':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'target':>8}       {'queries':>7}  "
          f"{'sql ms':>7}  {'slowest q':>9}")
    for r in rows:
        verdict = "ok" if r.p95 < TARGET_P95_MS else "SLOW"
        print(f"{r.user:<15} {r.url:<{width}}  {r.median:9.1f}  {r.p95:7.1f}  <{TARGET_P95_MS:.0f} ms {verdict:<4}  "
              f"{r.queries:7d}  {r.sql_ms:7.1f}  {r.slowest_ms:9.1f}")
    slow = [r for r in rows if r.p95 >= TARGET_P95_MS]
    if slow:
        print(f"\n{len(slow)} of {len(rows)} above target. Slowest query of each:")
        for r in slow:
            print(f"  {r.user} {r.url}: {r.slowest_ms:.1f} ms  {r.slowest_sql[:300]}")
            if explain_slow:
                print(explain(r.slowest_sql))
    else:
        print(f"\nall {len(rows)} within target")


def machine() -> str:
    """The machine line every benchmark prints (planning.py and usage.py import it)."""
    import django
    from django.db import connection

    if connection.vendor == "sqlite":
        db = f"SQLite {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0]}"
    return (f"{os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, Django {django.get_version()}, {db}; "
            f"CPU check {cpu_check_ms():.0f} ms")


def cpu_check_ms() -> float:
    """Best of five runs of a fixed pure-Python loop (sum of 3,000,000 squares), so figures taken
    on different days can be set side by side: the same 2-core machine has measured it from
    about 190 to 370 ms, and every figure moves with it."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(i * i for i in range(3_000_000))
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best


def main() -> None:
    args = parse_args()
    _, cleanup = prepare_environment(args)
    try:
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from banbantong.accounts.models import User

    call_command("migrate", interactive=False, verbosity=0)
    world = build_world(args.schools, args.classes)
    # PostgreSQL's autovacuum analyzes a freshly loaded table within a minute, so measuring
    # before that would be unfair; SQLite never gathers statistics unless told to.
    analyzed = args.analyze or connection.vendor == "postgresql"
    if analyzed:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    print(f"machine: {machine()}")
    print(
        f"data: 1 province, {len(CITIES)} cities, {world.counties} counties, {world.towns:,} towns, "
        f"{world.schools:,} schools, {world.classes:,} classes ({world.built * 100 / world.classes:.1f}% built); "
        f"loaded in {world.seconds:.1f} s{'; ANALYZE run' if analyzed else '; no ANALYZE'}"
    )
    print(f"anchor: p95 < {TARGET_P95_MS:.0f} ms per request; {args.repeat} timed requests per URL after {WARMUP} warm-up")
    print()

    county_id = world.county.pk
    urls = [
        "/org/classes/",
        "/org/classes/?status=built",
        "/org/classes/?grade=3&kind=village_primary",
        f"/org/classes/?region={county_id}",
        "/org/classes/?page=50",
        "/",
        "/api/v1/dashboard",
    ]
    rows: list[Row] = []
    for username, label in (("province_admin", "province admin"), ("county_admin", "county admin")):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in urls:
            rows.append(measure(client, label, url, args.repeat))

    report(rows, explain_slow=args.explain)
    if args.profile:
        import cProfile
        import pstats

        client = Client()
        client.force_login(User.objects.get(username="province_admin"))
        profiler = cProfile.Profile()
        profiler.runcall(client.get, args.profile)
        print(f"\nprofile of GET {args.profile} (province admin), top 25 by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    if args.keep:
        print(f"\nkept: BBT_DATA_DIR={os.environ['BBT_DATA_DIR']} {os.environ.get('BBT_DATABASE_URL', '')}")


if __name__ == "__main__":
    main()
