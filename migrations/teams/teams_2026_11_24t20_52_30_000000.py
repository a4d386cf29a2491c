"""Unique and partial indexes for teams (portable raw SQL), byte-wise team paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-11-24T20:52:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "team indexes: one specialty/grade per category, one pending filing per team"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="teams", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS teams_specialty_team_category ON teams_specialty (team, category)")
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS teams_grade_team_category ON teams_grade (team, category)")
        # Two filings cannot be pending for one team: the second is refused, not queued behind.
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS teams_filing_one_pending ON teams_filing (team) WHERE status = 'pending'"
        )
        await binary_collation("teams_team", "path")

    manager.add_raw(create_indexes)
    return manager
