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


async def test_stock_is_kept_per_storage_location(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    assert (await move(client, logistics, "receive", 30, location="队部库房")).json()["location"] == "队部库房"
    assert (await move(client, logistics, "receive", 8, location="救援车")).json()["quantity"] == 8
    assert (await move(client, logistics, "receive", 2)).json()["location"] == ""
    short = await move(client, logistics, "issue", 9, location="救援车")
    assert short.status_code == 409 and short.json()["message"] == "Not enough in stock at 救援车: 8 on hand, 9 asked for."
    body = {"type_code": "life_jacket", "source": {"team_code": "CF-WNT-01"}, "destination": {"team_code": "CF-WNT-01"},
            "source_location": "队部库房", "destination_location": "救援车", "quantity": 12, "reference": "出车前装车"}
    moved = await client.post("/api/v1/equipment/stock/transfers", json=body, headers=bearer(logistics))
    assert moved.status_code == 201 and [(b["location"], b["quantity"]) for b in moved.json()] == [("队部库房", 18), ("救援车", 20)]
    same = await client.post("/api/v1/equipment/stock/transfers", json={**body, "destination_location": " 队部库房 "}, headers=bearer(logistics))
    assert same.status_code == 422 and "destination is the source" in same.text
    balances = (await client.get("/api/v1/equipment/stock?team=CF-WNT-01", headers=bearer(logistics))).json()
    assert sorted((b["location"], b["quantity"]) for b in balances) == [("", 2), ("救援车", 20), ("队部库房", 18)]
    ledger = (await client.get("/api/v1/equipment/stock/ledger?team=CF-WNT-01", headers=bearer(logistics))).json()
    assert [(m["kind"], m["location"], m["quantity"]) for m in ledger[:2]] == [("transfer_in", "救援车", 12), ("transfer_out", "队部库房", -12)]
    assert await balance_matches_ledger()


async def test_transfers_between_locations_never_go_negative_under_concurrency(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await move(client, logistics, "receive", 10, location="A 区")
    body = {"type_code": "life_jacket", "source": {"team_code": "CF-WNT-01"}, "destination": {"team_code": "CF-WNT-01"},
            "source_location": "A 区", "destination_location": "B 区", "quantity": 1}
    results = await asyncio.gather(*[client.post("/api/v1/equipment/stock/transfers", json=body, headers=bearer(logistics)) for _ in range(14)],
                                   *[move(client, logistics, "issue", 1, location="A 区") for _ in range(6)])
    codes = [r.status_code for r in results]
    assert codes.count(201) == 10 and codes.count(409) == 10
    balances = {b["location"]: b["quantity"] for b in (await client.get("/api/v1/equipment/stock?team=CF-WNT-01", headers=bearer(logistics))).json()}
    assert balances["A 区"] == 0 and balances["B 区"] == sum(1 for r in results[:14] if r.status_code == 201)
    assert await Stock.count() == 2 and await balance_matches_ledger()


async def test_a_correction_is_an_adjusting_movement(app, client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    wrong = (await move(client, logistics, "receive", 40, reference="入库单 2025-007")).json()
    await move(client, logistics, "issue", 5)
    first = await Movement.select().order_by(Movement.id).first()
    corrected = await client.post(f"/api/v1/equipment/stock/movements/{first['id']}/correction",
                                  json={"quantity": 30, "note": "入库单实为 30 件"}, headers=bearer(logistics))
    assert corrected.status_code == 201, corrected.text
    body = corrected.json()
    assert (body["kind"], body["quantity"], body["balance_after"], body["corrects"]) == ("adjust", -10, 25, first["id"])
    assert body["reference"] == f"更正台账 #{first['id']}"
    assert await Movement.select().where(Movement.id == first["id"]).first() == first  # the wrong row stays as written
    assert wrong["quantity"] == 40 and await Movement.count() == 3
    for bad, message in (({"quantity": 30, "note": "再改"}, "already says"), ({"quantity": -3, "note": "负数"}, "positive"),
                         ({"quantity": 20}, "note")):
        refused = await client.post(f"/api/v1/equipment/stock/movements/{first['id']}/correction", json={**bad, "note": bad.get("note", "")},
                                    headers=bearer(logistics))
        assert refused.status_code == 422 and message in refused.text, refused.text
    # Taking a receipt down below what is left is refused like any other debit.
    too_far = await client.post(f"/api/v1/equipment/stock/movements/{first['id']}/correction", json={"quantity": 0, "note": "没收到"},
                                headers=bearer(logistics))
    assert too_far.status_code == 409 and too_far.json()["code"] == "insufficient_stock"
    _, baotou = await make_user("logistics", unit="150200")
    assert (await client.post(f"/api/v1/equipment/stock/movements/{first['id']}/correction", json={"quantity": 35, "note": "改正"},
                              headers=bearer(baotou))).status_code == 404
    assert await balance_matches_ledger()
    # The ledger has no way to change or remove a row: no route updates or deletes a movement.
    routes = [(route.path, method) for route in app.routes for method in getattr(route, "methods", ())
              if "stock" in route.path or "movement" in route.path or "ledger" in route.path]
    assert routes and not [r for r in routes if r[1] in ("PUT", "PATCH", "DELETE")]


async def test_register_items_and_move_stock_through_the_inventory_page(client, make_user) -> None:
    from tests.accounts.test_auth import csrf_from
    from tests.web.test_pages import sign_in

    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment?team=CF-WNT-01")
    for form in ("item-form", "kit-form", "movement-form", "stock-transfer-form", "import-form"):
        assert f'id="{form}"' in page.text, form
    token = csrf_from(page.text)
    item = {"_csrf_token": token, "team_code": "CF-WNT-01", "asset_tag": "cf-wnt-gen-01", "type_code": "generator", "serial_number": "G-77",
            "storage_location": "队部库房", "acquired_on": "2024-06-01", "cost": "6800", "funding": "donation"}
    done = await client.post("/equipment/items", data=item, follow_redirects=False)
    assert done.status_code in (302, 303) and done.headers["location"] == "/equipment?team=CF-WNT-01"
    row = await Item.select(Item.asset_tag, Item.serial_number, Item.funding, Item.storage_location).first()
    assert row == {"asset_tag": "CF-WNT-GEN-01", "serial_number": "G-77", "funding": "donation", "storage_location": "队部库房"}
    duplicate = await client.post("/equipment/items", data={**item, "serial_number": "G-78"})
    assert duplicate.status_code == 409 and "该资产标签号已用于另一件装备" in duplicate.text and 'value="G-78"' in duplicate.text
    bad_date = await client.post("/equipment/items", data={**item, "asset_tag": "CF-WNT-GEN-02", "acquired_on": "明年"})
    assert bad_date.status_code == 422 and "部分字段填写有误" in bad_date.text and await Item.count() == 1
    movement = {"_csrf_token": token, "team_code": "CF-WNT-01", "type_code": "tent_12m2", "kind": "receive", "quantity": "20",
                "location": "队部库房", "reference": "入库单 9"}
    assert (await client.post("/equipment/stock/movements", data=movement, follow_redirects=False)).status_code in (302, 303)
    short = await client.post("/equipment/stock/movements", data={**movement, "kind": "issue", "quantity": "21"})
    assert short.status_code == 409 and "库存不足，未作任何变动" in short.text and "20 on hand" in short.text
    unexplained = await client.post("/equipment/stock/movements", data={**movement, "kind": "adjust", "quantity": "-2"})
    assert unexplained.status_code == 422 and "note" in unexplained.text
    for kind, quantity in (("issue", "3"), ("consume", "1"), ("write_off", "1"), ("adjust", "-1")):
        moved = await client.post("/equipment/stock/movements", data={**movement, "kind": kind, "quantity": quantity, "note": "盘点"},
                                  follow_redirects=False)
        assert moved.status_code in (302, 303), (kind, moved.text)
    transfer = {"_csrf_token": token, "team_code": "CF-WNT-01", "type_code": "tent_12m2", "quantity": "4", "source_location": "队部库房",
                "destination_code": "", "destination_location": "救援车"}
    assert (await client.post("/equipment/stock/transfers", data=transfer, follow_redirects=False)).status_code in (302, 303)
    returned = await client.post("/equipment/stock/transfers", data={**transfer, "destination_kind": "depot", "destination_code": store,
                                                                     "destination_location": "", "quantity": "5"}, follow_redirects=False)
    assert returned.status_code in (302, 303)
    after = await client.get("/equipment?team=CF-WNT-01")
    stock = after.text[after.text.index('id="stock"'):after.text.index('id="ledger"')]
    assert "队部库房" in stock and "救援车" in stock and "5 顶" in stock and "4 顶" in stock
    balances = {(b["owner"]["code"], b["location"]): b["quantity"] for b in
                (await client.get("/api/v1/equipment/stock?team=CF-WNT-01", headers=bearer(admin))).json()
                + (await client.get(f"/api/v1/equipment/stock?depot={store}", headers=bearer(admin))).json()}
    assert balances == {("CF-WNT-01", "队部库房"): 5, ("CF-WNT-01", "救援车"): 4, (store, ""): 5}
    first = await Movement.select(Movement.id).order_by(Movement.id).first()
    fixed = await client.post(f"/equipment/stock/movements/{first['id']}/correction",
                              data={"_csrf_token": token, "team_code": "CF-WNT-01", "quantity": "21", "note": "入库单实为 21 顶"},
                              follow_redirects=False)
    assert fixed.status_code in (302, 303)
    assert (await Movement.select(Movement.kind, Movement.quantity).order_by(Movement.id, ascending=False).first()) == {"kind": "adjust",
                                                                                                                      "quantity": 1}
    assert await balance_matches_ledger()


async def test_item_search_matches_the_type_name_and_counts_what_it_lists(client, make_user) -> None:
    await make_team("CF-WNT-01", unit="150426")
    _, logistics = await make_user("logistics", unit="150400")
    for tag, type_code in (("CF-WNT-BOAT-001", "inflatable_boat"), ("CF-WNT-BOAT-002", "inflatable_boat"), ("CF-WNT-OM-001", "outboard_motor")):
        created = await client.post("/api/v1/equipment/items", json={"team_code": "CF-WNT-01", "asset_tag": tag, "type_code": type_code},
                                    headers=bearer(logistics))
        assert created.status_code == 201, created.text
    found = await client.get("/api/v1/equipment/items", params={"q": "冲锋舟", "limit": 1}, headers=bearer(logistics))
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 2 and [i["asset_tag"] for i in found.json()["items"]] == ["CF-WNT-BOAT-001"]
    by_tag = (await client.get("/api/v1/equipment/items", params={"q": "om-0"}, headers=bearer(logistics))).json()
    assert by_tag["total"] == 1 and by_tag["items"][0]["asset_tag"] == "CF-WNT-OM-001"


async def test_stock_queries_name_exactly_one_owner(client, make_user) -> None:
    _, admin = await make_user("admin")
    for path in ("/api/v1/equipment/stock", "/api/v1/equipment/stock/ledger"):
        for params in ({}, {"team": "", "depot": ""}, {"team": "CF-WNT-01", "depot": "150400-D1"}):
            response = await client.get(path, params=params, headers=bearer(admin))
            assert response.status_code == 422 and response.json()["details"][0]["field"] == "team", (path, params, response.text)
