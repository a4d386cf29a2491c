"""Grading indexes (portable raw SQL): one version number per rubric, one assessment in progress per team and category,
one score per criterion, one readiness row per team and category; byte-wise team paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-03T06:34:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "grading indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="grading", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS grading_rubric_version ON grading_rubric (category, version)")
        # A second assessment of the same team and category is refused while one is in progress, even under a race.
        await Table.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS grading_assessment_one_in_progress ON grading_assessment (team, category) "
            "WHERE status IN ('open', 'awaiting_confirmation', 'appealed')"
        )
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS grading_score_once ON grading_score (assessment, criterion_id)")
        await Table.raw("CREATE UNIQUE INDEX IF NOT EXISTS grading_readiness_once ON grading_readiness (team, category)")
        for table in ("grading_assessment", "grading_grade_change", "grading_readiness"):
            await binary_collation(table, "team_path")

    manager.add_raw(create_indexes)
    return manager
