"""Test helpers for the resource library: sample files, a resource of school A, isolated storage.

Also home of the resource cases of core/tests/test_scope_every_url.py, so that they run with a
private MEDIA_ROOT instead of writing into the developer's data folder.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.test import Client, override_settings

from banbantong.conftest import World
from banbantong.resources import services
from banbantong.resources.models import Resource

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40  # 10,249 bytes, different at every offset mod 256


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pdf(size: int, seed: int = 0) -> bytes:
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (b"%PDF-1.4\n" + body)[:size]


def office_zip(folder: str = "ppt/", extra: dict[str, bytes] | None = None, *, names: list[str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}presentation.xml", "<p/>")
        for name, data in (extra or {}).items():
            info = zipfile.ZipInfo(name)  # kept as given: zipfile would clean "../" from a plain name
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        for name in names or []:
            archive.writestr(zipfile.ZipInfo(name), b"x")
    return buffer.getvalue()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def make_resource(
    world: World, *, title: str = "分数的初步认识", name: str = "分数的初步认识.pdf", content: bytes = PDF,
    actor: Any = None, **kw: Any,
) -> Resource:
    data = services.ResourceInput(title=title, kind=kw.pop("kind", Resource.Kind.COURSEWARE),
                                  school=kw.pop("school", world.school_a), file_name=name, **kw)
    return services.create_resource(data, actor=actor or world.teacher_user_a, content=[content])


@contextmanager
def isolated_media() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bbt-media-"))
    try:
        with override_settings(MEDIA_ROOT=str(root)):
            yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- Scope cases (see core/tests/test_scope_every_url.py) --------------------------------------------

Case = Callable[[World, Client], None]


def resource_url_case(url: Callable[[World, Resource], str], inside: str = "teacher_user_a",
                      outside: str = "bob") -> Case:
    """A page or endpoint about one resource of school A: 200 inside, 404 to the other county."""

    def check(w: World, client: Client) -> None:
        with isolated_media():
            resource = make_resource(w)
            client.force_login(getattr(w, inside))
            assert client.get(url(w, resource)).status_code == 200
            client.force_login(getattr(w, outside))
            assert client.get(url(w, resource)).status_code == 404

    return check


def resource_list_case(url: str, inside: str = "alice", outside: str = "bob") -> Case:
    def check(w: World, client: Client) -> None:
        with isolated_media():
            make_resource(w, title="分数的初步认识")
            client.force_login(getattr(w, inside))
            response = client.get(url)
            assert response.status_code == 200
            assert "分数的初步认识" in response.content.decode()
            client.force_login(getattr(w, outside))
            response = client.get(url)
            assert response.status_code == 200
            assert "分数的初步认识" not in response.content.decode()

    return check


def upload_page_case(w: World, client: Client) -> None:
    # The form offers only the schools in scope; the service refuses others (test_upload_page.py).
    client.force_login(w.teacher_user_a)
    page = client.get("/resources/upload/")
    assert page.status_code == 200
    assert "文峰中心小学" in page.content.decode()
    assert "金川中心小学" not in page.content.decode()
    client.force_login(w.auditor_a)
    assert client.get("/resources/upload/").status_code == 403


def blob_check_case(w: World, client: Client) -> None:
    # Answers only whether bytes with this hash exist: no metadata, no school, no name.
    with isolated_media():
        make_resource(w)
        client.force_login(w.bob)
        body = {"sha256": sha(PDF), "size": len(PDF)}
        response = client.post("/api/v1/resources/blobs/check", body, content_type="application/json")
        assert response.json() == {"exists": True}


def upload_session_case(method: str, suffix: str, ok: tuple[int, ...] = (200,)) -> Case:
    """An upload session is its owner's alone: another user, even of the same school, gets 404."""

    def check(w: World, client: Client) -> None:
        with isolated_media():
            data = pdf(70 * 1024)
            session = services.start_upload(actor=w.teacher_user_a, file_name="a.pdf", sha256=sha(data),
                                            size=len(data), chunk_size=64 * 1024)
            url = f"/api/v1/resources/uploads/{session.pk}{suffix}"
            chunk = data[: 64 * 1024]
            kwargs: dict[str, Any] = {}
            if method == "put":
                kwargs = {"data": chunk, "content_type": "application/octet-stream",
                          "headers": {"X-Chunk-SHA256": sha(chunk)}}
            for outsider in (w.bob, w.principal_a):
                client.force_login(outsider)
                assert getattr(client, method)(url, **kwargs).status_code == 404
            if suffix == "/complete":
                services.receive_chunk(session, 0, [chunk], chunk_sha256=sha(chunk), actor=w.teacher_user_a)
                services.receive_chunk(session, 1, [data[64 * 1024:]], chunk_sha256=sha(data[64 * 1024:]),
                                       actor=w.teacher_user_a)
            client.force_login(w.teacher_user_a)
            assert getattr(client, method)(url, **kwargs).status_code in ok

    return check


def start_upload_case(w: World, client: Client) -> None:
    # Creates a session owned by the caller; uploaders only.
    body = {"file_name": "a.pdf", "sha256": "0" * 64, "size": 1000}
    client.force_login(w.auditor_a)
    assert client.post("/api/v1/resources/uploads", body, content_type="application/json").status_code == 403
    client.force_login(w.teacher_user_a)
    assert client.post("/api/v1/resources/uploads", body, content_type="application/json").status_code == 201


def create_resource_case(w: World, client: Client) -> None:
    with isolated_media():
        make_resource(w)
        body = {"title": "复用", "kind": "courseware", "file_name": "x.pdf", "sha256": sha(PDF),
                "school_id": w.school_a.pk}
        client.force_login(w.bob)
        assert client.post("/api/v1/resources", body, content_type="application/json").status_code == 404
        client.force_login(w.alice)
        assert client.post("/api/v1/resources", body, content_type="application/json").status_code == 201


# --- Catalogue ---------------------------------------------------------------------------------------

def catalogue_xlsx(path: Path, rows: list[list[Any]], *, title_rows: int = 0) -> Path:
    """A catalogue workbook with the template's header (below `title_rows` title lines)."""
    from openpyxl import Workbook

    from banbantong.resources.catalogue import HEADERS

    wb = Workbook()
    ws = wb.active
    for _ in range(title_rows):
        ws.append(["吉水县教材目录"])
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def example_volume(w: World, region: Any = None) -> Any:
    """The example book (人教版 数学 三年级上册) loaded for county A (or the given region)."""
    from banbantong.resources.catalogue_example import load_example
    from banbantong.resources.models import Volume

    load_example(region or w.county_a)
    return Volume.objects.get(edition__region=region or w.county_a)


def volume_case(url: Callable[[World, Any], str], inside: str = "teacher_user_a", outside: str = "bob") -> Case:
    """A page about county A's book: 200 to its schools and admins, 404 to the other county."""

    def check(w: World, client: Client) -> None:
        volume = example_volume(w)
        client.force_login(getattr(w, inside))
        assert client.get(url(w, volume)).status_code == 200
        client.force_login(getattr(w, outside))
        assert client.get(url(w, volume)).status_code == 404

    return check


def catalogue_list_case(url: str) -> Case:
    def check(w: World, client: Client) -> None:
        example_volume(w)
        client.force_login(w.teacher_user_a)
        assert "人教版" in client.get(url).content.decode()
        client.force_login(w.bob)
        response = client.get(url)
        assert response.status_code == 200
        assert "人教版" not in response.content.decode()

    return check


def catalogue_import_case(api: bool) -> Case:
    """Only a bureau admin imports, and only into a region of their own: bob gets 404 for county A."""

    def check(w: World, client: Client) -> None:
        with isolated_media() as root:
            path = catalogue_xlsx(root / "c.xlsx", [["小学", "语文", "统编版", "三年级", "上册", 1, "第一单元", 1, "大青树下的小学"]])
            url = "/api/v1/resources/catalogue/import" if api else "/resources/catalogue/import/"
            for user, status in ((w.bob, 404), (w.teacher_user_a, 403), (w.alice, 200 if api else 302)):
                client.force_login(user)
                with path.open("rb") as fh:
                    response = client.post(url, {"region" if not api else "region_id": w.county_a.pk, "file": fh})
                assert response.status_code == status, (user, response.content[:300])

    return check


# --- Review ------------------------------------------------------------------------------------------

def submitted(w: World, **kw: Any) -> Resource:
    """A courseware of school A's teacher, submitted to county A's network."""
    return make_resource(w, network_region=kw.pop("network_region", w.county_a), **kw)


def reviewer_b(w: World) -> Any:
    from banbantong.accounts.models import User
    from banbantong.conftest import make_user

    return User.objects.filter(username="reviewer_b").first() or make_user("reviewer_b", User.Role.REVIEWER,
                                                                           region=w.county_b)


def review_list_case(url: str) -> Case:
    """County A's reviewer sees the submission; county B's reviewer sees an empty queue."""

    def check(w: World, client: Client) -> None:
        with isolated_media():
            submitted(w, title="待审的分数课件")
            client.force_login(w.reviewer_a)
            response = client.get(url)
            assert response.status_code == 200 and "待审的分数课件" in response.content.decode()
            client.force_login(reviewer_b(w))
            response = client.get(url)
            assert response.status_code == 200 and "待审的分数课件" not in response.content.decode()

    return check


def review_post_case(url: Callable[[Resource], str], ok: int, body: dict[str, Any] | None = None,
                     json: bool = False) -> Case:
    """Deciding: county B's reviewer gets 404 and nothing changes; county A's reviewer decides."""

    def check(w: World, client: Client) -> None:
        with isolated_media():
            resource = submitted(w)
            data: dict[str, Any] = {"data": body or {}}
            if json:
                data["content_type"] = "application/json"
            client.force_login(reviewer_b(w))
            assert client.post(url(resource), **data).status_code == 404
            resource.refresh_from_db()
            assert resource.status == Resource.Status.SUBMITTED
            client.force_login(w.reviewer_a)
            assert client.post(url(resource), **data).status_code == ok

    return check


def resubmit_case(url: Callable[[Resource], str], ok: int) -> Case:
    def check(w: World, client: Client) -> None:
        from banbantong.resources import review

        with isolated_media():
            resource = submitted(w)
            review.reject_resource(resource, actor=w.reviewer_a, reason="图片模糊")
            client.force_login(w.bob)
            assert client.post(url(resource)).status_code == 404
            client.force_login(w.teacher_user_a)
            assert client.post(url(resource)).status_code == ok
            resource.refresh_from_db()
            assert resource.status == Resource.Status.SUBMITTED

    return check


# --- Quotas and points -------------------------------------------------------------------------------

def quota_list_case(url: str) -> Case:
    """County A's tasks are seen by county A's school, not by the other county."""

    def check(w: World, client: Client) -> None:
        from django.utils import timezone

        from banbantong.resources import quotas

        quotas.assign_quotas(quotas.QuotaInput(w.county_a, timezone.localdate().year, "courseware", "数学", 30),
                             actor=w.alice)
        client.force_login(w.principal_a)
        response = client.get(url)
        assert response.status_code == 200 and "文峰中心小学" in response.content.decode()
        client.force_login(w.bob)
        response = client.get(url)
        assert response.status_code == 200 and "文峰中心小学" not in response.content.decode()

    return check


def quota_assign_case(url: str, ok: int, json: bool = False) -> Case:
    """Assigning to county A: bob (other county) gets 404, alice succeeds."""

    def check(w: World, client: Client) -> None:
        from django.utils import timezone

        from banbantong.resources.models import Quota

        key = "region_id" if json else "region"
        body = {key: w.county_a.pk, "year": timezone.localdate().year, "kind": "courseware", "subject": "数学",
                "target": 30}
        kwargs: dict[str, Any] = {"content_type": "application/json"} if json else {}
        client.force_login(w.bob)
        assert client.post(url, body, **kwargs).status_code == 404
        assert not Quota.objects.exists()
        client.force_login(w.alice)
        assert client.post(url, body, **kwargs).status_code == ok
        assert Quota.objects.count() == 2

    return check


def points_case(url: str) -> Case:
    """Points of county A's teacher are on county A's boards only."""

    def check(w: World, client: Client) -> None:
        from banbantong.resources import review

        with isolated_media():
            review.approve_resource(submitted(w), actor=w.reviewer_a)
            client.force_login(w.alice)
            response = client.get(url)
            assert response.status_code == 200 and "文峰中心小学" in response.content.decode()
            client.force_login(w.bob)
            response = client.get(url)
            assert response.status_code == 200 and "文峰中心小学" not in response.content.decode()

    return check


# --- Coverage ----------------------------------------------------------------------------------------

def coverage_case(url: Callable[[World, Any], str], inside: str, outside: str = "bob") -> Case:
    """County A's book and school: 200 inside (the lesson is listed), 404 to the other county."""

    def check(w: World, client: Client) -> None:
        volume = example_volume(w)
        client.force_login(getattr(w, inside))
        response = client.get(url(w, volume))
        assert response.status_code == 200 and "秒的认识" in response.content.decode()
        client.force_login(getattr(w, outside))
        assert client.get(url(w, volume)).status_code == 404

    return check
