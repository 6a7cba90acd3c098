"""The versioned JSON API at /api/v1/, described by OpenAPI at /api/v1/openapi.json.

Authentication is the browser session or a bearer token; each app adds its router here.
Errors always come back as JSON with a Chinese `message`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from banbantong.accounts.api import auth_methods
from banbantong.accounts.api import router as accounts_router
from banbantong.core.api import router as core_router
from banbantong.devices.api import router as devices_router
from banbantong.org.api import router as org_router
from banbantong.planning.api import router as planning_router
from banbantong.resources.api import router as resources_router
from banbantong.search.api import router as search_router
from banbantong.usage.api import router as usage_router


class ChineseJSONRenderer(JSONRenderer):
    # Chinese text stays readable in responses and logs instead of \uXXXX escapes.
    json_dumps_params = {"ensure_ascii": False}  # noqa: RUF012


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="班班通平台 API",
    version="1",
    description="班班通平台的 JSON 接口。浏览器会话或 Bearer 令牌认证；所有数据按用户管辖范围过滤。",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=auth_methods,
)
api.add_router("/", core_router)
api.add_router("/", accounts_router)
api.add_router("/", org_router)
api.add_router("/", planning_router)
api.add_router("/", devices_router)
api.add_router("/", usage_router)
api.add_router("/", search_router)
api.add_router("/", resources_router)


def _error(request: HttpRequest, status: int, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"message": message, **extra}, status=status)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, "对象不存在或不在您的管辖范围内")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 401, "未登录或令牌无效")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 403, str(exc) or "您没有执行此操作的权限")


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _error(request, 400, "；".join(exc.messages), errors=exc.message_dict if hasattr(exc, "error_dict") else {})


@api.exception_handler(NinjaValidationError)
def _bad_shape(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _error(request, 422, "请求数据格式不正确", errors=exc.errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))
