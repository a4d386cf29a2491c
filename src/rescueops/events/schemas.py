"""The event envelope, and the base every domain's payload models extend.

A payload model names the event types it carries (``event_types``) and their version; the
registry built from those declarations is what consumers validate against and what the
events catalogue is generated from.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

# event type -> payload model; filled as the domains' schema modules are imported
PAYLOADS: dict[str, type[EventPayload]] = {}


class EventPayload(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_types: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for event_type in cls.event_types:
            aggregate, _, name = event_type.partition(".")
            if not aggregate or not name or "." in name:
                raise ValueError(f"event type {event_type!r} is not '<aggregate>.<event>'")
            if PAYLOADS.setdefault(event_type, cls) is not cls:
                raise ValueError(f"event type {event_type!r} declared twice")


class EventOut(BaseModel):
    """The envelope as it travels and as the API shows it."""

    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    source_region: str
    org_path: str
    aggregate_id: str
    actor: str
    routing_key: str
    payload: dict[str, Any]
    published_at: datetime | None  # empty on the wire: a message is sent before the relay marks its row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventOut:
        """From an outbox row, whose payload is kept as JSON text."""
        return cls.model_validate({**row, "payload": json.loads(row["payload"])})


class NotificationsSent(EventPayload):
    """Messages put in users' inboxes (reminders, injects); an SMS adapter can pick these up."""

    event_types = ("notification.sent",)

    kind: str
    key: str
    title: str
    body: str
    link: str
    user_ids: list[int]


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None
