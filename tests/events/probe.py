"""A test-only event type and handler, for deterministic checks of both buses.

``test_probe.sent`` events emitted for a place in Chifeng route as ``east.test_probe.sent``: to the east
hub's notifications queue (where the probe handler runs) and its audit queue. Every application of the
handler is a row in the plain table ``test_probe_applied`` (created by :func:`create_probe_table`), so a
test counts how often an event was really applied, across processes. The payload's ``fail`` says how the
handler misbehaves: "" never, "always", "twice" (the first two attempts in this process), "unreachable" (the first attempt fails as if the
database were away), "stall" (in a
process started with PROBE_STALL=1: says "stalling" and sleeps inside the transaction, to be killed there).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from rescueops.db import write_transaction
from rescueops.events import service as events
from rescueops.events.bus import handles
from rescueops.events.schemas import EventOut, EventPayload, NotificationsSent
from rescueops.events.tables import OutboxEvent

CHIFENG = "/150000/150400/150426/"
attempts: Counter[str] = Counter()  # event id -> handler calls in this process
fixed: set[str] = set()  # event ids whose "always" failure has been fixed (for replay tests)


class Probe(EventPayload):
    event_types = ("test_probe.sent",)

    n: int
    fail: str = ""


@handles("notifications", "test_probe.sent")
async def apply_probe(event: EventOut, region: str) -> None:
    probe = Probe.model_validate(event.payload)
    attempts[str(event.event_id)] += 1
    await OutboxEvent.raw("INSERT INTO test_probe_applied (consumer, event_id, n) VALUES ({}, {}, {})",
                          f"{region}.notifications", str(event.event_id), probe.n)
    if probe.fail == "stall" and os.environ.get("PROBE_STALL"):
        print("stalling", flush=True)
        await asyncio.sleep(3600)
    if probe.fail == "always" and str(event.event_id) not in fixed:
        raise RuntimeError(f"probe {probe.n} always fails")
    if probe.fail == "unreachable" and attempts[str(event.event_id)] == 1:
        raise ConnectionRefusedError("the database is restarting")  # as the driver would say
    if probe.fail == "twice" and attempts[str(event.event_id)] <= 2:
        raise RuntimeError(f"probe {probe.n} fails on attempt {attempts[str(event.event_id)]}")


async def create_probe_table() -> None:
    await OutboxEvent.raw("DROP TABLE IF EXISTS test_probe_applied")
    await OutboxEvent.raw("CREATE TABLE test_probe_applied (consumer VARCHAR(40), event_id VARCHAR(64), n INTEGER)")


async def applied() -> list[tuple[str, str, int]]:
    """Every application on record: (consumer, event id, n)."""
    rows = await OutboxEvent.raw("SELECT consumer, event_id, n FROM test_probe_applied ORDER BY n")
    return [(row["consumer"], row["event_id"], row["n"]) for row in rows]


async def emit_probes(count: int, *, start: int = 0, fail: str = "") -> list[str]:
    """``count`` probe events, committed together; their event ids."""
    async with write_transaction():
        return [str(await events.emit(None, "test_probe.sent", Probe(n=n, fail=fail), org_path=CHIFENG, aggregate_id=str(n)))
                for n in range(start, start + count)]


async def emit_notices(count: int) -> list[str]:
    """``count`` real ``notification.sent`` events for Chifeng (a worker subprocess knows no probe type)."""
    async with write_transaction():
        return [str(await events.emit(None, "notification.sent", NotificationsSent(
            kind="test.notice", key=f"notice:{n}", title=f"通知 {n}", body="", link="", user_ids=[]), org_path=CHIFENG, aggregate_id=str(n)))
            for n in range(count)]


# (binding pattern, routing key, whether it matches), as RabbitMQ's topic exchange decides
TOPIC_CASES = [
    ("#", "", True),
    ("*", "", False),
    ("#", "east.assistance.requested", True),
    ("east.#", "east", True),
    ("east.#", "east.assistance.requested", True),
    ("east.#", "eastern.assistance.requested", False),
    ("east.#", "west.east.x", False),
    ("#.requested", "east.assistance.requested", True),
    ("#.requested", "requested", True),
    ("*.assistance.*", "all.assistance.requested", True),
    ("*.assistance.*", "east.assistance", False),
    ("*.assistance.*", "east.assistance.offer.made", False),
    ("*.assistance.*", "assistance.requested", False),
    ("*.*", "a.b", True),
    ("*.*", "a", False),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("a.*.#", "a.b.c.d", True),
    ("a.#.b", "a.b", True),
    ("a.#.b", "a.x.y.b", True),
    ("a.#.b", "a.x.y.c", False),
    ("#.#", "", True),
    ("a.#.#.b", "a.b", True),
    ("a", "a.b", False),
    ("a.b", "a", False),
    ("a.*", "a.", True),
    ("*", "abc", True),
]
