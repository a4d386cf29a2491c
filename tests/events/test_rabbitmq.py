"""The RabbitMQ transport against the real broker on this machine (a fresh vhost for the run).

Relay and consumers run either in this process (``running``) or as ``rescueops worker`` subprocesses;
the probe handler (tests/events/probe.py) records every application, so "exactly once" is counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aio_pika
import pytest

from rescueops.events import bus, topology
from rescueops.events.schemas import EventOut
from rescueops.events.tables import OutboxEvent, ProcessedEvent, ReceivedEvent
from tests.events import probe


@pytest.fixture
async def broker(amqp_url, db):
    await probe.create_probe_table()
    probe.attempts.clear()
    probe.fixed.clear()
    yield amqp_url
    await OutboxEvent.raw("DROP TABLE IF EXISTS test_probe_applied")


@asynccontextmanager
async def running(url: str, regions: tuple[str, ...] = ("east",), *, relay: bool = True) -> AsyncIterator[None]:
    """A worker's relay and consumers in this process."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(bus.run_amqp(url, regions, stop, relay=relay, on_ready=ready.set))
    await asyncio.wait_for(ready.wait(), 15)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 45)


@asynccontextmanager
async def tap(url: str, pattern: str = "#") -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A private queue bound to the events exchange, to see what was published."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = (await topology.declare(channel, regions=())).exchange
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key=pattern)
        yield queue


async def taken(queue: aio_pika.abc.AbstractQueue) -> list[aio_pika.abc.AbstractIncomingMessage]:
    messages = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        messages.append(message)
    return messages


async def until(check, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def ready_messages(url: str, queue_name: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        queue = await (await connection.channel()).declare_queue(queue_name, passive=True)
        return queue.declaration_result.message_count


def carried(messages: list[aio_pika.abc.AbstractIncomingMessage]) -> list[str]:
    """The event ids the messages carry, in order."""
    return [envelope["event_id"] for message in messages for envelope in bus.unpack(message.body)]


def close_connections(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test"], check=True, capture_output=True, timeout=60)


def exactly_once(applications: list[tuple[str, str, int]], count: int) -> None:
    seen = Counter(n for _, _, n in applications)
    assert sorted(seen) == list(range(count)), f"missing: {sorted(set(range(count)) - set(seen))[:10]}"
    assert max(seen.values()) == 1, f"applied twice: {[n for n, c in seen.items() if c > 1][:10]}"


async def test_the_broker_routes_as_the_in_process_bus_does(broker) -> None:
    connection = await aio_pika.connect(broker)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"test.routing.{uuid.uuid4().hex[:6]}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        patterns = sorted({pattern for pattern, _, _ in probe.TOPIC_CASES})
        queues = {}
        for pattern in patterns:
            queues[pattern] = await channel.declare_queue(exclusive=True)
            await queues[pattern].bind(exchange, routing_key=pattern)
        for key in sorted({key for _, key, _ in probe.TOPIC_CASES}):
            await exchange.publish(aio_pika.Message(key.encode() or b"<empty>"), routing_key=key)
        await asyncio.sleep(0.3)
        for pattern, queue in queues.items():
            received = {message.body.decode() for message in await taken(queue)}
            for case_pattern, key, expected in probe.TOPIC_CASES:
                if case_pattern == pattern:
                    assert ((key or "<empty>") in received) is expected, (pattern, key)
                    assert topology.matches(pattern, key) is expected


async def test_the_relay_publishes_with_confirms_and_marks_rows_sent(broker) -> None:
    event_ids = await probe.emit_probes(5)
    connection = await bus.connect(broker)
    async with connection, tap(broker) as seen:
        relay = bus.Relay(connection, batch=3)
        assert await relay.publish_pending() == 3
        assert await relay.publish_pending() == 2
        assert await relay.publish_pending() == 0
        messages = await taken(seen)
    # One message per claimed batch (the events share a routing key), the events in outbox order.
    assert carried(messages) == event_ids
    assert [m.message_id for m in messages] == [event_ids[0], event_ids[3]]
    assert [m.headers[topology.EVENTS_HEADER] for m in messages] == [3, 2]
    assert {m.routing_key for m in messages} == {"east.test_probe.sent"}
    assert {m.delivery_mode for m in messages} == {aio_pika.DeliveryMode.PERSISTENT}
    envelope = EventOut.model_validate(bus.unpack(messages[0].body)[0])
    assert envelope.type == "test_probe.sent" and envelope.payload == {"n": 0, "fail": ""} and envelope.published_at is None
    rows = await OutboxEvent.select(OutboxEvent.published_at, OutboxEvent.claimed_by, OutboxEvent.attempts)
    assert all(r["published_at"] is not None and r["claimed_by"] == "" and r["attempts"] == 1 for r in rows)
    assert await ready_messages(broker, "rescueops.east.notifications") == 2  # the durable queues hold them for the consumers
    assert await ready_messages(broker, "rescueops.west.notifications") == 0


async def test_nothing_is_lost_or_applied_twice_when_connections_drop_mid_stream(broker, rabbitmq_vhost) -> None:
    async with running(broker):
        for batch in range(20):
            await probe.emit_probes(50, start=batch * 50)
            if batch in (6, 13):
                await asyncio.to_thread(close_connections, rabbitmq_vhost)
            await asyncio.sleep(0.05)

        async def all_applied() -> bool:
            return len(await probe.applied()) >= 1000 and await ReceivedEvent.count() >= 1000

        await until(all_applied, 45, "1,000 events applied")
    exactly_once(await probe.applied(), 1000)
    assert await ReceivedEvent.count() == 1000
    assert await ProcessedEvent.count() == 2000  # the east hub's notifications and audit queues, once each
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 0
    assert await ready_messages(broker, "rescueops.east.notifications") == 0
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 0


CONSUMER_SCRIPT = """
import asyncio, os, sys
from rescueops.db import engine
from rescueops.events import bus
from tests.events import probe

original = bus.apply

async def apply_then_stall(consumer, body):
    outcome = await original(consumer, body)
    if consumer == "east.notifications":
        print("committed", flush=True)   # the handler's transaction has committed; the ack is not sent
        await asyncio.sleep(3600)
    return outcome

async def main():
    db = engine.database()
    await engine.prepare(db)
    if sys.argv[1] == "after-commit":
        bus.apply = apply_then_stall
    await bus.run_amqp(os.environ["RESCUEOPS_AMQP_URL"], ("east",), asyncio.Event(), relay=False,
                       on_ready=lambda: print("ready", flush=True))

asyncio.run(main())
"""


@pytest.mark.parametrize("moment", ["after-commit", "in-handler"])
async def test_a_consumer_killed_before_its_ack_applies_the_event_once(broker, moment, monkeypatch) -> None:
    [event_id] = await probe.emit_probes(1, fail="stall" if moment == "in-handler" else "")
    connection = await bus.connect(broker)
    async with connection:
        assert await bus.Relay(connection).publish_pending() == 1
    env = {**os.environ, "RESCUEOPS_AMQP_URL": broker, "PROBE_STALL": "1"}
    process = subprocess.Popen([sys.executable, "-c", CONSUMER_SCRIPT, moment], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        signal_line = "committed" if moment == "after-commit" else "stalling"
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith(signal_line):
                break
        else:
            raise AssertionError("consumer exited:\n" + "".join(lines))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert await probe.applied() == ([("east.notifications", event_id, 0)] if moment == "after-commit" else [])

    outcomes: list[tuple[str, str]] = []
    original = bus.apply

    async def recording(consumer, body):
        outcome = await original(consumer, body)
        outcomes.append((consumer, outcome.status))
        return outcome

    monkeypatch.setattr(bus, "apply", recording)
    async with running(broker, relay=False):
        async def redelivered() -> bool:
            return any(consumer == "east.notifications" for consumer, _ in outcomes)

        await until(redelivered, 20, "the redelivery")
    assert ("east.notifications", "duplicate" if moment == "after-commit" else "applied") in outcomes
    assert await probe.applied() == [("east.notifications", event_id, 0)]
    assert await ProcessedEvent.count().where(ProcessedEvent.consumer == "east.notifications") == 1
    assert await ready_messages(broker, "rescueops.east.notifications") == 0


async def test_two_relays_at_once_never_publish_the_same_row(broker) -> None:
    await probe.emit_probes(600)
    first, second = await bus.connect(broker), await bus.connect(broker)
    async with first, second, tap(broker) as seen:
        relays = [bus.Relay(first, holder="relay-1", batch=40), bus.Relay(second, holder="relay-2", batch=40)]

        async def until_empty(relay: bus.Relay) -> None:
            while await relay.publish_pending():
                await asyncio.sleep(0)

        await asyncio.gather(*(until_empty(relay) for relay in relays))
        await asyncio.sleep(0.3)
        messages = await taken(seen)
    ids = Counter(carried(messages))
    assert len(ids) == 600 and max(ids.values()) == 1
    assert len(messages) == 15  # 40 events of one routing key a message
    assert relays[0].published > 0 and relays[1].published > 0 and relays[0].published + relays[1].published == 600
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 0


async def test_poison_goes_to_the_dead_letter_queue_and_the_worker_keeps_running(broker, start_worker) -> None:
    worker = start_worker("--region", "east", amqp_url=broker)
    newer = json.loads(EventOut(
        event_id=uuid.uuid4(), type="notification.sent", version=9, occurred_at=datetime.now(UTC), source_region="east",
        org_path=probe.CHIFENG, aggregate_id="x", actor="system", routing_key="east.notification.sent", payload={}, published_at=None,
    ).model_dump_json())
    connection = await aio_pika.connect(broker)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = (await topology.declare(channel, regions=())).exchange
        await exchange.publish(aio_pika.Message(b"{not json", message_id="broken-1"), routing_key="east.notification.sent")
        await exchange.publish(aio_pika.Message(json.dumps(newer).encode(), message_id=newer["event_id"]), routing_key="east.notification.sent")
    [good] = await probe.emit_notices(1)  # relayed by the worker after the poison, and received: the worker is alive
    await until(lambda: _received_count(1), 20, "the good event")

    async def four_dead() -> bool:
        return await ready_messages(broker, "rescueops.east.dead-letter") == 4

    await until(four_dead, 10, "the poison in the dead-letter queue")
    dead = await bus.broker_dead_letters(broker, "east")
    reasons = {(d["message_id"], d["consumer"]): d["reason"] for d in dead}
    assert reasons[("broken-1", "east.audit")].startswith("malformed envelope: not JSON")
    assert reasons[("broken-1", "east.notifications")].startswith("malformed envelope: not JSON")
    assert reasons[(newer["event_id"], "east.notifications")] == "unknown version 9 of notification.sent (this release reads version 1)"
    assert {d["routing_key"] for d in dead} == {"east.notification.sent"}
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 4  # looking took nothing away
    listed = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "rescueops", "events", "dead-letters", "--region", "east"],
                                     env={**os.environ, "RESCUEOPS_AMQP_URL": broker}, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "4 dead letters" in listed.stdout and listed.stdout.count("malformed envelope: not JSON") == 2
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 4
    assert [row["event_id"] for row in await ReceivedEvent.select(ReceivedEvent.event_id)] == [uuid.UUID(good)]
    assert worker.process.poll() is None
    assert worker.terminate() == 0 and "worker stopped" in worker.text


async def _applied_count(count: int) -> bool:
    return len(await probe.applied()) >= count


async def _received_count(count: int) -> bool:
    """A worker subprocess has no probe handler; its audit consumer's record counts applications instead."""
    return await ReceivedEvent.count() >= count


async def test_a_consumer_holds_its_message_while_the_database_is_away(broker) -> None:
    [event_id] = await probe.emit_probes(1, fail="unreachable")
    async with running(broker):
        await until(lambda: _applied_count(1), 20, "the event, once the database is back")
    assert probe.attempts[event_id] == 2 and await probe.applied() == [("east.notifications", event_id, 0)]
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 0


async def test_a_handler_that_keeps_failing_is_dead_lettered_and_replayed_once_fixed(broker) -> None:
    [event_id] = await probe.emit_probes(1, fail="always")
    async with running(broker):
        async def dead_lettered() -> bool:
            return await ready_messages(broker, "rescueops.east.dead-letter") == 1

        await until(dead_lettered, 20, "the dead letter")
        assert probe.attempts[event_id] == topology.DELIVERY_LIMIT
        assert await probe.applied() == []  # each failed attempt's writes were rolled back
        [dead] = await bus.broker_dead_letters(broker, "east")
        assert dead["consumer"] == "east.notifications" and dead["message_id"] == event_id
        assert dead["reason"] == f"handler failed {topology.DELIVERY_LIMIT} times: RuntimeError: probe 0 always fails"
        probe.fixed.add(event_id)
        replayed = await bus.broker_dead_letters(broker, "east", replay=True)
        assert [d["message_id"] for d in replayed] == [event_id]
        await until(lambda: _applied_count(1), 20, "the replayed event")
    assert await probe.applied() == [("east.notifications", event_id, 0)]
    assert await ReceivedEvent.count() == 1  # the audit consumer had it once, before and after
    assert await ready_messages(broker, "rescueops.east.dead-letter") == 0


async def test_the_worker_stops_cleanly_on_sigterm_mid_stream(broker, start_worker) -> None:
    worker = start_worker("--region", "east", amqp_url=broker)
    event_ids = await probe.emit_notices(150)
    await until(lambda: _received_count(20), 20, "the worker to start applying")
    started = time.monotonic()
    assert worker.terminate() == 0
    assert time.monotonic() - started < 15 and "worker stopped" in worker.text
    start_worker("--region", "east", amqp_url=broker)
    await until(lambda: _received_count(150), 30, "all 150 events")
    await asyncio.sleep(0.5)
    received = Counter(str(row["event_id"]) for row in await ReceivedEvent.select(ReceivedEvent.event_id))
    assert sorted(received) == sorted(event_ids) and max(received.values()) == 1


async def test_without_a_broker_the_worker_runs_the_in_process_bus(probes_only, start_worker) -> None:
    worker = start_worker("--region", "west")
    assert "in-process event bus" in worker.text
    [event_id] = await probe.emit_notices(1)
    await until(lambda: _received_count(1), 20, "the in-process bus")
    # every region, whatever --region says
    assert await ReceivedEvent.select(ReceivedEvent.region, ReceivedEvent.event_id) == [{"region": "east", "event_id": uuid.UUID(event_id)}]
    assert worker.terminate() == 0 and "worker stopped" in worker.text


@pytest.fixture
async def probes_only(db):
    await probe.create_probe_table()
    yield
    await OutboxEvent.raw("DROP TABLE IF EXISTS test_probe_applied")


async def test_the_relay_keeps_trying_while_the_broker_is_away(probes_only) -> None:
    await probe.emit_probes(2)
    stop = asyncio.Event()
    task = asyncio.create_task(bus.run_amqp("amqp://guest:guest@127.0.0.1:1/", ("east",), stop))
    await asyncio.sleep(1.2)
    assert not task.done()  # still retrying, with backoff
    stop.set()
    await asyncio.wait_for(task, 5)
    rows = await OutboxEvent.select(OutboxEvent.published_at, OutboxEvent.claimed_by)
    assert rows == [{"published_at": None, "claimed_by": ""}] * 2
