"""Pages for a region's mode catalogue (list, add, edit, delete, Excel), its default-mode rule,
and for confirming suggested modes in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.org.filters import ClassFilter, filter_classes, filter_params
from banbantong.org.models import School
from banbantong.planning import mode_catalogue, mode_rules, rules
from banbantong.planning.suggestions import confirm_suggested_modes, suggestion_summary
from banbantong.planning.views import _ctx, _errors, _region

BLANK_ROWS = 3
MODE_FIELDS = ("code", "name", "components", "unit_cost", "aliases")
EXPORT_HEADERS = ["代码", "名称", "设备组成", "每班单价(元)", "别名", "来源", "使用班数"]


def _modes_url(region_id: int) -> str:
    return f"{reverse('planning:modes')}?region={region_id}"


@login_required
def modes_page(request: AuthedRequest) -> HttpResponseBase:
    """The region's mode catalogue: inherited modes, its overrides and its own; add a mode."""
    region = _region(request)
    form = {k: "" for k in MODE_FIELDS}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in MODE_FIELDS}
        try:
            mode = mode_catalogue.add_mode(region, actor=request.user, **form)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("模式“%(name)s”已加入本区域的模式目录。") % {"name": mode.name})
            return redirect(_modes_url(region.pk))
    entries = mode_catalogue.entries(region)
    if request.GET.get("export") == "xlsx":
        rows = [[e.mode.code, e.mode.name, e.mode.components, e.mode.unit_cost, e.mode.aliases, e.source_label,
                 e.classes] for e in entries]
        return workbook_response(f"{region.name}班班通模式目录.xlsx", [("模式目录", EXPORT_HEADERS, rows)])
    rule = mode_rules.effective_rule(region)
    names = {e.mode.code: e.mode.name for e in entries}
    kinds = dict(School.Kind.choices)
    return render(request, "planning/modes.html", _ctx(
        request, region, entries=entries, form=form, rule=rule,
        rule_lines=[(kinds.get(x.kind, x.kind), x.grade_min, x.grade_max, names.get(x.mode_code, x.mode_code))
                    for x in rule.lines],
    ))


@login_required
def mode_edit(request: AuthedRequest, code: str) -> HttpResponse:
    """One mode for the region: change its name, equipment, price or aliases; delete its own row."""
    region = _region(request)
    entry = mode_catalogue.entry(region, code)  # 404 when the region's catalogue has no such mode
    form = {k: str(getattr(entry.mode, k)) for k in MODE_FIELDS}
    form["unit_cost"] = f"{entry.mode.unit_cost.normalize():f}"  # 12800, not 12800.00
    if request.method == "POST":
        try:
            if request.POST.get("action") == "delete":
                now = mode_catalogue.delete_mode(region, code, actor=request.user)
                messages.success(request, _("已恢复使用%(place)s的“%(name)s”。") % {"place": entry.inherited_from_label, "name": now.name}
                                 if now else _("模式“%(name)s”已删除。") % {"name": entry.mode.name})
                return redirect(_modes_url(region.pk))
            form.update({k: request.POST.get(k, "") for k in MODE_FIELDS if k != "code"})
            mode_catalogue.edit_mode(region, code, actor=request.user, name=form["name"],
                                     components=form["components"], unit_cost=form["unit_cost"],
                                     aliases=form["aliases"])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("模式“%(name)s”已保存（仅对本区域及下级生效）。") % {"name": form["name"]})
            return redirect(_modes_url(region.pk))
    return render(request, "planning/mode_edit.html", _ctx(request, region, entry=entry, form=form))


@login_required
def mode_rule(request: AuthedRequest) -> HttpResponse:
    """See and edit which mode each school kind and grade band gets in a region."""
    region = _region(request)
    modes = mode_names = mode_rules.mode_names(region)
    rows: list[dict[str, str]] | None = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "inherit":
                mode_rules.clear_mode_rule(region, actor=request.user)
                messages.success(request, _("已恢复沿用上级（或方案默认）规则。"))
            else:
                rows = [
                    {"kind": k, "grade_min": a, "grade_max": b, "mode": m}
                    for k, a, b, m in zip(
                        request.POST.getlist("kind"), request.POST.getlist("grade_min"),
                        request.POST.getlist("grade_max"), request.POST.getlist("mode"), strict=False,
                    )
                ]
                mode_rules.set_mode_rule(region, mode_rules.parse_lines(rows), actor=request.user)
                messages.success(request, _("默认模式规则已保存；尚未确定模式的教学班将按新规则显示建议模式。"))
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
    rows += [{"kind": "", "grade_min": "", "grade_max": "", "mode": ""} for _blank in range(BLANK_ROWS)]
    pending = suggestion_summary(filter_classes(request.user, ClassFilter(region=region.pk)))
    return render(request, "planning/mode_rule.html", _ctx(
        request, region, rule=rule, rows=rows, kinds=School.Kind.choices, modes=sorted(modes.items()),
        mode_names=mode_names, grades=range(rules.GRADE_MIN, rules.GRADE_MAX + 1), pending=pending,
    ))


@login_required
def suggested_modes(request: AuthedRequest) -> HttpResponse:
    """Confirm the suggested mode of every class without one that the class-list filter selects."""
    if not (request.user.is_superuser or request.user.role == request.user.Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有局管理员可以确认班班通模式。"))
    source = request.POST if request.method == "POST" else request.GET
    f = ClassFilter.from_query(source)
    qs = filter_classes(request.user, f)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        confirmed = confirm_suggested_modes(qs, actor=request.user)
        messages.success(request, _("已为 %(count)s 个教学班确认建议模式。") % {"count": confirmed})
        return redirect(f"{reverse('org:class_list')}?{source.get('query', '')}")
    return render(request, "planning/suggested_modes.html", {
        "summary": suggestion_summary(qs), "params": filter_params(f),
        "query": source.get("query", request.GET.urlencode()),
    })
