"""One open stint per person anywhere, one open deployment per (incident, team) (partial unique indexes, portable raw
SQL); byte-wise incident paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-03T06:28:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "deployments unique keys and paths"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="deployments", description=DESCRIPTION)

    async def constraints():
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS deployments_member_one_open ON deployments_member (person) WHERE released_at IS NULL")
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS deployments_one_open_per_team ON deployments_deployment (incident, team) "
            "WHERE status <> 'closed'")
        await Table.raw("CREATE INDEX IF NOT EXISTS deployments_item_open ON deployments_item (deployment, asset_tag)")
        await binary_collation("deployments_incident", "org_path")

    manager.add_raw(constraints)
    return manager
