"""Number formats the same in every language: 1,469 and 9,058,000.00 (not 9058000 or 905,8000)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _number(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def num(value: object) -> str:
    """Whole number with thousands separators; empty for nothing."""
    n = _number(value)
    return "" if n is None else f"{n:,.0f}"


@register.filter
def pct(value: object) -> str:
    """A share kept as a fraction (0.40) shown as a percentage (40%)."""
    n = _number(value)
    return "" if n is None else f"{(n * 100).normalize():f}%"


@register.filter
def money(value: object) -> str:
    """Amount in yuan with two decimals and thousands separators."""
    n = _number(value)
    return "" if n is None else f"{n:,.2f}"
