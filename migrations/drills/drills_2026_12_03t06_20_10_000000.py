"""One row per (drill, unit) taking part."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T06:20:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "drills: a unit takes part once"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="drills", description=DESCRIPTION)

    async def constraints():
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS drills_unit_once ON drills_unit (drill, unit)")

    manager.add_raw(constraints)
    return manager
