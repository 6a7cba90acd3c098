"""The session file of a resumable upload: chunks written at their offsets, and a running hash.

A session owns one file in the upload temporary folder (`storage.temp_dir()`), preallocated to
the declared size when the session starts, so a full disk is reported before a byte is sent.
Each verified chunk is written at `index × chunk_size`, in any order and as often as the client
resends it. Completion seals the file (renames it to a name no writer opens, then waits for the
writers that opened it before), hashes it and hands it to the blob store: on local disk a rename,
so the bytes are written once; on an object store it is streamed there. Nothing of a session is
ever under a blob key, and cancelling or expiring it deletes the file.

The whole file's SHA-256 must be checked at completion. While chunks arrive in order, the process
that receives them keeps a running hash (`hashlib` state per session, process-local), so that
completion reads only what that hash has not covered — nothing, for a client sending in order to
one process. It is trusted only when this process made every write into the file: each chunk
counts itself in `UploadSession.chunk_writes` before it is written, so a chunk (or a resent one)
that reached another process, or a resent chunk with other bytes, makes completion re-read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from banbantong.resources import storage
from banbantong.resources.rules import UploadRefused

try:
    import fcntl
except ImportError:  # Windows: a file open for writing cannot be renamed there, which seals it too
    fcntl = None  # type: ignore[assignment]

MAX_RUNNING = 256  # sessions whose running hash a process keeps; an older one is re-read at completion
MAX_AHEAD = 4  # chunks (≤ 32 MB each) a session's running hash holds while an earlier one is on its way
NO_SPACE = "服务器存储空间不足，无法接收这个 {mb:,} MB 的文件。请联系管理员清理空间后再上传。"
GONE = "此次上传已结束（已完成、已取消或已过期），请重新开始上传。"


class SessionGone(Exception):
    """The session file is no longer there to write into (completed, cancelled or swept)."""


def session_path(session_id: str) -> Path:
    # Session ids are secrets.token_urlsafe: letters, digits, '-' and '_' only.
    return storage.temp_dir() / f"session-{session_id}"


def sealed_path(session_id: str) -> Path:
    return storage.temp_dir() / f"session-{session_id}.sealed"


def create(session_id: str, size: int) -> None:
    """The session's file, with its whole size reserved on disk; refuses when the disk is too full."""
    path = session_path(session_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        try:
            if size and hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            else:
                os.ftruncate(fd, size)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise UploadRefused(NO_SPACE.format(mb=-(-size // (1024 * 1024)))) from exc
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.ftruncate(fd, size)  # a file system without fallocate: a sparse file of the right size
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def delete(session_id: str) -> None:
    forget(session_id)
    for path in (session_path(session_id), sealed_path(session_id)):
        path.unlink(missing_ok=True)


def _lock(fd: int, *, exclusive: bool) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


@contextlib.contextmanager
def _writer(session_id: str) -> Iterator[int]:
    """The session file, open for writing and shared-locked; SessionGone once it has been sealed."""
    path = session_path(session_id)
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as exc:
        raise SessionGone(GONE) from exc
    try:
        _lock(fd, exclusive=False)
        # Sealing renames the file before waiting for writers: one that opened it just before
        # and got its lock only now must not write into a file on its way to the blob store.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            raise SessionGone(GONE)
        yield fd
    finally:
        os.close(fd)  # also releases the lock


def write_chunk(session_id: str, index: int, offset: int, data: bytes | bytearray, digest: str) -> None:
    """Write a verified chunk at its offset and let this process's running hash take it in.

    The hash and the write run side by side (both release the GIL): on two cores the running
    hash then costs the request almost nothing.
    """
    with _writer(session_id) as fd:
        hasher = threading.Thread(target=_note, args=(session_id, index, data, digest))
        hasher.start()
        try:
            view = memoryview(data)
            at = 0
            while at < len(view):
                at += os.pwrite(fd, view[at:], offset + at)
        except BaseException:
            hasher.join()
            _break(session_id)  # the hash may have taken bytes the file did not get
            raise
        hasher.join()


# --- The running hash -------------------------------------------------------------------------------


@dataclass
class _Running:
    digest: Any = field(default_factory=hashlib.sha256)
    chunks: list[str] = field(default_factory=list)  # checksums ('sha256:…'/'crc32:…') of the chunks hashed, in order
    writes: int = 0  # chunk writes this process made into the session file
    broken: bool = False
    # Chunks that arrived ahead of the next one (a client sending on two connections): held until
    # their turn, at most MAX_AHEAD of them, so that the hash still covers the whole file.
    ahead: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_running: OrderedDict[str, _Running] = OrderedDict()
_running_lock = threading.Lock()


def _note(session_id: str, index: int, data: bytes | bytearray, digest: str) -> None:
    with _running_lock:
        running = _running.get(session_id)
        if running is None:
            running = _running[session_id] = _Running()
            while len(_running) > MAX_RUNNING:
                _running.popitem(last=False)
        _running.move_to_end(session_id)
    with running.lock:
        running.writes += 1
        if running.broken:
            return
        if index == len(running.chunks):
            running.digest.update(data)
            running.chunks.append(digest)
            while (waiting := running.ahead.pop(len(running.chunks), None)) is not None:
                running.digest.update(waiting[0])
                running.chunks.append(waiting[1])
        elif index < len(running.chunks) or index in running.ahead:
            seen = running.chunks[index] if index < len(running.chunks) else running.ahead[index][1]
            if seen != digest or not digest.startswith("sha256:"):
                # Resent with other bytes — or maybe: equal CRC-32s do not prove equal bytes — so
                # the hash may no longer describe the file; completion reads it back instead.
                running.broken = True
        elif len(running.ahead) < MAX_AHEAD:
            running.ahead[index] = (bytes(data), digest)
        # Further ahead: the hash keeps covering its prefix; completion reads the rest.


def _break(session_id: str) -> None:
    with _running_lock:
        running = _running.get(session_id)
    if running is not None:
        with running.lock:
            running.broken = True


def forget(session_id: str) -> None:
    with _running_lock:
        _running.pop(session_id, None)


@dataclass(frozen=True)
class Sealed:
    path: Path
    sha256: str
    reread: int  # bytes read back from the file to finish the hash


def _hash_from(path: Path, digest: Any, offset: int) -> Any:
    with path.open("rb") as fh:
        fh.seek(offset)
        while block := fh.read(storage.READ_BLOCK * 8):
            digest.update(block)
    return digest


def seal(session_id: str) -> Path:
    """Take the file out of the writers' reach: SessionGone when another completion sealed it
    first or the session ended. Read the session's chunk_writes only after this."""
    sealed = sealed_path(session_id)
    try:
        os.rename(session_path(session_id), sealed)
    except FileNotFoundError as exc:
        raise SessionGone(GONE) from exc
    with sealed.open("rb") as fh:
        _lock(fh.fileno(), exclusive=True)  # writers that opened the file before the rename finish first
    return sealed


def whole_sha256(session_id: str, sealed: Path, *, chunk_size: int, writes: int) -> Sealed:
    """The sealed file's SHA-256: the running hash where it can be trusted, the rest read back."""
    with _running_lock:
        running = _running.pop(session_id, None)
    digest: Any = hashlib.sha256()
    covered = 0
    if running is not None:
        with running.lock:
            if not running.broken and running.writes == writes:
                digest, covered = running.digest.copy(), len(running.chunks) * chunk_size
    size = sealed.stat().st_size
    covered = min(covered, size)
    return Sealed(path=sealed, sha256=_hash_from(sealed, digest, covered).hexdigest(), reread=size - covered)


def unseal(session_id: str) -> None:
    """Give a sealed file back to the session after a failure the client may retry (a full store)."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(sealed_path(session_id), session_path(session_id))
