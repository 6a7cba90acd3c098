"""The figures for the next purchase: intactness, integrator league, failures per model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.devices import queries


def _number(value: Decimal | None) -> float | None:
    """A figure as an Excel number; an empty cell where there is nothing to measure."""
    return None if value is None else float(value)


def _dates(request: HttpRequest) -> tuple[dt.date | None, dt.date | None]:
    def parse(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    return parse("start"), parse("end")


SCHOOLS_ON_PAGE = 300


@login_required
def figures(request: AuthedRequest) -> HttpResponseBase:
    start, end = _dates(request)
    user = request.user
    intactness = queries.intactness(user)
    intact, regions, total = intactness.schools, intactness.regions, intactness.total
    league = queries.integrator_league(user, start, end)
    models = queries.failures_by_model(user, start, end)
    summary = queries.repair_summary(user, start, end)
    if request.GET.get("export") == "xlsx":
        return workbook_response("设备统计.xlsx", [
            ("完好率", ["学校", "在用设备", "故障未修", "完好率(%)"], [[r.name, r.in_service, r.faulty, _number(r.rate)] for r in intact]),
            ("集成商排行", ["集成商", "转交单数", "已修复", "按时修复", "按时率(%)", "平均修复(小时)"],
             [[r.company, r.tickets, r.resolved, r.within, _number(r.within_percent), _number(r.mean_hours)]
              for r in league]),
            ("型号故障率", ["品牌", "型号", "设备数", "故障次数", "每百台故障"],
             [[r.brand, r.model, r.devices, r.failures, float(r.per_hundred)] for r in models]),
            ("区域完好率", ["区域", "在用设备", "故障未修", "完好率(%)"],
             [[r.name, r.in_service, r.faulty, _number(r.rate)] for r in regions]),
        ])
    return render(request, "devices/figures.html", {
        # A province has 15,000 schools: the page shows those that most need a visit, the export all.
        "intact": queries.least_intact(intact, SCHOOLS_ON_PAGE), "schools": len(intact),
        "regions": regions, "total": total, "league": league, "models": models, "summary": summary,
        "start": request.GET.get("start", ""), "end": request.GET.get("end", ""),
    })


LEAGUE_HEADERS = ["名次", "集成商", "转交单数", "已修复", "按时修复", "按时率(%)", "平均修复(小时)"]


@login_required
def league(request: AuthedRequest) -> HttpResponseBase:
    """The integrator league table on its own: one GROUP BY, quick enough for a province's year."""
    start, end = _dates(request)
    rows = queries.integrator_league(request.user, start, end)
    if request.GET.get("export") == "xlsx":
        return workbook_response("集成商按时修复排行.xlsx", [("集成商排行", LEAGUE_HEADERS, [
            [i, r.company, r.tickets, r.resolved, r.within, _number(r.within_percent), _number(r.mean_hours)]
            for i, r in enumerate(rows, 1)
        ])])
    return render(request, "devices/league.html", {
        "league": rows, "start": request.GET.get("start", ""), "end": request.GET.get("end", ""),
    })
