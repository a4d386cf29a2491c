"""Handing outbox events on to their consumers: over RabbitMQ, or in process without a broker.

Both buses keep the same promises (docs/events.md):

- at least once: an outbox row is marked sent only after the broker confirmed it (or, in process,
  after every consumer it routes to had it), and a claimed row whose holder died is claimed again;
- at most once per consumer: a consumer applies an event in one write transaction together with
  its ``events_processed`` row, so a redelivered event finds the row and changes nothing;
- nothing crashes on a bad message: a malformed envelope, an unknown type or version, or a handler
  that keeps failing is dead-lettered with the reason (the RabbitMQ dead-letter queues, or the
  ``events_dead_letter`` table in process) and the consumer goes on.

Handlers register with :func:`handles` for one purpose of the topology (coordination,
notifications, audit); the modules defining them are listed in :data:`HANDLER_MODULES`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from piccolo.engine.finder import engine_finder
from pydantic import ValidationError

from rescueops.calendar import utc_now
from rescueops.db import write_transaction
from rescueops.db.engine import database_unavailable
from rescueops.db.statements import BulkInsert
from rescueops.events import topology
from rescueops.events.schemas import PAYLOADS, EventOut
from rescueops.events.tables import DeadLetter, OutboxEvent, ProcessedEvent

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractChannel,
        AbstractExchange,
        AbstractIncomingMessage,
        AbstractQueue,
        AbstractRobustConnection,
    )

log = logging.getLogger("rescueops.events")

Handler = Callable[[EventOut, str], Awaitable[None]]

# Modules whose import registers handlers; imported when a bus starts (and by drain()).
HANDLER_MODULES: list[str] = [
    "rescueops.events.service",
    "rescueops.coordination.service",
    "rescueops.grading.service",
]

_HANDLERS: dict[str, list[tuple[frozenset[str], Handler]]] = {purpose: [] for purpose in topology.PURPOSES}
_BATCHED: set[Callable[..., Awaitable[None]]] = set()  # handlers registered with batch=True

CLAIM_FOR = timedelta(minutes=2)  # longer than a batch can take to hand on; a dead holder's rows come back after it
BATCH = 500
POLL_SECONDS = 0.5  # how often the idle in-process bus looks at the outbox
# How often an idle relay looks at the outbox: it bounds the commit-to-publish delay, which must stay far below
# the 250 ms commit-to-apply target (docs/performance.md); an empty look is one index probe.
RELAY_POLL_SECONDS = 0.05
BACKOFF_START, BACKOFF_CAP = 0.5, 30.0  # seconds between attempts while the broker is away
PUBLISH_TIMEOUT = 15.0
RECONNECT_SECONDS = 2  # aio-pika's robust connection: pause between reconnection attempts
# Most events one message carries: the relay sends the events of one routing key together, so the broker's cost
# (a confirm, a delivery per queue) is paid per message, not per event; a consumer applies what arrived while it
# applied the last batch, up to APPLY_BATCH events, in one transaction.
MESSAGE_EVENTS = 100
APPLY_BATCH = 200
SHUTDOWN_GRACE = 30.0  # seconds a stopping consumer waits for its in-flight handlers
_RETRY_PAUSE = 0.02  # first pause before retrying a failed handler, doubled each time
_DATABASE_PAUSE_CAP = 5.0  # a consumer waiting for the database looks again at least this often (and sees a stop)
_HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def handles(purpose: str, *event_types: str, batch: bool = False) -> Callable[[Handler], Handler]:
    """Register ``async def handler(event: EventOut, region: str)`` for ``purpose``; no types: every event.

    The handler runs in the write transaction that records the event as processed by the consuming
    region's queue: when it raises, nothing it wrote stays and the event is tried again (then
    dead-lettered). It must only touch the database, and act the same for the same event.

    With ``batch=True`` it is ``async def handler(events: list[EventOut], region: str)``, called once per
    consumer batch (:func:`apply_batch`) with its new events, in order, after the per-event handlers: for a
    handler whose work is one row per event, written with one multi-row insert.
    """
    if purpose not in topology.PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; one of {', '.join(topology.PURPOSES)}")

    def register(handler: Handler) -> Handler:
        _HANDLERS[purpose].append((frozenset(event_types), handler))
        if batch:
            _BATCHED.add(handler)
        return handler

    return register


def handlers_for(purpose: str, event_type: str) -> list[Handler]:
    return [handler for types, handler in _HANDLERS[purpose] if not types or event_type in types]


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


# --- applying one event ----------------------------------------------------------------------


class Poison(Exception):
    """A message no retry can help: it is dead-lettered at once, with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:500]


@dataclass(frozen=True)
class Outcome:
    status: Literal["applied", "duplicate", "dead"]
    reason: str = ""
    event: EventOut | None = None


def _errors(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])


def read_envelope(message: bytes | str | dict[str, Any] | EventOut) -> EventOut:
    """The envelope, checked against the payload model of its type and version; raises :class:`Poison`."""
    if isinstance(message, EventOut):
        event = message
    else:
        try:
            data = json.loads(message) if isinstance(message, bytes | str) else message
            event = EventOut.model_validate(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise Poison(f"malformed envelope: not JSON ({error})") from None
        except ValidationError as error:
            raise Poison(f"malformed envelope: {_errors(error)}") from None
    model = PAYLOADS.get(event.type)
    if model is None:
        raise Poison(f"unknown event type {event.type!r}")
    if event.version != model.version:
        raise Poison(f"unknown version {event.version} of {event.type} (this release reads version {model.version})")
    try:
        model.model_validate(event.payload)
    except ValidationError as error:
        raise Poison(f"payload does not match {event.type} version {event.version}: {_errors(error)}") from None
    return event


def unpack(body: bytes | str) -> list[Any]:
    """The envelopes a message carries: a JSON array of them (what a relay sends for several events of one routing
    key) or one envelope. Each comes back parsed, except a body that is not JSON, which comes back whole for
    :func:`read_envelope` to refuse."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [body]
    return data if isinstance(data, list) and data else [data]


async def apply(consumer: str, message: bytes | str | dict[str, Any] | EventOut) -> Outcome:
    """Apply one event for ``consumer`` ("east.coordination"): its handlers and its processed-event row in
    one write transaction. A redelivery is a harmless "duplicate"; a bad message is "dead" with the reason.
    A handler's exception propagates (nothing written), for the caller to retry or dead-letter."""
    return (await apply_batch(consumer, [message]))[0]


# The processed-event rows of a batch: one statement, the rows seen before skipped, the new ones' keys returned.
_PROCESSED = BulkInsert(ProcessedEvent.key, ProcessedEvent.consumer, ProcessedEvent.event_id, ProcessedEvent.type,
                        ProcessedEvent.processed_at, skip_conflicts_on=ProcessedEvent.key, returning=ProcessedEvent.key)


async def apply_batch(consumer: str, messages: Sequence[bytes | str | dict[str, Any] | EventOut]) -> list[Outcome]:
    """Apply several events for ``consumer`` in one write transaction, in order: one insert of their processed-event
    rows, then the handlers of those not seen before. The outcomes are those :func:`apply` gives one by one (a copy
    of an event twice in the batch is a "duplicate" the second time); a handler's exception propagates with
    nothing written, so the caller can go one by one and retry or dead-letter only the failing event.

    One transaction per batch instead of per event is what lets a consumer keep up with thousands of events
    a second (docs/performance.md)."""
    spec = topology.queue_spec(consumer)
    outcomes = []
    for message in messages:
        try:
            outcomes.append(Outcome("applied", event=read_envelope(message)))
        except Poison as poison:
            outcomes.append(Outcome("dead", poison.reason))
    readable = {f"{consumer}:{o.event.event_id}": o.event for o in outcomes if o.event is not None}
    if not readable:
        return outcomes
    now = utc_now()
    async with write_transaction():
        first = set(await _PROCESSED.run([(key, consumer, event.event_id, event.type, now) for key, event in readable.items()]))
        batched: dict[Callable[..., Awaitable[None]], list[EventOut]] = {}
        for key, event in readable.items():
            if key in first:
                for handler in handlers_for(spec.purpose, event.type):
                    if handler in _BATCHED:
                        batched.setdefault(handler, []).append(event)
                    else:
                        await handler(event, spec.region)
        for handler, new_events in batched.items():
            await handler(new_events, spec.region)
    result = []
    for outcome in outcomes:
        key = f"{consumer}:{outcome.event.event_id}" if outcome.event is not None else ""
        if key in first:
            first.discard(key)  # applied once; a later copy in this batch is a duplicate
            result.append(outcome)
        else:
            result.append(outcome if outcome.event is None else Outcome("duplicate", event=outcome.event))
    return result


# --- the outbox: claiming, marking sent ------------------------------------------------------


def _postgres() -> bool:
    engine = engine_finder()
    return engine is not None and engine.engine_type == "postgres"


async def claim(holder: str, limit: int = BATCH, *, reclaim_own: bool = False) -> list[dict[str, Any]]:
    """Claim up to ``limit`` unsent rows no live claim holds, oldest first, in one UPDATE.

    On PostgreSQL the inner SELECT locks the rows it picks and skips those another claimer holds;
    on SQLite the write transaction (BEGIN IMMEDIATE) serialises claimers. The outer condition
    is checked again on the locked rows, so a row is never held by two claimers at once.

    ``reclaim_own``, for a holder that is one loop (the in-process bus): rows it still holds are ones it could not give
    back (the database went away mid-batch), taken again at once rather than after :data:`CLAIM_FOR`. Relays don't use it:
    their rows wait out the claim, so a batch whose publish is still being confirmed is never published twice.
    """
    now = utc_now()
    postgres = _postgres()
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    free = "(claim_expires IS NULL OR claim_expires < {}" + (" OR claimed_by = {})" if reclaim_own else ")")
    mine = (holder,) if reclaim_own else ()
    async with write_transaction():
        if postgres:
            # The unpublished rows are few on the planner's last look, many in a burst: it would then read all of them
            # (bitmap scan) and sort them for each batch, 17–20 ms for a backlog of 20,000 (EXPLAIN ANALYZE, bench
            # database), where walking the partial index in id order stops after the batch.
            await OutboxEvent.raw("SET LOCAL enable_bitmapscan = off")
        # The pick is a materialised CTE: as a plain IN (subquery), PostgreSQL may run the locking
        # subquery more than once and claim more than ``limit`` rows.
        claimed = await OutboxEvent.raw(
            f"WITH picked AS MATERIALIZED (SELECT id FROM events_outbox WHERE published_at IS NULL AND {free} "
            f"ORDER BY id LIMIT {{}}{lock}) "
            "UPDATE events_outbox SET claimed_by = {}, claim_expires = {} "
            f"WHERE id IN (SELECT id FROM picked) AND published_at IS NULL AND {free} "
            "RETURNING id",
            now, *mine, limit, holder, now + CLAIM_FOR, now, *mine,
        )
    if not claimed:
        return []
    ids = [row["id"] for row in claimed]
    return await OutboxEvent.select().where(OutboxEvent.id.is_in(ids)).order_by(OutboxEvent.id)


async def mark_sent(ids: list[int], holder: str) -> None:
    if ids:
        await OutboxEvent.update({
            OutboxEvent.published_at: utc_now(), OutboxEvent.claimed_by: "", OutboxEvent.claim_expires: None,
            OutboxEvent.attempts: OutboxEvent.attempts + 1,
        }).where(OutboxEvent.id.is_in(ids) & (OutboxEvent.claimed_by == holder))


async def release(ids: list[int], holder: str, error: str) -> None:
    """Give back rows that could not be handed on, so the next attempt (by anyone) takes them at once."""
    if ids:
        await OutboxEvent.update({
            OutboxEvent.claimed_by: "", OutboxEvent.claim_expires: None, OutboxEvent.attempts: OutboxEvent.attempts + 1,
            OutboxEvent.last_error: error[:500],
        }).where(OutboxEvent.id.is_in(ids) & (OutboxEvent.claimed_by == holder))


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


# --- the in-process bus --------------------------------------------------------------------------


async def record_dead_letter(consumer: str, body: str, reason: str, attempts: int) -> None:
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError:
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    await DeadLetter.insert(DeadLetter(
        consumer=consumer, event_id=str(envelope.get("event_id", ""))[:64], type=str(envelope.get("type", ""))[:100],
        routing_key=str(envelope.get("routing_key", ""))[:200], reason=reason[:500], envelope=body, attempts=attempts,
        created_at=utc_now(),
    ))
    log.warning("event dead-lettered", extra={"consumer": consumer, "reason": reason[:500]})


async def _apply_with_retries(consumer: str, body: str) -> tuple[Outcome, int]:
    """Apply, trying a failing handler up to the delivery limit; returns the outcome and the attempts made.
    A database that is away raises (see :func:`database_unavailable`): the caller keeps the event for later."""
    for attempt in range(1, topology.DELIVERY_LIMIT + 1):
        try:
            return await apply(consumer, body), attempt
        except Exception as error:  # a handler failed: its writes are gone; try again, then give up
            if database_unavailable(error):
                raise
            log.warning("event handler failed", exc_info=True, extra={"consumer": consumer, "attempt": attempt})
            failure = f"handler failed {attempt} times: {type(error).__name__}: {error}"
            if attempt < topology.DELIVERY_LIMIT:
                await asyncio.sleep(_RETRY_PAUSE * 2 ** (attempt - 1))
    return Outcome("dead", failure), topology.DELIVERY_LIMIT


async def deliver(consumer: str, body: str | bytes) -> Outcome:
    """In process: what a RabbitMQ consumer does with a message, dead letters going to ``events_dead_letter``."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    outcome, attempts = await _apply_with_retries(consumer, body if isinstance(body, str) else bytes(body))
    if outcome.status == "dead":
        await record_dead_letter(consumer, text, outcome.reason, attempts)
    return outcome


async def dispatch_pending(holder: str = f"inprocess:{_HOLDER}", limit: int = 100) -> int:
    """Claim a batch of outbox rows and deliver each to every consumer its routing key reaches; returns how many."""
    rows = await claim(holder, limit, reclaim_own=True)
    for done, row in enumerate(rows):
        body = EventOut.from_row({**row, "published_at": None}).model_dump_json()
        try:
            for spec in topology.consumers_for(row["routing_key"]):
                await deliver(spec.consumer, body)
        except Exception as error:  # the database went away: give the rest back; consumers that had this one skip it
            try:
                await release([r["id"] for r in rows[done:]], holder, f"{type(error).__name__}: {error}")
            except Exception:  # still away: the claims expire by themselves
                log.debug("could not release claims", exc_info=True)
            raise
        await mark_sent([row["id"]], holder)  # row by row: a crash re-delivers little, and that harmlessly
    return len(rows)


async def drain(max_rounds: int = 100) -> int:
    """Dispatch every pending outbox row (and the events their handlers emit) now; returns how many.

    For tests and one-off runs, where no bus runs in the background."""
    load_handlers()
    total = 0
    for _ in range(max_rounds):
        dispatched = await dispatch_pending(holder=f"drain:{_HOLDER}")
        if not dispatched:
            return total
        total += dispatched
    raise RuntimeError(f"events were still being emitted after {max_rounds} rounds of dispatching: do handlers emit in a loop?")


class InProcessBus:
    """The outbox dispatched inside this process, when no broker is configured."""

    def __init__(self, poll_seconds: float = POLL_SECONDS):
        self.poll_seconds = poll_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> InProcessBus:
        load_handlers()
        self._task = asyncio.create_task(self.run(self._stop), name="rescueops-inprocess-bus")
        return self

    async def run(self, stop: asyncio.Event) -> None:
        delay = BACKOFF_START
        while not stop.is_set():
            try:
                dispatched = await dispatch_pending()
                delay = BACKOFF_START
                if not dispatched:
                    await _pause(stop, self.poll_seconds)
            except Exception as error:  # the database went away, say; keep trying, the rows stay in the outbox
                if database_unavailable(error):  # expected during a restart: one line, not a traceback per attempt
                    log.warning("in-process event bus: database unavailable (%s: %s); retrying in %.1f s", type(error).__name__, error, delay)
                else:
                    log.exception("in-process event bus failed; retrying in %.1f s", delay)
                await _pause(stop, delay)
                delay = min(delay * 2, BACKOFF_CAP)

    async def stop(self) -> None:
        """Finish the row in hand and stop."""
        self._stop.set()
        if self._task is not None:
            await self._task


async def dead_letters(consumer: str | None = None, *, pending_only: bool = True, limit: int = 100) -> list[dict[str, Any]]:
    query = DeadLetter.select().order_by(DeadLetter.id).limit(limit)
    if consumer:
        query = query.where(DeadLetter.consumer == consumer)
    if pending_only:
        query = query.where(DeadLetter.replayed_at.is_null())
    return await query


async def replay_dead_letter(dead_letter_id: int) -> Outcome:
    """Deliver a dead letter to its consumer again (after the fix that makes it readable); the row records the outcome."""
    load_handlers()
    row = await DeadLetter.select().where(DeadLetter.id == dead_letter_id).first()
    if row is None:
        raise LookupError(f"no dead letter #{dead_letter_id}")
    outcome, attempts = await _apply_with_retries(row["consumer"], row["envelope"])
    if outcome.status == "dead":
        await DeadLetter.update({DeadLetter.reason: outcome.reason[:500], DeadLetter.attempts: DeadLetter.attempts + attempts}).where(
            DeadLetter.id == dead_letter_id)
    else:
        await DeadLetter.update({DeadLetter.replayed_at: utc_now()}).where(DeadLetter.id == dead_letter_id)
    return outcome


# --- RabbitMQ ---------------------------------------------------------------------------------


async def connect(url: str) -> AbstractRobustConnection:
    """A robust connection: after a loss it reconnects, reopens its channels and resumes its consumers."""
    import aio_pika

    return await aio_pika.connect_robust(url, reconnect_interval=RECONNECT_SECONDS, client_properties={"connection_name": f"rescueops {_HOLDER}"})


async def connect_with_backoff(url: str, stop: asyncio.Event) -> AbstractRobustConnection | None:
    """Connect, retrying with exponential backoff while the broker is away; None when stopped first."""
    delay = BACKOFF_START
    while not stop.is_set():
        try:
            return await connect(url)
        except Exception as error:  # refused, DNS, authentication: say so and try again
            log.warning("broker unavailable (%s: %s); retrying in %.1f s", type(error).__name__, error, delay)
            await _pause(stop, delay)
            delay = min(delay * 2, BACKOFF_CAP)
    return None


def by_routing_key(rows: list[dict[str, Any]], most: int = MESSAGE_EVENTS) -> list[list[dict[str, Any]]]:
    """The rows of a claimed batch as messages: those of one routing key together, up to ``most`` a message,
    each in outbox order (so the order within a queue is kept for the events of one key)."""
    keyed: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        keyed.setdefault(row["routing_key"], []).append(row)
    return [group[start:start + most] for group in keyed.values() for start in range(0, len(group), most)]


def _message(rows: list[dict[str, Any]]) -> Any:
    """One event: its envelope. Several (of one routing key, so of one type): a JSON array of their envelopes, the
    first one's id as the message id; their number is in a header."""
    import aio_pika

    envelopes = [EventOut.from_row({**row, "published_at": None}).model_dump_json() for row in rows]
    body = envelopes[0] if len(envelopes) == 1 else f"[{','.join(envelopes)}]"
    first = rows[0]
    return aio_pika.Message(
        body.encode(), content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(first["event_id"]), type=first["type"],
        timestamp=first["occurred_at"], app_id="rescueops", headers={topology.EVENTS_HEADER: len(rows)},
    )


class Relay:
    """Publishes the outbox to the topic exchange with publisher confirms; rows are marked sent after their confirm.

    Any number of relays may run: each claims its batch first (see :func:`claim`)."""

    def __init__(self, connection: AbstractRobustConnection, *, holder: str | None = None, batch: int = BATCH):
        self.connection = connection
        self.holder = holder or f"relay:{_HOLDER}"
        self.batch = batch
        self._exchange: AbstractExchange | None = None
        self.published = 0

    async def _ensure_exchange(self) -> AbstractExchange:
        if self._exchange is None:
            channel = await self.connection.channel(publisher_confirms=True)
            self._exchange = (await topology.declare(channel, regions=())).exchange
        return self._exchange

    async def publish_pending(self) -> int:
        """Publish one claimed batch; returns how many events were confirmed. Raises when any was not (rows given back)."""
        exchange = await self._ensure_exchange()
        rows = await claim(self.holder, self.batch)
        if not rows:
            return 0
        messages = by_routing_key(rows)
        results = await asyncio.gather(
            *(exchange.publish(_message(group), routing_key=group[0]["routing_key"], timeout=PUBLISH_TIMEOUT) for group in messages),
            return_exceptions=True,
        )
        confirmed = [row["id"] for group, result in zip(messages, results, strict=True) if not isinstance(result, BaseException)
                     for row in group]
        failed = [(group, result) for group, result in zip(messages, results, strict=True) if isinstance(result, BaseException)]
        await mark_sent(confirmed, self.holder)
        self.published += len(confirmed)
        if failed:
            error = failed[0][1]
            await release([row["id"] for group, _ in failed for row in group], self.holder, f"{type(error).__name__}: {error}")
            raise error
        return len(confirmed)

    async def run(self, stop: asyncio.Event, poll_seconds: float = RELAY_POLL_SECONDS) -> None:
        delay = BACKOFF_START
        while not stop.is_set():
            try:
                published = await self.publish_pending()
                delay = BACKOFF_START
                if not published:  # after a partial batch, look again at once: more may have committed meanwhile
                    await _pause(stop, poll_seconds)
            except Exception as error:  # broker away or channel closed: the rows wait in the outbox
                log.warning("relay: %s: %s; retrying in %.1f s", type(error).__name__, error, delay)
                await _pause(stop, delay)
                delay = min(delay * 2, BACKOFF_CAP)


def delivery_count(message: AbstractIncomingMessage) -> int:
    """How often the quorum queue delivered this message before (its x-delivery-count header)."""
    try:
        return int((message.headers or {}).get("x-delivery-count", 0) or 0)
    except (TypeError, ValueError):
        return 0


@dataclass
class Delivery:
    """A message in a consumer's hands, with the envelopes it carries (:func:`unpack`)."""

    message: AbstractIncomingMessage
    envelopes: list[Any]

    def alone(self, envelope: Any) -> tuple[bytes, str]:
        """The body and message id that ``envelope`` is dead-lettered with: the message as it came when it carried only
        this one (a malformed body stays byte for byte), else the envelope by itself."""
        if len(self.envelopes) == 1:
            return self.message.body, self.message.message_id or ""
        event_id = envelope.get("event_id", "") if isinstance(envelope, dict) else ""
        return json.dumps(envelope, ensure_ascii=False).encode(), str(event_id)


@dataclass
class QueueConsumer:
    """Consumes one queue in queue order: the events of the messages that arrived together are applied in one
    transaction (:func:`apply_batch`), each message acknowledged after it committed."""

    spec: topology.QueueSpec
    channel: AbstractChannel
    queue: AbstractQueue
    dead_letter_exchange: AbstractExchange
    tag: str | None = None
    pending: int = 0
    stopping: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _work: set[asyncio.Future[None]] = field(default_factory=set)
    _arrived: list[Delivery] = field(default_factory=list)
    _left_unsettled: bool = False  # a message was left for redelivery: acknowledging "all up to here" would take it too

    def __post_init__(self) -> None:
        self.idle.set()  # nothing in hand yet

    async def start(self) -> None:
        self.tag = await self.queue.consume(self.on_message, no_ack=False)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        # aio-pika runs each delivery as its own task and cancels those tasks when the channel closes
        # (a lost connection): the work runs in a task of its own, shielded, so a handler's transaction
        # is never cut in the middle (which would also leak its database connection).
        self.pending += 1
        self.idle.clear()
        self._arrived.append(Delivery(message, unpack(message.body)))
        work = asyncio.ensure_future(self._in_turn())
        self._work.add(work)
        work.add_done_callback(self._work.discard)
        await asyncio.shield(work)

    def _next_batch(self) -> list[Delivery]:
        """What has arrived, in the order it came, up to :data:`APPLY_BATCH` events (at least one message)."""
        taken = events = 0
        while taken < len(self._arrived) and (not taken or events + len(self._arrived[taken].envelopes) <= APPLY_BATCH):
            events += len(self._arrived[taken].envelopes)
            taken += 1
        batch, self._arrived = self._arrived[:taken], self._arrived[taken:]
        return batch

    async def _in_turn(self) -> None:
        # The lock keeps batches one at a time; each takes what has arrived, in the order it came. A delivery's
        # own turn comes after the batch that took it, so when every turn is done, every delivery is.
        try:
            async with self._lock:
                await self.handle_batch(self._next_batch())
        finally:
            self.pending -= 1
            if not self.pending:
                self.idle.set()

    async def handle_batch(self, deliveries: list[Delivery]) -> None:
        """Apply the events of messages that arrived together in one transaction; when that fails (nothing was
        written), message by message and event by event, so only a failing handler's event is retried or
        dead-lettered and a database outage is waited out."""
        if sum(len(delivery.envelopes) for delivery in deliveries) > 1:
            try:
                carried = [(delivery, envelope) for delivery in deliveries for envelope in delivery.envelopes]
                outcomes = await apply_batch(self.spec.consumer, [envelope for _, envelope in carried])
            except Exception:  # a handler failed or the database is away: go one by one
                log.debug("batch failed; applying its events one by one", exc_info=True, extra={"consumer": self.spec.consumer})
            else:
                try:
                    for (delivery, envelope), outcome in zip(carried, outcomes, strict=True):
                        if outcome.status == "dead":
                            await self.dead_letter(delivery, envelope, outcome.reason)
                    if not self._left_unsettled:
                        # One frame acknowledges the batch: earlier deliveries on this channel are all settled.
                        await deliveries[-1].message.ack(multiple=True)
                    else:
                        for delivery in deliveries:
                            await delivery.message.ack()
                except Exception:  # the channel went away mid-way: the broker redelivers, the processed rows make that harmless
                    log.warning("could not settle a message; it will be redelivered", exc_info=True, extra={"consumer": self.spec.consumer})
                return
        for delivery in deliveries:
            await self.handle(delivery)

    async def _apply_waiting(self, envelope: Any) -> Outcome | Exception | None:
        """Apply one event, waiting out a database outage; a failed handler's exception is returned (nothing was
        written), None when the consumer is stopping while the database is away."""
        pause = BACKOFF_START
        while True:
            try:
                return await apply(self.spec.consumer, envelope)
            except Exception as error:
                if not database_unavailable(error):
                    log.warning("event handler failed", exc_info=True, extra={"consumer": self.spec.consumer})
                    return error
                if self.stopping:
                    return None
                # Keep the message and wait: a database restart must not dead-letter every event.
                log.warning("database unavailable (%s); retrying in %.1f s", error, pause, extra={"consumer": self.spec.consumer})
                await asyncio.sleep(pause)
                pause = min(pause * 2, _DATABASE_PAUSE_CAP)

    async def handle(self, delivery: Delivery) -> None:
        """One message, event by event. A failed handler sends the message back to the queue (the events it did
        apply find their processed rows next time) until the delivery limit, when the failing events are
        dead-lettered and the rest stays applied."""
        message = delivery.message
        try:
            dead: list[tuple[Any, str]] = []
            failed: list[tuple[Any, Exception]] = []
            for envelope in delivery.envelopes:
                outcome = await self._apply_waiting(envelope)
                if outcome is None:
                    self._left_unsettled = True
                    return  # left unsettled: the broker redelivers it to the next consumer
                if isinstance(outcome, Exception):
                    failed.append((envelope, outcome))
                elif outcome.status == "dead":
                    dead.append((envelope, outcome.reason))
            if failed:
                attempts = delivery_count(message) + 1
                if attempts < topology.DELIVERY_LIMIT:
                    await asyncio.sleep(_RETRY_PAUSE * 2 ** attempts)  # no hot loop of redeliveries
                    await message.nack(requeue=True)
                    return
                dead += [(envelope, f"handler failed {attempts} times: {type(error).__name__}: {error}") for envelope, error in failed]
            for envelope, reason in dead:
                await self.dead_letter(delivery, envelope, reason)
            await message.ack()
        except Exception:  # the channel went away mid-way: the broker redelivers, the processed row makes that harmless
            log.warning("could not settle a message; it will be redelivered", exc_info=True, extra={"consumer": self.spec.consumer})

    async def dead_letter(self, delivery: Delivery, envelope: Any, reason: str) -> None:
        """Publish one event (:meth:`Delivery.alone`) to the dead-letter exchange with the reason, confirmed; the caller
        acknowledges the message it came in."""
        import aio_pika

        message = delivery.message
        body, message_id = delivery.alone(envelope)
        headers = {key: value for key, value in (message.headers or {}).items() if key not in ("x-delivery-count", topology.EVENTS_HEADER)}
        headers.update({topology.REASON_HEADER: reason[:500], topology.CONSUMER_HEADER: self.spec.consumer,
                        topology.ORIGINAL_KEY_HEADER: message.routing_key or ""})
        await self.dead_letter_exchange.publish(aio_pika.Message(
            body, headers=headers, content_type=message.content_type, message_id=message_id,
            type=message.type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, app_id="rescueops",
        ), routing_key=self.spec.consumer, timeout=PUBLISH_TIMEOUT)
        log.warning("message dead-lettered", extra={"consumer": self.spec.consumer, "reason": reason[:500]})

    async def stop(self) -> None:
        """Stop receiving, then finish (and acknowledge) what was already delivered."""
        self.stopping = True
        if self.tag is not None:
            try:
                await self.queue.cancel(self.tag)
            except Exception:  # the channel is gone already: nothing more will arrive on it
                log.debug("cancel failed", exc_info=True)
            self.tag = None
        try:
            await asyncio.wait_for(self.idle.wait(), timeout=SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("stopping with %d messages unsettled; the broker will redeliver them", self.pending)


async def start_consumers(connection: AbstractRobustConnection, regions: Iterable[str]) -> list[QueueConsumer]:
    """Declare the topology and consume the queues of ``regions``, one channel (and prefetch window) per queue."""
    regions = tuple(regions)
    consumers: list[QueueConsumer] = []
    try:
        for spec in topology.QUEUES:
            if spec.region not in regions:
                continue
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=topology.PREFETCH)
            declared = await topology.declare(channel, regions=(spec.region,))
            consumer = QueueConsumer(spec, channel, declared.queues[spec.name], declared.dead_letters)
            consumers.append(consumer)
            await consumer.start()
    except Exception:
        for consumer in consumers:  # all or none: a retry must not leave a queue consumed twice
            await consumer.stop()
            await consumer.channel.close()
        raise
    return consumers


async def run_amqp(url: str, regions: Iterable[str], stop: asyncio.Event, *, relay: bool = True,
                   on_ready: Callable[[], None] | None = None) -> None:
    """A worker's broker side: the relay and the consumers of ``regions`` until ``stop``, then a clean shutdown:
    no more deliveries, in-flight handlers finished and acknowledged, the relay's batch settled, connection closed."""
    load_handlers()
    connection = await connect_with_backoff(url, stop)
    if connection is None:
        return
    # The relay publishes on a connection of its own: RabbitMQ's flow control slows a publishing connection as a
    # whole, and on a shared one the consumers' acknowledgements would queue behind the relay's publishes.
    publishing = await connect_with_backoff(url, stop) if relay else None
    try:
        consumers: list[QueueConsumer] = []
        while not stop.is_set():
            try:
                consumers = await start_consumers(connection, regions)
                break
            except Exception as error:  # e.g. the connection dropped while declaring; the robust connection comes back
                log.warning("cannot start consumers (%s: %s); retrying", type(error).__name__, error)
                await _pause(stop, BACKOFF_START * 4)
        relay_task = asyncio.create_task(Relay(publishing).run(stop), name="rescueops-relay") if publishing else None
        if on_ready:
            on_ready()
        await stop.wait()
        await asyncio.gather(*(consumer.stop() for consumer in consumers))
        if relay_task is not None:
            await relay_task
    finally:
        for opened in (connection, publishing):
            if opened is not None:
                await opened.close()


# --- inspecting and replaying RabbitMQ's dead letters -------------------------------------------


def _dead_letter_summary(message: AbstractIncomingMessage) -> dict[str, Any]:
    headers = message.headers or {}
    reason = headers.get(topology.REASON_HEADER)
    deaths = headers.get("x-death") or []
    if reason is None and deaths:
        death = deaths[0]
        reason = f"broker: {death.get('reason')} in {death.get('queue')} after {death.get('count')} deaths"
    original = headers.get(topology.ORIGINAL_KEY_HEADER)
    if original is None and deaths:
        original = (deaths[0].get("routing-keys") or [""])[0]
    return {
        "consumer": headers.get(topology.CONSUMER_HEADER) or message.routing_key or "",
        "message_id": message.message_id or "", "type": message.type or "", "routing_key": str(original or ""),
        "reason": str(reason or "unknown"), "body": message.body.decode("utf-8", errors="replace"),
    }


async def broker_dead_letters(url: str, region: str, *, replay: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """The messages in a region's dead-letter queue. Without ``replay`` they stay (read, then returned when the
    channel closes); with it each goes back to the queue it died in (confirmed) and leaves the dead-letter queue."""
    import aio_pika

    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = (await topology.declare(channel, regions=(region,))).queues[topology.dead_letter_queue(region)]
        found = []
        for _ in range(limit):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            summary = _dead_letter_summary(message)
            found.append(summary)
            if replay:
                headers = {k: v for k, v in (message.headers or {}).items()
                           if k not in ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                                        "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", topology.REASON_HEADER,
                                        topology.CONSUMER_HEADER, topology.ORIGINAL_KEY_HEADER)}
                target = topology.queue_spec(summary["consumer"]).name
                await channel.default_exchange.publish(aio_pika.Message(
                    message.body, headers=headers, content_type=message.content_type, message_id=message.message_id,
                    type=message.type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, app_id="rescueops",
                ), routing_key=target, timeout=PUBLISH_TIMEOUT)
                await message.ack()
        return found
    finally:
        await connection.close()  # unacknowledged (inspected) messages go back to the dead-letter queue


async def run_worker(amqp_url: str | None, regions: tuple[str, ...], stop: asyncio.Event,
                     on_ready: Callable[[str], Any] | None = None) -> None:
    """The event side of ``rescueops worker``. With a broker: the relay and the consumers of ``regions``.
    Without one: the in-process bus, which serves every region (one process owns the whole dispatch of a row)."""
    if amqp_url:
        queues = ", ".join(spec.name for spec in topology.QUEUES if spec.region in regions) or "no queues"
        await run_amqp(amqp_url, regions, stop, on_ready=(lambda: on_ready(f"worker ready: relay and {queues} (RabbitMQ)"))
                       if on_ready else None)
        return
    in_process = InProcessBus().start()
    if on_ready:
        on_ready("worker ready: in-process event bus for every region (no RESCUEOPS_AMQP_URL)")
    await stop.wait()
    await in_process.stop()
