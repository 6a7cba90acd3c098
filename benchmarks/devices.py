"""The repair desk at province scale: my tickets, the ticket list with its filters and the
integrator league table.

Builds a province in its own database the way benchmarks/registry_pages.py does — 11 cities,
100 counties, ~1,400 towns, 15,000 schools, 150,000 teaching classes — then, by INSERT … SELECT
and batched inserts (not through the per-device services):

- one classroom per teaching class (150,000), four devices in each (600,000: a display —
  projector, interactive panel or LCD TV —, a computer, speakers and a visualiser or screen),
  bought per school in one batch with three years' warranty, 2 % scrapped and 1 % spare;
- three integrators per city (33 companies), each school's devices with one of its city's;
- a year of tickets (100,000 by default) spread over the last 365 days on random devices, a few
  schools far more than others; priority from the fault as the services set it (about a fifth
  raised or lowered), deadlines from the default SLA; tickets older than a week resolved or
  closed (3 % left open, so overdue), newer ones mostly open; 30 % escalated to the device's
  integrator;
- users: a province, a city and a county bureau admin, the device admin of the school with the
  most open tickets, and an integrator account of the busiest company, responsible for all the
  schools of its city.

Then GET requests are timed through Django's test client (median, p95; target p95 < 200 ms):
/devices/my/ (device admin and integrator), /devices/tickets/ without and with each filter
(state, priority, overdue, school, fault and a combination; province, city and county admin)
and the league table /devices/figures/league/ (province, city, county admin, integrator).

Anchors, timed in the same run on the same data:
- the league figures by one plain GROUP BY over all tickets (no scope, no Python), checked equal
  to what the page's query returns for the province admin;
- the ticket list's first page the way it was before this benchmark: the scope as a join on the
  school's region path, a full COUNT(*) of the filtered rows and the first 50 by creation time.

    .venv/bin/python benchmarks/devices.py                                    # SQLite file in a temp dir
    .venv/bin/python benchmarks/devices.py \\
        --database-url postgres://postgres@127.0.0.1:5432/bbt_bench_devices  # PostgreSQL
    .venv/bin/python benchmarks/devices.py --schools 1500 --classes 15000 --tickets 10000 --repeat 10

With --database-url the database named there is dropped and created afresh (so name one of your
own), and dropped again at the end unless --keep.
"""

# ruff: noqa: S608  -- every SQL string here is built from constants and ints of this file, never from input

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmark, for its province builder
sys.path.insert(0, str(HERE.parent))  # the project

from registry_pages import CITIES, build_world, machine, measure, report  # noqa: E402

TARGET_P95_MS = 200.0  # the same anchor as registry_pages.report prints against
SEED = 20260104
PER_CLASSROOM = 4
FAULTS = ("no_picture", "no_sound", "lamp", "touch", "network", "power", "computer", "other")
FAULT_WEIGHTS = (20, 12, 14, 8, 18, 10, 14, 4)
BRANDS = {  # per device slot: (type, brand, model) choices
    0: [("projector", "爱普生", "CB-X06"), ("projector", "明基", "MX560"), ("flat_panel", "希沃", "F86EA"),
        ("flat_panel", "鸿合", "HD-86"), ("lcd_tv", "海信", "HZ65")],
    1: [("computer", "联想", "启天M430"), ("computer", "同方", "超翔Z8000")],
    2: [("speakers", "惠威", "M200"), ("speakers", "漫步者", "S2000")],
    3: [("visualiser", "良田", "S500"), ("screen", "红叶", "100寸")],
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schools", type=int, default=15_000)
    p.add_argument("--classes", type=int, default=150_000, help="teaching classes = classrooms (default 150,000)")
    p.add_argument("--tickets", type=int, default=100_000, help="tickets over the last year (default 100,000)")
    p.add_argument("--repeat", type=int, default=30, help="timed requests per URL and user (default 30)")
    p.add_argument("--plain-repeat", type=int, default=10, help="timed runs of each anchor query (default 10)")
    p.add_argument("--database-url", metavar="URL", help="PostgreSQL database to (re)create and use")
    p.add_argument("--analyze", action="store_true", help="run ANALYZE after loading on SQLite (always on PostgreSQL)")
    p.add_argument("--explain", action="store_true", help="print the plan of the slowest query of slow URLs")
    p.add_argument("--keep", action="store_true", help="keep the data directory / database afterwards")
    p.add_argument("--profile", metavar="URL", help="also profile one GET of URL as the province admin (cProfile)")
    return p.parse_args()


# --- environment: must be set before Django reads settings ---------------------------------
def prepare_environment(args: argparse.Namespace) -> Callable[[], None]:
    data_dir = Path(tempfile.mkdtemp(prefix="bbt-bench-devices-"))
    os.environ["BBT_DATA_DIR"] = str(data_dir)
    os.environ["BBT_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "banbantong.settings"
    os.environ.pop("BBT_REDIS_URL", None)
    cleanups: list[Callable[[], None]] = []
    if not args.keep:
        cleanups.append(lambda: shutil.rmtree(data_dir, ignore_errors=True))
    if args.database_url:
        import psycopg

        url = args.database_url.replace("postgres://", "postgresql://", 1).rstrip("/")
        server, name = url.rsplit("/", 1)
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"database name {name!r}: letters, digits and _ only")
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["BBT_DATABASE_URL"] = url

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

        if not args.keep:
            cleanups.insert(0, drop)
        print(f"PostgreSQL database {name} (created afresh{'' if args.keep else ', dropped at the end'})")
    else:
        os.environ.pop("BBT_DATABASE_URL", None)
        print(f"SQLite database in {data_dir}")

    def cleanup() -> None:
        for fn in cleanups:
            fn()

    return cleanup


def q(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


# --- data ------------------------------------------------------------------------------------
@dataclass
class Desk:
    world: Any
    classrooms: int
    devices: int
    tickets: int
    open: int
    escalated: int
    city: Any
    admin_school: Any
    seconds: float


def build_desk(args: argparse.Namespace) -> Desk:
    from django.db import connection, transaction
    from django.utils import timezone

    from banbantong.accounts.models import User
    from banbantong.devices import rules
    from banbantong.devices.models import Company
    from banbantong.org.models import Region, School

    world = build_world(args.schools, args.classes)
    started = time.perf_counter()
    rng = random.Random(SEED)
    ops = connection.ops
    now = timezone.now()
    today = timezone.localdate()
    cities = list(Region.objects.filter(level="city").order_by("id"))
    with transaction.atomic():
        companies: dict[int, list[Company]] = {}
        for city in cities:
            companies[city.pk] = [Company.objects.create(region=city, name=f"{city.name}第{i + 1}集成公司",
                                                         kind=Company.Kind.INTEGRATOR, after_sales_phone="0791-8888888")
                                  for i in range(3)]
        # Per school: its integrator (one of its city's three) and the batch its devices were bought in.
        city_of = {r.pk: int(r.path.strip("/").split("/")[1]) for r in Region.objects.filter(level="town")}
        q("CREATE TABLE bench_school (school_id bigint PRIMARY KEY, integrator_id bigint NOT NULL, "
          "purchase_date date NOT NULL, warranty_end date NOT NULL)")
        rows = []
        for sid, region_id in School.objects.values_list("id", "region_id"):
            bought = today - dt.timedelta(days=rng.randint(60, 5 * 365))
            rows.append((sid, rng.choice(companies[city_of[region_id]]).pk, ops.adapt_datefield_value(bought),
                         ops.adapt_datefield_value(bought + dt.timedelta(days=3 * 365))))
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_school VALUES (%s, %s, %s, %s)", rows)

        q("INSERT INTO org_classroom (school_id, name, building, teaching_class_id) "
          "SELECT school_id, CAST(grade AS varchar(4)) || '年级' || name, '', id FROM org_teachingclass")
        q("CREATE TABLE bench_slot (k integer NOT NULL, j integer NOT NULL, n integer NOT NULL, type varchar(12) NOT NULL, "
          "brand varchar(60) NOT NULL, model varchar(80) NOT NULL, PRIMARY KEY (k, j))")
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s, %s)",
                               [(k, j, len(choices), *choice) for k, choices in BRANDS.items() for j, choice in enumerate(choices)])
        stamp = ops.adapt_datetimefield_value(now)
        # Each classroom's slot k gets one of BRANDS[k] by a hash of the school (a school buys alike).
        q(f"""
            INSERT INTO devices_device (school_id, classroom_id, type, brand, model, serial, asset_tag, supplier_id,
                integrator_id, purchase_date, price, warranty_end, responsible, status, replaces_id, qr_token,
                created_at, updated_at)
            SELECT c.school_id, c.id, s.type, s.brand, s.model,
                   'SN' || CAST(c.id * {PER_CLASSROOM} + s.k AS varchar(20)),
                   'BBT' || CAST(c.id * {PER_CLASSROOM} + s.k AS varchar(20)), NULL, b.integrator_id,
                   b.purchase_date, 3000, b.warranty_end, '电教员',
                   CASE WHEN (c.id * 7 + s.k) %% 100 < 2 THEN 'scrapped'
                        WHEN (c.id * 7 + s.k) %% 100 < 3 THEN 'spare' ELSE 'in_use' END,
                   NULL, 'q' || CAST(c.id * {PER_CLASSROOM} + s.k AS varchar(20)), %s, %s
            FROM org_classroom c
            JOIN bench_school b ON b.school_id = c.school_id
            JOIN bench_slot s ON s.j = (c.school_id * 2654435761 + s.k) %% s.n
            ORDER BY c.id, s.k
        """, (stamp, stamp))
        classrooms = q("SELECT COUNT(*) FROM org_classroom")[0][0]
        devices = list(q("SELECT id, school_id, integrator_id, status FROM devices_device ORDER BY id"))

        # Tickets: a few schools have far more (old kit, a careless room), most a handful.
        live = [d for d in devices if d[3] != "scrapped"]
        school_weight: dict[int, float] = {}
        for _, sid, _, _ in live:
            if sid not in school_weight:
                school_weight[sid] = rng.paretovariate(1.5)
        weights = [school_weight[d[1]] for d in live]
        picks = rng.choices(live, weights=weights, k=args.tickets)
        ticket_rows = []
        opened = escalated = 0
        for device_id, school_id, integrator_id, _ in picks:
            age = dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
            created = now - age
            fault = rng.choices(FAULTS, weights=FAULT_WEIGHTS)[0]
            priority = rules.default_priority(fault)
            if rng.random() < 0.2:
                priority = rng.choice(("high", "low", "urgent", "normal"))
            respond_due, fix_due = rules.deadlines(created, priority)
            if age < dt.timedelta(days=7):
                state = rng.choices(("open", "assigned", "in_progress", "resolved", "closed"), (35, 15, 15, 15, 20))[0]
            else:
                state = rng.choices(("open", "assigned", "in_progress", "resolved", "closed"), (1, 1, 1, 12, 85))[0]
            done = state in {"resolved", "closed"}
            opened += not done
            repair = dt.timedelta(hours=rng.lognormvariate(3.2, 0.9))
            resolved_at = min(created + repair, now) if done else None
            responded_at = created + min(repair / 4, dt.timedelta(hours=6)) if state != "open" else None
            closed_at = min(resolved_at + dt.timedelta(hours=12), now) if state == "closed" and resolved_at else None
            to = integrator_id if rng.random() < 0.3 else None
            escalated += to is not None
            outcome = rng.choice(("repaired", "repaired", "part_replaced", "not_repairable")) if done else ""
            a = ops.adapt_datetimefield_value
            ticket_rows.append((
                device_id, school_id, fault, "", priority, state, rng.choice(("qr", "web")), "", "", None, None, to,
                a(created), a(respond_due), a(fix_due), a(responded_at), a(resolved_at), a(closed_at), outcome, 1,
            ))
        ticket_rows.sort(key=lambda r: r[12])  # ids in order of creation, as the desk would have them
        with connection.cursor() as cursor:
            for start in range(0, len(ticket_rows), 5000):
                cursor.executemany(
                    "INSERT INTO devices_ticket (device_id, school_id, fault, description, priority, state, source, "
                    "reporter_name, reporter_phone, reporter_id, assignee_id, escalated_to_id, created_at, respond_due, "
                    "fix_due, responded_at, resolved_at, closed_at, outcome, version) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    ticket_rows[start:start + 5000])
        q("DROP TABLE bench_school")
        q("DROP TABLE bench_slot")

        # Users. The device admin's school: the one with most open tickets.
        open_by_school = Counter(r[1] for r in ticket_rows if r[5] not in {"resolved", "closed"})
        admin_school = School.objects.get(pk=open_by_school.most_common(1)[0][0])
        city = max(cities, key=lambda c: len(city_schools(c)))
        # build_world made province_admin and county_admin (of its busiest county).
        User.objects.create(username="city_admin", role="bureau_admin", region=city, display_name="市电教馆")
        User.objects.create(username="device_admin", role="device_admin", school=admin_school, display_name="电教员")
        busiest = Counter(r[11] for r in ticket_rows if r[11] is not None and r[11] in
                          {c.pk for c in companies[city.pk]}).most_common(1)[0][0]
        integrator = User.objects.create(username="integrator", role="integrator", display_name="集成商工程师")
        Company.objects.get(pk=busiest).members.add(integrator)
        integrator.assigned_schools.set(city_schools(city))
    return Desk(world, classrooms, len(devices), len(ticket_rows), opened, escalated, city, admin_school,
                time.perf_counter() - started)


def city_schools(city: Any) -> list[int]:
    from banbantong.core.scope import subtree_q
    from banbantong.org.models import School

    return list(School.objects.filter(subtree_q("region_path", city.path)).values_list("id", flat=True))


# --- anchors -----------------------------------------------------------------------------------
def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    fn()
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), p95(samples), result


def plain_league() -> list[tuple[int, int, int, int]]:
    """(company, tickets, resolved, resolved within the deadline) by one GROUP BY over all tickets."""
    return sorted(q("SELECT escalated_to_id, COUNT(*), COUNT(resolved_at), "
                    "SUM(CASE WHEN resolved_at <= fix_due THEN 1 ELSE 0 END) FROM devices_ticket "
                    "WHERE escalated_to_id IS NOT NULL GROUP BY escalated_to_id"))


def naive_list(user: Any, **filters: Any) -> int:
    """The list's first page the way it was before this benchmark: the scope as a join on the
    school's region path, open as "not resolved or closed", the exact count of every matching
    row, then the first 50 newest first."""
    from banbantong.core.scope import scope_of
    from banbantong.devices.models import Ticket

    qs = scope_of(user).filter(Ticket.objects.all(), region_path_field="school__region_path", school_field="school_id")
    if filters.pop("open", False):
        qs = qs.exclude(state__in=["resolved", "closed"])
    qs = qs.filter(**filters)
    n = qs.count()
    list(qs.select_related("school", "device", "device__classroom", "assignee", "escalated_to")
         .order_by("-created_at", "-id")[:50])
    return n


def main() -> None:
    args = parse_args()
    cleanup = prepare_environment(args)
    try:
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from banbantong.accounts.models import User
    from banbantong.devices import queries

    call_command("migrate", interactive=False, verbosity=0)
    desk = build_desk(args)
    # PostgreSQL's autovacuum analyzes and vacuums a freshly loaded table within minutes (the
    # visibility map lets the league's covering index answer alone); SQLite never gathers
    # statistics unless told to.
    analyzed = args.analyze or connection.vendor == "postgresql"
    if analyzed:
        q("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {machine()}; load average {load}")
    w = desk.world
    print(f"data: 1 province, {len(CITIES)} cities, {w.counties} counties, {w.towns:,} towns, {w.schools:,} schools, "
          f"{desk.classrooms:,} classrooms, {desk.devices:,} devices, {desk.tickets:,} tickets in a year "
          f"({desk.open:,} open, {desk.escalated:,} escalated); province built in {w.seconds:.1f} s, "
          f"desk in {desk.seconds:.1f} s{'; (VACUUM) ANALYZE run' if analyzed else '; no ANALYZE'}")
    print(f"anchor: p95 < {TARGET_P95_MS:.0f} ms per request; {args.repeat} timed requests per URL after 3 warm-up")
    print()

    users = {name: User.objects.get(username=name) for name in
             ("province_admin", "city_admin", "county_admin", "device_admin", "integrator")}
    def busiest_school(path: str) -> int:
        return q("SELECT s.id FROM org_school s JOIN devices_ticket t ON t.school_id = s.id "
                 "WHERE s.region_path >= %s AND s.region_path < %s GROUP BY s.id ORDER BY COUNT(*) DESC, s.id LIMIT 1",
                 (path, path[:-1] + "0"))[0][0]

    schools = {"county_admin": busiest_school(w.county.path), "city_admin": busiest_school(desk.city.path),
               "province_admin": busiest_school(w.province.path)}
    year_ago = (timezone.localdate() - dt.timedelta(days=365)).isoformat()
    lists = [
        "/devices/tickets/",
        "/devices/tickets/?state=open_all",
        "/devices/tickets/?state=closed",
        "/devices/tickets/?priority=urgent",
        "/devices/tickets/?overdue=1",
        "/devices/tickets/?fault=touch",
        "/devices/tickets/?state=open_all&priority=urgent&fault=no_picture",
        "/devices/tickets/?page=20",
    ]
    plan: list[tuple[str, str]] = [("device_admin", "/devices/my/"), ("integrator", "/devices/my/")]
    for name in ("county_admin", "city_admin", "province_admin"):
        plan += [(name, url) for url in lists]
        school = schools[name]
        plan.append((name, f"/devices/tickets/?school={school}"))
        plan.append((name, f"/devices/tickets/?school={school}&state=open_all&overdue=1"))
    for name in ("county_admin", "city_admin", "province_admin", "integrator"):
        plan.append((name, "/devices/figures/league/"))
    # The figures page: intactness per school and per region, repair times, failures per model.
    for name in ("county_admin", "city_admin", "province_admin"):
        plan.append((name, "/devices/figures/"))
    plan.append(("province_admin", f"/devices/figures/league/?start={year_ago}"))

    rows = []
    clients: dict[str, Any] = {}
    for name, url in plan:
        if name not in clients:
            clients[name] = Client()
            clients[name].force_login(users[name])
        rows.append(measure(clients[name], name, url, args.repeat))

    report(rows, explain_slow=args.explain)

    # Anchors: the same figures the plain way, in the same run.
    print("\nanchors (same data, same run):")
    province = users["province_admin"]
    med, p, plain = timed(plain_league, args.plain_repeat)
    pmed, pp, league = timed(lambda: queries.integrator_league(province), args.plain_repeat)
    names = dict(q("SELECT id, name FROM devices_company"))
    same = sorted((names[c], n, r, within) for c, n, r, within in plain) == sorted(
        (row.company, row.tickets, row.resolved, row.within) for row in league)
    print(f"  league, plain GROUP BY over all tickets:      median {med:7.1f} ms  p95 {p:7.1f} ms")
    print(f"  league, queries.integrator_league (province): median {pmed:7.1f} ms  p95 {pp:7.1f} ms  "
          f"÷ plain {pmed / med if med else 0:.2f}x; figures equal: {'yes' if same else 'NO'}")
    for label, filters in (("no filter", {}), ("state=open_all", {"open": True}),
                           ("fault=touch", {"fault": "touch"})):
        for name in ("county_admin", "province_admin"):
            med, p, n = timed(lambda f=filters, u=users[name]: naive_list(u, **f), args.plain_repeat)
            page = next((r for r in rows if r.user == name and r.url == "/devices/tickets/" + (
                "" if not filters else "?" + label)), None)
            ratio = f"naive ÷ page median {med / page.median:.2f}x" if page and page.median else ""
            print(f"  ticket list {label:<15} {name:<15} naive count + first 50: median {med:7.1f} ms  "
                  f"p95 {p:7.1f} ms  ({n:,} rows)  {ratio}")
    if not same:
        raise SystemExit("the league table differs from the plain GROUP BY")

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(clients["province_admin"].get, args.profile)
        print(f"\nprofile of GET {args.profile} (province admin), top 25 by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    if args.keep:
        print(f"\nkept: BBT_DATA_DIR={os.environ['BBT_DATA_DIR']} {os.environ.get('BBT_DATABASE_URL', '')}")


if __name__ == "__main__":
    main()
