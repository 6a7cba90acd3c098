"""Chunks checked by CRC-32, and the file's SHA-256 given at completion instead of at the start:
a client may hash a large file while its chunks travel. Nothing is stored unless the whole file's
SHA-256 matches, and a bad chunk is never written."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from banbantong.conftest import World
from banbantong.resources import chunked, storage
from banbantong.resources.models import Blob, UploadSession
from banbantong.resources.tests.kit import files_under, pdf, sha

CHUNK = 64 * 1024
JSON = "application/json"


def crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def part(data: bytes, index: int) -> bytes:
    return data[index * CHUNK : (index + 1) * CHUNK]


def start(client: Client, data: bytes, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/resources/uploads",
                           {"file_name": "分数.pdf", "size": len(data), "chunk_size": CHUNK, **extra},
                           content_type=JSON)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def put(client: Client, session: dict[str, Any], chunk: bytes, index: int, check: str | None = None) -> Any:
    return client.put(f"/api/v1/resources/uploads/{session['id']}/chunks/{index}", chunk,
                      content_type="application/octet-stream",
                      headers={"X-Chunk-CRC32": crc(chunk) if check is None else check})


def complete(client: Client, session: dict[str, Any], digest: str | None) -> Any:
    url = f"/api/v1/resources/uploads/{session['id']}/complete"
    return client.post(url, {"sha256": digest}, content_type=JSON) if digest is not None else client.post(url)


def stored(media: Path) -> list[Path]:
    return [p for p in files_under(media) if storage.temp_dir() not in p.parents]


@pytest.mark.django_db
def test_crc_chunks_and_the_hash_given_at_completion(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    data = pdf(3 * CHUNK - 5)
    session = start(client, data)
    assert session["sha256"] == ""
    for i in (2, 0, 1):  # any order
        assert put(client, session, part(data, i), i).status_code == 200
    done = complete(client, session, sha(data))
    assert done.status_code == 200, done.content
    assert done.json()["sha256"] == sha(data)
    with storage.open_blob(Blob.objects.get(pk=sha(data))) as fh:
        assert fh.read() == data
    assert not UploadSession.objects.exists() and files_under(storage.temp_dir()) == []


@pytest.mark.django_db
def test_a_chunk_with_a_wrong_crc_is_refused_and_not_written(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    data = pdf(2 * CHUNK)
    session = start(client, data, sha256=sha(data))
    bad = put(client, session, part(data, 1), 1, check=crc(b"other bytes"))
    assert bad.status_code == 400 and "CRC-32 不符" in bad.json()["message"]
    assert put(client, session, part(data, 0), 0, check="xyz").json()["message"] == "CRC-32 应为 8 位十六进制字符串。"
    no_check = client.put(f"/api/v1/resources/uploads/{session['id']}/chunks/0", part(data, 0),
                          content_type="application/octet-stream")
    assert "X-Chunk-CRC32" in no_check.json()["message"]
    status = client.get(f"/api/v1/resources/uploads/{session['id']}").json()
    assert status["received"] == []
    with chunked.session_path(session["id"]).open("rb") as fh:
        assert fh.read() == b"\0" * len(data)  # nothing of the bad chunk reached the file


@pytest.mark.django_db
def test_completion_needs_the_right_hash_once(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    data = pdf(2 * CHUNK)
    session = start(client, data)
    for i in (0, 1):
        put(client, session, part(data, i), i)
    missing = complete(client, session, None)
    assert missing.status_code == 400 and "请给出整个文件的 SHA-256" in missing.json()["message"]
    wrong = complete(client, session, sha(b"another file"))
    assert wrong.status_code == 400 and "不符" in wrong.json()["message"]
    # A wrong hash ends the session: nothing stored, nothing left behind.
    assert stored(media) == [] and not UploadSession.objects.exists()
    assert files_under(storage.temp_dir()) == []

    declared = start(client, data, sha256=sha(data))
    for i in (0, 1):
        put(client, declared, part(data, i), i)
    other = complete(client, declared, sha(b"not what was declared"))
    assert other.status_code == 400 and "与开始上传时声明的不同" in other.json()["message"]
    assert UploadSession.objects.filter(pk=declared["id"]).exists()  # nothing changed: may complete again
    assert complete(client, declared, sha(data)).status_code == 200


@pytest.mark.django_db
def test_a_chunk_resent_with_other_bytes_under_crc_is_read_back(world: World, client: Client, media: Path) -> None:
    client.force_login(world.teacher_user_a)
    data = pdf(3 * CHUNK, seed=1)
    first = bytearray(part(data, 1))
    first[10] ^= 0xFF  # a first copy that the client later corrects
    session = start(client, data)
    put(client, session, part(data, 0), 0)
    put(client, session, bytes(first), 1)
    put(client, session, part(data, 1), 1)
    put(client, session, part(data, 2), 2)
    done = complete(client, session, sha(data))
    assert done.status_code == 200, done.content
    with storage.open_blob(Blob.objects.get(pk=sha(data))) as fh:
        assert fh.read() == data


def same_crc_other_bytes(chunk: bytes) -> bytes:
    """Other bytes with the same CRC-32 (CRC is linear: 33 bit flips are dependent over GF(2))."""
    zero = zlib.crc32(bytes(len(chunk)))
    basis: dict[int, tuple[int, set[int]]] = {}  # leading bit -> (image, bits flipped)
    for bit in range(33):
        flip = bytearray(len(chunk))
        flip[bit // 8] ^= 1 << (bit % 8)
        image, used = zlib.crc32(bytes(flip)) ^ zero, {bit}
        while image:
            top = image.bit_length() - 1
            if top not in basis:
                basis[top] = (image, used)
                break
            other, other_used = basis[top]
            image, used = image ^ other, used ^ other_used
        else:  # a set of flips whose CRC images cancel out
            out = bytearray(chunk)
            for b in used:
                out[b // 8] ^= 1 << (b % 8)
            return bytes(out)
    raise AssertionError("33 vectors in 32 dimensions are always dependent")


@pytest.mark.django_db
def test_a_resent_chunk_with_an_equal_crc_is_not_trusted(world: World, client: Client, media: Path) -> None:
    """Equal CRC-32s do not prove equal bytes: a chunk resent with other bytes and the same CRC
    must not leave the running hash describing the first copy (the blob would not be its hash)."""
    client.force_login(world.teacher_user_a)
    data = pdf(2 * CHUNK, seed=2)
    forged = same_crc_other_bytes(part(data, 0))
    assert forged != part(data, 0) and crc(forged) == crc(part(data, 0))
    session = start(client, data)
    put(client, session, forged, 0)
    put(client, session, part(data, 0), 0)  # the right bytes, the same CRC
    put(client, session, part(data, 1), 1)
    done = complete(client, session, sha(data))
    assert done.status_code == 200, done.content
    with storage.open_blob(Blob.objects.get(pk=sha(data))) as fh:
        assert fh.read() == data
