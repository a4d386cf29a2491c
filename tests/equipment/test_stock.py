from __future__ import annotations

import asyncio

from rescueops.equipment.tables import Item, Movement, Stock
from rescueops.orgs.tables import OrgUnit
from tests.conftest import bearer
from tests.factories import make_team


async def balance_matches_ledger() -> bool:
    for stock in await Stock.select(Stock.id, Stock.quantity):
        moves = await Movement.select(Movement.quantity).where(Movement.stock == stock["id"])
        if stock["quantity"] != sum(m["quantity"] for m in moves) or stock["quantity"] < 0:
            return False
    return True


async def depot(client, token: str, code: str = "150400-D1", parent: str = "150400") -> str:
    response = await client.post("/api/v1/orgs/units", json={"code": code, "kind": "depot", "parent_code": parent, "name_zh": "储备库", "name_en": "Depot"},
                                 headers=bearer(token))
    assert response.status_code == 201, response.text
    return code


async def move(client, token: str, kind: str, quantity: int, team: str = "CF-WNT-01", type_code: str = "life_jacket", **extra):
    return await client.post("/api/v1/equipment/stock/movements",
                             json={"team_code": team, "type_code": type_code, "kind": kind, "quantity": quantity, **extra}, headers=bearer(token))


async def test_ledger_arithmetic(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    assert (await move(client, logistics, "receive", 40, reference="入库单 2025-001")).json()["quantity"] == 40
    assert (await move(client, logistics, "issue", 12)).json()["quantity"] == 28
    assert (await move(client, logistics, "consume", 3)).json()["quantity"] == 25
    assert (await move(client, logistics, "write_off", 5)).json()["quantity"] == 20
    assert (await move(client, logistics, "adjust", -2, note="盘点少 2 件")).json()["quantity"] == 18
    unexplained = await move(client, logistics, "adjust", 1)
    assert unexplained.status_code == 422
    too_many = await move(client, logistics, "issue", 19)
    assert too_many.status_code == 409 and too_many.json() == {"code": "insufficient_stock", "message": "Not enough in stock: 18 on hand, 19 asked for."}
    ledger = (await client.get("/api/v1/equipment/stock/ledger?team=CF-WNT-01", headers=bearer(logistics))).json()
    assert [(m["kind"], m["quantity"], m["balance_after"]) for m in reversed(ledger)] == [
        ("receive", 40, 40), ("issue", -12, 28), ("consume", -3, 25), ("write_off", -5, 20), ("adjust", -2, 18)]
    assert await balance_matches_ledger()


async def test_stock_never_goes_negative_under_concurrent_requests(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await move(client, logistics, "receive", 10)
    results = await asyncio.gather(*[move(client, logistics, "issue", 1) for _ in range(25)])
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 10 and codes.count(409) == 15
    assert (await Stock.select(Stock.quantity).first())["quantity"] == 0
    assert await balance_matches_ledger()


async def test_transfers_move_both_sides_or_nothing(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": "tent_12m2", "kind": "receive", "quantity": 30},
                      headers=bearer(admin))
    body = {"type_code": "tent_12m2", "source": {"depot_code": store}, "destination": {"team_code": "CF-WNT-01"}, "quantity": 12, "reference": "调拨单 7"}
    moved = await client.post("/api/v1/equipment/stock/transfers", json=body, headers=bearer(admin))
    assert moved.status_code == 201 and [b["quantity"] for b in moved.json()] == [18, 12]
    before = await Movement.count()
    too_much = await client.post("/api/v1/equipment/stock/transfers", json={**body, "quantity": 19}, headers=bearer(admin))
    assert too_much.status_code == 409 and await Movement.count() == before
    races = await asyncio.gather(*[client.post("/api/v1/equipment/stock/transfers", json={**body, "quantity": 5}, headers=bearer(admin)) for _ in range(6)])
    assert sorted(r.status_code for r in races).count(201) == 3  # 18 on hand: three transfers of 5 fit
    balances = {b["owner"]["code"]: b["quantity"] for b in (await client.get(f"/api/v1/equipment/stock?depot={store}", headers=bearer(admin))).json()}
    assert balances == {store: 3}
    assert await balance_matches_ledger()


async def test_items_register_and_scope(client, make_user) -> None:
    await make_team("CF-WNT-01", unit="150426")
    await make_team("BT-DH-01", unit="150202")
    _, chifeng_logistics = await make_user("logistics", unit="150400")
    item = {"team_code": "CF-WNT-01", "asset_tag": "CF-WNT-BOAT-001", "type_code": "inflatable_boat", "serial_number": "HB-2024-77",
            "acquired_on": "2024-05-01", "cost": "38000.00", "funding": "donation"}
    created = await client.post("/api/v1/equipment/items", json=item, headers=bearer(chifeng_logistics))
    assert created.status_code == 201 and created.json()["owner"]["code"] == "CF-WNT-01" and created.json()["status"] == "in_service"
    duplicate = await client.post("/api/v1/equipment/items", json=item, headers=bearer(chifeng_logistics))
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_asset_tag"
    stock_type = await client.post("/api/v1/equipment/items", json={**item, "asset_tag": "X-1", "type_code": "life_jacket"}, headers=bearer(chifeng_logistics))
    assert stock_type.status_code == 422 and "counted as stock" in stock_type.text
    elsewhere = await client.post("/api/v1/equipment/items", json={**item, "asset_tag": "BT-DH-BOAT-001", "team_code": "BT-DH-01"},
                                  headers=bearer(chifeng_logistics))
    assert elsewhere.status_code == 404  # another league's team: not even visible
    assert (await move(client, chifeng_logistics, "receive", 5, team="BT-DH-01")).status_code == 404
    listed = (await client.get("/api/v1/equipment/items?under=150400", headers=bearer(chifeng_logistics))).json()
    assert [i["asset_tag"] for i in listed["items"]] == ["CF-WNT-BOAT-001"]
    _, baotou_logistics = await make_user("logistics", unit="150200")
    assert (await client.get("/api/v1/equipment/items/CF-WNT-BOAT-001", headers=bearer(baotou_logistics))).status_code == 404
    assert await Item.count() == 1 and await OrgUnit.count().where(OrgUnit.kind == "depot") == 0


async def test_shelf_life_sets_expiry(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    kit = await client.post("/api/v1/equipment/items", json={"team_code": "CF-WNT-01", "asset_tag": "CF-WNT-TK-001", "type_code": "trauma_kit",
                                                             "acquired_on": "2022-02-28"}, headers=bearer(logistics))
    assert kit.json()["expires_on"] == "2025-02-28" and kit.json()["expired"] is True
