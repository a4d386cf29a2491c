"""Composite unique indexes, portable across SQLite and PostgreSQL unlike ALTER TABLE … ADD
CONSTRAINT; and byte-wise ordering of org paths (see rescueops.db.paths).

Piccolo runs a migration's raw steps before its table creation, hence a migration of its own.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-11-24T20:06:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (hub, unit) and (zone, unit); byte-wise path ordering"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="orgs", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS orgs_hub_coverage_hub_unit "
            "ON orgs_hub_coverage (hub, unit)"
        )
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS orgs_zone_member_zone_unit "
            "ON orgs_zone_member (zone, unit)"
        )
        await binary_collation("orgs_unit", "path")

    async def drop_indexes():
        await Table.raw("DROP INDEX IF EXISTS orgs_hub_coverage_hub_unit")
        await Table.raw("DROP INDEX IF EXISTS orgs_zone_member_zone_unit")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
