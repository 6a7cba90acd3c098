"""API: coverage, the rollout planner, the budget, targets and the mode catalogue — the numbers
and the writes of the pages and CLI."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Query, Router, Schema

from banbantong.core.http import api_user
from banbantong.core.jsonout import plain
from banbantong.core.scope import get_for_user
from banbantong.org.filters import ClassFilter, filter_classes
from banbantong.org.models import Region
from banbantong.planning import coverage, mode_catalogue, mode_rules, services
from banbantong.planning.models import Scenario
from banbantong.planning.suggestions import confirm_suggested_modes, suggestion_summary

router = Router(tags=["建设规划"])


class RolloutIn(Schema):
    region: int
    targets: str
    start_year: int
    budget_per_year: float | None = None
    unit_cost: float | None = None
    save_as: str | None = None


class RuleLineIn(Schema):
    kind: str
    grade_min: int
    grade_max: int
    mode: str


class ModeRuleIn(Schema):
    lines: list[RuleLineIn]


class ClassSelectionIn(Schema):
    """The class-list filter (as GET /classes takes it) choosing the classes to confirm."""

    region: int | None = None
    school: int | None = None
    kind: str | None = None
    grade: int | None = None
    status: str | None = None
    q: str | None = None


class PaymentTermsIn(Schema):
    first_share: str
    later_share_of_remainder: str
    later_years: int


class TargetsIn(Schema):
    targets: str
    start_year: int


class ModeIn(Schema):
    code: str
    name: str
    unit_cost: str | float | None = None
    components: str = ""
    aliases: str | list[str] = ""


class ModeEditIn(Schema):
    """Fields left out are left as they are."""

    name: str | None = None
    components: str | None = None
    unit_cost: str | float | None = None
    aliases: str | list[str] | None = None


def _regional_region(request: HttpRequest, region_id: int) -> Region:
    user = api_user(request)
    if not user.is_regional:
        raise PermissionDenied(gettext("建设规划只对局管理员、审核员和审计员开放。"))
    return get_for_user(Region.objects.all(), user, pk=region_id)


@router.get("/coverage", summary="覆盖率：各级区域、按模式、学校类型、城乡；as_of 为历史日期")
def coverage_report(request: HttpRequest, region: int, as_of: dt.date | None = None, schools: bool = False) -> Any:
    reg = _regional_region(request, region)
    # Encoded here, once: a province's tree (with 15,000 schools on request) is too big to be
    # turned into objects again and re-encoded by the API's renderer.
    report = coverage.coverage(api_user(request), reg, as_of=as_of, with_schools=schools)
    return HttpResponse(report.as_json(with_schools=schools), content_type="application/json; charset=utf-8")


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


@router.put("/plan/payment-terms", summary="付款方式：安装当年比例、其后每年付余款比例、其后年数（40 或 0.4 均表示 40%）")
def put_payment_terms(request: HttpRequest, region: int, payload: PaymentTermsIn) -> Any:
    reg = _regional_region(request, region)
    t = services.set_payment_terms(reg, first_share=payload.first_share,
                                   later_share_of_remainder=payload.later_share_of_remainder,
                                   later_years=payload.later_years, actor=api_user(request))
    return plain({"first_share": t.first_share, "later_share_of_remainder": t.later_share_of_remainder,
                  "later_years": t.later_years})


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


@router.get("/mode-rule", summary="区域的默认模式规则（own：本区域自定；source：规则来自哪个区域，空为方案默认）")
def get_mode_rule(request: HttpRequest, region: int) -> Any:
    reg = _regional_region(request, region)
    return {"region": reg.name, **mode_rules.effective_rule(reg).as_dict(mode_rules.mode_names(reg))}


@router.put("/mode-rule", summary="设定本区域的默认模式规则（整体替换；同类学校的年级段不能重叠）")
def put_mode_rule(request: HttpRequest, region: int, payload: ModeRuleIn) -> Any:
    reg = _regional_region(request, region)
    lines = mode_rules.parse_lines(line.dict() for line in payload.lines)
    rule = mode_rules.set_mode_rule(reg, lines, actor=api_user(request))
    return {"region": reg.name, **rule.as_dict(mode_rules.mode_names(reg))}


@router.delete("/mode-rule", summary="删除本区域的规则，恢复沿用上级（或方案默认）规则")
def delete_mode_rule(request: HttpRequest, region: int) -> Any:
    reg = _regional_region(request, region)
    rule = mode_rules.clear_mode_rule(reg, actor=api_user(request))
    return {"region": reg.name, **rule.as_dict(mode_rules.mode_names(reg))}


@router.get("/modes", summary="区域的班班通模式目录（继承的、本区域覆盖的和本区域新增的）")
def list_modes(request: HttpRequest, region: int) -> Any:
    reg = _regional_region(request, region)
    return plain({"region": reg.name, "modes": [e.as_dict() for e in mode_catalogue.entries(reg)]})


@router.post("/modes", summary="为本区域新增模式（代码在本区域目录中不能重复）")
def add_mode(request: HttpRequest, region: int, payload: ModeIn) -> Any:
    reg = _regional_region(request, region)
    mode = mode_catalogue.add_mode(reg, actor=api_user(request), **payload.dict())
    return plain(mode_catalogue.entry(reg, mode.code).as_dict())


def _edit_mode(request: HttpRequest, region: int, code: str, payload: ModeEditIn) -> Any:
    reg = _regional_region(request, region)
    mode_catalogue.edit_mode(reg, code, actor=api_user(request), **payload.dict())
    return plain(mode_catalogue.entry(reg, code).as_dict())


@router.put("/modes/{code}", summary="修改本区域的模式（继承的模式在本区域另存一份，不改上级）")
def put_mode(request: HttpRequest, region: int, code: str, payload: ModeEditIn) -> Any:
    return _edit_mode(request, region, code, payload)


@router.patch("/modes/{code}", summary="修改本区域的模式（只改给出的字段）")
def patch_mode(request: HttpRequest, region: int, code: str, payload: ModeEditIn) -> Any:
    return _edit_mode(request, region, code, payload)


@router.delete("/modes/{code}", summary="删除本区域新增的模式（无班级和规则使用时），或删除覆盖、恢复继承的设置")
def delete_mode(request: HttpRequest, region: int, code: str) -> Any:
    reg = _regional_region(request, region)
    now = mode_catalogue.delete_mode(reg, code, actor=api_user(request))
    return plain({"deleted": code, "now": mode_catalogue.entry(reg, code).as_dict() if now else None})


@router.get("/suggested-modes", summary="筛选范围内尚未确定模式的教学班数及按规则建议的模式")
def suggested_modes(request: HttpRequest, filters: Query[ClassSelectionIn]) -> Any:
    user = api_user(request)
    return suggestion_summary(filter_classes(user, ClassFilter(**filters.dict())))


@router.post("/suggested-modes/confirm", summary="确认筛选范围内教学班的建议模式（已有模式的不变）")
def confirm_modes(request: HttpRequest, payload: ClassSelectionIn) -> Any:
    user = api_user(request)
    if not user.is_regional:
        raise PermissionDenied(gettext("只有局管理员可以确认班班通模式。"))
    return {"confirmed": confirm_suggested_modes(filter_classes(user, ClassFilter(**payload.dict())), actor=user)}
