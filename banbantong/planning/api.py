"""API: coverage, the rollout planner, the budget and targets — the numbers of the pages and CLI."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema

from banbantong.core.http import api_user
from banbantong.core.jsonout import plain
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region
from banbantong.planning import coverage, services
from banbantong.planning.models import Scenario

router = Router(tags=["建设规划"])


class RolloutIn(Schema):
    region: int
    targets: str
    start_year: int
    budget_per_year: float | None = None
    unit_cost: float | None = None
    save_as: str | None = None


class TargetsIn(Schema):
    targets: str
    start_year: int


def _regional_region(request: HttpRequest, region_id: int) -> Region:
    user = api_user(request)
    if not user.is_regional:
        raise PermissionDenied("建设规划只对局管理员、审核员和审计员开放。")
    return get_for_user(Region.objects.all(), user, pk=region_id)


@router.get("/coverage", summary="覆盖率：各级区域、按模式、学校类型、城乡；as_of 为历史日期")
def coverage_report(request: HttpRequest, region: int, as_of: dt.date | None = None, schools: bool = False) -> Any:
    reg = _regional_region(request, region)
    return plain(coverage.coverage(api_user(request), reg, as_of=as_of).as_dict(with_schools=schools))


@router.post("/plan/rollout", summary="年度建设规划（save_as 给出时保存为方案）")
def plan_rollout(request: HttpRequest, payload: RolloutIn) -> Any:
    reg = _regional_region(request, payload.region)
    spec = services.prepare_plan(reg, targets=payload.targets, start_year=payload.start_year,
                                 budget_per_year=payload.budget_per_year, unit_cost=payload.unit_cost)
    user = api_user(request)
    if payload.save_as is not None:
        scenario = services.save_scenario(user, spec, name=payload.save_as)
        return {"region": reg.name, "scenario_id": scenario.pk, **scenario.summary}
    return plain({"region": reg.name, **services.run_planner(user, spec).as_dict()})


@router.get("/plan/budget", summary="总投资、已投入、剩余及逐年付款")
def plan_budget(request: HttpRequest, region: int, unit_cost: float | None = None,
                install_year: int | None = None) -> Any:
    reg = _regional_region(request, region)
    return plain(services.budget_report(api_user(request), reg, unit_cost=unit_cost, install_year=install_year))


@router.get("/targets", summary="区域的年度覆盖率目标")
def get_targets(request: HttpRequest, region: int) -> Any:
    reg = _regional_region(request, region)
    return [{"year": t.year, "percent": float(t.percent)} for t in reg.targets.all()]


@router.put("/targets", summary="设定年度覆盖率目标（逐年上升，0–100%）")
def put_targets(request: HttpRequest, region: int, payload: TargetsIn) -> Any:
    reg = _regional_region(request, region)
    services.set_targets(reg, payload.targets, start_year=payload.start_year, actor=api_user(request))
    return [{"year": t.year, "percent": float(t.percent)} for t in reg.targets.all()]


@router.get("/scenarios/{scenario_id}", summary="规划方案")
def scenario_detail(request: HttpRequest, scenario_id: int) -> Any:
    s = get_for_user(Scenario.objects.select_related("region"), api_user(request), pk=scenario_id)
    return {"id": s.pk, "name": s.name, "region": s.region.name, "start_year": s.start_year, "targets": s.targets,
            "adopted": s.adopted_at is not None, **s.summary}
