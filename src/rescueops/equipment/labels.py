"""QR labels: each encodes the item's scan URL (pyqrcode); sheets of A4 labels as SVG or PDF.

The PDF embeds the shared TrueType CJK font (rescueops.pdf) so names and owners print in Chinese.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pyqrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from rescueops.errors import InvalidInput
from rescueops.pdf import cjk_font
from rescueops.settings import get_settings

MAX_LABELS = 500  # a sheet run for one store; larger selections are split by the user
COLUMNS, ROWS = 3, 8  # 70 × 37 mm labels, the common A4 3×8 sheet
LABEL_W, LABEL_H = 70, 37  # mm
PAGE_W, PAGE_H = 210, 297
MARGIN_X, MARGIN_Y = (PAGE_W - COLUMNS * LABEL_W) / 2, (PAGE_H - ROWS * LABEL_H) / 2
QR_SIZE = 30  # mm


@dataclass(frozen=True)
class Label:
    asset_tag: str
    name_zh: str
    owner_zh: str
    url: str


def scan_url(asset_tag: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/s/{asset_tag}"


def _modules(url: str) -> list[list[int]]:
    return [list(map(int, row)) for row in pyqrcode.create(url, error="M").code]


def check_count(count: int) -> None:
    if count == 0:
        raise InvalidInput("Choose at least one item to label.", code="no_labels")
    if count > MAX_LABELS:
        raise InvalidInput(f"{count} labels asked for: at most {MAX_LABELS} per sheet run; select fewer items.", code="too_many_labels")


def _position(index: int) -> tuple[int, float, float]:
    """(page, x, y) in mm from the top left of the page for the label at ``index``."""
    page, slot = divmod(index, COLUMNS * ROWS)
    row, column = divmod(slot, COLUMNS)
    return page, MARGIN_X + column * LABEL_W, MARGIN_Y + row * LABEL_H


def sheet_svg(labels: list[Label]) -> str:
    """All labels on A4 pages stacked vertically in one SVG (one page per 24 labels)."""
    check_count(len(labels))
    pages = (len(labels) - 1) // (COLUMNS * ROWS) + 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{PAGE_H * pages}mm" '
             f'viewBox="0 0 {PAGE_W} {PAGE_H * pages}" font-family="WenQuanYi Zen Hei, Noto Sans CJK SC, sans-serif">']
    for index, label in enumerate(labels):
        page, x, y = _position(index)
        y += page * PAGE_H
        modules = _modules(label.url)
        cell = QR_SIZE / len(modules)
        path = "".join(f"M{x + 3 + c * cell:.3f} {y + 3.5 + r * cell:.3f}h{cell:.3f}v{cell:.3f}h-{cell:.3f}z"
                       for r, row in enumerate(modules) for c, bit in enumerate(row) if bit)
        text_x = x + 3 + QR_SIZE + 2
        parts.append(f'<g class="label" data-tag="{escape(label.asset_tag)}"><rect x="{x + 0.5}" y="{y + 0.5}" width="{LABEL_W - 1}" '
                     f'height="{LABEL_H - 1}" rx="2" fill="none" stroke="#999" stroke-width="0.2"/><path d="{path}" fill="#000"/>'
                     f'<text x="{text_x}" y="{y + 10}" font-size="3.6" font-weight="700">{escape(label.name_zh[:12])}</text>'
                     f'<text x="{text_x}" y="{y + 17}" font-size="3.2">{escape(label.asset_tag)}</text>'
                     f'<text x="{text_x}" y="{y + 23}" font-size="2.8" fill="#444">{escape(label.owner_zh[:14])}</text>'
                     f'<text x="{text_x}" y="{y + 31}" font-size="2.4" fill="#c8102e">✚ 红十字应急救援</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def sheet_pdf(labels: list[Label]) -> bytes:
    check_count(len(labels))
    font = cjk_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("RescueOps labels")
    current_page = 0
    for index, label in enumerate(labels):
        page, x, y = _position(index)
        if page != current_page:
            pdf.showPage()
            current_page = page
        top = PAGE_H - y  # reportlab measures from the bottom
        modules = _modules(label.url)
        cell = QR_SIZE / len(modules)
        pdf.setStrokeColorRGB(0.6, 0.6, 0.6)
        pdf.setLineWidth(0.2)
        pdf.roundRect((x + 0.5) * mm, (top - LABEL_H + 0.5) * mm, (LABEL_W - 1) * mm, (LABEL_H - 1) * mm, 2 * mm)
        pdf.setFillColorRGB(0, 0, 0)
        for r, row in enumerate(modules):
            for c, bit in enumerate(row):
                if bit:
                    pdf.rect((x + 3 + c * cell) * mm, (top - 3.5 - (r + 1) * cell) * mm, cell * mm, cell * mm, stroke=0, fill=1)
        text_x = (x + 3 + QR_SIZE + 2) * mm
        pdf.setFont(font, 10)
        pdf.drawString(text_x, (top - 10) * mm, label.name_zh[:12])
        pdf.setFont(font, 9)
        pdf.drawString(text_x, (top - 17) * mm, label.asset_tag)
        pdf.setFont(font, 8)
        pdf.drawString(text_x, (top - 23) * mm, label.owner_zh[:14])
        pdf.setFillColorRGB(0.78, 0.06, 0.18)
        pdf.setFont(font, 7)
        pdf.drawString(text_x, (top - 31) * mm, "红十字应急救援")
    pdf.save()
    return buffer.getvalue()


def label_png(url: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    pyqrcode.create(url, error="M").png(buffer, scale=scale, quiet_zone=4)
    return buffer.getvalue()
