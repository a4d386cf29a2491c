from __future__ import annotations

from rescueops.equipment.tables import Item, Movement, TransferRequest
from tests.conftest import bearer
from tests.equipment.test_stock import balance_matches_ledger, depot
from tests.factories import make_team


async def test_request_approve_dispatch_receive(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": "tent_12m2", "kind": "receive", "quantity": 20},
                      headers=bearer(admin))
    await client.post("/api/v1/equipment/items", json={"depot_code": store, "asset_tag": "D-GEN-1", "type_code": "generator"}, headers=bearer(admin))
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, depot_keeper = await make_user("logistics", unit=store)
    asked = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"depot_code": store}, "destination": {"team_code": "CF-WNT-01"},
        "stock_lines": [{"type": "tent_12m2", "quantity": 8}], "asset_tags": ["D-GEN-1"], "reason": "白灾转移安置牧民"}, headers=bearer(captain))
    assert asked.status_code == 201, asked.text
    tid = asked.json()["id"]
    own_approval = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "approve"}, headers=bearer(captain))
    assert own_approval.status_code in (403, 404)  # the source decides
    early = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "receive"}, headers=bearer(captain))
    assert early.status_code == 409
    for action, token, status in (("approve", depot_keeper, "approved"), ("dispatch", depot_keeper, "dispatched"), ("receive", captain, "received")):
        step = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": action}, headers=bearer(token))
        assert step.status_code == 200 and step.json()["status"] == status, step.text
        if action == "dispatch":
            assert (await Item.select(Item.status).where(Item.asset_tag == "D-GEN-1").first())["status"] == "in_transit"
    done = step.json()
    assert [h["status"] for h in done["history"]] == ["requested", "approved", "dispatched", "received"]
    team_stock = {b["type_code"]: b["quantity"] for b in (await client.get("/api/v1/equipment/stock?team=CF-WNT-01", headers=bearer(captain))).json()}
    assert team_stock == {"tent_12m2": 8}
    generator = await Item.select(Item.status, Item.team.code.as_alias("team")).where(Item.asset_tag == "D-GEN-1").first()
    assert generator == {"status": "in_service", "team": "CF-WNT-01"}
    assert await balance_matches_ledger()


async def test_a_dispatch_beyond_the_stock_moves_nothing(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": "blanket", "kind": "receive", "quantity": 5},
                      headers=bearer(admin))
    _, captain = await make_user("captain", team="CF-WNT-01")
    tid = (await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"depot_code": store}, "destination": {"team_code": "CF-WNT-01"},
        "stock_lines": [{"type": "blanket", "quantity": 9}], "reason": "安置点棉被"}, headers=bearer(captain))).json()["id"]
    await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "approve"}, headers=bearer(admin))
    before = await Movement.count()
    dispatched = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "dispatch"}, headers=bearer(admin))
    assert dispatched.status_code == 409 and dispatched.json()["code"] == "insufficient_stock"
    assert await Movement.count() == before and (await TransferRequest.select(TransferRequest.status).first())["status"] == "approved"
    rejected = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "reject"}, headers=bearer(admin))
    assert rejected.status_code == 409  # only a requested transfer can be rejected


async def test_a_depot_asks_a_team_to_send_back_and_another_depot(client, make_user) -> None:
    from rescueops.equipment.tables import OwnerChange

    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)  # Chifeng's depot
    west = await depot(client, admin, code="150600-D1", parent="150600")  # Ordos
    await client.post("/api/v1/equipment/stock/movements", json={"team_code": "CF-WNT-01", "type_code": "tent_12m2", "kind": "receive",
                                                                 "quantity": 10}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items", json={"team_code": "CF-WNT-01", "asset_tag": "CF-GEN-1", "type_code": "generator"},
                      headers=bearer(admin))
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": west, "type_code": "blanket", "kind": "receive", "quantity": 50,
                                                                 "location": "2 号库"}, headers=bearer(admin))
    _, keeper = await make_user("logistics", unit=store)
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, west_keeper = await make_user("logistics", unit=west)
    # Team → depot: the team sends back what it was lent; the depot approves taking it back, the team dispatches, the depot receives.
    back = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"team_code": "CF-WNT-01"}, "destination": {"depot_code": store}, "stock_lines": [{"type": "tent_12m2", "quantity": 6}],
        "asset_tags": ["CF-GEN-1"], "reason": "汛期结束，归还储备库"}, headers=bearer(captain))
    assert back.status_code == 201 and back.json()["raised_by"] == "source", back.text
    tid = back.json()["id"]
    own = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "approve"}, headers=bearer(captain))
    assert own.status_code == 403  # the side that raised it does not approve it
    for action, token, extra in (("approve", keeper, {}), ("dispatch", captain, {}), ("receive", keeper, {"location": "A 区"})):
        step = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": action, **extra}, headers=bearer(token))
        assert step.status_code == 200, step.text
    # A depot keeper who cannot see the team cannot ask it for anything; the league's logistics staff can.
    hidden = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"team_code": "CF-WNT-01"}, "destination": {"depot_code": store}, "stock_lines": [{"type": "tent_12m2", "quantity": 1}],
        "reason": "请归还"}, headers=bearer(keeper))
    assert hidden.status_code == 404
    _, league_logistics = await make_user("logistics", unit="150400")
    asked_back = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"team_code": "CF-WNT-01"}, "destination": {"depot_code": store}, "stock_lines": [{"type": "tent_12m2", "quantity": 1}],
        "reason": "请归还"}, headers=bearer(league_logistics))
    assert asked_back.status_code == 201 and asked_back.json()["raised_by"] == "destination"
    await client.post(f"/api/v1/equipment/transfer-requests/{asked_back.json()['id']}/steps", json={"action": "reject", "note": "还要用"},
                      headers=bearer(captain))
    depot_stock = (await client.get(f"/api/v1/equipment/stock?depot={store}", headers=bearer(keeper))).json()
    assert [(b["type_code"], b["location"], b["quantity"]) for b in depot_stock] == [("tent_12m2", "A 区", 6)]
    generator = (await client.get("/api/v1/equipment/items/CF-GEN-1", headers=bearer(keeper))).json()
    assert generator["owner"] == {"kind": "depot", "code": store, "name_zh": "储备库"} and generator["storage_location"] == "A 区"
    assert await OwnerChange.count() == 1
    # Depot → depot: Chifeng's depot asks the western one; the western keeper sends from its 2 号库.
    asked = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"depot_code": west}, "destination": {"depot_code": store}, "stock_lines": [{"type": "blanket", "quantity": 20}],
        "reason": "东部白灾储备"}, headers=bearer(keeper))
    assert asked.status_code == 201, asked.text
    did = asked.json()["id"]
    await client.post(f"/api/v1/equipment/transfer-requests/{did}/steps", json={"action": "approve"}, headers=bearer(west_keeper))
    empty_shelf = await client.post(f"/api/v1/equipment/transfer-requests/{did}/steps", json={"action": "dispatch"}, headers=bearer(west_keeper))
    assert empty_shelf.status_code == 409  # nothing at the default location: the keeper names where it leaves from
    sent = await client.post(f"/api/v1/equipment/transfer-requests/{did}/steps", json={"action": "dispatch", "location": "2 号库"},
                             headers=bearer(west_keeper))
    assert sent.status_code == 200, sent.text
    got = await client.post(f"/api/v1/equipment/transfer-requests/{did}/steps", json={"action": "receive"}, headers=bearer(keeper))
    assert got.status_code == 200 and got.json()["status"] == "received"
    west_stock = {b["location"]: b["quantity"] for b in (await client.get(f"/api/v1/equipment/stock?depot={west}", headers=bearer(admin))).json()}
    assert west_stock == {"2 号库": 30}
    assert {(b["type_code"], b["location"]): b["quantity"] for b in (await client.get(f"/api/v1/equipment/stock?depot={store}",
                                                                                      headers=bearer(admin))).json()} == {
        ("tent_12m2", "A 区"): 6, ("blanket", ""): 20}
    assert await balance_matches_ledger()


async def test_team_to_depot_and_depot_to_depot_on_the_transfers_page(client, make_user) -> None:
    from tests.accounts.test_auth import csrf_from
    from tests.web.test_pages import sign_in

    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    west = await depot(client, admin, code="150600-D1", parent="150600")
    await client.post("/api/v1/equipment/stock/movements", json={"team_code": "CF-WNT-01", "type_code": "blanket", "kind": "receive",
                                                                 "quantity": 10}, headers=bearer(admin))
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": west, "type_code": "blanket", "kind": "receive", "quantity": 10},
                      headers=bearer(admin))
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/equipment/transfers")
    assert 'name="source_kind"' in page.text and 'name="destination_kind"' in page.text
    form = {"_csrf_token": csrf_from(page.text), "source_kind": "team", "source_code": "CF-WNT-01", "destination_kind": "depot",
            "destination_code": store, "type_code": "blanket", "quantity": "3", "reason": "归还"}
    assert (await client.post("/equipment/transfers", data=form, follow_redirects=False)).status_code in (302, 303)
    client.cookies.clear()
    await sign_in(client, make_user, "logistics", unit=store)
    page = await client.get("/equipment/transfers")
    token = csrf_from(page.text)
    team_id = (await TransferRequest.select(TransferRequest.id).first())["id"]
    assert f'action="/equipment/transfers/{team_id}"' in page.text  # the depot approves taking the blankets back
    approved = await client.post(f"/equipment/transfers/{team_id}", data={"_csrf_token": token, "action": "approve"}, follow_redirects=False)
    assert approved.status_code in (302, 303)
    form = {**form, "_csrf_token": token, "source_kind": "depot", "source_code": west, "quantity": "4", "reason": "跨区调运"}
    assert (await client.post("/equipment/transfers", data=form, follow_redirects=False)).status_code in (302, 303)
    unknown = await client.post("/equipment/transfers", data={**form, "source_code": "NOPE"})
    assert unknown.status_code == 422 and "not a reserve depot" in unknown.text and 'value="NOPE"' in unknown.text
    rows = await TransferRequest.select(TransferRequest.source_team.code.as_alias("team"), TransferRequest.source_depot.code.as_alias("depot"),
                                        TransferRequest.destination_depot.code.as_alias("to")).order_by(TransferRequest.id)
    assert rows == [{"team": "CF-WNT-01", "depot": None, "to": store}, {"team": None, "depot": west, "to": store}]
    client.cookies.clear()
    await sign_in(client, make_user, "logistics", unit=west)
    keeper = await client.get("/equipment/transfers")
    west_id = (await TransferRequest.select(TransferRequest.id).where(TransferRequest.source_depot.is_not_null()).first())["id"]
    assert f'action="/equipment/transfers/{west_id}"' in keeper.text and f'action="/equipment/transfers/{team_id}"' not in keeper.text
    for action in ("approve", "dispatch"):
        step = await client.post(f"/equipment/transfers/{west_id}", data={"_csrf_token": csrf_from(keeper.text), "action": action},
                                 follow_redirects=False)
        assert step.status_code in (302, 303)
    client.cookies.clear()
    await sign_in(client, make_user, "logistics", unit=store)
    token = csrf_from((await client.get("/equipment/transfers")).text)
    receive = await client.post(f"/equipment/transfers/{west_id}", data={"_csrf_token": token, "action": "receive", "location": "B 区"},
                                follow_redirects=False)
    assert receive.status_code in (302, 303)
    stock = (await client.get(f"/api/v1/equipment/stock?depot={store}", headers=bearer(admin))).json()
    assert [(b["location"], b["quantity"]) for b in stock] == [("B 区", 4)]
