"""One stock balance per (type, owner) by partial unique indexes (portable raw SQL); byte-wise owner paths."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-11-24T21:29:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "one stock row per type and owner; ledger lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="equipment", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS equipment_stock_type_team ON equipment_stock (type, team) WHERE team IS NOT NULL"
        )
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS equipment_stock_type_depot ON equipment_stock (type, depot) WHERE depot IS NOT NULL"
        )
        await Table.raw("CREATE INDEX IF NOT EXISTS equipment_movement_stock ON equipment_movement (stock, id)")
        await binary_collation("equipment_item", "owner_path")
        await binary_collation("equipment_stock", "owner_path")

    manager.add_raw(create_indexes)
    return manager
