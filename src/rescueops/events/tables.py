from piccolo.columns import UUID, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.accounts.tables import User


class OutboxEvent(Table, tablename="events_outbox"):
    """An event written in the same transaction as the change it tells of; a relay publishes it.

    ``published_at`` stays empty until the relay has handed the event on, so an event whose change
    was rolled back never exists and one whose change committed is never lost.
    """

    event_id = UUID(unique=True)
    type = Varchar(length=100, index=True)  # "<aggregate>.<event>", e.g. "equipment_transfer.dispatched"
    version = SmallInt(default=1)
    occurred_at = Timestamptz()
    source_region = Varchar(length=16)  # a hub's region code, or "all" when no single hub covers the place
    org_path = Varchar(length=512, index=True)
    aggregate_id = Varchar(length=64, index=True)
    actor = Varchar(length=150)
    routing_key = Varchar(length=200)
    payload = Text()
    published_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Varchar(length=500, default="")


class Notification(Table, tablename="events_notification"):
    """A message in a user's in-app inbox. ``dedupe_key`` is unique: a reminder sent twice lands once."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=40)  # e.g. drill.reminder, drill.inject
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=300, default="")
    dedupe_key = Varchar(length=200, unique=True)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)
