"""Excel import of the register: upload, preview with every error, confirm."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from banbantong.core import uploads
from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.devices import importer
from banbantong.org.models import School

IMPORT_SESSION_KEY = "device_imports"
IMPORT_KIND = "devices"  # the pending uploads' folder under MEDIA_ROOT/imports/
# The page lists this many errors; each names its row and column.
IMPORT_ERRORS_ON_PAGE = 200


@login_required
def device_import_template(request: AuthedRequest) -> HttpResponseBase:
    return workbook_response("设备导入模板.xlsx", importer.template_sheets())


@login_required
@require_http_methods(["GET", "POST"])
def device_import(request: AuthedRequest) -> HttpResponse:
    importer.check_can_import(request.user)
    error = ""
    typed = request.POST.get("school", "").strip()
    school_name = typed or (request.user.school.name if request.user.school else "")
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None or not upload.size:
                raise ValidationError(_("请选择要上传的设备表文件（不能是空文件）。"))
            suffix = uploads.spreadsheet_suffix(upload)
            school = importer.find_school(typed, actor=request.user) if typed else None
        except ValidationError as exc:
            error = "；".join(exc.messages)
        else:
            token = uploads.store_pending(IMPORT_KIND, upload, suffix)
            pending = request.session.get(IMPORT_SESSION_KEY, {})
            pending[token] = {"name": Path(upload.name or "").name[:200], "suffix": suffix, "user": request.user.pk,
                              "school": school.pk if school is not None else None}
            request.session[IMPORT_SESSION_KEY] = pending
            return redirect("devices:import_preview", token=token)
    return render(request, "devices/import.html", {
        "error": error, "school_name": school_name, "headers": list(importer.HEADERS.values()),
        "max_mb": max(1, settings.BBT_IMPORT_MAX_BYTES // (1024 * 1024)),
    })


@login_required
@require_http_methods(["GET", "POST"])
def device_import_preview(request: AuthedRequest, token: str) -> HttpResponseBase:
    importer.check_can_import(request.user)
    pending = request.session.get(IMPORT_SESSION_KEY, {})
    entry = pending.get(token) if isinstance(pending.get(token), dict) else None
    owned = entry is not None and entry.get("user") == request.user.pk
    path = uploads.pending_file(IMPORT_KIND, token, entry["suffix"]) if entry is not None and owned else None
    if entry is None or path is None:
        raise Http404(_("导入记录不存在或已过期，请重新上传。"))
    school = get_for_user(School.objects.all(), request.user, pk=entry["school"]) if entry.get("school") else None
    result, errors = None, []
    try:
        result = importer.import_devices(path, actor=request.user, school=school, file_name=entry["name"],
                                         dry_run=request.method != "POST")
    except importer.DevicesInvalid as exc:
        errors = exc.row_errors
    if result is not None and not result.dry_run:
        path.unlink(missing_ok=True)
        pending.pop(token, None)
        request.session[IMPORT_SESSION_KEY] = pending
        messages.success(request, _("设备表“%(name)s”已导入：新登记 %(created)s 台，更新 %(updated)s 台，"
                                    "无变化 %(unchanged)s 台。") % {
            "name": entry["name"], "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged,
        })
        return redirect("devices:list")
    return render(request, "devices/import_preview.html", {
        "token": token, "file_name": entry["name"], "school": school, "result": result,
        "errors": errors[:IMPORT_ERRORS_ON_PAGE], "error_count": len(errors),
        "more_errors": len(errors) > IMPORT_ERRORS_ON_PAGE,
    })
