"""The member card: a QR code (pyqrcode) holding only a signed token URL, and a printable SVG card."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import pyqrcode

CARD_WIDTH, CARD_HEIGHT = 540, 340  # credit-card proportions (85.6 × 54 mm)


def qr_svg(url: str, scale: int = 4) -> str:
    buffer = io.BytesIO()
    pyqrcode.create(url, error="M").svg(buffer, scale=scale, xmldecl=False, svgns=True, title="QR", omithw=False)
    return buffer.getvalue().decode()


def qr_png(url: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    pyqrcode.create(url, error="M").png(buffer, scale=scale, quiet_zone=4)
    return buffer.getvalue()


def card_svg(url: str, name: str, team: str, role: str) -> str:
    """A printable card: the Red Cross header, name, team and role, and the QR code."""
    code = pyqrcode.create(url, error="M")
    modules = code.get_png_size(1)  # modules across, quiet zone included
    size = 200
    scale = size / modules
    buffer = io.BytesIO()
    code.svg(buffer, scale=scale, xmldecl=False, svgns=True, omithw=False, quiet_zone=4)
    qr = buffer.getvalue().decode().replace("<svg ", f'<svg x="{CARD_WIDTH - size - 24}" y="{(CARD_HEIGHT - size) // 2 + 16}" ', 1)
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{CARD_WIDTH}" height="{CARD_HEIGHT}" viewBox="0 0 {CARD_WIDTH} {CARD_HEIGHT}" font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">
  <rect x="1" y="1" width="{CARD_WIDTH - 2}" height="{CARD_HEIGHT - 2}" rx="18" fill="#fff" stroke="#c8102e" stroke-width="2"/>
  <rect x="1" y="1" width="{CARD_WIDTH - 2}" height="64" rx="18" fill="#c8102e"/>
  <rect x="1" y="40" width="{CARD_WIDTH - 2}" height="25" fill="#c8102e"/>
  <path d="M30 18h10v10h10v10H40v10H30V38H20V28h10z" fill="#fff"/>
  <text x="64" y="44" font-size="24" font-weight="700" fill="#fff">红十字应急救援队 队员卡</text>
  <text x="30" y="130" font-size="34" font-weight="700" fill="#1f2328">{escape(name)}</text>
  <text x="30" y="175" font-size="20" fill="#1f2328">{escape(team)}</text>
  <text x="30" y="210" font-size="18" fill="#5b6570">{escape(role)}</text>
  <text x="30" y="{CARD_HEIGHT - 30}" font-size="13" fill="#5b6570">扫码核验 · 卡内不含个人信息</text>
  {qr}
</svg>"""
