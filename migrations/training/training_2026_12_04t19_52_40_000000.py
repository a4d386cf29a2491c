"""Training indexes (portable raw SQL): the unique keys the tables' docstrings name, foreign-key lookups,
the running tally's key, and byte-wise org paths (see rescueops.db.paths)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from rescueops.db.paths import binary_collation

ID = "2026-12-04T19:52:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "training indexes"

UNIQUE = {
    "training_course_version_once": "training_course_version (course, version)",
    "training_organisation_name": "training_organisation (unit, name)",
    "training_instructor_person": "training_instructor (person)",
    "training_examiner_person": "training_examiner (person)",
    "training_session_instructor_once": "training_session_instructor (session, instructor)",
    "training_enrolment_once": "training_enrolment (session, person)",
    "training_attendance_day": "training_attendance (enrolment, day)",
    "training_exam_sitting_attempt": "training_exam_sitting (session, attempt)",
    "training_exam_score_once": "training_exam_score (sitting, enrolment)",
    "training_target_line": "training_target (year, unit, label)",
    # One certificate per trainee and session, revoked ones included (the issue run's session lock is the first guard).
    "training_certificate_once": "training_certificate (session, person)",
    "training_tally_key": "training_tally (unit_path, organisation, sector, kind, month, expires_month)",
}
INDEXES = {
    "training_enrolment_person": "training_enrolment (person)",
    "training_session_unit_start": "training_session (unit_path, starts_on)",
    "training_session_organisation": "training_session (organisation)",
    "training_session_base": "training_session (base)",
    "training_session_instructor_instructor": "training_session_instructor (instructor)",
    "training_certificate_person": "training_certificate (person)",
    "training_certificate_session": "training_certificate (session)",
    "training_certificate_unit_issued": "training_certificate (unit_path, issued_on)",
    "training_booking_base_time": "training_booking (base, starts_at)",
    "training_instructor_star_instructor": "training_instructor_star (instructor, awarded_on)",
}
PATHS = ("training_organisation", "training_base", "training_session", "training_instructor", "training_examiner",
         "training_certificate", "training_target", "training_tally", "training_booking")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def create_indexes():
        for table in PATHS:
            await binary_collation(table, "unit_path")
        for name, target in UNIQUE.items():
            await Table.raw(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {target}")
        for name, target in INDEXES.items():
            await Table.raw(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    manager.add_raw(create_indexes)
    return manager
