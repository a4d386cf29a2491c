"""Indexes for counting a province's rescue forces (training progress, the 救援先锋 goal) without touching the rows:
the active memberships of each team, and a person's certificates with their type and dates (portable raw SQL).

The certificates' index replaces (person, expires_on), which it also serves; both let the count be index-only.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T03:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for counting certified rescue-team members"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw("CREATE INDEX IF NOT EXISTS members_membership_active_team ON members_membership (team, person)"
                        " WHERE left_on IS NULL AND status = 'active'")
        await Table.raw("CREATE INDEX IF NOT EXISTS members_certificate_person_valid"
                        " ON members_certificate (person, expires_on, type, issued_on)")
        await Table.raw("DROP INDEX IF EXISTS members_certificate_person")

    manager.add_raw(create_indexes)
    return manager
