"""Review pages: the reviewer's queue, the decision (approve, or reject with a reason), resubmission."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST, require_safe

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.resources import review, services
from banbantong.resources.models import Resource
from banbantong.resources.views import detail_response


@login_required
@require_safe
def review_queue(request: AuthedRequest) -> HttpResponseBase:
    if not review.may_review(request.user):
        raise PermissionDenied(_("只有资源审核员可以查看待审核队列。"))
    columns = [
        Col(_("标题"), lambda r: r.title, link=lambda r: reverse("resources:detail", args=[r.pk])),
        Col(_("类型"), lambda r: r.get_kind_display()),
        Col(_("学科"), lambda r: r.subject),
        Col(_("年级"), lambda r: r.grade),
        Col(pgettext("field", "课时"), lambda r: r.lesson),
        Col(pgettext("field", "学校"), lambda r: r.school.name),
        Col(_("上传人"), lambda r: str(r.author)),
        Col(_("提交到"), lambda r: r.network_region.name if r.network_region else ""),
        Col(_("提交时间"), lambda r: timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M")),
    ]
    return render_list(
        request, template="resources/review_queue.html", queryset=review.review_queue(request.user),
        columns=columns, title=_("待审核资源"), export_name="待审核资源",
        context={"may_upload": services.may_upload(request.user), "may_review": True},
    )


@login_required
@require_POST
def review_decide(request: AuthedRequest, resource_id: int) -> HttpResponse:
    resource = review.get_reviewable(request.user, resource_id)
    action = request.POST.get("action", "")
    try:
        if action == "approve":
            review.approve_resource(resource, actor=request.user)
            messages.success(request, _("已通过“%(title)s”，本区域所有学校都能看到它。") % {"title": resource.title})
        elif action == "reject":
            review.reject_resource(resource, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("已退回“%(title)s”，作者会收到退回理由。") % {"title": resource.title})
        else:
            raise ValidationError(_("请选择“通过”或“退回”。"))
    except (ValidationError, PermissionDenied) as exc:
        text = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return detail_response(request, resource.pk, review_error=text, reason=request.POST.get("reason", ""))
    return redirect("resources:review_queue")


@login_required
@require_POST
def resubmit(request: AuthedRequest, resource_id: int) -> HttpResponse:
    resource = get_for_user(Resource.objects.all(), request.user, pk=resource_id)
    try:
        review.resubmit_resource(resource, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, _("已重新提交审核。"))
    return redirect("resources:detail", resource_id=resource.pk)
