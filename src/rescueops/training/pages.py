"""Training pages (/training/…) and the public certificate verification page (/verify/…)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError

from rescueops.accounts.access import authorize, can, can_anywhere, scopes_for
from rescueops.accounts.auth import requires, signed_in
from rescueops.calendar import china_today
from rescueops.db.pagination import Page, PageParams
from rescueops.db.paths import is_under, within
from rescueops.errors import DomainError, InvalidInput, PermissionDenied, field_error
from rescueops.members import service as members
from rescueops.members.routes import XLSX
from rescueops.members.schemas import ImportRowError
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind, OrgUnit
from rescueops.training import bases, certificates, enrolment_file, exams, instructors
from rescueops.training import progress as progress_service
from rescueops.training import service as session_service
from rescueops.training.schemas import (  # noqa: E501
    FULL_TIME_PER_COUNTY,
    ActiveChangeIn,
    AttendanceEntryIn,
    AttendanceIn,
    BaseIn,
    BaseUpdate,
    BookingCancelIn,
    BookingIn,
    CertificateIssueIn,
    CertificateLookupIn,
    CertificateRevokeIn,
    CourseVersionIn,
    EnrolIn,
    ExaminerIn,
    ExamScoreIn,
    ExamScoresIn,
    ExamSittingIn,
    Figures,
    GoalOut,
    InstructorIn,
    InstructorUpdate,
    OrganisationIn,
    ReportedAttendanceIn,
    SessionIn,
    SessionInstructorIn,
    SessionStatusIn,
    StarChangeIn,
    TargetLineEdit,
)
from rescueops.training.tables import CourseKind, OrganisationKind, Sector, SessionStatus, TrainingBase
from rescueops.training.targets_file import SECTOR_FAMILIES
from rescueops.uploads import SPREADSHEET_REQUEST_MAX_BYTES, attachment
from rescueops.web.i18n import current_locale, pick
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page, problem

# --- courses, sessions, enrolment, attendance ---


def sector_labels() -> dict[str, str]:
    """The sectors in the page's language: the ten "救在身边" actions, then the "六进" places."""
    return {
        Sector.campus.value: _("Campus guardian"), Sector.transport.value: _("Travelling companion"),
        Sector.government.value: _("Government offices first"), Sector.scenic.value: _("Scenic-area guardian"),
        Sector.workplace_safety.value: _("Workplace safety"), Sector.sports.value: _("Sports companion"),
        Sector.volunteers.value: _("Volunteers together"), Sector.elderly_care.value: _("Elderly care"),
        Sector.rescue_forces.value: _("Rescue vanguard"), Sector.border_police.value: _("Border guardian"),
        Sector.agencies.value: _("Into government agencies"), Sector.schools.value: _("Into schools"),
        Sector.communities.value: _("Into communities"), Sector.villages.value: _("Into villages"),
        Sector.companies.value: _("Into companies"), Sector.families.value: _("Into families"), Sector.other.value: _("Other"),
    }


def session_labels() -> dict[str, Any]:
    return {
        "sector_labels": sector_labels(),
        "session_status_labels": {
            SessionStatus.planned.value: _("planned"), SessionStatus.open.value: _("open for enrolment"),
            SessionStatus.running.value: _("running"), SessionStatus.completed.value: _("completed"),
            SessionStatus.cancelled.value: _("cancelled"),
        },
        "course_kind_labels": {
            CourseKind.awareness.value: _("Awareness training"), CourseKind.first_aider.value: _("Red Cross first-aider"),
            CourseKind.junior_first_aider.value: _("Junior first-aider"), CourseKind.cpr_aed.value: _("CPR+AED"),
            CourseKind.instructor.value: _("First-aid instructor"), CourseKind.refresher.value: _("Refresher"),
        },
        "organisation_kind_labels": {
            OrganisationKind.school.value: _("school"), OrganisationKind.company.value: _("company"),
            OrganisationKind.agency.value: _("government agency or public institution"), OrganisationKind.village.value: _("village"),
            OrganisationKind.community.value: _("community"), OrganisationKind.other.value: _("other"),
        },
        "enrolment_status_labels": {"enrolled": _("enrolled"), "withdrawn": _("withdrawn")},
        "gender_labels": {"male": _("male"), "female": _("female")},
        "pick": pick,
    }


def _session_explanations() -> dict[str, str]:
    """What the session error codes mean, for pages in Chinese (web.pages.problem knows the shared ones)."""
    return {
        "session_full": _("The session is full."),
        "already_enrolled": _("This person is already enrolled in the session."),
        "awareness_session": _("Awareness sessions count heads: report the attendance instead of enrolling names."),
        "not_awareness": _("Only awareness sessions report a headcount."),
        "session_closed": _("The session takes no more changes of this kind."),
        "already_withdrawn": _("This trainee has already withdrawn."),
        "already_teaching": _("This instructor already teaches the session."),
        "examiner_cannot_teach": _("This person examines the session: teaching is kept apart from examining (教考分离)."),
        "duplicate_organisation": _("That organisation is already registered under this county."),
        "bad_enrolment_file": _("The file cannot be read."),
        "import_expired": _("The upload has expired: upload the file again."),
    }


def _session_problem(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _session_explanations().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


@dataclass
class SessionForm:
    course_code: str = ""
    unit_code: str = ""
    organisation_id: str = ""
    sector: str = "other"
    base_code: str = ""
    place: str = ""
    title: str = ""
    starts_on: str = ""
    ends_on: str = ""
    capacity: str = ""


@dataclass
class OrganisationForm:
    unit_code: str = ""
    name: str = ""
    kind: str = ""
    sector: str = "other"


@dataclass
class CourseVersionForm:
    course_code: str = ""
    syllabus: str = ""
    hours: str = ""
    exam_required: str = ""
    theory_pass: str = ""
    practical_pass: str = ""
    certificate_type: str = ""
    validity_months: str = ""
    reason: str = ""


@dataclass
class SessionStatusForm:
    status: str = ""
    reason: str = ""


@dataclass
class SessionInstructorForm:
    instructor_id: str = ""
    hours: str = ""


@dataclass
class EnrolForm:
    name: str = ""
    gender: str = ""
    id_number: str = ""
    phone: str = ""


@dataclass
class HeadcountForm:
    count: str = ""
    note: str = ""


@dataclass
class TraineeListForm:
    file: UploadFile


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


async def _managed_units(request: Request) -> list[Any]:
    return [u for u in await orgs.all_units()
            if u.kind in session_service.SESSION_UNIT_KINDS and can(request.user, "training.manage", u.path)]


async def _bases_for(request: Request) -> list[dict[str, Any]]:
    scopes = scopes_for(request.user, "training.manage")
    rows = await TrainingBase.select(TrainingBase.code, TrainingBase.name_zh, TrainingBase.unit_path).where(
        TrainingBase.active == True).order_by(TrainingBase.code)  # noqa: E712
    return [r for r in rows if any(is_under(r["unit_path"], s) or is_under(s, r["unit_path"]) for s in scopes)]


class SessionPages(Controller):
    """The training landing page, the course catalogue, session planning, a session's page and its trainee-list import."""

    include_in_schema = False
    guards = [signed_in]

    @get("/training")
    async def landing(self, request: Request) -> Template:
        user = request.user
        links = [
            ("/training/courses", _("Course catalogue"), _("Courses, syllabus versions, hours and pass marks"), "training.view"),
            ("/training/sessions", _("Training sessions"), _("Plan sessions, enrol trainees, record attendance"), "training.view"),
            ("/training/certificates", _("Certificates"), _("Issued certificates, printing and revocation"), "training.view"),
            ("/training/instructors", _("Instructors"), _("Full-time and part-time instructors, star grades, refreshers"), "training.view"),
            ("/training/examiners", _("Examiners"), _("The examiner pool kept apart from teaching"), "training.view"),
            ("/training/bases", _("Training bases"), _("Bases and experience halls, bookings"), "training.view"),
            ("/training/targets", _("Targets"), _("Yearly targets per unit and sector"), "training.view"),
            ("/training/progress", _("Progress"), _("Progress against targets and the population"), "training.view"),
        ]
        shown = [(href, title, text) for href, title, text, action in links if can_anywhere(user, action)]
        if not shown:
            raise PermissionDenied("Your roles do not include first-aid training.", code="forbidden")
        return page(request, "training/index.html", nav="training", links=shown, can_plan=can_anywhere(user, "training.manage"))

    async def _courses_page(self, request: Request, *, form: CourseVersionForm | None = None, error: str | None = None,
                            status_code: int = 200) -> Template:
        return page(request, "training/courses.html", status_code=status_code, nav="training",
                    courses=await session_service.list_courses(include_inactive=True), form=form or CourseVersionForm(), error=error,
                    certificate_types=await members.certificate_types(), can_publish=can_anywhere(request.user, "training.courses"),
                    **session_labels())

    @get("/training/courses", guards=[requires("training.view")])
    async def courses(self, request: Request) -> Template:
        return await self._courses_page(request)

    @post("/training/courses/versions", guards=[requires("training.courses")])
    async def publish(self, request: Request, data: URLEncodedBody[CourseVersionForm]) -> Template | Redirect:
        try:
            await session_service.publish_version(request.user, data.course_code, CourseVersionIn(
                syllabus=data.syllabus, hours=data.hours or "0", exam_required=data.exam_required == "yes",
                theory_pass=_int_or_none(data.theory_pass), practical_pass=_int_or_none(data.practical_pass),
                certificate_type=data.certificate_type or None, validity_months=_int_or_none(data.validity_months), reason=data.reason))
        except (DomainError, ValidationError) as error:
            message, status = _session_problem(error)
            return await self._courses_page(request, form=data, error=message, status_code=status)
        return Redirect(f"/training/courses#course-{data.course_code}")

    @get("/training/sessions", guards=[requires("training.view")])
    async def sessions(self, request: Request, unit: FromQuery[str] = "", kind: FromQuery[str] = "", sector: FromQuery[str] = "",
                       status: FromQuery[str] = "", starts_from: FromQuery[str] = "", starts_to: FromQuery[str] = "",
                       offset: FromQuery[int] = 0) -> Template:
        filters = {"unit": unit, "kind": kind, "sector": sector, "status": status, "starts_from": starts_from, "starts_to": starts_to}
        params = PageParams(limit=SESSION_PAGE_SIZE, offset=max(offset, 0))
        error = None
        try:
            found = await session_service.list_sessions(request.user, params, **_list_filters(filters))
        except (DomainError, ValueError) as failure:
            error = failure.message if isinstance(failure, DomainError) else str(failure)
            found = Page.of([], 0, params)
        scopes = scopes_for(request.user, "training.view")
        units = [u for u in await orgs.all_units() if u.kind in session_service.SESSION_UNIT_KINDS
                 and any(is_under(u.path, s) for s in scopes)]
        query = urlencode({k: v for k, v in filters.items() if v})
        return page(request, "training/sessions.html", nav="training", sessions=found.items, total=found.total, offset=params.offset,
                    limit=params.limit, filters=filters, query=query, units=units, error=error,
                    organisations=await session_service.list_organisations(request.user),
                    can_plan=can_anywhere(request.user, "training.manage"), **session_labels())

    @get("/training/sessions/export.xlsx", guards=[requires("training.view")])
    async def export(self, request: Request, unit: FromQuery[str] = "", kind: FromQuery[str] = "", sector: FromQuery[str] = "",
                     status: FromQuery[str] = "", starts_from: FromQuery[str] = "", starts_to: FromQuery[str] = "") -> Response:
        filters = {"unit": unit, "kind": kind, "sector": sector, "status": status, "starts_from": starts_from, "starts_to": starts_to}
        try:
            wanted = _list_filters(filters)
        except ValueError as error:
            raise field_error("starts_from", str(error)) from error
        return attachment(await session_service.export_sessions(request.user, **wanted), "training-sessions.xlsx", XLSX)

    @get("/training/sessions/template.xlsx", guards=[requires("training.manage")])
    async def template(self) -> Response:
        return attachment(enrolment_file.template(), "trainee-list-template.xlsx", XLSX)

    @get("/training/sessions/{code:str}/class.xlsx")
    async def class_list(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_class(request.user, code), f"class-{code}.xlsx", XLSX)

    @get("/training/sessions/{code:str}/attendance.xlsx")
    async def attendance_export(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_attendance(request.user, code), f"attendance-{code}.xlsx", XLSX)

    @get("/training/sessions/{code:str}/instructors.xlsx")
    async def instructors_export(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await session_service.export_session_instructors(request.user, code), f"instructors-{code}.xlsx", XLSX)

    @get("/training/courses.xlsx", guards=[requires("training.view")])
    async def courses_export(self) -> Response:
        return attachment(await session_service.export_courses(), "training-courses.xlsx", XLSX)

    @get("/training/organisations.xlsx", guards=[requires("training.view")])
    async def organisations_export(self, request: Request, unit: FromQuery[str] = "") -> Response:
        content = await session_service.export_organisations(request.user, unit_code=unit.strip() or None)
        return attachment(content, "training-organisations.xlsx", XLSX)

    async def _new_page(self, request: Request, form: SessionForm, error: str | None = None, status_code: int = 200,
                        organisation: OrganisationForm | None = None) -> Template:
        return page(request, "training/session_form.html", status_code=status_code, nav="training", form=form, error=error,
                    units=await _managed_units(request), courses=await session_service.list_courses(),
                    organisations=await session_service.list_organisations(request.user), bases=await _bases_for(request),
                    counties=[u for u in await _managed_units(request) if u.kind == OrgKind.county],
                    organisation=organisation or OrganisationForm(), **session_labels())

    @get("/training/sessions/new", guards=[requires("training.manage")])
    async def new_session(self, request: Request) -> Template:
        return await self._new_page(request, SessionForm())

    @post("/training/sessions/new", guards=[requires("training.manage")])
    async def plan(self, request: Request, data: URLEncodedBody[SessionForm]) -> Template | Redirect:
        try:
            planned = await session_service.plan_session(request.user, SessionIn(
                course_code=data.course_code, unit_code=data.unit_code, organisation_id=_int_or_none(data.organisation_id),
                sector=data.sector or "other", base_code=data.base_code or None, place=data.place, title=data.title,
                starts_on=data.starts_on, ends_on=data.ends_on or data.starts_on, capacity=data.capacity or "0"))
        except (DomainError, ValidationError) as error:
            message, status = _session_problem(error)
            return await self._new_page(request, data, message, status)
        return Redirect(f"/training/sessions/{planned.code}")

    @post("/training/organisations", guards=[requires("training.manage")])
    async def add_organisation(self, request: Request, data: URLEncodedBody[OrganisationForm]) -> Template | Redirect:
        try:
            await session_service.create_organisation(request.user, OrganisationIn(unit_code=data.unit_code, name=data.name,
                                                                                   kind=data.kind, sector=data.sector or "other"))
        except (DomainError, ValidationError) as error:
            message, status = _session_problem(error)
            return await self._new_page(request, SessionForm(), message, status, organisation=data)
        return Redirect("/training/sessions/new#organisation-form")

    @get("/training/sessions/{code:str}")
    async def session(self, request: Request, code: FromPath[str], day: FromQuery[str] = "") -> Template:
        return await _session_page(request, code, day=day)

    @post("/training/sessions/{code:str}/status")
    async def status(self, request: Request, code: FromPath[str], data: URLEncodedBody[SessionStatusForm]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.change_status(
            request.user, code, SessionStatusIn(status=data.status, reason=data.reason)))

    @post("/training/sessions/{code:str}/instructors")
    async def add_instructor(self, request: Request, code: FromPath[str], data: URLEncodedBody[SessionInstructorForm]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.add_instructor(
            request.user, code, SessionInstructorIn(instructor_id=_int_or_none(data.instructor_id) or 0, hours=data.hours or "0")),
            anchor="instructors")

    @post("/training/sessions/{code:str}/instructors/{instructor_id:int}/remove")
    async def remove_instructor(self, request: Request, code: FromPath[str], instructor_id: FromPath[int]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.remove_instructor(request.user, code, instructor_id),
                                     anchor="instructors")

    @post("/training/sessions/{code:str}/enrolments")
    async def enrol(self, request: Request, code: FromPath[str], data: URLEncodedBody[EnrolForm]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.enrol(request.user, code, EnrolIn(
            name=data.name, gender=data.gender, id_number=data.id_number, phone=data.phone)), anchor="class", enrol_form=data)

    @post("/training/sessions/{code:str}/enrolments/{enrolment_id:int}/withdraw")
    async def withdraw(self, request: Request, code: FromPath[str], enrolment_id: FromPath[int]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.withdraw(request.user, code, enrolment_id), anchor="class")

    @post("/training/sessions/{code:str}/attendance")
    async def attendance(self, request: Request, code: FromPath[str]) -> Template | Redirect:
        form = await request.form()
        day = str(form.get("day", ""))

        async def record() -> Any:
            try:
                entries = [AttendanceEntryIn(enrolment_id=int(key.removeprefix("hours_")), hours=str(value).strip())
                           for key, value in form.items() if key.startswith("hours_") and str(value).strip()]
                parsed = AttendanceIn(day=day, entries=entries)
            except ValueError as error:
                if isinstance(error, ValidationError):
                    raise
                raise field_error("entries", str(error)) from error
            return await session_service.record_attendance(request.user, code, parsed)

        return await _session_action(request, code, record, anchor="attendance", day=day)

    @post("/training/sessions/{code:str}/headcount")
    async def headcount(self, request: Request, code: FromPath[str], data: URLEncodedBody[HeadcountForm]) -> Template | Redirect:
        return await _session_action(request, code, lambda: session_service.set_reported_attendance(
            request.user, code, ReportedAttendanceIn(count=data.count or "-1", note=data.note)), anchor="headcount")

    @get("/training/sessions/{code:str}/import")
    async def import_form(self, request: Request, code: FromPath[str]) -> Template:
        return await _import_page(request, code)

    @post("/training/sessions/{code:str}/import", request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def import_check(self, request: Request, code: FromPath[str], data: MultipartBody[TraineeListForm]) -> Template:
        try:
            report = await session_service.check_enrolment_file(request.user, code, data.file.filename or "trainees", await data.file.read())
        except DomainError as error:
            message, status = _session_problem(error)
            return await _import_page(request, code, error=message, status_code=status)
        return await _import_page(request, code, report=report)

    @post("/training/sessions/{code:str}/import/{batch_id:int}")
    async def import_commit(self, request: Request, code: FromPath[str], batch_id: FromPath[int]) -> Template | Redirect:
        try:
            await session_service.commit_enrolment_import(request.user, code, batch_id)
        except DomainError as error:
            message, status = _session_problem(error)
            details = [ImportRowError(**d) for d in error.details if {"row", "column", "message"} <= set(d)]
            return await _import_page(request, code, error=message, status_code=status, failed=details)
        return Redirect(f"/training/sessions/{code}#class")


SESSION_PAGE_SIZE = 50


def _list_filters(filters: dict[str, str]) -> dict[str, Any]:
    def day(text: str) -> date | None:
        return date.fromisoformat(text) if text else None

    return {"unit_code": filters["unit"] or None, "kind": filters["kind"] or None, "sector": filters["sector"] or None,
            "status": filters["status"] or None, "starts_from": day(filters["starts_from"]), "starts_to": day(filters["starts_to"])}


async def _session_page(request: Request, code: str, *, day: str = "", error: str | None = None, status_code: int = 200,
                        anchor: str = "", enrol_form: EnrolForm | None = None) -> Template:
    user = request.user
    session = await session_service.session_for(user, code)
    detail = await session_service.get_session(user, code)
    manage = can(user, "training.manage", session["unit_path"])
    awareness = session["course_kind"] == CourseKind.awareness.value
    sheet = await session_service.attendance_sheet(user, code) if not awareness else None
    days = [d for d in (sheet.days if sheet else []) if d <= china_today()]
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        chosen = None
    if chosen not in days:
        chosen = days[-1] if days else None
    return page(request, "training/session.html", status_code=status_code, nav="training", s=detail, error=error, anchor=anchor,
                manage=manage, awareness=awareness, sheet=sheet, days=days, chosen_day=chosen,
                enrolments=await session_service.list_enrolments(user, code) if not awareness else [],
                next_statuses=sorted(s.value for s in session_service.TRANSITIONS[SessionStatus(session["status"])]),
                instructor_choices=await session_service.instructor_choices(session) if manage else [],
                enrol_form=enrol_form or EnrolForm(), can_enrol=manage and not awareness and session["status"] in
                [s.value for s in session_service.ENROLLING],
                can_attend=manage and not awareness and session["status"] in [s.value for s in session_service.ATTENDING],
                **session_labels())


async def _session_action(request: Request, code: str, action: Callable[[], Awaitable[Any]], *, anchor: str = "",
                          enrol_form: EnrolForm | None = None, day: str = "") -> Template | Redirect:
    try:
        await action()
    except (DomainError, ValidationError) as error:
        message, status = _session_problem(error)
        return await _session_page(request, code, error=message, status_code=status, anchor=anchor, enrol_form=enrol_form, day=day)
    suffix = f"?day={day}" if day else ""
    return Redirect(f"/training/sessions/{code}{suffix}" + (f"#{anchor}" if anchor else ""))


async def _import_page(request: Request, code: str, *, report: Any = None, error: str | None = None, status_code: int = 200,
                       failed: list[Any] | None = None) -> Template:
    detail = await session_service.get_session(request.user, code)
    authorize(request.user, "training.manage", detail.unit_path)
    return page(request, "training/enrolment_import.html", status_code=status_code, nav="training", s=detail, report=report,
                error=error, failed=failed or [], **session_labels())


# --- end of courses, sessions, enrolment, attendance ---

# --- exams and certificates ---


def _exam_explanations() -> dict[str, str]:
    """What the exam and certificate error codes mean, for pages in Chinese (web.pages.problem knows the shared ones)."""
    return {
        "examiner_taught": _("This examiner taught the session: exams are kept apart from teaching (教考分离); choose another examiner."),
        "resit_cap": _("No further sitting: the first sitting and the re-sits allowed have been held."),
        "no_exam": _("This course has no exam."),
        "not_the_examiner": _("Only the examiner of this sitting enters its results."),
        "sitting_closed": _("A re-sit is open: the earlier sitting's results can no longer change."),
        "sitting_ahead": _("The sitting has not been held yet."),
        "sitting_without_results": _("Enter the results of the last sitting before opening a re-sit."),
        "nobody_to_resit": _("Nobody is left to re-sit."),
        "bad_scores": _("Some results cannot be recorded: nothing was recorded."),
        "session_cancelled": _("The session was cancelled."),
        "no_certificate": _("This course leads to no certificate."),
        "session_not_completed": _("Mark the session completed first."),
        "already_revoked": _("This certificate was already revoked."),
        "certificate_revoked": _("This certificate was revoked: it is not printed."),
        "certificate_not_found": _("No such certificate. Check the number and the name as printed."),
        "verify_rate_limited": _("Too many checks from this address: wait a minute and try again."),
        "export_too_large": _("Too many rows for one export: narrow the filters."),
    }


def _exam_problem(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _exam_explanations().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


async def _exam_attempt(action: Callable[[], Awaitable[Any]], done: str | Callable[[Any], str],
                        again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    try:
        result = await action()
    except (DomainError, ValidationError) as error:
        return await again(*_exam_problem(error))
    return Redirect(done(result) if callable(done) else done)


def _exam_labels() -> dict[str, Any]:
    return {
        "outcome_labels": {"passed": _("passed"), "failed": _("failed"), "absent": _("absent"), "not_examined": _("not examined yet"),
                           "not_eligible": _("not enough hours"), "withdrawn": _("withdrawn")},
        "certificate_status_labels": {"valid": _("valid"), "expired": _("expired"), "revoked": _("revoked")},
        "kind_labels": {"first_aider": _("Red Cross first-aider"), "junior_first_aider": _("Junior first-aider"),
                        "cpr_aed": _("CPR+AED"), "instructor": _("First-aid instructor"), "refresher": _("Refresher")},
        "nav": "training",
    }


@dataclass
class SittingForm:
    examiner_id: str = ""
    held_on: str = ""


@dataclass
class IssueForm:
    issued_on: str = ""


@dataclass
class RevokeForm:
    reason: str = ""


@dataclass
class LookupForm:
    number: str = ""
    name: str = ""


def _form_int(text: str, field: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise field_error(field, _("'%(v)s' is not a whole number from 0 to 100") % {"v": text})
    return int(text)


async def exam_page(request: Request, code: str, *, error: str | None = None, status_code: int = 200,
                    held_on: str = "") -> Template:
    user = request.user
    session = await exams.session_for_exam(user, code)
    found = await exams.results(user, code)
    path = session["unit_path"]
    may = {"manage": can(user, "training.manage", path) and session["exam_required"] and len(found.sittings) < found.max_attempts,
           "score": await exams.may_enter_scores(user, code), "certify": can(user, "training.certify", path) and found.to_certify > 0}
    choices = await exams.examiner_choices(user, code) if may["manage"] else []
    latest = found.sittings[-1] if found.sittings else None
    return page(request, "training/exam.html", status_code=status_code, error=error, session=session, found=found, may=may,
                choices=choices, latest=latest, held_on=held_on, max_resits=exams.MAX_RESITS, **_exam_labels())


async def certificates_page(request: Request, *, q: str, kind: str, unit: str, year: str, status: str, offset: int,
                            error: str | None = None) -> Template:
    params = PageParams(limit=50, offset=max(0, offset))
    items, total = [], 0
    year_number = int(year) if year.strip().isdigit() else None
    try:
        items, total = await certificates.list_certificates(request.user, params, q=q, kind=kind, unit=unit, year=year_number,
                                                            status=status)
    except DomainError as problem_found:
        error = _exam_problem(problem_found)[0]
    filters = {"q": q, "kind": kind, "unit": unit, "year": year, "status": status}
    query = urlencode({k: v for k, v in filters.items() if v})
    return page(request, "training/certificates.html", error=error, items=items, total=total, limit=params.limit,
                offset=params.offset, filters=filters, query=query, kinds=list(certificates.KIND_LETTERS),
                statuses=certificates.STATUSES, **_exam_labels())


async def certificate_page(request: Request, number: str, *, error: str | None = None, status_code: int = 200) -> Template:
    c = await certificates.get_certificate(request.user, number)
    row_path = await certificates.certificate_scope(request.user, number)
    return page(request, "training/certificate.html", status_code=status_code, error=error, c=c,
                can_revoke=c.status != "revoked" and can(request.user, "training.certify", row_path), **_exam_labels())


class ExamPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/training/sessions/{code:str}/exam")
    async def exam(self, request: Request, code: FromPath[str]) -> Template:
        return await exam_page(request, code)

    def _again(self, request: Request, code: str) -> Callable[[str, int], Awaitable[Template]]:
        async def again(message: str, status: int) -> Template:
            return await exam_page(request, code, error=message, status_code=status)

        return again

    @post("/training/sessions/{code:str}/exam/sittings")
    async def open_sitting(self, request: Request, code: FromPath[str], data: URLEncodedBody[SittingForm]) -> Template | Redirect:
        async def run() -> Any:
            if not data.examiner_id.strip().isdigit():
                raise field_error("examiner_id", _("choose an examiner"))
            return await exams.open_sitting(request.user, code, ExamSittingIn(examiner_id=int(data.examiner_id), held_on=data.held_on))

        return await _exam_attempt(run, f"/training/sessions/{code}/exam", self._again(request, code))

    @post("/training/sessions/{code:str}/exam/scores")
    async def scores(self, request: Request, code: FromPath[str]) -> Template | Redirect:
        form = await request.form()

        async def run() -> Any:
            found = await exams.results(request.user, code)
            if not found.sittings:
                raise InvalidInput(_("Open a sitting first."), code="no_sitting")
            attempt = found.sittings[-1].attempt
            rows = []
            for t in found.trainees:
                theory = str(form.get(f"theory_{t.enrolment_id}", "")).strip()
                practical = str(form.get(f"practical_{t.enrolment_id}", "")).strip()
                absent = form.get(f"absent_{t.enrolment_id}") in ("on", "1", "true")
                if not (theory or practical or absent):
                    continue
                rows.append(ExamScoreIn(enrolment_id=t.enrolment_id, absent=absent,
                                        theory=_form_int(theory, f"{t.name} theory") if theory else None,
                                        practical=_form_int(practical, f"{t.name} practical") if practical else None))
            if not rows:
                raise InvalidInput(_("Enter at least one result."), code="bad_scores")
            return await exams.enter_scores(request.user, code, attempt, ExamScoresIn(scores=rows))

        return await _exam_attempt(run, f"/training/sessions/{code}/exam#results", self._again(request, code))

    @post("/training/sessions/{code:str}/certificates", guards=[requires("training.certify")])
    async def issue(self, request: Request, code: FromPath[str], data: URLEncodedBody[IssueForm]) -> Template | Redirect:
        return await _exam_attempt(lambda: certificates.issue_certificates(request.user, code, CertificateIssueIn(
            issued_on=data.issued_on.strip() or None)), f"/training/sessions/{code}/exam#results", self._again(request, code))

    @get("/training/sessions/{code:str}/exam/results.xlsx")
    async def results_xlsx(self, request: Request, code: FromPath[str]) -> Response:
        return attachment(await exams.results_xlsx(request.user, code), f"results-{code}.xlsx", XLSX)

    @get("/training/certificates")
    async def certificates(self, request: Request, q: FromQuery[str] = "", kind: FromQuery[str] = "", unit: FromQuery[str] = "",
                           year: FromQuery[str] = "", status: FromQuery[str] = "", offset: FromQuery[int] = 0) -> Template:
        return await certificates_page(request, q=q, kind=kind, unit=unit, year=year, status=status, offset=offset)

    @get("/training/certificates.xlsx")
    async def certificates_xlsx(self, request: Request, q: FromQuery[str] = "", kind: FromQuery[str] = "", unit: FromQuery[str] = "",
                                year: FromQuery[str] = "", status: FromQuery[str] = "") -> Response:
        content = await certificates.certificates_xlsx(request.user, q=q, kind=kind, unit=unit,
                                                       year=int(year) if year.strip().isdigit() else None, status=status)
        return attachment(content, "certificates.xlsx", XLSX)

    @get("/training/certificates/{number:str}")
    async def certificate(self, request: Request, number: FromPath[str]) -> Template:
        return await certificate_page(request, number)

    @get("/training/certificates/{number:str}/pdf")
    async def certificate_pdf(self, request: Request, number: FromPath[str]) -> Response:
        content, name = await certificates.certificate_pdf(request.user, number)
        return attachment(content, name, "application/pdf")

    @post("/training/certificates/{number:str}/revocation", guards=[requires("training.certify")])
    async def revoke(self, request: Request, number: FromPath[str], data: URLEncodedBody[RevokeForm]) -> Template | Redirect:
        async def again(message: str, status: int) -> Template:
            return await certificate_page(request, number, error=message, status_code=status)

        return await _exam_attempt(lambda: certificates.revoke(request.user, number, CertificateRevokeIn(reason=data.reason)),
                                   lambda c: f"/training/certificates/{c.number}", again)


_NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


class VerifyPages(Controller):
    """No sign-in: anyone checks a certificate by its QR or by its number and the holder's name. Only validity, the
    course, the dates and a masked name are shown; search engines are asked not to index the pages."""

    include_in_schema = False

    def _client(self, request: Request) -> str | None:
        return request.client.host if request.client else None

    @get("/verify")
    async def form(self, request: Request) -> Template:
        return page(request, "training/verify.html", headers=_NOINDEX, result=None, form=LookupForm(), error=None)

    @post("/verify")
    async def lookup(self, request: Request, data: URLEncodedBody[LookupForm]) -> Template:
        try:
            result = await certificates.verify_number(CertificateLookupIn(number=data.number, name=data.name), self._client(request))
        except (DomainError, ValidationError) as error:
            message, status = _exam_problem(error)
            return page(request, "training/verify.html", status_code=status, headers=_NOINDEX, result=None, form=data, error=message)
        return page(request, "training/verify.html", headers=_NOINDEX, result=result, form=LookupForm(), error=None,
                    **_exam_labels())

    @get("/verify/{token:str}")
    async def token(self, request: Request, token: FromPath[str]) -> Template:
        try:
            result = await certificates.verify_token(token, self._client(request))
        except DomainError as error:
            message, status = _exam_problem(error)
            return page(request, "training/verify.html", status_code=status, headers=_NOINDEX, result=None, form=LookupForm(),
                        error=message)
        return page(request, "training/verify.html", headers=_NOINDEX, result=result, form=LookupForm(), error=None, **_exam_labels())


# --- end of exams and certificates ---

# --- instructors, examiners, bases and bookings ---


def _staff_explanations() -> dict[str, str]:
    """What the instructor, examiner, base and booking error codes mean, for pages in Chinese."""
    return {
        "already_instructor": _("This person is already registered as an instructor."),
        "already_examiner": _("This person is already in the examiner pool."),
        "no_change": _("Nothing changes."),
        "booking_conflict": _("The base is full at that time: the booking was not made."),
        "base_closed": _("The base is closed that day: the booking was not made."),
        "outside_opening_hours": _("That time is outside the opening hours: the booking was not made."),
        "base_inactive": _("This base takes no bookings."),
        "already_cancelled": _("This booking was already cancelled."),
    }


def _staff_problem(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _staff_explanations().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


async def _staff_attempt(action: Callable[[], Awaitable[Any]], done: str | Callable[[Any], str],
                         again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    try:
        result = await action()
    except (DomainError, ValidationError) as error:
        return await again(*_staff_problem(error))
    return Redirect(done(result) if callable(done) else done)


def _staff_labels() -> dict[str, Any]:
    return {
        "nav": "training",
        "instructor_kind_labels": {"full_time": _("full-time"), "part_time": _("part-time")},
        "due_labels": {"refresher": _("refresher due (over 12 months)"), "expiring": _("qualification ends within 90 days"), "": ""},
        "base_kind_labels": {"training_base": _("first-aid training base"), "experience_hall": _("life-safety experience hall"),
                             "classroom": _("training classroom")},
        "purpose_labels": {"visit": _("visit"), "experience": _("experience"), "session": _("training session")},
        "booking_status_labels": {"booked": _("booked"), "cancelled": _("cancelled")},
        "weekday_labels": {1: _("Monday"), 2: _("Tuesday"), 3: _("Wednesday"), 4: _("Thursday"), 5: _("Friday"), 6: _("Saturday"),
                           7: _("Sunday")},
    }


def _blank(text: str) -> str | None:
    return text.strip() or None


def _flag(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.strip().lower())


def _whole(text: str, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise field_error(field, "a whole number") from None


@dataclass
class InstructorForm:
    id_number: str = ""
    name: str = ""
    phone: str = ""
    unit_code: str = ""
    kind: str = "full_time"
    qualification_number: str = ""
    qualified_on: str = ""
    qualification_expires_on: str = ""
    last_refresher_on: str = ""
    stars: str = "0"


@dataclass
class InstructorEditForm:
    unit_code: str = ""
    kind: str = ""
    qualification_number: str = ""
    qualified_on: str = ""
    qualification_expires_on: str = ""
    last_refresher_on: str = ""


@dataclass
class StarForm:
    stars: str = ""
    awarded_on: str = ""
    reason: str = ""


@dataclass
class ActiveForm:
    active: str = ""
    reason: str = ""


@dataclass
class ExaminerForm:
    id_number: str = ""
    name: str = ""
    phone: str = ""
    unit_code: str = ""
    qualification_number: str = ""
    qualified_until: str = ""
    username: str = ""


@dataclass
class BaseForm:
    code: str = ""
    unit_code: str = ""
    kind: str = "training_base"
    name_zh: str = ""
    name_en: str = ""
    address: str = ""
    capacity: str = ""


@dataclass
class BookingForm:
    group_name: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    people: str = ""
    day: str = ""
    start: str = ""
    end: str = ""
    purpose: str = "visit"
    session_code: str = ""


@dataclass
class CancelForm:
    reason: str = ""


def _opening_from(form: Any) -> dict[str, list[str]]:
    """Opening times from a form's open_1 … close_7 fields; a day with both empty is closed."""
    opening = {}
    for day in range(1, 8):
        opens, closes = str(form.get(f"open_{day}", "")).strip(), str(form.get(f"close_{day}", "")).strip()
        if opens or closes:
            opening[str(day)] = [opens, closes]
    return opening


async def _units_for(request: Request, action: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = await OrgUnit.select(OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en, OrgUnit.path, OrgUnit.kind).where(
        OrgUnit.kind.is_in(list(kinds))).order_by(OrgUnit.path)
    return [r for r in rows if can(request.user, action, r["path"])]


async def instructors_page(request: Request, *, error: str | None = None, status_code: int = 200,
                           form: InstructorForm | None = None) -> Template:
    query = request.query_params
    filters = {"unit": query.get("unit", "").strip(), "kind": query.get("kind", ""), "stars": query.get("stars", ""),
               "due": query.get("due", ""), "active": query.get("active", "true")}
    offset = int(query.get("offset", "0")) if query.get("offset", "0").isdigit() else 0
    page_params = PageParams(limit=50, offset=offset)
    try:
        items, total = await instructors.list_instructors(
            request.user, page_params, unit=filters["unit"] or None, kind=filters["kind"] or None,
            stars=int(filters["stars"]) if filters["stars"].isdigit() else None, due=_flag(filters["due"]), active=_flag(filters["active"]))
        checks = await instructors.county_checks(request.user, filters["unit"] or None)
    except DomainError as filter_error:
        error, status_code = _staff_problem(filter_error)
        items, total = await instructors.list_instructors(request.user, page_params)
        checks = await instructors.county_checks(request.user)
    query_string = urlencode({k: v for k, v in filters.items() if v})
    may_register = can_anywhere(request.user, "training.instructors")
    return page(request, "training/instructors.html", status_code=status_code, error=error, items=items, total=total,
                offset=offset, limit=page_params.limit, filters=filters, query=query_string, checks=checks,
                checks_short=sum(1 for c in checks if not c.met), may_register=may_register, form=form or InstructorForm(),
                units=await _units_for(request, "training.instructors", instructors.INSTRUCTOR_UNITS) if may_register else [],
                required=FULL_TIME_PER_COUNTY, **_staff_labels())


async def instructor_page(request: Request, instructor_id: int, *, error: str | None = None, status_code: int = 200) -> Template:
    detail = await instructors.get_instructor(request.user, instructor_id)
    unit = await OrgUnit.select(OrgUnit.path).where(OrgUnit.code == detail.unit_code).first()
    may_edit = can(request.user, "training.instructors", unit["path"])
    return page(request, "training/instructor.html", status_code=status_code, error=error, i=detail, may_edit=may_edit,
                units=await _units_for(request, "training.instructors", instructors.INSTRUCTOR_UNITS) if may_edit else [],
                today=china_today(), **_staff_labels())


async def examiners_page(request: Request, *, error: str | None = None, status_code: int = 200,
                         form: ExaminerForm | None = None) -> Template:
    unit = request.query_params.get("unit", "").strip()
    active = _flag(request.query_params.get("active", ""))
    try:
        items, total = await instructors.list_examiners(request.user, PageParams(limit=200), unit=unit or None, active=active)
    except DomainError as filter_error:
        error, status_code = _staff_problem(filter_error)
        items, total = await instructors.list_examiners(request.user, PageParams(limit=200))
    paths = {r["code"]: r["path"] for r in await OrgUnit.select(OrgUnit.code, OrgUnit.path).where(
        OrgUnit.code.is_in([e.unit_code for e in items] or ["-"]))}
    may_register = can_anywhere(request.user, "training.instructors")
    return page(request, "training/examiners.html", status_code=status_code, error=error, items=items, total=total, unit=unit,
                query=urlencode({k: v for k, v in (("unit", unit),) if v}), may_register=may_register, form=form or ExaminerForm(),
                may_manage={e.id: can(request.user, "training.instructors", paths.get(e.unit_code, "/")) for e in items},
                units=await _units_for(request, "training.instructors", instructors.EXAMINER_UNITS) if may_register else [],
                **_staff_labels())


async def bases_page(request: Request, *, error: str | None = None, status_code: int = 200, form: BaseForm | None = None,
                     opening: dict[str, list[str]] | None = None) -> Template:
    items, total = await bases.list_bases(request.user, PageParams(limit=200))
    may_register = can_anywhere(request.user, "training.manage")
    return page(request, "training/bases.html", status_code=status_code, error=error, items=items, total=total,
                may_register=may_register, form=form or BaseForm(), opening=opening if opening is not None else
                {str(d): ["08:30", "17:00"] for d in range(1, 6)}, opening_text=bases.opening_text,
                units=await _units_for(request, "training.manage", bases.BASE_UNITS) if may_register else [], **_staff_labels())


async def base_page(request: Request, code: str, *, error: str | None = None, status_code: int = 200,
                    form: BookingForm | None = None) -> Template:
    raw_week = request.query_params.get("week", "")
    try:
        week_of = date.fromisoformat(raw_week) if raw_week else None
    except ValueError:
        week_of = None
    week = await bases.week(request.user, code, week_of)
    row = await TrainingBase.select(TrainingBase.unit_path).where(TrainingBase.code == code).first()
    may_manage = can(request.user, "training.manage", row["unit_path"])
    return page(request, "training/base_detail.html", status_code=status_code, error=error, week=week, b=week.base,
                may_manage=may_manage, form=form or BookingForm(day=(week.week_of + timedelta(days=7)).isoformat()),
                previous_week=(week.week_of - timedelta(days=7)).isoformat(), next_week=(week.week_of + timedelta(days=7)).isoformat(),
                opening_text=bases.opening_text, **_staff_labels())


class InstructorPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/training/instructors", guards=[requires("training.view")])
    async def listing(self, request: Request) -> Template:
        return await instructors_page(request)

    @post("/training/instructors", guards=[requires("training.instructors")])
    async def register(self, request: Request, data: URLEncodedBody[InstructorForm]) -> Template | Redirect:
        async def run() -> Any:
            return await instructors.register_instructor(request.user, InstructorIn(
                id_number=data.id_number, name=data.name, phone=data.phone, unit_code=data.unit_code, kind=data.kind,
                qualification_number=data.qualification_number, qualified_on=data.qualified_on,
                qualification_expires_on=_blank(data.qualification_expires_on), last_refresher_on=_blank(data.last_refresher_on),
                stars=_whole(data.stars or "0", "stars")))

        async def again(message: str, status: int) -> Template:
            return await instructors_page(request, error=message, status_code=status, form=data)

        return await _staff_attempt(run, lambda i: f"/training/instructors/{i.id}", again)

    @get("/training/instructors.xlsx", guards=[requires("training.view")])
    async def export(self, request: Request, unit: FromQuery[str] = "", kind: FromQuery[str] = "", stars: FromQuery[str] = "",
                     due: FromQuery[str] = "", active: FromQuery[str] = "") -> Response:
        content = await instructors.export_instructors(request.user, unit=unit or None, kind=kind or None,
                                                       stars=int(stars) if stars.isdigit() else None, due=_flag(due), active=_flag(active))
        return attachment(content, "instructors.xlsx", XLSX)

    @get("/training/instructors/{instructor_id:int}", guards=[requires("training.view")])
    async def detail(self, request: Request, instructor_id: FromPath[int]) -> Template:
        return await instructor_page(request, instructor_id)

    @get("/training/instructors/{instructor_id:int}/export.xlsx", guards=[requires("training.view")])
    async def detail_export(self, request: Request, instructor_id: FromPath[int]) -> Response:
        return attachment(await instructors.export_instructor(request.user, instructor_id), f"instructor-{instructor_id}.xlsx", XLSX)

    def _again(self, request: Request, instructor_id: int) -> Callable[[str, int], Awaitable[Template]]:
        async def again(message: str, status: int) -> Template:
            return await instructor_page(request, instructor_id, error=message, status_code=status)

        return again

    @post("/training/instructors/{instructor_id:int}/stars")
    async def stars(self, request: Request, instructor_id: FromPath[int], data: URLEncodedBody[StarForm]) -> Template | Redirect:
        async def run() -> Any:
            values: dict[str, Any] = {"stars": _whole(data.stars, "stars"), "reason": data.reason}
            if data.awarded_on.strip():
                values["awarded_on"] = data.awarded_on.strip()
            return await instructors.change_stars(request.user, instructor_id, StarChangeIn(**values))

        return await _staff_attempt(run, f"/training/instructors/{instructor_id}#stars", self._again(request, instructor_id))

    @post("/training/instructors/{instructor_id:int}/edit")
    async def edit(self, request: Request, instructor_id: FromPath[int], data: URLEncodedBody[InstructorEditForm]) -> Template | Redirect:
        async def run() -> Any:
            values = {name: _blank(getattr(data, name)) for name in ("unit_code", "kind", "qualification_number", "qualified_on")}
            update = {name: value for name, value in values.items() if value is not None}
            update["qualification_expires_on"] = _blank(data.qualification_expires_on)
            update["last_refresher_on"] = _blank(data.last_refresher_on)
            return await instructors.update_instructor(request.user, instructor_id, InstructorUpdate(**update))

        return await _staff_attempt(run, f"/training/instructors/{instructor_id}", self._again(request, instructor_id))

    @post("/training/instructors/{instructor_id:int}/active")
    async def active(self, request: Request, instructor_id: FromPath[int], data: URLEncodedBody[ActiveForm]) -> Template | Redirect:
        return await _staff_attempt(lambda: instructors.set_instructor_active(request.user, instructor_id, ActiveChangeIn(
            active=data.active == "true", reason=data.reason)), f"/training/instructors/{instructor_id}", self._again(request, instructor_id))

    @get("/training/examiners", guards=[requires("training.view")])
    async def examiners(self, request: Request) -> Template:
        return await examiners_page(request)

    @post("/training/examiners", guards=[requires("training.instructors")])
    async def register_examiner(self, request: Request, data: URLEncodedBody[ExaminerForm]) -> Template | Redirect:
        async def again(message: str, status: int) -> Template:
            return await examiners_page(request, error=message, status_code=status, form=data)

        return await _staff_attempt(lambda: instructors.register_examiner(request.user, ExaminerIn(
            id_number=data.id_number, name=data.name, phone=data.phone, unit_code=data.unit_code,
            qualification_number=data.qualification_number, qualified_until=_blank(data.qualified_until), username=_blank(data.username))),
            "/training/examiners", again)

    @get("/training/examiners.xlsx", guards=[requires("training.view")])
    async def export_examiners(self, request: Request, unit: FromQuery[str] = "", active: FromQuery[str] = "") -> Response:
        return attachment(await instructors.export_examiners(request.user, unit=unit or None, active=_flag(active)), "examiners.xlsx", XLSX)

    @post("/training/examiners/{examiner_id:int}/active")
    async def examiner_active(self, request: Request, examiner_id: FromPath[int], data: URLEncodedBody[ActiveForm]) -> Template | Redirect:
        async def again(message: str, status: int) -> Template:
            return await examiners_page(request, error=message, status_code=status)

        return await _staff_attempt(lambda: instructors.set_examiner_active(request.user, examiner_id, ActiveChangeIn(
            active=data.active == "true", reason=data.reason)), "/training/examiners", again)


class BasePages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/training/bases", guards=[requires("training.view")])
    async def listing(self, request: Request) -> Template:
        return await bases_page(request)

    @post("/training/bases", guards=[requires("training.manage")])
    async def register(self, request: Request) -> Template | Redirect:
        form = await request.form()
        data = BaseForm(**{name: str(form.get(name, "")) for name in BaseForm.__dataclass_fields__})
        opening = _opening_from(form)

        async def run() -> Any:
            return await bases.register_base(request.user, BaseIn(
                code=data.code, unit_code=data.unit_code, kind=data.kind, name_zh=data.name_zh, name_en=data.name_en, address=data.address,
                capacity=_whole(data.capacity, "capacity"), opening=opening))

        async def again(message: str, status: int) -> Template:
            return await bases_page(request, error=message, status_code=status, form=data, opening=opening)

        return await _staff_attempt(run, lambda b: f"/training/bases/{b.code}", again)

    @get("/training/bases.xlsx", guards=[requires("training.view")])
    async def export(self, request: Request) -> Response:
        return attachment(await bases.export_bases(request.user), "training-bases.xlsx", XLSX)

    @get("/training/bookings.xlsx", guards=[requires("training.view")])
    async def export_bookings(self, request: Request, base: FromQuery[str] = "") -> Response:
        return attachment(await bases.export_bookings(request.user, base=base or None), "bookings.xlsx", XLSX)

    @get("/training/bases/{code:str}", guards=[requires("training.view")])
    async def detail(self, request: Request, code: FromPath[str]) -> Template:
        return await base_page(request, code)

    @post("/training/bases/{code:str}/opening")
    async def opening(self, request: Request, code: FromPath[str]) -> Template | Redirect:
        form = await request.form()

        async def run() -> Any:
            values: dict[str, Any] = {"opening": _opening_from(form)}
            if str(form.get("capacity", "")).strip():
                values["capacity"] = _whole(str(form["capacity"]), "capacity")
            values["active"] = str(form.get("active", "")) == "true"
            return await bases.update_base(request.user, code, BaseUpdate(**values))

        async def again(message: str, status: int) -> Template:
            return await base_page(request, code, error=message, status_code=status)

        return await _staff_attempt(run, f"/training/bases/{code}", again)

    @post("/training/bases/{code:str}/bookings")
    async def book(self, request: Request, code: FromPath[str], data: URLEncodedBody[BookingForm]) -> Template | Redirect:
        async def run() -> Any:
            return await bases.book(request.user, code, BookingIn(
                group_name=data.group_name, contact_name=data.contact_name, contact_phone=data.contact_phone,
                people=_whole(data.people, "people"), starts_at=f"{data.day.strip()}T{data.start.strip()}",
                ends_at=f"{data.day.strip()}T{data.end.strip()}", purpose=data.purpose, session_code=_blank(data.session_code)))

        async def again(message: str, status: int) -> Template:
            return await base_page(request, code, error=message, status_code=status, form=data)

        return await _staff_attempt(run, lambda b: f"/training/bases/{code}?week={b.starts_at.date().isoformat()}#day-{b.starts_at.date()}",
                                    again)

    @post("/training/bookings/{booking_id:int}/cancel")
    async def cancel(self, request: Request, booking_id: FromPath[int], data: URLEncodedBody[CancelForm]) -> Template | Redirect:
        booking = await bases.get_booking(request.user, booking_id)

        async def again(message: str, status: int) -> Template:
            return await base_page(request, booking.base_code, error=message, status_code=status)

        return await _staff_attempt(lambda: bases.cancel_booking(request.user, booking_id, BookingCancelIn(reason=data.reason)),
                                    f"/training/bases/{booking.base_code}?week={booking.starts_at.date().isoformat()}", again)


# --- end of instructors, examiners, bases and bookings ---

# --- targets and progress ---


def _progress_explanations() -> dict[str, str]:
    """What the targets' error codes mean, for pages in Chinese (web.pages.problem knows the shared ones)."""
    return {
        "targets_have_errors": _("The table has problems: nothing was imported."),
        "bad_targets_file": _("The file cannot be read."),
    }


def _progress_problem(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _progress_explanations().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


def goal_labels() -> dict[str, str]:
    return {
        "certified_share": _("Certified first-aiders in the population"),
        "awareness_share": _("Awareness training in the population (cumulative)"),
        "rescue_forces_certified": _("Rescue-team members with a valid first-aid certificate"),
        "aeds_per_100k": _("AEDs per 100,000 people"),
        "first_aiders_per_aed": _("Certified first-aiders per AED"),
    }


def goal_notes() -> dict[str, str]:
    return {"no population figure": _("no population figure"), "no AEDs": _("no AEDs"),
            "no active rescue-team members": _("no active rescue-team members")}


def _progress_labels() -> dict[str, Any]:
    return {"nav": "training", "sector_labels": sector_labels(), "goal_labels": goal_labels(), "goal_notes": goal_notes(),
            "line_kind_labels": {"unit": _("unit"), "organisation": _("organisation"), "sector": _("sector")},
            "unit_kind_labels": {"region": _("region"), "league": _("league or city"), "county": _("banner or county")},
            "pick": pick, "percent": _percent_of, "families": {k.value: [s.value for s in v] for k, v in SECTOR_FAMILIES.items()}}


def _percent_of(actual: int, target: int | None) -> str:
    return f"{100 * actual / target:.0f}%" if target else "—"


def _year_of(text: str) -> int:
    return int(text) if text.strip().isdigit() else china_today().year


async def _training_units(request: Request) -> list[dict[str, Any]]:
    """The region, leagues and banners/counties the caller may see the training figures of, in tree order."""
    scopes = scopes_for(request.user, "training.view")
    if not scopes:
        raise PermissionDenied("Your roles do not include first-aid training.", code="forbidden")
    query = OrgUnit.select(OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en, OrgUnit.depth, OrgUnit.path).where(
        OrgUnit.kind.is_in([OrgKind.region.value, OrgKind.league.value, OrgKind.county.value])).order_by(OrgUnit.path)
    condition = within(OrgUnit.path, scopes)
    return await (query.where(condition) if condition is not None else query)


async def _unit_and_year(request: Request, unit: str, year: str) -> tuple[list[dict[str, Any]], str, int]:
    units = await _training_units(request)
    if not units:
        raise PermissionDenied("None of your units keeps first-aid training figures.", code="forbidden")
    return units, unit or units[0]["code"], _year_of(year)


def progress_bars(rows: list[dict[str, Any]], width: int = 640) -> dict[str, Any]:
    """Horizontal bars drawn on the server: per row, its target (a pale bar) and what was achieved (a solid bar over it)."""
    most = max([max(r["target"] or 0, r["actual"]) for r in rows] + [1])
    left, bar, gap, room = 150, 22, 10, width - 150 - 110
    out = []
    for index, row in enumerate(rows):
        target_w = room * (row["target"] or 0) / most
        actual_w = room * row["actual"] / most
        out.append({**row, "y": 10 + index * (bar + gap), "target_w": round(target_w, 1), "actual_w": round(actual_w, 1),
                    "end": round(left + max(target_w, actual_w), 1), "done": row["target"] and row["actual"] >= row["target"]})
    return {"width": width, "height": 20 + max(1, len(rows)) * (bar + gap), "bar": bar, "left": left, "rows": out}


def progress_gauges(goals: list[GoalOut], width: int = 640) -> dict[str, Any]:
    """One gauge per goal: the scale runs to a quarter past the goal (or to the actual figure when beyond), the goal marked."""
    labels, notes = goal_labels(), goal_notes()
    left, bar, gap, room = 230, 18, 22, width - 230 - 150
    out = []
    for index, goal in enumerate(goals):
        top = max(goal.goal * 1.25, goal.actual or 0) or 1
        y = 10 + index * (bar + gap)
        out.append({"y": y, "label": labels.get(goal.code, goal.code), "code": goal.code, "goal_x": round(left + room * goal.goal / top, 1),
                    "actual_w": round(room * (goal.actual or 0) / top, 1), "actual": goal.actual, "goal": goal.goal, "met": goal.met,
                    "note": notes.get(goal.note, goal.note), "percent": goal.code.endswith("share") or goal.code.endswith("certified")})
    return {"width": width, "height": 20 + len(goals) * (bar + gap), "bar": bar, "left": left, "room": room, "rows": out}


@dataclass
class TargetUploadForm:
    """A multipart form: the allocation table, with the unit and year it is for."""

    file: UploadFile
    unit: str = ""
    year: str = ""


@dataclass
class TargetCommitForm:
    """The previewed file, carried back base64 so the commit writes exactly what was checked (it is checked again)."""

    unit: str = ""
    year: str = ""
    file_name: str = ""
    content: str = ""


@dataclass
class TargetEditForm:
    certified: str = ""
    junior: str = ""
    awareness: str = ""


def _count(text: str, field: str) -> int:
    try:
        return int(text.strip() or "0")
    except ValueError:
        raise field_error(field, f"'{text}' is not a whole number") from None


class ProgressPages(Controller):
    """Yearly targets (任务分配表): the table with actual against target, import with preview and commit, the template, line
    edits, exports; progress of a unit against its targets and the population goals, down the org tree."""

    include_in_schema = False
    guards = [signed_in]

    async def _targets_page(self, request: Request, unit: str, year: str, *, report: Any = None, upload: dict[str, str] | None = None,
                            error: str | None = None, status_code: int = 200) -> Template:
        units, code, number = await _unit_and_year(request, unit, year)
        data = await progress_service.target_table(request.user, code, number)
        path = next((u["path"] for u in units if u["code"] == code), None) or (await orgs.get_unit(code)).path
        chart = progress_bars([{"label": line.label, "target": line.target.certified, "actual": line.actual.certified} for line in data.lines])
        return page(request, "training/targets.html", status_code=status_code, table=data, units=units, unit=code, year=number,
                    can_edit=can(request.user, "training.targets", path), report=report, upload=upload, error=error, chart=chart,
                    **_progress_labels())

    @get("/training/targets", guards=[requires("training.view")])
    async def targets(self, request: Request, unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Template:
        return await self._targets_page(request, unit, year)

    @get("/training/targets.xlsx", guards=[requires("training.view")])
    async def targets_xlsx(self, request: Request, unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Response:
        _units, code, number = await _unit_and_year(request, unit, year)
        return attachment(await progress_service.targets_xlsx(request.user, code, number), f"targets-{code}-{number}.xlsx", XLSX)

    @get("/training/targets/template.xlsx", guards=[requires("training.view")])
    async def targets_template(self, request: Request, unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Response:
        _units, code, number = await _unit_and_year(request, unit, year)
        return attachment(await progress_service.targets_template(request.user, code, number), f"targets-template-{code}-{number}.xlsx", XLSX)

    @post("/training/targets/import", guards=[requires("training.targets")], request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def targets_check(self, request: Request, data: MultipartBody[TargetUploadForm]) -> Template:
        content = await data.file.read()
        try:
            report = await progress_service.check_targets_file(request.user, data.unit, _year_of(data.year), data.file.filename or "targets",
                                                               content)
        except DomainError as error:
            message, status = _progress_problem(error)
            return await self._targets_page(request, data.unit, data.year, error=message, status_code=status)
        upload = {"file_name": report.file_name, "content": base64.b64encode(content).decode()}
        return await self._targets_page(request, data.unit, str(report.year), report=report, upload=upload)

    @post("/training/targets/commit", guards=[requires("training.targets")], request_max_body_size=2 * SPREADSHEET_REQUEST_MAX_BYTES)
    async def targets_commit(self, request: Request, data: URLEncodedBody[TargetCommitForm]) -> Template | Redirect:
        try:
            content = base64.b64decode(data.content, validate=True)
        except ValueError:
            content = b""
        try:
            report = await progress_service.import_targets(request.user, data.unit, _year_of(data.year), data.file_name or "targets", content)
        except DomainError as error:
            message, status = _progress_problem(error)
            return await self._targets_page(request, data.unit, data.year, error=message, status_code=status)
        return Redirect(f"/training/targets?{urlencode({'unit': report.unit_code, 'year': report.year})}")

    @post("/training/targets/{target_id:int}", guards=[requires("training.targets")])
    async def targets_edit(self, request: Request, target_id: FromPath[int], data: URLEncodedBody[TargetEditForm],
                           unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Template | Redirect:
        try:
            edit = TargetLineEdit(certified=_count(data.certified, "certified"), junior=_count(data.junior, "junior"),
                                  awareness=_count(data.awareness, "awareness"))
            table = await progress_service.edit_target(request.user, target_id, edit)
        except (DomainError, ValidationError) as error:
            message, status = _progress_problem(error)
            return await self._targets_page(request, unit, year, error=message, status_code=status)
        return Redirect(f"/training/targets?{urlencode({'unit': table.unit_code, 'year': table.year})}#line-{target_id}")

    @get("/training/progress", guards=[requires("training.view")])
    async def progress(self, request: Request, unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Template:
        units, code, number = await _unit_and_year(request, unit, year)
        data = await progress_service.progress(request.user, code, number)
        by_child = [{"label": pick(c.name_zh, c.name_en), "target": c.target.certified if c.target else None, "actual": c.actual.certified}
                    for c in data.children]
        if data.own.certified or data.own.awareness:
            by_child.append({"label": _("%(unit)s itself") % {"unit": pick(data.unit_name_zh, data.unit_name_en)}, "target": None,
                             "actual": data.own.certified})
        return page(request, "training/progress.html", data=data, units=units, unit=code, year=number, gauges=progress_gauges(data.goals),
                    child_chart=progress_bars(by_child), target=data.target or Figures(), **_progress_labels())

    @get("/training/progress.xlsx", guards=[requires("training.view")])
    async def progress_xlsx(self, request: Request, unit: FromQuery[str] = "", year: FromQuery[str] = "") -> Response:
        _units, code, number = await _unit_and_year(request, unit, year)
        return attachment(await progress_service.progress_xlsx(request.user, code, number), f"progress-{code}-{number}.xlsx", XLSX)

# --- end of targets and progress ---

# Registered by app.py; each part adds its page controllers here.
PAGES: list = [ExamPages, VerifyPages, InstructorPages, BasePages, SessionPages, ProgressPages]
