"""Consumers apply what arrived together in one transaction (bus.apply_batch): the same outcomes as one by one."""

from __future__ import annotations

import pytest

from rescueops.events import bus
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
