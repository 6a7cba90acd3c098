"""Chinese full-text search over 1,000,000 generated resources, against a brute-force scan and
against trigram indexes (SQLite FTS5 `trigram`, PostgreSQL pg_trgm), in the same run.

Documents: titles of 2–5 and descriptions of 6–16 words drawn from jieba's dictionary (dict.txt),
weighted by the dictionary's frequencies, so common characters are common; only words made of
CJK characters that normalisation leaves unchanged are used, so the brute-force scan can compare
raw strings. They are stored as real `Resource` rows (one bulk INSERT per 5,000, ten schools of
one county) and indexed through the search app's own bulk path (`search.text.documents` in
worker processes → `backend().insert`), which makes the rows that indexing each resource after
its save makes (search/tests/test_bulk_index.py).

Queries: for each length 1–4, substrings of random documents' titles or descriptions (so every
query has at least one hit), `--queries` of each length. For each query:
- the search page's work is timed for the county's bureau admin (scope: all documents) and a
  teacher (one school): capped count + the first ranked page of 20 with snippets;
                                                                     anchor: p95 < 50 ms
- recall: every id the index finds in scope (`Results.ids()`) is compared with a brute-force
  substring scan of all titles and descriptions in Python;          anchor: recall 1.0
- the trigram index answers the same query (SQLite: FTS5 trigram MATCH, and LIKE which
  FTS5 serves from the trigram index for ≥ 3 characters; PostgreSQL: ILIKE with a pg_trgm GIN
  index), timed, with its recall;             anchor: ours ≥ 10× faster on 2-character queries

    .venv/bin/python benchmarks/search.py --docs 20000                  # quick look, SQLite
    .venv/bin/python benchmarks/search.py                               # SQLite, 1 M documents
    .venv/bin/python benchmarks/search.py --postgres postgresql://postgres@127.0.0.1:5432/bbt_bench_search

With --postgres the named database is dropped and created afresh. `--cache DIR` keeps the
generated documents and their index tokens between runs (the SQLite and PostgreSQL runs then
index the very same tokens without segmenting a million documents twice).
"""

# ruff: noqa: S608  -- SQL strings here are built from constants of this file, never from input

from __future__ import annotations

import argparse
import os
import pickle
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

TARGET_P95_MS = 50.0
TARGET_SPEEDUP = 10.0
PAGE = 20
SEED = 20261202
BATCH = 5000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=30, help="queries of each length 1–4")
    p.add_argument(
        "--trigram-queries", type=int, default=10, help="of those, how many the trigram indexes answer"
    )
    p.add_argument("--workers", type=int, default=2, help="processes segmenting the documents")
    p.add_argument("--postgres", default="", help="URL of the database to (re)create for the run")
    p.add_argument("--cache", default="", help="folder for generated documents and tokens")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--profile", action="store_true", help="print where the time of a few page views goes")
    return p.parse_args()


def prepare(args: argparse.Namespace) -> Callable[[], None]:
    data_dir = Path(tempfile.mkdtemp(prefix="bbt-bench-search-"))
    os.environ["BBT_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "banbantong.settings"
    os.environ.pop("BBT_REDIS_URL", None)
    if args.postgres:
        import psycopg

        base, name = args.postgres.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["BBT_DATABASE_URL"] = args.postgres
    else:
        os.environ.pop("BBT_DATABASE_URL", None)

    def cleanup() -> None:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            if args.postgres:
                import psycopg
                from django.db import connections

                connections.close_all()
                with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return cleanup


# --- documents ---------------------------------------------------------------------------------


def dictionary() -> tuple[list[str], list[float]]:
    import jieba

    from banbantong.search import text

    words, weights = [], []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if text.is_cjk(word) and text.normalise(word) == word:
                words.append(word)
                weights.append(float(freq))
    return words, weights


def generate(n: int) -> list[tuple[str, str]]:
    words, weights = dictionary()
    rng = random.Random(SEED)
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    docs = []
    for _ in range(n):
        title = "".join(rng.choices(words, cum_weights=cum, k=rng.randint(2, 5)))
        sentence = rng.choices(words, cum_weights=cum, k=rng.randint(6, 16))
        cut = rng.randint(2, len(sentence) - 2)  # one comma: two runs, as real descriptions have
        description = "".join(sentence[:cut]) + "，" + "".join(sentence[cut:]) + "。"
        docs.append((title[:200], description))
    return docs


# --- the world and the index -------------------------------------------------------------------


def cached_sizes(cache: Path, kind: str, at_least: int) -> list[int]:
    """Sizes of the complete cache files of `kind` holding at least `at_least` documents, smallest first."""
    sizes = []
    for f in cache.glob(f"{kind}-*.pkl"):
        size = f.stem.split("-", 1)[1]
        if size.isdigit() and int(size) >= at_least:
            sizes.append(int(size))
    return sorted(sizes)


def segment(chunk: list[tuple[str, str]]) -> list[Any]:
    from banbantong.search import text

    # The search app's bulk tokenizer: the very tokens indexing one resource makes (tested).
    return text.documents([(t, d, "", "") for t, d in chunk])


def resource_inserter(template: Any) -> Callable[[list[tuple[str, str, int]]], list[int]]:
    """Bulk INSERT of Resource rows like `template` with their own (title, description, school_id).

    Django's compiler writes the statement and prepares the template's values once (defaults,
    created_at, foreign keys); each row then only swaps its three values. bulk_create prepared 25
    fields of every object in Python, which was most of the build's time.
    """
    from django.db import connection
    from django.db.models.sql import InsertQuery

    from banbantong.resources.models import Resource

    fields = [f for f in Resource._meta.concrete_fields if not f.primary_key]
    query = InsertQuery(Resource)
    query.insert_values(fields, [template])
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    at = {f.attname: i for i, f in enumerate(fields)}
    title, description, school = at["title"], at["description"], at["school_id"]

    def insert(rows: list[tuple[str, str, int]]) -> list[int]:
        values = []
        for t, d, school_id in rows:
            row = list(params)
            row[title], row[description], row[school] = t, d, school_id
            values.append(row)
        with connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM resources_resource")
            (last,) = cur.fetchone()
            cur.executemany(sql, values)
            # One writer in a transaction: the new ids are the ones above the old maximum, in order.
            cur.execute("SELECT id FROM resources_resource WHERE id > %s ORDER BY id", [last])
            ids = [int(r[0]) for r in cur.fetchall()]
        assert len(ids) == len(rows)
        return ids

    return insert


def build(docs: list[tuple[str, str]], cache: Path | None, workers: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    from banbantong.accounts.models import User
    from banbantong.org import services as org
    from banbantong.org.models import Region, School
    from banbantong.resources.models import Blob, Resource
    from banbantong.search import indexing
    from banbantong.search.backends import Row, backend

    call_command("migrate", verbosity=0)
    city, _ = org.ensure_region("吉安市", level=Region.Level.CITY, parent=None, actor=None)
    county, _ = org.ensure_region("吉水县", level=Region.Level.COUNTY, parent=city, actor=None)
    schools = [
        School.objects.create(region=county, name=f"第{i + 1}小学", kind=School.Kind.CENTRAL_PRIMARY)
        for i in range(10)
    ]
    admin = User.objects.create_user(username="county", password=None, role="bureau_admin", region=county)
    teacher = User.objects.create_user(username="teacher", password=None, role="teacher", school=schools[0])
    blob = Blob.objects.create(sha256="0" * 64, size=1, content_type="video/mp4", storage_key="blobs/x")
    be = backend()
    token_file = cache / f"tokens-{len(docs)}.pkl" if cache else None
    if token_file and not token_file.exists():
        # The documents of a smaller run are the first of a larger one (same seed, same order)
        # and the token file holds one pickle per BATCH: a larger run's file serves its prefix.
        larger = cached_sizes(cache, "tokens", len(docs)) if cache else []
        if larger and len(docs) % BATCH == 0:
            token_file = cache / f"tokens-{larger[0]}.pkl"  # type: ignore[operator]
    cached = token_file.open("rb") if token_file and token_file.exists() else None
    # Written under a temporary name and renamed when complete: an interrupted run leaves no cache.
    partial = token_file.with_suffix(".partial") if token_file else None
    writer = None if cached or partial is None else partial.open("wb")
    started = time.perf_counter()
    segment_s = 0.0
    pool = None
    if cached is None:
        import multiprocessing

        # The search app's own tokenizer, in `workers` processes (jieba and opencc are pure Python).
        pool = multiprocessing.get_context("fork").Pool(workers)
        segmented = pool.imap(segment, (docs[at : at + BATCH] for at in range(0, len(docs), BATCH)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP INDEX search_document_vector")
    template = Resource(title="", description="", kind="courseware", school=schools[0], author=admin,
                        original_name="x.mp4", blob=blob, subject="数学")
    insert_resources = resource_inserter(template)
    for at in range(0, len(docs), BATCH):
        chunk = docs[at : at + BATCH]
        with transaction.atomic():
            ids = insert_resources([(t, d, schools[(at + i) % 10].pk) for i, (t, d) in enumerate(chunk)])
            t0 = time.perf_counter()
            if cached is not None:
                documents = pickle.load(cached)  # noqa: S301 - our own cache file
            else:
                documents = next(segmented)
                if writer is not None:
                    pickle.dump(documents, writer)
            segment_s += time.perf_counter() - t0
            # The rows indexing.rows_for makes: no file text (a video), the resource's fingerprint.
            be.insert([Row(pk, doc, "", indexing.fingerprint_of(t, d, "", blob.pk))
                       for pk, (t, d), doc in zip(ids, chunk, documents, strict=True)])
        if at // BATCH % 20 == 0:
            print(f"  indexed {at + len(chunk):>9,} in {time.perf_counter() - started:6.0f} s", flush=True)
    if connection.vendor == "postgresql":
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("CREATE INDEX search_document_vector ON search_document USING gin (vector)")
            # What autovacuum would have done by the time anyone searches: the planner needs the
            # statistics of the vectors (common lexemes) and of the scope's tables.
            cur.execute("VACUUM ANALYZE")
        print(f"  GIN index built in {time.perf_counter() - t0:.0f} s")
    else:
        with connection.cursor() as cur:
            cur.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            cur.execute("ANALYZE")
    if pool is not None:
        pool.close()
    for fh in (cached, writer):
        if fh is not None:
            fh.close()
    if writer is not None and partial is not None and token_file is not None:
        partial.rename(token_file)
    total = time.perf_counter() - started
    ids = list(Resource.objects.order_by("pk").values_list("pk", flat=True))
    return {
        "admin": admin,
        "teacher": teacher,
        "school0": schools[0].pk,
        "ids": ids,
        "build_s": total,
        "segment_s": segment_s,
    }


def build_trigram() -> float:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(
                "CREATE VIRTUAL TABLE bench_trigram USING fts5(title, description, tokenize='trigram')"
            )
            cur.execute(
                "INSERT INTO bench_trigram(rowid, title, description) "
                "SELECT id, title, description FROM resources_resource"
            )
        else:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("CREATE INDEX bench_trgm_title ON resources_resource USING gin (title gin_trgm_ops)")
            cur.execute(
                "CREATE INDEX bench_trgm_description ON resources_resource USING gin (description gin_trgm_ops)"
            )
            cur.execute("ANALYZE")
    return time.perf_counter() - t0


def trigram_methods() -> dict[str, tuple[str, Callable[[str], list[str]]]]:
    """The trigram index's ways of answering q: {method: (sql, params for q)}."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return {
            "FTS5 trigram MATCH": (
                "SELECT rowid FROM bench_trigram WHERE bench_trigram MATCH %s",
                lambda q: ['"' + q + '"'],
            ),
            "FTS5 trigram LIKE": (
                "SELECT rowid FROM bench_trigram WHERE title LIKE %s OR description LIKE %s",
                lambda q: [f"%{q}%", f"%{q}%"],
            ),
        }
    return {
        "pg_trgm ILIKE": (
            "SELECT id FROM resources_resource WHERE title ILIKE %s OR description ILIKE %s",
            lambda q: [f"%{q}%", f"%{q}%"],
        ),
        "pg_trgm similarity %": (
            "SELECT id FROM resources_resource WHERE title %% %s OR description %% %s",
            lambda q: [q, q],
        ),
    }


def trigram_ids(sql: str, params: list[str]) -> set[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {r[0] for r in cur.fetchall()}


# --- measuring ---------------------------------------------------------------------------------


def sample_queries(docs: list[tuple[str, str]], per_length: int) -> dict[int, list[str]]:
    rng = random.Random(SEED + 1)
    out: dict[int, list[str]] = {}
    for length in (1, 2, 3, 4):
        seen: list[str] = []
        while len(seen) < per_length:
            field = rng.choice(rng.choice(docs))
            run = rng.choice([r for r in field.replace("。", "，").split("，") if r] or [""])
            if len(run) < length:
                continue
            start = rng.randint(0, len(run) - length)
            q = run[start : start + length]
            if q not in seen:
                seen.append(q)
        out[length] = seen
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def main() -> None:
    args = parse_args()
    cleanup = prepare(args)
    try:
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection
    from registry_pages import machine

    from banbantong.search import queries

    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    doc_file = cache / f"docs-{args.docs}.pkl" if cache else None
    t0 = time.perf_counter()
    larger = cached_sizes(cache, "docs", args.docs) if cache else []
    if doc_file and doc_file.exists():
        docs = pickle.loads(doc_file.read_bytes())  # noqa: S301 - our own cache file
    elif larger:
        # generate() draws document after document from one seeded stream: a prefix is the same.
        docs = pickle.loads((cache / f"docs-{larger[0]}.pkl").read_bytes())[: args.docs]  # type: ignore[operator]  # noqa: S301
    else:
        docs = generate(args.docs)
        if doc_file:
            doc_file.write_bytes(pickle.dumps(docs))
    print(f"{machine()}\nload before: {os.getloadavg()}")
    print(
        f"{len(docs):,} documents generated in {time.perf_counter() - t0:.0f} s; e.g. {docs[0][0]} — {docs[0][1]}"
    )
    world = build(docs, cache, args.workers)
    print(
        f"index built in {world['build_s']:.0f} s ({world['segment_s']:.0f} s of it segmenting/loading tokens)"
    )
    trigram_s = build_trigram()
    print(f"trigram index built in {trigram_s:.0f} s")
    ids = world["ids"]
    school_ids = set(ids[0::10])  # the build gave school 0 every tenth row
    asked = sample_queries(docs, args.queries)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for length in (1, 2):
            for q in asked[length][:10]:
                results = queries.search(world["admin"], {"q": q})
                results.count(), results[0:PAGE]
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    summary: dict[str, Any] = {}
    for length, qs in asked.items():
        admin_ms, teacher_ms, misses, extra = [], [], 0, 0
        tri_ms: dict[str, list[float]] = {}
        tri_recall: dict[str, list[float]] = {}
        brute_ms = []
        for q in qs:
            # brute force: every title and description, in Python
            bms, expected_idx = timed(lambda q=q: [i for i, (t, d) in enumerate(docs) if q in t or q in d])
            brute_ms.append(bms)
            expected = {ids[i] for i in expected_idx}
            for user, bucket in ((world["admin"], admin_ms), (world["teacher"], teacher_ms)):

                def page(user: Any = user, q: str = q) -> Any:
                    results = queries.search(user, {"q": q})
                    return results.count(), results[0:PAGE]

                page()  # the first call of a query warms caches that every later page view finds warm
                ms, _ = timed(page)
                bucket.append(ms)
            got = queries.search(world["admin"], {"q": q}).ids()  # type: ignore[union-attr]
            misses += len(expected - got)
            extra += len(got - expected)
            got_teacher = queries.search(world["teacher"], {"q": q}).ids()  # type: ignore[union-attr]
            misses += len((expected & school_ids) - got_teacher)
            extra += len(got_teacher - (expected & school_ids))
            for method, (sql, params) in trigram_methods().items() if q in qs[: args.trigram_queries] else ():
                ms, found = timed(lambda sql=sql, params=params, q=q: trigram_ids(sql, params(q)))
                tri_ms.setdefault(method, []).append(ms)
                tri_recall.setdefault(method, []).append(len(found & expected) / len(expected))
        summary[length] = (admin_ms, teacher_ms, tri_ms, tri_recall, misses, extra, brute_ms)
        print(f"\n{length}-character queries ({len(qs)}; e.g. {'、'.join(qs[:5])})")
        print(
            f"  ours, county admin   median {statistics.median(admin_ms):7.1f} ms  p95 {pct(admin_ms, 95):7.1f} ms"
        )
        print(
            f"  ours, teacher        median {statistics.median(teacher_ms):7.1f} ms  p95 {pct(teacher_ms, 95):7.1f} ms"
        )
        print(
            f"  recall vs brute force: missed {misses}, extra {extra} "
            f"({'recall 1.0' if misses == 0 else 'RECALL BELOW 1.0'})"
        )
        print(f"  brute-force scan     median {statistics.median(brute_ms):7.1f} ms")
        for method, values in tri_ms.items():
            recall = tri_recall[method]
            print(
                f"  {method:<22} median {statistics.median(values):7.1f} ms  p95 {pct(values, 95):7.1f} ms  "
                f"recall mean {statistics.mean(recall):.3f}, queries with a miss {sum(r < 1 for r in recall)}"
            )
    print(f"\nload after: {os.getloadavg()}")
    all_admin = [v for s in summary.values() for v in s[0]]
    all_teacher = [v for s in summary.values() for v in s[1]]
    print(
        f"all lengths: county admin p95 {pct(all_admin, 95):.1f} ms, teacher p95 {pct(all_teacher, 95):.1f} ms "
        f"(anchor p95 < {TARGET_P95_MS:.0f} ms)"
    )
    two = summary[2]
    ours2 = statistics.median(two[0])
    for method, values in two[2].items():
        print(
            f"2-character median: ours {ours2:.1f} ms vs {method} {statistics.median(values):.1f} ms "
            f"= {statistics.median(values) / ours2:.1f}× (anchor ≥ {TARGET_SPEEDUP:.0f}×), "
            f"its recall {statistics.mean(two[3][method]):.3f}"
        )
    print(f"database: {connection.vendor}")


if __name__ == "__main__":
    main()
