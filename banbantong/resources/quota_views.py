"""Quota and points pages: each school's yearly construction task with its completion, and the
leaderboards of teachers and schools by points (both in scope, both export to Excel)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext
from django.views.decorators.http import require_POST, require_safe

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region
from banbantong.resources import library_rules as lr
from banbantong.resources import points, quotas, services
from banbantong.resources.models import Resource

BOARDS = {"teachers": gettext_noop("教师积分榜"), "schools": gettext_noop("学校积分榜")}


def chosen_year(params: Any) -> int:
    raw = str(params.get("year") or "")
    return int(raw) if raw.isdigit() and lr.MIN_YEAR <= int(raw) <= lr.MAX_YEAR else timezone.localdate().year


def _base_context(request: AuthedRequest, year: int) -> dict[str, Any]:
    return {"g": request.GET, "year": year, "may_upload": services.may_upload(request.user),
            "kinds": Resource.Kind.choices}


@login_required
@require_safe
def quota_list(request: AuthedRequest) -> HttpResponseBase:
    year = chosen_year(request.GET)
    params = {**request.GET.dict(), "year": year}
    qs = quotas.quota_queryset(request.user, params)
    done = quotas.completion(qs)

    def count(q: Any) -> int:
        return done.get((q.school_id, q.year, q.kind, q.subject), 0)

    columns = [
        Col(_("年度"), lambda q: q.year),
        Col(pgettext("field", "学校"), lambda q: q.school.name),
        Col(_("学科"), lambda q: q.subject),
        Col(_("资源类型"), lambda q: Resource.Kind(q.kind).label if q.kind in Resource.Kind.values else q.kind),
        Col(_("任务数"), lambda q: q.target, numeric=True),
        Col(_("已通过审核"), count, numeric=True),
        Col(_("完成率(%)"), lambda q: lr.completion_percent(count(q), q.target), numeric=True),
    ]
    targets = list(qs.values_list("school_id", "year", "kind", "subject", "target"))
    summary = {
        "tasks": len(targets), "target": sum(t[4] for t in targets),
        # Extra work at one school does not make up for another's shortfall.
        "done": sum(min(done.get(t[:4], 0), t[4]) for t in targets),
        "complete": sum(1 for t in targets if done.get(t[:4], 0) >= t[4]),
    }
    may_assign = quotas.may_assign(request.user)
    return render_list(
        request, template="resources/quota_list.html", queryset=qs, columns=columns,
        title=_("%(year)s 年资源建设任务") % {"year": year}, export_name=f"资源建设任务-{year}",
        context={**_base_context(request, year), "may_assign": may_assign, "summary": summary,
                 "summary_percent": lr.completion_percent(summary["done"], summary["target"]),
                 "regions": Region.objects.for_user(request.user).order_by("path") if may_assign else []},
    )


@login_required
@require_POST
def quota_assign(request: AuthedRequest) -> HttpResponse:
    if not quotas.may_assign(request.user):
        raise PermissionDenied(_("只有局管理员可以下达资源建设任务。"))
    post = request.POST
    try:
        if not post.get("region", "").isdigit():
            raise ValidationError(_("请选择下达任务的区域。"))
        region = get_for_user(Region.objects.all(), request.user, pk=int(post["region"]))
        year, target = post.get("year", ""), post.get("target", "")
        if not year.isdigit() or not target.isdigit():
            raise ValidationError(_("年度和任务数都应填整数。"))
        count = quotas.assign_quotas(quotas.QuotaInput(region=region, year=int(year), kind=post.get("kind", ""),
                                                       subject=post.get("subject", ""), target=int(target)),
                                     actor=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect(f"{_quota_url()}?year={post.get('year', '')}" if post.get("year", "").isdigit() else _quota_url())
    messages.success(request, _("已向%(region)s的 %(count)s 所学校下达 %(year)s 年任务。") % {
        "region": region.name, "count": count, "year": year})
    return redirect(f"{_quota_url()}?year={year}")


def _quota_url() -> str:
    return reverse("resources:quotas")


@login_required
@require_safe
def leaderboard(request: AuthedRequest) -> HttpResponseBase:
    year = chosen_year(request.GET)
    board = request.GET.get("board") or ""
    if board not in BOARDS:
        board = "teachers"
    columns: list[Col]
    if board == "teachers":
        qs = points.teacher_board(request.user, year=year)
        columns = [
            Col(pgettext("field", "教师"), lambda r: r["user__display_name"] or r["user__username"]),
            Col(pgettext("field", "学校"), lambda r: r["school__name"]),
            Col(_("积分"), lambda r: r["total"], numeric=True),
            Col(_("通过审核的资源"), lambda r: r["approved"], numeric=True),
            Col(_("被他校下载次数"), lambda r: r["downloads"], numeric=True),
        ]
    else:
        qs = points.school_board(request.user, year=year)
        columns = [
            Col(pgettext("field", "学校"), lambda r: r["school__name"]),
            Col(_("积分"), lambda r: r["total"], numeric=True),
            Col(_("得分教师数"), lambda r: r["teachers"], numeric=True),
            Col(_("通过审核的资源"), lambda r: r["approved"], numeric=True),
            Col(_("被他校下载次数"), lambda r: r["downloads"], numeric=True),
        ]
    return render_list(
        request, template="resources/leaderboard.html", queryset=qs, columns=columns,
        title=_("%(year)s 年%(board)s") % {"year": year, "board": _(BOARDS[board])}, export_name=f"{BOARDS[board]}-{year}",
        context={**_base_context(request, year), "board": board, "boards": [(k, _(v)) for k, v in BOARDS.items()],
                 "rules": sorted(((Resource.Kind(k).label, v) for k, v in lr.APPROVAL_POINTS.items()),
                                 key=lambda kv: -kv[1]),
                 "download_points": lr.DOWNLOAD_POINTS},
    )
