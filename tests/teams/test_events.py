"""Teams, leadership filings and memberships tell the other hubs what changed: one outbox event per change,
written in the change's transaction, with no personal data in the payload."""

from __future__ import annotations

import json

from rescueops.events.tables import OutboxEvent
from tests.conftest import bearer
from tests.factories import make_team, person, team_body


async def _events(prefixes: tuple[str, ...]) -> list[dict]:
    rows = await OutboxEvent.select().order_by(OutboxEvent.id)
    return [{**row, "payload": json.loads(row["payload"])} for row in rows if row["type"].startswith(prefixes)]


async def test_a_team_created_filed_approved_and_activated_is_told_step_by_step(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    assert (await client.post("/api/v1/teams", json=team_body(hub_code="east"), headers=bearer(supervisor))).status_code == 201
    created = await _events(("team.",))
    assert [(e["type"], e["routing_key"], e["aggregate_id"]) for e in created] == [("team.created", "east.team.created", "CF-WNT-01")]
    assert created[0]["payload"]["status"] == "forming" and created[0]["payload"]["unit_code"] == "150426"

    people = []
    for seq in (901, 902, 903):
        joined = await client.post("/api/v1/teams/CF-WNT-01/members", json={"person": person(seq=seq), "status": "active"},
                                   headers=bearer(supervisor))
        assert joined.status_code == 201, joined.text
        people.append(joined.json()["id"])
    joins = await _events(("member.",))
    assert [e["type"] for e in joins] == ["member.joined"] * 3
    assert [e["payload"]["person_id"] for e in joins] == people
    assert not any("id_number" in e["payload"] or "phone" in e["payload"] or "name" in e["payload"] for e in joins)

    _, captain = await make_user("captain", team="CF-WNT-01")
    proposal = {"captain_id": people[0], "deputy_ids": people[1:], "reason": "组建"}
    filed = await client.post("/api/v1/teams/CF-WNT-01/filings", json=proposal, headers=bearer(captain))
    assert filed.status_code == 201, filed.text
    decided = await client.post(f"/api/v1/filings/{filed.json()['id']}/decision", json={"approve": True, "reason": "同意"},
                                headers=bearer(supervisor))
    assert decided.status_code == 200, decided.text
    leadership = await _events(("leadership.",))
    assert [e["type"] for e in leadership] == ["leadership.filed", "leadership.approved"]
    assert leadership[1]["payload"] == {"filing_id": filed.json()["id"], "team_code": "CF-WNT-01", "captain_id": people[0],
                                        "deputy_ids": people[1:], "reason": "同意"}

    assert (await client.post("/api/v1/teams/CF-WNT-01/status", json={"status": "active"}, headers=bearer(supervisor))).status_code == 200
    changed = (await _events(("team.",)))[-1]
    assert changed["type"] == "team.status_changed"
    assert (changed["payload"]["previous_status"], changed["payload"]["status"]) == ("forming", "active")

    left = await client.post(f"/api/v1/members/{people[2]}/status", json={"status": "exited", "reason": "迁居"}, headers=bearer(supervisor))
    assert left.status_code == 200, left.text
    last = (await _events(("member.",)))[-1]
    assert (last["type"], last["payload"]["previous_status"], last["payload"]["reason"]) == ("member.left", "active", "迁居")


async def test_refused_changes_tell_nothing(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    await make_team(members=3)
    before = await OutboxEvent.count()
    incomplete = await client.post("/api/v1/teams/CF-WNT-01/status", json={"status": "active"}, headers=bearer(supervisor))
    assert incomplete.status_code == 422
    duplicate = await client.post("/api/v1/teams", json=team_body(), headers=bearer(supervisor))
    assert duplicate.status_code == 409
    assert await OutboxEvent.count() == before
