"""Masking rules for teachers' personal data in lists, exports and logs (pure functions)."""

from __future__ import annotations

PHONE_KEEP_HEAD = 3
PHONE_KEEP_TAIL = 4
ID_KEEP_HEAD = 3
ID_KEEP_TAIL = 4


def _mask(value: str, head: int, tail: int) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) <= head + tail:
        # Too short to show any part safely: hide everything but the last character.
        return "*" * (len(value) - 1) + value[-1:]
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678"""
    return _mask(value, PHONE_KEEP_HEAD, PHONE_KEEP_TAIL)


def mask_id_number(value: str) -> str:
    """360822198001011234 -> 360***********1234"""
    return _mask(value, ID_KEEP_HEAD, ID_KEEP_TAIL)
