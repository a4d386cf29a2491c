"""Writing events to the outbox, and reading them back within a caller's scope."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from rescueops.accounts.access import Principal, scopes_for
from rescueops.db.pagination import PageParams
from rescueops.db.paths import within
from rescueops.errors import PermissionDenied
from rescueops.events.schemas import PAYLOADS, EventOut, EventPayload
from rescueops.events.tables import OutboxEvent
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
        event_id=event_id, type=event_type, version=payload.version, occurred_at=datetime.now(UTC), source_region=region,
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
    return [EventOut.model_validate({**row, "payload": json.loads(row["payload"])}) for row in rows], await count
