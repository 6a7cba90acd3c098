"""API: `GET /api/v1/resources/search` — the search page's results as JSON, same scope and filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from banbantong.core.http import api_user
from banbantong.search import queries
from banbantong.search.backends import CANDIDATES
from banbantong.search.text import MAX_QUERY_CHARS

router = Router(tags=["资源检索"])
MAX_LIMIT = 100


class SearchParams(Schema):
    q: str = Field("", description="搜索词：中文（简繁均可）、拼音首字母、英文或数字；空格分隔的词须同时出现")
    kind: str = ""
    library: str = ""
    status: str = ""
    school: int | None = None
    stage: str = ""
    subject: str = ""
    grade: str = ""
    edition: str = ""
    volume: str = ""
    unit: str = ""
    lesson: str = ""
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=CANDIDATES)


class HitOut(Schema):
    id: int
    title: str
    kind: str
    stage: str
    subject: str
    grade: str
    edition: str
    volume: str
    unit: str
    lesson: str
    school_id: int
    school_name: str
    library: str
    status: str
    score: float | None
    snippet: str
    created_at: dt.datetime


class SearchOut(Schema):
    count: int = Field(..., description="匹配数；达到上限时 capped 为 true")
    capped: bool
    items: list[HitOut]


def _hit(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "title": r.title,
        "kind": r.kind,
        "stage": r.stage,
        "subject": r.subject,
        "grade": r.grade,
        "edition": r.edition,
        "volume": r.volume,
        "unit": r.unit,
        "lesson": r.lesson,
        "school_id": r.school_id,
        "school_name": r.school.name,
        "library": r.library,
        "status": r.status,
        "score": getattr(r, "search_score", None),
        "snippet": str(getattr(r, "snippet", r.description[:90])),
        "created_at": r.created_at,
    }


@router.get(
    "/resources/search", response=SearchOut, summary="全文检索我可见的资源（按相关度排序，可按各元数据筛选）"
)
def search_resources(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    if len(params.q) > MAX_QUERY_CHARS:
        raise ValidationError({"q": [f"搜索词最长 {MAX_QUERY_CHARS} 个字。"]})
    data = params.dict()
    results = queries.search(api_user(request), {k: ("" if v is None else v) for k, v in data.items()})
    count = results.count()
    items = results[params.offset : params.offset + params.limit]
    capped = isinstance(results, queries.Results) and count >= CANDIDATES
    return {"count": count, "capped": capped, "items": [_hit(r) for r in items]}
