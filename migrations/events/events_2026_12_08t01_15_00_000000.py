"""The consumers' records lose the indexes nothing reads: every application writes them (two processed-event rows
and an audit row an event), and the dedupe key (unique) and the consistency check's join by event id on the outbox
are all that is looked up (docs/performance.md, Events)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Varchar

ID = "2026-12-08T01:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unread indexes of events_processed and events_received"

UNREAD = (
    ("ProcessedEvent", "events_processed", "consumer", Varchar),
    ("ProcessedEvent", "events_processed", "event_id", UUID),
    ("ReceivedEvent", "events_received", "region", Varchar),
    ("ReceivedEvent", "events_received", "event_id", UUID),
    ("ReceivedEvent", "events_received", "type", Varchar),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)
    for table_class_name, tablename, column, column_class in UNREAD:
        manager.alter_column(
            table_class_name=table_class_name, tablename=tablename, column_name=column, db_column_name=column,
            params={"index": False}, old_params={"index": True}, column_class=column_class, old_column_class=column_class,
            schema=None,
        )
    return manager
