"""Survey import pages: upload a 调查表, preview what it would do and every error, confirm.

Only bureau admins import, and only into a region of their scope. The uploaded file waits
under MEDIA_ROOT/imports/ with a random name, known only to the uploader's session; the
preview and the confirmation each re-read it, so what is written is what was checked.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from banbantong.core.excel import workbook_response
from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user
from banbantong.org.models import Region
from banbantong.org.survey.report import RowError, error_sheet
from banbantong.org.survey.rules import COLUMN_TITLES
from banbantong.org.survey.service import SurveyInvalid, SurveyResult, check_can_import, import_survey

SESSION_KEY = "survey_imports"
# calamine reads all of these; bureaus still keep some surveys in .xls from older Excel.
ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# The page lists this many errors; the downloadable workbook lists all of them.
ERRORS_ON_PAGE = 200
# Uploads nobody confirmed are removed after this long.
STALE_AFTER = dt.timedelta(days=1)


def _import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _max_mb() -> int:
    return max(1, settings.BBT_IMPORT_MAX_BYTES // (1024 * 1024))


def _target_regions(user: Any) -> list[Region]:
    # A survey covers a city or a county; towns are placed by its 乡镇 column.
    return list(Region.objects.for_user(user).exclude(level=Region.Level.TOWN).order_by("path"))


class SurveyUploadForm(forms.Form):
    region = forms.IntegerField(label=_("所属区域"), error_messages={"required": _("请选择调查表所属的区域。")})
    file = forms.FileField(label=_("调查表文件"), error_messages={"required": _("请选择要上传的调查表文件。")})

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > settings.BBT_IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("文件超过 %(mb)s MB，请拆分后分批导入。") % {"mb": _max_mb()})
        if Path(upload.name or "").suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(_("请上传 Excel 文件（.xlsx）。"))
        if not upload.size:
            raise forms.ValidationError(_("文件是空的。"))
        return upload


def _store_upload(upload: UploadedFile, suffix: str) -> str:
    """Write the upload under a random token, atomically: the preview never sees half a file."""
    directory = _import_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale(directory)
    token = secrets.token_urlsafe(24)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / f"{token}{suffix}")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return token


def _remove_stale(directory: Path) -> None:
    cutoff = (timezone.now() - STALE_AFTER).timestamp()
    for old in directory.iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another request removed it first


@login_required
@require_http_methods(["GET", "POST"])
def survey_upload(request: AuthedRequest) -> HttpResponse:
    check_can_import(request.user)
    regions = _target_regions(request.user)
    form = SurveyUploadForm()
    if request.method == "POST":
        # Refuse an oversized body before Django spools it to disk.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.BBT_IMPORT_MAX_BYTES + 64 * 1024:
            form.add_error(None, _("文件超过 %(mb)s MB，请拆分后分批导入。") % {"mb": _max_mb()})
        else:
            form = SurveyUploadForm(request.POST, request.FILES)
        if form.is_bound and form.is_valid():
            region = get_for_user(Region.objects.all(), request.user, pk=form.cleaned_data["region"])
            upload = form.cleaned_data["file"]
            suffix = Path(upload.name).suffix.lower()
            token = _store_upload(upload, suffix)
            pending = request.session.get(SESSION_KEY, {})
            pending[token] = {
                "region": region.pk, "name": Path(upload.name).name[:200], "suffix": suffix,
                "user": request.user.pk,
            }
            request.session[SESSION_KEY] = pending
            return redirect("org:survey_preview", token=token)
    return render(request, "org/survey_upload.html", {
        "form": form, "regions": regions, "max_mb": _max_mb(), "columns": list(COLUMN_TITLES.values()),
        "selected": str(request.POST.get("region") or request.user.region_id or ""),
    })


def _pending(request: AuthedRequest, token: str) -> tuple[dict[str, Any], Region, Path]:
    """The upload behind token, if it is this user's: anything else is 404."""
    check_can_import(request.user)
    entry = request.session.get(SESSION_KEY, {}).get(token) if _TOKEN.match(token) else None
    if not entry or entry.get("user") != request.user.pk or entry.get("suffix") not in ALLOWED_SUFFIXES:
        raise Http404(_("导入记录不存在或已过期，请重新上传。"))
    region = get_for_user(Region.objects.all(), request.user, pk=entry["region"])
    path = _import_dir() / f"{token}{entry['suffix']}"
    if not path.is_file():
        _forget(request, token)
        raise Http404(_("上传的文件已过期，请重新上传。"))
    return entry, region, path


def _forget(request: AuthedRequest, token: str) -> None:
    pending = request.session.get(SESSION_KEY, {})
    if pending.pop(token, None) is not None:
        request.session[SESSION_KEY] = pending


def _check(request: AuthedRequest, region: Region, path: Path, name: str) -> tuple[SurveyResult | None, list[RowError]]:
    try:
        return import_survey(path, region=region, actor=request.user, file_name=name, dry_run=True), []
    except SurveyInvalid as exc:
        return None, exc.row_errors


@login_required
@require_http_methods(["GET", "POST"])
def survey_preview(request: AuthedRequest, token: str) -> HttpResponseBase:
    entry, region, path = _pending(request, token)
    if request.method == "POST":
        try:
            result = import_survey(path, region=region, actor=request.user, file_name=entry["name"])
        except SurveyInvalid as exc:
            # The data changed since the preview (say, someone accepted a class): show why.
            return _render_preview(request, token, entry, region, None, exc.row_errors)
        path.unlink(missing_ok=True)
        _forget(request, token)
        messages.success(
            request,
            _("调查表“%(name)s”已导入：新建学校 %(schools_created)s 所、更新 %(schools_updated)s 所，"
              "新建教学班 %(classes_created)s 个、更新 %(classes_updated)s 个。") % {
                "name": entry["name"], "schools_created": result.schools_created,
                "schools_updated": result.schools_updated, "classes_created": result.classes_created,
                "classes_updated": result.classes_updated,
            },
        )
        return HttpResponseRedirect(reverse("org:region_detail", args=[region.pk]))
    preview, errors = _check(request, region, path, entry["name"])
    return _render_preview(request, token, entry, region, preview, errors)


def _render_preview(
    request: HttpRequest, token: str, entry: dict[str, Any], region: Region, result: SurveyResult | None,
    errors: list[RowError],
) -> HttpResponse:
    return render(request, "org/survey_preview.html", {
        "token": token, "file_name": entry["name"], "region": region, "result": result,
        "errors": errors[:ERRORS_ON_PAGE], "error_count": len(errors), "more_errors": len(errors) > ERRORS_ON_PAGE,
    })


@login_required
@require_GET
def survey_errors(request: AuthedRequest, token: str) -> HttpResponseBase:
    entry, region, path = _pending(request, token)
    _, errors = _check(request, region, path, entry["name"])
    stem = Path(entry["name"]).stem or "调查表"
    return workbook_response(f"{stem}_错误清单.xlsx", [error_sheet(errors)])
