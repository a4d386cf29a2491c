"""The training API (/api/v1/training/…) and the public certificate check."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from pydantic import BaseModel, ConfigDict

from rescueops.accounts.auth import requires, signed_in
from rescueops.calendar import china_today
from rescueops.db.pagination import Page, PageParams
from rescueops.errors import field_error
from rescueops.members.routes import XLSX, FileUpload
from rescueops.training import bases, certificates, enrolment_file, exams, instructors, progress
from rescueops.training import service as session_service
from rescueops.training.schemas import (  # noqa: E501  # noqa: E501
    ActiveChangeIn,
    AttendanceIn,
    AttendanceSheet,
    BaseIn,
    BaseOut,
    BaseUpdate,
    BookingCancelIn,
    BookingIn,
    BookingOut,
    BookingWeek,
    CertificateIssueIn,
    CertificateIssueOut,
    CertificateLookupIn,
    CertificateRevokeIn,
    CountyCheck,
    CourseOut,
    CourseVersionIn,
    EnrolIn,
    EnrolmentImportReport,
    EnrolmentOut,
    ExamExaminerChoice,
    ExaminerIn,
    ExaminerOut,
    ExamResultsOut,
    ExamScoresIn,
    ExamSittingIn,
    ExamSittingOut,
    InstructorDetail,
    InstructorIn,
    InstructorOut,
    InstructorUpdate,
    OrganisationIn,
    OrganisationOut,
    ProgressOut,
    PublicCertificateOut,
    ReportedAttendanceIn,
    SessionDetail,
    SessionIn,
    SessionInstructorIn,
    SessionStatusIn,
    SessionSummary,
    StarChangeIn,
    TargetImportReport,
    TargetLineEdit,
    TargetTableOut,
    TrainingCertificateOut,
    TrainingCertificateSummary,
)
from rescueops.training.tables import BaseKind, CourseKind, InstructorKind, Sector, SessionStatus
from rescueops.uploads import SPREADSHEET_REQUEST_MAX_BYTES, attachment
from rescueops.web.errors import error_spec

# --- courses, sessions, enrolment, attendance ---


def _session_filters(unit: str | None, kind: CourseKind | None, sector: Sector | None, status: SessionStatus | None,
                     starts_from: date | None, starts_to: date | None) -> dict:
    if starts_from and starts_to and starts_to < starts_from:
        raise field_error("starts_to", "the end of the date range is before its start")
    return {"unit_code": unit, "kind": kind.value if kind else None, "sector": sector.value if sector else None,
            "status": status.value if status else None, "starts_from": starts_from, "starts_to": starts_to}


class CourseController(Controller):
    """The course catalogue (统一教学大纲) and the named organisations sessions are held for."""

    path = "/api/v1/training"
    tags = ["training"]
    guards = [signed_in]

    @get("/courses", summary="The course catalogue: each course with its versions, newest first", guards=[requires("training.view")])
    async def courses(self, include_inactive: FromQuery[bool] = False) -> list[CourseOut]:
        return await session_service.list_courses(include_inactive=include_inactive)

    @post("/courses/{code:str}/versions", summary="Publish a new version of a course (region); sessions keep theirs",
          guards=[requires("training.courses")])
    async def publish(self, request: Request, code: FromPath[str], data: JSONBody[CourseVersionIn]) -> CourseOut:
        return await session_service.publish_version(request.user, code, data)

    @get("/organisations", summary="Named organisations (schools, companies, agencies, villages, communities) in scope",
         guards=[requires("training.view")])
    async def organisations(self, request: Request, unit: FromQuery[str | None] = None) -> list[OrganisationOut]:
        return await session_service.list_organisations(request.user, unit_code=unit)

    @get("/courses.xlsx", summary="The course catalogue as .xlsx: one row per version", media_type=XLSX, guards=[requires("training.view")])
    async def courses_xlsx(self) -> Response:
        return attachment(await session_service.export_courses(), "training-courses.xlsx", XLSX)

    @get("/organisations.xlsx", summary="The named organisations in scope (?unit= its subtree) as .xlsx, with their sessions",
         media_type=XLSX, guards=[requires("training.view")])
    async def organisations_xlsx(self, request: Request, unit: FromQuery[str | None] = None) -> Response:
        return attachment(await session_service.export_organisations(request.user, unit_code=unit), "training-organisations.xlsx", XLSX)

    @post("/organisations", summary="Add a named organisation under a county", guards=[requires("training.manage")])
    async def add_organisation(self, request: Request, data: JSONBody[OrganisationIn]) -> OrganisationOut:
        return await session_service.create_organisation(request.user, data)


class SessionController(Controller):
    """Training sessions: planning, status, instructors, enrolment (one by one or from a list), attendance, exports."""

    path = "/api/v1/training/sessions"
    tags = ["training"]
    guards = [signed_in]

    @get("", summary="Sessions in scope, newest first", guards=[requires("training.view")])
    async def list_sessions(self, request: Request, page: NamedDependency[PageParams], unit: FromQuery[str | None] = None, kind: FromQuery[CourseKind | None] = None,
                   sector: FromQuery[Sector | None] = None, status: FromQuery[SessionStatus | None] = None,
                   starts_from: FromQuery[date | None] = None, starts_to: FromQuery[date | None] = None) -> Page[SessionSummary]:
        return await session_service.list_sessions(request.user, page, **_session_filters(unit, kind, sector, status, starts_from, starts_to))

    @get("/export.xlsx", summary="The session list (same filters) as .xlsx", media_type=XLSX, guards=[requires("training.view")])
    async def export(self, request: Request, unit: FromQuery[str | None] = None, kind: FromQuery[CourseKind | None] = None,
                     sector: FromQuery[Sector | None] = None, status: FromQuery[SessionStatus | None] = None,
                     starts_from: FromQuery[date | None] = None, starts_to: FromQuery[date | None] = None) -> Response:
        content = await session_service.export_sessions(request.user, **_session_filters(unit, kind, sector, status, starts_from, starts_to))
        return attachment(content, "training-sessions.xlsx", XLSX)

    @get("/template.xlsx", summary="The trainee-list import template (Chinese headers)", media_type=XLSX)
    async def template(self) -> Response:
        return attachment(enrolment_file.template(), "trainee-list-template.xlsx", XLSX)

    @post("", summary="Plan a session (the course's latest version is kept)", guards=[requires("training.manage")])
    async def plan(self, request: Request, data: JSONBody[SessionIn]) -> SessionDetail:
        return await session_service.plan_session(request.user, data)

    @get("/{code:str}", summary="A session with its course version and instructors")
    async def detail(self, request: Request, code: FromPath[str]) -> SessionDetail:
        return await session_service.get_session(request.user, code)

    @post("/{code:str}/status", summary="Move a session on: planned → open → running → completed, or cancelled (with a reason)",
          status_code=200)
    async def status(self, request: Request, code: FromPath[str], data: JSONBody[SessionStatusIn]) -> SessionDetail:
        return await session_service.change_status(request.user, code, data)

    @post("/{code:str}/instructors", summary="An instructor teaches the session (not one of its examiners: 教考分离)")
    async def add_instructor(self, request: Request, code: FromPath[str], data: JSONBody[SessionInstructorIn]) -> SessionDetail:
        return await session_service.add_instructor(request.user, code, data)

    @delete("/{code:str}/instructors/{instructor_id:int}", summary="Take an instructor off the session", status_code=200)
    async def remove_instructor(self, request: Request, code: FromPath[str], instructor_id: FromPath[int]) -> SessionDetail:
        return await session_service.remove_instructor(request.user, code, instructor_id)

    @get("/{code:str}/enrolments", summary="The class: enrolled and withdrawn trainees (ID numbers masked)")
    async def enrolments(self, request: Request, code: FromPath[str]) -> list[EnrolmentOut]:
        return await session_service.list_enrolments(request.user, code)

    @post("/{code:str}/enrolments", summary="Enrol a trainee by name, gender and ID number (not for awareness sessions)")
    async def enrol(self, request: Request, code: FromPath[str], data: JSONBody[EnrolIn]) -> EnrolmentOut:
        return await session_service.enrol(request.user, code, data)

    @post("/{code:str}/enrolments/{enrolment_id:int}/withdraw", summary="A trainee withdraws", status_code=200)
    async def withdraw(self, request: Request, code: FromPath[str], enrolment_id: FromPath[int]) -> EnrolmentOut:
        return await session_service.withdraw(request.user, code, enrolment_id)

    @post("/{code:str}/enrolments/import", summary="Upload a trainee list (.xlsx/.csv) and get the row-by-row report; enrols no one",
          status_code=200, request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def check_import(self, request: Request, code: FromPath[str], data: MultipartBody[FileUpload]) -> EnrolmentImportReport:
        return await session_service.check_enrolment_file(request.user, code, data.file.filename or "trainees", await data.file.read())

    @post("/{code:str}/enrolments/import/{batch_id:int}/commit", summary="Enrol every trainee of a checked list, or none",
          status_code=200)
    async def commit_import(self, request: Request, code: FromPath[str], batch_id: FromPath[int]) -> EnrolmentImportReport:
        return await session_service.commit_enrolment_import(request.user, code, batch_id)

    @get("/{code:str}/attendance", summary="The attendance sheet: hours per trainee per day")
    async def attendance(self, request: Request, code: FromPath[str]) -> AttendanceSheet:
        return await session_service.attendance_sheet(request.user, code)

    @put("/{code:str}/attendance", summary="One day's hours for the class; each trainee's hours become the sum of their days")
    async def record_attendance(self, request: Request, code: FromPath[str], data: JSONBody[AttendanceIn]) -> AttendanceSheet:
        return await session_service.record_attendance(request.user, code, data)

    @put("/{code:str}/reported-attendance", summary="An awareness session's heads (人次), set or corrected")
    async def reported_attendance(self, request: Request, code: FromPath[str], data: JSONBody[ReportedAttendanceIn]) -> SessionDetail:
        return await session_service.set_reported_attendance(request.user, code, data)

    @get("/{code:str}/class.xlsx", summary="The class list as .xlsx (ID numbers masked)", media_type=XLSX)
    async def class_list(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_class(request.user, code), f"class-{code}.xlsx", XLSX)

    @get("/{code:str}/instructors.xlsx", summary="The session's instructors and their hours as .xlsx", media_type=XLSX)
    async def instructors_xlsx(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_session_instructors(request.user, code), f"instructors-{code}.xlsx", XLSX)

    @get("/{code:str}/attendance.xlsx", summary="The attendance sheet as .xlsx", media_type=XLSX)
    async def attendance_export(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_attendance(request.user, code), f"attendance-{code}.xlsx", XLSX)


# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


class ExamController(Controller):
    """Exams kept apart from teaching (教考分离): sittings, scores, results; the certificates they lead to."""

    path = "/api/v1/training"
    tags = ["training"]
    guards = [signed_in]

    @get("/sessions/{code:str}/exam", summary="A session's sittings and every trainee's results, eligibility and certificate")
    async def exam_results(self, request: Request, code: FromPath[str]) -> ExamResultsOut:
        return await exams.results(request.user, code)

    @get("/sessions/{code:str}/exam/results.xlsx", summary="The session's exam results as .xlsx", media_type=XLSX)
    async def exam_results_xlsx(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await exams.results_xlsx(request.user, code), f"results-{code}.xlsx", XLSX)

    @get("/sessions/{code:str}/exam/examiners", summary="The examiner pool for the session on a day; those who taught it are "
         "refused (教考分离), with the reason")
    async def exam_examiners(self, request: Request, code: FromPath[str], held_on: FromQuery[date | None] = None) -> list[ExamExaminerChoice]:
        return await exams.examiner_choices(request.user, code, held_on)

    @post("/sessions/{code:str}/exam/sittings", summary="Open the next sitting (the first, or a re-sit) with an examiner from the "
          f"pool; at most {exams.MAX_RESITS} re-sits", guards=[requires("training.manage")])
    async def open_sitting(self, request: Request, code: FromPath[str], data: JSONBody[ExamSittingIn]) -> ExamSittingOut:
        return await exams.open_sitting(request.user, code, data)

    @put("/sessions/{code:str}/exam/sittings/{attempt:int}/scores", summary="Enter or correct results at a sitting (its examiner "
         "only); all rows or none", guards=[requires("training.examine")])
    async def enter_scores(self, request: Request, code: FromPath[str], attempt: FromPath[int], data: JSONBody[ExamScoresIn]) -> ExamResultsOut:
        return await exams.enter_scores(request.user, code, attempt, data)

    @post("/sessions/{code:str}/certificates", summary="Issue certificates to every trainee who passed and has none of this "
          "session yet (one transaction)", guards=[requires("training.certify")], status_code=200)
    async def issue(self, request: Request, code: FromPath[str], data: JSONBody[CertificateIssueIn | None] = None) -> CertificateIssueOut:
        return await certificates.issue_certificates(request.user, code, data)

    @get("/certificates", summary="Certificates within the caller's scopes: q a number (or its start) or a holder's full name; "
         "kind, unit (code, its subtree), year of issue, status (valid, expired, revoked)")
    async def list_certificates(self, request: Request, page: NamedDependency[PageParams], q: FromQuery[str] = "", kind: FromQuery[str] = "",
                                unit: FromQuery[str] = "", year: FromQuery[int | None] = None,
                                status: FromQuery[str] = "") -> Page[TrainingCertificateSummary]:
        items, total = await certificates.list_certificates(request.user, page, q=q, kind=kind, unit=unit, year=year, status=status)
        return Page.of(items, total, page)

    @get("/certificates.xlsx", summary="The certificate list (same filters) as .xlsx", media_type=XLSX)
    async def certificates_xlsx(self, request: Request, q: FromQuery[str] = "", kind: FromQuery[str] = "", unit: FromQuery[str] = "",
                                year: FromQuery[int | None] = None, status: FromQuery[str] = "") -> Response:
        content = await certificates.certificates_xlsx(request.user, q=q, kind=kind, unit=unit, year=year, status=status)
        return attachment(content, "certificates.xlsx", XLSX)

    @get("/certificates/{number:str}", summary="A certificate: holder (ID masked), course version, dates, examiner, status")
    async def certificate(self, request: Request, number: FromPath[str]) -> TrainingCertificateOut:
        return await certificates.get_certificate(request.user, number)

    @get("/certificates/{number:str}/pdf", summary="The printable certificate (PDF, Chinese) with its verification QR",
         media_type="application/pdf")
    async def certificate_pdf(self, request: Request, number: FromPath[str]) -> Response:
        content, name = await certificates.certificate_pdf(request.user, number)
        return attachment(content, name, "application/pdf")

    @post("/certificates/{number:str}/revocation", summary="Revoke a certificate, with the reason; the roster copy goes",
          guards=[requires("training.certify")], status_code=200)
    async def revoke(self, request: Request, number: FromPath[str], data: JSONBody[CertificateRevokeIn]) -> TrainingCertificateOut:
        return await certificates.revoke(request.user, number, data)


@get("/api/v1/public/certificates/{token:str}", tags=["public"], summary="Check a certificate by its QR token, for anyone: "
     "validity, course, dates and a masked name only (rate-limited)", responses={429: error_spec("Too many checks from this address")})
async def public_certificate(request: Request, token: FromPath[str]) -> PublicCertificateOut:
    return await certificates.verify_token(token, _client(request))


@post("/api/v1/public/certificates/lookup", tags=["public"], status_code=200, summary="Check a certificate by its number and the "
      "holder's full name, for anyone: the same answer as the QR, 404 unless both match (rate-limited)",
      responses={429: error_spec("Too many checks from this address")})
async def public_certificate_lookup(request: Request, data: JSONBody[CertificateLookupIn]) -> PublicCertificateOut:
    return await certificates.verify_number(data, _client(request))


# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---


class InstructorController(Controller):
    """Instructors (师资), the examiner pool (教考分离), county checks of full-time instructors."""

    path = "/api/v1/training"
    tags = ["training"]
    guards = [signed_in]

    @get("/instructors", summary="Instructors within the caller's scopes; filters: unit (subtree), kind, stars, due (refresher "
         "due: last refresher over 12 months ago, or the qualification ends within 90 days), active")
    async def instructors(self, request: Request, page: NamedDependency[PageParams], unit: FromQuery[str | None] = None,
                          kind: FromQuery[InstructorKind | None] = None, stars: FromQuery[int | None] = None,
                          due: FromQuery[bool | None] = None, active: FromQuery[bool | None] = None) -> Page[InstructorOut]:
        items, total = await instructors.list_instructors(request.user, page, unit=unit, kind=kind, stars=stars, due=due, active=active)
        return Page.of(items, total, page)

    @post("/instructors", summary="Register an instructor of a county or league Red Cross, by ID number",
          guards=[requires("training.instructors")])
    async def register_instructor(self, request: Request, data: JSONBody[InstructorIn]) -> InstructorDetail:
        return await instructors.register_instructor(request.user, data)

    @get("/instructors.xlsx", summary="The instructor list (same filters) and the county checks as .xlsx", media_type=XLSX)
    async def instructors_xlsx(self, request: Request, unit: FromQuery[str | None] = None, kind: FromQuery[InstructorKind | None] = None,
                               stars: FromQuery[int | None] = None, due: FromQuery[bool | None] = None,
                               active: FromQuery[bool | None] = None) -> Response:
        return attachment(await instructors.export_instructors(request.user, unit=unit, kind=kind, stars=stars, due=due, active=active),
                          "instructors.xlsx", XLSX)

    @get("/instructors/{instructor_id:int}/export.xlsx", summary="One instructor: the record, teaching per year and the star "
         "history as .xlsx", media_type=XLSX)
    async def instructor_xlsx(self, request: Request, instructor_id: FromPath[int]) -> Response:
        return attachment(await instructors.export_instructor(request.user, instructor_id), f"instructor-{instructor_id}.xlsx", XLSX)

    @get("/instructors/county-checks", summary="Per county: active full-time instructors with a valid qualification, against "
         "the target of 2 (每个旗县区红十字会至少有2名专职应急救护师资)")
    async def county_checks(self, request: Request, unit: FromQuery[str | None] = None) -> list[CountyCheck]:
        return await instructors.county_checks(request.user, unit)

    @get("/instructors/{instructor_id:int}", summary="An instructor: star history, sessions and hours per year")
    async def instructor(self, request: Request, instructor_id: FromPath[int]) -> InstructorDetail:
        return await instructors.get_instructor(request.user, instructor_id)

    @patch("/instructors/{instructor_id:int}", summary="Edit an instructor (only the fields given change)",
           guards=[requires("training.instructors")])
    async def edit_instructor(self, request: Request, instructor_id: FromPath[int], data: JSONBody[InstructorUpdate]) -> InstructorDetail:
        return await instructors.update_instructor(request.user, instructor_id, data)

    @post("/instructors/{instructor_id:int}/active", summary="Deactivate or reactivate an instructor, with the reason",
          guards=[requires("training.instructors")], status_code=200)
    async def instructor_active(self, request: Request, instructor_id: FromPath[int], data: JSONBody[ActiveChangeIn]) -> InstructorDetail:
        return await instructors.set_instructor_active(request.user, instructor_id, data)

    @post("/instructors/{instructor_id:int}/stars", summary="Change the star grade (评星), with date and reason; kept as history",
          guards=[requires("training.instructors")], status_code=200)
    async def instructor_stars(self, request: Request, instructor_id: FromPath[int], data: JSONBody[StarChangeIn]) -> InstructorDetail:
        return await instructors.change_stars(request.user, instructor_id, data)

    @get("/examiners", summary="The examiner pool within the caller's scopes; filters: unit (subtree), active")
    async def examiners(self, request: Request, page: NamedDependency[PageParams], unit: FromQuery[str | None] = None,
                        active: FromQuery[bool | None] = None) -> Page[ExaminerOut]:
        items, total = await instructors.list_examiners(request.user, page, unit=unit, active=active)
        return Page.of(items, total, page)

    @post("/examiners", summary="Put a person in a Red Cross's examiner pool, by ID number; with a username, that login gets "
          "the examiner role over the unit", guards=[requires("training.instructors")])
    async def register_examiner(self, request: Request, data: JSONBody[ExaminerIn]) -> ExaminerOut:
        return await instructors.register_examiner(request.user, data)

    @get("/examiners.xlsx", summary="The examiner pool as .xlsx", media_type=XLSX)
    async def examiners_xlsx(self, request: Request, unit: FromQuery[str | None] = None, active: FromQuery[bool | None] = None) -> Response:
        return attachment(await instructors.export_examiners(request.user, unit=unit, active=active), "examiners.xlsx", XLSX)

    @get("/examiners/{examiner_id:int}", summary="One examiner of the pool")
    async def examiner(self, request: Request, examiner_id: FromPath[int]) -> ExaminerOut:
        return await instructors.get_examiner(request.user, examiner_id)

    @post("/examiners/{examiner_id:int}/active", summary="Take an examiner out of the pool or back, with the reason",
          guards=[requires("training.instructors")], status_code=200)
    async def examiner_active(self, request: Request, examiner_id: FromPath[int], data: JSONBody[ActiveChangeIn]) -> ExaminerOut:
        return await instructors.set_examiner_active(request.user, examiner_id, data)


class BaseController(Controller):
    """Training bases and experience halls, and the groups' bookings (预约)."""

    path = "/api/v1/training"
    tags = ["training"]
    guards = [signed_in]

    @get("/bases", summary="Training bases and experience halls within the caller's scopes")
    async def bases(self, request: Request, page: NamedDependency[PageParams], unit: FromQuery[str | None] = None, kind: FromQuery[BaseKind | None] = None,
                    active: FromQuery[bool | None] = None) -> Page[BaseOut]:
        items, total = await bases.list_bases(request.user, page, unit=unit, kind=kind, active=active)
        return Page.of(items, total, page)

    @post("/bases", summary="Register a base: capacity and opening times per ISO weekday", guards=[requires("training.manage")])
    async def register_base(self, request: Request, data: JSONBody[BaseIn]) -> BaseOut:
        return await bases.register_base(request.user, data)

    @get("/bases.xlsx", summary="The bases as .xlsx", media_type=XLSX)
    async def bases_xlsx(self, request: Request, unit: FromQuery[str | None] = None) -> Response:
        return attachment(await bases.export_bases(request.user, unit=unit), "training-bases.xlsx", XLSX)

    @get("/bases/{code:str}", summary="A base")
    async def base(self, request: Request, code: FromPath[str]) -> BaseOut:
        return await bases.get_base(request.user, code)

    @patch("/bases/{code:str}", summary="Edit a base: names, address, capacity, opening times, active (only the fields given)",
           guards=[requires("training.manage")])
    async def edit_base(self, request: Request, code: FromPath[str], data: JSONBody[BaseUpdate]) -> BaseOut:
        return await bases.update_base(request.user, code, data)

    @get("/bases/{code:str}/bookings", summary="A week of a base's bookings (Monday to Sunday, China time) holding ?week=")
    async def week(self, request: Request, code: FromPath[str], week: FromQuery[date | None] = None) -> BookingWeek:
        return await bases.week(request.user, code, week)

    @post("/bases/{code:str}/bookings", summary="Book a group: same day, within the opening hours, not in the past; refused "
          "(409) when overlapping bookings and this one together exceed the capacity", guards=[requires("training.manage")])
    async def book(self, request: Request, code: FromPath[str], data: JSONBody[BookingIn]) -> BookingOut:
        return await bases.book(request.user, code, data)

    @get("/bookings.xlsx", summary="Bookings (?base=, ?since=, ?until=) as .xlsx", media_type=XLSX)
    async def bookings_xlsx(self, request: Request, base: FromQuery[str | None] = None, since: FromQuery[date | None] = None,
                            until: FromQuery[date | None] = None) -> Response:
        return attachment(await bases.export_bookings(request.user, base=base, since=since, until=until), "bookings.xlsx", XLSX)

    @get("/bookings/{booking_id:int}", summary="A booking")
    async def booking(self, request: Request, booking_id: FromPath[int]) -> BookingOut:
        return await bases.get_booking(request.user, booking_id)

    @post("/bookings/{booking_id:int}/cancel", summary="Cancel a booking, with the reason", guards=[requires("training.manage")],
          status_code=200)
    async def cancel(self, request: Request, booking_id: FromPath[int], data: JSONBody[BookingCancelIn]) -> BookingOut:
        return await bases.cancel_booking(request.user, booking_id, data)


# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---


class TargetUpload(BaseModel):
    """A multipart form: the allocation table (.xlsx/.csv), the allocating unit's code, the year, and whether to write it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: UploadFile
    unit: str
    year: int
    commit: bool = False


def _this_year(year: int | None) -> int:
    return year or china_today().year


class TargetController(Controller):
    """Yearly allocation tables (任务分配表) per unit: lines for sub-units, organisations and sectors."""

    path = "/api/v1/training/targets"
    tags = ["training"]
    guards = [signed_in]

    @get("", summary="A unit's allocation table for a year (?unit=code&year=), each line with what was achieved against it")
    async def table(self, request: Request, unit: FromQuery[str], year: FromQuery[int | None] = None) -> TargetTableOut:
        return await progress.target_table(request.user, unit, _this_year(year))

    @get("/export.xlsx", summary="The allocation table with actual against target, as .xlsx", media_type=XLSX)
    async def export(self, request: Request, unit: FromQuery[str], year: FromQuery[int | None] = None) -> Response:
        year = _this_year(year)
        return attachment(await progress.targets_xlsx(request.user, unit, year), f"targets-{unit}-{year}.xlsx", XLSX)

    @get("/template.xlsx", summary="An empty allocation table shaped like the Jiangyin 2022 one, its lines the unit's sub-units "
         "and sectors", media_type=XLSX)
    async def template(self, request: Request, unit: FromQuery[str], year: FromQuery[int | None] = None) -> Response:
        year = _this_year(year)
        return attachment(await progress.targets_template(request.user, unit, year), f"targets-template-{unit}-{year}.xlsx", XLSX)

    @post("/import", summary="Check an allocation table row by row (commit=false: the preview, writes nothing), or write it "
          "(commit=true: all lines or none, replacing the unit's lines for the year)", guards=[requires("training.targets")],
          status_code=200, request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def import_table(self, request: Request, data: MultipartBody[TargetUpload]) -> TargetImportReport:
        content = await data.file.read()
        name = data.file.filename or "targets"
        if data.commit:
            return await progress.import_targets(request.user, data.unit, data.year, name, content)
        return await progress.check_targets_file(request.user, data.unit, data.year, name, content)

    @put("/{target_id:int}", summary="Change one line's numbers", guards=[requires("training.targets")])
    async def edit(self, request: Request, target_id: FromPath[int], data: JSONBody[TargetLineEdit]) -> TargetTableOut:
        return await progress.edit_target(request.user, target_id, data)


class ProgressController(Controller):
    """Progress of a unit (region, league, county) against its targets and the plans' population goals."""

    path = "/api/v1/training/progress"
    tags = ["training"]
    guards = [signed_in]

    @get("", summary="A unit's year (?unit=code&year=): actual against target, the breakdown by child unit, and the goals "
         "(certified and awareness shares of the 2020 population, rescue forces certified, AEDs per 100,000, first-aiders per AED)")
    async def progress(self, request: Request, unit: FromQuery[str], year: FromQuery[int | None] = None) -> ProgressOut:
        return await progress.progress(request.user, unit, _this_year(year))

    @get("/export.xlsx", summary="The progress figures, goals, breakdown and lines as .xlsx", media_type=XLSX)
    async def export(self, request: Request, unit: FromQuery[str], year: FromQuery[int | None] = None) -> Response:
        year = _this_year(year)
        return attachment(await progress.progress_xlsx(request.user, unit, year), f"progress-{unit}-{year}.xlsx", XLSX)


# --- end of targets and progress ---

# Registered by app.py; each part adds its controllers and public handlers here.
CONTROLLERS: list = [InstructorController, BaseController, ExamController, public_certificate, public_certificate_lookup, TargetController, ProgressController, CourseController, SessionController]
