"""Pure rules of the library's work: catalogue rows, review decisions, points, quotas, coverage.

(`rules.py` holds the rules about files: types, names, chunks, ranges.) Nothing here touches the
database; services and queries feed these functions plain values, and tests call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_noop

# --- Curriculum catalogue ------------------------------------------------------------------------

STAGES = ("小学", "初中", "高中")
# The grades each stage may name (org.grades numbering: 1–6 primary, 7–9 junior, 10–12 senior).
STAGE_GRADES = {"小学": range(1, 7), "初中": range(7, 10), "高中": range(10, 13)}
MAX_NAME = 60  # unit and lesson names (Resource.unit / Resource.lesson hold 60 characters)
MAX_EDITION = 40
MAX_TERM = 20
MAX_SUBJECT = 20
MAX_NUMBER = 999


def stage_problem(stage: str) -> str:
    return "" if stage in STAGES else f"学段应为 {'、'.join(STAGES)} 之一，而不是“{stage}”。"


def grade_problem(stage: str, grade: int | None, raw: str) -> str:
    if grade is None:
        return f"无法识别年级“{raw}”，请写成“三年级”“七年级”“高一”等。"
    allowed = STAGE_GRADES.get(stage)
    if allowed is not None and grade not in allowed:
        return f"年级“{raw}”不属于{stage}。"
    return ""


def number_problem(raw: str, what: str) -> tuple[int | None, str]:
    """A unit or lesson number as people write it ('3', '３', '3.0'); a message when it is not one."""
    text = raw.removesuffix(".0")
    if not text.isdigit() or not 1 <= int(text) <= MAX_NUMBER:
        return None, f"{what}应为 1–{MAX_NUMBER} 的整数，而不是“{raw}”。"
    return int(text), ""


def length_problem(value: str, what: str, limit: int) -> str:
    if not value:
        return f"{what}不能为空。"
    if len(value) > limit:
        return f"{what}最多 {limit} 个字，现有 {len(value)} 个。"
    return ""


# --- Review -----------------------------------------------------------------------------------------

REASON_REQUIRED = "退回时必须写明理由，好让作者知道要改什么。"
MAX_REASON = 500
NOT_WAITING = "该资源当前状态为“{status}”，不在待审核中，不能再次审核。"
OWN_RESOURCE = "不能审核自己上传的资源，请由其他审核员处理。"


def review_problem(*, approve: bool, reason: str, status: str, status_label: str,
                   reviewer_id: int, author_id: int) -> str:
    """Why a review decision cannot be taken now ('' when it can)."""
    if status != "submitted":
        return NOT_WAITING.format(status=status_label)
    if reviewer_id == author_id:
        return OWN_RESOURCE
    if not approve and not reason.strip():
        return REASON_REQUIRED
    if len(reason) > MAX_REASON:
        return f"审核意见最多 {MAX_REASON} 字。"
    return ""


# --- Points -----------------------------------------------------------------------------------------

# Points for an approved resource, by kind: a whole paper or a video is more work than one plan.
APPROVAL_POINTS = {
    "courseware": 10, "lesson_plan": 8, "unit_test": 8, "midterm": 12, "final": 12, "video": 15,
    "question_bank": 12, "moral": 6, "other": 4,
}
DEFAULT_APPROVAL_POINTS = 4
# Each download by a teacher of another school is use, and earns more; a school downloading its
# own resources, or one person downloading again and again, earns nothing more.
DOWNLOAD_POINTS = 2


def points_for_approval(kind: str) -> int:
    return APPROVAL_POINTS.get(kind, DEFAULT_APPROVAL_POINTS)


def download_earns(*, approved: bool, downloader_id: int, downloader_school_id: int | None,
                   author_id: int, resource_school_id: int) -> bool:
    """Whether a download counts as use by someone else (each downloader counts once: the ledger key)."""
    if not approved or downloader_id == author_id:
        return False
    return downloader_school_id != resource_school_id


def download_key(resource_id: int, downloader_id: int) -> str:
    return f"downloaded:{resource_id}:{downloader_id}"


def approval_key(resource_id: int) -> str:
    return f"approved:{resource_id}"


# --- Quotas -----------------------------------------------------------------------------------------

MAX_TARGET = 10_000
MIN_YEAR, MAX_YEAR = 2000, 2100


def quota_problems(*, year: int, target: int, kind: str, kinds: Iterable[str], subject: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(("year", f"年度应在 {MIN_YEAR}–{MAX_YEAR} 之间。"))
    if not 1 <= target <= MAX_TARGET:
        problems.append(("target", f"任务数应为 1–{MAX_TARGET} 的整数。"))
    if kind not in set(kinds):
        problems.append(("kind", f"未知的资源类型“{kind}”。"))
    if msg := length_problem(subject.strip(), "学科", MAX_SUBJECT):
        problems.append(("subject", msg))
    return problems


def completion_percent(done: int, target: int) -> int:
    """Share of the task done, whole percent, capped at 100 (extra work shows in the count)."""
    if target <= 0:
        return 100
    return min(100, done * 100 // target)


# --- Coverage (按课时配齐) ----------------------------------------------------------------------------

TEST_KINDS = ("unit_test", "midterm", "final")


@dataclass(frozen=True)
class Need:
    key: str
    label: str
    kinds: tuple[str, ...]


# What a lesson needs to count as covered: courseware, a lesson plan and some test.
NEEDS = (
    Need("courseware", gettext_noop("课件"), ("courseware",)),
    Need("lesson_plan", gettext_noop("教案"), ("lesson_plan",)),
    Need("test", gettext_noop("测试"), TEST_KINDS),
)


def need_of(kind: str) -> str:
    """Which need a resource kind fills ('' for videos, question banks and the rest)."""
    return next((n.key for n in NEEDS if kind in n.kinds), "")


def missing_needs(counts: dict[str, int]) -> list[str]:
    """Labels of the needs a lesson still lacks, given resource counts by need key."""
    return [n.label for n in NEEDS if counts.get(n.key, 0) == 0]
