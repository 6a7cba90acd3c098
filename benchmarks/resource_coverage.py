"""Resource library reads at province scale: the per-lesson coverage matrix, quota completion and
the points leaderboard.

Builds a province (registry_pages.build_world: 15,000 schools), loads the example book
(人教版 数学 三年级上册, 29 lessons) and 59 generated books of ~30 lessons, then generates
1,000,000 resources (DESIGN §7: "1 M items in a province") spread over the schools and books —
a tenth of them on the example book, the popular one — with the mix a library has: school-library
drafts, approved network resources, some waiting or rejected. Then times, through the real
functions the pages call:

- coverage.school_matrix (one school, the popular book) and coverage.region_matrix (a county and
  the whole province), against the anchor in the same run: the obvious per-lesson code, three
  COUNT queries per lesson and place (29 × 6 = 174 queries);
- quotas.completion for a province-wide task (15,000 school quotas);
- points.school_board and points.teacher_board for the province.

    .venv/bin/python benchmarks/resource_coverage.py
    .venv/bin/python benchmarks/resource_coverage.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/resource_coverage.py --resources 100000 --repeat 10   # quick look
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry_pages import build_world, prepare_environment  # noqa: E402
from registry_pages import machine as registry_machine  # noqa: E402

SEED = 20261202
BATCH = 5000
BOOKS = 59
HOT_SHARE = 0.10  # the popular book's share of all resources
KINDS = [("courseware", 35), ("lesson_plan", 25), ("unit_test", 10), ("midterm", 3), ("final", 3), ("video", 12),
         ("question_bank", 5), ("moral", 3), ("other", 4)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schools", type=int, default=15_000)
    p.add_argument("--classes", type=int, default=0, help="classes of the registry (default: 10 a school, as a province)")
    p.add_argument("--resources", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--anchor-repeat", type=int, default=5)
    p.add_argument("--postgres", metavar="URL")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--explain", action="store_true")
    p.add_argument("--analyze", action="store_true", help="(kept for the shared environment helper)")
    return p.parse_args()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, int]:
    """(median ms, p95 ms, queries) of fn, after one warm-up call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return statistics.median(samples), p95(samples), len(ctx.captured_queries)


def build_books(province: Any) -> tuple[Any, list[int]]:
    """The example book and 59 generated ones; returns (popular volume, lesson ids of the rest)."""
    from banbantong.core.scope import SYSTEM
    from banbantong.resources import catalogue
    from banbantong.resources.catalogue_example import load_example
    from banbantong.resources.models import Lesson, Volume

    load_example(province)
    hot = Volume.objects.get(edition__region=province, edition__name="人教版")
    rows = []
    for b in range(BOOKS):
        subject = ("语文", "数学", "英语", "科学", "道德与法治")[b % 5]
        grade = 1 + b % 6
        term = ("上册", "下册")[(b // 6) % 2]
        edition = f"版本{b // 12 + 1}"
        for u in range(1, 7):
            for n in range(1, 6):
                rows.append(catalogue.Row(0, "小学", subject, edition, grade, term, u, f"第{u}单元", n, f"课{u}-{n}"))
    result = catalogue.load_rows(rows, region=province, actor=SYSTEM)
    assert result.ok, result.errors[:3]
    others = list(Lesson.objects.exclude(unit__volume=hot).values_list("id", flat=True))
    return hot, others


def generate(n: int, hot: Any, others: list[int]) -> float:
    """n resources in bulk (no signals: the search index is not part of this benchmark)."""
    from django.db import transaction

    from banbantong.accounts.models import User
    from banbantong.org.models import School
    from banbantong.resources.models import Blob, Lesson, Resource

    rng = random.Random(SEED)
    started = time.perf_counter()
    blob = Blob.objects.create(sha256="0" * 64, size=1, content_type="application/pdf", storage_key="bench/0")
    schools = list(School.objects.values_list("id", "region_path"))
    authors = [User.objects.create(username=f"bench_t{i}", role="teacher", school_id=schools[i][0]).pk
               for i in range(0, len(schools), max(1, len(schools) // 300))]
    hot_lessons = list(Lesson.objects.filter(unit__volume=hot).values_list("id", flat=True))
    subject_of = dict(Lesson.objects.values_list("id", "unit__volume__edition__subject"))
    county_of = {path: path.rsplit("/", 2)[0] + "/" for _, path in schools}  # town path -> county path
    from banbantong.org.models import Region

    region_ids = dict(Region.objects.values_list("path", "id"))
    kinds, weights = zip(*KINDS, strict=True)
    now = time.time()
    made = 0
    while made < n:
        batch = []
        for _ in range(min(BATCH, n - made)):
            school_id, path = rng.choice(schools)
            lesson = rng.choice(hot_lessons) if rng.random() < HOT_SHARE else rng.choice(others)
            roll = rng.random()
            network = roll >= 0.6
            status = ("draft" if not network else "approved" if roll < 0.92 else
                      "submitted" if roll < 0.97 else "rejected")
            county = county_of[path]
            batch.append(Resource(
                title="资源", kind=rng.choices(kinds, weights)[0], author_id=rng.choice(authors), school_id=school_id,
                library="network" if network else "school", network_region_id=region_ids[county] if network else None,
                network_path=county if network else "", status=status, original_name="a.pdf", blob=blob,
                catalogue_lesson_id=lesson, subject=subject_of[lesson],
            ))
        with transaction.atomic():
            Resource.objects.bulk_create(batch)
        made += len(batch)
        if made % 100_000 == 0:
            print(f"  {made:,} resources ({time.time() - now:.0f} s)", flush=True)
    return time.perf_counter() - started


def naive_school(volume: Any, school: Any) -> list[tuple[int, ...]]:
    """The anchor: what one writes first — a COUNT per lesson, need and place."""
    from django.db.models import Q

    from banbantong.resources import library_rules as lr
    from banbantong.resources.models import Lesson, Resource, ancestor_paths

    out = []
    network = Q(library="network", status="approved", network_path__in=ancestor_paths(school.region_path))
    for lesson in Lesson.objects.filter(unit__volume=volume):
        row = []
        for need in lr.NEEDS:
            base = Resource.objects.filter(catalogue_lesson=lesson, kind__in=need.kinds)
            row.append(base.filter(school=school).exclude(status="rejected").count())
            row.append(base.filter(network).count())
        out.append(tuple(row))
    return out


def main() -> None:
    args = parse_args()
    _, cleanup = prepare_environment(args)
    try:
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from banbantong.core.scope import SYSTEM
    from banbantong.org.models import Region, School
    from banbantong.resources import coverage, points, quotas
    from banbantong.resources.models import PointEntry, Quota, Resource

    call_command("migrate", interactive=False, verbosity=0)
    world = build_world(args.schools, args.classes or 10 * args.schools)
    print(f"registry: {world.schools:,} schools in {world.seconds:.0f} s")
    hot, others = build_books(world.province)
    print(f"books: {BOOKS + 1}, lessons: {len(others)} + the popular book's")
    seconds = generate(args.resources, hot, others)
    print(f"resources: {Resource.objects.count():,} generated in {seconds:.0f} s")
    year = timezone.localdate().year
    quotas.assign_quotas(quotas.QuotaInput(world.province, year, "courseware", "数学", 30), actor=SYSTEM)
    # Points: an approval entry for 50,000 approved resources, as the review would have left.
    approved = list(Resource.objects.filter(status="approved").values_list("id", "author_id", "school_id")[:50_000])
    PointEntry.objects.bulk_create([PointEntry(user_id=a, school_id=s, resource_id=r, reason="approved", points=10,
                                               key=f"approved:{r}", year=year) for r, a, s in approved],
                                   batch_size=BATCH)
    Resource.objects.filter(status="approved").update(reviewed_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    school = School.objects.filter(resources__catalogue_lesson__unit__volume=hot).first()
    assert school is not None
    county = Region.objects.get(pk=school.region.parent_id)
    assert [tuple(v for n in r.counts.values() for v in n.values()) for r in coverage.school_matrix(hot, school)] \
        == [(c[0], c[2], c[4], c[1], c[3], c[5]) for c in naive_school(hot, school)], "grouped ≠ naive"

    admin = SYSTEM  # a province-wide reader
    rows = [
        ("school_matrix, one school (grouped)", lambda: coverage.school_matrix(hot, school), args.repeat),
        ("  anchor: per-lesson COUNTs", lambda: naive_school(hot, school), args.anchor_repeat),
        ("region_matrix, a county", lambda: coverage.region_matrix(hot, county), args.repeat),
        ("region_matrix, the province", lambda: coverage.region_matrix(hot, world.province), args.repeat),
        (f"quota completion, {Quota.objects.count():,} quotas",
         lambda: quotas.completion(Quota.objects.filter(year=year)), args.repeat),
        ("school leaderboard, province (first 50)", lambda: list(points.school_board(admin, year=year)[:50]),
         args.repeat),
        ("teacher leaderboard, province (first 50)", lambda: list(points.teacher_board(admin, year=year)[:50]),
         args.repeat),
    ]
    print(f"\n{registry_machine()}; load average {os.getloadavg()}")
    print(f"{Resource.objects.count():,} resources, popular book {hot} with "
          f"{Resource.objects.filter(catalogue_lesson__unit__volume=hot).count():,} of them\n")
    print(f"{'':46} {'median ms':>10} {'p95 ms':>9} {'queries':>8}")
    results = {}
    for label, fn, repeat in rows:
        median, high, queries = timed(fn, repeat)
        results[label] = median
        print(f"{label:46} {median:10.1f} {high:9.1f} {queries:8}", flush=True)
    ratio = results["  anchor: per-lesson COUNTs"] / results["school_matrix, one school (grouped)"]
    print(f"\ngrouped school matrix is {ratio:.1f}× faster than the per-lesson anchor")
    print(f"load average after: {os.getloadavg()}")
    if args.explain:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            coverage.region_matrix(hot, world.province)
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
        with connection.cursor() as cursor:
            cursor.execute(prefix + ctx.captured_queries[-1]["sql"])
            print("\n".join(" ".join(str(c) for c in r) for r in cursor.fetchall()))


if __name__ == "__main__":
    main()
