"""Reserve depots serve every region: every hub sees their stock and pre-positioned equipment, only their keepers change them."""

from __future__ import annotations

from tests.conftest import bearer
from tests.equipment.test_stock import depot
from tests.factories import make_team
from tests.web.test_pages import sign_in


async def _stocked_depots(client, admin: str) -> None:
    await depot(client, admin, code="150600-D1", parent="150600")  # Ordos: the west
    await depot(client, admin, code="150000-D1", parent="150000")  # the region's own depot
    for store, type_code, quantity in (("150600-D1", "tent_12m2", 40), ("150600-D1", "blanket", 300), ("150000-D1", "blanket", 1000)):
        response = await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": type_code, "kind": "receive",
                                                                                 "quantity": quantity}, headers=bearer(admin))
        assert response.status_code == 201, response.text
    for tag in ("D-GEN-1", "D-GEN-2", "D-GEN-3"):
        response = await client.post("/api/v1/equipment/items", json={"depot_code": "150600-D1", "asset_tag": tag, "type_code": "generator"},
                                     headers=bearer(admin))
        assert response.status_code == 201, response.text
    out = await client.post("/api/v1/equipment/items/D-GEN-3/repairs", json={"description": "启动电机故障"}, headers=bearer(admin))
    assert out.status_code == 201, out.text


async def test_every_hub_sees_every_depot(client, make_user) -> None:
    _, admin = await make_user("admin")
    await _stocked_depots(client, admin)
    _, east = await make_user("hub_coordinator", hub="east")
    depots = await client.get("/api/v1/equipment/depots", headers=bearer(east))
    assert depots.status_code == 200, depots.text
    by_code = {d["code"]: d for d in depots.json()}
    assert set(by_code) == {"150600-D1", "150000-D1"}
    ordos = by_code["150600-D1"]
    assert (ordos["region"], ordos["parent"]["code"]) == ("west", "150600")
    assert {b["type_code"]: b["quantity"] for b in ordos["stock"]} == {"tent_12m2": 40, "blanket": 300}
    assert [(e["type_code"], e["in_service"], e["total"]) for e in ordos["equipment"]] == [("generator", 2, 3)]
    assert by_code["150000-D1"]["region"] == "all" and by_code["150000-D1"]["equipment"] == []
    # The east hub reads the western depot's stock and items, but cannot move them.
    stock = await client.get("/api/v1/equipment/stock?depot=150600-D1", headers=bearer(east))
    assert stock.status_code == 200 and len(stock.json()) == 2
    items = await client.get("/api/v1/equipment/items?depot=150600-D1", headers=bearer(east))
    assert items.status_code == 200 and items.json()["total"] == 3
    assert (await client.get("/api/v1/equipment/items/D-GEN-1", headers=bearer(east))).status_code == 200
    issue = await client.post("/api/v1/equipment/stock/movements", json={"depot_code": "150600-D1", "type_code": "blanket", "kind": "issue",
                                                                         "quantity": 1}, headers=bearer(east))
    assert issue.status_code == 403
    checkout = await client.post("/api/v1/equipment/items/D-GEN-1/check-out", json={"kind": "drill", "reference": "演练"}, headers=bearer(east))
    assert checkout.status_code in (403, 404)


async def test_team_equipment_stays_within_scope(client, make_user) -> None:
    await make_team("BT-DH-01", unit="150202")  # Baotou
    _, admin = await make_user("admin")
    await client.post("/api/v1/equipment/items", json={"team_code": "BT-DH-01", "asset_tag": "BT-R-1", "type_code": "radio"}, headers=bearer(admin))
    _, northeast = await make_user("hub_coordinator", hub="northeast")
    assert (await client.get("/api/v1/equipment/items/BT-R-1", headers=bearer(northeast))).status_code == 404
    assert (await client.get("/api/v1/equipment/stock?team=BT-DH-01", headers=bearer(northeast))).status_code == 404
    everything = await client.get("/api/v1/equipment/items", headers=bearer(northeast))
    assert everything.json()["total"] == 0
    _, nobody = await make_user(None)
    assert (await client.get("/api/v1/equipment/depots", headers=bearer(nobody))).status_code == 403


async def test_depot_page(client, make_user) -> None:
    _, admin = await make_user("admin")
    await _stocked_depots(client, admin)
    await sign_in(client, make_user, "hub_coordinator", hub="central")
    page = await client.get("/equipment/depots")
    assert page.status_code == 200
    assert "物资储备库" in page.text and "前置储备装备" in page.text and 'id="depot-150600-D1"' in page.text
    assert "西部" in page.text and "全区" in page.text  # the Ordos depot lies in the west; the region's own serves all
    inventory = await client.get("/equipment?depot=150600-D1")
    assert inventory.status_code == 200 and "D-GEN-1" in inventory.text
