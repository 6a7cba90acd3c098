"""The one-page progress briefing (简报) as PDF, with the same figures as the planning pages."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from banbantong.core.pdf import chinese_font
from banbantong.org import queries as org_queries
from banbantong.org.models import Region
from banbantong.planning import coverage, services

MAX_CHART_ROWS = 20


def _money(value: Any) -> str:
    return f"{float(value) / 10000:,.1f} 万元"


def briefing_pdf(user: Any, region: Region) -> bytes:
    font = chinese_font()
    title = ParagraphStyle("t", fontName=font, fontSize=18, leading=24, alignment=1)
    sub = ParagraphStyle("s", fontName=font, fontSize=10, leading=14, alignment=1, textColor=colors.grey)
    h = ParagraphStyle("h", fontName=font, fontSize=12, leading=18, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15)

    fig = org_queries.figures(user, region)
    progress = services.target_progress(user, region)
    report = coverage.coverage(user, region)
    try:
        budget = services.budget_report(user, region)
    except Exception:  # a region with no classes has no budget; the briefing says so
        budget = None

    story: list[Any] = [
        Paragraph(f"{region.full_name}“班班通”建设进展简报", title),
        Paragraph(f"{timezone.localdate():%Y年%m月%d日} · 班班通平台生成", sub),
        Spacer(1, 6 * mm),
        Paragraph(
            f"截至今日，全区域共有学校 {fig.schools} 所、教学班 {fig.classes} 个，已建成“班班通”教学班 "
            f"{fig.built} 个，覆盖率 {fig.coverage}%。", body),
    ]
    grid = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 9), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT")]
    rows = [["区域", "教学班", "已建", "覆盖率", "今年目标", "差距(班)", "进度"]]
    for p in progress:
        rows.append([p["region"].name, p["classes"], p["built"], f"{p['coverage']}%",
                     f"{p['target']}%" if p["target"] is not None else "—",
                     p["gap"] if p["gap"] is not None else "—",
                     "—" if p["on_track"] is None else ("达标" if p["on_track"] else "落后")])
    story += [Paragraph("一、各区域进度", h), Table(rows, repeatRows=1, style=TableStyle(grid))]

    chart_rows = progress[:MAX_CHART_ROWS]
    if chart_rows:
        drawing = Drawing(170 * mm, 8 * mm * len(chart_rows) + 12 * mm)
        chart = HorizontalBarChart()
        chart.x, chart.y = 30 * mm, 6 * mm
        chart.width, chart.height = 130 * mm, 8 * mm * len(chart_rows)
        chart.data = [[float(p["coverage"]) for p in reversed(chart_rows)]]
        chart.categoryAxis.categoryNames = [p["region"].name for p in reversed(chart_rows)]
        chart.categoryAxis.labels.fontName = font
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
        chart.bars[0].fillColor = colors.HexColor("#2b6cb0")
        drawing.add(chart)
        story += [Spacer(1, 3 * mm), drawing]

    mode_rows = [["模式", "教学班", "已建", "覆盖率"]] + [
        [k, v.classes, v.built, f"{v.coverage}%"] for k, v in report.by_mode.items()
    ]
    story += [Paragraph("二、按建设模式", h), Table(mode_rows, style=TableStyle(grid))]
    if budget:
        story += [
            Paragraph("三、经费", h),
            Paragraph(
                f"总投资 {_money(budget['total'])}，已投入 {_money(budget['spent'])}，尚需 {_money(budget['remaining'])}"
                f"（{budget['remaining_classes']} 个班）。", body),
            Table([["年份", "应付款", "已落实经费", "缺口"]] + [
                [r["year"], _money(r["payments"]), _money(r["funding"]), _money(r["gap"])] for r in budget["cash_flow"]
            ], style=TableStyle(grid)),
        ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"{region.name}班班通建设简报", author="班班通平台")
    doc.build(story)
    return buffer.getvalue()
