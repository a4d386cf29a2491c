from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rescueops.calendar import china_today
from rescueops.events.schemas import EventPayload
from rescueops.members.identity import valid_phone
from rescueops.orgs.schemas import UnitRef
from rescueops.teams.tables import FilingStatus, PartyOrganisation, RegistrationKind, TeamStatus

TEAM_CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{1,31}$"


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    graded: bool


class PersonRef(BaseModel):
    id: int
    name: str


class Leadership(BaseModel):
    captain: PersonRef | None
    deputies: list[PersonRef]


class GradeOut(BaseModel):
    category: str
    level: int
    assessed_on: date
    valid_until: date | None


class _TeamFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str = Field(min_length=2, max_length=100)
    name_en: str = Field(default="", max_length=200)
    specialties: list[str] = Field(default_factory=list, max_length=30, description="Category codes besides the primary one")
    registration_kind: RegistrationKind
    registration_number: str = Field(min_length=1, max_length=64, description="民政登记号 or 备案文号")
    filing_date: date | None = Field(default=None, description="Date of the Red Cross filing document")
    founded_on: date | None = None
    base_address: str = Field(default="", max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    hub_code: str | None = Field(default=None, description="Set for a regional backbone team")
    contact_phone: str = ""
    self_sufficiency_hours: int | None = Field(default=None, ge=1, le=8760, description="Hours the team can work without resupply")
    party_organisation: PartyOrganisation = Field(default=PartyOrganisation.none, description="Its party organisation (党组织), if any")

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return valid_phone(value) if value else ""

    @model_validator(mode="after")
    def _filing(self) -> _TeamFields:
        if self.registration_kind is RegistrationKind.red_cross_filing and self.filing_date is None:
            raise ValueError("filing_date: a team filed by a Red Cross document needs the document's date")
        if self.founded_on and self.founded_on > china_today():
            raise ValueError("founded_on: a founding date cannot be in the future")
        return self


class TeamCreate(_TeamFields):
    code: str = Field(pattern=TEAM_CODE, description="Unique team code, e.g. CF-WNT-01")
    unit_code: str = Field(description="The supervising league or county (org unit code)")
    primary_category: str


class TeamUpdate(_TeamFields):
    primary_category: str


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TeamStatus
    reason: str = Field(default="", max_length=500)
    effective_on: date = Field(default_factory=china_today)


class StatusChangeOut(BaseModel):
    from_status: str
    to_status: str
    reason: str
    effective_on: date
    changed_at: datetime


class TeamOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    unit: UnitRef
    path: str
    primary_category: CategoryOut
    specialties: list[CategoryOut]
    registration_kind: RegistrationKind
    registration_number: str
    filing_date: date | None
    founded_on: date | None
    base_address: str
    lat: float | None
    lon: float | None
    status: TeamStatus
    status_since: date
    hub_code: str | None
    contact_phone: str
    self_sufficiency_hours: int | None
    party_organisation: PartyOrganisation
    grades: list[GradeOut] = Field(description="Grades in force (suspended and expired ones are left out)")
    leadership: Leadership
    leadership_problem: str | None = Field(description="Why an active team is outside the 1 captain + 2–3 deputies rule")
    active_members: int


class GradingDeclarationIn(BaseModel):
    """What the team declares for grading (分级测评): checked by the assessors, kept on the team record."""

    model_config = ConfigDict(extra="forbid")

    self_sufficiency_hours: int | None = Field(default=None, ge=1, le=8760)
    party_organisation: PartyOrganisation = PartyOrganisation.none


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    captain_id: int = Field(description="Person id of the proposed captain")
    deputy_ids: list[int] = Field(max_length=10, description="Person ids of the proposed deputy captains (2 or 3)")
    reason: str = Field(min_length=2, max_length=1000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> DecisionIn:
        if not self.approve and len(self.reason.strip()) < 2:
            raise ValueError("reason: say why the filing is rejected")
        return self


class FilingOut(BaseModel):
    id: int
    team_code: str
    team_name: str
    status: FilingStatus
    proposed: Leadership
    previous: Leadership
    reason: str
    filed_by_name: str
    filed_at: datetime
    decided_by_name: str
    decided_at: datetime | None
    decision_reason: str


# --- events ------------------------------------------------------------------------------------


class TeamEvent(EventPayload):
    """A team was registered or changed status; hubs keep their picture of available teams from these."""

    event_types = ("team.created", "team.status_changed")

    team_code: str
    name_zh: str
    unit_code: str
    primary_category: str
    status: TeamStatus
    previous_status: TeamStatus | None = None
    reason: str = ""
    effective_on: date


class TeamGraded(EventPayload):
    """A grade (分级测评) was granted, suspended or cancelled for one category."""

    event_types = ("team.graded",)

    team_code: str
    category: str
    level: int | None  # None once suspended or cancelled
    valid_until: date | None
    decision: str  # granted, suspended, cancelled


class LeadershipEvent(EventPayload):
    """A leadership change was filed (备案) or decided; people are named by their member ids only."""

    event_types = ("leadership.filed", "leadership.approved", "leadership.rejected")

    filing_id: int
    team_code: str
    captain_id: int
    deputy_ids: list[int]
    reason: str = ""
