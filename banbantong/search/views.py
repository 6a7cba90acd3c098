"""The search page: a query box, every metadata filter, ranked results with snippets, Excel export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_safe

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.org.models import School
from banbantong.resources.models import Resource
from banbantong.search import queries
from banbantong.search.text import MAX_QUERY_CHARS, parse_query

COLUMNS = [
    Col("标题", lambda r: r.title, link=lambda r: reverse("resources:detail", args=[r.pk])),
    Col("类型", lambda r: r.get_kind_display()),
    Col("学段", lambda r: r.stage),
    Col("学科", lambda r: r.subject),
    Col("年级", lambda r: r.grade),
    Col("教材版本", lambda r: r.edition),
    Col("册次", lambda r: r.volume),
    Col("单元", lambda r: r.unit),
    Col("课时", lambda r: r.lesson),
    Col("学校", lambda r: r.school.name),
    Col("资源库", lambda r: r.get_library_display()),
    Col("审核状态", lambda r: r.get_status_display() if r.library == Resource.Library.NETWORK else ""),
    Col("摘要", lambda r: str(getattr(r, "snippet", r.description[:90]))),
    Col("相关度", lambda r: round(getattr(r, "search_score", 0.0), 4), numeric=True),
]


def query_problem(raw: str) -> str:
    """A Chinese explanation of a query that cannot be searched as typed, or ""."""
    if len(raw) > MAX_QUERY_CHARS:
        return f"搜索词最长 {MAX_QUERY_CHARS} 个字，已只按前 {MAX_QUERY_CHARS} 个字查找。"
    if raw.strip() and not parse_query(raw):
        return "搜索词里没有可查找的文字：请输入中文、拼音首字母（如 fs 查“分数”）、英文或数字。"
    return ""


@login_required
@require_safe
def search_page(request: AuthedRequest) -> HttpResponseBase:
    raw = request.GET.get("q", "")
    results = queries.search(request.user, request.GET)
    schools = School.objects.for_user(request.user).order_by("name").only("id", "name")[:500]
    labels = {f.name: str(f.verbose_name) for f in Resource._meta.fields}
    return render_list(  # Results pages and exports like a queryset
        request,
        template="search/search.html",
        queryset=results,  # type: ignore[arg-type]
        columns=COLUMNS,
        title="资源检索",
        export_name="资源检索结果",
        context={
            "g": request.GET,
            "q": raw[:MAX_QUERY_CHARS],
            "problem": query_problem(raw),
            "ranked": isinstance(results, queries.Results),
            "capped": getattr(results, "capped", False),
            "kinds": Resource.Kind.choices,
            "libraries": Resource.Library.choices,
            "statuses": Resource.Status.choices,
            "schools": schools,
            "text_filters": [(name, labels[name]) for name in queries.TEXT_FILTERS],
        },
    )
