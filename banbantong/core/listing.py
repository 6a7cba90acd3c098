"""List pages: filters, pagination and Excel export from one column spec.

A list view builds its scoped, filtered queryset and hands it here with its columns; the same
columns render the HTML table and the .xlsx, so the export always matches what is on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from banbantong.core.excel import workbook_response

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class Col:
    header: str
    value: Callable[[Any], Any]
    link: Callable[[Any], str] | None = None
    numeric: bool = False


def render_list(
    request: HttpRequest,
    *,
    template: str,
    queryset: QuerySet[Any],
    columns: Sequence[Col],
    title: str,
    export_name: str,
    context: dict[str, Any] | None = None,
) -> HttpResponseBase:
    if request.GET.get("export") == "xlsx":
        rows = ([c.value(obj) for c in columns] for obj in queryset.iterator(chunk_size=EXPORT_CHUNK))
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return workbook_response(f"{export_name}-{stamp}.xlsx", [(title, [c.header for c in columns], rows)])
    paginator = Paginator(queryset, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    table = [
        [(c.value(obj), c.link(obj) if c.link else "", c.numeric) for c in columns] for obj in page.object_list
    ]
    ctx = {
        "title": title,
        "columns": columns,
        "table": table,
        "page": page,
        "query": query.urlencode(),
        "export_query": _with(query.copy(), export="xlsx"),
        **(context or {}),
    }
    return render(request, template, ctx)


def _with(query: Any, **params: str) -> str:
    for k, v in params.items():
        query[k] = v
    return str(query.urlencode())
