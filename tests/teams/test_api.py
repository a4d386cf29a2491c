from __future__ import annotations

import asyncio

from rescueops.accounts.tables import AuditEntry
from rescueops.teams.tables import LeadershipFiling, StatusChange, Team
from tests.conftest import bearer
from tests.factories import make_team, team_body


async def test_register_a_team_and_find_it(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    created = await client.post("/api/v1/teams", json=team_body(hub_code="east"), headers=bearer(supervisor))
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["path"] == "/150000/150400/150426/t:CF-WNT-01/"
    assert team["status"] == "forming" and team["primary_category"]["name_zh"] == "搜救"
    assert [c["code"] for c in team["specialties"]] == ["medical", "water_rescue"]  # in category order
    assert team["leadership_problem"] is None  # only active teams are held to the rule
    h = bearer(supervisor)
    for query, expected in (("", 1), ("?category=medical", 1), ("?category=relief", 0), ("?league=150400", 1),
                            ("?league=150200", 0), ("?status=forming", 1), ("?q=翁牛特", 1), ("?level=1", 0)):
        listed = (await client.get(f"/api/v1/teams{query}", headers=h)).json()
        assert listed["total"] == expected, query


async def test_bad_team_input(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    h = bearer(supervisor)
    cases = [
        ({"registration_kind": "red_cross_filing", "filing_date": None}, "filing_date"),
        ({"contact_phone": "12"}, "contact_phone"),
        ({"unit_code": "150000"}, "unit_code"),
        ({"primary_category": "volcano"}, "specialties"),
        ({"code": "x"}, "code"),
    ]
    for change, field in cases:
        response = await client.post("/api/v1/teams", json=team_body(**change), headers=h)
        assert response.status_code == 422, change
        assert field in response.text, (change, response.text)
    assert await Team.count() == 0
    assert (await client.post("/api/v1/teams", json=team_body(), headers=h)).status_code == 201
    again = await client.post("/api/v1/teams", json=team_body(), headers=h)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_code"


async def test_status_lifecycle(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    h = bearer(supervisor)
    await make_team(members=3)
    incomplete = await client.post("/api/v1/teams/CF-WNT-01/status", json={"status": "active"}, headers=h)
    assert incomplete.status_code == 422 and incomplete.json()["code"] == "leadership_incomplete"
    await make_team("CF-WNT-02", members=3, leaders=True)
    assert (await client.post("/api/v1/teams/CF-WNT-02/status", json={"status": "active"}, headers=h)).status_code == 200
    no_reason = await client.post("/api/v1/teams/CF-WNT-02/status", json={"status": "suspended"}, headers=h)
    assert no_reason.status_code == 422
    suspended = await client.post("/api/v1/teams/CF-WNT-02/status", json={"status": "suspended", "reason": "年度考核不合格"}, headers=h)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    exited = await client.post("/api/v1/teams/CF-WNT-02/status", json={"status": "exited", "reason": "解散"}, headers=h)
    assert exited.status_code == 200
    final = await client.post("/api/v1/teams/CF-WNT-02/status", json={"status": "active"}, headers=h)
    assert final.status_code == 422 and final.json()["code"] == "invalid_transition"
    history = (await client.get("/api/v1/teams/CF-WNT-02/status-history", headers=h)).json()
    assert [c["to_status"] for c in history] == ["forming", "active", "suspended", "exited"]
    assert await StatusChange.count() == 1 + 4


async def test_filing_approved_changes_leadership(client, make_user) -> None:
    team = await make_team(members=6, leaders=True, active=True)
    people = team["people"]
    _, captain_token = await make_user("captain", team="CF-WNT-01")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    proposal = {"captain_id": people[0], "deputy_ids": [people[1], people[3], people[4]], "reason": "增补副队长"}
    filed = await client.post("/api/v1/teams/CF-WNT-01/filings", json=proposal, headers=bearer(captain_token))
    assert filed.status_code == 201, filed.text
    filing = filed.json()
    assert filing["status"] == "pending" and len(filing["previous"]["deputies"]) == 2
    # Until approved, the old leadership stands.
    before = (await client.get("/api/v1/teams/CF-WNT-01", headers=bearer(captain_token))).json()["leadership"]
    assert [d["id"] for d in before["deputies"]] == people[1:3]
    second = await client.post("/api/v1/teams/CF-WNT-01/filings", json=proposal, headers=bearer(captain_token))
    assert second.status_code == 409 and second.json()["code"] == "filing_pending"
    inbox = (await client.get("/api/v1/filings?status=pending", headers=bearer(supervisor))).json()
    assert inbox["total"] == 1
    by_captain = await client.post(f"/api/v1/filings/{filing['id']}/decision", json={"approve": True}, headers=bearer(captain_token))
    assert by_captain.status_code == 403
    approved = await client.post(f"/api/v1/filings/{filing['id']}/decision", json={"approve": True, "reason": "同意"}, headers=bearer(supervisor))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    after = (await client.get("/api/v1/teams/CF-WNT-01", headers=bearer(supervisor))).json()
    assert [d["id"] for d in after["leadership"]["deputies"]] == [people[1], people[3], people[4]]
    assert after["leadership_problem"] is None
    again = await client.post(f"/api/v1/filings/{filing['id']}/decision", json={"approve": False, "reason": "晚了"}, headers=bearer(supervisor))
    assert again.status_code == 409
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity == "filing")]
    assert actions == ["teams.filing.file", "teams.filing.approved"]


async def test_rejected_filing_changes_nothing(client, make_user) -> None:
    team = await make_team(members=5, leaders=True, active=True)
    people = team["people"]
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, officer = await make_user("county_officer", unit="150426")
    filed = (await client.post("/api/v1/teams/CF-WNT-01/filings",
                               json={"captain_id": people[3], "deputy_ids": people[1:3], "reason": "换队长"}, headers=bearer(captain))).json()
    no_reason = await client.post(f"/api/v1/filings/{filed['id']}/decision", json={"approve": False}, headers=bearer(officer))
    assert no_reason.status_code == 422
    rejected = await client.post(f"/api/v1/filings/{filed['id']}/decision", json={"approve": False, "reason": "未经队员大会"}, headers=bearer(officer))
    assert rejected.status_code == 200 and rejected.json()["decision_reason"] == "未经队员大会"
    lead = (await client.get("/api/v1/teams/CF-WNT-01", headers=bearer(captain))).json()["leadership"]
    assert lead["captain"]["id"] == people[0]
    # A new filing may follow once the first is decided.
    assert (await client.post("/api/v1/teams/CF-WNT-01/filings",
                              json={"captain_id": people[3], "deputy_ids": people[1:3], "reason": "再次申请"}, headers=bearer(captain))).status_code == 201


async def test_filing_rules(client, make_user) -> None:
    team = await make_team(members=6, leaders=True, active=True)
    other = await make_team("CF-HS-01", unit="150402", members=1)
    people = team["people"]
    _, captain = await make_user("captain", team="CF-WNT-01")
    h = bearer(captain)
    cases = [
        ({"captain_id": people[0], "deputy_ids": people[1:2]}, "2 or 3 deputy captains"),
        ({"captain_id": people[0], "deputy_ids": people[1:5]}, "not 4"),
        ({"captain_id": people[0], "deputy_ids": [people[0], people[1]]}, "different people"),
        ({"captain_id": other["people"][0], "deputy_ids": people[1:3]}, "Not an active member"),
        ({"captain_id": people[0], "deputy_ids": people[1:3]}, "already in place"),
    ]
    for proposal, message in cases:
        response = await client.post("/api/v1/teams/CF-WNT-01/filings", json={**proposal, "reason": "测试"}, headers=h)
        assert response.status_code == 422 and message in response.text, (proposal, response.text)
    assert await LeadershipFiling.count() == 0


async def test_concurrent_decisions_only_one_wins(client, make_user) -> None:
    team = await make_team(members=5, leaders=True, active=True)
    people = team["people"]
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    _, officer = await make_user("county_officer", unit="150426")
    filed = (await client.post("/api/v1/teams/CF-WNT-01/filings",
                               json={"captain_id": people[0], "deputy_ids": [people[1], people[3]], "reason": "调整"}, headers=bearer(captain))).json()
    results = await asyncio.gather(
        client.post(f"/api/v1/filings/{filed['id']}/decision", json={"approve": True}, headers=bearer(supervisor)),
        client.post(f"/api/v1/filings/{filed['id']}/decision", json={"approve": False, "reason": "不同意"}, headers=bearer(officer)),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    decided = await LeadershipFiling.select().first()
    winner = next(r for r in results if r.status_code == 200).json()
    assert decided["status"] == winner["status"]


async def test_concurrent_filings_only_one_pending(client, make_user) -> None:
    team = await make_team(members=6, leaders=True, active=True)
    people = team["people"]
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, deputy = await make_user("deputy_captain", team="CF-WNT-01")
    results = await asyncio.gather(
        client.post("/api/v1/teams/CF-WNT-01/filings", json={"captain_id": people[0], "deputy_ids": [people[1], people[3]], "reason": "方案甲"}, headers=bearer(captain)),
        client.post("/api/v1/teams/CF-WNT-01/filings", json={"captain_id": people[0], "deputy_ids": [people[1], people[4]], "reason": "方案乙"}, headers=bearer(deputy)),
    )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert await LeadershipFiling.count() == 1


async def test_a_deputy_leaving_flags_the_team(client, make_user) -> None:
    team = await make_team(members=4, leaders=True, active=True)
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    left = await client.post(f"/api/v1/members/{team['people'][2]}/status", json={"status": "exited", "reason": "工作调动"}, headers=bearer(captain))
    assert left.status_code == 200
    flagged = (await client.get("/api/v1/teams/CF-WNT-01", headers=bearer(captain))).json()
    assert flagged["leadership_problem"] == "1 deputy captains (needs 2–3)"
    outside = (await client.get("/api/v1/teams?outside_rule=true", headers=bearer(supervisor))).json()
    assert [t["code"] for t in outside["items"]] == ["CF-WNT-01"]


async def test_scoping(client, make_user) -> None:
    await make_team("CF-WNT-01", unit="150426", members=1)
    await make_team("CF-HS-01", unit="150402", members=1)
    await make_team("BT-DH-01", unit="150202", members=1)
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    _, hub = await make_user("hub_coordinator", hub="central")
    seen = lambda response: sorted(t["code"] for t in response.json()["items"])  # noqa: E731
    assert seen(await client.get("/api/v1/teams", headers=bearer(captain))) == ["CF-WNT-01"]
    assert seen(await client.get("/api/v1/teams", headers=bearer(supervisor))) == ["CF-HS-01", "CF-WNT-01"]
    assert seen(await client.get("/api/v1/teams", headers=bearer(hub))) == ["BT-DH-01"]
    assert (await client.get("/api/v1/teams/CF-HS-01", headers=bearer(captain))).status_code == 404
    assert (await client.get("/api/v1/teams/BT-DH-01/roster", headers=bearer(supervisor))).status_code == 404
    assert (await client.post("/api/v1/teams", json=team_body("BT-X", unit="150202"), headers=bearer(supervisor))).status_code == 403
