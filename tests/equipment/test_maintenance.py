from __future__ import annotations

from datetime import date, timedelta

from rescueops.equipment.tables import Inspection, Item, ScrapRequest
from tests.conftest import bearer
from tests.equipment.test_checkout import boat
from tests.factories import make_team

CHECKLIST = {"船体气密": True, "龙骨与底板": True, "船桨与锚": True, "拖曳绳": True}


async def test_inspection_sets_next_due_and_failures_send_to_maintenance(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await boat(client, logistics)
    due = (await client.get("/api/v1/equipment/due", headers=bearer(logistics))).json()
    assert [(d["asset_tag"], d["next_due"]) for d in due] == [("CF-WNT-BOAT-001", date.today().isoformat())]  # never inspected: due now
    inspected = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                                  json={"inspected_on": "2026-01-31", "results": CHECKLIST}, headers=bearer(logistics))
    assert inspected.status_code == 201 and inspected.json()["passed"] is True and inspected.json()["next_due"] == "2026-04-30"
    missing = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections", json={"results": {"船体气密": True}}, headers=bearer(logistics))
    assert missing.status_code == 422 and "missing points" in missing.text
    future = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                               json={"inspected_on": (date.today() + timedelta(days=1)).isoformat(), "results": CHECKLIST}, headers=bearer(logistics))
    assert future.status_code == 422
    today = date.today().isoformat()
    failed = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                               json={"inspected_on": today, "results": {**CHECKLIST, "船体气密": False}, "note": "左侧气室漏气"}, headers=bearer(logistics))
    assert failed.json()["passed"] is False and (await Item.select(Item.status).first())["status"] == "in_maintenance"
    assert (await client.get("/api/v1/equipment/due", headers=bearer(logistics))).json() == []  # next check in three months
    repaired = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs",
                                 json={"description": "更换气室", "started_on": today, "finished_on": today, "cost": "800"}, headers=bearer(logistics))
    assert repaired.status_code == 201 and repaired.json()["status"] == "in_service"


async def test_scrapping_needs_the_supervisor(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, officer = await make_user("county_officer", unit="150426")
    await boat(client, logistics)
    asked = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/scrap", json={"reason": "船体老化无法修复"}, headers=bearer(logistics))
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    twice = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/scrap", json={"reason": "再次申请"}, headers=bearer(logistics))
    assert twice.status_code == 409
    by_captain = await client.post(f"/api/v1/equipment/scrap-requests/{asked.json()['id']}/decision", json={"approve": True}, headers=bearer(captain))
    assert by_captain.status_code == 403
    approved = await client.post(f"/api/v1/equipment/scrap-requests/{asked.json()['id']}/decision", json={"approve": True, "reason": "同意报废"},
                                 headers=bearer(officer))
    assert approved.status_code == 200 and (await Item.select(Item.status).first())["status"] == "scrapped"
    gone = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections", json={"results": CHECKLIST}, headers=bearer(logistics))
    assert gone.status_code == 422 and gone.json()["code"] == "item_gone"
    assert await Inspection.count() == 0 and await ScrapRequest.count() == 1
