"""Request and response models of first-aid training (API and pages share them)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator  # noqa: F401

from rescueops.calendar import china_today
from rescueops.members.identity import parse_id_number, valid_phone
from rescueops.members.schemas import ImportReport, PersonIn
from rescueops.members.tables import Gender
from rescueops.training.tables import (
    BaseKind,
    BookingStatus,
    CourseKind,
    EnrolmentStatus,
    InstructorKind,
    OrganisationKind,
    Sector,
    SessionStatus,
)

# --- courses, sessions, enrolment, attendance ---

SESSION_HOURS_MAX = Decimal(500)  # a course's teaching hours; the instructor course is the longest


class CourseVersionIn(BaseModel):
    """A new version of a course (a new syllabus, other hours or pass marks); sessions already planned keep theirs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    syllabus: str = Field(min_length=2, max_length=100, description="e.g. 中国红十字会总会 应急救护培训统一教学大纲（2019 版）")
    hours: Decimal = Field(gt=0, le=SESSION_HOURS_MAX, decimal_places=1, description="Teaching hours (学时)")
    exam_required: bool = True
    theory_pass: int | None = Field(default=None, ge=0, le=100, description="Pass mark of the theory exam out of 100; null: not examined")
    practical_pass: int | None = Field(default=None, ge=0, le=100, description="Pass mark of the practical exam out of 100")
    certificate_type: str | None = Field(default=None, description="Code of the certificate type it leads to (members certificate types)")
    validity_months: int | None = Field(default=None, ge=1, le=240, description="Validity of the certificate; null: does not expire")
    reason: str = Field(min_length=2, max_length=500, description="Why the new version (recorded in the audit log)")

    @model_validator(mode="after")
    def _consistent(self) -> CourseVersionIn:
        if self.exam_required and self.theory_pass is None and self.practical_pass is None:
            raise ValueError("theory_pass: an examined course needs a theory or a practical pass mark")
        if not self.exam_required and (self.theory_pass is not None or self.practical_pass is not None):
            raise ValueError("exam_required: pass marks are given but the course has no exam")
        if self.certificate_type and not self.exam_required:
            raise ValueError("certificate_type: a certificate is earned by passing an exam; set exam_required")
        if self.validity_months is not None and not self.certificate_type:
            raise ValueError("validity_months: only a course leading to a certificate has a validity")
        return self


class CourseVersionOut(BaseModel):
    id: int
    version: int
    syllabus: str
    hours: Decimal
    exam_required: bool
    theory_pass: int | None
    practical_pass: int | None
    certificate_type: str | None
    certificate_name_zh: str | None
    validity_months: int | None
    created_at: datetime
    sessions: int = Field(description="Sessions planned with this version")


class CourseOut(BaseModel):
    code: str
    kind: CourseKind
    name_zh: str
    name_en: str
    active: bool
    from_reference: bool
    versions: list[CourseVersionOut] = Field(description="Newest first; sessions are planned with the first")


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_code: str = Field(description="The county (旗县区) the organisation is in")
    name: str = Field(min_length=2, max_length=100)
    kind: OrganisationKind
    sector: Sector = Sector.other


class OrganisationOut(BaseModel):
    id: int
    unit_code: str
    unit_name_zh: str
    name: str
    kind: OrganisationKind
    sector: Sector


class SessionIn(BaseModel):
    """Plan a session: the course's latest version is taken and kept."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    course_code: str
    unit_code: str = Field(description="The organising Red Cross branch: a county or a league")
    organisation_id: int | None = Field(default=None, description="The named organisation trained, under the unit")
    sector: Sector = Sector.other
    base_code: str | None = Field(default=None, description="A training base, or give a place")
    place: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=200)
    starts_on: date
    ends_on: date
    capacity: int = Field(ge=1, le=10000)

    @model_validator(mode="after")
    def _dates_and_place(self) -> SessionIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: the session cannot end before it starts")
        if (self.ends_on - self.starts_on).days > 366:
            raise ValueError("ends_on: a session lasts at most a year")
        if not self.base_code and not self.place:
            raise ValueError("place: give the place, or choose a training base")
        return self


class SessionStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: SessionStatus
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _reason(self) -> SessionStatusIn:
        if self.status is SessionStatus.cancelled and len(self.reason) < 2:
            raise ValueError("reason: say why the session is cancelled")
        return self


class SessionSummary(BaseModel):
    code: str
    title: str
    course_code: str
    course_kind: CourseKind
    course_name_zh: str
    course_version: int
    unit_code: str
    unit_name_zh: str
    unit_path: str
    organisation_id: int | None
    organisation_name: str | None
    sector: Sector
    base_code: str | None
    base_name_zh: str | None
    place: str
    starts_on: date
    ends_on: date
    capacity: int
    enrolled: int = Field(description="Named trainees enrolled (awareness sessions: 0; see reported_attendance)")
    status: SessionStatus
    reported_attendance: int


class SessionInstructorOut(BaseModel):
    instructor_id: int
    person_id: int
    name: str
    kind: str
    unit_code: str
    hours: Decimal


class SessionDetail(SessionSummary):
    syllabus: str
    hours: Decimal = Field(description="The course version's teaching hours")
    exam_required: bool
    theory_pass: int | None
    practical_pass: int | None
    certificate_type: str | None
    validity_months: int | None
    instructors: list[SessionInstructorOut]
    created_at: datetime


class SessionInstructorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instructor_id: int
    hours: Decimal = Field(gt=0, le=SESSION_HOURS_MAX, decimal_places=1, description="Hours taught; at most the course's hours")


class EnrolIn(BaseModel):
    """A trainee by name, gender and ID number (birth date and gender are read from the number and must agree)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    gender: Gender
    id_number: str
    phone: str = ""

    def person(self) -> PersonIn:
        number, born, _ = parse_id_number(self.id_number)
        return PersonIn(name=self.name, gender=self.gender, birth_date=born, id_number=number, phone=self.phone)

    @model_validator(mode="after")
    def _valid_person(self) -> EnrolIn:
        try:
            number, _, gender = parse_id_number(self.id_number)
        except ValueError as error:
            raise ValueError(f"id_number: {error}") from None
        if gender != self.gender.value:
            raise ValueError("gender: differs from the gender the ID number encodes")
        self.id_number = number
        if self.phone:
            try:
                self.phone = valid_phone(self.phone)
            except ValueError as error:
                raise ValueError(f"phone: {error}") from None
        return self


class EnrolmentOut(BaseModel):
    id: int
    person_id: int
    name: str
    gender: str
    id_number: str = Field(description="Masked: the last four characters")
    status: EnrolmentStatus
    hours: Decimal = Field(description="Hours attended, the sum of the attendance entries")
    enrolled_at: datetime


class EnrolmentImportReport(ImportReport):
    seats_left: int = Field(description="Free places in the session when the file was checked")


class AttendanceEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrolment_id: int
    hours: Decimal = Field(ge=0, le=24, decimal_places=1, description="Hours present that day; 0: absent")


class AttendanceIn(BaseModel):
    """One day's hours for the class, in one go."""

    model_config = ConfigDict(extra="forbid")

    day: date
    entries: list[AttendanceEntryIn] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _once_each(self) -> AttendanceIn:
        ids = [e.enrolment_id for e in self.entries]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"entries: enrolment {', '.join(map(str, twice))} given more than once")
        return self


class AttendanceRow(BaseModel):
    enrolment_id: int
    name: str
    id_number: str = Field(description="Masked")
    status: EnrolmentStatus
    days: dict[date, Decimal] = Field(description="Hours per day attended")
    hours: Decimal


class AttendanceSheet(BaseModel):
    code: str
    days: list[date]
    course_hours: Decimal
    rows: list[AttendanceRow]


class ReportedAttendanceIn(BaseModel):
    """An awareness session's heads (人次), as reported by the organiser: the new total, not an increment."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    count: int = Field(ge=0, le=1_000_000)
    note: str = Field(default="", max_length=500)


# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---


class ExamSittingIn(BaseModel):
    """Open a sitting of a session's exam: the examiner from the pool and the day."""

    model_config = ConfigDict(extra="forbid")

    examiner_id: int = Field(ge=1, description="A training_examiner id from the session's pool (GET …/exam/examiners)")
    held_on: date = Field(description="Not before the session starts")


class ExamSittingOut(BaseModel):
    id: int
    attempt: int = Field(description="1: the first sitting; 2, 3: re-sits")
    held_on: date
    examiner_id: int
    examiner_name: str
    examiner_unit: str
    scored: int = Field(description="Trainees with a result at this sitting")
    closed: bool = Field(description="A later re-sit is open: this sitting's results can no longer change")


class ExamExaminerChoice(BaseModel):
    """An examiner of the pool as a choice for one session: refused (with the reason) when they taught it."""

    id: int
    name: str
    unit_name: str
    qualification_number: str
    qualified_until: date | None
    taught_hours: Decimal | None = Field(description="Hours this person taught the session (教考分离: they cannot examine it)")
    eligible: bool
    reason: str = ""


class ExamScoreIn(BaseModel):
    """One trainee's result at one sitting: scores out of 100 for the parts the course version examines, or absent."""

    model_config = ConfigDict(extra="forbid")

    enrolment_id: int = Field(ge=1)
    theory: int | None = Field(default=None, ge=0, le=100)
    practical: int | None = Field(default=None, ge=0, le=100)
    absent: bool = False


class ExamScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: list[ExamScoreIn] = Field(min_length=1, max_length=2000)


class ExamAttempt(BaseModel):
    attempt: int
    theory: int | None
    practical: int | None
    absent: bool
    passed: bool


class ExamTrainee(BaseModel):
    enrolment_id: int
    person_id: int
    name: str
    id_number: str = Field(description="Masked: the last four characters only")
    hours: Decimal
    enrolment_status: str
    attempts: list[ExamAttempt]
    outcome: str = Field(description="passed, failed, absent, not_examined, not_eligible or withdrawn")
    passed_attempt: int | None
    may_sit: bool = Field(description="May be given a result at the latest sitting")
    reason: str = Field("", description="Why not, when may_sit is false")
    certificate_number: str | None = None


class ExamResultsOut(BaseModel):
    session_code: str
    course_name_zh: str
    course_name_en: str
    exam_required: bool
    hours: Decimal
    theory_pass: int | None = Field(description="Pass mark; None: theory is not examined")
    practical_pass: int | None
    certificate_type: str | None
    max_attempts: int = Field(description="The first sitting and at most MAX_RESITS re-sits")
    sittings: list[ExamSittingOut]
    trainees: list[ExamTrainee]
    passed: int
    certified: int
    to_certify: int = Field(description="Passed (or, without an exam, fully attended) and not yet certified")


class CertificateIssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issued_on: date | None = Field(default=None, description="Default today (China); not in the future")


class CertificateIssueOut(BaseModel):
    session_code: str
    issued: int
    numbers: list[str]


class CertificateRevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=4, max_length=500, description="Why the certificate is revoked (kept and audited)")


class TrainingCertificateSummary(BaseModel):
    id: int
    number: str
    person_name: str
    kind: str
    certificate_name_zh: str
    certificate_name_en: str
    course_name_zh: str
    course_name_en: str
    unit_code: str
    unit_name_zh: str
    session_code: str
    issued_on: date
    expires_on: date | None
    revoked_on: date | None
    status: str = Field(description="valid, expired or revoked, judged today (China)")


class TrainingCertificateOut(TrainingCertificateSummary):
    person_id: int
    id_number: str = Field(description="Masked: the last four characters only")
    course_version: int
    syllabus: str
    hours: Decimal
    examiner_name: str | None
    sitting_attempt: int | None
    revoked_reason: str
    issued_by: str
    revoked_by: str
    verify_url: str = Field(description="The public verification page the printed QR opens")


class PublicCertificateOut(BaseModel):
    """What anyone may learn of a certificate: no number, ID number, phone, examiner or full name."""

    status: str = Field(description="valid, expired or revoked")
    judged_on: date = Field(description="The day the status is judged on (today, China)")
    certificate_name_zh: str
    certificate_name_en: str
    course_name_zh: str
    course_name_en: str
    issued_on: date
    expires_on: date | None
    holder: str = Field(description="The holder's name masked: first and last characters kept (王*明)")


class CertificateLookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=50, description="The holder's full name, as printed")


# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---

REFRESHER_EVERY_MONTHS = 12  # "每年有计划进行复训" (Jiangyin seed): a refresher at least once a year
QUALIFICATION_WARNING_DAYS = 90  # a qualification expiring within this many days is due for a refresher too
FULL_TIME_PER_COUNTY = 2  # "实现旗红十字会至少有2名专职应急救护师资" (Wengniute plan, seed 000)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_BASE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")


class _PersonByIdNumber(BaseModel):
    """Who is meant, by their ID number: an existing person is found by it; a new one is made from it (birth date and
    gender come from the number) with ``name`` and ``phone``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id_number: str = Field(description="18-character resident identity number")
    name: str = Field(default="", max_length=50, description="Needed when no one with this ID number is known yet")
    phone: str = ""

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        return parse_id_number(value)[0]

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return valid_phone(value) if value else ""


_china_today = china_today


def _not_future(value: date | None, what: str) -> None:
    if value is not None and value > _china_today():
        raise ValueError(f"{what}: cannot be in the future")


class InstructorIn(_PersonByIdNumber):
    unit_code: str = Field(description="The county or league Red Cross the instructor belongs to")
    kind: InstructorKind
    qualification_number: str = Field(default="", max_length=64)
    qualified_on: date
    qualification_expires_on: date | None = None
    last_refresher_on: date | None = None
    stars: int = Field(default=0, ge=0, le=5, description="Star grade (评星) on registering, 0–5")

    @model_validator(mode="after")
    def _dates(self) -> InstructorIn:
        _check_qualification(self.qualified_on, self.qualification_expires_on, self.last_refresher_on)
        return self


def _check_qualification(qualified_on: date | None, expires_on: date | None, refresher_on: date | None) -> None:
    _not_future(qualified_on, "qualified_on")
    _not_future(refresher_on, "last_refresher_on")
    if qualified_on and expires_on and expires_on <= qualified_on:
        raise ValueError("qualification_expires_on: must be after the qualification date")
    if qualified_on and refresher_on and refresher_on < qualified_on:
        raise ValueError("last_refresher_on: cannot be before the qualification date")


class InstructorUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_code: str | None = None
    kind: InstructorKind | None = None
    qualification_number: str | None = Field(default=None, max_length=64)
    qualified_on: date | None = None
    qualification_expires_on: date | None = None
    last_refresher_on: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> InstructorUpdate:
        _check_qualification(self.qualified_on, self.qualification_expires_on, self.last_refresher_on)
        return self


class ActiveChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    active: bool
    reason: str = Field(min_length=2, max_length=500)


class StarChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stars: int = Field(ge=0, le=5)
    awarded_on: date = Field(default_factory=_china_today)
    reason: str = Field(min_length=2, max_length=500)

    @field_validator("awarded_on")
    @classmethod
    def _awarded(cls, value: date) -> date:
        _not_future(value, "awarded_on")
        return value


class InstructorOut(BaseModel):
    id: int
    person_id: int
    name: str
    id_number: str = Field(description="Masked")
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    kind: InstructorKind
    qualification_number: str
    qualified_on: date
    qualification_expires_on: date | None
    last_refresher_on: date | None
    stars: int
    active: bool
    qualification_valid: bool = Field(description="Qualified on or before today and not expired")
    refresher_due: bool
    refresher_due_reason: str = Field(description="'refresher' (last refresher or qualification over 12 months ago), "
                                      "'expiring' (qualification ends within 90 days or has ended), or ''")
    sessions_this_year: int = 0
    # No Decimal default: the OpenAPI schema would hold a Decimal object, which JSON serves as a string.
    hours_this_year: Decimal = Field(description="Hours taught this year (cancelled sessions left out)")


class StarOut(BaseModel):
    stars: int
    awarded_on: date
    reason: str
    by_user: int | None
    by_name: str
    at: datetime


class TeachingYear(BaseModel):
    year: int
    sessions: int
    hours: Decimal


class InstructorDetail(InstructorOut):
    star_history: list[StarOut] = Field(description="Newest first")
    teaching: list[TeachingYear] = Field(description="Sessions taught and hours per year (cancelled sessions left out), newest first")


class CountyCheck(BaseModel):
    unit_code: str
    name_zh: str
    name_en: str
    league_code: str
    league_name_zh: str
    full_time_valid: int = Field(description="Active full-time instructors with a qualification valid today")
    required: int
    met: bool
    short_by: int


class ExaminerIn(_PersonByIdNumber):
    unit_code: str = Field(description="The county, league or region Red Cross keeping the examiner in its pool")
    qualification_number: str = Field(default="", max_length=64)
    qualified_until: date | None = None
    username: str | None = Field(default=None, max_length=100, description="An existing login to tie to the examiner: it "
                                 "is granted the examiner role over the unit, so they can sign in and enter scores")

    @field_validator("qualified_until")
    @classmethod
    def _until(cls, value: date | None) -> date | None:
        if value is not None and value < _china_today():
            raise ValueError("qualified_until: the qualification has already ended")
        return value


class ExaminerOut(BaseModel):
    id: int
    person_id: int
    name: str
    id_number: str = Field(description="Masked")
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    qualification_number: str
    qualified_until: date | None
    active: bool
    valid: bool = Field(description="Active and qualified today")
    username: str | None
    also_instructor: bool


def _check_opening(value: dict[str, list[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for day, hours in value.items():
        if day not in {"1", "2", "3", "4", "5", "6", "7"}:
            raise ValueError(f"opening: '{day}' is not an ISO weekday (1 = Monday … 7 = Sunday)")
        if len(hours) != 2 or not all(isinstance(h, str) and _TIME.match(h) for h in hours):
            raise ValueError(f"opening: day {day} needs two times like [\"08:30\", \"17:00\"]")
        if hours[0] >= hours[1]:
            raise ValueError(f"opening: on day {day} the closing time {hours[1]} is not after the opening time {hours[0]}")
        clean[day] = list(hours)
    return dict(sorted(clean.items()))


class BaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(description="Letters, digits, - and _; 2–40 characters")
    unit_code: str
    kind: BaseKind
    name_zh: str = Field(min_length=2, max_length=100)
    name_en: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=200)
    capacity: int = Field(ge=1, le=10000, description="People at once")
    opening: dict[str, list[str]] = Field(default_factory=dict, description='Per ISO weekday: {"1": ["08:30", "17:00"]}; '
                                          "a day left out is closed")
    active: bool = True

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _BASE_CODE.match(value):
            raise ValueError("letters, digits, - and _ only, 2–40 characters")
        return value

    @field_validator("opening")
    @classmethod
    def _opening(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_opening(value)


class BaseUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name_zh: str | None = Field(default=None, min_length=2, max_length=100)
    name_en: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=10000)
    opening: dict[str, list[str]] | None = None
    active: bool | None = None

    @field_validator("opening")
    @classmethod
    def _opening(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        return None if value is None else _check_opening(value)


class BaseOut(BaseModel):
    id: int
    code: str
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    kind: BaseKind
    name_zh: str
    name_en: str
    address: str
    capacity: int
    opening: dict[str, list[str]]
    active: bool


class BookingPurpose(str, Enum):
    visit = "visit"  # 参观
    experience = "experience"  # 体验
    session = "session"  # 培训班


class BookingIn(BaseModel):
    """Times without a zone are China Standard Time."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    group_name: str = Field(min_length=2, max_length=100)
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: str
    people: int = Field(ge=1, le=10000)
    starts_at: datetime
    ends_at: datetime
    purpose: BookingPurpose = BookingPurpose.visit
    session_code: str | None = Field(default=None, description="The training session held at this base, for purpose 'session'")

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return valid_phone(value)


class BookingCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=500)


class BookingOut(BaseModel):
    id: int
    base_code: str
    base_name_zh: str
    group_name: str
    contact_name: str
    contact_phone: str = Field(description="Masked unless the caller manages the base")
    people: int
    starts_at: datetime
    ends_at: datetime
    purpose: str
    session_code: str | None
    status: BookingStatus
    cancelled_reason: str
    created_at: datetime


class BookingDay(BaseModel):
    day: date
    weekday: int
    opening: list[str] | None = Field(description="[opens, closes], or null when closed")
    bookings: list[BookingOut]
    people_peak: int = Field(description="Most people booked at one time that day")


class BookingWeek(BaseModel):
    base: BaseOut
    week_of: date = Field(description="The Monday")
    days: list[BookingDay]


# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---


class Figures(BaseModel):
    """The three counts of an allocation table: 持证培训总数, 初级救护员 (part of it), 普及培训 (人次)."""

    certified: int = 0
    junior: int = 0
    awareness: int = 0


class TargetLineOut(BaseModel):
    """One line of a yearly allocation table with what was achieved against it in that year."""

    id: int
    label: str
    line_kind: str = Field(description="unit (a sub-unit and everything under it), organisation or sector")
    line_unit_code: str | None = None
    line_unit_name: str | None = None
    organisation_id: int | None = None
    organisation_name: str | None = None
    sector: str | None = None
    target: Figures
    actual: Figures


class TargetTableOut(BaseModel):
    year: int
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    lines: list[TargetLineOut]
    total: Figures = Field(description="The lines' targets added up (the table's 合计)")
    actual: Figures = Field(description="What the unit's whole subtree achieved in the year (lines may overlap: a sector line "
                                        "counts sessions the unit lines count too)")
    imported_at: datetime | None = None


class TargetLineEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certified: int = Field(ge=0, le=10_000_000)
    junior: int = Field(ge=0, le=10_000_000)
    awareness: int = Field(ge=0, le=100_000_000)

    @model_validator(mode="after")
    def _junior_within_certified(self) -> TargetLineEdit:
        if self.junior > self.certified:
            raise ValueError(f"junior: {self.junior} junior first-aiders is more than the {self.certified} certificates they are part of")
        return self


class TargetImportLine(BaseModel):
    row: int
    label: str
    line_kind: str
    matched: str = Field(description="What the line was matched to: the unit's or organisation's name, or the sector")
    line_unit_code: str | None = None
    organisation_id: int | None = None
    sector: str | None = None
    target: Figures


class TargetImportProblem(BaseModel):
    row: int
    column: str
    message: str


class TargetImportReport(BaseModel):
    year: int
    unit_code: str
    file_name: str
    lines: list[TargetImportLine]
    errors: list[TargetImportProblem]
    total: Figures
    committed: bool = False
    replaced: int = Field(default=0, description="Lines of the same year and unit the commit replaced")


class GoalOut(BaseModel):
    """One of the plans' goals for 2030, as the unit stands on the day."""

    code: str
    goal: float
    by_year: int
    actual: float | None = Field(description="None when it cannot be worked out (no population figure, no AEDs, no members)")
    numerator: int
    denominator: int | None
    met: bool | None
    note: str = ""
    source: str


class ChildProgressOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    population: int | None
    actual: Figures
    target: Figures | None = Field(description="The child's line in this unit's allocation table, when it has one")
    valid_certificates: int
    certified_share: float | None


class UnitLink(BaseModel):
    code: str
    name_zh: str
    name_en: str


class ProgressOut(BaseModel):
    unit_code: str
    unit_name_zh: str
    unit_name_en: str
    kind: str
    year: int
    on: date = Field(description="The day the goals are measured on (certificates valid then: month granularity)")
    ancestors: list[UnitLink]
    population: int | None
    population_summed: bool = Field(description="True when the population is the children's added up (the unit has no figure)")
    actual: Figures
    target: Figures | None
    lines: list[TargetLineOut]
    own: Figures = Field(description="Sessions the unit ran itself, not under one of its children")
    children: list[ChildProgressOut]
    valid_certificates: int
    awareness_cumulative: int
    aeds: int
    rescue_members: int
    rescue_certified: int
    goals: list[GoalOut]


# --- end of targets and progress ---
