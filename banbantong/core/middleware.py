"""Binds the client IP and a request id to the request so audit entries carry them."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from banbantong.core import context
from banbantong.core.i18n import is_document_request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9\-]{8,64}$")


def client_ip(request: HttpRequest) -> str:
    # Behind nginx the proxy count says how many X-Forwarded-For hops to trust; never more.
    hops = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        parts = [p.strip() for p in forwarded.split(",") if p.strip()]
        if len(parts) >= hops:
            return parts[-hops]
    return request.META.get("REMOTE_ADDR", "") or ""


class ChineseFirstLocaleMiddleware:
    """Chinese unless the user chose English with the language switch (a cookie).

    The browser's Accept-Language is ignored on purpose: bureau PCs often run English-language
    browsers, and the platform's default is zh-Hans. Exports, PDFs and the API stay Chinese
    (core.i18n): they are filed documents and machine-read labels.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        if is_document_request(request):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            # Back to the default for whatever runs next on this thread (a test, a job): an
            # English request must not leave English labels behind.
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        return response


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        token = context.bind(client_ip(request), incoming if _REQUEST_ID.match(incoming) else None)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = context.current().request_id
            return response
        finally:
            context.unbind(token)
