from __future__ import annotations

import io
import re

import pypdfium2
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader

from rescueops.equipment import labels
from tests.conftest import bearer
from tests.equipment.test_kits import register
from tests.factories import make_team


async def test_a_label_decodes_back_to_the_item_url(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await register(client, logistics, "CF-WNT-BOAT-001", "inflatable_boat")
    png = await client.get("/api/v1/equipment/items/CF-WNT-BOAT-001/label.png", headers=bearer(logistics))
    assert png.status_code == 200
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == ["http://127.0.0.1:8000/s/CF-WNT-BOAT-001"]


def test_the_svg_sheet_draws_a_decodable_code() -> None:
    # Render one label's modules the way the sheet does and decode them: the sheet's QR is the URL.
    modules = labels._modules(labels.scan_url("KIT-7"))
    scale, quiet = 6, 4
    size = (len(modules) + 2 * quiet) * scale
    image = Image.new("L", (size, size), 255)
    for r, row in enumerate(modules):
        for c, bit in enumerate(row):
            if bit:
                image.paste(0, ((c + quiet) * scale, (r + quiet) * scale, (c + quiet + 1) * scale, (r + quiet + 1) * scale))
    assert [d.text for d in zxingcpp.read_barcodes(image)] == ["http://127.0.0.1:8000/s/KIT-7"]
    svg = labels.sheet_svg([labels.Label("KIT-7", "装备箱组", "翁牛特旗红十字应急救援队", labels.scan_url("KIT-7"))])
    assert 'data-tag="KIT-7"' in svg and "装备箱组" in svg and svg.count("<path") == 1


async def test_the_pdf_sheet_prints_chinese(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    tags = [f"CF-WNT-R-{i:03d}" for i in range(30)]
    for tag in tags:
        await register(client, logistics, tag, "radio")
    pdf = await client.post("/api/v1/equipment/labels", json={"asset_tags": tags}, headers=bearer(logistics))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 2  # 24 labels a page
    text = reader.pages[0].extract_text()
    assert "对讲机" in text and "翁牛特旗红十字应急救援队" in text and "CF-WNT-R-000" in text
    svg = await client.post("/api/v1/equipment/labels", json={"asset_tags": tags[:2], "format": "svg"}, headers=bearer(logistics))
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.count('class="label"') == 2


async def test_label_requests_that_cannot_be_printed(client, make_user) -> None:
    await make_team()
    await make_team("BT-DH-01", unit="150202")
    _, logistics = await make_user("logistics", unit="150426")
    _, admin = await make_user("admin")
    await register(client, admin, "BT-1", "radio", team="BT-DH-01")
    too_many = await client.post("/api/v1/equipment/labels", json={"asset_tags": [f"T{i}" for i in range(5000)]}, headers=bearer(logistics))
    assert too_many.status_code == 422 and too_many.json()["code"] == "too_many_labels"
    hidden = await client.post("/api/v1/equipment/labels", json={"asset_tags": ["BT-1"]}, headers=bearer(logistics))
    assert hidden.status_code == 422 and "BT-1" in hidden.json()["message"]


def _draw_svg(svg: str, px_per_mm: int = 8) -> Image.Image:
    """Rasterise a label sheet the way a browser would draw it: every module square of every label's path, in black on white."""
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    image = Image.new("L", (int(width * px_per_mm), int(height * px_per_mm)), 255)
    draw = ImageDraw.Draw(image)
    for path in re.findall(r'<path d="([^"]+)"', svg):
        for x, y, size in re.findall(r"M([\d.]+) ([\d.]+)h([\d.]+)v[\d.]+h-[\d.]+z", path):
            x, y, size = float(x) * px_per_mm, float(y) * px_per_mm, float(size) * px_per_mm
            draw.rectangle((round(x), round(y), round(x + size) - 1, round(y + size) - 1), fill=0)
    return image


async def test_printed_sheets_decode_to_the_item_urls(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    tags = ["CF-WNT-KIT-R01", "CF-WNT-ROPE-001", "CF-WNT-HARNESS-002"]
    for tag, type_code in zip(tags, ("static_rope", "static_rope", "harness"), strict=True):
        await register(client, logistics, tag, type_code)
    urls = {f"http://127.0.0.1:8000/s/{tag}" for tag in tags}
    pdf = await client.post("/api/v1/equipment/labels", json={"asset_tags": tags}, headers=bearer(logistics))
    document = pypdfium2.PdfDocument(pdf.content)
    page = document[0].render(scale=300 / 72).to_pil()  # 300 dpi, as a phone camera sees a printed label
    assert {code.text for code in zxingcpp.read_barcodes(page)} == urls
    svg = await client.post("/api/v1/equipment/labels", json={"asset_tags": tags, "format": "svg"}, headers=bearer(logistics))
    assert {code.text for code in zxingcpp.read_barcodes(_draw_svg(svg.text))} == urls
    # Each code sits in its own label: the second label's square decodes to the second tag.
    sheet = _draw_svg(svg.text)
    x, y = (labels.MARGIN_X + labels.LABEL_W) * 8, labels.MARGIN_Y * 8
    second = sheet.crop((int(x), int(y), int(x + labels.LABEL_W * 8), int(y + labels.LABEL_H * 8)))
    assert [code.text for code in zxingcpp.read_barcodes(second)] == [f"http://127.0.0.1:8000/s/{tags[1]}"]
