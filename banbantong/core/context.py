"""Who is acting, from where, in which request: set once per request, read by the audit log."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str
    request_id: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("bbt_request", default=None)

CLI_CONTEXT = RequestContext(ip="", request_id="cli")


def current() -> RequestContext:
    return _current.get() or CLI_CONTEXT


def bind(ip: str, request_id: str | None = None) -> contextvars.Token[RequestContext | None]:
    return _current.set(RequestContext(ip=ip, request_id=request_id or uuid.uuid4().hex))


def unbind(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
