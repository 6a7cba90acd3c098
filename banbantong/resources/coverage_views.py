"""Coverage pages (按课时配齐): a school's matrix for one book, and a region's uncovered lessons."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_safe

from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region, School
from banbantong.resources import coverage, services
from banbantong.resources import library_rules as lr
from banbantong.resources.catalogue_views import volume_queryset
from banbantong.resources.models import Volume

SCHOOL_CHOICES = 1000  # a picker, not a list: a province admin narrows by region first
SHOWS = {"gaps": gettext_noop("有缺项的课时"), "none": gettext_noop("无人覆盖的课时"), "all": gettext_noop("全部课时")}


def chosen_volume(user: Any, params: Any) -> tuple[Volume | None, list[Volume]]:
    """The book asked for (?volume=, else the first matching the subject/grade/edition filters)."""
    volumes = list(volume_queryset(user, params)[:200])
    raw = str(params.get("volume") or "")
    if raw.isdigit():
        volume = get_for_user(Volume.objects.select_related("edition"), user, pk=int(raw))
        if volume not in volumes:
            volumes.insert(0, volume)
        return volume, volumes
    return (volumes[0] if volumes else None), volumes


def _shown_needs() -> dict[str, str]:
    """Each need's label in the page's language, looked up once per page (exports keep lr's Chinese)."""
    return {n.label: gettext(n.label) for n in lr.NEEDS}


def _book(volume: Volume) -> str:
    return f"{volume.edition.name} {volume.edition.stage}{volume.edition.subject} {volume.label}"


@login_required
@require_safe
def school_coverage(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    volume, volumes = chosen_volume(user, request.GET)
    school: School | None = user.school if user.school_id and not user.is_regional else None
    raw = request.GET.get("school", "")
    if raw.isdigit():
        school = get_for_user(School.objects.all(), user, pk=int(raw))
    rows = coverage.school_matrix(volume, school) if volume and school else []
    if request.GET.get("export") == "xlsx" and volume and school:
        headers = ["单元", "课时", *(f"本校{n.label}" for n in lr.NEEDS), *(f"资源网{n.label}" for n in lr.NEEDS),
                   "本校缺", "本校与资源网都缺"]
        sheet = [[str(r.lesson.unit), r.lesson.name,
                  *(r.counts["school"][n.key] for n in lr.NEEDS), *(r.counts["network"][n.key] for n in lr.NEEDS),
                  "、".join(r.missing("school")),
                  "、".join(n.label for n in lr.NEEDS if not r.has("school", n.key) and not r.has("network", n.key))]
                 for r in rows]
        return workbook_response(f"按课时配齐-{school.name}-{_book(volume)}.xlsx", [(volume.label, headers, sheet)])
    shown = _shown_needs()
    table = [{"row": r, "cells": [(r.counts["school"][n.key], r.counts["network"][n.key]) for n in lr.NEEDS],
              "missing": [shown[m] for m in r.missing("school")],
              "nowhere": [shown[n.label] for n in lr.NEEDS if not r.has("school", n.key) and not r.has("network", n.key)]}
             for r in rows]
    schools = School.objects.for_user(user).order_by("region_path", "name")[:SCHOOL_CHOICES] if user.is_regional else []
    return render(request, "resources/coverage_school.html", {
        "volume": volume, "volumes": volumes, "school": school, "schools": schools, "table": table,
        "needs": list(shown.values()), "g": request.GET, "may_upload": services.may_upload(user),
        "school_summary": coverage.summary(rows, "school") if rows else None,
        "network_summary": coverage.summary(rows, "network") if rows else None,
        "book": _book(volume) if volume else "",
    })


@login_required
@require_safe
def region_gaps(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    if not user.is_regional:
        raise PermissionDenied(gettext("区域缺口只对区域用户开放；学校请看本校的按课时配齐。"))
    raw = request.GET.get("region", "")
    regions = Region.objects.for_user(user).order_by("path")
    if raw.isdigit():
        region: Region | None = get_for_user(Region.objects.all(), user, pk=int(raw))
    else:
        region = user.region if user.region is not None else regions.first()
    volume, volumes = chosen_volume(user, request.GET)
    rows = coverage.region_matrix(volume, region) if volume and region else []
    show = request.GET.get("show") if request.GET.get("show") in SHOWS else "gaps"
    shown = [r for r in rows if show == "all" or (show == "none" and r.uncovered)
             or (show == "gaps" and r.missing("region"))]
    if request.GET.get("export") == "xlsx" and volume and region:
        headers = ["单元", "课时", *(n.label for n in lr.NEEDS), "有资源的学校数", "缺"]
        table = [[str(r.lesson.unit), r.lesson.name, *(r.counts["region"][n.key] for n in lr.NEEDS), r.schools,
                  "、".join(r.missing("region")) or "已配齐"] for r in shown]
        return workbook_response(f"课时缺口-{region.name}-{_book(volume)}.xlsx", [(volume.label, headers, table)])
    labels = _shown_needs()
    return render(request, "resources/coverage_region.html", {
        "volume": volume, "volumes": volumes, "region": region, "regions": regions[:SCHOOL_CHOICES],
        "table": [{"row": r, "cells": [r.counts["region"][n.key] for n in lr.NEEDS],
                   "missing": [labels[m] for m in r.missing("region")]}
                  for r in shown],
        "needs": list(labels.values()), "g": request.GET, "show": show,
        "shows": [(k, gettext(v)) for k, v in SHOWS.items()],
        "summary": coverage.summary(rows, "region") if rows else None, "book": _book(volume) if volume else "",
        "may_upload": services.may_upload(user),
    })

