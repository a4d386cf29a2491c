"""Consumers apply what arrived together in one transaction (bus.apply_batch): the same outcomes as one by one."""

from __future__ import annotations

import json
import uuid

import pytest

from rescueops.events import bus, topology
from rescueops.events.schemas import EventOut
from rescueops.events.tables import DeadLetter, OutboxEvent, ProcessedEvent, ReceivedEvent
from tests.events import probe
from tests.events.test_rabbitmq import broker, exactly_once, ready_messages, running, until  # noqa: F401 (broker: fixture)


@pytest.fixture
async def probes(db):
    await probe.create_probe_table()
    probe.attempts.clear()
    yield
    await OutboxEvent.raw("DROP TABLE IF EXISTS test_probe_applied")


async def envelopes(event_ids: list[str]) -> list[EventOut]:
    rows = await OutboxEvent.select().order_by(OutboxEvent.id)
    by_id = {str(row["event_id"]): EventOut.from_row(row) for row in rows}
    return [by_id[event_id] for event_id in event_ids]


async def test_a_batch_applies_each_new_event_once_and_says_what_it_did_with_each(probes) -> None:
    first, second, third = await envelopes(await probe.emit_probes(3))
    assert (await bus.apply("east.notifications", first)).status == "applied"

    outcomes = await bus.apply_batch("east.notifications", [first, second, second.model_dump_json(), b"{not json", third])

    assert [o.status for o in outcomes] == ["duplicate", "applied", "duplicate", "dead", "applied"]
    assert outcomes[3].reason.startswith("malformed envelope: not JSON")
    assert await probe.applied() == [("east.notifications", str(e.event_id), n) for n, e in enumerate((first, second, third))]
    assert await ProcessedEvent.count().where(ProcessedEvent.consumer == "east.notifications") == 3


async def test_a_batch_handler_gets_the_new_events_of_the_batch_in_order(probes) -> None:
    events = await envelopes(await probe.emit_probes(4))
    assert (await bus.apply("east.audit", events[1])).status == "applied"

    outcomes = await bus.apply_batch("east.audit", [*events, events[2]])

    assert [o.status for o in outcomes] == ["applied", "duplicate", "applied", "applied", "duplicate"]
    received = await ReceivedEvent.select(ReceivedEvent.event_id).order_by(ReceivedEvent.id)
    assert [row["event_id"] for row in received] == [events[n].event_id for n in (1, 0, 2, 3)]  # one row per event


async def test_a_handler_failing_in_a_batch_leaves_nothing_of_the_batch(probes) -> None:
    good = await probe.emit_probes(2)
    bad = await probe.emit_probes(1, start=2, fail="always")
    with pytest.raises(RuntimeError, match="probe 2 always fails"):
        await bus.apply_batch("east.notifications", await envelopes([good[0], bad[0], good[1]]))
    assert await probe.applied() == []
    assert await ProcessedEvent.count() == 0


async def test_a_failing_message_in_a_delivered_batch_is_retried_alone(broker, monkeypatch) -> None:  # noqa: F811
    await probe.emit_probes(12)
    [failing] = await probe.emit_probes(1, start=12, fail="twice")
    await probe.emit_probes(12, start=13)
    connection = await bus.connect(broker)
    async with connection:
        assert await bus.Relay(connection).publish_pending() == 25  # all queued before the consumer starts
    sizes: list[int] = []
    apply_batch = bus.apply_batch

    async def recorded(consumer: str, messages: list) -> list[bus.Outcome]:
        if consumer == "east.notifications":
            sizes.append(len(messages))
        return await apply_batch(consumer, messages)

    monkeypatch.setattr(bus, "apply_batch", recorded)
    async with running(broker, relay=False):
        async def all_applied() -> bool:
            return len(await probe.applied()) >= 25

        await until(all_applied, 30, "every probe")
    exactly_once(await probe.applied(), 25)
    assert max(sizes) > 1  # deliveries were applied together
    assert probe.attempts[failing] == 3  # it fails twice (in its batch or alone, then nacked) and applies on redelivery
    assert await DeadLetter.count() == 0 and await ready_messages(broker, "rescueops.east.dead-letter") == 0


def test_a_relay_sends_the_events_of_one_routing_key_together_in_outbox_order() -> None:
    rows = [{"id": n, "routing_key": key} for n, key in enumerate(["east.a", "west.b", "east.a", "east.a", "west.b"])]
    assert [[row["id"] for row in group] for group in bus.by_routing_key(rows, most=2)] == [[0, 2], [3], [1, 4]]


def test_a_message_carries_one_envelope_or_an_array_of_them() -> None:
    assert bus.unpack(b'{"event_id": "x"}') == [{"event_id": "x"}]
    assert bus.unpack(b'[{"event_id": "x"}, {"event_id": "y"}]') == [{"event_id": "x"}, {"event_id": "y"}]
    assert bus.unpack(b"{not json") == [b"{not json"]  # refused whole by read_envelope, with the reason
    assert bus.unpack(b"[]") == [[]]  # an empty array is one malformed envelope, not no events


async def test_a_bad_event_among_good_ones_in_a_message_is_dead_lettered_alone(broker) -> None:  # noqa: F811
    good = await probe.emit_probes(2)
    connection = await bus.connect(broker)
    async with connection:
        [message] = [bus._message(group) for group in bus.by_routing_key(await OutboxEvent.select().order_by(OutboxEvent.id))]
        first, second = bus.unpack(message.body)
        newer = {**first, "event_id": str(uuid.uuid4()), "version": 9}
        message.body = json.dumps([first, newer, second]).encode()
        channel = await connection.channel(publisher_confirms=True)
        exchange = (await topology.declare(channel, regions=())).exchange
        await exchange.publish(message, routing_key="east.test_probe.sent")
    async with running(broker, relay=False):
        async def two_dead() -> bool:  # the poison, from the notifications and the audit queue
            return await ready_messages(broker, "rescueops.east.dead-letter") == 2

        await until(two_dead, 20, "the bad event in the dead-letter queue")
        await until(lambda: _applied(2), 20, "the good events")
    exactly_once(await probe.applied(), 2)
    assert await ReceivedEvent.count() == 2
    dead = await bus.broker_dead_letters(broker, "east")
    assert {d["consumer"] for d in dead} == {"east.notifications", "east.audit"}
    assert {d["message_id"] for d in dead} == {newer["event_id"]}
    assert {d["reason"] for d in dead} == {"unknown version 9 of test_probe.sent (this release reads version 1)"}
    assert [json.loads(d["body"]) for d in dead] == [newer, newer]  # the event by itself, not the message it came in
    assert good == [first["event_id"], second["event_id"]]


async def test_a_handler_that_keeps_failing_dead_letters_only_its_event_of_the_message(broker) -> None:  # noqa: F811
    await probe.emit_probes(1)
    [failing] = await probe.emit_probes(1, start=1, fail="always")
    await probe.emit_probes(1, start=2)
    async with running(broker):
        async def dead_lettered() -> bool:
            return await ready_messages(broker, "rescueops.east.dead-letter") == 1

        await until(dead_lettered, 30, "the failing event in the dead-letter queue")
        assert probe.attempts[failing] > topology.DELIVERY_LIMIT  # in its batch and alone, each delivery
        [dead] = await bus.broker_dead_letters(broker, "east")
        assert dead["consumer"] == "east.notifications" and dead["message_id"] == failing
        assert [n for _, _, n in await probe.applied()] == [0, 2]  # its neighbours stay applied, once each
        probe.fixed.add(failing)
        await bus.broker_dead_letters(broker, "east", replay=True)
        await until(lambda: _applied(3), 20, "the replayed event")
    exactly_once(await probe.applied(), 3)
    assert await ReceivedEvent.count() == 3  # the audit consumer had the three once
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 0


async def _applied(count: int) -> bool:
    return len(await probe.applied()) >= count
