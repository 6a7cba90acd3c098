"""Pages for the default-mode rule of a region and for confirming suggested modes in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from banbantong.core.http import AuthedRequest
from banbantong.org.filters import ClassFilter, filter_classes, filter_params
from banbantong.org.models import School
from banbantong.planning import mode_rules, rules
from banbantong.planning.suggestions import confirm_suggested_modes, suggestion_summary
from banbantong.planning.views import _ctx, _errors, _region

BLANK_ROWS = 3


@login_required
def mode_rule(request: AuthedRequest) -> HttpResponse:
    """See and edit which mode each school kind and grade band gets in a region."""
    region = _region(request)
    modes = mode_names = mode_rules.mode_names()
    rows: list[dict[str, str]] | None = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "inherit":
                mode_rules.clear_mode_rule(region, actor=request.user)
                messages.success(request, "已恢复沿用上级（或方案默认）规则。")
            else:
                rows = [
                    {"kind": k, "grade_min": a, "grade_max": b, "mode": m}
                    for k, a, b, m in zip(
                        request.POST.getlist("kind"), request.POST.getlist("grade_min"),
                        request.POST.getlist("grade_max"), request.POST.getlist("mode"), strict=False,
                    )
                ]
                mode_rules.set_mode_rule(region, mode_rules.parse_lines(rows), actor=request.user)
                messages.success(request, "默认模式规则已保存；尚未确定模式的教学班将按新规则显示建议模式。")
        except ValidationError as exc:
            _errors(request, exc)
        else:
            return redirect(f"{reverse('planning:mode_rule')}?region={region.pk}")
    rule = mode_rules.effective_rule(region)
    if rows is None:  # not a failed save: show the rule in force, ready to edit
        rows = [
            {"kind": line.kind, "grade_min": str(line.grade_min), "grade_max": str(line.grade_max),
             "mode": line.mode_code}
            for line in rule.lines
        ]
    rows += [{"kind": "", "grade_min": "", "grade_max": "", "mode": ""} for _ in range(BLANK_ROWS)]
    pending = suggestion_summary(filter_classes(request.user, ClassFilter(region=region.pk)))
    return render(request, "planning/mode_rule.html", _ctx(
        request, region, rule=rule, rows=rows, kinds=School.Kind.choices, modes=sorted(modes.items()),
        mode_names=mode_names, grades=range(rules.GRADE_MIN, rules.GRADE_MAX + 1), pending=pending,
    ))


@login_required
def suggested_modes(request: AuthedRequest) -> HttpResponse:
    """Confirm the suggested mode of every class without one that the class-list filter selects."""
    if not (request.user.is_superuser or request.user.role == request.user.Role.BUREAU_ADMIN):
        raise PermissionDenied("只有局管理员可以确认班班通模式。")
    source = request.POST if request.method == "POST" else request.GET
    f = ClassFilter.from_query(source)
    qs = filter_classes(request.user, f)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        confirmed = confirm_suggested_modes(qs, actor=request.user)
        messages.success(request, f"已为 {confirmed} 个教学班确认建议模式。")
        return redirect(f"{reverse('org:class_list')}?{source.get('query', '')}")
    return render(request, "planning/suggested_modes.html", {
        "summary": suggestion_summary(qs), "params": filter_params(f),
        "query": source.get("query", request.GET.urlencode()),
    })
