"""The unit tally's key and byte-wise path (as the tally's), and its rows for a database whose tally already holds counts:
the tally summed over organisations and sectors (training.tables.UnitTally). A step of its own because Piccolo runs a
migration's raw steps before its new tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-07T02:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "training unit tally key and backfill"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def key_and_backfill():
        await binary_collation("training_unit_tally", "unit_path")
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS training_unit_tally_key"
                        " ON training_unit_tally (unit_path, kind, month, expires_month)")
        await Table.raw(
            "INSERT INTO training_unit_tally (unit_path, kind, month, expires_month, certificates, attendances)"
            " SELECT unit_path, kind, month, expires_month, SUM(certificates), SUM(attendances) FROM training_tally"
            " GROUP BY unit_path, kind, month, expires_month")

    manager.add_raw(key_and_backfill)

    return manager
