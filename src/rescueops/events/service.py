"""Writing events to the outbox, and reading them back within a caller's scope."""

from __future__ import annotations

import uuid

from rescueops.accounts.access import Principal, scopes_for
from rescueops.calendar import utc_now
from rescueops.db.pagination import PageParams
from rescueops.db.paths import within
from rescueops.db.statements import BulkInsert
from rescueops.errors import NotFound, PermissionDenied
from rescueops.events.bus import handles
from rescueops.events.schemas import PAYLOADS, EventOut, EventPayload, NotificationOut, NotificationsSent
from rescueops.events.tables import Notification, OutboxEvent, ReceivedEvent
from rescueops.orgs import service as orgs


def routing_key(region: str, event_type: str) -> str:
    """``<region>.<aggregate>.<event>``: what the topic exchange routes on."""
    return f"{region}.{event_type}"


async def emit(actor: Principal | None, event_type: str, payload: EventPayload, *, org_path: str, aggregate_id: str) -> uuid.UUID:
    """Write one event to the outbox. Call it inside the transaction of the change it tells of."""
    if not isinstance(payload, PAYLOADS.get(event_type, ())):
        raise TypeError(f"{type(payload).__name__} does not carry event type {event_type!r}")
    region = await orgs.region_of(org_path)
    event_id = uuid.uuid4()
    await OutboxEvent.insert(OutboxEvent(
        event_id=event_id, type=event_type, version=payload.version, occurred_at=utc_now(), source_region=region,
        org_path=org_path, aggregate_id=aggregate_id, actor=actor.username if actor else "system",
        routing_key=routing_key(region, event_type), payload=payload.model_dump_json(),
    ))
    return event_id


async def list_events(principal: Principal, page: PageParams, *, event_type: str | None = None,
                      aggregate_id: str | None = None) -> tuple[list[EventOut], int]:
    """Events about places within the caller's scopes, newest first."""
    scopes = scopes_for(principal, "events.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow reading events.")
    conditions = [within(OutboxEvent.org_path, scopes)]
    if event_type:
        conditions.append(OutboxEvent.type == event_type)
    if aggregate_id:
        conditions.append(OutboxEvent.aggregate_id == aggregate_id)
    select = OutboxEvent.select().order_by(OutboxEvent.id, ascending=False).limit(page.limit).offset(page.offset)
    count = OutboxEvent.count()
    for condition in filter(None, conditions):
        select, count = select.where(condition), count.where(condition)
    rows = await select
    return [EventOut.from_row(row) for row in rows], await count


@handles("audit", batch=True)
async def record_received(events: list[EventOut], region: str) -> None:
    """The audit queue of each hub: every event that reached the hub is kept, with when it arrived (one insert
    for a consumer's batch)."""
    now = utc_now()
    await _RECEIVED.run([(region, event.event_id, event.type, event.routing_key, event.source_region, event.actor, event.occurred_at, now)
                         for event in events])


_RECEIVED = BulkInsert(ReceivedEvent.region, ReceivedEvent.event_id, ReceivedEvent.type, ReceivedEvent.routing_key,
                       ReceivedEvent.source_region, ReceivedEvent.actor, ReceivedEvent.occurred_at, ReceivedEvent.received_at)


# --- the in-app inbox ---------------------------------------------------------------------------


async def notify(user_ids: list[int], *, kind: str, title: str, body: str, link: str, key: str, org_path: str) -> list[int]:
    """Put a message in each user's inbox once: ``key`` names the occasion (e.g. "drill:7:t-1"), and a user
    already told of it is not told again, whichever process asks. Emits one ``notification.sent`` event for
    those newly told (for a later SMS adapter). Returns their user ids. Call it inside a write transaction."""
    now, wanted = utc_now(), list(dict.fromkeys(user_ids))
    inserted = set(await _INBOX.run([(user_id, kind, title, body, link, f"{key}:u{user_id}", now) for user_id in wanted]))
    told = [user_id for user_id in wanted if user_id in inserted]
    if told:
        await emit(None, "notification.sent", NotificationsSent(kind=kind, key=key, title=title, body=body, link=link, user_ids=told),
                   org_path=org_path, aggregate_id=key[:64])
    return told


# A message for each recipient in one statement; those told of the occasion before are skipped, the others returned.
_INBOX = BulkInsert(Notification.user, Notification.kind, Notification.title, Notification.body, Notification.link,
                    Notification.dedupe_key, Notification.created_at, skip_conflicts_on=Notification.dedupe_key, returning=Notification.user)


async def inbox(principal: Principal, *, unread_only: bool = False, limit: int = 100) -> list[NotificationOut]:
    query = Notification.select().where(Notification.user == principal.user_id).order_by(Notification.id, ascending=False).limit(limit)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    return [NotificationOut.model_validate(row) for row in await query]


async def unread_count(principal: Principal) -> int:
    return await Notification.count().where((Notification.user == principal.user_id) & Notification.read_at.is_null())


async def mark_read(principal: Principal, notification_id: int) -> NotificationOut:
    await Notification.update({Notification.read_at: utc_now()}).where(
        (Notification.id == notification_id) & (Notification.user == principal.user_id) & Notification.read_at.is_null())
    row = await Notification.select().where((Notification.id == notification_id) & (Notification.user == principal.user_id)).first()
    if row is None:
        raise NotFound(f"No message #{notification_id} in your inbox.")
    return NotificationOut.model_validate(row)
