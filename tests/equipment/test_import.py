from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from rescueops.equipment.tables import Item
from tests.conftest import bearer
from tests.factories import make_team

HEADERS = ["资产标签号*", "装备类型*", "序列号", "购置日期", "资金来源"]


def sheet(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.append(HEADERS)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(client, token: str, content: bytes, commit: bool = False):
    return await client.post(f"/api/v1/equipment/items/import?team=CF-WNT-01&commit={str(commit).lower()}",
                             files={"file": ("kit.xlsx", content)}, headers=bearer(token))


KIT_HEADERS = ["资产标签号*", "装备类型*", "序列号", "存放位置", "套装模板", "所属套装"]


def kit_sheet(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.append(KIT_HEADERS)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_items_from_a_spreadsheet(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    template = await client.get("/api/v1/equipment/items/template.xlsx", headers=bearer(logistics))
    headers = [c.value for c in load_workbook(io.BytesIO(template.content)).active[1]]
    assert headers[0] == "资产标签号*" and "套装模板" in headers and "所属套装" in headers
    rows = [["CF-WNT-BOAT-001", "冲锋舟（充气式）", "HB-1", "2024-05-01", "捐赠"], ["CF-WNT-MOTOR-001", "outboard_motor", "", "", "财政"],
            ["cf-wnt-r-001", "对讲机", "", "", ""]]
    checked = (await upload(client, logistics, sheet(rows))).json()
    assert checked["valid_rows"] == 3 and checked["errors"] == [] and await Item.count() == 0
    done = await upload(client, logistics, sheet(rows), commit=True)
    assert done.status_code == 200 and done.json()["committed"] == 3
    assert sorted(r["asset_tag"] for r in await Item.select(Item.asset_tag)) == ["CF-WNT-BOAT-001", "CF-WNT-MOTOR-001", "CF-WNT-R-001"]


async def test_register_a_kit_from_a_spreadsheet(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    rows = [["CF-WNT-KIT-WR1", "", "", "船库", "水上救援舟艇组", ""],
            ["CF-WNT-BOAT-001", "冲锋舟（充气式）", "HB-1", "船库", "", "CF-WNT-KIT-WR1"],
            ["CF-WNT-MOTOR-001", "outboard_motor", "", "船库", "", "cf-wnt-kit-wr1"],
            ["CF-WNT-SUIT-001", "干式救生服", "", "", "", "CF-WNT-KIT-WR1"],
            ["CF-WNT-SUIT-002", "干式救生服", "", "", "", "CF-WNT-KIT-WR1"],
            ["CF-WNT-R-001", "对讲机", "", "", "", "CF-WNT-KIT-WR1"],
            ["CF-WNT-R-002", "对讲机", "", "", "", ""]]  # a spare radio, not in the kit
    checked = (await upload(client, logistics, kit_sheet(rows))).json()
    assert checked["errors"] == [] and checked["valid_rows"] == 7 and await Item.count() == 0
    done = await upload(client, logistics, kit_sheet(rows), commit=True)
    assert done.status_code == 200 and done.json()["committed"] == 7
    kit = (await client.get("/api/v1/equipment/kits/CF-WNT-KIT-WR1", headers=bearer(logistics))).json()
    assert kit["template_code"] == "water_rescue_boat_kit" and kit["ready"] is False
    assert {line["type_code"]: line["problems"] for line in kit["lines"]}["radio"] == ["1 missing"]
    assert sorted(kit["contents"]) == ["CF-WNT-BOAT-001", "CF-WNT-MOTOR-001", "CF-WNT-R-001", "CF-WNT-SUIT-001", "CF-WNT-SUIT-002"]
    # A second file packs the spare radio into the kit registered by the first: the kit is ready.
    more = await upload(client, logistics, kit_sheet([["CF-WNT-R-003", "对讲机", "", "", "", "CF-WNT-KIT-WR1"]]), commit=True)
    assert more.status_code == 200, more.text
    kit = (await client.get("/api/v1/equipment/kits/CF-WNT-KIT-WR1", headers=bearer(logistics))).json()
    assert kit["ready"] is True and "CF-WNT-R-003" in kit["contents"]
    team_kits = (await client.get("/api/v1/equipment/teams/CF-WNT-01/kits", headers=bearer(logistics))).json()
    assert [(k["asset_tag"], k["ready"]) for k in team_kits] == [("CF-WNT-KIT-WR1", True)]


async def test_kit_rows_that_cannot_be_registered(client, make_user) -> None:
    await make_team()
    await make_team("CF-HS-01", unit="150402")
    _, logistics = await make_user("logistics", unit="150400")
    other = await client.post("/api/v1/equipment/kits", json={"team_code": "CF-HS-01", "asset_tag": "HS-KIT-1", "template_code": "rope_rescue_kit"},
                              headers=bearer(logistics))
    assert other.status_code == 201
    rows = [["KIT-A", "", "", "", "没有这个模板", ""],  # 2: unknown template
            ["KIT-B", "对讲机", "", "", "绳索救援组", ""],  # 3: a kit row of another type
            ["KIT-C", "", "", "", "rope_rescue_kit", "KIT-D"],  # 4: a kit inside a kit
            ["R-1", "对讲机", "", "", "", "KIT-NONE"],  # 5: no such kit
            ["R-2", "对讲机", "", "", "", "HS-KIT-1"],  # 6: another team's kit
            ["KIT-E", "装备箱组", "", "", "", ""],  # 7: a kit without its template
            ["R-3", "对讲机", "", "", "", "KIT-C"]]  # 8: fine: KIT-C is declared (its own row is wrong)
    report = (await upload(client, logistics, kit_sheet(rows))).json()
    assert {(e["row"], e["column"]) for e in report["errors"]} == {
        (2, "套装模板"), (3, "装备类型"), (4, "所属套装"), (5, "所属套装"), (6, "所属套装"), (7, "套装模板")}
    before = await Item.count()
    refused = await upload(client, logistics, kit_sheet(rows), commit=True)
    assert refused.status_code == 422 and refused.json()["code"] == "import_has_errors" and await Item.count() == before


async def test_a_bad_row_registers_nothing(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    rows = [["CF-1", "冲锋舟（充气式）", "", "2024-05-01", "捐赠"], ["CF-1", "对讲机", "", "", ""], ["CF-3", "救生衣", "", "", ""],
            ["CF-4", "对讲机", "", "2024-02-30", "借的"]]
    report = (await upload(client, logistics, sheet(rows))).json()
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(3, "资产标签号"), (4, "装备类型"), (5, "购置日期"), (5, "资金来源")}
    refused = await upload(client, logistics, sheet(rows), commit=True)
    assert refused.status_code == 422 and await Item.count() == 0
    not_a_workbook = await upload(client, logistics, b"x,y\n1,2\n")
    assert not_a_workbook.status_code == 422 and "not a readable .xlsx" in not_a_workbook.json()["message"]
