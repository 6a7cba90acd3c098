"""Resource pages: the list of the user's scope, a detail page, the upload form and downloads."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_safe

from banbantong.core.http import AuthedRequest
from banbantong.core.listing import Col, render_list
from banbantong.core.scope import get_for_user
from banbantong.resources import points, previews, review, rules, services, storage
from banbantong.resources.forms import ResourceUploadForm
from banbantong.resources.models import Blob, Lesson, Resource

# Downloads are never rendered by the browser in our origin: no scripts, no plugins, no frames.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def resource_queryset(user: Any, params: Any) -> Any:
    """The user's resources with the list filters applied (page, export and API alike)."""
    qs = Resource.objects.for_user(user).select_related("school", "author", "blob")
    if params.get("kind") in Resource.Kind.values:
        qs = qs.filter(kind=params["kind"])
    if subject := (params.get("subject") or "").strip()[:20]:
        qs = qs.filter(subject=subject)
    if grade := (params.get("grade") or "").strip()[:20]:
        qs = qs.filter(grade=grade)
    if str(params.get("lesson") or "").isdigit():
        qs = qs.filter(catalogue_lesson_id=int(params["lesson"]))
    if params.get("status") in Resource.Status.values:
        qs = qs.filter(status=params["status"])
    if params.get("mine") == "1":
        qs = qs.filter(author_id=getattr(user, "pk", None))
    if q := (params.get("q") or "").strip()[:50]:
        qs = qs.filter(Q(title__contains=q) | Q(tags__contains=q) | Q(original_name__contains=q))
    return qs.order_by("-created_at", "-id")


def metadata_columns() -> list[Col]:
    """A resource's title (linked) and where it sits in the curriculum: the columns every list
    of resources starts with (the library, the search results)."""
    return [
        Col(_("标题"), lambda r: r.title, link=lambda r: reverse("resources:detail", args=[r.pk])),
        Col(_("类型"), lambda r: r.get_kind_display()),
        Col(_("学段"), lambda r: r.stage),
        Col(_("学科"), lambda r: r.subject),
        Col(_("年级"), lambda r: r.grade),
        Col(_("教材版本"), lambda r: r.edition),
    ]


def library_columns() -> list[Col]:
    """Which library a resource is in and, on the network, its review state."""
    return [
        Col(_("资源库"), lambda r: r.get_library_display()),
        Col(_("审核状态"), lambda r: r.get_status_display() if r.library == Resource.Library.NETWORK else ""),
    ]


@login_required
def resource_list(request: AuthedRequest) -> HttpResponseBase:
    columns = [
        *metadata_columns(),
        Col(pgettext("field", "学校"), lambda r: r.school.name),
        Col(_("上传人"), lambda r: str(r.author)),
        *library_columns(),
        Col(_("大小"), lambda r: filesizeformat(r.blob.size)),
        Col(_("上传时间"), lambda r: timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M")),
    ]
    return render_list(
        request, template="resources/resource_list.html", queryset=resource_queryset(request.user, request.GET),
        columns=columns, title=_("资源库"), export_name="资源库",
        context={"kinds": Resource.Kind.choices, "statuses": Resource.Status.choices, "g": request.GET,
                 "may_upload": services.may_upload(request.user)},
    )


@login_required
def resource_detail(request: AuthedRequest, resource_id: int) -> HttpResponse:
    return detail_response(request, resource_id)


def detail_response(request: AuthedRequest, resource_id: int, *, review_error: str = "", reason: str = "") -> HttpResponse:
    """The detail page; with the review form when the user may decide it (and the last decision's error)."""
    resource = get_for_user(
        Resource.objects.select_related("school", "author", "blob", "network_region", "reviewed_by",
                                        "catalogue_lesson__unit__volume"),
        request.user, pk=resource_id,
    )
    can_review = (resource.status == Resource.Status.SUBMITTED and review.may_review(request.user)
                  and Resource.objects.reviewable_by(request.user).filter(pk=resource.pk).exists())
    return render(request, "resources/resource_detail.html", {
        "resource": resource, "blob": resource.blob, "may_upload": services.may_upload(request.user),
        "preview": (preview := previews.preview_of(resource.blob)), "preview_pages": range(1, preview.pages + 1),
        "can_review": can_review, "review_error": review_error, "reason": reason,
        "can_resubmit": resource.status == Resource.Status.REJECTED and resource.author_id == request.user.pk,
    }, status=400 if review_error else 200)


@login_required
@csrf_exempt
def upload(request: AuthedRequest) -> HttpResponse:
    # Spool every uploaded file to disk, even a small one: the handlers must be set before the
    # body is read, hence the CSRF check in the inner view rather than in the middleware.
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _upload(request)


@csrf_protect
def _upload(request: AuthedRequest) -> HttpResponse:
    if not services.may_upload(request.user):
        raise PermissionDenied(_("您的账号不能上传资源。"))
    limit = storage.max_bytes()
    if request.method == "POST" and int(request.META.get("CONTENT_LENGTH") or 0) > limit + 1024 * 1024:
        form = ResourceUploadForm(user=request.user)
        form.add_error(None, rules.too_big_message(limit))
        return render(request, "resources/upload.html", {"form": form, "may_upload": True}, status=413)
    lesson = _chosen_lesson(request)
    initial = {"catalogue_lesson": lesson.pk} if lesson is not None else None
    form = ResourceUploadForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        upload_file = cd["file"]
        data = services.ResourceInput(
            file_name=upload_file.name or "",
            **{k: v for k, v in cd.items() if k != "file"},
        )
        try:
            resource = services.create_resource(data, actor=request.user, content=upload_file.chunks())
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已上传“%(title)s”。") % {"title": resource.title})
            return redirect("resources:detail", resource_id=resource.pk)
    if form.is_bound and form.is_valid():
        lesson = form.cleaned_data.get("catalogue_lesson") or lesson
    # With a lesson chosen, the catalogue's text fields come from it: they are not asked for.
    context = {"form": form, "may_upload": True, "lesson": lesson,
               "from_lesson": list(services.lesson_fields(lesson)) if lesson is not None else []}
    return render(request, "resources/upload.html", context, status=400 if form.errors else 200)


def _chosen_lesson(request: AuthedRequest) -> Lesson | None:
    """The catalogue lesson the upload is for (?lesson= from the catalogue page), if the user sees it."""
    raw = request.POST.get("catalogue_lesson") or request.GET.get("lesson") or ""
    if not raw.isdigit():
        return None
    return Lesson.objects.for_user(request.user).select_related("unit__volume__edition").filter(pk=int(raw)).first()


# --- Downloads -------------------------------------------------------------------------------------


class _RangeReader:
    """Yields `length` bytes from `first`; closed by Django when the response is done."""

    def __init__(self, fh: Any, first: int, length: int) -> None:
        self.fh, self.first, self.length = fh, first, length

    def __iter__(self) -> Any:
        self.fh.seek(self.first)
        remaining = self.length
        while remaining > 0:
            block = self.fh.read(min(storage.READ_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block

    def close(self) -> None:
        self.fh.close()


@login_required
@require_safe
def download(request: AuthedRequest, resource_id: int) -> HttpResponseBase:
    resource = get_for_user(Resource.objects.select_related("blob"), request.user, pk=resource_id)
    if request.method == "GET" and rules.starts_file(request.headers.get("Range", "")):
        # Use counts once per download, not once per Range request of a resumed or streamed one.
        points.record_download(resource, actor=request.user)
    return download_response(request, resource.blob, resource.original_name)


@login_required
@require_safe
def preview_page(request: AuthedRequest, resource_id: int, number: int) -> HttpResponseBase:
    """One page image of the resource's preview (made on first view of the resource)."""
    resource = get_for_user(Resource.objects.select_related("blob"), request.user, pk=resource_id)
    preview = previews.preview_of(resource.blob)
    if preview.kind != "pages" or not 1 <= number <= preview.pages:
        raise Http404(_("没有这一页预览。"))
    response = FileResponse(default_storage.open(previews.page_key(resource.blob, number), "rb"),
                            content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"  # a blob's preview never changes
    response["X-Content-Type-Options"] = "nosniff"
    return response


def download_response(request: HttpRequest, blob: Blob, name: str) -> HttpResponseBase:
    """The file as an attachment, honouring one HTTP Range; nginx may send it (X-Accel-Redirect)."""
    etag = f'"{blob.sha256}"'
    wanted = request.headers.get("Range", "")
    if (if_range := request.headers.get("If-Range")) and if_range.strip() != etag:
        wanted = ""  # the client's partial copy is of other bytes: send the whole file
    response: HttpResponseBase
    if prefix := getattr(settings, "BBT_X_ACCEL_PREFIX", ""):
        # nginx serves the bytes (and the Range) from an internal location mapped to the storage.
        response = HttpResponse(content_type=blob.content_type)
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{blob.storage_key}"
    else:
        try:
            chosen = rules.parse_range(wanted, blob.size)
        except rules.RangeNotSatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{blob.size}"
            return response
        first, last = chosen or (0, blob.size - 1)
        length = max(last - first + 1, 0)
        response = StreamingHttpResponse(
            _RangeReader(storage.open_blob(blob), first, length),
            status=206 if chosen else 200, content_type=blob.content_type,
        )
        response["Content-Length"] = str(length)
        if chosen:
            response["Content-Range"] = f"bytes {first}-{last}/{blob.size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    # Every file, SVG and HTML above all, is an attachment that the browser must not sniff.
    response["Content-Disposition"] = rules.content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, max-age=0"
    return response
