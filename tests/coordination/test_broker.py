"""The assistance flow over the real RabbitMQ, across regional worker processes: east's request reaches the other
hubs' queues; central's worker ranks it (east's does not rank its own), west's and northeast's queues hold it until
their worker comes up and ranks it too; central offers, east accepts, and the team is dispatched."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import aio_pika

from rescueops.coordination.tables import HubResponse
from rescueops.deployments import service as deployments
from rescueops.events import topology
from rescueops.events.tables import OutboxEvent, ProcessedEvent
from tests.conftest import bearer
from tests.coordination.builders import request_body
from tests.coordination.test_flow import four_hubs


async def _until(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def _ranked(request_id: int) -> set[str]:
    rows = await HubResponse.select(HubResponse.hub_code).where((HubResponse.request == request_id) & HubResponse.ranked_at.is_not_null())
    return {row["hub_code"] for row in rows}


async def _waiting(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count


async def _unsent() -> int:
    return await OutboxEvent.count().where(OutboxEvent.published_at.is_null())


async def test_the_assistance_flow_across_regional_workers(client, make_user, admin, amqp_url, start_worker) -> None:
    await four_hubs(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    _, central = await make_user("hub_coordinator", hub="central")
    east_worker = start_worker("--region", "east", amqp_url=amqp_url)
    central_worker = start_worker("--region", "central", amqp_url=amqp_url)

    raised = await client.post("/api/v1/coordination/requests", json=request_body(people_needed=3), headers=bearer(east))
    assert raised.status_code == 201, raised.text
    request_id = raised.json()["id"]
    await _until(lambda: _ranked_is(request_id, {"central"}), what="central's ranking")
    requested = (await OutboxEvent.select(OutboxEvent.event_id).where(OutboxEvent.type == "assistance.requested").first())["event_id"]
    # east's consumer had it too, and left it alone: its own region's request
    await _until(lambda: ProcessedEvent.exists().where((ProcessedEvent.consumer == "east.coordination")
                                                       & (ProcessedEvent.event_id == requested)), what="east's consumer")
    assert await _ranked(request_id) == {"central"}
    for region in ("west", "northeast"):  # no worker there yet: the request waits in their queues
        assert await _waiting(amqp_url, topology.queue_name(region, "coordination")) == 1
    inbox = (await client.get("/api/v1/notifications/", headers=bearer(central))).json()
    assert [m["kind"] for m in inbox] == ["assistance.requested"]

    # Their worker comes up: both rank the waiting request; all three hubs asked now have candidates, east none.
    others = start_worker("--region", "west", "--region", "northeast", amqp_url=amqp_url)
    await _until(lambda: _ranked_is(request_id, {"central", "west", "northeast"}), what="west's and northeast's rankings")
    answers = (await client.get(f"/api/v1/coordination/requests/{request_id}/candidates", headers=bearer(east))).json()
    assert {a["hub_code"]: [c["team_code"] for c in a["candidates"]] for a in answers} == {
        "northeast": ["HL-01"], "central": ["UL-01"], "west": ["OR-01"]}

    eta = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    offered = await client.post(f"/api/v1/coordination/requests/{request_id}/offers", json={"team_code": "UL-01", "people": 3, "eta": eta},
                                headers=bearer(central))
    assert offered.status_code == 201, offered.text
    accepted = await client.post(f"/api/v1/coordination/offers/{offered.json()['id']}/accept", headers=bearer(east))
    assert accepted.status_code == 200, accepted.text
    request = (await client.get(f"/api/v1/coordination/requests/{request_id}", headers=bearer(east))).json()
    assert request["status"] == "fulfilled"
    [deployment] = await deployments.list_deployments(None, incident_id=request["incident_id"])
    assert (deployment.team_code, deployment.source) == ("UL-01", f"offer:{offered.json()['id']}")
    await _until(_none_unsent, what="the relays to publish every event")
    # Three relays shared the outbox, and every hub's consumer applied each coordination event once.
    for kind in ("assistance.requested", "assistance.offered", "assistance.accepted", "deployment.started"):
        event_id = (await OutboxEvent.select(OutboxEvent.event_id).where(OutboxEvent.type == kind).first())["event_id"]
        await _until(lambda event_id=event_id: _processed_by_all(event_id), what=f"every coordination consumer to apply {kind}")
    assert "assistance.accepted" in [m["kind"] for m in (await client.get("/api/v1/notifications/", headers=bearer(central))).json()]
    for worker in (east_worker, central_worker, others):
        assert worker.terminate() == 0, worker.text


async def _processed_by_all(event_id) -> bool:
    rows = await ProcessedEvent.select(ProcessedEvent.consumer).where(ProcessedEvent.event_id == event_id)
    return sorted(r["consumer"] for r in rows if r["consumer"].endswith(".coordination")) == sorted(
        f"{region}.coordination" for region in topology.REGIONS)


async def _ranked_is(request_id: int, hubs: set[str]) -> bool:
    return await _ranked(request_id) == hubs


async def _none_unsent() -> bool:
    return await _unsent() == 0


