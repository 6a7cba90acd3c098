"""The demo county's resource library: the example catalogue, a few resources on its lessons.

Called by `org.demo.build_demo` after the registry and activity, in the same transaction. It goes
through the real services (catalogue import, uploads, review, downloads, quotas), so the audit
log, notifications and points are what the platform would have produced. Kept small: a dozen
one-page PDFs of a couple of KB, a task for every school of the county.
"""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from banbantong.accounts.models import User
from banbantong.core.scope import SYSTEM
from banbantong.org.models import Region, School
from banbantong.resources import points, quotas, review, services
from banbantong.resources.catalogue_example import load_example
from banbantong.resources.models import Lesson, Resource

# (school, lesson, kind, title, decision): decision is "approve", "reject:<reason>", "wait" or "school".
PLAN: list[tuple[str, str, str, str, str]] = [
    ("醪桥镇中心小学", "秒的认识", "courseware", "秒的认识（课件）", "approve"),
    ("醪桥镇中心小学", "秒的认识", "lesson_plan", "秒的认识 教学设计", "approve"),
    ("醪桥镇中心小学", "几分之一", "courseware", "几分之一——分数的初步认识", "approve"),
    ("吉水县实验小学", "几分之一", "lesson_plan", "几分之一 教案", "approve"),
    ("吉水县实验小学", "几分之几", "courseware", "几分之几 课件", "approve"),
    ("吉水县实验小学", "周长", "unit_test", "第七单元 长方形和正方形 单元测试", "approve"),
    ("八都镇中心小学", "千米的认识", "courseware", "千米的认识", "reject:课件第 5 页“1千米=100米”有误，请改正后重新提交。"),
    ("八都镇中心小学", "倍的认识", "courseware", "倍的认识 课件", "wait"),
    ("枫江镇中心小学", "口算乘法", "lesson_plan", "口算乘法 教学设计", "wait"),
    ("醪桥镇中心小学", "时间的计算", "courseware", "时间的计算（校本）", "school"),
]
TASK_SUBJECT, TASK_KIND, TASK_TARGET = "数学", "courseware", 30


def _pdf(title: str, lesson: str) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # not embedded: each file stays ~2 KB
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    page.setFont("STSong-Light", 20)
    page.drawString(72, 760, title)
    page.setFont("STSong-Light", 12)
    page.drawString(72, 730, f"人教版 数学 三年级上册 · {lesson}")
    page.drawString(72, 710, "吉水县班班通资源库演示文件")
    page.save()
    return buffer.getvalue()


def build_library(county: Region) -> None:
    load_example(county)
    lessons = {lesson.name: lesson for lesson in Lesson.objects.filter(unit__volume__edition__region=county)}
    reviewer = User.objects.get(username="reviewer")
    for school_name, lesson_name, kind, title, decision in PLAN:
        school = School.objects.get(region__parent=county, name=school_name)
        author = User.objects.filter(school=school, role=User.Role.TEACHER).order_by("id").first()
        if author is None:
            continue
        data = services.ResourceInput(
            title=title, kind=kind, school=school, file_name=f"{title}.pdf", catalogue_lesson=lessons[lesson_name],
            network_region=None if decision == "school" else county, tags="数学,三年级",
        )
        resource = services.create_resource(data, actor=author, content=[_pdf(title, lesson_name)])
        if decision == "approve":
            review.approve_resource(resource, actor=reviewer)
        elif decision.startswith("reject:"):
            review.reject_resource(resource, actor=reviewer, reason=decision.removeprefix("reject:"))
    _downloads(county)
    quotas.assign_quotas(quotas.QuotaInput(region=county, year=timezone.localdate().year, kind=TASK_KIND,
                                           subject=TASK_SUBJECT, target=TASK_TARGET), actor=SYSTEM)


def _downloads(county: Region) -> None:
    """Teachers of a few other schools use the approved resources (their downloads earn points)."""
    users = list(User.objects.filter(role=User.Role.TEACHER, school__region__parent=county)
                 .exclude(school__name__in=[p[0] for p in PLAN]).order_by("id")[:6])
    approved = Resource.objects.filter(status=Resource.Status.APPROVED, school__region__parent=county).order_by("id")
    for i, resource in enumerate(approved):
        for user in users[: 6 - i % 4]:
            points.record_download(resource, actor=user)
