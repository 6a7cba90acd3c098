"""Printable asset labels: a sheet of QR codes (segno) with asset tag, school and classroom."""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from django.urls import reverse
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from banbantong.core.pdf import chinese_font
from banbantong.devices.models import Device
from banbantong.org.models import School

COLUMNS, ROWS = 3, 8
MARGIN_X, MARGIN_Y = 8 * mm, 12 * mm
QR_SIZE = 26 * mm


def _draw_qr(c: canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    qr = segno.make(data, error="m")
    matrix = list(qr.matrix)
    cell = size / len(matrix)
    c.setFillColorRGB(0, 0, 0)
    for row, bits in enumerate(matrix):
        for col, bit in enumerate(bits):
            if bit:
                c.rect(x + col * cell, y + size - (row + 1) * cell, cell, cell, stroke=0, fill=1)


def labels_pdf(school: School, devices: Sequence[Device], *, base_url: str) -> bytes:
    font = chinese_font()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    c.setTitle(f"{school.name} 设备标签")
    page_w, page_h = A4
    cell_w = (page_w - 2 * MARGIN_X) / COLUMNS
    cell_h = (page_h - 2 * MARGIN_Y) / ROWS
    for i, device in enumerate(devices):
        if i and i % (COLUMNS * ROWS) == 0:
            c.showPage()
        slot = i % (COLUMNS * ROWS)
        x = MARGIN_X + (slot % COLUMNS) * cell_w
        y = page_h - MARGIN_Y - (slot // COLUMNS + 1) * cell_h
        c.setStrokeColorRGB(0.7, 0.7, 0.7)
        c.rect(x + 1 * mm, y + 1 * mm, cell_w - 2 * mm, cell_h - 2 * mm, stroke=1, fill=0)
        url = base_url + reverse("devices:report", args=[device.qr_token])
        _draw_qr(c, url, x + 3 * mm, y + (cell_h - QR_SIZE) / 2, QR_SIZE)
        tx = x + QR_SIZE + 5 * mm
        c.setFont(font, 9)
        c.drawString(tx, y + cell_h - 8 * mm, school.name[:12])
        c.drawString(tx, y + cell_h - 13 * mm, f"{device.classroom or ''}"[:12])
        c.drawString(tx, y + cell_h - 18 * mm, f"{device.get_type_display()}"[:12])
        c.setFont(font, 10)
        c.drawString(tx, y + cell_h - 24 * mm, device.asset_tag)
        c.setFont(font, 7)
        c.drawString(tx, y + 4 * mm, "扫码报修 · 班班通平台")
    if not devices:
        c.setFont(font, 14)
        c.drawString(MARGIN_X, page_h - 30 * mm, f"{school.name}：没有可打印标签的设备。")
    c.save()
    return buffer.getvalue()
