"""Upload of a large file through the real server, against writing and hashing the same bytes.

Starts `bbt serve` (waitress) on a free loopback port over a fresh data directory, creates a
teacher with an API token, writes a file of --size-mb (default 1024) that looks like an MP4 video
(an `ftyp` box, then random bytes), and measures, on the same disk:

- anchor: read the file in 8 MB blocks, SHA-256 it and write it to a new file on the disk the
  platform stores into — the least any upload must do;
- upload, hash first: what a simple client does (`resources/api.py`): hash the file whole and
  chunk by chunk in one read, ask whether the server holds the hash (秒传), start a resumable
  session, PUT every chunk with its SHA-256, complete, register the resource — end to end over
  HTTP, one connection, the client's hashing included;
- upload, streaming: the client that sends soonest (`upload_streaming`): start the session at
  once, hash the whole file in a second thread while the chunks travel in order with their
  CRC-32 over two connections, ask for 秒传 as soon as the hash is known, give the SHA-256 at
  completion — the same checks on the server;                                     anchor: ≥ 80 % of the anchor's speed
- duplicate: the same file registered again by its hash alone — one request, no bytes.

Afterwards the upload temporary directory must be empty. Runs --repeat times (default 3) and
prints the medians.

    .venv/bin/python benchmarks/upload.py                  # 1 GB
    .venv/bin/python benchmarks/upload.py --size-mb 256    # quicker look
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmark, for its machine line
sys.path.insert(0, str(HERE.parent))  # the project

BLOCK = 8 * 1024 * 1024
TARGET_RATIO = 0.80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_file(path: Path, size: int, seed: int) -> None:
    """An MP4-looking file: a real `ftyp` box, then pseudo-random bytes (incompressible)."""
    import random

    rng = random.Random(seed)
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    with path.open("wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            n = min(BLOCK, left)
            f.write(rng.randbytes(n))
            left -= n


def anchor(src: Path, dest_dir: Path) -> float:
    """Read, hash and write the bytes once — no HTTP, no checks."""
    dest = dest_dir / f"anchor-{time.monotonic_ns()}"
    started = time.perf_counter()
    h = hashlib.sha256()
    with src.open("rb") as fin, dest.open("wb") as fout:
        while block := fin.read(BLOCK):
            h.update(block)
            fout.write(block)
    seconds = time.perf_counter() - started
    dest.unlink()
    return seconds


class Caller:
    """One API request, counted; an error ends the run with what the server said."""

    def __init__(self, client: Any) -> None:
        self.client, self.requests = client, 0

    def __call__(self, method: str, url: str, **kw: object) -> Any:
        self.requests += 1
        r = self.client.request(method, url, **kw)
        if r.status_code >= 400:
            raise SystemExit(f"{method} {url}: {r.status_code} {r.text[:300]}")
        return r


def upload(client: object, src: Path, chunk_mb: int, title: str) -> tuple[float, str, int]:
    """The client's whole upload; returns (seconds, sha256, requests made).

    What a real client does: one read of the file that hashes it whole (for 秒传, asked before
    any byte is sent) and chunk by chunk (each PUT carries its chunk's SHA-256) — two SHA-256
    computations over every byte, one thread, no parallel connections — then a second read that
    sends the chunks in order.
    """
    import httpx

    assert isinstance(client, httpx.Client)
    started = time.perf_counter()
    chunk_size = chunk_mb * 1024 * 1024
    whole, chunk_digests = hashlib.sha256(), []
    with src.open("rb") as f:
        while block := f.read(chunk_size):
            whole.update(block)
            chunk_digests.append(hashlib.sha256(block).hexdigest())
    sha, size = whole.hexdigest(), src.stat().st_size
    call = Caller(client)

    if call("POST", "/api/v1/resources/blobs/check", json={"sha256": sha, "size": size}).json()["exists"]:
        raise SystemExit("the server already holds this file: the run would measure nothing")
    session = call("POST", "/api/v1/resources/uploads",
                   json={"file_name": src.name, "sha256": sha, "size": size, "chunk_size": chunk_size}).json()
    assert session["chunk_count"] == len(chunk_digests)
    with src.open("rb") as f:
        for index, digest in enumerate(chunk_digests):
            chunk = f.read(session["chunk_size"])
            call("PUT", f"/api/v1/resources/uploads/{session['id']}/chunks/{index}", content=chunk,
                 headers={"X-Chunk-SHA256": digest, "Content-Type": "application/octet-stream"})
    call("POST", f"/api/v1/resources/uploads/{session['id']}/complete")
    call("POST", "/api/v1/resources", json={"title": title, "kind": "video", "file_name": src.name, "sha256": sha})
    return time.perf_counter() - started, sha, call.requests


def upload_streaming(client: object, src: Path, chunk_mb: int, title: str, connections: int = 2) -> tuple[float, str, int]:
    """The client that sends a large file soonest; returns (seconds, sha256, requests made).

    It starts the session at once without the file's hash, hashes the whole file in a second
    thread while the chunks travel (each PUT carries its chunk's CRC-32, enough to catch a
    damaged transfer) over two connections, asks whether the server already holds the file (秒传)
    as soon as that hash is known, and gives the SHA-256 to `complete`, where the server checks
    it against the bytes before storing anything.
    """
    import threading
    import zlib

    import httpx

    assert isinstance(client, httpx.Client)
    started = time.perf_counter()
    chunk_size = chunk_mb * 1024 * 1024
    size = src.stat().st_size
    whole: dict[str, str] = {}

    def hash_file() -> None:
        h = hashlib.sha256()
        with src.open("rb") as f:
            while block := f.read(BLOCK):
                h.update(block)
        whole["sha256"] = h.hexdigest()

    hasher = threading.Thread(target=hash_file)
    hasher.start()
    call = Caller(client)

    session = call("POST", "/api/v1/resources/uploads",
                   json={"file_name": src.name, "size": size, "chunk_size": chunk_size}).json()
    # Chunks go out in order over `connections` connections: while the server checks and writes
    # one chunk, the next is already on its way.
    order = iter(range(session["chunk_count"]))
    order_lock = threading.Lock()
    asked = threading.Event()
    failures: list[BaseException] = []

    def sender(conn: httpx.Client) -> None:
        try:
            with src.open("rb") as f:
                while True:
                    with order_lock:
                        index = next(order, None)
                        if index is None:
                            return
                        if not asked.is_set() and "sha256" in whole:
                            asked.set()
                            if call("POST", "/api/v1/resources/blobs/check",
                                    json={"sha256": whole["sha256"], "size": size}).json()["exists"]:
                                raise SystemExit("the server already holds this file: the run would measure nothing")
                    f.seek(index * session["chunk_size"])
                    chunk = f.read(session["chunk_size"])
                    r = conn.put(f"/api/v1/resources/uploads/{session['id']}/chunks/{index}", content=chunk,
                                 headers={"X-Chunk-CRC32": f"{zlib.crc32(chunk):08x}",
                                          "Content-Type": "application/octet-stream"})
                    if r.status_code >= 400:
                        raise SystemExit(f"chunk {index}: {r.status_code} {r.text[:300]}")
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failures.append(exc)

    conns = [client] + [httpx.Client(base_url=client.base_url, headers=client.headers, timeout=600)
                        for _ in range(connections - 1)]
    threads = [threading.Thread(target=sender, args=(conn,)) for conn in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for conn in conns[1:]:
        conn.close()
    if failures:
        raise failures[0]
    call.requests += session["chunk_count"]
    hasher.join()
    sha = whole["sha256"]
    call("POST", f"/api/v1/resources/uploads/{session['id']}/complete", json={"sha256": sha})
    call("POST", "/api/v1/resources", json={"title": title, "kind": "video", "file_name": src.name, "sha256": sha})
    return time.perf_counter() - started, sha, call.requests


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--chunk-mb", type=int, default=8, help="chunk size of the resumable upload (default 8, as the API)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bbt-upload-", dir=os.environ.get("BBT_BENCH_DIR")))
    env = {**os.environ, "BBT_DATA_DIR": str(data_dir), "BBT_ALLOWED_HOSTS": "127.0.0.1,localhost",
           "BBT_RESOURCE_MAX_MB": str(max(2048, args.size_mb * 2)), "DJANGO_SETTINGS_MODULE": "banbantong.settings"}
    env.pop("BBT_DATABASE_URL", None)
    os.environ.update(env)
    bbt = str(Path(sys.executable).with_name("bbt"))
    subprocess.run([bbt, "migrate", "-v", "0"], env=env, check=True)

    import django

    django.setup()
    from django.conf import settings
    from registry_pages import machine  # noqa: E402

    from banbantong.accounts.models import User
    from banbantong.accounts.services import create_token
    from banbantong.org import services as org_services
    from banbantong.org.models import Region, School

    county, _ = org_services.ensure_region("基准县", level=Region.Level.COUNTY, parent=None, actor=None)
    school = School.objects.create(region=county, name="基准中学", kind=School.Kind.URBAN_JUNIOR, is_rural=False)
    # Signs in by token only: the account has no usable password.
    teacher = User.objects.create_user(username="bench_teacher", password=None, role="teacher", school=school)
    _, raw_token = create_token(actor=teacher, name="基准上传")

    port = free_port()
    server = subprocess.Popen([bbt, "serve", "--addr", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    import httpx

    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {raw_token}"},
                              timeout=600)
        for _ in range(100):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        media = Path(settings.MEDIA_ROOT)
        media.mkdir(parents=True, exist_ok=True)
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
        print(f"file: {args.size_mb:,} MB MP4-like, chunks of {args.chunk_mb} MB, {args.repeat} runs; "
              f"store and temporary files under {media} (same disk as the anchor)")
        # One small upload first, so that no run pays the server's one-off start-up (imports, the
        # search index's dictionaries) — a running platform has long paid it.
        warm = data_dir / "预热.mp4"
        make_file(warm, 1024 * 1024, seed=-1)
        upload(client, warm, args.chunk_mb, "预热")
        warm.unlink()
        anchors, uploads, streamed, dupes = [], [], [], []
        for run in range(args.repeat):
            src = data_dir / f"视频-{run}.mp4"
            make_file(src, args.size_mb * 1024 * 1024, seed=run)
            anchors.append(anchor(src, media))
            # The same bytes twice would be 秒传 the second time: the streaming client sends a
            # copy with its last byte changed, the same size and the same work.
            copy = data_dir / f"视频-{run}-副本.mp4"
            shutil.copyfile(src, copy)
            with copy.open("r+b") as fh:
                fh.seek(-1, os.SEEK_END)
                last = fh.read(1)
                fh.seek(-1, os.SEEK_END)
                fh.write(bytes([last[0] ^ 0xFF]))
            seconds, sha, requests = upload(client, src, args.chunk_mb, f"基准视频 {run}")
            uploads.append(seconds)
            s_seconds, _, s_requests = upload_streaming(client, copy, args.chunk_mb, f"基准视频 {run}（流式）")
            streamed.append(s_seconds)
            copy.unlink()
            started = time.perf_counter()
            r = client.post("/api/v1/resources", json={"title": f"基准视频 {run}（再次登记）", "kind": "video",
                                                       "file_name": src.name, "sha256": sha})
            dupes.append(time.perf_counter() - started)
            if r.status_code != 201:
                raise SystemExit(f"duplicate by hash: {r.status_code} {r.text[:300]}")
            src.unlink()
            mb = args.size_mb
            print(f"  run {run + 1}: anchor {anchors[-1]:.2f} s ({mb / anchors[-1]:,.0f} MB/s), upload hash first "
                  f"{seconds:.2f} s ({mb / seconds:,.0f} MB/s, {requests} requests), streaming {s_seconds:.2f} s "
                  f"({mb / s_seconds:,.0f} MB/s, {s_requests} requests), duplicate by hash {dupes[-1] * 1000:.0f} ms "
                  f"(1 request); load average {os.getloadavg()[0]:.1f}", flush=True)
        leftovers = [p for p in (media / ".partial").rglob("*") if p.is_file()] if (media / ".partial").exists() else []
        a, u, d = statistics.median(anchors), statistics.median(uploads), statistics.median(dupes)
        st = statistics.median(streamed)
        print(f"\nmedian: anchor (read + SHA-256 + write) {a:.2f} s = {args.size_mb / a:,.0f} MB/s; duplicate by hash "
              f"{d * 1000:.0f} ms in one request")
        for label, secs in (("upload, hash first (SHA-256 per chunk)", u), ("upload, streaming (CRC-32 per chunk)", st)):
            ratio = a / secs
            print(f"  {label}: {secs:.2f} s = {args.size_mb / secs:,.0f} MB/s = {ratio:.0%} of the anchor "
                  f"(target ≥ {TARGET_RATIO:.0%}: {'ok' if ratio >= TARGET_RATIO else 'SLOW'})")
        print(f"temporary upload files left behind: {len(leftovers)}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
