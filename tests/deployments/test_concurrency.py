"""Races through the real app: a log entry never lands after the close; one person never goes on two deployments."""

from __future__ import annotations

import asyncio

from rescueops.deployments.tables import DeployedMember, Deployment, LogEntry, Transition
from tests.conftest import bearer
from tests.deployments.helpers import TEAM, dispatch, log, open_incident, to_demobilising
from tests.factories import make_team


async def test_log_entries_racing_the_close_land_before_it_or_not_at_all(client, make_user) -> None:
    await make_team(members=1)
    _, captain = await make_user("captain", team=TEAM)
    did = (await dispatch(client, captain, (await open_incident(client, captain))["id"]))["id"]
    await to_demobilising(client, captain, did)
    entries = [log(client, captain, did, "note", text=f"撤离途中记录 {i}") for i in range(12)]
    closing = client.post(f"/api/v1/deployments/{did}/close", json={}, headers=bearer(captain))
    results = await asyncio.gather(*entries[:6], closing, *entries[6:])
    closed, logged = results[6], results[:6] + results[7:]
    assert closed.status_code == 200, closed.text
    accepted = [r for r in logged if r.status_code == 201]
    refused = [r for r in logged if r.status_code != 201]
    assert all(r.status_code == 409 and r.json()["code"] == "deployment_closed" for r in refused), [r.text for r in refused]
    assert await LogEntry.count() == len(accepted)
    close_recorded = (await Transition.select(Transition.recorded_at).where(
        (Transition.deployment == did) & (Transition.to_status == "closed")).first())["recorded_at"]
    assert all(r["recorded_at"] <= close_recorded for r in await LogEntry.select(LogEntry.recorded_at))


async def test_two_dispatches_of_one_person_at_once_give_one_deployment_of_them(client, make_user) -> None:
    team = await make_team(members=1)
    _, captain = await make_user("captain", team=TEAM)
    incidents = [await open_incident(client, captain, title=f"同时出动 {i}") for i in range(3)]
    responses = await asyncio.gather(*[client.post(f"/api/v1/deployments/incidents/{i['id']}/deployments",
                                                   json={"team_code": TEAM, "person_ids": team["people"]}, headers=bearer(captain))
                                       for i in incidents])
    assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"already_deployed"}
    assert await Deployment.count() == 1 and await DeployedMember.count() == 1
