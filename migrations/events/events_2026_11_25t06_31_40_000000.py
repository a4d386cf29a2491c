"""Byte-wise outbox org paths (see rescueops.db.paths); the relay's look-up of unpublished events."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-11-25T06:31:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox paths and unpublished-event index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def indexes():
        await binary_collation("events_outbox", "org_path")
        await Table.raw("CREATE INDEX IF NOT EXISTS events_outbox_unpublished ON events_outbox (id) WHERE published_at IS NULL")

    manager.add_raw(indexes)
    return manager
