"""Indexes the national-scale benchmark showed missing: a team's and a person's hours, a person's insurance (portable raw SQL).

Piccolo does not index foreign keys by itself; without these, the lookups scan the table (bench/results/http-profile.txt).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign-key indexes for national-scale lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw('CREATE INDEX IF NOT EXISTS members_hours_team ON members_hours (team, worked_on)')
        await Table.raw('CREATE INDEX IF NOT EXISTS members_hours_person ON members_hours (person)')
        await Table.raw('CREATE INDEX IF NOT EXISTS members_insurance_person ON members_insurance (person, ends_on)')

    manager.add_raw(create_indexes)
    return manager
