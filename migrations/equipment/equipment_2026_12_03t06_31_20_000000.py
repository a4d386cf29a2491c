"""One stock balance per (type, owner, storage location): the partial unique indexes gain the location (portable raw SQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T06:31:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "one stock row per type, owner and location"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="equipment", description=DESCRIPTION)

    async def replace_indexes():
        await Table.raw("DROP INDEX IF EXISTS equipment_stock_type_team")
        await Table.raw("DROP INDEX IF EXISTS equipment_stock_type_depot")
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS equipment_stock_type_team_location ON equipment_stock (type, team, location) "
            "WHERE team IS NOT NULL"
        )
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS equipment_stock_type_depot_location ON equipment_stock (type, depot, location) "
            "WHERE depot IS NOT NULL"
        )
        await Table.raw("CREATE INDEX IF NOT EXISTS equipment_owner_change_item ON equipment_owner_change (item, id)")

    manager.add_raw(replace_indexes)
    return manager
