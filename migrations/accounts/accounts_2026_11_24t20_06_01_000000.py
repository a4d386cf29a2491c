"""Byte-wise ordering of the audit log's scope paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from rescueops.db.paths import binary_collation

ID = "2026-11-24T20:06:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "byte-wise audit scope paths"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def collate():
        await binary_collation("accounts_audit", "scope_path")

    manager.add_raw(collate)
    return manager
