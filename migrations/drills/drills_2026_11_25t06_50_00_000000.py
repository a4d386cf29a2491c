"""One row per (scenario, version), (drill, team), (drill, person), (drill, inject), (delivery, user), (drill, objective),
(team, year); byte-wise org paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-11-25T06:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drills unique keys and paths"

UNIQUE = {
    "drills_scenario_version": ("drills_scenario", "scenario_id, version"),
    "drills_team_once": ("drills_team", "drill, team"),
    "drills_attendance_once": ("drills_attendance", "drill, person"),
    "drills_inject_once": ("drills_inject", "drill, inject_id"),
    "drills_inject_ack_once": ("drills_inject_ack", "delivery, user_id"),
    "drills_evaluation_once": ("drills_evaluation", "drill, objective_id"),
    "drills_training_plan_once": ("drills_training_plan", "team, year"),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="drills", description=DESCRIPTION)

    async def constraints():
        for name, (table, columns) in UNIQUE.items():
            await Table.raw(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
        await binary_collation("drills_drill", "org_path")
        await binary_collation("drills_improvement", "org_path")

    manager.add_raw(constraints)
    return manager
