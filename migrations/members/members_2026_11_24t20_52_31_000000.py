"""At most one open membership per person, enforced by the database (partial unique index)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-24T20:52:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "one open membership per person; membership and certificate lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS members_membership_one_open ON members_membership (person) WHERE left_on IS NULL"
        )
        await Table.raw("CREATE INDEX IF NOT EXISTS members_membership_team ON members_membership (team, left_on)")
        await Table.raw("CREATE INDEX IF NOT EXISTS members_certificate_person ON members_certificate (person, expires_on)")

    manager.add_raw(create_indexes)
    return manager
