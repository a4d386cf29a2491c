from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescueops.events.schemas import EventPayload
from rescueops.grading.tables import AssessmentStatus, GradeAction

Level = Literal[1, 2, 3]


# --- rubrics -------------------------------------------------------------------------------------


class SourceOut(BaseModel):
    id: str
    title_zh: str
    title_en: str
    says: str


class CriterionOut(BaseModel):
    id: str
    kind: str
    title_zh: str
    title_en: str
    level: int
    hard: bool
    evidence: str
    params: dict[str, Any]
    thresholds: list[str] = Field(description="The parameters a supervisor may edit")
    source: str
    verified: bool
    note: str


class RubricSummary(BaseModel):
    category: str
    version: int
    name_zh: str
    name_en: str
    created_by_name: str
    created_at: datetime
    reason: str
    file_version: str


class RubricOut(RubricSummary):
    validity_months: int
    appeal_days: int
    criteria: list[CriterionOut]
    sources: list[SourceOut]
    verified_share: float = Field(description="Share of criteria whose figure comes from a public source")


class ThresholdChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    params: dict[str, Any] = Field(description="New values of threshold parameters only, e.g. {\"min\": 20}")


class RubricEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=4, max_length=1000, description="Why the thresholds change (kept with the version)")
    changes: list[ThresholdChange] = Field(default_factory=list, max_length=200)
    validity_months: int | None = Field(default=None, ge=6, le=120)
    appeal_days: int | None = Field(default=None, ge=1, le=365)

    @model_validator(mode="after")
    def _something(self) -> RubricEdit:
        if not self.changes and self.validity_months is None and self.appeal_days is None:
            raise ValueError("changes: change at least one threshold (or the validity or appeal period)")
        return self


# --- evaluation ----------------------------------------------------------------------------------


class EvidenceRef(BaseModel):
    kind: Literal["member", "item", "stock", "kit", "drill", "team", "score", "document"]
    ref: str = Field(description="member id, asset tag, equipment type, drill id, team code, criterion or document id")
    label: str
    ok: bool = Field(description="Whether this record counts towards the criterion")
    note: str = ""


class CriterionResult(BaseModel):
    criterion_id: str
    kind: str
    title_zh: str
    title_en: str
    level: int
    hard: bool
    evidence_kind: str
    source: str
    verified: bool
    ladder: str = Field(description="Criteria with the same ladder measure one thing at several levels")
    status: Literal["passed", "failed", "pending"]
    measured: float | None
    threshold: float | None
    measured_zh: str
    measured_en: str
    threshold_zh: str
    threshold_en: str
    evidence: list[EvidenceRef]
    gap_zh: str = ""
    gap_en: str = ""


class GapItem(BaseModel):
    criterion_id: str
    level: int
    pending: bool = Field(description="Waiting for an assessor's score or a document, rather than failed on the records")
    text_zh: str
    text_en: str


class EvaluationOut(BaseModel):
    team_code: str
    team_name: str
    category: str
    on: date
    rubric_version: int
    manual_counted: bool = Field(description="Assessor-scored criteria count (an assessment); on the records alone they do not")
    eligible_level: int | None
    next_level: int | None = Field(description="The level the gap leads to; None at level 1")
    levels: dict[int, bool] = Field(description="Whether each level's hard criteria (cumulative) all pass")
    results: list[CriterionResult]
    gap: list[GapItem]
    advice: list[GapItem] = Field(description="Soft criteria not met for the next level")


class GradeInfo(BaseModel):
    category: str
    level: int
    status: str
    assessed_on: date
    valid_until: date | None


class GradeChangeOut(BaseModel):
    category: str
    action: GradeAction
    level: int | None
    valid_until: date | None
    reason: str
    assessment_id: int | None
    by_name: str
    at: datetime


class TeamCategoryGrading(BaseModel):
    category: str
    name_zh: str
    name_en: str
    grade: GradeInfo | None
    evaluation: EvaluationOut
    assessment_in_progress: int | None
    history: list[GradeChangeOut]


class TeamGrading(BaseModel):
    """A team's grading page: per graded category it covers, its grade and its evaluation on the records."""

    team_code: str
    team_name: str
    team_path: str
    categories: list[TeamCategoryGrading]


# --- assessments ---------------------------------------------------------------------------------


class AssessmentOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_code: str
    category: str
    requested_level: Level | None = Field(default=None, description="The level the team applies for, if it says")
    note: str = Field(default="", max_length=1000)


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    score: int = Field(ge=0)
    note: str = Field(default="", max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level | None = Field(description="The level granted; null: no level")
    reason: str = Field(min_length=2, max_length=2000)
    override_reason: str = Field(default="", max_length=2000, description="Required to decide above the eligible level")


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: bool
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _why_not(self) -> ConfirmationIn:
        if not self.confirm and len(self.note.strip()) < 2:
            raise ValueError("note: say why the level-1 decision is not confirmed")
        return self


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=10, max_length=4000)


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uphold: bool = Field(description="True: the appeal succeeds and ``level`` is granted instead")
    level: Level | None = None
    note: str = Field(min_length=2, max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class ScoreOut(BaseModel):
    criterion_id: str
    score: int
    note: str
    scored_by_name: str
    scored_at: datetime


class DocumentOut(BaseModel):
    id: int
    criterion_id: str
    title: str
    content_type: str
    size: int
    uploaded_by_name: str
    uploaded_at: datetime


class StepOut(BaseModel):
    step: str
    note: str
    by_name: str
    at: datetime


class AssessmentSummary(BaseModel):
    id: int
    team_code: str
    team_name: str
    category: str
    rubric_version: int
    status: AssessmentStatus
    applied: bool
    requested_level: int | None
    opened_by_name: str
    opened_at: datetime
    snapshot_on: date
    eligible_level: int | None = Field(description="With the scores so far (pending items count as not met)")
    decided_level: int | None
    granted_on: date | None
    valid_until: date | None
    appeal_deadline: date | None


class AssessmentOut(AssessmentSummary):
    team_path: str
    note: str
    evaluation: EvaluationOut = Field(description="The snapshot of the records with the assessors' scores applied")
    scores: list[ScoreOut]
    documents: list[DocumentOut]
    steps: list[StepOut]
    decision_reason: str
    override_reason: str
    decided_by_name: str
    decided_at: datetime | None
    confirmed_by_name: str
    confirmed_at: datetime | None
    confirmation_note: str
    appeal_reason: str
    appealed_by_name: str
    appealed_at: datetime | None
    appeal_outcome: str
    appeal_decided_by_name: str
    appeal_note: str
    withdrawn_reason: str


# --- readiness and the dashboard -----------------------------------------------------------------


class ReadinessOut(BaseModel):
    team_code: str
    team_name: str
    league_code: str
    county_code: str
    region: str
    category: str
    computed_on: date
    eligible_level: int | None
    granted_level: int | None
    grade_status: str
    grade_valid_until: date | None
    members_active: int
    people_available: int
    kits_ready: int
    kits_total: int
    equipment_in_service: int
    equipment_total: int
    last_drill_on: date | None
    score: int
    state: Literal["ready", "partial", "not_ready"]
    below_grade: bool = Field(description="The records no longer support the granted level")
    gap: list[GapItem]


class LevelCount(BaseModel):
    category: str
    league_code: str
    level: int | None = Field(description="Granted level; null: not graded")
    teams: int


class SeatScore(BaseModel):
    code: str = Field(description="A county's code, or a league's for its teams under no county")
    rows: int = Field(description="Team-categories there")
    score: int = Field(description="Their mean readiness score, 0–100")


class DashboardOut(BaseModel):
    scope_label: str
    computed_on: date | None
    teams: int
    by_state: dict[str, int]
    counts: list[LevelCount] = Field(description="Teams by category × level × league")
    by_region: dict[str, dict[str, int]] = Field(description="Hub region → readiness state → teams")
    seats: list[SeatScore] = Field(description="Mean readiness by county (or league seat), for the map")
    expiring: list[ReadinessOut] = Field(description="Grades expiring within 90 days, soonest first (the first 50)")
    expiring_total: int
    below_grade: list[ReadinessOut] = Field(description="Teams whose records no longer support their grade (the first 50)")
    below_grade_total: int
    rows: list[ReadinessOut] = Field(description="A page of every team × category, by place")
    rows_total: int
    limit: int | None = Field(description="The page's size; null: every row (the export)")
    offset: int


# --- events ---------------------------------------------------------------------------------------


class AssessmentEvent(EventPayload):
    """A step of an assessment (分级测评); the grant, suspension and cancellation of a grade are ``team.graded``."""

    event_types = (
        "grading.assessment_opened",
        "grading.assessment_scored",
        "grading.assessment_decided",
        "grading.assessment_confirmed",
        "grading.assessment_refused",
        "grading.assessment_appealed",
        "grading.appeal_decided",
        "grading.assessment_withdrawn",
    )

    assessment_id: int
    team_code: str
    category: str
    rubric_version: int
    status: AssessmentStatus
    eligible_level: int | None = None
    level: int | None = None
    reason: str = ""


class RubricEdited(EventPayload):
    """A supervisor changed a rubric's thresholds: a new version, with who and why."""

    event_types = ("grading.rubric_edited",)

    category: str
    rubric_version: int
    previous_version: int
    criteria: list[str]
    reason: str
