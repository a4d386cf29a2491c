from __future__ import annotations

import asyncio
from datetime import date, timedelta

from rescueops.calendar import china_today
from rescueops.equipment.tables import Checkout, Item
from tests.conftest import bearer
from tests.factories import make_team


async def boat(client, token: str, tag: str = "CF-WNT-BOAT-001", team: str = "CF-WNT-01") -> None:
    response = await client.post("/api/v1/equipment/items", json={"team_code": team, "asset_tag": tag, "type_code": "inflatable_boat"},
                                 headers=bearer(token))
    assert response.status_code == 201, response.text


async def test_check_out_state_machine(client, make_user) -> None:
    team = await make_team(members=2)
    await make_team("CF-HS-01", unit="150402")
    _, logistics = await make_user("logistics", unit="150400")
    await boat(client, logistics)
    due = (china_today() + timedelta(days=3)).isoformat()
    out = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out",
                            json={"kind": "member", "person_id": team["people"][0], "due_back": due}, headers=bearer(logistics))
    assert out.status_code == 201 and out.json()["person_name"] and out.json()["overdue"] is False
    again = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out",
                              json={"kind": "drill", "reference": "2025 防汛演练"}, headers=bearer(logistics))
    assert again.status_code == 409 and again.json()["code"] == "item_unavailable"
    back = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-in", json={"condition": "damaged"}, headers=bearer(logistics))
    assert back.status_code == 422  # a damaged return needs a note
    back = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-in", json={"condition": "damaged", "note": "船底划破"},
                             headers=bearer(logistics))
    assert back.status_code == 200 and back.json()["condition"] == "damaged"
    assert (await Item.select(Item.status).first())["status"] == "in_maintenance"
    not_out = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-in", json={}, headers=bearer(logistics))
    assert not_out.status_code == 409 and not_out.json()["code"] == "not_checked_out"
    in_repair = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out",
                                  json={"kind": "loan", "borrower_team_code": "CF-HS-01"}, headers=bearer(logistics))
    assert in_repair.status_code == 409
    await Item.update({Item.status: "in_service"}).where(Item.asset_tag == "CF-WNT-BOAT-001")
    lent = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out", json={"kind": "loan", "borrower_team_code": "CF-HS-01"},
                             headers=bearer(logistics))
    assert lent.status_code == 201 and (await Item.select(Item.status).first())["status"] == "lent"
    history = (await client.get("/api/v1/equipment/items/CF-WNT-BOAT-001/history", headers=bearer(logistics))).json()
    assert [h["kind"] for h in history] == ["loan", "member"]


async def test_bad_check_outs(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await boat(client, logistics)
    cases = [({"kind": "member"}, "person_id"), ({"kind": "loan"}, "borrower_team_code"), ({"kind": "drill"}, "reference"),
             ({"kind": "loan", "borrower_team_code": "CF-WNT-01"}, "already belongs"),
             ({"kind": "drill", "reference": "x", "due_back": "2020-01-01"}, "due_back"), ({"kind": "member", "person_id": 99999}, "No member")]
    for body, message in cases:
        response = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out", json=body, headers=bearer(logistics))
        assert response.status_code in (404, 422) and message in response.text, (body, response.text)
    assert await Checkout.count() == 0 and (await Item.select(Item.status).first())["status"] == "in_service"


async def test_two_scans_at_once_check_out_once(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await boat(client, logistics)
    results = await asyncio.gather(*[
        client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out", json={"kind": "deployment", "reference": f"任务{i}"}, headers=bearer(logistics))
        for i in range(4)
    ])
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    assert await Checkout.count() == 1


async def test_overdue_list_is_scoped(client, make_user) -> None:
    await make_team("CF-WNT-01", unit="150426")
    await make_team("BT-DH-01", unit="150202")
    _, admin = await make_user("admin")
    for tag, team in (("CF-1", "CF-WNT-01"), ("BT-1", "BT-DH-01")):
        await boat(client, admin, tag, team)
        await client.post(f"/api/v1/equipment/items/{tag}/check-out", json={"kind": "drill", "reference": "演练",
                          "due_back": china_today().isoformat()}, headers=bearer(admin))
    await Checkout.update({Checkout.due_back: china_today() - timedelta(days=2)}).where(Checkout.id > 0)
    _, chifeng = await make_user("logistics", unit="150400")
    late = (await client.get("/api/v1/equipment/overdue", headers=bearer(chifeng))).json()
    assert [c["asset_tag"] for c in late] == ["CF-1"] and late[0]["overdue"] is True
    assert len((await client.get("/api/v1/equipment/overdue", headers=bearer(admin))).json()) == 2


async def test_lend_to_another_team_from_the_item_page(client, make_user) -> None:
    from tests.accounts.test_auth import csrf_from
    from tests.web.test_pages import sign_in

    await make_team()
    await make_team("CF-HS-01", unit="150402")
    _, admin = await make_user("admin")
    await boat(client, admin)
    await sign_in(client, make_user, "logistics", unit="150400")
    page = await client.get("/equipment/items/CF-WNT-BOAT-001")
    assert 'value="loan"' in page.text and 'name="borrower_team_code"' in page.text
    token = csrf_from(page.text)
    own = await client.post("/equipment/items/CF-WNT-BOAT-001/check-out", data={"_csrf_token": token, "kind": "loan", "borrower_team_code": "CF-WNT-01"})
    assert own.status_code == 422 and "already belongs" in own.text and await Checkout.count() == 0
    due = (china_today() + timedelta(days=5)).isoformat()
    lent = await client.post("/equipment/items/CF-WNT-BOAT-001/check-out", data={
        "_csrf_token": token, "kind": "loan", "borrower_team_code": "CF-HS-01", "reference": "ignored for a loan", "due_back": due},
        follow_redirects=False)
    assert lent.status_code in (302, 303)
    loan = await Checkout.select(Checkout.kind, Checkout.borrower.code.as_alias("borrower"), Checkout.reference, Checkout.due_back).first()
    assert loan == {"kind": "loan", "borrower": "CF-HS-01", "reference": "", "due_back": date.fromisoformat(due)}
    after = await client.get("/equipment/items/CF-WNT-BOAT-001")
    assert "已外借" in after.text and "外借给队伍" in after.text and 'id="checkin-form"' in after.text


async def test_another_leagues_logistics_cannot_check_out_or_inspect(client, make_user) -> None:
    from tests.equipment.test_stock import depot

    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await boat(client, admin)
    await client.post("/api/v1/equipment/items", json={"depot_code": store, "asset_tag": "D-BOAT-1", "type_code": "inflatable_boat"},
                      headers=bearer(admin))
    _, baotou = await make_user("logistics", unit="150200")
    checklist = {"船体气密": True, "龙骨与底板": True, "船桨与锚": True, "拖曳绳": True}
    # A team's item in another league is not even visible: 404; a depot's item is visible to all, but not theirs to handle: 403.
    for tag, status in (("CF-WNT-BOAT-001", 404), ("D-BOAT-1", 403)):
        out = await client.post(f"/api/v1/equipment/items/{tag}/check-out", json={"kind": "drill", "reference": "演练"}, headers=bearer(baotou))
        assert out.status_code == status, (tag, out.text)
        inspected = await client.post(f"/api/v1/equipment/items/{tag}/inspections", json={"results": checklist}, headers=bearer(baotou))
        assert inspected.status_code == status, (tag, inspected.text)
        fault = await client.post(f"/api/v1/equipment/items/{tag}/repairs", json={"description": "故障"}, headers=bearer(baotou))
        assert fault.status_code == status
    from rescueops.equipment.tables import Inspection, Repair

    assert await Checkout.count() == 0 and await Inspection.count() == 0 and await Repair.count() == 0
    assert {r["status"] for r in await Item.select(Item.status)} == {"in_service"}
    from tests.web.test_pages import sign_in

    await sign_in(client, make_user, "logistics", unit="150200")
    depot_item = await client.get("/equipment/items/D-BOAT-1")
    assert depot_item.status_code == 200 and 'id="checkout-form"' not in depot_item.text  # seen, without the actions
    assert (await client.get("/equipment/items/CF-WNT-BOAT-001")).status_code == 404
