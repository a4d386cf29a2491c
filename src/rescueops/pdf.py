"""What every PDF the system makes shares: the embedded CJK font (label sheets, after-action reports)."""

from __future__ import annotations

from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

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
