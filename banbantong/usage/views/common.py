"""What the usage pages share: the week asked for and the region a dashboard is about."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.org import queries as org_queries
from banbantong.org.models import Region
from banbantong.usage import rules

# Column heads of a week, Monday first (translated: "Mon" … "Sun").
WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


def week_of(request: AuthedRequest, default: dt.date) -> dt.date:
    raw = request.GET.get("week", "")
    if raw:
        try:
            return rules.parse_iso_week(raw)
        except ValueError as exc:
            messages.error(request, str(exc))
    return rules.week_start(default)


def region_of(request: AuthedRequest) -> Region:
    if not request.user.is_regional:
        raise PermissionDenied(_("每周达标统计只对局管理员、审核员和审计员开放。"))
    raw = request.GET.get("region", "")
    if raw.isdigit():
        return get_for_user(Region.objects.all(), request.user, pk=int(raw))
    top = org_queries.top_regions(request.user).first()
    if top is None:
        raise PermissionDenied(_("您的账号没有关联区域。"))
    return top


