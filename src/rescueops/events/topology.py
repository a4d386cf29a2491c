"""The message topology, declared here and nowhere else.

One durable topic exchange carries every event under the routing key
``<region>.<aggregate>.<event>`` (``region`` is a hub code, or ``all`` when no single hub
answers for the place). Each regional hub has one durable quorum queue per purpose:

- ``rescueops.<R>.coordination`` binds ``*.assistance.*``, ``*.deployment.*`` and
  ``*.equipment_transfer.*``: every hub hears every region's requests, and the handler decides
  whether the event concerns its region;
- ``rescueops.<R>.notifications`` and ``rescueops.<R>.audit`` bind ``R.#`` and ``all.#``.

A queue dead-letters to the ``rescueops.dead-letter`` exchange under the routing key
``<R>.<purpose>`` (the original key stays in the ``x-death`` header), which routes to the
region's dead-letter queue ``rescueops.<R>.dead-letter``: one per region, so a hub's operator
sees exactly the messages its consumers gave up on. The in-process bus routes with
:func:`matches` over the same bindings, so both buses deliver an event to the same consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # aio-pika is only needed when a broker is configured
    from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EXCHANGE = "rescueops.events"
DEAD_LETTER_EXCHANGE = "rescueops.dead-letter"
REGIONS = ("northeast", "east", "central", "west")  # the hub codes (orgs_hub.code)
PURPOSES = ("coordination", "notifications", "audit")
# Attempts at one message before it is dead-lettered: the quorum queues' x-delivery-limit, and the
# in-process bus's retries of a failing handler.
DELIVERY_LIMIT = 5
# Unacknowledged messages a consumer holds at once: what arrives while it applies one batch is its next batch.
PREFETCH = 100

# Headers a consumer sets on a message it dead-letters itself (the broker's own dead-lettering
# after the delivery limit leaves x-death instead).
REASON_HEADER = "x-rescueops-reason"
CONSUMER_HEADER = "x-rescueops-consumer"
ORIGINAL_KEY_HEADER = "x-rescueops-routing-key"
# How many events a message carries (a relay sends those of one routing key together; see bus.unpack).
EVENTS_HEADER = "x-rescueops-events"

_COORDINATION_AGGREGATES = ("assistance", "deployment", "equipment_transfer")


@dataclass(frozen=True)
class QueueSpec:
    region: str
    purpose: str
    bindings: tuple[str, ...]

    @property
    def name(self) -> str:
        return queue_name(self.region, self.purpose)

    @property
    def consumer(self) -> str:
        """The consumer's name in the processed-event table, e.g. ``east.coordination``."""
        return f"{self.region}.{self.purpose}"


def queue_name(region: str, purpose: str) -> str:
    return f"rescueops.{region}.{purpose}"


def dead_letter_queue(region: str) -> str:
    return f"rescueops.{region}.dead-letter"


def bindings(region: str, purpose: str) -> tuple[str, ...]:
    if purpose == "coordination":
        return tuple(f"*.{aggregate}.*" for aggregate in _COORDINATION_AGGREGATES)
    if purpose in ("notifications", "audit"):
        return (f"{region}.#", "all.#")
    raise ValueError(f"unknown purpose {purpose!r}; one of {', '.join(PURPOSES)}")


QUEUES: tuple[QueueSpec, ...] = tuple(QueueSpec(r, p, bindings(r, p)) for r in REGIONS for p in PURPOSES)


def queue_spec(consumer: str) -> QueueSpec:
    """The queue of a consumer name (``east.coordination``)."""
    for spec in QUEUES:
        if spec.consumer == consumer:
            return spec
    raise ValueError(f"unknown consumer {consumer!r}; e.g. east.coordination")


def matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: words split on ".", ``*`` is exactly one word, ``#`` zero or more.

    As RabbitMQ does, an empty key or pattern has no words (so ``#`` matches ``""``, ``*`` does not).
    """
    words = routing_key.split(".") if routing_key else []
    parts = pattern.split(".") if pattern else []
    # reachable[j]: the first i pattern parts can match the first j words
    reachable = [True] + [False] * len(words)
    for part in parts:
        following = [False] * (len(words) + 1)
        for j in range(len(words) + 1):
            if not reachable[j]:
                continue
            if part == "#":
                for k in range(j, len(words) + 1):
                    following[k] = True
                break  # every later position is already reachable
            if j < len(words) and (part == "*" or part == words[j]):
                following[j + 1] = True
        reachable = following
    return reachable[len(words)]


def consumers_for(routing_key: str) -> list[QueueSpec]:
    """The queues an event with this key lands in (once each, however many of its bindings match)."""
    return [spec for spec in QUEUES if any(matches(pattern, routing_key) for pattern in spec.bindings)]


def queue_arguments(spec: QueueSpec) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": spec.consumer,
        # The broker keeps a dead-lettered message until the dead-letter queue has confirmed it
        # (needs reject-publish overflow); the default at-most-once could drop it.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


@dataclass(frozen=True)
class Declared:
    exchange: AbstractExchange
    dead_letters: AbstractExchange
    queues: dict[str, AbstractQueue]  # by name


async def declare(channel: AbstractChannel, regions: tuple[str, ...] = REGIONS) -> Declared:
    """Declare the exchanges, the queues of ``regions`` (with their dead-letter queues) and their bindings.

    Idempotent: every worker declares what it uses when it connects. Declaring a queue that exists with other arguments fails (PRECONDITION_FAILED): change the
    arguments here and follow docs/operations.md to migrate the queues.
    """
    from aio_pika import ExchangeType

    exchange = await channel.declare_exchange(EXCHANGE, ExchangeType.TOPIC, durable=True)
    dead_letters = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, ExchangeType.TOPIC, durable=True)
    queues: dict[str, AbstractQueue] = {}
    for region in regions:
        dlq = await channel.declare_queue(dead_letter_queue(region), durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dead_letters, routing_key=f"{region}.*")
        queues[dlq.name] = dlq
    for spec in QUEUES:
        if spec.region not in regions:
            continue
        queue = await channel.declare_queue(spec.name, durable=True, arguments=queue_arguments(spec))
        for pattern in spec.bindings:
            await queue.bind(exchange, routing_key=pattern)
        queues[spec.name] = queue
    return Declared(exchange, dead_letters, queues)
