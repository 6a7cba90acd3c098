"""Repair deadlines (SLA) per region: the settings page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.devices import services
from banbantong.org.models import Region, School


def _sla_region(request: AuthedRequest) -> Region:
    """The region asked for (in scope, else 404), or the one the user's own tickets are timed by."""
    user = request.user
    if (raw := request.GET.get("region", "")).isdigit():
        return get_for_user(Region.objects.all(), user, pk=int(raw))
    region = user.region or (user.school.region if user.school else None)
    if region is None:
        school = School.objects.for_user(user).select_related("region").first()
        region = school.region if school else Region.objects.filter(parent__isnull=True).order_by("pk").first()
    if region is None:
        raise Http404(_("还没有任何区域。"))
    return region


def _whole_hours(raw: str) -> int:
    # Anything but a whole number becomes 0, which the rule reports as "须为正整数小时".
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() and len(raw) < 10 else 0


@login_required
@require_http_methods(["GET", "POST"])
def sla_settings(request: AuthedRequest) -> HttpResponse:
    user = request.user
    region = _sla_region(request)
    can_edit = services.may_set_sla(user, region)
    rows = services.sla_rows(region)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("只有本区域的局管理员可以修改维修时限。"))
        wanted = {r.priority: (_whole_hours(request.POST.get(f"{r.priority}_respond", "")),
                               _whole_hours(request.POST.get(f"{r.priority}_fix", ""))) for r in rows}
        try:
            with transaction.atomic():
                for r in rows:
                    if wanted[r.priority] != (r.respond_hours, r.fix_hours):
                        try:
                            services.set_sla(region, r.priority, *wanted[r.priority], actor=user)
                        except ValidationError as exc:
                            errors[r.priority] = exc.messages
                if errors:
                    raise ValidationError(_("有错误，未保存。"))  # undo the rows that were fine
        except ValidationError:
            messages.error(request, _("维修时限有错误，没有保存任何修改。请按提示改正。"))
        else:
            messages.success(request, _("已保存%(region)s的维修时限；之后的新报修单按新时限计算。") % {"region": region.name})
            return redirect(f"{reverse('devices:sla')}?region={region.pk}")
    regions = Region.objects.for_user(user).exclude(level=Region.Level.TOWN).order_by("path") if user.is_regional else []
    table = [{"row": r, "errors": errors.get(r.priority, []),
              "respond": request.POST.get(f"{r.priority}_respond", r.respond_hours),
              "fix": request.POST.get(f"{r.priority}_fix", r.fix_hours)} for r in rows]
    return render(request, "devices/sla.html", {"region": region, "table": table, "can_edit": can_edit,
                                                "regions": regions})
