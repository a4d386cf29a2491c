from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rescueops.calendar import china_today
from rescueops.events.schemas import EventPayload
from rescueops.members.identity import parse_id_number, valid_phone
from rescueops.members.tables import Gender, HoursSource, HoursStatus, MemberStatus, TeamRole

BLOOD_TYPES = ("", "A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
LANGUAGES = ("zh", "mn", "en", "ru")  # 汉语, 蒙古语, English, Russian


class _PersonFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    phone: str = ""
    blood_type: str = ""
    emergency_contact: str = Field(default="", max_length=50)
    emergency_phone: str = ""
    rc_member_number: str = Field(default="", max_length=32, description="红十字会会员号")
    skills: str = Field(default="", max_length=1000)
    languages: list[str] = Field(default_factory=lambda: ["zh"], max_length=20, description=f"codes from {', '.join(LANGUAGES)}")

    @field_validator("phone", "emergency_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return valid_phone(value) if value else ""

    @field_validator("blood_type")
    @classmethod
    def _blood(cls, value: str) -> str:
        value = value.upper()
        if value not in BLOOD_TYPES:
            raise ValueError(f"blood type is one of {', '.join(b for b in BLOOD_TYPES if b)}")
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language code {', '.join(unknown)}; use {', '.join(LANGUAGES)}")
        return list(dict.fromkeys(value))


class PersonIn(_PersonFields):
    gender: Gender
    birth_date: date
    id_number: str = Field(description="18-character resident identity number; checked, stored encrypted")

    @model_validator(mode="after")
    def _id_matches(self) -> PersonIn:
        number, born, gender = parse_id_number(self.id_number)
        if born != self.birth_date:
            raise ValueError(f"birth_date: {self.birth_date} differs from the birth date in the ID number ({born})")
        if gender != self.gender.value:
            raise ValueError("gender: differs from the gender the ID number encodes")
        self.id_number = number
        return self


class PersonUpdate(_PersonFields):
    pass


class JoinIn(BaseModel):
    """Add a person to a team: a new applicant, a probationer or (for existing teams) an active member."""

    model_config = ConfigDict(extra="forbid")

    person: PersonIn
    status: MemberStatus = MemberStatus.applicant
    joined_on: date = Field(default_factory=china_today)

    @field_validator("status")
    @classmethod
    def _starting_status(cls, value: MemberStatus) -> MemberStatus:
        if value not in (MemberStatus.applicant, MemberStatus.probation, MemberStatus.active):
            raise ValueError("a person joins as applicant, probation or active")
        return value


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MemberStatus
    reason: str = Field(default="", max_length=500)
    effective_on: date = Field(default_factory=china_today)


class MembershipOut(BaseModel):
    id: int
    team_code: str
    team_name: str
    role: TeamRole
    status: MemberStatus
    joined_on: date
    left_on: date | None
    exit_reason: str


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type_code: str
    number: str = Field(default="", max_length=64)
    issued_on: date
    expires_on: date | None = Field(default=None, description="Empty: issue date plus the type's default validity")

    @model_validator(mode="after")
    def _dates(self) -> CertificateIn:
        if self.issued_on > china_today():
            raise ValueError("issued_on: a certificate cannot be issued in the future")
        if self.expires_on and self.expires_on < self.issued_on:
            raise ValueError("expires_on: a certificate cannot expire before it was issued")
        return self


class CertificateTypeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    issuer: str
    validity_months: int | None
    first_aid: bool


class CertificateOut(BaseModel):
    id: int
    type_code: str
    type_name_zh: str
    type_name_en: str
    first_aid: bool
    number: str
    issued_on: date
    expires_on: date | None
    valid: bool = Field(description="Valid on the date asked for (today by default)")
    has_file: bool
    source: str = Field("", description='"" when entered on the roster; "training" when issued by first-aid training, '
                        "which alone may revoke it (the roster cannot delete it)")
    verify_url: str | None = Field(None, description="The public verification page of a certificate issued by first-aid training")


class InsuranceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    insurer: str = Field(min_length=2, max_length=100)
    policy_number: str = Field(min_length=2, max_length=64)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _dates(self) -> InsuranceIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: a policy cannot end before it starts")
        return self


class InsuranceOut(BaseModel):
    id: int
    insurer: str
    policy_number: str
    starts_on: date
    ends_on: date
    valid: bool
    has_file: bool = False


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worked_on: date
    hours: Decimal = Field(gt=0, le=24, decimal_places=2)
    note: str = Field(min_length=2, max_length=500, description="What the time was spent on")

    @field_validator("worked_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > china_today():
            raise ValueError("hours cannot be logged for a day that has not come")
        return value


class HoursOut(BaseModel):
    id: int
    person_id: int
    person_name: str
    team_code: str
    source: HoursSource
    worked_on: date
    hours: Decimal
    note: str
    status: HoursStatus


class HoursDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool


class MemberOut(BaseModel):
    """A person as the caller may see them: ID number and phones masked unless the role needs them."""

    id: int
    name: str
    gender: Gender
    birth_date: date
    id_number: str
    phone: str
    blood_type: str
    emergency_contact: str
    emergency_phone: str
    rc_member_number: str
    skills: str
    languages: list[str]
    masked: bool
    membership: MembershipOut | None = Field(description="The open membership, if any")
    first_aid_valid: bool
    insured: bool


class MemberDetail(MemberOut):
    history: list[MembershipOut]
    certificates: list[CertificateOut]
    insurance: list[InsuranceOut]
    hours_total: Decimal
    hours_this_year: Decimal


class RosterEntry(BaseModel):
    person_id: int
    name: str
    gender: Gender
    role: TeamRole
    status: MemberStatus
    joined_on: date
    phone: str
    first_aid_valid: bool
    first_aid_expires_on: date | None
    insured: bool
    hours_this_year: Decimal


class TeamRosterSummary(BaseModel):
    members: list[RosterEntry]
    active: int
    certified: int
    certified_ratio: float = Field(description="Share of active and probation members holding a valid first-aid certificate")
    expiring: list[dict] = Field(description="Certificates and insurance ending within 90 days")
    hours_this_year: Decimal


class AccountLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(description="The login to tie to this member; null unties it")


class CardOut(BaseModel):
    person_id: int
    token: str
    url: str


class CardCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=500)


class CardHolder(BaseModel):
    person_id: int
    name: str
    team_code: str | None
    team_name: str | None
    status: MemberStatus | None


class ImportRowError(BaseModel):
    row: int
    column: str
    message: str


class ImportReport(BaseModel):
    batch_id: int | None
    file_name: str
    rows: int
    valid_rows: int
    errors: list[ImportRowError]
    committed: int = 0


class MembershipChanged(EventPayload):
    """A person joined a team, changed status on it, or left it. Carries member ids, never personal data."""

    event_types = ("member.joined", "member.status_changed", "member.left")

    person_id: int
    team_code: str
    status: MemberStatus
    previous_status: MemberStatus | None = None
    effective_on: date
    reason: str = ""
