"""The in-process bus: the outbox dispatched to every consumer its routing key reaches, once each."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rescueops.db import write_transaction
from rescueops.events import bus, topology
from rescueops.events import service as events
from rescueops.events.schemas import NotificationsSent
from rescueops.events.tables import DeadLetter, OutboxEvent, ProcessedEvent, ReceivedEvent
from tests.events import probe


@pytest.fixture
async def probes(db):
    await probe.create_probe_table()
    probe.attempts.clear()
    probe.fixed.clear()
    yield
    await OutboxEvent.raw("DROP TABLE IF EXISTS test_probe_applied")


@pytest.mark.parametrize(("pattern", "key", "expected"), probe.TOPIC_CASES)
def test_bindings_match_as_a_topic_exchange_does(pattern: str, key: str, expected: bool) -> None:
    assert topology.matches(pattern, key) is expected


@pytest.mark.parametrize(("key", "consumers"), [
    ("east.assistance.requested", {"northeast.coordination", "east.coordination", "central.coordination", "west.coordination",
                                   "east.notifications", "east.audit"}),
    ("all.drill.scheduled", {f"{r}.{p}" for r in topology.REGIONS for p in ("notifications", "audit")}),
    ("west.team.graded", {"west.notifications", "west.audit"}),
    ("all.equipment_transfer.dispatched", {f"{r}.{p}" for r in topology.REGIONS for p in topology.PURPOSES}),
])
def test_an_event_reaches_the_queues_bound_to_its_key(key: str, consumers: set[str]) -> None:
    assert {spec.consumer for spec in topology.consumers_for(key)} == consumers


def _sent(key: str) -> NotificationsSent:
    return NotificationsSent(kind="drill.reminder", key=key, title="演练提醒", body="", link="/drills/1", user_ids=[1])


async def test_a_rolled_back_change_dispatches_nothing(db) -> None:
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await events.emit(None, "notification.sent", _sent("a"), org_path=probe.CHIFENG, aggregate_id="a")
            raise RuntimeError("the change failed")
    assert await bus.drain() == 0
    assert await ReceivedEvent.count() == 0
    async with write_transaction():
        event_id = await events.emit(None, "notification.sent", _sent("b"), org_path=probe.CHIFENG, aggregate_id="b")
    assert await bus.drain() == 1
    received = await ReceivedEvent.select(ReceivedEvent.region, ReceivedEvent.event_id, ReceivedEvent.routing_key)
    assert received == [{"region": "east", "event_id": event_id, "routing_key": "east.notification.sent"}]
    assert sorted(row["consumer"] for row in await ProcessedEvent.select(ProcessedEvent.consumer)) == ["east.audit", "east.notifications"]
    row = await OutboxEvent.select(OutboxEvent.published_at, OutboxEvent.claimed_by, OutboxEvent.claim_expires).first()
    assert row["published_at"] is not None and row["claimed_by"] == "" and row["claim_expires"] is None
    assert await bus.drain() == 0


async def test_an_event_for_every_region_reaches_every_hubs_audit(db) -> None:
    async with write_transaction():
        await events.emit(None, "notification.sent", _sent("c"), org_path="/150000/", aggregate_id="c")
    await bus.drain()
    assert sorted(row["region"] for row in await ReceivedEvent.select(ReceivedEvent.region)) == sorted(topology.REGIONS)


async def test_redelivery_never_applies_an_event_twice(probes) -> None:
    [event_id] = await probe.emit_probes(1)
    assert await bus.drain() == 1
    # as if a relay had died after handing the row on but before marking it sent
    await OutboxEvent.update({OutboxEvent.published_at: None}, force=True)
    assert await bus.drain() == 1
    assert await probe.applied() == [("east.notifications", event_id, 0)]
    assert await ReceivedEvent.count() == 1
    envelope = bus.EventOut.from_row(await OutboxEvent.select().first())
    assert (await bus.apply("east.notifications", envelope.model_dump_json())).status == "duplicate"
    assert (await bus.apply("west.notifications", envelope)).status == "applied"  # another consumer is another record
    assert [row[0] for row in await probe.applied()] == ["east.notifications", "west.notifications"]


async def test_a_failing_handler_leaves_nothing_and_is_retried(probes) -> None:
    [event_id] = await probe.emit_probes(1, fail="twice")
    await bus.drain()
    assert probe.attempts[event_id] == 3
    assert await probe.applied() == [("east.notifications", event_id, 0)]  # the two failed attempts' writes are gone
    assert await DeadLetter.count() == 0


async def test_a_database_that_is_away_keeps_the_event_for_later(probes) -> None:
    [event_id] = await probe.emit_probes(1, fail="unreachable")
    with pytest.raises(ConnectionRefusedError):
        await bus.drain()
    row = await OutboxEvent.select(OutboxEvent.published_at, OutboxEvent.claimed_by, OutboxEvent.last_error).first()
    assert row == {"published_at": None, "claimed_by": "", "last_error": "ConnectionRefusedError: the database is restarting"}
    assert await DeadLetter.count() == 0  # not the event's fault: it is not dead-lettered
    assert await bus.drain() == 1
    assert await probe.applied() == [("east.notifications", event_id, 0)] and probe.attempts[event_id] == 2


async def test_a_handler_that_keeps_failing_is_dead_lettered_then_replayed(probes) -> None:
    [event_id] = await probe.emit_probes(1, fail="always")
    [good] = await probe.emit_probes(1, start=1)
    assert await bus.drain() == 2
    assert probe.attempts[event_id] == topology.DELIVERY_LIMIT
    [dead] = await DeadLetter.select()
    assert dead["consumer"] == "east.notifications" and dead["event_id"] == event_id and dead["type"] == "test_probe.sent"
    assert dead["reason"] == f"handler failed {topology.DELIVERY_LIMIT} times: RuntimeError: probe 0 always fails"
    assert dead["attempts"] == topology.DELIVERY_LIMIT and dead["routing_key"] == "east.test_probe.sent"
    assert await probe.applied() == [("east.notifications", good, 1)]
    assert await ReceivedEvent.count() == 2  # the audit consumer had both: one consumer's failure is its own
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 0
    assert [row["id"] for row in await bus.dead_letters("east.notifications")] == [dead["id"]]

    assert (await bus.replay_dead_letter(dead["id"])).status == "dead"  # not fixed yet: it stays, with more attempts
    assert (await DeadLetter.select(DeadLetter.attempts, DeadLetter.replayed_at).first()) == {
        "attempts": 2 * topology.DELIVERY_LIMIT, "replayed_at": None}
    probe.fixed.add(event_id)
    assert (await bus.replay_dead_letter(dead["id"])).status == "applied"
    assert (await probe.applied())[0] == ("east.notifications", event_id, 0)
    assert await bus.dead_letters() == []
    with pytest.raises(LookupError):
        await bus.replay_dead_letter(dead["id"] + 100)


async def _raw_outbox(type_: str, version: int, payload: dict) -> str:
    event_id = uuid.uuid4()
    await OutboxEvent.insert(OutboxEvent(
        event_id=event_id, type=type_, version=version, occurred_at=datetime.now(UTC), source_region="east", org_path=probe.CHIFENG,
        aggregate_id="x", actor="system", routing_key=f"east.{type_}", payload=json.dumps(payload),
    ))
    return str(event_id)


async def test_poison_is_dead_lettered_with_its_reason_and_the_rest_goes_on(probes) -> None:
    sent = _sent("k").model_dump(mode="json")
    newer = await _raw_outbox("notification.sent", 2, sent)
    unknown = await _raw_outbox("nobody.knows", 1, {})
    broken = await _raw_outbox("notification.sent", 1, {"kind": "x"})
    [good] = await probe.emit_probes(1)
    assert await bus.drain() == 4
    reasons = {(row["event_id"], row["consumer"]): row["reason"] for row in await DeadLetter.select()}
    assert reasons[(newer, "east.audit")] == "unknown version 2 of notification.sent (this release reads version 1)"
    assert reasons[(unknown, "east.notifications")] == "unknown event type 'nobody.knows'"
    assert reasons[(broken, "east.audit")].startswith("payload does not match notification.sent version 1: key: Field required")
    assert len(reasons) == 6  # each bad event, for each of its two consumers
    assert await probe.applied() == [("east.notifications", good, 0)]
    assert [row["event_id"] for row in await ReceivedEvent.select(ReceivedEvent.event_id)] == [uuid.UUID(good)]
    assert await ProcessedEvent.count() == 2  # a dead letter is not "processed": a replay may still apply it

    outcome = await bus.deliver("east.audit", b"{not json")
    assert outcome.status == "dead" and outcome.reason.startswith("malformed envelope: not JSON")
    outcome = await bus.deliver("east.audit", json.dumps({"type": "notification.sent"}))
    assert outcome.status == "dead" and outcome.reason.startswith("malformed envelope: event_id: Field required")
    last = await DeadLetter.select().order_by(DeadLetter.id, ascending=False).first()
    assert last["event_id"] == "" and last["type"] == "notification.sent" and last["envelope"] == '{"type": "notification.sent"}'


async def test_concurrent_claims_take_disjoint_batches(probes) -> None:
    await probe.emit_probes(40)
    batches = await asyncio.gather(*(bus.claim(f"relay-{n}", 3) for n in range(16)))
    ids = [row["id"] for batch in batches for row in batch]
    assert all(len(batch) <= 3 for batch in batches) and len(ids) == len(set(ids)) == 40


async def test_two_claimers_never_hold_the_same_row(probes) -> None:
    await probe.emit_probes(7)
    ids_a = {row["id"] for row in await bus.claim("relay-a", 4)}
    ids_b = {row["id"] for row in await bus.claim("relay-b", 10)}
    assert len(ids_a) == 4 and len(ids_b) == 3 and not ids_a & ids_b
    assert await bus.claim("relay-c") == []
    await bus.mark_sent(sorted(ids_a), "relay-b")  # not b's rows: nothing changes
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_not_null()) == 0
    await bus.release(sorted(ids_a), "relay-a", "ConnectionError: broker away")
    again = await bus.claim("relay-c")
    assert {row["id"] for row in again} == ids_a and {row["last_error"] for row in again} == {"ConnectionError: broker away"}
    # a holder that died: its claim expires and the rows are claimed again
    await OutboxEvent.update({OutboxEvent.claim_expires: datetime.now(UTC) - timedelta(seconds=1)}).where(OutboxEvent.id.is_in(sorted(ids_b)))
    assert {row["id"] for row in await bus.claim("relay-d")} == ids_b


async def test_the_bus_dispatches_in_the_background_and_stops(probes) -> None:
    running = bus.InProcessBus(poll_seconds=0.05).start()
    try:
        [event_id] = await probe.emit_probes(1)
        for _ in range(100):
            if await probe.applied():
                break
            await asyncio.sleep(0.05)
    finally:
        await running.stop()
    assert await probe.applied() == [("east.notifications", event_id, 0)]
    assert running._task is not None and running._task.done()


def test_handlers_register_for_a_known_purpose_only() -> None:
    with pytest.raises(ValueError, match="unknown purpose"):
        bus.handles("billing", "team.created")
    assert probe.apply_probe in bus.handlers_for("notifications", "test_probe.sent")
    assert probe.apply_probe not in bus.handlers_for("notifications", "team.created")
    assert events.record_received in bus.handlers_for("audit", "team.created")


def _command(*args: str) -> str:
    env = {**os.environ}
    env.pop("RESCUEOPS_AMQP_URL", None)
    done = subprocess.run([sys.executable, "-m", "rescueops", "events", *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_dead_letters_are_listed_and_replayed_from_the_command_line(probes) -> None:
    sent = _sent("k").model_dump(mode="json")
    newer = await _raw_outbox("notification.sent", 2, sent)
    await bus.drain()
    listed = await asyncio.to_thread(_command, "dead-letters", "--region", "east")
    assert listed.count(newer) == 2 and "unknown version 2 of notification.sent" in listed and "2 dead letters" in listed
    assert "0 dead letters" in await asyncio.to_thread(_command, "dead-letters", "--region", "west")
    # the release that reads version 2 is not there yet: a replay leaves them dead, and says so
    replayed = await asyncio.to_thread(_command, "dead-letters", "--replay")
    assert replayed.count("-> dead") == 2 and len(await bus.dead_letters()) == 2
