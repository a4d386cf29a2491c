"""Incidents and deployments: the lifecycle, members, equipment, the log, closing with hours, events, scoping, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rescueops.accounts.tables import AuditEntry
from rescueops.deployments.tables import DeployedItem, DeployedMember, Deployment, Incident, LogEntry, Transition
from rescueops.equipment import service as equipment
from rescueops.equipment.tables import Checkout
from rescueops.events.tables import OutboxEvent
from rescueops.members.tables import HoursEntry, Membership
from tests.conftest import bearer
from tests.deployments.helpers import (
    TEAM,
    close,
    dispatch,
    incident_body,
    log,
    open_incident,
    register_items,
    step,
    to_demobilising,
)
from tests.factories import make_team


async def _captain(make_user, members: int = 3) -> tuple[dict, str]:
    team = await make_team(members=members)
    _, token = await make_user("captain", team=TEAM)
    return team, token


async def _events(kind: str | None = None) -> list[dict]:
    query = OutboxEvent.select().where(OutboxEvent.type.like("deployment.%")).order_by(OutboxEvent.id)
    if kind:
        query = query.where(OutboxEvent.type == kind)
    return await query


async def test_lifecycle_moves_forward_only_and_closing_needs_the_stand_down(client, make_user) -> None:
    team, captain = await _captain(make_user)
    incident = await open_incident(client, captain)
    assert incident["kind_zh"] == "白灾（雪灾）" and incident["severity_zh"] == "较大（Ⅲ级）" and incident["unit_name_zh"] == "翁牛特旗"
    deployment = await dispatch(client, captain, incident["id"], person_ids=team["people"][:2])
    assert deployment["status"] == "alerted" and deployment["people"] == 2 and deployment["team_name"] == "翁牛特旗红十字应急救援队"
    assert deployment["incident_title"] == "白音套海嘎查暴雪围困牧民" and deployment["incident_place"] == "乌丹镇白音套海嘎查"
    did = deployment["id"]
    # Forward, skipping a step when it went unrecorded; never back; closing only from demobilising.
    assert (await step(client, captain, did, "on_scene")).json()["status"] == "on_scene"
    back = await step(client, captain, did, "mobilising")
    assert back.status_code == 409 and back.json()["code"] == "invalid_transition"
    early = await client.post(f"/api/v1/deployments/{did}/close", json={}, headers=bearer(captain))
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    via_status = await step(client, captain, did, "closed")
    assert via_status.status_code == 422 and "close" in via_status.json()["message"]
    assert (await step(client, captain, did, "demobilising")).status_code == 200
    detail = (await client.get(f"/api/v1/deployments/{did}", headers=bearer(captain))).json()
    assert detail["next_statuses"] == ["closed"]
    closed = await close(client, captain, did, note="全部被困牧民转移安置，队伍安全返回")
    assert closed["status"] == "closed" and closed["next_statuses"] == [] and closed["closed_at"]
    assert [t["to_status"] for t in closed["transitions"]] == ["alerted", "on_scene", "demobilising", "closed"]
    assert all(m["released_at"] for m in closed["members"]) and closed["people_present"] == 2 - 2
    again = await client.post(f"/api/v1/deployments/{did}/close", json={}, headers=bearer(captain))
    assert again.status_code == 409 and again.json()["code"] == "deployment_closed"
    assert (await step(client, captain, did, "on_scene")).json()["code"] == "deployment_closed"
    listed = await client.get(f"/api/v1/deployments/?incident={incident['id']}&status=closed", headers=bearer(captain))
    assert [d["id"] for d in listed.json()] == [did]
    assert (await client.get("/api/v1/deployments/?status=on_scene", headers=bearer(captain))).json() == []


async def test_events_are_emitted_with_the_routing_keys_in_the_same_transaction(client, make_user) -> None:
    team, captain = await _captain(make_user)
    incident = await open_incident(client, captain)
    deployment = await dispatch(client, captain, incident["id"], person_ids=team["people"][:2], source="offer:7")
    did = deployment["id"]
    await to_demobilising(client, captain, did)
    await log(client, captain, did, "rescued", count=4, text="救出被困牧民一家四口")
    await close(client, captain, did)
    found = await _events()
    assert [(e["type"], e["routing_key"], e["aggregate_id"]) for e in found] == [
        ("deployment.started", "east.deployment.started", str(did)),
        *[("deployment.status_changed", "east.deployment.status_changed", str(did))] * 3,
        ("deployment.ended", "east.deployment.ended", str(did)),
    ]
    started, *changes, ended = [json.loads(e["payload"]) for e in found]
    assert started["status"] == "alerted" and started["previous_status"] is None and started["source"] == "offer:7"
    assert sorted(started["person_ids"]) == sorted(team["people"][:2]) and started["incident_unit_code"] == "150426"
    assert [(c["previous_status"], c["status"]) for c in changes] == [
        ("alerted", "mobilising"), ("mobilising", "on_scene"), ("on_scene", "demobilising")]
    assert ended["status"] == "closed" and ended["rescued"] == 4 and ended["person_ids"] == []
    assert all(e["org_path"].endswith(f"t:{TEAM}/") and e["actor"].startswith("captain") for e in found)
    # A refused step writes no event.
    assert (await step(client, captain, did, "on_scene")).status_code == 409
    assert len(await _events()) == len(found)


async def test_a_log_entry_after_close_is_refused_and_nothing_is_written(client, make_user) -> None:
    team, captain = await _captain(make_user)
    deployment = await dispatch(client, captain, (await open_incident(client, captain))["id"], person_ids=team["people"][:1])
    did = deployment["id"]
    entry = await log(client, captain, did, "arrival", text="抵达嘎查村委会，与旗应急管理局现场指挥部会合")
    assert entry.status_code == 201 and entry.json()["recorded_by_name"].startswith("captain")
    await to_demobilising(client, captain, did)
    await close(client, captain, did)
    before = (await LogEntry.count(), await AuditEntry.count(), await OutboxEvent.count(), await Deployment.select(Deployment.updated_at).first())
    refused = await log(client, captain, did, "note", text="补记：返程途中车辆陷雪")
    assert refused.status_code == 409 and refused.json()["code"] == "deployment_closed"
    assert "closed" in refused.json()["message"] and "final" in refused.json()["message"]
    counted = await log(client, captain, did, "rescued", count=2)
    assert counted.status_code == 409
    void = await client.post(f"/api/v1/deployments/{did}/log/{entry.json()['id']}/void", json={"reason": "写错了"}, headers=bearer(captain))
    assert void.status_code == 409
    after = (await LogEntry.count(), await AuditEntry.count(), await OutboxEvent.count(), await Deployment.select(Deployment.updated_at).first())
    assert after == before


async def test_totals_come_from_the_log_and_a_voided_entry_leaves_them(client, make_user) -> None:
    team, captain = await _captain(make_user)
    did = (await dispatch(client, captain, (await open_incident(client, captain))["id"]))["id"]
    for kind, count in (("rescued", 3), ("rescued", 5), ("treated", 2)):
        assert (await log(client, captain, did, kind, count=count)).status_code == 201
    wrong = (await log(client, captain, did, "rescued", count=50, text="误录")).json()
    voided = await client.post(f"/api/v1/deployments/{did}/log/{wrong['id']}/void", json={"reason": "多输了一个零"}, headers=bearer(captain))
    assert voided.status_code == 200 and voided.json()["void_reason"] == "多输了一个零"
    twice = await client.post(f"/api/v1/deployments/{did}/log/{wrong['id']}/void", json={"reason": "再次"}, headers=bearer(captain))
    assert twice.status_code == 409
    detail = (await client.get(f"/api/v1/deployments/{did}", headers=bearer(captain))).json()
    assert (detail["rescued"], detail["treated"], detail["log_entries"]) == (8, 2, 3)
    assert len(detail["log"]) == 4 and detail["log"][0]["voided_at"]  # newest first, kept on record


async def test_hours_are_credited_on_close_from_joining_to_release_or_close(client, make_user) -> None:
    team, captain = await _captain(make_user, members=4)
    first, second, late, never = team["people"]
    start = datetime.now(UTC) - timedelta(hours=10)
    at = lambda hours: (start + timedelta(hours=hours)).isoformat()  # noqa: E731
    incident = await open_incident(client, captain, started_at=(start - timedelta(hours=1)).isoformat())
    did = (await dispatch(client, captain, incident["id"], person_ids=[first, second], alerted_at=start.isoformat()))["id"]
    assert (await step(client, captain, did, "on_scene", at=at(1.5))).status_code == 200
    released = await client.post(f"/api/v1/deployments/{did}/members/{second}/release", json={"at": at(2.25), "note": "家中有事"},
                                 headers=bearer(captain))
    assert released.status_code == 200, released.text
    added = await client.post(f"/api/v1/deployments/{did}/members", json={"person_ids": [late], "at": at(3)}, headers=bearer(captain))
    assert added.status_code == 200 and added.json()["people"] == 3 and added.json()["people_present"] == 2
    assert (await step(client, captain, did, "demobilising", at=at(5))).status_code == 200
    closed = await close(client, captain, did, at=at(6.1))
    hours = {h["person"]: h for h in await HoursEntry.select()}
    assert {p: float(h["hours"]) for p, h in hours.items()} == {first: 6.0, second: 2.25, late: 3.0}  # quarter hours, rounded down
    assert never not in hours
    assert {(h["source"], h["status"], h["source_ref"]) for h in hours.values()} == {("deployment", "approved", f"deployment:{did}")}
    assert all("白音套海嘎查暴雪围困牧民" in h["note"] for h in hours.values())
    assert {m["person_id"]: float(m["hours"]) for m in closed["members"]} == {first: 6.0, second: 2.25, late: 3.0}
    member = (await client.get(f"/api/v1/members/{first}", headers=bearer(captain))).json()
    assert float(member["hours_total"]) == 6.0


async def test_equipment_goes_out_with_the_deployment_and_comes_back_on_close(client, make_user, make_principal) -> None:
    team, captain = await _captain(make_user)
    await register_items(TEAM, "CF-WNT-ROPE-001", "CF-WNT-ROPE-002", "CF-WNT-ROPE-003", "CF-WNT-ROPE-004")
    incident = await open_incident(client, captain)
    did = (await dispatch(client, captain, incident["id"], asset_tags=["CF-WNT-ROPE-001"]))["id"]
    more = await client.post(f"/api/v1/deployments/{did}/equipment", json={"asset_tags": ["CF-WNT-ROPE-002", "CF-WNT-ROPE-003"]},
                             headers=bearer(captain))
    assert more.status_code == 200 and more.json()["equipment_out"] == 3
    history = await equipment.item_history(None, "CF-WNT-ROPE-001")
    assert history[0].kind.value == "deployment" and history[0].reference == f"deployment:{did}" and history[0].returned_at is None
    assert (await equipment.get_item(None, "CF-WNT-ROPE-002")).status.value == "checked_out"
    busy = await client.post(f"/api/v1/deployments/{did}/equipment", json={"asset_tags": ["CF-WNT-ROPE-002"]}, headers=bearer(captain))
    assert busy.status_code == 409 and busy.json()["code"] == "item_unavailable"
    # One comes back early, damaged: it goes to maintenance.
    back = await client.post(f"/api/v1/deployments/{did}/equipment/CF-WNT-ROPE-002/return", json={"condition": "damaged", "note": "外皮磨破"},
                             headers=bearer(captain))
    assert back.status_code == 200 and back.json()["equipment_out"] == 2
    assert (await equipment.get_item(None, "CF-WNT-ROPE-002")).status.value == "in_maintenance"
    # One is checked in at the store directly: the deployment finds it back and leaves it be.
    from rescueops.equipment.schemas import CheckinIn

    await equipment.check_in(await make_principal("logistics", team=TEAM), "CF-WNT-ROPE-003", CheckinIn())
    await to_demobilising(client, captain, did)
    closed = await close(client, captain, did, return_rest=False)
    states = {i["asset_tag"]: (i["returned_at"] is not None, i["condition"]) for i in closed["equipment"]}
    assert states == {"CF-WNT-ROPE-001": (False, None), "CF-WNT-ROPE-002": (True, "damaged"), "CF-WNT-ROPE-003": (True, "ok")}
    assert closed["equipment_out"] == 1  # outstanding, listed
    assert (await equipment.get_item(None, "CF-WNT-ROPE-001")).status.value == "checked_out"
    # The next deployment's close brings everything back in good order.
    second = (await dispatch(client, captain, (await open_incident(client, captain, title="第二次出动"))["id"],
                             asset_tags=["CF-WNT-ROPE-004"]))["id"]
    await to_demobilising(client, captain, second)
    done = await close(client, captain, second)
    assert done["equipment"][0]["condition"] == "ok" and done["equipment_out"] == 0
    assert (await equipment.get_item(None, "CF-WNT-ROPE-004")).status.value == "in_service"
    assert await Checkout.count().where(Checkout.returned_at.is_null()) == 1


async def test_a_person_already_on_an_open_deployment_is_refused_with_the_reason(client, make_user) -> None:
    from rescueops.deployments import service

    team, captain = await _captain(make_user)
    person = team["people"][0]
    one = await open_incident(client, captain)
    two = await open_incident(client, captain, title="翁牛特旗草原火情", kind="grassland_fire")
    first = await dispatch(client, captain, one["id"], person_ids=[person])
    twice = await client.post(f"/api/v1/deployments/incidents/{one['id']}/deployments", json={"team_code": TEAM}, headers=bearer(captain))
    assert twice.status_code == 409 and twice.json()["code"] == "already_dispatched"
    refused = await client.post(f"/api/v1/deployments/incidents/{two['id']}/deployments", json={"team_code": TEAM, "person_ids": [person]},
                                headers=bearer(captain))
    assert refused.status_code == 409 and refused.json()["code"] == "already_deployed"
    assert f"deployment #{first['id']}" in refused.json()["message"] and "白音套海嘎查暴雪围困牧民" in refused.json()["message"]
    assert await Deployment.count() == 1
    second = await dispatch(client, captain, two["id"])
    adding = await client.post(f"/api/v1/deployments/{second['id']}/members", json={"person_ids": [person]}, headers=bearer(captain))
    assert adding.status_code == 409 and adding.json()["code"] == "already_deployed"
    assert await service.deployed_people() == {person}
    assert await service.deployed_people([person, team["people"][1]]) == {person}
    released = await client.post(f"/api/v1/deployments/{first['id']}/members/{person}/release", json={}, headers=bearer(captain))
    assert released.status_code == 200 and await service.deployed_people() == set()
    moved = await client.post(f"/api/v1/deployments/{second['id']}/members", json={"person_ids": [person]}, headers=bearer(captain))
    assert moved.status_code == 200 and await service.deployed_people() == {person}
    on_it = await client.post(f"/api/v1/deployments/{second['id']}/members", json={"person_ids": [person]}, headers=bearer(captain))
    assert on_it.status_code == 409 and "already on this deployment" in on_it.json()["message"]


async def test_deployments_are_seen_and_logged_within_scope(client, make_user) -> None:
    team, captain = await _captain(make_user)
    await make_team("BT-DH-01", unit="150202")
    _, other_captain = await make_user("captain", team="BT-DH-01")
    _, baotou = await make_user("league_supervisor", unit="150200")
    _, chifeng = await make_user("league_supervisor", unit="150400")
    _, east = await make_user("hub_coordinator", hub="east")
    _, west = await make_user("hub_coordinator", hub="west")
    _, member = await make_user("member", team=TEAM)
    _, region = await make_user("region_coordinator", unit="150000")
    incident = await open_incident(client, captain)
    did = (await dispatch(client, captain, incident["id"]))["id"]
    url = f"/api/v1/deployments/{did}"
    for token, status in ((other_captain, 404), (baotou, 404), (west, 404), (chifeng, 200), (east, 200), (member, 200), (region, 200)):
        assert (await client.get(url, headers=bearer(token))).status_code == status
        assert (await client.get(f"/api/v1/deployments/incidents/{incident['id']}", headers=bearer(token))).status_code == status
    for token, status in ((other_captain, 404), (baotou, 404), (member, 403), (chifeng, 201), (east, 201)):
        response = await log(client, token, did, "note", text="现场风力 6 级，能见度低")
        assert response.status_code == status, response.text
    assert (await client.get("/api/v1/deployments/", headers=bearer(other_captain))).json() == []
    assert (await client.get("/api/v1/deployments/incidents", headers=bearer(baotou))).json() == []
    assert [d["id"] for d in (await client.get("/api/v1/deployments/", headers=bearer(east))).json()] == [did]
    # A captain dispatches only their own team; a Baotou incident's supervisor sees the Chifeng team sent to it.
    foreign = await client.post(f"/api/v1/deployments/incidents/{incident['id']}/deployments", json={"team_code": "BT-DH-01"},
                                headers=bearer(captain))
    assert foreign.status_code == 403
    baotou_incident = await open_incident(client, captain, unit_code="150202", title="东河区建筑物倒塌", kind="building_collapse")
    helped = (await dispatch(client, captain, baotou_incident["id"]))["id"]
    assert (await client.get(f"/api/v1/deployments/{helped}", headers=bearer(baotou))).status_code == 200
    assert (await client.get(url, headers=bearer(baotou))).status_code == 404
    assert [i["id"] for i in (await client.get("/api/v1/deployments/incidents", headers=bearer(baotou))).json()] == [baotou_incident["id"]]


async def test_bad_input_changes_nothing(client, make_user) -> None:
    team, captain = await _captain(make_user, members=3)
    await register_items(TEAM, "CF-WNT-ROPE-001")
    probationer, inactive = team["people"][1], team["people"][2]
    await Membership.update({Membership.status: "probation"}).where(Membership.person == probationer)
    await Membership.update({Membership.status: "inactive"}).where(Membership.person == inactive)
    stranger = (await make_team("CF-HS-01", unit="150402", members=1))["people"][0]
    incident = await open_incident(client, captain)
    before = (await Deployment.count(), await DeployedMember.count(), await DeployedItem.count(), await Transition.count(),
              await Checkout.count(), await AuditEntry.count(), await OutboxEvent.count())
    url = f"/api/v1/deployments/incidents/{incident['id']}/deployments"
    cases = [
        ({"team_code": "NOPE-01"}, 422, "team_code"),
        ({"team_code": TEAM, "person_ids": [team["people"][0], inactive]}, 422, "not_active_member"),
        ({"team_code": TEAM, "person_ids": [probationer]}, 422, "not_active_member"),
        ({"team_code": TEAM, "person_ids": [stranger]}, 422, "not_active_member"),
        ({"team_code": TEAM, "asset_tags": ["CF-WNT-ROPE-001", "NO-SUCH-TAG"]}, 422, "NO-SUCH-TAG"),
        ({"team_code": TEAM, "alerted_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, 422, "alerted_at"),
        ({"team_code": TEAM, "surprise": 1}, 422, "surprise"),
    ]
    for body, status, says in cases:
        response = await client.post(url, json=body, headers=bearer(captain))
        assert response.status_code == status and says in response.text, (body, response.text)
    unknown = await client.post("/api/v1/deployments/incidents/99999/deployments", json={"team_code": TEAM}, headers=bearer(captain))
    assert unknown.status_code == 404
    after = (await Deployment.count(), await DeployedMember.count(), await DeployedItem.count(), await Transition.count(),
             await Checkout.count(), await AuditEntry.count(), await OutboxEvent.count())
    assert after == before
    assert (await equipment.get_item(None, "CF-WNT-ROPE-001")).status.value == "in_service"  # its check-out was rolled back
    # Incidents and log entries refuse what cannot be true.
    for body, says in ((incident_body(unit_code="999999"), "unit_code"), (incident_body(kind="meteor"), "kind"),
                       (incident_body(severity=5), "severity"), (incident_body(lat=42.0, lon=None), "lat"),
                       (incident_body(started_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()), "started_at")):
        response = await client.post("/api/v1/deployments/incidents", json=body, headers=bearer(captain))
        assert response.status_code == 422 and says in response.text, (body, response.text)
    assert await Incident.count() == 1
    did = (await dispatch(client, captain, incident["id"]))["id"]
    for body, says in (({"kind": "rescued"}, "count"), ({"kind": "note", "text": "x", "count": 3}, "count"), ({"kind": "task"}, "text"),
                       ({"kind": "note", "text": "补记", "occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "occurred_at"),
                       ({"kind": "note", "text": "补记", "occurred_at": (datetime.now(UTC) - timedelta(days=3)).isoformat()}, "occurred_at")):
        response = await log(client, captain, did, **body)
        assert response.status_code == 422 and says in response.text, (body, response.text)
    assert await LogEntry.count() == 0
    assert (await step(client, captain, did, "on_scene", at=(datetime.now(UTC) - timedelta(days=1)).isoformat())).status_code == 422
    bad_release = await client.post(f"/api/v1/deployments/{did}/members/{stranger}/release", json={}, headers=bearer(captain))
    assert bad_release.status_code == 409 and bad_release.json()["code"] == "not_on_deployment"
    from rescueops.teams.tables import Team

    await Team.update({Team.status: "suspended"}).where(Team.code == "CF-HS-01")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    suspended = await client.post(url, json={"team_code": "CF-HS-01"}, headers=bearer(supervisor))
    assert suspended.status_code == 422 and suspended.json()["code"] == "team_unavailable"


async def test_interface_b_runs_inside_a_callers_transaction(db, make_principal) -> None:
    """What coordination calls: open an incident and dispatch a team as the system, inside its own transaction."""
    from rescueops.db import write_transaction
    from rescueops.deployments import service
    from rescueops.deployments.schemas import DispatchIn, IncidentIn
    from rescueops.deployments.tables import DeploymentStatus

    team = await make_team(members=2)
    await register_items(TEAM, "CF-WNT-ROPE-001")
    incident_in = IncidentIn.model_validate(incident_body(source="assistance:12"))

    class Refused(Exception):
        pass

    try:
        async with write_transaction():
            incident = await service.open_incident(None, incident_in)
            await service.dispatch_team(None, incident.id, DispatchIn(team_code=TEAM, person_ids=team["people"], asset_tags=["CF-WNT-ROPE-001"]))
            raise Refused  # the caller's own step fails after the dispatch: everything goes
    except Refused:
        pass
    assert (await Incident.count(), await Deployment.count(), await Checkout.count(), len(await _events())) == (0, 0, 0, 0)
    async with write_transaction():
        incident = await service.open_incident(None, incident_in)
        deployment = await service.dispatch_team(None, incident.id, DispatchIn(
            team_code=TEAM, person_ids=team["people"], asset_tags=["CF-WNT-ROPE-001"], source="offer:3"))
    assert incident.source == "assistance:12" and incident.created_by_name == "系统"
    assert deployment.status is DeploymentStatus.alerted and deployment.people == 2 and deployment.source == "offer:3"
    assert deployment.team_code == TEAM and deployment.incident_title == incident.title and deployment.closed_at is None
    assert await service.deployed_people() == set(team["people"])
    assert (await equipment.get_item(None, "CF-WNT-ROPE-001")).status.value == "checked_out"
    [started] = await _events("deployment.started")
    assert started["actor"] == "system" and json.loads(started["payload"])["source"] == "offer:3"
    supervisor = await make_principal("league_supervisor", unit="150400")
    outsider = await make_principal("league_supervisor", unit="150200")
    assert [d.id for d in await service.list_deployments(supervisor, status=DeploymentStatus.alerted, incident_id=incident.id)] == [deployment.id]
    assert await service.list_deployments(supervisor, status=DeploymentStatus.closed) == []
    assert await service.list_deployments(outsider) == []
