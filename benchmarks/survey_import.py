"""Benchmark: importing a province-sized survey (调查表) against just reading it.

Builds a 150,000-row survey (about 15,000 schools under a few counties and towns), then, in
the same run and each in a fresh process:

- anchor: a plain read with python-calamine, iterating every row (the least any import does);
- import: `import_survey` into a fresh, migrated SQLite database (then a re-import of the same
  file, which updates nothing and must not duplicate);
- the whole `bbt import survey` command once, start-up included.

Prints medians, the import/read ratio (target: at most 3) and each process's peak RSS.

    .venv/bin/python benchmarks/survey_import.py [--rows 150000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REGION = "示范市"
TARGET_RATIO = 3.0
CLASSES_PER_SCHOOL = 10
SCHOOLS_PER_TOWN = 100
TOWNS_PER_COUNTY = 30
HEADER = ["区县", "乡镇", "学校名称", "学校类型", "年级", "班级", "学生数", "班班通模式", "建设状态", "建成年份"]
KINDS = [("教学点", range(1, 4)), ("村小", range(1, 7)), ("中心小学", range(1, 7)), ("农村初中", range(7, 10)),
         ("城区小学", range(1, 7))]
MODES = ["液晶电视+DVD+光盘", "液晶电视+电脑+网络", "投影仪+电脑+网络", "交互式一体机"]


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_workbook(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    rnd = random.Random(2025)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("调查表")
    ws.append([f"{REGION}中小学班班通建设情况调查表"])
    ws.append(["填报单位：示范市教育局", None, None, None, None, None, "填报日期：2025年9月1日"])
    ws.append(HEADER)
    written = 0
    school = 0
    while written < rows:
        county = f"第{school // (SCHOOLS_PER_TOWN * TOWNS_PER_COUNTY) + 1}区"
        town = f"{county}第{school // SCHOOLS_PER_TOWN % TOWNS_PER_COUNTY + 1}镇"
        kind, grades = KINDS[school % len(KINDS)]
        name = f"{town}第{school % SCHOOLS_PER_TOWN + 1}{kind}"
        per_grade = -(-CLASSES_PER_SCHOOL // len(grades))
        classes = [(g, n) for g in grades for n in range(1, per_grade + 1)][:CLASSES_PER_SCHOOL]
        for grade, number in classes:
            if written >= rows:
                break
            built = rnd.random() < 0.3
            ws.append([
                county, town, name, kind, grade, f"{number}班", rnd.randint(8, 60),
                rnd.choice(MODES) if built else None, "已建" if built else "未建",
                rnd.randint(2012, 2024) if built else None,
            ])
            written += 1
        school += 1
    wb.save(path)


# --- workers: each runs in its own process so its peak RSS is its own ------------------------


def worker_read(path: Path) -> dict[str, float]:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = 0
    with CalamineWorkbook.from_path(str(path)) as wb:
        for _row in wb.get_sheet_by_index(0).iter_rows():
            rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def worker_import(path: Path) -> dict[str, float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banbantong.settings")
    import django

    django.setup()
    from banbantong.org.survey.service import import_survey

    started = time.perf_counter()
    first = import_survey(path, region=REGION, actor=None)
    seconds = time.perf_counter() - started
    rss_first = peak_rss_mb()
    started = time.perf_counter()
    again = import_survey(path, region=REGION, actor=None)
    reimport = time.perf_counter() - started
    assert again.classes_created == 0 and again.schools_created == 0, "re-import duplicated rows"
    return {
        "seconds": seconds, "reimport_seconds": reimport, "classes": first.classes_created,
        "schools": first.schools_created, "regions": first.regions_created, "peak_rss_mb": rss_first,
        "peak_rss_after_reimport_mb": peak_rss_mb(),
    }


def run_worker(kind: str, path: Path, data_dir: Path | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if data_dir is not None:
        env["BBT_DATA_DIR"] = str(data_dir)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(path)], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fresh_database(template: Path, into: Path) -> Path:
    into.mkdir(parents=True)
    shutil.copy(template / "banbantong.sqlite3", into / "banbantong.sqlite3")
    shutil.copy(template / "secret_key", into / "secret_key")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="build the workbook here and keep it (reused when present)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, file = args.worker
        result = worker_read(Path(file)) if kind == "read" else worker_import(Path(file))
        print(json.dumps(result))
        return

    work = Path(tempfile.mkdtemp(prefix="bbt-bench-survey-"))
    try:
        book = Path(args.keep) / f"survey-{args.rows}.xlsx" if args.keep else work / "survey.xlsx"
        if not book.exists():
            book.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            build_workbook(book, args.rows)
            print(f"built {book.name}: {args.rows:,} rows, {book.stat().st_size / 1e6:.1f} MB "
                  f"in {time.perf_counter() - started:.0f} s")
        template = work / "template"
        bbt = [sys.executable, "-m", "banbantong.cli"]
        subprocess.run([*bbt, "migrate", "-v0"], env={**os.environ, "BBT_DATA_DIR": str(template)}, check=True)

        cli_dir = fresh_database(template, work / "cli")
        started = time.perf_counter()
        subprocess.run([*bbt, "import", "survey", str(book), "--region", REGION],
                       env={**os.environ, "BBT_DATA_DIR": str(cli_dir)}, check=True, capture_output=True)
        cli_seconds = time.perf_counter() - started
        # First child of any size, so the children's peak RSS is the command's.
        cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        reads, imports = [], []
        for i in range(args.repeat):
            # Interleaved, so a busy neighbour on the machine slows both alike.
            reads.append(run_worker("read", book))
            imports.append(run_worker("import", book, fresh_database(template, work / f"db{i}")))
            print(f"  run {i + 1}: read {reads[-1]['seconds']:.2f} s, import {imports[-1]['seconds']:.2f} s, "
                  f"re-import {imports[-1]['reimport_seconds']:.2f} s")
        read_s = statistics.median(r["seconds"] for r in reads)
        import_s = statistics.median(r["seconds"] for r in imports)
        reimport_s = statistics.median(r["reimport_seconds"] for r in imports)
        ratio = import_s / read_s
        first = imports[0]
        print()
        print(f"survey import benchmark — {args.rows:,} rows, {int(first['schools']):,} schools, "
              f"{int(first['regions'])} regions; Python {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"  anchor: plain calamine read   median {read_s:6.2f} s   peak RSS {max(r['peak_rss_mb'] for r in reads):6.0f} MB")
        print(f"  import into fresh SQLite      median {import_s:6.2f} s   peak RSS {max(r['peak_rss_mb'] for r in imports):6.0f} MB")
        print(f"  re-import, nothing changed    median {reimport_s:6.2f} s   peak RSS "
              f"{max(r['peak_rss_after_reimport_mb'] for r in imports):6.0f} MB")
        print(f"  bbt import survey (CLI)       once   {cli_seconds:6.2f} s   peak RSS {cli_rss:6.0f} MB")
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"  ratio import / read: {ratio:.2f}x ({verdict} the target of {TARGET_RATIO:.0f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
