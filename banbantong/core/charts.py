"""Charts as inline SVG drawn on the server: they render on an intranet with no internet."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 22
LABEL_WIDTH = 120
CHART_WIDTH = 560


def bar_chart(items: Sequence[tuple[str, float]], *, unit: str = "", max_value: float | None = None) -> SafeString:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return mark_safe("")  # noqa: S308 - constant
    top = max_value or max(v for _, v in items) or 1.0
    bar_space = CHART_WIDTH - LABEL_WIDTH - 70
    height = BAR_HEIGHT * len(items) + 10
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(items):
        y = i * BAR_HEIGHT + 5
        width = max(0.0, min(1.0, value / top)) * bar_space
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="13">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{BAR_HEIGHT - 8}" fill="#2b6cb0">'
            f"<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">{value:g}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped
