"""Planning pages: progress, coverage, targets, scenarios, budget, catalogue, briefing PDF.

Bureau admins plan; reviewers and auditors of a region may read. Every page is for one region
in the user's scope (?region=ID, default: the top of their scope).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banbantong.core.charts import bar_chart, column_chart, line_chart
from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.org import queries as org_queries
from banbantong.org.filters import ClassFilter, filter_classes, filter_params
from banbantong.org.models import Region, TeachingClass
from banbantong.planning import coverage, mode_catalogue, rules, services
from banbantong.planning.briefing import briefing_pdf
from banbantong.planning.models import FundingSource, Scenario

HISTORY_YEARS = 5


def _region(request: AuthedRequest) -> Region:
    user = request.user
    if not user.is_regional:
        raise PermissionDenied(_("建设规划只对局管理员、审核员和审计员开放。"))
    raw = request.GET.get("region") or request.POST.get("region") or ""
    if raw.isdigit():
        return get_for_user(Region.objects.all(), user, pk=int(raw))
    top = org_queries.top_regions(user).first()
    if top is None:
        raise PermissionDenied(_("您的账号没有关联区域。"))
    return top


def _ctx(request: AuthedRequest, region: Region, **extra: Any) -> dict[str, Any]:
    return {
        "region": region,
        "regions": org_queries.region_choices(request.user, region),
        "can_plan": request.user.is_superuser or request.user.role == request.user.Role.BUREAU_ADMIN,
        **extra,
    }


def _errors(request: AuthedRequest, exc: ValidationError) -> None:
    for m in exc.messages:
        messages.error(request, m)


@login_required
def overview(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    user = request.user
    figures = org_queries.figures(user, region)
    progress = services.target_progress(user, region)
    this_year = timezone.localdate().year
    years = list(range(this_year - HISTORY_YEARS + 1, this_year + 1))
    targets = {t.year: float(t.percent) for t in region.targets.all()}
    future = [y for y in sorted(targets) if y > this_year]
    built = coverage.yearly_built(user, region, years)
    axis = years + future
    history = [float(rules.coverage_percent(built[y], figures.classes)) if y in built else None for y in axis]
    target_line = [targets.get(y) for y in axis]
    try:
        budget = services.budget_report(user, region)
    except ValidationError:
        budget = None
    return render(request, "planning/overview.html", _ctx(
        request, region, figures=figures, progress=progress,
        coverage_chart=bar_chart([(p["region"].name, float(p["coverage"])) for p in progress], unit="%", max_value=100.0),
        trend_chart=line_chart([str(y) for y in axis], [(_("实际覆盖率"), history), (_("目标"), target_line)],
                               unit="%", max_value=100.0, dashed=(False, True)),
        cash_chart=column_chart([(str(r["year"]), float(r["payments"])) for r in budget["cash_flow"]], unit=_("元"))
        if budget else "",
        budget=budget,
    ))


@login_required
def coverage_page(request: AuthedRequest) -> HttpResponseBase:
    region = _region(request)
    raw = request.GET.get("as_of", "").strip()
    as_of = None
    if raw:
        try:
            as_of = dt.date.fromisoformat(raw)
        except ValueError:
            messages.error(request, _("日期“%(date)s”格式不对，应为 YYYY-MM-DD。") % {"date": raw})
    export = request.GET.get("export") == "xlsx"
    report = coverage.coverage(request.user, region, as_of=as_of, with_schools=export)
    levels = report.levels()
    level_labels = dict(Region.Level.choices)
    if export:
        sheets = [
            (level_labels.get(level, level), ["区域", "教学班", "已建", "覆盖率(%)"],
             [[n.name, n.counts.classes, n.counts.built, float(n.counts.coverage)] for n in nodes])
            for level, nodes in levels.items()
        ]
        schools = [s for nodes in levels.values() for n in nodes for s in n.schools]
        sheets.append(("学校", ["学校", "教学班", "已建", "覆盖率(%)"],
                       [[name, total, built, rules.coverage_float(built, total)] for _, name, _, total, built in schools]))
        for title, table in (("按模式", report.by_mode), ("按学校类型", report.by_kind), ("按城乡", report.by_area)):
            sheets.append((title, [title[1:], "教学班", "已建", "覆盖率(%)"],
                           [[k, v.classes, v.built, float(v.coverage)] for k, v in table.items()]))
        suffix = f"-截至{as_of}" if as_of else ""
        return workbook_response(f"{region.name}覆盖率{suffix}.xlsx", sheets)
    return render(request, "planning/coverage.html", _ctx(
        request, region, report=report, as_of=raw,
        level_rows=[(level_labels.get(k, k), v) for k, v in levels.items() if k != region.level],
    ))


@login_required
def targets_page(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    if request.method == "POST":
        try:
            services.set_targets(region, request.POST.get("targets", ""), start_year=int(request.POST.get("start_year") or 0),
                                 actor=request.user)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("年度目标已保存。"))
            return redirect(f"{reverse('planning:targets')}?region={region.pk}")
    progress = services.target_progress(request.user, region)
    return render(request, "planning/targets.html", _ctx(
        request, region, targets=region.targets.all(), progress=progress,
        form={"targets": request.POST.get("targets", ""), "start_year": request.POST.get("start_year", timezone.localdate().year)},
    ))


@login_required
def scenarios(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    if request.method == "POST":
        try:
            spec = services.prepare_plan(
                region, targets=request.POST.get("targets", ""), start_year=request.POST.get("start_year", ""),
                budget_per_year=request.POST.get("budget_per_year") or None,
                unit_cost=request.POST.get("unit_cost") or None,
            )
            scenario = services.save_scenario(request.user, spec, name=request.POST.get("name", ""))
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, PermissionDenied):
                raise
            _errors(request, exc)
        else:
            messages.success(request, _("方案“%(name)s”已保存。") % {"name": scenario.name})
            return redirect("planning:scenario_detail", scenario_id=scenario.pk)
    items = Scenario.objects.for_user(request.user).filter(region=region)
    return render(request, "planning/scenarios.html", _ctx(
        request, region, scenarios=items,
        form={k: request.POST.get(k, "") for k in ("name", "targets", "start_year", "budget_per_year", "unit_cost")},
        this_year=timezone.localdate().year,
    ))


@login_required
def scenario_detail(request: AuthedRequest, scenario_id: int) -> HttpResponseBase:
    scenario = get_for_user(Scenario.objects.select_related("region"), request.user, pk=scenario_id)
    rows = services.scenario_rows(scenario)
    if request.GET.get("export") == "xlsx":
        years = scenario.summary.get("years", [])
        return workbook_response(f"规划方案-{scenario.name}.xlsx", [
            ("年度", ["年份", "目标(%)", "目标班数", "需新建", "计划新建", "学校数", "费用(元)", "缺口(班)", "年末覆盖率(%)"],
             [[y["year"], y["target_percent"], y["target_classes"], y["need"], y["equipped"], y["schools"], y["cost"],
               y["shortfall"], y["coverage_at_end"]] for y in years]),
            ("学校明细", ["年份", "乡镇", "学校", "模式", "班数", "费用(元)"],
             ([r["year"], r["school__region__name"], r["school__name"], r["mode_code"], r["classes"], r["cost"]]
              for r in rows.iterator())),
        ])
    modes = mode_catalogue.names_at(scenario.region)
    return render(request, "planning/scenario_detail.html", _ctx(
        request, scenario.region, scenario=scenario, summary=scenario.summary, modes=modes,
        rows=rows[:500], row_count=rows.count(),
    ))


@login_required
@require_POST
def scenario_adopt(request: AuthedRequest, scenario_id: int) -> HttpResponse:
    scenario = get_for_user(Scenario.objects.select_related("region"), request.user, pk=scenario_id)
    try:
        changed = services.adopt_scenario(scenario, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已采用方案，%(count)s 个教学班设为“已规划”并写明建设年份。") % {"count": changed})
    return redirect("planning:scenario_detail", scenario_id=scenario.pk)


@login_required
def scenario_compare(request: AuthedRequest) -> HttpResponse:
    ids = [int(x) for x in request.GET.getlist("id") if x.isdigit()][:4]
    chosen = [get_for_user(Scenario.objects.select_related("region"), request.user, pk=i) for i in ids]
    if not chosen:
        return redirect("planning:scenarios")
    years = sorted({y["year"] for s in chosen for y in s.summary.get("years", [])})
    table = []
    for year in years:
        cells = []
        for s in chosen:
            row = next((y for y in s.summary.get("years", []) if y["year"] == year), None)
            cells.append(row)
        table.append((year, cells))
    return render(request, "planning/compare.html", _ctx(request, chosen[0].region, chosen=chosen, table=table))


@login_required
def budget_page(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "terms":
                services.set_payment_terms(
                    region, first_share=request.POST.get("first_share"),
                    later_share_of_remainder=request.POST.get("later_share_of_remainder"),
                    later_years=request.POST.get("later_years", ""), actor=request.user,
                )
                done = _("付款方式已保存。")
            else:
                services.add_funding(region, actor=request.user, data=request.POST)
                done = _("经费来源已添加。")
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, done)
            return redirect(f"{reverse('planning:budget')}?region={region.pk}")
    unit_cost = request.GET.get("unit_cost") or None
    install_year = request.GET.get("install_year", "")
    try:
        report = services.budget_report(request.user, region, unit_cost=unit_cost,
                                        install_year=int(install_year) if install_year.isdigit() else None)
    except ValidationError as exc:
        _errors(request, exc)
        report = None
    return render(request, "planning/budget.html", _ctx(
        request, region, report=report, funding=region.funding.all(), kinds=FundingSource.Kind.choices,
        unit_cost=unit_cost or "", install_year=install_year, this_year=timezone.localdate().year,
        terms=services.payment_terms(region),
        cash_chart=column_chart([(str(r["year"]), float(r["payments"])) for r in report["cash_flow"]], unit=_("元"))
        if report else "",
    ))


@login_required
def bulk_status(request: AuthedRequest) -> HttpResponse:
    """Change the status of every class the class-list filter selects (bureau admins)."""
    if not (request.user.is_superuser or request.user.role == request.user.Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有局管理员可以批量修改建设状态。"))
    source = request.POST if request.method == "POST" else request.GET
    f = ClassFilter.from_query(source)
    qs = filter_classes(request.user, f)
    count = qs.count()
    if request.method == "POST" and request.POST.get("confirm") == "1":
        status = request.POST.get("new_status", "")
        raw_year = request.POST.get("planned_year", "").strip()
        raw_on = request.POST.get("changed_on", "").strip()
        try:
            try:
                on = dt.date.fromisoformat(raw_on) if raw_on else None
            except ValueError:
                raise ValidationError(_("日期“%(date)s”格式不对，应为 YYYY-MM-DD。") % {"date": raw_on}) from None
            changed = services.bulk_set_status(
                qs, status, actor=request.user, reason=request.POST.get("reason", ""), on=on,
                planned_year=int(raw_year) if raw_year.isdigit() else None,
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已将 %(count)s 个教学班设为“%(status)s”。") % {
                "count": changed, "status": TeachingClass.Status(status).label})
            return redirect(f"{reverse('org:class_list')}?{source.get('query', '')}")
    return render(request, "planning/bulk_status.html", {
        "count": count, "params": filter_params(f), "statuses": TeachingClass.Status.choices,
        "query": source.get("query", request.GET.urlencode()),
    })


@login_required
def briefing(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    pdf = briefing_pdf(request.user, region)
    response = HttpResponse(pdf, content_type="application/pdf")
    from urllib.parse import quote

    name = f"{region.name}班班通建设简报-{timezone.localdate():%Y%m%d}.pdf"
    response["Content-Disposition"] = f"inline; filename=\"briefing.pdf\"; filename*=UTF-8''{quote(name)}"
    return response

