"""JSON for the command line and API: money as plain numbers, dates as ISO strings."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.functional import Promise


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, models.Model | Promise):  # Promise: a lazy label, in the active language
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def plain(value: Any) -> Any:
    """Round-trip through JSON so API schemas receive only plain types (compact: without an
    indent the json module encodes in C, several times faster on a province's tree)."""
    return json.loads(dumps(value, indent=None))


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, indent=indent)
