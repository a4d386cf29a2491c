"""Byte-wise AED unit paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from rescueops.db.paths import binary_collation

ID = "2026-11-24T21:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "byte-wise AED unit paths"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="equipment", description=DESCRIPTION)

    async def collate():
        await binary_collation("equipment_aed", "unit_path")

    manager.add_raw(collate)
    return manager
