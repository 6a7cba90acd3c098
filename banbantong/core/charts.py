"""Charts as inline SVG drawn on the server: they render on an intranet with no internet."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 22
LABEL_WIDTH = 120
CHART_WIDTH = 560


def bar_chart(
    items: Sequence[tuple[str, float]], *, unit: str = "", max_value: float | None = None, decimals: int = 1
) -> SafeString:
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
            f"<title>{escape(label)}: {value:.{decimals}f}{escape(unit)}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">{value:.{decimals}f}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped


LINE_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str = "",
    max_value: float | None = None,
    dashed: Sequence[bool] = (),
) -> SafeString:
    """Lines over a shared x axis (e.g. coverage by year against the target line)."""
    if not x_labels or not series:
        return mark_safe("")  # noqa: S308 - constant
    width, height, left, bottom, top = CHART_WIDTH, 240, 48, 28, 14
    values = [v for _, vs in series for v in vs if v is not None]
    ymax = max_value or (max(values) if values else 1.0) or 1.0
    plot_w, plot_h = width - left - 16, height - bottom - top
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (1 - min(v, ymax) / ymax)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 22 * len(series)}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for k in range(5):
        v = ymax * k / 4
        _, y = xy(0, v)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" stroke="#e2e8f0"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{v:g}{escape(unit)}</text>')
    for i, label in enumerate(x_labels):
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    for n, (name, vs) in enumerate(series):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        points = [xy(i, v) for i, v in enumerate(vs) if v is not None]
        dash = ' stroke-dasharray="6 4"' if n < len(dashed) and dashed[n] else ""
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        for i, value in enumerate(vs):
            if value is not None:
                x, y = xy(i, value)
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                             f"<title>{escape(name)} {escape(x_labels[i])}: {value:g}{escape(unit)}</title></circle>")
        ly = height + 14 + 22 * n
        parts.append(f'<rect x="{left}" y="{ly - 9}" width="14" height="4" fill="{colour}"/>'
                     f'<text x="{left + 20}" y="{ly - 4}" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped


def _short(value: float) -> str:
    """A column's figure in few characters: 万 (ten thousands) in Chinese, k in English."""
    if translation.get_language() == "en":
        return f"{value / 1000:,.0f}k"
    return f"{value / 10000:,.1f}万"


def column_chart(items: Sequence[tuple[str, float]], *, unit: str = "") -> SafeString:
    """Vertical columns, one per (label, value) — e.g. payments by year."""
    if not items:
        return mark_safe("")  # noqa: S308 - constant
    width, height, left, bottom, top = CHART_WIDTH, 220, 16, 28, 20
    top_value = max(v for _, v in items) or 1.0
    slot = (width - 2 * left) / len(items)
    bar = min(60.0, slot * 0.6)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(items):
        h = (height - bottom - top) * max(0.0, value) / top_value
        x = left + slot * i + (slot - bar) / 2
        y = height - bottom - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2b6cb0">'
            f"<title>{escape(label)}: {value:,.0f}{escape(unit)}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">{_short(value)}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="12">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped
