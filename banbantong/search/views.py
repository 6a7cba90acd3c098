"""The search page: a query box, every metadata filter, ranked results with snippets, Excel export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.org.models import School
from banbantong.resources.models import Resource
from banbantong.resources.views import library_columns, metadata_columns
from banbantong.search import queries
from banbantong.search.text import MAX_QUERY_CHARS, parse_query


def _columns() -> list[Col]:
    # Built per request: headers in the request's language (the Excel export is always Chinese).
    return [
        *metadata_columns(),
        Col(_("册次"), lambda r: r.volume),
        Col(_("单元"), lambda r: r.unit),
        Col(pgettext("field", "课时"), lambda r: r.lesson),
        Col(pgettext("field", "学校"), lambda r: r.school.name),
        *library_columns(),
        Col(_("摘要"), lambda r: str(getattr(r, "snippet", r.description[:90]))),
        Col(_("相关度"), lambda r: round(getattr(r, "search_score", 0.0), 4), numeric=True),
    ]


def query_problem(raw: str) -> str:
    """Why a query cannot be searched as typed (in the page's language), or ""."""
    if len(raw) > MAX_QUERY_CHARS:
        return _("搜索词最长 %(n)s 个字，已只按前 %(n)s 个字查找。") % {"n": MAX_QUERY_CHARS}
    if raw.strip() and not parse_query(raw):
        return _("搜索词里没有可查找的文字：请输入中文、拼音首字母（如 fs 查“分数”）、英文或数字。")
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
        columns=_columns(),
        title=_("资源检索"),
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
