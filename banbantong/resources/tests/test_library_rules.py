"""The library's named rules, without a database."""

from __future__ import annotations

from banbantong.resources import library_rules as lr
from banbantong.resources import rules


def test_review_problems() -> None:
    ok = {"status": "submitted", "status_label": "待审核", "reviewer_id": 1, "author_id": 2}
    assert lr.review_problem(approve=True, reason="", **ok) == ""
    assert lr.review_problem(approve=False, reason=" ", **ok) == lr.REASON_REQUIRED
    assert lr.review_problem(approve=False, reason="x" * 501, **ok).startswith("审核意见最多")
    assert "已通过" in lr.review_problem(approve=True, reason="", **{**ok, "status": "approved", "status_label": "已通过"})
    assert lr.review_problem(approve=True, reason="", **{**ok, "reviewer_id": 2}) == lr.OWN_RESOURCE


def test_points_rules() -> None:
    assert lr.points_for_approval("video") > lr.points_for_approval("courseware") > lr.points_for_approval("other")
    assert lr.points_for_approval("unknown") == lr.DEFAULT_APPROVAL_POINTS
    other = {"approved": True, "downloader_id": 5, "downloader_school_id": 9, "author_id": 1, "resource_school_id": 2}
    assert lr.download_earns(**other)
    assert not lr.download_earns(**{**other, "approved": False})
    assert not lr.download_earns(**{**other, "downloader_id": 1})
    assert not lr.download_earns(**{**other, "downloader_school_id": 2})
    assert lr.download_earns(**{**other, "downloader_school_id": None})  # a bureau admin's download is use too
    assert lr.download_key(3, 4) != lr.download_key(4, 3)


def test_quota_rules() -> None:
    kinds = ["courseware"]
    assert lr.quota_problems(year=2026, target=30, kind="courseware", kinds=kinds, subject="数学") == []
    fields = [f for f, _ in lr.quota_problems(year=1999, target=0, kind="x", kinds=kinds, subject="")]
    assert fields == ["year", "target", "kind", "subject"]
    assert [lr.completion_percent(d, 30) for d in (0, 15, 29, 30, 45)] == [0, 50, 96, 100, 100]
    assert lr.completion_percent(3, 0) == 100


def test_catalogue_cell_rules() -> None:
    assert lr.number_problem("3", "单元序号") == (3, "")
    assert lr.number_problem("3.0", "单元序号") == (3, "")
    assert lr.number_problem("0", "单元序号")[0] is None
    assert lr.number_problem("三", "单元序号")[1].startswith("单元序号应为")
    assert lr.grade_problem("小学", 7, "七年级") == "年级“七年级”不属于小学。"
    assert lr.grade_problem("初中", 7, "七年级") == ""
    assert lr.stage_problem("大学")
    assert lr.length_problem("", "课时名称", 60) == "课时名称不能为空。"


def test_coverage_needs() -> None:
    assert [lr.need_of(k) for k in ("courseware", "lesson_plan", "unit_test", "midterm", "final", "video")] == [
        "courseware", "lesson_plan", "test", "test", "test", ""]
    assert lr.missing_needs({"courseware": 2}) == ["教案", "测试"]
    assert lr.missing_needs({"courseware": 1, "lesson_plan": 1, "test": 1}) == []


def test_a_download_starts_at_byte_zero() -> None:
    assert rules.starts_file("")
    assert rules.starts_file("bytes=0-")
    assert rules.starts_file("bytes=0-999")
    assert not rules.starts_file("bytes=100-")
    assert not rules.starts_file("bytes=-500")
    assert rules.starts_file("items=5-")  # not a byte range: the whole file is sent
