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


async def test_register_a_kit_from_a_spreadsheet(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    template = await client.get("/api/v1/equipment/items/template.xlsx", headers=bearer(logistics))
    assert load_workbook(io.BytesIO(template.content)).active["A1"].value == "资产标签号*"
    rows = [["CF-WNT-BOAT-001", "冲锋舟（充气式）", "HB-1", "2024-05-01", "捐赠"], ["CF-WNT-MOTOR-001", "outboard_motor", "", "", "财政"],
            ["cf-wnt-r-001", "对讲机", "", "", ""]]
    checked = (await upload(client, logistics, sheet(rows))).json()
    assert checked["valid_rows"] == 3 and checked["errors"] == [] and await Item.count() == 0
    done = await upload(client, logistics, sheet(rows), commit=True)
    assert done.status_code == 200 and done.json()["committed"] == 3
    assert sorted(r["asset_tag"] for r in await Item.select(Item.asset_tag)) == ["CF-WNT-BOAT-001", "CF-WNT-MOTOR-001", "CF-WNT-R-001"]


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
