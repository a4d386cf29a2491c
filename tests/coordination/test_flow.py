"""The assistance flow through the API and the in-process bus: east asks, the other three hubs rank, central offers,
east accepts, the team is dispatched; and what is refused writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rescueops.accounts.tables import AuditEntry
from rescueops.coordination import service
from rescueops.coordination.tables import AssistanceRequest, Candidate, HubResponse, Offer, Step
from rescueops.deployments import service as deployments
from rescueops.deployments.tables import Deployment, Incident
from rescueops.events.bus import drain
from rescueops.events.tables import OutboxEvent
from tests.conftest import bearer
from tests.coordination.builders import request_body, rescue_team, window

HUB_TEAMS = {"east": ("CF-01", "150426", 42.94, 119.01), "central": ("UL-01", "150902", 41.03, 113.11),
             "west": ("OR-01", "150602", 39.82, 110.0), "northeast": ("HL-01", "150702", 49.21, 119.74)}


async def four_hubs(admin) -> None:
    for code, unit, lat, lon in HUB_TEAMS.values():
        await rescue_team(admin, code, unit, lat=lat, lon=lon)


async def _counts() -> tuple[int, ...]:
    return (await AssistanceRequest.count(), await Offer.count(), await Step.count(), await Deployment.count(), await Incident.count(),
            await OutboxEvent.count(), await AuditEntry.count())


async def _raise(client, token: str, **extra) -> dict:
    response = await client.post("/api/v1/coordination/requests", json=request_body(**extra), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


async def test_east_asks_central_offers_east_accepts_and_the_team_is_dispatched(client, make_user, admin) -> None:
    await four_hubs(admin)
    east_id, east = await make_user("hub_coordinator", hub="east")
    central_id, central = await make_user("hub_coordinator", hub="central")
    raised = await _raise(client, east, people_needed=4)
    assert (raised["requester_kind"], raised["requester_code"], raised["source_region"], raised["status"]) == ("hub", "east", "east", "open")
    [event] = await OutboxEvent.select().where(OutboxEvent.type == "assistance.requested")
    assert event["routing_key"] == "east.assistance.requested" and json.loads(event["payload"])["request_id"] == raised["id"]

    await drain()
    answers = (await client.get(f"/api/v1/coordination/requests/{raised['id']}/candidates", headers=bearer(east))).json()
    assert [(a["hub_code"], a["state"]) for a in answers] == [("northeast", "ranked"), ("central", "ranked"), ("west", "ranked")]
    for answer in answers:  # each hub ranks its own teams only
        assert [c["team_code"] for c in answer["candidates"]] == [HUB_TEAMS[answer["hub_code"]][0]]
        assert answer["candidates"][0]["eligible"] and answer["candidates"][0]["position"] == 1
    assert not await HubResponse.exists().where(HubResponse.hub_code == "east")  # east does not rank its own request
    inbox = (await client.get("/api/v1/notifications/", headers=bearer(central))).json()
    assert [m["kind"] for m in inbox] == ["assistance.requested"] and inbox[0]["link"] == f"/coordination/requests/{raised['id']}"

    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    offered = await client.post(f"/api/v1/coordination/requests/{raised['id']}/offers",
                                json={"team_code": "UL-01", "people": 4, "eta": eta, "note": "两车八人可出发"}, headers=bearer(central))
    assert offered.status_code == 201, offered.text
    offer = offered.json()
    assert (offer["hub_code"], offer["status"]) == ("central", "offered")
    board = (await client.get("/api/v1/coordination/board", headers=bearer(east))).json()
    [row] = board["rows"]
    assert {h["hub_code"]: h["state"] for h in row["hubs"]} == {"northeast": "ranked", "central": "offered", "west": "ranked"}
    assert "assistance.offered" in [m["kind"] for m in (await client.get("/api/v1/notifications/", headers=bearer(east))).json()]

    accepted = await client.post(f"/api/v1/coordination/offers/{offer['id']}/accept", headers=bearer(east))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["deployment_id"]
    request = (await client.get(f"/api/v1/coordination/requests/{raised['id']}", headers=bearer(east))).json()
    assert (request["status"], request["people_accepted"]) == ("fulfilled", 4)
    incident = await deployments.get_incident(None, request["incident_id"])
    assert incident.source == f"assistance:{raised['id']}" and incident.unit_code == "150426"
    [deployment] = await deployments.list_deployments(None, incident_id=request["incident_id"])
    assert (deployment.id, deployment.team_code, deployment.source, deployment.status.value) == (
        accepted.json()["deployment_id"], "UL-01", f"offer:{offer['id']}", "alerted")
    board = (await client.get("/api/v1/coordination/board", headers=bearer(east))).json()
    assert [(d["team_code"], d["deployment_id"]) for d in board["rows"][0]["deployments"]] == [("UL-01", deployment.id)]

    before = await _counts()
    again = await client.post(f"/api/v1/coordination/offers/{offer['id']}/accept", headers=bearer(east))
    assert again.status_code == 409 and again.json()["code"] in ("offer_decided", "request_closed")
    assert await _counts() == before

    steps = (await client.get(f"/api/v1/coordination/requests/{raised['id']}/history", headers=bearer(central))).json()
    assert [s["kind"] for s in steps] == ["raised", "ranked", "ranked", "ranked", "offered", "accepted", "fulfilled"]
    assert steps[0]["by_name"] == steps[-2]["by_name"]  # raised and accepted by the east coordinator
    types = [row["type"] for row in await OutboxEvent.select(OutboxEvent.type).order_by(OutboxEvent.id)]
    assert [t for t in types if t.startswith("assistance.")] == ["assistance.requested", "assistance.offered", "assistance.accepted"]
    assert "deployment.started" in types
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action)}
    assert {"coordination.request.raise", "coordination.offer.make", "coordination.offer.accept"} <= actions
    assert "assistance.accepted" in [m["kind"] for m in (await client.get("/api/v1/notifications/", headers=bearer(central))).json()]

    # The bus again: everything was applied once, nothing is ranked twice.
    candidates = await Candidate.count()
    await drain()
    assert await Candidate.count() == candidates
    assert not await service.rank_for_hub(raised["id"], "central")  # closed, and ranked already


async def test_a_category_no_team_has_is_refused_and_nothing_is_written(client, make_user, admin) -> None:
    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    before = await _counts()
    for category, code in (("aviation", "category_unavailable"), ("helicopters", "invalid_input")):
        response = await client.post("/api/v1/coordination/requests", json=request_body(category=category), headers=bearer(east))
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code and "category" in response.json()["message"]
    assert "no hub could answer" in (await client.post("/api/v1/coordination/requests", json=request_body(category="aviation"),
                                                       headers=bearer(east))).json()["message"]
    unknown = await client.post("/api/v1/coordination/requests", json=request_body(equipment=[{"type": "hovercraft", "quantity": 1}]),
                                headers=bearer(east))
    assert unknown.status_code == 422 and "hovercraft" in unknown.json()["message"]
    ungraded = await client.post("/api/v1/coordination/requests", json=request_body(category="mountain", min_level=2), headers=bearer(east))
    assert ungraded.status_code == 422 and "not graded" in ungraded.json()["message"]
    assert await _counts() == before


async def test_an_offer_on_a_cancelled_request_is_refused(client, make_user, admin) -> None:
    await four_hubs(admin)
    await rescue_team(admin, "UL-02", "150921", lat=40.9, lon=112.58)
    _, east = await make_user("hub_coordinator", hub="east")
    _, central = await make_user("hub_coordinator", hub="central")
    raised = await _raise(client, east)
    await drain()
    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    first = await client.post(f"/api/v1/coordination/requests/{raised['id']}/offers", json={"team_code": "UL-01", "people": 3, "eta": eta},
                              headers=bearer(central))
    assert first.status_code == 201, first.text
    refused = await client.post(f"/api/v1/coordination/requests/{raised['id']}/cancel", json={"reason": "x"}, headers=bearer(east))
    assert refused.status_code == 422  # a reason a person can read
    not_yours = await client.post(f"/api/v1/coordination/requests/{raised['id']}/cancel", json={"reason": "险情解除"}, headers=bearer(central))
    assert not_yours.status_code == 403
    cancelled = await client.post(f"/api/v1/coordination/requests/{raised['id']}/cancel", json={"reason": "险情解除，无需支援"},
                                  headers=bearer(east))
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["close_reason"]) == ("cancelled", "险情解除，无需支援")
    assert (await Offer.select(Offer.status).where(Offer.id == first.json()["id"]).first())["status"] == "void"

    before = await _counts()
    late = await client.post(f"/api/v1/coordination/requests/{raised['id']}/offers", json={"team_code": "UL-02", "people": 2, "eta": eta},
                             headers=bearer(central))
    assert late.status_code == 409 and late.json()["code"] == "request_closed"
    void = await client.post(f"/api/v1/coordination/offers/{first.json()['id']}/accept", headers=bearer(east))
    assert void.status_code == 409
    declined = await client.post(f"/api/v1/coordination/requests/{raised['id']}/decline", json={"reason": "队伍在训"}, headers=bearer(central))
    assert declined.status_code == 409
    assert await _counts() == before
    closed = await OutboxEvent.select().where(OutboxEvent.type == "assistance.cancelled").first()
    assert json.loads(closed["payload"])["void_offer_ids"] == [first.json()["id"]] and closed["routing_key"] == "east.assistance.cancelled"


async def test_a_hub_declines_with_a_reason_and_the_requester_is_told(client, make_user, admin) -> None:
    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    _, west = await make_user("hub_coordinator", hub="west")
    raised = await _raise(client, east)
    await drain()
    assert (await client.post(f"/api/v1/coordination/requests/{raised['id']}/decline", json={"reason": "x"},
                              headers=bearer(west))).status_code == 422
    declined = await client.post(f"/api/v1/coordination/requests/{raised['id']}/decline", json={"reason": "本区域队伍正在执行防汛任务"},
                                 headers=bearer(west))
    assert declined.status_code == 200, declined.text
    assert (declined.json()["hub_code"], declined.json()["state"]) == ("west", "declined")
    twice = await client.post(f"/api/v1/coordination/requests/{raised['id']}/decline", json={"reason": "再次说明"}, headers=bearer(west))
    assert twice.status_code == 409 and twice.json()["code"] == "already_declined"
    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    after = await client.post(f"/api/v1/coordination/requests/{raised['id']}/offers", json={"team_code": "OR-01", "people": 1, "eta": eta},
                              headers=bearer(west))
    assert after.status_code == 409 and after.json()["code"] == "already_declined"
    messages = (await client.get("/api/v1/notifications/", headers=bearer(east))).json()
    assert [(m["kind"], m["body"]) for m in messages if m["kind"] == "assistance.declined"] == [("assistance.declined", "本区域队伍正在执行防汛任务")]
    event = await OutboxEvent.select().where(OutboxEvent.type == "assistance.declined").first()
    assert event["routing_key"] == "west.assistance.declined"


async def test_scoping_of_requests_offers_and_acceptance(client, make_user, admin) -> None:
    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    _, west = await make_user("hub_coordinator", hub="west")
    _, central = await make_user("hub_coordinator", hub="central")
    _, chifeng = await make_user("league_supervisor", unit="150400")
    _, captain = await make_user("captain", team="CF-01")
    _, region = await make_user("region_coordinator", unit="150000")
    raised = await _raise(client, east)
    await drain()
    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    path = f"/api/v1/coordination/requests/{raised['id']}/offers"
    before = await _counts()
    for token, team, status in ((west, "UL-01", 403),  # a west hub coordinator cannot offer central's team
                                (east, "CF-01", 422),  # the requesting hub is not asked
                                (chifeng, "CF-01", 403), (region, "UL-01", 403), (captain, "CF-01", 403)):
        response = await client.post(path, json={"team_code": team, "people": 1, "eta": eta}, headers=bearer(token))
        assert response.status_code == status, (team, response.text)
    named = await client.post(path, json={"team_code": "UL-01", "hub_code": "central", "people": 1, "eta": eta}, headers=bearer(west))
    assert named.status_code == 403
    too_many = await client.post(path, json={"team_code": "UL-01", "people": 9, "eta": eta}, headers=bearer(central))
    assert too_many.status_code == 422 and "4 members available" in too_many.json()["message"]
    assert await _counts() == before
    offer = (await client.post(path, json={"team_code": "UL-01", "people": 2, "eta": eta}, headers=bearer(central))).json()
    twice = await client.post(path, json={"team_code": "UL-01", "people": 1, "eta": eta}, headers=bearer(central))
    assert twice.status_code == 409 and twice.json()["code"] == "already_offered"
    for token in (central, chifeng, captain):  # only the requester (or the region) accepts
        assert (await client.post(f"/api/v1/coordination/offers/{offer['id']}/accept", headers=bearer(token))).status_code in (403, 404)
    # The region's coordinators stand above every requester, and see every request.
    assert (await client.get(f"/api/v1/coordination/requests/{raised['id']}", headers=bearer(region))).status_code == 200
    assert (await client.get(f"/api/v1/coordination/requests/{raised['id']}", headers=bearer(captain))).status_code == 403
    # A league raises for places in its league only; a captain cannot raise.
    assert (await client.post("/api/v1/coordination/requests", json=request_body(unit="150202"), headers=bearer(chifeng))).status_code == 403
    assert (await client.post("/api/v1/coordination/requests", json=request_body(), headers=bearer(captain))).status_code == 403
    league = await _raise(client, chifeng)
    assert (league["requester_kind"], league["requester_code"], league["source_region"]) == ("league", "150400", "east")


async def test_partial_acceptance_leaves_the_request_open_until_enough_people(client, make_user, admin) -> None:
    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    _, central = await make_user("hub_coordinator", hub="central")
    _, west = await make_user("hub_coordinator", hub="west")
    raised = await _raise(client, east, people_needed=6)
    await drain()
    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    path = f"/api/v1/coordination/requests/{raised['id']}/offers"
    one = (await client.post(path, json={"team_code": "UL-01", "people": 3, "eta": eta}, headers=bearer(central))).json()
    two = (await client.post(path, json={"team_code": "OR-01", "people": 3, "eta": eta}, headers=bearer(west))).json()
    assert (await client.post(f"/api/v1/coordination/offers/{one['id']}/accept", headers=bearer(east))).status_code == 200
    request = (await client.get(f"/api/v1/coordination/requests/{raised['id']}", headers=bearer(east))).json()
    assert (request["status"], request["people_accepted"]) == ("open", 3)
    assert (await client.post(f"/api/v1/coordination/offers/{two['id']}/accept", headers=bearer(east))).status_code == 200
    request = (await client.get(f"/api/v1/coordination/requests/{raised['id']}", headers=bearer(east))).json()
    assert request["status"] == "fulfilled"
    # One incident for the request, a deployment per accepted team.
    assert await Incident.count() == 1
    assert sorted(d.team_code for d in await deployments.list_deployments(None, incident_id=request["incident_id"])) == ["OR-01", "UL-01"]


async def test_expiry_closes_requests_past_their_window(client, make_user, admin) -> None:
    await four_hubs(admin)
    east_id, east = await make_user("hub_coordinator", hub="east")
    _, central = await make_user("hub_coordinator", hub="central")
    start = datetime.now(UTC)
    lapsed = await _raise(client, east, **window(hours=2, start=start))
    helped = await _raise(client, east, people_needed=8, **window(hours=3, start=start))
    later = await _raise(client, east, **window(hours=48, start=start))
    await drain()
    eta = (start + timedelta(hours=1)).isoformat()
    unanswered = (await client.post(f"/api/v1/coordination/requests/{lapsed['id']}/offers", json={"team_code": "UL-01", "people": 2,
                                                                                                   "eta": eta}, headers=bearer(central))).json()
    offer = (await client.post(f"/api/v1/coordination/requests/{helped['id']}/offers", json={"team_code": "UL-01", "people": 4, "eta": eta},
                               headers=bearer(central))).json()
    assert (await client.post(f"/api/v1/coordination/offers/{offer['id']}/accept", headers=bearer(east))).status_code == 200

    assert await service.expire_requests(start + timedelta(hours=1)) == "0 expired, 0 closed as fulfilled"
    assert await service.expire_requests(start + timedelta(hours=4)) == "1 expired, 1 closed as fulfilled"
    assert await service.expire_requests(start + timedelta(hours=4)) == "0 expired, 0 closed as fulfilled"  # once
    statuses = {r["id"]: r["status"] for r in await AssistanceRequest.select(AssistanceRequest.id, AssistanceRequest.status)}
    assert statuses == {lapsed["id"]: "expired", helped["id"]: "fulfilled", later["id"]: "open"}
    assert (await Offer.select(Offer.status).where(Offer.id == unanswered["id"]).first())["status"] == "void"
    [event] = await OutboxEvent.select().where(OutboxEvent.type == "assistance.expired")
    assert json.loads(event["payload"]) == {"request_id": lapsed["id"], "status": "expired", "void_offer_ids": [unanswered["id"]],
                                            "reason": json.loads(event["payload"])["reason"]}
    told = [m for m in (await client.get("/api/v1/notifications/", headers=bearer(east))).json() if m["kind"] == "assistance.expired"]
    assert len(told) == 1 and told[0]["link"] == f"/coordination/requests/{lapsed['id']}"
    steps = (await client.get(f"/api/v1/coordination/requests/{lapsed['id']}/history", headers=bearer(east))).json()
    assert steps[-1]["kind"] == "expired" and steps[-1]["by_name"] == "系统"
    late = await client.post(f"/api/v1/coordination/requests/{lapsed['id']}/offers", json={"team_code": "UL-01", "people": 1, "eta": eta},
                             headers=bearer(central))
    assert late.status_code == 409


async def test_accepts_at_once_dispatch_once_and_open_one_incident(client, make_user, admin) -> None:
    import asyncio

    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    _, central = await make_user("hub_coordinator", hub="central")
    _, west = await make_user("hub_coordinator", hub="west")
    raised = await _raise(client, east, people_needed=8)
    await drain()
    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    path = f"/api/v1/coordination/requests/{raised['id']}/offers"
    one = (await client.post(path, json={"team_code": "UL-01", "people": 3, "eta": eta}, headers=bearer(central))).json()
    two = (await client.post(path, json={"team_code": "OR-01", "people": 3, "eta": eta}, headers=bearer(west))).json()
    same = await asyncio.gather(*[client.post(f"/api/v1/coordination/offers/{one['id']}/accept", headers=bearer(east)) for _ in range(4)],
                                client.post(f"/api/v1/coordination/offers/{two['id']}/accept", headers=bearer(east)))
    assert sorted(r.status_code for r in same[:4]) == [200, 409, 409, 409], [r.text for r in same]
    assert same[4].status_code == 200, same[4].text
    assert await Incident.count() == 1 and await Deployment.count() == 2
    assert await OutboxEvent.count().where(OutboxEvent.type == "assistance.accepted") == 2
