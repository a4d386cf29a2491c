"""One response per (request, hub), one candidate row per (response, team), one offer per (request, team);
byte-wise org paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-03T06:24:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "coordination unique keys and paths"

UNIQUE = {
    "coordination_response_once": ("coordination_response", "request, hub_code"),
    "coordination_candidate_once": ("coordination_candidate", "response, team"),
    "coordination_offer_once": ("coordination_offer", "request, team"),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="coordination", description=DESCRIPTION)

    async def constraints():
        for name, (table, columns) in UNIQUE.items():
            await Table.raw(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
        await Table.raw("CREATE INDEX IF NOT EXISTS coordination_step_request ON coordination_step (request, id)")
        for table, column in (("coordination_request", "requester_path"), ("coordination_request", "unit_path"),
                              ("coordination_offer", "team_path")):
            await binary_collation(table, column)

    manager.add_raw(constraints)
    return manager
