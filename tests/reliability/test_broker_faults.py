"""Broker faults with real ``rescueops worker`` processes relaying and consuming through the real RabbitMQ.

Events are committed through the real emit path (``events.service.emit``, by tests/events/probe.py); the probe
handler writes one row per application, in the consumer's transaction, so "applied exactly once" is counted, not
assumed: a duplicate delivery may happen and is fine, a second application is not. tests/events/test_rabbitmq.py
covers the same promises with the relay and consumers in the test process and dropped connections; these take the
broker itself away, kill a worker outright, and run two workers' relays on one outbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from rescueops.events import bus
from rescueops.events.tables import OutboxEvent, ProcessedEvent, ReceivedEvent
from tests.events import probe
from tests.events.test_rabbitmq import broker, carried, exactly_once, ready_messages, taken, tap, until  # noqa: F401 (broker: a fixture)
from tests.reliability._services import rabbitmq_down

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("broker")]  # broker: the probe table, fresh

PROBE = ("tests.events.probe",)  # the workers load the probe handler too
CONSUMERS = ("east.notifications", "east.audit")  # where a probe for Chifeng goes


async def stream(produced: list[str], batches: int, size: int = 25) -> None:
    """Commit ``batches`` transactions of ``size`` probe events, one after another, as a busy hub would."""
    for _ in range(batches):
        produced.extend(await probe.emit_probes(size, start=len(produced)))
        await asyncio.sleep(0.05)


async def unsent() -> int:
    return await OutboxEvent.count().where(OutboxEvent.published_at.is_null())


def settled(count: int) -> Callable[[], Awaitable[bool]]:
    """A check for :func:`until`: both consumers have applied ``count`` events (or more, which the test then rejects)."""

    async def check() -> bool:
        done = [await ProcessedEvent.count().where(ProcessedEvent.consumer == consumer) for consumer in CONSUMERS]
        return min(done) >= count and len(await probe.applied()) >= count

    return check


async def assert_each_applied_once(produced: list[str]) -> None:
    exactly_once(await probe.applied(), len(produced))
    for consumer in CONSUMERS:
        assert await ProcessedEvent.count().where(ProcessedEvent.consumer == consumer) == len(produced), consumer
    received = Counter(str(row["event_id"]) for row in await ReceivedEvent.select(ReceivedEvent.event_id))
    assert sorted(received) == sorted(produced) and max(received.values()) == 1  # the audit consumer's own record
    assert await unsent() == 0


async def queues_empty(url: str) -> None:
    for queue in ("rescueops.east.notifications", "rescueops.east.audit", "rescueops.east.dead-letter"):
        assert await ready_messages(url, queue) == 0, queue


async def test_a_broker_restart_mid_stream_loses_no_event_and_applies_none_twice(amqp_url, rabbitmq_vhost, start_worker) -> None:
    workers = [start_worker("--region", "east", amqp_url=amqp_url, handlers=PROBE) for _ in range(2)]
    produced: list[str] = []
    await stream(produced, 8)
    await until(settled(100), 30, "the stream flowing through the broker")
    async with rabbitmq_down(rabbitmq_vhost):
        await stream(produced, 8)  # committed while the broker is away
        assert await unsent() >= 200  # they wait in the outbox
    await stream(produced, 8)
    await until(settled(len(produced)), 90, f"all {len(produced)} events applied after the restart")
    await asyncio.sleep(0.5)  # let a late duplicate land, if there were one, before counting
    await assert_each_applied_once(produced)
    await queues_empty(amqp_url)
    for worker in workers:
        assert worker.process.poll() is None, worker.text  # they rode out the restart: reconnected, not restarted
        assert worker.terminate() == 0


async def test_a_worker_killed_between_receive_and_ack_has_its_messages_applied_once_by_another(
        amqp_url, start_worker, monkeypatch) -> None:
    produced = (await probe.emit_probes(100) + await probe.emit_probes(1, start=100, fail="stall")
                + await probe.emit_probes(99, start=101))
    connection = await bus.connect(amqp_url)
    async with connection:  # all published first, so the kill leaves no relay claim behind (those wait 2 minutes)
        relay = bus.Relay(connection)
        while await relay.publish_pending():
            pass
    monkeypatch.setenv("PROBE_STALL", "1")
    doomed = start_worker("--region", "east", amqp_url=amqp_url, handlers=PROBE)
    monkeypatch.delenv("PROBE_STALL")
    if "stalling\n" not in doomed.output:  # it may have got there before it said it was ready
        doomed.wait_for("stalling")  # inside the transaction applying probe 100: received, not committed, not acknowledged
    os.kill(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait(timeout=10)
    before = [n for _, _, n in await probe.applied()]
    assert before == list(range(len(before))) and len(before) <= 100  # in queue order, short of the one it died on

    start_worker("--region", "east", amqp_url=amqp_url, handlers=PROBE)
    await until(settled(200), 60, "the redelivered events applied by the second worker")
    await asyncio.sleep(0.5)
    await assert_each_applied_once(produced)
    await queues_empty(amqp_url)


async def test_two_workers_relaying_one_outbox_publish_every_event_once(amqp_url, start_worker) -> None:
    async with tap(amqp_url) as published:
        for _ in range(2):
            start_worker("--region", "east", amqp_url=amqp_url, handlers=PROBE)
        produced: list[str] = []
        await stream(produced, 40)
        await until(settled(len(produced)), 60, f"all {len(produced)} events applied")
        await asyncio.sleep(0.5)
        copies = Counter(carried(await taken(published)))
    assert sorted(copies) == sorted(produced) and max(copies.values()) == 1  # each row published once, by one relay
    await assert_each_applied_once(produced)
    await queues_empty(amqp_url)
