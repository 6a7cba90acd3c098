"""Coverage arithmetic (pure). Coverage = classes built or accepted ÷ all classes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

COVERAGE_DECIMALS = 1


def coverage_percent(built: int, total: int) -> Decimal:
    """233 of 880 -> 26.5; 283 of 1469 -> 19.3; no classes -> 0.0 (shown as 无数据 by pages)."""
    if total <= 0:
        return Decimal("0.0")
    value = Decimal(built) * 100 / Decimal(total)
    return value.quantize(Decimal(1).scaleb(-COVERAGE_DECIMALS), rounding=ROUND_HALF_UP)
