"""What comes in and goes out of the drills API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rescueops.drills.library import DrillType, EquipmentNeed
from rescueops.drills.tables import DrillStatus, ImprovementStatus, Rating
from rescueops.events.schemas import EventPayload
from rescueops.orgs.schemas import UnitRef


class ScenarioSummary(BaseModel):
    scenario_id: str
    version: int
    title_zh: str
    title_en: str
    type: DrillType
    categories: list[str]
    difficulty: str
    duration_minutes: int
    objectives: int
    injects: int
    problems: list[str] = Field(default_factory=list, description="Why the stored version needs attention (references since "
                                "removed from the catalogues); empty when it is in order")


class RecurrenceIn(BaseModel):
    """Repeat the drill: every ``interval`` weeks or months, ``occurrences`` times in all (the first included)."""

    model_config = ConfigDict(extra="forbid")

    frequency: Literal["weekly", "monthly"]
    interval: int = Field(default=1, ge=1, le=12)
    occurrences: int = Field(ge=2, le=52)


class DrillIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scenario_id: str
    scenario_version: int | None = Field(default=None, description="Empty: the latest version")
    title: str | None = Field(default=None, max_length=200, description="Empty: the scenario's title")
    organiser_team_code: str | None = Field(default=None, description="A team organising its own training…")
    organiser_unit_code: str | None = Field(default=None, description="…or a Red Cross branch organising a (joint) drill")
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(default=None, description="Empty: the start plus the scenario's duration")
    place: str = Field(min_length=2, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    team_codes: list[str] = Field(default_factory=list, max_length=200, description="Invited teams; the organising team is always invited")
    unit_codes: list[str] = Field(default_factory=list, max_length=50, description=(
        "Organisation units taking part: leagues, banners and counties, depots, partner provinces of a cooperation zone"))
    other_participants: list[str] = Field(default_factory=list, max_length=50, description="Other departments taking part, by name "
                                          "(e.g. a banner emergency management bureau)")
    expected_participants: int = Field(default=0, ge=0, le=100000)
    equipment: Annotated[list[EquipmentNeed], Field(max_length=100)] | None = Field(default=None, description="Empty: what the scenario asks for; "
                                                  "each type must be in the equipment catalogue")
    recurrence: RecurrenceIn | None = None

    @model_validator(mode="after")
    def _checks(self) -> DrillIn:
        if (self.organiser_team_code is None) == (self.organiser_unit_code is None):
            raise ValueError("organiser: give exactly one of organiser_team_code and organiser_unit_code")
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at: the drill must end after it starts")
        return self


class TeamRef(BaseModel):
    code: str
    name_zh: str


class ClockOut(BaseModel):
    started_at: datetime | None
    paused: bool
    elapsed_minutes: float


class DrillOut(BaseModel):
    id: int
    title: str
    scenario_id: str
    scenario_version: int
    scenario_title_zh: str
    type: DrillType
    organiser_unit_code: str
    organiser_unit_name_zh: str
    organiser_team: TeamRef | None
    starts_at: datetime
    ends_at: datetime
    place: str
    lat: float | None
    lon: float | None
    teams: list[TeamRef]
    units: list[UnitRef]
    other_participants: list[str]
    expected_participants: int
    equipment: list[EquipmentNeed]
    status: DrillStatus
    series_id: int | None
    cancel_reason: str
    called_at: datetime | None
    assembled_at: datetime | None
    mobilisation_minutes: float | None
    clock: ClockOut
    checked_in: int


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=500)


class CheckInIn(BaseModel):
    """A scan of a member's QR card (``card``: the token or the whole card URL), or a roll call (``person_id``)."""

    model_config = ConfigDict(extra="forbid")

    card: str | None = None
    person_id: int | None = None
    role: str | None = Field(default=None, description="The scenario's participant role this member plays")

    @model_validator(mode="after")
    def _one(self) -> CheckInIn:
        if (self.card is None) == (self.person_id is None):
            raise ValueError("give either card (a scanned member card) or person_id (roll call)")
        return self


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: str = Field(min_length=8, description="The scanned card: its token or the whole card URL")


class RollCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    present: list[int] = Field(min_length=1, max_length=500, description="Person ids of the members present")


class AttendanceOut(BaseModel):
    person_id: int
    name: str
    team_code: str
    role: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None
    late: bool
    method: str


class MobilisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    called_at: AwareDatetime
    assembled_at: AwareDatetime

    @model_validator(mode="after")
    def _order(self) -> MobilisationIn:
        if self.assembled_at < self.called_at:
            raise ValueError("assembled_at: the team cannot assemble before it is called")
        return self


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective_id: str
    rating: Rating
    observations: str = Field(default="", max_length=4000)


class ImprovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective_id: str
    action: str = Field(min_length=2, max_length=1000)
    owner: str = Field(min_length=2, max_length=100)
    due_on: date


class EvaluationIn(BaseModel):
    """One evaluation of the whole drill: every objective rated, by named evaluators, with the improvement plan."""

    model_config = ConfigDict(extra="forbid")

    evaluators: list[str] = Field(min_length=1, max_length=20)
    ratings: list[RatingIn] = Field(min_length=1, max_length=100)
    strengths: list[str] = Field(default_factory=list, max_length=100)
    improvements: list[ImprovementIn] = Field(default_factory=list, max_length=100)


class ObjectiveResult(BaseModel):
    objective_id: str
    title_zh: str
    capability_zh: str
    criteria: list[str]
    rating: Rating | None
    observations: str
    automatic: str | None = Field(default=None, description="What the logged events show for a timing objective")


class ImprovementOut(BaseModel):
    id: int
    drill_id: int
    drill_title: str
    objective_id: str
    action: str
    owner: str
    due_on: date
    status: ImprovementStatus
    overdue: bool
    closed_at: datetime | None
    closing_note: str


class CloseItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=2, max_length=1000)


class AfterActionReport(BaseModel):
    """What the after-action report (课后评估报告) is made from."""

    drill: DrillOut
    scenario_setting_zh: str
    evaluators: list[str]
    attendance: list[AttendanceOut]
    results: list[ObjectiveResult]
    strengths: list[str]
    improvements: list[ImprovementOut]
    generated_at: datetime


class TrainingPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    target_count: int = Field(ge=1, le=365)
    note: str = Field(default="", max_length=500)


class TrainingProgressOut(BaseModel):
    team: TeamRef
    year: int
    target_count: int | None
    held: int  # drills closed or ended this year
    planned: int  # drills still planned this year
    on_track: bool | None


class DrillEvent(EventPayload):
    """A drill was scheduled, cancelled or closed; the grading and the hubs follow these."""

    event_types = ("drill.scheduled", "drill.cancelled", "drill.closed")

    drill_id: int
    title: str
    scenario_id: str
    scenario_version: int
    starts_at: datetime
    teams: list[str]
    status: DrillStatus


class InjectOut(BaseModel):
    """An inject as participants see it once released: every message is marked as an exercise."""

    inject_id: str
    offset_minutes: int
    from_whom: str
    to_roles: list[str]
    message: str
    expected_actions: list[str]  # shown to the drill's organisers only
    objective_id: str
    delivered_at: datetime
    acknowledged: int  # how many participants acknowledged it
    acknowledged_by_me: bool
