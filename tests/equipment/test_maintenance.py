from __future__ import annotations

from datetime import timedelta

from rescueops.calendar import china_today
from rescueops.equipment.tables import Inspection, Item, Repair, ScrapRequest
from tests.conftest import bearer
from tests.equipment.test_checkout import boat
from tests.factories import make_team

CHECKLIST = {"船体气密": True, "龙骨与底板": True, "船桨与锚": True, "拖曳绳": True}


async def test_inspection_sets_next_due_and_failures_send_to_maintenance(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await boat(client, logistics)
    due = (await client.get("/api/v1/equipment/due", headers=bearer(logistics))).json()
    assert [(d["asset_tag"], d["next_due"]) for d in due] == [("CF-WNT-BOAT-001", china_today().isoformat())]  # never inspected: due now
    inspected = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                                  json={"inspected_on": "2026-01-31", "results": CHECKLIST}, headers=bearer(logistics))
    assert inspected.status_code == 201 and inspected.json()["passed"] is True and inspected.json()["next_due"] == "2026-04-30"
    missing = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections", json={"results": {"船体气密": True}}, headers=bearer(logistics))
    assert missing.status_code == 422 and "missing points" in missing.text
    future = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                               json={"inspected_on": (china_today() + timedelta(days=1)).isoformat(), "results": CHECKLIST}, headers=bearer(logistics))
    assert future.status_code == 422
    today = china_today().isoformat()
    failed = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                               json={"inspected_on": today, "results": {**CHECKLIST, "船体气密": False}, "note": "左侧气室漏气"}, headers=bearer(logistics))
    assert failed.json()["passed"] is False and (await Item.select(Item.status).first())["status"] == "in_maintenance"
    assert (await client.get("/api/v1/equipment/due", headers=bearer(logistics))).json() == []  # next check in three months
    # An older check entered late (its next date long past) does not make the item due: the latest day's check counts.
    backdated = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections",
                                  json={"inspected_on": "2026-02-01", "results": CHECKLIST}, headers=bearer(logistics))
    assert backdated.status_code == 201 and backdated.json()["next_due"] == "2026-05-01"
    assert (await client.get("/api/v1/equipment/due", headers=bearer(logistics))).json() == []
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


async def test_finish_a_repair_through_the_api(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await boat(client, logistics)
    not_broken = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs/finish", json={}, headers=bearer(logistics))
    assert not_broken.status_code == 409 and not_broken.json()["code"] == "not_in_maintenance"
    started = (china_today() - timedelta(days=3)).isoformat()
    await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs", json={"description": "左侧气室漏气", "started_on": started},
                      headers=bearer(logistics))
    early = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs/finish",
                              json={"finished_on": (china_today() - timedelta(days=5)).isoformat()}, headers=bearer(logistics))
    assert early.status_code == 422 and "before the repair started" in early.text
    done = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs/finish", json={"cost": "350", "description": "更换气室"},
                             headers=bearer(logistics))
    assert done.status_code == 200 and done.json()["status"] == "in_service"
    repair = await Repair.select(Repair.description, Repair.finished_on, Repair.cost).first()
    assert repair["description"] == "左侧气室漏气；更换气室" and repair["finished_on"] == china_today() and float(repair["cost"]) == 350
    # An item sent to maintenance by a failed inspection has no open repair: finishing records what was done.
    await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/inspections", json={"results": {**CHECKLIST, "拖曳绳": False}},
                      headers=bearer(logistics))
    unexplained = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs/finish", json={}, headers=bearer(logistics))
    assert unexplained.status_code == 422 and "say what was done" in unexplained.text
    fixed = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/repairs/finish", json={"description": "更换拖曳绳"}, headers=bearer(logistics))
    assert fixed.json()["status"] == "in_service" and await Repair.count() == 2


async def test_report_a_fault_and_finish_the_repair_on_the_item_page(client, make_user) -> None:
    from tests.accounts.test_auth import csrf_from
    from tests.web.test_pages import sign_in

    await make_team()
    _, admin = await make_user("admin")
    await boat(client, admin)
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment/items/CF-WNT-BOAT-001")
    token = csrf_from(page.text)
    reported = await client.post("/equipment/items/CF-WNT-BOAT-001/fault", data={"_csrf_token": token, "description": "船底划破"},
                                 follow_redirects=False)
    assert reported.status_code in (302, 303)
    broken = await client.get("/equipment/items/CF-WNT-BOAT-001")
    assert "维修中" in broken.text and 'id="repair-done-form"' in broken.text and 'id="checkout-form"' not in broken.text
    future = await client.post("/equipment/items/CF-WNT-BOAT-001/repaired", data={
        "_csrf_token": token, "finished_on": (china_today() + timedelta(days=2)).isoformat()})
    assert future.status_code == 422 and 'id="page-error"' in future.text and "部分字段填写有误" in future.text
    done = await client.post("/equipment/items/CF-WNT-BOAT-001/repaired", data={"_csrf_token": token, "finished_on": china_today().isoformat(),
                                                                               "cost": "120", "description": "补胶"}, follow_redirects=False)
    assert done.status_code in (302, 303)
    back = await client.get("/equipment/items/CF-WNT-BOAT-001")
    assert 'id="checkout-form"' in back.text and (await Item.select(Item.status).first())["status"] == "in_service"
    history = back.text[back.text.index('id="history"'):]
    assert history.index("开始维修") < history.index("维修完成") and "船底划破；补胶" in history
    twice = await client.post("/equipment/items/CF-WNT-BOAT-001/repaired", data={"_csrf_token": token})
    assert twice.status_code == 409 and "该装备不在维修中" in twice.text


async def test_scrapping_a_depot_item_is_decided_by_the_depots_branch(client, make_user) -> None:
    from tests.equipment.test_stock import depot

    _, admin = await make_user("admin")
    store = await depot(client, admin)  # under Chifeng (150400)
    await client.post("/api/v1/equipment/items", json={"depot_code": store, "asset_tag": "D-GEN-9", "type_code": "generator"}, headers=bearer(admin))
    _, keeper = await make_user("logistics", unit=store)
    _, wengniute = await make_user("county_officer", unit="150426")
    _, baotou = await make_user("league_supervisor", unit="150200")
    _, chifeng = await make_user("league_supervisor", unit="150400")
    asked = await client.post("/api/v1/equipment/items/D-GEN-9/scrap", json={"reason": "缸体开裂"}, headers=bearer(keeper))
    assert asked.status_code == 201, asked.text
    sid = asked.json()["id"]
    by_keeper = await client.post(f"/api/v1/equipment/scrap-requests/{sid}/decision", json={"approve": True}, headers=bearer(keeper))
    assert by_keeper.status_code == 403  # logistics staff do not scrap
    for outsider in (wengniute, baotou):  # a county under Chifeng, another league: neither supervises the depot
        refused = await client.post(f"/api/v1/equipment/scrap-requests/{sid}/decision", json={"approve": True}, headers=bearer(outsider))
        assert refused.status_code == 403, refused.text
    assert (await Item.select(Item.status).first())["status"] == "in_service"
    approved = await client.post(f"/api/v1/equipment/scrap-requests/{sid}/decision", json={"approve": True, "reason": "同意"}, headers=bearer(chifeng))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert (await Item.select(Item.status).first())["status"] == "scrapped"
    depots = {d["code"]: d for d in (await client.get("/api/v1/equipment/depots", headers=bearer(keeper))).json()}
    assert depots[store]["equipment"] == []  # a scrapped item is no longer held
    timeline = (await client.get("/api/v1/equipment/items/D-GEN-9/timeline", headers=bearer(keeper))).json()
    assert [(h["kind"], h["status"]) for h in timeline] == [("registered", ""), ("scrap_requested", ""), ("scrap_decided", "approved")]


async def test_due_lists_of_one_depot_and_one_team(client, make_user) -> None:
    from tests.equipment.test_stock import depot
    from tests.web.test_pages import sign_in

    await make_team()
    await make_team("CF-HS-01", unit="150402")
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    other = await depot(client, admin, code="150600-D1", parent="150600")
    for body in ({"depot_code": store, "asset_tag": "D-GEN-1", "type_code": "generator"},
                 {"depot_code": other, "asset_tag": "W-GEN-1", "type_code": "generator"},
                 {"team_code": "CF-WNT-01", "asset_tag": "CF-BOAT-1", "type_code": "inflatable_boat"},
                 {"team_code": "CF-HS-01", "asset_tag": "HS-BOAT-1", "type_code": "inflatable_boat"}):
        assert (await client.post("/api/v1/equipment/items", json=body, headers=bearer(admin))).status_code == 201
    await client.post("/api/v1/equipment/items/D-GEN-1/check-out", json={"kind": "drill", "reference": "调运演练",
                                                                         "due_back": china_today().isoformat()}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items/CF-BOAT-1/check-out", json={"kind": "drill", "reference": "防汛演练",
                                                                           "due_back": china_today().isoformat()}, headers=bearer(admin))
    from rescueops.equipment.tables import Checkout

    await Checkout.update({Checkout.due_back: china_today() - timedelta(days=1)}).where(Checkout.id > 0)
    one_depot = (await client.get(f"/api/v1/equipment/due?depot={store}", headers=bearer(admin))).json()
    assert [d["asset_tag"] for d in one_depot] == ["D-GEN-1"] and one_depot[0]["owner"]["kind"] == "depot"
    late = (await client.get(f"/api/v1/equipment/overdue?depot={store}", headers=bearer(admin))).json()
    assert [c["asset_tag"] for c in late] == ["D-GEN-1"]
    await sign_in(client, make_user, "league_supervisor", unit="150400")
    everything = await client.get("/equipment/due")
    assert all(tag in everything.text for tag in ("D-GEN-1", "CF-BOAT-1", "HS-BOAT-1"))
    assert "W-GEN-1" not in everything.text  # the western depot lies outside Chifeng
    by_depot = await client.get(f"/equipment/due?depot={store}")
    due, overdue = by_depot.text.split('id="overdue-returns"')
    assert "D-GEN-1" in due and "CF-BOAT-1" not in due and "HS-BOAT-1" not in due and "D-GEN-1" in overdue and "CF-BOAT-1" not in overdue
    by_team = await client.get("/equipment/due?team=CF-HS-01")
    assert "HS-BOAT-1" in by_team.text and "CF-BOAT-1" not in by_team.text and "D-GEN-1" not in by_team.text
    by_league = await client.get("/equipment/due?league=150400&team=CF-WNT-01")
    assert "CF-BOAT-1" in by_league.text and "HS-BOAT-1" not in by_league.text
    unknown = await client.get("/equipment/due?team=NOPE")
    assert unknown.status_code == 404 and 'id="page-error"' in unknown.text


async def test_inspection_reminders_go_owner_batch_by_owner_batch_to_each_owners_people(client, make_user, monkeypatch) -> None:
    """Owners are read a batch at a time: batches of one owner tell the same people as one batch; each item reaches its
    own team's leaders or its own depot's keepers, and an owner nobody could be told about is skipped."""
    from rescueops.equipment import service as equipment
    from rescueops.events.tables import Notification
    from tests.equipment.test_stock import depot

    for code, unit in (("CF-WNT-01", "150426"), ("CF-HS-01", "150402"), ("CF-HS-02", "150402")):
        await make_team(code, unit=unit)
    _, admin = await make_user("admin")
    store, unkept = await depot(client, admin), await depot(client, admin, code="150400-D2")
    captain, _ = await make_user("captain", team="CF-WNT-01")
    deputy, _ = await make_user("deputy_captain", team="CF-HS-01")
    keeper, _ = await make_user("logistics", unit=store)
    for owner, tag in (({"team_code": "CF-WNT-01"}, "WNT-GEN-1"), ({"team_code": "CF-HS-01"}, "HS-GEN-1"),
                       ({"team_code": "CF-HS-02"}, "HS2-GEN-1"), ({"depot_code": store}, "D1-GEN-1"), ({"depot_code": unkept}, "D2-GEN-1")):
        registered = await client.post("/api/v1/equipment/items", json={**owner, "asset_tag": tag, "type_code": "generator"}, headers=bearer(admin))
        assert registered.status_code == 201, registered.text
    monkeypatch.setattr(equipment, "REMINDER_OWNERS", 1)
    assert await equipment.remind_due_inspections() == "3 reminders sent"  # CF-HS-02 and the second depot have nobody to tell
    told = {(r["user"], r["link"]) for r in await Notification.select(Notification.user, Notification.link)}
    assert told == {(captain, "/equipment/items/WNT-GEN-1"), (deputy, "/equipment/items/HS-GEN-1"), (keeper, "/equipment/items/D1-GEN-1")}
    assert await equipment.remind_due_inspections() == "0 reminders sent"


async def test_an_item_out_on_a_check_out_is_not_scrapped(client, make_user) -> None:
    team = await make_team(members=1)
    _, logistics = await make_user("logistics", unit="150426")
    _, officer = await make_user("county_officer", unit="150426")
    await boat(client, logistics)
    check_out = {"kind": "member", "person_id": team["people"][0]}
    await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out", json=check_out, headers=bearer(logistics))
    refused = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/scrap", json={"reason": "船体老化"}, headers=bearer(logistics))
    assert refused.status_code == 409 and refused.json()["code"] == "item_checked_out" and await ScrapRequest.count() == 0
    await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-in", json={}, headers=bearer(logistics))
    asked = await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/scrap", json={"reason": "船体老化"}, headers=bearer(logistics))
    # Checked out again while the request waits: the approval is refused and changes nothing.
    await client.post("/api/v1/equipment/items/CF-WNT-BOAT-001/check-out", json=check_out, headers=bearer(logistics))
    decided = await client.post(f"/api/v1/equipment/scrap-requests/{asked.json()['id']}/decision", json={"approve": True, "reason": "同意报废"},
                                headers=bearer(officer))
    assert decided.status_code == 409 and decided.json()["code"] == "item_checked_out"
    assert (await Item.select(Item.status).first())["status"] == "checked_out"
    assert (await ScrapRequest.select(ScrapRequest.status).first())["status"] == "pending"
