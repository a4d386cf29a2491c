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
