"""Indexes the national-scale benchmark showed missing: lookups of the bench's hot paths: a user's role assignments (every request) (portable raw SQL).

Piccolo does not index foreign keys by itself; without these, the lookups scan the table (bench/results/http-profile.txt).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign-key indexes for national-scale lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw('CREATE INDEX IF NOT EXISTS accounts_role_assignment_user ON accounts_role_assignment ("user")')

    manager.add_raw(create_indexes)
    return manager
