"""What every PDF the system makes shares: the embedded CJK font (label sheets, reports), and the building blocks of the
A4 reports (styles, paragraphs, tables, the page footer)."""

from __future__ import annotations

import io
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from rescueops.errors import InvalidInput
from rescueops.settings import get_settings

FONT = "RescueOpsCJK"


@cache
def cjk_font() -> str:
    """Register settings.cjk_font with reportlab (once per process) and return its font name.

    The font is embedded as TrueType so Chinese prints on any reader and stays extractable as text.
    """
    path = get_settings().cjk_font
    if not path.exists():
        raise InvalidInput(
            f"No Chinese font for PDFs at {path}: install fonts-wqy-zenhei or set RESCUEOPS_CJK_FONT; "
            "SVG labels and Markdown reports work without it.",
            code="no_cjk_font",
        )
    pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    return FONT


# --- building blocks of the A4 reports (after-action reports, deployment reports) ---------------------------

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
RED = colors.HexColor("#c8102e")  # the Red Cross red of the labels and the web pages


def report_styles(font: str) -> dict[str, ParagraphStyle]:
    # wordWrap="CJK" lets lines break between any two Chinese characters, which have no spaces to break at.
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=24, alignment=1, textColor=RED),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=13, leading=18, alignment=1, spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", parent=body, fontSize=13, leading=18, spaceBefore=5 * mm, spaceAfter=2 * mm,
                                  keepWithNext=1),
        "body": body,
        # The font has no "•"; "·" marks the items, hanging so wrapped lines stay clear of it.
        "item": ParagraphStyle("item", parent=body, leftIndent=5 * mm, bulletIndent=1 * mm, bulletFontName=font),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=12),
        "note": ParagraphStyle("note", parent=body, fontSize=8, leading=11, textColor=colors.grey, spaceBefore=6 * mm),
    }


def para(text: str, style: ParagraphStyle, bullet: str | None = None) -> Paragraph:
    # Paragraph text is reportlab's mini-markup: escape it, and keep the writer's line breaks.
    return Paragraph(escape(text).replace("\n", "<br/>"), style, bulletText=bullet)


def bullets(texts: list[str], styles: dict[str, ParagraphStyle], empty: str = "无") -> list[Paragraph]:
    return [para(text.strip(), styles["item"], "·") for text in texts] or [para(empty, styles["body"])]


def table(header: list[str], rows: list[list[str]], widths: list[float], styles: dict[str, ParagraphStyle],
          empty: str = "无") -> Table | Paragraph:
    """A table filling the page width in the proportions of ``widths``; cells wrap inside their column."""
    if not rows:
        return para(empty, styles["body"])
    scale = WIDTH / sum(widths)
    data = [[para(text, styles["cell"]) for text in row] for row in [header, *rows]]
    found = Table(data, colWidths=[width * scale for width in widths], repeatRows=1)
    found.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return found


def build(story: list, *, title: str, footer: str) -> bytes:
    """The A4 document, with ``footer`` and the page number at the foot of every page."""
    font = cjk_font()

    def draw(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{footer} · 第 {document.page} 页")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                                 title=title, author="RescueOps")
    document.build(story, onFirstPage=draw, onLaterPages=draw)
    return buffer.getvalue()
