from enum import Enum

from piccolo.columns import Boolean, Date, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.teams.tables import Team


class AssessmentStatus(str, Enum):
    open = "open"  # evidence snapshotted; assessors score; the supervisor decides
    awaiting_confirmation = "awaiting_confirmation"  # a level-1 decision waits for the region
    granted = "granted"
    not_granted = "not_granted"  # decided: no level
    appealed = "appealed"  # the team appealed the decision; the region decides
    withdrawn = "withdrawn"


# At most one of these per (team, category), by a partial unique index made in the migration.
IN_PROGRESS = (AssessmentStatus.open, AssessmentStatus.awaiting_confirmation, AssessmentStatus.appealed)


class GradeAction(str, Enum):
    granted = "granted"
    suspended = "suspended"
    reinstated = "reinstated"
    cancelled = "cancelled"
    expired = "expired"


class RubricVersion(Table, tablename="grading_rubric"):
    """One version of a category's rubric, kept whole so an assessment keeps the version it was opened with;
    unique per (category, version) by an index made in the migration."""

    category = Varchar(length=32, index=True)
    version = Integer()
    file_version = Varchar(length=32, default="")  # the shipped file's version tag it came from; "" for an edit
    body = Text()  # the rubric as JSON
    reason = Text(default="")  # why it was edited
    created_by = Integer(null=True, default=None)
    created_by_name = Varchar(length=150)
    created_at = Timestamptz()


class Assessment(Table, tablename="grading_assessment"):
    """One assessment (分级测评) of a team in one category, from the application to the final decision."""

    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    team_path = Varchar(length=512, index=True)  # scoped like the team
    category = Varchar(length=32)
    rubric = ForeignKey(RubricVersion, on_delete=OnDelete.restrict)
    status = Varchar(length=24, choices=AssessmentStatus, default=AssessmentStatus.open, index=True)
    applied = Boolean(default=False)  # the team applied; otherwise a supervisor opened it
    requested_level = SmallInt(null=True, default=None)
    note = Text(default="")
    opened_by = Integer()
    opened_by_name = Varchar(length=150)
    opened_at = Timestamptz()
    snapshot = Text()  # the evaluation as JSON: the evidence the decision rests on
    snapshot_on = Date()
    snapshot_at = Timestamptz()
    eligible_level = SmallInt(null=True, default=None)  # at the decision, with the assessors' scores
    decided_level = SmallInt(null=True, default=None)  # None with status not_granted
    decision_reason = Text(default="")
    override_reason = Text(default="")  # why the decision is above the eligible level
    decided_by = Integer(null=True, default=None)
    decided_by_name = Varchar(length=150, default="")
    decided_at = Timestamptz(null=True, default=None)
    confirmed_by = Integer(null=True, default=None)
    confirmed_by_name = Varchar(length=150, default="")
    confirmed_at = Timestamptz(null=True, default=None)
    confirmation_note = Text(default="")
    granted_on = Date(null=True, default=None)
    valid_until = Date(null=True, default=None)
    final_at = Timestamptz(null=True, default=None)  # granted or not granted: the appeal deadline runs from here
    appeal_reason = Text(default="")
    appealed_by = Integer(null=True, default=None)
    appealed_by_name = Varchar(length=150, default="")
    appealed_at = Timestamptz(null=True, default=None)
    appeal_outcome = Varchar(length=12, default="")  # upheld | dismissed
    appeal_decided_by = Integer(null=True, default=None)
    appeal_decided_by_name = Varchar(length=150, default="")
    appeal_decided_at = Timestamptz(null=True, default=None)
    appeal_note = Text(default="")
    withdrawn_reason = Text(default="")


class Step(Table, tablename="grading_step"):
    """The assessment's history, one row per step, for its page (the audit log keeps the same with scope)."""

    assessment = ForeignKey(Assessment, on_delete=OnDelete.cascade)
    step = Varchar(length=24)
    note = Text(default="")
    by_user = Integer(null=True, default=None)
    by_name = Varchar(length=150)
    at = Timestamptz()


class Score(Table, tablename="grading_score"):
    """An assessor's score of one manual criterion; unique per (assessment, criterion) by index, a new score replaces it."""

    assessment = ForeignKey(Assessment, on_delete=OnDelete.cascade)
    criterion_id = Varchar(length=64)
    score = SmallInt()
    note = Text(default="")
    scored_by = Integer()
    scored_by_name = Varchar(length=150)
    scored_at = Timestamptz()


class Document(Table, tablename="grading_document"):
    """A document attached to an assessment (plans, exercise reports…), kept encrypted under var/uploads/grading."""

    assessment = ForeignKey(Assessment, on_delete=OnDelete.cascade)
    criterion_id = Varchar(length=64, default="")  # "" for the assessment as a whole
    title = Varchar(length=200)
    file_name = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer()
    uploaded_by = Integer()
    uploaded_by_name = Varchar(length=150)
    uploaded_at = Timestamptz()


class GradeChange(Table, tablename="grading_grade_change"):
    """Every change of a team's grade in a category: granted, suspended, reinstated, cancelled, expired."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    team_path = Varchar(length=512, index=True)
    category = Varchar(length=32)
    action = Varchar(length=12, choices=GradeAction)
    level = SmallInt(null=True, default=None)
    valid_until = Date(null=True, default=None)
    reason = Text(default="")
    assessment = ForeignKey(Assessment, null=True, default=None, on_delete=OnDelete.set_null)
    by_user = Integer(null=True, default=None)
    by_name = Varchar(length=150)
    at = Timestamptz()


class Readiness(Table, tablename="grading_readiness"):
    """Precomputed readiness of a team in one category (what the dashboard reads); unique per (team, category)."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    team_code = Varchar(length=32)
    team_name = Varchar(length=100)
    team_path = Varchar(length=512, index=True)
    league_code = Varchar(length=32, index=True)
    county_code = Varchar(length=32, default="")
    region = Varchar(length=16, default="")  # the hub region (orgs.region_of), "all" when no single hub answers
    category = Varchar(length=32)
    computed_on = Date()
    computed_at = Timestamptz()
    rubric_version = Integer(null=True, default=None)
    eligible_level = SmallInt(null=True, default=None)  # on the records (assessor items not counted)
    granted_level = SmallInt(null=True, default=None)
    grade_status = Varchar(length=12, default="")
    grade_valid_until = Date(null=True, default=None)
    members_active = Integer(default=0)
    people_available = Integer(default=0)  # active, valid first-aid certificate, not on a deployment
    kits_ready = Integer(default=0)
    kits_total = Integer(default=0)
    equipment_in_service = Integer(default=0)
    equipment_total = Integer(default=0)
    last_drill_on = Date(null=True, default=None)
    score = SmallInt(default=0)  # 0–100
    state = Varchar(length=12, default="not_ready")  # ready | partial | not_ready
    gap = Text(default="[]")  # JSON: the gap to the next level
