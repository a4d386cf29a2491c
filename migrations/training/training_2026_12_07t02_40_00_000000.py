"""The subtree tally's key and byte-wise path (as the tally's), and its rows for a database whose tally already holds
counts: the tally summed over organisations, sectors and each org unit's subtree (training.tables.SubtreeTally). A step of
its own because Piccolo runs a migration's raw steps before its new tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-07T02:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "training subtree tally key and backfill"

# Each tally path with every org unit whose subtree holds it (a migration keeps its own SQL: code may change later).
SCOPES = ("SELECT DISTINCT p.path AS unit_path, a.path AS scope FROM (SELECT DISTINCT unit_path AS path FROM training_tally) AS p"
          " JOIN orgs_unit a ON p.path >= a.path AND p.path < substr(a.path, 1, length(a.path) - 1) || '0'")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def key_and_backfill():
        await binary_collation("training_subtree_tally", "unit_path")
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS training_subtree_tally_key"
                        " ON training_subtree_tally (unit_path, kind, month, expires_month)")
        await Table.raw(
            "INSERT INTO training_subtree_tally (unit_path, kind, month, expires_month, certificates, attendances)"
            " SELECT s.scope, y.kind, y.month, y.expires_month, SUM(y.certificates), SUM(y.attendances)"
            f" FROM training_tally y JOIN ({SCOPES}) AS s ON s.unit_path = y.unit_path"
            " GROUP BY s.scope, y.kind, y.month, y.expires_month")

    manager.add_raw(key_and_backfill)

    return manager
