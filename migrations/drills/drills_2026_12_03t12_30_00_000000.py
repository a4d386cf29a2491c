"""Indexes the national-scale benchmark showed missing: the drills a team or a unit is invited to, the drills still running or to come
(a calendar's window: ``ends_at >= start``) (portable raw SQL).

Piccolo does not index foreign keys by itself; without these, the lookups scan the table (bench/results/http-profile.txt).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign-key indexes for national-scale lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="drills", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw('CREATE INDEX IF NOT EXISTS drills_team_team ON drills_team (team)')
        await Table.raw('CREATE INDEX IF NOT EXISTS drills_unit_unit ON drills_unit (unit)')
        await Table.raw('CREATE INDEX IF NOT EXISTS drills_drill_ends_at ON drills_drill (ends_at)')

    manager.add_raw(create_indexes)
    return manager
