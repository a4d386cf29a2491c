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
    # A relay (or the in-process bus) claims a batch before handing it on, so two never hand on the same
    # row; a claim that outlives its holder (a killed process) expires and the row is claimed again.
    claimed_by = Varchar(length=200, default="")
    claim_expires = Timestamptz(null=True, default=None)


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


class ProcessedEvent(Table, tablename="events_processed"):
    """An event a consumer has applied; written in the transaction of its handlers, so a redelivered
    event finds its row and is not applied again. ``key`` is "<consumer>:<event id>"."""

    key = Varchar(length=100, unique=True)
    # Not indexed: written twice an event and read only by the key (docs/performance.md, Events).
    consumer = Varchar(length=40)  # "<region>.<purpose>", e.g. "east.coordination"
    event_id = UUID()
    type = Varchar(length=100)
    processed_at = Timestamptz()


class ReceivedEvent(Table, tablename="events_received"):
    """The audit consumers' record: every event each hub received, so the whole exchange is on record."""

    # Not indexed: written for every event a hub receives, read as a whole (docs/performance.md, Events).
    region = Varchar(length=16)
    event_id = UUID()
    type = Varchar(length=100)
    routing_key = Varchar(length=200)
    source_region = Varchar(length=16)
    actor = Varchar(length=150)
    occurred_at = Timestamptz()
    received_at = Timestamptz()


class DeadLetter(Table, tablename="events_dead_letter"):
    """A message the in-process bus gave up on (malformed, unknown type or version, or a handler that kept
    failing), kept with the reason until it is replayed. RabbitMQ keeps its own in the dead-letter queues."""

    consumer = Varchar(length=40, index=True)
    event_id = Varchar(length=64, default="")  # empty when the envelope could not be read
    type = Varchar(length=100, default="")
    routing_key = Varchar(length=200, default="")
    reason = Varchar(length=500)
    envelope = Text()
    attempts = Integer(default=1)
    created_at = Timestamptz()
    replayed_at = Timestamptz(null=True, default=None)
