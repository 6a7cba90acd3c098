"""`bbt plan rollout …` and `bbt plan budget …`: the same numbers as the planning pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from banbantong.core.jsonout import dumps
from banbantong.core.scope import SYSTEM
from banbantong.planning import services


class Command(BaseCommand):
    help = "规划：rollout 年度建设规划；budget 投资、已投入、剩余及付款计划。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["rollout", "budget"])
        parser.add_argument("--region", required=True, help="区域名称，重名时写成 上级/名称")
        parser.add_argument("--targets", help="年度覆盖率目标，如 40,60,80,100（rollout）")
        parser.add_argument("--start-year", dest="start_year", help="第一个目标的年份（rollout）")
        parser.add_argument("--budget-per-year", dest="budget_per_year", help="每年预算上限（元）")
        parser.add_argument("--unit-cost", dest="unit_cost", help="统一每班单价（元），默认按模式目录")
        parser.add_argument("--install-year", dest="install_year", type=int, help="未规划班级的安装年份（budget）")
        parser.add_argument("--save", metavar="NAME", help="把规划保存为方案（rollout）")
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            region = services.find_region(opts["region"])
            data = self._rollout(region, opts) if opts["kind"] == "rollout" else services.budget_report(
                SYSTEM, region, unit_cost=opts["unit_cost"], install_year=opts["install_year"]
            )
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        if opts["json"]:
            self.stdout.write(dumps(data))
        elif opts["kind"] == "rollout":
            self._print_rollout(data)
        else:
            self._print_budget(data)

    def _rollout(self, region: Any, opts: dict[str, Any]) -> dict[str, Any]:
        if not opts["targets"] or not opts["start_year"]:
            raise ValidationError("rollout 需要 --targets 和 --start-year。")
        spec = services.prepare_plan(
            region, targets=opts["targets"], start_year=opts["start_year"],
            budget_per_year=opts["budget_per_year"], unit_cost=opts["unit_cost"],
        )
        result = services.run_planner(SYSTEM, spec)
        data = {"region": region.name, **result.as_dict()}
        if opts["save"]:
            scenario = services.save_scenario(SYSTEM, spec, name=opts["save"])
            data["scenario_id"] = scenario.pk
        return data

    def _print_rollout(self, data: dict[str, Any]) -> None:
        self.stdout.write(
            f"{data['region']}：教学班 {data['total_classes']}，已建 {data['built_now']}（{data['coverage_now']}%）"
        )
        for y in data["years"]:
            line = (f"  {y['year']} 年：目标 {y['target_percent']:g}% → {y['target_classes']} 班，"
                    f"新建 {y['equipped']} 班（{y['schools']} 所学校），费用 {y['cost']:,.0f} 元，年末覆盖率 {y['coverage_at_end']}%")
            if y["shortfall"]:
                line += f"  ⚠ 预算不足，差 {y['shortfall']} 班"
            self.stdout.write(line)

    def _print_budget(self, data: dict[str, Any]) -> None:
        self.stdout.write(
            f"{data['region']}：总投资 {data['total']:,.0f} 元，已投入 {data['spent']:,.0f} 元，"
            f"剩余 {data['remaining']:,.0f} 元（{data['remaining_classes']} 班）"
        )
        for row in data["cash_flow"]:
            self.stdout.write(f"  {row['year']} 年：付款 {row['payments']:,.2f} 元，经费 {row['funding']:,.2f} 元，缺口 {row['gap']:,.2f} 元")
